/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: hex and UTF-8 helpers (common/text.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vectors.h"

/* A byte string with an explicit length, so that tables can hold NULs. */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

static void
test_hex(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(bytes) + 2];

	(void)state;
	memset(out, 'X', sizeof(out));
	text_hex(out, bytes, sizeof(bytes));
	assert_string_equal(out, "00017f80abff");
	assert_int_equal(out[sizeof(out) - 1], 'X');
	text_hex(out, bytes, 0);
	assert_string_equal(out, "");
}

static void
test_is_lower_hex(void **state)
{
	static const struct {
		const uint8_t *p;
		size_t n;
		bool ok;
	} cases[] = {
		{ BYTES("0123456789abcdef"), true },
		{ BYTES(""), true },
		{ BYTES("ABCDEF"), false },
		{ BYTES("abcdeF"), false },
		{ BYTES("g"), false },
		{ BYTES("/"), false },
		{ BYTES(":"), false },
		{ BYTES("`"), false },
		{ BYTES("ab\0"), false },
		{ BYTES("ab cd"), false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(text_is_lower_hex(cases[i].p, cases[i].n), cases[i].ok);
}

/*
 * Every byte value at every position of a 64-byte tag of hex digits (the
 * words of eight and the tail of a 67-byte run alike): only the sixteen
 * lowercase digits keep it hex, whatever the word arithmetic does.
 */
static void
test_is_lower_hex_every_byte(void **state)
{
	uint8_t run[67];
	size_t n, pos, i;
	int c;

	(void)state;
	for (i = 0; i < sizeof(run); i++)
		run[i] = (uint8_t)"0123456789abcdef"[(i * 7) % 16];
	for (n = 64; n <= sizeof(run); n += sizeof(run) - 64) {
		assert_true(text_is_lower_hex(run, n));
		for (pos = 0; pos < n; pos++) {
			uint8_t keep = run[pos];

			for (c = 0; c < 256; c++) {
				bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');

				run[pos] = (uint8_t)c;
				assert_int_equal(text_is_lower_hex(run, n), digit);
			}
			run[pos] = keep;
		}
	}
}

static void
test_utf8_valid(void **state)
{
	static const struct {
		const uint8_t *p;
		size_t n;
		bool ok;
	} cases[] = {
		{ BYTES(""), true },
		{ BYTES("hello"), true },
		{ BYTES("\0"), true },
		{ BYTES("h\xc3\xa9llo"), true },          /* U+00E9 */
		{ BYTES("\xc2\x80"), true },               /* U+0080, smallest 2-byte */
		{ BYTES("\xe0\xa0\x80"), true },           /* U+0800, smallest 3-byte */
		{ BYTES("\xe2\x82\xac"), true },           /* U+20AC */
		{ BYTES("\xed\x9f\xbf"), true },           /* U+D7FF, below the surrogates */
		{ BYTES("\xee\x80\x80"), true },           /* U+E000, above the surrogates */
		{ BYTES("\xf0\x90\x80\x80"), true },       /* U+10000, smallest 4-byte */
		{ BYTES("\xf0\x9f\x98\x80"), true },       /* U+1F600 */
		{ BYTES("\xf4\x8f\xbf\xbf"), true },       /* U+10FFFF */
		{ BYTES("\xc0\x80"), false },              /* overlong NUL */
		{ BYTES("\xc1\xbf"), false },              /* overlong U+007F */
		{ BYTES("\xe0\x80\xaf"), false },          /* overlong '/' */
		{ BYTES("\xe0\x9f\xbf"), false },          /* overlong U+07FF */
		{ BYTES("\xf0\x80\x80\xaf"), false },      /* overlong '/' */
		{ BYTES("\xf0\x8f\xbf\xbf"), false },      /* overlong U+FFFF */
		{ BYTES("\xed\xa0\x80"), false },          /* U+D800 */
		{ BYTES("\xed\xbf\xbf"), false },          /* U+DFFF */
		{ BYTES("\xed\xa0\xbd\xed\xb8\x80"), false }, /* CESU-8 surrogate pair */
		{ BYTES("\xf4\x90\x80\x80"), false },      /* U+110000 */
		{ BYTES("\xf5\x80\x80\x80"), false },
		{ BYTES("\xf8\x88\x80\x80\x80"), false },  /* 5-byte form */
		{ BYTES("\xff"), false },
		{ BYTES("\xfe"), false },
		{ BYTES("\x80"), false },                  /* lone continuation */
		{ BYTES("a\xbf"), false },
		{ BYTES("\xc3"), false },                  /* truncated 2-byte */
		{ BYTES("\xe2\x82"), false },              /* truncated 3-byte */
		{ BYTES("\xf0\x9f\x98"), false },          /* truncated 4-byte */
		{ BYTES("ok\xf0\x9f"), false },
		{ BYTES("\xc3\x28"), false },              /* bad continuation */
		{ BYTES("\xe2\x28\xac"), false },
		{ BYTES("\xf0\x9f\x28\x80"), false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (text_utf8_valid(cases[i].p, cases[i].n) != cases[i].ok)
			fail_msg("case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
	}
	/* Cut short where the bytes that follow in memory would complete the sequence. */
	assert_false(text_utf8_valid((const uint8_t *)"\xc3\xa9", 1));
	assert_false(text_utf8_valid((const uint8_t *)"\xe2\x82\xac", 2));
	assert_false(text_utf8_valid((const uint8_t *)"ab\xf0\x9f\x98\x80", 5));
}

static void
test_utf8_reverse(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "a", "a" },
		{ "hello", "olleh" },
		{ "h\xc3\xa9llo", "oll\xc3\xa9h" },                          /* héllo -> olléh */
		{ "a\xf0\x9f\x98\x80" "b", "b\xf0\x9f\x98\x80" "a" },        /* 4-byte emoji keeps its bytes */
		{ "\xe2\x82\xac" "1\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" "1\xe2\x82\xac" },
		{ "\xf4\x8f\xbf\xbf\xc2\x80", "\xc2\x80\xf4\x8f\xbf\xbf" },
	};
	uint8_t out[32];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].in);
		memset(out, 'X', sizeof(out));
		text_utf8_reverse(out, (const uint8_t *)cases[i].in, n);
		assert_bytes_str(out, n, cases[i].out);
		assert_int_equal(out[n], 'X');
	}
}

/*
 * The word-at-a-time paths: long ASCII runs with multi-byte characters and
 * bad bytes at every offset, against a character-by-character reference.
 */
static void
test_utf8_long_runs(void **state)
{
	static const char *const pieces[] = { "a", "bcdefgh", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "0123456789" };
	uint8_t in[256], out[256], want[256];
	size_t n, i, k, len[256], nch;
	unsigned seed = 7;

	(void)state;
	for (int round = 0; round < 500; round++) {
		n = nch = 0;
		while (n < 180) {
			const char *pc = pieces[((seed = seed * 1103515245 + 12345) >> 16) % 6];
			size_t m = strlen(pc);

			memcpy(in + n, pc, m);
			n += m;
			/* An ASCII piece is that many characters; the others are one. */
			for (i = 0; i < ((uint8_t)pc[0] < 0x80 ? m : 1); i++)
				len[nch++] = (uint8_t)pc[0] < 0x80 ? 1 : m;
		}
		/* The reference: each character's bytes, last character first. */
		for (i = 0, k = 0; i < nch; i++) {
			k += len[i];
			memcpy(want + n - k, in + k - len[i], len[i]);
		}
		assert_true(text_utf8_valid(in, n));
		text_utf8_reverse(out, in, n);
		assert_memory_equal(out, want, n);
		/* A bad byte anywhere, even deep in an ASCII run, is caught. */
		k = (seed >> 8) % n;
		in[k] = 0xff;
		assert_false(text_utf8_valid(in, n));
	}
	/* A sequence cut short right after eight ASCII bytes. */
	assert_false(text_utf8_valid((const uint8_t *)"abcdefgh\xc3", 9));
	assert_true(text_utf8_valid((const uint8_t *)"abcdefgh\xc3\xa9", 10));
}

static void
test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "hello", "hello" },
		{ "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93" },  /* UTF-8 text stays */
		{ "a\x1b[2Jb", "a\\x1b[2Jb" },                              /* ESC: no terminal control */
		{ "line\rFAKE\nx", "line\\x0dFAKE\\x0ax" },                 /* no forged log lines */
		{ "\x7f", "\\x7f" },
		{ "\xc2\x9b" "1m", "\\u009b1m" },                            /* C1 CSI as a code point */
		{ "bad\xff\xc3\xa9", "bad\\xff\\xc3\\xa9" },                 /* not UTF-8: every high byte */
		{ "\\quit", "\\quit" },                                     /* backslashes stay as typed */
		{ "", "" },
	};
	char out[64], *dup;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = text_escape(out, sizeof(out), (const uint8_t *)cases[i].in, strlen(cases[i].in));
		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
		dup = text_escape_dup((const uint8_t *)cases[i].in, strlen(cases[i].in));
		assert_string_equal(dup, cases[i].out);
		free(dup);
	}
	/* A short buffer is truncated but terminated, and the full length reported. */
	n = text_escape(out, 4, (const uint8_t *)"abcdef", 6);
	assert_string_equal(out, "abc");
	assert_int_equal(n, 6);
	assert_int_equal(text_escape(NULL, 0, (const uint8_t *)"\x01", 1), 4);
}

/* JSON strings: quotes, backslashes and controls escaped; bytes of text that is not UTF-8 as \u00XX. */
static void
test_json_string(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "a\"b\\c\nd\te\x7f", "\"a\\\"b\\\\c\\nd\\u0009e\\u007f\"" },
		{ "\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"" },       /* valid UTF-8 passes as is */
		{ "\xc3\xa9\xff", "\"\\u00c3\\u00a9\\u00ff\"" },   /* not UTF-8: every high byte escaped */
	};
	char buf[128];
	size_t i, n;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(f = tmpfile());
		text_json_string(f, cases[i].in, strlen(cases[i].in));
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		assert_string_equal(buf, cases[i].out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_is_lower_hex),
		cmocka_unit_test(test_is_lower_hex_every_byte),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_reverse),
		cmocka_unit_test(test_utf8_long_runs),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_json_string),
	};

	return cmocka_run_group_tests_name("text", tests, unit_setup, NULL);
}
