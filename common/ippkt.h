/* SPDX-License-Identifier: MIT */
/*
 * cvpn: what the IP tunnel reads of the packets it carries: the version, and
 * an IPv4 packet's addresses, to route it and to check where it came from.
 */
#ifndef CVPN_IPPKT_H
#define CVPN_IPPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The IP version of p (4 or 6), or 0 when it is empty. */
unsigned ippkt_version(const uint8_t *p, size_t n);

/*
 * Reads the source and destination (host byte order) of an IPv4 packet.
 * Returns false, leaving them alone, when p is not one: another version, a
 * header cut short, or a header length under 20 bytes.
 */
bool ippkt_ipv4(const uint8_t *p, size_t n, uint32_t *src, uint32_t *dst);

/* Formats a host-order IPv4 address as dotted quads into out (16 bytes hold any). */
void ippkt_format(uint32_t addr, char *out, size_t len);

#endif
