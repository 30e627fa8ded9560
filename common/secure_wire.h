/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the secure profile's wire format (docs/SECURE.md), in one place for
 * every binary and tool: the hellos, the prologue, the first handshake
 * message's mac1 and timestamp. The records' layout is in secrec.h.
 */
#ifndef CVPN_SECURE_WIRE_H
#define CVPN_SECURE_WIRE_H

/* ClientHello = magic | version | mode | n | n suite codes; ServerHello = magic | version | mode | suite. */
#define SECURE_MAGIC "CVPN"
#define SECURE_MAGIC_LEN 4
#define SECURE_VERSION 2
#define SECURE_CLIENT_HELLO_MIN 7
#define SECURE_SERVER_HELLO_LEN 7
#define SECURE_MAX_SUITES 8

/* Suite codes on the wire. */
#define SECURE_SUITE_CHACHAPOLY 1
#define SECURE_SUITE_AESGCM 2

/* prologue = label | u16 len | ClientHello | u16 len | ServerHello */
#define SECURE_PROLOGUE_LABEL "CVPN v2"

/* Handshake message 1 ends with mac1 (16 bytes); its payload is the client's clock as TAI64N. */
#define SECURE_MAC1_LABEL "mac1----"
#define SECURE_MAC1_LEN 16
#define SECURE_TIMESTAMP_LEN 12

#endif
