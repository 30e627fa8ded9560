/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: the bounded text cursor (common/scan.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "scan.h"
#include "vectors.h"

static void
start(struct scan *sc, const char *text)
{
	scan_init(sc, text, strlen(text));
}

static void
expect_name(struct scan *sc, const char *want)
{
	const uint8_t *tok = NULL;
	size_t len = 0;

	assert_true(scan_name(sc, &tok, &len));
	assert_bytes_str(tok, len, want);
}

static void
expect_uint(struct scan *sc, unsigned max_digits, unsigned want)
{
	unsigned v = 0;

	assert_true(scan_uint(sc, max_digits, &v));
	assert_int_equal(v, want);
}

static void
test_tokens(void **state)
{
	struct scan sc;

	(void)state;
	start(&sc, "ProposedCiphers:DES3:[128,192]");
	assert_true(scan_word(&sc, "ProposedCiphers"));
	assert_true(scan_char(&sc, ':'));
	expect_name(&sc, "DES3");
	assert_true(scan_char(&sc, ':'));
	assert_false(scan_char(&sc, ']'));
	assert_true(scan_char(&sc, '['));
	expect_uint(&sc, 5, 128);
	assert_true(scan_char(&sc, ','));
	expect_uint(&sc, 5, 192);
	assert_false(scan_end(&sc));
	assert_true(scan_char(&sc, ']'));
	assert_true(scan_end(&sc));
	assert_false(scan_char(&sc, ']'));
}

static void
test_word_and_name(void **state)
{
	const uint8_t *tok;
	size_t len;
	struct scan sc;

	(void)state;
	start(&sc, "Propose");
	assert_false(scan_word(&sc, "ProposedCiphers")); /* input shorter than the word */
	assert_int_equal(sc.pos, 0);
	assert_false(scan_word(&sc, "proposed"));        /* case matters */
	assert_true(scan_word(&sc, "Propose"));
	assert_true(scan_end(&sc));

	start(&sc, "a_b-C9:x");
	expect_name(&sc, "a_b-C9");
	assert_false(scan_name(&sc, &tok, &len));
	assert_true(scan_char(&sc, ':'));
	expect_name(&sc, "x");
	assert_false(scan_name(&sc, &tok, &len));

	start(&sc, "");
	assert_false(scan_name(&sc, &tok, &len));
	assert_false(scan_word(&sc, "x"));
	assert_true(scan_word(&sc, ""));
	assert_true(scan_end(&sc));
}

static void
test_whitespace(void **state)
{
	struct scan sc;

	(void)state;
	start(&sc, " \t\r\n AES \r\n : \t 256 \n");
	expect_name(&sc, "AES");
	assert_true(scan_char(&sc, ':'));
	expect_uint(&sc, 3, 256);
	assert_true(scan_end(&sc));

	/* Only space, tab, CR and LF are whitespace; a NUL or a vertical tab is not. */
	scan_init(&sc, " \0", 2);
	assert_false(scan_end(&sc));
	assert_int_equal(sc.pos, 1);
	start(&sc, "\v");
	assert_false(scan_end(&sc));
}

static void
test_digit_limits(void **state)
{
	unsigned v = 7;
	struct scan sc;

	(void)state;
	start(&sc, "12345");
	expect_uint(&sc, 5, 12345);
	assert_true(scan_end(&sc));

	/* Too many digits: false, the digits stay for another try, *value untouched. */
	start(&sc, " 123456");
	assert_false(scan_uint(&sc, 5, &v));
	assert_int_equal(v, 7);
	expect_uint(&sc, 6, 123456);

	start(&sc, "12345678901234567890");
	assert_false(scan_uint(&sc, 5, &v));
	start(&sc, "9");
	assert_false(scan_uint(&sc, 0, &v));
	expect_uint(&sc, 1, 9);

	start(&sc, "4294967295");
	expect_uint(&sc, 10, 4294967295u);

	start(&sc, "007x");
	expect_uint(&sc, 3, 7);
	expect_name(&sc, "x");

	start(&sc, "x1");
	assert_false(scan_uint(&sc, 5, &v));
	start(&sc, "-1");
	assert_false(scan_uint(&sc, 5, &v));
	start(&sc, "");
	assert_false(scan_uint(&sc, 5, &v));
	assert_int_equal(v, 7);

	/* The cursor never reads past len, whatever follows in memory. */
	scan_init(&sc, "123456", 2);
	expect_uint(&sc, 5, 12);
	assert_true(scan_end(&sc));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_word_and_name),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_digit_limits),
	};

	return cmocka_run_group_tests_name("scan", tests, unit_setup, NULL);
}
