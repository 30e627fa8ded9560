/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the IP tunnel's network on the server (cvpn-server --tun-net): who
 * holds which address, and where a packet to an address goes. The server
 * takes the first host address; each client holds one other, either fixed
 * for its key (address= in the authorized-clients file) or leased from the
 * rest. A leased address is picked from the client's key first (a hash), so
 * that a client most often gets the same one again after the server
 * restarts; only when that one is taken does it move on to the next free.
 * Addresses are IPv4, in host byte order here.
 */
#ifndef CVPN_TUNNET_H
#define CVPN_TUNNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tunnet;

/* The prefix lengths a tunnel network may have: at most 65536 addresses, at least two clients. */
#define TUNNET_PREFIX_MIN 16
#define TUNNET_PREFIX_MAX 29

/*
 * A network of prefix bits at network, which must have no host bit set.
 * Sets *out only on success. Returns 0, CVPN_ERR_INVALID_ARG or CVPN_ERR_NOMEM.
 */
int tunnet_new(uint32_t network, unsigned prefix, struct tunnet **out);

/* The network's address and prefix length. */
uint32_t tunnet_network(const struct tunnet *t);
unsigned tunnet_prefix(const struct tunnet *t);

/* The server's own address: the network's first host. */
uint32_t tunnet_server(const struct tunnet *t);

/* Whether addr lies in the network (its network and broadcast addresses included). */
bool tunnet_contains(const struct tunnet *t, uint32_t addr);

/*
 * Sets addr aside for one client for good (address=): never leased to
 * another. Returns 0, CVPN_ERR_INVALID_ARG (outside the network, its network
 * or broadcast address, or the server's) or CVPN_ERR_STATE (set aside already).
 */
int tunnet_fix(struct tunnet *t, uint32_t addr);

/*
 * Leases a free address to the client of key (32 bytes), starting from the
 * one its key picks. Sets *addr only on success. Returns 0 or CVPN_ERR_BUSY
 * when every address is held.
 */
int tunnet_lease(struct tunnet *t, const uint8_t *key, uint32_t *addr);

/* Gives a leased address back (a fixed one stays set aside) and forgets its holder. */
void tunnet_release(struct tunnet *t, uint32_t addr);

/* Sets who holds addr now, for routing (NULL: nobody). addr must be fixed or leased. */
void tunnet_set_holder(struct tunnet *t, uint32_t addr, void *holder);

/* Who holds addr, or NULL (outside the network, free, or held by nobody now). */
void *tunnet_holder(const struct tunnet *t, uint32_t addr);

/* How many addresses are leased now (fixed ones not counted). */
size_t tunnet_leased(const struct tunnet *t);

/* Frees; accepts NULL. */
void tunnet_free(struct tunnet *t);

#endif
