/* SPDX-License-Identifier: MIT */
/*
 * cvpn-client: the IP tunnel (--tun, docs/SECURE.md section 12). A TUN
 * interface takes the address, MTU and routes the server's configuration
 * gives, plus --route; its packets go to the server over UDP (the default:
 * dgram.c's client, its own poll loop) or over the secure TCP session
 * (net.c's, PACKET records). Once the TUN and the socket are open the
 * process drops to --user and enters the seccomp sandbox.
 */
#ifndef CVPN_CLIENT_VPN_H
#define CVPN_CLIENT_VPN_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "tunconf.h"

/* An MTU for the interface until the server gives its own. */
#define VPN_MTU_DEFAULT 1420

struct vpn_args {
	const char *tun_name;           /* NULL: the kernel names it (cvpn0, ...) */
	struct tunconf_route routes[TUNCONF_ROUTES_MAX]; /* --route, beside the server's */
	size_t nroutes;
	unsigned keepalive_s;           /* --keepalive; 0: only the passive ones */
	bool tcp;                       /* --transport tcp */
	const char *user;               /* drop to this user; NULL: nobody */
	bool no_drop;                   /* keep root and stay outside the sandbox (not recommended) */
	bool sandbox_test;              /* tests only: SIGUSR2 makes a system call the sandbox forbids */
};

/*
 * Runs the tunnel until SIGINT or SIGTERM (or, over TCP, until the session
 * fails). cfg must be of the secure profile with the server's key (key mode);
 * a client without --key gets a key made for this run. Returns an exit code.
 */
int vpn_run(struct client_config *cfg, const struct vpn_args *va);

#endif
