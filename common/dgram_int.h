/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the UDP transport's insides, shared by dgram_common.c (keys and
 * their packets, macs, cookies), dgram_client.c and dgram_server.c.
 * Only these modules include this header.
 */
#ifndef CVPN_DGRAM_INT_H
#define CVPN_DGRAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "dgram.h"
#include "dgram_wire.h"
#include "replaywin.h"

struct noise_handshake;

/* The keys of one completed handshake: one direction each, and what each side calls it. */
struct dgram_keys {
	struct aead *send, *recv;
	uint32_t local, remote;         /* our index (in packets to us), theirs (in packets to them) */
	uint64_t created;               /* ms */
	uint64_t next_counter;          /* the counter of the next packet we send */
	struct replaywin window;
	bool confirmed;                 /* a packet under them came in (the responder waits for one) */
};

/*
 * Makes keys of suite from a finished handshake; initiator says which half is
 * ours to send with. When raw is not NULL the two transport keys (client to
 * server first) are copied there too, for a key log; the caller wipes them.
 */
int dgram_keys_new(struct noise_handshake *hs, enum aead_cipher suite, bool initiator, uint32_t local,
    uint32_t remote, uint64_t now, uint8_t raw[2 * AEAD_KEY_LEN], struct dgram_keys **out);

/* Hands a handshake's keys to the program's key log callback, if it has one, then wipes raw. */
void dgram_keys_report(const struct dgram_ops *ops, void *arg, struct dgram_peer *peer, enum aead_cipher suite,
    uint32_t client_index, uint32_t server_index, uint8_t raw[2 * AEAD_KEY_LEN]);

/* Whether keys may still send (not past their time or count). */
bool dgram_keys_usable(const struct dgram_keys *k, uint64_t now);

/* Seals a DATA packet of the inner p[0..n) into out (n + DGRAM_DATA_OVERHEAD + DGRAM_PAD bytes hold it); *outlen. */
int dgram_keys_seal(struct dgram_keys *k, const uint8_t *p, size_t n, uint8_t *out, size_t *outlen);

/*
 * Opens a DATA packet in place: authenticates, then checks the counter
 * against the window. Sets *inner and *len to the trimmed inner packet (empty
 * for a keepalive). Returns 0, or -1 with *why set.
 */
int dgram_keys_open(struct dgram_keys *k, uint64_t now, uint8_t *p, size_t n, uint8_t **inner, size_t *len,
    enum dgram_drop *why);

/* Wipes and frees; accepts NULL. */
void dgram_keys_free(struct dgram_keys *k);

/* key = SHA-256(label | pub): the keys of mac1 and of COOKIE. */
int dgram_label_key(const char *label, const uint8_t pub[static 32], uint8_t key[static 32]);

/* mac = HMAC-SHA256(key, p[0..n))[:16]. */
int dgram_mac(const uint8_t *key, size_t keylen, const uint8_t *p, size_t n, uint8_t mac[static DGRAM_MAC_LEN]);

/* Whether p[0..n) ends with mac1 (and mac2 after it) as key says, mac1 being over everything before it. */
bool dgram_mac1_ok(const uint8_t key[static 32], const uint8_t *p, size_t n);

/* The prologue of a handshake: the label and the INIT's first 4 bytes. Returns its length. */
size_t dgram_prologue(const uint8_t header[static DGRAM_HEADER], uint8_t out[static 32]);

/* A random 32-bit index. */
int dgram_random_index(uint32_t *out);

/* Big-endian helpers. */
void dgram_put32(uint8_t *p, uint32_t v);
uint32_t dgram_get32(const uint8_t *p);
void dgram_put64(uint8_t *p, uint64_t v);
uint64_t dgram_get64(const uint8_t *p);

#endif
