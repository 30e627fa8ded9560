/* SPDX-License-Identifier: MIT */
/* The client's states: the choice, the replies, and sending messages. */
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "err.h"
#include "record.h"
#include "text.h"

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
	size_t end = frame_trimmed(p, n), start = end;

	if (proposal_parse_choice(p, n, &e->cfg.ciphers, &s, &bits) != 0)
		return FRAME_OPEN;
	while (start > 0 && p[start - 1] >= '0' && p[start - 1] <= '9')
		start--;
	return proposal_size_extends(&e->cfg.ciphers, s, p + start, end - start) ? FRAME_AT_PAUSE : FRAME_FINAL;
}

int
client_choice(struct engine *e)
{
	const uint8_t *msg;
	size_t len, used;
	bool nl;
	int r;

	if ((r = frame_take(e, "ChosenCipher", choice_end, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = proposal_parse_choice(msg, len, &e->cfg.ciphers, &e->suite, &e->bits)) != 0)
		return r;
	engine_emit_text(e, ENGINE_EV_NEGOTIATED, msg, frame_trimmed(msg, len));
	buf_consume(&e->in, used);
	e->state = C_KEYGEN;
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
	size_t prefix = strlen(ENGINE_REPLY_PREFIX), len = e->expect.len - prefix;

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
int
client_reply(struct engine *e)
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
		take = e->expect.len - strlen(ENGINE_REPLY_PREFIX);
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
	engine_emit(e, &ev);
	while (take < n && p[take] == 0)
		take++;
	buf_consume(&e->in, take);
	e->state = C_READY;
	return 1;
}

/* Between messages only stray NUL padding may arrive. */
int
client_idle(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->in.len; i++)
		if (e->in.data[i] != 0)
			return CVPN_ERR_UNEXPECTED;
	buf_consume(&e->in, e->in.len);
	return 0;
}

int
engine_expect_reply(struct engine *e, const uint8_t *text, size_t n, bool strip_nuls)
{
	size_t start = 0, end = n, prefix = strlen(ENGINE_REPLY_PREFIX);
	size_t limit = e->cfg.max_message + REPLY_SLACK;
	uint8_t *p;
	int r;

	/*
	 * What a lab reference server answers: it strips NULs at both ends along
	 * with the padding, so its reply lacks them. A secure record carries its
	 * exact length, so nothing is stripped there. A different reply is
	 * reported, not fatal.
	 */
	while (strip_nuls && end > 0 && text[end - 1] == 0)
		end--;
	while (strip_nuls && start < end && text[start] == 0)
		start++;
	buf_reset(&e->expect);
	if ((r = buf_reserve(&e->expect, prefix + (end - start), limit, &p)) != 0)
		return r;
	/* The reversal is written in place: no copy of the text first. */
	memcpy(p, ENGINE_REPLY_PREFIX, prefix);
	text_utf8_reverse(p + prefix, text + start, end - start);
	return 0;
}

int
engine_send(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_SENT };
	size_t wire = record_wire_len(n);
	uint8_t *out;
	int r;

	if (e->cfg.server || (e->state != C_READY && e->state != C_SEC_READY))
		return e->state == FAILED ? e->err : CVPN_ERR_STATE;
	if (!text_utf8_valid(text, n))
		return CVPN_ERR_BAD_UTF8;
	if (e->state == C_SEC_READY)
		return secure_send(e, text, n);
	if (n > e->cfg.max_message || wire > e->cfg.max_message)
		return CVPN_ERR_MSG_TOO_LONG;
	if ((r = engine_expect_reply(e, text, n, true)) != 0)
		return engine_fail(e, r);
	/* Sealed where it is sent from; the plaintext copied there is wiped if sealing fails. */
	if ((r = engine_reserve(e, wire, &out)) != 0)
		return engine_fail(e, r);
	if ((r = record_seal(e->rec, text, n, out)) != 0) {
		engine_unreserve(e, wire);
		return engine_fail(e, r);
	}
	ev.text = text;
	ev.text_len = n;
	ev.ct = out;
	ev.ct_len = wire - RECORD_TAG_LEN;
	ev.tag = out + wire - RECORD_TAG_LEN;
	ev.tag_len = RECORD_TAG_LEN;
	engine_emit(e, &ev);
	e->state = C_WAIT_REPLY;
	return 0;
}
