/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "limits.h"

/* Slots in the table; a power of two. Beyond it, the stalest entry is reused. */
#define SLOTS 4096
#define PROBES 16
#define SOURCE_MAX 48   /* an IPv6 address in text */

struct entry {
	char source[SOURCE_MAX];
	unsigned failures;
	uint64_t window_start;
	uint64_t blocked_until;
	uint64_t penalty_ms;     /* the next penalty's length */
	uint64_t last_seen;
	unsigned pending;        /* handshakes in progress: pins the entry */
};

struct limits {
	struct limits_config cfg;
	struct entry slots[SLOTS];
};

struct limits *
limits_new(const struct limits_config *cfg)
{
	struct limits *l = calloc(1, sizeof(*l));

	if (l != NULL)
		l->cfg = *cfg;
	return l;
}

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/*
 * The entry of source, or the slot to take for it (an empty one, else the
 * least recently seen among the probed slots that no handshake pins).
 * NULL if absent and create is false, or if every probed slot is pinned.
 */
static struct entry *
find(struct limits *l, const char *source, bool create)
{
	uint32_t h = hash(source);
	struct entry *empty = NULL, *oldest = NULL, *e, *victim;
	int i;

	for (i = 0; i < PROBES; i++) {
		e = &l->slots[(h + (uint32_t)i) & (SLOTS - 1)];
		if (strncmp(e->source, source, SOURCE_MAX) == 0)
			return e;
		if (e->source[0] == '\0') {
			if (empty == NULL)
				empty = e;
		} else if (e->pending == 0 && (oldest == NULL || e->last_seen < oldest->last_seen)) {
			oldest = e;
		}
	}
	if (!create)
		return NULL;
	if ((victim = empty ? empty : oldest) == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strncpy(victim->source, source, SOURCE_MAX - 1);
	return victim;
}

bool
limits_blocked(struct limits *l, const char *source, uint64_t now, uint64_t *wait_ms)
{
	struct entry *e = find(l, source, false);

	if (e == NULL || now >= e->blocked_until)
		return false;
	*wait_ms = e->blocked_until - now;
	return true;
}

bool
limits_start(struct limits *l, const char *source, uint64_t now)
{
	struct entry *e;

	if (l->cfg.max_pending == 0)
		return true;
	if ((e = find(l, source, true)) == NULL || e->pending >= l->cfg.max_pending)
		return false;
	e->pending++;
	e->last_seen = now;
	return true;
}

void
limits_end(struct limits *l, const char *source)
{
	struct entry *e;

	if (l->cfg.max_pending != 0 && (e = find(l, source, false)) != NULL && e->pending > 0)
		e->pending--;
}

bool
limits_failure(struct limits *l, const char *source, uint64_t now)
{
	struct entry *e = find(l, source, true);

	if (e == NULL)
		return false; /* every slot it could take is pinned: no room to count */
	e->last_seen = now;
	if (e->penalty_ms == 0)
		e->penalty_ms = l->cfg.penalty_ms;
	if (now - e->window_start > l->cfg.window_ms) {
		e->window_start = now;
		e->failures = 0;
	}
	if (++e->failures < l->cfg.max_failures)
		return false;
	e->blocked_until = now + e->penalty_ms;
	e->penalty_ms = e->penalty_ms * 2 > l->cfg.max_penalty_ms ? l->cfg.max_penalty_ms : e->penalty_ms * 2;
	e->failures = 0;
	e->window_start = now;
	return true;
}

void
limits_free(struct limits *l)
{
	free(l);
}
