/* SPDX-License-Identifier: MIT */
/*
 * cvpn: RFC 6479's window: a ring of 64-bit words, so that moving ahead
 * clears whole words instead of shifting the bitmap.
 */
#include <string.h>

#include "replaywin.h"

#define RING_BITS (REPLAYWIN_WORDS * 64)

void
replaywin_init(struct replaywin *w)
{
	memset(w, 0, sizeof(*w));
}

bool
replaywin_accept(struct replaywin *w, uint64_t n)
{
	uint64_t word = n / 64, top_word, i, steps;
	uint64_t bit = (uint64_t)1 << (n % 64);
	uint64_t *slot;

	if (n == UINT64_MAX)
		return false; /* top is n + 1: keep it from wrapping */
	if (n + 1 > w->top) {
		/* Ahead: clear the words between the old top and this one (all of them at most). */
		top_word = w->top ? (w->top - 1) / 64 : 0;
		steps = w->top ? word - top_word : REPLAYWIN_WORDS;
		if (steps > REPLAYWIN_WORDS)
			steps = REPLAYWIN_WORDS;
		for (i = 1; i <= steps; i++)
			w->bits[(top_word + i) % REPLAYWIN_WORDS] = 0;
		if (w->top == 0)
			w->bits[word % REPLAYWIN_WORDS] = 0;
		w->top = n + 1;
	} else if (w->top - 1 - n >= REPLAYWIN_SIZE) {
		return false; /* too old to tell */
	}
	slot = &w->bits[word % REPLAYWIN_WORDS];
	if (*slot & bit)
		return false;
	*slot |= bit;
	return true;
}
