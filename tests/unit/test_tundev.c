/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: TUN interfaces (common/tundev.c). Prefixes parse, print
 * and tell a network from a host; names that no interface may have are
 * refused before the kernel is asked. Without CAP_NET_ADMIN the open is
 * refused with what to grant; with it, in a child in a network namespace of
 * its own (so that nothing reaches the machine's), the kernel's refusals come
 * back as codes and lines: an address twice, a route with host bits, a route
 * that is not there; undo takes away what was added, and only that.
 * tests/integration/test_tundev.sh checks the same with `ip` from outside.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/wait.h>

#include "child.h"
#include "err.h"
#include "privdrop.h"
#include "tundev.h"

#define CHILD_TIMEOUT 30
#define WHY_MAX 300

static void
test_prefix_parse(void **state)
{
	static const char *const bad[] = { "", "/24", "10.8.0.1/", "10.8.0.1/33", "10.8.0.1/ 24", "10.8.0.1/+24",
		"10.8.0.1/0x18", "10.8.0.1/24/1", "300.1.1.1/8", "fd00::/129", "fd00::1/1000", "10.8.0.1 /24",
		"cvpn0", "10.8.0.1/-1" };
	struct tundev_prefix p, untouched = { .family = 99 };
	const uint8_t v4[4] = { 10, 8, 0, 1 };
	size_t i;

	(void)state;
	assert_int_equal(tundev_prefix_parse("10.8.0.1/24", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_memory_equal(p.addr, v4, 4);
	assert_int_equal(p.len, 24);
	assert_int_equal(tundev_prefix_parse("192.0.2.7", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(tundev_prefix_parse("fd00::1/64", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.addr[0], 0xfd);
	assert_int_equal(p.addr[15], 1);
	assert_int_equal(p.len, 64);
	assert_int_equal(tundev_prefix_parse("::", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(tundev_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.len, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = untouched;
		assert_int_equal(tundev_prefix_parse(bad[i], &p), CVPN_ERR_INVALID_ARG);
		assert_int_equal(p.family, 99);
	}
}

static void
test_prefix_format(void **state)
{
	static const char *const round[] = { "10.8.0.1/24", "0.0.0.0/0", "fd00::1/64", "::/0", "2001:db8::/32" };
	struct tundev_prefix p = { .family = AF_UNIX };
	char out[TUNDEV_PREFIX_TEXT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		assert_int_equal(tundev_prefix_parse(round[i], &p), 0);
		tundev_prefix_format(&p, out, sizeof(out));
		assert_string_equal(out, round[i]);
	}
	/* The longest address fits, with its length. */
	assert_int_equal(tundev_prefix_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", &p), 0);
	tundev_prefix_format(&p, out, sizeof(out));
	assert_string_equal(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	p.family = AF_UNIX;
	tundev_prefix_format(&p, out, sizeof(out));
	assert_string_equal(out, "?");
	/* Truncated, never overrun. */
	assert_int_equal(tundev_prefix_parse("10.8.0.1/24", &p), 0);
	tundev_prefix_format(&p, out, 5);
	assert_string_equal(out, "10.8");
}

static void
test_prefix_is_network(void **state)
{
	static const struct {
		const char *text;
		bool network;
	} cases[] = {
		{ "10.8.0.0/24", true }, { "10.8.0.1/24", false }, { "0.0.0.0/0", true }, { "10.0.0.0/0", false },
		{ "10.8.0.1/32", true }, { "10.8.0.128/25", true }, { "10.8.0.64/25", false }, { "10.8.0.0/23", true },
		{ "10.8.1.0/23", false }, { "fd00::/8", true }, { "fd00::1/64", false }, { "fd00::1/128", true },
		{ "2001:db8:0:1::/63", false }, { "2001:db8:0:2::/63", true },
	};
	struct tundev_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tundev_prefix_parse(cases[i].text, &p), 0);
		assert_int_equal(tundev_prefix_is_network(&p), cases[i].network);
	}
	p.family = AF_UNIX;
	assert_false(tundev_prefix_is_network(&p));
}

static void
test_bad_names(void **state)
{
	static const char *const bad[] = { "", "cvpn-much-too-long0", "a/b" };
	struct tundev *t = (struct tundev *)&t;
	char why[WHY_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(tundev_open(bad[i], &t, why, sizeof(why)), CVPN_ERR_INVALID_ARG);
		assert_non_null(strstr(why, "interface name"));
		assert_ptr_equal(t, (struct tundev *)&t);
	}
	assert_int_equal(tundev_open("", &t, NULL, 0), CVPN_ERR_INVALID_ARG);
	tundev_free(NULL);
}

/* Parses text, which the test wrote. */
static struct tundev_prefix
prefix(const char *text)
{
	struct tundev_prefix p = { 0 };

	(void)tundev_prefix_parse(text, &p);
	return p;
}

/*
 * In a network namespace of its own: opens, configures, meets the kernel's
 * refusals, undoes. Returns 0 or the number of the check that failed; 100
 * when no namespace could be had.
 */
static int
in_namespace(void *arg)
{
	struct tundev_prefix addr = prefix("10.77.0.1/24"), addr6 = prefix("fd77::1/64"), net = prefix("10.76.0.0/16");
	struct tundev_prefix host = prefix("10.75.0.1/16"), absent = prefix("10.74.0.0/16");
	char why[WHY_MAX] = "";
	struct tundev *t = NULL;
	int r = 0;

	(void)arg;
	if (unshare(CLONE_NEWNET) != 0)
		return 100;
	if (tundev_open(NULL, &t, why, sizeof(why)) != 0 || strncmp(tundev_name(t), "cvpn", 4) != 0)
		return 1;
	if (tundev_fd(t) < 0 || tundev_index(t) != if_nametoindex(tundev_name(t)))
		r = 2;
	else if (tundev_set_mtu(t, 1380, why, sizeof(why)) != 0 || tundev_set_up(t, true, why, sizeof(why)) != 0)
		r = 3;
	else if (tundev_add_address(t, &addr, why, sizeof(why)) != 0 || tundev_add_address(t, &addr6, why, sizeof(why)) != 0)
		r = 4;
	else if (tundev_add_address(t, &addr, why, sizeof(why)) != CVPN_ERR_SYSTEM || strstr(why, "File exists") == NULL)
		r = 5;
	else if (tundev_add_route(t, &net, why, sizeof(why)) != 0)
		r = 6;
	else if (tundev_add_route(t, &host, why, sizeof(why)) != CVPN_ERR_INVALID_ARG || strstr(why, "10.75.0.1/16") == NULL)
		r = 7;
	else if (tundev_del_route(t, &absent, why, sizeof(why)) != CVPN_ERR_SYSTEM || strstr(why, "10.74.0.0/16") == NULL)
		r = 8;
	else if (tundev_set_mtu(t, 10, why, sizeof(why)) != CVPN_ERR_SYSTEM || strstr(why, "MTU") == NULL)
		r = 9;
	else if (tundev_undo(t, why, sizeof(why)) != 0 || tundev_undo(t, why, sizeof(why)) != 0)
		r = 10;
	/* Undone: the address can be added again, and so can the route. */
	else if (tundev_add_address(t, &addr, why, sizeof(why)) != 0 || tundev_add_route(t, &net, why, sizeof(why)) != 0)
		r = 11;
	else if (tundev_del_route(t, &net, why, sizeof(why)) != 0 || tundev_add_route(t, &net, why, sizeof(why)) != 0)
		r = 12;
	tundev_free(t);
	return r;
}

static void
test_open(void **state)
{
	char why[WHY_MAX] = "";
	struct tundev *t = NULL;
	int status;

	(void)state;
	if (privdrop_check_tun("test", NULL, 0) != 0) {
		/* Refused, and told what to do; nothing was created. */
		assert_int_equal(tundev_open(NULL, &t, why, sizeof(why)), CVPN_ERR_PRIVILEGE);
		assert_non_null(strstr(why, "run as root"));
		assert_null(t);
		return;
	}
	status = child_run(in_namespace, NULL, CHILD_TIMEOUT);
	assert_true(WIFEXITED(status));
	/* CAP_NET_ADMIN without CAP_SYS_ADMIN (a setcap'd test) has no namespace to play in. */
	if (WEXITSTATUS(status) == 100)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_format),
		cmocka_unit_test(test_prefix_is_network),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests_name("tundev", tests, NULL, NULL);
}
