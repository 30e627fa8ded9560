/* SPDX-License-Identifier: MIT */
/*
 * bench/labprim: the lab profile's per-message primitives and nothing else
 * (AES-256-CBC chained across messages, a cumulative HMAC-SHA256 sent as
 * lowercase hex) under a fixed key. What any implementation of the lab
 * profile through EVP must compute per message (the computations of
 * common/record.c, not its code): dhbound times it in memory, and echo
 * --lab-primitives with the third group of loadgen --ceiling-port time it
 * over the same sockets as the plain echo, for the ceilings of make bench.
 * Not a protocol: the key is a constant, because these measure cost, not
 * secrecy.
 */
#ifndef CVPN_LABPRIM_H
#define CVPN_LABPRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The hex tag after the ciphertext, as on the lab's wire. */
#define LABPRIM_TAG 64
/* Largest ciphertext of one message. */
#define LABPRIM_MAX 16384

struct labprim;

/* One direction: encrypt (the sender) or decrypt (the receiver). Returns 0 or -1. */
int labprim_new(bool encrypt, struct labprim **out);

/* Frees p; accepts NULL. */
void labprim_free(struct labprim *p);

/* The ciphertext length of an n-byte message: n zero-padded to the block. */
size_t labprim_ct_len(size_t n);

/* Writes ciphertext and tag of pt[0..n) (1 <= n <= LABPRIM_MAX) to out: labprim_ct_len(n) + LABPRIM_TAG bytes. 0 or -1. */
int labprim_seal(struct labprim *p, const uint8_t *pt, size_t n, uint8_t *out);

/* Checks the tag after wire[0..ct_len), then decrypts those bytes in place. 0, or -1 (a bad length; or a bad tag, after which p is spent). */
int labprim_open(struct labprim *p, uint8_t *wire, size_t ct_len);

#endif
