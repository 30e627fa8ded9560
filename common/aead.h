/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the secure profile's AEAD ciphers, ChaCha20-Poly1305 (RFC 8439) and
 * AES-256-GCM, through EVP. One object holds one 256-bit key and one cipher
 * context for every message under that key. Nonces are either a 64-bit counter
 * laid out as Noise requires or, for known-answer tests, 12 explicit bytes.
 */
#ifndef CVPN_AEAD_H
#define CVPN_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aead;

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16
/* The longest plaintext or associated data accepted (EVP counts in int). */
#define AEAD_MAX_LEN ((size_t)1 << 30)

enum aead_cipher {
	AEAD_CHACHAPOLY, /* Noise "ChaChaPoly": nonce = 4 zero bytes || little-endian n */
	AEAD_AESGCM      /* Noise "AESGCM": nonce = 4 zero bytes || big-endian n */
};

/* The cipher's Noise name, "ChaChaPoly" or "AESGCM"; "?" for an unknown value. */
const char *aead_name(enum aead_cipher c);

/* Parses a Noise cipher name of len bytes (exact, case-sensitive). Returns 0 or CVPN_ERR_UNKNOWN_PROTOCOL. */
int aead_parse(const char *name, size_t len, enum aead_cipher *c);

/* Writes the 12-byte nonce Noise uses for counter n under cipher c. */
void aead_nonce(enum aead_cipher c, uint64_t n, uint8_t nonce[static AEAD_NONCE_LEN]);

/*
 * Creates a key object for cipher c. key_len must be AEAD_KEY_LEN. Sets *out
 * only on success. Returns 0, CVPN_ERR_INVALID_ARG, CVPN_ERR_NOMEM or CVPN_ERR_CRYPTO.
 */
int aead_new(enum aead_cipher c, const uint8_t *key, size_t key_len, struct aead **out);

/* Replaces the key, keeping the cipher and its context. Returns 0 or CVPN_ERR_CRYPTO (then unusable). */
int aead_set_key(struct aead *a, const uint8_t key[static AEAD_KEY_LEN]);

/*
 * Encrypts len bytes of pt with the nonce for counter n and associated data
 * ad (adlen bytes, NULL when 0) into out, which gets len + AEAD_TAG_LEN bytes:
 * ciphertext then tag. out may be pt itself but must not overlap it otherwise;
 * after a failure its contents are unspecified. Returns 0, CVPN_ERR_TOO_LONG
 * (len or adlen over AEAD_MAX_LEN) or CVPN_ERR_CRYPTO.
 */
int aead_seal(struct aead *a, uint64_t n, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len,
    uint8_t *out);

/*
 * Verifies and decrypts len bytes of ct (ciphertext then tag) into out, which
 * gets len - AEAD_TAG_LEN bytes; out may be ct itself. On CVPN_ERR_BAD_TAG
 * out is zeroed, so no unauthenticated plaintext escapes. Sets *outlen only on
 * success. Returns 0, CVPN_ERR_BAD_TAG, CVPN_ERR_TRUNCATED (len < AEAD_TAG_LEN),
 * CVPN_ERR_TOO_LONG or CVPN_ERR_CRYPTO.
 */
int aead_open(struct aead *a, uint64_t n, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
    uint8_t *out, size_t *outlen);

/*
 * aead_seal with an explicit nonce of nonce_len bytes instead of a counter (for
 * known-answer tests). Returns CVPN_ERR_INVALID_ARG unless nonce_len is AEAD_NONCE_LEN.
 */
int aead_seal_nonce(struct aead *a, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *out);

/* aead_open with an explicit nonce; CVPN_ERR_INVALID_ARG unless nonce_len is AEAD_NONCE_LEN. */
int aead_open_nonce(struct aead *a, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, uint8_t *out, size_t *outlen);

/* The object's cipher. */
enum aead_cipher aead_cipher(const struct aead *a);

/* Wipes the key and frees; accepts NULL. */
void aead_free(struct aead *a);

#endif
