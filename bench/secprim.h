/* SPDX-License-Identifier: MIT */
/*
 * bench/secprim: the secure profile's per-message primitives and nothing else:
 * each end seals one record and opens one per round trip with its suite's AEAD
 * (common/aead.c: counter nonces, the record's 2-byte length prefix as
 * associated data), under fixed keys, over records as long as cvpn's (a DATA
 * record of the message and the REPLY record to it, padded as the secure
 * profile pads them). No record header is parsed and no reply is built: echo
 * --secure-primitives with the third group of loadgen --ceiling-port time
 * what any implementation of the secure profile through EVP must compute per
 * message, over the same sockets as the plain echo, for the ceilings of make
 * bench. Not a protocol: the keys are constants, because these measure cost,
 * not secrecy.
 *
 * A connection opens with SECPRIM_HEAD bytes (secprim_head), then carries
 * records: a big-endian u16 body length, then the body (ciphertext and tag).
 */
#ifndef CVPN_SECPRIM_H
#define CVPN_SECPRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"

#define SECPRIM_HEAD 8
/* The longest record body either way: a reply to a 4096-byte message, padded, and its tag. */
#define SECPRIM_MAX_BODY 4144

struct secprim;

/* Request and reply body lengths of an n-byte message; false when n is 0 or over 4096 bytes. */
bool secprim_lengths(size_t n, size_t *request, size_t *reply);

/* The connection's opening bytes: the suite, and both body lengths of an n-byte message (valid n). */
void secprim_head(enum aead_cipher c, size_t n, uint8_t head[static SECPRIM_HEAD]);

/* Reads an opening. Returns 0 with the suite and both body lengths, or -1 when it is not one. */
int secprim_parse_head(const uint8_t head[static SECPRIM_HEAD], enum aead_cipher *c, size_t *request,
    size_t *reply);

/* One end of a connection (server or client), both directions. Returns 0 or -1. */
int secprim_new(bool server, enum aead_cipher c, struct secprim **out);

/* Frees p; accepts NULL. */
void secprim_free(struct secprim *p);

/* Writes the length prefix of a body-byte record to rec and seals rec[2..2+body-16) in place, tag after. 0 or -1. */
int secprim_seal(struct secprim *p, uint8_t *rec, size_t body);

/* Checks that rec's prefix says body, then verifies and decrypts the record in place. 0 or -1. */
int secprim_open(struct secprim *p, uint8_t *rec, size_t body);

#endif
