/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server's sessions: one libuv loop serves every connection, from its
 * admission (listener.c) to its close, and the process starts and ends here.
 * The only slow step, the 8192-bit Diffie-Hellman (and the secure
 * handshake's X25519), runs on the server's own workers (pool.c) so that it
 * never stalls other sessions; everything else (parsing, HMAC, CBC, AEAD) is
 * cheap and runs inline.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <openssl/rand.h>
#include <uv.h>

#include "chan.h"

/* A leak check for exit_now(), in an AddressSanitizer build (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define CVPN_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CVPN_LSAN 1
#endif
#endif
#ifdef CVPN_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include "conn.h"
#include "describe.h"
#include "err.h"
#include "forward.h"
#include "keylog.h"
#include "keys.h"
#include "pool.h"
#include "server.h"
#include "text.h"
#include "vpn.h"

/* How long a session the server ends waits for the client to take its CLOSE. */
#define DRAIN_MS 1000

/* A client that does not read its replies may make us hold this much before we drop it. */
#define MAX_PENDING_WRITE (64 * 1024)
/*
 * With channels, a client that reads slower than its destinations send
 * holds their output too, up to forward.c's mark and one record past it:
 * that is no reason to drop it, only to stop reading them for a while.
 */
#define MAX_PENDING_FORWARD (MAX_PENDING_WRITE + FWD_OUTPUT_HIGH + 2 * CHAN_PAYLOAD_MAX)

/* ---- Logging ---- */

static void
vlog_conn(FILE *f, const struct conn *c, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
vlog_conn(FILE *f, const struct conn *c, const char *fmt, va_list ap)
{
	/* Tag lines with the client id once more than one client is connected. */
	if (c && c->srv->nconns > 1)
		fprintf(f, "[%lu] ", c->id);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void
conn_log(const struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->srv->cfg->verbosity < 0)
		return;
	va_start(ap, fmt);
	vlog_conn(stdout, c, fmt, ap);
	va_end(ap);
}

void
conn_warn(const struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_conn(stderr, c, fmt, ap);
	va_end(ap);
}

static void
describe_cb(void *arg, const char *line)
{
	conn_log(arg, "%s", line);
}

/* ---- Connection lifecycle ---- */

/*
 * A close reason for the log. When the client's Diffie-Hellman value had to
 * be taken short at the partial timeout, the two sides' keys most likely
 * differ, and whatever fails next (a bad HMAC, a truncated message) says so.
 */
static const char *
with_hint(const struct conn *c, const char *reason)
{
	static char why[320];
	size_t digits;

	if (!engine_dh_cut(c->engine, &digits))
		return reason;
	snprintf(why, sizeof(why), "%s; the client's Diffie-Hellman value stopped at %zu digits and was taken "
	    "as it was after %u ms: most likely cut short in transit, so the two keys differ", reason, digits,
	    c->srv->cfg->partial_timeout_ms);
	return why;
}

/* The connection's handshake is over, either way: its global and per-source slots are free again. */
static void
handshake_over(struct conn *c)
{
	c->srv->nhandshakes--;
	if (c->source_slot)
		limits_end(c->srv->limits, c->source);
	c->source_slot = false;
}

/* Moves the connection on; leaving the handshake frees its slots. */
static void
conn_set_phase(struct conn *c, enum conn_phase phase)
{
	if (c->phase == CONN_HANDSHAKE && phase != CONN_HANDSHAKE)
		handshake_over(c);
	c->phase = phase;
}

/* Whether the handshake is over and the session was established (it may be ending now). */
static bool
established(const struct conn *c)
{
	return c->phase == CONN_ESTABLISHED || c->phase == CONN_DRAINING;
}

/* Whether the connection wants input: not while a worker owns the engine, nor once it ends. */
static bool
reading(const struct conn *c)
{
	return (c->phase == CONN_HANDSHAKE || c->phase == CONN_ESTABLISHED) && !c->working;
}

static void
conn_free(struct conn *c)
{
	struct server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	conn_set_phase(c, CONN_CLOSED); /* nothing left to do after conn_close */
	engine_free(c->engine);
	free(c);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles == 0 && !c->working)
		conn_free(c);
}

/* Why an established session is closed when it stayed idle: the one reason that is no failure. */
static const char idle_timeout[] = "idle timeout";

/*
 * Whether a close counts against the client's address: a failed handshake,
 * and a session that failed before the client proved it holds the key (its
 * first message or record), which is a failed handshake too.
 */
static bool
penalized(const struct conn *c, const char *reason)
{
	if (reason == NULL || c->srv->stopping || c->source[0] == '\0')
		return false;
	return c->phase == CONN_HANDSHAKE || (!engine_confirmed(c->engine) && reason != idle_timeout);
}

/* Logs why the connection closes, and counts it against the client's address when it is a failure. */
static void
log_failure(struct conn *c, const char *reason)
{
	/* engine_phase() only reads the state, which the worker never writes. */
	conn_warn(c, "Closing %s: %s (while %s)", c->peer, with_hint(c, reason), engine_phase(c->engine));
	if (penalized(c, reason) && limits_failure(c->srv->limits, c->source, uv_now(c->srv->loop)))
		conn_warn(c, "Penalty: %s failed %u handshakes; refused for a while", c->source,
		    c->srv->cfg->limits.max_failures);
}

/* The stealth reset is due: the unproven client learns nothing but a reset, and not at once. */
static void
on_reset_due(uv_timer_t *t)
{
	struct conn *c = t->data;

	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	if (uv_tcp_close_reset(&c->tcp, on_handle_closed) != 0)
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/*
 * Stealth: a client that never proved itself (docs/SECURE.md section 11) is
 * reset after 0.2-1.2 s at random, so that neither a byte nor the timing of
 * our verdict tells a scanner what it reached. A server that is stopping
 * resets at once.
 */
static void
stealth_reset(struct conn *c)
{
	uint8_t b[2] = { 0 };

	if (c->polled)
		uv_close((uv_handle_t *)&c->poll, on_handle_closed);
	(void)RAND_bytes(b, sizeof(b));
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->timer, on_reset_due, c->srv->stopping ? 0 : 200 + ((unsigned)b[0] << 8 | b[1]) % 1000, 0);
}

void
conn_close(struct conn *c, const char *reason)
{
	bool unproven = c->phase == CONN_HANDSHAKE;

	if (c->phase == CONN_CLOSED)
		return;
	if (reason)
		log_failure(c, reason);
	else if (!c->end_logged)
		conn_log(c, "Client %s disconnected", c->peer);
	conn_set_phase(c, CONN_CLOSED);
	fwd_end(c, reason ? reason : "the client disconnected");
	vpn_conn_end(c);
	if (c->working)
		atomic_store(&c->cancelled, true);
	if (unproven && c->srv->cfg->engine.secure.stealth) {
		stealth_reset(c);
		return;
	}
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	/* The poll handle stops watching the descriptor before the stream handle closes it. */
	if (c->polled)
		uv_close((uv_handle_t *)&c->poll, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_io(uv_poll_t *p, int status, int events);

/* Watches for input while the connection reads, and for room to write while output waits. Returns 0 or a libuv error. */
static int
conn_watch(struct conn *c)
{
	const uint8_t *p;
	size_t n;
	int want, r;

	/* While a worker owns the engine nothing may call it; on_io stops the watching if an event comes. */
	if (c->phase == CONN_CLOSED || !c->polled || c->working)
		return 0;
	engine_output(c->engine, &p, &n);
	want = (reading(c) ? UV_READABLE : 0) | (n > 0 ? UV_WRITABLE : 0);
	/* uv_poll_start and uv_poll_stop are system calls each time: only call them for a change. */
	if (want == c->watching)
		return 0;
	r = want ? uv_poll_start(&c->poll, want, on_io) : uv_poll_stop(&c->poll);
	if (r == 0)
		c->watching = want;
	return r;
}

/* A failed socket call as libuv names it ("connection reset by peer"). */
static const char *
sys_strerror(int err)
{
	return uv_strerror(uv_translate_sys_error(err));
}

/*
 * Sends whatever the engine has queued; what the socket cannot take now waits
 * there for UV_WRITABLE. A client may pipeline, so one batch of replies may
 * be large; only a client that left more than MAX_PENDING_WRITE waiting at
 * the last flush and still takes nothing is dropped. Output that waits when a
 * key exchange starts goes out after it: the engine is the worker's meanwhile.
 */
static void
conn_flush(struct conn *c)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;
	int r;

	for (;;) {
		engine_output(c->engine, &p, &n);
		if (n == 0 || c->phase == CONN_CLOSED)
			break;
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) > 0) {
			engine_output_consume(c->engine, (size_t)w);
		} else if (w == 0 || (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
			if (c->waiting > (c->fwd ? MAX_PENDING_FORWARD : MAX_PENDING_WRITE)) {
				conn_close(c, "client does not read its replies");
				return;
			}
			break;
		} else if (w < 0 && errno != EINTR) {
			conn_close(c, sys_strerror(errno));
			return;
		}
	}
	if (c->phase == CONN_CLOSED)
		return;
	c->waiting = n;
	fwd_drained(c, n);
	/* The last bytes are out after the secure profile's CLOSE (or ERROR): close() sends the FIN. */
	if (n == 0 && c->phase == CONN_DRAINING) {
		conn_close(c, NULL);
		return;
	}
	if ((r = conn_watch(c)) != 0)
		conn_close(c, uv_strerror(r));
}

static void conn_arm(struct conn *c);
static void conn_progress(struct conn *c);

static void
work_cb(void *job)
{
	struct conn *c = job;

	if (!atomic_load(&c->cancelled))
		engine_work(c->engine);
}

static void
done_cb(void *job)
{
	struct conn *c = job;
	int r;

	c->working = false;
	if (c->phase == CONN_CLOSED) {
		if (c->handles == 0)
			conn_free(c);
		return;
	}
	if ((r = engine_resume(c->engine)) != 0) {
		conn_close(c, cvpn_strerror(r));
		return;
	}
	conn_progress(c);
}

/* After the secure profile's CLOSE exchange: let the last record go out, then close. */
static void
conn_shutdown(struct conn *c)
{
	conn_set_phase(c, CONN_DRAINING);
	fwd_end(c, "the session closed");
	conn_flush(c);
}

void
conn_output(struct conn *c)
{
	conn_flush(c);
}

/* The end is logged: its channels end, the last record goes out, then it closes. */
static void
conn_drain(struct conn *c, const char *reason)
{
	c->end_logged = true;
	fwd_end(c, reason);
	conn_shutdown(c);
}

/*
 * Closes after an engine failure, first sending what the engine queued for
 * the peer (the secure profile's ERROR record), so that it learns why.
 */
static void
conn_fail(struct conn *c, const char *reason)
{
	const uint8_t *p;
	size_t n;

	engine_output(c->engine, &p, &n);
	if (n == 0 || c->phase != CONN_ESTABLISHED) {
		conn_close(c, reason);
		return;
	}
	log_failure(c, reason);
	conn_drain(c, reason);
}

/* A client that does not take our CLOSE in time: it is closed without waiting more. */
static void
on_drain_due(uv_timer_t *t)
{
	conn_close(t->data, NULL);
}

/*
 * The server ends a session that did nothing wrong (its idle timeout, its
 * shutdown). An established secure session gets our CLOSE first, so that
 * the client can tell this from a cut connection (a truncation), and closes
 * once it is written, or after DRAIN_MS (at once when stopping) for a client
 * that does not read. The lab has no records: it closes now, as does a
 * session still in its handshake.
 */
static void
conn_end(struct conn *c, const char *reason)
{
	const char *phase = engine_phase(c->engine);

	if (c->phase != CONN_ESTABLISHED || c->working || engine_close(c->engine) != 0) {
		conn_close(c, reason);
		return;
	}
	conn_warn(c, "Closing %s: %s (while %s); sent CLOSE", c->peer, reason, phase);
	conn_drain(c, reason);
	if (c->phase == CONN_DRAINING)
		uv_timer_start(&c->timer, on_drain_due, c->srv->stopping ? 0 : DRAIN_MS, 0);
}

/* After any engine call: send output, start pending work, note the handshake's end, re-arm timers. */
static void
conn_progress(struct conn *c)
{
	int r;

	conn_flush(c);
	if (c->phase == CONN_DRAINING || c->phase == CONN_CLOSED)
		return;
	if (engine_closed(c->engine)) {
		conn_shutdown(c);
		return;
	}
	if (c->phase == CONN_HANDSHAKE && engine_established(c->engine)) {
		conn_set_phase(c, CONN_ESTABLISHED);
		/* A tunnel client gets its configuration first thing; sending it may find the client gone. */
		vpn_conn_start(c);
		if (c->phase == CONN_CLOSED)
			return;
		c->last_rekey = uv_now(c->srv->loop);
	}
	if (engine_needs_work(c->engine)) {
		/*
		 * The engine belongs to the worker until done_cb: no engine call
		 * may race with it, and a client cannot queue more input behind
		 * its own key exchange. The socket stays registered, so a quiet
		 * key exchange costs the loop no system calls; on_io stops the
		 * watching if anything arrives meanwhile.
		 */
		if ((r = pool_submit(c->srv->pool, c)) < 0) {
			conn_close(c, r == UV_EAGAIN ? "too many key exchanges queued" : uv_strerror(r));
			return;
		}
		c->working = true;
	}
	conn_arm(c);
}

/* ---- Timers ---- */

/* When a secure session's keys are due for a time-based rekey (never for the lab). */
static uint64_t
rekey_at(const struct conn *c)
{
	if (!engine_is_secure(c->engine) || c->srv->cfg->rekey_ms == 0 || engine_closed(c->engine))
		return UINT64_MAX;
	return c->last_rekey + c->srv->cfg->rekey_ms;
}

/* When the engine is next due to hear that the client paused mid-handshake message, or UINT64_MAX. */
static uint64_t
pause_due(const struct conn *c)
{
	const struct server_config *cfg = c->srv->cfg;

	if (established(c) || c->working || !engine_partial(c->engine))
		return UINT64_MAX;
	switch (c->told) {
	case TOLD_NOTHING:
		return c->last_rx + cfg->quiet_ms;
	case TOLD_QUIET:
		return c->last_rx + cfg->partial_timeout_ms;
	default:
		return UINT64_MAX;
	}
}

/*
 * When an established session is closed for idling. Never for one that
 * carries the IP tunnel: its client may be quiet for hours, and the
 * socket's keepalives (vpn.c) tell a dead one.
 */
static uint64_t
idle_due(const struct conn *c)
{
	return c->vpn != NULL ? UINT64_MAX : c->last_activity + c->srv->cfg->idle_timeout_ms;
}

/* Picks the earliest deadline that applies now; see on_timer for what each means. */
static uint64_t
conn_deadline(const struct conn *c)
{
	const struct server_config *cfg = c->srv->cfg;
	uint64_t d;

	if (!established(c)) {
		d = c->started + cfg->handshake_timeout_ms;
		return pause_due(c) < d ? pause_due(c) : d;
	}
	d = engine_partial(c->engine) ? c->last_rx + cfg->partial_timeout_ms : idle_due(c);
	if (rekey_at(c) < d)
		d = rekey_at(c);
	return d;
}

static void
on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	const struct server_config *cfg = c->srv->cfg;
	uint64_t now = uv_now(c->srv->loop);
	int r;

	if (!established(c) && now >= c->started + cfg->handshake_timeout_ms) {
		conn_close(c, "handshake timeout");
	} else if (c->working) {
		conn_arm(c); /* no engine calls while the worker owns it */
	} else if (now >= pause_due(c)) {
		/*
		 * The client paused mid-handshake message: first briefly, which
		 * ends a message that may be whole, then for the partial timeout,
		 * which ends whatever it sent (docs/PROTOCOL.md).
		 */
		c->told++;
		if ((r = c->told == TOLD_QUIET ? engine_quiet(c->engine) : engine_stalled(c->engine)) != 0)
			conn_close(c, cvpn_strerror(r));
		else
			conn_progress(c);
	} else if (established(c) && now >= rekey_at(c)) {
		/* Our direction gets a fresh key; the client follows the REKEY record. */
		c->last_rekey = now;
		if ((r = engine_rekey(c->engine)) != 0) {
			conn_close(c, cvpn_strerror(r));
		} else {
			if (cfg->verbosity > 0)
				conn_log(c, "  rekey -> (the server's direction, after %u ms)", cfg->rekey_ms);
			conn_progress(c);
		}
	} else if (established(c) && engine_partial(c->engine) && now >= c->last_rx + cfg->partial_timeout_ms) {
		conn_close(c, "truncated message (the client stopped sending mid-message)");
	} else if (established(c) && !engine_partial(c->engine) && now >= idle_due(c)) {
		conn_end(c, idle_timeout);
	} else {
		conn_arm(c);
	}
}

static void
conn_arm(struct conn *c)
{
	uint64_t now = uv_now(c->srv->loop), d;

	if (c->phase == CONN_CLOSED)
		return;
	d = conn_deadline(c);
	/*
	 * A timer due no later than d can stay: if it fires early, on_timer finds
	 * nothing due and arms it again. Most messages only move the idle deadline
	 * later, so this spares a timer heap update per message.
	 */
	if (uv_is_active((uv_handle_t *)&c->timer) && now + uv_timer_get_due_in(&c->timer) <= d)
		return;
	uv_timer_start(&c->timer, on_timer, d > now ? d - now : 0, 0);
}

/* ---- Reading ---- */

/* The peer closed its side: how the session ended depends on where it was. */
static void
conn_eof(struct conn *c)
{
	if (engine_is_secure(c->engine) && established(c) && !engine_confirmed(c->engine))
		conn_close(c, "the client closed before its first record: it could not complete the handshake "
		    "(a PSK that differs from ours, or it expects another server key)");
	else if (engine_is_secure(c->engine) && established(c) && !engine_closed(c->engine))
		conn_close(c, "connection closed without a CLOSE record (truncated)");
	else if (engine_partial(c->engine))
		conn_close(c, "connection closed in the middle of a message");
	else if (!established(c))
		conn_close(c, "connection closed during the handshake");
	else
		conn_close(c, NULL);
}

/* The client broke the channel protocol (forward.c said how): the session ends, as for any record out of turn. */
static void
conn_channel_broken(struct conn *c)
{
	char why[sizeof(c->broken) + 64];

	snprintf(why, sizeof(why), "channel protocol broken by the peer: %s", c->broken);
	/* The client learns it was refused (an ERROR record goes out first) rather than seeing a cut. */
	(void)engine_refuse(c->engine, CVPN_ERR_CHANNEL);
	conn_fail(c, why);
}

/*
 * Reads what has arrived into the one buffer every connection shares (the
 * engine copies) and feeds it. Returns whether more may be there: false at
 * the end, after a failure, or when nothing was there.
 */
static bool
conn_read(struct conn *c)
{
	ssize_t n = recv(c->fd, c->srv->readbuf, sizeof(c->srv->readbuf), 0);
	int r;

	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c, sys_strerror(errno));
		return false;
	}
	if (n == 0) {
		conn_eof(c);
		return false;
	}
	c->last_rx = c->last_activity = uv_now(c->srv->loop);
	c->told = TOLD_NOTHING;
	if ((r = engine_feed(c->engine, (const uint8_t *)c->srv->readbuf, (size_t)n)) != 0) {
		conn_fail(c, cvpn_strerror(r));
		return false;
	}
	if (c->broken[0] != '\0') {
		conn_channel_broken(c);
		return false;
	}
	conn_progress(c);
	return true;
}

/*
 * libuv reports a socket error (POLLERR) as UV_EBADF and stops watching. As a
 * stream's read would, what arrived before the error is still taken (unless
 * the session no longer reads: it is draining its last output), and then
 * the socket names the error. The reads are bounded, 64 buffers, so that a
 * dead socket cannot hold the loop.
 */
static void
conn_socket_error(struct conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0, i;

	c->watching = 0;
	for (i = 0; i < 64 && reading(c) && conn_read(c); i++)
		;
	if (c->phase == CONN_CLOSED || c->working)
		return; /* done_cb watches again, and meets the error then */
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	conn_close(c, err ? sys_strerror(err) : "socket error");
}

static void
on_io(uv_poll_t *p, int status, int events)
{
	struct conn *c = p->data;

	if (c->phase == CONN_CLOSED)
		return;
	if (c->working) {
		/* Input or room to write while the worker owns the engine: wait for done_cb, without spinning. */
		uv_poll_stop(&c->poll);
		c->watching = 0;
		return;
	}
	if (status < 0) {
		conn_socket_error(c);
		return;
	}
	if (events & UV_WRITABLE)
		conn_flush(c);
	if ((events & UV_READABLE) && reading(c))
		conn_read(c);
}

/* ---- Engine events -> session log ---- */

static void
on_event(void *arg, const struct engine_event *ev)
{
	struct conn *c = arg;
	char name[64], *text;

	switch (ev->type) {
	case ENGINE_EV_PROPOSAL:
		conn_log(c, "Negotiating the cipher");
		break;
	case ENGINE_EV_NEGOTIATED:
		describe_choice(ev, name, sizeof(name));
		conn_log(c, "We are going to use %s%s", name, ev->protocol ? " (secure profile)" : "");
		break;
	case ENGINE_EV_DH_PEER:
		conn_log(c, "Negotiating the key");
		break;
	case ENGINE_EV_KEY:
		/*
		 * In the secure profile the client proves that its keys match ours
		 * only with its first record (with a wrong PSK in key mode it
		 * fails message 2 and never sends one): say it then.
		 */
		if (ev->protocol == NULL)
			conn_log(c, "The key has been established");
		if (c->srv->cfg->keylog && keylog_write(c->srv->cfg->keylog, c->peer, c->local, ev) != 0)
			conn_warn(c, "cannot write the key log: %s", strerror(errno));
		break;
	case ENGINE_EV_PEER:
		conn_log(c, "Client key: %.*s", (int)ev->text_len, (const char *)ev->text);
		/* For its permit= options and its channels' log lines. */
		if (keys_from_base64((const char *)ev->text, ev->text_len, c->client_key) == 0) {
			c->has_client_key = true;
			snprintf(c->client_name, sizeof(c->client_name), "%.*s", (int)ev->text_len, (const char *)ev->text);
		}
		break;
	case ENGINE_EV_TUNNEL:
		vpn_conn_record(c, ev);
		break;
	case ENGINE_EV_CHANNEL:
		fwd_record(c, ev->chan);
		break;
	case ENGINE_EV_CONFIRMED:
		if (ev->protocol != NULL)
			conn_log(c, "The key has been established");
		break;
	case ENGINE_EV_MESSAGE:
		if (c->srv->cfg->verbosity < 0)
			break;
		/* The secure profile exists so that only the two ends read the text: not the log, unless asked. */
		if (ev->protocol && !c->srv->cfg->log_messages) {
			conn_log(c, "Received a message");
			break;
		}
		/* Verified, but still the client's text: no terminal controls reach the log. */
		text = text_escape_dup(ev->text, ev->text_len);
		conn_log(c, "Received: %s", text ? text : "(out of memory)");
		free(text);
		break;
	default:
		break;
	}
	describe_event(ev, true, c->srv->cfg->verbosity, describe_cb, c);
}

/* ---- Starting ---- */

struct conn *
conn_new(struct server *s)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (engine_new(&s->cfg->engine, on_event, c, &c->engine) != 0) {
		free(c);
		return NULL;
	}
	c->srv = s;
	c->id = ++s->next_id;
	snprintf(c->peer, sizeof(c->peer), "?");
	snprintf(c->client_name, sizeof(c->client_name), "psk client");
	c->started = c->last_rx = c->last_activity = uv_now(s->loop);
	c->tcp.data = c->timer.data = c;
	if (uv_tcp_init(s->loop, &c->tcp) < 0) {
		engine_free(c->engine);
		free(c);
		return NULL;
	}
	/* A timer init cannot fail on a live loop; the tcp handle is closed with it regardless. */
	uv_timer_init(s->loop, &c->timer);
	c->handles = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->nhandshakes++;
	c->phase = CONN_HANDSHAKE;
	return c;
}

void
conn_begin(struct conn *c)
{
	int r;

	uv_tcp_nodelay(&c->tcp, 1);
	conn_log(c, "New client: %s", c->peer);
	if ((r = uv_fileno((uv_handle_t *)&c->tcp, &c->fd)) < 0 ||
	    (r = uv_poll_init_socket(c->srv->loop, &c->poll, c->fd)) < 0) {
		conn_close(c, uv_strerror(r));
		return;
	}
	c->poll.data = c;
	c->polled = true;
	c->handles++;
	if ((r = conn_watch(c)) < 0) {
		conn_close(c, uv_strerror(r));
		return;
	}
	conn_arm(c);
}

/* ---- Startup and shutdown ---- */

/*
 * How long shutdown waits for the workers to end. An idle worker ends at
 * once; one in the middle of an 8192-bit Diffie-Hellman cannot be stopped,
 * and at SCHED_IDLE on a busy machine it may not finish for as long as the
 * machine stays busy.
 */
#define POOL_GRACE_MS 250

/*
 * Ends the process without waiting for a worker that still computes a key
 * exchange nobody will read. exit() would run libcrypto's cleanup under the
 * worker's feet, so this is _exit() after flushing our output. A sanitizer
 * build checks for leaks first, as exit() would have (it stops every thread:
 * the workers have their normal priority back by now, see on_signal).
 */
static _Noreturn void
exit_now(void)
{
	fflush(NULL);
#ifdef CVPN_LSAN
	__lsan_do_leak_check();
#endif
	_exit(0);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;
	struct conn *c, *next;
	unsigned udp = vpn_udp_clients(s->vpn);
	char tunnel[64] = "";

	if (s->stopping)
		return;
	s->stopping = true;
	/* A tunnel's clients over UDP are no connections, but they are clients: count them too. */
	if (s->vpn != NULL)
		snprintf(tunnel, sizeof(tunnel), " and %u tunnel client%s over UDP", udp, udp == 1 ? "" : "s");
	if (s->cfg->verbosity >= 0)
		printf("Shutting down (%s), closing %u client%s%s\n", signum == SIGINT ? "SIGINT" : "SIGTERM",
		    s->nconns, s->nconns == 1 ? "" : "s", tunnel);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		conn_end(c, c->working ? "server shutting down; its key exchange is abandoned" : "server shutting down");
	}
	uv_close((uv_handle_t *)&s->listener, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	vpn_stop(s->vpn);
	pool_close(s->pool);
	/*
	 * A thread at SCHED_IDLE on a busy machine may wait seconds for a CPU,
	 * even to read its end of file or to die with the process: the workers
	 * get the normal priority back for the way out.
	 */
	pool_hurry(s->pool);
}

int
server_run(const struct server_config *cfg)
{
	static struct server s; /* the read buffer is large; keep it off the stack */
	char shown[80];
	int r;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.max_clients = listener_clamp_clients(cfg->max_clients);
	s.channel_room = listener_channel_room(s.max_clients);
	if ((s.limits = limits_new(&cfg->limits)) == NULL) {
		fprintf(stderr, "cvpn-server: out of memory\n");
		return UV_ENOMEM;
	}
	s.loop = uv_default_loop();
	/* A client that vanishes must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	uv_tcp_init(s.loop, &s.listener);
	s.listener.data = &s;
	if ((r = listener_bind(&s, shown, sizeof(shown))) < 0) {
		uv_close((uv_handle_t *)&s.listener, NULL);
		uv_run(s.loop, UV_RUN_NOWAIT);
		return r;
	}
	s.sigint.data = s.sigterm.data = &s;
	if ((r = uv_signal_init(s.loop, &s.sigint)) < 0 || (r = uv_signal_init(s.loop, &s.sigterm)) < 0 ||
	    (r = uv_signal_start(&s.sigint, on_signal, SIGINT)) < 0 ||
	    (r = uv_signal_start(&s.sigterm, on_signal, SIGTERM)) < 0) {
		fprintf(stderr, "cvpn-server: cannot handle signals: %s\n", uv_strerror(r));
		return r;
	}
	/* The tunnel opens what it needs, then gives up root before the workers start: capabilities are per thread. */
	if (cfg->vpn && ((r = vpn_start(&s, listener_port(&s))) != 0 || (r = vpn_drop(s.vpn)) != 0))
		return r < 0 ? r : UV_EPERM;
	if ((r = pool_new(s.loop, work_cb, done_cb, &s.pool)) < 0) {
		fprintf(stderr, "cvpn-server: cannot start the key exchange workers: %s\n", uv_strerror(r));
		return r;
	}
	if (cfg->verbosity >= 0)
		printf("Listening on %s\n", shown);
	if (s.vpn && (r = vpn_confine(s.vpn)) != 0)
		return UV_EPERM;
	uv_run(s.loop, UV_RUN_DEFAULT);
	vpn_free(s.vpn);
	uv_loop_close(s.loop);
	if (!pool_join(s.pool, POOL_GRACE_MS))
		exit_now();
	/* Connections closed while their key exchange ran: the workers are gone, so they are ours again. */
	while (s.conns != NULL)
		conn_free(s.conns);
	pool_free(s.pool);
	limits_free(s.limits);
	return 0;
}
