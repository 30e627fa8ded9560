/* SPDX-License-Identifier: MIT */
/* cvpn: reading the IP tunnel's packets (ippkt.h). */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "ippkt.h"

unsigned
ippkt_version(const uint8_t *p, size_t n)
{
	return n == 0 ? 0 : p[0] >> 4;
}

/* A big-endian address in the header, in host order. */
static uint32_t
address_at(const uint8_t *p)
{
	uint32_t be;

	memcpy(&be, p, 4);
	return ntohl(be);
}

bool
ippkt_ipv4(const uint8_t *p, size_t n, uint32_t *src, uint32_t *dst)
{
	if (n < 20 || p[0] >> 4 != 4 || (p[0] & 0x0f) < 5)
		return false;
	*src = address_at(p + 12);
	*dst = address_at(p + 16);
	return true;
}

void
ippkt_format(uint32_t addr, char *out, size_t len)
{
	snprintf(out, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}
