/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the IP tunnel's configuration, as the server gives it to a client
 * (docs/SECURE.md section 12): in RESPONSE's payload over UDP, in a CONFIG
 * record over TCP. A list of u8 type | u8 len | value: the client's IPv4
 * address and prefix length, the MTU, routes, a keepalive. Pure: no sockets,
 * no interfaces. Addresses are in host byte order here.
 */
#ifndef CVPN_TUNCONF_H
#define CVPN_TUNCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What RESPONSE has room for (DGRAM_CONFIG_MAX) beside an address, an MTU and a keepalive. */
#define TUNCONF_ROUTES_MAX 32
/* The MTUs a configuration may carry: IPv4's least, and the most an IP packet can be. */
#define TUNCONF_MTU_MIN 576
#define TUNCONF_MTU_MAX 65535

struct tunconf_route {
	uint32_t network;
	unsigned prefix;        /* 0..32 */
};

struct tunconf {
	uint32_t address;       /* the client's; 0: none given */
	unsigned prefix;        /* the tunnel network's length, with address */
	unsigned mtu;           /* 0: none given */
	unsigned keepalive_s;   /* 0: none asked */
	struct tunconf_route routes[TUNCONF_ROUTES_MAX];
	size_t nroutes;
};

/*
 * Writes c into out[0..cap), setting *len. Returns 0, CVPN_ERR_TOO_LONG (it
 * does not fit) or CVPN_ERR_INVALID_ARG (a prefix over 32, a route with host
 * bits, an MTU out of range).
 */
int tunconf_write(const struct tunconf *c, uint8_t *out, size_t cap, size_t *len);

/*
 * Reads a configuration, skipping types it does not know. Sets *out only on
 * success. Returns 0, or CVPN_ERR_MALFORMED (an item cut short, a known type
 * of the wrong length, a prefix over 32, a route with host bits, an MTU out
 * of range, more than TUNCONF_ROUTES_MAX routes).
 */
int tunconf_read(const uint8_t *p, size_t n, struct tunconf *out);

/*
 * Parses an IPv4 network as "10.1.0.0/16" (an address alone is a /32). Sets
 * *out only on success. Returns 0, or CVPN_ERR_INVALID_ARG for anything else,
 * an IPv6 network or one with host bits set included.
 */
int tunconf_route_parse(const char *text, struct tunconf_route *out);

/* Whether network/prefix holds addr. */
bool tunconf_route_holds(const struct tunconf_route *r, uint32_t addr);

/* The netmask of a prefix length (0..32), host order. */
uint32_t tunconf_mask(unsigned prefix);

/* Whether a and b configure the same (routes in the same order). */
bool tunconf_equal(const struct tunconf *a, const struct tunconf *b);

#endif
