/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the Noise handshake, CipherState and key functions
 * (common/noise.c). The known answers are the 8 cacophony vectors in
 * tests/vectors/noise/cacophony-subset.json, checked byte for byte in
 * both directions; the rest are properties and negative cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "err.h"
#include "json.h"
#include "noise.h"
#include "vectors.h"

#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1
#define MSG_CAP (NOISE_MAX_MSG + 1)

static const char *const protocols[] = {
	"Noise_NN_25519_ChaChaPoly_SHA256", "Noise_NN_25519_AESGCM_SHA256",
	"Noise_IK_25519_ChaChaPoly_SHA256", "Noise_IK_25519_AESGCM_SHA256",
	"Noise_NNpsk0_25519_ChaChaPoly_SHA256", "Noise_NNpsk0_25519_AESGCM_SHA256",
	"Noise_IKpsk2_25519_ChaChaPoly_SHA256", "Noise_IKpsk2_25519_AESGCM_SHA256",
};
#define NPROTOCOLS (sizeof(protocols) / sizeof(protocols[0]))

static bool
is_ik(const char *protocol)
{
	return strncmp(protocol, "Noise_IK", 8) == 0;
}

static bool
has_psk(const char *protocol)
{
	return strstr(protocol, "psk") != NULL;
}

/* ---- The cacophony vectors ---- */

/* An optional hex member, decoded into out (exactly n bytes); false when absent. */
static bool
opt_key(const struct json *v, const char *key, uint8_t *out, size_t n)
{
	uint8_t *bytes;
	size_t len;

	if (json_get(v, key) == NULL)
		return false;
	bytes = json_hex(v, key, &len);
	assert_int_equal(len, n);
	memcpy(out, bytes, n);
	free(bytes);
	return true;
}

/* The single PSK of "init_psks"/"resp_psks"; false when absent. */
static bool
opt_psk(const struct json *v, const char *key, uint8_t out[static NOISE_PSK_LEN])
{
	const struct json *psks = json_get(v, key);

	if (psks == NULL)
		return false;
	assert_int_equal(psks->type, JSON_ARRAY);
	assert_int_equal(psks->n, 1);
	assert_int_equal(psks->items[0]->type, JSON_STRING);
	assert_int_equal(unhex(psks->items[0]->string, out, NOISE_PSK_LEN), NOISE_PSK_LEN);
	return true;
}

/* Builds one side of a vector's handshake with its fixed ephemeral key. */
static struct noise_handshake *
vector_side(const struct json *v, bool initiator)
{
	const char *pre = initiator ? "init_" : "resp_";
	uint8_t s[NOISE_DH_LEN], rs[NOISE_DH_LEN], psk[NOISE_PSK_LEN], e[NOISE_DH_LEN];
	uint8_t *prologue;
	char key[64];
	size_t prologue_len;
	bool has_s, has_rs, has_p;
	struct noise_handshake *hs = NULL;

	snprintf(key, sizeof(key), "%sprologue", pre);
	prologue = json_hex(v, key, &prologue_len);
	snprintf(key, sizeof(key), "%sstatic", pre);
	has_s = opt_key(v, key, s, sizeof(s));
	snprintf(key, sizeof(key), "%sremote_static", pre);
	has_rs = opt_key(v, key, rs, sizeof(rs));
	snprintf(key, sizeof(key), "%spsks", pre);
	has_p = opt_psk(v, key, psk);
	assert_int_equal(noise_handshake_new(json_str(v, "protocol_name"), initiator, prologue, prologue_len,
	    has_s ? s : NULL, has_rs ? rs : NULL, has_p ? psk : NULL, &hs), 0);
	snprintf(key, sizeof(key), "%sephemeral", pre);
	assert_true(opt_key(v, key, e, sizeof(e)));
	assert_int_equal(noise_handshake_set_ephemeral(hs, e), 0);
	free(prologue);
	return hs;
}

/* Runs message i of a vector from sender to receiver through the handshake. */
static void
vector_handshake_message(const struct json *m, struct noise_handshake *from, struct noise_handshake *to)
{
	uint8_t *payload, *ct, *out, *got;
	size_t plen, ctlen, outlen = 0, gotlen = 0;

	payload = json_hex(m, "payload", &plen);
	ct = json_hex(m, "ciphertext", &ctlen);
	out = malloc(MSG_CAP);
	got = malloc(MSG_CAP);
	assert_non_null(out);
	assert_non_null(got);
	assert_int_equal(noise_handshake_action(from), NOISE_ACTION_WRITE);
	assert_int_equal(noise_handshake_action(to), NOISE_ACTION_READ);
	assert_int_equal(noise_handshake_overhead(from), ctlen - plen);
	assert_int_equal(noise_handshake_overhead(to), ctlen - plen);
	assert_int_equal(noise_handshake_write(from, payload, plen, out, MSG_CAP, &outlen), 0);
	assert_int_equal(outlen, ctlen);
	assert_memory_equal(out, ct, ctlen);
	assert_int_equal(noise_handshake_read(to, ct, ctlen, got, MSG_CAP, &gotlen), 0);
	assert_int_equal(gotlen, plen);
	assert_memory_equal(got, payload, plen);
	free(payload);
	free(ct);
	free(out);
	free(got);
}

/* Runs a transport message: from encrypts, to decrypts. */
static void
vector_transport_message(const struct json *m, struct noise_cipher *from, struct noise_cipher *to)
{
	uint8_t *payload, *ct, out[512], got[512];
	size_t plen, ctlen, gotlen = 0;

	payload = json_hex(m, "payload", &plen);
	ct = json_hex(m, "ciphertext", &ctlen);
	assert_true(ctlen <= sizeof(out));
	assert_int_equal(ctlen, plen + NOISE_TAG_LEN);
	assert_int_equal(noise_cipher_encrypt(from, NULL, 0, payload, plen, out), 0);
	assert_memory_equal(out, ct, ctlen);
	assert_int_equal(noise_cipher_decrypt(to, NULL, 0, ct, ctlen, got, &gotlen), 0);
	assert_int_equal(gotlen, plen);
	assert_memory_equal(got, payload, plen);
	free(payload);
	free(ct);
}

/* The remote static keys each side ends up with are the other's public keys. */
static void
vector_check_statics(const struct json *v, struct noise_handshake *init, struct noise_handshake *resp)
{
	uint8_t s[NOISE_DH_LEN], pub[NOISE_DH_LEN], got[NOISE_DH_LEN];

	if (opt_key(v, "init_static", s, sizeof(s))) {
		assert_int_equal(noise_public_key(s, pub), 0);
		assert_int_equal(noise_handshake_remote_static(resp, got), 0);
		assert_memory_equal(got, pub, sizeof(pub));
	} else {
		assert_int_equal(noise_handshake_remote_static(resp, got), CVPN_ERR_STATE);
	}
	if (opt_key(v, "resp_static", s, sizeof(s))) {
		assert_int_equal(noise_public_key(s, pub), 0);
		assert_true(opt_key(v, "init_remote_static", got, sizeof(got)));
		assert_memory_equal(got, pub, sizeof(pub));
		assert_int_equal(noise_handshake_remote_static(init, got), 0);
		assert_memory_equal(got, pub, sizeof(pub));
	} else {
		assert_int_equal(noise_handshake_remote_static(init, got), CVPN_ERR_STATE);
	}
}

static void
run_vector(const struct json *v)
{
	const struct json *msgs = json_array(v, "messages");
	struct noise_handshake *init = vector_side(v, true), *resp = vector_side(v, false);
	struct noise_cipher *isend = NULL, *irecv = NULL, *rsend = NULL, *rrecv = NULL;
	uint8_t *want, h[NOISE_HASH_LEN];
	size_t i, wantlen;

	/* Both patterns have two handshake messages; cacophony alternates senders, initiator first. */
	assert_true(msgs->n > 2);
	for (i = 0; i < 2; i++)
		vector_handshake_message(msgs->items[i], i % 2 == 0 ? init : resp, i % 2 == 0 ? resp : init);
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_SPLIT);
	assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_SPLIT);
	want = json_hex(v, "handshake_hash", &wantlen);
	assert_int_equal(wantlen, NOISE_HASH_LEN);
	assert_int_equal(noise_handshake_hash(init, h), 0);
	assert_memory_equal(h, want, wantlen);
	assert_int_equal(noise_handshake_hash(resp, h), 0);
	assert_memory_equal(h, want, wantlen);
	vector_check_statics(v, init, resp);
	assert_int_equal(noise_handshake_split(init, &isend, &irecv), 0);
	assert_int_equal(noise_handshake_split(resp, &rsend, &rrecv), 0);
	for (i = 2; i < msgs->n; i++) {
		if (i % 2 == 0)
			vector_transport_message(msgs->items[i], isend, rrecv);
		else
			vector_transport_message(msgs->items[i], rsend, irecv);
	}
	/* The hash survives Split. */
	assert_int_equal(noise_handshake_hash(init, h), 0);
	assert_memory_equal(h, want, wantlen);
	free(want);
	noise_cipher_free(isend);
	noise_cipher_free(irecv);
	noise_cipher_free(rsend);
	noise_cipher_free(rrecv);
	noise_handshake_free(init);
	noise_handshake_free(resp);
}

static void
test_cacophony(void **state)
{
	struct json *root = vec_json("noise/cacophony-subset.json");
	const struct json *vectors = json_array(root, "vectors");
	bool seen[NPROTOCOLS] = { false };
	size_t i, j, transport = 0;

	(void)state;
	for (i = 0; i < vectors->n; i++) {
		const char *name = json_str(vectors->items[i], "protocol_name");

		for (j = 0; j < NPROTOCOLS && strcmp(protocols[j], name) != 0; j++)
			;
		if (j == NPROTOCOLS || seen[j])
			fail_msg("unexpected or repeated vector %s", name);
		seen[j] = true;
		run_vector(vectors->items[i]);
		transport += json_array(vectors->items[i], "messages")->n - 2;
	}
	/* All 8 entries, each with its transport messages. */
	assert_int_equal(vectors->n, NPROTOCOLS);
	assert_int_equal(transport, 8 * 4);
	print_message("# cacophony: %zu vectors, %zu handshake and %zu transport messages\n", vectors->n,
	    2 * vectors->n, transport);
	json_free(root);
}

/* ---- Handshakes with generated keys ---- */

struct peer_keys {
	uint8_t init_s[NOISE_DH_LEN], init_pub[NOISE_DH_LEN];
	uint8_t resp_s[NOISE_DH_LEN], resp_pub[NOISE_DH_LEN];
	uint8_t psk[NOISE_PSK_LEN];
};

static void
gen_keys(struct peer_keys *k)
{
	assert_int_equal(noise_keypair_generate(k->init_s, k->init_pub), 0);
	assert_int_equal(noise_keypair_generate(k->resp_s, k->resp_pub), 0);
	memset(k->psk, 0x5c, sizeof(k->psk));
}

static struct noise_handshake *
side(const char *protocol, bool initiator, const struct peer_keys *k, const char *prologue)
{
	struct noise_handshake *hs = NULL;
	const uint8_t *s = NULL, *rs = NULL;

	if (is_ik(protocol)) {
		s = initiator ? k->init_s : k->resp_s;
		rs = initiator ? k->resp_pub : NULL;
	}
	assert_int_equal(noise_handshake_new(protocol, initiator, (const uint8_t *)prologue, strlen(prologue), s, rs,
	    has_psk(protocol) ? k->psk : NULL, &hs), 0);
	return hs;
}

/*
 * Passes each handshake message from writer to reader; tamper, when set, edits
 * message m before delivery. Records the message lengths in lens when set.
 * Returns the first error, or 0 when both complete.
 */
typedef void tamper_fn(uint8_t *msg, size_t *n, size_t arg);

static int
exchange(struct noise_handshake *init, struct noise_handshake *resp, tamper_fn *tamper, size_t m, size_t arg,
    size_t lens[2])
{
	uint8_t msg[256], payload[256];
	size_t n = 0, plen = 0, i;
	struct noise_handshake *from, *to;
	int r;

	for (i = 0; i < 2; i++) {
		from = i % 2 == 0 ? init : resp;
		to = i % 2 == 0 ? resp : init;
		if ((r = noise_handshake_write(from, BYTES("payload"), msg, sizeof(msg) - 1, &n)) != 0)
			return r;
		if (lens != NULL)
			lens[i] = n;
		if (tamper != NULL && i == m)
			tamper(msg, &n, arg);
		memset(payload, 0xa5, sizeof(payload));
		if ((r = noise_handshake_read(to, msg, n, payload, sizeof(payload), &plen)) != 0) {
			/* Nothing of a failed message's payload comes out. */
			assert_memory_not_equal(payload, "payload", 7);
			return r;
		}
		/* Only NN's first message can be changed unnoticed, and then only until the next one. */
		if (tamper == NULL || i < m)
			assert_bytes_str(payload, plen, "payload");
	}
	return 0;
}

/* Sends one transport message each way and checks the hashes and keys agree. */
static void
check_session(struct noise_handshake *init, struct noise_handshake *resp)
{
	struct noise_cipher *isend = NULL, *irecv = NULL, *rsend = NULL, *rrecv = NULL;
	uint8_t h1[NOISE_HASH_LEN], h2[NOISE_HASH_LEN], wire[64], out[64];
	size_t n = 0;

	assert_int_equal(noise_handshake_hash(init, h1), 0);
	assert_int_equal(noise_handshake_hash(resp, h2), 0);
	assert_memory_equal(h1, h2, sizeof(h1));
	assert_int_equal(noise_handshake_split(init, &isend, &irecv), 0);
	assert_int_equal(noise_handshake_split(resp, &rsend, &rrecv), 0);
	assert_int_equal(noise_cipher_encrypt(isend, BYTES("ad"), BYTES("ping"), wire), 0);
	assert_int_equal(noise_cipher_decrypt(rrecv, BYTES("ad"), wire, 4 + NOISE_TAG_LEN, out, &n), 0);
	assert_bytes_str(out, n, "ping");
	assert_int_equal(noise_cipher_encrypt(rsend, NULL, 0, BYTES("pong"), wire), 0);
	assert_int_equal(noise_cipher_decrypt(irecv, NULL, 0, wire, 4 + NOISE_TAG_LEN, out, &n), 0);
	assert_bytes_str(out, n, "pong");
	noise_cipher_free(isend);
	noise_cipher_free(irecv);
	noise_cipher_free(rsend);
	noise_cipher_free(rrecv);
}

/* Fresh random keys and ephemerals, every protocol: both sides agree, the responder learns the client. */
static void
test_generated_keys(void **state)
{
	struct peer_keys k;
	uint8_t got[NOISE_DH_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < NPROTOCOLS; i++) {
		struct noise_handshake *init, *resp;

		gen_keys(&k);
		init = side(protocols[i], true, &k, "prologue");
		resp = side(protocols[i], false, &k, "prologue");
		assert_int_equal(exchange(init, resp, NULL, 0, 0, NULL), 0);
		if (is_ik(protocols[i])) {
			assert_int_equal(noise_handshake_remote_static(resp, got), 0);
			assert_memory_equal(got, k.init_pub, sizeof(got));
		}
		check_session(init, resp);
		assert_int_equal(noise_handshake_action(init), NOISE_ACTION_DONE);
		assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_DONE);
		noise_handshake_free(init);
		noise_handshake_free(resp);
	}
}

static void
flip_byte(uint8_t *msg, size_t *n, size_t pos)
{
	assert_true(pos < *n);
	msg[pos] ^= 0x01;
}

static void
truncate_to(uint8_t *msg, size_t *n, size_t len)
{
	(void)msg;
	assert_true(len < *n);
	*n = len;
}

static void
append_byte(uint8_t *msg, size_t *n, size_t value)
{
	msg[(*n)++] = (uint8_t)value;
}

/* One handshake with message m tampered: it must fail, and the initiator must not complete. */
static void
tampered(const char *protocol, const struct peer_keys *k, tamper_fn *tamper, size_t m, size_t arg)
{
	struct noise_handshake *init = side(protocol, true, k, ""), *resp = side(protocol, false, k, "");
	uint8_t h[NOISE_HASH_LEN];
	int r = exchange(init, resp, tamper, m, arg, NULL);

	if (r != CVPN_ERR_BAD_TAG && r != CVPN_ERR_TRUNCATED)
		fail_msg("%s: message %zu tampered (%zu) gave %d", protocol, m, arg, r);
	/* A tag failure kills the reader; a short message is refused before anything changes. */
	if (r == CVPN_ERR_BAD_TAG)
		assert_true(noise_handshake_action(init) == NOISE_ACTION_FAILED ||
		    noise_handshake_action(resp) == NOISE_ACTION_FAILED);
	/*
	 * The initiator reads the last message, so it never completes. The
	 * responder completes as soon as it has written message 1, as Noise
	 * always allows; its keys then match nobody's.
	 */
	assert_int_equal(noise_handshake_hash(init, h), CVPN_ERR_STATE);
	if (noise_handshake_action(resp) != NOISE_ACTION_SPLIT)
		assert_int_equal(noise_handshake_hash(resp, h), CVPN_ERR_STATE);
	noise_handshake_free(init);
	noise_handshake_free(resp);
}

/*
 * Any change to any byte of either handshake message, any truncation and an
 * appended byte make the handshake fail by its end. (NN's first message is not
 * authenticated when it arrives; the change is caught with the second.)
 */
static void
test_tampering(void **state)
{
	struct peer_keys k;
	struct noise_handshake *init, *resp;
	size_t i, m, pos, lens[2];

	(void)state;
	gen_keys(&k);
	for (i = 0; i < NPROTOCOLS; i++) {
		init = side(protocols[i], true, &k, "");
		resp = side(protocols[i], false, &k, "");
		assert_int_equal(exchange(init, resp, NULL, 0, 0, lens), 0);
		noise_handshake_free(init);
		noise_handshake_free(resp);
		for (m = 0; m < 2; m++) {
			for (pos = 0; pos < lens[m]; pos++)
				tampered(protocols[i], &k, flip_byte, m, pos);
			for (pos = 0; pos < lens[m]; pos++)
				tampered(protocols[i], &k, truncate_to, m, pos);
			tampered(protocols[i], &k, append_byte, m, 0x42);
		}
	}
}

/*
 * Runs a handshake between sides built from different settings and expects
 * the reader of message fail_at to fail with a bad tag.
 */
static void
mismatch(const char *iproto, const char *rproto, const struct peer_keys *ik, const struct peer_keys *rk,
    const char *iprologue, const char *rprologue, size_t fail_at)
{
	struct noise_handshake *init = side(iproto, true, ik, iprologue);
	struct noise_handshake *resp = side(rproto, false, rk, rprologue);
	uint8_t msg[256], payload[256];
	size_t n = 0, plen = 0, i;
	int r = 0;

	for (i = 0; i <= fail_at; i++) {
		struct noise_handshake *from = i % 2 == 0 ? init : resp, *to = i % 2 == 0 ? resp : init;

		assert_int_equal(noise_handshake_write(from, BYTES("secret"), msg, sizeof(msg), &n), 0);
		r = noise_handshake_read(to, msg, n, payload, sizeof(payload), &plen);
		if (i < fail_at)
			assert_int_equal(r, 0);
	}
	if (r != CVPN_ERR_BAD_TAG)
		fail_msg("%s/%s: message %zu read gave %d", iproto, rproto, fail_at, r);
	assert_int_equal(noise_handshake_action(fail_at % 2 == 0 ? resp : init), NOISE_ACTION_FAILED);
	noise_handshake_free(init);
	noise_handshake_free(resp);
}

/* Wrong static key, PSK, prologue or cipher: the first authenticated read fails. */
static void
test_mismatches(void **state)
{
	struct peer_keys k, wrong;
	size_t i;

	(void)state;
	gen_keys(&k);
	wrong = k;
	assert_int_equal(noise_keypair_generate(wrong.resp_s, wrong.resp_pub), 0);
	/* The initiator pins a key the responder does not hold (key substitution). */
	mismatch("Noise_IK_25519_ChaChaPoly_SHA256", "Noise_IK_25519_ChaChaPoly_SHA256", &wrong, &k, "", "", 0);
	mismatch("Noise_IKpsk2_25519_AESGCM_SHA256", "Noise_IKpsk2_25519_AESGCM_SHA256", &wrong, &k, "", "", 0);
	/* PSKs differ: psk0 fails at once, psk2 when the responder's message arrives. */
	wrong = k;
	wrong.psk[31] ^= 1;
	mismatch("Noise_NNpsk0_25519_ChaChaPoly_SHA256", "Noise_NNpsk0_25519_ChaChaPoly_SHA256", &wrong, &k, "", "", 0);
	mismatch("Noise_IKpsk2_25519_ChaChaPoly_SHA256", "Noise_IKpsk2_25519_ChaChaPoly_SHA256", &wrong, &k, "", "", 1);
	for (i = 0; i < NPROTOCOLS; i++) {
		/* The prologue binds the negotiation: NN notices with message 1, the others with message 0. */
		size_t at = strncmp(protocols[i], "Noise_NN_", 9) == 0 ? 1 : 0;

		mismatch(protocols[i], protocols[i], &k, &k, "SMC2 v1 hello", "SMC2 v1 hellp", at);
		/* The same pattern with the other cipher: the protocol names differ, so do the hashes. */
		mismatch(protocols[i], protocols[i ^ 1], &k, &k, "", "", at);
	}
}

/* Replaces bytes [pos, pos + 32) of msg with a low-order X25519 point. */
static void
low_order_at(uint8_t *msg, size_t *n, size_t pos)
{
	assert_true(pos + NOISE_DH_LEN <= *n);
	memset(msg + pos, 0, NOISE_DH_LEN);
}

/* A peer's low-order ephemeral or static key stops the handshake with CVPN_ERR_DH_ZERO. */
static void
test_low_order_keys(void **state)
{
	static const uint8_t zero[NOISE_DH_LEN];
	struct peer_keys k;
	struct noise_handshake *init, *resp;
	uint8_t msg[256];
	size_t n;

	(void)state;
	gen_keys(&k);
	/* IK: the responder's "es" on a zero e. */
	init = side("Noise_IK_25519_ChaChaPoly_SHA256", true, &k, "");
	resp = side("Noise_IK_25519_ChaChaPoly_SHA256", false, &k, "");
	assert_int_equal(exchange(init, resp, low_order_at, 0, 0, NULL), CVPN_ERR_DH_ZERO);
	assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_FAILED);
	noise_handshake_free(init);
	noise_handshake_free(resp);
	/* IK: the initiator's "ee" on a zero e from the responder. */
	init = side("Noise_IK_25519_AESGCM_SHA256", true, &k, "");
	resp = side("Noise_IK_25519_AESGCM_SHA256", false, &k, "");
	assert_int_equal(exchange(init, resp, low_order_at, 1, 0, NULL), CVPN_ERR_DH_ZERO);
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_FAILED);
	noise_handshake_free(init);
	noise_handshake_free(resp);
	/* NN: the zero e is read without a DH; the responder's "ee" refuses it when writing. */
	init = side("Noise_NN_25519_ChaChaPoly_SHA256", true, &k, "");
	resp = side("Noise_NN_25519_ChaChaPoly_SHA256", false, &k, "");
	assert_int_equal(exchange(init, resp, low_order_at, 0, 0, NULL), CVPN_ERR_DH_ZERO);
	assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_FAILED);
	noise_handshake_free(init);
	noise_handshake_free(resp);
	/* An initiator configured with a low-order server key fails at its first "es". */
	assert_int_equal(noise_handshake_new("Noise_IK_25519_ChaChaPoly_SHA256", true, NULL, 0, k.init_s, zero, NULL,
	    &init), 0);
	memset(msg, 0xa5, sizeof(msg));
	assert_int_equal(noise_handshake_write(init, NULL, 0, msg, sizeof(msg), &n), CVPN_ERR_DH_ZERO);
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_FAILED);
	assert_int_equal(noise_handshake_write(init, NULL, 0, msg, sizeof(msg), &n), CVPN_ERR_STATE);
	noise_handshake_free(init);
}

/* Completes a handshake of protocol and splits it. */
static void
session(const char *protocol, struct noise_cipher **isend, struct noise_cipher **irecv, struct noise_cipher **rsend,
    struct noise_cipher **rrecv)
{
	struct peer_keys k;
	struct noise_handshake *init, *resp;

	gen_keys(&k);
	init = side(protocol, true, &k, "");
	resp = side(protocol, false, &k, "");
	assert_int_equal(exchange(init, resp, NULL, 0, 0, NULL), 0);
	assert_int_equal(noise_handshake_split(init, isend, irecv), 0);
	assert_int_equal(noise_handshake_split(resp, rsend, rrecv), 0);
	noise_handshake_free(init);
	noise_handshake_free(resp);
}

static void
expect_decrypt_err(struct noise_cipher *cs, const uint8_t *wire, size_t n, int err)
{
	uint8_t out[64];
	size_t outlen = 12345;
	uint64_t nonce = noise_cipher_nonce(cs);

	memset(out, 0xa5, sizeof(out));
	assert_int_equal(noise_cipher_decrypt(cs, NULL, 0, wire, n, out, &outlen), err);
	assert_int_equal(outlen, 12345);
	/* A failed message leaves the nonce where it was. */
	assert_int_equal(noise_cipher_nonce(cs), nonce);
	if (err == CVPN_ERR_BAD_TAG && n > NOISE_TAG_LEN)
		assert_int_equal(out[0], 0);
}

/* Implicit nonces: replay, reordering, reflection, truncation and a dropped message all fail. */
static void
test_transport_attacks(void **state)
{
	struct noise_cipher *isend, *irecv, *rsend, *rrecv;
	uint8_t w1[5 + NOISE_TAG_LEN], w2[5 + NOISE_TAG_LEN], w3[5 + NOISE_TAG_LEN], out[64];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < NPROTOCOLS; i++) {
		session(protocols[i], &isend, &irecv, &rsend, &rrecv);
		assert_int_equal(noise_cipher_cipher(isend), i % 2 == 0 ? AEAD_CHACHAPOLY : AEAD_AESGCM);
		assert_int_equal(noise_cipher_encrypt(isend, NULL, 0, BYTES("one.."), w1), 0);
		assert_int_equal(noise_cipher_encrypt(isend, NULL, 0, BYTES("two.."), w2), 0);
		assert_int_equal(noise_cipher_encrypt(isend, NULL, 0, BYTES("three"), w3), 0);
		assert_int_equal(noise_cipher_nonce(isend), 3);
		/* Reordered: 2 before 1. Reflected: our own message back to us. */
		expect_decrypt_err(rrecv, w2, sizeof(w2), CVPN_ERR_BAD_TAG);
		expect_decrypt_err(irecv, w1, sizeof(w1), CVPN_ERR_BAD_TAG);
		/* Truncated: short of a tag, or one byte short. */
		expect_decrypt_err(rrecv, w1, NOISE_TAG_LEN - 1, CVPN_ERR_TRUNCATED);
		expect_decrypt_err(rrecv, w1, sizeof(w1) - 1, CVPN_ERR_BAD_TAG);
		assert_int_equal(noise_cipher_decrypt(rrecv, NULL, 0, w1, sizeof(w1), out, &n), 0);
		assert_bytes_str(out, n, "one..");
		/* Replayed. */
		expect_decrypt_err(rrecv, w1, sizeof(w1), CVPN_ERR_BAD_TAG);
		/* Dropped: 3 after 1. */
		expect_decrypt_err(rrecv, w3, sizeof(w3), CVPN_ERR_BAD_TAG);
		assert_int_equal(noise_cipher_decrypt(rrecv, NULL, 0, w2, sizeof(w2), out, &n), 0);
		assert_bytes_str(out, n, "two..");
		/* Decrypting in place works too. */
		assert_int_equal(noise_cipher_decrypt(rrecv, NULL, 0, w3, sizeof(w3), w3, &n), 0);
		assert_bytes_str(w3, n, "three");
		assert_int_equal(noise_cipher_nonce(rrecv), 3);
		noise_cipher_free(isend);
		noise_cipher_free(irecv);
		noise_cipher_free(rsend);
		noise_cipher_free(rrecv);
	}
}

/* n = 2^64-1 is reserved: the message at 2^64-2 is the last, in both directions. */
static void
test_nonce_limit(void **state)
{
	uint8_t key[AEAD_KEY_LEN] = { 1 }, wire[2 + NOISE_TAG_LEN], last[2 + NOISE_TAG_LEN], out[2];
	struct noise_cipher *tx = NULL, *rx = NULL;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(noise_cipher_new(i ? AEAD_AESGCM : AEAD_CHACHAPOLY, key, &tx), 0);
		assert_int_equal(noise_cipher_new(i ? AEAD_AESGCM : AEAD_CHACHAPOLY, key, &rx), 0);
		assert_int_equal(noise_cipher_nonce(tx), 0);
		noise_cipher_set_nonce(tx, UINT64_MAX - 1);
		noise_cipher_set_nonce(rx, UINT64_MAX - 1);
		assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, BYTES("ok"), last), 0);
		assert_int_equal(noise_cipher_nonce(tx), UINT64_MAX);
		assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, BYTES("no"), wire), CVPN_ERR_NONCE_EXHAUSTED);
		assert_int_equal(noise_cipher_nonce(tx), UINT64_MAX);
		assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, last, sizeof(last), out, &n), 0);
		assert_bytes_str(out, n, "ok");
		expect_decrypt_err(rx, last, sizeof(last), CVPN_ERR_NONCE_EXHAUSTED);
		/* A rekey does not reset the nonce (spec 11.3): still exhausted. */
		assert_int_equal(noise_cipher_rekey(tx), 0);
		assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, BYTES("no"), wire), CVPN_ERR_NONCE_EXHAUSTED);
		noise_cipher_free(tx);
		noise_cipher_free(rx);
	}
	noise_cipher_free(NULL);
}

/*
 * Rekey(): k' = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). Expected
 * bytes from python3-cryptography: key 00..1f, then "after rekey" at n = 5.
 */
static void
test_rekey(void **state)
{
	static const struct {
		enum aead_cipher c;
		const char *wire;
	} cases[] = {
		{ AEAD_CHACHAPOLY, "33aadc6d4a5dbf5a4b033cce607f72e85b3621f7d8262986b789af" },
		{ AEAD_AESGCM, "2fb8d5c5a926c6ed1441ac0dd84bee325979fcadb6e2fd69f127b1" },
	};
	uint8_t key[AEAD_KEY_LEN], wire[11 + NOISE_TAG_LEN], out[11];
	struct noise_cipher *tx = NULL, *rx = NULL;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < AEAD_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(noise_cipher_new(cases[i].c, key, &tx), 0);
		assert_int_equal(noise_cipher_new(cases[i].c, key, &rx), 0);
		noise_cipher_set_nonce(tx, 5);
		noise_cipher_set_nonce(rx, 5);
		assert_int_equal(noise_cipher_rekey(tx), 0);
		assert_int_equal(noise_cipher_nonce(tx), 5);
		assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, BYTES("after rekey"), wire), 0);
		assert_bytes_hex(wire, sizeof(wire), cases[i].wire);
		/* The old key no longer opens it; the rekeyed peer does. */
		expect_decrypt_err(rx, wire, sizeof(wire), CVPN_ERR_BAD_TAG);
		assert_int_equal(noise_cipher_rekey(rx), 0);
		assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, wire, sizeof(wire), out, &n), 0);
		assert_bytes_str(out, n, "after rekey");
		noise_cipher_free(tx);
		noise_cipher_free(rx);
	}
}

/* Transport messages: at most 65535 bytes on the wire, at least a tag. */
static void
test_transport_bounds(void **state)
{
	uint8_t key[AEAD_KEY_LEN] = { 7 }, *big = malloc(NOISE_MAX_MSG + 1), *out = malloc(NOISE_MAX_MSG + 1);
	struct noise_cipher *tx = NULL, *rx = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(big);
	assert_non_null(out);
	memset(big, 'x', NOISE_MAX_MSG + 1);
	assert_int_equal(noise_cipher_new(AEAD_CHACHAPOLY, key, &tx), 0);
	assert_int_equal(noise_cipher_new(AEAD_CHACHAPOLY, key, &rx), 0);
	assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, big, NOISE_MAX_MSG - NOISE_TAG_LEN + 1, out),
	    CVPN_ERR_TOO_LONG);
	assert_int_equal(noise_cipher_nonce(tx), 0);
	assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, big, NOISE_MAX_MSG - NOISE_TAG_LEN, out), 0);
	assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, out, NOISE_MAX_MSG + 1, big, &n), CVPN_ERR_TOO_LONG);
	assert_int_equal(n, 0);
	assert_int_equal(noise_cipher_nonce(rx), 0);
	assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, out, NOISE_MAX_MSG, out, &n), 0);
	assert_int_equal(n, NOISE_MAX_MSG - NOISE_TAG_LEN);
	assert_memory_equal(out, big, n);
	assert_int_equal(noise_cipher_new((enum aead_cipher)5, key, &tx), CVPN_ERR_INVALID_ARG);
	noise_cipher_free(tx);
	noise_cipher_free(rx);
	free(big);
	free(out);
}

/*
 * Handshake bounds: argument errors (not our turn, too long, no room, short)
 * change nothing, so the same handshake then completes and matches the
 * cacophony bytes.
 */
static void
test_handshake_bounds(void **state)
{
	struct json *root = vec_json("noise/cacophony-subset.json");
	const struct json *v = NULL, *vectors = json_array(root, "vectors");
	struct noise_handshake *init, *resp;
	uint8_t *big = malloc(NOISE_MAX_MSG + 2), *out = malloc(NOISE_MAX_MSG + 2), *payload, *ct;
	size_t i, over, n = 12345, plen, ctlen;

	(void)state;
	assert_non_null(big);
	assert_non_null(out);
	memset(big, 'p', NOISE_MAX_MSG + 2);
	for (i = 0; i < vectors->n; i++) {
		if (strcmp(json_str(vectors->items[i], "protocol_name"), "Noise_IKpsk2_25519_ChaChaPoly_SHA256") == 0)
			v = vectors->items[i];
	}
	assert_non_null(v);
	init = vector_side(v, true);
	resp = vector_side(v, false);
	over = noise_handshake_overhead(init);
	assert_int_equal(over, 32 + 48 + 16);
	assert_int_equal(noise_handshake_read(init, out, 100, out, 100, &n), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_write(resp, NULL, 0, out, 100, &n), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_write(init, big, NOISE_MAX_MSG - over + 1, out, NOISE_MAX_MSG + 2, &n),
	    CVPN_ERR_TOO_LONG);
	assert_int_equal(noise_handshake_write(init, big, 10, out, over + 9, &n), CVPN_ERR_INVALID_ARG);
	assert_int_equal(noise_handshake_write(init, NULL, 10, out, over + 10, &n), CVPN_ERR_INVALID_ARG);
	assert_int_equal(noise_handshake_write(init, big, 0, NULL, 0, &n), CVPN_ERR_INVALID_ARG);
	assert_int_equal(n, 12345);
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_WRITE);
	payload = json_hex(json_at(json_array(v, "messages"), 0), "payload", &plen);
	ct = json_hex(json_at(json_array(v, "messages"), 0), "ciphertext", &ctlen);
	assert_int_equal(noise_handshake_write(init, payload, plen, out, ctlen, &n), 0);
	assert_int_equal(n, ctlen);
	assert_memory_equal(out, ct, ctlen);
	/* The reader: too long, shorter than the overhead, no room for the payload; then the real read. */
	assert_int_equal(noise_handshake_read(resp, big, NOISE_MAX_MSG + 1, out, NOISE_MAX_MSG + 2, &n),
	    CVPN_ERR_TOO_LONG);
	assert_int_equal(noise_handshake_read(resp, ct, over - 1, out, NOISE_MAX_MSG, &n), CVPN_ERR_TRUNCATED);
	assert_int_equal(noise_handshake_read(resp, ct, ctlen, out, plen - 1, &n), CVPN_ERR_INVALID_ARG);
	assert_int_equal(noise_handshake_read(resp, NULL, ctlen, out, plen, &n), CVPN_ERR_INVALID_ARG);
	assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_READ);
	assert_int_equal(noise_handshake_read(resp, ct, ctlen, out, plen, &n), 0);
	assert_int_equal(n, plen);
	assert_memory_equal(out, payload, plen);
	free(payload);
	free(ct);
	noise_handshake_free(init);
	noise_handshake_free(resp);
	json_free(root);
	free(big);
	free(out);
}

/* The largest handshake message is exactly 65535 bytes, and it arrives whole. */
static void
test_handshake_max_message(void **state)
{
	struct peer_keys k;
	struct noise_handshake *init, *resp;
	uint8_t *big = malloc(NOISE_MAX_MSG), *msg = malloc(NOISE_MAX_MSG), *got = malloc(NOISE_MAX_MSG);
	size_t i, over, n = 0, plen = 0;

	(void)state;
	assert_non_null(big);
	assert_non_null(msg);
	assert_non_null(got);
	gen_keys(&k);
	for (i = 0; i < NOISE_MAX_MSG; i++)
		big[i] = (uint8_t)i;
	for (i = 0; i < NPROTOCOLS; i++) {
		init = side(protocols[i], true, &k, "");
		resp = side(protocols[i], false, &k, "");
		over = noise_handshake_overhead(init);
		assert_int_equal(noise_handshake_write(init, big, NOISE_MAX_MSG - over, msg, NOISE_MAX_MSG, &n), 0);
		assert_int_equal(n, NOISE_MAX_MSG);
		assert_int_equal(noise_handshake_read(resp, msg, n, got, NOISE_MAX_MSG, &plen), 0);
		assert_int_equal(plen, NOISE_MAX_MSG - over);
		assert_memory_equal(got, big, plen);
		noise_handshake_free(init);
		noise_handshake_free(resp);
	}
	free(big);
	free(msg);
	free(got);
}

/* Calls out of order are refused with CVPN_ERR_STATE and change nothing. */
static void
test_state_errors(void **state)
{
	struct peer_keys k;
	struct noise_handshake *init, *resp;
	struct noise_cipher *a = (struct noise_cipher *)&k, *b = (struct noise_cipher *)&k;
	uint8_t h[NOISE_HASH_LEN], e[NOISE_DH_LEN] = { 9 }, msg[128];
	size_t n = 0;

	(void)state;
	gen_keys(&k);
	init = side("Noise_NN_25519_ChaChaPoly_SHA256", true, &k, "");
	resp = side("Noise_NN_25519_ChaChaPoly_SHA256", false, &k, "");
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_WRITE);
	assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_READ);
	assert_int_equal(noise_handshake_split(init, &a, &b), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_hash(init, h), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_remote_static(init, h), CVPN_ERR_STATE);
	assert_ptr_equal(a, (struct noise_cipher *)&k);
	assert_int_equal(noise_handshake_set_ephemeral(init, e), 0);
	assert_int_equal(noise_handshake_set_ephemeral(init, e), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_write(init, NULL, 0, msg, sizeof(msg), &n), 0);
	assert_int_equal(n, 32);
	assert_int_equal(noise_handshake_write(init, NULL, 0, msg, sizeof(msg), &n), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_read(resp, msg, n, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(noise_handshake_action(resp), NOISE_ACTION_WRITE);
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_READ);
	assert_int_equal(noise_handshake_overhead(resp), 32 + 16);
	assert_int_equal(noise_handshake_write(resp, NULL, 0, msg, sizeof(msg), &n), 0);
	assert_int_equal(noise_handshake_read(init, msg, n, NULL, 0, &n), 0);
	assert_int_equal(noise_handshake_overhead(init), 0);
	assert_int_equal(noise_handshake_write(init, NULL, 0, msg, sizeof(msg), &n), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_set_ephemeral(resp, e), CVPN_ERR_STATE);
	assert_int_equal(noise_handshake_split(init, &a, &b), 0);
	assert_int_equal(noise_handshake_action(init), NOISE_ACTION_DONE);
	noise_cipher_free(a);
	noise_cipher_free(b);
	a = b = NULL;
	assert_int_equal(noise_handshake_split(init, &a, &b), CVPN_ERR_STATE);
	assert_null(a);
	assert_int_equal(noise_handshake_hash(init, h), 0);
	noise_handshake_free(init);
	noise_handshake_free(resp);
	noise_handshake_free(NULL);
}

/* Each pattern takes exactly the keys it uses. */
static void
test_new_invalid(void **state)
{
	static const struct {
		const char *protocol;
		bool initiator, s, rs, psk;
		int want;
	} cases[] = {
		{ "Noise_NN_25519_ChaChaPoly_SHA256", true, false, false, false, 0 },
		{ "Noise_NN_25519_ChaChaPoly_SHA256", true, true, false, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_NN_25519_ChaChaPoly_SHA256", false, false, true, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_NN_25519_ChaChaPoly_SHA256", true, false, false, true, CVPN_ERR_INVALID_ARG },
		{ "Noise_IK_25519_AESGCM_SHA256", true, true, true, false, 0 },
		{ "Noise_IK_25519_AESGCM_SHA256", true, true, false, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_IK_25519_AESGCM_SHA256", true, false, true, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_IK_25519_AESGCM_SHA256", false, true, false, false, 0 },
		{ "Noise_IK_25519_AESGCM_SHA256", false, true, true, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_IK_25519_AESGCM_SHA256", false, false, false, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_NNpsk0_25519_ChaChaPoly_SHA256", false, false, false, true, 0 },
		{ "Noise_NNpsk0_25519_ChaChaPoly_SHA256", false, false, false, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_IKpsk2_25519_ChaChaPoly_SHA256", true, true, true, true, 0 },
		{ "Noise_IKpsk2_25519_ChaChaPoly_SHA256", true, true, true, false, CVPN_ERR_INVALID_ARG },
		{ "Noise_IKpsk2_25519_ChaChaPoly_SHA256", false, true, false, true, 0 },
		{ "Noise_XX_25519_ChaChaPoly_SHA256", true, false, false, false, CVPN_ERR_UNKNOWN_PROTOCOL },
	};
	uint8_t key[NOISE_DH_LEN] = { 3 };
	struct noise_handshake *hs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hs = (struct noise_handshake *)key;
		if (noise_handshake_new(cases[i].protocol, cases[i].initiator, NULL, 0, cases[i].s ? key : NULL,
		    cases[i].rs ? key : NULL, cases[i].psk ? key : NULL, &hs) != cases[i].want)
			fail_msg("case %zu", i);
		if (cases[i].want == 0)
			noise_handshake_free(hs);
		else
			assert_ptr_equal(hs, key);
	}
	hs = NULL;
	assert_int_equal(noise_handshake_new(protocols[0], true, NULL, 1, NULL, NULL, NULL, &hs), CVPN_ERR_INVALID_ARG);
	assert_null(hs);
}

static void
test_protocol_names(void **state)
{
	static const char *const bad[] = {
		"", "Noise", "Noise_NN_25519_ChaChaPoly", "Noise_NN_25519_ChaChaPoly_SHA256_",
		"Noise_NN_25519_ChaChaPoly_SHA512", "Noise_NN_25519_ChaChaPoly_BLAKE2s", "Noise_NN_448_ChaChaPoly_SHA256",
		"Noise_NN_25519_AESGCM256_SHA256", "Noise_XX_25519_ChaChaPoly_SHA256", "Noise_nn_25519_ChaChaPoly_SHA256",
		"noise_NN_25519_ChaChaPoly_SHA256", "Noise_NNpsk2_25519_ChaChaPoly_SHA256", "Noise_IKpsk0_25519_AESGCM_SHA256",
		"Noise__NN_25519_ChaChaPoly_SHA256", "Noise_NN_25519_ChaChaPoly_SHA256\n", " Noise_NN_25519_ChaChaPoly_SHA256",
		/* Each field cut short by one character. */
		"Nois_NN_25519_ChaChaPoly_SHA256", "Noise_N_25519_ChaChaPoly_SHA256", "Noise_IKpsk_25519_AESGCM_SHA256",
		"Noise_NN_2551_ChaChaPoly_SHA256", "Noise_NN_25519_ChaChaPol_SHA256", "Noise_NN_25519_AESGCM_SHA25",
		"Noise_NN_25519_ChaChaPoly_SHA256xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	static const enum noise_pattern want[] = { NOISE_NN, NOISE_NN, NOISE_IK, NOISE_IK, NOISE_NNPSK0, NOISE_NNPSK0,
		NOISE_IKPSK2, NOISE_IKPSK2 };
	enum noise_pattern p = NOISE_IK;
	enum aead_cipher c = AEAD_AESGCM;
	struct noise_handshake *hs = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < NPROTOCOLS; i++) {
		assert_int_equal(noise_protocol_parse(protocols[i], &p, &c), 0);
		assert_int_equal(p, want[i]);
		assert_int_equal(c, i % 2 == 0 ? AEAD_CHACHAPOLY : AEAD_AESGCM);
	}
	p = NOISE_IK;
	c = AEAD_AESGCM;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (noise_protocol_parse(bad[i], &p, &c) != CVPN_ERR_UNKNOWN_PROTOCOL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(noise_handshake_new(bad[i], true, NULL, 0, NULL, NULL, NULL, &hs),
		    CVPN_ERR_UNKNOWN_PROTOCOL);
	}
	assert_int_equal(noise_protocol_parse(NULL, &p, &c), CVPN_ERR_UNKNOWN_PROTOCOL);
	assert_int_equal(p, NOISE_IK);
	assert_int_equal(c, AEAD_AESGCM);
	assert_null(hs);
}

/* RFC 7748 section 6.1: public keys from private keys, and the shared secret both ways. */
static void
test_x25519_rfc7748(void **state)
{
	uint8_t a[32], b[32], pub[32], out[32];

	(void)state;
	assert_int_equal(unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32), 32);
	assert_int_equal(unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32), 32);
	assert_int_equal(noise_public_key(a, pub), 0);
	assert_bytes_hex(pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(noise_dh(b, pub, out), 0);
	assert_bytes_hex(out, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_int_equal(noise_public_key(b, pub), 0);
	assert_bytes_hex(pub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(noise_dh(a, pub, out), 0);
	assert_bytes_hex(out, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

/* Every encoding of a low-order point, top bit clear or set, is refused; out is untouched. */
static void
test_low_order_points(void **state)
{
	static const char *const points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t priv[32], pub[32], point[32], out[32];
	size_t i, top;

	(void)state;
	assert_int_equal(noise_keypair_generate(priv, pub), 0);
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		for (top = 0; top < 2; top++) {
			assert_int_equal(unhex(points[i], point, 32), 32);
			point[31] |= (uint8_t)(top << 7);
			memset(out, 0xa5, sizeof(out));
			assert_int_equal(noise_dh(priv, point, out), CVPN_ERR_DH_ZERO);
			assert_int_equal(out[0], 0xa5);
		}
	}
	/* A neighbour of a low-order point is an ordinary key. */
	assert_int_equal(unhex(points[2], point, 32), 32);
	point[0] ^= 1;
	assert_int_equal(noise_dh(priv, point, out), 0);
}

static void
test_keypair(void **state)
{
	uint8_t priv1[32], pub1[32], priv2[32], pub2[32], pub[32], s1[32], s2[32];

	(void)state;
	assert_int_equal(noise_keypair_generate(priv1, pub1), 0);
	assert_int_equal(noise_keypair_generate(priv2, pub2), 0);
	assert_memory_not_equal(priv1, priv2, 32);
	assert_int_equal(noise_public_key(priv1, pub), 0);
	assert_memory_equal(pub, pub1, 32);
	assert_int_equal(noise_dh(priv1, pub2, s1), 0);
	assert_int_equal(noise_dh(priv2, pub1, s2), 0);
	assert_memory_equal(s1, s2, 32);
}

/* Truncated HMAC tags: 16 to 32 bytes; RFC 4231 test case 2 as the known answer. */
static void
test_hmac(void **state)
{
	uint8_t tag[NOISE_HASH_LEN];
	size_t len;

	(void)state;
	assert_int_equal(noise_hmac(BYTES("Jefe"), BYTES("what do ya want for nothing?"), tag), 0);
	assert_bytes_hex(tag, sizeof(tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	for (len = 0; len <= NOISE_HASH_LEN + 1; len++) {
		int want = len < NOISE_HMAC_MIN_TAG || len > NOISE_HASH_LEN ? CVPN_ERR_INVALID_ARG : 0;

		assert_int_equal(noise_hmac_verify(BYTES("Jefe"), BYTES("what do ya want for nothing?"), tag, len), want);
	}
	tag[NOISE_HMAC_MIN_TAG - 1] ^= 1;
	assert_int_equal(noise_hmac_verify(BYTES("Jefe"), BYTES("what do ya want for nothing?"), tag, 16),
	    CVPN_ERR_BAD_TAG);
	assert_int_equal(noise_hmac_verify(BYTES("Jefe"), BYTES("what do ya want for nothing?"), tag, 15),
	    CVPN_ERR_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cacophony),
		cmocka_unit_test(test_generated_keys),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_mismatches),
		cmocka_unit_test(test_low_order_keys),
		cmocka_unit_test(test_transport_attacks),
		cmocka_unit_test(test_nonce_limit),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_transport_bounds),
		cmocka_unit_test(test_handshake_bounds),
		cmocka_unit_test(test_handshake_max_message),
		cmocka_unit_test(test_state_errors),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_protocol_names),
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_low_order_points),
		cmocka_unit_test(test_keypair),
		cmocka_unit_test(test_hmac),
	};

	return cmocka_run_group_tests_name("noise", tests, NULL, NULL);
}
