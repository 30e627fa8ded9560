/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the lab's Diffie-Hellman: RFC 3526 group 18 (8192-bit MODP),
 * generator 2, public values as decimal text, and the lab's shared_key.
 */
#ifndef CVPN_DH_H
#define CVPN_DH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dh;

/* The most digits a group 18 value can have (p has 2467 digits). */
#define DH_MAX_DIGITS 2467
/*
 * The fewest digits at which a value that stops is taken as whole: a public
 * value is uniform below p (about 1.09e2466), so one under 10^2459 comes once
 * in ten million sessions, while a value cut by the network is shorter often.
 */
#define DH_PLAUSIBLE_DIGITS 2460
/* Private exponent length in bits: over twice the group's ~200-bit strength. */
#define DH_PRIVATE_BITS 512

/* Generates a fresh key pair with a DH_PRIVATE_BITS exponent. Sets *out only on success. */
int dh_generate(struct dh **out);

/*
 * Builds a key pair from a fixed big-endian private exponent (for known-answer
 * tests and reproducible captures only). Sets *out only on success.
 */
int dh_from_private(const uint8_t *priv, size_t len, struct dh **out);

/* Writes the public value as decimal digits into a new NUL-terminated string the caller frees with free(). */
int dh_public_decimal(const struct dh *dh, char **out);

/*
 * Checks a peer's public value without exponentiation: 1..2467 ASCII digits,
 * no leading zero, and 2 <= y <= p-2 (sufficient for a safe-prime group, RFC 7919).
 * Returns 0, CVPN_ERR_DH_FORMAT or CVPN_ERR_DH_RANGE.
 */
int dh_check_public(const uint8_t *digits, size_t n);

/*
 * True when no digit appended to digits[0..n) could give a valid value, so a
 * reader without framing knows the number is complete.
 */
bool dh_digits_final(const uint8_t *digits, size_t n);

/*
 * Computes s = y^x mod p for a peer value that passed dh_check_public and
 * encodes it as the lab does: big-endian in floor(bits/8)+1 bytes (a leading
 * 0x00 when the bit length is a multiple of 8). The caller releases *out with
 * OPENSSL_clear_free(*out, *outlen). Sets the out-parameters only on success.
 */
int dh_compute_secret(const struct dh *dh, const uint8_t *digits, size_t n, uint8_t **out, size_t *outlen);

/* shared_key = lowercase hex of SHA-256 over the encoded secret; out gets 64 chars and a NUL. */
int dh_shared_key(const uint8_t *secret, size_t len, char out[static 65]);

/* Wipes and frees; accepts NULL. */
void dh_free(struct dh *dh);

#endif
