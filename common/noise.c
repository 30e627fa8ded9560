/* SPDX-License-Identifier: MIT */
/*
 * The Noise Protocol Framework, revision 34, sections 5 (processing rules),
 * 7 (patterns), 9 (pre-shared keys), 11-12 (DH, cipher and hash functions):
 * CipherState, SymmetricState and HandshakeState as the spec writes them,
 * over libcrypto's X25519, ChaCha20-Poly1305 / AES-256-GCM, SHA-256 and HMAC.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aead.h"
#include "err.h"
#include "noise.h"

/* ---- Primitives: X25519, SHA-256, HMAC, HKDF ---- */

/*
 * The X25519 public keys of small order, reduced mod 2^255 (the top bit is
 * ignored, RFC 7748 section 5): 0, 1, the two points of order 8, p-1, p, p+1.
 * Multiplying any of them by a clamped scalar gives 0 (libsodium's list).
 */
static const uint8_t low_order[][NOISE_DH_LEN] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	  0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
	  0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

static bool
is_low_order(const uint8_t pub[static NOISE_DH_LEN])
{
	uint8_t u[NOISE_DH_LEN];
	size_t i;
	bool found = false;

	memcpy(u, pub, sizeof(u));
	u[NOISE_DH_LEN - 1] &= 0x7f;
	for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++)
		found |= CRYPTO_memcmp(u, low_order[i], NOISE_DH_LEN) == 0;
	return found;
}

int
noise_public_key(const uint8_t priv[static NOISE_DH_LEN], uint8_t pub[static NOISE_DH_LEN])
{
	uint8_t pk[NOISE_DH_LEN];
	EVP_PKEY *pkey;
	size_t len = sizeof(pk);
	int ok;

	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NOISE_DH_LEN)) == NULL)
		return CVPN_ERR_CRYPTO;
	ok = EVP_PKEY_get_raw_public_key(pkey, pk, &len) && len == sizeof(pk);
	EVP_PKEY_free(pkey);
	if (!ok)
		return CVPN_ERR_CRYPTO;
	memcpy(pub, pk, sizeof(pk));
	return 0;
}

int
noise_keypair_generate(uint8_t priv[static NOISE_DH_LEN], uint8_t pub[static NOISE_DH_LEN])
{
	uint8_t sk[NOISE_DH_LEN], pk[NOISE_DH_LEN];
	size_t sklen = sizeof(sk), pklen = sizeof(pk);
	EVP_PKEY *pkey;
	int r = CVPN_ERR_CRYPTO;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
		return CVPN_ERR_CRYPTO;
	if (!EVP_PKEY_get_raw_private_key(pkey, sk, &sklen) || sklen != sizeof(sk) ||
	    !EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) || pklen != sizeof(pk))
		goto out;
	memcpy(priv, sk, sizeof(sk));
	memcpy(pub, pk, sizeof(pk));
	r = 0;
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	EVP_PKEY_free(pkey);
	return r;
}

/* DH(key, pub) with a key already imported: importing a private key costs a scalar multiplication. */
static int
dh_with(EVP_PKEY *key, const uint8_t pub[static NOISE_DH_LEN], uint8_t out[static NOISE_DH_LEN])
{
	static const uint8_t zero[NOISE_DH_LEN];
	uint8_t secret[NOISE_DH_LEN];
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = sizeof(secret);
	int r = CVPN_ERR_CRYPTO;

	/* libcrypto fails on these too, but with no reason a caller could tell apart. */
	if (is_low_order(pub))
		return CVPN_ERR_DH_ZERO;
	if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, NOISE_DH_LEN)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) <= 0 || EVP_PKEY_derive(ctx, secret, &len) <= 0 ||
	    len != sizeof(secret))
		goto out;
	/* The list above should make this unreachable; the spec's rule is about the output. */
	if (CRYPTO_memcmp(secret, zero, sizeof(secret)) == 0) {
		r = CVPN_ERR_DH_ZERO;
		goto out;
	}
	memcpy(out, secret, sizeof(secret));
	r = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

int
noise_dh(const uint8_t priv[static NOISE_DH_LEN], const uint8_t pub[static NOISE_DH_LEN],
    uint8_t out[static NOISE_DH_LEN])
{
	EVP_PKEY *key;
	int r;

	if (is_low_order(pub))
		return CVPN_ERR_DH_ZERO;
	if ((key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NOISE_DH_LEN)) == NULL)
		return CVPN_ERR_CRYPTO;
	r = dh_with(key, pub, out);
	EVP_PKEY_free(key);
	return r;
}

/* HASH(a || b) with SHA-256. */
static int
hash2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[static NOISE_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return CVPN_ERR_NOMEM;
	ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) && (alen == 0 || EVP_DigestUpdate(ctx, a, alen)) &&
	    (blen == 0 || EVP_DigestUpdate(ctx, b, blen)) && EVP_DigestFinal_ex(ctx, out, &len) &&
	    len == NOISE_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : CVPN_ERR_CRYPTO;
}

struct part {
	const uint8_t *p;
	size_t n;
};

/* HMAC-SHA256 over the concatenation of parts[0..nparts). */
static int
hmac_parts(const uint8_t *key, size_t keylen, const struct part *parts, size_t nparts,
    uint8_t out[static NOISE_HASH_LEN])
{
	static const uint8_t empty[1];
	uint8_t md[NOISE_HASH_LEN];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;
	size_t len = 0, i;
	int r = CVPN_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return CVPN_ERR_CRYPTO;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	/* A NULL key would mean "keep the old key": an empty key needs a real pointer. */
	if (ctx == NULL || !EVP_MAC_init(ctx, keylen ? key : empty, keylen, params))
		goto out;
	for (i = 0; i < nparts; i++) {
		if (parts[i].n > 0 && !EVP_MAC_update(ctx, parts[i].p, parts[i].n))
			goto out;
	}
	if (!EVP_MAC_final(ctx, md, &len, sizeof(md)) || len != sizeof(md))
		goto out;
	memcpy(out, md, sizeof(md));
	r = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	return r;
}

int
noise_hmac(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n, uint8_t out[static NOISE_HASH_LEN])
{
	struct part part = { msg, n };

	return hmac_parts(key, keylen, &part, 1, out);
}

int
noise_hmac_verify(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n, const uint8_t *tag,
    size_t taglen)
{
	uint8_t want[NOISE_HASH_LEN];
	int r;

	if (taglen < NOISE_HMAC_MIN_TAG || taglen > NOISE_HASH_LEN || tag == NULL)
		return CVPN_ERR_INVALID_ARG;
	if ((r = noise_hmac(key, keylen, msg, n, want)) == 0 && CRYPTO_memcmp(want, tag, taglen) != 0)
		r = CVPN_ERR_BAD_TAG;
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

int
noise_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen, const uint8_t *info,
    size_t infolen, uint8_t *out, size_t outlen)
{
	uint8_t prk[NOISE_HASH_LEN], t[NOISE_HASH_LEN], i = 1;
	struct part parts[3];
	size_t done, take;
	int r;

	if (outlen > NOISE_HKDF_MAX || (outlen > 0 && out == NULL))
		return CVPN_ERR_INVALID_ARG;
	/* Extract: PRK = HMAC(salt, IKM). Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	parts[0] = (struct part){ ikm, ikmlen };
	if ((r = hmac_parts(salt, saltlen, parts, 1, prk)) != 0)
		goto out;
	for (done = 0; done < outlen; done += take, i++) {
		parts[0] = (struct part){ t, i == 1 ? 0 : sizeof(t) };
		parts[1] = (struct part){ info, infolen };
		parts[2] = (struct part){ &i, 1 };
		if ((r = hmac_parts(prk, sizeof(prk), parts, 3, t)) != 0)
			goto out;
		take = outlen - done < sizeof(t) ? outlen - done : sizeof(t);
		memcpy(out + done, t, take);
	}
	r = 0;
out:
	if (r != 0 && outlen > 0)
		OPENSSL_cleanse(out, outlen);
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return r;
}

/* ---- Protocol names ---- */

enum token { TOK_END, TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE, TOK_SS, TOK_PSK };

#define MAX_TOKENS 5
#define MAX_MESSAGES 2

static const struct pattern {
	const char *name;
	enum noise_pattern id;
	bool resp_s_premsg;  /* "<- s" before "...": the initiator knows the responder's key */
	bool init_s;         /* the initiator sends a static key */
	bool psk;
	unsigned nmsg;
	uint8_t tokens[MAX_MESSAGES][MAX_TOKENS]; /* TOK_END-terminated; even messages go initiator -> responder */
} patterns[] = {
	{ "NN", NOISE_NN, false, false, false, 2, { { TOK_E }, { TOK_E, TOK_EE } } },
	{ "IK", NOISE_IK, true, true, false, 2,
	    { { TOK_E, TOK_ES, TOK_S, TOK_SS }, { TOK_E, TOK_EE, TOK_SE } } },
	{ "NNpsk0", NOISE_NNPSK0, false, false, true, 2, { { TOK_PSK, TOK_E }, { TOK_E, TOK_EE } } },
	{ "IKpsk2", NOISE_IKPSK2, true, true, true, 2,
	    { { TOK_E, TOK_ES, TOK_S, TOK_SS }, { TOK_E, TOK_EE, TOK_SE, TOK_PSK } } },
};

/* Splits name at '_' into exactly n fields. */
static bool
fields(const char *name, const char *field[], size_t len[], size_t n)
{
	size_t i = 0;
	const char *p = name, *q;

	for (;;) {
		if (i == n)
			return false;
		q = strchr(p, '_');
		field[i] = p;
		len[i] = q ? (size_t)(q - p) : strlen(p);
		i++;
		if (q == NULL)
			return i == n;
		p = q + 1;
	}
}

static bool
field_is(const char *field, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(field, want, len) == 0;
}

static const struct pattern *
pattern_named(const char *field, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (field_is(field, len, patterns[i].name))
			return &patterns[i];
	}
	return NULL;
}

/* The longest name we accept; ours are at most 36 characters. */
#define MAX_NAME 64

static int
parse(const char *name, const struct pattern **pat, enum aead_cipher *cipher)
{
	const char *field[5];
	size_t len[5];
	const struct pattern *p;

	if (name == NULL || strnlen(name, MAX_NAME + 1) > MAX_NAME || !fields(name, field, len, 5) ||
	    !field_is(field[0], len[0], "Noise") || !field_is(field[2], len[2], "25519") ||
	    !field_is(field[4], len[4], "SHA256") || (p = pattern_named(field[1], len[1])) == NULL ||
	    aead_parse(field[3], len[3], cipher) != 0)
		return CVPN_ERR_UNKNOWN_PROTOCOL;
	*pat = p;
	return 0;
}

int
noise_protocol_parse(const char *name, enum noise_pattern *pattern, enum aead_cipher *cipher)
{
	const struct pattern *p;
	enum aead_cipher c;
	int r;

	if ((r = parse(name, &p, &c)) != 0)
		return r;
	*pattern = p->id;
	*cipher = c;
	return 0;
}

/* ---- CipherState ---- */

struct noise_cipher {
	enum aead_cipher cipher;
	struct aead *k;  /* NULL while the handshake has no key yet */
	uint64_t n;
};

#define NONCE_MAX UINT64_MAX

/* InitializeKey(key): n = 0. The first key creates the context; later ones reuse it. */
static int
cs_init_key(struct noise_cipher *cs, const uint8_t key[static AEAD_KEY_LEN])
{
	int r;

	if (cs->k == NULL)
		r = aead_new(cs->cipher, key, AEAD_KEY_LEN, &cs->k);
	else
		r = aead_set_key(cs->k, key);
	if (r == 0)
		cs->n = 0;
	return r;
}

/* EncryptWithAd; without a key the plaintext passes through unchanged. */
static int
cs_encrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n, uint8_t *out)
{
	int r;

	if (cs->k == NULL) {
		if (n > 0)
			memmove(out, pt, n);
		return 0;
	}
	if (cs->n == NONCE_MAX)
		return CVPN_ERR_NONCE_EXHAUSTED;
	if ((r = aead_seal(cs->k, cs->n, ad, adlen, pt, n, out)) != 0)
		return r;
	cs->n++;
	return 0;
}

/* DecryptWithAd; the nonce advances only when the tag verifies. */
static int
cs_decrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n, uint8_t *out)
{
	size_t outlen;
	int r;

	if (cs->k == NULL) {
		if (n > 0)
			memmove(out, ct, n);
		return 0;
	}
	if (cs->n == NONCE_MAX)
		return CVPN_ERR_NONCE_EXHAUSTED;
	if ((r = aead_open(cs->k, cs->n, ad, adlen, ct, n, out, &outlen)) != 0)
		return r;
	cs->n++;
	return 0;
}

int
noise_cipher_new(enum aead_cipher c, const uint8_t key[static AEAD_KEY_LEN], struct noise_cipher **out)
{
	struct noise_cipher *cs;
	int r;

	if (c != AEAD_CHACHAPOLY && c != AEAD_AESGCM)
		return CVPN_ERR_INVALID_ARG;
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return CVPN_ERR_NOMEM;
	cs->cipher = c;
	if ((r = cs_init_key(cs, key)) != 0) {
		noise_cipher_free(cs);
		return r;
	}
	*out = cs;
	return 0;
}

int
noise_cipher_encrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t n,
    uint8_t *out)
{
	if (n > NOISE_MAX_MSG - NOISE_TAG_LEN)
		return CVPN_ERR_TOO_LONG;
	if (cs->k == NULL)
		return CVPN_ERR_STATE;
	return cs_encrypt(cs, ad, adlen, pt, n, out);
}

int
noise_cipher_decrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t n,
    uint8_t *out, size_t *outlen)
{
	int r;

	if (n > NOISE_MAX_MSG)
		return CVPN_ERR_TOO_LONG;
	if (n < NOISE_TAG_LEN)
		return CVPN_ERR_TRUNCATED;
	if (cs->k == NULL)
		return CVPN_ERR_STATE;
	if ((r = cs_decrypt(cs, ad, adlen, ct, n, out)) != 0)
		return r;
	*outlen = n - NOISE_TAG_LEN;
	return 0;
}

int
noise_cipher_rekey(struct noise_cipher *cs)
{
	uint8_t block[AEAD_KEY_LEN + AEAD_TAG_LEN] = { 0 };
	int r;

	if (cs->k == NULL)
		return CVPN_ERR_STATE;
	/* REKEY(k) = ENCRYPT(k, maxnonce, zerolen, zeros), truncated to 32 bytes (spec 4.2). */
	if ((r = aead_seal(cs->k, NONCE_MAX, NULL, 0, block, AEAD_KEY_LEN, block)) == 0)
		r = aead_set_key(cs->k, block);
	OPENSSL_cleanse(block, sizeof(block));
	return r;
}

uint64_t
noise_cipher_nonce(const struct noise_cipher *cs)
{
	return cs->n;
}

void
noise_cipher_set_nonce(struct noise_cipher *cs, uint64_t n)
{
	cs->n = n;
}

enum aead_cipher
noise_cipher_cipher(const struct noise_cipher *cs)
{
	return cs->cipher;
}

void
noise_cipher_free(struct noise_cipher *cs)
{
	if (cs == NULL)
		return;
	aead_free(cs->k);
	OPENSSL_cleanse(cs, sizeof(*cs));
	free(cs);
}

/* ---- SymmetricState and HandshakeState ---- */

/* A key pair imported once: every DH of the handshake reuses pkey. */
struct keypair {
	EVP_PKEY *pkey;
	uint8_t pub[NOISE_DH_LEN];
	bool set;
};

struct noise_handshake {
	const struct pattern *pat;
	bool initiator;
	bool failed;
	bool split;
	unsigned next;            /* index of the next message in pat->tokens */
	struct noise_cipher cs;   /* the SymmetricState's CipherState */
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
	struct keypair s, e;
	uint8_t rs[NOISE_DH_LEN], re[NOISE_DH_LEN];
	bool has_rs, has_re;
	uint8_t psk[NOISE_PSK_LEN];
};

/* MixHash(data): h = HASH(h || data). */
static int
mix_hash(struct noise_handshake *hs, const uint8_t *data, size_t n)
{
	return hash2(hs->h, sizeof(hs->h), data, n, hs->h);
}

/* MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k). */
static int
mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t n)
{
	uint8_t out[2 * NOISE_HASH_LEN];
	int r;

	if ((r = noise_hkdf(hs->ck, sizeof(hs->ck), ikm, n, NULL, 0, out, sizeof(out))) == 0) {
		memcpy(hs->ck, out, NOISE_HASH_LEN);
		r = cs_init_key(&hs->cs, out + NOISE_HASH_LEN);
	}
	OPENSSL_cleanse(out, sizeof(out));
	return r;
}

/* MixKeyAndHash(ikm): ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h); InitializeKey(temp_k). */
static int
mix_key_and_hash(struct noise_handshake *hs, const uint8_t *ikm, size_t n)
{
	uint8_t out[3 * NOISE_HASH_LEN];
	int r;

	if ((r = noise_hkdf(hs->ck, sizeof(hs->ck), ikm, n, NULL, 0, out, sizeof(out))) == 0) {
		memcpy(hs->ck, out, NOISE_HASH_LEN);
		if ((r = mix_hash(hs, out + NOISE_HASH_LEN, NOISE_HASH_LEN)) == 0)
			r = cs_init_key(&hs->cs, out + 2 * NOISE_HASH_LEN);
	}
	OPENSSL_cleanse(out, sizeof(out));
	return r;
}

/* EncryptAndHash: out = EncryptWithAd(h, pt); MixHash(out). out gets n (+ tag once keyed). */
static int
encrypt_and_hash(struct noise_handshake *hs, const uint8_t *pt, size_t n, uint8_t *out, size_t *outlen)
{
	size_t len = n + (hs->cs.k ? NOISE_TAG_LEN : 0);
	int r;

	if ((r = cs_encrypt(&hs->cs, hs->h, sizeof(hs->h), pt, n, out)) != 0 || (r = mix_hash(hs, out, len)) != 0)
		return r;
	*outlen = len;
	return 0;
}

/* DecryptAndHash: out = DecryptWithAd(h, ct); MixHash(ct). */
static int
decrypt_and_hash(struct noise_handshake *hs, const uint8_t *ct, size_t n, uint8_t *out)
{
	uint8_t h[NOISE_HASH_LEN];
	int r;

	/* MixHash needs the ciphertext, DecryptWithAd the old h: keep the old h as the AD. */
	memcpy(h, hs->h, sizeof(h));
	if ((r = mix_hash(hs, ct, n)) != 0)
		return r;
	return cs_decrypt(&hs->cs, h, sizeof(h), ct, n, out);
}

/* Fills kp from pkey (taking it over). */
static int
take_keypair(struct keypair *kp, EVP_PKEY *pkey)
{
	size_t len = NOISE_DH_LEN;

	if (pkey == NULL)
		return CVPN_ERR_CRYPTO;
	if (!EVP_PKEY_get_raw_public_key(pkey, kp->pub, &len) || len != NOISE_DH_LEN) {
		EVP_PKEY_free(pkey);
		return CVPN_ERR_CRYPTO;
	}
	kp->pkey = pkey;
	kp->set = true;
	return 0;
}

static int
set_keypair(struct keypair *kp, const uint8_t priv[static NOISE_DH_LEN])
{
	return take_keypair(kp, EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NOISE_DH_LEN));
}

/* Frees the key (EVP_PKEY_free cleanses it) and forgets the pair. */
static void
clear_keypair(struct keypair *kp)
{
	EVP_PKEY_free(kp->pkey);
	OPENSSL_cleanse(kp, sizeof(*kp));
}

/* InitializeSymmetric(name), MixHash(prologue), the pre-message, and the keys. */
static int
initialize(struct noise_handshake *hs, const char *name, const uint8_t *prologue, size_t prologue_len,
    const uint8_t *s, const uint8_t *rs, const uint8_t *psk)
{
	size_t len = strlen(name);
	int r;

	if (len <= NOISE_HASH_LEN)
		memcpy(hs->h, name, len);
	else if ((r = hash2((const uint8_t *)name, len, NULL, 0, hs->h)) != 0)
		return r;
	memcpy(hs->ck, hs->h, sizeof(hs->ck));
	if ((r = mix_hash(hs, prologue, prologue_len)) != 0 || (s != NULL && (r = set_keypair(&hs->s, s)) != 0))
		return r;
	if (rs != NULL) {
		memcpy(hs->rs, rs, NOISE_DH_LEN);
		hs->has_rs = true;
	}
	if (psk != NULL)
		memcpy(hs->psk, psk, NOISE_PSK_LEN);
	/* "<- s ...": both sides hash the responder's static public key. */
	if (hs->pat->resp_s_premsg)
		return mix_hash(hs, hs->initiator ? hs->rs : hs->s.pub, NOISE_DH_LEN);
	return 0;
}

int
noise_handshake_new(const char *protocol, bool initiator, const uint8_t *prologue, size_t prologue_len,
    const uint8_t *s, const uint8_t *rs, const uint8_t *psk, struct noise_handshake **out)
{
	const struct pattern *pat;
	struct noise_handshake *hs;
	enum aead_cipher cipher;
	bool need_s, need_rs;
	int r;

	if ((r = parse(protocol, &pat, &cipher)) != 0)
		return r;
	need_s = initiator ? pat->init_s : pat->resp_s_premsg;
	need_rs = initiator && pat->resp_s_premsg;
	if ((s != NULL) != need_s || (rs != NULL) != need_rs || (psk != NULL) != pat->psk ||
	    (prologue_len > 0 && prologue == NULL))
		return CVPN_ERR_INVALID_ARG;
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return CVPN_ERR_NOMEM;
	hs->pat = pat;
	hs->initiator = initiator;
	hs->cs.cipher = cipher;
	if ((r = initialize(hs, protocol, prologue, prologue_len, s, rs, psk)) != 0) {
		noise_handshake_free(hs);
		return r;
	}
	*out = hs;
	return 0;
}

int
noise_handshake_set_ephemeral(struct noise_handshake *hs, const uint8_t priv[static NOISE_DH_LEN])
{
	if (hs->e.set || hs->failed || hs->split)
		return CVPN_ERR_STATE;
	return set_keypair(&hs->e, priv);
}

enum noise_action
noise_handshake_action(const struct noise_handshake *hs)
{
	if (hs->failed)
		return NOISE_ACTION_FAILED;
	if (hs->split)
		return NOISE_ACTION_DONE;
	if (hs->next >= hs->pat->nmsg)
		return NOISE_ACTION_SPLIT;
	return (hs->next % 2 == 0) == hs->initiator ? NOISE_ACTION_WRITE : NOISE_ACTION_READ;
}

size_t
noise_handshake_overhead(const struct noise_handshake *hs)
{
	const uint8_t *tok;
	bool keyed = hs->cs.k != NULL;
	size_t n = 0;

	if (hs->failed || hs->split || hs->next >= hs->pat->nmsg)
		return 0;
	/* Replays the key schedule: a key exists after any DH or psk, and after "e" in a psk pattern. */
	for (tok = hs->pat->tokens[hs->next]; *tok != TOK_END; tok++) {
		switch (*tok) {
		case TOK_E:
			n += NOISE_DH_LEN;
			keyed = keyed || hs->pat->psk;
			break;
		case TOK_S:
			n += NOISE_DH_LEN + (keyed ? NOISE_TAG_LEN : 0);
			break;
		default:
			keyed = true;
			break;
		}
	}
	return n + (keyed ? NOISE_TAG_LEN : 0);
}

/*
 * The DH a token calls for, seen from this side, mixed into the key: "es" is
 * DH(e, rs) for the initiator and DH(s, re) for the responder, "se" the
 * reverse, "ee" and "ss" the same on both sides.
 */
static int
dh_token(struct noise_handshake *hs, enum token tok)
{
	bool local_e = tok == TOK_EE || (tok == TOK_ES && hs->initiator) || (tok == TOK_SE && !hs->initiator);
	bool remote_e = tok == TOK_EE || (tok == TOK_ES && !hs->initiator) || (tok == TOK_SE && hs->initiator);
	const struct keypair *local = local_e ? &hs->e : &hs->s;
	const uint8_t *remote = remote_e ? hs->re : hs->rs;
	uint8_t out[NOISE_DH_LEN];
	int r;

	if (!local->set || !(remote_e ? hs->has_re : hs->has_rs))
		return CVPN_ERR_INTERNAL;
	if ((r = dh_with(local->pkey, remote, out)) == 0)
		r = mix_key(hs, out, sizeof(out));
	OPENSSL_cleanse(out, sizeof(out));
	return r;
}

/* Forgets every secret once the handshake is over, either way; h and the public keys stay. */
static void
wipe(struct noise_handshake *hs)
{
	aead_free(hs->cs.k);
	hs->cs.k = NULL;
	OPENSSL_cleanse(hs->ck, sizeof(hs->ck));
	clear_keypair(&hs->s);
	clear_keypair(&hs->e);
	OPENSSL_cleanse(hs->psk, sizeof(hs->psk));
}

/* Processes one token of a message being written at out + *pos. */
static int
write_token(struct noise_handshake *hs, enum token tok, uint8_t *out, size_t *pos)
{
	size_t len;
	int r;

	switch (tok) {
	case TOK_E:
		if (!hs->e.set && (r = take_keypair(&hs->e, EVP_PKEY_Q_keygen(NULL, NULL, "X25519"))) != 0)
			return r;
		memcpy(out + *pos, hs->e.pub, NOISE_DH_LEN);
		*pos += NOISE_DH_LEN;
		if ((r = mix_hash(hs, hs->e.pub, NOISE_DH_LEN)) != 0)
			return r;
		/* Spec 9.2: in a psk handshake "e" also calls MixKey(e.public_key). */
		return hs->pat->psk ? mix_key(hs, hs->e.pub, NOISE_DH_LEN) : 0;
	case TOK_S:
		if ((r = encrypt_and_hash(hs, hs->s.pub, NOISE_DH_LEN, out + *pos, &len)) != 0)
			return r;
		*pos += len;
		return 0;
	case TOK_PSK:
		return mix_key_and_hash(hs, hs->psk, sizeof(hs->psk));
	default:
		return dh_token(hs, tok);
	}
}

int
noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	const uint8_t *tok;
	size_t need, pos = 0, len = 0;
	int r;

	if (noise_handshake_action(hs) != NOISE_ACTION_WRITE)
		return CVPN_ERR_STATE;
	need = noise_handshake_overhead(hs);
	if (n > NOISE_MAX_MSG - need)
		return CVPN_ERR_TOO_LONG;
	if (out == NULL || outcap < need + n || (n > 0 && payload == NULL))
		return CVPN_ERR_INVALID_ARG;
	for (tok = hs->pat->tokens[hs->next]; *tok != TOK_END; tok++) {
		if ((r = write_token(hs, (enum token)*tok, out, &pos)) != 0)
			goto out;
	}
	if ((r = encrypt_and_hash(hs, payload, n, out + pos, &len)) != 0)
		goto out;
	if (pos + len != need + n) {
		r = CVPN_ERR_INTERNAL;
		goto out;
	}
	hs->next++;
	*outlen = need + n;
	r = 0;
out:
	if (r != 0) {
		hs->failed = true;
		wipe(hs);
		OPENSSL_cleanse(out, need + n);
	}
	return r;
}

/* Processes one token of a message being read at msg + *pos (the length was checked). */
static int
read_token(struct noise_handshake *hs, enum token tok, const uint8_t *msg, size_t *pos)
{
	uint8_t rs[NOISE_DH_LEN];
	size_t len;
	int r;

	switch (tok) {
	case TOK_E:
		memcpy(hs->re, msg + *pos, NOISE_DH_LEN);
		hs->has_re = true;
		*pos += NOISE_DH_LEN;
		if ((r = mix_hash(hs, hs->re, NOISE_DH_LEN)) != 0)
			return r;
		return hs->pat->psk ? mix_key(hs, hs->re, NOISE_DH_LEN) : 0;
	case TOK_S:
		len = NOISE_DH_LEN + (hs->cs.k ? NOISE_TAG_LEN : 0);
		if ((r = decrypt_and_hash(hs, msg + *pos, len, rs)) != 0)
			return r;
		memcpy(hs->rs, rs, NOISE_DH_LEN);
		hs->has_rs = true;
		*pos += len;
		return 0;
	case TOK_PSK:
		return mix_key_and_hash(hs, hs->psk, sizeof(hs->psk));
	default:
		return dh_token(hs, tok);
	}
}

int
noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg, size_t n, uint8_t *payload, size_t cap,
    size_t *len)
{
	const uint8_t *tok;
	size_t need, plen = 0, pos = 0;
	int r;

	if (noise_handshake_action(hs) != NOISE_ACTION_READ)
		return CVPN_ERR_STATE;
	need = noise_handshake_overhead(hs);
	if (n > NOISE_MAX_MSG)
		return CVPN_ERR_TOO_LONG;
	if (n < need)
		return CVPN_ERR_TRUNCATED;
	plen = n - need;
	if (msg == NULL || cap < plen || (plen > 0 && payload == NULL))
		return CVPN_ERR_INVALID_ARG;
	for (tok = hs->pat->tokens[hs->next]; *tok != TOK_END; tok++) {
		if ((r = read_token(hs, (enum token)*tok, msg, &pos)) != 0)
			goto out;
	}
	if (n - pos != plen + (hs->cs.k ? NOISE_TAG_LEN : 0)) {
		r = CVPN_ERR_INTERNAL;
		goto out;
	}
	if ((r = decrypt_and_hash(hs, msg + pos, n - pos, payload)) != 0)
		goto out;
	hs->next++;
	*len = plen;
	r = 0;
out:
	if (r != 0) {
		hs->failed = true;
		wipe(hs);
		if (plen > 0)
			OPENSSL_cleanse(payload, plen);
	}
	return r;
}

int
noise_handshake_split_keys(const struct noise_handshake *hs, uint8_t keys[static 2 * AEAD_KEY_LEN])
{
	if (noise_handshake_action(hs) != NOISE_ACTION_SPLIT)
		return CVPN_ERR_STATE;
	return noise_hkdf(hs->ck, sizeof(hs->ck), NULL, 0, NULL, 0, keys, 2 * AEAD_KEY_LEN);
}

int
noise_handshake_split(struct noise_handshake *hs, struct noise_cipher **send, struct noise_cipher **recv)
{
	uint8_t k[2 * AEAD_KEY_LEN];
	struct noise_cipher *c1 = NULL, *c2 = NULL;
	int r;

	if (noise_handshake_action(hs) != NOISE_ACTION_SPLIT)
		return CVPN_ERR_STATE;
	/* temp_k1, temp_k2 = HKDF(ck, zerolen, 2): c1 carries initiator -> responder. */
	if ((r = noise_hkdf(hs->ck, sizeof(hs->ck), NULL, 0, NULL, 0, k, sizeof(k))) != 0 ||
	    (r = noise_cipher_new(hs->cs.cipher, k, &c1)) != 0 ||
	    (r = noise_cipher_new(hs->cs.cipher, k + AEAD_KEY_LEN, &c2)) != 0)
		goto out;
	*send = hs->initiator ? c1 : c2;
	*recv = hs->initiator ? c2 : c1;
	c1 = c2 = NULL;
	hs->split = true;
	wipe(hs);
	r = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	noise_cipher_free(c1);
	noise_cipher_free(c2);
	return r;
}

int
noise_handshake_hash(const struct noise_handshake *hs, uint8_t out[static NOISE_HASH_LEN])
{
	enum noise_action a = noise_handshake_action(hs);

	if (a != NOISE_ACTION_SPLIT && a != NOISE_ACTION_DONE)
		return CVPN_ERR_STATE;
	memcpy(out, hs->h, NOISE_HASH_LEN);
	return 0;
}

int
noise_handshake_remote_static(const struct noise_handshake *hs, uint8_t out[static NOISE_DH_LEN])
{
	if (!hs->has_rs || hs->failed)
		return CVPN_ERR_STATE;
	memcpy(out, hs->rs, NOISE_DH_LEN);
	return 0;
}

void
noise_handshake_free(struct noise_handshake *hs)
{
	if (hs == NULL)
		return;
	aead_free(hs->cs.k);
	clear_keypair(&hs->s);
	clear_keypair(&hs->e);
	OPENSSL_cleanse(hs, sizeof(*hs));
	free(hs);
}
