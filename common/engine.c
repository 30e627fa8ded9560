/* SPDX-License-Identifier: MIT */
/* The engine's API, its driver, and the key establishment both roles share. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dh.h"
#include "engine_impl.h"
#include "err.h"
#include "record.h"
#include "suite.h"

void
engine_emit(struct engine *e, struct engine_event *ev)
{
	ev->suite = e->suite;
	ev->protocol = e->protocol[0] ? e->protocol : NULL;
	ev->bits = e->bits;
	if (e->rec)
		ev->hmac = record_hmac_mode(e->rec);
	if (e->fn)
		e->fn(e->arg, ev);
}

void
engine_confirm(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_CONFIRMED };

	if (e->confirmed)
		return;
	e->confirmed = true;
	engine_emit(e, &ev);
}

bool
engine_confirmed(const struct engine *e)
{
	return e->confirmed;
}

void
engine_emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len)
{
	struct engine_event ev = { .type = type, .text = text, .text_len = len };

	engine_emit(e, &ev);
}

int
engine_queue(struct engine *e, const void *p, size_t n)
{
	return buf_append(&e->out, p, n, OUT_MAX);
}

int
engine_reserve(struct engine *e, size_t n, uint8_t **p)
{
	return buf_reserve(&e->out, n, OUT_MAX, p);
}

void
engine_unreserve(struct engine *e, size_t n)
{
	buf_unreserve(&e->out, n);
}

int
engine_queue_handshake(struct engine *e, const char *msg, size_t n)
{
	int r;

	if ((r = engine_queue(e, msg, n)) == 0 && e->newline)
		r = engine_queue(e, "\n", 1);
	return r;
}

/* ---- Key establishment (shared by both roles) ---- */

static int
make_key(struct engine *e)
{
	int r;

	if (e->cfg.dh_private != NULL)
		r = dh_from_private(e->cfg.dh_private, e->cfg.dh_private_len, &e->dh);
	else
		r = dh_generate(&e->dh);
	if (r == 0)
		r = dh_public_decimal(e->dh, &e->local_pub);
	return r;
}

static int
derive(struct engine *e)
{
	uint8_t *secret = NULL;
	size_t len = 0;
	int r;

	if ((r = dh_compute_secret(e->dh, e->peer_pub, e->peer_pub_len, &secret, &len)) != 0)
		return r;
	r = dh_shared_key(secret, len, e->shared_key);
	OPENSSL_clear_free(secret, len);
	if (r == 0)
		r = suite_derive(e->suite, e->bits, e->shared_key, e->key, &e->key_len, e->iv, &e->iv_len);
	return r;
}

static int
establish(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_KEY };
	enum record_hmac mode = e->cfg.hmac;
	int r;

	if (!e->cfg.server && mode == RECORD_HMAC_AUTO)
		mode = RECORD_HMAC_CUMULATIVE;
	if ((r = record_new(e->suite, e->bits, e->key, e->key_len, e->iv, e->iv_len, !e->cfg.server, mode, &e->rec)) != 0)
		return r;
	ev.text = (const uint8_t *)e->shared_key;
	ev.text_len = SUITE_SHARED_KEY_LEN;
	ev.key = e->key;
	ev.key_len = e->key_len;
	ev.iv = e->iv;
	ev.iv_len = e->iv_len;
	engine_emit(e, &ev);
	/* The record holds its own copies of the keys; nothing else needs these. */
	dh_free(e->dh);
	e->dh = NULL;
	/* Nor the decimal DH values: public, but 2.5 KB each for every session held. */
	free(e->local_pub);
	e->local_pub = NULL;
	free(e->peer_pub);
	e->peer_pub = NULL;
	e->peer_pub_len = 0;
	OPENSSL_cleanse(e->shared_key, sizeof(e->shared_key));
	OPENSSL_cleanse(e->key, sizeof(e->key));
	OPENSSL_cleanse(e->iv, sizeof(e->iv));
	return 0;
}

/* ---- Driver ---- */

/* Runs one state step: 1 after progress, 0 when waiting, negative on failure. */
static int
step(struct engine *e)
{
	switch (e->state) {
	case C_WAIT_CHOICE:
		return client_choice(e);
	case C_WAIT_DH:
		return frame_read_dhmke(e, C_DERIVE);
	case C_WAIT_REPLY:
		return client_reply(e);
	case C_READY:
		return client_idle(e);
	case S_DETECT:
		return server_detect(e);
	case S_WAIT_PROPOSAL:
		return server_proposal(e);
	case S_WAIT_DH:
		return frame_read_dhmke(e, S_WORK);
	case S_READY:
		return server_data(e);
	case C_SEC_WAIT_HELLO:
		return secure_client_hello(e);
	case C_SEC_WAIT_MSG2:
		return secure_client_msg2(e);
	case C_SEC_READY:
	case C_SEC_WAIT_REPLY:
	case C_SEC_CLOSING:
		return secure_client_records(e);
	case S_SEC_HELLO:
		return secure_server_hello(e);
	case S_SEC_WAIT_MSG1:
		return secure_server_msg1(e);
	case S_SEC_READY:
		return secure_server_records(e);
	case C_SEC_CLOSED:
	case S_SEC_CLOSED:
		return e->in.len ? CVPN_ERR_UNEXPECTED : 0;
	case FAILED:
		return e->err;
	default:
		return 0; /* waiting for work or for engine_start */
	}
}

int
engine_fail(struct engine *e, int err)
{
	if (e->state != FAILED)
		e->failed_in = e->state;
	e->state = FAILED;
	e->err = err;
	return err;
}

static int
run(struct engine *e)
{
	int r;

	while ((r = step(e)) > 0)
		;
	return r < 0 ? engine_fail(e, r) : 0;
}

int
engine_new(const struct engine_config *cfg, engine_event_fn *fn, void *arg, struct engine **out)
{
	struct engine *e;

	if (cfg->ciphers.n == 0 || (!cfg->server && cfg->newline == ENGINE_NEWLINE_MIRROR))
		return CVPN_ERR_INVALID_ARG;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return CVPN_ERR_NOMEM;
	e->cfg = *cfg;
	if (e->cfg.max_message == 0 || e->cfg.max_message > ENGINE_MAX_MESSAGE * 16)
		e->cfg.max_message = ENGINE_MAX_MESSAGE;
	e->fn = fn;
	e->arg = arg;
	e->state = cfg->server ? S_DETECT : C_START;
	e->newline = cfg->newline == ENGINE_NEWLINE_ALWAYS;
	*out = e;
	return 0;
}

int
engine_start(struct engine *e)
{
	char text[PROPOSAL_TEXT_MAX];
	int n, r;

	if (e->cfg.server)
		return 0;
	if (e->state != C_START)
		return CVPN_ERR_STATE;
	if (e->cfg.secure.enabled)
		return (r = secure_client_start(e)) != 0 ? engine_fail(e, r) : 0;
	if ((n = proposal_format_wire(&e->cfg.ciphers, text, sizeof(text))) < 0)
		return engine_fail(e, n);
	engine_emit_text(e, ENGINE_EV_PROPOSAL, text, (size_t)n);
	if ((r = engine_queue_handshake(e, text, (size_t)n)) != 0)
		return engine_fail(e, r);
	e->state = C_WAIT_CHOICE;
	return 0;
}

int
engine_feed(struct engine *e, const uint8_t *p, size_t n)
{
	size_t limit, cap, take;
	int r;

	if (e->state == FAILED)
		return e->err;
	/*
	 * Cap what one peer can make us hold: two of the largest messages it may
	 * send (a handshake message, whatever --max-message says, or a data message).
	 * Input is taken in pieces that fit, each run before the next, so that a
	 * peer may pipeline any number of whole messages into one read; only a
	 * peer that sends past the cap while we cannot consume (a message still
	 * incomplete, or a key exchange in progress) is refused.
	 */
	limit = e->cfg.max_message > HANDSHAKE_MAX ? e->cfg.max_message : HANDSHAKE_MAX;
	cap = 2 * limit + REPLY_SLACK;
	for (;;) {
		take = cap > e->in.len ? cap - e->in.len : 0;
		if (take > n)
			take = n;
		if (take == 0 && n > 0)
			return engine_fail(e, CVPN_ERR_TOO_LONG);
		if ((r = buf_append(&e->in, p, take, cap)) != 0 || (r = run(e)) != 0)
			return engine_fail(e, r);
		if ((n -= take) == 0)
			return 0;
		p += take; /* not before: p may be NULL when n is 0 */
	}
}

/* Runs the engine as if the peer had been silent for as long as pause says. */
static int
run_paused(struct engine *e, enum pause pause)
{
	int r;

	if (e->state == FAILED)
		return e->err;
	e->pause = pause;
	r = run(e);
	e->pause = PAUSE_NONE;
	return r;
}

int
engine_quiet(struct engine *e)
{
	return run_paused(e, PAUSE_SHORT);
}

int
engine_stalled(struct engine *e)
{
	return run_paused(e, PAUSE_LONG);
}

bool
engine_dh_cut(const struct engine *e, size_t *digits)
{
	if (e->peer_pub_cut == 0)
		return false;
	*digits = e->peer_pub_cut;
	return true;
}

bool
engine_partial(const struct engine *e)
{
	switch (e->state) {
	case C_WAIT_CHOICE:
	case C_WAIT_DH:
	case C_WAIT_REPLY:
	case S_WAIT_PROPOSAL:
	case S_WAIT_DH:
	case S_READY:
	case S_DETECT:
	case C_SEC_WAIT_HELLO:
	case C_SEC_WAIT_MSG2:
	case C_SEC_READY:
	case C_SEC_WAIT_REPLY:
	case C_SEC_CLOSING:
	case S_SEC_HELLO:
	case S_SEC_WAIT_MSG1:
	case S_SEC_READY:
		return e->in.len > 0;
	default:
		return false;
	}
}

bool
engine_needs_work(const struct engine *e)
{
	return (e->state == C_KEYGEN || e->state == C_DERIVE || e->state == S_WORK || e->state == S_SEC_WORK) &&
	    !e->work_done;
}

void
engine_work(struct engine *e)
{
	int r = 0;

	if (!engine_needs_work(e))
		return;
	if (e->state == S_SEC_WORK)
		r = secure_server_work(e);
	if (e->state == C_KEYGEN || e->state == S_WORK)
		r = make_key(e);
	if (r == 0 && (e->state == C_DERIVE || e->state == S_WORK))
		r = derive(e);
	e->work_err = r;
	e->work_done = true;
}

/* Sends our DHMKE: the client right after keygen, the server after deriving. */
static int
send_dhmke(struct engine *e)
{
	size_t n = strlen(e->local_pub);
	char *msg;
	int r;

	engine_emit_text(e, ENGINE_EV_DH_LOCAL, e->local_pub, n);
	if ((msg = malloc(n + 7)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(msg, "DHMKE:", 6);
	memcpy(msg + 6, e->local_pub, n);
	r = engine_queue_handshake(e, msg, n + 6);
	free(msg);
	return r;
}

int
engine_resume(struct engine *e)
{
	int r;

	if (e->state == FAILED)
		return e->err;
	if (!e->work_done)
		return 0;
	e->work_done = false;
	if (e->work_err != 0)
		return engine_fail(e, e->work_err);
	switch (e->state) {
	case C_KEYGEN:
		r = send_dhmke(e);
		e->state = C_WAIT_DH;
		break;
	case C_DERIVE:
		r = establish(e);
		e->state = C_READY;
		break;
	case S_WORK:
		if ((r = send_dhmke(e)) == 0)
			r = establish(e);
		e->state = S_READY;
		break;
	case S_SEC_WORK:
		r = secure_server_resume(e);
		break;
	default:
		r = CVPN_ERR_STATE;
	}
	if (r != 0)
		return engine_fail(e, r);
	return run(e);
}

void
engine_output(const struct engine *e, const uint8_t **p, size_t *n)
{
	*p = e->out.data;
	*n = e->out.len;
}

void
engine_output_consume(struct engine *e, size_t n)
{
	buf_consume(&e->out, n);
}

bool
engine_established(const struct engine *e)
{
	switch (e->state) {
	case C_READY:
	case C_WAIT_REPLY:
	case S_READY:
	case C_SEC_READY:
	case C_SEC_WAIT_REPLY:
	case C_SEC_CLOSING:
	case C_SEC_CLOSED:
	case S_SEC_READY:
	case S_SEC_CLOSED:
		return true;
	default:
		return false;
	}
}

bool
engine_closed(const struct engine *e)
{
	return e->state == C_SEC_CLOSED || e->state == S_SEC_CLOSED;
}

bool
engine_secure(const struct engine *e)
{
	return e->protocol[0] != '\0' || e->cfg.secure.enabled;
}

bool
engine_ready(const struct engine *e)
{
	return e->state == C_READY || e->state == C_SEC_READY;
}

struct record *
engine_lab_record(struct engine *e)
{
	return engine_established(e) && !engine_secure(e) ? e->rec : NULL;
}

int
engine_secure_transport(struct engine *e, struct noise_cipher **send, struct noise_cipher **recv)
{
	/* Nothing may be sealed after a CLOSE: only the states that exchange messages lend. */
	if ((e->state != C_SEC_READY && e->state != C_SEC_WAIT_REPLY && e->state != S_SEC_READY) ||
	    e->send_cs == NULL || e->recv_cs == NULL)
		return CVPN_ERR_STATE;
	*send = e->send_cs;
	*recv = e->recv_cs;
	return 0;
}

const char *
engine_phase(const struct engine *e)
{
	/* After a failure, name the phase it happened in: that is what a log line needs. */
	switch (e->state == FAILED ? e->failed_in : e->state) {
	case C_START:
	case C_WAIT_CHOICE:
	case S_WAIT_PROPOSAL:
	case S_DETECT:
	case C_SEC_WAIT_HELLO:
	case S_SEC_HELLO:
		return "negotiating the cipher";
	case C_KEYGEN:
	case C_WAIT_DH:
	case C_DERIVE:
	case S_WAIT_DH:
	case S_WORK:
	case C_SEC_WAIT_MSG2:
	case S_SEC_WAIT_MSG1:
	case S_SEC_WORK:
		return "negotiating the key";
	case C_READY:
	case C_WAIT_REPLY:
	case S_READY:
	case C_SEC_READY:
	case C_SEC_WAIT_REPLY:
	case S_SEC_READY:
		return "exchanging messages";
	case C_SEC_CLOSING:
	case C_SEC_CLOSED:
	case S_SEC_CLOSED:
		return "closing";
	default:
		return "failed";
	}
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	buf_clear(&e->in);
	buf_clear(&e->out);
	buf_clear(&e->expect);
	dh_free(e->dh);
	free(e->local_pub);
	free(e->peer_pub);
	record_free(e->rec);
	secure_free(e);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}
