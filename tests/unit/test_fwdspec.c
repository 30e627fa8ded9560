/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: --forward and --socks specifications (common/fwdspec.c).
 * The forms ssh -L and -D take, IPv6 in brackets, the default and the
 * wildcard listening address; every malformed form refused with a reason;
 * every prefix and every one-byte change of a valid one either parses to
 * something the format allows or is refused, never read past its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fwdspec.h"

static const struct {
	const char *text;
	const char *bind;
	uint16_t bind_port;
	const char *host;
	uint16_t port;
} forwards[] = {
	{ "8080:example.com:80", "127.0.0.1", 8080, "example.com", 80 },
	{ "0.0.0.0:8080:10.0.0.1:22", "0.0.0.0", 8080, "10.0.0.1", 22 },
	{ "localhost:1:a:65535", "localhost", 1, "a", 65535 },
	{ "0:web:443", "127.0.0.1", 0, "web", 443 },
	{ "*:8080:web:80", "", 8080, "web", 80 },
	{ ":8080:web:80", "", 8080, "web", 80 },
	{ "[::1]:8080:[2001:db8::1]:80", "::1", 8080, "2001:db8::1", 80 },
	{ "8080:[::1]:80", "127.0.0.1", 8080, "::1", 80 },
	{ "[::]:65535:host:00080", "::", 65535, "host", 80 },
	{ "8080:h\xc3\xa9te:80", "127.0.0.1", 8080, "h\xc3\xa9te", 80 },
};

static const struct {
	const char *text;
	const char *why;        /* a word the reason must hold */
} bad_forwards[] = {
	{ "", "expected" },
	{ "8080", "expected" },
	{ "8080:host", "expected" },
	{ "a:b:c:d:e", "too many" },
	{ "::1:8080:host:80", "too many" },
	{ "8080:2001:db8::1:80", "too many" },
	{ "x:host:80", "local port" },
	{ "65536:host:80", "local port" },
	{ "-1:host:80", "local port" },
	{ "123456:host:80", "local port" },
	{ "8080:host:0", "destination port" },
	{ "8080:host:65536", "destination port" },
	{ "8080:host:", "destination port" },
	{ "8080:host:8a", "destination port" },
	{ "8080::80", "empty host" },
	{ "8080:[]:80", "empty host" },
	{ "8080:[example.com]:80", "IPv6" },
	{ "[127.0.0.1]:8080:host:80", "IPv6" },
	{ "8080:[::1:80", "without its ']'" },
	{ "8080:[::1]x:80", "not followed by ':'" },
	{ "8080:ho]st:80", "bracket" },
	{ "8080:ho\tst:80", "control" },
	{ "8080:\xff:80", "UTF-8" },
	{ "8080:[::1]:[80]", "destination port" },
};

static void
test_forward_valid(void **state)
{
	struct fwdspec s;
	const char *why = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++) {
		assert_int_equal(fwdspec_forward(forwards[i].text, &s, &why), 0);
		assert_string_equal(s.bind, forwards[i].bind);
		assert_int_equal(s.bind_port, forwards[i].bind_port);
		assert_string_equal(s.host, forwards[i].host);
		assert_int_equal(s.port, forwards[i].port);
		assert_null(why);
	}
}

static void
test_forward_invalid(void **state)
{
	struct fwdspec s = { .port = 7 };
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_forwards) / sizeof(bad_forwards[0]); i++) {
		why = NULL;
		assert_int_equal(fwdspec_forward(bad_forwards[i].text, &s, &why), CVPN_ERR_INVALID_ARG);
		assert_non_null(why);
		if (strstr(why, bad_forwards[i].why) == NULL)
			fail_msg("'%s': reason '%s' does not say '%s'", bad_forwards[i].text, why, bad_forwards[i].why);
		assert_int_equal(s.port, 7); /* untouched */
	}
}

static void
test_forward_long_host(void **state)
{
	char text[600], *p = text;
	struct fwdspec s;
	const char *why;

	(void)state;
	p += sprintf(p, "1:");
	memset(p, 'h', 255);
	strcpy(p + 255, ":2");
	assert_int_equal(fwdspec_forward(text, &s, &why), 0);
	assert_int_equal(strlen(s.host), 255);
	memset(p, 'h', 256);
	strcpy(p + 256, ":2");
	assert_int_equal(fwdspec_forward(text, &s, &why), CVPN_ERR_INVALID_ARG);
	assert_non_null(strstr(why, "longer than 255"));
	memset(text, 'b', 256);
	strcpy(text + 256, ":1:h:2");
	assert_int_equal(fwdspec_forward(text, &s, &why), CVPN_ERR_INVALID_ARG);
}

static void
test_socks(void **state)
{
	static const struct {
		const char *text;
		int r;
		const char *bind;
		uint16_t port;
	} cases[] = {
		{ "1080", 0, "127.0.0.1", 1080 },
		{ "0", 0, "127.0.0.1", 0 },
		{ "*:1080", 0, "", 1080 },
		{ ":1080", 0, "", 1080 },
		{ "[::1]:1080", 0, "::1", 1080 },
		{ "192.0.2.7:9", 0, "192.0.2.7", 9 },
		{ "", CVPN_ERR_INVALID_ARG, NULL, 0 },
		{ "x", CVPN_ERR_INVALID_ARG, NULL, 0 },
		{ "65536", CVPN_ERR_INVALID_ARG, NULL, 0 },
		{ "[::1]", CVPN_ERR_INVALID_ARG, NULL, 0 },
		{ "::1:1080", CVPN_ERR_INVALID_ARG, NULL, 0 },
		{ "a:1080:b", CVPN_ERR_INVALID_ARG, NULL, 0 },
		{ "[nope]:1080", CVPN_ERR_INVALID_ARG, NULL, 0 },
	};
	struct fwdspec s;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		memset(&s, 0x55, sizeof(s));
		assert_int_equal(fwdspec_socks(cases[i].text, &s, &why), cases[i].r);
		if (cases[i].r != 0) {
			assert_non_null(why);
			continue;
		}
		assert_string_equal(s.bind, cases[i].bind);
		assert_int_equal(s.bind_port, cases[i].port);
		assert_string_equal(s.host, "");
		assert_int_equal(s.port, 0);
	}
}

/* What any parse that succeeds must hold, whatever the input. */
static void
check_result(int r, const struct fwdspec *s, const char *why, bool forward)
{
	if (r != 0) {
		assert_int_equal(r, CVPN_ERR_INVALID_ARG);
		assert_non_null(why);
		return;
	}
	assert_true(strlen(s->bind) <= FWDSPEC_HOST_MAX);
	assert_true(strlen(s->host) <= FWDSPEC_HOST_MAX);
	assert_true(forward ? strlen(s->host) > 0 && s->port != 0 : s->host[0] == '\0' && s->port == 0);
}

/* Every prefix, and every byte of each spec changed to every value, in an exact-size buffer. */
static void
sweep(const char *text, bool forward)
{
	size_t n = strlen(text), cut, pos;
	struct fwdspec s;
	const char *why;
	char *q;
	int b, r;

	for (cut = 0; cut <= n; cut++) {
		assert_non_null(q = malloc(cut + 1));
		memcpy(q, text, cut);
		q[cut] = '\0';
		why = NULL;
		r = forward ? fwdspec_forward(q, &s, &why) : fwdspec_socks(q, &s, &why);
		check_result(r, &s, why, forward);
		free(q);
	}
	for (pos = 0; pos < n; pos++) {
		for (b = 1; b < 256; b++) {
			assert_non_null(q = strdup(text));
			q[pos] = (char)b;
			why = NULL;
			r = forward ? fwdspec_forward(q, &s, &why) : fwdspec_socks(q, &s, &why);
			check_result(r, &s, why, forward);
			free(q);
		}
	}
}

static void
test_sweeps(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++)
		sweep(forwards[i].text, true);
	sweep("[::1]:1080", false);
	sweep("127.0.0.1:1080", false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_valid),
		cmocka_unit_test(test_forward_invalid),
		cmocka_unit_test(test_forward_long_host),
		cmocka_unit_test(test_socks),
		cmocka_unit_test(test_sweeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
