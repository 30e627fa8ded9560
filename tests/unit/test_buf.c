/* SPDX-License-Identifier: MIT */
/* buf: appending and reserving within a cap, consuming, resetting, clearing. */
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

static void
test_reserve_unreserve(void **state)
{
	struct buf b = { 0 };
	uint8_t *p = NULL;

	(void)state;
	assert_int_equal(buf_append(&b, "head", 4, 64), 0);
	assert_int_equal(buf_reserve(&b, 6, 64, &p), 0);
	assert_ptr_equal(p, b.data + 4);
	assert_int_equal(b.len, 10);
	memcpy(p, "secret", 6);
	/* Taken back: gone from the buffer and wiped where it stood. */
	buf_unreserve(&b, 6);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "head", 4);
	assert_int_equal(memcmp(b.data + 4, "secret", 6) != 0, 1);
	assert_int_equal(buf_reserve(&b, 61, 64, &p), CVPN_ERR_TOO_LONG);
	assert_int_equal(b.len, 4);
	buf_clear(&b);
}

static void
test_reset_keeps_storage(void **state)
{
	struct buf b = { 0 };
	uint8_t *data;
	size_t cap;

	(void)state;
	assert_int_equal(buf_append(&b, "plaintext", 9, 64), 0);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	/* Same storage, nothing of the old contents left in it. */
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_int_equal(memcmp(data, "plaintext", 9) != 0, 1);
	assert_int_equal(buf_append(&b, "x", 1, 64), 0);
	assert_ptr_equal(b.data, data);
	buf_clear(&b);
	buf_reset(&b); /* an empty buffer too */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_consume),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_reserve_unreserve),
		cmocka_unit_test(test_reset_keeps_storage),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
