/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the Noise Protocol Framework (revision 34) for the secure profile,
 * limited to the patterns NN, IK, NNpsk0 and IKpsk2 with DH 25519, ciphers
 * ChaChaPoly and AESGCM and hash SHA256, e.g.
 * "Noise_IKpsk2_25519_ChaChaPoly_SHA256". A handshake object runs one side of
 * one handshake and splits into two transport cipher objects.
 *
 * Keys are raw 32-byte strings: X25519 private and public keys as RFC 7748
 * encodes them, and 32-byte pre-shared keys.
 */
#ifndef CVPN_NOISE_H
#define CVPN_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"

struct noise_cipher;
struct noise_handshake;

#define NOISE_DH_LEN 32       /* X25519 keys and shared secrets */
#define NOISE_HASH_LEN 32     /* SHA-256 */
#define NOISE_PSK_LEN 32
#define NOISE_TAG_LEN AEAD_TAG_LEN
#define NOISE_MAX_MSG 65535   /* the spec's limit on every message, handshake or transport */
/* The longest HKDF output (RFC 5869: 255 blocks of the hash). */
#define NOISE_HKDF_MAX (255 * NOISE_HASH_LEN)

enum noise_pattern {
	NOISE_NN,      /* -> e; <- e, ee */
	NOISE_IK,      /* <- s ...; -> e, es, s, ss; <- e, ee, se */
	NOISE_NNPSK0,  /* -> psk, e; <- e, ee */
	NOISE_IKPSK2   /* <- s ...; -> e, es, s, ss; <- e, ee, se, psk */
};

/* What a handshake expects next from its caller. */
enum noise_action {
	NOISE_ACTION_WRITE,  /* call noise_handshake_write */
	NOISE_ACTION_READ,   /* call noise_handshake_read */
	NOISE_ACTION_SPLIT,  /* complete: call noise_handshake_split */
	NOISE_ACTION_DONE,   /* split already */
	NOISE_ACTION_FAILED  /* a step failed; the handshake is dead (the spec's abort) */
};

/*
 * Parses a protocol name such as "Noise_NNpsk0_25519_AESGCM_SHA256"; sets the
 * out-parameters only on success. Returns 0 or CVPN_ERR_UNKNOWN_PROTOCOL.
 */
int noise_protocol_parse(const char *name, enum noise_pattern *pattern, enum aead_cipher *cipher);

/* Generates a fresh X25519 key pair. Writes both only on success. Returns 0 or CVPN_ERR_CRYPTO. */
int noise_keypair_generate(uint8_t priv[static NOISE_DH_LEN], uint8_t pub[static NOISE_DH_LEN]);

/* Derives the public key of an X25519 private key. Returns 0 or CVPN_ERR_CRYPTO. */
int noise_public_key(const uint8_t priv[static NOISE_DH_LEN], uint8_t pub[static NOISE_DH_LEN]);

/*
 * X25519(priv, pub) into out (written only on success). A low-order public key,
 * whose shared secret is all zero for every private key, gives CVPN_ERR_DH_ZERO
 * before any computation (Noise 12.1 allows this error; WireGuard does the
 * same). Returns 0, CVPN_ERR_DH_ZERO or CVPN_ERR_CRYPTO.
 */
int noise_dh(const uint8_t priv[static NOISE_DH_LEN], const uint8_t pub[static NOISE_DH_LEN],
    uint8_t out[static NOISE_DH_LEN]);

/* HMAC-SHA256 of msg under key (either may be empty and then NULL). Returns 0 or CVPN_ERR_CRYPTO. */
int noise_hmac(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n, uint8_t out[static NOISE_HASH_LEN]);

/* The shortest truncated HMAC-SHA256 tag noise_hmac_verify accepts (128 bits, as WireGuard's mac1). */
#define NOISE_HMAC_MIN_TAG 16

/*
 * Checks in constant time that tag (taglen bytes) is HMAC-SHA256(key, msg) or
 * its first taglen bytes. Returns 0, CVPN_ERR_BAD_TAG, CVPN_ERR_INVALID_ARG
 * (taglen outside NOISE_HMAC_MIN_TAG..NOISE_HASH_LEN) or CVPN_ERR_CRYPTO.
 */
int noise_hmac_verify(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n, const uint8_t *tag,
    size_t taglen);

/*
 * RFC 5869 HKDF-SHA256 built on noise_hmac, of which Noise's HKDF(ck, ikm, k)
 * is the case salt = ck, empty info, outlen = 32k. Writes outlen bytes to out
 * only on success. Returns 0, CVPN_ERR_INVALID_ARG (outlen over NOISE_HKDF_MAX)
 * or CVPN_ERR_CRYPTO.
 */
int noise_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen, const uint8_t *info,
    size_t infolen, uint8_t *out, size_t outlen);

/*
 * Creates a CipherState with key k and nonce 0 (transport ciphers normally come
 * from noise_handshake_split). Sets *out only on success. Returns 0,
 * CVPN_ERR_INVALID_ARG, CVPN_ERR_NOMEM or CVPN_ERR_CRYPTO.
 */
int noise_cipher_new(enum aead_cipher c, const uint8_t key[static AEAD_KEY_LEN], struct noise_cipher **out);

/*
 * EncryptWithAd: encrypts n bytes of pt with associated data ad into out, which
 * gets n + NOISE_TAG_LEN bytes (out may be pt itself), and advances the nonce.
 * Returns 0, CVPN_ERR_TOO_LONG (the message would exceed NOISE_MAX_MSG),
 * CVPN_ERR_NONCE_EXHAUSTED (the nonce reached 2^64-1) or CVPN_ERR_CRYPTO.
 */
int noise_cipher_encrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n,
    uint8_t *out);

/*
 * DecryptWithAd: verifies n bytes of ct (ciphertext then tag) and decrypts them
 * into out, which gets n - NOISE_TAG_LEN bytes (out may be ct itself); sets
 * *outlen and advances the nonce only on success. On any failure the nonce is
 * unchanged and no plaintext is released (out is zeroed after a bad tag).
 * Returns 0, CVPN_ERR_BAD_TAG, CVPN_ERR_TRUNCATED, CVPN_ERR_TOO_LONG,
 * CVPN_ERR_NONCE_EXHAUSTED or CVPN_ERR_CRYPTO.
 */
int noise_cipher_decrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n,
    uint8_t *out, size_t *outlen);

/* Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zeros); n is kept. 0 or CVPN_ERR_CRYPTO. */
int noise_cipher_rekey(struct noise_cipher *cs);

/* The nonce the next message will use (0 after creation; 2^64-1 means exhausted). */
uint64_t noise_cipher_nonce(const struct noise_cipher *cs);

/* SetNonce(): sets the next nonce (for tests, and for a transport that carries nonces). */
void noise_cipher_set_nonce(struct noise_cipher *cs, uint64_t n);

/* The cipher in use. */
enum aead_cipher noise_cipher_cipher(const struct noise_cipher *cs);

/* Wipes the key and frees; accepts NULL. */
void noise_cipher_free(struct noise_cipher *cs);

/*
 * Initialize(): starts one side of a handshake for protocol with the prologue
 * (prologue_len bytes, NULL when 0) and the keys the pattern needs, each
 * NOISE_DH_LEN or NOISE_PSK_LEN bytes, or NULL when absent:
 *   s   the local static private key: IK and IKpsk2, both sides;
 *   rs  the responder's static public key: IK and IKpsk2, initiator only;
 *   psk the pre-shared key: NNpsk0 and IKpsk2, both sides.
 * A key the pattern needs that is missing, or one it has no use for, is
 * CVPN_ERR_INVALID_ARG. Sets *out only on success. Returns 0,
 * CVPN_ERR_UNKNOWN_PROTOCOL, CVPN_ERR_INVALID_ARG, CVPN_ERR_NOMEM or CVPN_ERR_CRYPTO.
 */
int noise_handshake_new(const char *protocol, bool initiator, const uint8_t *prologue, size_t prologue_len,
    const uint8_t *s, const uint8_t *rs, const uint8_t *psk, struct noise_handshake **out);

/*
 * Fixes the local ephemeral private key instead of generating one (known-answer
 * tests and reproducible captures only). Returns 0, or CVPN_ERR_STATE once an
 * ephemeral exists, or CVPN_ERR_CRYPTO.
 */
int noise_handshake_set_ephemeral(struct noise_handshake *hs, const uint8_t priv[static NOISE_DH_LEN]);

/* What the caller must do next. */
enum noise_action noise_handshake_action(const struct noise_handshake *hs);

/* Bytes the next message (to write or read) adds to its payload; 0 when no message is due. */
size_t noise_handshake_overhead(const struct noise_handshake *hs);

/*
 * WriteMessage(): writes the next handshake message carrying n bytes of payload
 * into out (outcap bytes, not overlapping payload) and sets *outlen. Argument
 * errors change nothing: CVPN_ERR_STATE (not our turn), CVPN_ERR_TOO_LONG (over
 * NOISE_MAX_MSG), CVPN_ERR_INVALID_ARG (outcap below overhead + n). Any later
 * failure (CVPN_ERR_DH_ZERO, CVPN_ERR_CRYPTO, ...) kills the handshake.
 */
int noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen);

/*
 * ReadMessage(): reads a handshake message of n bytes and writes its payload to
 * payload (cap bytes, not overlapping msg), setting *len only on success.
 * CVPN_ERR_STATE, CVPN_ERR_TOO_LONG, CVPN_ERR_TRUNCATED (shorter than the
 * overhead) and CVPN_ERR_INVALID_ARG (cap too small) change nothing; any later
 * failure (CVPN_ERR_BAD_TAG, CVPN_ERR_DH_ZERO, ...) kills the handshake and
 * releases no payload.
 */
int noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg, size_t n, uint8_t *payload, size_t cap,
    size_t *len);

/*
 * Split(): once the handshake is complete, creates the two transport ciphers:
 * *send encrypts what this side sends, *recv decrypts what it receives; both
 * are set only on success. Wipes the handshake's secrets; the handshake hash
 * and remote static key stay readable. Returns 0, CVPN_ERR_STATE,
 * CVPN_ERR_NOMEM or CVPN_ERR_CRYPTO.
 */
int noise_handshake_split(struct noise_handshake *hs, struct noise_cipher **send, struct noise_cipher **recv);

/*
 * For key logs only: the two transport keys Split() will use, initiator to
 * responder first, then responder to initiator (64 bytes). Call it before
 * noise_handshake_split; the caller wipes them. Returns 0, CVPN_ERR_STATE or CVPN_ERR_CRYPTO.
 */
int noise_handshake_split_keys(const struct noise_handshake *hs, uint8_t keys[static 2 * AEAD_KEY_LEN]);

/* Copies the handshake hash h (channel binding); CVPN_ERR_STATE until the handshake is complete. */
int noise_handshake_hash(const struct noise_handshake *hs, uint8_t out[static NOISE_HASH_LEN]);

/*
 * Copies the peer's static public key: known from the start for an IK
 * initiator, after the first message for an IK responder (authenticated once
 * noise_handshake_read returned 0). CVPN_ERR_STATE while unknown or without one.
 */
int noise_handshake_remote_static(const struct noise_handshake *hs, uint8_t out[static NOISE_DH_LEN]);

/* Wipes every secret and frees; accepts NULL. */
void noise_handshake_free(struct noise_handshake *hs);

#endif
