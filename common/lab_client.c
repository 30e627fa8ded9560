/* SPDX-License-Identifier: MIT */
/* The lab profile's client: the proposal, the choice, the key, messages and their replies. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lab.h"
#include "proposal.h"
#include "record.h"
#include "text.h"

static int
start(struct engine *e)
{
	char text[PROPOSAL_TEXT_MAX];
	int n, r;

	if ((n = proposal_format_wire(&e->cfg.ciphers, text, sizeof(text))) < 0)
		return n;
	lab_emit_text(e, ENGINE_EV_PROPOSAL, text, (size_t)n);
	if ((r = lab_queue_handshake(e, text, (size_t)n)) != 0)
		return r;
	e->p.lab.state.client = LAB_C_WAIT_CHOICE;
	return 0;
}

/*
 * A choice is complete when its size is one we offered and no longer offered
 * size starts with it; one whose size may still grow ends at a short pause;
 * one that names nothing we offered is cut short, or wrong: it waits for more,
 * or for the partial timeout, which takes it (and fails it) as it is.
 */
static enum frame_end
choice_end(struct engine *e, const uint8_t *p, size_t n)
{
	const struct suite *s;
	unsigned bits;
	size_t end = lab_trimmed(p, n), start = end;

	if (proposal_parse_choice(p, n, &e->cfg.ciphers, &s, &bits) != 0)
		return FRAME_OPEN;
	while (start > 0 && p[start - 1] >= '0' && p[start - 1] <= '9')
		start--;
	return proposal_size_extends(&e->cfg.ciphers, s, p + start, end - start) ? FRAME_AT_PAUSE : FRAME_FINAL;
}

static int
read_choice(struct engine *e)
{
	const uint8_t *msg;
	size_t len, used;
	bool nl;
	int r;

	if ((r = lab_take(e, LAB_CHOICE, choice_end, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = proposal_parse_choice(msg, len, &e->cfg.ciphers, &e->p.lab.suite, &e->p.lab.bits)) != 0)
		return r;
	lab_emit_text(e, ENGINE_EV_NEGOTIATED, msg, lab_trimmed(msg, len));
	buf_consume(&e->in, used);
	e->p.lab.state.client = LAB_C_KEYGEN;
	return 1;
}

/*
 * Compares p[0..n) with the reversed text alone, the reply of a server that
 * sends no "Server says: " (the 2025 student solution, --reply bare): 1 when
 * it starts with all of it, 0 when it is a shorter start of it, -1 otherwise.
 */
static int
bare_match(const struct engine *e, const uint8_t *p, size_t n)
{
	size_t prefix = strlen(LAB_REPLY_PREFIX), len = e->expect.len - prefix;

	if (len == 0 || memcmp(p, e->expect.data + prefix, n < len ? n : len) != 0)
		return -1;
	return n >= len ? 1 : 0;
}

/*
 * Takes the reply to the last message: the expected one at once, with or
 * without its prefix. A bare reply that could still grow into the prefixed
 * one (a message whose reversal starts with the prefix) ends at a short
 * pause. Another reply ends at a short pause too, unless it is visibly the
 * start of the expected one, cut in transit: that waits for the rest, or for
 * the partial timeout.
 */
static int
read_reply(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_REPLY };
	uint8_t *p;
	size_t n, skip = 0, take, i, out;
	bool prefix;
	int bare;

	while (skip < e->in.len && e->in.data[skip] == 0)
		skip++;
	buf_consume(&e->in, skip);
	p = e->in.data;
	n = e->in.len;
	if (n == 0)
		return 0;
	prefix = memcmp(p, e->expect.data, n < e->expect.len ? n : e->expect.len) == 0;
	bare = bare_match(e, p, n);
	if (prefix && n >= e->expect.len) {
		take = e->expect.len;
	} else if (bare == 1 && (!prefix || e->pause != PAUSE_NONE)) {
		take = e->expect.len - strlen(LAB_REPLY_PREFIX);
		ev.bare = true;
	} else if (e->pause == PAUSE_LONG || (e->pause == PAUSE_SHORT && !prefix && bare != 0)) {
		take = n;
		ev.status = CVPN_ERR_BAD_REPLY;
	} else {
		return n > e->cfg.max_message + REPLY_SLACK ? CVPN_ERR_TOO_LONG : 0;
	}
	/* Drop NULs inside what we take (padded replies), then the ones that follow it. */
	if (memchr(p, 0, take) == NULL)
		out = take;
	else
		for (i = 0, out = 0; i < take; i++)
			if (p[i] != 0)
				p[out++] = p[i];
	ev.text = p;
	ev.text_len = out;
	lab_emit(e, &ev);
	while (take < n && p[take] == 0)
		take++;
	buf_consume(&e->in, take);
	e->p.lab.state.client = LAB_C_READY;
	return 1;
}

/* Between messages only stray NUL padding may arrive. */
static int
read_idle(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->in.len; i++)
		if (e->in.data[i] != 0)
			return CVPN_ERR_UNEXPECTED;
	buf_consume(&e->in, e->in.len);
	return 0;
}


static int
read_dhmke(struct engine *e)
{
	int r;

	if ((r = lab_read_dhmke(e)) == 1)
		e->p.lab.state.client = LAB_C_DERIVE;
	return r;
}

static int
step(struct engine *e)
{
	switch (e->p.lab.state.client) {
	case LAB_C_WAIT_CHOICE:
		return read_choice(e);
	case LAB_C_WAIT_DH:
		return read_dhmke(e);
	case LAB_C_WAIT_REPLY:
		return read_reply(e);
	case LAB_C_READY:
		return read_idle(e);
	default:
		return 0; /* waiting for the work step or for engine_start */
	}
}

static bool
needs_work(const struct engine *e)
{
	return e->p.lab.state.client == LAB_C_KEYGEN || e->p.lab.state.client == LAB_C_DERIVE;
}

static int
work(struct engine *e)
{
	return e->p.lab.state.client == LAB_C_KEYGEN ? lab_make_key(e) : lab_derive(e);
}

/* After our key: our DHMKE goes out. After the secret: the record starts. */
static int
resume(struct engine *e)
{
	struct lab_state *lab = &e->p.lab;
	int r;

	if (lab->state.client == LAB_C_KEYGEN) {
		r = lab_send_dhmke(e);
		lab->state.client = LAB_C_WAIT_DH;
	} else {
		r = lab_establish(e);
		lab->state.client = LAB_C_READY;
	}
	return r;
}

static int
send_message(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_SENT };
	size_t wire = record_wire_len(n);
	uint8_t *out;
	int r;

	if (n > e->cfg.max_message || wire > e->cfg.max_message)
		return CVPN_ERR_MSG_TOO_LONG;
	if ((r = engine_expect_reply(e, text, n, true)) != 0)
		return r;
	/* Sealed where it is sent from; the plaintext copied there is wiped if sealing fails. */
	if ((r = engine_reserve(e, wire, &out)) != 0)
		return r;
	if ((r = record_seal(e->p.lab.rec, text, n, out)) != 0) {
		engine_unreserve(e, wire);
		return r;
	}
	ev.text = text;
	ev.text_len = n;
	ev.ct = out;
	ev.ct_len = wire - RECORD_TAG_LEN;
	ev.tag = out + wire - RECORD_TAG_LEN;
	ev.tag_len = RECORD_TAG_LEN;
	lab_emit(e, &ev);
	e->p.lab.state.client = LAB_C_WAIT_REPLY;
	return 0;
}

static bool
partial(const struct engine *e)
{
	enum lab_client_state s = e->p.lab.state.client;

	return (s == LAB_C_WAIT_CHOICE || s == LAB_C_WAIT_DH || s == LAB_C_WAIT_REPLY) && e->in.len > 0;
}

static bool
established(const struct engine *e)
{
	return e->p.lab.state.client == LAB_C_READY || e->p.lab.state.client == LAB_C_WAIT_REPLY;
}

static bool
ready(const struct engine *e)
{
	return e->p.lab.state.client == LAB_C_READY;
}

static bool
closed(const struct engine *e)
{
	(void)e;
	return false;
}

static enum phase
phase(const struct engine *e)
{
	switch (e->p.lab.state.client) {
	case LAB_C_START:
	case LAB_C_WAIT_CHOICE:
		return PHASE_CIPHER;
	case LAB_C_KEYGEN:
	case LAB_C_WAIT_DH:
	case LAB_C_DERIVE:
		return PHASE_KEY;
	default:
		return PHASE_MESSAGES;
	}
}

const struct engine_ops lab_client_ops = {
	.secure = false,
	.start = start,
	.step = step,
	.work = work,
	.needs_work = needs_work,
	.resume = resume,
	.send = send_message,
	.partial = partial,
	.established = established,
	.ready = ready,
	.closed = closed,
	.phase = phase,
	.free = lab_free,
};
