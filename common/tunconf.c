/* SPDX-License-Identifier: MIT */
/* cvpn: the IP tunnel's configuration list (tunconf.h). */
#include <string.h>

#include <arpa/inet.h>

#include "dgram_wire.h"
#include "err.h"
#include "tunconf.h"
#include "tundev.h"

uint32_t
tunconf_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? UINT32_MAX : ~(UINT32_MAX >> prefix);
}

int
tunconf_route_parse(const char *text, struct tunconf_route *out)
{
	struct tundev_prefix p;
	uint32_t be;

	if (tundev_prefix_parse(text, &p) != 0 || p.family != AF_INET || !tundev_prefix_is_network(&p))
		return CVPN_ERR_INVALID_ARG;
	memcpy(&be, p.addr, 4);
	out->network = ntohl(be);
	out->prefix = p.len;
	return 0;
}

bool
tunconf_route_holds(const struct tunconf_route *r, uint32_t addr)
{
	return ((addr ^ r->network) & tunconf_mask(r->prefix)) == 0;
}

/* Appends one item; false when it does not fit. */
static bool
put_item(uint8_t *out, size_t cap, size_t *at, uint8_t type, const uint8_t *v, uint8_t n)
{
	if (cap - *at < (size_t)n + 2)
		return false;
	out[*at] = type;
	out[*at + 1] = n;
	memcpy(out + *at + 2, v, n);
	*at += (size_t)n + 2;
	return true;
}

/* An address or network with its prefix length, as 5 bytes. */
static void
put_prefix(uint8_t v[static 5], uint32_t addr, unsigned prefix)
{
	uint32_t be = htonl(addr);

	memcpy(v, &be, 4);
	v[4] = (uint8_t)prefix;
}

/* The address of a 5-byte prefix item, in host order. */
static uint32_t
get_address(const uint8_t *v)
{
	uint32_t be;

	memcpy(&be, v, 4);
	return ntohl(be);
}

static bool
valid(const struct tunconf *c)
{
	size_t i;

	if (c->prefix > 32 || c->nroutes > TUNCONF_ROUTES_MAX || c->keepalive_s > UINT16_MAX ||
	    (c->mtu != 0 && (c->mtu < TUNCONF_MTU_MIN || c->mtu > TUNCONF_MTU_MAX)))
		return false;
	for (i = 0; i < c->nroutes; i++)
		if (c->routes[i].prefix > 32 || (c->routes[i].network & ~tunconf_mask(c->routes[i].prefix)) != 0)
			return false;
	return true;
}

int
tunconf_write(const struct tunconf *c, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t v[5];
	size_t at = 0, i;
	bool fits = true;

	if (!valid(c))
		return CVPN_ERR_INVALID_ARG;
	if (c->address != 0) {
		put_prefix(v, c->address, c->prefix);
		fits = put_item(out, cap, &at, DGRAM_CONFIG_ADDRESS, v, 5);
	}
	if (fits && c->mtu != 0) {
		v[0] = (uint8_t)(c->mtu >> 8);
		v[1] = (uint8_t)c->mtu;
		fits = put_item(out, cap, &at, DGRAM_CONFIG_MTU, v, 2);
	}
	for (i = 0; fits && i < c->nroutes; i++) {
		put_prefix(v, c->routes[i].network, c->routes[i].prefix);
		fits = put_item(out, cap, &at, DGRAM_CONFIG_ROUTE, v, 5);
	}
	if (fits && c->keepalive_s != 0) {
		v[0] = (uint8_t)(c->keepalive_s >> 8);
		v[1] = (uint8_t)c->keepalive_s;
		fits = put_item(out, cap, &at, DGRAM_CONFIG_KEEPALIVE, v, 2);
	}
	if (!fits)
		return CVPN_ERR_TOO_LONG;
	*len = at;
	return 0;
}

/* The length each known type must have; 0 for a type we do not know. */
static size_t
known_len(uint8_t type)
{
	switch (type) {
	case DGRAM_CONFIG_ADDRESS:
	case DGRAM_CONFIG_ROUTE:
		return 5;
	case DGRAM_CONFIG_MTU:
	case DGRAM_CONFIG_KEEPALIVE:
		return 2;
	default:
		return 0;
	}
}

/* Takes one known item into c. Returns false when there is no room for another route. */
static bool
take_item(struct tunconf *c, uint8_t type, const uint8_t *v)
{
	switch (type) {
	case DGRAM_CONFIG_ADDRESS:
		c->address = get_address(v);
		c->prefix = v[4];
		return true;
	case DGRAM_CONFIG_MTU:
		c->mtu = (unsigned)v[0] << 8 | v[1];
		return true;
	case DGRAM_CONFIG_KEEPALIVE:
		c->keepalive_s = (unsigned)v[0] << 8 | v[1];
		return true;
	default:
		if (c->nroutes == TUNCONF_ROUTES_MAX)
			return false;
		c->routes[c->nroutes].network = get_address(v);
		c->routes[c->nroutes++].prefix = v[4];
		return true;
	}
}

int
tunconf_read(const uint8_t *p, size_t n, struct tunconf *out)
{
	struct tunconf c;
	size_t at = 0, len, want;

	memset(&c, 0, sizeof(c));
	while (at < n) {
		if (n - at < 2 || n - at - 2 < p[at + 1])
			return CVPN_ERR_MALFORMED;
		len = p[at + 1];
		want = known_len(p[at]);
		if (want != 0 && (len != want || !take_item(&c, p[at], p + at + 2)))
			return CVPN_ERR_MALFORMED;
		at += 2 + len;
	}
	if (!valid(&c))
		return CVPN_ERR_MALFORMED;
	*out = c;
	return 0;
}

bool
tunconf_equal(const struct tunconf *a, const struct tunconf *b)
{
	size_t i;

	if (a->address != b->address || a->prefix != b->prefix || a->mtu != b->mtu ||
	    a->keepalive_s != b->keepalive_s || a->nroutes != b->nroutes)
		return false;
	for (i = 0; i < a->nroutes; i++)
		if (a->routes[i].network != b->routes[i].network || a->routes[i].prefix != b->routes[i].prefix)
			return false;
	return true;
}
