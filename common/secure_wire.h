/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the secure profile's wire format (docs/SECURE.md), in one place for
 * every binary and tool: the hellos, the modes and suite codes, the u16
 * framing, the prologue and the Noise protocol name, the first handshake
 * message's mac1 and timestamp. The records' layout is in secrec.h.
 */
#ifndef CVPN_SECURE_WIRE_H
#define CVPN_SECURE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"

/* ClientHello = magic | version | mode | n | n suite codes; ServerHello = magic | version | mode | suite. */
#define SECURE_MAGIC "CVPN"
#define SECURE_MAGIC_LEN 4
#define SECURE_VERSION 2
#define SECURE_HELLO_VERSION 4  /* offsets in either hello */
#define SECURE_HELLO_MODE 5
#define SECURE_HELLO_COUNT 6    /* ClientHello: how many suite codes follow */
#define SECURE_HELLO_SUITE 6    /* ServerHello: the suite chosen */
#define SECURE_CLIENT_HELLO_MIN 7
#define SECURE_SERVER_HELLO_LEN 7
#define SECURE_MAX_SUITES 8
#define SECURE_CLIENT_HELLO_MAX (SECURE_CLIENT_HELLO_MIN + SECURE_MAX_SUITES)

/* Modes: the codes on the wire. */
enum secure_mode {
	SECURE_MODE_KEY = 1,    /* Noise_IKpsk2: the client knows the server's static key */
	SECURE_MODE_PSK = 2     /* Noise_NNpsk0: only a pre-shared key */
};

/* Suite codes on the wire, and the suites offered or accepted when none are given (--suites' syntax). */
#define SECURE_SUITE_CHACHAPOLY 1
#define SECURE_SUITE_AESGCM 2
#define SECURE_DEFAULT_SUITES "ChaChaPoly,AESGCM"

/* After the hellos, every unit is a big-endian u16 length and that many bytes. */
#define SECURE_FRAME_MAX (2 + 0xffff)

/* prologue = label | u16 len | ClientHello | u16 len | ServerHello */
#define SECURE_PROLOGUE_LABEL "CVPN v2"
#define SECURE_PROLOGUE_MAX (sizeof(SECURE_PROLOGUE_LABEL) - 1 + 4 + SECURE_CLIENT_HELLO_MAX + SECURE_SERVER_HELLO_LEN)
/* "Noise_IKpsk2_25519_ChaChaPoly_SHA256" and its NUL fit. */
#define SECURE_PROTOCOL_MAX 64

/* Handshake message 1 ends with mac1 (16 bytes); its payload is the client's clock as TAI64N. */
#define SECURE_MAC1_LABEL "mac1----"
#define SECURE_MAC1_LEN 16
#define SECURE_TIMESTAMP_LEN 12

/* Writes v (< 65536) as a big-endian u16: frame and record lengths, the prologue's. */
void secure_wire_put16(uint8_t *p, size_t v);

/* Reads a big-endian u16, such as the body length a frame's prefix announces. */
size_t secure_wire_get16(const uint8_t *p);

/* The wire code of a suite. */
uint8_t secure_wire_suite_code(enum aead_cipher c);

/* The suite of a wire code; false (and *c untouched) for a code we do not know. */
bool secure_wire_code_suite(uint8_t code, enum aead_cipher *c);

/* A suite code's name ("ChaChaPoly", "AESGCM"), or "?" for one we do not know. */
const char *secure_wire_suite_name(uint8_t code);

/* A mode code's name ("key", "psk"), or "?" for one we do not know. */
const char *secure_wire_mode_name(uint8_t code);

/* The Noise protocol name of a mode and suite, such as "Noise_IKpsk2_25519_ChaChaPoly_SHA256". */
void secure_wire_protocol(enum secure_mode mode, enum aead_cipher c, char out[static SECURE_PROTOCOL_MAX]);

/*
 * Writes the prologue both ends bind into the handshake from the two hellos
 * as sent. Returns its length, or 0 when a hello is longer than the format allows.
 */
size_t secure_wire_prologue(const uint8_t *ch, size_t chlen, const uint8_t *sh, size_t shlen,
    uint8_t out[static SECURE_PROLOGUE_MAX]);

#endif
