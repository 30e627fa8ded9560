/* SPDX-License-Identifier: MIT */
/*
 * cvpn: where a server lets a client forward to (docs/SECURE.md, section 10).
 * A permit is HOST:PORT or HOST:* as an operator writes it (an IPv6 address
 * in brackets); a list of them is a policy that denies what it does not name.
 * Matching is by the text, never by resolving: a host name matches the same
 * name in any case, an IP address the same address in any spelling, and a
 * name never matches an address or another name that resolves alike. The
 * server then resolves the host it matched itself, so that a client cannot
 * steer it anywhere else.
 */
#ifndef CVPN_PERMIT_H
#define CVPN_PERMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

/* The longest host a permit names: a DNS name, as a channel's OPEN carries it. */
#define PERMIT_HOST_MAX 255

/* One permitted destination. */
struct permit {
	char host[PERMIT_HOST_MAX + 1]; /* lowercase; an IPv6 address without its brackets */
	uint16_t port;                  /* 0: any port (written "*") */
	int family;                     /* AF_INET or AF_INET6 for an address, AF_UNSPEC for a name */
	uint8_t addr[sizeof(struct in6_addr)]; /* the address, for an address */
};

struct permit_list;

/*
 * Parses "HOST:PORT", "HOST:*", "[IPV6]:PORT" or "[IPV6]:*" from
 * text[0..len). A host is a name of letters, digits, '-', '.' and '_', an
 * IPv4 address, or an IPv6 address in brackets. Returns 0, or
 * CVPN_ERR_INVALID_ARG for anything else; sets *out only on success.
 */
int permit_parse(const char *text, size_t len, struct permit *out);

/* Whether p names host (as a channel's OPEN carries it: an IPv6 address bare) and port. */
bool permit_match(const struct permit *p, const char *host, uint16_t port);

/* A new, empty list; NULL when out of memory. */
struct permit_list *permit_list_new(void);

/*
 * Parses text[0..len) as permit_parse does and adds it to l. Returns 0,
 * CVPN_ERR_INVALID_ARG (not a permit), or CVPN_ERR_NOMEM.
 */
int permit_list_add(struct permit_list *l, const char *text, size_t len);

/* Whether any permit of l names host and port; a NULL list permits nothing. */
bool permit_list_match(const struct permit_list *l, const char *host, uint16_t port);

/* How many permits l holds (0 for NULL). */
size_t permit_list_count(const struct permit_list *l);

/* Frees; accepts NULL. */
void permit_list_free(struct permit_list *l);

#endif
