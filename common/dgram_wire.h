/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the UDP transport's wire format (docs/SECURE.md section 12), in one
 * place for every binary and tool. Every packet starts with a 4-byte header
 * whose first byte is its type; integers are big-endian.
 */
#ifndef CVPN_DGRAM_WIRE_H
#define CVPN_DGRAM_WIRE_H

#include <stdint.h>

enum dgram_type {
	DGRAM_INIT = 1,         /* 1 | mode | suite | 0 | u32 sender | Noise message 1 | mac1 | mac2 */
	DGRAM_RESPONSE = 2,     /* 2 | 0 0 0 | u32 sender | u32 receiver | Noise message 2 | mac1 | mac2 */
	DGRAM_COOKIE = 3,       /* 3 | 0 0 0 | u32 receiver | nonce (12) | cookie sealed (16 + tag) */
	DGRAM_DATA = 4          /* 4 | 0 0 0 | u32 receiver | u64 counter | AEAD(inner packet | padding) */
};

#define DGRAM_HEADER 4
#define DGRAM_MAC_LEN 16
#define DGRAM_PROLOGUE_LABEL "CVPN v2 UDP"

/* Noise message 1 of IKpsk2 with a TAI64N payload: e (32), s sealed (48), timestamp sealed (28). */
#define DGRAM_NOISE1_LEN (32 + 48 + 12 + 16)
/* Noise message 2 of IKpsk2 carries e (32) and the sealed configuration (up to DGRAM_CONFIG_MAX + 16). */
#define DGRAM_CONFIG_MAX 256

#define DGRAM_INIT_LEN (DGRAM_HEADER + 4 + DGRAM_NOISE1_LEN + 2 * DGRAM_MAC_LEN)
#define DGRAM_RESPONSE_MIN (DGRAM_HEADER + 8 + 32 + 16 + 2 * DGRAM_MAC_LEN)
#define DGRAM_RESPONSE_MAX (DGRAM_RESPONSE_MIN + DGRAM_CONFIG_MAX)
#define DGRAM_COOKIE_NONCE_LEN 12
#define DGRAM_COOKIE_LEN 16
#define DGRAM_COOKIE_PACKET_LEN (DGRAM_HEADER + 4 + DGRAM_COOKIE_NONCE_LEN + DGRAM_COOKIE_LEN + 16)
/* A DATA packet's header is also its associated data. */
#define DGRAM_DATA_HEADER (DGRAM_HEADER + 4 + 8)
#define DGRAM_PAD 16
/* The largest inner packet: what a 1500-byte path holds after IP, UDP and our overhead, rounded up. */
#define DGRAM_INNER_MAX 65535
#define DGRAM_DATA_OVERHEAD (DGRAM_DATA_HEADER + 16)

/* Labels of the keys derived from the server's (or client's) public key. */
#define DGRAM_MAC1_LABEL "mac1----"
#define DGRAM_COOKIE_LABEL "cookie--"

/* The configuration in RESPONSE's payload: u8 type | u8 len | value, repeated. */
enum dgram_config_type {
	DGRAM_CONFIG_ADDRESS = 1,       /* IPv4 address and prefix length: 5 bytes */
	DGRAM_CONFIG_MTU = 2,           /* u16 */
	DGRAM_CONFIG_ROUTE = 3,         /* IPv4 network and prefix length: 5 bytes; repeatable */
	DGRAM_CONFIG_KEEPALIVE = 4      /* u16 seconds */
};

/* Timers, in milliseconds (WireGuard's). */
#define DGRAM_REKEY_AFTER_MS 120000
#define DGRAM_REJECT_AFTER_MS 180000
#define DGRAM_REKEY_ATTEMPT_MS 90000
#define DGRAM_REKEY_TIMEOUT_MS 5000
#define DGRAM_KEEPALIVE_TIMEOUT_MS 10000
#define DGRAM_COOKIE_SECRET_MS 120000
#define DGRAM_REKEY_AFTER_PACKETS ((uint64_t)1 << 60)
#define DGRAM_REJECT_AFTER_PACKETS (UINT64_MAX - ((uint64_t)1 << 13))

#endif
