/* SPDX-License-Identifier: MIT */
/*
 * The secure profile's server: the hellos, handshake message 1 (checked
 * before any Diffie-Hellman where it can be: mac1, a replayed ephemeral),
 * message 2 in the work step, records answered with replies, and CLOSE: the
 * client's answered, or ours first when the server ends the session.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "keys.h"
#include "noise.h"
#include "replay.h"
#include "secure.h"
#include "text.h"

/* Picks the first suite of ours that the client offered. */
static int
pick_suite(const struct engine *e, const uint8_t *offered, size_t n, enum aead_cipher *out)
{
	enum aead_cipher c;
	size_t i, j;

	for (i = 0; i < e->cfg.secure.nsuites; i++)
		for (j = 0; j < n; j++)
			if (secure_wire_code_suite(offered[j], &c) && c == e->cfg.secure.suites[i]) {
				*out = c;
				return 0;
			}
	return CVPN_ERR_NO_SUITE;
}

/* Whether we serve the mode the client asked for. */
static int
check_mode(const struct engine *e)
{
	const struct secure_config *sc = &e->cfg.secure;
	int mode = e->p.sec.mode;

	if ((mode == SECURE_MODE_KEY && !sc->static_priv_set) || (mode == SECURE_MODE_PSK && !sc->has_psk))
		return CVPN_ERR_NO_SUITE;
	/* The list of clients is a gate in every mode: psk mode has no client key to show it. */
	if (mode == SECURE_MODE_PSK && sc->authorized != NULL)
		return CVPN_ERR_PSK_NO_KEY;
	return 0;
}

static int
read_client_hello(struct engine *e)
{
	const struct secure_config *sc = &e->cfg.secure;
	struct secure_state *sec = &e->p.sec;
	const uint8_t *ch = e->in.data;
	uint8_t sh[SECURE_SERVER_HELLO_LEN];
	size_t n;
	int r;

	if (e->in.len < SECURE_CLIENT_HELLO_MIN)
		return 0;
	n = ch[SECURE_HELLO_COUNT];
	if (ch[SECURE_HELLO_VERSION] != SECURE_VERSION ||
	    (ch[SECURE_HELLO_MODE] != SECURE_MODE_KEY && ch[SECURE_HELLO_MODE] != SECURE_MODE_PSK) || n == 0 ||
	    n > SECURE_MAX_SUITES)
		return CVPN_ERR_MALFORMED;
	if (e->in.len < SECURE_CLIENT_HELLO_MIN + n)
		return 0;
	sec->mode = ch[SECURE_HELLO_MODE];
	if ((r = check_mode(e)) != 0 || (r = pick_suite(e, ch + SECURE_CLIENT_HELLO_MIN, n, &sec->aead)) != 0)
		return r;
	if (sec->mode == SECURE_MODE_KEY && (r = noise_public_key(sc->static_priv, sec->server_pub)) != 0)
		return r;
	memcpy(sh, SECURE_MAGIC, SECURE_MAGIC_LEN);
	sh[SECURE_HELLO_VERSION] = SECURE_VERSION;
	sh[SECURE_HELLO_MODE] = (uint8_t)sec->mode;
	sh[SECURE_HELLO_SUITE] = secure_wire_suite_code(sec->aead);
	/* Stealth: the hello waits for message 1 to prove the client; nothing goes out before. */
	if ((r = secure_start_handshake(e, ch, SECURE_CLIENT_HELLO_MIN + n, sh, sizeof(sh))) != 0 ||
	    (r = sc->stealth ? buf_append(&sec->hello, sh, sizeof(sh), sizeof(sh)) : engine_queue(e, sh, sizeof(sh))) != 0)
		return r;
	buf_consume(&e->in, SECURE_CLIENT_HELLO_MIN + n);
	secure_emit_text(e, ENGINE_EV_NEGOTIATED, sec->protocol, strlen(sec->protocol));
	sec->state.server = SEC_S_WAIT_MSG1;
	return 1;
}

/*
 * mac1 first: junk costs us one HMAC, never a Diffie-Hellman. Then a copy of
 * a first message we accepted is refused by its ephemeral key (its first 32
 * bytes, in clear), before any Diffie-Hellman too.
 */
static int
check_message1(struct engine *e, const uint8_t *body, size_t n)
{
	uint8_t key[NOISE_HASH_LEN];
	int r;

	if (n < SECURE_MAC1_LEN)
		return CVPN_ERR_MALFORMED;
	if ((r = secure_mac1_key(e, key)) == 0)
		r = noise_hmac_verify(key, sizeof(key), body, n - SECURE_MAC1_LEN, body + n - SECURE_MAC1_LEN,
		    SECURE_MAC1_LEN);
	OPENSSL_cleanse(key, sizeof(key));
	if (r != 0)
		return r == CVPN_ERR_BAD_TAG ? CVPN_ERR_BAD_MAC1 : r;
	if (n - SECURE_MAC1_LEN < NOISE_DH_LEN)
		return CVPN_ERR_MALFORMED;
	if (e->cfg.secure.replay && replay_seen(e->cfg.secure.replay, body))
		return CVPN_ERR_REPLAY;
	return 0;
}

static int
read_message1(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;
	const uint8_t *body;
	size_t n;
	int r;

	if ((r = secure_take_frame(e, SECURE_MAX_HANDSHAKE, &body, &n)) <= 0)
		return r;
	if ((r = check_message1(e, body, n)) != 0)
		return r;
	/*
	 * The Diffie-Hellman of both messages is the work step: the server runs
	 * it off its event loop, as it does the lab's, so that a flood of
	 * handshakes never delays the sessions already established.
	 */
	if (n - SECURE_MAC1_LEN > sizeof(sec->hs_msg))
		return CVPN_ERR_MALFORMED;
	memcpy(sec->hs_msg, body, n - SECURE_MAC1_LEN);
	sec->hs_msg_len = n - SECURE_MAC1_LEN;
	buf_consume(&e->in, 2 + n);
	sec->state.server = SEC_S_WORK;
	return 1;
}

/*
 * Reads message 1 and writes message 2. What decides to refuse a client (its
 * key, its timestamp) is read first, so that it costs no more Diffie-Hellman:
 * none in psk mode, the two that reveal the key and the payload in key mode.
 */
static int
work(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;
	uint8_t payload[64], rs[NOISE_DH_LEN];
	size_t plen, outlen;
	int r;

	if ((r = noise_handshake_read(sec->hs, sec->hs_msg, sec->hs_msg_len, payload, sizeof(payload), &plen)) != 0)
		return r == CVPN_ERR_DH_ZERO ? r : CVPN_ERR_HANDSHAKE;
	if (plen != SECURE_TIMESTAMP_LEN)
		return CVPN_ERR_HANDSHAKE;
	/* The list is only read here. */
	if (sec->mode == SECURE_MODE_KEY && e->cfg.secure.authorized &&
	    (noise_handshake_remote_static(sec->hs, rs) != 0 || !keys_list_contains(e->cfg.secure.authorized, rs)))
		return CVPN_ERR_UNAUTHORIZED;
	/* Thread-safe: two copies in flight at once are accepted once. */
	if (e->cfg.secure.replay && (r = replay_accept(e->cfg.secure.replay, sec->hs_msg, payload)) != 0)
		return r;
	if ((r = noise_handshake_write(sec->hs, NULL, 0, sec->hs_msg, sizeof(sec->hs_msg), &outlen)) != 0)
		return r == CVPN_ERR_DH_ZERO ? r : CVPN_ERR_HANDSHAKE;
	sec->hs_msg_len = outlen;
	return 0;
}

static bool
needs_work(const struct engine *e)
{
	return e->p.sec.state.server == SEC_S_WORK;
}

/* Reports the client's static key (key mode). */
static int
report_client(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_PEER };
	uint8_t rs[NOISE_DH_LEN];
	char b64[KEYS_B64_LEN + 1];

	if (e->p.sec.mode != SECURE_MODE_KEY)
		return 0;
	if (noise_handshake_remote_static(e->p.sec.hs, rs) != 0)
		return CVPN_ERR_HANDSHAKE;
	keys_to_base64(rs, b64);
	ev.text = (const uint8_t *)b64;
	ev.text_len = KEYS_B64_LEN;
	secure_emit(e, &ev);
	return 0;
}

/* After the work step: says who the client is, queues message 2 and ends the handshake. */
static int
resume(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;
	int r;

	r = report_client(e);
	if (r == 0 && e->cfg.secure.stealth)
		r = engine_queue(e, sec->hello.data, sec->hello.len);
	if (r == 0)
		r = secure_queue_frame(e, sec->hs_msg, sec->hs_msg_len);
	OPENSSL_cleanse(sec->hs_msg, sizeof(sec->hs_msg));
	if (r == 0 && (r = secure_finish_handshake(e)) == 0)
		sec->state.server = SEC_S_READY;
	return r;
}

/*
 * After a record it could not accept, the server says so with an ERROR record
 * (authenticated, like every record it sends) before the connection closes,
 * so the client can tell a refusal from a cut connection.
 */
static int
refuse(struct engine *e, int r)
{
	if ((r == CVPN_ERR_DECRYPT || r == CVPN_ERR_CHANNEL) && e->p.sec.send_cs != NULL)
		(void)secure_send_record(e, SECREC_ERROR, NULL, 0); /* best effort: we are closing anyway */
	return r;
}

/* The program refused a record (engine_refuse): the same ERROR. */
static void
refuse_record(struct engine *e)
{
	(void)refuse(e, CVPN_ERR_CHANNEL);
}

/* Answers a DATA record: the reply is encrypted and authenticated too. */
static int
answer(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_MESSAGE, .text = text, .text_len = n };
	size_t prefix = strlen(LAB_REPLY_PREFIX);
	uint8_t reply[SECURE_MAX_PAYLOAD];
	int r;

	if (!text_utf8_valid(text, n))
		return CVPN_ERR_DECRYPT;
	if (n > ENGINE_MAX_MESSAGE)
		return CVPN_ERR_MSG_TOO_LONG;
	secure_emit(e, &ev);
	memcpy(reply, LAB_REPLY_PREFIX, prefix);
	text_utf8_reverse(reply + prefix, text, n);
	secure_emit_text(e, ENGINE_EV_REPLY, reply, prefix + n);
	r = secure_send_record(e, SECREC_REPLY, reply, prefix + n);
	OPENSSL_cleanse(reply, prefix + n);
	return r;
}

/* A record the client sent: DATA answered, CLOSE answered with ours; anything else fails. */
static int
take_record(struct engine *e, int type, const uint8_t *pt, size_t len)
{
	int r;

	if (type == SECREC_DATA) {
		r = answer(e, pt, len);
	} else if (type == SECREC_CLOSE) {
		r = secure_send_record(e, SECREC_CLOSE, NULL, 0);
		e->p.sec.state.server = SEC_S_CLOSED;
	} else if (chan_is_type(type)) {
		return secure_take_channel(e, type, pt, len, true);
	} else if (secure_is_tunnel(type)) {
		return secure_take_tunnel(e, type, pt, len, true);
	} else {
		r = CVPN_ERR_DECRYPT; /* a type a client must not send: one generic failure */
	}
	return r == 0 ? 1 : r;
}

/*
 * The server ends the session first (its idle timeout, its shutdown) with a
 * CLOSE, authenticated like every record, so that the client can tell an
 * orderly end from a cut connection (docs/SECURE.md section 5). The client
 * answers nothing: the transport closes once this is written.
 */
static int
end_session(struct engine *e)
{
	int r;

	if (e->p.sec.state.server != SEC_S_READY)
		return CVPN_ERR_STATE;
	if ((r = secure_send_record(e, SECREC_CLOSE, NULL, 0)) != 0)
		return r;
	e->p.sec.state.server = SEC_S_ENDED;
	return 0;
}

static int
read_records(struct engine *e)
{
	const uint8_t *pt;
	size_t len, frame;
	int type, r;

	if ((r = secure_read_record(e, &type, &pt, &len, &frame)) <= 0)
		return refuse(e, r);
	if ((r = secure_common_record(e, type)) == 0)
		r = take_record(e, type, pt, len);
	secure_release_record(e, frame);
	return refuse(e, r);
}

static int
step(struct engine *e)
{
	switch (e->p.sec.state.server) {
	case SEC_S_HELLO:
		return read_client_hello(e);
	case SEC_S_WAIT_MSG1:
		return read_message1(e);
	case SEC_S_READY:
		return read_records(e);
	case SEC_S_CLOSED:
		return e->in.len ? CVPN_ERR_UNEXPECTED : 0;
	case SEC_S_ENDED:
		/* Records the client sent before our CLOSE reached it: the session is over, they go unread. */
		buf_consume(&e->in, e->in.len);
		return 0;
	default:
		return 0; /* waiting for the work step */
	}
}

static bool
partial(const struct engine *e)
{
	enum secure_server_state s = e->p.sec.state.server;

	return s != SEC_S_WORK && s != SEC_S_CLOSED && s != SEC_S_ENDED && e->in.len > 0;
}

static bool
established(const struct engine *e)
{
	return e->p.sec.state.server >= SEC_S_READY;
}

static bool
ready(const struct engine *e)
{
	(void)e;
	return false;
}

static bool
closed(const struct engine *e)
{
	return e->p.sec.state.server == SEC_S_CLOSED || e->p.sec.state.server == SEC_S_ENDED;
}

static enum phase
phase(const struct engine *e)
{
	switch (e->p.sec.state.server) {
	case SEC_S_HELLO:
		return PHASE_CIPHER;
	case SEC_S_READY:
		return PHASE_MESSAGES;
	case SEC_S_CLOSED:
	case SEC_S_ENDED:
		return PHASE_CLOSING;
	default:
		return PHASE_KEY;
	}
}

static bool
carries_channels(const struct engine *e)
{
	return e->p.sec.state.server == SEC_S_READY;
}

static int
send_channel(struct engine *e, const struct chan_msg *m)
{
	return secure_send_channel(e, m, false);
}

static int
send_tunnel(struct engine *e, int type, const uint8_t *p, size_t n)
{
	return secure_send_tunnel(e, type, p, n, false);
}

const struct engine_ops secure_server_ops = {
	.secure = true,
	.step = step,
	.work = work,
	.needs_work = needs_work,
	.resume = resume,
	.close = end_session,
	.rekey = secure_rekey,
	.carries_channels = carries_channels,
	.send_channel = send_channel,
	.send_tunnel = send_tunnel,
	.keepalive = secure_keepalive,
	.refuse = refuse_record,
	.partial = partial,
	.established = established,
	.ready = ready,
	.closed = closed,
	.phase = phase,
	.free = secure_free,
};
