/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: one client at a time. Connects to the server for it, tells the
 * profiles apart by the client's first bytes (as the server does), and runs
 * the loop that moves bytes between the two connections.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "mitm.h"
#include "secure_wire.h"

static const char *
end_name(enum dir d)
{
	return d == C2S ? "client" : "server";
}

/* Sends what is queued. A peer that is gone counts as closed: its bytes are dropped. */
static void
flush(struct link *l)
{
	ssize_t w;

	while (l->out.len > 0 && l->fd >= 0) {
		w = send(l->fd, l->out.data, l->out.len, MSG_NOSIGNAL);
		if (w > 0) {
			buf_consume(&l->out, (size_t)w);
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else if (w < 0 && errno != EINTR) {
			l->eof = true;
			l->out.len = 0;
		}
	}
}

/* Once one end has closed and everything it sent is out, the other end is told the same. */
static void
pass_close(struct link *from, struct link *to)
{
	if (from->eof && to->out.len == 0 && !to->shut && to->fd >= 0) {
		shutdown(to->fd, SHUT_WR);
		to->shut = true;
	}
}

static void
note_eof(struct mitm_session *ss, enum dir from)
{
	(from == C2S ? &ss->client : &ss->server)->eof = true;
	if (!ss->any_eof) {
		ss->any_eof = true;
		ss->first_eof = from;
		ss->eof_at = link_now();
	}
}

/* Reads what one end sent until it has no more for now. Returns 0, or -1 to end the session. */
static int
read_end(struct mitm_session *ss, enum dir from, const struct pump_ops *ops, void *arg)
{
	struct link *l = from == C2S ? &ss->client : &ss->server;
	uint8_t buf[16384];
	ssize_t n;

	while (!l->eof) {
		n = recv(l->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			/* A reset is a close too: the end is gone either way. */
			note_eof(ss, from);
			return ops->eof(arg, from);
		}
		l->last_rx = link_now();
		l->paused = 0;
		if (ops->data(arg, from, buf, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

static void
watch(struct pollfd *pfd, const struct link *l)
{
	pfd->fd = l->fd;
	pfd->events = (short)((l->eof ? 0 : POLLIN) | (l->out.len ? POLLOUT : 0));
	if (pfd->events == 0)
		pfd->fd = -1; /* nothing to wait for: a closed socket would wake poll for ever */
}

/* Milliseconds until the loop must wake: a profile timer, the idle limit or the linger limit. */
static int
wait_ms(const struct mitm_session *ss, const struct pump_ops *ops, void *arg, uint64_t now)
{
	uint64_t last = ss->client.last_rx > ss->server.last_rx ? ss->client.last_rx : ss->server.last_rx;
	uint64_t d = last + MITM_IDLE_MS;

	if (ss->any_eof && ss->eof_at + MITM_LINGER_MS < d)
		d = ss->eof_at + MITM_LINGER_MS;
	if (ops->deadline && ops->deadline(arg) < d)
		d = ops->deadline(arg);
	return d > now ? (int)(d - now) : 0;
}

/* True when the session is over: both ends closed, or one closed long enough ago, or idle. */
static bool
over(const struct mitm_session *ss, uint64_t now)
{
	uint64_t last = ss->client.last_rx > ss->server.last_rx ? ss->client.last_rx : ss->server.last_rx;

	if (ss->client.eof && ss->server.eof)
		return true;
	return (ss->any_eof && now >= ss->eof_at + MITM_LINGER_MS) || now >= last + MITM_IDLE_MS;
}

int
session_pump(struct mitm_session *ss, const struct pump_ops *ops, void *arg)
{
	struct pollfd pfd[2];
	uint64_t now;
	int r;

	for (;;) {
		flush(&ss->server);
		flush(&ss->client);
		pass_close(&ss->client, &ss->server);
		pass_close(&ss->server, &ss->client);
		now = link_now();
		if (mitm_stop || over(ss, now))
			return mitm_stop ? -1 : 0;
		watch(&pfd[0], &ss->server);
		watch(&pfd[1], &ss->client);
		if ((r = poll(pfd, 2, wait_ms(ss, ops, arg, now))) < 0 && errno != EINTR)
			return -1;
		/* The server first: its close after its last record is then seen before the client's. */
		if ((pfd[0].revents && read_end(ss, S2C, ops, arg) != 0) ||
		    (pfd[1].revents && read_end(ss, C2S, ops, arg) != 0))
			return -1;
		if (ops->tick && ops->tick(arg, link_now()) != 0)
			return -1;
	}
}

/*
 * Ends both connections the way a peer would: what is queued, then a FIN,
 * then whatever is still in flight is read and dropped until each end closes
 * too (or MITM_DRAIN_MS pass), so that no unread byte turns our close into a
 * reset: an end must see an orderly close, and notice by itself what is missing.
 */
static void
close_gently(struct mitm_session *ss)
{
	uint64_t deadline = link_now() + MITM_DRAIN_MS, now;
	struct link *l[2] = { &ss->server, &ss->client };
	struct pollfd pfd[2];
	uint8_t buf[4096];
	ssize_t n;
	int i;

	for (i = 0; i < 2; i++) {
		flush(l[i]);
		if (l[i]->fd >= 0 && !l[i]->shut)
			shutdown(l[i]->fd, SHUT_WR);
		l[i]->shut = true;
		l[i]->out.len = 0;
		l[i]->eof |= l[i]->fd < 0;
	}
	while ((!l[0]->eof || !l[1]->eof) && !mitm_stop && (now = link_now()) < deadline) {
		watch(&pfd[0], l[0]);
		watch(&pfd[1], l[1]);
		if (poll(pfd, 2, (int)(deadline - now)) <= 0)
			continue;
		for (i = 0; i < 2; i++)
			if (pfd[i].revents && (n = recv(l[i]->fd, buf, sizeof(buf), 0)) <= 0 &&
			    (n == 0 || (errno != EAGAIN && errno != EINTR)))
				l[i]->eof = true;
	}
}

/* ---- Serving one client ---- */

enum profile { PROFILE_NONE, PROFILE_LAB, PROFILE_SECURE };

/*
 * Reads the client's first bytes until they tell the profile: "CVPN" for the
 * secure profile, anything else (normally "ProposedCiphers") for the lab.
 */
static enum profile
detect(struct mitm_session *ss, struct buf *first)
{
	uint64_t deadline = link_now() + ss->cfg->timeout_ms, now;
	struct pollfd pfd = { .fd = ss->client.fd, .events = POLLIN };
	uint8_t buf[4096];
	ssize_t n;

	while (first->len < SECURE_MAGIC_LEN && (first->len == 0 || memcmp(first->data, SECURE_MAGIC, first->len) == 0)) {
		if (mitm_stop || (now = link_now()) >= deadline)
			return PROFILE_NONE;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = recv(ss->client.fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0 || buf_append(first, buf, (size_t)n, sizeof(buf)) != 0)
			return PROFILE_NONE;
		ss->client.last_rx = link_now();
	}
	return first->len >= SECURE_MAGIC_LEN && memcmp(first->data, SECURE_MAGIC, SECURE_MAGIC_LEN) == 0 ?
	    PROFILE_SECURE : PROFILE_LAB;
}

/* Runs the profile the client's first bytes chose. */
static void
run_profile(struct mitm_session *ss, enum profile p, const struct buf *first)
{
	report_begin(0, "profile");
	report_str("profile", p == PROFILE_LAB ? "lab" : "secure");
	report_str("server", ss->server.name);
	report_end("Relaying to the server %s: %s", ss->server.name, p == PROFILE_LAB ?
	    "lab profile (\"ProposedCiphers\"): two key exchanges, we read everything" :
	    "secure profile (\"CVPN\"): we cannot decrypt, only forward bytes");
	if (p == PROFILE_LAB)
		lab_run(ss, first->data, first->len);
	else
		secure_run(ss, first->data, first->len);
}

void
session_serve(const struct mitm_config *cfg, struct link *client)
{
	struct mitm_session ss = { .cfg = cfg, .client = *client, .server = { .fd = -1 } };
	enum profile p = PROFILE_NONE;
	struct buf first = { 0 };
	char err[256];

	report_begin(0, "connected");
	report_str("client", ss.client.name);
	report_end("Client %s connected", ss.client.name);
	if (link_connect(cfg->server, cfg->server_port, cfg->timeout_ms, &ss.server, err, sizeof(err)) != 0)
		report_error("connect", "%s", err);
	else if ((p = detect(&ss, &first)) != PROFILE_NONE)
		run_profile(&ss, p, &first);
	close_gently(&ss);
	report_begin(0, "closed");
	report_str("by", ss.any_eof ? end_name(ss.first_eof) : "proxy");
	report_end("Session of %s ended (%s)", ss.client.name, ss.server.fd < 0 ? "no server" :
	    p == PROFILE_NONE ? "the client sent nothing we could read" : !ss.any_eof ? "closed by the proxy" :
	    ss.first_eof == C2S ? "the client closed first" : "the server closed first");
	buf_clear(&first);
	link_close(&ss.client);
	link_close(&ss.server);
}
