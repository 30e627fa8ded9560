/* SPDX-License-Identifier: MIT */
/*
 * The accepted first messages live in a ring, oldest first, each for twice
 * the window: a message is accepted while its time is within the window of
 * the server's clock, so a copy of it can pass that check for at most one
 * window after it arrived plus the window its clock may have been ahead.
 * A hash index over the ring finds an ephemeral in constant time. The ring
 * grows by doubling, up to the configured most, so an idle server holds
 * little.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "replay.h"

#define NS 1000000000ULL
/* TAI64 labels count seconds from 2^62; TAI was 10 s ahead of UTC in 1972 (as WireGuard writes it). */
#define TAI64_EPOCH (((uint64_t)1 << 62) + 10)
#define KEY_LEN 16
#define FIRST_CAP 64
#define NONE UINT32_MAX

struct entry {
	uint8_t key[KEY_LEN];   /* the start of the ephemeral key: uniform, so enough to tell them apart */
	uint64_t expires;       /* ns on the replay clock */
	uint32_t next;          /* the next entry of its bucket, or NONE */
};

struct replay {
	pthread_mutex_t lock;
	replay_clock_fn *clock;
	uint64_t window;        /* ns either side of the clock */
	size_t max;
	struct entry *ring;     /* cap entries; the held ones from head on, in arrival order */
	uint32_t *buckets;      /* cap chain heads */
	size_t cap, head, count;
};

static uint64_t
get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

void
replay_tai64n(uint64_t now_ns, uint8_t out[static REPLAY_TAI64N_LEN])
{
	uint64_t label = TAI64_EPOCH + now_ns / NS;
	uint32_t nanos = (uint32_t)(now_ns % NS);
	int i;

	for (i = 7; i >= 0; i--, label >>= 8)
		out[i] = (uint8_t)label;
	for (i = 11; i >= 8; i--, nanos >>= 8)
		out[i] = (uint8_t)nanos;
}

uint64_t
replay_wall_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* The time a TAI64N label says, in ns since the Unix epoch; false when it cannot be one. */
static bool
tai64n_time(const uint8_t t[static REPLAY_TAI64N_LEN], uint64_t *ns)
{
	uint64_t label = get_be(t, 8), nanos = get_be(t + 8, 4), secs;

	if (label < TAI64_EPOCH || nanos >= NS)
		return false;
	secs = label - TAI64_EPOCH;
	if (secs > (UINT64_MAX - nanos) / NS)
		return false;
	*ns = secs * NS + nanos;
	return true;
}

int
replay_new(unsigned window_s, size_t max, replay_clock_fn *clock, struct replay **out)
{
	struct replay *r;

	if (window_s == 0 || window_s > REPLAY_WINDOW_MAX || max == 0 || max > NONE)
		return CVPN_ERR_INVALID_ARG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CVPN_ERR_NOMEM;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return CVPN_ERR_NOMEM;
	}
	r->clock = clock ? clock : replay_wall_clock;
	r->window = (uint64_t)window_s * NS;
	r->max = max;
	*out = r;
	return 0;
}

static size_t
bucket_of(const struct replay *r, const uint8_t key[static KEY_LEN])
{
	return (size_t)get_be(key, 4) & (r->cap - 1);
}

/* The ring index of key, or NONE. */
static uint32_t
find(const struct replay *r, const uint8_t key[static KEY_LEN])
{
	uint32_t i;

	if (r->cap == 0)
		return NONE;
	for (i = r->buckets[bucket_of(r, key)]; i != NONE; i = r->ring[i].next)
		if (memcmp(r->ring[i].key, key, KEY_LEN) == 0)
			return i;
	return NONE;
}

/* Puts ring entry i at the head of its bucket's chain. */
static void
link_entry(struct replay *r, uint32_t i)
{
	size_t b = bucket_of(r, r->ring[i].key);

	r->ring[i].next = r->buckets[b];
	r->buckets[b] = i;
}

/* Drops the oldest entry from its bucket's chain and from the ring. */
static void
drop_oldest(struct replay *r)
{
	uint32_t *p = &r->buckets[bucket_of(r, r->ring[r->head].key)];

	while (*p != r->head)
		p = &r->ring[*p].next;
	*p = r->ring[r->head].next;
	r->head = (r->head + 1) & (r->cap - 1);
	r->count--;
}

static void
expire(struct replay *r, uint64_t now)
{
	/* An entry lives through its last instant: a copy passes the clock check up to it, inclusive. */
	while (r->count > 0 && r->ring[r->head].expires < now)
		drop_oldest(r);
}

/* Doubles the ring (up to max), keeping the entries in order. */
static int
grow(struct replay *r)
{
	size_t cap = r->cap ? r->cap * 2 : FIRST_CAP, i;
	struct entry *ring;
	uint32_t *buckets;

	if (cap > r->max)
		cap = r->max;
	/* The index arithmetic needs a power of two: round max down to one, if it was not. */
	while (cap & (cap - 1))
		cap &= cap - 1;
	if (cap <= r->cap)
		return CVPN_ERR_REPLAY_FULL;
	if ((ring = calloc(cap, sizeof(*ring))) == NULL || (buckets = malloc(cap * sizeof(*buckets))) == NULL) {
		free(ring);
		return CVPN_ERR_REPLAY_FULL;
	}
	for (i = 0; i < r->count; i++)
		ring[i] = r->ring[(r->head + i) & (r->cap - 1)];
	free(r->ring);
	free(r->buckets);
	r->ring = ring;
	r->buckets = buckets;
	r->cap = cap;
	r->head = 0;
	memset(buckets, 0xff, cap * sizeof(*buckets));
	for (i = 0; i < r->count; i++)
		link_entry(r, (uint32_t)i);
	return 0;
}

bool
replay_seen(struct replay *r, const uint8_t ephemeral[static REPLAY_EPHEMERAL_LEN])
{
	bool seen;

	pthread_mutex_lock(&r->lock);
	expire(r, r->clock());
	seen = find(r, ephemeral) != NONE;
	pthread_mutex_unlock(&r->lock);
	return seen;
}

int
replay_accept(struct replay *r, const uint8_t ephemeral[static REPLAY_EPHEMERAL_LEN],
    const uint8_t tai64n[static REPLAY_TAI64N_LEN])
{
	uint64_t now = r->clock(), t;
	uint32_t i;
	int err = 0;

	if (!tai64n_time(tai64n, &t) || t > now + r->window || t + r->window < now)
		return CVPN_ERR_STALE;
	pthread_mutex_lock(&r->lock);
	expire(r, now);
	if (find(r, ephemeral) != NONE)
		err = CVPN_ERR_REPLAY;
	else if (r->count == r->cap)
		err = grow(r);
	if (err == 0) {
		i = (uint32_t)((r->head + r->count) & (r->cap - 1));
		memcpy(r->ring[i].key, ephemeral, KEY_LEN);
		r->ring[i].expires = now + 2 * r->window;
		link_entry(r, i);
		r->count++;
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

size_t
replay_count(struct replay *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void
replay_free(struct replay *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->ring);
	free(r->buckets);
	free(r);
}
