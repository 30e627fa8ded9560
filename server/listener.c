/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: listening, accepting, and admission. A connection is refused
 * before any engine work when the server is full, stopping, or when its
 * source serves a penalty or has too many handshakes in progress; a refused
 * client sees a prompt close rather than a hang. An admitted one goes to
 * server.c (conn_begin).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <uv.h>

#include "conn.h"
#include "limits.h"
#include "sock.h"

/* The peer's address; returns 0, or a uv error when the peer is gone already. */
static int
peer_name(uv_tcp_t *tcp, char *out, size_t len, char *host, size_t hostlen)
{
	struct sockaddr_storage ss = { 0 };
	int sslen = sizeof(ss), r;

	r = uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &sslen);
	sock_format_address((struct sockaddr *)&ss, out, len, host, hostlen);
	return r;
}

static void
local_name(uv_tcp_t *tcp, char *out, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	int sslen = sizeof(ss);

	uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &sslen);
	sock_format_address((struct sockaddr *)&ss, out, len, NULL, 0);
}

static const char *
refusal(const struct server *s)
{
	if (s->stopping)
		return "server shutting down";
	if (s->nconns >= s->max_clients)
		return "too many clients (--max-clients)";
	if (s->nhandshakes >= s->cfg->max_handshakes)
		return "too many handshakes in progress (--max-handshakes)";
	return NULL;
}

static void
on_refused_closed(uv_handle_t *h)
{
	free(h);
}

/* Accepts and closes at once, so the client sees a prompt close instead of a hang. */
static void
refuse(struct server *s, const char *why)
{
	uv_tcp_t *tcp = malloc(sizeof(*tcp));
	char peer[64];

	if (tcp == NULL || uv_tcp_init(s->loop, tcp) < 0) {
		free(tcp);
		return;
	}
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)tcp) == 0) {
		peer_name(tcp, peer, sizeof(peer), NULL, 0);
		fprintf(stderr, "Refusing %s: %s\n", peer, why);
	}
	/* Stealth: a refused client gets a reset, as every unproven one does. */
	if (!s->cfg->engine.secure.stealth || uv_tcp_close_reset(tcp, on_refused_closed) != 0)
		uv_close((uv_handle_t *)tcp, on_refused_closed);
}

/* Closes a connection refused at admission, whose refusal is logged already: no failure to count. */
static void
conn_refused(struct conn *c)
{
	c->end_logged = true;
	conn_close(c, NULL);
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct server *s = listener->data;
	const char *why;
	struct conn *c;
	uint64_t wait;
	int r;

	if (status < 0) {
		fprintf(stderr, "accept: %s\n", uv_strerror(status));
		return;
	}
	if ((why = refusal(s)) != NULL) {
		refuse(s, why);
		return;
	}
	if ((c = conn_new(s)) == NULL) {
		refuse(s, "out of memory");
		return;
	}
	if ((r = uv_accept(listener, (uv_stream_t *)&c->tcp)) < 0) {
		conn_close(c, uv_strerror(r));
		return;
	}
	if ((r = peer_name(&c->tcp, c->peer, sizeof(c->peer), c->source, sizeof(c->source))) < 0) {
		/*
		 * Reset before we looked: there is no address to name or to hold
		 * against anyone, so no penalty either (one shared "?" source
		 * would let one peer's resets lock out every other).
		 */
		snprintf(c->peer, sizeof(c->peer), "(gone)");
		c->source[0] = '\0';
		conn_close(c, "the client reset the connection before it was read");
		return;
	}
	local_name(&c->tcp, c->local, sizeof(c->local));
	/* Cheap to refuse: no engine work has happened for it yet. */
	if (limits_blocked(s->limits, c->source, uv_now(s->loop), &wait)) {
		fprintf(stderr, "Refusing %s: too many failed handshakes from %s (%lu s left)\n", c->peer, c->source,
		    (unsigned long)(wait + 999) / 1000);
		conn_refused(c);
		return;
	}
	if (!limits_start(s->limits, c->source, uv_now(s->loop))) {
		fprintf(stderr, "Refusing %s: too many handshakes in progress from %s (--max-source-handshakes)\n",
		    c->peer, c->source);
		conn_refused(c);
		return;
	}
	c->source_slot = true;
	conn_begin(c);
}

int
listener_bind(struct server *s, char *shown, size_t len)
{
	struct sockaddr_storage ss;
	const char *addr = s->cfg->listen ? s->cfg->listen : "::";
	int r;

	if (uv_ip6_addr(addr, s->cfg->port, (struct sockaddr_in6 *)&ss) != 0 &&
	    uv_ip4_addr(addr, s->cfg->port, (struct sockaddr_in *)&ss) != 0) {
		fprintf(stderr, "cvpn-server: cannot listen on '%s': not an IPv4 or IPv6 address\n", addr);
		return UV_EINVAL;
	}
	r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->listener, 512, on_connection);
	if (r == UV_EAFNOSUPPORT && s->cfg->listen == NULL) {
		/* No IPv6 on this host: fall back to every IPv4 address. */
		uv_close((uv_handle_t *)&s->listener, NULL);
		uv_run(s->loop, UV_RUN_NOWAIT);
		uv_tcp_init(s->loop, &s->listener);
		s->listener.data = s;
		uv_ip4_addr("0.0.0.0", s->cfg->port, (struct sockaddr_in *)&ss);
		if ((r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) == 0)
			r = uv_listen((uv_stream_t *)&s->listener, 512, on_connection);
	}
	if (r < 0) {
		fprintf(stderr, "cvpn-server: cannot listen on port %d: %s\n", s->cfg->port, uv_strerror(r));
		return r;
	}
	local_name(&s->listener, shown, len);
	return 0;
}

int
listener_port(struct server *s)
{
	struct sockaddr_storage ss = { 0 };
	int len = sizeof(ss);

	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) != 0)
		return s->cfg->port;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Descriptors forwarded channels may take once the clients have theirs (run
 * after listener_clamp_clients, which raised the limit), so that channels
 * do not leave the listener unable to admit a client. Where the limit is too
 * low for both, the clients keep half of it and the channels the other half.
 */
unsigned
listener_channel_room(unsigned clients)
{
	struct rlimit rl;
	rlim_t room, kept;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT_MAX;
	room = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : rl.rlim_cur / 2;
	kept = clients < room / 2 ? clients : room / 2;
	return room - kept > UINT_MAX ? UINT_MAX : (unsigned)(room - kept);
}

/* The limit we log must be the one that applies, not EMFILE. */
unsigned
listener_clamp_clients(unsigned want)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Keep some descriptors for the listener, the loop, the thread pool and logs. */
	room = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : rl.rlim_cur / 2;
	if (rl.rlim_cur == RLIM_INFINITY || want <= room)
		return want;
	fprintf(stderr, "cvpn-server: --max-clients %u lowered to %lu (the descriptor limit is %lu)\n", want,
	    (unsigned long)room, (unsigned long)rl.rlim_cur);
	return (unsigned)room;
}

