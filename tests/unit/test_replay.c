/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the replay guard of first handshake messages
 * (common/replay.c), on a clock the tests move: the window either side,
 * a copy refused while it could pass the clock check and forgotten after,
 * growth up to the most it may hold, and many threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "replay.h"

#define NS 1000000000ULL
#define WINDOW 120

static uint64_t fake_now = 1700000000ULL * NS;

static uint64_t
fake_clock(void)
{
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

/* A distinct ephemeral key for each n. */
static void
ephemeral(uint32_t n, uint8_t out[static REPLAY_EPHEMERAL_LEN])
{
	memset(out, 0, REPLAY_EPHEMERAL_LEN);
	for (int i = 0; i < 4; i++) {
		out[i] = (uint8_t)(n >> (8 * i));          /* the hash bucket */
		out[8 + i] = (uint8_t)(n >> (8 * (3 - i))); /* and more key bytes */
	}
}

static struct replay *
guard(size_t max)
{
	struct replay *r = NULL;

	assert_int_equal(replay_new(WINDOW, max, fake_clock, &r), 0);
	return r;
}

static void
test_tai64n(void **state)
{
	uint8_t t[REPLAY_TAI64N_LEN];

	(void)state;
	/* 2^62 + 10 + the Unix seconds, then the nanoseconds, as WireGuard writes it. */
	replay_tai64n(1 * NS + 5, t);
	assert_memory_equal(t, "\x40\x00\x00\x00\x00\x00\x00\x0b\x00\x00\x00\x05", REPLAY_TAI64N_LEN);
	assert_true(replay_wall_clock() > 1700000000ULL * NS);
}

/* Times at and just beyond the window on both sides, and labels that cannot be times. */
static void
test_window(void **state)
{
	static const struct {
		int64_t offset_ms;
		int err;
	} cases[] = {
		{ 0, 0 }, { -WINDOW * 1000, 0 }, { WINDOW * 1000, 0 },
		{ -WINDOW * 1000 - 1, CVPN_ERR_STALE }, { WINDOW * 1000 + 1, CVPN_ERR_STALE },
		{ -3600 * 1000, CVPN_ERR_STALE },
	};
	struct replay *r = guard(1024);
	uint8_t e[REPLAY_EPHEMERAL_LEN], t[REPLAY_TAI64N_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ephemeral((uint32_t)i, e);
		replay_tai64n(fake_now + (uint64_t)(cases[i].offset_ms * 1000000), t);
		assert_int_equal(replay_accept(r, e, t), cases[i].err);
	}
	/* Nanoseconds of a second or more, and a label before TAI64's Unix epoch. */
	replay_tai64n(fake_now, t);
	memcpy(t + 8, "\x3b\x9a\xca\x00", 4);
	ephemeral(100, e);
	assert_int_equal(replay_accept(r, e, t), CVPN_ERR_STALE);
	memset(t, 0, sizeof(t));
	assert_int_equal(replay_accept(r, e, t), CVPN_ERR_STALE);
	assert_int_equal(replay_count(r), 3);
	replay_free(r);
}

/*
 * A copy is refused, by its ephemeral, for as long as it could pass the
 * clock check: two windows after the original arrived, stepped through
 * second by second; then it is forgotten, and its time alone refuses it.
 */
static void
test_copy_refused_while_it_could_pass(void **state)
{
	struct replay *r = guard(1024);
	uint8_t e[REPLAY_EPHEMERAL_LEN], t[REPLAY_TAI64N_LEN];
	uint64_t start = fake_now, s;

	(void)state;
	ephemeral(7, e);
	/* A client clock one window ahead: the longest its message can pass. */
	replay_tai64n(start + WINDOW * NS, t);
	assert_false(replay_seen(r, e));
	assert_int_equal(replay_accept(r, e, t), 0);
	for (s = 0; s <= 2 * WINDOW; s++) {
		fake_now = start + s * NS;
		assert_true(replay_seen(r, e));
		assert_int_equal(replay_accept(r, e, t), CVPN_ERR_REPLAY);
	}
	fake_now = start + 2 * WINDOW * NS + 1;
	assert_false(replay_seen(r, e));
	assert_int_equal(replay_count(r), 0);
	assert_int_equal(replay_accept(r, e, t), CVPN_ERR_STALE);
	fake_now = start;
	replay_free(r);
}

/* It grows as needed up to its most, refuses more while all are recent, and frees up as they expire. */
static void
test_growth_and_full(void **state)
{
	struct replay *r = guard(4096);
	uint8_t e[REPLAY_EPHEMERAL_LEN], t[REPLAY_TAI64N_LEN];
	uint64_t start = fake_now;
	uint32_t n;

	(void)state;
	replay_tai64n(fake_now, t);
	for (n = 0; n < 4096; n++) {
		ephemeral(n, e);
		assert_int_equal(replay_accept(r, e, t), 0);
	}
	for (n = 0; n < 4096; n += 97) {
		ephemeral(n, e);
		assert_true(replay_seen(r, e));
	}
	ephemeral(5000, e);
	assert_false(replay_seen(r, e));
	assert_int_equal(replay_accept(r, e, t), CVPN_ERR_REPLAY_FULL);
	fake_now = start + 2 * WINDOW * NS + 1;
	replay_tai64n(fake_now, t);
	assert_int_equal(replay_accept(r, e, t), 0);
	assert_int_equal(replay_count(r), 1);
	fake_now = start;
	replay_free(r);
}

struct worker {
	struct replay *r;
	uint32_t base;
	unsigned accepted, refused;
};

static void *
race(void *arg)
{
	struct worker *w = arg;
	uint8_t e[REPLAY_EPHEMERAL_LEN], t[REPLAY_TAI64N_LEN];

	replay_tai64n(fake_clock(), t);
	for (uint32_t n = 0; n < 2000; n++) {
		/* Every thread offers the same 1000 ephemerals, and 1000 of its own. */
		ephemeral(n % 2 ? n : w->base + n, e);
		if (replay_accept(w->r, e, t) == 0)
			w->accepted++;
		else
			w->refused++;
	}
	return NULL;
}

/* Four threads at once: each shared ephemeral is accepted exactly once. */
static void
test_threads(void **state)
{
	struct worker w[4];
	pthread_t th[4];
	unsigned accepted = 0;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ .r = i == 0 ? guard(1 << 16) : w[0].r, .base = (uint32_t)(i + 1) << 20 };
		assert_int_equal(pthread_create(&th[i], NULL, race, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		accepted += w[i].accepted;
	}
	assert_int_equal(accepted, 4 * 1000 + 1000);
	assert_int_equal(replay_count(w[0].r), 5000);
	replay_free(w[0].r);
}

static void
test_new_invalid(void **state)
{
	struct replay *r = NULL;

	(void)state;
	assert_int_equal(replay_new(0, 16, NULL, &r), CVPN_ERR_INVALID_ARG);
	assert_int_equal(replay_new(REPLAY_WINDOW_MAX + 1, 16, NULL, &r), CVPN_ERR_INVALID_ARG);
	assert_int_equal(replay_new(WINDOW, 0, NULL, &r), CVPN_ERR_INVALID_ARG);
	assert_null(r);
	replay_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tai64n),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_copy_refused_while_it_could_pass),
		cmocka_unit_test(test_growth_and_full),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_new_invalid),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
