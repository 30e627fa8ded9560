/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"
#include "record.h"
#include "suite.h"
#include "text.h"

struct record {
	const struct suite *suite;
	enum record_hmac mode;
	unsigned long count;        /* messages sealed or opened so far */
	EVP_CIPHER_CTX *cipher;     /* kept for the whole session: CBC chains across messages */
	EVP_MAC_CTX *base;          /* HMAC keyed and never fed: the per-message starting point */
	EVP_MAC_CTX *cumulative;    /* HMAC fed with every ciphertext so far */
	uint8_t xor_key[SUITE_MAX_KEY];
	size_t xor_len;
	size_t xor_pos;             /* XOR keystream position, kept across messages */
};

static const char *const hmac_names[] = {
	[RECORD_HMAC_CUMULATIVE] = "cumulative",
	[RECORD_HMAC_PER_MESSAGE] = "per-message",
	[RECORD_HMAC_AUTO] = "auto",
};

const char *
record_hmac_name(enum record_hmac mode)
{
	return mode <= RECORD_HMAC_AUTO ? hmac_names[mode] : "?";
}

int
record_hmac_parse(const char *name, enum record_hmac *mode)
{
	int i;

	for (i = RECORD_HMAC_CUMULATIVE; i <= RECORD_HMAC_AUTO; i++) {
		if (strcmp(name, hmac_names[i]) == 0) {
			*mode = (enum record_hmac)i;
			return 0;
		}
	}
	return CVPN_ERR_INVALID_ARG;
}

static int
mac_init(const uint8_t *key, size_t key_len, EVP_MAC_CTX **out)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return CVPN_ERR_CRYPTO;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx == NULL || !EVP_MAC_init(ctx, key, key_len, params)) {
		EVP_MAC_CTX_free(ctx);
		return CVPN_ERR_CRYPTO;
	}
	*out = ctx;
	return 0;
}

static int
cipher_init(struct record *r, unsigned bits, const uint8_t *key, size_t key_len,
    const uint8_t *iv, size_t iv_len, bool encrypt)
{
	const EVP_CIPHER *evp = suite_evp(r->suite, bits);

	if (evp == NULL || iv_len != (size_t)EVP_CIPHER_get_iv_length(evp))
		return CVPN_ERR_INVALID_ARG;
	if ((r->cipher = EVP_CIPHER_CTX_new()) == NULL)
		return CVPN_ERR_NOMEM;
	/* Blowfish takes any key length, but only after the cipher is set and before the key. */
	if (!EVP_CipherInit_ex2(r->cipher, evp, NULL, NULL, encrypt, NULL) ||
	    !EVP_CIPHER_CTX_set_key_length(r->cipher, (int)key_len) ||
	    !EVP_CipherInit_ex2(r->cipher, NULL, key, iv, encrypt, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(r->cipher, 0))
		return CVPN_ERR_CRYPTO;
	return 0;
}

int
record_new(const struct suite *s, unsigned bits, const uint8_t *key, size_t key_len,
    const uint8_t *iv, size_t iv_len, bool encrypt, enum record_hmac mode, struct record **out)
{
	struct record *r;
	int ret = CVPN_ERR_INVALID_ARG;

	/* An unknown size has key length 0, which XOR would then divide by. */
	if (!suite_has_size(s, bits) || key_len != suite_key_len(s, bits) || key_len > SUITE_MAX_KEY ||
	    (mode == RECORD_HMAC_AUTO && encrypt))
		return CVPN_ERR_INVALID_ARG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CVPN_ERR_NOMEM;
	r->suite = s;
	r->mode = mode;
	switch (suite_kind(s)) {
	case SUITE_CBC:
		if ((ret = cipher_init(r, bits, key, key_len, iv, iv_len, encrypt)) != 0)
			goto out;
		break;
	case SUITE_XOR:
		memcpy(r->xor_key, key, key_len);
		r->xor_len = key_len;
		break;
	case SUITE_NONE:
		break;
	}
	if ((ret = mac_init(key, key_len, &r->base)) != 0 || (ret = mac_init(key, key_len, &r->cumulative)) != 0)
		goto out;
	*out = r;
	r = NULL;
	ret = 0;
out:
	record_free(r);
	return ret;
}

size_t
record_wire_len(size_t n)
{
	return (n + RECORD_PAD - 1) / RECORD_PAD * RECORD_PAD + RECORD_TAG_LEN;
}

/* Runs the session cipher over n bytes (a multiple of 16) in place. */
static int
transform(struct record *r, uint8_t *p, size_t n)
{
	int outl = 0;
	size_t i;

	switch (suite_kind(r->suite)) {
	case SUITE_CBC:
		/* Never call Final: the context carries the last block into the next message. */
		if (n && (!EVP_CipherUpdate(r->cipher, p, &outl, p, (int)n) || (size_t)outl != n))
			return CVPN_ERR_CRYPTO;
		break;
	case SUITE_XOR:
		for (i = 0; i < n; i++) {
			p[i] ^= r->xor_key[r->xor_pos];
			r->xor_pos = (r->xor_pos + 1) % r->xor_len;
		}
		break;
	case SUITE_NONE:
		break;
	}
	return 0;
}

/* Finishes a copy of ctx (leaving ctx usable) and writes the tag as lowercase hex. */
static int
mac_hex(const EVP_MAC_CTX *ctx, char hex[static RECORD_TAG_LEN + 1])
{
	EVP_MAC_CTX *copy;
	uint8_t md[32];
	size_t len = 0;
	int ok;

	if ((copy = EVP_MAC_CTX_dup(ctx)) == NULL)
		return CVPN_ERR_CRYPTO;
	ok = EVP_MAC_final(copy, md, &len, sizeof(md)) && len == sizeof(md);
	EVP_MAC_CTX_free(copy);
	if (!ok)
		return CVPN_ERR_CRYPTO;
	text_hex(hex, md, sizeof(md));
	return 0;
}

/*
 * Computes the tag a message with ciphertext ct would carry under one mode.
 * For the cumulative mode, *next receives the fed context to keep on success.
 */
static int
tag_for(const struct record *r, enum record_hmac mode, const uint8_t *ct, size_t n,
    char hex[static RECORD_TAG_LEN + 1], EVP_MAC_CTX **next)
{
	EVP_MAC_CTX *ctx;
	int ret;

	ctx = EVP_MAC_CTX_dup(mode == RECORD_HMAC_CUMULATIVE ? r->cumulative : r->base);
	if (ctx == NULL)
		return CVPN_ERR_CRYPTO;
	ret = (n && !EVP_MAC_update(ctx, ct, n)) ? CVPN_ERR_CRYPTO : mac_hex(ctx, hex);
	if (ret != 0) {
		EVP_MAC_CTX_free(ctx);
		return ret;
	}
	if (next)
		*next = ctx;
	else
		EVP_MAC_CTX_free(ctx);
	return 0;
}

int
record_seal(struct record *r, const uint8_t *pt, size_t n, uint8_t *out)
{
	size_t ctlen = record_wire_len(n) - RECORD_TAG_LEN;
	char hex[RECORD_TAG_LEN + 1];
	EVP_MAC_CTX *next = NULL;
	int ret;

	memcpy(out, pt, n);
	memset(out + n, 0, ctlen - n);
	if ((ret = transform(r, out, ctlen)) != 0 ||
	    (ret = tag_for(r, RECORD_HMAC_CUMULATIVE, out, ctlen, hex, &next)) != 0)
		return ret;
	/* The cumulative context is fed in either mode, so it always holds the transcript. */
	EVP_MAC_CTX_free(r->cumulative);
	r->cumulative = next;
	if (r->mode == RECORD_HMAC_PER_MESSAGE && (ret = tag_for(r, RECORD_HMAC_PER_MESSAGE, out, ctlen, hex, NULL)) != 0)
		return ret;
	memcpy(out + ctlen, hex, RECORD_TAG_LEN);
	r->count++;
	return 0;
}

static bool
tag_equal(const char *hex, const uint8_t *tag)
{
	return CRYPTO_memcmp(hex, tag, RECORD_TAG_LEN) == 0;
}

/* Checks the tag against the mode in use (learning it in AUTO). 0 or CVPN_ERR_BAD_TAG. */
static int
verify(struct record *r, const uint8_t *ct, size_t ctlen, const uint8_t *tag, EVP_MAC_CTX **next,
    enum record_hmac *learnt)
{
	char cum[RECORD_TAG_LEN + 1], per[RECORD_TAG_LEN + 1];
	bool cum_ok, per_ok = false;
	int ret;

	if ((ret = tag_for(r, RECORD_HMAC_CUMULATIVE, ct, ctlen, cum, next)) != 0)
		return ret;
	cum_ok = tag_equal(cum, tag);
	if (r->mode != RECORD_HMAC_CUMULATIVE) {
		if ((ret = tag_for(r, RECORD_HMAC_PER_MESSAGE, ct, ctlen, per, NULL)) != 0)
			return ret;
		per_ok = tag_equal(per, tag);
	}
	*learnt = r->mode;
	if (r->mode == RECORD_HMAC_AUTO && r->count > 0 && (cum_ok != per_ok))
		*learnt = cum_ok ? RECORD_HMAC_CUMULATIVE : RECORD_HMAC_PER_MESSAGE;
	if ((r->mode == RECORD_HMAC_CUMULATIVE && cum_ok) || (r->mode == RECORD_HMAC_PER_MESSAGE && per_ok) ||
	    (r->mode == RECORD_HMAC_AUTO && (cum_ok || per_ok)))
		return 0;
	return CVPN_ERR_BAD_TAG;
}

int
record_open(struct record *r, const uint8_t *wire, size_t n, uint8_t *out, size_t *outlen)
{
	EVP_MAC_CTX *next = NULL;
	enum record_hmac learnt;
	size_t ctlen, start = 0, end;
	int ret;

	if (n < RECORD_TAG_LEN || (n - RECORD_TAG_LEN) % RECORD_PAD != 0)
		return CVPN_ERR_TRUNCATED;
	ctlen = n - RECORD_TAG_LEN;
	if ((ret = verify(r, wire, ctlen, wire + ctlen, &next, &learnt)) != 0) {
		EVP_MAC_CTX_free(next);
		return ret;
	}
	/* Only verified bytes reach the cipher. */
	memcpy(out, wire, ctlen);
	if ((ret = transform(r, out, ctlen)) != 0) {
		EVP_MAC_CTX_free(next);
		return ret;
	}
	EVP_MAC_CTX_free(r->cumulative);
	r->cumulative = next;
	r->mode = learnt;
	r->count++;
	/* Strip NULs at both ends: that also reads left-padded messages. */
	end = ctlen;
	while (end > 0 && out[end - 1] == 0)
		end--;
	while (start < end && out[start] == 0)
		start++;
	memmove(out, out + start, end - start);
	OPENSSL_cleanse(out + (end - start), ctlen - (end - start));
	*outlen = end - start;
	return 0;
}

enum record_hmac
record_hmac_mode(const struct record *r)
{
	return r->mode;
}

void
record_free(struct record *r)
{
	if (r == NULL)
		return;
	EVP_CIPHER_CTX_free(r->cipher);
	EVP_MAC_CTX_free(r->base);
	EVP_MAC_CTX_free(r->cumulative);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}
