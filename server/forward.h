/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: port forwarding (docs/SECURE.md, section 10). A secure
 * session's client opens channels; for each one this module checks the
 * policy (--allow-forward, the client's permit= options), resolves and
 * connects to the destination itself, and then moves bytes both ways within
 * the windows each side granted, so that one slow destination or client
 * stalls only its own channel and nothing buffers without bound. Server
 * modules only; the table lives in struct conn (c->fwd).
 */
#ifndef CVPN_SERVER_FORWARD_H
#define CVPN_SERVER_FORWARD_H

#include <stddef.h>

struct chan_msg;
struct conn;

/*
 * Output the session may hold for its client before its channels stop
 * reading their destinations; they read again once it is half gone. The
 * engine holds at most 1 MiB: this keeps it well clear of that.
 */
#define FWD_OUTPUT_HIGH ((size_t)256 * 1024)

/*
 * Takes one channel record from the client (ENGINE_EV_CHANNEL), inside
 * engine_feed(). A record that breaks the protocol writes why into
 * c->broken, and the caller must then close the session.
 */
void fwd_record(struct conn *c, const struct chan_msg *m);

/* The session's output is down to n bytes: channels that stopped for it read again once it is low enough. */
void fwd_drained(struct conn *c, size_t n);

/* Ends every channel of the session (why: for their log lines) and frees its table; accepts a session without one. */
void fwd_end(struct conn *c, const char *why);

#endif
