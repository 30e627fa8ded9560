/* SPDX-License-Identifier: MIT */
/* buf: appending within a cap, consuming, clearing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "err.h"

static void
test_append_and_consume(void **state)
{
	struct buf b = { 0 };
	char big[1000];

	(void)state;
	assert_int_equal(buf_append(&b, "hello", 5, 100), 0);
	assert_int_equal(buf_append(&b, " world", 6, 100), 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "world", 5);
	/* Growth past the first block keeps the contents. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(buf_append(&b, big, sizeof(big), 2000), 0);
	assert_int_equal(b.len, 1005);
	assert_memory_equal(b.data, "world", 5);
	assert_true(b.cap >= b.len);
	buf_consume(&b, 5000);
	assert_int_equal(b.len, 0);
	buf_clear(&b);
	assert_null(b.data);
	buf_clear(&b);
}

static void
test_cap(void **state)
{
	struct buf b = { 0 };

	(void)state;
	assert_int_equal(buf_append(&b, "12345", 5, 5), 0);
	assert_int_equal(buf_append(&b, "6", 1, 5), CVPN_ERR_TOO_LONG);
	assert_int_equal(b.len, 5);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX, 5), CVPN_ERR_TOO_LONG);
	assert_int_equal(buf_append(&b, "", 0, 5), 0);
	buf_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_consume),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
