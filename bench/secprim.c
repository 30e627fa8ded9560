/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "engine.h"
#include "secprim.h"
#include "secrec.h"
#include "secure_wire.h"

/* The longest message, and the reply to it, fit the bodies this module accepts. */
_Static_assert(SECPRIM_MAX_BODY == (ENGINE_MAX_MESSAGE + sizeof(LAB_REPLY_PREFIX) - 1 + SECREC_HEADER +
    SECREC_PAD - 1) / SECREC_PAD * SECREC_PAD + AEAD_TAG_LEN, "SECPRIM_MAX_BODY is the longest reply's body");

struct secprim {
	struct aead *tx, *rx;
	uint64_t ntx, nrx;
};

static const uint8_t key_up[AEAD_KEY_LEN] = { 7, 8, 9 }, key_down[AEAD_KEY_LEN] = { 10, 11, 12 };

bool
secprim_lengths(size_t n, size_t *request, size_t *reply)
{
	/* The bodies of cvpn's records: a DATA record of the message, the REPLY with its prefix. */
	if (n == 0 || n > ENGINE_MAX_MESSAGE)
		return false;
	*request = secrec_wire_len(n) - 2;
	*reply = secrec_wire_len(sizeof(LAB_REPLY_PREFIX) - 1 + n) - 2;
	return true;
}

void
secprim_head(enum aead_cipher c, size_t n, uint8_t head[static SECPRIM_HEAD])
{
	size_t request = 0, reply = 0;

	(void)secprim_lengths(n, &request, &reply);
	head[0] = c == AEAD_AESGCM ? 2 : 1;
	head[1] = head[2] = head[3] = 0;
	secure_wire_put16(head + 4, request);
	secure_wire_put16(head + 6, reply);
}

int
secprim_parse_head(const uint8_t head[static SECPRIM_HEAD], enum aead_cipher *c, size_t *request, size_t *reply)
{
	size_t rq = secure_wire_get16(head + 4), rp = secure_wire_get16(head + 6);
	enum aead_cipher suite;

	if (!secure_wire_code_suite(head[0], &suite) || head[1] || head[2] || head[3] || rq <= AEAD_TAG_LEN ||
	    rq > SECPRIM_MAX_BODY || rp <= AEAD_TAG_LEN || rp > SECPRIM_MAX_BODY)
		return -1;
	*c = suite;
	*request = rq;
	*reply = rp;
	return 0;
}

int
secprim_new(bool server, enum aead_cipher c, struct secprim **out)
{
	struct secprim *p = calloc(1, sizeof(*p));
	int ret = -1;

	if (p == NULL || aead_new(c, server ? key_down : key_up, AEAD_KEY_LEN, &p->tx) != 0 ||
	    aead_new(c, server ? key_up : key_down, AEAD_KEY_LEN, &p->rx) != 0)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	secprim_free(p);
	return ret;
}

void
secprim_free(struct secprim *p)
{
	if (p == NULL)
		return;
	aead_free(p->tx);
	aead_free(p->rx);
	free(p);
}

int
secprim_seal(struct secprim *p, uint8_t *rec, size_t body)
{
	if (body <= AEAD_TAG_LEN || body > SECPRIM_MAX_BODY)
		return -1;
	secure_wire_put16(rec, body);
	return aead_seal(p->tx, p->ntx++, rec, 2, rec + 2, body - AEAD_TAG_LEN, rec + 2) == 0 ? 0 : -1;
}

int
secprim_open(struct secprim *p, uint8_t *rec, size_t body)
{
	size_t outlen;

	if (body <= AEAD_TAG_LEN || body > SECPRIM_MAX_BODY || secure_wire_get16(rec) != body)
		return -1;
	return aead_open(p->rx, p->nrx++, rec, 2, rec + 2, body, rec + 2, &outlen) == 0 ? 0 : -1;
}
