/* SPDX-License-Identifier: MIT */
/* opt: one table feeds getopt_long and --help; number, time and choice parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "opt.h"

static const struct opt table[] = {
	{ "port", 'p', "PORT", "TCP port" },
	{ "quiet", 'q', NULL, "print less" },
	{ "hmac", 300, "MODE", "HMAC mode" },
};

static void
test_getopt_tables(void **state)
{
	struct option longopts[4];
	char shortopts[10];

	(void)state;
	opt_getopt(table, 3, longopts, shortopts);
	assert_string_equal(shortopts, "p:q");
	assert_string_equal(longopts[0].name, "port");
	assert_int_equal(longopts[0].has_arg, required_argument);
	assert_int_equal(longopts[1].has_arg, no_argument);
	assert_int_equal(longopts[2].val, 300);
	assert_null(longopts[3].name);
}

static char help[1024];

static void
collect(void *arg, const char *line)
{
	(void)arg;
	strncat(help, line, sizeof(help) - strlen(help) - 2);
	strcat(help, "\n");
}

static void
test_help(void **state)
{
	(void)state;
	help[0] = '\0';
	opt_help(table, 3, collect, NULL);
	assert_non_null(strstr(help, "  -p, --port PORT "));
	assert_non_null(strstr(help, "  -q, --quiet "));
	assert_non_null(strstr(help, "      --hmac MODE "));
	assert_non_null(strstr(help, "HMAC mode\n"));
}

static void
test_numbers(void **state)
{
	unsigned long v = 7;
	unsigned ms = 7;

	(void)state;
	assert_int_equal(opt_uint("4600", 0, 65535, &v), 0);
	assert_int_equal(v, 4600);
	assert_int_equal(opt_uint("65536", 0, 65535, &v), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_uint("-1", 0, 65535, &v), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_uint("12x", 0, 65535, &v), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_uint("", 0, 65535, &v), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_uint("99999999999999999999999", 0, 65535, &v), CVPN_ERR_INVALID_ARG);
	assert_int_equal(v, 4600);
	assert_int_equal(opt_seconds("30", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(opt_seconds("0.5", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(opt_seconds("0.0001", &ms), 0);
	assert_int_equal(ms, 1);
	assert_int_equal(opt_seconds("0", &ms), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_seconds("-3", &ms), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_seconds("1e9", &ms), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_seconds("nan", &ms), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_seconds("5s", &ms), CVPN_ERR_INVALID_ARG);
}

static void
test_choice(void **state)
{
	static const char *const modes[] = { "cumulative", "per-message", "auto" };
	int i = -1;

	(void)state;
	assert_int_equal(opt_choice("auto", modes, 3, &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(opt_choice("Auto", modes, 3, &i), CVPN_ERR_INVALID_ARG);
	assert_int_equal(opt_choice("", modes, 3, &i), CVPN_ERR_INVALID_ARG);
	assert_int_equal(i, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getopt_tables),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_choice),
	};

	return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
