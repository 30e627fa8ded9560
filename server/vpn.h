/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: the IP tunnel (--tun, docs/SECURE.md section 12). A TUN
 * interface holds the tunnel network's first address; each client of the
 * secure profile's key mode holds another, fixed for its key (address= in
 * the authorized-clients file) or leased. Packets come from clients over UDP
 * (the same port number as TCP, through common/dgram.c) or over their TCP
 * session (PACKET records), and go by their destination: to the TUN, to the
 * client that holds the address (--client-to-client), or nowhere, counted.
 * Once everything is open the process drops to --user and enters the
 * seccomp sandbox. Server modules only.
 */
#ifndef CVPN_SERVER_VPN_H
#define CVPN_SERVER_VPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunconf.h"

struct conn;
struct engine_event;
struct keys_list;
struct server;
struct vpn;

/* The default MTU: what fits a 1500-byte path with IPv4, UDP and the DATA header around it. */
#define VPN_MTU_DEFAULT 1420
#define VPN_COOKIE_RATE_DEFAULT 50

struct vpn_config {
	const char *tun_name;           /* NULL: the kernel names it (cvpn0, ...) */
	uint32_t network;               /* --tun-net, host order */
	unsigned prefix;
	struct tunconf_route routes[TUNCONF_ROUTES_MAX]; /* --push-route */
	size_t nroutes;
	bool client_to_client;
	unsigned mtu;
	unsigned cookie_rate;           /* INITs a second before cookies are asked; 0 never */
	const char *user;               /* drop to this user; NULL: nobody */
	bool no_drop;                   /* keep root and stay outside the sandbox (not recommended) */
	bool sandbox_test;              /* tests only: SIGUSR2 makes a system call the sandbox forbids */
};

/*
 * Checks the address= of every line of authorized against the tunnel
 * network: inside it, not the server's, one address per key, one key per
 * address. Writes why to why on failure. Returns 0 or CVPN_ERR_INVALID_ARG.
 */
int vpn_check_addresses(const struct vpn_config *cfg, const struct keys_list *authorized, const char *path,
    char *why, size_t whylen);

/*
 * Opens the TUN (address, MTU, up) and binds the UDP socket beside the TCP
 * listener on port, on the server's loop, and logs it. Says why on stderr
 * when it cannot.
 * Sets s->vpn only on success. Returns 0 or a negative code.
 */
int vpn_start(struct server *s, int port);

/* Drops to --user (no capability kept) before threads start. Says why and returns nonzero on failure. */
int vpn_drop(struct vpn *v);

/* Enters the seccomp sandbox, once the loop and the workers are set up. Returns nonzero on failure. */
int vpn_confine(struct vpn *v);

/* Writes the counters and the clients to standard output (SIGUSR1, and at the end). */
void vpn_report(const struct vpn *v);

/* How many clients hold a UDP session now (those over TCP are the server's connections); 0 for NULL. */
unsigned vpn_udp_clients(const struct vpn *v);

/* Closes the handles (the server is stopping). */
void vpn_stop(struct vpn *v);

/* After the loop ended: reports, undoes the TUN and frees; accepts NULL. */
void vpn_free(struct vpn *v);

/* ---- Clients over TCP (PACKET records) ---- */

/* A key-mode session is established: gives it its address and sends the CONFIG record. */
void vpn_conn_start(struct conn *c);

/* An IP tunnel record from the client (ENGINE_EV_TUNNEL), inside engine_feed(); may set c->broken. */
void vpn_conn_record(struct conn *c, const struct engine_event *ev);

/* The session ends: its address goes back when no other session of its key holds it. */
void vpn_conn_end(struct conn *c);

#endif
