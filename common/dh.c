/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dh.h"
#include "err.h"
#include "text.h"

#define GROUP_NAME "modp_8192"

struct dh {
	EVP_PKEY *pkey;
};

/* Builds an EVP_PKEY in group 18 from a public value and, when priv is set, a private one. */
static int
pkey_from_bn(const BIGNUM *pub, const BIGNUM *priv, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = CVPN_ERR_CRYPTO;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, GROUP_NAME, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub) ||
	    (priv != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	*out = pkey;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
wrap(EVP_PKEY *pkey, struct dh **out)
{
	struct dh *dh;

	if ((dh = calloc(1, sizeof(*dh))) == NULL) {
		EVP_PKEY_free(pkey);
		return CVPN_ERR_NOMEM;
	}
	dh->pkey = pkey;
	*out = dh;
	return 0;
}

int
dh_generate(struct dh **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];
	int priv_len = DH_PRIVATE_BITS;
	int r = CVPN_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)GROUP_NAME, 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &priv_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_params(ctx, params) <= 0 ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0)
		goto out;
	r = wrap(pkey, out);
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
dh_from_private(const uint8_t *priv, size_t len, struct dh **out)
{
	BIGNUM *p = NULL, *x = NULL, *y = NULL, *g = NULL;
	BN_CTX *bnctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = CVPN_ERR_CRYPTO;

	if (len == 0 || len > 1024)
		return CVPN_ERR_INVALID_ARG;
	/* Only this test path computes 2^x itself; dh_generate leaves it to EVP. */
	if ((bnctx = BN_CTX_new()) == NULL || (p = BN_get_rfc3526_prime_8192(NULL)) == NULL ||
	    (x = BN_secure_new()) == NULL || BN_bin2bn(priv, (int)len, x) == NULL ||
	    (y = BN_new()) == NULL || (g = BN_new()) == NULL || !BN_set_word(g, 2) ||
	    !BN_mod_exp_mont_consttime(y, g, x, p, bnctx, NULL) ||
	    pkey_from_bn(y, x, &pkey) != 0)
		goto out;
	r = wrap(pkey, out);
out:
	BN_clear_free(x);
	BN_free(y);
	BN_free(g);
	BN_free(p);
	BN_CTX_free(bnctx);
	return r;
}

int
dh_public_decimal(const struct dh *dh, char **out)
{
	BIGNUM *y = NULL;
	char *dec, *copy;

	if (!EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_PUB_KEY, &y))
		return CVPN_ERR_CRYPTO;
	dec = BN_bn2dec(y);
	BN_free(y);
	if (dec == NULL)
		return CVPN_ERR_NOMEM;
	/* Hand out plain malloc'd memory so callers need not know about OPENSSL_free. */
	copy = strdup(dec);
	OPENSSL_free(dec);
	if (copy == NULL)
		return CVPN_ERR_NOMEM;
	*out = copy;
	return 0;
}

/* Parses digits that passed the format check into a BIGNUM. */
static int
digits_to_bn(const uint8_t *digits, size_t n, BIGNUM **out)
{
	char text[DH_MAX_DIGITS + 1];
	BIGNUM *y = NULL;

	memcpy(text, digits, n);
	text[n] = '\0';
	if (BN_dec2bn(&y, text) != (int)n) {
		/* Digits were checked, so only an allocation can fail here. */
		BN_free(y);
		return y == NULL ? CVPN_ERR_NOMEM : CVPN_ERR_DH_FORMAT;
	}
	*out = y;
	return 0;
}

static bool
digits_ok(const uint8_t *digits, size_t n)
{
	size_t i;

	/* "0" is plain digits (and out of range); only a superfluous leading zero is a format error. */
	if (n == 0 || n > DH_MAX_DIGITS || (digits[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return false;
	return true;
}

int
dh_check_public(const uint8_t *digits, size_t n)
{
	BIGNUM *y = NULL, *p = NULL;
	int r;

	if (!digits_ok(digits, n))
		return CVPN_ERR_DH_FORMAT;
	if ((r = digits_to_bn(digits, n, &y)) != 0)
		return r;
	r = CVPN_ERR_NOMEM;
	if ((p = BN_get_rfc3526_prime_8192(NULL)) == NULL || !BN_sub_word(p, 2))
		goto out;
	/* 2 <= y <= p-2 excludes 0, 1 and p-1, the only small-subgroup elements of a safe prime. */
	r = (BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, p) <= 0) ? 0 : CVPN_ERR_DH_RANGE;
out:
	BN_free(y);
	BN_free(p);
	return r;
}

bool
dh_digits_final(const uint8_t *digits, size_t n)
{
	BIGNUM *y = NULL, *limit = NULL;
	bool final = false;

	if (n >= DH_MAX_DIGITS)
		return true;
	if (n < DH_MAX_DIGITS - 1 || !digits_ok(digits, n) || digits_to_bn(digits, n, &y) != 0)
		return false;
	/* y*10 + d <= p-2 is possible exactly when y <= floor((p-2)/10). */
	if ((limit = BN_get_rfc3526_prime_8192(NULL)) != NULL && BN_sub_word(limit, 2) &&
	    BN_div_word(limit, 10) != (BN_ULONG)-1)
		final = BN_cmp(y, limit) > 0;
	BN_free(y);
	BN_free(limit);
	return final;
}

int
dh_compute_secret(const struct dh *dh, const uint8_t *digits, size_t n, uint8_t **out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	BIGNUM *y = NULL;
	uint8_t *secret = NULL, *enc = NULL;
	size_t len = 0, enclen;
	int r;

	/* Checked again (it is cheap): this is a public entry point, whatever the caller did. */
	if ((r = dh_check_public(digits, n)) != 0)
		return r;
	if ((r = digits_to_bn(digits, n, &y)) != 0 || (r = pkey_from_bn(y, NULL, &peer)) != 0)
		goto out;
	r = CVPN_ERR_CRYPTO;
	/*
	 * The range check above is all a safe-prime group needs; OpenSSL's full
	 * peer validation would cost several times the exchange itself.
	 */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0 ||
	    EVP_PKEY_derive(ctx, NULL, &len) <= 0)
		goto out;
	r = CVPN_ERR_NOMEM;
	if ((secret = OPENSSL_malloc(len)) == NULL || (enc = OPENSSL_malloc(len + 1)) == NULL)
		goto out;
	r = CVPN_ERR_CRYPTO;
	/* Unpadded derive: the minimal big-endian encoding of s. */
	if (EVP_PKEY_derive(ctx, secret, &len) <= 0 || len == 0)
		goto out;
	/* Python's s.to_bytes(s.bit_length() // 8 + 1): a 0x00 in front when the top bit is set. */
	enclen = 0;
	if (secret[0] & 0x80)
		enc[enclen++] = 0;
	memcpy(enc + enclen, secret, len);
	enclen += len;
	*out = enc;
	*outlen = enclen;
	enc = NULL;
	r = 0;
out:
	if (secret)
		OPENSSL_clear_free(secret, len);
	if (enc)
		OPENSSL_clear_free(enc, len + 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	BN_free(y);
	return r;
}

int
dh_shared_key(const uint8_t *secret, size_t len, char out[static 65])
{
	uint8_t md[32];
	unsigned int mdlen = sizeof(md);

	if (EVP_Digest(secret, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
		return CVPN_ERR_CRYPTO;
	text_hex(out, md, sizeof(md));
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

void
dh_free(struct dh *dh)
{
	if (dh == NULL)
		return;
	EVP_PKEY_free(dh->pkey);
	free(dh);
}
