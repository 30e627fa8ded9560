/* SPDX-License-Identifier: MIT */
/*
 * cvpn-client: what forward.c (the listeners, the channel ids, the caps) and
 * tunnel.c (one local connection carried as a channel) share. Private to
 * those two; client.h has what the rest of the client sees.
 */
#ifndef CVPN_CLIENT_TUNNEL_H
#define CVPN_CLIENT_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chan.h"
#include "client.h"
#include "sock.h"

/* One listening socket of a --forward or --socks specification. */
struct listener {
	struct forward *fw;
	int fd;
	struct loop_watch *watch;
	bool socks;
	char address[SOCK_ADDRESS_MAX];   /* where it listens, as bound */
	char host[CHAN_HOST_MAX + 1];     /* --forward: the destination */
	uint16_t port;
};

enum tunnel_phase {
	TUNNEL_GREETING,        /* SOCKS: the method list is coming */
	TUNNEL_REQUEST,         /* SOCKS: the CONNECT request is coming */
	TUNNEL_OPENING,         /* OPEN sent: ACCEPT or REFUSE is coming */
	TUNNEL_OPEN,            /* bytes go both ways */
	TUNNEL_DRAINING,        /* the channel is over: its last bytes go to the local socket */
	TUNNEL_CLOSED           /* the local connection is gone: the server's CLOSE is awaited */
};

struct tunnel {
	struct forward *fw;
	const struct listener *from;
	struct tunnel *prev, *next;     /* forward's list of them all */
	struct loop_watch *watch;
	int fd;
	enum tunnel_phase phase;
	uint32_t id;
	bool has_id;
	char peer[SOCK_ADDRESS_MAX];    /* the local application's address */
	char host[CHAN_HOST_MAX + 1];   /* the destination, as the server resolves it */
	uint16_t port;
	struct buf in;                  /* SOCKS: the request so far, then what came after it */
	struct buf out;                 /* from the server, not yet taken by the local socket */
	size_t out_off;
	uint64_t credit;                /* bytes the server still takes (its window) */
	struct chan_window rx;          /* what we granted the server */
	bool local_eof;                 /* the application ended its side, and we sent EOF */
	bool peer_eof;                  /* the server's EOF came: our side shuts once out is written */
	bool shut;
	bool close_sent, close_received;
	bool answered;                  /* the server's ACCEPT came */
	uint64_t up, down;              /* bytes carried each way */
};

struct forward {
	struct client_config *cfg;
	struct loop *loop;
	struct session *session;        /* NULL between sessions */
	struct listener *listeners;
	size_t nlisteners;
	struct tunnel **byid;           /* [cfg->max_channels]: the tunnel holding that id */
	uint32_t next_id;
	struct tunnel *tunnels;
	size_t ntunnels;
	size_t committed;               /* receive windows of all tunnels: what the server may make us hold */
	bool throttled;                 /* the session's output is high: no local reads until it drains */
	bool full;                      /* at a cap: said once until a tunnel ends */
	bool starved;                   /* out of descriptors: no accepts until a tunnel ends */
	bool announced;
	struct loop_signals *signals;   /* -N: SIGINT and SIGTERM caught into the loop */
	int stop_signal;                /* the one that came, or 0 */
};

/* ---- tunnel.c ---- */

/*
 * Carries a freshly accepted local connection fd from l, with a receive
 * window of window bytes: opens its channel (--forward) or first reads its
 * SOCKS request. Returns 0, or -1 after closing fd.
 */
int tunnel_new(struct forward *fw, const struct listener *l, int fd, uint32_t window);

/* A record from the server for t. Returns 0, or CVPN_ERR_CHANNEL when it breaks the protocol. */
int tunnel_record(struct tunnel *t, const struct chan_msg *m);

/* Ends t at once, without records (the session is gone); a SOCKS client waiting hears "general failure". */
void tunnel_drop(struct tunnel *t);

/* ---- forward.c, for tunnel.c ---- */

/* Gives t a free channel id. Returns false when none is left. */
bool forward_take_id(struct forward *fw, struct tunnel *t);

/* t's id is free again (REFUSE, or CLOSE both ways). */
void forward_release_id(struct forward *fw, struct tunnel *t);

/* True when tunnels may read their local sockets: a session carries channels and its output is not backed up. */
bool forward_may_read(struct forward *fw);

/* Unlinks t, which is being freed, and gives back its window and its place. */
void forward_forget(struct forward *fw, struct tunnel *t);

#endif
