/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the lab's record layer for one direction of one session: NUL padding
 * to 16 bytes, CBC chained across messages, and an HMAC-SHA256 tag over the
 * ciphertext sent as 64 lowercase hex characters after it.
 */
#ifndef CVPN_RECORD_H
#define CVPN_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct record;
struct suite;

/* Tag length on the wire: hex of an HMAC-SHA256. */
#define RECORD_TAG_LEN 64
/* Plaintext is NUL-padded to a multiple of this, whatever the cipher's block. */
#define RECORD_PAD 16

enum record_hmac {
	RECORD_HMAC_CUMULATIVE,  /* tag_n = HMAC(c_1 || ... || c_n): the reference */
	RECORD_HMAC_PER_MESSAGE, /* tag_n = HMAC(c_n): the 2025 student variant */
	RECORD_HMAC_AUTO         /* receiver only: learn the sender's mode where the two differ */
};

/*
 * Creates the state for one direction with the derived key and IV (the key is
 * also the HMAC key). AUTO is only valid when !encrypt. Sets *out only on
 * success. Returns 0, CVPN_ERR_INVALID_ARG, CVPN_ERR_CRYPTO or CVPN_ERR_NOMEM.
 */
int record_new(const struct suite *s, unsigned bits, const uint8_t *key, size_t key_len,
    const uint8_t *iv, size_t iv_len, bool encrypt, enum record_hmac mode, struct record **out);

/* Wire length of a message carrying n plaintext bytes. */
size_t record_wire_len(size_t n);

/*
 * Pads, encrypts and tags n bytes into out, which holds record_wire_len(n)
 * bytes. Returns 0 or CVPN_ERR_CRYPTO (the state is then unusable).
 */
int record_seal(struct record *r, const uint8_t *pt, size_t n, uint8_t *out);

/*
 * Verifies the tag of a wire message of n bytes in constant time and only
 * then decrypts into out (room for n - 64 bytes); NULs are stripped at both
 * ends. On CVPN_ERR_BAD_TAG or CVPN_ERR_TRUNCATED the state is unchanged, so
 * a caller may try another split of the same bytes. Sets *outlen on success.
 */
int record_open(struct record *r, const uint8_t *wire, size_t n, uint8_t *out, size_t *outlen);

/*
 * record_open for a message the session cannot survive failing: the tag is
 * checked against the transcript fed in place (a hash-context copy fewer per
 * message), so after any error r is unusable and must only be freed.
 */
int record_open_last(struct record *r, const uint8_t *wire, size_t n, uint8_t *out, size_t *outlen);

/* The HMAC mode in use; AUTO until the first message where the modes differ. */
enum record_hmac record_hmac_mode(const struct record *r);

/* Printable name of an HMAC mode: "cumulative", "per-message" or "auto". */
const char *record_hmac_name(enum record_hmac mode);

/* Parses an HMAC mode name. Returns 0 or CVPN_ERR_INVALID_ARG. */
int record_hmac_parse(const char *name, enum record_hmac *mode);

/* Wipes keys and frees; accepts NULL. */
void record_free(struct record *r);

#endif
