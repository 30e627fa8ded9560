/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the client's forwarding specifications, as ssh writes them: --forward
 * "[BIND:]LPORT:HOST:PORT" (ssh -L) and --socks "[BIND:]PORT" (ssh -D). An
 * IPv6 address goes in brackets; BIND is 127.0.0.1 unless given, and "*" or
 * an empty BIND listens on every address. Parsing only; the client binds.
 */
#ifndef CVPN_FWDSPEC_H
#define CVPN_FWDSPEC_H

#include <stdint.h>

/* The longest host of a specification: a DNS name, as a channel's OPEN carries it. */
#define FWDSPEC_HOST_MAX 255
/* The listening address when a specification names none: this machine only, as ssh's default. */
#define FWDSPEC_BIND_DEFAULT "127.0.0.1"

struct fwdspec {
	char bind[FWDSPEC_HOST_MAX + 1]; /* where to listen: a name or an address (IPv6 bare); "" for every address */
	uint16_t bind_port;              /* 0: a port the system picks */
	char host[FWDSPEC_HOST_MAX + 1]; /* --forward: the destination as the server resolves it (IPv6 bare); --socks: "" */
	uint16_t port;                   /* --forward: the destination's port; --socks: 0 */
};

/*
 * Parses --forward's "[BIND:]LPORT:HOST:PORT". Returns 0, or
 * CVPN_ERR_INVALID_ARG with *why a static phrase saying what is wrong.
 * Sets *out only on success and *why only on failure.
 */
int fwdspec_forward(const char *text, struct fwdspec *out, const char **why);

/* Parses --socks's "[BIND:]PORT", as fwdspec_forward() does. */
int fwdspec_socks(const char *text, struct fwdspec *out, const char **why);

#endif
