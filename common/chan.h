/* SPDX-License-Identifier: MIT */
/*
 * cvpn: channels, the secure profile's port forwarding (docs/SECURE.md,
 * section 10). Many TCP connections ride one session as channels, each with
 * its own flow-control window in each direction, as SSH's do. This module
 * is the records' layout, checked both ways, and the windows' arithmetic;
 * the programs own the sockets.
 */
#ifndef CVPN_CHAN_H
#define CVPN_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types (after secrec.h's SECREC_ERROR); every payload starts with the u32 channel id. */
enum chan_type {
	CHAN_OPEN = 7,          /* client: u32 id | u32 window | u16 port | u8 n | host[n] */
	CHAN_ACCEPT,            /* server: u32 id | u32 window */
	CHAN_REFUSE,            /* server: u32 id | u8 reason | UTF-8 detail */
	CHAN_DATA,              /* either: u32 id | bytes */
	CHAN_EOF,               /* either: u32 id; no more data this way, the other may still flow */
	CHAN_CLOSE,             /* either: u32 id; the channel is gone once both sides sent one */
	CHAN_WINDOW             /* either: u32 id | u32 bytes more the receiver takes */
};
#define CHAN_TYPE_FIRST CHAN_OPEN
#define CHAN_TYPE_LAST CHAN_WINDOW

/* Why a server refuses a channel. */
enum chan_reason {
	CHAN_NOT_ALLOWED = 1,   /* the server's policy does not permit this destination */
	CHAN_CONN_REFUSED,      /* the destination refused the connection */
	CHAN_UNREACHABLE,       /* no route, or the name does not resolve */
	CHAN_TIMEOUT,           /* the destination did not answer in time */
	CHAN_TOO_MANY           /* the session has as many channels as it may */
};

/* The most a DATA record carries: 16 KiB, as a TLS record. */
#define CHAN_DATA_MAX 16384
/* Header bytes of a DATA record's payload (the channel id). */
#define CHAN_DATA_HEADER 4
/* The longest payload of any channel record. */
#define CHAN_PAYLOAD_MAX (CHAN_DATA_HEADER + CHAN_DATA_MAX)
/* A destination host name, as DNS allows it. */
#define CHAN_HOST_MAX 255
/* The longest head chan_encode_head writes: an OPEN's, whose host is its end. */
#define CHAN_HEAD_MAX (4 + 4 + 2 + 1 + CHAN_HOST_MAX)
/* The window each side grants a new channel, and the most it may grow to. */
#define CHAN_WINDOW_INITIAL (256 * 1024)
/*
 * What a client may send on a channel after its OPEN and before the answer,
 * so that opening costs no round trip; it counts in the window ACCEPT grants,
 * which is never smaller.
 */
#define CHAN_WINDOW_EARLY CHAN_DATA_MAX
#define CHAN_WINDOW_MAX ((uint32_t)1 << 30)
/* The longest REFUSE detail we send or show. */
#define CHAN_DETAIL_MAX 200

/* One channel record, decoded. Pointers point into the record and live as long as it. */
struct chan_msg {
	enum chan_type type;
	uint32_t id;
	uint32_t window;        /* OPEN, ACCEPT: the sender's initial window; WINDOW: the increment */
	uint16_t port;          /* OPEN */
	char host[CHAN_HOST_MAX + 1]; /* OPEN: NUL-terminated */
	uint8_t reason;         /* REFUSE: enum chan_reason */
	const uint8_t *data;    /* DATA: the bytes; REFUSE: the detail */
	size_t len;
};

/*
 * Writes m's record payload to out (CHAN_PAYLOAD_MAX bytes hold any).
 * Returns its length, or CVPN_ERR_INVALID_ARG (a type, host, window or
 * length the format does not allow) or CVPN_ERR_TOO_LONG (out is short).
 */
int chan_encode(const struct chan_msg *m, uint8_t *out, size_t outlen);

/*
 * As chan_encode, but without the bytes of m->data that end the payload (a
 * DATA's, a REFUSE's detail): writes the rest to out (CHAN_HEAD_MAX bytes
 * hold any), returns its length, and sets *tail to how many of m->data follow
 * it, so that a sender can seal them where they are. Sets *tail only on success.
 */
int chan_encode_head(const struct chan_msg *m, uint8_t *out, size_t outlen, size_t *tail);

/*
 * Reads a record of type (a CHAN_* value) from p[0..n) into *m. Returns 0,
 * or CVPN_ERR_MALFORMED for a record that breaks the format: short, long,
 * a host that is empty, has a NUL or is not UTF-8, a zero window or port,
 * a reason we do not know, a detail that is not UTF-8. Sets *m only on success.
 */
int chan_decode(int type, const uint8_t *p, size_t n, struct chan_msg *m);

/* Whether a record type is a channel's. */
bool chan_is_type(int type);

/* The record type's name ("OPEN", "DATA", ...), or "?". */
const char *chan_type_name(int type);

/* The reason's short text ("not allowed", "refused", ...), or "unknown reason". */
const char *chan_reason_text(int reason);

/*
 * The window one direction of a channel keeps: what the sender may still
 * send (the peer's credit), and what the receiver has delivered but not yet
 * granted back. All counts are bytes.
 */
struct chan_window {
	uint64_t credit;        /* sender: bytes the peer still takes */
	uint64_t pending;       /* receiver: bytes delivered since the last grant */
	uint64_t granted;       /* receiver: bytes the peer may still send us */
	uint32_t size;          /* receiver: the window it keeps open */
};

/* Receiver: whether a DATA record of n bytes fits what we granted (a peer that overruns breaks the protocol). */
bool chan_window_accept(struct chan_window *w, size_t n);

/*
 * Receiver: n bytes were delivered (written to the local socket). Returns
 * the increment to send in a WINDOW record now, or 0 while it is too small
 * to be worth a record (under half the window).
 */
uint32_t chan_window_delivered(struct chan_window *w, size_t n);

#endif
