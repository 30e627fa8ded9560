/* SPDX-License-Identifier: MIT */
/*
 * One local connection carried through the session as a channel
 * (docs/SECURE.md, section 10): a SOCKS5 handshake first for --socks, then
 * OPEN, and bytes both ways within the windows.
 *
 * Up, from the application to the server: the socket is read only while
 * the server's window has room and the session's output is not backed up,
 * so that a slow server or a full socket to it stops the reading instead of
 * filling memory. A --forward connection's first bytes go right after the
 * OPEN, within CHAN_WINDOW_EARLY, so that opening costs no round trip.
 *
 * Down: the server sends no more than the window we granted; what the local
 * socket does not take at once waits here, and the window is granted again
 * only once bytes are written, so that a reader that never reads holds up
 * its own channel and nothing else.
 *
 * A tunnel is freed where its channel ends; every function that may free
 * it says so, and its callers return at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "socks.h"
#include "tunnel.h"

/* What a SOCKS handshake may hold: its greeting, its request and bytes sent before our reply. */
#define IN_MAX 1024
/* Records read from one local socket per turn, so that one fast application does not starve the others. */
#define READS_PER_TURN 4

static short tunnel_events(void *arg);
static void tunnel_ready(void *arg, short revents);

/* "host:port", an IPv6 host in brackets. */
static void
dest_text(const struct tunnel *t, char *out, size_t n)
{
	snprintf(out, n, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, (unsigned)t->port);
}

static bool
out_pending(const struct tunnel *t)
{
	return t->out.len > t->out_off;
}

/* Closes the local socket; reset sends an RST instead of a FIN, so that a cut transfer never looks whole. */
static void
close_local(struct tunnel *t, bool reset)
{
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };

	if (t->fd < 0)
		return;
	if (reset)
		(void)setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
	loop_unwatch(t->fw->loop, t->watch);
	t->watch = NULL;
	close(t->fd);
	t->fd = -1;
}

static void
tunnel_free(struct tunnel *t)
{
	char to[CHAN_HOST_MAX + 16];

	if (t->phase >= TUNNEL_OPEN) {
		dest_text(t, to, sizeof(to));
		report_channel("channel %u to %s closed: %llu bytes up, %llu down", (unsigned)t->id, to,
		    (unsigned long long)t->up, (unsigned long long)t->down);
	}
	close_local(t, false);
	buf_clear(&t->in);
	buf_clear(&t->out);
	forward_forget(t->fw, t);
	free(t);
}

/* Sends one record of t's channel. Returns 0, or -1 when the session can carry it no more (it is ending). */
static int
send_record(struct tunnel *t, enum chan_type type, uint32_t window, const uint8_t *data, size_t len)
{
	struct chan_msg m = { .type = type, .id = t->id, .window = window, .data = data, .len = len };

	if (t->fw->session == NULL)
		return -1;
	if (type == CHAN_OPEN) {
		memcpy(m.host, t->host, sizeof(m.host));
		m.port = t->port;
	}
	return session_channel_send(t->fw->session, &m) == 0 ? 0 : -1;
}

/*
 * The local connection failed (reset, or an error): the channel ends with
 * CLOSE, and the id waits for the server's. Returns true when t is freed.
 */
static bool
local_reset(struct tunnel *t)
{
	close_local(t, true);
	buf_reset(&t->out);
	t->out_off = 0;
	if (t->phase == TUNNEL_DRAINING) {
		tunnel_free(t);
		return true;
	}
	if (!t->close_sent)
		(void)send_record(t, CHAN_CLOSE, 0, NULL, 0);
	t->close_sent = true;
	t->phase = TUNNEL_CLOSED;
	return false;
}

/* Both directions have ended: CLOSE, and the id waits for the server's. */
static void
maybe_done(struct tunnel *t)
{
	if (t->phase != TUNNEL_OPEN || !t->local_eof || !t->shut)
		return;
	(void)send_record(t, CHAN_CLOSE, 0, NULL, 0);
	t->close_sent = true;
	close_local(t, false);
	t->phase = TUNNEL_CLOSED;
}

/* The server's side has ended and all it sent is written: pass its EOF on. */
static void
shut_local(struct tunnel *t)
{
	/* A socket the application has reset fails here; its read says so. */
	(void)shutdown(t->fd, SHUT_WR);
	t->shut = true;
	maybe_done(t);
}

/* n bytes reached the local socket: grant them back once half the window is. */
static void
delivered(struct tunnel *t, size_t n)
{
	uint32_t grant;

	if (n == 0)
		return;
	t->down += n;
	grant = chan_window_delivered(&t->rx, n);
	if (grant && !t->peer_eof && !t->close_sent)
		(void)send_record(t, CHAN_WINDOW, grant, NULL, 0);
}

/* Writes what waits for the local socket. Returns true when t is freed. */
static bool
write_out(struct tunnel *t)
{
	ssize_t w = send(t->fd, t->out.data + t->out_off, t->out.len - t->out_off, MSG_NOSIGNAL);

	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return false;
	if (w < 0)
		return local_reset(t);
	t->out_off += (size_t)w;
	delivered(t, (size_t)w);
	if (out_pending(t))
		return false;
	buf_reset(&t->out);
	t->out_off = 0;
	if (t->phase == TUNNEL_DRAINING) {
		tunnel_free(t);
		return true;
	}
	if (t->peer_eof && !t->shut)
		shut_local(t);
	return false;
}

/* Bytes from the server: to the local socket now when it takes them, else in the order they came. */
static void
deliver(struct tunnel *t, const uint8_t *p, size_t n)
{
	ssize_t w = 0;

	if (!out_pending(t)) {
		w = send(t->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			(void)local_reset(t);
			return;
		}
		w = w < 0 ? 0 : w;
		delivered(t, (size_t)w);
	}
	if ((size_t)w == n)
		return;
	/* Held bytes never pass the window: the server sends no more than it, and written ones are gone. */
	buf_consume(&t->out, t->out_off);
	t->out_off = 0;
	if (buf_append(&t->out, p + w, n - (size_t)w, t->rx.size) != 0) {
		report_warning("nomem", "out of memory: a forwarded connection is reset");
		(void)local_reset(t);
	}
}

/* The bytes the application sent after its SOCKS request, within the server's window. */
static void
send_early(struct tunnel *t)
{
	size_t n;

	while (t->in.len > 0 && t->credit > 0 && t->phase == TUNNEL_OPEN) {
		n = t->in.len < CHAN_DATA_MAX ? t->in.len : CHAN_DATA_MAX;
		n = n < t->credit ? n : (size_t)t->credit;
		if (send_record(t, CHAN_DATA, 0, t->in.data, n) != 0)
			return;
		t->credit -= n;
		t->up += n;
		buf_consume(&t->in, n);
	}
}

/* ---- Records from the server ---- */

static int
take_accept(struct tunnel *t, const struct chan_msg *m)
{
	uint8_t reply[SOCKS_REPLY_LEN];
	char to[CHAN_HOST_MAX + 16];

	/* The application reset before the answer: our CLOSE is on its way, and the server's follows. */
	if (t->phase == TUNNEL_CLOSED && !t->answered) {
		t->answered = true;
		return 0;
	}
	/* The window counts from the channel's start, the early bytes included. */
	if (t->phase != TUNNEL_OPENING || m->window < t->up)
		return CVPN_ERR_CHANNEL;
	t->answered = true;
	t->credit = m->window - t->up;
	t->phase = TUNNEL_OPEN;
	dest_text(t, to, sizeof(to));
	report_channel("channel %u: %s to %s open", (unsigned)t->id, t->peer, to);
	if (t->from->socks) {
		socks_reply(SOCKS_SUCCEEDED, reply);
		if (send(t->fd, reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t)sizeof(reply)) {
			(void)local_reset(t);
			return 0;
		}
	}
	send_early(t);
	return 0;
}

static int
take_refuse(struct tunnel *t, const struct chan_msg *m)
{
	uint8_t reply[SOCKS_REPLY_LEN];
	char to[CHAN_HOST_MAX + 16];

	/* A refusal that crossed our CLOSE (the application reset first) ends the channel as well. */
	if (t->phase != TUNNEL_OPENING && (t->phase != TUNNEL_CLOSED || t->answered))
		return CVPN_ERR_CHANNEL;
	dest_text(t, to, sizeof(to));
	report_refused(t->from->address, to, m->reason, m->data, m->len);
	if (t->from->socks && t->phase == TUNNEL_OPENING) {
		socks_reply(socks_reply_for(m->reason), reply);
		(void)send(t->fd, reply, sizeof(reply), MSG_NOSIGNAL);
	}
	/* A refused id is free at once: no CLOSE follows a REFUSE (the server drops what we sent before it). */
	forward_release_id(t->fw, t);
	tunnel_free(t);
	return 0;
}

/* Whether the server may send t this record now: after its ACCEPT, before its CLOSE. */
static bool
accepted(const struct tunnel *t)
{
	return t->phase >= TUNNEL_OPEN && !t->close_received;
}

static int
take_data(struct tunnel *t, const struct chan_msg *m)
{
	if (!accepted(t) || t->peer_eof || !chan_window_accept(&t->rx, m->len))
		return CVPN_ERR_CHANNEL;
	/* After our CLOSE the bytes in flight have nowhere to go. */
	if (t->phase == TUNNEL_OPEN)
		deliver(t, m->data, m->len);
	return 0;
}

static int
take_eof(struct tunnel *t, const struct chan_msg *m)
{
	(void)m;
	if (!accepted(t) || t->peer_eof)
		return CVPN_ERR_CHANNEL;
	t->peer_eof = true;
	if (t->phase == TUNNEL_OPEN && !out_pending(t))
		shut_local(t);
	return 0;
}

static int
take_window(struct tunnel *t, const struct chan_msg *m)
{
	if (!accepted(t))
		return CVPN_ERR_CHANNEL;
	t->credit += m->window;
	send_early(t);
	return 0;
}

/*
 * The server ends the channel. After its EOF that is an orderly end, and
 * what it sent still reaches the application; without one it is a reset,
 * passed on as one.
 */
static int
take_close(struct tunnel *t, const struct chan_msg *m)
{
	(void)m;
	if (!accepted(t))
		return CVPN_ERR_CHANNEL;
	t->close_received = true;
	if (!t->close_sent)
		(void)send_record(t, CHAN_CLOSE, 0, NULL, 0);
	t->close_sent = true;
	forward_release_id(t->fw, t);
	if (t->phase == TUNNEL_OPEN && t->peer_eof && out_pending(t)) {
		t->phase = TUNNEL_DRAINING;
		return 0;
	}
	close_local(t, t->phase == TUNNEL_OPEN && !t->peer_eof);
	tunnel_free(t);
	return 0;
}

typedef int take_fn(struct tunnel *t, const struct chan_msg *m);

/* What the server may send a channel; OPEN is the client's alone, and the engine refuses it. */
static take_fn *const takers[CHAN_TYPE_LAST - CHAN_TYPE_FIRST + 1] = {
	[CHAN_ACCEPT - CHAN_TYPE_FIRST] = take_accept,
	[CHAN_REFUSE - CHAN_TYPE_FIRST] = take_refuse,
	[CHAN_DATA - CHAN_TYPE_FIRST] = take_data,
	[CHAN_EOF - CHAN_TYPE_FIRST] = take_eof,
	[CHAN_CLOSE - CHAN_TYPE_FIRST] = take_close,
	[CHAN_WINDOW - CHAN_TYPE_FIRST] = take_window,
};

int
tunnel_record(struct tunnel *t, const struct chan_msg *m)
{
	take_fn *fn;

	if (!chan_is_type(m->type) || (fn = takers[m->type - CHAN_TYPE_FIRST]) == NULL)
		return CVPN_ERR_CHANNEL;
	return fn(t, m);
}

/* ---- The local socket ---- */

/* Sends OPEN for t's destination. Returns 0, or -1 after freeing t. */
static int
open_channel(struct tunnel *t)
{
	char to[CHAN_HOST_MAX + 16];

	if (!forward_take_id(t->fw, t) || send_record(t, CHAN_OPEN, t->rx.size, NULL, 0) != 0) {
		tunnel_free(t);
		return -1;
	}
	t->phase = TUNNEL_OPENING;
	/* A SOCKS application waits for our reply, which waits for the server's. */
	if (!t->from->socks)
		t->credit = CHAN_WINDOW_EARLY;
	dest_text(t, to, sizeof(to));
	report_channel("channel %u: %s to %s: opening", (unsigned)t->id, t->peer, to);
	return 0;
}

/* The application sent no more: EOF after its bytes. */
static void
local_end(struct tunnel *t)
{
	t->local_eof = true;
	(void)send_record(t, CHAN_EOF, 0, NULL, 0);
	maybe_done(t);
}

static bool
may_read(struct tunnel *t)
{
	switch (t->phase) {
	case TUNNEL_GREETING:
	case TUNNEL_REQUEST:
		return t->in.len < IN_MAX;
	case TUNNEL_OPENING:
	case TUNNEL_OPEN:
		/* Bytes sent before our SOCKS reply go first, in order. */
		return !t->local_eof && t->in.len == 0 && t->credit > 0 && forward_may_read(t->fw);
	default:
		return false;
	}
}

/* From the application to the server, within the window, a few records a turn. */
static void
carry_up(struct tunnel *t)
{
	uint8_t buf[CHAN_DATA_MAX];
	size_t want;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_TURN && may_read(t); i++) {
		want = t->credit < sizeof(buf) ? (size_t)t->credit : sizeof(buf);
		n = recv(t->fd, buf, want, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0) {
			(void)local_reset(t);
			return;
		}
		if (n == 0) {
			local_end(t);
			return;
		}
		if (send_record(t, CHAN_DATA, 0, buf, (size_t)n) != 0)
			return;
		t->credit -= (uint64_t)n;
		t->up += (uint64_t)n;
	}
}

/* Why a SOCKS request is refused, for the warning. */
static const char *
socks_refusal(uint8_t reply)
{
	switch (reply) {
	case SOCKS_BAD_COMMAND:
		return "a command other than CONNECT (BIND and UDP ASSOCIATE are not served)";
	case SOCKS_BAD_ADDRESS_TYPE:
		return "an address type SOCKS5 does not define";
	default:
		return "a malformed request (version, reserved byte, name or port 0)";
	}
}

/* Bad input from a SOCKS client: one line, and its connection closes; the client goes on. */
static void
socks_reject(struct tunnel *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
socks_reject(struct tunnel *t, const char *fmt, ...)
{
	char why[256], line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "SOCKS client %s on %s refused: %s", t->peer, t->from->address, why);
	report_warning("socks", line);
	tunnel_free(t);
}

/* The method choice. Returns 0 to go on to the request, 1 while more is needed, -1 after freeing t. */
static int
socks_method(struct tunnel *t)
{
	uint8_t method, choice[SOCKS_CHOICE_LEN];
	size_t used;
	int r;

	if ((r = socks_greeting(t->in.data, t->in.len, &used, &method)) == CVPN_ERR_TRUNCATED)
		return 1;
	if (r != 0) {
		socks_reject(t, "not SOCKS5 (version %u)", t->in.data[0]);
		return -1;
	}
	socks_choice(method, choice);
	(void)send(t->fd, choice, sizeof(choice), MSG_NOSIGNAL);
	if (method == SOCKS_METHOD_REFUSED) {
		socks_reject(t, "it offers no method without authentication (the only one served)");
		return -1;
	}
	buf_consume(&t->in, used);
	t->phase = TUNNEL_REQUEST;
	return 0;
}

/* Reads the greeting, then the request, then opens the channel it asks for. */
static void
socks_step(struct tunnel *t)
{
	uint8_t reply[SOCKS_REPLY_LEN];
	struct socks_request req;
	size_t used;

	if (t->phase == TUNNEL_GREETING && socks_method(t) != 0)
		return;
	if (socks_request(t->in.data, t->in.len, &req, &used) != 0)
		return; /* more is needed */
	buf_consume(&t->in, used);
	if (req.reply != SOCKS_SUCCEEDED) {
		socks_reply(req.reply, reply);
		(void)send(t->fd, reply, sizeof(reply), MSG_NOSIGNAL);
		socks_reject(t, "%s", socks_refusal(req.reply));
		return;
	}
	memcpy(t->host, req.host, sizeof(t->host));
	t->port = req.port;
	(void)open_channel(t);
}

static void
socks_read(struct tunnel *t)
{
	size_t room = IN_MAX - t->in.len;
	uint8_t *p;
	ssize_t n;

	if (buf_reserve(&t->in, room, IN_MAX, &p) != 0) {
		tunnel_free(t);
		return;
	}
	n = recv(t->fd, p, room, 0);
	buf_unreserve(&t->in, n > 0 ? room - (size_t)n : room);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* The application left before its request was whole: nothing to say to anyone. */
	if (n <= 0) {
		tunnel_free(t);
		return;
	}
	socks_step(t);
}

static short
tunnel_events(void *arg)
{
	struct tunnel *t = arg;

	return (short)((may_read(t) ? POLLIN : 0) | (out_pending(t) ? POLLOUT : 0));
}

static void
tunnel_ready(void *arg, short revents)
{
	struct tunnel *t = arg;

	if ((revents & (POLLOUT | POLLERR | POLLHUP)) && out_pending(t) && write_out(t))
		return;
	if (!(revents & (POLLIN | POLLERR | POLLHUP)) || t->fd < 0 || !may_read(t))
		return;
	if (t->phase == TUNNEL_GREETING || t->phase == TUNNEL_REQUEST)
		socks_read(t);
	else
		carry_up(t);
}

int
tunnel_new(struct forward *fw, const struct listener *l, int fd, uint32_t window)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct tunnel *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		close(fd);
		return -1;
	}
	*t = (struct tunnel){ .fw = fw, .from = l, .fd = fd, .phase = TUNNEL_GREETING,
	    .rx = { .size = window, .granted = window } };
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
		sock_format_address((struct sockaddr *)&peer, t->peer, sizeof(t->peer), NULL, 0);
	else
		snprintf(t->peer, sizeof(t->peer), "?");
	t->next = fw->tunnels;
	if (fw->tunnels)
		fw->tunnels->prev = t;
	fw->tunnels = t;
	fw->ntunnels++;
	fw->committed += window;
	if (loop_watch(fw->loop, fd, tunnel_events, tunnel_ready, t, &t->watch) != 0) {
		tunnel_free(t);
		return -1;
	}
	if (l->socks)
		return 0;
	memcpy(t->host, l->host, sizeof(t->host));
	t->port = l->port;
	return open_channel(t);
}

void
tunnel_drop(struct tunnel *t)
{
	uint8_t reply[SOCKS_REPLY_LEN];

	if (t->from->socks && t->phase == TUNNEL_OPENING) {
		socks_reply(SOCKS_GENERAL_FAILURE, reply);
		(void)send(t->fd, reply, sizeof(reply), MSG_NOSIGNAL);
	}
	close_local(t, t->phase == TUNNEL_OPEN || t->phase == TUNNEL_DRAINING);
	tunnel_free(t);
}
