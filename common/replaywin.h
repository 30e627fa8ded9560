/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the sliding window that refuses replayed datagrams (RFC 6479), for
 * the UDP transport's explicit 64-bit counters. Datagrams may arrive out of
 * order: a counter up to REPLAYWIN_SIZE behind the highest seen is accepted
 * once; a duplicate or an older one is refused. Check a counter only after
 * its packet authenticated, else a forged counter could move the window.
 */
#ifndef CVPN_REPLAYWIN_H
#define CVPN_REPLAYWIN_H

#include <stdbool.h>
#include <stdint.h>

/* How far behind the highest counter a datagram may still arrive (bits in the window, less one word). */
#define REPLAYWIN_WORDS 32
#define REPLAYWIN_SIZE ((REPLAYWIN_WORDS - 1) * 64)

struct replaywin {
	uint64_t top;                   /* the highest counter accepted, plus one (0: none yet) */
	uint64_t bits[REPLAYWIN_WORDS]; /* one bit per counter, a ring of words */
};

/* Empties the window. */
void replaywin_init(struct replaywin *w);

/* Accepts counter n once (true), or refuses a duplicate or one too old (false). */
bool replaywin_accept(struct replaywin *w, uint64_t n);

#endif
