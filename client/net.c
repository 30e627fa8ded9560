/* SPDX-License-Identifier: MIT */
/*
 * The client's side of the wire: connect, then run the engine over the socket.
 * The lab protocol is lock-step, so the client simply waits for each answer,
 * with a deadline and with the quiet period that ends unterminated messages.
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
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "describe.h"
#include "err.h"
#include "keylog.h"
#include "sock.h"

struct session {
	const struct client_config *cfg;
	struct engine *engine;
	int fd;
	char address[80];       /* the server's address:port */
	char local[80];         /* ours, for the key log */
	char cipher[64];
	unsigned long messages;
	uint64_t last_rekey;     /* when our direction was last keyed (secure profile) */
	bool negotiated;
	bool heard;             /* the server has sent at least one byte */
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

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
on_event(void *arg, const struct engine_event *ev)
{
	struct session *s = arg;

	if (ev->type == ENGINE_EV_NEGOTIATED) {
		s->negotiated = true;
		describe_choice(ev, s->cipher, sizeof(s->cipher));
	}
	if (ev->type == ENGINE_EV_KEY && s->cfg->keylog && keylog_write(s->cfg->keylog, s->local, s->address, ev) != 0)
		report_warning("keylog", "cannot write the key log");
	report_event(NULL, ev);
}

static void
engine_failure(struct session *s, int err, struct failure *f)
{
	fail(f, CLIENT_PROTOCOL, cvpn_errname(err), "protocol error while %s: %s", engine_phase(s->engine),
	    cvpn_strerror(err));
}

/* What it means when the server closes the connection, by phase. */
static void
closed_failure(struct session *s, bool waiting_reply, struct failure *f)
{
	size_t digits;

	if (s->cfg->engine.secure.enabled && engine_established(s->engine))
		fail(f, CLIENT_PROTOCOL, "truncated",
		    "server closed the connection without a CLOSE record: the session was truncated");
	else if (s->cfg->engine.secure.enabled && !s->negotiated)
		fail(f, CLIENT_NEGOTIATION, "no_suite",
		    "server closed the connection after our hello: it does not serve this mode (no key or PSK "
		    "for it, or a psk-mode client where only listed keys may connect) or suite, or it refused "
		    "our address (too many failed handshakes, or it is full); its log says which");
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
	else if (waiting_reply && engine_dh_cut(s->engine, &digits))
		fail(f, CLIENT_REJECTED, "bad_hmac",
		    "server closed the connection after message %lu: it rejected the message; the server's "
		    "Diffie-Hellman value stopped at %zu digits and was taken as it was, so it was most likely "
		    "cut short in transit and the two keys differ", s->messages, digits);
	else if (waiting_reply)
		fail(f, CLIENT_REJECTED, "bad_hmac",
		    "server closed the connection after message %lu: it rejected the message "
		    "(bad HMAC, or over its size limit?)", s->messages);
	else
		fail(f, CLIENT_UNAVAILABLE, "closed", "server closed the connection");
}

static int
flush(struct session *s, struct failure *f)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

	for (;;) {
		engine_output(s->engine, &p, &n);
		if (n == 0)
			return 0;
		w = send(s->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			engine_output_consume(s->engine, (size_t)w);
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (poll(&pfd, 1, (int)s->cfg->timeout_ms) <= 0) {
				fail(f, CLIENT_TIMEOUT, "timeout", "timed out sending to the server");
				return -1;
			}
		} else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			closed_failure(s, false, f);
			return -1;
		} else if (w < 0 && errno != EINTR) {
			fail(f, CLIENT_UNAVAILABLE, "closed", "cannot send to the server: %s", strerror(errno));
			return -1;
		}
	}
}

/* Reads once. Returns 1 after feeding bytes, 0 on EAGAIN, -1 with *f on EOF or failure. */
static int
read_some(struct session *s, bool waiting_reply, struct failure *f)
{
	uint8_t buf[8192];
	ssize_t n;
	int r;

	n = recv(s->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0 && errno != ECONNRESET) {
		fail(f, CLIENT_UNAVAILABLE, "closed", "connection lost: %s", strerror(errno));
		return -1;
	}
	/* A reset means the server closed on us before reading everything: the same as a close. */
	if (n <= 0) {
		closed_failure(s, waiting_reply, f);
		return -1;
	}
	s->heard = true;
	if ((r = engine_feed(s->engine, buf, (size_t)n)) != 0) {
		engine_failure(s, r, f);
		return -1;
	}
	return 1;
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
	fail(f, CLIENT_TIMEOUT, "timeout", "no answer from the server within %u ms while %s%s",
	    s->cfg->timeout_ms, engine_phase(s->engine), hint);
}

typedef bool done_fn(const struct engine *e);

/* How far the engine was told that the server paused in the middle of a message. */
enum pause_told { TOLD_NOTHING, TOLD_QUIET, TOLD_STALLED };

/*
 * When the engine is next due to hear of the server's pause, or UINT64_MAX:
 * first a short pause, which ends a message that may be whole, then the
 * partial timeout, which ends whatever came (docs/PROTOCOL.md).
 */
static uint64_t
pause_due(const struct session *s, uint64_t last_rx, enum pause_told told)
{
	if (!engine_partial(s->engine) || told == TOLD_STALLED)
		return UINT64_MAX;
	return last_rx + (told == TOLD_NOTHING ? s->cfg->quiet_ms : s->cfg->partial_timeout_ms);
}

/* Runs the engine until done() holds, the deadline passes, or something fails. */
static int
run_until(struct session *s, done_fn *done, bool waiting_reply, struct failure *f)
{
	uint64_t deadline = now_ms() + s->cfg->timeout_ms, last_rx = now_ms(), t, due;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	enum pause_told told = TOLD_NOTHING;
	int r, wait;

	for (;;) {
		if (engine_needs_work(s->engine)) {
			engine_work(s->engine);
			if ((r = engine_resume(s->engine)) != 0) {
				engine_failure(s, r, f);
				return -1;
			}
		}
		if (flush(s, f) != 0)
			return -1;
		if (done(s->engine))
			return 0;
		if ((t = now_ms()) >= deadline) {
			timeout_failure(s, f);
			return -1;
		}
		wait = (int)(deadline - t);
		if ((due = pause_due(s, last_rx, told)) < deadline)
			wait = due > t ? (int)(due - t) : 0;
		if ((r = poll(&pfd, 1, wait)) < 0 && errno != EINTR) {
			fail(f, CLIENT_IOERR, "poll", "poll: %s", strerror(errno));
			return -1;
		}
		if (r > 0) {
			if ((r = read_some(s, waiting_reply, f)) < 0)
				return -1;
			if (r > 0) {
				last_rx = now_ms();
				told = TOLD_NOTHING;
			}
		} else if (r == 0 && now_ms() >= pause_due(s, last_rx, told)) {
			told = told == TOLD_NOTHING ? TOLD_QUIET : TOLD_STALLED;
			if ((r = told == TOLD_QUIET ? engine_quiet(s->engine) : engine_stalled(s->engine)) != 0) {
				engine_failure(s, r, f);
				return -1;
			}
		}
	}
}

int
session_open(const struct client_config *cfg, struct session **out, struct failure *f)
{
	struct session *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL) {
		fail(f, CLIENT_SOFTWARE, "nomem", "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->fd = -1;
	if (connect_any(s, f) != 0)
		goto fail;
	report_connected(cfg->host, s->address);
	if ((r = engine_new(&cfg->engine, on_event, s, &s->engine)) != 0 || (r = engine_start(s->engine)) != 0) {
		fail(f, CLIENT_SOFTWARE, cvpn_errname(r), "%s", cvpn_strerror(r));
		goto fail;
	}
	if (run_until(s, engine_established, false, f) != 0)
		goto fail;
	s->last_rekey = now_ms();
	*out = s;
	return 0;
fail:
	session_close(s);
	return -1;
}

int
session_send(struct session *s, const char *text, size_t n, struct failure *f)
{
	int r;

	/* Time-based rekey of our direction; the count-based one happens inside the engine. */
	if (engine_is_secure(s->engine) && s->cfg->rekey_ms && now_ms() - s->last_rekey >= s->cfg->rekey_ms) {
		if ((r = engine_rekey(s->engine)) != 0) {
			engine_failure(s, r, f);
			return -1;
		}
		s->last_rekey = now_ms();
	}
	r = engine_send(s->engine, (const uint8_t *)text, n);

	if (r == CVPN_ERR_MSG_TOO_LONG || r == CVPN_ERR_BAD_UTF8) {
		report_warning(cvpn_errname(r), r == CVPN_ERR_MSG_TOO_LONG ?
		    "message not sent: over the lab's 4032-byte limit (4096 bytes on the wire)" :
		    "message not sent: it is not valid UTF-8");
		return 1;
	}
	if (r != 0) {
		engine_failure(s, r, f);
		return -1;
	}
	s->messages++;
	return run_until(s, engine_ready, true, f);
}

int
session_finish(struct session *s, struct failure *f)
{
	int r;

	if (!s->cfg->engine.secure.enabled)
		return 0;
	/* An authenticated close, so that neither side can be fooled by a cut connection. */
	if ((r = engine_close(s->engine)) != 0) {
		engine_failure(s, r, f);
		return -1;
	}
	return run_until(s, engine_closed, false, f);
}

int
session_fd(const struct session *s)
{
	return s->fd;
}

int
session_poll_input(struct session *s, struct failure *f)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	int r;

	while (poll(&pfd, 1, 0) > 0)
		if ((r = read_some(s, false, f)) <= 0)
			return r;
	return 0;
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
	if (s->fd >= 0)
		close(s->fd);
	engine_free(s->engine);
	free(s);
}
