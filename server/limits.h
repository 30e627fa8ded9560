/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: per-source limits. A source address may have only so many
 * handshakes in progress at once (OpenSSH's PerSourceMaxStartups), and one
 * that fails too many handshakes in a window is refused for a while, for
 * twice as long each time it does it again (up to a cap), as fail2ban-style
 * penalties do. The table has a fixed size, so a flood of sources cannot grow
 * it; an entry with handshakes in progress is never reused for another source.
 */
#ifndef CVPN_LIMITS_H
#define CVPN_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

struct limits;

struct limits_config {
	unsigned max_failures;      /* failures allowed per window before a penalty */
	uint64_t window_ms;         /* the window they are counted in */
	uint64_t penalty_ms;        /* the first penalty; doubles on each repeat */
	uint64_t max_penalty_ms;
	unsigned max_pending;       /* handshakes in progress per source; 0: no cap */
};

/* Creates an empty table. Returns NULL when out of memory. */
struct limits *limits_new(const struct limits_config *cfg);

/* True when source is serving a penalty at now; *wait_ms says for how long still. */
bool limits_blocked(struct limits *l, const char *source, uint64_t now, uint64_t *wait_ms);

/*
 * Takes one of source's handshake slots; false when it has max_pending in
 * progress already (or the table has no room to count it: refuse then too).
 */
bool limits_start(struct limits *l, const char *source, uint64_t now);

/* Gives back a slot taken by limits_start, when that handshake ends either way. */
void limits_end(struct limits *l, const char *source);

/* Counts a failed handshake of source at now; returns true when it just earned a penalty. */
bool limits_failure(struct limits *l, const char *source, uint64_t now);

/* Frees; accepts NULL. */
void limits_free(struct limits *l);

#endif
