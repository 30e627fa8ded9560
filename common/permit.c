/* SPDX-License-Identifier: MIT */
/* cvpn: permitted forwarding destinations (permit.h). */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "err.h"
#include "permit.h"

/* A list is for people to write: cap it rather than trust it. */
#define PERMIT_LIST_MAX 100000

struct permit_list {
	size_t n, cap;
	struct permit *items;
};

static char
ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* The characters of a host name we take (no locale: a byte is one character here). */
static bool
name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	    ch == '.' || ch == '_';
}

/* Reads an IP address literal (IPv4 dotted, IPv6 without brackets) into family and addr. */
static bool
ip_literal(const char *host, int *family, uint8_t addr[static sizeof(struct in6_addr)])
{
	memset(addr, 0, sizeof(struct in6_addr));
	if (inet_pton(AF_INET, host, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* "*" or a decimal port in 1..65535, as port (0 for "*"). */
static bool
parse_port(const char *p, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 1 && p[0] == '*') {
		*port = 0;
		return true;
	}
	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Splits text at the colon before the port: "[v6]:port" or "host:port" (the host holds no colon). */
static bool
split(const char *text, size_t len, const char **host, size_t *hlen, const char **port, size_t *plen)
{
	const char *colon;

	if (len > 0 && text[0] == '[') {
		colon = memchr(text, ']', len);
		if (colon == NULL || (size_t)(colon - text) + 1 >= len || colon[1] != ':')
			return false;
		*host = text + 1;
		*hlen = (size_t)(colon - text) - 1;
		colon++;
	} else {
		if ((colon = memchr(text, ':', len)) == NULL || memchr(colon + 1, ':', len - (size_t)(colon - text) - 1))
			return false;
		*host = text;
		*hlen = (size_t)(colon - text);
	}
	*port = colon + 1;
	*plen = len - (size_t)(*port - text);
	return true;
}

int
permit_parse(const char *text, size_t len, struct permit *out)
{
	struct permit p = { .family = AF_UNSPEC };
	const char *host, *port;
	size_t hlen, plen, i;
	bool bracketed = len > 0 && text[0] == '[';

	if (!split(text, len, &host, &hlen, &port, &plen) || hlen == 0 || hlen > PERMIT_HOST_MAX ||
	    !parse_port(port, plen, &p.port))
		return CVPN_ERR_INVALID_ARG;
	for (i = 0; i < hlen; i++) {
		/* An IPv6 address has colons (and hex digits): only inside brackets. */
		if (!name_char(host[i]) && !(bracketed && host[i] == ':'))
			return CVPN_ERR_INVALID_ARG;
		p.host[i] = ascii_lower(host[i]);
	}
	p.host[hlen] = '\0';
	if (!ip_literal(p.host, &p.family, p.addr))
		p.family = AF_UNSPEC;
	/* Brackets hold an IPv6 address and nothing else. */
	if (bracketed != (p.family == AF_INET6))
		return CVPN_ERR_INVALID_ARG;
	*out = p;
	return 0;
}

/* ASCII case-insensitive equality: host names are compared as DNS does. */
static bool
same_name(const char *a, const char *b)
{
	for (; *a != '\0' && ascii_lower(*a) == ascii_lower(*b); a++, b++)
		;
	return *a == '\0' && *b == '\0';
}

bool
permit_match(const struct permit *p, const char *host, uint16_t port)
{
	uint8_t addr[sizeof(struct in6_addr)];
	int family;

	if (p->port != 0 && p->port != port)
		return false;
	if (!ip_literal(host, &family, addr))
		return p->family == AF_UNSPEC && same_name(p->host, host);
	return family == p->family && memcmp(addr, p->addr, family == AF_INET ? 4 : 16) == 0;
}

struct permit_list *
permit_list_new(void)
{
	return calloc(1, sizeof(struct permit_list));
}

int
permit_list_add(struct permit_list *l, const char *text, size_t len)
{
	struct permit p;
	size_t cap;
	void *items;

	if (permit_parse(text, len, &p) != 0)
		return CVPN_ERR_INVALID_ARG;
	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 4;
		if (cap > PERMIT_LIST_MAX || (items = realloc(l->items, cap * sizeof(*l->items))) == NULL)
			return CVPN_ERR_NOMEM;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = p;
	return 0;
}

bool
permit_list_match(const struct permit_list *l, const char *host, uint16_t port)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (permit_match(&l->items[i], host, port))
			return true;
	return false;
}

size_t
permit_list_count(const struct permit_list *l)
{
	return l ? l->n : 0;
}

void
permit_list_free(struct permit_list *l)
{
	if (l == NULL)
		return;
	free(l->items);
	free(l);
}
