/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: per-source limits on failed handshakes. A source address that
 * fails too many handshakes in a window is refused for a while, and for twice
 * as long each time it does it again (up to a cap), as fail2ban-style
 * penalties do. The table has a fixed size, so a flood of sources cannot grow it.
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
};

/* Creates an empty table. Returns NULL when out of memory. */
struct limits *limits_new(const struct limits_config *cfg);

/* True when source is serving a penalty at now; *wait_ms says for how long still. */
bool limits_blocked(struct limits *l, const char *source, uint64_t now, uint64_t *wait_ms);

/* Counts a failed handshake of source at now; returns true when it just earned a penalty. */
bool limits_failure(struct limits *l, const char *source, uint64_t now);

/* Frees; accepts NULL. */
void limits_free(struct limits *l);

#endif
