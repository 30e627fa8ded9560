/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server's insides, shared by server.c (the sessions: their life,
 * timers, input and log, and the process's start and end) and listener.c
 * (listening, accepting, and admission: who may start a handshake).
 * Server modules only.
 */
#ifndef CVPN_SERVER_CONN_H
#define CVPN_SERVER_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "keys.h"
#include "server.h"

struct engine;
struct fwd;
struct limits;
struct pool;
struct vpn;
struct vpn_lease;

/* Where a connection is in its life. It only moves down the list. */
enum conn_phase {
	CONN_HANDSHAKE,         /* accepted, negotiating: holds a handshake slot (global and its source's) */
	CONN_ESTABLISHED,       /* exchanging messages */
	CONN_DRAINING,          /* ended, cleanly or failed and logged: its last bytes go out, then it closes */
	CONN_CLOSED             /* its handles are closing; freed once they are and no worker holds it */
};

/* How far the engine was told that the client paused in the middle of a handshake message. */
enum pause_told {
	TOLD_NOTHING,
	TOLD_QUIET,             /* engine_quiet(): after a short pause (150 ms) */
	TOLD_STALLED            /* engine_stalled(): after --partial-timeout */
};

/*
 * A connection's bytes go through a poll handle on its socket, with recv(2)
 * and send(2), not through libuv's stream functions: those use read(2) and
 * write(2), whose extra VFS layer costs throughput (bench/HISTORY.md). The
 * stream handle only owns the descriptor: it is accepted, named and closed
 * through it, and its own reading and writing are never started, so the poll
 * handle is the descriptor's only watcher.
 */
struct conn {
	uv_tcp_t tcp;
	uv_poll_t poll;         /* initialized once admitted (polled) */
	uv_timer_t timer;
	struct server *srv;
	struct engine *engine;
	struct conn *prev, *next;
	unsigned long id;
	char peer[64];          /* the client's address:port */
	char source[48];        /* the client's address alone, for per-source limits */
	char local[64];         /* our address:port on this connection, for the key log */
	uint64_t started, last_rx, last_activity, last_rekey;
	enum conn_phase phase;
	enum pause_told told;   /* what the engine was told of the client's pause (new bytes reset it) */
	int handles;            /* libuv handles still open */
	bool working;           /* DH on a pool worker: the engine is not ours now */
	atomic_bool cancelled;  /* closed while queued: the worker may skip the work */
	bool polled;            /* c->poll is initialized, c->fd is the socket */
	bool source_slot;       /* holds one of its source's handshake slots (limits_start) */
	bool end_logged;        /* why it ends is logged already (a refusal, a failure): no "disconnected" */
	int fd;                 /* the socket, owned by c->tcp; only send and recv use it here */
	size_t waiting;         /* output the socket could not take at the last flush */
	int watching;           /* the poll handle's events now (UV_READABLE, UV_WRITABLE) */
	struct fwd *fwd;        /* its forwarded channels (forward.c), from the first OPEN until the session ends */
	uint8_t client_key[KEYS_LEN]; /* secure key mode: the client's static key, for its permit= options */
	bool has_client_key;
	char client_name[KEYS_B64_LEN + 1]; /* for channels' log lines: the key in base64, or "psk client" */
	char broken[192];       /* why the client broke the channel protocol while its input was fed; the session ends */
	struct vpn_lease *vpn;  /* --tun, key mode: its tunnel address (vpn.c), from its CONFIG until it ends */
};

struct server {
	const struct server_config *cfg;
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_signal_t sigint, sigterm;
	struct conn *conns;
	unsigned nconns, nhandshakes;
	unsigned max_clients;   /* --max-clients, kept under the descriptor limit */
	unsigned nchannels;     /* forwarded channels over every session, each with its socket (forward.c) */
	unsigned channel_room;  /* the most they may be: the descriptors the clients leave */
	struct limits *limits;
	struct pool *pool;      /* the Diffie-Hellman workers */
	struct vpn *vpn;        /* --tun: the IP tunnel (vpn.c); NULL without */
	unsigned long next_id;
	bool stopping;
	char readbuf[64 * 1024];
};

/* ---- server.c ---- */

/* A new connection in CONN_HANDSHAKE, its stream handle ready to accept into; NULL when out of memory. */
struct conn *conn_new(struct server *s);

/* Starts an admitted connection: logs it, watches its socket, arms its timer. */
void conn_begin(struct conn *c);

/* Closes the connection (reason NULL: a normal end), logging why. Safe to call twice. */
void conn_close(struct conn *c, const char *reason);

/* Sends what the engine queued outside an engine call (channel records); may close the connection on a send error. */
void conn_output(struct conn *c);

/* A session log line (standard output; none with --quiet), tagged with the client's id once several are connected. */
void conn_log(const struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A problem's log line (standard error), tagged alike. */
void conn_warn(const struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- listener.c ---- */

/* Binds and listens: the configured address, or "::" dual-stack with a 0.0.0.0 fallback. Returns 0 or a libuv error. */
int listener_bind(struct server *s, char *shown, size_t len);

/* The port the listener is bound to (the one --port 0 picked). */
int listener_port(struct server *s);

/* Raises the descriptor limit as far as it goes and keeps --max-clients under it. */
unsigned listener_clamp_clients(unsigned want);

/* The descriptors forwarded channels may hold over the whole server, once clients have theirs. */
unsigned listener_channel_room(unsigned clients);

#endif
