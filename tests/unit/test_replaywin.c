/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the datagram replay window (common/replaywin.c) against a
 * plain set of every counter seen, on random arrival orders (seed printed):
 * each counter accepted exactly once while it is within REPLAYWIN_SIZE of
 * the highest, never when older, whatever the jumps ahead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replaywin.h"

#define SPAN 20000

static void
test_edges(void **state)
{
	struct replaywin w;

	(void)state;
	replaywin_init(&w);
	assert_true(replaywin_accept(&w, 0));
	assert_false(replaywin_accept(&w, 0));
	assert_true(replaywin_accept(&w, REPLAYWIN_SIZE));
	assert_false(replaywin_accept(&w, 0)); /* now exactly REPLAYWIN_SIZE behind: too old */
	assert_true(replaywin_accept(&w, 1));  /* REPLAYWIN_SIZE - 1 behind: still in */
	assert_false(replaywin_accept(&w, 1));
	/* A jump far ahead forgets everything behind the window. */
	assert_true(replaywin_accept(&w, 1000000));
	assert_false(replaywin_accept(&w, REPLAYWIN_SIZE));
	assert_true(replaywin_accept(&w, 1000000 - REPLAYWIN_SIZE + 1));
	assert_false(replaywin_accept(&w, 1000000 - REPLAYWIN_SIZE));
	assert_false(replaywin_accept(&w, UINT64_MAX));
	assert_true(replaywin_accept(&w, UINT64_MAX - 1));
	assert_false(replaywin_accept(&w, UINT64_MAX - 1));
}

/* Random arrivals: mostly near the top, some duplicates, some far behind, some jumps ahead. */
static void
test_against_model(void **state)
{
	static bool seen[SPAN * 4];
	unsigned seed = (unsigned)time(NULL);
	struct replaywin w;
	uint64_t top = 0, n;
	bool any = false;
	int i, round;

	(void)state;
	if (getenv("CVPN_SEED"))
		seed = (unsigned)strtoul(getenv("CVPN_SEED"), NULL, 10);
	printf("# replaywin: seed %u (CVPN_SEED=%u repeats it)\n", seed, seed);
	srand(seed);
	for (round = 0; round < 20; round++) {
		replaywin_init(&w);
		memset(seen, 0, sizeof(seen));
		top = 0;
		any = false;
		for (i = 0; i < SPAN; i++) {
			int pick = rand() % 10;

			if (pick < 6)
				n = top + (uint64_t)(rand() % 64);             /* a little ahead or just behind */
			else if (pick < 8)
				n = top > 3000 ? top - (uint64_t)(rand() % 3000) : 0; /* behind, near the edge */
			else if (pick < 9)
				n = top + (uint64_t)(rand() % 3000);           /* a jump */
			else
				n = top > 50 ? top - 50 : 0;                    /* a likely duplicate */
			if (n >= SPAN * 4)
				break;
			bool fresh = !seen[n];
			bool in_window = !any || n > top || top - n < REPLAYWIN_SIZE;
			bool expect = fresh && in_window;

			assert_int_equal(replaywin_accept(&w, n), expect);
			if (expect) {
				seen[n] = true;
				if (!any || n > top)
					top = n;
				any = true;
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests_name("replaywin", tests, NULL, NULL);
}
