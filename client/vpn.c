/* SPDX-License-Identifier: MIT */
/*
 * cvpn-client: the IP tunnel (vpn.h), on the client's poll loop (loop.c):
 * the TUN, the signals (a signalfd, so that a signal wakes the loop without
 * a race), and either a UDP socket with dgram.c's client and its timer, or
 * the secure TCP session of net.c.
 *
 * The interface is configured from what the server sends. Over UDP the
 * configuration comes with every handshake, and a server that restarted
 * may give another address: so the client keeps CAP_NET_ADMIN after the
 * drop, lowered, and raises it only to apply a changed configuration. Over
 * TCP the configuration comes once, before the drop, and nothing is kept.
 *
 * A route 0.0.0.0/0 through the tunnel would capture the tunnel's own
 * packets to the server. It is refused rather than replaced by two /1
 * routes and a host route to the server through the gateway: that host
 * route lies outside the TUN, so it would outlive a crash (the TUN's own
 * routes go with it), need CAP_NET_ADMIN to the end, and go stale when the
 * gateway changes. Whoever wants every packet in the tunnel routes
 * 0.0.0.0/1 and 128.0.0.0/1 and adds the host route to the server
 * themselves; every route is checked against the kernel (which way would
 * a packet to the server go now?) and one that captures the server is
 * taken away again.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <openssl/crypto.h>

#include "dgram.h"
#include "dgram_wire.h"
#include "err.h"
#include "ippkt.h"
#include "keylog.h"
#include "keys.h"
#include "noise.h"
#include "privdrop.h"
#include "sandbox.h"
#include "sock.h"
#include "tundev.h"
#include "tunstats.h"
#include "vpn.h"

#define PROG "cvpn-client"
#define WHY_MAX 512
/* Datagrams taken per recvmmsg; each slot holds the largest. */
#define UDP_BATCH 16
#define UDP_SLOT 65536
/* Packets read from the TUN per wake-up, so that the other side gets its turn. */
#define TUN_READS_PER_WAKE 64
/* What the TCP session may hold for the server before the TUN is left unread (the kernel then drops). */
#define TCP_BACKLOG_MAX (256 * 1024)
#define UDP_SOCKET_BUFFER (4 << 20)

struct vpn_drops {
	uint64_t not_ipv4;      /* read from the TUN: the tunnel routes IPv4 only */
	uint64_t udp_send;      /* the socket refused it (its buffer full, the network down) */
	uint64_t tun_write;     /* the TUN refused it */
	uint64_t stranger;      /* a datagram from another address than the server's */
	uint64_t unsent;        /* the transport could not take it (no keys yet, a record refused) */
};

struct vpn {
	struct client_config *cfg;
	const struct vpn_args *va;
	struct loop *loop;
	struct tundev *tun;
	int sigfd, udp, probe;
	struct sockaddr_storage server;
	socklen_t server_len;
	char server_text[SOCK_ADDRESS_MAX];
	char local_text[SOCK_ADDRESS_MAX]; /* the UDP socket's address, for the key log */
	unsigned path_mtu;      /* UDP: the largest inner packet one datagram to the server carries whole; 0 unknown */
	struct dgram_client *dgram;
	struct session *session;
	bool have_config;       /* TCP: the CONFIG record came (in config) */
	struct tunconf config;  /* TCP: as it came */
	struct tunconf applied; /* what the interface has now */
	bool configured;
	bool kept_cap;          /* CAP_NET_ADMIN is permitted, lowered: raise it to reconfigure */
	bool stop;
	int exit;               /* when stopping for a failure */
	uint64_t started;
	bool waited;            /* said once that no handshake has completed yet */
	struct vpn_drops drops;
	uint64_t tun_in, tun_out;
	uint64_t cookies;       /* COOKIEs taken: the server was under load and asked us to prove our address */
	uint8_t buf[65536];
};

static void __attribute__((format(printf, 2, 3)))
say(const struct vpn *v, const char *fmt, ...)
{
	va_list ap;

	if (v->cfg->verbosity < 0)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 0)))
vwarn(const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 1, 2)))
warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

/* Stops the loop for a failure, saying why. */
static void __attribute__((format(printf, 3, 4)))
fail(struct vpn *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	if (!v->stop)
		v->exit = code;
	v->stop = true;
}

/* ---- The interface ---- */

static void
to_prefix(uint32_t addr, unsigned len, struct tundev_prefix *p)
{
	uint32_t be = htonl(addr);

	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	memcpy(p->addr, &be, 4);
	p->len = len;
}

static void
route_text(const struct tunconf_route *r, char *out, size_t len)
{
	struct tundev_prefix p;

	to_prefix(r->network, r->prefix, &p);
	tundev_prefix_format(&p, out, len);
}

/*
 * Whether the kernel routes the server's address into the tunnel now: the
 * source address it would pick toward it is ours in the tunnel. A probe
 * socket opened beforehand is connected and asked, which the sandbox allows.
 */
static bool
captures_server(struct vpn *v)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct sockaddr_in src;
	socklen_t len = sizeof(src);

	if (v->probe < 0 || v->server.ss_family != AF_INET)
		return false;
	/* Unconnected first: a connected socket would keep the source it picked before. */
	(void)connect(v->probe, &unspec, sizeof(unspec));
	if (connect(v->probe, (struct sockaddr *)&v->server, v->server_len) != 0 ||
	    getsockname(v->probe, (struct sockaddr *)&src, &len) != 0)
		return false;
	return ntohl(src.sin_addr.s_addr) == v->applied.address;
}

/*
 * Adds one route through the tunnel. One the interface's own subnet covers
 * is there already. One that would capture the server is taken away again:
 * fatal for --route (the user's mistake to mend), skipped for the server's.
 */
static int
add_route(struct vpn *v, const struct tunconf_route *r, bool pushed)
{
	struct tunconf_route own = { v->applied.address & tunconf_mask(v->applied.prefix), v->applied.prefix };
	struct tundev_prefix p;
	char text[TUNDEV_PREFIX_TEXT_MAX], why[WHY_MAX];

	route_text(r, text, sizeof(text));
	if (r->prefix == 0) {
		warn("ignoring the server's route 0.0.0.0/0: it would send our own packets to the server into the "
		    "tunnel (route 0.0.0.0/1 and 128.0.0.0/1 with a host route to the server instead)");
		return 0;
	}
	if (r->prefix >= own.prefix && tunconf_route_holds(&own, r->network))
		return 0;
	to_prefix(r->network, r->prefix, &p);
	if (tundev_add_route(v->tun, &p, why, sizeof(why)) != 0) {
		warn("%s%s", pushed ? "the server's route: " : "", why);
		return pushed ? 0 : -1;
	}
	if (!captures_server(v))
		return 0;
	(void)tundev_del_route(v->tun, &p, why, sizeof(why));
	warn("%s %s would send our own packets to the server %s into the tunnel: %s; add a more specific route "
	    "to the server through your gateway first (ip route add SERVER via GATEWAY)", pushed ? "the server's route" :
	    "--route", text, v->server_text, pushed ? "skipped" : "refused");
	return pushed ? 0 : -1;
}

/* Says what the interface is now. */
static void
describe(struct vpn *v, const char *what)
{
	char addr[16], routes[400] = "", text[TUNDEV_PREFIX_TEXT_MAX];
	size_t i, at = 0;

	ippkt_format(v->applied.address, addr, sizeof(addr));
	for (i = 0; i < v->va->nroutes + v->applied.nroutes && at < sizeof(routes); i++) {
		route_text(i < v->va->nroutes ? &v->va->routes[i] : &v->applied.routes[i - v->va->nroutes], text,
		    sizeof(text));
		at += (size_t)snprintf(routes + at, sizeof(routes) - at, "%s%s", at ? ", " : "; routes ", text);
	}
	say(v, "%s: %s %s/%u, MTU %u%s", what, tundev_name(v->tun), addr, v->applied.prefix, v->applied.mtu, routes);
}

/* Sets the interface as c says, from scratch. Returns 0, or -1 after saying why. */
static int
configure(struct vpn *v, const struct tunconf *c)
{
	struct tundev_prefix self;
	char why[WHY_MAX];
	size_t i;

	v->applied = *c;
	to_prefix(c->address, c->prefix, &self);
	if ((v->configured && tundev_undo(v->tun, why, sizeof(why)) != 0) ||
	    tundev_set_mtu(v->tun, v->applied.mtu, why, sizeof(why)) != 0 ||
	    tundev_add_address(v->tun, &self, why, sizeof(why)) != 0 || tundev_set_up(v->tun, true, why, sizeof(why)) != 0) {
		warn("%s", why);
		return -1;
	}
	v->configured = true;
	for (i = 0; i < v->va->nroutes; i++)
		if (add_route(v, &v->va->routes[i], false) != 0)
			return -1;
	for (i = 0; i < c->nroutes; i++)
		(void)add_route(v, &c->routes[i], true);
	return 0;
}

/* Raises or lowers the capability kept for reconfiguring; nothing when none is kept. */
static int
bracket(struct vpn *v, bool on)
{
	char why[WHY_MAX];

	if (!v->kept_cap || privdrop_effective(CAP_NET_ADMIN, on, why, sizeof(why)) == 0)
		return 0;
	warn("%s", why);
	return -1;
}

/* Takes the server's configuration: the first one, or one that differs from what the interface has. */
static void
apply_config(struct vpn *v, const struct tunconf *given)
{
	struct tunconf c = *given;
	bool first = !v->configured;
	int r;

	if (c.address == 0 || c.prefix == 0 || c.prefix > 30) {
		fail(v, CLIENT_PROTOCOL, "the server's tunnel configuration gives no address for us");
		return;
	}
	if (c.mtu == 0)
		c.mtu = VPN_MTU_DEFAULT;
	if (v->path_mtu != 0 && c.mtu > v->path_mtu) {
		if (first)
			say(v, "MTU %u, not the server's %u: so that a packet reaches %s in one datagram", v->path_mtu,
			    c.mtu, v->server_text);
		c.mtu = v->path_mtu;
	}
	if (!first && tunconf_equal(&c, &v->applied))
		return;
	if (bracket(v, true) != 0) {
		fail(v, CLIENT_SOFTWARE, "cannot follow the server's new configuration");
		return;
	}
	r = configure(v, &c);
	(void)bracket(v, false);
	if (r != 0) {
		fail(v, CLIENT_SOFTWARE, "cannot configure %s as the server says", tundev_name(v->tun));
		return;
	}
	describe(v, first ? "Tunnel up" : "Tunnel reconfigured");
}

static void
tun_write(struct vpn *v, const uint8_t *p, size_t n)
{
	if (tundev_write(v->tun, p, n) != 0)
		v->drops.tun_write++;
	else
		v->tun_out++;
}

/* ---- The UDP transport ---- */

static void
on_send(void *arg, const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t n)
{
	struct vpn *v = arg;

	(void)to;
	(void)tolen;
	if (sendto(v->udp, p, n, 0, (struct sockaddr *)&v->server, v->server_len) != (ssize_t)n)
		v->drops.udp_send++;
}

static void
on_deliver(void *arg, struct dgram_peer *peer, const uint8_t *p, size_t n)
{
	(void)peer;
	tun_write(arg, p, n);
}

static void
on_established(void *arg, const uint8_t *config, size_t n)
{
	struct vpn *v = arg;
	struct tunconf c;

	if (tunconf_read(config, n, &c) != 0)
		fail(v, CLIENT_PROTOCOL, "the server's tunnel configuration is malformed");
	else
		apply_config(v, &c);
}

/* Whether a datagram came from the server's address and port. */
static bool
from_server(const struct vpn *v, const struct sockaddr_storage *from, socklen_t len)
{
	return len == v->server_len && memcmp(from, &v->server, len) == 0;
}

/* The UDP socket and the signals are always read. */
static short
always_in(void *arg)
{
	(void)arg;
	return POLLIN;
}

/* Takes a batch of datagrams at a time, as many as came. */
static void
udp_ready(void *arg, short revents)
{
	static uint8_t slots[UDP_BATCH][UDP_SLOT];
	struct sockaddr_storage from[UDP_BATCH];
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct vpn *v = arg;
	int i, n;

	(void)revents;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < UDP_BATCH; i++) {
		iov[i] = (struct iovec){ slots[i], UDP_SLOT };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]), .msg_iov = &iov[i],
		    .msg_iovlen = 1 };
	}
	if ((n = recvmmsg(v->udp, msgs, UDP_BATCH, MSG_DONTWAIT, NULL)) < 0)
		return; /* EAGAIN, or an ICMP error for the last datagram sent: the server is not there (yet) */
	for (i = 0; i < n; i++) {
		if (!from_server(v, &from[i], msgs[i].msg_hdr.msg_namelen))
			v->drops.stranger++;
		else if (dgram_client_receive(v->dgram, loop_now_ms(), slots[i], msgs[i].msg_len) == 0 &&
		    msgs[i].msg_len > 0 && slots[i][0] == DGRAM_COOKIE)
			v->cookies++;
	}
}

/* ---- The TCP transport ---- */

static void
on_record(void *arg, int type, const uint8_t *p, size_t n)
{
	struct vpn *v = arg;

	if (type == ENGINE_TUNNEL_PACKET) {
		tun_write(v, p, n);
	} else if (!v->have_config) {
		if (tunconf_read(p, n, &v->config) == 0)
			v->have_config = true;
		else
			fail(v, CLIENT_PROTOCOL, "the server's tunnel configuration is malformed");
	}
}

static bool
config_or_stop(void *arg)
{
	struct vpn *v = arg;

	return v->have_config || v->stop;
}

static bool
stopping(void *arg)
{
	return ((struct vpn *)arg)->stop;
}

/* ---- The TUN and the signals ---- */

static short
tun_events(void *arg)
{
	struct vpn *v = arg;

	if (v->session != NULL && session_backlog(v->session) > TCP_BACKLOG_MAX)
		return 0;
	return POLLIN;
}

/* Our packets, each to the server by the transport in use. */
static void
tun_ready(void *arg, short revents)
{
	struct vpn *v = arg;
	uint32_t src, dst;
	ssize_t n;
	int i, r;

	(void)revents;
	for (i = 0; i < TUN_READS_PER_WAKE && !v->stop; i++) {
		if ((n = read(tundev_fd(v->tun), v->buf, sizeof(v->buf))) <= 0)
			break;
		v->tun_in++;
		if (!ippkt_ipv4(v->buf, (size_t)n, &src, &dst)) {
			v->drops.not_ipv4++;
			continue;
		}
		if (v->session != NULL)
			r = session_tunnel_send(v->session, ENGINE_TUNNEL_PACKET, v->buf, (size_t)n);
		else
			r = dgram_client_send(v->dgram, loop_now_ms(), v->buf, (size_t)n);
		if (r != 0)
			v->drops.unsent++;
		if (v->session != NULL && session_backlog(v->session) > TCP_BACKLOG_MAX)
			break;
	}
}

static void
report(const struct vpn *v)
{
	const struct vpn_drops *d = &v->drops;
	struct dgram_stats st;
	char text[512];

	printf("Tunnel %s: %" PRIu64 " packets from the TUN, %" PRIu64 " to it; dropped: %" PRIu64 " not IPv4, %"
	    PRIu64 " the transport could not send, %" PRIu64 " the UDP socket refused, %" PRIu64 " the TUN refused, %"
	    PRIu64 " from another address than the server's\n", tundev_name(v->tun), v->tun_in, v->tun_out,
	    d->not_ipv4, d->unsent, d->udp_send, d->tun_write, d->stranger);
	if (v->dgram != NULL) {
		dgram_client_stats(v->dgram, &st);
		tunstats_format(&st, text, sizeof(text));
		printf("Tunnel UDP: %s; %" PRIu64 " cookie%s from a server under load\n", text, v->cookies,
		    v->cookies == 1 ? "" : "s");
	}
	fflush(stdout);
}

static void
signal_ready(void *arg, short revents)
{
	struct signalfd_siginfo si;
	struct vpn *v = arg;

	(void)revents;
	while (read(v->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			report(v);
		} else if (si.ssi_signo == SIGUSR2 && v->va->sandbox_test) {
			/* Tests only (--sandbox-test): a system call the sandbox forbids, to see it kill us. */
			printf("Sandbox test: calling getppid(), which the sandbox forbids\n");
			fflush(stdout);
			printf("Sandbox test: getppid() returned %ld: no sandbox\n", (long)syscall(SYS_getppid));
			fflush(stdout);
		} else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			say(v, "Shutting down (%s)", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			v->stop = true;
		}
	}
}

/* ---- Starting ---- */

/* Signals arrive through a descriptor the loop watches, never as handlers racing it. */
static int
open_signals(struct vpn *v)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (v->va->sandbox_test)
		sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (v->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		warn("cannot watch signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The server's address for the UDP transport and the capture check: the first the host resolves to. */
static int
resolve_server(struct vpn *v)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *res;
	int r;

	if ((r = getaddrinfo(v->cfg->host, v->cfg->port, &hints, &res)) != 0) {
		warn("cannot resolve %s port %s: %s", v->cfg->host, v->cfg->port, gai_strerror(r));
		return r == EAI_SERVICE ? CLIENT_USAGE : CLIENT_NOHOST;
	}
	memcpy(&v->server, res->ai_addr, res->ai_addrlen);
	v->server_len = res->ai_addrlen;
	freeaddrinfo(res);
	sock_format_address((struct sockaddr *)&v->server, v->server_text, sizeof(v->server_text), NULL, 0);
	return 0;
}

/*
 * Binds the UDP socket to a port now, as its first send would, so that the
 * key log can name it: the sandbox forbids asking later. The address stays
 * the wildcard, so that the kernel still picks each packet's source (roaming).
 */
static int
name_udp(struct vpn *v)
{
	struct sockaddr_storage ss = { .ss_family = v->server.ss_family };
	socklen_t len = v->server_len;

	if (bind(v->udp, (struct sockaddr *)&ss, len) != 0 || getsockname(v->udp, (struct sockaddr *)&ss, &len) != 0) {
		warn("cannot bind a UDP socket: %s", strerror(errno));
		return -1;
	}
	sock_format_address((struct sockaddr *)&ss, v->local_text, sizeof(v->local_text), NULL, 0);
	return 0;
}

/*
 * The largest tunnel MTU whose packets reach the server in one datagram, from
 * the MTU the kernel knows for the route there: what is left after the outer
 * IP and UDP headers and DATA's header and tag, rounded down to the padding
 * (a 1500-byte path: 1440 over IPv4, 1408 over IPv6). 0 when it does not say.
 */
static unsigned
path_mtu(struct vpn *v)
{
	bool v6 = v->server.ss_family == AF_INET6;
	int mtu = 0, outer = (v6 ? 40 : 20) + 8 + DGRAM_DATA_OVERHEAD;
	socklen_t len = sizeof(mtu);

	if (connect(v->probe, (struct sockaddr *)&v->server, v->server_len) != 0 ||
	    getsockopt(v->probe, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0 ||
	    mtu - outer < TUNCONF_MTU_MIN)
		return 0;
	return (unsigned)(mtu - outer) / DGRAM_PAD * DGRAM_PAD;
}

/* The UDP socket (unconnected: the kernel picks the source per packet, so that roaming just works) and the probe. */
static int
open_sockets(struct vpn *v)
{
	int size = UDP_SOCKET_BUFFER;

	if ((!v->va->tcp && (v->udp = socket(v->server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) ||
	    (v->probe = socket(v->server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		warn("cannot open a UDP socket: %s", strerror(errno));
		return -1;
	}
	if (v->udp >= 0) {
		(void)setsockopt(v->udp, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		(void)setsockopt(v->udp, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		v->path_mtu = path_mtu(v);
		return name_udp(v);
	}
	return 0;
}

/* A client without --key gets one for this run: the server names tunnel clients by key. */
static int
own_key(struct vpn *v)
{
	struct secure_config *sc = &v->cfg->engine.secure;
	uint8_t pub[KEYS_LEN];
	char b64[KEYS_B64_LEN + 1];

	if (!sc->static_priv_set) {
		if (noise_keypair_generate(sc->static_priv, pub) != 0)
			return -1;
		sc->static_priv_set = true;
		keys_to_base64(pub, b64);
		say(v, "Client key: %s (made for this run; give --key for one the server can list)", b64);
	}
	return 0;
}

/* A handshake made keys: their line for the key log the user asked for (docs/SECURE.md section 9). */
static void
on_keys(void *arg, struct dgram_peer *peer, const struct dgram_keylog *k)
{
	struct vpn *v = arg;

	(void)peer;
	if (keylog_write_udp(v->cfg->keylog, v->local_text, v->server_text, k) != 0)
		warn("cannot write the key log: %s", strerror(errno));
}

static int
new_dgram(struct vpn *v)
{
	const struct secure_config *sc = &v->cfg->engine.secure;
	struct dgram_config dc = { .clock = sc->clock, .keepalive_ms = v->va->keepalive_s * 1000,
	    .nsuites = sc->nsuites };
	struct dgram_ops ops = { .send = on_send, .deliver = on_deliver, .established = on_established,
	    .keys = v->cfg->keylog != NULL ? on_keys : NULL };
	int r;

	memcpy(dc.static_priv, sc->static_priv, sizeof(dc.static_priv));
	memcpy(dc.server_pub, sc->server_pub, sizeof(dc.server_pub));
	if (sc->has_psk)
		memcpy(dc.psk, sc->psk, sizeof(dc.psk));
	memcpy(dc.suites, sc->suites, sizeof(dc.suites));
	r = dgram_client_new(&dc, &ops, v, &v->dgram);
	OPENSSL_cleanse(&dc, sizeof(dc));
	if (r != 0)
		warn("cannot start the UDP transport: %s", cvpn_strerror(r));
	return r;
}

/* TCP: the secure session, then the CONFIG record, which configures the TUN before the drop. */
static int
open_session(struct vpn *v)
{
	struct failure f;

	if (session_open(v->cfg, v->loop, &v->session, &f) != 0 ||
	    (session_on_tunnel(v->session, on_record, v),
	    session_run(v->session, config_or_stop, v, v->cfg->timeout_ms, &f) != 0)) {
		report_failure(&f);
		return f.exit;
	}
	if (!v->have_config) {
		warn("the server sent no tunnel configuration: is it a cvpn-server --tun, and is our key authorized?");
		return CLIENT_PROTOCOL;
	}
	apply_config(v, &v->config);
	return v->exit;
}

/* The system calls the client adds to the sandbox's list: its poll loop, the capability kept, the capture check. */
static const char *const client_syscalls[] = { "poll", "ppoll", "capget", "capset", "connect", "getsockname" };

/* Drops to --user, keeping CAP_NET_ADMIN lowered over UDP, and enters the sandbox. Returns 0 or an exit code. */
static int
confine(struct vpn *v)
{
	const int keep[] = { CAP_NET_ADMIN };
	char why[WHY_MAX];

	if (v->va->no_drop)
		return 0;
	if (privdrop_drop(v->va->user, keep, v->va->tcp ? 0 : 1, why, sizeof(why)) != 0) {
		warn("%s", why);
		return CLIENT_SOFTWARE;
	}
	v->kept_cap = !v->va->tcp;
	if (bracket(v, false) != 0)
		return CLIENT_SOFTWARE;
	say(v, "Running as %s, %s", v->va->user ? v->va->user : PRIVDROP_DEFAULT_USER, v->kept_cap ?
	    "CAP_NET_ADMIN kept lowered, to follow the server's configuration" : "without capabilities");
	fflush(stdout);
	if (sandbox_enter(client_syscalls, sizeof(client_syscalls) / sizeof(client_syscalls[0]), why, sizeof(why)) != 0) {
		warn("%s", why);
		return CLIENT_SOFTWARE;
	}
	say(v, "Sandbox on (seccomp)");
	return 0;
}

/* UDP: turns the loop, with the transport's timer, until told to stop. */
static void
run_udp(struct vpn *v)
{
	uint64_t now, next;

	while (!v->stop) {
		now = loop_now_ms();
		next = dgram_client_tick(v->dgram, now);
		if (!v->waited && !dgram_client_established(v->dgram) && now - v->started >= v->cfg->timeout_ms) {
			v->waited = true;
			warn("no handshake with %s after %u s: is cvpn-server --tun running there, is %s/udp open, and is "
			    "our key authorized? Still trying", v->server_text, v->cfg->timeout_ms / 1000, v->cfg->port);
		}
		if (!v->waited && !dgram_client_established(v->dgram) && next > v->started + v->cfg->timeout_ms)
			next = v->started + v->cfg->timeout_ms;
		if (loop_turn(v->loop, next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now)) != 0)
			fail(v, CLIENT_IOERR, "poll: %s", strerror(errno));
	}
}

/* TCP: turns the session's loop until told to stop, then closes the session cleanly. */
static void
run_tcp(struct vpn *v)
{
	struct failure f;

	if (session_run(v->session, stopping, v, 0, &f) != 0 ||
	    (v->exit == 0 && session_finish(v->session, &f) != 0)) {
		report_failure(&f);
		if (v->exit == 0)
			v->exit = f.exit;
	}
}

/* Opens what the tunnel needs while still privileged. Returns 0 or an exit code. */
static int
open_all(struct vpn *v)
{
	struct loop_watch *w;
	char why[WHY_MAX];
	int r;

	if (privdrop_check_tun(PROG, why, sizeof(why)) != 0) {
		warn("%s", why);
		return CLIENT_NOPERM;
	}
	if (own_key(v) != 0 || open_signals(v) != 0 || loop_new(&v->loop) != 0)
		return CLIENT_SOFTWARE;
	if ((r = resolve_server(v)) != 0)
		return r;
	if (open_sockets(v) != 0)
		return CLIENT_UNAVAILABLE;
	if (tundev_open(v->va->tun_name, &v->tun, why, sizeof(why)) != 0) {
		warn("%s", why);
		return CLIENT_SOFTWARE;
	}
	/* The watches go with the loop. */
	if (loop_watch(v->loop, tundev_fd(v->tun), tun_events, tun_ready, v, &w) != 0 ||
	    loop_watch(v->loop, v->sigfd, always_in, signal_ready, v, &w) != 0 ||
	    (v->udp >= 0 && loop_watch(v->loop, v->udp, always_in, udp_ready, v, &w) != 0))
		return CLIENT_SOFTWARE;
	if (v->va->tcp)
		return open_session(v);
	if (new_dgram(v) != 0)
		return CLIENT_SOFTWARE;
	say(v, "Tunnel interface %s; handshake with %s over UDP", tundev_name(v->tun), v->server_text);
	return 0;
}

int
vpn_run(struct client_config *cfg, const struct vpn_args *va)
{
	struct vpn v = { .cfg = cfg, .va = va, .sigfd = -1, .udp = -1, .probe = -1 };
	int r;

	v.started = loop_now_ms();
	if ((r = open_all(&v)) == 0 && (r = confine(&v)) == 0) {
		if (va->tcp)
			run_tcp(&v);
		else
			run_udp(&v);
		r = v.exit;
	}
	if (v.tun != NULL && cfg->verbosity >= 0)
		report(&v);
	dgram_client_free(v.dgram);
	session_close(v.session);
	loop_free(v.loop);
	tundev_free(v.tun);
	if (v.udp >= 0)
		close(v.udp);
	if (v.probe >= 0)
		close(v.probe);
	if (v.sigfd >= 0)
		close(v.sigfd);
	return r;
}
