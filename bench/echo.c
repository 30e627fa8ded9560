/* SPDX-License-Identifier: MIT */
/*
 * bench/echo: a plain TCP echo server, the no-crypto baseline of make bench.
 * One thread, level-triggered epoll, TCP_NODELAY, and the same shape of
 * work as cvpn-server minus the protocol: read what arrives, write it back.
 * It exits on SIGTERM/SIGINT or after --lifetime seconds, whichever is first.
 *
 * With --lab-primitives it is the ceiling of the lab profile instead: each
 * connection opens with the ciphertext length of its messages (4 bytes, big
 * endian), then every message is that much AES-256-CBC and a 64-digit
 * HMAC-SHA256 tag (bench/labprim.c, a fixed key), and the answer is the
 * decrypted message. The lab's own work per message and nothing more, over
 * the same sockets and loop as the plain echo: what the load generator's
 * third group (loadgen --ceiling-port) measures against the plain echo
 * estimates the best ratio a lab server and client through EVP could reach
 * on this machine, in place.
 *
 * With --secure-primitives it is the same for the secure profile
 * (bench/secprim.c): each connection opens with its suite and record
 * lengths, then every message is a record to open, and the answer a record
 * of the reply's length sealed in its place.
 *
 * With --sink it is the target of the forwarding benchmark (bench/fwdperf.h):
 * it answers probes and reads bulk transfers to the end, discarding them, and
 * acknowledges their byte count, so that fwdperf, straight or through a
 * tunnel, counts only what arrived.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fwdperf.h"
#include "labprim.h"
#include "secprim.h"

#define MAX_EVENTS 256
#define BACKLOG 4096
/* One read: a message of any mode, or a good share of a socket's buffer of a sink's bulk transfer. */
#define READ_CAP 65536

/* What one connection could not write yet (the peer is slow to read). */
struct echo_conn {
	int fd;
	char *pending;
	size_t len;
	/* The primitives modes: their state, and the record being read */
	struct labprim *prim;
	struct secprim *sprim;
	uint8_t *rec;
	size_t have, need, ct_len, reply_len;
	/* --sink: a bulk request's length being read (have bytes of it), then the bytes still to come */
	enum { SINK_REQUEST, SINK_LENGTH, SINK_BODY } sink;
	uint8_t count[FWD_COUNT_LEN];
	uint64_t left, got;
};

enum echo_mode { ECHO_PLAIN, ECHO_LAB_PRIMITIVES, ECHO_SECURE_PRIMITIVES, ECHO_SINK };

static volatile sig_atomic_t stopping;
static enum echo_mode mode;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
conn_close(int epfd, struct echo_conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pending);
	labprim_free(c->prim);
	secprim_free(c->sprim);
	free(c->rec);
	free(c);
}

/* Writes p[0..n) or keeps the rest for EPOLLOUT. Returns 0, or -1 when the connection is dead. */
static int
conn_write(int epfd, struct echo_conn *c, const char *p, size_t n)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	ssize_t w;

	while (n > 0) {
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			/* Stop reading until the backlog is out: the peer sets the pace. */
			if ((c->pending = malloc(n)) == NULL)
				return -1;
			memcpy(c->pending, p, n);
			c->len = n;
			return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		} else {
			return -1;
		}
	}
	return 0;
}

static int
conn_drain(int epfd, struct echo_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	char *p = c->pending;
	size_t n = c->len;

	c->pending = NULL;
	c->len = 0;
	if (conn_write(epfd, c, p, n) != 0) {
		free(p);
		return -1;
	}
	free(p);
	return c->pending ? 0 : epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * The primitives modes: reads into c->rec until the opening or the record
 * is whole. Returns 1 when it is, 0 for more, -1 when the peer closed.
 */
static int
prim_read(struct echo_conn *c)
{
	ssize_t n = recv(c->fd, c->rec + c->have, c->need - c->have, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if ((c->have += (size_t)n) < c->need)
		return 0;
	c->have = 0;
	return 1;
}

/*
 * --lab-primitives: the opening is the ciphertext length of every message (4
 * bytes, big endian); each message is verified and decrypted, and its
 * plaintext is the answer. Returns 0, or -1 when the connection is done:
 * closed, a bad length, or a tag that does not verify.
 */
static int
lab_input(int epfd, struct echo_conn *c)
{
	uint32_t len;
	uint8_t *rec;
	int r;

	if ((r = prim_read(c)) <= 0)
		return r;
	if (c->ct_len == 0) {
		len = (uint32_t)c->rec[0] << 24 | (uint32_t)c->rec[1] << 16 | (uint32_t)c->rec[2] << 8 | c->rec[3];
		if (len == 0 || len % 16 != 0 || len > LABPRIM_MAX || labprim_new(false, &c->prim) != 0 ||
		    (rec = realloc(c->rec, len + LABPRIM_TAG)) == NULL)
			return -1;
		c->rec = rec;
		c->ct_len = len;
		c->need = len + LABPRIM_TAG;
		return 0;
	}
	if (labprim_open(c->prim, c->rec, c->ct_len) != 0)
		return -1;
	return conn_write(epfd, c, (const char *)c->rec, c->ct_len);
}

/*
 * --secure-primitives: the opening is secprim_head's; each record is opened
 * in place and the answer, a record of the reply's length, sealed in its
 * place. Returns 0, or -1 when the connection is done.
 */
static int
secure_input(int epfd, struct echo_conn *c)
{
	size_t request, reply, pt;
	enum aead_cipher suite;
	uint8_t *rec;
	int r;

	if ((r = prim_read(c)) <= 0)
		return r;
	if (c->sprim == NULL) {
		if (secprim_parse_head(c->rec, &suite, &request, &reply) != 0 || secprim_new(true, suite, &c->sprim) != 0 ||
		    (rec = realloc(c->rec, 2 + (request > reply ? request : reply))) == NULL)
			return -1;
		c->rec = rec;
		c->ct_len = request;
		c->reply_len = reply;
		c->need = 2 + request;
		return 0;
	}
	if (secprim_open(c->sprim, c->rec, c->ct_len) != 0)
		return -1;
	/* The reply's plaintext is the message's, zero-extended to the reply's length. */
	if ((pt = c->ct_len - AEAD_TAG_LEN) < c->reply_len - AEAD_TAG_LEN)
		memset(c->rec + 2 + pt, 0, c->reply_len - AEAD_TAG_LEN - pt);
	if (secprim_seal(c->sprim, c->rec, c->reply_len) != 0)
		return -1;
	return conn_write(epfd, c, (const char *)c->rec, 2 + c->reply_len);
}

/*
 * --sink: takes n bytes of requests and writes their answers. Returns 0, or
 * -1 when the connection is done: a request it does not know, or dead.
 */
static int
sink_input(int epfd, struct echo_conn *c, const uint8_t *p, size_t n)
{
	/* At most one answer per request byte, or one count: a read's answers fit a buffer its size. */
	static char out[READ_CAP + FWD_COUNT_LEN];
	size_t k, len = 0;
	int i;

	while (n > 0) {
		switch (c->sink) {
		case SINK_REQUEST:
			if (*p == FWD_PROBE)
				out[len++] = FWD_ANSWER;
			else if (*p == FWD_BULK)
				c->sink = SINK_LENGTH, c->have = 0;
			else
				return -1;
			p++, n--;
			continue;
		case SINK_LENGTH:
			k = FWD_COUNT_LEN - c->have < n ? FWD_COUNT_LEN - c->have : n;
			memcpy(c->count + c->have, p, k);
			p += k, n -= k;
			if ((c->have += k) < FWD_COUNT_LEN)
				continue;
			for (c->left = 0, i = 0; i < FWD_COUNT_LEN; i++)
				c->left = c->left << 8 | c->count[i];
			c->got = 0;
			c->sink = SINK_BODY;
			break;
		case SINK_BODY:
			k = c->left < n ? (size_t)c->left : n;
			p += k, n -= k;
			c->left -= k;
			c->got += k;
			break;
		}
		if (c->left == 0) {
			for (i = FWD_COUNT_LEN - 1; i >= 0; i--, c->got >>= 8)
				out[len + (size_t)i] = (char)(c->got & 0xff);
			len += FWD_COUNT_LEN;
			c->sink = SINK_REQUEST;
		}
		if (len > sizeof(out) - FWD_COUNT_LEN)
			return -1;
	}
	return len ? conn_write(epfd, c, out, len) : 0;
}

static void
conn_event(int epfd, struct echo_conn *c, uint32_t events, char *buf, size_t cap)
{
	ssize_t n;

	if (c->pending) {
		if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && conn_drain(epfd, c) != 0)
			conn_close(epfd, c);
		return;
	}
	if (mode == ECHO_LAB_PRIMITIVES || mode == ECHO_SECURE_PRIMITIVES) {
		if ((mode == ECHO_LAB_PRIMITIVES ? lab_input(epfd, c) : secure_input(epfd, c)) != 0)
			conn_close(epfd, c);
		return;
	}
	n = recv(c->fd, buf, cap, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (mode == ECHO_SINK ? sink_input(epfd, c, (const uint8_t *)buf, (size_t)n) :
	    conn_write(epfd, c, buf, (size_t)n)) != 0)
		conn_close(epfd, c);
}

static void
accept_all(int epfd, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct echo_conn *c;
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->need = mode == ECHO_SECURE_PRIMITIVES ? SECPRIM_HEAD : 4;
		if ((mode == ECHO_LAB_PRIMITIVES || mode == ECHO_SECURE_PRIMITIVES) && (c->rec = malloc(c->need)) == NULL) {
			close(fd);
			free(c);
			continue;
		}
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c->rec);
			free(c);
		}
	}
}

/* Binds 127.0.0.1:port (0 picks one) and prints "Listening on 127.0.0.1:PORT". Returns the socket or -1. */
static int
listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	printf("Listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

static int
serve(int lfd, unsigned lifetime)
{
	static char buf[READ_CAP];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[MAX_EVENTS];
	time_t end = time(NULL) + lifetime;
	int epfd, n, i;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0)
		return -1;
	while (!stopping && time(NULL) < end) {
		if ((n = epoll_wait(epfd, evs, MAX_EVENTS, 500)) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(epfd, lfd);
			else
				conn_event(epfd, evs[i].data.ptr, evs[i].events, buf, sizeof(buf));
		}
	}
	close(epfd);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "Usage: echo [-p PORT] [-t SECONDS] [--lab-primitives | --secure-primitives | --sink]\n"
	    "A plain TCP echo server on 127.0.0.1 (no crypto), the baseline of make bench.\n"
	    "  -p, --port PORT        port (default 0: pick a free one; it is printed)\n"
	    "  -t, --lifetime SEC     exit after this long at the latest (default 3600)\n"
	    "      --lab-primitives   verify and decrypt each message as the lab profile must\n"
	    "                         (fixed key; for loadgen --ceiling-port) and answer the plaintext\n"
	    "      --secure-primitives  verify and decrypt each record with the secure profile's AEAD and\n"
	    "                         seal one of the reply's length in its place (fixed keys, no\n"
	    "                         record header checked; for loadgen --ceiling-port)\n"
	    "      --sink             the forwarding benchmark's target: answer probes, read and count\n"
	    "                         bulk transfers (bench/fwdperf.h; for bench/fwdperf)\n"
	    "  -h, --help             show this help and exit\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "lifetime", required_argument, NULL, 't' },
		{ "lab-primitives", no_argument, NULL, 'L' },
		{ "secure-primitives", no_argument, NULL, 'S' },
		{ "sink", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	long port = 0, lifetime = 3600;
	enum echo_mode want;
	int c, lfd;

	while ((c = getopt_long(argc, argv, "p:t:h", opts, NULL)) != -1) {
		if (c == 'p' && (port = strtol(optarg, NULL, 10)) >= 0 && port <= 65535)
			continue;
		if (c == 't' && (lifetime = strtol(optarg, NULL, 10)) > 0 && lifetime <= 86400)
			continue;
		if (c == 'L' || c == 'S' || c == 'K') {
			want = c == 'L' ? ECHO_LAB_PRIMITIVES : c == 'S' ? ECHO_SECURE_PRIMITIVES : ECHO_SINK;
			if (mode != ECHO_PLAIN && mode != want) {
				fprintf(stderr, "echo: --lab-primitives, --secure-primitives and --sink exclude each other\n");
				return 64;
			}
			mode = want;
			continue;
		}
		usage(c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : 64;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((lfd = listen_on((int)port)) < 0) {
		fprintf(stderr, "echo: cannot listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
		return 69;
	}
	if (serve(lfd, (unsigned)lifetime) != 0) {
		fprintf(stderr, "echo: epoll: %s\n", strerror(errno));
		return 70;
	}
	close(lfd);
	return 0;
}
