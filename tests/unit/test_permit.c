/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: forwarding permits (common/permit.c). What an operator
 * writes is parsed strictly (a typo is refused, never read as something
 * wider); a host matches by its text, a name in any case and an address in
 * any spelling, and never by what it resolves to; the port matches exactly,
 * or any port only where "*" is written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <sys/socket.h>

#include "err.h"
#include "permit.h"

static struct permit
parsed(const char *text)
{
	struct permit p;

	assert_int_equal(permit_parse(text, strlen(text), &p), 0);
	return p;
}

/* Refused, and the output untouched. */
static void
refused(const char *text)
{
	struct permit p;

	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(permit_parse(text, strlen(text), &p), CVPN_ERR_INVALID_ARG);
	assert_int_equal((unsigned char)p.host[0], 0xa5);
}

static void
test_parse(void **state)
{
	struct permit p;

	(void)state;
	p = parsed("127.0.0.1:80");
	assert_string_equal(p.host, "127.0.0.1");
	assert_int_equal(p.port, 80);
	assert_int_equal(p.family, AF_INET);
	p = parsed("DB.Example.org:5432");
	assert_string_equal(p.host, "db.example.org");
	assert_int_equal(p.family, AF_UNSPEC);
	p = parsed("[::1]:22");
	assert_string_equal(p.host, "::1");
	assert_int_equal(p.port, 22);
	assert_int_equal(p.family, AF_INET6);
	p = parsed("host_1:*");
	assert_int_equal(p.port, 0);
	p = parsed("[2001:DB8::1]:65535");
	assert_string_equal(p.host, "2001:db8::1");
	assert_int_equal(p.port, 65535);
}

static void
test_parse_refuses(void **state)
{
	char longname[300];

	(void)state;
	refused("");
	refused("host");                /* no port */
	refused("host:");
	refused(":80");
	refused("host:0");
	refused("host:65536");
	refused("host:123456");
	refused("host:8o");
	refused("host:+80");
	refused("host:**");
	refused("*:80");                /* no wildcard host */
	refused("::1:22");              /* IPv6 without brackets */
	refused("[::1]");
	refused("[::1]22");
	refused("[::1:22");
	refused("[host]:22");           /* brackets hold an IPv6 address only */
	refused("[127.0.0.1]:22");
	refused("[fe80::1%eth0]:22");   /* no scope */
	refused("host name:80");
	refused("host,other:80");
	refused("h\xc3\xa9:80");        /* no IDN: the punycode form is what resolves */
	refused("host:80 ");
	memset(longname, 'a', 256);
	strcpy(longname + 256, ":80");
	refused(longname);
}

static void
test_match_names(void **state)
{
	struct permit p = parsed("db.example.org:5432");

	(void)state;
	assert_true(permit_match(&p, "db.example.org", 5432));
	assert_true(permit_match(&p, "DB.EXAMPLE.ORG", 5432));
	assert_false(permit_match(&p, "db.example.org", 5433));
	assert_false(permit_match(&p, "db.example.org.", 5432));
	assert_false(permit_match(&p, "db", 5432));
	assert_false(permit_match(&p, "x.db.example.org", 5432));
	assert_false(permit_match(&p, "db.example.org\xc3\xa9", 5432));
	assert_false(permit_match(&p, "", 5432));
}

/* An address equals itself in any spelling, and never a name, even "localhost". */
static void
test_match_addresses(void **state)
{
	struct permit v4 = parsed("127.0.0.1:80"), v6 = parsed("[::1]:22"), name = parsed("localhost:80");

	(void)state;
	assert_true(permit_match(&v4, "127.0.0.1", 80));
	assert_false(permit_match(&v4, "localhost", 80));
	assert_false(permit_match(&v4, "127.1", 80));          /* inet_aton would read it alike */
	assert_false(permit_match(&v4, "127.0.0.01", 80));
	assert_false(permit_match(&v4, "::ffff:127.0.0.1", 80)); /* another family */
	assert_false(permit_match(&v4, "127.0.0.2", 80));
	assert_true(permit_match(&v6, "::1", 22));
	assert_true(permit_match(&v6, "0:0:0:0:0:0:0:1", 22));
	assert_false(permit_match(&v6, "[::1]", 22));           /* the OPEN carries it bare */
	assert_false(permit_match(&v6, "::2", 22));
	assert_false(permit_match(&name, "127.0.0.1", 80));
	assert_true(permit_match(&name, "LocalHost", 80));
}

static void
test_any_port(void **state)
{
	struct permit p = parsed("10.0.0.5:*");

	(void)state;
	assert_true(permit_match(&p, "10.0.0.5", 1));
	assert_true(permit_match(&p, "10.0.0.5", 65535));
	assert_false(permit_match(&p, "10.0.0.6", 1));
}

static void
test_list(void **state)
{
	struct permit_list *l = permit_list_new();

	(void)state;
	assert_non_null(l);
	assert_false(permit_list_match(NULL, "127.0.0.1", 80));
	assert_false(permit_list_match(l, "127.0.0.1", 80));
	assert_int_equal(permit_list_count(NULL), 0);
	assert_int_equal(permit_list_add(l, "127.0.0.1:80", 12), 0);
	/* Only len bytes are read: a word inside a longer line. */
	assert_int_equal(permit_list_add(l, "db:5432 trailing", 7), 0);
	assert_int_equal(permit_list_add(l, "db:", 3), CVPN_ERR_INVALID_ARG);
	assert_int_equal(permit_list_count(l), 2);
	assert_true(permit_list_match(l, "127.0.0.1", 80));
	assert_true(permit_list_match(l, "db", 5432));
	assert_false(permit_list_match(l, "db", 80));
	assert_false(permit_list_match(l, "127.0.0.1", 5432));
	for (int i = 0; i < 100; i++)
		assert_int_equal(permit_list_add(l, "many:1", 6), 0);
	assert_int_equal(permit_list_count(l), 102);
	permit_list_free(l);
	permit_list_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_match_names),
		cmocka_unit_test(test_match_addresses),
		cmocka_unit_test(test_any_port),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
