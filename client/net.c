/* SPDX-License-Identifier: MIT */
/*
 * The client's side of the wire: connect, then run the engine over the socket.
 * The lab protocol is lock-step, so the client waits for each answer in place,
 * with a deadline and with the quiet period that ends unterminated messages;
 * it waits by turning the loop (loop.c), so that forwarded connections go on
 * moving meanwhile. Output leaves without blocking: what the socket does not
 * take waits in the engine until it does, and a server that takes nothing
 * for the whole timeout fails the session.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "client.h"
#include "describe.h"
#include "err.h"
#include "keylog.h"
#include "sock.h"

/* What the server sends is read in pieces of this size, at most this many per turn. */
#define READ_CHUNK (64 * 1024)
#define READS_PER_TURN 8

/* How far the engine was told that the server paused in the middle of a message. */
enum pause_told { TOLD_NOTHING, TOLD_QUIET, TOLD_STALLED };

struct session {
	const struct client_config *cfg;
	struct loop *loop;
	struct loop_watch *watch;
	struct engine *engine;
	int fd;
	char address[80];       /* the server's address:port */
	char local[80];         /* ours, for the key log */
	char cipher[64];
	unsigned long messages;
	uint64_t last_rekey;    /* when our direction was last keyed (secure profile) */
	uint64_t last_rx;       /* when the server last sent bytes: the lab's pause timers count from it */
	uint64_t tx_moved;      /* when output last moved or was empty: the send timeout counts from it */
	uint64_t last_tx;       /* when bytes last left for the server: the keepalive counts from it */
	enum pause_told told;
	bool negotiated;
	bool heard;             /* the server has sent at least one byte */
	bool waiting_reply;     /* a message is sent and its reply awaited: a close then means a rejection */
	bool eof;               /* the server closed its side after its CLOSE */
	bool finishing;         /* our CLOSE went out: the server's answers it (else it ended the session) */
	bool dead;              /* failed: failure says why */
	bool channels_done;     /* our channels are gone: records still in flight for them are ignored */
	struct failure failure;
	session_channel_fn *on_channel;
	session_end_fn *on_end;
	void *channel_arg;
	session_tunnel_fn *on_tunnel;
	void *tunnel_arg;
	uint8_t *early_config;  /* a CONFIG record that came before session_on_tunnel(), or NULL */
	size_t early_len;
};

static void
fail(struct failure *f, enum client_exit code, const char *token, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(struct failure *f, enum client_exit code, const char *token, const char *fmt, ...)
{
	va_list ap;

	f->exit = code;
	f->code = token;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

/* The session has failed: the first reason is the one kept, what follows is its consequence. */
static void
die(struct session *s, const struct failure *f)
{
	if (s->dead)
		return;
	s->dead = true;
	s->failure = *f;
}

/* ---- Connecting ---- */

/* Tries every address of host: the reference server listens on the host name's address, often 127.0.1.1. */
static int
connect_any(struct session *s, struct failure *f)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int r, err = 0;

	if ((r = getaddrinfo(s->cfg->host, s->cfg->port, &hints, &res)) != 0) {
		fail(f, r == EAI_SERVICE ? CLIENT_USAGE : CLIENT_NOHOST, "resolve", "cannot resolve %s port %s: %s",
		    s->cfg->host, s->cfg->port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s->fd = sock_connect(ai->ai_addr, ai->ai_addrlen, s->cfg->timeout_ms)) >= 0) {
			struct sockaddr_storage local;
			socklen_t len = sizeof(local);

			sock_format_address(ai->ai_addr, s->address, sizeof(s->address), NULL, 0);
			if (getsockname(s->fd, (struct sockaddr *)&local, &len) == 0)
				sock_format_address((struct sockaddr *)&local, s->local, sizeof(s->local), NULL, 0);
			break;
		}
		err = errno;
	}
	freeaddrinfo(res);
	if (s->fd < 0) {
		fail(f, CLIENT_UNAVAILABLE, "connect", "cannot connect to %s port %s: %s (is cvpn-server running?)",
		    s->cfg->host, s->cfg->port, strerror(err));
		return -1;
	}
	return 0;
}

/* ---- Running the engine ---- */

static void
engine_failure(struct session *s, int err, struct failure *f)
{
	fail(f, CLIENT_PROTOCOL, cvpn_errname(err), "protocol error while %s: %s", engine_phase(s->engine),
	    cvpn_strerror(err));
}

static void
die_engine(struct session *s, int err)
{
	struct failure f;

	engine_failure(s, err, &f);
	die(s, &f);
}

/*
 * A channel record from the server goes to whoever carries our channels. With
 * none, the server has no channel to speak of: it broke the protocol. Once
 * ours are gone (the session ends), records already in flight are ignored.
 */
static void
take_channel(struct session *s, const struct chan_msg *m)
{
	if (s->dead || s->channels_done)
		return;
	if (s->on_channel == NULL || s->on_channel(s->channel_arg, m) != 0)
		die_engine(s, CVPN_ERR_CHANNEL);
}

/*
 * IP tunnel records go to the tunnel. The server sends its CONFIG right
 * after the handshake, often in the same read as the handshake's end, before
 * session_open() returns and a handler can be set: that one is kept until
 * then. A session without a tunnel (a chat) has no use for the others.
 */
static void
take_tunnel(struct session *s, const struct engine_event *ev)
{
	uint8_t *copy;

	if (s->dead)
		return;
	if (s->on_tunnel != NULL) {
		s->on_tunnel(s->tunnel_arg, ev->status, ev->text, ev->text_len);
	} else if (ev->status == ENGINE_TUNNEL_CONFIG && (copy = malloc(ev->text_len)) != NULL) {
		memcpy(copy, ev->text, ev->text_len);
		free(s->early_config);
		s->early_config = copy;
		s->early_len = ev->text_len;
	}
}

static void
on_event(void *arg, const struct engine_event *ev)
{
	struct session *s = arg;

	if (ev->type == ENGINE_EV_CHANNEL) {
		take_channel(s, ev->chan);
		return;
	}
	if (ev->type == ENGINE_EV_TUNNEL) {
		take_tunnel(s, ev);
		return;
	}
	if (ev->type == ENGINE_EV_NEGOTIATED) {
		s->negotiated = true;
		describe_choice(ev, s->cipher, sizeof(s->cipher));
	}
	if (ev->type == ENGINE_EV_KEY && s->cfg->keylog && keylog_write(s->cfg->keylog, s->local, s->address, ev) != 0)
		report_warning("keylog", "cannot write the key log");
	report_event(NULL, ev);
}

/* What it means when the server closes the connection, by phase. */
static void
closed_failure(struct session *s, struct failure *f)
{
	size_t digits;

	if (s->cfg->engine.secure.enabled && engine_established(s->engine))
		fail(f, CLIENT_PROTOCOL, "truncated",
		    "server closed the connection without a CLOSE record: the session was truncated");
	else if (s->cfg->engine.secure.enabled && !s->negotiated && s->cfg->engine.secure.stealth)
		fail(f, CLIENT_NEGOTIATION, "stealth_refused",
		    "server closed the connection without a byte: a --stealth server does so to a client it "
		    "cannot verify (a wrong server key or PSK, our key not authorized), to a suite it does not "
		    "serve, or to an address it refuses; its log says which");
	else if (s->cfg->engine.secure.enabled && !s->negotiated)
		fail(f, CLIENT_NEGOTIATION, "no_suite",
		    "server closed the connection after our hello: it does not serve this mode (no key or PSK "
		    "for it, or a psk-mode client where only listed keys may connect) or suite, or it refused "
		    "our address (too many failed handshakes, or it is full), or it is a --stealth server, "
		    "which answers only a client that uses --stealth; its log says which");
	else if (s->cfg->engine.secure.enabled)
		fail(f, CLIENT_PROTOCOL, "handshake",
		    "server closed the connection during the handshake: wrong server key or PSK, our key "
		    "is not authorized, or a hello was changed in transit (see its log)");
	else if (!s->negotiated)
		fail(f, CLIENT_NEGOTIATION, "no_common_cipher",
		    "server closed the connection after our proposal: no cipher in common (try --ciphers), "
		    "it serves only the secure profile (give --server-key or --psk), or it refused our address "
		    "(too many failed handshakes, or it is full); its log says which");
	else if (!engine_established(s->engine))
		fail(f, CLIENT_PROTOCOL, "closed", "server closed the connection during the key exchange");
	else if (s->waiting_reply && engine_dh_cut(s->engine, &digits))
		fail(f, CLIENT_REJECTED, "bad_hmac",
		    "server closed the connection after message %lu: it rejected the message; the server's "
		    "Diffie-Hellman value stopped at %zu digits and was taken as it was, so it was most likely "
		    "cut short in transit and the two keys differ", s->messages, digits);
	else if (s->waiting_reply)
		fail(f, CLIENT_REJECTED, "bad_hmac",
		    "server closed the connection after message %lu: it rejected the message "
		    "(bad HMAC, or over its size limit?)", s->messages);
	else
		fail(f, CLIENT_UNAVAILABLE, "closed", "server closed the connection");
}

/*
 * The server ended the session first with its CLOSE: no truncation (the
 * record is authenticated), but not our choice either, so not a success.
 */
static void
ended_failure(const struct session *s, struct failure *f)
{
	char before[64] = "";

	if (s->waiting_reply)
		snprintf(before, sizeof(before), ", before answering message %lu", s->messages);
	fail(f, CLIENT_UNAVAILABLE, "server_ended", "server closed the connection: it ended the session with a "
	    "CLOSE record%s (a server closes idle sessions after its --idle-timeout, and all of them when it stops)",
	    before);
}

/* Sends what the socket takes now; the rest waits for the socket's next POLLOUT. */
static void
flush(struct session *s)
{
	const uint8_t *p;
	struct failure f;
	size_t n;
	ssize_t w;

	while (!s->dead) {
		engine_output(s->engine, &p, &n);
		if (n == 0) {
			s->tx_moved = loop_now_ms();
			return;
		}
		w = send(s->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			engine_output_consume(s->engine, (size_t)w);
			s->tx_moved = s->last_tx = loop_now_ms();
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			closed_failure(s, &f);
			die(s, &f);
		} else if (w < 0 && errno != EINTR) {
			fail(&f, CLIENT_UNAVAILABLE, "closed", "cannot send to the server: %s", strerror(errno));
			die(s, &f);
		}
	}
}

/* Reads once. Returns 1 after feeding bytes, 0 when there is nothing (more) to read, -1 once dead. */
static int
read_some(struct session *s)
{
	uint8_t buf[READ_CHUNK];
	struct failure f;
	ssize_t n;
	int r;

	n = recv(s->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	/* The server's close after the CLOSE exchange is the end it should be. */
	if (n == 0 && engine_closed(s->engine)) {
		s->eof = true;
		return 0;
	}
	if (n < 0 && errno != ECONNRESET) {
		fail(&f, CLIENT_UNAVAILABLE, "closed", "connection lost: %s", strerror(errno));
		die(s, &f);
		return -1;
	}
	/* A reset means the server closed on us before reading everything: the same as a close. */
	if (n <= 0) {
		closed_failure(s, &f);
		die(s, &f);
		return -1;
	}
	s->heard = true;
	s->last_rx = loop_now_ms();
	s->told = TOLD_NOTHING;
	if ((r = engine_feed(s->engine, buf, (size_t)n)) != 0) {
		die_engine(s, r);
		return -1;
	}
	if (engine_closed(s->engine) && !s->finishing) {
		ended_failure(s, &f);
		die(s, &f);
	}
	return s->dead ? -1 : 1;
}

static short
watch_events(void *arg)
{
	struct session *s = arg;
	const uint8_t *p;
	size_t n;

	if (s->dead)
		return 0;
	engine_output(s->engine, &p, &n);
	return (short)((s->eof ? 0 : POLLIN) | (n > 0 ? POLLOUT : 0));
}

static void
watch_ready(void *arg, short revents)
{
	struct session *s = arg;
	int i;

	if (revents & POLLOUT)
		flush(s);
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (i = 0; i < READS_PER_TURN && !s->eof; i++)
		if (read_some(s) <= 0)
			break;
}

/*
 * The timeout's message. A lab server that never answers the proposal most
 * likely reads lines (the course's 2025 solution): it waits for a newline
 * that --newline sends, and such a server also tags each message on its own.
 */
static void
timeout_failure(const struct session *s, struct failure *f)
{
	const char *hint = "";

	if (!s->heard && !s->cfg->engine.secure.enabled && s->cfg->engine.newline == ENGINE_NEWLINE_NEVER)
		hint = " (a server that waits for a newline after each handshake message, as the course's "
		    "2025 solution does, needs --newline, and then usually --hmac per-message)";
	else if (!s->heard && s->cfg->engine.secure.enabled && !s->cfg->engine.secure.stealth)
		hint = " (a --stealth server says nothing until the first handshake message: try --stealth)";
	fail(f, CLIENT_TIMEOUT, "timeout", "no answer from the server within %u ms while %s%s",
	    s->cfg->timeout_ms, engine_phase(s->engine), hint);
}

/*
 * When the engine is next due to hear of the server's pause, or UINT64_MAX:
 * first a short pause, which ends a message that may be whole, then the
 * partial timeout, which ends whatever came (docs/PROTOCOL.md).
 */
static uint64_t
pause_due(const struct session *s)
{
	if (!engine_partial(s->engine) || s->told == TOLD_STALLED)
		return UINT64_MAX;
	return s->last_rx + (s->told == TOLD_NOTHING ? s->cfg->quiet_ms : s->cfg->partial_timeout_ms);
}

/* Tells the engine of a pause that has come. */
static void
pause_tell(struct session *s, uint64_t t)
{
	int r;

	if (s->dead || t < pause_due(s))
		return;
	s->told = s->told == TOLD_NOTHING ? TOLD_QUIET : TOLD_STALLED;
	if ((r = s->told == TOLD_QUIET ? engine_quiet(s->engine) : engine_stalled(s->engine)) != 0)
		die_engine(s, r);
}

/* Output that has waited for the socket the whole timeout: the server takes nothing. */
static uint64_t
send_due(const struct session *s)
{
	const uint8_t *p;
	size_t n;

	engine_output(s->engine, &p, &n);
	return n > 0 ? s->tx_moved + s->cfg->timeout_ms : UINT64_MAX;
}

/* The Diffie-Hellman of a handshake runs in place; then the output leaves as far as it can. */
static void
progress(struct session *s)
{
	int r;

	if (!s->dead && engine_needs_work(s->engine)) {
		engine_work(s->engine);
		if ((r = engine_resume(s->engine)) != 0)
			die_engine(s, r);
	}
	flush(s);
}

static int rekey_due(struct session *s);

/*
 * When a forwarding session next sends a KEEPALIVE, or UINT64_MAX: after
 * --keepalive without sending anything, so that a session whose channels
 * are quiet (a user yet to come, an idle SSH session) outlives the server's
 * idle timeout. None is due while output waits for the socket: it counts
 * once it leaves.
 */
static uint64_t
keepalive_due(const struct session *s)
{
	if (s->cfg->keepalive_ms == 0 || !session_carries(s) || session_backlog(s) > 0)
		return UINT64_MAX;
	return s->last_tx + s->cfg->keepalive_ms;
}

/* Sends the KEEPALIVE that has come due (rekeying first when it is time, as before any record). */
static void
keepalive_tell(struct session *s, uint64_t t)
{
	int r;

	if (s->dead || t < keepalive_due(s) || rekey_due(s) != 0)
		return;
	if ((r = engine_keepalive(s->engine)) != 0) {
		die_engine(s, r);
		return;
	}
	s->last_tx = t;
	report_channel("keepalive -> (nothing sent for %u ms)", s->cfg->keepalive_ms);
}

static uint64_t
earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Milliseconds to wait from t until first, for poll(). */
static int
wait_ms(uint64_t t, uint64_t first)
{
	if (first == UINT64_MAX)
		return -1;
	return first <= t ? 0 : (int)(first - t > INT32_MAX ? INT32_MAX : first - t);
}

int
session_run(struct session *s, session_done_fn *done, void *arg, unsigned timeout_ms, struct failure *f)
{
	uint64_t deadline = timeout_ms ? loop_now_ms() + timeout_ms : UINT64_MAX, t;
	struct failure why;
	int ms;

	for (;;) {
		progress(s);
		if (s->dead) {
			*f = s->failure;
			return -1;
		}
		if (done(arg))
			return 0;
		if ((t = loop_now_ms()) >= deadline) {
			timeout_failure(s, &why);
			die(s, &why);
			continue;
		}
		if (t >= send_due(s)) {
			fail(&why, CLIENT_TIMEOUT, "timeout", "timed out sending to the server: it took nothing "
			    "for %u ms", s->cfg->timeout_ms);
			die(s, &why);
			continue;
		}
		ms = wait_ms(t, earliest(earliest(deadline, pause_due(s)), earliest(send_due(s), keepalive_due(s))));
		if (loop_turn(s->loop, ms) != 0) {
			fail(&why, CLIENT_IOERR, "poll", "poll: %s", strerror(errno));
			die(s, &why);
			continue;
		}
		pause_tell(s, loop_now_ms());
		keepalive_tell(s, loop_now_ms());
	}
}

static bool
is_established(void *arg)
{
	return engine_established(((struct session *)arg)->engine);
}

static bool
is_ready(void *arg)
{
	return engine_ready(((struct session *)arg)->engine);
}

static bool
is_closed(void *arg)
{
	return engine_closed(((struct session *)arg)->engine);
}

int
session_open(const struct client_config *cfg, struct loop *loop, struct session **out, struct failure *f)
{
	struct session *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL) {
		fail(f, CLIENT_SOFTWARE, "nomem", "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->loop = loop;
	s->fd = -1;
	if (connect_any(s, f) != 0)
		goto fail;
	report_connected(cfg->host, s->address);
	if ((r = engine_new(&cfg->engine, on_event, s, &s->engine)) != 0 || (r = engine_start(s->engine)) != 0 ||
	    (r = loop_watch(loop, s->fd, watch_events, watch_ready, s, &s->watch)) != 0) {
		fail(f, CLIENT_SOFTWARE, cvpn_errname(r), "%s", cvpn_strerror(r));
		goto fail;
	}
	s->last_rx = s->tx_moved = s->last_tx = loop_now_ms();
	if (session_run(s, is_established, s, cfg->timeout_ms, f) != 0)
		goto fail;
	s->last_rekey = loop_now_ms();
	*out = s;
	return 0;
fail:
	session_close(s);
	return -1;
}

/* Time-based rekey of our direction before we send; the count-based one happens inside the engine. */
static int
rekey_due(struct session *s)
{
	int r;

	if (!engine_is_secure(s->engine) || s->cfg->rekey_ms == 0 || loop_now_ms() - s->last_rekey < s->cfg->rekey_ms)
		return 0;
	if ((r = engine_rekey(s->engine)) != 0) {
		die_engine(s, r);
		return r;
	}
	s->last_rekey = loop_now_ms();
	return 0;
}

int
session_send(struct session *s, const char *text, size_t n, struct failure *f)
{
	int r;

	if (s->dead || rekey_due(s) != 0) {
		*f = s->failure;
		return -1;
	}
	r = engine_send(s->engine, (const uint8_t *)text, n);
	if (r == CVPN_ERR_MSG_TOO_LONG || r == CVPN_ERR_BAD_UTF8) {
		report_warning(cvpn_errname(r), r == CVPN_ERR_MSG_TOO_LONG ?
		    "message not sent: over the lab's 4032-byte limit (4096 bytes on the wire)" :
		    "message not sent: it is not valid UTF-8");
		return 1;
	}
	if (r != 0) {
		die_engine(s, r);
		*f = s->failure;
		return -1;
	}
	s->messages++;
	s->waiting_reply = true;
	r = session_run(s, is_ready, s, s->cfg->timeout_ms, f);
	s->waiting_reply = false;
	return r;
}

int
session_finish(struct session *s, struct failure *f)
{
	int r;

	/* Channels end before the session does: the local connections close, no record follows CLOSE. */
	if (s->on_end)
		s->on_end(s->channel_arg);
	s->channels_done = true;
	if (!s->cfg->engine.secure.enabled)
		return 0;
	if (s->dead) {
		*f = s->failure;
		return -1;
	}
	/* An authenticated close, so that neither side can be fooled by a cut connection. */
	s->finishing = true;
	if ((r = engine_close(s->engine)) != 0) {
		die_engine(s, r);
		*f = s->failure;
		return -1;
	}
	return session_run(s, is_closed, s, s->cfg->timeout_ms, f);
}

int
session_channel_send(struct session *s, const struct chan_msg *m)
{
	int r;

	if (s->dead)
		return CVPN_ERR_STATE;
	if ((r = rekey_due(s)) != 0)
		return r;
	r = engine_channel_send(s->engine, m);
	/* The caller's mistakes leave the session as it was; anything else has killed it. */
	if (r != 0 && r != CVPN_ERR_INVALID_ARG && r != CVPN_ERR_STATE && r != CVPN_ERR_NOT_SECURE)
		die_engine(s, r);
	return r;
}

int
session_tunnel_send(struct session *s, int type, const uint8_t *p, size_t n)
{
	int r;

	if (s->dead)
		return CVPN_ERR_STATE;
	if ((r = rekey_due(s)) != 0)
		return r;
	r = engine_tunnel_send(s->engine, (enum engine_tunnel)type, p, n);
	/* As for channels: the caller's mistakes leave the session as it was. */
	if (r != 0 && r != CVPN_ERR_INVALID_ARG && r != CVPN_ERR_STATE && r != CVPN_ERR_NOT_SECURE)
		die_engine(s, r);
	return r;
}

void
session_on_tunnel(struct session *s, session_tunnel_fn *fn, void *arg)
{
	s->on_tunnel = fn;
	s->tunnel_arg = arg;
	if (s->early_config != NULL && fn != NULL)
		fn(arg, ENGINE_TUNNEL_CONFIG, s->early_config, s->early_len);
	free(s->early_config);
	s->early_config = NULL;
}

void
session_on_channel(struct session *s, session_channel_fn *fn, session_end_fn *end, void *arg)
{
	s->on_channel = fn;
	s->on_end = end;
	s->channel_arg = arg;
}

bool
session_carries(const struct session *s)
{
	return !s->dead && !s->channels_done && engine_established(s->engine) && engine_is_secure(s->engine) &&
	    !engine_closed(s->engine);
}

size_t
session_backlog(const struct session *s)
{
	const uint8_t *p;
	size_t n;

	engine_output(s->engine, &p, &n);
	return n;
}

bool
session_failed(const struct session *s)
{
	return s->dead;
}

struct loop *
session_loop(const struct session *s)
{
	return s->loop;
}

void
session_status(const struct session *s, char *out, size_t len)
{
	snprintf(out, len, "connected to %s, cipher %s, %lu message%s sent", s->address, s->cipher,
	    s->messages, s->messages == 1 ? "" : "s");
}

void
session_close(struct session *s)
{
	if (s == NULL)
		return;
	if (s->watch)
		loop_unwatch(s->loop, s->watch);
	if (s->fd >= 0)
		close(s->fd);
	engine_free(s->engine);
	free(s->early_config);
	free(s);
}
