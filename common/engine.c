/* SPDX-License-Identifier: MIT */
/*
 * The engine's public API (engine.h, engine_bench.h). It runs the module in
 * charge of the session, a profile and role's table of operations
 * (engine_core.h), on what arrives, marks the session failed when a step
 * fails, and tells the transport where the session stands. A server learns
 * the profile from the client's first bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chan.h"
#include "engine_bench.h"
#include "engine_core.h"
#include "err.h"
#include "secrec.h"
#include "secure_wire.h"
#include "text.h"

static const char *const phase_names[] = {
	[PHASE_CIPHER] = "negotiating the cipher",
	[PHASE_KEY] = "negotiating the key",
	[PHASE_MESSAGES] = "exchanging messages",
	[PHASE_CLOSING] = "closing",
};

static enum phase
current_phase(const struct engine *e)
{
	return e->ops ? e->ops->phase(e) : PHASE_CIPHER;
}

/* Marks the session dead with err, remembering the phase it died in. Returns err. */
static int
fail(struct engine *e, int err)
{
	if (e->err == 0)
		e->failed_in = current_phase(e);
	e->err = err;
	return err;
}

/* Server: the client's first bytes decide the profile, "CVPN" or anything else (the lab's proposal). */
static int
detect(struct engine *e)
{
	size_t n = e->in.len < SECURE_MAGIC_LEN ? e->in.len : SECURE_MAGIC_LEN;

	if (n == 0)
		return 0;
	if (memcmp(e->in.data, SECURE_MAGIC, n) == 0) {
		if (!e->cfg.secure.static_priv_set && !e->cfg.secure.has_psk)
			return CVPN_ERR_NO_SUITE;
		if (n < SECURE_MAGIC_LEN)
			return 0;
		e->ops = &secure_server_ops;
		return 1;
	}
	/* A stealth server answers nothing unproven, and the lab would answer at once. */
	if (e->cfg.no_lab || e->cfg.secure.stealth)
		return CVPN_ERR_LAB_DISABLED;
	e->ops = &lab_server_ops;
	return 1;
}

/* Runs steps until one waits; a failing one kills the session. */
static int
run(struct engine *e)
{
	int r;

	do
		r = e->ops ? e->ops->step(e) : detect(e);
	while (r > 0);
	return r < 0 ? fail(e, r) : 0;
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
	if (!cfg->server && cfg->secure.enabled) {
		e->ops = &secure_client_ops;
	} else if (!cfg->server) {
		e->ops = &lab_client_ops;
		e->p.lab.newline = cfg->newline == ENGINE_NEWLINE_ALWAYS;
	}
	*out = e;
	return 0;
}

int
engine_start(struct engine *e)
{
	int r;

	if (e->cfg.server)
		return 0;
	if (e->started || e->err)
		return CVPN_ERR_STATE;
	e->started = true;
	return (r = e->ops->start(e)) != 0 ? fail(e, r) : 0;
}

int
engine_feed(struct engine *e, const uint8_t *p, size_t n)
{
	size_t limit, cap, take;
	int r;

	if (e->err)
		return e->err;
	/*
	 * Cap what one peer can make us hold: two of the largest messages it may
	 * send (a handshake message, whatever --max-message says, or a data message).
	 * Input is taken in pieces that fit, each run before the next, so that a
	 * peer may pipeline any number of whole messages into one read; only a
	 * peer that sends past the cap while we cannot consume (a message still
	 * incomplete, or a key exchange in progress) is refused. A secure session
	 * takes records up to a channel's largest.
	 */
	limit = e->cfg.max_message > HANDSHAKE_MAX ? e->cfg.max_message : HANDSHAKE_MAX;
	if (e->ops != NULL && e->ops->secure && limit < secrec_wire_len(CHAN_PAYLOAD_MAX))
		limit = secrec_wire_len(CHAN_PAYLOAD_MAX);
	cap = 2 * limit + REPLY_SLACK;
	for (;;) {
		take = cap > e->in.len ? cap - e->in.len : 0;
		if (take > n)
			take = n;
		if (take == 0 && n > 0)
			return fail(e, CVPN_ERR_TOO_LONG);
		if ((r = buf_append(&e->in, p, take, cap)) != 0 || (r = run(e)) != 0)
			return fail(e, r);
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

	if (e->err)
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
engine_partial(const struct engine *e)
{
	if (e->err)
		return false;
	return e->ops ? e->ops->partial(e) : e->in.len > 0;
}

bool
engine_dh_cut(const struct engine *e, size_t *digits)
{
	if (e->ops == NULL || e->ops->secure || e->p.lab.peer_pub_cut == 0)
		return false;
	*digits = e->p.lab.peer_pub_cut;
	return true;
}

bool
engine_needs_work(const struct engine *e)
{
	return !e->err && e->ops && e->ops->needs_work && e->ops->needs_work(e) && !e->work_done;
}

void
engine_work(struct engine *e)
{
	if (!engine_needs_work(e))
		return;
	e->work_err = e->ops->work(e);
	e->work_done = true;
}

int
engine_resume(struct engine *e)
{
	int r;

	if (e->err)
		return e->err;
	if (!e->work_done)
		return 0;
	e->work_done = false;
	if (e->work_err != 0)
		return fail(e, e->work_err);
	if ((r = e->ops->resume(e)) != 0)
		return fail(e, r);
	return run(e);
}

int
engine_send(struct engine *e, const uint8_t *text, size_t n)
{
	int r;

	if (e->cfg.server || !engine_ready(e))
		return e->err ? e->err : CVPN_ERR_STATE;
	if (!text_utf8_valid(text, n))
		return CVPN_ERR_BAD_UTF8;
	/* A message that is too long is refused, and the session goes on. */
	if ((r = e->ops->send(e, text, n)) == CVPN_ERR_MSG_TOO_LONG)
		return r;
	return r != 0 ? fail(e, r) : 0;
}

/* Runs an operation only some profiles and roles have; one that does not apply fails nothing. */
static int
run_optional(struct engine *e, int (*op)(struct engine *))
{
	int r;

	if (e->err)
		return e->err;
	if (op == NULL)
		return CVPN_ERR_STATE;
	if ((r = op(e)) == CVPN_ERR_STATE)
		return r;
	return r != 0 ? fail(e, r) : 0;
}

int
engine_close(struct engine *e)
{
	return run_optional(e, e->ops ? e->ops->close : NULL);
}

int
engine_rekey(struct engine *e)
{
	return run_optional(e, e->ops ? e->ops->rekey : NULL);
}

int
engine_refuse(struct engine *e, int err)
{
	if (e->err)
		return e->err;
	if (e->ops != NULL && e->ops->refuse != NULL)
		e->ops->refuse(e);
	return fail(e, err);
}

/* Whether records beside the messages may go now: a secure session, established and not closing. */
static int
beside_ready(const struct engine *e)
{
	if (e->err)
		return e->err;
	if (e->ops != NULL && !e->ops->secure)
		return CVPN_ERR_NOT_SECURE;
	if (e->ops == NULL || !e->ops->carries_channels(e))
		return CVPN_ERR_STATE;
	return 0;
}

/* A record this side may not send, or that breaks the format, is the caller's mistake: the session lives. */
static int
beside_sent(struct engine *e, int r)
{
	if (r == CVPN_ERR_INVALID_ARG)
		return r;
	return r != 0 ? fail(e, r) : 0;
}

int
engine_tunnel_send(struct engine *e, enum engine_tunnel type, const uint8_t *p, size_t n)
{
	int r;

	if ((r = beside_ready(e)) != 0)
		return r;
	return beside_sent(e, e->ops->send_tunnel(e, (int)type, p, n));
}

int
engine_channel_send(struct engine *e, const struct chan_msg *m)
{
	int r;

	if ((r = beside_ready(e)) != 0)
		return r;
	return beside_sent(e, e->ops->send_channel(e, m));
}

int
engine_keepalive(struct engine *e)
{
	int r;

	if ((r = beside_ready(e)) != 0)
		return r;
	return beside_sent(e, e->ops->keepalive(e));
}

bool
engine_closed(const struct engine *e)
{
	return !e->err && e->ops && e->ops->closed(e);
}

bool
engine_is_secure(const struct engine *e)
{
	return e->ops ? e->ops->secure : e->cfg.secure.enabled;
}

bool
engine_confirmed(const struct engine *e)
{
	return e->confirmed;
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
	return !e->err && e->ops && e->ops->established(e);
}

bool
engine_ready(const struct engine *e)
{
	return !e->err && e->ops && e->ops->ready(e);
}

const char *
engine_phase(const struct engine *e)
{
	/* After a failure, name the phase it happened in: that is what a log line needs. */
	return phase_names[e->err ? e->failed_in : current_phase(e)];
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	buf_clear(&e->in);
	buf_clear(&e->out);
	buf_clear(&e->expect);
	if (e->ops)
		e->ops->free(e);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

/* ---- engine_bench.h ---- */

struct record *
engine_lab_record(struct engine *e)
{
	return engine_established(e) && !e->ops->secure ? e->p.lab.rec : NULL;
}

int
engine_secure_transport(struct engine *e, struct noise_cipher **send, struct noise_cipher **recv)
{
	/* Nothing may be sealed after a CLOSE: only while messages are exchanged. */
	if (e->err || e->ops == NULL || !e->ops->secure || current_phase(e) != PHASE_MESSAGES ||
	    e->p.sec.send_cs == NULL || e->p.sec.recv_cs == NULL)
		return CVPN_ERR_STATE;
	*send = e->p.sec.send_cs;
	*recv = e->p.sec.recv_cs;
	return 0;
}
