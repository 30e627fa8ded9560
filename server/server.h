/* SPDX-License-Identifier: MIT */
/* cvpn-server: the event loop that serves many lab sessions at once. */
#ifndef CVPN_SERVER_H
#define CVPN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "limits.h"

struct keylog;
struct permit_list;
struct vpn_config;

struct server_config {
	const char *listen;            /* address to bind; NULL means every IPv6 and IPv4 address */
	int port;                      /* 0 picks a free port (printed in the Listening line) */
	struct engine_config engine;   /* shared by every session */
	unsigned handshake_timeout_ms; /* from accept to key established */
	unsigned idle_timeout_ms;      /* between messages once established */
	unsigned partial_timeout_ms;   /* silence in the middle of a message */
	unsigned quiet_ms;             /* pause that ends an unterminated handshake message */
	unsigned rekey_ms;             /* secure: rekey our direction this often; 0 never */
	unsigned max_clients;
	unsigned max_handshakes;
	int verbosity;                 /* -1 quiet, 0 session log, 1+ protocol values */
	bool log_messages;             /* log secure-profile plaintext too (the lab's is the course's transcript) */
	struct keylog *keylog;         /* session keys for Wireshark, or NULL */
	struct limits_config limits;   /* per-source handshakes in progress and penalties for failed ones */
	const struct permit_list *allow_forward; /* --allow-forward: destinations every secure client may reach; NULL none */
	unsigned max_channels;         /* forwarded channels one session may hold at once */
	unsigned forward_timeout_ms;   /* to resolve and connect to a destination */
	size_t max_forward_buffer;     /* bytes one session may hold for destinations that do not read them */
	const struct vpn_config *vpn;  /* --tun: the IP tunnel (vpn.h); NULL without */
};

/*
 * Runs the server until SIGINT or SIGTERM. Returns 0, or a negative libuv
 * error after printing why. When a signal comes while a worker still computes
 * a key exchange, the process ends here with status 0 rather than wait for it.
 */
int server_run(const struct server_config *cfg);

#endif
