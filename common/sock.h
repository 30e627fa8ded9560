/* SPDX-License-Identifier: MIT */
/*
 * cvpn: TCP sockets as the client, the mitm and the load generator open
 * them, and addresses as every program names them in its output.
 */
#ifndef CVPN_SOCK_H
#define CVPN_SOCK_H

#include <stddef.h>
#include <sys/socket.h>

/* Room for "[ffff:...:ffff%ifname]:65535". */
#define SOCK_ADDRESS_MAX 80

/*
 * Starts a TCP connection to sa without waiting: a close-on-exec,
 * non-blocking socket with Nagle's algorithm off (the protocol is lock-step).
 * Returns it, or -1 with errno set.
 */
int sock_connect_start(const struct sockaddr *sa, socklen_t len);

/*
 * Connects to sa within timeout_ms, waiting for it. Returns the socket (still
 * non-blocking), or -1 with errno set (ETIMEDOUT when the time ran out).
 */
int sock_connect(const struct sockaddr *sa, socklen_t len, unsigned timeout_ms);

/*
 * Writes "1.2.3.4:5" or "[::1]:5" to out, "?" for an address it cannot
 * name; an IPv4 client of a dual-stack socket shows as plain IPv4. Writes the
 * address alone to host too, when host is not NULL.
 */
void sock_format_address(const struct sockaddr *sa, char *out, size_t len, char *host, size_t hostlen);

#endif
