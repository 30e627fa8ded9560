/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: the IP tunnel (vpn.h). One TUN, one UDP socket read in
 * batches (recvmmsg), one timer for the UDP transport's due work, all on the
 * server's libuv loop beside the TCP sessions, some of which carry packets
 * too. A client's address belongs to its key (a lease): the UDP transport's
 * peer and the key's TCP sessions share it, and a packet to the address goes
 * by whichever of them last sent one.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <openssl/crypto.h>
#include <uv.h>

#include "conn.h"
#include "dgram.h"
#include "dgram_wire.h"
#include "engine.h"
#include "err.h"
#include "ippkt.h"
#include "keylog.h"
#include "keys.h"
#include "privdrop.h"
#include "sandbox.h"
#include "sock.h"
#include "tundev.h"
#include "tunnet.h"
#include "tunstats.h"
#include "vpn.h"

#define LEASE_BUCKETS 1024
/* libuv reads up to 20 datagrams of 64 KiB at once into one buffer (recvmmsg). */
#define UDP_BATCH_BUFFER (20 * 65536)
/* Packets read from the TUN per wake-up, so that the UDP side gets its turn. */
#define TUN_READS_PER_WAKE 64
/*
 * What a TCP session may hold for its client before packets to it are
 * dropped, as a full interface queue drops them: well below what makes
 * server.c take the client for one that does not read (MAX_PENDING_WRITE).
 */
#define TCP_BACKLOG_MAX (32 * 1024)
/* What a TCP client's packets of one wake gather before they are sent: well under the backlog. */
#define TCP_BATCH (16 * 1024)
/* Socket buffers for bursts of datagrams (the kernel caps them at its rmem_max and wmem_max). */
#define UDP_SOCKET_BUFFER (4 << 20)
#define WHY_MAX 512

/* One client key's address, and the ways to reach it. */
struct vpn_lease {
	uint8_t key[KEYS_LEN];
	char name[KEYS_B64_LEN + 1];
	uint32_t addr;
	bool fixed;                     /* address=: stays, and is never leased to another key */
	struct dgram_peer *peer;        /* its UDP session, or NULL */
	struct conn *conn;              /* the TCP session packets go by, or NULL: then the UDP one */
	unsigned nconns;                /* its TCP sessions that carry the tunnel */
	struct vpn_lease *chain;
};

/* Packets dropped on the way, besides the UDP transport's own counters. */
struct vpn_drops {
	uint64_t no_client;             /* to an address of the tunnel that nobody holds now */
	uint64_t client_to_client;      /* from a client to another, without --client-to-client */
	uint64_t not_ipv4;              /* the tunnel routes IPv4 only */
	uint64_t spoofed;               /* over TCP, from an address that is not the client's */
	uint64_t backlog;               /* a TCP client that does not read fast enough */
	uint64_t tun_write;             /* the TUN refused it */
	uint64_t udp_send;              /* the socket refused it (its buffer full) */
};

struct vpn {
	struct server *srv;
	const struct vpn_config *cfg;
	struct tundev *tun;
	struct tunnet *net;
	struct dgram_server *dgram;
	uv_udp_t udp;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_signal_t sigusr1, sigusr2;
	uv_handle_t *open[5];           /* the handles initialized, to close at the end */
	size_t nopen;
	int port;
	char local_text[SOCK_ADDRESS_MAX]; /* the UDP socket's address, for the key log */
	struct vpn_lease *leases[LEASE_BUCKETS];
	struct vpn_drops drops;
	uint64_t tun_in, tun_out;
	bool stopped;
	struct conn *held[TUN_READS_PER_WAKE]; /* TCP clients whose packets of this wake wait to be sent */
	int nheld;
	bool holding;                   /* reading the TUN: a TCP client's packets go out together */
	uint8_t tunbuf[65536];
};

static char udpbuf[UDP_BATCH_BUFFER];

static void __attribute__((format(printf, 2, 3)))
vpn_log(const struct vpn *v, const char *fmt, ...)
{
	va_list ap;

	if (v->srv->cfg->verbosity < 0)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void __attribute__((format(printf, 1, 2)))
vpn_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cvpn-server: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- Addresses ---- */

int
vpn_check_addresses(const struct vpn_config *cfg, const struct keys_list *authorized, const char *path,
    char *why, size_t whylen)
{
	struct tunnet *net = NULL;
	const uint8_t *key, *other;
	uint32_t addr, a2;
	unsigned line, l2;
	char text[16];
	size_t i, j, n = authorized ? keys_list_count(authorized) : 0;
	int r;

	if ((r = tunnet_new(cfg->network, cfg->prefix, &net)) != 0)
		return cvpn_why(r, why, whylen, "cannot hold the tunnel network: %s", cvpn_strerror(r));
	for (i = 0, r = 0; i < n && r == 0; i++) {
		key = keys_list_entry(authorized, i, &addr, &line);
		if (addr == 0)
			continue;
		ippkt_format(addr, text, sizeof(text));
		/* A key on several lines may repeat its address, never give another. */
		for (j = 0; j < i && r == 0; j++) {
			other = keys_list_entry(authorized, j, &a2, &l2);
			if (a2 != 0 && CRYPTO_memcmp(key, other, KEYS_LEN) == 0 && a2 != addr)
				r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "%s:%u: address=%s for a key that line %u "
				    "gives another address", path, line, text, l2);
			else if (a2 == addr && CRYPTO_memcmp(key, other, KEYS_LEN) == 0)
				addr = 0;
			else if (a2 == addr)
				r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "%s:%u: address=%s is given to another key on "
				    "line %u: one address, one key", path, line, text, l2);
		}
		if (r == 0 && addr != 0 && tunnet_fix(net, addr) != 0)
			r = cvpn_why(CVPN_ERR_INVALID_ARG, why, whylen, "%s:%u: address=%s is not a client's address in "
			    "--tun-net (inside it, neither its first nor its last address, nor the server's)", path, line,
			    text);
	}
	tunnet_free(net);
	return r;
}

static struct vpn_lease **
lease_at(struct vpn *v, const uint8_t key[static KEYS_LEN])
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16;
	struct vpn_lease **p = &v->leases[h % LEASE_BUCKETS];

	while (*p != NULL && CRYPTO_memcmp((*p)->key, key, KEYS_LEN) != 0)
		p = &(*p)->chain;
	return p;
}

/* A lease for the key: its own, or a new one from the pool. Says why not (the network is full). */
static struct vpn_lease *
lease_get(struct vpn *v, const uint8_t key[static KEYS_LEN])
{
	struct vpn_lease **at = lease_at(v, key), *l;
	uint32_t addr;

	if (*at != NULL)
		return *at;
	if (tunnet_lease(v->net, key, &addr) != 0) {
		vpn_warn("no address left in --tun-net for another client: %zu leased", tunnet_leased(v->net));
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		tunnet_release(v->net, addr);
		return NULL;
	}
	memcpy(l->key, key, KEYS_LEN);
	keys_to_base64(key, l->name);
	l->addr = addr;
	tunnet_set_holder(v->net, addr, l);
	*at = l;
	return l;
}

/* Frees a lease nobody uses any more; a fixed one stays. */
static void
lease_put(struct vpn *v, struct vpn_lease *l)
{
	struct vpn_lease **at;

	if (l->fixed || l->peer != NULL || l->nconns > 0)
		return;
	at = lease_at(v, l->key);
	*at = l->chain;
	tunnet_release(v->net, l->addr);
	free(l);
}

/* The fixed addresses of the authorized-clients file, each a lease from the start (checked already). */
static int
fix_addresses(struct vpn *v, const struct keys_list *authorized)
{
	struct vpn_lease **at, *l;
	const uint8_t *key;
	uint32_t addr;
	unsigned line;
	size_t i, n = authorized ? keys_list_count(authorized) : 0;

	for (i = 0; i < n; i++) {
		key = keys_list_entry(authorized, i, &addr, &line);
		if (addr == 0 || *(at = lease_at(v, key)) != NULL)
			continue;
		if ((l = calloc(1, sizeof(*l))) == NULL)
			return CVPN_ERR_NOMEM;
		memcpy(l->key, key, KEYS_LEN);
		keys_to_base64(key, l->name);
		l->addr = addr;
		l->fixed = true;
		(void)tunnet_fix(v->net, addr);
		tunnet_set_holder(v->net, addr, l);
		*at = l;
	}
	return 0;
}

/* Writes the configuration of a client at addr. Returns 0 or a code of err.h. */
static int
write_config(const struct vpn *v, uint32_t addr, uint8_t *out, size_t cap, size_t *len)
{
	struct tunconf c = { .address = addr, .prefix = v->cfg->prefix, .mtu = v->cfg->mtu, .nroutes = v->cfg->nroutes };

	memcpy(c.routes, v->cfg->routes, v->cfg->nroutes * sizeof(c.routes[0]));
	return tunconf_write(&c, out, cap, len);
}

/* ---- Moving packets ---- */

static void
tun_write(struct vpn *v, const uint8_t *p, size_t n)
{
	if (tundev_write(v->tun, p, n) != 0)
		v->drops.tun_write++;
	else
		v->tun_out++;
}

/* Notes that conn has packets of this wake queued, to be sent once the wake's reading ends. */
static void
hold(struct vpn *v, struct conn *c)
{
	int i;

	for (i = 0; i < v->nheld; i++)
		if (v->held[i] == c)
			return;
	v->held[v->nheld++] = c;
}

/* Sends a packet to the client of lease, by the transport it last used. */
static void
to_client(struct vpn *v, struct vpn_lease *l, const uint8_t *p, size_t n)
{
	const uint8_t *q;
	size_t queued;

	if (l->conn != NULL) {
		engine_output(l->conn->engine, &q, &queued);
		if (queued > TCP_BACKLOG_MAX)
			v->drops.backlog++;
		else if (engine_tunnel_send(l->conn->engine, ENGINE_TUNNEL_PACKET, p, n) != 0)
			v->drops.no_client++; /* the session is ending */
		else if (!v->holding || queued + n >= TCP_BATCH)
			conn_output(l->conn);
		else
			hold(v, l->conn);
	} else if (l->peer == NULL || dgram_server_send(v->dgram, l->peer, uv_now(v->srv->loop), p, n) != 0) {
		v->drops.no_client++;
	}
}

/*
 * A packet from a client (its source checked) goes by its destination: to
 * another client only with --client-to-client, never back to its sender,
 * and anything else to the TUN, for the server's own stack to take or route.
 */
static void
from_client(struct vpn *v, struct vpn_lease *from, const uint8_t *p, size_t n)
{
	struct vpn_lease *to;
	uint32_t src, dst;

	if (!ippkt_ipv4(p, n, &src, &dst)) {
		v->drops.not_ipv4++;
		return;
	}
	if (!tunnet_contains(v->net, dst) || dst == tunnet_server(v->net)) {
		tun_write(v, p, n);
		return;
	}
	if (!v->cfg->client_to_client) {
		v->drops.client_to_client++;
		return;
	}
	if ((to = tunnet_holder(v->net, dst)) == NULL || to == from) {
		v->drops.no_client++;
		return;
	}
	to_client(v, to, p, n);
}

/* Packets the server's stack routed into the TUN: each to the client that holds its destination. */
static void
on_tun(uv_poll_t *h, int status, int events)
{
	struct vpn *v = h->data;
	struct vpn_lease *l;
	uint32_t src, dst;
	ssize_t n;
	int i;

	(void)events;
	if (status < 0) {
		vpn_warn("reading %s: %s", tundev_name(v->tun), uv_strerror(status));
		return;
	}
	/* A wake's packets to one TCP client go in one send, up to TCP_BATCH, instead of one each. */
	v->holding = true;
	for (i = 0; i < TUN_READS_PER_WAKE; i++) {
		if ((n = read(tundev_fd(v->tun), v->tunbuf, sizeof(v->tunbuf))) <= 0)
			break;
		v->tun_in++;
		if (!ippkt_ipv4(v->tunbuf, (size_t)n, &src, &dst))
			v->drops.not_ipv4++;
		else if ((l = tunnet_holder(v->net, dst)) == NULL)
			v->drops.no_client++;
		else
			to_client(v, l, v->tunbuf, (size_t)n);
	}
	v->holding = false;
	/* A connection closed meanwhile is only closing: its memory goes in a later phase of the loop. */
	for (i = 0; i < v->nheld; i++)
		conn_output(v->held[i]);
	v->nheld = 0;
}

/* ---- The UDP transport ---- */

static void
on_send(void *arg, const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t n)
{
	struct vpn *v = arg;
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);

	(void)tolen;
	if (uv_udp_try_send(&v->udp, &b, 1, to) < 0)
		v->drops.udp_send++;
}

static void
on_deliver(void *arg, struct dgram_peer *peer, const uint8_t *p, size_t n)
{
	struct vpn *v = arg;
	struct vpn_lease *l = dgram_peer_data(peer);

	if (l == NULL)
		return;
	/* The client speaks over UDP now: answers go the same way. */
	l->conn = NULL;
	from_client(v, l, p, n);
}

/* A client completed message 1: its key must be authorized, and it gets its address and configuration. */
static int
on_admit(void *arg, struct dgram_peer *peer, uint8_t *config, size_t cap, size_t *len)
{
	struct vpn *v = arg;
	const struct keys_list *authorized = v->srv->cfg->engine.secure.authorized;
	const uint8_t *key = dgram_peer_key(peer);
	struct vpn_lease *l = dgram_peer_data(peer);
	char text[16];

	if (l == NULL) {
		if (authorized != NULL && !keys_list_contains(authorized, key))
			return CVPN_ERR_UNAUTHORIZED;
		if ((l = lease_get(v, key)) == NULL)
			return CVPN_ERR_BUSY;
		l->peer = peer;
		dgram_peer_set_data(peer, l);
		ippkt_format(l->addr, text, sizeof(text));
		vpn_log(v, "Tunnel client %s over UDP: %s", l->name, text);
	}
	dgram_peer_set_source(peer, htonl(l->addr));
	return write_config(v, l->addr, config, cap, len);
}

/* A handshake made keys: their line for the key log the user asked for (docs/SECURE.md section 9). */
static void
on_keys(void *arg, struct dgram_peer *peer, const struct dgram_keylog *k)
{
	struct vpn *v = arg;
	char client[SOCK_ADDRESS_MAX];
	socklen_t len;
	const struct sockaddr *sa = dgram_peer_endpoint(peer, &len);

	sock_format_address(sa, client, sizeof(client), NULL, 0);
	if (keylog_write_udp(v->srv->cfg->keylog, client, v->local_text, k) != 0)
		vpn_warn("cannot write the key log: %s", strerror(errno));
}

static void
on_forget(void *arg, struct dgram_peer *peer)
{
	struct vpn *v = arg;
	struct vpn_lease *l = dgram_peer_data(peer);

	if (l == NULL)
		return;
	/* Silent for long, or its first handshake failed after admission (a stale clock, say). */
	vpn_log(v, "Tunnel client %s over UDP: forgotten", l->name);
	l->peer = NULL;
	lease_put(v, l);
}

static void
on_datagram(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct vpn *v = u->data;
	socklen_t len;

	(void)flags;
	if (n < 0) {
		vpn_warn("receiving on UDP port %d: %s", v->port, uv_strerror((int)n));
		return;
	}
	if (from == NULL)
		return; /* the end of a batch, or nothing */
	len = from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	(void)dgram_server_receive(v->dgram, uv_now(v->srv->loop), from, len, (const uint8_t *)buf->base, (size_t)n);
}

static void
on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	(void)h;
	(void)size;
	*buf = uv_buf_init(udpbuf, sizeof(udpbuf));
}

static void
on_timer(uv_timer_t *t)
{
	struct vpn *v = t->data;
	uint64_t now = uv_now(v->srv->loop), next = dgram_server_tick(v->dgram, now);

	uv_timer_start(&v->timer, on_timer, next - now, 0);
}

/* ---- Signals ---- */

static void
on_report(uv_signal_t *sig, int signum)
{
	(void)signum;
	vpn_report(sig->data);
}

/*
 * Tests only (--sandbox-test, not in --help): a system call the sandbox does
 * not allow, so that a test can see the sandbox kill the process for it.
 */
static void
on_sandbox_test(uv_signal_t *sig, int signum)
{
	(void)sig;
	(void)signum;
	printf("Sandbox test: calling getppid(), which the sandbox forbids\n");
	fflush(stdout);
	printf("Sandbox test: getppid() returned %ld: no sandbox\n", (long)syscall(SYS_getppid));
}

/* ---- Starting and stopping ---- */

/* Opens the TUN with its address and MTU, and up. Says why not. */
static int
open_tun(struct vpn *v)
{
	struct tundev_prefix self = { .family = AF_INET, .len = v->cfg->prefix };
	uint32_t be = htonl(tunnet_server(v->net));
	char why[WHY_MAX];
	int r;

	memcpy(self.addr, &be, 4);
	if ((r = tundev_open(v->cfg->tun_name, &v->tun, why, sizeof(why))) != 0 ||
	    (r = tundev_set_mtu(v->tun, v->cfg->mtu, why, sizeof(why))) != 0 ||
	    (r = tundev_add_address(v->tun, &self, why, sizeof(why))) != 0 ||
	    (r = tundev_set_up(v->tun, true, why, sizeof(why))) != 0)
		vpn_warn("%s", why);
	return r;
}

/* Larger socket buffers than the default, for bursts (best effort: the kernel caps them). */
static void
grow_buffers(uv_udp_t *udp)
{
	int size = UDP_SOCKET_BUFFER;

	(void)uv_recv_buffer_size((uv_handle_t *)udp, &size);
	size = UDP_SOCKET_BUFFER;
	(void)uv_send_buffer_size((uv_handle_t *)udp, &size);
}

/* The tunnel as the log names it: "cvpn0 10.77.0.1/24, MTU 1420, UDP port 4600". Returns out. */
static const char *
describe(const struct vpn *v, char *out, size_t len)
{
	char net[16];

	ippkt_format(tunnet_server(v->net), net, sizeof(net));
	snprintf(out, len, "%s %s/%u, MTU %u, UDP port %d%s", tundev_name(v->tun), net, v->cfg->prefix, v->cfg->mtu,
	    v->port, v->cfg->client_to_client ? ", client to client" : "");
	return out;
}

/* Binds the UDP socket on the TCP listener's address and port number. */
static int
bind_udp(struct vpn *v, const char *listen)
{
	struct sockaddr_storage ss;
	const char *addr = listen ? listen : "::";
	int len, r;

	if (uv_ip6_addr(addr, v->port, (struct sockaddr_in6 *)&ss) != 0 &&
	    uv_ip4_addr(addr, v->port, (struct sockaddr_in *)&ss) != 0)
		return UV_EINVAL;
	if ((r = uv_udp_init_ex(v->srv->loop, &v->udp, AF_UNSPEC | UV_UDP_RECVMMSG)) < 0)
		return r;
	v->open[v->nopen++] = (uv_handle_t *)&v->udp;
	v->udp.data = v;
	r = uv_udp_bind(&v->udp, (struct sockaddr *)&ss, 0);
	if (r == UV_EAFNOSUPPORT && listen == NULL) {
		uv_ip4_addr("0.0.0.0", v->port, (struct sockaddr_in *)&ss);
		r = uv_udp_bind(&v->udp, (struct sockaddr *)&ss, 0);
	}
	if (r < 0) {
		vpn_warn("cannot bind UDP port %d beside TCP: %s (is another program using %d/udp?)", v->port,
		    uv_strerror(r), v->port);
		return r;
	}
	len = sizeof(ss);
	if (uv_udp_getsockname(&v->udp, (struct sockaddr *)&ss, &len) == 0)
		sock_format_address((struct sockaddr *)&ss, v->local_text, sizeof(v->local_text), NULL, 0);
	grow_buffers(&v->udp);
	/* libuv probes for sendmmsg with a socket of its own, once: here, before the sandbox forbids sockets. */
	(void)uv_udp_using_recvmmsg(&v->udp);
	return uv_udp_recv_start(&v->udp, on_alloc, on_datagram);
}

/* The loop's handles: the TUN's poll, the timer, the signals. */
static int
start_handles(struct vpn *v)
{
	uv_loop_t *loop = v->srv->loop;
	int r;

	if ((r = uv_poll_init(loop, &v->poll, tundev_fd(v->tun))) < 0)
		return r;
	v->open[v->nopen++] = (uv_handle_t *)&v->poll;
	/* These cannot fail on a live loop. */
	uv_timer_init(loop, &v->timer);
	uv_signal_init(loop, &v->sigusr1);
	uv_signal_init(loop, &v->sigusr2);
	v->open[v->nopen++] = (uv_handle_t *)&v->timer;
	v->open[v->nopen++] = (uv_handle_t *)&v->sigusr1;
	v->open[v->nopen++] = (uv_handle_t *)&v->sigusr2;
	v->poll.data = v->timer.data = v->sigusr1.data = v->sigusr2.data = v;
	if ((r = uv_poll_start(&v->poll, UV_READABLE, on_tun)) < 0 ||
	    (r = uv_timer_start(&v->timer, on_timer, 1000, 0)) < 0 ||
	    (r = uv_signal_start(&v->sigusr1, on_report, SIGUSR1)) < 0)
		return r;
	if (v->cfg->sandbox_test && (r = uv_signal_start(&v->sigusr2, on_sandbox_test, SIGUSR2)) < 0)
		return r;
	return 0;
}

static int
new_dgram(struct vpn *v)
{
	const struct secure_config *sc = &v->srv->cfg->engine.secure;
	struct dgram_config dc = { .replay = sc->replay, .cookie_rate = v->cfg->cookie_rate, .nsuites = sc->nsuites };
	struct dgram_ops ops = { .send = on_send, .deliver = on_deliver, .admit = on_admit, .forget = on_forget,
	    .keys = v->srv->cfg->keylog != NULL ? on_keys : NULL };
	int r;

	memcpy(dc.static_priv, sc->static_priv, sizeof(dc.static_priv));
	if (sc->has_psk)
		memcpy(dc.psk, sc->psk, sizeof(dc.psk));
	memcpy(dc.suites, sc->suites, sizeof(dc.suites));
	r = dgram_server_new(&dc, &ops, v, &v->dgram);
	OPENSSL_cleanse(&dc, sizeof(dc));
	return r;
}

int
vpn_start(struct server *s, int port)
{
	struct vpn *v = calloc(1, sizeof(*v));
	char text[128];
	int r;

	if (v == NULL) {
		vpn_warn("out of memory");
		return CVPN_ERR_NOMEM;
	}
	v->srv = s;
	v->cfg = s->cfg->vpn;
	v->port = port;
	if ((r = tunnet_new(v->cfg->network, v->cfg->prefix, &v->net)) != 0 ||
	    (r = fix_addresses(v, s->cfg->engine.secure.authorized)) != 0 || (r = new_dgram(v)) != 0) {
		vpn_warn("cannot start the tunnel: %s", cvpn_strerror(r));
		goto fail;
	}
	if ((r = open_tun(v)) != 0 || (r = bind_udp(v, s->cfg->listen)) != 0)
		goto fail;
	if ((r = start_handles(v)) != 0) {
		vpn_warn("cannot watch the tunnel: %s", uv_strerror(r));
		goto fail;
	}
	s->vpn = v;
	vpn_log(v, "Tunnel on %s", describe(v, text, sizeof(text)));
	return 0;
fail:
	s->vpn = v;
	vpn_stop(v);
	uv_run(s->loop, UV_RUN_NOWAIT);
	s->vpn = NULL;
	vpn_free(v);
	return r;
}

int
vpn_drop(struct vpn *v)
{
	char why[WHY_MAX];

	if (v->cfg->no_drop)
		return 0;
	if (privdrop_drop(v->cfg->user, NULL, 0, why, sizeof(why)) != 0) {
		vpn_warn("%s", why);
		return -1;
	}
	vpn_log(v, "Running as %s, without capabilities", v->cfg->user ? v->cfg->user : PRIVDROP_DEFAULT_USER);
	return 0;
}

/*
 * What the TCP sessions add to the sandbox's list (found with strace, as
 * sandbox.c says): accepting (accept4), naming the ends (getpeername,
 * getsockname), TCP_NODELAY, keepalives and the stealth reset's SO_LINGER
 * (setsockopt), a socket's error (getsockopt), the non-blocking mode of an
 * accepted socket's poll handle (ioctl FIONBIO), and the workers' priority
 * put back at shutdown (sched_setscheduler).
 */
static const char *const tcp_syscalls[] = {
	"accept4", "getpeername", "getsockname", "setsockopt", "getsockopt", "ioctl", "sched_setscheduler",
};

int
vpn_confine(struct vpn *v)
{
	char why[WHY_MAX];

	if (v->cfg->no_drop)
		return 0;
	/* stdio's first output to a stream calls fstat, outside the sandbox's list: make it here. */
	fflush(stdout);
	if (sandbox_enter(tcp_syscalls, sizeof(tcp_syscalls) / sizeof(tcp_syscalls[0]), why, sizeof(why)) != 0) {
		vpn_warn("%s", why);
		return -1;
	}
	vpn_log(v, "Sandbox on (seccomp): the packet loop may make only the system calls it needs");
	return 0;
}

/* One line per client: its key, address, and how it is reached. */
static void
report_clients(const struct vpn *v)
{
	const struct sockaddr *ep;
	const struct vpn_lease *l;
	char addr[16], where[80];
	socklen_t len;
	size_t i;

	for (i = 0; i < LEASE_BUCKETS; i++)
		for (l = v->leases[i]; l != NULL; l = l->chain) {
			if (l->peer == NULL && l->nconns == 0)
				continue;
			ippkt_format(l->addr, addr, sizeof(addr));
			if (l->conn != NULL) {
				snprintf(where, sizeof(where), "TCP from %s", l->conn->peer);
			} else if (l->peer != NULL) {
				ep = dgram_peer_endpoint(l->peer, &len);
				strcpy(where, "UDP from ");
				sock_format_address(ep, where + 9, sizeof(where) - 9, NULL, 0);
			} else {
				snprintf(where, sizeof(where), "TCP (no packet yet)");
			}
			printf("Tunnel client %s %s %s\n", l->name, addr, where);
		}
}

void
vpn_report(const struct vpn *v)
{
	const struct vpn_drops *d = &v->drops;
	struct dgram_stats st;
	char text[512];

	dgram_server_stats(v->dgram, &st);
	tunstats_format(&st, text, sizeof(text));
	printf("Tunnel %s: %" PRIu64 " packets from the TUN, %" PRIu64 " to it\n", tundev_name(v->tun), v->tun_in,
	    v->tun_out);
	printf("Tunnel UDP: %s\n", text);
	printf("Tunnel routing dropped: %" PRIu64 " for no client, %" PRIu64 " client to client (off), %" PRIu64
	    " not IPv4, %" PRIu64 " from another source over TCP, %" PRIu64 " for a slow TCP client, %" PRIu64
	    " the TUN refused, %" PRIu64 " the UDP socket refused\n", d->no_client, d->client_to_client, d->not_ipv4,
	    d->spoofed, d->backlog, d->tun_write, d->udp_send);
	report_clients(v);
	fflush(stdout);
}

void
vpn_stop(struct vpn *v)
{
	size_t i;

	if (v == NULL || v->stopped)
		return;
	v->stopped = true;
	for (i = 0; i < v->nopen; i++)
		uv_close(v->open[i], NULL);
}

unsigned
vpn_udp_clients(const struct vpn *v)
{
	const struct vpn_lease *l;
	unsigned n = 0;
	size_t i;

	for (i = 0; v != NULL && i < LEASE_BUCKETS; i++)
		for (l = v->leases[i]; l != NULL; l = l->chain)
			n += l->peer != NULL;
	return n;
}

void
vpn_free(struct vpn *v)
{
	struct vpn_lease *l, *next;
	size_t i;

	if (v == NULL)
		return;
	if (v->dgram != NULL && v->tun != NULL && v->srv->cfg->verbosity >= 0)
		vpn_report(v);
	/* The peers go with the server; their leases are freed below, not one by one. */
	for (i = 0; i < LEASE_BUCKETS; i++)
		for (l = v->leases[i]; l != NULL; l = l->chain)
			if (l->peer != NULL)
				dgram_peer_set_data(l->peer, NULL);
	dgram_server_free(v->dgram);
	for (i = 0; i < LEASE_BUCKETS; i++)
		for (l = v->leases[i]; l != NULL; l = next) {
			next = l->chain;
			free(l);
		}
	tunnet_free(v->net);
	tundev_free(v->tun);
	free(v);
}

/* ---- Clients over TCP ---- */

void
vpn_conn_start(struct conn *c)
{
	struct vpn *v = c->srv->vpn;
	uint8_t config[DGRAM_CONFIG_MAX];
	struct vpn_lease *l;
	char text[16];
	size_t n;
	int r;

	/* The tunnel names its clients by key: a psk-mode or lab session only chats. */
	if (v == NULL || !c->has_client_key || !engine_is_secure(c->engine) || (l = lease_get(v, c->client_key)) == NULL)
		return;
	c->vpn = l;
	l->nconns++;
	if (l->peer == NULL)
		l->conn = c;
	if ((r = write_config(v, l->addr, config, sizeof(config), &n)) != 0 ||
	    (r = engine_tunnel_send(c->engine, ENGINE_TUNNEL_CONFIG, config, n)) != 0) {
		conn_warn(c, "cannot send the tunnel's configuration: %s", cvpn_strerror(r));
		return;
	}
	/* A tunnel over TCP may stay quiet for long: the kernel's keepalives tell a dead client instead. */
	(void)uv_tcp_keepalive(&c->tcp, 1, 60);
	ippkt_format(l->addr, text, sizeof(text));
	conn_log(c, "Tunnel client %s over TCP: %s", l->name, text);
	conn_output(c);
}

void
vpn_conn_record(struct conn *c, const struct engine_event *ev)
{
	struct vpn *v = c->srv->vpn;
	struct vpn_lease *l = c->vpn;
	uint32_t src, dst;

	if (ev->status != ENGINE_TUNNEL_PACKET)
		return; /* the engine refuses a CONFIG from a client */
	if (l == NULL) {
		snprintf(c->broken, sizeof(c->broken), v == NULL ? "an IP packet to a server without --tun" :
		    "an IP packet from a session without a tunnel address (the tunnel needs key mode)");
		return;
	}
	if (!ippkt_ipv4(ev->text, ev->text_len, &src, &dst)) {
		v->drops.not_ipv4++;
		return;
	}
	if (src != l->addr) {
		v->drops.spoofed++;
		return;
	}
	l->conn = c;
	from_client(v, l, ev->text, ev->text_len);
}

void
vpn_conn_end(struct conn *c)
{
	struct vpn *v = c->srv->vpn;
	struct vpn_lease *l = c->vpn;

	if (l == NULL || v == NULL)
		return;
	c->vpn = NULL;
	l->nconns--;
	if (l->conn == c)
		l->conn = NULL;
	lease_put(v, l);
}
