/* SPDX-License-Identifier: MIT */
/*
 * cvpn: TUN interfaces for the IP VPN (issue 19). A TUN carries one IP packet
 * per read or write; the interface, its MTU, addresses and routes are set
 * through rtnetlink. What a tundev adds it remembers, and takes away again
 * when it is freed, so that nothing of the program's outlives it even on an
 * interface that stays (a persistent one made by `ip tuntap add`).
 *
 * Functions that can fail return 0 or a negative code of err.h, and on
 * failure write one line to why (when it is not NULL) saying what failed and
 * what to do, e.g. "cannot create TUN interface cvpn%d: Operation not
 * permitted (run as root or grant CAP_NET_ADMIN)".
 */
#ifndef CVPN_TUNDEV_H
#define CVPN_TUNDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tundev;

/* Longest interface name with its NUL (IFNAMSIZ). */
#define TUNDEV_NAME_MAX 16
/* Room for "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128". */
#define TUNDEV_PREFIX_TEXT_MAX 52
/* The name the kernel completes when none is asked for. */
#define TUNDEV_DEFAULT_NAME "cvpn%d"

/* An IPv4 or IPv6 address with a prefix length: an interface address, or a route's network. */
struct tundev_prefix {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network byte order; IPv4 in the first 4 bytes */
	unsigned len;           /* 0..32 or 0..128 */
};

/*
 * Parses "10.8.0.1/24", "fd00::1/64", or an address alone (a host: /32 or
 * /128). Sets *out only on success. Returns 0 or CVPN_ERR_INVALID_ARG.
 */
int tundev_prefix_parse(const char *text, struct tundev_prefix *out);

/* Writes p as "10.8.0.1/24" or "fd00::1/64" ("?" for a family it does not know). */
void tundev_prefix_format(const struct tundev_prefix *p, char *out, size_t len);

/* True when p has no bit set past its prefix length, as a route's network must. */
bool tundev_prefix_is_network(const struct tundev_prefix *p);

/*
 * Opens a TUN interface without packet information (IFF_NO_PI) and not
 * persistent, so that it vanishes with its addresses and routes when the
 * descriptor closes: the one named name (an existing persistent TUN is
 * attached to), or a new one whose name the kernel completes ("%d") when name
 * is NULL (TUNDEV_DEFAULT_NAME) or holds "%d". The descriptor is non-blocking
 * and close-on-exec. Sets *out only on success. Returns 0, CVPN_ERR_PRIVILEGE
 * (neither root nor CAP_NET_ADMIN), CVPN_ERR_INVALID_ARG (a name too long or
 * not a TUN's), CVPN_ERR_SYSTEM or CVPN_ERR_NOMEM.
 */
int tundev_open(const char *name, struct tundev **out, char *why, size_t whylen);

/* The descriptor to read and write packets on. */
int tundev_fd(const struct tundev *t);

/* Writes one packet to the interface, whole. Returns 0, or CVPN_ERR_SYSTEM (errno says why). */
int tundev_write(struct tundev *t, const uint8_t *p, size_t n);

/* The interface's name, as the kernel completed it. */
const char *tundev_name(const struct tundev *t);

/* The interface's index, which stays when it is renamed. */
unsigned tundev_index(const struct tundev *t);

/* Sets the interface's MTU (68..65535 for IPv4, 1280 and up for IPv6 too). */
int tundev_set_mtu(struct tundev *t, unsigned mtu, char *why, size_t whylen);

/* Brings the interface up (up true) or down. */
int tundev_set_up(struct tundev *t, bool up, char *why, size_t whylen);

/*
 * Adds an address with its prefix length (the kernel adds the route to its
 * subnet too) and remembers it. An address already there is CVPN_ERR_SYSTEM
 * (EEXIST): it is someone else's, and is neither changed nor removed later.
 */
int tundev_add_address(struct tundev *t, const struct tundev_prefix *addr, char *why, size_t whylen);

/*
 * Adds a route to the network dst through the interface (main table, scope
 * link) and remembers it. Returns CVPN_ERR_INVALID_ARG when dst has host bits
 * set, CVPN_ERR_SYSTEM (EEXIST) when the route is there already.
 */
int tundev_add_route(struct tundev *t, const struct tundev_prefix *dst, char *why, size_t whylen);

/* Deletes the route to dst through the interface, and forgets it if it was added here. */
int tundev_del_route(struct tundev *t, const struct tundev_prefix *dst, char *why, size_t whylen);

/*
 * Removes every route and address added here, newest first; one that is gone
 * already counts as removed. Returns the first failure, and keeps in mind
 * what it could not remove.
 */
int tundev_undo(struct tundev *t, char *why, size_t whylen);

/*
 * Removes what was added (as tundev_undo, failures ignored: without
 * CAP_NET_ADMIN a non-persistent interface takes them along when it goes),
 * then closes the interface; accepts NULL.
 */
void tundev_free(struct tundev *t);

#endif
