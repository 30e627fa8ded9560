/* SPDX-License-Identifier: MIT */
/* The secure profile's client: the hellos, handshake message 1 and 2, messages and their replies, CLOSE. */
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "keys.h"
#include "noise.h"
#include "replay.h"
#include "secure.h"

static int send_early_message1(struct engine *e);

static int
start(struct engine *e)
{
	const struct secure_config *sc = &e->cfg.secure;
	struct secure_state *sec = &e->p.sec;
	uint8_t hello[SECURE_CLIENT_HELLO_MAX], pub[KEYS_LEN];
	size_t i, n;
	int r;

	if (sc->nsuites == 0 || sc->nsuites > SECURE_MAX_SUITES)
		return CVPN_ERR_INVALID_ARG;
	sec->mode = sc->server_pub_set ? SECURE_MODE_KEY : SECURE_MODE_PSK;
	if (sec->mode == SECURE_MODE_PSK && !sc->has_psk)
		return CVPN_ERR_INVALID_ARG;
	if (sec->mode == SECURE_MODE_KEY) {
		memcpy(sec->server_pub, sc->server_pub, KEYS_LEN);
		/* Without a key of its own the client is anonymous: a fresh static key per session. */
		if (sc->static_priv_set)
			memcpy(sec->client_static, sc->static_priv, KEYS_LEN);
		else if ((r = noise_keypair_generate(sec->client_static, pub)) != 0)
			return r;
	}
	n = sc->stealth ? 1 : sc->nsuites;
	memcpy(hello, SECURE_MAGIC, SECURE_MAGIC_LEN);
	hello[SECURE_HELLO_VERSION] = SECURE_VERSION;
	hello[SECURE_HELLO_MODE] = (uint8_t)sec->mode;
	hello[SECURE_HELLO_COUNT] = (uint8_t)n;
	for (i = 0; i < n; i++)
		hello[SECURE_CLIENT_HELLO_MIN + i] = secure_wire_suite_code(sc->suites[i]);
	if ((r = buf_append(&sec->hello, hello, SECURE_CLIENT_HELLO_MIN + n, sizeof(hello))) != 0 ||
	    (r = engine_queue(e, hello, SECURE_CLIENT_HELLO_MIN + n)) != 0)
		return r;
	sec->state.client = SEC_C_WAIT_HELLO;
	return sc->stealth ? send_early_message1(e) : 0;
}

/* Checks the ServerHello: our magic, version and mode, and a suite we offered. */
static int
check_server_hello(struct engine *e, const uint8_t *sh)
{
	struct secure_state *sec = &e->p.sec;
	bool offered = false;
	size_t i;

	if (memcmp(sh, SECURE_MAGIC, SECURE_MAGIC_LEN) != 0 || sh[SECURE_HELLO_VERSION] != SECURE_VERSION ||
	    sh[SECURE_HELLO_MODE] != sec->mode)
		return CVPN_ERR_MALFORMED;
	if (!secure_wire_code_suite(sh[SECURE_HELLO_SUITE], &sec->aead))
		return CVPN_ERR_BAD_CHOICE;
	for (i = 0; i < e->cfg.secure.nsuites; i++)
		offered |= e->cfg.secure.suites[i] == sec->aead;
	return offered ? 0 : CVPN_ERR_BAD_CHOICE;
}

/* Message 1, with our clock as its payload (so that the server can refuse a copy) and mac1. */
static int
send_message1(struct engine *e)
{
	uint8_t msg[SECURE_MAX_HANDSHAKE], key[NOISE_HASH_LEN], tag[NOISE_HASH_LEN], stamp[SECURE_TIMESTAMP_LEN];
	size_t n;
	int r;

	replay_tai64n((e->cfg.secure.clock ? e->cfg.secure.clock : replay_wall_clock)(), stamp);
	if ((r = noise_handshake_write(e->p.sec.hs, stamp, sizeof(stamp), msg, sizeof(msg) - SECURE_MAC1_LEN, &n)) == 0 &&
	    (r = secure_mac1_key(e, key)) == 0 && (r = noise_hmac(key, sizeof(key), msg, n, tag)) == 0) {
		memcpy(msg + n, tag, SECURE_MAC1_LEN);
		r = secure_queue_frame(e, msg, n + SECURE_MAC1_LEN);
	}
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

/*
 * Stealth: message 1 right after our hello, bound to the ServerHello a server
 * answers our one suite with, so that a server that says nothing before
 * message 1 proves us can check it; a server that answers at once is the same.
 */
static int
send_early_message1(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;
	uint8_t sh[SECURE_SERVER_HELLO_LEN];
	int r;

	sec->aead = e->cfg.secure.suites[0];
	memcpy(sh, SECURE_MAGIC, SECURE_MAGIC_LEN);
	sh[SECURE_HELLO_VERSION] = SECURE_VERSION;
	sh[SECURE_HELLO_MODE] = (uint8_t)sec->mode;
	sh[SECURE_HELLO_SUITE] = secure_wire_suite_code(sec->aead);
	if ((r = secure_start_handshake(e, sec->hello.data, sec->hello.len, sh, sizeof(sh))) != 0)
		return r;
	return send_message1(e);
}

static int
read_server_hello(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;
	const uint8_t *sh = e->in.data;
	int r;

	if (e->in.len == 0)
		return 0; /* nothing yet (and sh may be NULL) */
	if (e->in.len < SECURE_SERVER_HELLO_LEN)
		return memcmp(sh, SECURE_MAGIC, e->in.len < SECURE_MAGIC_LEN ? e->in.len : SECURE_MAGIC_LEN) == 0 ?
		    0 : CVPN_ERR_MALFORMED;
	/* Stealth: message 1 went out bound to the hello we expected; the server's must be that one. */
	if ((r = check_server_hello(e, sh)) != 0 || (!e->cfg.secure.stealth &&
	    (r = secure_start_handshake(e, sec->hello.data, sec->hello.len, sh, SECURE_SERVER_HELLO_LEN)) != 0))
		return r;
	buf_consume(&e->in, SECURE_SERVER_HELLO_LEN);
	secure_emit_text(e, ENGINE_EV_NEGOTIATED, sec->protocol, strlen(sec->protocol));
	if (!e->cfg.secure.stealth && (r = send_message1(e)) != 0)
		return r;
	sec->state.client = SEC_C_WAIT_MSG2;
	return 1;
}

static int
read_message2(struct engine *e)
{
	const uint8_t *body;
	uint8_t payload[64];
	size_t n, plen;
	int r;

	if ((r = secure_take_frame(e, SECURE_MAX_HANDSHAKE, &body, &n)) <= 0)
		return r;
	/* A server with other keys, or a hello changed in transit, fails here. */
	if (noise_handshake_read(e->p.sec.hs, body, n, payload, sizeof(payload), &plen) != 0)
		return CVPN_ERR_HANDSHAKE;
	buf_consume(&e->in, 2 + n);
	if ((r = secure_finish_handshake(e)) != 0)
		return r;
	e->p.sec.state.client = SEC_C_READY;
	return 1;
}

/*
 * A record the server sent: a reply to our message, its CLOSE (the answer to
 * ours, or its own end of the session first: its idle timeout, its
 * shutdown), or a failure. After CLOSE nothing may follow.
 */
static int
take_record(struct engine *e, int type, const uint8_t *pt, size_t len)
{
	struct engine_event ev = { .type = ENGINE_EV_REPLY };
	struct secure_state *sec = &e->p.sec;

	if (type == SECREC_REPLY && sec->state.client == SEC_C_WAIT_REPLY) {
		ev.text = pt;
		ev.text_len = len;
		ev.status = (len == e->expect.len && memcmp(pt, e->expect.data, len) == 0) ? 0 : CVPN_ERR_BAD_REPLY;
		secure_emit(e, &ev);
		sec->state.client = SEC_C_READY;
		return 1;
	}
	if (type == SECREC_CLOSE) {
		sec->state.client = SEC_C_CLOSED;
		return 1;
	}
	/* Channels run beside the messages, and until the server's CLOSE answers ours. */
	if (chan_is_type(type))
		return secure_take_channel(e, type, pt, len, false);
	if (secure_is_tunnel(type))
		return secure_take_tunnel(e, type, pt, len, false);
	/* ERROR: the server refused what we sent. Anything else, out of turn or unknown: one generic failure. */
	return type == SECREC_ERROR ? CVPN_ERR_REFUSED : CVPN_ERR_DECRYPT;
}

static int
read_records(struct engine *e)
{
	const uint8_t *pt;
	size_t len, frame;
	int type, r;

	if ((r = secure_read_record(e, &type, &pt, &len, &frame)) <= 0)
		return r;
	if ((r = secure_common_record(e, type)) == 0)
		r = take_record(e, type, pt, len);
	secure_release_record(e, frame);
	return r;
}

static int
step(struct engine *e)
{
	switch (e->p.sec.state.client) {
	case SEC_C_WAIT_HELLO:
		return read_server_hello(e);
	case SEC_C_WAIT_MSG2:
		return read_message2(e);
	case SEC_C_CLOSED:
		return e->in.len ? CVPN_ERR_UNEXPECTED : 0;
	case SEC_C_START:
		return 0;
	default:
		return read_records(e);
	}
}

static int
send_message(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_SENT };
	int r;

	if (n > ENGINE_MAX_MESSAGE)
		return CVPN_ERR_MSG_TOO_LONG;
	if ((r = engine_expect_reply(e, text, n, false)) != 0 ||
	    (r = secure_send_record(e, SECREC_DATA, text, n)) != 0)
		return r;
	ev.text = text;
	ev.text_len = n;
	secure_emit(e, &ev);
	e->p.sec.state.client = SEC_C_WAIT_REPLY;
	return 0;
}

static int
close_session(struct engine *e)
{
	int r;

	if (e->p.sec.state.client != SEC_C_READY)
		return CVPN_ERR_STATE;
	if ((r = secure_send_record(e, SECREC_CLOSE, NULL, 0)) != 0)
		return r;
	e->p.sec.state.client = SEC_C_CLOSING;
	return 0;
}

static bool
partial(const struct engine *e)
{
	return e->p.sec.state.client != SEC_C_START && e->p.sec.state.client != SEC_C_CLOSED && e->in.len > 0;
}

static bool
established(const struct engine *e)
{
	return e->p.sec.state.client >= SEC_C_READY;
}

static bool
ready(const struct engine *e)
{
	return e->p.sec.state.client == SEC_C_READY;
}

static bool
closed(const struct engine *e)
{
	return e->p.sec.state.client == SEC_C_CLOSED;
}

static enum phase
phase(const struct engine *e)
{
	switch (e->p.sec.state.client) {
	case SEC_C_START:
	case SEC_C_WAIT_HELLO:
		return PHASE_CIPHER;
	case SEC_C_WAIT_MSG2:
		return PHASE_KEY;
	case SEC_C_READY:
	case SEC_C_WAIT_REPLY:
		return PHASE_MESSAGES;
	default:
		return PHASE_CLOSING;
	}
}

static bool
carries_channels(const struct engine *e)
{
	return e->p.sec.state.client == SEC_C_READY || e->p.sec.state.client == SEC_C_WAIT_REPLY;
}

static int
send_channel(struct engine *e, const struct chan_msg *m)
{
	return secure_send_channel(e, m, true);
}

static int
send_tunnel(struct engine *e, int type, const uint8_t *p, size_t n)
{
	return secure_send_tunnel(e, type, p, n, true);
}

const struct engine_ops secure_client_ops = {
	.secure = true,
	.start = start,
	.step = step,
	.send = send_message,
	.close = close_session,
	.rekey = secure_rekey,
	.carries_channels = carries_channels,
	.send_channel = send_channel,
	.send_tunnel = send_tunnel,
	.keepalive = secure_keepalive,
	.partial = partial,
	.established = established,
	.ready = ready,
	.closed = closed,
	.phase = phase,
	.free = secure_free,
};
