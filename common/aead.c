/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "aead.h"
#include "err.h"

struct aead {
	enum aead_cipher cipher;
	EVP_CIPHER_CTX *ctx; /* keyed once; each message only sets the nonce and direction */
};

static const char *const names[] = {
	[AEAD_CHACHAPOLY] = "ChaChaPoly",
	[AEAD_AESGCM] = "AESGCM",
};

const char *
aead_name(enum aead_cipher c)
{
	return c <= AEAD_AESGCM ? names[c] : "?";
}

int
aead_parse(const char *name, size_t len, enum aead_cipher *c)
{
	int i;

	for (i = AEAD_CHACHAPOLY; i <= AEAD_AESGCM; i++) {
		if (len == strlen(names[i]) && memcmp(name, names[i], len) == 0) {
			*c = (enum aead_cipher)i;
			return 0;
		}
	}
	return CVPN_ERR_UNKNOWN_PROTOCOL;
}

void
aead_nonce(enum aead_cipher c, uint64_t n, uint8_t nonce[static AEAD_NONCE_LEN])
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(n >> (8 * i));

		if (c == AEAD_AESGCM)
			nonce[11 - i] = b;
		else
			nonce[4 + i] = b;
	}
}

static const EVP_CIPHER *
evp_for(enum aead_cipher c)
{
	switch (c) {
	case AEAD_CHACHAPOLY:
		return EVP_chacha20_poly1305();
	case AEAD_AESGCM:
		return EVP_aes_256_gcm();
	}
	return NULL;
}

int
aead_new(enum aead_cipher c, const uint8_t *key, size_t key_len, struct aead **out)
{
	const EVP_CIPHER *evp = evp_for(c);
	struct aead *a;
	int r = CVPN_ERR_CRYPTO;

	if (evp == NULL || key == NULL || key_len != AEAD_KEY_LEN)
		return CVPN_ERR_INVALID_ARG;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CVPN_ERR_NOMEM;
	a->cipher = c;
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		r = CVPN_ERR_NOMEM;
		goto out;
	}
	/* Both ciphers default to the 12-byte nonce this module always uses. */
	if (!EVP_CipherInit_ex2(a->ctx, evp, key, NULL, 1, NULL) ||
	    EVP_CIPHER_CTX_get_key_length(a->ctx) != AEAD_KEY_LEN ||
	    EVP_CIPHER_CTX_get_iv_length(a->ctx) != AEAD_NONCE_LEN)
		goto out;
	*out = a;
	a = NULL;
	r = 0;
out:
	aead_free(a);
	return r;
}

int
aead_set_key(struct aead *a, const uint8_t key[static AEAD_KEY_LEN])
{
	return EVP_CipherInit_ex2(a->ctx, NULL, key, NULL, -1, NULL) ? 0 : CVPN_ERR_CRYPTO;
}

/* Feeds the associated data; EVP takes NULL output for it. */
static int
feed_ad(struct aead *a, const uint8_t *ad, size_t adlen)
{
	int outl = 0;

	if (adlen == 0)
		return 0;
	return EVP_CipherUpdate(a->ctx, NULL, &outl, ad, (int)adlen) && (size_t)outl == adlen ? 0 : CVPN_ERR_CRYPTO;
}

static int
do_seal(struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *out)
{
	OSSL_PARAM get_tag[] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out + len, AEAD_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};
	int outl = 0, r;

	if (len > AEAD_MAX_LEN || adlen > AEAD_MAX_LEN)
		return CVPN_ERR_TOO_LONG;
	if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 1, NULL))
		return CVPN_ERR_CRYPTO;
	if ((r = feed_ad(a, ad, adlen)) != 0)
		return r;
	if (len > 0 && (!EVP_CipherUpdate(a->ctx, out, &outl, pt, (int)len) || (size_t)outl != len))
		return CVPN_ERR_CRYPTO;
	/*
	 * Final writes no bytes for these stream modes, but the tag exists only
	 * after it. Parameters rather than EVP_CIPHER_CTX_ctrl, which OpenSSL 3
	 * only translates into the same parameters, at a cost per message.
	 */
	if (!EVP_CipherFinal_ex(a->ctx, out + len, &outl) || outl != 0 || !EVP_CIPHER_CTX_get_params(a->ctx, get_tag))
		return CVPN_ERR_CRYPTO;
	return 0;
}

static int
do_open(struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t tag[AEAD_TAG_LEN], tail[AEAD_TAG_LEN];
	OSSL_PARAM set_tag[] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, AEAD_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};
	size_t ptlen;
	int outl = 0, r;

	if (len < AEAD_TAG_LEN)
		return CVPN_ERR_TRUNCATED;
	ptlen = len - AEAD_TAG_LEN;
	if (ptlen > AEAD_MAX_LEN || adlen > AEAD_MAX_LEN)
		return CVPN_ERR_TOO_LONG;
	/* Copied first: with out == ct, decryption must not be able to reach the tag. */
	memcpy(tag, ct + ptlen, AEAD_TAG_LEN);
	/* The expected tag goes in with the nonce: one call, checked by Final. */
	if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 0, set_tag))
		return CVPN_ERR_CRYPTO;
	if ((r = feed_ad(a, ad, adlen)) != 0)
		return r;
	r = CVPN_ERR_CRYPTO;
	if (ptlen > 0 && (!EVP_CipherUpdate(a->ctx, out, &outl, ct, (int)ptlen) || (size_t)outl != ptlen))
		goto out;
	/* The tag check; a stream cipher's Final writes no bytes. */
	if (!EVP_CipherFinal_ex(a->ctx, tail, &outl) || outl != 0) {
		r = CVPN_ERR_BAD_TAG;
		goto out;
	}
	*outlen = ptlen;
	r = 0;
out:
	/* EVP decrypts before it checks the tag: take back what it wrote. */
	if (r != 0 && ptlen > 0)
		OPENSSL_cleanse(out, ptlen);
	return r;
}

int
aead_seal(struct aead *a, uint64_t n, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len,
    uint8_t *out)
{
	uint8_t nonce[AEAD_NONCE_LEN];

	aead_nonce(a->cipher, n, nonce);
	return do_seal(a, nonce, ad, adlen, pt, len, out);
}

int
aead_open(struct aead *a, uint64_t n, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
    uint8_t *out, size_t *outlen)
{
	uint8_t nonce[AEAD_NONCE_LEN];

	aead_nonce(a->cipher, n, nonce);
	return do_open(a, nonce, ad, adlen, ct, len, out, outlen);
}

int
aead_seal_nonce(struct aead *a, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *out)
{
	if (nonce == NULL || nonce_len != AEAD_NONCE_LEN)
		return CVPN_ERR_INVALID_ARG;
	return do_seal(a, nonce, ad, adlen, pt, len, out);
}

int
aead_open_nonce(struct aead *a, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, uint8_t *out, size_t *outlen)
{
	if (nonce == NULL || nonce_len != AEAD_NONCE_LEN)
		return CVPN_ERR_INVALID_ARG;
	return do_open(a, nonce, ad, adlen, ct, len, out, outlen);
}

enum aead_cipher
aead_cipher(const struct aead *a)
{
	return a->cipher;
}

void
aead_free(struct aead *a)
{
	if (a == NULL)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(a->ctx);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}
