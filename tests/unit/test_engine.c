/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the protocol engine (common/engine.c). A client and a
 * server engine talk in memory: a pump moves each one's output into the
 * other's input, runs the Diffie-Hellman work, and plays the transport's
 * quiet timer when nothing else moves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "dh.h"
#include "engine_bench.h"
#include "err.h"
#include "suite.h"
#include "vectors.h"

/* The client's proposal in the instructor's capture (captures/reference/README.md). */
#define CAPTURE_SPEC "DES:56 AES:128,192,256 Blowfish:112,224,448"
#define CAPTURE_WIRE "ProposedCiphers:DES:[56],AES:[128,192,256],Blowfish:[112,224,448]"
/* A server that supports the whole table, insecure suites included. */
#define ALL_SPEC "AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128"

/* "héllo wörld ✓ 😀", and reversed by code point. */
#define UTF8_TEXT "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"
#define UTF8_REVERSED "\xf0\x9f\x98\x80 \xe2\x9c\x93 dlr\xc3\xb6w oll\xc3\xa9h"

#define TEXT_MAX 8192
#define NEVENTS (ENGINE_EV_CONFIRMED + 1)
#define MAX_MSGS 16

/* The last event of one type that a side emitted. */
struct seen {
	unsigned count;
	uint8_t text[TEXT_MAX];
	size_t len;
	int status;
	bool bare;
	enum record_hmac hmac;
	const struct suite *suite;
	unsigned bits;
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len;
};

struct side {
	struct engine *e;
	int err;                 /* the first error the engine returned */
	size_t chunk;            /* feed at most this many bytes per call; 0: all at once */
	unsigned quiets;         /* how often the quiet timer fired */
	unsigned stalls;         /* how often the partial timeout fired */
	struct seen ev[NEVENTS];
	struct buf sent;         /* every byte this side sent */
	size_t msgs[MAX_MSGS];   /* the length of each output delivered */
	size_t nmsgs;
};

struct session {
	struct side c, s;
};

static void
on_event(void *arg, const struct engine_event *ev)
{
	struct seen *s = &((struct side *)arg)->ev[ev->type];

	assert_true(ev->text_len <= TEXT_MAX);
	s->count++;
	s->len = ev->text_len;
	if (ev->text_len)
		memcpy(s->text, ev->text, ev->text_len);
	s->status = ev->status;
	s->bare = ev->bare;
	s->hmac = ev->hmac;
	s->suite = ev->suite;
	s->bits = ev->bits;
	s->key_len = ev->key_len;
	s->iv_len = ev->iv_len;
	if (ev->key_len)
		memcpy(s->key, ev->key, ev->key_len);
	if (ev->iv_len)
		memcpy(s->iv, ev->iv, ev->iv_len);
}

/* The default configuration of one side: fixed DH keys from the vectors; the server in auto HMAC mode. */
static struct engine_config
config(bool server, const char *spec)
{
	struct engine_config cfg = { .server = server, .hmac = server ? RECORD_HMAC_AUTO : RECORD_HMAC_CUMULATIVE };

	assert_int_equal(proposal_parse_spec(spec, true, &cfg.ciphers), 0);
	cfg.dh_private = vec_hex(NULL, server ? "server_private_hex" : "client_private_hex", &cfg.dh_private_len);
	return cfg;
}

static struct session *
open_session(const struct engine_config *c, const struct engine_config *s)
{
	struct session *ss = calloc(1, sizeof(*ss));

	assert_non_null(ss);
	assert_int_equal(engine_new(c, on_event, &ss->c, &ss->c.e), 0);
	assert_int_equal(engine_new(s, on_event, &ss->s, &ss->s.e), 0);
	assert_int_equal(engine_start(ss->s.e), 0);
	assert_int_equal(engine_start(ss->c.e), 0);
	return ss;
}

static void
close_session(struct session *ss)
{
	engine_free(ss->c.e);
	engine_free(ss->s.e);
	buf_clear(&ss->c.sent);
	buf_clear(&ss->s.sent);
	free(ss);
}

static void
note(struct side *sd, int r)
{
	if (r != 0 && sd->err == 0)
		sd->err = r;
}

/* Feeds bytes to a side in its chunk size, stopping at the first error. */
static void
feed(struct side *to, const uint8_t *p, size_t n)
{
	size_t step = to->chunk ? to->chunk : n, i;

	for (i = 0; i < n && to->err == 0; i += step)
		note(to, engine_feed(to->e, p + i, n - i < step ? n - i : step));
}

/* Moves everything from's engine has queued into to's engine. Returns whether there was anything. */
static bool
deliver(struct side *from, struct side *to)
{
	const uint8_t *p;
	size_t n;

	engine_output(from->e, &p, &n);
	if (n == 0)
		return false;
	assert_int_equal(buf_append(&from->sent, p, n, SIZE_MAX), 0);
	assert_true(from->nmsgs < MAX_MSGS);
	from->msgs[from->nmsgs++] = n;
	feed(to, p, n);
	engine_output_consume(from->e, n);
	return true;
}

static bool
work(struct side *sd)
{
	if (!engine_needs_work(sd->e))
		return false;
	engine_work(sd->e);
	note(sd, engine_resume(sd->e));
	return true;
}

/*
 * Plays a pause timer on a side with a partial message: fn is engine_quiet
 * (the short pause) or engine_stalled (the partial timeout), counted in
 * *fired. Returns whether that changed anything.
 */
static bool
play_pause(struct side *sd, int (*fn)(struct engine *), unsigned *fired)
{
	const uint8_t *p;
	size_t n;

	if (sd->err != 0 || !engine_partial(sd->e))
		return false;
	(*fired)++;
	note(sd, fn(sd->e));
	engine_output(sd->e, &p, &n);
	return sd->err != 0 || n > 0 || !engine_partial(sd->e) || engine_needs_work(sd->e);
}

/* Runs both engines until neither can move, like a transport with a quiet timer and a partial timeout. */
static void
pump(struct session *ss)
{
	bool moved;

	do {
		moved = deliver(&ss->c, &ss->s);
		moved |= deliver(&ss->s, &ss->c);
		moved |= work(&ss->c);
		moved |= work(&ss->s);
		if (!moved)
			moved = play_pause(&ss->s, engine_quiet, &ss->s.quiets) || play_pause(&ss->c, engine_quiet, &ss->c.quiets);
		if (!moved)
			moved = play_pause(&ss->s, engine_stalled, &ss->s.stalls) || play_pause(&ss->c, engine_stalled, &ss->c.stalls);
	} while (moved);
}

static void
expect_established(const struct session *ss)
{
	const struct seen *ck = &ss->c.ev[ENGINE_EV_KEY], *sk = &ss->s.ev[ENGINE_EV_KEY];

	assert_int_equal(ss->c.err, 0);
	assert_int_equal(ss->s.err, 0);
	assert_true(engine_ready(ss->c.e));
	assert_true(engine_established(ss->s.e));
	assert_int_equal(ck->count, 1);
	assert_int_equal(sk->count, 1);
	assert_int_equal(ck->len, SUITE_SHARED_KEY_LEN);
	assert_memory_equal(ck->text, sk->text, SUITE_SHARED_KEY_LEN);
	assert_int_equal(ck->key_len, sk->key_len);
	assert_memory_equal(ck->key, sk->key, ck->key_len);
	assert_int_equal(ck->iv_len, sk->iv_len);
	assert_memory_equal(ck->iv, sk->iv, ck->iv_len);
}

static struct session *
connect_configs(const struct engine_config *c, const struct engine_config *s)
{
	struct session *ss = open_session(c, s);

	pump(ss);
	expect_established(ss);
	return ss;
}

/* A session with default settings, pumped until the key is established. */
static struct session *
connect_specs(const char *client_spec, const char *server_spec)
{
	struct engine_config c = config(false, client_spec), s = config(true, server_spec);

	return connect_configs(&c, &s);
}

static void
expect_negotiated(const struct session *ss, const char *name, unsigned bits)
{
	assert_string_equal(suite_name(ss->c.ev[ENGINE_EV_NEGOTIATED].suite), name);
	assert_int_equal(ss->c.ev[ENGINE_EV_NEGOTIATED].bits, bits);
	assert_ptr_equal(ss->s.ev[ENGINE_EV_NEGOTIATED].suite, ss->c.ev[ENGINE_EV_NEGOTIATED].suite);
	assert_int_equal(ss->s.ev[ENGINE_EV_NEGOTIATED].bits, bits);
}

static void
expect_seen(const struct seen *s, const void *text, size_t n)
{
	assert_int_equal(s->len, n);
	assert_memory_equal(s->text, text, n);
}

/* The client's view of the last reply: its text (prefix + reversed) and status. */
static void
expect_reply(const struct side *c, const char *prefix, const void *reversed, size_t n, int status)
{
	const struct seen *r = &c->ev[ENGINE_EV_REPLY];
	size_t plen = strlen(prefix);

	assert_int_equal(r->status, status);
	assert_int_equal(r->len, plen + n);
	assert_memory_equal(r->text, prefix, plen);
	assert_memory_equal(r->text + plen, reversed, n);
}

/* Sends text from the client; the server must read it and the client must get the reversed text back. */
static void
exchange(struct session *ss, const void *text, size_t n, const void *reversed)
{
	unsigned messages = ss->s.ev[ENGINE_EV_MESSAGE].count, replies = ss->c.ev[ENGINE_EV_REPLY].count;

	assert_int_equal(engine_send(ss->c.e, text, n), 0);
	assert_false(engine_ready(ss->c.e));
	pump(ss);
	assert_int_equal(ss->c.err, 0);
	assert_int_equal(ss->s.err, 0);
	assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].count, messages + 1);
	expect_seen(&ss->s.ev[ENGINE_EV_MESSAGE], text, n);
	assert_int_equal(ss->c.ev[ENGINE_EV_REPLY].count, replies + 1);
	expect_reply(&ss->c, LAB_REPLY_PREFIX, reversed, n, 0);
	assert_true(engine_ready(ss->c.e));
}

/* exchange() for ASCII text, whose code points are its bytes. */
static void
exchange_ascii(struct session *ss, const void *text, size_t n)
{
	uint8_t *rev = malloc(n + 1);
	size_t i;

	assert_non_null(rev);
	for (i = 0; i < n; i++)
		rev[i] = ((const uint8_t *)text)[n - 1 - i];
	exchange(ss, text, n, rev);
	free(rev);
}

static void
exchange_str(struct session *ss, const char *text)
{
	exchange_ascii(ss, text, strlen(text));
}

/* n bytes of English text (never only hex digits). */
static const uint8_t *
prose(size_t n)
{
	static const char pattern[] = "The quick brown fox jumps over the lazy dog. ";
	static uint8_t text[ENGINE_MAX_MESSAGE * 2];
	size_t i;

	assert_true(n <= sizeof(text));
	for (i = 0; i < n; i++)
		text[i] = (uint8_t)pattern[i % (sizeof(pattern) - 1)];
	return text;
}

/* "DHMKE:" + value + end, the way a side sends its public value; free() it. */
static char *
dhmke(const char *value, const char *end)
{
	size_t n = strlen("DHMKE:") + strlen(value) + strlen(end) + 1;
	char *msg = malloc(n);

	assert_non_null(msg);
	snprintf(msg, n, "DHMKE:%s%s", value, end);
	return msg;
}

/* The first messages a side sent, each exactly. */
static void
expect_sent(const struct side *sd, const char *const *msgs, size_t n)
{
	size_t off = 0, i;

	assert_true(sd->nmsgs >= n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sd->msgs[i], strlen(msgs[i]));
		assert_memory_equal(sd->sent.data + off, msgs[i], sd->msgs[i]);
		off += sd->msgs[i];
	}
}

/* Takes everything a side has queued, as a transport would send it. */
static void
take_output(struct side *sd, struct buf *into)
{
	const uint8_t *p;
	size_t n;

	engine_output(sd->e, &p, &n);
	assert_int_equal(buf_append(into, p, n, SIZE_MAX), 0);
	engine_output_consume(sd->e, n);
}

static void
expect_no_output(const struct engine *e)
{
	const uint8_t *p;
	size_t n;

	engine_output(e, &p, &n);
	assert_int_equal(n, 0);
}

/* ---- Sessions that work ---- */

static void
test_every_suite(void **state)
{
	static const size_t lengths[] = { 0, 1, 15, 16, 17, 4000 };
	char spec[32];
	size_t i, j, k, sessions = 0;

	(void)state;
	for (i = 0; i < suite_count(); i++) {
		const struct suite *s = suite_at(i);

		for (j = 0; j < suite_size_count(s); j++, sessions++) {
			struct session *ss;

			snprintf(spec, sizeof(spec), "%s:%u", suite_name(s), suite_size_at(s, j));
			ss = connect_specs(spec, ALL_SPEC);
			expect_negotiated(ss, suite_name(s), suite_size_at(s, j));
			for (k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++)
				exchange_ascii(ss, prose(lengths[k]), lengths[k]);
			exchange(ss, UTF8_TEXT, strlen(UTF8_TEXT), UTF8_REVERSED);
			close_session(ss);
		}
	}
	assert_int_equal(sessions, 12);
}

static void
test_hmac_modes(void **state)
{
	static const enum record_hmac modes[] = { RECORD_HMAC_CUMULATIVE, RECORD_HMAC_PER_MESSAGE };
	static const char *const msgs[] = { "one", "two", "three" };
	size_t i, m;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
		struct session *ss;

		c.hmac = modes[i];
		ss = connect_configs(&c, &s);
		for (m = 0; m < 3; m++) {
			exchange_str(ss, msgs[m]);
			/* The first message verifies under both modes; the second tells them apart. */
			assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].hmac, m == 0 ? RECORD_HMAC_AUTO : modes[i]);
		}
		close_session(ss);
	}
}

/* docs/PROTOCOL.md, "A worked example": AES-256, byte for byte. */
static void
test_reference_wire(void **state)
{
	struct engine_config c = config(false, CAPTURE_SPEC), s = config(true, "AES:128,192,256");
	char *cdh = dhmke(vec_str(NULL, "client_public_dec"), "");
	char *sdh = dhmke(vec_str(NULL, "server_public_dec"), "");
	const char *client_msgs[] = { CAPTURE_WIRE, cdh };
	const char *server_msgs[] = { "ChosenCipher:AES,256", sdh, "Server says: olleh", "Server says: eyb" };
	const uint8_t *w1, *w2;
	size_t n1, n2, off;
	struct session *ss;

	(void)state;
	w1 = vec_hex("aes256", "wire1_hex", &n1);
	w2 = vec_hex("aes256", "wire2_cumulative_hex", &n2);
	ss = connect_configs(&c, &s);
	expect_negotiated(ss, "AES", 256);
	expect_seen(&ss->s.ev[ENGINE_EV_PROPOSAL], CAPTURE_WIRE, strlen(CAPTURE_WIRE));
	expect_seen(&ss->c.ev[ENGINE_EV_KEY], vec_str(NULL, "shared_key"), SUITE_SHARED_KEY_LEN);
	assert_bytes_str(ss->c.ev[ENGINE_EV_KEY].key, ss->c.ev[ENGINE_EV_KEY].key_len, vec_str("aes256", "key"));
	assert_bytes_str(ss->c.ev[ENGINE_EV_KEY].iv, ss->c.ev[ENGINE_EV_KEY].iv_len, vec_str("aes256", "iv"));
	exchange_str(ss, "hello");
	exchange_str(ss, "bye");

	assert_int_equal(strlen(CAPTURE_WIRE), 65);
	assert_int_equal(strlen(cdh), 2472);
	assert_int_equal(strlen(sdh), 2472);
	expect_sent(&ss->c, client_msgs, 2);
	expect_sent(&ss->s, server_msgs, 4);
	assert_int_equal(ss->c.nmsgs, 4);
	assert_int_equal(ss->s.nmsgs, 4);
	off = strlen(CAPTURE_WIRE) + strlen(cdh);
	assert_int_equal(ss->c.sent.len, off + n1 + n2);
	assert_memory_equal(ss->c.sent.data + off, w1, n1);
	assert_memory_equal(ss->c.sent.data + off + n1, w2, n2);
	close_session(ss);
	free(cdh);
	free(sdh);
}

/* A server that has answered a proposal for AES-256 and waits for the client's DHMKE. */
static struct engine *
server_at_dh(void)
{
	static const char proposal[] = "ProposedCiphers:AES:[256]\n";
	struct engine_config s = config(true, "AES:256");
	struct engine *e = NULL;

	assert_int_equal(engine_new(&s, NULL, NULL, &e), 0);
	assert_int_equal(engine_feed(e, (const uint8_t *)proposal, strlen(proposal)), 0);
	engine_output_consume(e, SIZE_MAX);
	return e;
}

/*
 * A short value that a digit could still extend (here 2^2 = 4) is cut short as
 * far as anyone can tell: a short pause does not end it, the partial timeout
 * does, and the engine says it was probably cut (an honest 4 is legal, and
 * the session works, but comes once in more than ten million).
 */
static void
test_short_dh_value(void **state)
{
	static const uint8_t two = 2;
	struct engine_config c = config(false, "AES:128"), s = config(true, "AES:128");
	struct engine *e = server_at_dh();
	struct session *ss;
	size_t digits = 0;

	(void)state;
	assert_int_equal(engine_feed(e, (const uint8_t *)"DHMKE:4", 7), 0);
	assert_false(engine_needs_work(e));
	assert_true(engine_partial(e));
	assert_int_equal(engine_quiet(e), 0);
	assert_false(engine_needs_work(e));
	assert_true(engine_partial(e));
	assert_false(engine_dh_cut(e, &digits));
	assert_int_equal(engine_stalled(e), 0);
	assert_true(engine_needs_work(e));
	assert_true(engine_dh_cut(e, &digits));
	assert_int_equal(digits, 1);
	engine_free(e);

	/* With a newline it is whole, and nothing suggests a cut. */
	e = server_at_dh();
	assert_int_equal(engine_feed(e, (const uint8_t *)"DHMKE:4\n", 8), 0);
	assert_true(engine_needs_work(e));
	assert_false(engine_dh_cut(e, &digits));
	engine_free(e);

	c.dh_private = &two;
	c.dh_private_len = 1;
	ss = connect_configs(&c, &s);
	expect_seen(&ss->s.ev[ENGINE_EV_DH_PEER], "4", 1);
	exchange_str(ss, "hello");
	close_session(ss);
}

static void
test_random_keys(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss;

	(void)state;
	c.dh_private = s.dh_private = NULL;
	ss = connect_configs(&c, &s);
	assert_false(ss->c.ev[ENGINE_EV_DH_LOCAL].len == strlen(vec_str(NULL, "client_public_dec")) &&
	    memcmp(ss->c.ev[ENGINE_EV_DH_LOCAL].text, vec_str(NULL, "client_public_dec"),
	    ss->c.ev[ENGINE_EV_DH_LOCAL].len) == 0);
	exchange_str(ss, "hello");
	close_session(ss);
}

/* ---- Framing ---- */

static void
test_byte_by_byte(void **state)
{
	struct engine_config c = config(false, CAPTURE_SPEC), s = config(true, ALL_SPEC);
	struct session *ss = open_session(&c, &s);

	(void)state;
	ss->s.chunk = 1;
	ss->c.chunk = 1;
	pump(ss);
	expect_established(ss);
	expect_negotiated(ss, "Blowfish", 448);
	exchange_str(ss, "hello");
	exchange_ascii(ss, prose(4000), 4000);
	exchange(ss, UTF8_TEXT, strlen(UTF8_TEXT), UTF8_REVERSED);
	exchange_str(ss, "");
	close_session(ss);
}

/* A proposal split right after a ']' is not over: more entries may follow. */
static void
test_split_proposal(void **state)
{
	static const char *const parts[] = { "ProposedCiphers:DES:[56]", ",AES:[128", ",256]" };
	struct engine_config s = config(true, ALL_SPEC);
	struct engine *e = NULL;
	const uint8_t *p;
	size_t n, i;

	(void)state;
	assert_int_equal(engine_new(&s, NULL, NULL, &e), 0);
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		assert_int_equal(engine_feed(e, (const uint8_t *)parts[i], strlen(parts[i])), 0);
	engine_output(e, &p, &n);
	if (n == 0) {
		assert_true(engine_partial(e));
		assert_int_equal(engine_quiet(e), 0);
		engine_output(e, &p, &n);
	}
	assert_bytes_str(p, n, "ChosenCipher:AES,256");
	engine_free(e);
}

static void
test_two_messages_in_one_feed(void **state)
{
	static const char reply1[] = "Server says: olleh";
	struct session *ss = connect_specs("AES:192", "AES:192");
	struct buf wire = { 0 }, replies = { 0 };

	(void)state;
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"hello", 5), 0);
	take_output(&ss->c, &wire);
	assert_int_equal(engine_feed(ss->c.e, (const uint8_t *)reply1, strlen(reply1)), 0);
	assert_true(engine_ready(ss->c.e));
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"world", 5), 0);
	take_output(&ss->c, &wire);
	assert_int_equal(wire.len, 160);

	assert_int_equal(engine_feed(ss->s.e, wire.data, wire.len), 0);
	assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].count, 2);
	expect_seen(&ss->s.ev[ENGINE_EV_MESSAGE], "world", 5);
	take_output(&ss->s, &replies);
	assert_bytes_str(replies.data, replies.len, "Server says: ollehServer says: dlrow");
	assert_false(engine_partial(ss->s.e));
	buf_clear(&wire);
	buf_clear(&replies);
	close_session(ss);
}

/*
 * Five 4000-byte messages pipelined into one feed: 20 KB, more than the
 * server's input cap, which engine_feed takes in pieces that fit, running
 * each before the next. All five are answered, in order.
 */
/*
 * A load generator seals with the lab session's record layer itself: before the
 * key there is none, after it the server takes what it seals like a message
 * from engine_send, the engine's own messages still follow on the chain, and
 * after a failure there is none again.
 */
static void
test_lab_record_borrowed(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss = open_session(&c, &s);
	const char *text = "sealed outside the engine";
	uint8_t wire[128];
	size_t n = strlen(text);
	struct record *rec;

	(void)state;
	assert_null(engine_lab_record(ss->c.e));
	pump(ss);
	expect_established(ss);
	assert_non_null(rec = engine_lab_record(ss->c.e));
	assert_true(record_wire_len(n) <= sizeof(wire));
	assert_int_equal(record_seal(rec, (const uint8_t *)text, n, wire), 0);
	feed(&ss->s, wire, record_wire_len(n));
	assert_int_equal(ss->s.err, 0);
	assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].count, 1);
	expect_seen(&ss->s.ev[ENGINE_EV_MESSAGE], text, n);
	take_output(&ss->s, &ss->s.sent);
	exchange_str(ss, "and then one through engine_send");
	/* A failed session lends nothing: its record may be out of step. */
	assert_int_not_equal(engine_feed(ss->c.e, (const uint8_t *)"x", 1), 0);
	assert_null(engine_lab_record(ss->c.e));
	close_session(ss);
}

static void
test_pipelined_large_messages(void **state)
{
	enum { N = 5, LEN = 4000, PREFIX = sizeof(LAB_REPLY_PREFIX) - 1 };
	struct session *ss = connect_specs("AES:256", "AES:256");
	struct buf wire = { 0 }, replies = { 0 }, reply = { 0 };
	uint8_t text[LEN], one[PREFIX + LEN];
	size_t i, k;

	(void)state;
	memcpy(one, LAB_REPLY_PREFIX, PREFIX);
	for (k = 0; k < N; k++) {
		/* Each message different, so that an answer out of order shows. */
		memcpy(text, prose(LEN), LEN);
		text[0] = (uint8_t)('0' + k);
		for (i = 0; i < LEN; i++)
			one[PREFIX + i] = text[LEN - 1 - i];
		assert_int_equal(engine_send(ss->c.e, text, LEN), 0);
		take_output(&ss->c, &wire);
		/* The client answered by hand, so that it may send the next one now. */
		assert_int_equal(engine_feed(ss->c.e, one, sizeof(one)), 0);
		assert_true(engine_ready(ss->c.e));
		assert_int_equal(buf_append(&reply, one, sizeof(one), SIZE_MAX), 0);
	}
	assert_int_equal(wire.len, N * (LEN + RECORD_TAG_LEN));
	assert_int_equal(engine_feed(ss->s.e, wire.data, wire.len), 0);
	assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].count, N);
	take_output(&ss->s, &replies);
	assert_int_equal(replies.len, reply.len);
	assert_memory_equal(replies.data, reply.data, reply.len);
	assert_false(engine_partial(ss->s.e));
	buf_clear(&wire);
	buf_clear(&replies);
	buf_clear(&reply);
	close_session(ss);
}

static void
test_newlines(void **state)
{
	static const struct {
		enum engine_newline client, server;
		const char *client_end, *server_end;
	} cases[] = {
		{ ENGINE_NEWLINE_ALWAYS, ENGINE_NEWLINE_MIRROR, "\n", "\n" },
		{ ENGINE_NEWLINE_NEVER, ENGINE_NEWLINE_MIRROR, "", "" },
		{ ENGINE_NEWLINE_NEVER, ENGINE_NEWLINE_ALWAYS, "", "\n" },
		{ ENGINE_NEWLINE_ALWAYS, ENGINE_NEWLINE_NEVER, "\n", "" },
	};
	char proposal[64], choice[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct engine_config c = config(false, "AES:256"), s = config(true, ALL_SPEC);
		char *cdh = dhmke(vec_str(NULL, "client_public_dec"), cases[i].client_end);
		char *sdh = dhmke(vec_str(NULL, "server_public_dec"), cases[i].server_end);
		const char *client_msgs[] = { proposal, cdh }, *server_msgs[] = { choice, sdh };
		struct session *ss;

		snprintf(proposal, sizeof(proposal), "ProposedCiphers:AES:[256]%s", cases[i].client_end);
		snprintf(choice, sizeof(choice), "ChosenCipher:AES,256%s", cases[i].server_end);
		c.newline = cases[i].client;
		s.newline = cases[i].server;
		ss = connect_configs(&c, &s);
		exchange_str(ss, "hello");
		expect_sent(&ss->c, client_msgs, 2);
		expect_sent(&ss->s, server_msgs, 2);
		close_session(ss);
		free(cdh);
		free(sdh);
	}
}

/*
 * The client takes a ChosenCipher as soon as no size it offered could continue
 * it. One that names nothing it offered is cut short or wrong: a short pause
 * does not end it, the partial timeout does (and fails it).
 */
static void
test_partial_choice(void **state)
{
	static const struct {
		const char *msg;
		bool complete;
		int err;
	} cases[] = {
		{ "ChosenCipher:AES,256", true, 0 },
		{ "ChosenCipher:AES:128\r\n", true, 0 },
		{ "ChosenCipher:AES,25", false, CVPN_ERR_BAD_CHOICE },
		{ "ChosenCipher:AES,1", false, CVPN_ERR_BAD_CHOICE },
		{ "ChosenCipher:AES,", false, CVPN_ERR_MALFORMED },
		{ "ChosenCipher:Blowfish,448", false, CVPN_ERR_BAD_CHOICE },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct engine_config c = config(false, "AES:128,192,256");
		struct engine *e = NULL;
		const char *msg = cases[i].msg;
		int r = 0;

		assert_int_equal(engine_new(&c, NULL, NULL, &e), 0);
		assert_int_equal(engine_start(e), 0);
		for (k = 0; msg[k] != '\0' && r == 0; k++)
			r = engine_feed(e, (const uint8_t *)msg + k, 1);
		if (r == 0 && !cases[i].complete) {
			assert_false(engine_needs_work(e));
			assert_true(engine_partial(e));
			assert_int_equal(engine_quiet(e), 0);
			assert_true(engine_partial(e));
			r = engine_stalled(e);
		}
		assert_int_equal(r, cases[i].err);
		assert_int_equal(engine_needs_work(e), cases[i].err == 0);
		engine_free(e);
	}
}

/* With None, hex-looking text is sent as is: a prefix of it must not pass for a bad tag. */
static void
test_none_hex_text_split(void **state)
{
	static const char text[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!";
	struct engine_config c = config(false, "None:128"), s = config(true, ALL_SPEC);
	struct session *ss = open_session(&c, &s);

	(void)state;
	ss->s.chunk = 1;
	pump(ss);
	expect_established(ss);
	exchange_str(ss, text);
	close_session(ss);
}

/* NULs at the ends of a message are padding to the server, so the reply leaves them out. */
static void
test_message_with_nuls(void **state)
{
	struct session *ss = connect_specs("AES:128", "AES:128");

	(void)state;
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"\0a\0bc\0", 6), 0);
	pump(ss);
	assert_int_equal(ss->s.err, 0);
	expect_seen(&ss->s.ev[ENGINE_EV_MESSAGE], "a\0bc", 4);
	expect_reply(&ss->c, LAB_REPLY_PREFIX, "cba", 3, 0); /* the reply's inner NUL is dropped */
	assert_true(engine_ready(ss->c.e));
	close_session(ss);
}


/* ---- Messages cut anywhere, with a short pause at the cut ---- */

/*
 * A lost segment comes back one retransmission timeout (200 ms or more)
 * later: the receiver sees a short pause at the cut. Each test below cuts a
 * message at every byte, pauses briefly there (engine_quiet), then delivers
 * the rest: the message must be read whole, except where the cut leaves one
 * that is plausibly whole, the documented limit of reading without framing.
 */

/* Feeds p[0..k), a short pause, then p[k..n) to sd's engine; returns whether the pause ended a message. */
static bool
feed_cut(struct side *sd, const char *p, size_t n, size_t k, enum engine_event_type ev)
{
	unsigned before = sd->ev[ev].count;
	bool ended;

	feed(sd, (const uint8_t *)p, k);
	assert_int_equal(sd->err, 0);
	note(sd, engine_quiet(sd->e));
	assert_int_equal(sd->err, 0);
	ended = sd->ev[ev].count > before;
	if (!ended)
		feed(sd, (const uint8_t *)p + k, n - k);
	return ended;
}

/* A server past the proposal (its choice taken), whose events land in sd. */
static void
server_side_at_dh(struct side *sd)
{
	static const char proposal[] = "ProposedCiphers:AES:[256]\n";
	struct engine_config s = config(true, "AES:256");

	memset(sd, 0, sizeof(*sd));
	assert_int_equal(engine_new(&s, on_event, sd, &sd->e), 0);
	feed(sd, (const uint8_t *)proposal, strlen(proposal));
	engine_output_consume(sd->e, SIZE_MAX);
}

static void
test_cut_dhmke(void **state)
{
	const char *y = vec_str(NULL, "client_public_dec");
	char *msg = dhmke(y, "");
	size_t n = strlen(msg), k, digits, cut;
	struct side sd;

	(void)state;
	for (k = 1; k < n; k++) {
		server_side_at_dh(&sd);
		digits = k > 6 ? k - 6 : 0;
		if (feed_cut(&sd, msg, n, k, ENGINE_EV_DH_PEER)) {
			/* Taken at the pause: only a value long enough to be whole. */
			assert_true(digits >= DH_PLAUSIBLE_DIGITS);
			expect_seen(&sd.ev[ENGINE_EV_DH_PEER], y, digits);
		} else {
			assert_true(digits < DH_PLAUSIBLE_DIGITS);
			assert_int_equal(sd.err, 0);
			expect_seen(&sd.ev[ENGINE_EV_DH_PEER], y, strlen(y));
			assert_false(engine_dh_cut(sd.e, &cut));
		}
		assert_true(engine_needs_work(sd.e));
		engine_free(sd.e);
	}
	free(msg);
}

static void
test_cut_proposal(void **state)
{
	static const char choice[] = "ChosenCipher:Blowfish,448";
	const char *msg = CAPTURE_WIRE;
	size_t n = strlen(msg), k;
	struct side sd;

	(void)state;
	for (k = 1; k < n; k++) {
		struct engine_config s = config(true, ALL_SPEC);

		memset(&sd, 0, sizeof(sd));
		assert_int_equal(engine_new(&s, on_event, &sd, &sd.e), 0);
		if (feed_cut(&sd, msg, n, k, ENGINE_EV_NEGOTIATED)) {
			/* Taken at the pause: only after a whole entry. */
			assert_int_equal(msg[k - 1], ']');
		} else {
			assert_int_equal(sd.err, 0);
			assert_true(msg[k - 1] != ']');
			note(&sd, engine_quiet(sd.e));
			expect_seen(&sd.ev[ENGINE_EV_NEGOTIATED], choice, strlen(choice));
		}
		engine_free(sd.e);
	}
}

static void
test_cut_choice(void **state)
{
	static const char *const choices[] = { "ChosenCipher:Blowfish,448", "ChosenCipher:DES,56", "ChosenCipher:AES,256" };
	size_t i, k, n;
	struct side sd;

	(void)state;
	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
		n = strlen(choices[i]);
		for (k = 1; k < n; k++) {
			struct engine_config c = config(false, ALL_SPEC);

			memset(&sd, 0, sizeof(sd));
			assert_int_equal(engine_new(&c, on_event, &sd, &sd.e), 0);
			assert_int_equal(engine_start(sd.e), 0);
			/* No cut of a choice is plausibly whole: no size the client offers begins another. */
			assert_false(feed_cut(&sd, choices[i], n, k, ENGINE_EV_NEGOTIATED));
			assert_int_equal(sd.err, 0);
			expect_seen(&sd.ev[ENGINE_EV_NEGOTIATED], choices[i], n);
			engine_free(sd.e);
		}
	}
}

/*
 * Cuts the reply to text at every byte, in a session whose server answers in
 * style: a cut inside the text waits for the rest; one among the padding's
 * NULs comes after a reply that was already whole.
 */
static void
cut_replies(enum engine_reply style, const char *text)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss;
	struct buf wire = { 0 }, reply = { 0 };
	size_t k, whole;

	s.reply = style;
	ss = connect_configs(&c, &s);
	for (k = 1;; k++) {
		unsigned replies = ss->c.ev[ENGINE_EV_REPLY].count;

		assert_int_equal(engine_send(ss->c.e, (const uint8_t *)text, strlen(text)), 0);
		take_output(&ss->c, &wire);
		feed(&ss->s, wire.data, wire.len);
		take_output(&ss->s, &reply);
		if (k >= reply.len)
			break;
		for (whole = reply.len; whole > 0 && reply.data[whole - 1] == 0; whole--)
			;
		assert_int_equal(feed_cut(&ss->c, (const char *)reply.data, reply.len, k, ENGINE_EV_REPLY), k >= whole);
		if (k >= whole)
			feed(&ss->c, reply.data + k, reply.len - k);
		assert_int_equal(ss->c.ev[ENGINE_EV_REPLY].count, replies + 1);
		assert_int_equal(ss->c.ev[ENGINE_EV_REPLY].status, 0);
		assert_true(engine_ready(ss->c.e));
		buf_reset(&wire);
		buf_reset(&reply);
	}
	buf_clear(&wire);
	buf_clear(&reply);
	close_session(ss);
}

static void
test_cut_reply(void **state)
{
	(void)state;
	cut_replies(ENGINE_REPLY_PLAIN, "cut anywhere, h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93");
	cut_replies(ENGINE_REPLY_BARE, "cut anywhere, h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93");
	cut_replies(ENGINE_REPLY_PADDED, "hello");
}

/* ---- Failures ---- */

static void
test_garbage_first_bytes(void **state)
{
	static const char *const garbage[] = { "GET / HTTP/1.1\r\n", "\x16\x03\x01", "X", "ProposedCipherz", "DHMKE:5" };
	size_t i, role;

	(void)state;
	for (role = 0; role < 2; role++) {
		for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
			struct engine_config cfg = config(role == 1, "AES:256");
			struct engine *e = NULL;

			assert_int_equal(engine_new(&cfg, NULL, NULL, &e), 0);
			assert_int_equal(engine_start(e), 0);
			engine_output_consume(e, SIZE_MAX);
			assert_int_equal(engine_feed(e, (const uint8_t *)garbage[i], strlen(garbage[i])),
			    CVPN_ERR_MALFORMED);
			expect_no_output(e);
			assert_false(engine_established(e));
			/* The phase still names where it failed, for the log line. */
			assert_string_equal(engine_phase(e), "negotiating the cipher");
			/* A dead engine stays dead. */
			assert_int_equal(engine_feed(e, (const uint8_t *)"x", 1), CVPN_ERR_MALFORMED);
			engine_free(e);
		}
	}
}

static void
test_no_common_cipher(void **state)
{
	struct engine_config c = config(false, "DES:56 Blowfish:112"), s = config(true, "AES:256 DES3:192");
	struct session *ss = open_session(&c, &s);

	(void)state;
	pump(ss);
	assert_int_equal(ss->s.err, CVPN_ERR_NO_COMMON);
	assert_int_equal(ss->s.nmsgs, 0); /* the server closes without a word */
	assert_int_equal(ss->c.err, 0);
	assert_false(engine_established(ss->c.e));
	close_session(ss);
}

/* Feeds a server a proposal and then a DHMKE; returns the error, pausing (briefly, then long) if needed. */
static int
server_dhmke(const char *msg)
{
	struct engine *e = server_at_dh();
	int r;

	if ((r = engine_feed(e, (const uint8_t *)msg, strlen(msg))) == 0 && engine_partial(e))
		r = engine_quiet(e);
	if (r == 0 && engine_partial(e))
		r = engine_stalled(e);
	assert_false(engine_needs_work(e));
	expect_no_output(e);
	engine_free(e);
	return r;
}

static void
test_bad_dh_values(void **state)
{
	char *p = prime_plus(0), *p_minus_1 = prime_plus(-1);
	const struct {
		const char *value;
		int err;
	} cases[] = {
		{ "0", CVPN_ERR_DH_RANGE },
		{ "1", CVPN_ERR_DH_RANGE },
		{ p_minus_1, CVPN_ERR_DH_RANGE },
		{ p, CVPN_ERR_DH_RANGE },
		{ "01", CVPN_ERR_DH_FORMAT },
		{ "12a", CVPN_ERR_MALFORMED },
		{ "-5", CVPN_ERR_MALFORMED },
		{ "", CVPN_ERR_MALFORMED },
	};
	char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msg = dhmke(cases[i].value, "");
		if (server_dhmke(msg) != cases[i].err)
			fail_msg("DHMKE:%.20s: expected %s", cases[i].value, cvpn_errname(cases[i].err));
		free(msg);
	}
	OPENSSL_free(p);
	OPENSSL_free(p_minus_1);
}

static void
test_bad_dh_value_from_server(void **state)
{
	struct engine_config c = config(false, "AES:256");
	char *p_minus_1 = prime_plus(-1), *msg = dhmke(p_minus_1, "");
	struct session *ss = calloc(1, sizeof(*ss));
	const char *choice = "ChosenCipher:AES,256";

	(void)state;
	assert_non_null(ss);
	assert_int_equal(engine_new(&c, on_event, &ss->c, &ss->c.e), 0);
	assert_int_equal(engine_start(ss->c.e), 0);
	feed(&ss->c, (const uint8_t *)choice, strlen(choice));
	assert_true(work(&ss->c));
	feed(&ss->c, (const uint8_t *)msg, strlen(msg));
	assert_int_equal(ss->c.err, CVPN_ERR_DH_RANGE);
	assert_int_equal(ss->c.ev[ENGINE_EV_KEY].count, 0);
	assert_false(engine_needs_work(ss->c.e));
	close_session(ss);
	free(msg);
	OPENSSL_free(p_minus_1);
}

static void
test_tampered_message(void **state)
{
	/* "hello" is 16 bytes of ciphertext and 64 of tag. */
	static const size_t offsets[] = { 0, 15, 16, 79 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct session *ss = connect_specs("AES:256", "AES:256");
		struct buf wire = { 0 };
		uint8_t *b;

		assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"hello", 5), 0);
		take_output(&ss->c, &wire);
		assert_int_equal(wire.len, 80);
		/* A bit flip in the ciphertext, or a tag digit turned into another digit. */
		b = &wire.data[offsets[i]];
		if (offsets[i] < 16)
			*b ^= 0x01;
		else
			*b = *b == '0' ? '1' : '0';
		assert_int_equal(engine_feed(ss->s.e, wire.data, wire.len), CVPN_ERR_BAD_TAG);
		assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].count, 0);
		expect_no_output(ss->s.e);
		buf_clear(&wire);
		close_session(ss);
	}
}

static void
test_oversized_message(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss;

	(void)state;
	c.max_message = 2 * ENGINE_MAX_MESSAGE;
	ss = connect_configs(&c, &s);
	exchange_ascii(ss, prose(4032), 4032); /* 4096 bytes on the wire: the limit */
	assert_int_equal(engine_send(ss->c.e, prose(5000), 5000), 0);
	pump(ss);
	assert_int_equal(ss->s.err, CVPN_ERR_TOO_LONG);
	assert_int_equal(ss->s.ev[ENGINE_EV_MESSAGE].count, 1);
	close_session(ss);
}

static void
test_oversized_handshake(void **state)
{
	struct engine_config s = config(true, "AES:256");
	struct engine *e = NULL;
	struct buf msg = { 0 };
	int r = 0;

	(void)state;
	assert_int_equal(engine_new(&s, NULL, NULL, &e), 0);
	assert_int_equal(buf_append(&msg, "ProposedCiphers:AES:[", 21, SIZE_MAX), 0);
	while (msg.len <= ENGINE_MAX_MESSAGE)
		assert_int_equal(buf_append(&msg, "128,", 4, SIZE_MAX), 0);
	r = engine_feed(e, msg.data, msg.len);
	assert_int_equal(r, CVPN_ERR_TOO_LONG);
	buf_clear(&msg);
	engine_free(e);
}

static void
test_send_limits(void **state)
{
	struct session *ss = connect_specs("AES:256", "AES:256");

	(void)state;
	assert_int_equal(engine_send(ss->c.e, prose(4033), 4033), CVPN_ERR_MSG_TOO_LONG);
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"\xc3\x28", 2), CVPN_ERR_BAD_UTF8);
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"ok\xed\xa0\x80", 5), CVPN_ERR_BAD_UTF8);
	expect_no_output(ss->c.e);
	assert_true(engine_ready(ss->c.e));
	exchange_str(ss, "still here");
	assert_int_equal(engine_send(ss->s.e, (const uint8_t *)"x", 1), CVPN_ERR_STATE);
	close_session(ss);
}

static void
test_send_states(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss = open_session(&c, &s);

	(void)state;
	assert_string_equal(engine_phase(ss->c.e), "negotiating the cipher");
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"x", 1), CVPN_ERR_STATE);
	assert_int_equal(engine_start(ss->c.e), CVPN_ERR_STATE);
	pump(ss);
	assert_string_equal(engine_phase(ss->c.e), "exchanging messages");
	assert_string_equal(engine_phase(ss->s.e), "exchanging messages");
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"x", 1), 0);
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"y", 1), CVPN_ERR_STATE);
	assert_false(engine_ready(ss->c.e));
	assert_true(engine_established(ss->c.e));
	pump(ss);
	assert_true(engine_ready(ss->c.e));
	close_session(ss);
}

static void
test_reply_modes(void **state)
{
	static const struct {
		enum engine_reply mode;
		size_t wire_len;
		const char *prefix;
		bool bare;
	} cases[] = {
		{ ENGINE_REPLY_PLAIN, 18, LAB_REPLY_PREFIX, false },
		{ ENGINE_REPLY_PADDED, 29, LAB_REPLY_PREFIX, false }, /* as in the capture: 11 NULs */
		{ ENGINE_REPLY_BARE, 5, "", true },                     /* the 2025 student solution */
	};
	size_t i, chunk;

	(void)state;
	/* Every style is the expected reply, taken as soon as it is whole, however it is cut. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (chunk = 0; chunk <= cases[i].wire_len; chunk++) {
			struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
			struct session *ss;
			unsigned quiets;

			s.reply = cases[i].mode;
			ss = connect_configs(&c, &s);
			quiets = ss->c.quiets;
			ss->c.chunk = chunk;
			assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"hello", 5), 0);
			pump(ss);
			assert_int_equal(ss->c.err, 0);
			assert_int_equal(ss->s.msgs[ss->s.nmsgs - 1], cases[i].wire_len);
			expect_reply(&ss->c, cases[i].prefix, "olleh", 5, 0);
			assert_int_equal(ss->c.ev[ENGINE_EV_REPLY].bare, cases[i].bare);
			assert_int_equal(ss->c.quiets, quiets);
			assert_true(engine_ready(ss->c.e));
			close_session(ss);
		}
	}
}

/*
 * A bare reply that is also the start of the prefixed one ("S" is the start
 * of "Server says: S") cannot be told apart until the server pauses: it is
 * taken then, as the expected reply.
 */
static void
test_bare_reply_ambiguous(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss;
	unsigned quiets;

	(void)state;
	s.reply = ENGINE_REPLY_BARE;
	ss = connect_configs(&c, &s);
	quiets = ss->c.quiets;
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"S", 1), 0);
	pump(ss);
	assert_int_equal(ss->c.err, 0);
	expect_reply(&ss->c, "", "S", 1, 0);
	assert_true(ss->c.ev[ENGINE_EV_REPLY].bare);
	assert_int_equal(ss->c.quiets, quiets + 1);
	/* The next message is answered at once again. */
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"hi", 2), 0);
	pump(ss);
	assert_int_equal(ss->c.err, 0);
	expect_reply(&ss->c, "", "ih", 2, 0);
	assert_int_equal(ss->c.quiets, quiets + 1);
	close_session(ss);
}

/* A reply other than the expected one is reported once the server pauses; the session goes on. */
static void
test_bad_reply(void **state)
{
	static const char nope[] = "Server says: nope";
	struct session *ss = connect_specs("AES:256", "AES:256");
	struct buf wire = { 0 };

	(void)state;
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"hello", 5), 0);
	take_output(&ss->c, &wire);
	assert_int_equal(engine_feed(ss->s.e, wire.data, wire.len), 0);
	engine_output_consume(ss->s.e, SIZE_MAX);
	assert_int_equal(engine_feed(ss->c.e, (const uint8_t *)nope, strlen(nope)), 0);
	assert_int_equal(ss->c.ev[ENGINE_EV_REPLY].count, 0);
	assert_true(engine_partial(ss->c.e));
	assert_int_equal(engine_quiet(ss->c.e), 0);
	expect_seen(&ss->c.ev[ENGINE_EV_REPLY], nope, strlen(nope));
	assert_int_equal(ss->c.ev[ENGINE_EV_REPLY].status, CVPN_ERR_BAD_REPLY);
	assert_true(engine_ready(ss->c.e));
	exchange_str(ss, "again");
	buf_clear(&wire);
	close_session(ss);
}

/* A reply that is not the expected one cannot grow past the data limit and its slack. */
static void
test_oversized_reply(void **state)
{
	struct session *ss = connect_specs("AES:256", "AES:256");
	uint8_t junk[ENGINE_MAX_MESSAGE + 100];

	(void)state;
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"hello", 5), 0);
	engine_output_consume(ss->c.e, SIZE_MAX);
	assert_int_equal(engine_feed(ss->c.e, junk, ENGINE_MAX_MESSAGE), 0);
	assert_int_equal(engine_feed(ss->c.e, junk, 100), CVPN_ERR_TOO_LONG);
	close_session(ss);
}

static void
test_unexpected_data(void **state)
{
	static const uint8_t nuls[3] = { 0 };
	struct session *ss = connect_specs("AES:256", "AES:256");

	(void)state;
	exchange_str(ss, "hello");
	assert_int_equal(engine_feed(ss->c.e, nuls, sizeof(nuls)), 0); /* stray padding is fine */
	assert_true(engine_ready(ss->c.e));
	assert_int_equal(engine_feed(ss->c.e, (const uint8_t *)"x", 1), CVPN_ERR_UNEXPECTED);
	assert_false(engine_established(ss->c.e));
	assert_int_equal(engine_send(ss->c.e, (const uint8_t *)"y", 1), CVPN_ERR_UNEXPECTED);
	close_session(ss);
}

static void
test_new_invalid(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct engine *e = NULL;

	(void)state;
	c.newline = ENGINE_NEWLINE_MIRROR;
	assert_int_equal(engine_new(&c, NULL, NULL, &e), CVPN_ERR_INVALID_ARG);
	s.ciphers.n = 0;
	assert_int_equal(engine_new(&s, NULL, NULL, &e), CVPN_ERR_INVALID_ARG);
	assert_null(e);
	engine_free(NULL);
}

/* Zero bytes, or a pause, before anything arrived: nothing happens (UBSan checks the empty buffer). */
static void
test_empty_input(void **state)
{
	struct engine_config c = config(false, "AES:256"), s = config(true, "AES:256");
	struct session *ss = open_session(&c, &s);
	static const uint8_t none[1];

	(void)state;
	assert_int_equal(engine_feed(ss->s.e, none, 0), 0);
	assert_int_equal(engine_quiet(ss->s.e), 0);
	/* The client has sent its proposal and waits for the choice. */
	assert_int_equal(engine_feed(ss->c.e, none, 0), 0);
	assert_int_equal(engine_quiet(ss->c.e), 0);
	pump(ss);
	expect_established(ss);
	close_session(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_suite),
		cmocka_unit_test(test_hmac_modes),
		cmocka_unit_test(test_reference_wire),
		cmocka_unit_test(test_short_dh_value),
		cmocka_unit_test(test_random_keys),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_split_proposal),
		cmocka_unit_test(test_two_messages_in_one_feed),
		cmocka_unit_test(test_lab_record_borrowed),
		cmocka_unit_test(test_pipelined_large_messages),
		cmocka_unit_test(test_newlines),
		cmocka_unit_test(test_partial_choice),
		cmocka_unit_test(test_none_hex_text_split),
		cmocka_unit_test(test_message_with_nuls),
		cmocka_unit_test(test_garbage_first_bytes),
		cmocka_unit_test(test_no_common_cipher),
		cmocka_unit_test(test_bad_dh_values),
		cmocka_unit_test(test_bad_dh_value_from_server),
		cmocka_unit_test(test_tampered_message),
		cmocka_unit_test(test_oversized_message),
		cmocka_unit_test(test_oversized_handshake),
		cmocka_unit_test(test_send_limits),
		cmocka_unit_test(test_send_states),
		cmocka_unit_test(test_reply_modes),
		cmocka_unit_test(test_cut_dhmke),
		cmocka_unit_test(test_cut_proposal),
		cmocka_unit_test(test_cut_choice),
		cmocka_unit_test(test_cut_reply),
		cmocka_unit_test(test_bare_reply_ambiguous),
		cmocka_unit_test(test_bad_reply),
		cmocka_unit_test(test_oversized_reply),
		cmocka_unit_test(test_unexpected_data),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_empty_input),
	};

	return cmocka_run_group_tests_name("engine", tests, unit_setup, NULL);
}
