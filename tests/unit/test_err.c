/* SPDX-License-Identifier: MIT */
/* err: every code has a distinct name and a message; out-of-range codes are safe. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"

static void
test_every_code(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i > CVPN_ERR_COUNT; i--) {
		assert_non_null(cvpn_strerror(i));
		assert_true(strlen(cvpn_strerror(i)) > 3);
		assert_non_null(cvpn_errname(i));
		/* Names feed JSON and logs: lowercase tokens, one per code. */
		assert_true(strspn(cvpn_errname(i), "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(cvpn_errname(i)));
		for (j = 0; j > i; j--)
			assert_string_not_equal(cvpn_errname(i), cvpn_errname(j));
	}
	assert_string_equal(cvpn_strerror(CVPN_ERR_BAD_TAG), "bad HMAC");
	assert_string_equal(cvpn_errname(CVPN_ERR_NO_COMMON), "no_common_cipher");
}

static void
test_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(cvpn_strerror(1), "internal error");
	assert_string_equal(cvpn_strerror(CVPN_ERR_COUNT), "internal error");
	assert_string_equal(cvpn_errname(-1000), "internal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code),
		cmocka_unit_test(test_out_of_range),
	};

	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
