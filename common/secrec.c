/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "noise.h"
#include "secrec.h"
#include "secure_wire.h"

/* The sealed plaintext's length for n payload bytes. */
static size_t
padded(size_t n)
{
	return (SECREC_HEADER + n + SECREC_PAD - 1) / SECREC_PAD * SECREC_PAD;
}

size_t
secrec_wire_len(size_t n)
{
	return 2 + padded(n) + NOISE_TAG_LEN;
}

int
secrec_seal_parts(struct noise_cipher *cs, enum secrec_type type, const uint8_t *head, size_t hn,
    const uint8_t *tail, size_t tn, uint8_t *out)
{
	size_t n = hn + tn, ptlen;
	uint8_t *pt = out + 2 + SECREC_HEADER;
	int r;

	if (hn > SECREC_MAX_PAYLOAD || tn > SECREC_MAX_PAYLOAD - hn)
		return CVPN_ERR_TOO_LONG;
	ptlen = padded(n);
	secure_wire_put16(out, ptlen + NOISE_TAG_LEN);
	out[2] = (uint8_t)type;
	secure_wire_put16(out + 3, n);
	if (hn)
		memcpy(pt, head, hn);
	if (tn)
		memcpy(pt + hn, tail, tn);
	memset(pt + n, 0, ptlen - SECREC_HEADER - n);
	/* The length prefix is the associated data: it cannot be changed either. */
	if ((r = noise_cipher_encrypt(cs, out, 2, out + 2, ptlen, out + 2)) != 0)
		OPENSSL_cleanse(out, 2 + ptlen);
	return r;
}

int
secrec_seal(struct noise_cipher *cs, enum secrec_type type, const uint8_t *payload, size_t n, uint8_t *out)
{
	return secrec_seal_parts(cs, type, payload, n, NULL, 0, out);
}

int
secrec_open(struct noise_cipher *cs, uint8_t *rec, size_t body, int *type, const uint8_t **pt, size_t *len)
{
	uint8_t *out = rec + 2;
	size_t outlen = 0, plen = 0, i;
	int r;

	if (secure_wire_get16(rec) != body)
		return CVPN_ERR_DECRYPT;
	r = noise_cipher_decrypt(cs, rec, 2, rec + 2, body, out, &outlen);
	/* The plaintext is the smallest multiple of SECREC_PAD that holds it (docs/SECURE.md, section 5). */
	if (r == 0 && (outlen < SECREC_HEADER || outlen % SECREC_PAD != 0 ||
	    (plen = secure_wire_get16(out + 1)) > outlen - SECREC_HEADER || padded(plen) != outlen))
		r = CVPN_ERR_DECRYPT;
	for (i = SECREC_HEADER + plen; r == 0 && i < outlen; i++)
		if (out[i] != 0)
			r = CVPN_ERR_DECRYPT;
	if (r != 0) {
		OPENSSL_cleanse(out, outlen);
		return CVPN_ERR_DECRYPT;
	}
	*type = out[0];
	*pt = out + SECREC_HEADER;
	*len = plen;
	return 0;
}
