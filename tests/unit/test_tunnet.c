/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the IP tunnel's network (common/tunnet.c), its
 * configuration list (common/tunconf.c) and the packets' addresses
 * (common/ippkt.c). The network: the server's address, fixed addresses
 * never leased, leases that start where the key points and fill the whole
 * network, then run out; holders for routing. The list: written and read
 * back, unknown types skipped, every malformed item refused. The packets:
 * IPv4 addresses read, anything else refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dgram_wire.h"
#include "err.h"
#include "ippkt.h"
#include "tunconf.h"
#include "tunnet.h"

#define NET 0x0a4d0000u /* 10.77.0.0 */

static void
test_network(void **state)
{
	struct tunnet *t = NULL;

	(void)state;
	assert_int_equal(tunnet_new(NET, 15, &t), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunnet_new(NET, 30, &t), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunnet_new(NET + 1, 24, &t), CVPN_ERR_INVALID_ARG);
	assert_null(t);
	assert_int_equal(tunnet_new(NET, 24, &t), 0);
	assert_int_equal(tunnet_network(t), NET);
	assert_int_equal(tunnet_prefix(t), 24);
	assert_int_equal(tunnet_server(t), NET + 1);
	assert_true(tunnet_contains(t, NET));
	assert_true(tunnet_contains(t, NET + 255));
	assert_false(tunnet_contains(t, NET + 256));
	assert_false(tunnet_contains(t, NET - 1));
	/* Neither the network's address, the server's, the broadcast nor another network's may be fixed. */
	assert_int_equal(tunnet_fix(t, NET), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunnet_fix(t, NET + 1), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunnet_fix(t, NET + 255), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunnet_fix(t, NET + 256), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunnet_fix(t, NET + 5), 0);
	assert_int_equal(tunnet_fix(t, NET + 5), CVPN_ERR_STATE);
	tunnet_free(t);
	tunnet_free(NULL);
}

static void
test_leases(void **state)
{
	struct tunnet *t = NULL;
	uint8_t key[32] = { 0 };
	uint32_t a = 0, first = 0, b;
	int holder = 7, i;

	(void)state;
	assert_int_equal(tunnet_new(NET, 28, &t), 0); /* 16 addresses: 13 for clients */
	assert_int_equal(tunnet_fix(t, NET + 4), 0);
	/* A key leads to the same address each time it is free. */
	key[3] = 3;
	assert_int_equal(tunnet_lease(t, key, &first), 0);
	tunnet_release(t, first);
	assert_int_equal(tunnet_lease(t, key, &a), 0);
	assert_int_equal(a, first);
	assert_int_equal(tunnet_leased(t), 1);
	/* The holder is for routing; nobody holds a free address. */
	assert_null(tunnet_holder(t, a));
	tunnet_set_holder(t, a, &holder);
	assert_ptr_equal(tunnet_holder(t, a), &holder);
	tunnet_set_holder(t, NET + 9, &holder);
	assert_true(NET + 9 == a || tunnet_holder(t, NET + 9) == NULL);
	tunnet_set_holder(t, NET + 4, &holder);
	assert_ptr_equal(tunnet_holder(t, NET + 4), &holder);
	/* The same key again gets the next free one; 12 leases fill the network with the fixed one. */
	for (i = 1; i < 12; i++) {
		assert_int_equal(tunnet_lease(t, key, &b), 0);
		assert_true(b >= NET + 2 && b <= NET + 14);
		assert_int_not_equal(b, NET + 4);
		assert_int_not_equal(b, a);
		assert_null(tunnet_holder(t, b));
	}
	assert_int_equal(tunnet_leased(t), 12);
	assert_int_equal(tunnet_lease(t, key, &b), CVPN_ERR_BUSY);
	/* A released lease is free again, its holder forgotten; a fixed address stays set aside. */
	tunnet_release(t, a);
	assert_null(tunnet_holder(t, a));
	tunnet_release(t, NET + 4);
	assert_null(tunnet_holder(t, NET + 4));
	assert_int_equal(tunnet_fix(t, NET + 4), CVPN_ERR_STATE);
	assert_int_equal(tunnet_lease(t, key, &b), 0);
	assert_int_equal(b, a);
	tunnet_free(t);
}

static void
test_config_roundtrip(void **state)
{
	struct tunconf c = { .address = NET + 2, .prefix = 24, .mtu = 1420, .keepalive_s = 25, .nroutes = 2,
	    .routes = { { 0xc0a80000u, 16 }, { 0, 1 } } }, got;
	uint8_t buf[DGRAM_CONFIG_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(tunconf_write(&c, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 7 + 4 + 7 + 7 + 4);
	assert_int_equal(buf[0], DGRAM_CONFIG_ADDRESS);
	assert_int_equal(buf[1], 5);
	assert_memory_equal(buf + 2, "\x0a\x4d\x00\x02\x18", 5);
	assert_int_equal(tunconf_read(buf, n, &got), 0);
	assert_true(tunconf_equal(&c, &got));
	got.routes[1].prefix = 2;
	assert_false(tunconf_equal(&c, &got));
	/* Too little room is refused, as a configuration that could not be read back. */
	assert_int_equal(tunconf_write(&c, buf, 10, &n), CVPN_ERR_TOO_LONG);
	c.routes[0].network |= 1;
	assert_int_equal(tunconf_write(&c, buf, sizeof(buf), &n), CVPN_ERR_INVALID_ARG);
	c.routes[0].network &= ~1u;
	c.mtu = 100;
	assert_int_equal(tunconf_write(&c, buf, sizeof(buf), &n), CVPN_ERR_INVALID_ARG);
	/* The most routes fit in RESPONSE. */
	memset(&c, 0, sizeof(c));
	c.address = NET + 2;
	c.prefix = 24;
	c.mtu = 1420;
	c.keepalive_s = 25;
	c.nroutes = TUNCONF_ROUTES_MAX;
	assert_int_equal(tunconf_write(&c, buf, sizeof(buf), &n), 0);
	assert_int_equal(tunconf_read(buf, n, &got), 0);
	assert_int_equal(got.nroutes, TUNCONF_ROUTES_MAX);
}

static void
test_config_read(void **state)
{
	static const uint8_t unknown[] = { 9, 3, 1, 2, 3, DGRAM_CONFIG_MTU, 2, 0x05, 0x8c, 200, 0 };
	static const uint8_t cut[] = { DGRAM_CONFIG_ADDRESS, 5, 10, 77, 0 };
	static const uint8_t cut_header[] = { DGRAM_CONFIG_MTU };
	static const uint8_t wrong_len[] = { DGRAM_CONFIG_MTU, 3, 0x05, 0x8c, 0 };
	static const uint8_t long_prefix[] = { DGRAM_CONFIG_ADDRESS, 5, 10, 77, 0, 2, 33 };
	static const uint8_t host_bits[] = { DGRAM_CONFIG_ROUTE, 5, 10, 1, 0, 1, 16 };
	static const uint8_t small_mtu[] = { DGRAM_CONFIG_MTU, 2, 0, 68 };
	struct tunconf got = { .mtu = 1 };
	uint8_t many[2 + 7 * (TUNCONF_ROUTES_MAX + 1)];
	size_t i;

	(void)state;
	assert_int_equal(tunconf_read(unknown, sizeof(unknown), &got), 0);
	assert_int_equal(got.mtu, 1420);
	assert_int_equal(got.address, 0);
	assert_int_equal(tunconf_read(NULL, 0, &got), 0);
	assert_int_equal(got.mtu, 0);
	got.mtu = 1;
	assert_int_equal(tunconf_read(cut, sizeof(cut), &got), CVPN_ERR_MALFORMED);
	assert_int_equal(tunconf_read(cut_header, sizeof(cut_header), &got), CVPN_ERR_MALFORMED);
	assert_int_equal(tunconf_read(wrong_len, sizeof(wrong_len), &got), CVPN_ERR_MALFORMED);
	assert_int_equal(tunconf_read(long_prefix, sizeof(long_prefix), &got), CVPN_ERR_MALFORMED);
	assert_int_equal(tunconf_read(host_bits, sizeof(host_bits), &got), CVPN_ERR_MALFORMED);
	assert_int_equal(tunconf_read(small_mtu, sizeof(small_mtu), &got), CVPN_ERR_MALFORMED);
	for (i = 0; i <= TUNCONF_ROUTES_MAX; i++) {
		static const uint8_t route[] = { DGRAM_CONFIG_ROUTE, 5, 10, 0, 0, 0, 8 };

		memcpy(many + 7 * i, route, sizeof(route));
	}
	assert_int_equal(tunconf_read(many, 7 * (TUNCONF_ROUTES_MAX + 1), &got), CVPN_ERR_MALFORMED);
	assert_int_equal(got.mtu, 1); /* untouched by every failure */
}

static void
test_routes(void **state)
{
	struct tunconf_route all = { 0, 0 }, half = { 0x80000000u, 1 }, host = { NET + 2, 32 }, net = { NET, 24 };

	(void)state;
	assert_int_equal(tunconf_route_parse("10.77.0.0/24", &net), 0);
	assert_int_equal(net.network, NET);
	assert_int_equal(net.prefix, 24);
	assert_int_equal(tunconf_route_parse("10.77.0.2", &host), 0);
	assert_int_equal(host.prefix, 32);
	assert_int_equal(tunconf_route_parse("10.77.0.1/24", &all), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunconf_route_parse("fd00::/8", &all), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunconf_route_parse("10.77.0.0/33", &all), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tunconf_route_parse("", &all), CVPN_ERR_INVALID_ARG);
	assert_int_equal(all.prefix, 0); /* untouched */
	assert_int_equal(tunconf_mask(0), 0);
	assert_int_equal(tunconf_mask(24), 0xffffff00u);
	assert_int_equal(tunconf_mask(32), 0xffffffffu);
	assert_true(tunconf_route_holds(&all, 0x01020304u));
	assert_true(tunconf_route_holds(&half, 0xc0000201u));
	assert_false(tunconf_route_holds(&half, 0x0a000001u));
	assert_true(tunconf_route_holds(&host, NET + 2));
	assert_false(tunconf_route_holds(&host, NET + 3));
	assert_true(tunconf_route_holds(&net, NET + 255));
	assert_false(tunconf_route_holds(&net, NET + 256));
}

static void
test_packets(void **state)
{
	uint8_t p[40] = { 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 1, 0, 0, 10, 77, 0, 2, 10, 77, 0, 1 };
	uint32_t src = 0, dst = 0;
	char text[16];

	(void)state;
	assert_int_equal(ippkt_version(p, sizeof(p)), 4);
	assert_int_equal(ippkt_version(p, 0), 0);
	assert_true(ippkt_ipv4(p, sizeof(p), &src, &dst));
	assert_int_equal(src, NET + 2);
	assert_int_equal(dst, NET + 1);
	assert_false(ippkt_ipv4(p, 19, &src, &dst));
	p[0] = 0x44;
	assert_false(ippkt_ipv4(p, sizeof(p), &src, &dst));
	p[0] = 0x60;
	assert_int_equal(ippkt_version(p, sizeof(p)), 6);
	assert_false(ippkt_ipv4(p, sizeof(p), &src, &dst));
	assert_int_equal(src, NET + 2);
	ippkt_format(NET + 255, text, sizeof(text));
	assert_string_equal(text, "10.77.0.255");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_leases),
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_read),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_packets),
	};

	return cmocka_run_group_tests_name("tunnet", tests, NULL, NULL);
}
