/* SPDX-License-Identifier: MIT */
/*
 * cvpn: what the lab profile's two roles share (lab_common.c): reading
 * unframed handshake messages, the Diffie-Hellman key and its record, and
 * events that carry the session's cipher. lab_client.c and lab_server.c are
 * the roles. Engine modules only.
 */
#ifndef CVPN_LAB_H
#define CVPN_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_core.h"

/* Where a buffered handshake message stands. */
enum frame_end {
	FRAME_OPEN,             /* surely incomplete: wait for more, or for a long pause */
	FRAME_AT_PAUSE,         /* may be whole: it ends if the peer pauses */
	FRAME_FINAL             /* cannot go on (or is malformed): it ends now */
};

/* Where p[0..n), a handshake message so far, stands. */
typedef enum frame_end lab_frame_end_fn(struct engine *e, const uint8_t *p, size_t n);

/* Length of p[0..n) without trailing whitespace. */
size_t lab_trimmed(const uint8_t *p, size_t n);

/*
 * Takes one handshake message starting with keyword. Returns 1 with *msg and
 * *len set (the bytes stay in e->in until the caller consumes *used), 0 when
 * more input is needed, or a negative code.
 */
int lab_take(struct engine *e, const char *keyword, lab_frame_end_fn *where,
    const uint8_t **msg, size_t *len, size_t *used, bool *had_newline);

/* Reads the peer's DHMKE (either role) and keeps its value for the work step. Same returns as lab_take. */
int lab_read_dhmke(struct engine *e);

/* Queues a handshake message, with '\n' when the session uses terminators. */
int lab_queue_handshake(struct engine *e, const char *msg, size_t n);

/* Work step: generates our key pair (a fixed one in tests and captures). */
int lab_make_key(struct engine *e);

/* Work step: the shared secret, shared_key, key and IV. */
int lab_derive(struct engine *e);

/* Queues our DHMKE (and says so): the client's after its key, the server's after its secret. */
int lab_send_dhmke(struct engine *e);

/* Starts the record layer with the derived key and reports it; forgets what it no longer needs. */
int lab_establish(struct engine *e);

/* Emits an event with the session's cipher, size and HMAC mode filled in. */
void lab_emit(struct engine *e, struct engine_event *ev);

/* Emits an event that carries only text. */
void lab_emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len);

/* Frees the lab state. */
void lab_free(struct engine *e);

#endif
