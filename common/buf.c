/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "err.h"

int
buf_reserve(struct buf *b, size_t n, size_t limit, uint8_t **p)
{
	if (n > limit || b->len > limit - n)
		return CVPN_ERR_TOO_LONG;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *q;

		while (cap < b->len + n)
			cap *= 2;
		/* Grow through a fresh block so that no copy of old bytes is left unwiped. */
		if ((q = malloc(cap)) == NULL)
			return CVPN_ERR_NOMEM;
		if (b->len)
			memcpy(q, b->data, b->len);
		if (b->data) {
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
		b->data = q;
		b->cap = cap;
	}
	/* Not data + len when data is NULL (nothing reserved yet): that sum is undefined. */
	*p = b->data != NULL ? b->data + b->len : NULL;
	b->len += n;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n, size_t limit)
{
	uint8_t *room;
	int r;

	if ((r = buf_reserve(b, n, limit, &room)) == 0 && n)
		memcpy(room, p, n);
	return r;
}

void
buf_unreserve(struct buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->len -= n;
	if (n)
		OPENSSL_cleanse(b->data + b->len, n);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n == 0)
		return;
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
buf_reset(struct buf *b)
{
	if (b->len)
		OPENSSL_cleanse(b->data, b->len);
	b->len = 0;
}

void
buf_clear(struct buf *b)
{
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}
