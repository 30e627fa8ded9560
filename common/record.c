/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"
#include "record.h"
#include "suite.h"
#include "text.h"

/* SHA-256's block: HMAC pads its key to this. */
#define HMAC_BLOCK 64

struct record {
	const struct suite *suite;
	enum record_hmac mode;
	unsigned long count;        /* messages sealed or opened so far */
	EVP_CIPHER_CTX *cipher;     /* kept for the whole session: CBC chains across messages */
	/*
	 * HMAC-SHA256 kept as its two keyed hash states, so that a tag costs
	 * two context copies (three to open: the candidate transcript) into
	 * contexts allocated once, where OpenSSL 3's EVP_MAC_CTX_dup costs
	 * about eight allocations, twice per tag.
	 */
	EVP_MD_CTX *ipad;           /* SHA-256 fed with key ^ ipad: the per-message starting point */
	EVP_MD_CTX *opad;           /* SHA-256 fed with key ^ opad: the outer hash */
	EVP_MD_CTX *cumulative;     /* ipad fed with every ciphertext so far (unused per-message) */
	EVP_MD_CTX *next;           /* cumulative plus the message in hand, kept if it verifies */
	EVP_MD_CTX *scratch;        /* for finishing copies */
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

/* Keys HMAC-SHA256 (RFC 2104): the inner and outer hash states, and an empty transcript. */
static int
mac_init(struct record *r, const uint8_t *key, size_t key_len)
{
	uint8_t pad[HMAC_BLOCK];
	const EVP_MD *md = EVP_sha256();
	int ret = CVPN_ERR_CRYPTO;

	/* Longer keys would be hashed first; no suite has one. */
	if (key_len > sizeof(pad))
		return CVPN_ERR_INVALID_ARG;
	if ((r->ipad = EVP_MD_CTX_new()) == NULL || (r->opad = EVP_MD_CTX_new()) == NULL ||
	    (r->cumulative = EVP_MD_CTX_new()) == NULL || (r->next = EVP_MD_CTX_new()) == NULL ||
	    (r->scratch = EVP_MD_CTX_new()) == NULL)
		goto out;
	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	if (!EVP_DigestInit_ex(r->ipad, md, NULL) || !EVP_DigestUpdate(r->ipad, pad, sizeof(pad)))
		goto out;
	memset(pad, 0x5c, sizeof(pad));
	for (size_t i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	if (!EVP_DigestInit_ex(r->opad, md, NULL) || !EVP_DigestUpdate(r->opad, pad, sizeof(pad)) ||
	    !EVP_MD_CTX_copy_ex(r->cumulative, r->ipad))
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(pad, sizeof(pad));
	return ret;
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
	if ((ret = mac_init(r, key, key_len)) != 0)
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

/*
 * Computes the tag a message with ciphertext ct would carry under one mode,
 * as lowercase hex (with n = 0 in the cumulative mode: the transcript's own
 * tag). With keep (the cumulative mode), r->next holds the transcript
 * including ct afterwards; commit() makes it the transcript.
 */
static int
tag_for(struct record *r, enum record_hmac mode, const uint8_t *ct, size_t n,
    char hex[static RECORD_TAG_LEN + 1], bool keep)
{
	EVP_MD_CTX *inner = keep ? r->next : r->scratch;
	uint8_t md[32];
	unsigned len = 0;
	int ret = CVPN_ERR_CRYPTO;

	if (!EVP_MD_CTX_copy_ex(inner, mode == RECORD_HMAC_CUMULATIVE ? r->cumulative : r->ipad) ||
	    (n && !EVP_DigestUpdate(inner, ct, n)) ||
	    (keep && !EVP_MD_CTX_copy_ex(r->scratch, inner)))
		goto out;
	/* H(key ^ opad || H(key ^ ipad || text)) */
	if (!EVP_DigestFinal_ex(r->scratch, md, &len) || len != sizeof(md) ||
	    !EVP_MD_CTX_copy_ex(r->scratch, r->opad) || !EVP_DigestUpdate(r->scratch, md, sizeof(md)) ||
	    !EVP_DigestFinal_ex(r->scratch, md, &len) || len != sizeof(md))
		goto out;
	text_hex(hex, md, sizeof(md));
	ret = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	return ret;
}

/* Feeds ct to the transcript for good and returns the transcript's tag: no candidate to drop. */
static int
tag_in_place(struct record *r, const uint8_t *ct, size_t n, char hex[static RECORD_TAG_LEN + 1])
{
	if (n && !EVP_DigestUpdate(r->cumulative, ct, n))
		return CVPN_ERR_CRYPTO;
	return tag_for(r, RECORD_HMAC_CUMULATIVE, NULL, 0, hex, false);
}

/* Makes the transcript tag_for(..., keep) computed the session's transcript. */
static void
commit(struct record *r)
{
	EVP_MD_CTX *t = r->cumulative;

	r->cumulative = r->next;
	r->next = t;
}

int
record_seal(struct record *r, const uint8_t *pt, size_t n, uint8_t *out)
{
	size_t ctlen = record_wire_len(n) - RECORD_TAG_LEN;
	char hex[RECORD_TAG_LEN + 1];
	int ret;

	memcpy(out, pt, n);
	memset(out + n, 0, ctlen - n);
	if ((ret = transform(r, out, ctlen)) != 0)
		return ret;
	/*
	 * A sender's mode never changes (record_new refuses AUTO for it), so a
	 * per-message sender needs no transcript; a cumulative one never takes a
	 * message back, so its transcript is fed in place (record_open keeps a
	 * candidate until the tag verifies).
	 */
	if (r->mode == RECORD_HMAC_PER_MESSAGE)
		ret = tag_for(r, RECORD_HMAC_PER_MESSAGE, out, ctlen, hex, false);
	else
		ret = tag_in_place(r, out, ctlen, hex);
	if (ret != 0)
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

/*
 * Checks the tag against the mode in use (learning it in AUTO). 0 or
 * CVPN_ERR_BAD_TAG. Unless the mode is per-message, the transcript takes ct
 * in place, or as a candidate that commit() adopts once the message is
 * accepted.
 */
static int
verify(struct record *r, const uint8_t *ct, size_t ctlen, const uint8_t *tag, bool in_place,
    enum record_hmac *learnt)
{
	char cum[RECORD_TAG_LEN + 1], per[RECORD_TAG_LEN + 1];
	bool cum_ok = false, per_ok = false;
	int ret;

	/* A fixed mode never changes, so it computes its own tag only; AUTO computes both until it learns. */
	if (r->mode != RECORD_HMAC_PER_MESSAGE) {
		ret = in_place ? tag_in_place(r, ct, ctlen, cum) :
		    tag_for(r, RECORD_HMAC_CUMULATIVE, ct, ctlen, cum, true);
		if (ret != 0)
			return ret;
		cum_ok = tag_equal(cum, tag);
	}
	if (r->mode != RECORD_HMAC_CUMULATIVE) {
		if ((ret = tag_for(r, RECORD_HMAC_PER_MESSAGE, ct, ctlen, per, false)) != 0)
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

static int
open_record(struct record *r, const uint8_t *wire, size_t n, bool in_place, uint8_t *out, size_t *outlen)
{
	enum record_hmac learnt;
	size_t ctlen, start = 0, end;
	int ret;

	if (n < RECORD_TAG_LEN || (n - RECORD_TAG_LEN) % RECORD_PAD != 0)
		return CVPN_ERR_TRUNCATED;
	ctlen = n - RECORD_TAG_LEN;
	if ((ret = verify(r, wire, ctlen, wire + ctlen, in_place, &learnt)) != 0)
		return ret;
	/* Only verified bytes reach the cipher. */
	memcpy(out, wire, ctlen);
	if ((ret = transform(r, out, ctlen)) != 0)
		return ret;
	/* A per-message receiver made no candidate transcript: it keeps none. */
	if (!in_place && r->mode != RECORD_HMAC_PER_MESSAGE)
		commit(r);
	r->mode = learnt;
	r->count++;
	/* Strip NULs at both ends: that also reads left-padded messages. */
	end = ctlen;
	while (end > 0 && out[end - 1] == 0)
		end--;
	while (start < end && out[start] == 0)
		start++;
	if (start > 0)
		memmove(out, out + start, end - start);
	if (end - start < ctlen)
		OPENSSL_cleanse(out + (end - start), ctlen - (end - start));
	*outlen = end - start;
	return 0;
}

int
record_open(struct record *r, const uint8_t *wire, size_t n, uint8_t *out, size_t *outlen)
{
	return open_record(r, wire, n, false, out, outlen);
}

int
record_open_last(struct record *r, const uint8_t *wire, size_t n, uint8_t *out, size_t *outlen)
{
	return open_record(r, wire, n, true, out, outlen);
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
	/* EVP_MD_CTX_free cleanses the hash states, which are as good as the key. */
	EVP_MD_CTX_free(r->ipad);
	EVP_MD_CTX_free(r->opad);
	EVP_MD_CTX_free(r->cumulative);
	EVP_MD_CTX_free(r->next);
	EVP_MD_CTX_free(r->scratch);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}
