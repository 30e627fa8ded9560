/* SPDX-License-Identifier: MIT */
/*
 * osprobe: drives tundev, privdrop and sandbox for
 * tests/integration/test_tundev.sh, which runs it as root inside network
 * namespaces. It prints "ready PID", then reads one command a line and
 * answers each with one line, "ok ..." or "error: WHY":
 *
 *   open NAME|-            tundev_open (- for the default name)
 *   mtu N | up | address CIDR | route CIDR | del CIDR | undo | close
 *   checktun               privdrop_check_tun
 *   drop USER [CAP...]     privdrop_drop, keeping capabilities named as libcap does (cap_net_admin)
 *   loop N [SYSCALL...]    enters the sandbox (with the extra system calls) and runs N round trips
 *                          of a libuv loop over the TUN and a UDP socket bound to the TUN's address
 *   bareloop N             the same loop without the sandbox, after a getppid() that marks, in
 *                          strace's output, where the sandbox would begin (to find what it needs)
 *   call socket|execve|getppid   makes the system call: under the sandbox, socket and execve kill
 *
 * At the end of its input it frees the TUN and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/capability.h>
#include <sys/socket.h>

#include <uv.h>

#include "err.h"
#include "privdrop.h"
#include "sandbox.h"
#include "tundev.h"

#define WORDS_MAX 16
#define WHY_MAX 512
/* A round trip takes microseconds; this only keeps a broken loop from hanging the test. */
#define LOOP_TIMEOUT_MS 20000
#define PEER_PORT 7

static struct tundev *tun;
static struct tundev_prefix address;    /* the last IPv4 address given: the loop's end */

/* The packet loop's state: a datagram goes out through the TUN and comes back reflected. */
struct loop {
	uv_loop_t uv;
	uv_udp_t udp;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_signal_t sigterm;
	struct sockaddr_in peer;
	unsigned want, done, reflected;
	bool failed;
	char payload[32];
};

static void __attribute__((format(printf, 1, 2)))
reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
refuse(int err, const char *why)
{
	reply("error: %s (%s)", *why != '\0' ? why : cvpn_strerror(err), cvpn_errname(err));
}

static void
on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	/* Room for two of the largest datagrams: libuv reads with recvmmsg then, as a VPN's loop would. */
	static char space[2 * 65536];

	(void)h;
	(void)size;
	buf->base = space;
	buf->len = sizeof(space);
}

static void
on_sent(uv_udp_send_t *req, int status)
{
	struct loop *l = req->data;

	if (status != 0)
		l->failed = true;
	free(req);
	if (l->failed)
		uv_stop(&l->uv);
}

/* Sends the next datagram to the peer: the kernel routes it into the TUN. */
static void
send_next(struct loop *l)
{
	uv_udp_send_t *req;
	uv_buf_t b;

	if ((req = malloc(sizeof(*req))) == NULL) {
		l->failed = true;
		uv_stop(&l->uv);
		return;
	}
	req->data = l;
	snprintf(l->payload, sizeof(l->payload), "probe %u", l->done);
	b = uv_buf_init(l->payload, (unsigned)strlen(l->payload));
	if (uv_udp_send(req, &l->udp, &b, 1, (const struct sockaddr *)&l->peer, on_sent) != 0) {
		free(req);
		l->failed = true;
		uv_stop(&l->uv);
	}
}

static void
on_datagram(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct loop *l = u->data;

	(void)flags;
	if (n == 0 && from == NULL)
		return;
	if (n < 0 || (size_t)n != strlen(l->payload) || memcmp(buf->base, l->payload, (size_t)n) != 0) {
		l->failed = true;
		uv_stop(&l->uv);
		return;
	}
	if (++l->done == l->want)
		uv_stop(&l->uv);
	else
		send_next(l);
}

/*
 * Reflects an IPv4 UDP packet from us to the peer: the addresses and ports
 * swapped, it is one from the peer to us, and both checksums stay right
 * (they are sums, and the order of the terms does not change them).
 */
static bool
reflect(uint8_t *p, size_t n, const struct loop *l)
{
	uint8_t tmp[4];
	size_t ihl;

	if (n < 28 || (p[0] >> 4) != 4 || p[9] != IPPROTO_UDP)
		return false;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < 20 || n < ihl + 8 || memcmp(p + 16, &l->peer.sin_addr, 4) != 0)
		return false;
	memcpy(tmp, p + 12, 4);
	memcpy(p + 12, p + 16, 4);
	memcpy(p + 16, tmp, 4);
	memcpy(tmp, p + ihl, 2);
	memcpy(p + ihl, p + ihl + 2, 2);
	memcpy(p + ihl + 2, tmp, 2);
	return true;
}

static void
on_tun(uv_poll_t *h, int status, int events)
{
	struct loop *l = h->data;
	uint8_t pkt[2048];
	ssize_t n;

	(void)events;
	if (status != 0) {
		l->failed = true;
		uv_stop(&l->uv);
		return;
	}
	/* Other packets (IPv6 router solicitations) come this way too: ours are reflected, the rest dropped. */
	while ((n = read(tundev_fd(tun), pkt, sizeof(pkt))) > 0)
		if (reflect(pkt, (size_t)n, l)) {
			if (write(tundev_fd(tun), pkt, (size_t)n) != n) {
				l->failed = true;
				uv_stop(&l->uv);
				return;
			}
			l->reflected++;
		}
}

/* A watcher that never fires: starting and closing one under the sandbox is what the server's do. */
static void
on_sigterm(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
}

static void
on_timeout(uv_timer_t *t)
{
	struct loop *l = t->data;

	l->failed = true;
	uv_stop(&l->uv);
}

/* Sets the loop up before any confinement: what opens sockets happens here. */
static int
loop_setup(struct loop *l, unsigned want)
{
	struct sockaddr_in self = { .sin_family = AF_INET };
	uint32_t a;

	memset(l, 0, sizeof(*l));
	l->want = want;
	memcpy(&a, address.addr, 4);
	memcpy(&self.sin_addr, &a, 4);
	/* The peer is the next address in the TUN's subnet: routed into the TUN, and no one's. */
	a = htonl(ntohl(a) + 1);
	l->peer.sin_family = AF_INET;
	l->peer.sin_port = htons(PEER_PORT);
	memcpy(&l->peer.sin_addr, &a, 4);
	if (uv_loop_init(&l->uv) != 0 || uv_udp_init_ex(&l->uv, &l->udp, AF_INET | UV_UDP_RECVMMSG) != 0 ||
	    uv_udp_bind(&l->udp, (const struct sockaddr *)&self, 0) != 0 ||
	    uv_poll_init(&l->uv, &l->poll, tundev_fd(tun)) != 0 || uv_timer_init(&l->uv, &l->timer) != 0 ||
	    uv_signal_init(&l->uv, &l->sigterm) != 0)
		return -1;
	/*
	 * libuv learns whether the kernel has sendmmsg with a socket of its own,
	 * once, at the first send or here: here, before the sandbox forbids sockets.
	 */
	(void)uv_udp_using_recvmmsg(&l->udp);
	l->udp.data = l->poll.data = l->timer.data = l;
	return 0;
}

/* Runs the round trips, then closes the handles, all within whatever confinement is in force. */
static int
loop_run(struct loop *l)
{
	if (uv_udp_recv_start(&l->udp, on_alloc, on_datagram) != 0 || uv_poll_start(&l->poll, UV_READABLE, on_tun) != 0 ||
	    uv_timer_start(&l->timer, on_timeout, LOOP_TIMEOUT_MS, 0) != 0 ||
	    uv_signal_start(&l->sigterm, on_sigterm, SIGTERM) != 0)
		return -1;
	send_next(l);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&l->udp, NULL);
	uv_close((uv_handle_t *)&l->poll, NULL);
	uv_close((uv_handle_t *)&l->timer, NULL);
	uv_close((uv_handle_t *)&l->sigterm, NULL);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	if (uv_loop_close(&l->uv) != 0 || l->failed || l->done != l->want)
		return -1;
	return 0;
}

static void
cmd_loop(char **w, int nw, bool confine)
{
	char why[WHY_MAX] = "";
	struct loop l;
	int r;

	if (tun == NULL || address.family != AF_INET || nw < 2 || atoi(w[1]) <= 0) {
		reply("error: loop needs an open TUN with an IPv4 address, and a count");
		return;
	}
	if (loop_setup(&l, (unsigned)atoi(w[1])) != 0) {
		reply("error: cannot set the loop up");
		return;
	}
	if (confine && (r = sandbox_enter((const char *const *)w + 2, (size_t)(nw - 2), why, sizeof(why))) != 0) {
		refuse(r, why);
		return;
	}
	if (!confine)
		(void)getppid();
	if (loop_run(&l) != 0) {
		reply("error: the loop failed after %u of %u round trips (%u reflected)", l.done, l.want, l.reflected);
		return;
	}
	reply("ok %u round trips", l.done);
}

static void
cmd_drop(char **w, int nw)
{
	char why[WHY_MAX] = "";
	int keep[WORDS_MAX];
	cap_value_t c;
	int i, r;

	if (nw < 2) {
		reply("error: drop needs a user");
		return;
	}
	for (i = 2; i < nw; i++) {
		if (cap_from_name(w[i], &c) != 0) {
			reply("error: no capability %s", w[i]);
			return;
		}
		keep[i - 2] = c;
	}
	if ((r = privdrop_drop(w[1], keep, (size_t)(nw - 2), why, sizeof(why))) != 0)
		refuse(r, why);
	else
		reply("ok dropped to %s", w[1]);
}

/* The TUN's commands that take a prefix. */
static void
cmd_prefix(char **w, int nw)
{
	char why[WHY_MAX] = "";
	struct tundev_prefix p;
	int r;

	if (tun == NULL || nw != 2 || tundev_prefix_parse(w[1], &p) != 0) {
		reply("error: %s needs an open TUN and one prefix", w[0]);
		return;
	}
	if (strcmp(w[0], "address") == 0)
		r = tundev_add_address(tun, &p, why, sizeof(why));
	else if (strcmp(w[0], "route") == 0)
		r = tundev_add_route(tun, &p, why, sizeof(why));
	else
		r = tundev_del_route(tun, &p, why, sizeof(why));
	if (r != 0) {
		refuse(r, why);
		return;
	}
	if (strcmp(w[0], "address") == 0 && p.family == AF_INET)
		address = p;
	reply("ok %s", w[0]);
}

static void
cmd_open(char **w, int nw)
{
	char why[WHY_MAX] = "";
	int r;

	if (tun != NULL || nw != 2) {
		reply("error: open needs a name (or -) and no TUN open");
		return;
	}
	if ((r = tundev_open(strcmp(w[1], "-") == 0 ? NULL : w[1], &tun, why, sizeof(why))) != 0)
		refuse(r, why);
	else
		reply("ok %s", tundev_name(tun));
}

/* The TUN's commands without a prefix. */
static void
cmd_link(char **w, int nw)
{
	char why[WHY_MAX] = "";
	int r;

	if (tun == NULL) {
		reply("error: %s needs an open TUN", w[0]);
		return;
	}
	if (strcmp(w[0], "mtu") == 0)
		r = nw == 2 ? tundev_set_mtu(tun, (unsigned)atoi(w[1]), why, sizeof(why)) : CVPN_ERR_INVALID_ARG;
	else if (strcmp(w[0], "up") == 0)
		r = tundev_set_up(tun, true, why, sizeof(why));
	else
		r = tundev_undo(tun, why, sizeof(why));
	if (r != 0)
		refuse(r, why);
	else
		reply("ok %s", w[0]);
}

static void
cmd_call(char **w, int nw)
{
	char *argv[] = { "/bin/true", NULL };
	int fd;

	if (nw == 2 && strcmp(w[1], "socket") == 0) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		reply("ok socket returned %s", fd >= 0 ? "a descriptor" : strerror(errno));
	} else if (nw == 2 && strcmp(w[1], "execve") == 0) {
		execve(argv[0], argv, NULL);
		reply("error: execve returned: %s", strerror(errno));
	} else if (nw == 2 && strcmp(w[1], "getppid") == 0) {
		reply("ok getppid returned%s", getppid() > 0 ? "" : " nothing");
	} else {
		reply("error: call socket, execve or getppid");
	}
}

static void
run(char **w, int nw)
{
	char why[WHY_MAX] = "";
	int r;

	if (strcmp(w[0], "open") == 0)
		cmd_open(w, nw);
	else if (strcmp(w[0], "mtu") == 0 || strcmp(w[0], "up") == 0 || strcmp(w[0], "undo") == 0)
		cmd_link(w, nw);
	else if (strcmp(w[0], "address") == 0 || strcmp(w[0], "route") == 0 || strcmp(w[0], "del") == 0)
		cmd_prefix(w, nw);
	else if (strcmp(w[0], "close") == 0) {
		tundev_free(tun);
		tun = NULL;
		reply("ok closed");
	} else if (strcmp(w[0], "checktun") == 0) {
		if ((r = privdrop_check_tun("osprobe", why, sizeof(why))) != 0)
			refuse(r, why);
		else
			reply("ok may create a TUN");
	} else if (strcmp(w[0], "drop") == 0)
		cmd_drop(w, nw);
	else if (strcmp(w[0], "loop") == 0 || strcmp(w[0], "bareloop") == 0)
		cmd_loop(w, nw, strcmp(w[0], "loop") == 0);
	else if (strcmp(w[0], "call") == 0)
		cmd_call(w, nw);
	else
		reply("error: unknown command %s", w[0]);
}

int
main(void)
{
	char line[1024], *w[WORDS_MAX + 2], *save = NULL;
	int nw;

	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		nw = 0;
		for (w[0] = strtok_r(line, " \t\r\n", &save); w[nw] != NULL && nw < WORDS_MAX;)
			w[++nw] = strtok_r(NULL, " \t\r\n", &save);
		if (nw > 0)
			run(w, nw);
	}
	tundev_free(tun);
	return 0;
}
