/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the cipher-suite table. One table drives negotiation, --list-ciphers,
 * key/IV slicing and the EVP cipher choice.
 */
#ifndef CVPN_SUITE_H
#define CVPN_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct suite;

enum suite_kind {
	SUITE_CBC,   /* a block cipher in CBC mode through EVP */
	SUITE_XOR,   /* repeating-key XOR, keystream position kept across messages */
	SUITE_NONE   /* identity: no confidentiality, HMAC only */
};

/* Length of the lab's shared_key: lowercase hex of a SHA-256 digest. */
#define SUITE_SHARED_KEY_LEN 64
/* The longest key any suite derives (Blowfish 448). */
#define SUITE_MAX_KEY 56
/* The longest IV any suite derives (AES). */
#define SUITE_MAX_IV 16

/*
 * Loads the default and legacy providers and fetches every cipher. Call once
 * before any other suite_* function and before starting threads.
 * Returns 0, CVPN_ERR_PROVIDER or CVPN_ERR_CRYPTO.
 */
int suite_init(void);

/* Number of suites in the table (the order is the default preference order). */
size_t suite_count(void);

/* The i-th suite, or NULL when i >= suite_count(). */
const struct suite *suite_at(size_t i);

/* Finds a suite by its wire name (exact match, or any case when icase). NULL if unknown. */
const struct suite *suite_by_name(const char *name, size_t len, bool icase);

/* The suite's wire name ("AES", "Blowfish", "DES", "DES3", "XOR", "None"). */
const char *suite_name(const struct suite *s);

/* A one-line human description of the suite. */
const char *suite_description(const struct suite *s);

enum suite_kind suite_kind(const struct suite *s);

/* True for suites offered only with --allow-insecure (XOR, None). */
bool suite_insecure(const struct suite *s);

/* Number of key sizes the suite supports, and the i-th of them in bits (ascending). */
size_t suite_size_count(const struct suite *s);
unsigned suite_size_at(const struct suite *s, size_t i);

/* True when the suite supports this key size in bits. */
bool suite_has_size(const struct suite *s, unsigned bits);

/* The cipher's IV (and block) length in bytes: 16, 8, or 0 for XOR and None. */
size_t suite_iv_len(const struct suite *s);

/* The derived key length in bytes for a supported size (DES 56 -> 8). */
size_t suite_key_len(const struct suite *s, unsigned bits);

/* The fetched EVP cipher for a supported size, or NULL for XOR and None. Not to be freed. */
const EVP_CIPHER *suite_evp(const struct suite *s, unsigned bits);

/*
 * Slices key and IV out of the 64-character shared_key as the lab does:
 * key = ASCII shared_key[0:bits/8] (DES: 7 characters + NUL), IV = the last
 * suite_iv_len() characters. key needs SUITE_MAX_KEY bytes, iv SUITE_MAX_IV.
 * Returns 0 or CVPN_ERR_UNKNOWN_CIPHER.
 */
int suite_derive(const struct suite *s, unsigned bits, const char shared_key[static SUITE_SHARED_KEY_LEN],
    uint8_t *key, size_t *key_len, uint8_t *iv, size_t *iv_len);

#endif
