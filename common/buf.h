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

/*
 * Appends n bytes of room, unset, and points *p at them; the same cap and
 * returns as buf_append. *p is valid until the next call that may grow b.
 */
int buf_reserve(struct buf *b, size_t n, size_t limit, uint8_t **p);

/* Wipes and drops the last n bytes (n <= len): takes back a buf_reserve that went unused. */
void buf_unreserve(struct buf *b, size_t n);

/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Wipes the contents and empties b, keeping its storage for reuse. */
void buf_reset(struct buf *b);

/* Wipes the contents and frees the storage; accepts an empty buffer. */
void buf_clear(struct buf *b);

#endif
