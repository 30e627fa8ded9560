/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the secure profile's transport records (docs/SECURE.md): a big-endian
 * u16 length, then the sealed plaintext (type, big-endian u16 payload length,
 * payload, zeros up to a multiple of SECREC_PAD) and its tag. The length
 * prefix is the associated data; the nonce is the cipher's implicit counter.
 * Pure functions over caller buffers: the engine keeps the state machine.
 */
#ifndef CVPN_SECREC_H
#define CVPN_SECREC_H

#include <stddef.h>
#include <stdint.h>

struct noise_cipher;

enum secrec_type { SECREC_DATA = 1, SECREC_REPLY, SECREC_CLOSE, SECREC_KEEPALIVE, SECREC_REKEY, SECREC_ERROR };
/* Channel records are 7-13 (chan.h); the IP tunnel over TCP's are these (docs/SECURE.md section 12). */
enum secrec_tunnel { SECREC_TUNNEL_CONFIG = 14, SECREC_TUNNEL_PACKET = 15 };

/* Plaintext: type and payload length before the payload, padding after it. */
#define SECREC_HEADER 3
#define SECREC_PAD 32
/* The longest payload whose record body (padded plaintext and 16-byte tag) fits the u16 prefix: 65501. */
#define SECREC_MAX_PAYLOAD ((0xffff - 16) / SECREC_PAD * SECREC_PAD - SECREC_HEADER)

/* The length of the record carrying n payload bytes on the wire, prefix included. */
size_t secrec_wire_len(size_t n);

/*
 * Seals a record of type carrying payload[0..n) into out, secrec_wire_len(n)
 * bytes, which must not overlap the payload. The plaintext lives in out only
 * until the encryption returns; after a failure out is wiped. Returns 0,
 * CVPN_ERR_TOO_LONG (n over SECREC_MAX_PAYLOAD) or an error of noise_cipher_encrypt.
 */
int secrec_seal(struct noise_cipher *cs, enum secrec_type type, const uint8_t *payload, size_t n, uint8_t *out);

/*
 * As secrec_seal, for a payload in two parts, head[0..hn) then tail[0..tn),
 * each copied once into out (secrec_wire_len(hn + tn) bytes).
 */
int secrec_seal_parts(struct noise_cipher *cs, enum secrec_type type, const uint8_t *head, size_t hn,
    const uint8_t *tail, size_t tn, uint8_t *out);

/*
 * Opens the record rec[0..2+body) in place, body being what its prefix says.
 * Returns 0 with its type and payload (*pt points into rec), or
 * CVPN_ERR_DECRYPT for any failure (a prefix that does not say body, a bad
 * tag, length or padding; nothing of the plaintext is left in rec), one
 * generic error whatever went wrong.
 */
int secrec_open(struct noise_cipher *cs, uint8_t *rec, size_t body, int *type, const uint8_t **pt, size_t *len);

#endif
