/* SPDX-License-Identifier: MIT */
/*
 * The secure profile (docs/SECURE.md): hellos, a Noise handshake with the
 * hellos bound into its prologue, and length-prefixed AEAD records with
 * implicit counters. X25519 is cheap, so nothing here needs engine_work().
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine_impl.h"
#include "err.h"
#include "keys.h"
#include "noise.h"
#include "replay.h"
#include "secrec.h"
#include "secure_wire.h"
#include "text.h"

/* The longest payload: a REPLY to a 4096-byte message, with its prefix. */
#define MAX_PAYLOAD (ENGINE_MAX_MESSAGE + sizeof(ENGINE_REPLY_PREFIX) - 1)
/* The longest record body (after the length prefix). */
#define MAX_RECORD (secrec_wire_len(MAX_PAYLOAD) - 2)
/* A direction is closed long before its 64-bit nonce could wrap. */
#define HARD_LIMIT ((uint64_t)1 << 60)

/* Suite codes on the wire: 1 ChaChaPoly, 2 AESGCM (docs/SECURE.md). */
static uint8_t
suite_code(enum aead_cipher c)
{
	return c == AEAD_CHACHAPOLY ? SECURE_SUITE_CHACHAPOLY : SECURE_SUITE_AESGCM;
}

/* The cipher of a wire code; false for a code we do not know. */
static bool
code_suite(uint8_t code, enum aead_cipher *c)
{
	if (code != SECURE_SUITE_CHACHAPOLY && code != SECURE_SUITE_AESGCM)
		return false;
	*c = code == SECURE_SUITE_CHACHAPOLY ? AEAD_CHACHAPOLY : AEAD_AESGCM;
	return true;
}

/* ---- Hellos and the prologue ---- */

static void
protocol_name(struct engine *e)
{
	snprintf(e->protocol, sizeof(e->protocol), "Noise_%s_25519_%s_SHA256",
	    e->sec_mode == ENGINE_MODE_KEY ? "IKpsk2" : "NNpsk0", aead_name(e->aead));
}

/* prologue = "CVPN v1" | u16 len | ClientHello | u16 len | ServerHello */
static int
start_handshake(struct engine *e, const uint8_t *ch, size_t chlen, const uint8_t *sh, size_t shlen)
{
	const struct engine_secure *sc = &e->cfg.secure;
	uint8_t prologue[64], zero[NOISE_PSK_LEN] = { 0 };
	size_t n = strlen(SECURE_PROLOGUE_LABEL);
	const uint8_t *s = NULL, *rs = NULL, *psk = sc->has_psk ? sc->psk : zero;

	if (n + 2 + chlen + 2 + shlen > sizeof(prologue))
		return CVPN_ERR_INTERNAL;
	memcpy(prologue, SECURE_PROLOGUE_LABEL, n);
	secrec_put16(prologue + n, chlen);
	memcpy(prologue + n + 2, ch, chlen);
	secrec_put16(prologue + n + 2 + chlen, shlen);
	memcpy(prologue + n + 4 + chlen, sh, shlen);
	protocol_name(e);
	if (e->sec_mode == ENGINE_MODE_KEY) {
		s = e->cfg.server ? sc->static_priv : e->client_static;
		rs = e->cfg.server ? NULL : sc->server_pub;
	}
	return noise_handshake_new(e->protocol, !e->cfg.server, prologue, n + 4 + chlen + shlen, s, rs, psk, &e->hs);
}

/* mac1 = HMAC-SHA256(SHA-256("mac1----" | server key or PSK), message 1)[0:16] */
static int
mac1(const struct engine *e, const uint8_t *msg, size_t n, uint8_t out[static SECURE_MAC1_LEN])
{
	const struct engine_secure *sc = &e->cfg.secure;
	uint8_t in[8 + KEYS_LEN], key[NOISE_HASH_LEN], full[NOISE_HASH_LEN];
	unsigned int len = sizeof(key);
	int r = CVPN_ERR_CRYPTO;

	memcpy(in, SECURE_MAC1_LABEL, 8);
	memcpy(in + 8, e->sec_mode == ENGINE_MODE_KEY ? e->server_pub : sc->psk, KEYS_LEN);
	if (EVP_Digest(in, sizeof(in), key, &len, EVP_sha256(), NULL) == 1 &&
	    noise_hmac(key, sizeof(key), msg, n, full) == 0) {
		memcpy(out, full, SECURE_MAC1_LEN);
		r = 0;
	}
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

/* Takes one u16-length-prefixed frame: 1 with *body (unless body is NULL) and *len, 0 for more input, or an error. */
static int
take_frame(struct engine *e, size_t max, const uint8_t **body, size_t *len)
{
	size_t n;

	if (e->in.len < 2)
		return 0;
	if ((n = secrec_get16(e->in.data)) > max)
		return CVPN_ERR_TOO_LONG;
	if (e->in.len < 2 + n)
		return 0;
	if (body != NULL)
		*body = e->in.data + 2;
	*len = n;
	return 1;
}

static int
queue_frame(struct engine *e, const uint8_t *p, size_t n)
{
	uint8_t len[2];
	int r;

	secrec_put16(len, n);
	if ((r = engine_queue(e, len, 2)) == 0)
		r = engine_queue(e, p, n);
	return r;
}

/* Both sides, once the handshake is complete: split and report the key. */
static int
finish_handshake(struct engine *e, enum state next)
{
	struct engine_event ev = { .type = ENGINE_EV_KEY };
	uint8_t hash[NOISE_HASH_LEN], keys[2 * AEAD_KEY_LEN];
	char hex[2 * NOISE_HASH_LEN + 1];
	int r;

	/* The transport keys travel in the event for the key log only; -v never shows them. */
	if ((r = noise_handshake_split_keys(e->hs, keys)) != 0 ||
	    (r = noise_handshake_split(e->hs, &e->send_cs, &e->recv_cs)) != 0 ||
	    (r = noise_handshake_hash(e->hs, hash)) != 0) {
		OPENSSL_cleanse(keys, sizeof(keys));
		return r;
	}
	text_hex(hex, hash, sizeof(hash));
	ev.text = (const uint8_t *)hex;
	ev.text_len = 2 * NOISE_HASH_LEN;
	ev.protocol = e->protocol;
	ev.key = keys;                 /* client to server */
	ev.key_len = AEAD_KEY_LEN;
	ev.iv = keys + AEAD_KEY_LEN;   /* server to client */
	ev.iv_len = AEAD_KEY_LEN;
	engine_emit(e, &ev);
	OPENSSL_cleanse(keys, sizeof(keys));
	noise_handshake_free(e->hs);
	e->hs = NULL;
	e->state = next;
	return 1;
}

/* ---- Records ---- */

/* Encrypts and queues one record; rekeys this direction when it is due. */
static int
send_record(struct engine *e, enum secrec_type type, const uint8_t *payload, size_t n)
{
	size_t size = secrec_wire_len(n);
	uint8_t *rec;
	int r;

	if (n > MAX_PAYLOAD || (type == SECREC_DATA && n > ENGINE_MAX_MESSAGE))
		return CVPN_ERR_MSG_TOO_LONG;
	if (noise_cipher_nonce(e->send_cs) >= HARD_LIMIT)
		return CVPN_ERR_NONCE_EXHAUSTED;
	/* Built and encrypted in place at the end of the output. */
	if ((r = engine_reserve(e, size, &rec)) != 0)
		return r;
	if ((r = secrec_seal(e->send_cs, type, payload, n, rec)) != 0) {
		engine_unreserve(e, size);
		return r;
	}
	/* Nothing may follow a CLOSE, not even a REKEY. */
	if (type != SECREC_REKEY && type != SECREC_CLOSE && e->cfg.secure.rekey_records &&
	    ++e->sent_since_rekey >= e->cfg.secure.rekey_records)
		return engine_rekey(e);
	return 0;
}

/*
 * Opens the next record in place, in the input buffer. Returns 1 with its
 * type and payload (*pt points into the input, valid until release_record,
 * which must follow with *frame), 0 for more input, or CVPN_ERR_DECRYPT for
 * any failure: one generic error whatever went wrong.
 */
static int
read_record(struct engine *e, int *type, const uint8_t **pt, size_t *len, size_t *frame)
{
	size_t n;
	int r;

	/* The record opens in place, from its prefix at the start of the input on. */
	if ((r = take_frame(e, MAX_RECORD, NULL, &n)) <= 0)
		return r == CVPN_ERR_TOO_LONG ? CVPN_ERR_DECRYPT : r;
	if (noise_cipher_nonce(e->recv_cs) >= HARD_LIMIT)
		return CVPN_ERR_NONCE_EXHAUSTED;
	if ((r = secrec_open(e->recv_cs, e->in.data, n, type, pt, len)) != 0)
		return r;
	*frame = 2 + n;
	return 1;
}

/* Wipes the plaintext of the record read_record opened and drops it from the input. */
static void
release_record(struct engine *e, size_t frame)
{
	OPENSSL_cleanse(e->in.data, frame);
	buf_consume(&e->in, frame);
}

/* Handles the record types both sides understand. 1 when handled, 0 when not. */
static int
common_record(struct engine *e, int type)
{
	switch (type) {
	case SECREC_KEEPALIVE:
		return 1;
	case SECREC_REKEY:
		return noise_cipher_rekey(e->recv_cs) == 0 ? 1 : CVPN_ERR_CRYPTO;
	default:
		return 0;
	}
}

int
engine_rekey(struct engine *e)
{
	int r;

	if (e->send_cs == NULL)
		return CVPN_ERR_STATE;
	if ((r = send_record(e, SECREC_REKEY, NULL, 0)) != 0 || (r = noise_cipher_rekey(e->send_cs)) != 0)
		return engine_fail(e, r);
	e->sent_since_rekey = 0;
	return 0;
}

/* ---- Client ---- */

int
secure_client_start(struct engine *e)
{
	const struct engine_secure *sc = &e->cfg.secure;
	uint8_t hello[7 + SECURE_MAX_SUITES], pub[KEYS_LEN];
	size_t i;
	int r;

	if (sc->nsuites == 0 || sc->nsuites > SECURE_MAX_SUITES)
		return CVPN_ERR_INVALID_ARG;
	e->sec_mode = sc->server_pub_set ? ENGINE_MODE_KEY : ENGINE_MODE_PSK;
	if (e->sec_mode == ENGINE_MODE_PSK && !sc->has_psk)
		return CVPN_ERR_INVALID_ARG;
	if (e->sec_mode == ENGINE_MODE_KEY) {
		memcpy(e->server_pub, sc->server_pub, KEYS_LEN);
		/* Without a key of its own the client is anonymous: a fresh static key per session. */
		if (sc->static_priv_set)
			memcpy(e->client_static, sc->static_priv, KEYS_LEN);
		else if ((r = noise_keypair_generate(e->client_static, pub)) != 0)
			return r;
	}
	memcpy(hello, SECURE_MAGIC, 4);
	hello[4] = SECURE_VERSION;
	hello[5] = (uint8_t)e->sec_mode;
	hello[6] = (uint8_t)sc->nsuites;
	for (i = 0; i < sc->nsuites; i++)
		hello[7 + i] = suite_code(sc->suites[i]);
	if ((r = buf_append(&e->hello, hello, 7 + sc->nsuites, sizeof(hello))) != 0 ||
	    (r = engine_queue(e, hello, 7 + sc->nsuites)) != 0)
		return r;
	e->state = C_SEC_WAIT_HELLO;
	return 0;
}

int
secure_client_hello(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_NEGOTIATED };
	uint8_t msg[256], tag[SECURE_MAC1_LEN], stamp[SECURE_TIMESTAMP_LEN];
	size_t n, i;
	const uint8_t *sh = e->in.data;
	bool offered = false;
	int r;

	if (e->in.len == 0)
		return 0; /* nothing yet (and sh may be NULL) */
	if (e->in.len < 7)
		return memcmp(sh, SECURE_MAGIC, e->in.len < 4 ? e->in.len : 4) == 0 ? 0 : CVPN_ERR_MALFORMED;
	if (memcmp(sh, SECURE_MAGIC, 4) != 0 || sh[4] != SECURE_VERSION || sh[5] != e->sec_mode)
		return CVPN_ERR_MALFORMED;
	if (!code_suite(sh[6], &e->aead))
		return CVPN_ERR_BAD_CHOICE;
	for (i = 0; i < e->cfg.secure.nsuites; i++)
		offered |= e->cfg.secure.suites[i] == e->aead;
	if (!offered)
		return CVPN_ERR_BAD_CHOICE;
	if ((r = start_handshake(e, e->hello.data, e->hello.len, sh, 7)) != 0)
		return r;
	buf_consume(&e->in, 7);
	ev.text = (const uint8_t *)e->protocol;
	ev.text_len = strlen(e->protocol);
	ev.protocol = e->protocol;
	engine_emit(e, &ev);
	/* The payload is our clock, so that the server can refuse a copy of this message. */
	replay_tai64n((e->cfg.secure.clock ? e->cfg.secure.clock : replay_wall_clock)(), stamp);
	if ((r = noise_handshake_write(e->hs, stamp, sizeof(stamp), msg, sizeof(msg) - SECURE_MAC1_LEN, &n)) != 0 ||
	    (r = mac1(e, msg, n, tag)) != 0)
		return r;
	memcpy(msg + n, tag, SECURE_MAC1_LEN);
	if ((r = queue_frame(e, msg, n + SECURE_MAC1_LEN)) != 0)
		return r;
	e->state = C_SEC_WAIT_MSG2;
	return 1;
}

int
secure_client_msg2(struct engine *e)
{
	const uint8_t *body;
	uint8_t payload[64];
	size_t n, plen;
	int r;

	if ((r = take_frame(e, 256, &body, &n)) <= 0)
		return r;
	/* A server with other keys, or a hello changed in transit, fails here. */
	if (noise_handshake_read(e->hs, body, n, payload, sizeof(payload), &plen) != 0)
		return CVPN_ERR_HANDSHAKE;
	buf_consume(&e->in, 2 + n);
	return finish_handshake(e, C_SEC_READY);
}

int
secure_client_records(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_REPLY };
	const uint8_t *pt;
	size_t len, frame;
	int type, r;

	if ((r = read_record(e, &type, &pt, &len, &frame)) <= 0)
		return r;
	engine_confirm(e);
	if ((r = common_record(e, type)) == 0) {
		if (type == SECREC_REPLY && e->state == C_SEC_WAIT_REPLY) {
			ev.text = pt;
			ev.text_len = len;
			ev.status = (len == e->expect.len && memcmp(pt, e->expect.data, len) == 0) ? 0 : CVPN_ERR_BAD_REPLY;
			engine_emit(e, &ev);
			e->state = C_SEC_READY;
			r = 1;
		} else if (type == SECREC_CLOSE && e->state == C_SEC_CLOSING) {
			e->state = C_SEC_CLOSED;
			r = 1;
		} else if (type == SECREC_ERROR) {
			r = CVPN_ERR_REFUSED;
		} else {
			r = CVPN_ERR_DECRYPT; /* out of turn, ERROR, or unknown: one generic failure */
		}
	}
	release_record(e, frame);
	return r;
}

int
secure_send(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_SENT };
	int r;

	if (n > ENGINE_MAX_MESSAGE)
		return CVPN_ERR_MSG_TOO_LONG;
	if ((r = engine_expect_reply(e, text, n, false)) != 0 || (r = send_record(e, SECREC_DATA, text, n)) != 0)
		return engine_fail(e, r);
	ev.text = text;
	ev.text_len = n;
	engine_emit(e, &ev);
	e->state = C_SEC_WAIT_REPLY;
	return 0;
}

int
engine_close(struct engine *e)
{
	int r;

	if (e->state != C_SEC_READY)
		return e->state == FAILED ? e->err : CVPN_ERR_STATE;
	if ((r = send_record(e, SECREC_CLOSE, NULL, 0)) != 0)
		return engine_fail(e, r);
	e->state = C_SEC_CLOSING;
	return 0;
}

/* ---- Server ---- */

/* Picks the first suite of ours that the client offered. */
static int
pick_suite(const struct engine *e, const uint8_t *offered, size_t n, enum aead_cipher *out)
{
	enum aead_cipher c;
	size_t i, j;

	for (i = 0; i < e->cfg.secure.nsuites; i++)
		for (j = 0; j < n; j++)
			if (code_suite(offered[j], &c) && c == e->cfg.secure.suites[i]) {
				*out = c;
				return 0;
			}
	return CVPN_ERR_NO_SUITE;
}

int
secure_server_hello(struct engine *e)
{
	const struct engine_secure *sc = &e->cfg.secure;
	const uint8_t *ch = e->in.data;
	uint8_t sh[7];
	size_t n;
	int r;

	if (e->in.len < 7)
		return 0;
	n = ch[6];
	if (ch[4] != SECURE_VERSION || (ch[5] != ENGINE_MODE_KEY && ch[5] != ENGINE_MODE_PSK) || n == 0 || n > SECURE_MAX_SUITES)
		return CVPN_ERR_MALFORMED;
	if (e->in.len < 7 + n)
		return 0;
	e->sec_mode = ch[5];
	if ((e->sec_mode == ENGINE_MODE_KEY && !sc->static_priv_set) || (e->sec_mode == ENGINE_MODE_PSK && !sc->has_psk))
		return CVPN_ERR_NO_SUITE;
	/* The list of clients is a gate in every mode: psk mode has no client key to show it. */
	if (e->sec_mode == ENGINE_MODE_PSK && sc->authorized != NULL)
		return CVPN_ERR_PSK_NO_KEY;
	if ((r = pick_suite(e, ch + 7, n, &e->aead)) != 0)
		return r;
	if (e->sec_mode == ENGINE_MODE_KEY && (r = noise_public_key(sc->static_priv, e->server_pub)) != 0)
		return r;
	memcpy(sh, SECURE_MAGIC, 4);
	sh[4] = SECURE_VERSION;
	sh[5] = (uint8_t)e->sec_mode;
	sh[6] = suite_code(e->aead);
	if ((r = start_handshake(e, ch, 7 + n, sh, sizeof(sh))) != 0 || (r = engine_queue(e, sh, sizeof(sh))) != 0)
		return r;
	buf_consume(&e->in, 7 + n);
	engine_emit_text(e, ENGINE_EV_NEGOTIATED, e->protocol, strlen(e->protocol));
	e->state = S_SEC_WAIT_MSG1;
	return 1;
}

/* Checks the client's static key against --authorized-clients and reports it. */
static int
check_client(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_PEER };
	uint8_t rs[NOISE_DH_LEN];
	char b64[KEYS_B64_LEN + 1];

	if (e->sec_mode != ENGINE_MODE_KEY)
		return 0;
	if (noise_handshake_remote_static(e->hs, rs) != 0)
		return CVPN_ERR_HANDSHAKE;
	if (e->cfg.secure.authorized && !keys_list_contains(e->cfg.secure.authorized, rs))
		return CVPN_ERR_UNAUTHORIZED;
	keys_to_base64(rs, b64);
	ev.text = (const uint8_t *)b64;
	ev.text_len = KEYS_B64_LEN;
	engine_emit(e, &ev);
	return 0;
}

int
secure_server_msg1(struct engine *e)
{
	const uint8_t *body;
	uint8_t tag[SECURE_MAC1_LEN];
	size_t n;
	int r;

	if ((r = take_frame(e, 256, &body, &n)) <= 0)
		return r;
	if (n < SECURE_MAC1_LEN)
		return CVPN_ERR_MALFORMED;
	/* mac1 first: junk costs us one HMAC, never a Diffie-Hellman. */
	if ((r = mac1(e, body, n - SECURE_MAC1_LEN, tag)) != 0)
		return r;
	if (CRYPTO_memcmp(tag, body + n - SECURE_MAC1_LEN, SECURE_MAC1_LEN) != 0)
		return CVPN_ERR_BAD_MAC1;
	/* A copy of a first message we accepted is refused by its ephemeral key, before any Diffie-Hellman. */
	if (n - SECURE_MAC1_LEN < NOISE_DH_LEN)
		return CVPN_ERR_MALFORMED;
	if (e->cfg.secure.replay && replay_seen(e->cfg.secure.replay, body))
		return CVPN_ERR_REPLAY;
	/*
	 * The Diffie-Hellman of both messages is the work step: the server runs
	 * it off its event loop, as it does the lab's, so that a flood of
	 * handshakes never delays the sessions already established.
	 */
	if (n - SECURE_MAC1_LEN > sizeof(e->hs_msg))
		return CVPN_ERR_MALFORMED;
	memcpy(e->hs_msg, body, n - SECURE_MAC1_LEN);
	e->hs_msg_len = n - SECURE_MAC1_LEN;
	buf_consume(&e->in, 2 + n);
	e->state = S_SEC_WORK;
	return 1;
}

/*
 * Reads message 1 and writes message 2. What decides to refuse a client (its
 * key, its timestamp) is read first, so that it costs no more Diffie-Hellman:
 * none in psk mode, the two that reveal the key and the payload in key mode.
 */
int
secure_server_work(struct engine *e)
{
	uint8_t payload[64], rs[NOISE_DH_LEN];
	size_t plen, outlen;
	int r;

	if ((r = noise_handshake_read(e->hs, e->hs_msg, e->hs_msg_len, payload, sizeof(payload), &plen)) != 0)
		return r == CVPN_ERR_DH_ZERO ? r : CVPN_ERR_HANDSHAKE;
	if (plen != SECURE_TIMESTAMP_LEN)
		return CVPN_ERR_HANDSHAKE;
	/* The list is only read here. */
	if (e->sec_mode == ENGINE_MODE_KEY && e->cfg.secure.authorized &&
	    (noise_handshake_remote_static(e->hs, rs) != 0 || !keys_list_contains(e->cfg.secure.authorized, rs)))
		return CVPN_ERR_UNAUTHORIZED;
	/* Thread-safe: two copies in flight at once are accepted once. */
	if (e->cfg.secure.replay && (r = replay_accept(e->cfg.secure.replay, e->hs_msg, payload)) != 0)
		return r;
	if ((r = noise_handshake_write(e->hs, NULL, 0, e->hs_msg, sizeof(e->hs_msg), &outlen)) != 0)
		return r == CVPN_ERR_DH_ZERO ? r : CVPN_ERR_HANDSHAKE;
	e->hs_msg_len = outlen;
	return 0;
}

int
secure_server_resume(struct engine *e)
{
	int r;

	r = check_client(e);
	if (r == 0)
		r = queue_frame(e, e->hs_msg, e->hs_msg_len);
	OPENSSL_cleanse(e->hs_msg, sizeof(e->hs_msg));
	if (r != 0)
		return r;
	r = finish_handshake(e, S_SEC_READY);
	return r < 0 ? r : 0;
}

/*
 * After a record it could not accept, the server says so with an ERROR record
 * (authenticated, like every record it sends) before the connection closes,
 * so the client can tell a refusal from a cut connection.
 */
static int
refuse(struct engine *e, int r)
{
	if (r == CVPN_ERR_DECRYPT && e->send_cs != NULL)
		(void)send_record(e, SECREC_ERROR, NULL, 0); /* best effort: we are closing anyway */
	return r;
}

/* Answers a DATA record: the reply is encrypted and authenticated too. */
static int
answer(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_MESSAGE, .text = text, .text_len = n };
	size_t prefix = strlen(ENGINE_REPLY_PREFIX);
	uint8_t reply[MAX_PAYLOAD];
	int r;

	if (!text_utf8_valid(text, n))
		return CVPN_ERR_DECRYPT;
	if (n > ENGINE_MAX_MESSAGE)
		return CVPN_ERR_MSG_TOO_LONG;
	engine_emit(e, &ev);
	memcpy(reply, ENGINE_REPLY_PREFIX, prefix);
	text_utf8_reverse(reply + prefix, text, n);
	engine_emit_text(e, ENGINE_EV_REPLY, reply, prefix + n);
	r = send_record(e, SECREC_REPLY, reply, prefix + n);
	OPENSSL_cleanse(reply, prefix + n);
	return r;
}

int
secure_server_records(struct engine *e)
{
	const uint8_t *pt;
	size_t len, frame;
	int type, r;

	if ((r = read_record(e, &type, &pt, &len, &frame)) <= 0)
		return refuse(e, r);
	engine_confirm(e);
	if ((r = common_record(e, type)) == 0) {
		if (type == SECREC_DATA) {
			r = answer(e, pt, len);
		} else if (type == SECREC_CLOSE) {
			r = send_record(e, SECREC_CLOSE, NULL, 0);
			e->state = S_SEC_CLOSED;
		} else {
			r = CVPN_ERR_DECRYPT; /* a type a client must not send: one generic failure */
		}
		r = r == 0 ? 1 : r;
	}
	release_record(e, frame);
	return refuse(e, r);
}

int
engine_parse_suites(const char *text, struct engine_secure *sc)
{
	enum aead_cipher list[sizeof(sc->suites) / sizeof(sc->suites[0])];
	size_t n = 0, len;

	while (*text) {
		len = strcspn(text, ", ");
		if (len == 0) {
			text++;
			continue;
		}
		if (n == sizeof(list) / sizeof(list[0]) || aead_parse(text, len, &list[n]) != 0)
			return CVPN_ERR_INVALID_ARG;
		n++;
		text += len;
	}
	if (n == 0)
		return CVPN_ERR_INVALID_ARG;
	memcpy(sc->suites, list, n * sizeof(list[0]));
	sc->nsuites = n;
	return 0;
}

/* The server's first bytes decide the profile: 'C' of "CVPN" or 'P' of "ProposedCiphers". */
int
server_detect(struct engine *e)
{
	size_t n = e->in.len < 4 ? e->in.len : 4;

	if (n == 0)
		return 0;
	if (memcmp(e->in.data, SECURE_MAGIC, n) == 0) {
		if (!e->cfg.secure.static_priv_set && !e->cfg.secure.has_psk)
			return CVPN_ERR_NO_SUITE;
		if (n < 4)
			return 0;
		e->state = S_SEC_HELLO;
		return 1;
	}
	if (e->cfg.no_lab)
		return CVPN_ERR_LAB_DISABLED;
	e->state = S_WAIT_PROPOSAL;
	return 1;
}

void
secure_free(struct engine *e)
{
	noise_handshake_free(e->hs);
	noise_cipher_free(e->send_cs);
	noise_cipher_free(e->recv_cs);
	buf_clear(&e->hello);
	OPENSSL_cleanse(e->client_static, sizeof(e->client_static));
}
