/* SPDX-License-Identifier: MIT */
/*
 * The secure profile in memory (docs/SECURE.md): both modes and suites end to
 * end, the hellos bound into the handshake, and every attack a man in the
 * middle can try on the records: each one fails and releases nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "chan.h"
#include "engine_bench.h"
#include "err.h"
#include "keys.h"
#include "noise.h"
#include "replay.h"
#include "secrec.h"
#include "secure_wire.h"
#include "vectors.h"

/* The largest record payload (common/secure.h, an engine header): a channel DATA record. */
#define SECURE_MAX_PAYLOAD_TEST (CHAN_DATA_HEADER + CHAN_DATA_MAX)

/* What the callbacks saw. */
struct seen {
	int events;                     /* of every type */
	int messages, replies, bad_replies, keys, peers, channels, tunnel_records, last_tunnel_type;
	size_t last_tunnel_len;
	char last_message[256], last_reply[256], protocol[64];
	struct chan_msg last_chan;      /* its data copied to chan_data */
	uint8_t chan_data[CHAN_DATA_MAX];
};

static void
on_event(void *arg, const struct engine_event *ev)
{
	struct seen *s = arg;
	size_t n = ev->text_len < 255 ? ev->text_len : 255;

	s->events++;
	switch (ev->type) {
	case ENGINE_EV_MESSAGE:
		s->messages++;
		memcpy(s->last_message, ev->text, n);
		s->last_message[n] = '\0';
		break;
	case ENGINE_EV_REPLY:
		s->replies++;
		s->bad_replies += ev->status != 0;
		memcpy(s->last_reply, ev->text, n);
		s->last_reply[n] = '\0';
		break;
	case ENGINE_EV_KEY:
		s->keys++;
		strncpy(s->protocol, ev->protocol ? ev->protocol : "", sizeof(s->protocol) - 1);
		break;
	case ENGINE_EV_PEER:
		s->peers++;
		break;
	case ENGINE_EV_TUNNEL:
		s->tunnel_records++;
		s->last_tunnel_type = ev->status;
		s->last_tunnel_len = ev->text_len;
		break;
	case ENGINE_EV_CHANNEL:
		s->channels++;
		s->last_chan = *ev->chan;
		if (ev->chan->len)
			memcpy(s->chan_data, ev->chan->data, ev->chan->len);
		s->last_chan.data = s->chan_data;
		break;
	default:
		break;
	}
}

struct pair {
	struct engine_config cc, sc;
	struct engine *c, *s;
	struct seen cs, ss;
	uint8_t server_priv[32], server_pub[32], client_priv[32], client_pub[32];
};

/* Moves everything one engine has queued into the other. Returns the feed's result. */
static int
pump(struct engine *from, struct engine *to, struct buf *tap)
{
	const uint8_t *p;
	size_t n;
	int r;

	engine_output(from, &p, &n);
	if (n == 0)
		return 0;
	if (tap)
		assert_int_equal(buf_append(tap, p, n, 1 << 20), 0);
	r = engine_feed(to, p, n);
	engine_output_consume(from, n);
	/* The server's handshake Diffie-Hellman is a work step, as the lab's. */
	if (r == 0 && engine_needs_work(to)) {
		engine_work(to);
		r = engine_resume(to);
	}
	return r;
}

static void
setup_pair(struct pair *pr, enum secure_mode mode, enum aead_cipher suite)
{
	memset(pr, 0, sizeof(*pr));
	assert_int_equal(noise_keypair_generate(pr->server_priv, pr->server_pub), 0);
	assert_int_equal(noise_keypair_generate(pr->client_priv, pr->client_pub), 0);
	pr->cc.secure.enabled = true;
	pr->cc.secure.suites[0] = suite;
	pr->cc.secure.nsuites = 1;
	pr->sc.server = true;
	pr->sc.secure.suites[0] = AEAD_CHACHAPOLY;
	pr->sc.secure.suites[1] = AEAD_AESGCM;
	pr->sc.secure.nsuites = 2;
	memcpy(pr->sc.secure.static_priv, pr->server_priv, 32);
	pr->sc.secure.static_priv_set = true;
	memset(pr->sc.secure.psk, 0x42, 32);
	pr->sc.secure.has_psk = true;
	if (mode == SECURE_MODE_KEY) {
		memcpy(pr->cc.secure.server_pub, pr->server_pub, 32);
		pr->cc.secure.server_pub_set = true;
		memcpy(pr->cc.secure.static_priv, pr->client_priv, 32);
		pr->cc.secure.static_priv_set = true;
		pr->sc.secure.has_psk = false; /* key mode without a PSK: all-zero, as WireGuard */
	} else {
		memset(pr->cc.secure.psk, 0x42, 32);
		pr->cc.secure.has_psk = true;
	}
	/* Both lists need a lab cipher list to be valid engines. */
	proposal_default(&pr->cc.ciphers);
	proposal_default(&pr->sc.ciphers);
}

static void
open_pair(struct pair *pr)
{
	assert_int_equal(engine_new(&pr->cc, on_event, &pr->cs, &pr->c), 0);
	assert_int_equal(engine_new(&pr->sc, on_event, &pr->ss, &pr->s), 0);
}

/* Runs the handshake to the end; returns the first failure or 0. */
static int
handshake(struct pair *pr)
{
	int r, i;

	open_pair(pr);
	if ((r = engine_start(pr->c)) != 0)
		return r;
	for (i = 0; i < 4 && !engine_ready(pr->c); i++) {
		if ((r = pump(pr->c, pr->s, NULL)) != 0 || (r = pump(pr->s, pr->c, NULL)) != 0)
			return r;
	}
	return engine_ready(pr->c) ? 0 : CVPN_ERR_STATE;
}

static void
close_pair(struct pair *pr)
{
	engine_free(pr->c);
	engine_free(pr->s);
}

static void
exchange(struct pair *pr, const char *msg, const char *reply)
{
	assert_int_equal(engine_send(pr->c, (const uint8_t *)msg, strlen(msg)), 0);
	assert_int_equal(pump(pr->c, pr->s, NULL), 0);
	assert_string_equal(pr->ss.last_message, msg);
	assert_int_equal(pump(pr->s, pr->c, NULL), 0);
	assert_string_equal(pr->cs.last_reply, reply);
}

/* A client clock an hour behind, for the window test. */
static uint64_t
hour_ago(void)
{
	return replay_wall_clock() - 3600ULL * 1000000000ULL;
}

/*
 * A copy of message 1 (with the hellos before it) is refused in both modes:
 * by its ephemeral key before any work step while it is remembered, and a
 * message whose time is outside the window after the Diffie-Hellman that
 * reveals it (none in psk mode). The first session still works.
 */
static void
test_replayed_message1(void **state)
{
	static const enum secure_mode modes[] = { SECURE_MODE_KEY, SECURE_MODE_PSK };
	struct replay *guard = NULL;
	struct buf tap = { 0 };
	struct pair pr;
	struct engine *again;
	size_t i;

	(void)state;
	assert_int_equal(replay_new(REPLAY_WINDOW_DEFAULT, 1024, NULL, &guard), 0);
	for (i = 0; i < 2; i++) {
		setup_pair(&pr, modes[i], AEAD_CHACHAPOLY);
		pr.sc.secure.replay = guard;
		open_pair(&pr);
		assert_int_equal(engine_start(pr.c), 0);
		/* ClientHello, ServerHello, then message 1 on the tap. */
		assert_int_equal(pump(pr.c, pr.s, &tap), 0);
		assert_int_equal(pump(pr.s, pr.c, NULL), 0);
		assert_int_equal(pump(pr.c, pr.s, &tap), 0);
		assert_int_equal(pump(pr.s, pr.c, NULL), 0);
		assert_true(engine_ready(pr.c));
		exchange(&pr, "hello", "Server says: olleh");
		assert_int_equal(replay_count(guard), i + 1);
		/* The copy, to a fresh server engine with the same guard: refused before any work step. */
		assert_int_equal(engine_new(&pr.sc, NULL, NULL, &again), 0);
		assert_int_equal(engine_feed(again, tap.data, tap.len), CVPN_ERR_REPLAY);
		assert_false(engine_needs_work(again));
		engine_free(again);
		buf_reset(&tap);
		close_pair(&pr);

		/* A client clock an hour off: refused by its time, and not remembered. */
		setup_pair(&pr, modes[i], AEAD_CHACHAPOLY);
		pr.sc.secure.replay = guard;
		pr.cc.secure.clock = hour_ago;
		assert_int_equal(handshake(&pr), CVPN_ERR_STALE);
		assert_int_equal(replay_count(guard), i + 1);
		close_pair(&pr);
	}
	buf_clear(&tap);
	replay_free(guard);
}

/*
 * A key-mode message 1 whose ephemeral key is a low-order point (here zero),
 * with a right mac1: the server refuses it with its own error at the first
 * Diffie-Hellman, not as a handshake that merely failed. (In psk mode the
 * ephemeral is mixed into the key of message 1's payload, so a changed one
 * fails that tag first; a peer that wrote a zero ephemeral from the start
 * fails message 2's first Diffie-Hellman, mapped the same way.)
 */
static void
test_low_order_ephemeral(void **state)
{
	static const enum secure_mode modes[] = { SECURE_MODE_KEY };
	uint8_t in[8 + 32], key[32], mac[32];
	unsigned int keylen = sizeof(key);
	struct buf tap = { 0 };
	struct pair pr;
	struct engine *s;
	size_t i, hello;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		setup_pair(&pr, modes[i], AEAD_CHACHAPOLY);
		open_pair(&pr);
		assert_int_equal(engine_start(pr.c), 0);
		assert_int_equal(pump(pr.c, pr.s, &tap), 0);
		hello = tap.len;
		assert_int_equal(pump(pr.s, pr.c, NULL), 0);
		assert_int_equal(pump(pr.c, pr.s, &tap), 0);
		/* u16 length | message 1 | mac1: zero the ephemeral, then mac1 again as a client would. */
		memset(tap.data + hello + 2, 0, 32);
		memcpy(in, "mac1----", 8);
		memcpy(in + 8, modes[i] == SECURE_MODE_KEY ? pr.server_pub : pr.sc.secure.psk, 32);
		assert_int_equal(EVP_Digest(in, sizeof(in), key, &keylen, EVP_sha256(), NULL), 1);
		assert_int_equal(noise_hmac(key, sizeof(key), tap.data + hello + 2, tap.len - hello - 2 - 16, mac), 0);
		memcpy(tap.data + tap.len - 16, mac, 16);
		assert_int_equal(engine_new(&pr.sc, NULL, NULL, &s), 0);
		assert_int_equal(engine_feed(s, tap.data, tap.len), 0);
		assert_true(engine_needs_work(s));
		engine_work(s);
		assert_int_equal(engine_resume(s), CVPN_ERR_DH_ZERO);
		engine_free(s);
		buf_reset(&tap);
		close_pair(&pr);
	}
	buf_clear(&tap);
}

static void
test_every_mode_and_suite(void **state)
{
	static const struct {
		enum secure_mode mode;
		enum aead_cipher suite;
		const char *protocol;
	} cases[] = {
		{ SECURE_MODE_KEY, AEAD_CHACHAPOLY, "Noise_IKpsk2_25519_ChaChaPoly_SHA256" },
		{ SECURE_MODE_KEY, AEAD_AESGCM, "Noise_IKpsk2_25519_AESGCM_SHA256" },
		{ SECURE_MODE_PSK, AEAD_CHACHAPOLY, "Noise_NNpsk0_25519_ChaChaPoly_SHA256" },
		{ SECURE_MODE_PSK, AEAD_AESGCM, "Noise_NNpsk0_25519_AESGCM_SHA256" },
	};
	struct pair pr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setup_pair(&pr, cases[i].mode, cases[i].suite);
		assert_int_equal(handshake(&pr), 0);
		assert_string_equal(pr.cs.protocol, cases[i].protocol);
		assert_string_equal(pr.ss.protocol, cases[i].protocol);
		assert_int_equal(pr.ss.peers, cases[i].mode == SECURE_MODE_KEY ? 1 : 0);
		/* Only the lab profile lends out its record layer. */
		assert_null(engine_lab_record(pr.c));
		exchange(&pr, "hello", "Server says: olleh");
		exchange(&pr, "", "Server says: ");
		exchange(&pr, "h\xc3\xa9llo \xe2\x9c\x93", "Server says: \xe2\x9c\x93 oll\xc3\xa9h");
		/* An authenticated close, both ways. */
		assert_int_equal(engine_close(pr.c), 0);
		assert_int_equal(pump(pr.c, pr.s, NULL), 0);
		assert_true(engine_closed(pr.s));
		assert_int_equal(pump(pr.s, pr.c, NULL), 0);
		assert_true(engine_closed(pr.c));
		close_pair(&pr);
	}
}

/* A load generator's way: records sealed and opened outside the engine with the session's ciphers. */
static void
test_transport_borrowed(void **state)
{
	const char *text = "sealed outside";
	struct noise_cipher *tx = NULL, *rx = NULL, *tx2, *rx2;
	struct pair pr;
	uint8_t wire[128];
	const uint8_t *p, *pt;
	size_t n, len;
	int type;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	open_pair(&pr);
	assert_int_equal(engine_secure_transport(pr.c, &tx, &rx), CVPN_ERR_STATE);
	assert_null(tx);
	close_pair(&pr);
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_secure_transport(pr.c, &tx, &rx), 0);
	assert_true(secrec_wire_len(strlen(text)) == 2 + 32 + 16);
	assert_int_equal(secrec_seal(tx, SECREC_DATA, (const uint8_t *)text, strlen(text), wire), 0);
	assert_int_equal(engine_feed(pr.s, wire, secrec_wire_len(strlen(text))), 0);
	assert_string_equal(pr.ss.last_message, text);
	engine_output(pr.s, &p, &n);
	assert_true(n <= sizeof(wire) && n == 2 + secure_wire_get16(p));
	memcpy(wire, p, n);
	engine_output_consume(pr.s, n);
	assert_int_equal(secrec_open(rx, wire, n - 2, &type, &pt, &len), 0);
	assert_int_equal(type, SECREC_REPLY);
	assert_int_equal(len, strlen("Server says: edistuo delaes"));
	assert_memory_equal(pt, "Server says: edistuo delaes", len);
	/* The server lends its own directions: what it seals, the client's receiving cipher opens. */
	assert_int_equal(engine_secure_transport(pr.s, &tx2, &rx2), 0);
	assert_int_equal(secrec_seal(tx2, SECREC_KEEPALIVE, NULL, 0, wire), 0);
	assert_int_equal(secrec_open(rx, wire, secrec_wire_len(0) - 2, &type, &pt, &len), 0);
	assert_int_equal(type, SECREC_KEEPALIVE);
	/* The engine's own records follow in step, the CLOSE exchange included. */
	exchange(&pr, "then the engine", "Server says: enigne eht neht");
	assert_int_equal(engine_close(pr.c), 0);
	/* Nothing may be sealed after a CLOSE: neither side lends its ciphers any more. */
	assert_int_equal(engine_secure_transport(pr.c, &tx2, &rx2), CVPN_ERR_STATE);
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(engine_secure_transport(pr.s, &tx2, &rx2), CVPN_ERR_STATE);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_true(engine_closed(pr.c));
	close_pair(&pr);
	/* Nor does a failed session. */
	assert_int_equal(handshake(&pr), 0);
	assert_int_not_equal(engine_feed(pr.c, (const uint8_t *)"\x00\x01x", 3), 0);
	assert_int_equal(engine_secure_transport(pr.c, &tx2, &rx2), CVPN_ERR_STATE);
	close_pair(&pr);
}

/* Seals pt[0..n) as a record body under a with its prefix, as a peer that breaks the format would. */
static size_t
raw_record(struct noise_cipher *a, const uint8_t *pt, size_t n, uint8_t *rec)
{
	secure_wire_put16(rec, n + 16);
	assert_int_equal(noise_cipher_encrypt(a, rec, 2, pt, n, rec + 2), 0);
	return n + 16;
}

/*
 * A payload sealed in two parts is the record sealed whole, wherever it is
 * cut (every cut of payloads around the padding's steps and of one DATA's
 * largest), under either suite; and the parts together obey the same cap.
 */
static void
test_secrec_parts(void **state)
{
	static const uint8_t key[32] = { 5 };
	static uint8_t pt[SECREC_MAX_PAYLOAD + 1], whole[SECREC_MAX_PAYLOAD + 64], parts[SECREC_MAX_PAYLOAD + 64];
	static const size_t sizes[] = { 0, 1, 28, 29, 30, 61, 62, 4 + 16384 };
	struct noise_cipher *a = NULL, *b = NULL;
	size_t i, cut, n;
	int suite;

	(void)state;
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7 + 3);
	for (suite = 0; suite < 2; suite++) {
		assert_int_equal(noise_cipher_new(suite ? AEAD_AESGCM : AEAD_CHACHAPOLY, key, &a), 0);
		assert_int_equal(noise_cipher_new(suite ? AEAD_AESGCM : AEAD_CHACHAPOLY, key, &b), 0);
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			n = sizes[i];
			for (cut = 0; cut <= n; cut += n > 100 ? 997 : 1) {
				assert_int_equal(secrec_seal(a, SECREC_DATA, pt, n, whole), 0);
				assert_int_equal(secrec_seal_parts(b, SECREC_DATA, pt, cut, pt + cut, n - cut, parts), 0);
				assert_memory_equal(whole, parts, secrec_wire_len(n));
			}
		}
		assert_int_equal(secrec_seal_parts(a, SECREC_DATA, pt, 10, pt, SECREC_MAX_PAYLOAD - 9, parts),
		    CVPN_ERR_TOO_LONG);
		noise_cipher_free(a);
		noise_cipher_free(b);
	}
}

/* secrec_open refuses what its tag authenticates but the format does not allow, and wipes it. */
static void
test_secrec_checks(void **state)
{
	static const uint8_t key[32] = { 9 };
	struct noise_cipher *a, *b;
	uint8_t rec[2 + 64 + 16], pt[64] = { SECREC_DATA, 0, 1, 'a' }, zero[64] = { 0 };
	const uint8_t *out;
	size_t len, body;
	int type, i;

	(void)state;
	assert_int_equal(noise_cipher_new(AEAD_CHACHAPOLY, key, &a), 0);
	assert_int_equal(noise_cipher_new(AEAD_CHACHAPOLY, key, &b), 0);
	body = raw_record(a, pt, 32, rec);
	assert_int_equal(secrec_open(b, rec, body, &type, &out, &len), 0);
	assert_int_equal(type, SECREC_DATA);
	assert_int_equal(len, 1);
	assert_int_equal(out[0], 'a');
	/* Each bad one under the next nonce on both sides, as the engine would have failed. */
	for (i = 0; i < 6; i++) {
		size_t n = i == 2 ? 40 : i == 3 ? 2 : 32;   /* 2: not a multiple of 32; 3: shorter than its header */

		pt[2] = i == 0 ? 30 : 1;                     /* 0: the length runs past the plaintext */
		pt[31] = i == 1 ? 'x' : 0;                   /* 1: padding that is not zero */
		body = raw_record(a, pt, n, rec);
		if (i == 4)
			rec[2 + body - 1] ^= 1;              /* 4: a bad tag */
		if (i == 5)
			rec[1] ^= 1;                         /* 5: a prefix that does not say the body */
		assert_int_equal(secrec_open(b, rec, body, &type, &out, &len), CVPN_ERR_DECRYPT);
		if (i < 5)
			assert_memory_equal(rec + 2, zero, n);
		noise_cipher_set_nonce(b, noise_cipher_nonce(a));
	}
	/* The longest payload a u16 body length can carry, and one byte more. */
	assert_true(secrec_wire_len(SECREC_MAX_PAYLOAD) - 2 <= 0xffff);
	assert_true(secrec_wire_len(SECREC_MAX_PAYLOAD + 1) - 2 > 0xffff);
	assert_int_equal(secrec_seal(a, SECREC_DATA, pt, SECREC_MAX_PAYLOAD + 1, rec), CVPN_ERR_TOO_LONG);
	noise_cipher_free(a);
	noise_cipher_free(b);
}

/*
 * The plaintext must be the smallest multiple of 32 that holds type, length
 * and payload (docs/SECURE.md, section 5): every payload length from 0 to 93
 * in plaintexts of 32, 64 and 96 bytes opens exactly when the size is right.
 */
static void
test_secrec_padding_exact(void **state)
{
	static const uint8_t key[32] = { 7 };
	struct noise_cipher *a, *b;
	uint8_t rec[2 + 96 + 16], pt[96];
	const uint8_t *out;
	size_t len, body, plen, n;
	int type, r;

	(void)state;
	assert_int_equal(noise_cipher_new(AEAD_AESGCM, key, &a), 0);
	assert_int_equal(noise_cipher_new(AEAD_AESGCM, key, &b), 0);
	for (plen = 0; plen <= 93; plen++) {
		for (n = 32; n <= 96; n += 32) {
			if (plen + 3 > n)
				continue;
			memset(pt, 0, sizeof(pt));
			pt[0] = SECREC_DATA;
			secure_wire_put16(pt + 1, plen);
			memset(pt + 3, 'x', plen);
			body = raw_record(a, pt, n, rec);
			r = secrec_open(b, rec, body, &type, &out, &len);
			if (n == (plen + 3 + 31) / 32 * 32) {
				assert_int_equal(r, 0);
				assert_int_equal(len, plen);
			} else {
				assert_int_equal(r, CVPN_ERR_DECRYPT);
				noise_cipher_set_nonce(b, noise_cipher_nonce(a));
			}
		}
	}
	noise_cipher_free(a);
	noise_cipher_free(b);
}

static void
test_records_hide_lengths(void **state)
{
	struct pair pr;
	struct buf tap = { 0 };

	(void)state;
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_CHACHAPOLY);
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"a", 1), 0);
	assert_int_equal(pump(pr.c, pr.s, &tap), 0);
	/* 2 + 32 + 16: one byte of text pads to 32. */
	assert_int_equal(tap.len, 2 + 32 + 16);
	pump(pr.s, pr.c, NULL);
	tap.len = 0;
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"0123456789abcdefghijklmnopq", 27), 0);
	assert_int_equal(pump(pr.c, pr.s, &tap), 0);
	assert_int_equal(tap.len, 2 + 32 + 16);
	buf_clear(&tap);
	close_pair(&pr);
}

/* Delivers the client's next record to the server after change() altered it; the server must fail. */
static void
attack_record(void (*change)(struct buf *rec, struct buf *prev), int expect)
{
	struct pair pr;
	struct buf prev = { 0 }, rec = { 0 };
	const uint8_t *p;
	size_t n;

	setup_pair(&pr, SECURE_MODE_KEY, AEAD_AESGCM);
	assert_int_equal(handshake(&pr), 0);
	/* One good exchange, recorded, so attacks can replay or reorder it. */
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"first", 5), 0);
	assert_int_equal(pump(pr.c, pr.s, &prev), 0);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"second", 6), 0);
	engine_output(pr.c, &p, &n);
	assert_int_equal(buf_append(&rec, p, n, 1 << 20), 0);
	engine_output_consume(pr.c, n);
	change(&rec, &prev);
	pr.ss.messages = 0;
	assert_int_equal(engine_feed(pr.s, rec.data, rec.len), expect);
	assert_int_equal(pr.ss.messages, 0);
	/* All the server says is one authenticated ERROR record, which the client reports. */
	engine_output(pr.s, &p, &n);
	assert_int_equal(n, 2 + 32 + 16);
	pr.cs.replies = 0;
	assert_int_equal(engine_feed(pr.c, p, n), CVPN_ERR_REFUSED);
	assert_int_equal(pr.cs.replies, 0);
	buf_clear(&prev);
	buf_clear(&rec);
	close_pair(&pr);
}

static void
flip_bit(struct buf *rec, struct buf *prev)
{
	(void)prev;
	rec->data[5] ^= 1;
}

static void
replay(struct buf *rec, struct buf *prev)
{
	rec->len = 0;
	assert_int_equal(buf_append(rec, prev->data, prev->len, 1 << 20), 0);
}

static void
flip_length(struct buf *rec, struct buf *prev)
{
	(void)prev;
	/* A shorter length prefix: the AEAD covers it as associated data. */
	rec->data[1] -= 16;
	rec->len -= 16;
}

static void
truncate_tag(struct buf *rec, struct buf *prev)
{
	(void)prev;
	rec->data[1] -= 1;
	rec->len -= 1;
}

static void
test_record_attacks(void **state)
{
	(void)state;
	attack_record(flip_bit, CVPN_ERR_DECRYPT);
	attack_record(replay, CVPN_ERR_DECRYPT);
	attack_record(flip_length, CVPN_ERR_DECRYPT);
	attack_record(truncate_tag, CVPN_ERR_DECRYPT);
}

static void
test_reflection(void **state)
{
	struct pair pr;
	const uint8_t *p;
	size_t n;

	(void)state;
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_AESGCM);
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"mirror", 6), 0);
	/* The client's own record sent back to it: the other direction's key fails it. */
	engine_output(pr.c, &p, &n);
	assert_int_equal(engine_feed(pr.c, p, n), CVPN_ERR_DECRYPT);
	assert_int_equal(pr.cs.replies, 0);
	close_pair(&pr);
}

static void
test_wrong_keys(void **state)
{
	struct pair pr;
	uint8_t other[32], other_pub[32];

	(void)state;
	/* Another server's key: mac1 fails before any DH. */
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	assert_int_equal(noise_keypair_generate(other, other_pub), 0);
	memcpy(pr.cc.secure.server_pub, other_pub, 32);
	assert_int_equal(handshake(&pr), CVPN_ERR_BAD_MAC1);
	close_pair(&pr);
	/* A wrong PSK: mac1 again. */
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_CHACHAPOLY);
	pr.cc.secure.psk[0] ^= 1;
	assert_int_equal(handshake(&pr), CVPN_ERR_BAD_MAC1);
	close_pair(&pr);
	/*
	 * A PSK on one side only in key mode: the server mixes the PSK into its
	 * answer (IKpsk2), so the client's check of that answer fails.
	 */
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	memset(pr.cc.secure.psk, 7, 32);
	pr.cc.secure.has_psk = true;
	assert_int_equal(handshake(&pr), CVPN_ERR_HANDSHAKE);
	assert_int_equal(pr.cs.keys, 0);
	close_pair(&pr);
}

static void
test_authorized_clients(void **state)
{
	char path[] = "/tmp/cvpn-authorized-XXXXXX", b64[KEYS_B64_LEN + 1], line[128];
	struct keys_list *list = NULL;
	struct pair pr;
	unsigned bad;
	FILE *f;
	int fd;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	keys_to_base64(pr.client_pub, b64);
	snprintf(line, sizeof(line), "# the lab's clients\n%s alice\n", b64);
	fputs(line, f);
	fclose(f);
	assert_int_equal(keys_list_load(path, &list, &bad), 0);
	pr.sc.secure.authorized = list;
	assert_int_equal(handshake(&pr), 0);
	close_pair(&pr);
	/* A client whose key is not listed. */
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	pr.sc.secure.authorized = list;
	assert_int_equal(handshake(&pr), CVPN_ERR_UNAUTHORIZED);
	close_pair(&pr);
	keys_list_free(list);
	unlink(path);
}

/* The downgrade a man in the middle would try: change the suites the client offered. */
static void
test_hello_tampering(void **state)
{
	struct pair pr;
	const uint8_t *p;
	uint8_t hello[16];
	size_t n;
	int r = 0, i;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_AESGCM);
	pr.cc.secure.suites[1] = AEAD_CHACHAPOLY;
	pr.cc.secure.nsuites = 2;
	open_pair(&pr);
	assert_int_equal(engine_start(pr.c), 0);
	engine_output(pr.c, &p, &n);
	assert_true(n <= sizeof(hello));
	memcpy(hello, p, n);
	engine_output_consume(pr.c, n);
	/* Offer ChaChaPoly only: the server's choice changes, and so does its prologue. */
	hello[6] = 1;
	hello[7] = 1; /* the wire code of ChaChaPoly */
	assert_int_equal(engine_feed(pr.s, hello, n - 1), 0);
	for (i = 0; i < 4 && r == 0; i++)
		if ((r = pump(pr.s, pr.c, NULL)) == 0)
			r = pump(pr.c, pr.s, NULL);
	assert_int_equal(r, CVPN_ERR_HANDSHAKE);
	assert_int_equal(pr.ss.keys + pr.cs.keys, 0);
	close_pair(&pr);
}

static void
test_rekey(void **state)
{
	struct pair pr;
	int i;

	(void)state;
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_CHACHAPOLY);
	pr.cc.secure.rekey_records = 3;
	pr.sc.secure.rekey_records = 2;
	assert_int_equal(handshake(&pr), 0);
	for (i = 0; i < 10; i++)
		exchange(&pr, "again", "Server says: niaga");
	assert_int_equal(engine_rekey(pr.c), 0);
	exchange(&pr, "after", "Server says: retfa");
	close_pair(&pr);
	/* A CLOSE is the last record, even when a rekey falls due right after it. */
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_CHACHAPOLY);
	pr.cc.secure.rekey_records = 1;
	pr.sc.secure.rekey_records = 1;
	assert_int_equal(handshake(&pr), 0);
	exchange(&pr, "x", "Server says: x");
	assert_int_equal(engine_close(pr.c), 0);
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_true(engine_closed(pr.s));
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_true(engine_closed(pr.c));
	close_pair(&pr);
}

static void
test_server_still_speaks_lab(void **state)
{
	struct pair pr;
	const char *proposal = "ProposedCiphers:AES:[256]\n";

	(void)state;
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_CHACHAPOLY);
	open_pair(&pr);
	assert_int_equal(engine_feed(pr.s, (const uint8_t *)proposal, strlen(proposal)), 0);
	assert_false(engine_is_secure(pr.s));
	close_pair(&pr);
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_CHACHAPOLY);
	pr.sc.no_lab = true;
	open_pair(&pr);
	assert_int_equal(engine_feed(pr.s, (const uint8_t *)proposal, strlen(proposal)), CVPN_ERR_LAB_DISABLED);
	close_pair(&pr);
}

/* Zero bytes, or a pause, before the server's hello: nothing happens, the handshake goes on. */
static void
test_empty_input(void **state)
{
	static const uint8_t none[1];
	struct pair pr;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	open_pair(&pr);
	assert_int_equal(engine_start(pr.c), 0);
	assert_int_equal(engine_feed(pr.c, none, 0), 0);
	assert_int_equal(engine_quiet(pr.c), 0);
	assert_int_equal(engine_feed(pr.s, none, 0), 0);
	for (int i = 0; i < 4 && !engine_ready(pr.c); i++) {
		assert_int_equal(pump(pr.c, pr.s, NULL), 0);
		assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	}
	assert_true(engine_ready(pr.c));
	close_pair(&pr);
}

/* A secure record carries its exact length: NULs at a message's ends come back reversed, and count. */
static void
test_nul_edges(void **state)
{
	static const uint8_t msg[] = { 0, 'a', 'b', 0, 0 };
	struct pair pr;

	(void)state;
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_AESGCM);
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_send(pr.c, msg, sizeof(msg)), 0);
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_int_equal(pr.cs.replies, 1);
	assert_int_equal(pr.cs.bad_replies, 0);
	close_pair(&pr);
}

/* Sends one channel record from one engine and checks the other saw it as sent. */
static void
channel_pass(struct engine *from, struct engine *to, struct seen *seen, const struct chan_msg *m)
{
	int before = seen->channels;

	assert_int_equal(engine_channel_send(from, m), 0);
	assert_int_equal(pump(from, to, NULL), 0);
	assert_int_equal(seen->channels, before + 1);
	assert_int_equal(seen->last_chan.type, m->type);
	assert_int_equal(seen->last_chan.id, m->id);
	assert_int_equal(seen->last_chan.len, m->len);
	if (m->len)
		assert_memory_equal(seen->last_chan.data, m->data, m->len);
}

/*
 * A channel's whole life over an established session, beside the chat
 * messages: OPEN, ACCEPT, DATA both ways (the largest record too), WINDOW,
 * EOF one way while the other still flows, CLOSE from both.
 */
static void
test_channel_records(void **state)
{
	static uint8_t big[CHAN_DATA_MAX];
	struct chan_msg open = { .type = CHAN_OPEN, .id = 7, .window = CHAN_WINDOW_INITIAL, .port = 80 };
	struct chan_msg m;
	struct pair pr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	strcpy(open.host, "localhost");
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	assert_int_equal(handshake(&pr), 0);
	channel_pass(pr.c, pr.s, &pr.ss, &open);
	assert_string_equal(pr.ss.last_chan.host, "localhost");
	assert_int_equal(pr.ss.last_chan.port, 80);
	channel_pass(pr.s, pr.c, &pr.cs, &(struct chan_msg){ .type = CHAN_ACCEPT, .id = 7, .window = 1000 });
	assert_int_equal(pr.cs.last_chan.window, 1000);
	channel_pass(pr.c, pr.s, &pr.ss, &(struct chan_msg){ .type = CHAN_DATA, .id = 7, .data = big, .len = sizeof(big) });
	exchange(&pr, "hello", "Server says: olleh"); /* messages still flow between channel records */
	channel_pass(pr.s, pr.c, &pr.cs, &(struct chan_msg){ .type = CHAN_DATA, .id = 7, .data = big, .len = 1 });
	channel_pass(pr.s, pr.c, &pr.cs, &(struct chan_msg){ .type = CHAN_WINDOW, .id = 7, .window = 4096 });
	channel_pass(pr.c, pr.s, &pr.ss, &(struct chan_msg){ .type = CHAN_EOF, .id = 7 });
	channel_pass(pr.s, pr.c, &pr.cs, &(struct chan_msg){ .type = CHAN_DATA, .id = 7, .data = big, .len = 100 });
	channel_pass(pr.s, pr.c, &pr.cs, &(struct chan_msg){ .type = CHAN_CLOSE, .id = 7 });
	channel_pass(pr.c, pr.s, &pr.ss, &(struct chan_msg){ .type = CHAN_CLOSE, .id = 7 });
	/* A side cannot send what only the other sends, nor break the format: refused, the session lives. */
	assert_int_equal(engine_channel_send(pr.s, &open), CVPN_ERR_INVALID_ARG);
	m = (struct chan_msg){ .type = CHAN_ACCEPT, .id = 1, .window = 1 };
	assert_int_equal(engine_channel_send(pr.c, &m), CVPN_ERR_INVALID_ARG);
	m = (struct chan_msg){ .type = CHAN_DATA, .id = 1, .data = big, .len = 0 };
	assert_int_equal(engine_channel_send(pr.c, &m), CVPN_ERR_INVALID_ARG);
	exchange(&pr, "still", "Server says: llits");
	/* Once the client closed, no channel record goes out. */
	assert_int_equal(engine_close(pr.c), 0);
	assert_int_equal(engine_channel_send(pr.c, &open), CVPN_ERR_STATE);
	close_pair(&pr);
}

/* A lab session cannot carry channels, and says why; nor can a session before its handshake's end. */
static void
test_channel_needs_secure(void **state)
{
	struct chan_msg open = { .type = CHAN_OPEN, .id = 1, .window = 1, .port = 22 };
	struct engine_config lab = { .hmac = RECORD_HMAC_CUMULATIVE };
	struct engine *e;
	struct pair pr;

	(void)state;
	strcpy(open.host, "h");
	proposal_default(&lab.ciphers);
	assert_int_equal(engine_new(&lab, NULL, NULL, &e), 0);
	assert_int_equal(engine_start(e), 0);
	assert_int_equal(engine_channel_send(e, &open), CVPN_ERR_NOT_SECURE);
	engine_free(e);
	setup_pair(&pr, SECURE_MODE_PSK, AEAD_AESGCM);
	open_pair(&pr);
	assert_int_equal(engine_channel_send(pr.c, &open), CVPN_ERR_STATE);
	assert_int_equal(engine_start(pr.c), 0);
	assert_int_equal(engine_channel_send(pr.c, &open), CVPN_ERR_STATE);
	close_pair(&pr);
}

/* A record of the other side's kind, from an authenticated peer, breaks the session with its own error. */
static void
test_channel_wrong_side(void **state)
{
	struct chan_msg open = { .type = CHAN_OPEN, .id = 1, .window = 1, .port = 22 };
	uint8_t payload[CHAN_PAYLOAD_MAX];
	struct pair pr;
	int n;

	(void)state;
	strcpy(open.host, "h");
	n = chan_encode(&open, payload, sizeof(payload));
	assert_true(n > 0);
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	assert_int_equal(handshake(&pr), 0);
	/* The server's engine would never send an OPEN: seal one by hand through the client's borrowed cipher. */
	{
		struct noise_cipher *tx, *rx;
		uint8_t rec[CHAN_PAYLOAD_MAX + 64];

		assert_int_equal(engine_secure_transport(pr.s, &tx, &rx), 0);
		assert_int_equal(secrec_seal(tx, (enum secrec_type)CHAN_OPEN, payload, (size_t)n, rec), 0);
		assert_int_equal(engine_feed(pr.c, rec, secrec_wire_len((size_t)n)), CVPN_ERR_CHANNEL);
	}
	assert_int_equal(pr.cs.channels, 0);
	close_pair(&pr);
	/* The server refusing a record it read (a window overrun its program found): the client learns it. */
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_refuse(pr.s, CVPN_ERR_CHANNEL), CVPN_ERR_CHANNEL);
	assert_int_equal(engine_channel_send(pr.s, &open), CVPN_ERR_CHANNEL); /* dead now */
	assert_int_equal(pump(pr.s, pr.c, NULL), CVPN_ERR_REFUSED);
	close_pair(&pr);
}

/* Feeds the server everything the client has queued and returns how many bytes the server queued back. */
static size_t
server_answer(struct pair *pr, int expect)
{
	const uint8_t *p;
	size_t n;

	assert_int_equal(pump(pr->c, pr->s, NULL), expect);
	engine_output(pr->s, &p, &n);
	return n;
}

/*
 * Stealth: the client sends its hello and message 1 at once, offering its
 * first suite; a stealth server says nothing until message 1 proved the
 * client, then its hello and message 2; an ordinary server takes such a
 * client too. A stealth server answers a wrong key, a lab client, a plain
 * hello or garbage with nothing at all.
 */
static void
test_stealth(void **state)
{
	static const char *const junk[] = { "ProposedCiphers:AES:[256]", "GET / HTTP/1.1\r\n\r\n", "CVPN\x02" };
	const uint8_t *p;
	struct pair pr;
	size_t i, n, hello;
	int server_stealth;

	(void)state;
	for (server_stealth = 0; server_stealth < 2; server_stealth++) {
		setup_pair(&pr, SECURE_MODE_KEY, AEAD_AESGCM);
		pr.cc.secure.suites[1] = AEAD_CHACHAPOLY;
		pr.cc.secure.nsuites = 2;
		pr.cc.secure.stealth = true;
		pr.sc.secure.stealth = server_stealth;
		open_pair(&pr);
		assert_int_equal(engine_start(pr.c), 0);
		engine_output(pr.c, &p, &n);
		hello = SECURE_CLIENT_HELLO_MIN + 1; /* one suite offered */
		assert_true(n > hello + 2);
		assert_int_equal(p[SECURE_HELLO_COUNT], 1);
		assert_int_equal(p[SECURE_CLIENT_HELLO_MIN], SECURE_SUITE_AESGCM);
		assert_int_equal(secure_wire_get16(p + hello), n - hello - 2); /* message 1 follows at once */
		/* AESGCM although the server prefers ChaChaPoly: it was the only one offered. */
		assert_true(server_answer(&pr, 0) > SECURE_SERVER_HELLO_LEN);
		assert_int_equal(pump(pr.s, pr.c, NULL), 0);
		assert_true(engine_ready(pr.c));
		assert_string_equal(pr.cs.protocol, "Noise_IKpsk2_25519_AESGCM_SHA256");
		exchange(&pr, "quiet", "Server says: teiuq");
		close_pair(&pr);
	}
	/* An ordinary client at a stealth server: its hello alone gets nothing back, ever. */
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	pr.sc.secure.stealth = true;
	open_pair(&pr);
	assert_int_equal(engine_start(pr.c), 0);
	assert_int_equal(server_answer(&pr, 0), 0);
	close_pair(&pr);
	/* A stealth client with the wrong server key: mac1 fails, and not a byte comes back. */
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	pr.sc.secure.stealth = true;
	pr.cc.secure.stealth = true;
	pr.cc.secure.server_pub[0] ^= 1;
	open_pair(&pr);
	assert_int_equal(engine_start(pr.c), 0);
	assert_int_equal(server_answer(&pr, CVPN_ERR_BAD_MAC1), 0);
	close_pair(&pr);
	/* Anything else: refused with nothing sent. */
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct engine *s;

		setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
		pr.sc.secure.stealth = true;
		assert_int_equal(engine_new(&pr.sc, NULL, NULL, &s), 0);
		(void)engine_feed(s, (const uint8_t *)junk[i], strlen(junk[i]));
		engine_output(s, &p, &n);
		assert_int_equal(n, 0);
		engine_free(s);
	}
}

/* The IP tunnel over TCP: CONFIG from the server, PACKETs both ways; a CONFIG from the client is refused. */
static void
test_tunnel_records(void **state)
{
	static uint8_t pkt[SECURE_MAX_PAYLOAD_TEST];
	struct pair pr;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_tunnel_send(pr.s, ENGINE_TUNNEL_CONFIG, pkt, 11), 0);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_int_equal(pr.cs.last_tunnel_type, ENGINE_TUNNEL_CONFIG);
	assert_int_equal(pr.cs.last_tunnel_len, 11);
	assert_int_equal(engine_tunnel_send(pr.c, ENGINE_TUNNEL_PACKET, pkt, sizeof(pkt)), 0);
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(pr.ss.last_tunnel_type, ENGINE_TUNNEL_PACKET);
	assert_int_equal(pr.ss.last_tunnel_len, sizeof(pkt));
	assert_int_equal(engine_tunnel_send(pr.c, ENGINE_TUNNEL_CONFIG, pkt, 11), CVPN_ERR_INVALID_ARG);
	assert_int_equal(engine_tunnel_send(pr.c, ENGINE_TUNNEL_PACKET, pkt, 0), CVPN_ERR_INVALID_ARG);
	assert_int_equal(engine_tunnel_send(pr.c, ENGINE_TUNNEL_PACKET, pkt, sizeof(pkt) + 1), CVPN_ERR_INVALID_ARG);
	exchange(&pr, "and chat", "Server says: tahc dna");
	assert_int_equal(pr.ss.tunnel_records + pr.cs.tunnel_records, 2);
	close_pair(&pr);
}

/*
 * A KEEPALIVE either way, beside the messages and while a reply is awaited:
 * the peer reads it and says nothing (no event, nothing queued back). A lab
 * session has no such record, nor has a session before its handshake's end
 * or after its CLOSE.
 */
static void
test_keepalive(void **state)
{
	struct engine_config lab = { .hmac = RECORD_HMAC_CUMULATIVE };
	const uint8_t *p;
	struct engine *e;
	struct pair pr;
	int before;
	size_t n;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	open_pair(&pr);
	assert_int_equal(engine_keepalive(pr.c), CVPN_ERR_STATE);
	close_pair(&pr);
	assert_int_equal(handshake(&pr), 0);
	exchange(&pr, "hi", "Server says: ih"); /* each side's first record confirms it: an event of its own */
	before = pr.ss.events;
	assert_int_equal(engine_keepalive(pr.c), 0);
	engine_output(pr.c, &p, &n);
	assert_int_equal(n, secrec_wire_len(0));
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(pr.ss.events, before);
	engine_output(pr.s, &p, &n);
	assert_int_equal(n, 0);
	before = pr.cs.events;
	assert_int_equal(engine_keepalive(pr.s), 0);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_int_equal(pr.cs.events, before);
	assert_true(engine_ready(pr.c));
	/* While a reply is awaited: the reply still comes, and the keepalive changed nothing. */
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"ping", 4), 0);
	assert_int_equal(engine_keepalive(pr.c), 0);
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(pr.ss.messages, 2);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_string_equal(pr.cs.last_reply, "Server says: gnip");
	assert_int_equal(engine_close(pr.c), 0);
	assert_int_equal(engine_keepalive(pr.c), CVPN_ERR_STATE);
	close_pair(&pr);
	proposal_default(&lab.ciphers);
	assert_int_equal(engine_new(&lab, NULL, NULL, &e), 0);
	assert_int_equal(engine_start(e), 0);
	assert_int_equal(engine_keepalive(e), CVPN_ERR_NOT_SECURE);
	engine_free(e);
}

/* Moves the server's queued output into out (for a test that feeds it in pieces); returns its length. */
static size_t
take_output(struct engine *e, uint8_t *out, size_t room)
{
	const uint8_t *p;
	size_t n;

	engine_output(e, &p, &n);
	assert_true(n <= room);
	memcpy(out, p, n);
	engine_output_consume(e, n);
	return n;
}

/*
 * A session the server ends first: its CLOSE record goes to out (its length
 * returned), and *tx is the server's sending cipher, which a test may go on
 * sealing with as a peer that breaks the rule would.
 */
static size_t
closed_by_server(struct pair *pr, struct noise_cipher **tx, uint8_t *out, size_t room)
{
	struct noise_cipher *rx;

	assert_int_equal(handshake(pr), 0);
	assert_int_equal(engine_secure_transport(pr->s, tx, &rx), 0);
	assert_int_equal(engine_close(pr->s), 0);
	return take_output(pr->s, out, room);
}

/*
 * The server ends a session first (its idle timeout, its shutdown) with a
 * CLOSE: the client takes it as the session's end at any point after the
 * handshake, nothing may follow it, and before the handshake's end there is
 * none to take.
 */
static void
test_server_closes_first(void **state)
{
	struct engine_config lab = { .server = true, .hmac = RECORD_HMAC_AUTO };
	struct noise_cipher *tx;
	uint8_t wire[256], close_rec[64];
	const uint8_t *p;
	struct engine *e;
	struct pair pr, early;
	size_t n, close_len;
	int before;

	(void)state;
	setup_pair(&pr, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	/* At an idle prompt: the client sends nothing back, and is closed. */
	assert_int_equal(handshake(&pr), 0);
	exchange(&pr, "hi", "Server says: ih");
	assert_int_equal(engine_close(pr.s), 0);
	assert_true(engine_closed(pr.s));
	assert_false(engine_ready(pr.s));
	assert_int_equal(engine_keepalive(pr.s), CVPN_ERR_STATE);
	assert_int_equal(engine_close(pr.s), CVPN_ERR_STATE);
	engine_output(pr.s, &p, &n);
	assert_int_equal(n, secrec_wire_len(0));
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_true(engine_closed(pr.c));
	assert_false(engine_ready(pr.c));
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"late", 4), CVPN_ERR_STATE);
	assert_int_equal(engine_close(pr.c), CVPN_ERR_STATE);
	engine_output(pr.c, &p, &n);
	assert_int_equal(n, 0);
	close_pair(&pr);

	/* While a reply is awaited, and with the client's message crossing the CLOSE: the server drops it. */
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_send(pr.c, (const uint8_t *)"crossing", 8), 0);
	assert_int_equal(engine_close(pr.s), 0);
	before = pr.ss.messages + pr.cs.replies;
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_int_equal(pr.ss.messages + pr.cs.replies, before);
	assert_true(engine_closed(pr.c));
	close_pair(&pr);

	/* Both sides close at once: each CLOSE is the other's answer. */
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_close(pr.c), 0);
	assert_int_equal(engine_close(pr.s), 0);
	assert_int_equal(pump(pr.c, pr.s, NULL), 0);
	assert_int_equal(pump(pr.s, pr.c, NULL), 0);
	assert_true(engine_closed(pr.c));
	assert_true(engine_closed(pr.s));
	close_pair(&pr);

	/* A record after the server's CLOSE fails the client, in the same read or the next. */
	close_len = closed_by_server(&pr, &tx, close_rec, sizeof(close_rec));
	memcpy(wire, close_rec, close_len);
	assert_int_equal(secrec_seal(tx, SECREC_KEEPALIVE, NULL, 0, wire + close_len), 0);
	n = close_len + secrec_wire_len(0);
	assert_int_equal(engine_feed(pr.c, wire, n), CVPN_ERR_UNEXPECTED);
	assert_false(engine_closed(pr.c));
	close_pair(&pr);
	close_len = closed_by_server(&pr, &tx, close_rec, sizeof(close_rec));
	assert_int_equal(engine_feed(pr.c, close_rec, close_len), 0);
	assert_true(engine_closed(pr.c));
	assert_int_equal(secrec_seal(tx, SECREC_REPLY, (const uint8_t *)"x", 1, wire), 0);
	assert_int_not_equal(engine_feed(pr.c, wire, secrec_wire_len(1)), 0);
	assert_false(engine_closed(pr.c));
	close_pair(&pr);

	/*
	 * Before the handshake's end the server has no CLOSE to send, and a
	 * CLOSE from another session where message 2 belongs fails the client.
	 */
	assert_int_equal(handshake(&pr), 0);
	assert_int_equal(engine_close(pr.s), 0);
	close_len = take_output(pr.s, close_rec, sizeof(close_rec));
	setup_pair(&early, SECURE_MODE_KEY, AEAD_CHACHAPOLY);
	open_pair(&early);
	assert_int_equal(engine_close(early.s), CVPN_ERR_STATE);
	assert_int_equal(engine_start(early.c), 0);
	assert_int_equal(pump(early.c, early.s, NULL), 0);
	assert_int_equal(engine_close(early.s), CVPN_ERR_STATE);
	n = take_output(early.s, wire, sizeof(wire)); /* the ServerHello alone */
	assert_int_equal(engine_feed(early.c, wire, n), 0);
	assert_int_not_equal(engine_feed(early.c, close_rec, close_len), 0);
	assert_false(engine_closed(early.c));
	assert_false(engine_established(early.c));
	close_pair(&early);
	close_pair(&pr);

	/* The lab has no records: a lab server has no CLOSE. */
	proposal_default(&lab.ciphers);
	assert_int_equal(engine_new(&lab, NULL, NULL, &e), 0);
	assert_int_equal(engine_close(e), CVPN_ERR_STATE);
	engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_mode_and_suite),
		cmocka_unit_test(test_replayed_message1),
		cmocka_unit_test(test_low_order_ephemeral),
		cmocka_unit_test(test_transport_borrowed),
		cmocka_unit_test(test_secrec_parts),
		cmocka_unit_test(test_secrec_checks),
		cmocka_unit_test(test_secrec_padding_exact),
		cmocka_unit_test(test_records_hide_lengths),
		cmocka_unit_test(test_record_attacks),
		cmocka_unit_test(test_reflection),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_authorized_clients),
		cmocka_unit_test(test_hello_tampering),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_server_still_speaks_lab),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_nul_edges),
		cmocka_unit_test(test_channel_records),
		cmocka_unit_test(test_channel_needs_secure),
		cmocka_unit_test(test_channel_wrong_side),
		cmocka_unit_test(test_stealth),
		cmocka_unit_test(test_tunnel_records),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_server_closes_first),
	};

	return cmocka_run_group_tests_name("secure", tests, unit_setup, NULL);
}
