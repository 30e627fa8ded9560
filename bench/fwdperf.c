/* SPDX-License-Identifier: MIT */
/*
 * bench/fwdperf: the application of the forwarding benchmark (make bench,
 * section 7), driving connections to a sink (echo --sink, bench/fwdperf.h)
 * either straight (the plain row) or through a tunnel's local port (ssh -L,
 * stunnel, cvpn-client --forward). Nothing here knows any tunnel.
 *
 *   bulk    N streams at once, each a bulk request of M MiB; the time runs
 *           from the first connect to the last acknowledgement, so every
 *           byte counted reached the sink, whatever the tunnel buffered.
 *   rate    first, on one connection, probes one after another (the round
 *           trip of a channel already open); then connections one after
 *           another, each connect, probe, answer, close, for S seconds or K
 *           connections: connections/s and the open-to-answer times.
 *   hold    opens K connections, probes each and keeps them idle, reading a
 *           process's VmRSS before (after a few warm-up connections) and
 *           after: the memory per idle channel of a tunnel's server.
 *   probe   one connection and one probe: whether a tunnel is ready.
 *
 * The first three print one JSON object on stdout; each exits 0 when every
 * connection did what it should, 1 when any failed, 64 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fwdperf.h"

#define MAX_EVENTS 256
/* One write: large enough that bulk is not bound by system calls. */
#define CHUNK (256 * 1024)
/* Warm-up channels opened before the base reading of hold: one-time costs (the session, pools). */
#define HOLD_WARM 8

static volatile sig_atomic_t stopping;
static uint8_t chunk[CHUNK];

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
put_count(uint8_t *p, uint64_t v)
{
	int i;

	for (i = FWD_COUNT_LEN - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_count(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < FWD_COUNT_LEN; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- Connections, samples, results ---- */

struct opts {
	int port;
	unsigned streams;	/* bulk: connections at once; hold: openings at once */
	uint64_t mib;		/* bulk: MiB per stream */
	double seconds;		/* rate: how long */
	unsigned long count;	/* rate: at most this many connections; hold: how many */
	unsigned timeout_ms;	/* one step of one connection */
	const char *pids;	/* hold: whose memory, a comma-separated list of processes */
};

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static int
samples_add(struct samples *s, uint64_t ns)
{
	uint64_t *v;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? 2 * s->cap : 4096;
		if ((v = realloc(s->v, cap * sizeof(*v))) == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ns;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The p-th percentile in microseconds, nearest rank: the smallest sample with p% at or below it. */
static double
samples_us(struct samples *s, double p)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	rank = (size_t)ceil(p / 100.0 * (double)s->n);
	return (double)s->v[rank ? rank - 1 : 0] / 1000.0;
}

/* A process's VmRSS in KiB, or -1. */
static long
rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (snprintf(path, sizeof(path), "/proc/%ld/status", pid) >= (int)sizeof(path) ||
	    (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/*
 * The VmRSS of every process in a comma-separated list, added up, or -1 when
 * one cannot be read: a server that forks per connection (sshd) holds a
 * channel's memory in a process of the session, not in the listener.
 */
static long
rss_sum(const char *pids)
{
	const char *p = pids;
	long sum = 0, kib, pid;
	char *end;

	while (*p != '\0') {
		pid = strtol(p, &end, 10);
		if (end == p || pid <= 0 || (*end != ',' && *end != '\0') || (kib = rss_kib(pid)) < 0)
			return -1;
		sum += kib;
		p = *end == ',' ? end + 1 : end;
	}
	return sum;
}

/* A non-blocking connect to 127.0.0.1:port, under way or done. Returns the socket or -1. */
static int
dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Waits until fd is ready for events (POLLIN or POLLOUT) or the deadline
 * passes. Returns 0, or -1. One fd at a time: poll is a single system call,
 * where epoll would add two per wait to every probe's round trip.
 */
static int
await(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now;
	int n;

	for (;;) {
		if ((now = now_ns()) >= deadline || stopping)
			return -1;
		n = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n == 1 && (events & POLLOUT) && (pfd.revents & (POLLERR | POLLHUP)))
		return -1;
	return n == 1 ? 0 : -1;
}

/* One probe on an open connection, waiting at most until deadline. Returns 0 when the answer came. */
static int
probe(int fd, uint64_t deadline)
{
	uint8_t b = FWD_PROBE;
	ssize_t n;

	if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
		return -1;
	for (;;) {
		if ((n = recv(fd, &b, 1, 0)) == 1)
			return b == FWD_ANSWER ? 0 : -1;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (await(fd, POLLIN, deadline) != 0)
			return -1;
	}
}

/* Connects and probes. Returns the socket, open and answered, or -1 (the reason in errno, or EPROTO). */
static int
open_probed(int port, uint64_t deadline)
{
	int fd, err;
	socklen_t len = sizeof(err);

	if ((fd = dial(port)) < 0)
		return -1;
	if (await(fd, POLLOUT, deadline) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 || probe(fd, deadline) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
json_result(const char *mode, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
json_result(const char *mode, const char *fmt, ...)
{
	va_list ap;

	printf("{\"mode\":\"%s\",", mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("}\n");
	fflush(stdout);
}

/* ---- bulk ---- */

struct stream {
	int fd;
	bool connected;
	uint8_t head[1 + FWD_COUNT_LEN];
	size_t head_sent;
	uint64_t left;		/* body bytes still to send */
	uint8_t ack[FWD_COUNT_LEN];
	size_t ack_have;
	bool done;
};

/* Sends what the socket takes now. Returns 0, or -1 when the connection failed. */
static int
stream_send(int epfd, struct stream *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	size_t n;
	ssize_t w;

	while (s->head_sent < sizeof(s->head)) {
		if ((w = send(s->fd, s->head + s->head_sent, sizeof(s->head) - s->head_sent, MSG_NOSIGNAL)) > 0)
			s->head_sent += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else
			return w < 0 && errno == EAGAIN ? 0 : -1;
	}
	while (s->left > 0) {
		n = s->left < CHUNK ? (size_t)s->left : CHUNK;
		if ((w = send(s->fd, chunk, n, MSG_NOSIGNAL)) > 0)
			s->left -= (uint64_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else
			return w < 0 && errno == EAGAIN ? 0 : -1;
	}
	/* All sent: now only the acknowledgement matters. */
	return epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Reads the acknowledgement. Returns 1 when it is whole and right, 0 for more, -1 on failure. */
static int
stream_ack(struct stream *s, uint64_t want)
{
	ssize_t n;

	n = recv(s->fd, s->ack + s->ack_have, sizeof(s->ack) - s->ack_have, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if ((s->ack_have += (size_t)n) < sizeof(s->ack))
		return 0;
	return get_count(s->ack) == want ? 1 : -1;
}

static int
mode_bulk(const struct opts *o)
{
	struct epoll_event ev, evs[MAX_EVENTS];
	struct stream *ss, *s;
	uint64_t each = o->mib << 20, t0, t1, deadline;
	unsigned i, done = 0, failed = 0;
	const char *why = "";
	int n, k, r, err;
	socklen_t len;

	if ((ss = calloc(o->streams, sizeof(*ss))) == NULL || (k = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "fwdperf: %s\n", strerror(errno));
		free(ss);
		return 1;
	}
	/* The whole transfer is bounded: every stream at no less than 1 MiB/s after its first step. */
	t0 = now_ns();
	deadline = t0 + (uint64_t)o->timeout_ms * 1000000u + o->mib * 1000000000u;
	for (i = 0; i < o->streams; i++) {
		s = &ss[i];
		s->head[0] = FWD_BULK;
		put_count(s->head + 1, each);
		s->left = each;
		ev.events = EPOLLOUT;
		ev.data.ptr = s;
		if ((s->fd = dial(o->port)) < 0 || epoll_ctl(k, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
			why = "connect";
			s->done = true;
			failed++;
		}
	}
	while (done + failed < o->streams && !stopping) {
		uint64_t now = now_ns();

		if (now >= deadline) {
			why = "timed out";
			break;
		}
		if ((n = epoll_wait(k, evs, MAX_EVENTS, (int)((deadline - now) / 1000000 + 1))) < 0) {
			if (errno == EINTR)
				continue;
			why = "epoll_wait";
			break;
		}
		for (r = 0; r < n; r++) {
			s = evs[r].data.ptr;
			if (s->done)
				continue;
			if (!s->connected) {
				len = sizeof(err);
				if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
					why = "connect";
					goto fail;
				}
				s->connected = true;
			}
			if (s->head_sent < sizeof(s->head) || s->left > 0) {
				if (evs[r].events & (EPOLLERR | EPOLLHUP)) {
					why = "closed while sending";
					goto fail;
				}
				if (stream_send(k, s) != 0) {
					why = "send";
					goto fail;
				}
				continue;
			}
			if ((err = stream_ack(s, each)) == 0)
				continue;
			if (err < 0) {
				why = "no acknowledgement of every byte";
				goto fail;
			}
			s->done = true;
			done++;
			continue;
fail:
			s->done = true;
			failed++;
		}
	}
	t1 = now_ns();
	for (i = 0; i < o->streams; i++)
		if (ss[i].fd >= 0)
			close(ss[i].fd);
	close(k);
	free(ss);
	if (done < o->streams && failed == 0)
		failed = o->streams - done;
	json_result("bulk", "\"streams\":%u,\"mib_each\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"mb_per_s\":%.3f,"
	    "\"failures\":%u%s%s%s", o->streams, (unsigned long long)o->mib, (unsigned long long)(each * done),
	    (double)(t1 - t0) / 1e9, failed ? 0.0 : (double)(each * done) / 1e6 / ((double)(t1 - t0) / 1e9), failed,
	    failed ? ",\"error\":\"" : "", failed ? why : "", failed ? "\"" : "");
	return failed ? 1 : 0;
}

/* ---- rate ---- */

/* How long the round trips through one open connection are sampled before the connections. */
#define RTT_NS 500000000ull
#define RTT_MAX 5000

static int
mode_rate(const struct opts *o)
{
	struct samples open_ns = { 0 }, rtt_ns = { 0 };
	uint64_t t0, t1, t, end, step = (uint64_t)o->timeout_ms * 1000000u;
	unsigned long conns = 0, failed = 0;
	const char *why = "";
	double open50, open99, rtt50, rtt99;
	int fd, rc = 0;

	/* The round trip of a channel already open: what an open is counted in. */
	if ((fd = open_probed(o->port, now_ns() + step)) < 0) {
		why = "the first connection";
		failed++;
	} else {
		end = now_ns() + RTT_NS;
		while (rtt_ns.n < RTT_MAX && (t = now_ns()) < end && !stopping) {
			if (probe(fd, t + step) != 0) {
				why = "a probe on the open connection";
				failed++;
				break;
			}
			if (samples_add(&rtt_ns, now_ns() - t) != 0)
				break;
		}
		close(fd);
	}
	/* Then whole connections, one after another: connect, probe, answer, close. */
	t0 = now_ns();
	end = t0 + (uint64_t)(o->seconds * 1e9);
	while (failed == 0 && conns < o->count && (t = now_ns()) < end && !stopping) {
		if ((fd = open_probed(o->port, t + step)) < 0) {
			why = "a connection";
			failed++;
			break;
		}
		if (samples_add(&open_ns, now_ns() - t) != 0) {
			close(fd);
			why = "out of memory";
			failed++;
			break;
		}
		close(fd);
		conns++;
	}
	t1 = now_ns();
	rtt50 = samples_us(&rtt_ns, 50);
	rtt99 = samples_us(&rtt_ns, 99);
	open50 = samples_us(&open_ns, 50);
	open99 = samples_us(&open_ns, 99);
	json_result("rate", "\"connections\":%lu,\"seconds\":%.6f,\"per_s\":%.3f,\"open_p50_us\":%.2f,"
	    "\"open_p99_us\":%.2f,\"rtt_samples\":%zu,\"rtt_p50_us\":%.2f,\"rtt_p99_us\":%.2f,\"open_extra_us\":%.2f,"
	    "\"failures\":%lu%s%s%s", conns, (double)(t1 - t0) / 1e9,
	    t1 > t0 ? (double)conns / ((double)(t1 - t0) / 1e9) : 0.0, open50, open99, rtt_ns.n, rtt50, rtt99,
	    open50 - rtt50, failed, failed ? ",\"error\":\"" : "", failed ? why : "", failed ? "\"" : "");
	free(open_ns.v);
	free(rtt_ns.v);
	if (failed || conns == 0)
		rc = 1;
	return rc;
}

/* ---- hold ---- */

/*
 * Opens n connections one after another, each probed, into fds[]. Returns
 * how many were opened and answered; stops at the first failure.
 */
static unsigned long
hold_open(const struct opts *o, int *fds, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n && !stopping; i++)
		if ((fds[i] = open_probed(o->port, now_ns() + (uint64_t)o->timeout_ms * 1000000u)) < 0)
			break;
	return i;
}

/* Probes every held connection again: each channel still carries a request and its answer. */
static unsigned long
hold_ask(const struct opts *o, const int *fds, unsigned long n)
{
	unsigned long i, ok = 0;

	for (i = 0; i < n && !stopping; i++)
		if (probe(fds[i], now_ns() + (uint64_t)o->timeout_ms * 1000000u) == 0)
			ok++;
	return ok;
}

static int
mode_hold(const struct opts *o)
{
	/* Time for the server to finish what each connection started before its memory is read. */
	const struct timespec settle = { 0, 300 * 1000000 };
	unsigned long opened, warm, answered = 0, i;
	long base = -1, open = -1, after = -1, top;
	int *fds;

	if ((fds = calloc(o->count + HOLD_WARM, sizeof(*fds))) == NULL) {
		fprintf(stderr, "fwdperf: %s\n", strerror(errno));
		return 1;
	}
	warm = hold_open(o, fds, HOLD_WARM);
	nanosleep(&settle, NULL);
	if (o->pids)
		base = rss_sum(o->pids);
	opened = warm == HOLD_WARM ? hold_open(o, fds + HOLD_WARM, o->count) : 0;
	nanosleep(&settle, NULL);
	if (o->pids)
		open = rss_sum(o->pids);
	if (opened == o->count) {
		answered = hold_ask(o, fds + HOLD_WARM, opened);
		nanosleep(&settle, NULL);
		if (o->pids)
			after = rss_sum(o->pids);
	}
	/* The warm-up connections, then the held ones, which follow them only when all warmed up. */
	for (i = 0; i < warm + opened; i++)
		close(fds[i]);
	free(fds);
	/* The larger of the two readings: answering may grow what opening did not. */
	top = after > open ? after : open;
	json_result("hold", "\"channels\":%lu,\"wanted\":%lu,\"answered\":%lu,\"rss_base_kib\":%ld,"
	    "\"rss_open_kib\":%ld,\"rss_answered_kib\":%ld,\"kib_per_channel\":%.3f,\"failures\":%lu",
	    opened, o->count, answered, base, open, after,
	    base >= 0 && top >= 0 && answered ? (double)(top - base) / (double)answered : 0.0,
	    o->count - answered);
	return answered == o->count && (!o->pids || (base >= 0 && top >= 0)) ? 0 : 1;
}

/* ---- probe ---- */

/* Whether a tunnel is ready: the first connection that carries a probe end to end. No JSON: a yes or no. */
static int
mode_probe(const struct opts *o)
{
	int fd;

	if ((fd = open_probed(o->port, now_ns() + (uint64_t)o->timeout_ms * 1000000u)) < 0)
		return 1;
	close(fd);
	return 0;
}

/* ---- main ---- */

static void
usage(FILE *f)
{
	fprintf(f, "Usage: fwdperf bulk -p PORT [-c STREAMS] [-m MIB]\n"
	    "       fwdperf rate -p PORT [-d SECONDS] [-n COUNT]\n"
	    "       fwdperf hold -p PORT [-n COUNT] [--server-pid PID[,PID...]]\n"
	    "       fwdperf probe -p PORT\n"
	    "The forwarding benchmark's application (make bench): connections to a sink (bench/echo\n"
	    "--sink) on 127.0.0.1:PORT, straight or through a tunnel whose local port it is.\n"
	    "  bulk   STREAMS connections at once, each sending MIB MiB; MB/s up to the sink's\n"
	    "         acknowledgement of the last byte\n"
	    "  rate   probes on one open connection, then connections one after another (connect,\n"
	    "         probe, answer, close): connections/s, p50/p99 open-to-answer and round trip\n"
	    "  hold   COUNT idle connections, each probed; the VmRSS of the processes before and after\n"
	    "  probe  one connection, one probe: exit 0 when the answer came (is a tunnel ready?)\n"
	    "  -p, --port PORT        where to connect (the sink, or a tunnel's local port)\n"
	    "  -c, --streams N        bulk: connections at once (default 1)\n"
	    "  -m, --mib N            bulk: MiB each stream sends (default 256)\n"
	    "  -d, --duration SEC     rate: how long to open connections (default 3)\n"
	    "  -n, --count N          rate: at most this many (default no limit); hold: how many (default 1000)\n"
	    "      --server-pid LIST  hold: the processes whose memory is read (comma-separated, added up)\n"
	    "      --timeout MS       the bound on one connection's step (default 10000)\n"
	    "  -h, --help             show this help and exit\n"
	    "bulk, rate and hold print one JSON object; exit 0 when all went well, 1 when any\n"
	    "connection failed, 64 on a usage error.\n");
}

/* Parses a whole number in [lo, hi] into *v. Returns 0, or -1 when it is not one. */
static int
number(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "streams", required_argument, NULL, 'c' },
		{ "mib", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .port = -1, .streams = 1, .mib = 256, .seconds = 3, .count = 0, .timeout_ms = 10000 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	const char *mode;
	double v;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "bulk") != 0 && strcmp(argv[1], "rate") != 0 &&
	    strcmp(argv[1], "hold") != 0 && strcmp(argv[1], "probe") != 0)) {
		usage(stderr);
		return 64;
	}
	mode = argv[1];
	argv++, argc--;
	/* getopt would name the mode as the program; the message below names both. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:c:m:d:n:h", lopts, NULL)) != -1) {
		if (c == 'p' && number(optarg, 0, 65535, &v) == 0)
			o.port = (int)v;
		else if (c == 'c' && number(optarg, 1, 1024, &v) == 0)
			o.streams = (unsigned)v;
		else if (c == 'm' && number(optarg, 1, 1 << 20, &v) == 0)
			o.mib = (uint64_t)v;
		else if (c == 'd' && number(optarg, 0.01, 3600, &v) == 0)
			o.seconds = v;
		else if (c == 'n' && number(optarg, 1, 1e9, &v) == 0)
			o.count = (unsigned long)v;
		else if (c == 'P' && rss_sum(optarg) >= 0)
			o.pids = optarg;
		else if (c == 'T' && number(optarg, 1, 600000, &v) == 0)
			o.timeout_ms = (unsigned)v;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "fwdperf %s: invalid option or value: %s (see fwdperf --help)\n", mode,
			    argv[optind - 1]);
			return 64;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fwdperf: unexpected argument '%s'\n", argv[optind]);
		return 64;
	}
	if (o.port <= 0) {
		fprintf(stderr, "fwdperf: %s needs --port\n", mode);
		return 64;
	}
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "fwdperf: signals: %s\n", strerror(errno));
		return 70;
	}
	/* Hold keeps thousands of sockets; the runner raises the hard limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "fwdperf: cannot raise the descriptor limit: %s\n", strerror(errno));
	}
	/* What a stream sends: bytes no tunnel could compress (ssh's compression is off, but no matter). */
	for (i = 0; i < sizeof(chunk); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		chunk[i] = (uint8_t)(x >> 24);
	}
	if (strcmp(mode, "bulk") == 0)
		return mode_bulk(&o);
	if (strcmp(mode, "probe") == 0)
		return mode_probe(&o);
	if (strcmp(mode, "rate") == 0) {
		if (o.count == 0)
			o.count = (unsigned long)-1;
		return mode_rate(&o);
	}
	if (o.count == 0)
		o.count = 1000;
	return mode_hold(&o);
}
