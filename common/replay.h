/* SPDX-License-Identifier: MIT */
/*
 * cvpn: refusing replayed first handshake messages of the secure profile
 * (docs/SECURE.md, section 4). A first message carries the client's clock as
 * TAI64N; the server accepts it only within a window around its own clock,
 * and only once: it keeps the ephemeral key of every first message it
 * accepted for as long as a copy could still pass the clock check. So a copy
 * is refused by its ephemeral before any Diffie-Hellman, or by its time.
 * Every function may be called from several threads at once.
 */
#ifndef CVPN_REPLAY_H
#define CVPN_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct replay;

#define REPLAY_TAI64N_LEN 12
#define REPLAY_EPHEMERAL_LEN 32
/* The default window either side of the server's clock, and its limits. */
#define REPLAY_WINDOW_DEFAULT 120
#define REPLAY_WINDOW_MAX 86400
/* The default most first messages held at once (each for twice the window). */
#define REPLAY_MAX_DEFAULT ((size_t)1 << 20)

/* A clock in nanoseconds since the Unix epoch. */
typedef uint64_t replay_clock_fn(void);

/* Writes the time now_ns as TAI64N (TAI64 seconds, then nanoseconds, both big-endian). */
void replay_tai64n(uint64_t now_ns, uint8_t out[static REPLAY_TAI64N_LEN]);

/* Reads the wall clock, in nanoseconds since the Unix epoch. */
uint64_t replay_wall_clock(void);

/*
 * A guard for first messages whose time lies within window_s seconds of
 * clock (NULL: the wall clock), holding at most max of them. Sets *out only
 * on success. Returns 0, CVPN_ERR_INVALID_ARG or CVPN_ERR_NOMEM.
 */
int replay_new(unsigned window_s, size_t max, replay_clock_fn *clock, struct replay **out);

/*
 * True when a first message with this ephemeral key was accepted recently
 * enough that a copy could still pass the clock check: a replay, to refuse
 * before any Diffie-Hellman.
 */
bool replay_seen(struct replay *r, const uint8_t ephemeral[static REPLAY_EPHEMERAL_LEN]);

/*
 * Accepts a first message that authenticated, and remembers its ephemeral.
 * Returns 0; CVPN_ERR_REPLAY when it was seen already; CVPN_ERR_STALE when
 * its time lies outside the window; CVPN_ERR_REPLAY_FULL when max recent
 * first messages are held (they free up as they expire).
 */
int replay_accept(struct replay *r, const uint8_t ephemeral[static REPLAY_EPHEMERAL_LEN],
    const uint8_t tai64n[static REPLAY_TAI64N_LEN]);

/* How many first messages are held now. */
size_t replay_count(struct replay *r);

/* Frees; accepts NULL. */
void replay_free(struct replay *r);

#endif
