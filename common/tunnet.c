/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the IP tunnel's network (tunnet.h). One slot per address of the
 * network, indexed by its offset from the network's address: lookups by
 * destination are one array read, as routing every packet needs.
 */
#include <stdlib.h>

#include "err.h"
#include "tunnet.h"

enum slot_state { SLOT_FREE, SLOT_FIXED, SLOT_LEASED };

struct slot {
	enum slot_state state;
	void *holder;
};

struct tunnet {
	uint32_t network;
	unsigned prefix;
	uint32_t size;          /* addresses in the network, network and broadcast included */
	size_t leased;
	struct slot *slots;
};

int
tunnet_new(uint32_t network, unsigned prefix, struct tunnet **out)
{
	struct tunnet *t;
	uint32_t size;

	if (prefix < TUNNET_PREFIX_MIN || prefix > TUNNET_PREFIX_MAX)
		return CVPN_ERR_INVALID_ARG;
	size = (uint32_t)1 << (32 - prefix);
	if ((network & (size - 1)) != 0)
		return CVPN_ERR_INVALID_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CVPN_ERR_NOMEM;
	if ((t->slots = calloc(size, sizeof(*t->slots))) == NULL) {
		free(t);
		return CVPN_ERR_NOMEM;
	}
	t->network = network;
	t->prefix = prefix;
	t->size = size;
	*out = t;
	return 0;
}

uint32_t
tunnet_network(const struct tunnet *t)
{
	return t->network;
}

unsigned
tunnet_prefix(const struct tunnet *t)
{
	return t->prefix;
}

uint32_t
tunnet_server(const struct tunnet *t)
{
	return t->network + 1;
}

bool
tunnet_contains(const struct tunnet *t, uint32_t addr)
{
	return addr - t->network < t->size;
}

/* Whether the address at offset i may belong to a client: neither the network's, its broadcast nor the server's. */
static bool
client_offset(const struct tunnet *t, uint32_t i)
{
	return i >= 2 && i < t->size - 1;
}

int
tunnet_fix(struct tunnet *t, uint32_t addr)
{
	uint32_t i = addr - t->network;

	if (!tunnet_contains(t, addr) || !client_offset(t, i))
		return CVPN_ERR_INVALID_ARG;
	if (t->slots[i].state != SLOT_FREE)
		return CVPN_ERR_STATE;
	t->slots[i].state = SLOT_FIXED;
	return 0;
}

int
tunnet_lease(struct tunnet *t, const uint8_t *key, uint32_t *addr)
{
	/* The clients' offsets are 2 .. size - 2; a key is random, so its first bytes spread them. */
	uint32_t n = t->size - 3, h = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
	uint32_t k, i;

	for (k = 0; k < n; k++) {
		i = 2 + (h + k) % n;
		if (t->slots[i].state == SLOT_FREE) {
			t->slots[i].state = SLOT_LEASED;
			t->slots[i].holder = NULL;
			t->leased++;
			*addr = t->network + i;
			return 0;
		}
	}
	return CVPN_ERR_BUSY;
}

void
tunnet_release(struct tunnet *t, uint32_t addr)
{
	uint32_t i = addr - t->network;

	if (!tunnet_contains(t, addr))
		return;
	t->slots[i].holder = NULL;
	if (t->slots[i].state == SLOT_LEASED) {
		t->slots[i].state = SLOT_FREE;
		t->leased--;
	}
}

void
tunnet_set_holder(struct tunnet *t, uint32_t addr, void *holder)
{
	uint32_t i = addr - t->network;

	if (tunnet_contains(t, addr) && t->slots[i].state != SLOT_FREE)
		t->slots[i].holder = holder;
}

void *
tunnet_holder(const struct tunnet *t, uint32_t addr)
{
	uint32_t i = addr - t->network;

	return tunnet_contains(t, addr) ? t->slots[i].holder : NULL;
}

size_t
tunnet_leased(const struct tunnet *t)
{
	return t->leased;
}

void
tunnet_free(struct tunnet *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}
