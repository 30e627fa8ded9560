/* SPDX-License-Identifier: MIT */
/*
 * bench/dhbound: the Diffie-Hellman ceilings the server's handshake rates are
 * held against, measured in-process on one core (the runner pins it to the
 * server's core).
 *
 *   lab     one server handshake = one group 18 keygen (512-bit exponent,
 *           as common/dh.c asks for) + one derive against a peer value
 *           imported from a BIGNUM: what any OpenSSL server of this protocol
 *           must do, with none of cvpn's text handling.
 *   x25519  one secure-profile server handshake (Noise IK responder) = one
 *           X25519 keygen + four X25519 derives (es, ss, ee, se): five
 *           scalar multiplications, the local keys kept as EVP_PKEYs.
 *   secure  whole secure handshakes of a client and a server engine in
 *           memory, the server's work step included: cvpn's handshake
 *           without the TCP connection.
 *
 *   engine  the CPU cost of one round trip of both engines in memory (a
 *           client and a server engine fed each other's bytes, no sockets),
 *           lab AES-256 and secure ChaChaPoly, 64 B and 1 KiB: the part of a
 *           network round trip that cvpn itself adds to a plain TCP echo.
 *   crypto  the primitives alone that such a round trip needs, through EVP
 *           with every context set up once: lab, the message's AES-256-CBC
 *           encryption and decryption and its HMAC-SHA256 tag computed on
 *           both sides from kept keyed states, in hex as on the wire
 *           (bench/labprim.c; the lab's reply travels in clear and costs
 *           no primitive); secure, two ChaCha20-Poly1305 seals and two
 *           opens (and, for the other suite, AES-256-GCM at 64 B). What any
 *           implementation of the two profiles adds to a plain TCP echo at
 *           the least.
 *
 * Prints one JSON object on stdout.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dh.h"
#include "engine.h"
#include "labprim.h"
#include "noise.h"
#include "proposal.h"
#include "record.h"
#include "secure_wire.h"
#include "suite.h"

struct rate {
	unsigned long ops;
	double seconds;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Lab: raw OpenSSL ---- */

static EVP_PKEY *
lab_keygen(void)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];
	int priv_len = DH_PRIVATE_BITS;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "modp_8192", 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &priv_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) != NULL && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_params(ctx, params) > 0)
		EVP_PKEY_generate(ctx, &pkey);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* Imports a peer's public value as the server must (from a number, not from our own key object). */
static EVP_PKEY *
lab_peer(const BIGNUM *y)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "modp_8192", 0) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static int
lab_derive(EVP_PKEY *ours, const BIGNUM *peer_y)
{
	unsigned char secret[1025];
	size_t len = sizeof(secret);
	EVP_PKEY *peer = lab_peer(peer_y);
	EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL) : NULL;
	int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) > 0 &&
	    EVP_PKEY_derive(ctx, secret, &len) > 0;

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return ok ? 0 : -1;
}

/* One server handshake's DH, raw: keygen, then derive against the client's value. */
static int
lab_raw(double seconds, struct rate *out)
{
	EVP_PKEY *client = lab_keygen(), *ours = NULL;
	BIGNUM *y = NULL;
	double t0 = now_s();
	int r = -1;

	if (client == NULL || !EVP_PKEY_get_bn_param(client, OSSL_PKEY_PARAM_PUB_KEY, &y))
		goto out;
	out->ops = 0;
	do {
		if ((ours = lab_keygen()) == NULL || lab_derive(ours, y) != 0)
			goto out;
		EVP_PKEY_free(ours);
		ours = NULL;
		out->ops++;
	} while ((out->seconds = now_s() - t0) < seconds);
	r = 0;
out:
	EVP_PKEY_free(ours);
	BN_free(y);
	EVP_PKEY_free(client);
	return r;
}

/* ---- Secure: X25519 ---- */

/*
 * X25519(ours, peer's raw public key). Importing a raw public key costs no
 * scalar multiplication; importing a raw private key does (libcrypto derives
 * its public key), so the bound keeps each local key as the EVP_PKEY that
 * made it, as a lean responder would.
 */
static int
x25519_derive(EVP_PKEY *ours, const uint8_t pub[32])
{
	uint8_t secret[32];
	size_t len = sizeof(secret);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	EVP_PKEY_CTX *ctx = p ? EVP_PKEY_CTX_new(ours, NULL) : NULL;
	int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, p) > 0 &&
	    EVP_PKEY_derive(ctx, secret, &len) > 0;

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(p);
	return ok ? 0 : -1;
}

static EVP_PKEY *
x25519_keygen(uint8_t pub[32])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	size_t n = 32;

	if (k != NULL && !EVP_PKEY_get_raw_public_key(k, pub, &n)) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* One responder handshake: es and ss reading message 1; e, ee and se writing message 2. */
static int
x25519_handshake(double seconds, struct rate *out)
{
	uint8_t s_pub[32], c_pub[32], ce_pub[32], e_pub[32];
	EVP_PKEY *s = x25519_keygen(s_pub), *c = x25519_keygen(c_pub), *ce = x25519_keygen(ce_pub), *e;
	double t0 = now_s();
	int r = -1;

	if (s == NULL || c == NULL || ce == NULL)
		goto out;
	out->ops = 0;
	do {
		if (x25519_derive(s, ce_pub) || x25519_derive(s, c_pub) || (e = x25519_keygen(e_pub)) == NULL)
			goto out;
		r = x25519_derive(e, ce_pub) || x25519_derive(e, c_pub) ? -1 : 0;
		EVP_PKEY_free(e);
		if (r != 0)
			goto out;
		out->ops++;
	} while ((out->seconds = now_s() - t0) < seconds);
	r = 0;
out:
	EVP_PKEY_free(s);
	EVP_PKEY_free(c);
	EVP_PKEY_free(ce);
	return r;
}

/* ---- Both engines in memory ---- */

/* Moves what one engine queued into the other. Returns bytes moved, or -1. */
static long
pump(struct engine *from, struct engine *to)
{
	const uint8_t *p;
	size_t n;

	engine_output(from, &p, &n);
	if (n == 0)
		return 0;
	if (engine_feed(to, p, n) != 0)
		return -1;
	engine_output_consume(from, n);
	return (long)n;
}

static int
work(struct engine *e)
{
	if (!engine_needs_work(e))
		return 0;
	engine_work(e);
	return engine_resume(e) == 0 ? 1 : -1;
}

/* Runs both engines until neither has anything to send or compute. Returns 0 or -1. */
static int
settle(struct engine *c, struct engine *s)
{
	long a, b;
	int i, wc, ws;

	for (i = 0; i < 64; i++) {
		if ((wc = work(c)) < 0 || (ws = work(s)) < 0 || (a = pump(c, s)) < 0 || (b = pump(s, c)) < 0)
			return -1;
		if (a == 0 && b == 0 && wc == 0 && ws == 0)
			return 0;
	}
	return -1;
}

static int
engine_rt(const struct engine_config *cc, const struct engine_config *sc, size_t size, double seconds,
    struct rate *out)
{
	struct engine *c = NULL, *s = NULL;
	uint8_t msg[1024];
	double t0;
	size_t i;
	int r = -1;

	for (i = 0; i < size; i++)
		msg[i] = (uint8_t)"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
	if (size > sizeof(msg) || engine_new(cc, NULL, NULL, &c) != 0 || engine_new(sc, NULL, NULL, &s) != 0 ||
	    engine_start(c) != 0 || settle(c, s) != 0 || !engine_ready(c))
		goto out;
	out->ops = 0;
	t0 = now_s();
	do {
		if (engine_send(c, msg, size) != 0 || settle(c, s) != 0 || !engine_ready(c))
			goto out;
		out->ops++;
	} while ((out->seconds = now_s() - t0) < seconds);
	r = 0;
out:
	engine_free(c);
	engine_free(s);
	return r;
}

/* Whole secure handshakes (Noise IK, both sides, the server's work step included) in memory. */
static int
engine_hs(const struct engine_config *cc, const struct engine_config *sc, double seconds, struct rate *out)
{
	struct engine *c, *s;
	double t0 = now_s();
	int bad;

	out->ops = 0;
	do {
		c = s = NULL;
		bad = engine_new(cc, NULL, NULL, &c) != 0 || engine_new(sc, NULL, NULL, &s) != 0 ||
		    engine_start(c) != 0 || settle(c, s) != 0 || !engine_ready(c);
		engine_free(c);
		engine_free(s);
		if (bad)
			return -1;
		out->ops++;
	} while ((out->seconds = now_s() - t0) < seconds);
	return 0;
}

/* ---- The crypto of one round trip, alone ---- */

/* What a round trip carries: the message, and the reply with its prefix. */
#define REPLY_EXTRA (sizeof(LAB_REPLY_PREFIX) - 1)
#define CRYPTO_BUF 2048

/* One lab message from tx to rx: encrypt and tag, then verify and decrypt. */
static int
lab_message(struct labprim *tx, struct labprim *rx, const uint8_t *msg, size_t n)
{
	uint8_t wire[CRYPTO_BUF + LABPRIM_TAG];

	return n > CRYPTO_BUF || labprim_seal(tx, msg, n, wire) != 0 || labprim_open(rx, wire, labprim_ct_len(n)) != 0 ?
	    -1 : 0;
}

/* One secure record from tx to rx: seal (the u16 length as associated data), then open. */
static int
aead_message(EVP_CIPHER_CTX *tx, EVP_CIPHER_CTX *rx, uint64_t seq, uint8_t *buf, size_t n)
{
	uint8_t nonce[12] = { 0 }, tag[16], ad[2];
	int outl;

	n = (3 + n + 31) / 32 * 32;
	memcpy(nonce + 4, &seq, sizeof(seq));
	ad[0] = (uint8_t)((n + 16) >> 8);
	ad[1] = (uint8_t)(n + 16);
	if (!EVP_CipherInit_ex2(tx, NULL, NULL, nonce, 1, NULL) || !EVP_CipherUpdate(tx, NULL, &outl, ad, 2) ||
	    !EVP_CipherUpdate(tx, buf, &outl, buf, (int)n) || !EVP_CipherFinal_ex(tx, buf + n, &outl) ||
	    !EVP_CIPHER_CTX_ctrl(tx, EVP_CTRL_AEAD_GET_TAG, 16, tag))
		return -1;
	if (!EVP_CipherInit_ex2(rx, NULL, NULL, nonce, 0, NULL) || !EVP_CIPHER_CTX_ctrl(rx, EVP_CTRL_AEAD_SET_TAG, 16, tag) ||
	    !EVP_CipherUpdate(rx, NULL, &outl, ad, 2) || !EVP_CipherUpdate(rx, buf, &outl, buf, (int)n) ||
	    !EVP_CipherFinal_ex(rx, buf + n, &outl))
		return -1;
	return 0;
}

/* What crypto_rt measures: the lab's AES-256-CBC + HMAC, or one of the secure suites. */
enum crypto_kind { CRYPTO_LAB, CRYPTO_CHACHAPOLY, CRYPTO_AESGCM };

/* The crypto rows the report reads, each by its key. */
static const struct crypto_row {
	enum crypto_kind kind;
	size_t size;
	const char *key;
} crypto_rows[] = {
	{ CRYPTO_LAB, 64, "crypto_lab_us_per_rt_64" },
	{ CRYPTO_LAB, 1024, "crypto_lab_us_per_rt_1024" },
	{ CRYPTO_CHACHAPOLY, 64, "crypto_secure_us_per_rt_64" },
	{ CRYPTO_CHACHAPOLY, 1024, "crypto_secure_us_per_rt_1024" },
	{ CRYPTO_AESGCM, 64, "crypto_secure_aesgcm_us_per_rt_64" },
};

#define NCRYPTO (sizeof(crypto_rows) / sizeof(crypto_rows[0]))

/* Round trips of size-byte messages through the primitives alone. */
static int
crypto_rt(enum crypto_kind kind, size_t size, double seconds, struct rate *out)
{
	const EVP_CIPHER *aead = kind == CRYPTO_AESGCM ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
	int secure = kind != CRYPTO_LAB;
	static const uint8_t key[32] = { 1, 2, 3 };
	struct labprim *lab[2] = { NULL }; /* the message's two ends: the lab's reply needs no primitive */
	EVP_CIPHER_CTX *ae[4] = { NULL };
	uint8_t buf[CRYPTO_BUF] = { 0 };
	uint64_t seq = 0;
	double t0;
	int i, r = -1;

	for (i = 0; i < (secure ? 4 : 2); i++) {
		if (secure ? (ae[i] = EVP_CIPHER_CTX_new()) == NULL ||
		    !EVP_CipherInit_ex2(ae[i], aead, key, NULL, i % 2 == 0, NULL) :
		    labprim_new(i % 2 == 0, &lab[i]) != 0)
			goto out;
	}
	out->ops = 0;
	t0 = now_s();
	do {
		/*
		 * The message one way (contexts 0 -> 1), the secure reply the other
		 * (2 -> 3); the lab's reply is plaintext on the wire.
		 */
		if (secure ? aead_message(ae[0], ae[1], seq, buf, size) || aead_message(ae[2], ae[3], seq, buf, size + REPLY_EXTRA) :
		    lab_message(lab[0], lab[1], buf, size))
			goto out;
		seq++;
		out->ops++;
	} while ((out->seconds = now_s() - t0) < seconds);
	r = 0;
out:
	for (i = 0; i < 4; i++)
		EVP_CIPHER_CTX_free(ae[i]);
	for (i = 0; i < 2; i++)
		labprim_free(lab[i]);
	return r;
}

/* The engines as loadgen and cvpn-server configure them. */
static int
engine_configs(struct engine_config *lab_c, struct engine_config *sec_c, struct engine_config *srv)
{
	uint8_t pub[32];

	memset(lab_c, 0, sizeof(*lab_c));
	if (proposal_parse_spec("AES:256", false, &lab_c->ciphers) != 0)
		return -1;
	lab_c->hmac = RECORD_HMAC_CUMULATIVE;
	lab_c->newline = ENGINE_NEWLINE_ALWAYS;
	*srv = (struct engine_config){ .server = true, .hmac = RECORD_HMAC_AUTO, .newline = ENGINE_NEWLINE_MIRROR };
	proposal_default(&srv->ciphers);
	if (engine_parse_suites(SECURE_DEFAULT_SUITES, &srv->secure) != 0)
		return -1;
	srv->secure.rekey_records = (uint64_t)1 << 20;
	if (noise_keypair_generate(srv->secure.static_priv, pub) != 0)
		return -1;
	srv->secure.static_priv_set = true;
	*sec_c = *lab_c;
	sec_c->secure.enabled = true;
	memcpy(sec_c->secure.server_pub, pub, 32);
	sec_c->secure.server_pub_set = true;
	sec_c->secure.suites[0] = AEAD_CHACHAPOLY;
	sec_c->secure.nsuites = 1;
	sec_c->secure.rekey_records = (uint64_t)1 << 20;
	if (noise_keypair_generate(sec_c->secure.static_priv, pub) != 0)
		return -1;
	sec_c->secure.static_priv_set = true;
	return 0;
}

static double
per_s(const struct rate *r)
{
	return r->ops ? r->ops / r->seconds : 0;
}

static double
us_per_op(const struct rate *r)
{
	return r->ops ? 1e6 * r->seconds / r->ops : 0;
}

static void
report(const struct rate *lab, const struct rate *x, const struct rate *xc, const struct rate rt[4],
    const struct rate crt[NCRYPTO])
{
	size_t i;

	printf("{\"lab_bound_hs_per_s\":%.2f,\"x25519_bound_hs_per_s\":%.1f,\"secure_engine_hs_per_s\":%.1f,"
	    "\"engine_lab_us_per_rt_64\":%.2f,\"engine_lab_us_per_rt_1024\":%.2f,"
	    "\"engine_secure_us_per_rt_64\":%.2f,\"engine_secure_us_per_rt_1024\":%.2f",
	    per_s(lab), per_s(x), per_s(xc), us_per_op(&rt[0]), us_per_op(&rt[1]), us_per_op(&rt[2]),
	    us_per_op(&rt[3]));
	for (i = 0; i < NCRYPTO; i++)
		printf(",\"%s\":%.2f", crypto_rows[i].key, us_per_op(&crt[i]));
	printf("}\n");
}

/* Every crypto row, for seconds each. */
static int
crypto_all(double seconds, struct rate crt[NCRYPTO])
{
	size_t i;

	for (i = 0; i < NCRYPTO; i++)
		if (crypto_rt(crypto_rows[i].kind, crypto_rows[i].size, seconds, &crt[i]) != 0)
			return -1;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "Usage: dhbound [-d SECONDS]\n"
	    "Measures the group 18 and X25519 handshake bounds on this core; prints JSON.\n"
	    "  -d, --duration SEC   seconds per measurement (default 3)\n"
	    "  -h, --help           show this help\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct rate lab = { 0 }, x = { 0 }, xc = { 0 }, rt[4] = { { 0 } }, crt[NCRYPTO] = { { 0 } };
	struct engine_config lab_c, sec_c, srv;
	double d = 3;
	int c;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			d = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (d <= 0 || d > 60) {
		fprintf(stderr, "dhbound: --duration must be in (0, 60]\n");
		return 64;
	}
	if (suite_init() != 0 || engine_configs(&lab_c, &sec_c, &srv) != 0) {
		fprintf(stderr, "dhbound: cannot set up the engines\n");
		return 70;
	}
	if (lab_raw(d, &lab) || x25519_handshake(d, &x) || engine_hs(&sec_c, &srv, d, &xc) ||
	    engine_rt(&lab_c, &srv, 64, d / 4, &rt[0]) || engine_rt(&lab_c, &srv, 1024, d / 4, &rt[1]) ||
	    engine_rt(&sec_c, &srv, 64, d / 4, &rt[2]) || engine_rt(&sec_c, &srv, 1024, d / 4, &rt[3]) ||
	    crypto_all(d / 4, crt)) {
		fprintf(stderr, "dhbound: a libcrypto call or an engine failed\n");
		return 70;
	}
	report(&lab, &x, &xc, rt, crt);
	return 0;
}
