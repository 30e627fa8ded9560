/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the secure profile over datagrams (docs/SECURE.md section 12): the
 * handshake in INIT and RESPONSE, cookies under load, DATA packets with
 * explicit counters and a replay window, keys replaced over time without a
 * gap, roaming. No sockets and no clocks inside: the caller passes the time
 * (monotonic milliseconds) and sends what the callbacks give it. One
 * dgram_client is one tunnel to a server; one dgram_server serves every
 * client of one UDP socket, each a dgram_peer named by its static key.
 */
#ifndef CVPN_DGRAM_H
#define CVPN_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "aead.h"

struct dgram_client;
struct dgram_server;
struct dgram_peer;
struct replay;

/* Why packets were dropped; counted, never fatal (a datagram can come from anyone). */
enum dgram_drop {
	DGRAM_DROP_MALFORMED,   /* too short, unknown type, bad lengths */
	DGRAM_DROP_MAC1,        /* a handshake packet whose mac1 is wrong */
	DGRAM_DROP_COOKIE,      /* an INIT under load without a right mac2: answered with a COOKIE */
	DGRAM_DROP_HANDSHAKE,   /* Noise failed, a replayed or stale INIT, a client refused */
	DGRAM_DROP_INDEX,       /* DATA for no session we know */
	DGRAM_DROP_DECRYPT,     /* DATA that did not authenticate */
	DGRAM_DROP_REPLAY,      /* DATA replayed or too old for the window */
	DGRAM_DROP_SPOOFED,     /* server: an inner packet whose source is not the client's address */
	DGRAM_DROP_EXPIRED,     /* DATA under keys past their time or count */
	DGRAM_DROP_COUNT
};

/* Counters of one client or server. */
struct dgram_stats {
	uint64_t sent, received;        /* DATA packets, keepalives included */
	uint64_t handshakes;            /* completed */
	uint64_t dropped[DGRAM_DROP_COUNT];
};

/* What a program hands the engine. Keys are copied; the callbacks are called from the engine's calls. */
struct dgram_config {
	uint8_t static_priv[32];        /* both: our static key (the client makes one when it has none) */
	uint8_t server_pub[32];         /* client: the server's */
	uint8_t psk[32];                /* optional: all zeros when absent, as WireGuard */
	enum aead_cipher suites[8];     /* server: accepted, in preference order; client: suites[0] is asked */
	size_t nsuites;
	struct replay *replay;          /* server: refuses replayed INITs (replay.h); NULL accepts them */
	uint64_t (*clock)(void);        /* client: the TAI64N clock, ns since 1970; NULL reads the wall clock */
	unsigned cookie_rate;           /* server: INITs a second above which mac2 is required; 0 never */
	unsigned keepalive_ms;          /* client: an empty DATA after this much silence; 0 only passive ones */
};

/* A handshake's keys, for the key log only (docs/SECURE.md section 9). */
struct dgram_keylog {
	const char *protocol;           /* the Noise protocol name */
	uint32_t client_index;          /* the receiver in packets to the client */
	uint32_t server_index;          /* the receiver in packets to the server */
	const uint8_t *c2s, *s2c;       /* the transport keys, AEAD_KEY_LEN bytes each */
};

/* The callbacks. to is NULL for a client (it sends to its server); a peer's endpoint for a server. */
struct dgram_ops {
	/* Sends one datagram. */
	void (*send)(void *arg, const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t n);
	/* An authenticated inner packet (already checked for its source on a server). */
	void (*deliver)(void *arg, struct dgram_peer *peer, const uint8_t *p, size_t n);
	/*
	 * Server: a client completed message 1. Decides (its key, an address to
	 * give it) and writes its configuration (docs/SECURE.md section 12) into
	 * config[0..cap), setting *len. Returns 0, or an error to refuse it.
	 */
	int (*admit)(void *arg, struct dgram_peer *peer, uint8_t *config, size_t cap, size_t *len);
	/* Client: the handshake completed; config is the server's (once per handshake). */
	void (*established)(void *arg, const uint8_t *config, size_t n);
	/* Server: a peer silent for long is forgotten (its data is the program's to free). May be NULL. */
	void (*forget)(void *arg, struct dgram_peer *peer);
	/* Both: a handshake made keys (peer NULL on a client); for a key log. May be NULL. */
	void (*keys)(void *arg, struct dgram_peer *peer, const struct dgram_keylog *k);
};

/* ---- Client ---- */

/* A client for one server. Sets *out only on success. Returns 0, CVPN_ERR_INVALID_ARG or CVPN_ERR_NOMEM. */
int dgram_client_new(const struct dgram_config *cfg, const struct dgram_ops *ops, void *arg,
    struct dgram_client **out);

/* Takes one datagram from the server. Returns 0, or the reason it was dropped (counted too). */
int dgram_client_receive(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n);

/*
 * Seals and sends one inner packet; before the first handshake completes, a
 * few are held and sent after it. Returns 0, CVPN_ERR_TOO_LONG or CVPN_ERR_*.
 */
int dgram_client_send(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n);

/* Does what is due at now (handshake, retransmission, rekey, keepalive). Returns when to call it next. */
uint64_t dgram_client_tick(struct dgram_client *c, uint64_t now);

/* Whether the client has keys to send under. */
bool dgram_client_established(const struct dgram_client *c);

/* The client's counters. */
void dgram_client_stats(const struct dgram_client *c, struct dgram_stats *out);

/* Wipes and frees; accepts NULL. */
void dgram_client_free(struct dgram_client *c);

/* ---- Server ---- */

/* A server. Sets *out only on success. Returns 0, CVPN_ERR_INVALID_ARG, CVPN_ERR_NOMEM or CVPN_ERR_CRYPTO. */
int dgram_server_new(const struct dgram_config *cfg, const struct dgram_ops *ops, void *arg,
    struct dgram_server **out);

/* Takes one datagram from from. Returns 0, or the reason it was dropped (counted too). */
int dgram_server_receive(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen,
    const uint8_t *p, size_t n);

/* Seals and sends one inner packet to a peer. Returns 0, CVPN_ERR_STATE (no live keys) or CVPN_ERR_*. */
int dgram_server_send(struct dgram_server *s, struct dgram_peer *peer, uint64_t now, const uint8_t *p, size_t n);

/* Does what is due at now (passive keepalives, forgetting old keys and silent peers). Returns when next. */
uint64_t dgram_server_tick(struct dgram_server *s, uint64_t now);

/* The server's counters. */
void dgram_server_stats(const struct dgram_server *s, struct dgram_stats *out);

/* Wipes and frees every peer too; accepts NULL. */
void dgram_server_free(struct dgram_server *s);

/* ---- Peers (server) ---- */

/* The peer's static public key (32 bytes). */
const uint8_t *dgram_peer_key(const struct dgram_peer *peer);

/* Where the peer's last authenticated packet came from. */
const struct sockaddr *dgram_peer_endpoint(const struct dgram_peer *peer, socklen_t *len);

/* The program's own data for a peer (its address, say), NULL until set. */
void *dgram_peer_data(const struct dgram_peer *peer);
void dgram_peer_set_data(struct dgram_peer *peer, void *data);

/* The IPv4 address the peer's inner packets must come from (network order; 0: any), set by admit. */
void dgram_peer_set_source(struct dgram_peer *peer, uint32_t ipv4);

#endif
