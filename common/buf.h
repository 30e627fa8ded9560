/* SPDX-License-Identifier: MIT */
/* cvpn: a growable byte buffer with a hard size cap, for bytes from the wire. */
#ifndef CVPN_BUF_H
#define CVPN_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Plain struct: embedded by value in engines; zero-initialised is an empty buffer. */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Appends n bytes unless len + n would exceed limit. Returns 0, CVPN_ERR_TOO_LONG or CVPN_ERR_NOMEM. */
int buf_append(struct buf *b, const void *p, size_t n, size_t limit);

/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Wipes the contents and frees the storage; accepts an empty buffer. */
void buf_clear(struct buf *b);

#endif
