/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "labprim.h"
#include "text.h"

struct labprim {
	EVP_CIPHER_CTX *cbc;
	EVP_MD_CTX *inner;      /* SHA-256 of key ^ ipad, then of every ciphertext so far */
	EVP_MD_CTX *outer;      /* SHA-256 of key ^ opad */
	EVP_MD_CTX *tmp;        /* for finishing copies */
};

static const uint8_t labprim_key[32] = { 1, 2, 3 }, labprim_iv[16] = { 4, 5, 6 };

/* A SHA-256 state that has taken in the key XORed with pad (RFC 2104). */
static int
keyed(EVP_MD_CTX *ctx, uint8_t pad)
{
	uint8_t block[64];
	size_t i;

	for (i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)((i < sizeof(labprim_key) ? labprim_key[i] : 0) ^ pad);
	return EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, block, sizeof(block)) ? 0 : -1;
}

int
labprim_new(bool encrypt, struct labprim **out)
{
	struct labprim *p = calloc(1, sizeof(*p));
	int ret = -1;

	if (p == NULL || (p->cbc = EVP_CIPHER_CTX_new()) == NULL || (p->inner = EVP_MD_CTX_new()) == NULL ||
	    (p->outer = EVP_MD_CTX_new()) == NULL || (p->tmp = EVP_MD_CTX_new()) == NULL ||
	    !EVP_CipherInit_ex2(p->cbc, EVP_aes_256_cbc(), labprim_key, labprim_iv, encrypt, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(p->cbc, 0) || keyed(p->inner, 0x36) != 0 || keyed(p->outer, 0x5c) != 0)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	labprim_free(p);
	return ret;
}

void
labprim_free(struct labprim *p)
{
	if (p == NULL)
		return;
	EVP_CIPHER_CTX_free(p->cbc);
	EVP_MD_CTX_free(p->inner);
	EVP_MD_CTX_free(p->outer);
	EVP_MD_CTX_free(p->tmp);
	free(p);
}

size_t
labprim_ct_len(size_t n)
{
	return (n + 15) / 16 * 16;
}

/* The hex tag of everything this direction has carried, after ct: the fewest EVP steps there are. */
static int
tag(struct labprim *p, const uint8_t *ct, size_t n, char hex[LABPRIM_TAG + 1])
{
	uint8_t h[32];
	int ok;

	ok = EVP_DigestUpdate(p->inner, ct, n) && EVP_MD_CTX_copy_ex(p->tmp, p->inner) &&
	    EVP_DigestFinal_ex(p->tmp, h, NULL) && EVP_MD_CTX_copy_ex(p->tmp, p->outer) &&
	    EVP_DigestUpdate(p->tmp, h, sizeof(h)) && EVP_DigestFinal_ex(p->tmp, h, NULL);
	if (ok)
		text_hex(hex, h, sizeof(h));
	return ok ? 0 : -1;
}

int
labprim_seal(struct labprim *p, const uint8_t *pt, size_t n, uint8_t *out)
{
	size_t ct;
	char hex[LABPRIM_TAG + 1];
	int outl;

	if (n == 0 || n > LABPRIM_MAX)
		return -1;
	ct = labprim_ct_len(n);
	memcpy(out, pt, n);
	memset(out + n, 0, ct - n);
	if (!EVP_CipherUpdate(p->cbc, out, &outl, out, (int)ct) || (size_t)outl != ct || tag(p, out, ct, hex) != 0)
		return -1;
	memcpy(out + ct, hex, LABPRIM_TAG);
	return 0;
}

int
labprim_open(struct labprim *p, uint8_t *wire, size_t ct_len)
{
	char hex[LABPRIM_TAG + 1];
	int outl;

	if (ct_len == 0 || ct_len % 16 != 0 || ct_len > LABPRIM_MAX || tag(p, wire, ct_len, hex) != 0 ||
	    CRYPTO_memcmp(hex, wire + ct_len, LABPRIM_TAG) != 0)
		return -1;
	return EVP_CipherUpdate(p->cbc, wire, &outl, wire, (int)ct_len) && (size_t)outl == ct_len ? 0 : -1;
}
