/* SPDX-License-Identifier: MIT */
/*
 * cvpn: what the secure profile's two roles share (secure_common.c): the
 * Noise handshake with both hellos in its prologue, mac1, the
 * u16-framed handshake messages, records and rekeying, and events that carry
 * the Noise protocol name. secure_client.c and secure_server.c are the
 * roles; docs/SECURE.md is the format. Engine modules only.
 */
#ifndef CVPN_SECURE_H
#define CVPN_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "engine_core.h"
#include "secrec.h"
#include "secure_wire.h"

/* The longest payload: a channel's DATA record (a REPLY to a 4096-byte message, with its prefix, is shorter). */
#define SECURE_MAX_PAYLOAD CHAN_PAYLOAD_MAX
_Static_assert(CHAN_PAYLOAD_MAX >= ENGINE_MAX_MESSAGE + sizeof(LAB_REPLY_PREFIX) - 1, "a REPLY fits a record");
/* The longest handshake message body we take (after the u16 length). */
#define SECURE_MAX_HANDSHAKE 256

/* Names the Noise protocol and starts the handshake with both hellos in its prologue. Returns 0 or CVPN_ERR_*. */
int secure_start_handshake(struct engine *e, const uint8_t *ch, size_t chlen, const uint8_t *sh, size_t shlen);

/* The key of mac1: SHA-256("mac1----" | the server's static key in key mode, the PSK in psk mode). */
int secure_mac1_key(const struct engine *e, uint8_t key[static 32]);

/* Takes one u16-length-prefixed frame: 1 with *body (unless body is NULL) and *len, 0 for more input, or an error. */
int secure_take_frame(struct engine *e, size_t max, const uint8_t **body, size_t *len);

/* Queues p[0..n) with its u16 length. */
int secure_queue_frame(struct engine *e, const uint8_t *p, size_t n);

/* Both roles, once the handshake is complete: splits it into the two transport ciphers and reports the keys. */
int secure_finish_handshake(struct engine *e);

/* Encrypts and queues one record; rekeys this direction when it is due. */
int secure_send_record(struct engine *e, enum secrec_type type, const uint8_t *payload, size_t n);

/*
 * Opens the next record in place, in the input buffer. Returns 1 with its
 * type and payload (*pt points into the input, valid until
 * secure_release_record, which must follow with *frame), 0 for more input,
 * or CVPN_ERR_DECRYPT for any failure: one generic error whatever went wrong.
 * The first record that opens proves the peer holds the key (ENGINE_EV_CONFIRMED).
 */
int secure_read_record(struct engine *e, int *type, const uint8_t **pt, size_t *len, size_t *frame);

/* Wipes the plaintext of the record secure_read_record opened and drops it from the input. */
void secure_release_record(struct engine *e, size_t frame);

/* Handles the record types both roles understand (KEEPALIVE, REKEY). 1 when handled, 0 when not, or an error. */
int secure_common_record(struct engine *e, int type);

/* Sends REKEY and rekeys our direction. */
int secure_rekey(struct engine *e);

/* Sends an empty KEEPALIVE record, which the peer reads and ignores. */
int secure_keepalive(struct engine *e);

/* Encodes and sends one channel record of a type this side sends (client: true for the client's). */
int secure_send_channel(struct engine *e, const struct chan_msg *m, bool client);

/*
 * Takes a channel record the peer sent (from_client: the server reads it):
 * checks its format and that the peer's side may send it, and emits
 * ENGINE_EV_CHANNEL. Returns 1, or CVPN_ERR_CHANNEL for a record that breaks either.
 */
int secure_take_channel(struct engine *e, int type, const uint8_t *pt, size_t len, bool from_client);

/* Sends one IP tunnel record of a type this side sends. */
int secure_send_tunnel(struct engine *e, int type, const uint8_t *p, size_t n, bool client);

/* Whether a record type is the IP tunnel's. */
bool secure_is_tunnel(int type);

/* Takes an IP tunnel record the peer sent: checks its side and length, emits ENGINE_EV_TUNNEL. 1 or CVPN_ERR_CHANNEL. */
int secure_take_tunnel(struct engine *e, int type, const uint8_t *pt, size_t len, bool from_client);

/* Emits an event with the Noise protocol name filled in (once it is known). */
void secure_emit(struct engine *e, struct engine_event *ev);

/* Emits an event that carries only text. */
void secure_emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len);

/* Frees the secure state, wiping its secrets. */
void secure_free(struct engine *e);

#endif
