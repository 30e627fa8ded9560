/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: port forwarding (forward.h). Each session has a table of its
 * channels by id. A channel resolves its destination, connects, and then
 * carries bytes both ways: the client's DATA is written to the destination
 * and granted back with WINDOW once the socket took it; the destination is
 * read only while the client's window has room and the session's output is
 * small. What the client sends before the answer (CHAN_WINDOW_EARLY at
 * most) waits here and goes first once the target accepts. A channel's memory
 * outlives its id: it waits for its handles to close, and for a name being
 * resolved to come back.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netdb.h>

#include <uv.h>

#include "buf.h"
#include "chan.h"
#include "conn.h"
#include "err.h"
#include "forward.h"
#include "permit.h"
#include "text.h"

/* Buckets of a session's table; a power of two. Chains stay short even at a thousand channels. */
#define FWD_BUCKETS 256

enum fwd_state {
	FWD_RESOLVING,          /* the destination's name is being resolved */
	FWD_CONNECTING,         /* connecting to its addresses, one after the other */
	FWD_OPEN,               /* accepted: bytes flow */
	FWD_ENDED               /* our CLOSE or REFUSE is sent; the target connection closes */
};

struct fwd_chan {
	struct fwd *fwd;        /* NULL once the session is gone: the channel only waits to be freed */
	struct server *srv;
	struct fwd_chan *hnext; /* the next in its bucket */
	struct fwd_chan *prev, *next; /* the session's channels in the table */
	uint32_t id;
	enum fwd_state state;
	char host[CHAN_HOST_MAX + 1];
	uint16_t port;
	uv_getaddrinfo_t resolve;
	struct addrinfo *addrs, *next_addr;
	int last_err;           /* the last connection attempt's libuv error */
	uv_tcp_t tcp;
	uv_timer_t timer;       /* the deadline to resolve and connect */
	uv_connect_t connect;
	uv_shutdown_t shutdown;
	struct chan_window rx;  /* what the client sends us: granted, delivered */
	struct chan_window tx;  /* what we send the client: its credit */
	size_t pending;         /* bytes queued toward the target, not yet taken by its socket */
	struct buf early;       /* DATA that came before the target accepted */
	uint64_t started, to_target, from_target;
	int handles;            /* libuv handles open: the timer, the target's socket */
	bool in_table, resolving, tcp_open, reading;
	bool got_eof, sent_eof, shut, got_close, sent_close;
};

struct fwd {
	struct conn *conn;
	struct fwd_chan *buckets[FWD_BUCKETS];
	struct fwd_chan *chans; /* every channel in the table */
	unsigned count;
	uint32_t top_id;        /* the highest id the client has opened, when opened is set */
	bool opened;
	size_t buffered;        /* bytes held for targets, over every channel */
	bool in_event;          /* inside fwd_record(): engine_feed() sends the output and reports its errors */
	bool output_full;       /* channels stopped reading because the session's output was full */
};

/* A queued write toward a target: its bytes follow. */
struct fwd_write {
	uv_write_t req;
	struct fwd_chan *ch;
	size_t len;
	uint8_t data[];
};

static void end_channel(struct fwd_chan *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pump(struct fwd_chan *ch);

/* ---- Names for the log ---- */

/*
 * "host:port", or "[v6]:port". A refused host is the client's text, UTF-8
 * but otherwise anything: its control characters are escaped, so that it
 * cannot forge or garble a log line.
 */
static void
format_dest(const char *host, uint16_t port, char *out, size_t len)
{
	char shown[4 * CHAN_HOST_MAX + 1];

	text_escape(shown, sizeof(shown), (const uint8_t *)host, strlen(host));
	snprintf(out, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", shown, port);
}

static void
log_end(const struct fwd_chan *ch, const struct conn *c, const char *why)
{
	char dest[4 * CHAN_HOST_MAX + 16];
	uint64_t ms = uv_now(c->srv->loop) - ch->started;

	format_dest(ch->host, ch->port, dest, sizeof(dest));
	conn_log(c, "Channel %" PRIu32 " to %s for %s ended after %" PRIu64 ".%01" PRIu64 " s: %" PRIu64
	    " bytes to it, %" PRIu64 " bytes from it; %s", ch->id, dest, c->client_name, ms / 1000, ms % 1000 / 100,
	    ch->to_target, ch->from_target, why);
}

static void
log_refusal(const struct conn *c, uint32_t id, const char *host, uint16_t port, const char *why)
{
	char dest[4 * CHAN_HOST_MAX + 16];

	format_dest(host, port, dest, sizeof(dest));
	conn_warn(c, "Refusing channel %" PRIu32 " to %s for %s: %s", id, dest, c->client_name, why);
}

/* The client broke the protocol: the session ends once its input is fed (server.c reads c->broken). */
static void broken(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
broken(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->broken[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->broken, sizeof(c->broken), fmt, ap);
	va_end(ap);
}

/* ---- Sending records ---- */

/*
 * Sends one record to the client. Inside fwd_record() the feed that called
 * us sends the output and reports a failure; elsewhere the output goes now,
 * and a failure closes the session. Returns whether the session still carries
 * channels (false: the caller's channel may be detached, see fwd_end).
 */
static bool
send_record(struct conn *c, const struct chan_msg *m)
{
	bool in_event = c->fwd != NULL && c->fwd->in_event;
	int r;

	if (c->phase != CONN_ESTABLISHED)
		return false;
	if ((r = engine_channel_send(c->engine, m)) != 0) {
		if (!in_event)
			conn_close(c, cvpn_strerror(r));
		return false;
	}
	if (!in_event)
		conn_output(c);
	return c->phase == CONN_ESTABLISHED;
}

static bool
send_refuse(struct conn *c, uint32_t id, int reason, const char *detail)
{
	struct chan_msg m = { .type = CHAN_REFUSE, .id = id, .reason = (uint8_t)reason,
	    .data = (const uint8_t *)detail, .len = strnlen(detail, CHAN_DETAIL_MAX) };

	return send_record(c, &m);
}

/* Sends a record of the channel's with no payload but the id (EOF, CLOSE) or a window (ACCEPT, WINDOW). */
static bool
send_simple(struct fwd_chan *ch, enum chan_type type, uint32_t window)
{
	struct chan_msg m = { .type = type, .id = ch->id, .window = window };

	return send_record(ch->fwd->conn, &m);
}

/* ---- The table ---- */

static struct fwd_chan **
bucket(struct fwd *f, uint32_t id)
{
	/* Clients number their channels as they like: mix the bits so that a pattern still spreads. */
	return &f->buckets[(id * 2654435761u) >> 24 & (FWD_BUCKETS - 1)];
}

static struct fwd_chan *
lookup(struct fwd *f, uint32_t id)
{
	struct fwd_chan *ch;

	for (ch = *bucket(f, id); ch != NULL && ch->id != id; ch = ch->hnext)
		;
	return ch;
}

static void
table_insert(struct fwd *f, struct fwd_chan *ch)
{
	struct fwd_chan **b = bucket(f, ch->id);

	ch->hnext = *b;
	*b = ch;
	ch->next = f->chans;
	if (f->chans != NULL)
		f->chans->prev = ch;
	f->chans = ch;
	f->count++;
	ch->in_table = true;
}

/* A channel is freed once its id is free, its handles are closed and no name is being resolved for it. */
static void
maybe_free(struct fwd_chan *ch)
{
	if (ch->in_table || ch->handles > 0 || ch->resolving)
		return;
	ch->srv->nchannels--;
	uv_freeaddrinfo(ch->addrs);
	buf_clear(&ch->early);
	free(ch);
}

static void
table_remove(struct fwd_chan *ch)
{
	struct fwd *f = ch->fwd;
	struct fwd_chan **p;

	for (p = bucket(f, ch->id); *p != ch; p = &(*p)->hnext)
		;
	*p = ch->hnext;
	if (ch->prev != NULL)
		ch->prev->next = ch->next;
	else
		f->chans = ch->next;
	if (ch->next != NULL)
		ch->next->prev = ch->prev;
	f->count--;
	ch->in_table = false;
	maybe_free(ch);
}

/* ---- Closing a channel's target side ---- */

static void
on_timer_closed(uv_handle_t *h)
{
	struct fwd_chan *ch = h->data;

	ch->handles--;
	maybe_free(ch);
}

static void start_connect(struct fwd_chan *ch);

static void
on_tcp_closed(uv_handle_t *h)
{
	struct fwd_chan *ch = h->data;

	ch->handles--;
	ch->tcp_open = false;
	/* A failed attempt: the next address, with a fresh socket. */
	if (ch->fwd != NULL && ch->state == FWD_CONNECTING)
		start_connect(ch);
	else
		maybe_free(ch);
}

static void
close_tcp(struct fwd_chan *ch)
{
	if (ch->tcp_open && !uv_is_closing((uv_handle_t *)&ch->tcp)) {
		ch->reading = false;
		uv_close((uv_handle_t *)&ch->tcp, on_tcp_closed);
	}
}

/* Stops everything on the target's side: the connection, the deadline, a resolution under way, early bytes. */
static void
close_target(struct fwd_chan *ch)
{
	if (ch->fwd != NULL)
		ch->fwd->buffered -= ch->early.len;
	buf_clear(&ch->early);
	close_tcp(ch);
	if (!uv_is_closing((uv_handle_t *)&ch->timer))
		uv_close((uv_handle_t *)&ch->timer, on_timer_closed);
	if (ch->resolving)
		uv_cancel((uv_req_t *)&ch->resolve);
}

/*
 * Ends a channel that was accepted or is being opened: closes its target,
 * logs why, and sends CLOSE. Its id is free once the client's CLOSE came too.
 */
static void
end_channel(struct fwd_chan *ch, const char *fmt, ...)
{
	struct conn *c = ch->fwd->conn;
	char why[256];
	va_list ap;

	if (ch->state == FWD_ENDED)
		return;
	ch->state = FWD_ENDED;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	close_target(ch);
	log_end(ch, c, why);
	ch->sent_close = true;
	if (!send_simple(ch, CHAN_CLOSE, 0) || ch->fwd == NULL)
		return;
	if (ch->got_close)
		table_remove(ch);
}

/* Refuses a channel being opened: REFUSE, and its id is free at once; the bytes that came early are dropped. */
static void
refuse_channel(struct fwd_chan *ch, int reason, const char *detail)
{
	struct conn *c = ch->fwd->conn;
	uint32_t id = ch->id;
	char why[CHAN_DETAIL_MAX + 80];

	if (ch->early.len > 0)
		snprintf(why, sizeof(why), "%s; the %zu bytes sent before the answer are dropped", detail, ch->early.len);
	else
		snprintf(why, sizeof(why), "%s", detail);
	ch->state = FWD_ENDED;
	close_target(ch);
	log_refusal(c, id, ch->host, ch->port, why);
	table_remove(ch); /* may free it */
	send_refuse(c, id, reason, detail);
}

/* ---- Connecting ---- */

/* The reason a failed connection gives the client. */
static int
refusal_reason(int err)
{
	switch (err) {
	case UV_ECONNREFUSED:
		return CHAN_CONN_REFUSED;
	case UV_ETIMEDOUT:
		return CHAN_TIMEOUT;
	default:
		return CHAN_UNREACHABLE;
	}
}

static void on_shut(uv_shutdown_t *req, int status);

/* Half-closes the target's side once the bytes queued for it are written (libuv keeps the order). */
static void
shut_target(struct fwd_chan *ch)
{
	int r;

	ch->shutdown.data = ch;
	if ((r = uv_shutdown(&ch->shutdown, (uv_stream_t *)&ch->tcp, on_shut)) != 0)
		end_channel(ch, "ending the target's side failed: %s", uv_strerror(r));
}

static void write_target(struct fwd_chan *ch, const uint8_t *p, size_t n);

/* The target accepted: ACCEPT, whose window counts the early bytes, then those bytes first. */
static void
on_accepted(struct fwd_chan *ch)
{
	struct buf early;

	uv_timer_stop(&ch->timer);
	uv_freeaddrinfo(ch->addrs);
	ch->addrs = ch->next_addr = NULL;
	ch->state = FWD_OPEN;
	uv_tcp_nodelay(&ch->tcp, 1);
	ch->rx.size = CHAN_WINDOW_INITIAL;
	ch->rx.granted += CHAN_WINDOW_INITIAL - CHAN_WINDOW_EARLY;
	if (!send_simple(ch, CHAN_ACCEPT, CHAN_WINDOW_INITIAL) || ch->fwd == NULL)
		return;
	if (ch->early.len > 0) {
		/* Taken out first: a failed write ends the channel, whose close_target would clear it. */
		early = ch->early;
		ch->early = (struct buf){ 0 };
		ch->fwd->buffered -= early.len;
		ch->to_target += early.len;
		write_target(ch, early.data, early.len);
		buf_clear(&early);
		if (ch->fwd == NULL || ch->state != FWD_OPEN)
			return;
	}
	/* The client may have ended its side while we connected. */
	if (ch->got_eof)
		shut_target(ch);
	if (ch->state == FWD_OPEN)
		pump(ch);
}

static void
on_connected(uv_connect_t *req, int status)
{
	struct fwd_chan *ch = req->data;

	if (status == UV_ECANCELED || ch->fwd == NULL || ch->state != FWD_CONNECTING)
		return;
	if (status < 0) {
		ch->last_err = status;
		close_tcp(ch); /* on_tcp_closed tries the next address */
		return;
	}
	on_accepted(ch);
}

/* Tries the next address; when none is left, refuses with what the last attempt met. */
static void
start_connect(struct fwd_chan *ch)
{
	struct addrinfo *ai;
	char detail[CHAN_DETAIL_MAX];
	int r;

	while ((ai = ch->next_addr) != NULL) {
		ch->next_addr = ai->ai_next;
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if ((r = uv_tcp_init(ch->fwd->conn->srv->loop, &ch->tcp)) != 0) {
			ch->last_err = r;
			continue;
		}
		ch->tcp.data = ch;
		ch->tcp_open = true;
		ch->handles++;
		ch->connect.data = ch;
		if ((r = uv_tcp_connect(&ch->connect, &ch->tcp, ai->ai_addr, on_connected)) == 0)
			return;
		ch->last_err = r;
		close_tcp(ch); /* on_tcp_closed comes back here */
		return;
	}
	snprintf(detail, sizeof(detail), "%s", uv_strerror(ch->last_err ? ch->last_err : UV_EADDRNOTAVAIL));
	refuse_channel(ch, refusal_reason(ch->last_err), detail);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct fwd_chan *ch = req->data;
	char detail[CHAN_DETAIL_MAX];

	ch->resolving = false;
	if (ch->fwd == NULL || ch->state != FWD_RESOLVING) {
		uv_freeaddrinfo(res);
		maybe_free(ch);
		return;
	}
	if (status < 0) {
		snprintf(detail, sizeof(detail), "the name does not resolve: %s", uv_strerror(status));
		refuse_channel(ch, CHAN_UNREACHABLE, detail);
		return;
	}
	ch->addrs = ch->next_addr = res;
	ch->state = FWD_CONNECTING;
	start_connect(ch);
}

static void
on_deadline(uv_timer_t *t)
{
	struct fwd_chan *ch = t->data;
	char detail[CHAN_DETAIL_MAX];

	if (ch->fwd == NULL || (ch->state != FWD_RESOLVING && ch->state != FWD_CONNECTING))
		return;
	snprintf(detail, sizeof(detail), "%s within %u ms", ch->state == FWD_RESOLVING ? "no address" : "no answer",
	    ch->fwd->conn->srv->cfg->forward_timeout_ms);
	refuse_channel(ch, CHAN_TIMEOUT, detail);
}

/*
 * Resolves the destination: an IP address at once, without asking DNS
 * (AI_NUMERICHOST), a name on libuv's threads. The host is the one the
 * policy matched, so the addresses are the permitted host's.
 */
static void
start_resolve(struct fwd_chan *ch)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP,
	    .ai_flags = AI_NUMERICSERV };
	unsigned char addr[sizeof(struct in6_addr)];
	char port[8];
	bool literal = uv_inet_pton(AF_INET, ch->host, addr) == 0 || uv_inet_pton(AF_INET6, ch->host, addr) == 0;
	int r;

	snprintf(port, sizeof(port), "%u", ch->port);
	ch->resolve.data = ch;
	if (literal) {
		hints.ai_flags |= AI_NUMERICHOST;
		r = uv_getaddrinfo(ch->fwd->conn->srv->loop, &ch->resolve, NULL, ch->host, port, &hints);
		on_resolved(&ch->resolve, r, r == 0 ? ch->resolve.addrinfo : NULL);
		return;
	}
	ch->resolving = true;
	if ((r = uv_getaddrinfo(ch->fwd->conn->srv->loop, &ch->resolve, on_resolved, ch->host, port, &hints)) != 0)
		on_resolved(&ch->resolve, r, NULL);
}

/* ---- Opening ---- */

/* Whether the session's client may reach host:port: --allow-forward, or its own permit= options. */
static bool
permitted(const struct conn *c, const char *host, uint16_t port)
{
	const struct server_config *cfg = c->srv->cfg;
	const struct keys_list *authorized = cfg->engine.secure.authorized;

	if (permit_list_match(cfg->allow_forward, host, port))
		return true;
	return c->has_client_key && authorized != NULL && keys_list_permits(authorized, c->client_key, host, port);
}

/* Copies the OPEN's host without the brackets a client may put around an IPv6 address. */
static void
bare_host(const char *host, char out[static CHAN_HOST_MAX + 1])
{
	size_t n = strlen(host);

	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(out, host + 1, n - 2);
		out[n - 2] = '\0';
	} else {
		memcpy(out, host, n + 1);
	}
}

static struct fwd_chan *
chan_new(struct fwd *f, const struct chan_msg *m, const char *host)
{
	struct fwd_chan *ch = calloc(1, sizeof(*ch));
	uv_loop_t *loop = f->conn->srv->loop;

	if (ch == NULL)
		return NULL;
	ch->fwd = f;
	ch->srv = f->conn->srv;
	ch->srv->nchannels++;
	ch->id = m->id;
	ch->port = m->port;
	memcpy(ch->host, host, strlen(host) + 1);
	ch->tx.credit = m->window;
	ch->rx.granted = CHAN_WINDOW_EARLY;
	ch->started = uv_now(loop);
	ch->state = FWD_RESOLVING;
	/* A timer init cannot fail on a live loop. */
	uv_timer_init(loop, &ch->timer);
	ch->timer.data = ch;
	ch->handles = 1;
	uv_timer_start(&ch->timer, on_deadline, f->conn->srv->cfg->forward_timeout_ms, 0);
	table_insert(f, ch);
	return ch;
}

static void
open_channel(struct fwd *f, const struct chan_msg *m)
{
	struct conn *c = f->conn;
	unsigned max = c->srv->cfg->max_channels;
	char host[CHAN_HOST_MAX + 1], why[96];
	struct fwd_chan *ch;

	if (lookup(f, m->id) != NULL) {
		broken(c, "OPEN for channel %" PRIu32 ", which is open already", m->id);
		return;
	}
	bare_host(m->host, host);
	if (f->count >= max || c->srv->nchannels >= c->srv->channel_room) {
		if (f->count >= max)
			snprintf(why, sizeof(why), "too many channels (--max-channels %u)", max);
		else
			snprintf(why, sizeof(why), "the server's descriptors are taken (%u channels in all)", c->srv->nchannels);
		log_refusal(c, m->id, host, m->port, why);
		send_refuse(c, m->id, CHAN_TOO_MANY, chan_reason_text(CHAN_TOO_MANY));
	} else if (c->srv->vpn != NULL) {
		/* A TUN server's packet loop is sandboxed: it may not open sockets. The tunnel carries IP instead. */
		log_refusal(c, m->id, host, m->port, "not allowed: a --tun server does not forward (route the tunnel "
		    "to the destination instead)");
		send_refuse(c, m->id, CHAN_NOT_ALLOWED, chan_reason_text(CHAN_NOT_ALLOWED));
	} else if (!permitted(c, host, m->port)) {
		log_refusal(c, m->id, host, m->port, "not allowed (--allow-forward, or permit= on the client's line)");
		send_refuse(c, m->id, CHAN_NOT_ALLOWED, chan_reason_text(CHAN_NOT_ALLOWED));
	} else if ((ch = chan_new(f, m, host)) == NULL) {
		log_refusal(c, m->id, host, m->port, "out of memory");
		send_refuse(c, m->id, CHAN_TOO_MANY, "the server is out of memory");
	} else {
		start_resolve(ch);
	}
}

/* ---- Bytes toward the target ---- */

/* n bytes reached the target's socket: grant them back once half the window has. */
static void
delivered(struct fwd_chan *ch, size_t n)
{
	uint32_t more = chan_window_delivered(&ch->rx, n);

	if (more > 0)
		send_simple(ch, CHAN_WINDOW, more);
}

static void
on_written(uv_write_t *req, int status)
{
	struct fwd_write *w = (struct fwd_write *)req;
	struct fwd_chan *ch = w->ch;
	size_t n = w->len;

	free(w);
	ch->pending -= n;
	if (ch->fwd == NULL)
		return;
	ch->fwd->buffered -= n;
	if (status == UV_ECANCELED || ch->state != FWD_OPEN)
		return;
	if (status < 0)
		end_channel(ch, "writing to the target failed: %s", uv_strerror(status));
	else
		delivered(ch, n);
}

/* Whether the session may hold n more bytes for its targets; else the channel ends, logged. */
static bool
within_buffer(struct fwd_chan *ch, size_t n)
{
	const struct server_config *cfg = ch->fwd->conn->srv->cfg;

	if (ch->fwd->buffered + n <= cfg->max_forward_buffer)
		return true;
	conn_warn(ch->fwd->conn, "Channel %" PRIu32 ": the session holds %zu bytes for destinations that do not "
	    "read them (--max-forward-buffer %zu); closing the channel", ch->id, ch->fwd->buffered,
	    cfg->max_forward_buffer);
	end_channel(ch, "its target did not read, and the session's buffer was full");
	return false;
}

/* Queues what the target's socket did not take; fails the channel past the session's cap. */
static bool
queue_write(struct fwd_chan *ch, const uint8_t *p, size_t n)
{
	struct fwd_write *w;
	uv_buf_t b;
	int r;

	if (!within_buffer(ch, n))
		return false;
	if ((w = malloc(sizeof(*w) + n)) == NULL) {
		end_channel(ch, "out of memory");
		return false;
	}
	w->ch = ch;
	w->len = n;
	memcpy(w->data, p, n);
	b = uv_buf_init((char *)w->data, (unsigned)n);
	if ((r = uv_write(&w->req, (uv_stream_t *)&ch->tcp, &b, 1, on_written)) != 0) {
		free(w);
		end_channel(ch, "writing to the target failed: %s", uv_strerror(r));
		return false;
	}
	ch->pending += n;
	ch->fwd->buffered += n;
	return true;
}

/* Writes what the socket takes now, and queues the rest behind it. */
static void
write_target(struct fwd_chan *ch, const uint8_t *p, size_t n)
{
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
	int w = uv_try_write((uv_stream_t *)&ch->tcp, &b, 1);

	if (w == UV_EAGAIN)
		w = 0;
	if (w < 0) {
		end_channel(ch, "writing to the target failed: %s", uv_strerror(w));
		return;
	}
	if ((size_t)w < n && !queue_write(ch, p + w, n - (size_t)w))
		return;
	if (w > 0)
		delivered(ch, (size_t)w);
}

/* Holds bytes the client sent before the target accepted (the window bounds them); fails the channel past the session's cap. */
static void
hold_early(struct fwd_chan *ch, const uint8_t *p, size_t n)
{
	if (!within_buffer(ch, n))
		return;
	if (buf_append(&ch->early, p, n, CHAN_WINDOW_EARLY) != 0) {
		end_channel(ch, "out of memory");
		return;
	}
	ch->fwd->buffered += n;
}

static void
take_data(struct fwd_chan *ch, const struct chan_msg *m)
{
	struct conn *c = ch->fwd->conn;

	if (ch->state == FWD_ENDED)
		return; /* sent before the client saw our CLOSE */
	if (ch->got_eof) {
		broken(c, "DATA on channel %" PRIu32 " after its EOF", ch->id);
		return;
	}
	if (!chan_window_accept(&ch->rx, m->len)) {
		broken(c, "DATA beyond the window on channel %" PRIu32 " (%zu bytes, %" PRIu64 " granted%s)", ch->id,
		    m->len, ch->rx.granted, ch->state == FWD_OPEN ? "" : " before the answer");
		return;
	}
	/* Early bytes count toward the target once they go to it: a refusal or a CLOSE drops them. */
	if (ch->state == FWD_OPEN) {
		ch->to_target += m->len;
		write_target(ch, m->data, m->len);
	} else {
		hold_early(ch, m->data, m->len);
	}
}

/* Both directions ended (EOF each way, the target's side shut after its last byte): the channel is done. */
static void
maybe_done(struct fwd_chan *ch)
{
	if (ch->state == FWD_OPEN && ch->shut && ch->sent_eof)
		end_channel(ch, "both sides closed");
}

static void
on_shut(uv_shutdown_t *req, int status)
{
	struct fwd_chan *ch = req->data;

	if (status == UV_ECANCELED || ch->fwd == NULL || ch->state != FWD_OPEN)
		return;
	if (status < 0) {
		end_channel(ch, "ending the target's side failed: %s", uv_strerror(status));
		return;
	}
	ch->shut = true;
	maybe_done(ch);
}

/* The client's EOF: the target reads end of file after the bytes still queued for it. */
static void
take_eof(struct fwd_chan *ch)
{
	if (ch->state == FWD_ENDED)
		return;
	if (ch->got_eof) {
		broken(ch->fwd->conn, "a second EOF on channel %" PRIu32, ch->id);
		return;
	}
	ch->got_eof = true;
	if (ch->state == FWD_OPEN)
		shut_target(ch); /* else on_accepted does */
}

/* ---- Bytes from the target ---- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fwd_chan *ch = h->data;
	const uint8_t *p;
	size_t n;

	(void)suggested;
	*buf = uv_buf_init(NULL, 0);
	if (ch->fwd == NULL || ch->state != FWD_OPEN)
		return;
	/* Read no more than the client's output can take now: a zero-length buffer stops this read (UV_ENOBUFS). */
	engine_output(ch->fwd->conn->engine, &p, &n);
	if (n >= FWD_OUTPUT_HIGH) {
		ch->fwd->output_full = true;
		return;
	}
	/* Every read is copied into a record at once: the connections' one read buffer serves. */
	n = ch->tx.credit < CHAN_DATA_MAX ? (size_t)ch->tx.credit : CHAN_DATA_MAX;
	*buf = uv_buf_init(ch->fwd->conn->srv->readbuf, (unsigned)n);
}

static void
target_eof(struct fwd_chan *ch)
{
	ch->sent_eof = true;
	pump(ch);
	if (send_simple(ch, CHAN_EOF, 0) && ch->fwd != NULL)
		maybe_done(ch);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct fwd_chan *ch = s->data;
	struct chan_msg m = { .type = CHAN_DATA, .id = ch->id, .data = (const uint8_t *)buf->base };

	if (ch->fwd == NULL || ch->state != FWD_OPEN || nread == 0)
		return;
	if (nread == UV_ENOBUFS) {
		pump(ch); /* stops: the output is full, or the client's window closed */
		return;
	}
	if (nread == UV_EOF) {
		target_eof(ch);
		return;
	}
	if (nread < 0) {
		end_channel(ch, "the target's connection failed: %s", uv_strerror((int)nread));
		return;
	}
	m.len = (size_t)nread;
	ch->tx.credit -= m.len;
	ch->from_target += m.len;
	ch->fwd->conn->last_activity = uv_now(ch->fwd->conn->srv->loop);
	if (send_record(ch->fwd->conn, &m) && ch->fwd != NULL && ch->tx.credit == 0)
		pump(ch);
}

/* Reads the target while the channel may send: open, not at its end, with credit, and room in the output. */
static void
pump(struct fwd_chan *ch)
{
	bool want = ch->state == FWD_OPEN && !ch->sent_eof && ch->tx.credit > 0 && !ch->fwd->output_full;

	if (want == ch->reading)
		return;
	if (want && uv_read_start((uv_stream_t *)&ch->tcp, on_alloc, on_read) != 0)
		return;
	if (!want)
		uv_read_stop((uv_stream_t *)&ch->tcp);
	ch->reading = want;
}

static void
take_window(struct fwd_chan *ch, const struct chan_msg *m)
{
	if (ch->state == FWD_ENDED)
		return;
	ch->tx.credit += m->window;
	pump(ch);
}

/* The client's CLOSE: the channel ends now if it had not, and its id is free once ours is sent. */
static void
take_close(struct fwd_chan *ch)
{
	ch->got_close = true;
	if (ch->state != FWD_ENDED)
		end_channel(ch, "closed by the client");
	else if (ch->sent_close)
		table_remove(ch);
}

/* ---- The session's side ---- */

static struct fwd *
table_new(struct conn *c)
{
	struct fwd *f = calloc(1, sizeof(*f));

	if (f != NULL)
		f->conn = c;
	return f;
}

/*
 * Whether a record for an id that is not open may have crossed our REFUSE:
 * the client's early DATA and EOF, or its CLOSE, for an id it opened before.
 * Dropped; an id above every one opened was never a channel.
 */
static bool
stale(const struct fwd *f, const struct chan_msg *m)
{
	return (m->type == CHAN_DATA || m->type == CHAN_EOF || m->type == CHAN_CLOSE) && f->opened &&
	    m->id <= f->top_id;
}

static void
take_record(struct fwd *f, const struct chan_msg *m)
{
	struct fwd_chan *ch;

	if (m->type == CHAN_OPEN) {
		if (!f->opened || m->id > f->top_id)
			f->top_id = m->id;
		f->opened = true;
		open_channel(f, m);
		return;
	}
	if ((ch = lookup(f, m->id)) == NULL) {
		if (stale(f, m))
			return;
		broken(f->conn, "%s for channel %" PRIu32 ", which is not open", chan_type_name(m->type), m->id);
		return;
	}
	switch (m->type) {
	case CHAN_DATA:
		take_data(ch, m);
		break;
	case CHAN_EOF:
		take_eof(ch);
		break;
	case CHAN_CLOSE:
		take_close(ch);
		break;
	case CHAN_WINDOW:
		take_window(ch, m);
		break;
	default:
		break; /* the engine passes only the client's types */
	}
}

void
fwd_record(struct conn *c, const struct chan_msg *m)
{
	if (c->broken[0] != '\0' || c->phase != CONN_ESTABLISHED)
		return;
	if (c->fwd == NULL && (c->fwd = table_new(c)) == NULL) {
		if (m->type == CHAN_OPEN)
			send_refuse(c, m->id, CHAN_TOO_MANY, "the server is out of memory");
		else
			broken(c, "%s for channel %" PRIu32 ", which is not open", chan_type_name(m->type), m->id);
		return;
	}
	c->fwd->in_event = true;
	take_record(c->fwd, m);
	if (c->fwd != NULL)
		c->fwd->in_event = false;
}

void
fwd_drained(struct conn *c, size_t n)
{
	struct fwd_chan *ch, *next;

	if (c->fwd == NULL || !c->fwd->output_full || n >= FWD_OUTPUT_HIGH / 2)
		return;
	c->fwd->output_full = false;
	for (ch = c->fwd->chans; ch != NULL; ch = next) {
		next = ch->next;
		pump(ch);
	}
}

/* The session is gone: the channel closes its target and waits only for its handles. */
static void
detach(struct fwd_chan *ch, const char *why)
{
	struct conn *c = ch->fwd->conn;

	if (ch->state != FWD_ENDED) {
		ch->state = FWD_ENDED;
		close_target(ch);
		log_end(ch, c, why);
	}
	ch->fwd = NULL;
	ch->in_table = false;
	maybe_free(ch);
}

void
fwd_end(struct conn *c, const char *why)
{
	struct fwd *f = c->fwd;
	struct fwd_chan *ch, *next;
	char reason[256];

	if (f == NULL)
		return;
	snprintf(reason, sizeof(reason), "the session ended (%s)", why);
	for (ch = f->chans; ch != NULL; ch = next) {
		next = ch->next;
		detach(ch, reason);
	}
	c->fwd = NULL;
	free(f);
}
