/* SPDX-License-Identifier: MIT */
/* cvpn fuzzing: the shared driver, configurations and oracles (see harness.h). */

/* RAND_set_rand_method is deprecated in OpenSSL 3 but still the simplest deterministic hook. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "describe.h"
#include "dh.h"
#include "err.h"
#include "harness.h"
#include "keys.h"
#include "noise.h"
#include "proposal.h"
#include "suite.h"
#include "text.h"

void
fz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", what, file, line);
	abort();
}

/* ---- Fixed keys ---- */

const uint8_t fz_lab_client_priv[FZ_LAB_PRIV_LEN] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
	0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30,
	0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c,
	0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
	0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54,
	0x55, 0x56, 0x57, 0x58,
};

const uint8_t fz_lab_server_priv[FZ_LAB_PRIV_LEN] = {
	0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
	0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c,
	0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
	0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94,
	0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0,
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac,
	0xad, 0xae, 0xaf, 0xb0,
};

const char fz_lab_shared_key[SUITE_SHARED_KEY_LEN + 1] =
    "8bd540ddb633ae4cf6464d1ffdd622437bbb825fa353363dba03e63694f8e5f4";

/* Any 32 bytes are an X25519 private key (RFC 7748 clamps them). */
const uint8_t fz_sec_server_priv[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};
const uint8_t fz_sec_client_priv[32] = {
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
};
const uint8_t fz_sec_psk[32] = {
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
};
uint8_t fz_sec_server_pub[32], fz_sec_client_pub[32];

/* --authorized-clients lists: one with the client's key, one without it. */
static struct keys_list *with_client, *without_client;

/* The decimal public values of the two lab keys. */
static char *lab_client_pub, *lab_server_pub;

/* ---- Deterministic randomness ---- */

static uint64_t rng_state[2];
static enum fz_stream rng_current;

/* splitmix64: not for keys anyone relies on, only for reproducible ones. */
static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static int
rng_bytes(unsigned char *buf, int num)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < num; i++) {
		if (i % 8 == 0)
			v = splitmix(&rng_state[rng_current]);
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
	return 1;
}

static int
rng_status(void)
{
	return 1;
}

static const RAND_METHOD rng_method = {
	.bytes = rng_bytes,
	.pseudorand = rng_bytes,
	.status = rng_status,
};

void
fz_rng_reset(void)
{
	rng_state[FZ_RNG_CLIENT] = 0x636c69656e74u; /* "client" */
	rng_state[FZ_RNG_SERVER] = 0x736572766572u; /* "server" */
	rng_current = FZ_RNG_CLIENT;
}

void
fz_rng_select(enum fz_stream s)
{
	rng_current = s;
}

/* ---- The script ---- */

static uint8_t long_text[1000];

static const struct {
	const char *text;
	size_t len;
} script[FZ_SCRIPT_LEN] = {
#define S(text) { text, sizeof(text) - 1 }
	S("hello"),
	S(""),
	S("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"),
	S("The quick brown fox jumps over the lazy dog."),
	S("bell\x07 esc\x1b[31m red \xc2\x85 nel, tab\t, DEL\x7f, cr\r, lf\n"),
	{ NULL, sizeof(long_text) },
	S("\0NULs\0at\0both ends\0"),
#undef S
};

const uint8_t *
fz_script(size_t i, size_t *len)
{
	FZ_ASSERT(i < FZ_SCRIPT_LEN);
	*len = script[i].len;
	return script[i].text ? (const uint8_t *)script[i].text : long_text;
}

/* ---- Init ---- */

static struct keys_list *
make_list(const uint8_t *key)
{
	char path[] = "/tmp/cvpn-fuzz-keys.XXXXXX", b64[KEYS_B64_LEN + 1];
	struct keys_list *l = NULL;
	unsigned bad = 0;
	FILE *f;
	int fd;

	FZ_ASSERT((fd = mkstemp(path)) >= 0);
	FZ_ASSERT((f = fdopen(fd, "w")) != NULL);
	keys_to_base64(key, b64);
	fprintf(f, "# fuzzing\n%s someone\n", b64);
	fclose(f);
	FZ_ASSERT(keys_list_load(path, &l, &bad) == 0);
	unlink(path);
	return l;
}

static char *
lab_public(const uint8_t *priv)
{
	struct dh *dh;
	char *dec;

	FZ_ASSERT(dh_from_private(priv, FZ_LAB_PRIV_LEN, &dh) == 0);
	FZ_ASSERT(dh_public_decimal(dh, &dec) == 0);
	dh_free(dh);
	return dec;
}

void
fz_init(void)
{
	static const char pattern[] = "The quick brown fox jumps over the lazy dog. ";
	static bool done;
	uint8_t other[32];
	size_t i;

	if (done)
		return;
	done = true;
	FZ_ASSERT(suite_init() == 0);
	FZ_ASSERT(RAND_set_rand_method(&rng_method) == 1);
	fz_rng_reset();
	for (i = 0; i < sizeof(long_text); i++)
		long_text[i] = (uint8_t)pattern[i % (sizeof(pattern) - 1)];
	FZ_ASSERT(noise_public_key(fz_sec_server_priv, fz_sec_server_pub) == 0);
	FZ_ASSERT(noise_public_key(fz_sec_client_priv, fz_sec_client_pub) == 0);
	memcpy(other, fz_sec_client_pub, sizeof(other));
	other[0] ^= 1;
	with_client = make_list(fz_sec_client_pub);
	without_client = make_list(other);
	lab_client_pub = lab_public(fz_lab_client_priv);
	lab_server_pub = lab_public(fz_lab_server_priv);
}

/* FNV-1a: spreads the digits of a DH value over the 1-in-16 choice. */
bool
fz_dh_allowed(const uint8_t *digits, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	if ((n == strlen(lab_client_pub) && memcmp(digits, lab_client_pub, n) == 0) ||
	    (n == strlen(lab_server_pub) && memcmp(digits, lab_server_pub, n) == 0))
		return true;
	for (i = 0; i < n; i++)
		h = (h ^ digits[i]) * 16777619u;
	return (h >> 28) == 0;
}

/* ---- Configurations ---- */

#define ALL_SPEC "AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128"

static void
ciphers(const char *spec, struct proposal *p)
{
	if (spec == NULL)
		proposal_default(p);
	else
		FZ_ASSERT(proposal_parse_spec(spec, true, p) == 0);
}

/*
 * c0: bits 0-1 HMAC mode (auto, cumulative, per-message, auto); 2-3 newline
 *     (never, always, mirror, mirror); 4-5 reply (plain, padded, bare,
 *     plain); 6 every suite including XOR and None, else the default list;
 *     7 --max-message 256.
 * c1: bit 0 no static key; 1 no PSK; 2 suites AESGCM first; 3 rekey every
 *     2 records; 4 authorized list with the client's key; 5 ... without it;
 *     6 --no-lab.
 */
void
fz_server_config(uint8_t c0, uint8_t c1, struct engine_config *cfg)
{
	static const enum record_hmac hmac[] = { RECORD_HMAC_AUTO, RECORD_HMAC_CUMULATIVE, RECORD_HMAC_PER_MESSAGE,
		RECORD_HMAC_AUTO };
	static const enum engine_newline nl[] = { ENGINE_NEWLINE_NEVER, ENGINE_NEWLINE_ALWAYS, ENGINE_NEWLINE_MIRROR,
		ENGINE_NEWLINE_MIRROR };
	static const enum engine_reply reply[] = { ENGINE_REPLY_PLAIN, ENGINE_REPLY_PADDED, ENGINE_REPLY_BARE,
		ENGINE_REPLY_PLAIN };
	struct secure_config *sc = &cfg->secure;

	memset(cfg, 0, sizeof(*cfg));
	cfg->server = true;
	cfg->hmac = hmac[c0 & 3];
	cfg->newline = nl[(c0 >> 2) & 3];
	cfg->reply = reply[(c0 >> 4) & 3];
	ciphers(c0 & 0x40 ? ALL_SPEC : NULL, &cfg->ciphers);
	cfg->max_message = c0 & 0x80 ? 256 : 0;
	cfg->dh_private = fz_lab_server_priv;
	cfg->dh_private_len = FZ_LAB_PRIV_LEN;
	if (!(c1 & 0x01)) {
		memcpy(sc->static_priv, fz_sec_server_priv, 32);
		sc->static_priv_set = true;
	}
	if (!(c1 & 0x02)) {
		memcpy(sc->psk, fz_sec_psk, 32);
		sc->has_psk = true;
	}
	sc->suites[0] = c1 & 0x04 ? AEAD_AESGCM : AEAD_CHACHAPOLY;
	sc->suites[1] = c1 & 0x04 ? AEAD_CHACHAPOLY : AEAD_AESGCM;
	sc->nsuites = 2;
	sc->rekey_records = c1 & 0x08 ? 2 : 0;
	if (c1 & 0x20)
		sc->authorized = without_client;
	else if (c1 & 0x10)
		sc->authorized = with_client;
	cfg->no_lab = (c1 & 0x40) != 0;
}

/*
 * c0: bits 0-2 the proposal (default, the capture's, AES:128, Blowfish:448,
 *     DES3:192, DES:56, XOR:128,256, None:128); 3 per-message HMAC, else
 *     cumulative; 4 newline after handshake messages; 5 --max-message 256.
 */
void
fz_lab_client_config(uint8_t c0, struct engine_config *cfg)
{
	static const char *const specs[] = { NULL, "DES:56 AES:128,192,256 Blowfish:112,224,448", "AES:128",
		"Blowfish:448", "DES3:192", "DES:56", "XOR:128,256", "None:128" };

	memset(cfg, 0, sizeof(*cfg));
	ciphers(specs[c0 & 7], &cfg->ciphers);
	cfg->hmac = c0 & 0x08 ? RECORD_HMAC_PER_MESSAGE : RECORD_HMAC_CUMULATIVE;
	cfg->newline = c0 & 0x10 ? ENGINE_NEWLINE_ALWAYS : ENGINE_NEWLINE_NEVER;
	cfg->max_message = c0 & 0x20 ? 256 : 0;
	cfg->dh_private = fz_lab_client_priv;
	cfg->dh_private_len = FZ_LAB_PRIV_LEN;
}

/*
 * c0: bit 0 psk mode, else key mode; bits 1-2 suites (ChaChaPoly, AESGCM,
 *     both, both AESGCM first); 3 key mode: anonymous (no static key);
 *     4 key mode: with the PSK; 5 rekey after every record; bits 6-7: see
 *     fz_side.close_at (set by the target).
 */
/* The client's clock in every session: a fixed time, so that seeds replay byte for byte. */
static uint64_t
fixed_clock(void)
{
	return 1767225600ULL * 1000000000ULL; /* 2026-01-01 */
}

void
fz_secure_client_config(uint8_t c0, struct engine_config *cfg)
{
	struct secure_config *sc = &cfg->secure;

	memset(cfg, 0, sizeof(*cfg));
	proposal_default(&cfg->ciphers);
	sc->enabled = true;
	sc->clock = fixed_clock;
	switch ((c0 >> 1) & 3) {
	case 0:
		sc->suites[sc->nsuites++] = AEAD_CHACHAPOLY;
		break;
	case 1:
		sc->suites[sc->nsuites++] = AEAD_AESGCM;
		break;
	case 2:
		sc->suites[sc->nsuites++] = AEAD_CHACHAPOLY;
		sc->suites[sc->nsuites++] = AEAD_AESGCM;
		break;
	default:
		sc->suites[sc->nsuites++] = AEAD_AESGCM;
		sc->suites[sc->nsuites++] = AEAD_CHACHAPOLY;
		break;
	}
	if (c0 & 0x01) {
		memcpy(sc->psk, fz_sec_psk, 32);
		sc->has_psk = true;
	} else {
		memcpy(sc->server_pub, fz_sec_server_pub, 32);
		sc->server_pub_set = true;
		if (!(c0 & 0x08)) {
			memcpy(sc->static_priv, fz_sec_client_priv, 32);
			sc->static_priv_set = true;
		}
		if (c0 & 0x10) {
			memcpy(sc->psk, fz_sec_psk, 32);
			sc->has_psk = true;
		}
	}
	sc->rekey_records = c0 & 0x20 ? 1 : 0;
}

/* ---- Input layout ---- */

void
fz_input_parse(const uint8_t *data, size_t size, size_t ncfg, struct fz_input *in)
{
	size_t i, off = 0;

	memset(in, 0, sizeof(*in));
	for (i = 0; i < ncfg && i < sizeof(in->cfg); i++)
		in->cfg[i] = off < size ? data[off++] : 0;
	if (off < size) {
		in->nchunks = data[off++] & FZ_MAX_CHUNKS;
		for (i = 0; i < in->nchunks; i++, off += 2)
			in->chunk[i] = off + 1 < size ? (uint16_t)(data[off] << 8 | data[off + 1]) : 0;
	}
	in->payload = off < size ? data + off : data + size;
	in->payload_len = off < size ? size - off : 0;
}

size_t
fz_input_write(const uint8_t *cfg, size_t ncfg, const uint16_t *chunks, size_t nchunks,
    const uint8_t *payload, size_t payload_len, uint8_t *out, size_t outcap)
{
	size_t off = 0, i;

	if (nchunks > FZ_MAX_CHUNKS)
		nchunks = FZ_MAX_CHUNKS;
	if (ncfg + 1 + 2 * nchunks + payload_len > outcap)
		return 0;
	memcpy(out, cfg, ncfg);
	off = ncfg;
	out[off++] = (uint8_t)nchunks;
	for (i = 0; i < nchunks; i++) {
		out[off++] = (uint8_t)(chunks[i] >> 8);
		out[off++] = (uint8_t)chunks[i];
	}
	if (payload_len)
		memcpy(out + off, payload, payload_len);
	return off + payload_len;
}

/* ---- Oracles ---- */

static uint8_t hashes[128][2 * NOISE_HASH_LEN];
static size_t nhashes;
static bool hashes_ready;

/* A line of the -v view: network text must reach it escaped, so no control characters. */
static void
check_line(void *arg, const char *line)
{
	const uint8_t *p = (const uint8_t *)line;
	size_t i, n = strlen(line);

	(void)arg;
	for (i = 0; i < n; i++) {
		FZ_ASSERT(p[i] >= 0x20 && p[i] != 0x7f);
		FZ_ASSERT(!(p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0));
	}
}

static void
check_key(struct fz_side *sd, const struct engine_event *ev)
{
	size_t i;

	sd->keys++;
	if (ev->protocol == NULL) {
		FZ_ASSERT(ev->text_len == SUITE_SHARED_KEY_LEN && text_is_lower_hex(ev->text, ev->text_len));
		return;
	}
	FZ_ASSERT(ev->text_len == 2 * NOISE_HASH_LEN);
	if (!hashes_ready) {
		if (nhashes < sizeof(hashes) / sizeof(hashes[0]))
			memcpy(hashes[nhashes++], ev->text, ev->text_len);
		return;
	}
	/* A handshake can complete only with a transcript some genuine peer produced. */
	for (i = 0; i < nhashes; i++)
		if (memcmp(hashes[i], ev->text, ev->text_len) == 0)
			return;
	fz_fail("secure handshake completed with a transcript no genuine peer made", __FILE__, __LINE__);
}

static void
on_event(void *arg, const struct engine_event *ev)
{
	struct fz_side *sd = arg;
	size_t limit = sd->cfg.max_message ? sd->cfg.max_message : ENGINE_MAX_MESSAGE, n;
	const uint8_t *want;

	/* Once a call reported a failure, the engine says nothing more. */
	FZ_ASSERT(sd->err == 0);
	FZ_ASSERT(ev->text != NULL || ev->text_len == 0);
	describe_event(ev, sd->server, sd->server ? 1 : 2, check_line, NULL);
	switch (ev->type) {
	case ENGINE_EV_DH_PEER:
		FZ_ASSERT(dh_check_public(ev->text, ev->text_len) == 0);
		if (!fz_dh_allowed(ev->text, ev->text_len))
			sd->dh_blocked = true;
		break;
	case ENGINE_EV_KEY:
		check_key(sd, ev);
		break;
	case ENGINE_EV_MESSAGE:
		if (!sd->server)
			break;
		FZ_ASSERT(text_utf8_valid(ev->text, ev->text_len));
		FZ_ASSERT(ev->text_len <= (ev->protocol ? ENGINE_MAX_MESSAGE : limit));
		/* A secure record is accepted only as the genuine client sent it: the script, in order. */
		if (ev->protocol && sd->secure_oracles) {
			FZ_ASSERT(sd->messages < FZ_SCRIPT_LEN);
			want = fz_script(sd->messages, &n);
			FZ_ASSERT(ev->text_len == n && memcmp(ev->text, want, n) == 0);
		}
		sd->messages++;
		break;
	case ENGINE_EV_REPLY:
		if (sd->server)
			break;
		/* A reply only ever answers a message we sent. */
		FZ_ASSERT(sd->replies < sd->sent);
		/* At most what the engine may buffer: two of the largest messages and the slack. */
		FZ_ASSERT(ev->text_len <= 2 * (limit > ENGINE_MAX_MESSAGE ? limit : ENGINE_MAX_MESSAGE) + 64);
		if (ev->protocol && sd->secure_oracles) {
			size_t prefix = strlen(LAB_REPLY_PREFIX);
			uint8_t rev[sizeof(long_text)];

			/* Only the genuine server's reply to our own message, in order, can be accepted. */
			FZ_ASSERT(sd->replies < FZ_SCRIPT_LEN);
			want = fz_script(sd->replies, &n);
			FZ_ASSERT(ev->status == 0);
			text_utf8_reverse(rev, want, n);
			FZ_ASSERT(ev->text_len == prefix + n && memcmp(ev->text, LAB_REPLY_PREFIX, prefix) == 0 &&
			    memcmp(ev->text + prefix, rev, n) == 0);
		}
		sd->replies++;
		break;
	default:
		break;
	}
}

/* ---- One side ---- */

void
fz_side_open(struct fz_side *sd)
{
	fz_rng_select(sd->stream);
	FZ_ASSERT(engine_new(&sd->cfg, on_event, sd, &sd->e) == 0);
	sd->err = engine_start(sd->e);
}

void
fz_side_close(struct fz_side *sd)
{
	engine_free(sd->e);
	sd->e = NULL;
	buf_clear(&sd->out);
}

static void
note(struct fz_side *sd, int r)
{
	FZ_ASSERT(r <= 0 && r > CVPN_ERR_COUNT);
	if (r != 0 && sd->err == 0)
		sd->err = r;
}

bool
fz_side_failed(struct fz_side *sd)
{
	static const uint8_t byte = 'x';

	if (sd->err == 0)
		return false;
	/* A failed session stays failed, with the same error, whatever comes next. */
	FZ_ASSERT(engine_feed(sd->e, &byte, 1) == sd->err);
	FZ_ASSERT(engine_quiet(sd->e) == sd->err);
	FZ_ASSERT(engine_stalled(sd->e) == sd->err);
	FZ_ASSERT(!engine_established(sd->e) && !engine_ready(sd->e));
	return true;
}

/* The client's next step: its next script message, or CLOSE once done. Returns whether it acted. */
static bool
client_act(struct fz_side *sd)
{
	const uint8_t *text;
	size_t n, script_len = sd->close_at ? sd->close_at : FZ_SCRIPT_LEN;
	int r;

	if (sd->server || sd->hold || sd->err != 0 || !engine_ready(sd->e))
		return false;
	if (sd->sent < script_len && sd->sent < FZ_SCRIPT_LEN) {
		text = fz_script(sd->sent++, &n);
		r = engine_send(sd->e, text, n);
		/* Too long for --max-message: the session goes on without it. */
		if (r != CVPN_ERR_MSG_TOO_LONG)
			note(sd, r);
		return true;
	}
	if (sd->close_after && !sd->closed_sent && engine_is_secure(sd->e)) {
		sd->closed_sent = true;
		note(sd, engine_close(sd->e));
		return true;
	}
	return false;
}

bool
fz_side_settle(struct fz_side *sd)
{
	const uint8_t *p;
	size_t n;
	bool moved, any = false;

	fz_rng_select(sd->stream);
	do {
		moved = false;
		if (sd->err == 0 && engine_needs_work(sd->e) && !sd->dh_blocked) {
			engine_work(sd->e);
			note(sd, engine_resume(sd->e));
			moved = true;
		}
		moved |= client_act(sd);
		engine_output(sd->e, &p, &n);
		if (n > 0) {
			if (sd->record) {
				FZ_ASSERT(buf_append(&sd->out, p, n, SIZE_MAX) == 0);
				FZ_ASSERT(sd->nwrites < FZ_MAX_WRITES);
				sd->writes[sd->nwrites++] = sd->out.len;
			}
			engine_output_consume(sd->e, n);
			moved = true;
		}
		any |= moved;
	} while (moved);
	return any;
}

void
fz_side_feed(struct fz_side *sd, const uint8_t *p, size_t n)
{
	/*
	 * A transport reads nothing while the DH work is pending, nor after a
	 * failure; and a read of 0 bytes is the end of the stream, never fed.
	 */
	if (sd->err != 0 || engine_needs_work(sd->e) || n == 0)
		return;
	fz_rng_select(sd->stream);
	note(sd, engine_feed(sd->e, p, n));
	fz_side_settle(sd);
}

void
fz_side_pause(struct fz_side *sd)
{
	if (sd->err != 0 || engine_needs_work(sd->e) || !engine_partial(sd->e))
		return;
	fz_rng_select(sd->stream);
	note(sd, engine_quiet(sd->e));
	/* A pause in the input lasts: what a short one left waiting, the partial timeout takes. */
	if (sd->err == 0 && !engine_needs_work(sd->e) && engine_partial(sd->e))
		note(sd, engine_stalled(sd->e));
	fz_side_settle(sd);
}

static int verbose = -1;

void
fz_side_play(struct fz_side *sd, const struct fz_input *in)
{
	size_t off = 0, i, n;

	fz_side_settle(sd);
	for (i = 0; i < in->nchunks && sd->err == 0; i++) {
		n = in->chunk[i] & ~FZ_PAUSE;
		if (n > in->payload_len - off)
			n = in->payload_len - off;
		fz_side_feed(sd, in->payload + off, n);
		off += n;
		if (in->chunk[i] & FZ_PAUSE)
			fz_side_pause(sd);
	}
	if (off < in->payload_len)
		fz_side_feed(sd, in->payload + off, in->payload_len - off);
	fz_side_pause(sd);
	fz_side_failed(sd);
	/* FUZZ_VERBOSE=1 says where each input got to (to check that seeds replay their session). */
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "%s: %s, error %d, keys %zu, messages %zu, replies %zu\n", sd->server ? "server" : "client",
		    engine_phase(sd->e), sd->err, sd->keys, sd->messages, sd->replies);
}

/* ---- Two sides ---- */

/* Delivers from's writes that to has not seen yet, one read each, the writer pausing after each. */
static bool
deliver(struct fz_side *from, size_t *seen, struct fz_side *to)
{
	bool moved = false;
	size_t start;

	while (*seen < from->nwrites) {
		start = *seen ? from->writes[*seen - 1] : 0;
		fz_side_feed(to, from->out.data + start, from->writes[*seen] - start);
		fz_side_pause(to);
		(*seen)++;
		moved = true;
	}
	return moved;
}

void
fz_pair_run(struct fz_side *c, struct fz_side *s)
{
	size_t cseen = 0, sseen = 0;
	bool moved;

	c->record = s->record = true;
	fz_side_settle(c);
	fz_side_settle(s);
	do {
		moved = deliver(c, &cseen, s);
		moved |= deliver(s, &sseen, c);
	} while (moved);
}

/* ---- Genuine secure sessions ---- */

const struct fz_secure_session fz_secure_sessions[] = {
	/* name                    client server0 server1 close_at */
	{ "key-chachapoly",        0x00, 0x00, 0x02, 0 },
	{ "key-aesgcm",            0x02, 0x00, 0x02, 0 },
	{ "psk-chachapoly",        0x01, 0x00, 0x01, 0 },
	{ "psk-aesgcm-pref",       0x07, 0x00, 0x04, 0 },
	{ "key-psk-rekey",         0x34, 0x00, 0x08, 0 },
	{ "key-anonymous",         0x0a, 0x00, 0x02, 0 },
	{ "key-authorized",        0x04, 0x00, 0x12, 0 },
	{ "key-close-early",       0x00, 0x00, 0x02, 1 },
	{ "key-unauthorized",      0x00, 0x00, 0x22, 0 },
};
const size_t fz_secure_nsessions = sizeof(fz_secure_sessions) / sizeof(fz_secure_sessions[0]);

void
fz_collect_handshakes(void)
{
	struct fz_side c, s;
	size_t i;

	if (hashes_ready)
		return;
	/*
	 * Each session also against the server with the other PSK setting: in
	 * IKpsk2 the PSK enters only in message 2, so that server completes its
	 * side on a genuine message 1 (with another hash); only the client notices.
	 */
	for (i = 0; i < 2 * fz_secure_nsessions; i++) {
		const struct fz_secure_session *ss = &fz_secure_sessions[i / 2];

		memset(&c, 0, sizeof(c));
		memset(&s, 0, sizeof(s));
		fz_secure_client_config(ss->client, &c.cfg);
		c.stream = FZ_RNG_CLIENT;
		c.close_after = true;
		c.close_at = ss->close_at;
		fz_server_config(ss->server0, (uint8_t)(ss->server1 ^ (i % 2 ? 0x02 : 0)), &s.cfg);
		s.server = true;
		s.stream = FZ_RNG_SERVER;
		fz_rng_reset();
		fz_side_open(&c);
		fz_side_open(&s);
		fz_pair_run(&c, &s);
		fz_side_close(&c);
		fz_side_close(&s);
	}
	FZ_ASSERT(nhashes > 0);
	hashes_ready = true;
}
