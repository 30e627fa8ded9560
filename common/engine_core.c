/* SPDX-License-Identifier: MIT */
/* The engine's core: output, events and the expected reply, for every profile module (engine_core.h). */
#include <string.h>

#include "engine_core.h"
#include "err.h"
#include "text.h"

void
engine_emit(struct engine *e, struct engine_event *ev)
{
	if (e->fn)
		e->fn(e->arg, ev);
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
engine_expect_reply(struct engine *e, const uint8_t *text, size_t n, bool strip_nuls)
{
	size_t start = 0, end = n, prefix = strlen(LAB_REPLY_PREFIX);
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
	memcpy(p, LAB_REPLY_PREFIX, prefix);
	text_utf8_reverse(p + prefix, text + start, end - start);
	return 0;
}

bool
engine_confirm(struct engine *e)
{
	if (e->confirmed)
		return false;
	e->confirmed = true;
	return true;
}
