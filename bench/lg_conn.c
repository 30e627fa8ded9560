/* SPDX-License-Identifier: MIT */
/*
 * One client connection of the load generator, of six kinds:
 *
 * - plain: sends the message and waits for the same number of bytes back
 *   (the TCP echo baseline);
 * - engine: a real client engine of common/ (lab or secure profile) run over
 *   the socket the way client/net.c does it, but non-blocking;
 * - record: a lab or secure session whose handshake the engine runs; after
 *   it, each message is sealed with the session's own record layer (lab:
 *   common/record.c; secure: common/secrec.c with the session's ciphers) and
 *   the reply checked byte for byte against the one the server gives (its
 *   prefix and the reversed message). The round trips of rtt and throughput
 *   then hold the server's work and the client's crypto, not the engine's
 *   per-message bookkeeping on the client (a check of the text, the
 *   expected reply built again, events), which --client engine measures
 *   instead. A secure session still ends with the engine's CLOSE exchange;
 * - primitives: sends the length of its messages' ciphertext once, then
 *   each message sealed with bench/labprim.c (the lab's crypto alone), and
 *   waits for the decrypted message back (echo --lab-primitives);
 * - secure primitives: the same with bench/secprim.c, the secure profile's
 *   crypto alone: each message a sealed record, each reply one to open
 *   (echo --secure-primitives);
 * - scripted: the lab handshake alone, for handshake floods. It sends a
 *   DHMKE value taken from a small pool computed at startup from fixed
 *   private exponents and never derives the shared secret. A full lab client
 *   pays two 8192-bit exponentiations per handshake, as much as the server,
 *   so with one core each the load generator would measure itself; the
 *   scripted client pays none and the server still does all of its work (a
 *   fresh key pair and the derivation for every session). Every Nth session
 *   of a flood (--verify-every) is a full engine session that sends one
 *   message, which proves the server's sessions really work.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dh.h"
#include "err.h"
#include "lab_wire.h"
#include "loadgen.h"
#include "noise.h"
#include "secrec.h"
#include "secure_wire.h"
#include "sock.h"

/* The pause that ends an unterminated message (the client's default). */
#define QUIET_US 150000
/* Nothing the server sends in a handshake is longer than this. */
#define SCRIPTED_MAX_IN 8192
#define PROPOSAL_LINE LAB_PROPOSAL ":AES:[256]\n"

static void
conn_fail(struct lg_conn *c, const char *why)
{
	lg_conn_end(c, LG_EV_FAILED, why);
}

/* Arms or disarms EPOLLOUT. Returns 0, or -1 after failing c. */
static int
want_output(struct lg_conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

	if (c->epollout == out)
		return 0;
	c->epollout = out;
	if (epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		return 0;
	conn_fail(c, strerror(errno));
	return -1;
}

/* What to send next: the engine's output first (true), then c->out (false). */
static bool
next_output(struct lg_conn *c, const uint8_t **p, size_t *n)
{
	*n = 0;
	if (c->engine)
		engine_output(c->engine, p, n);
	if (*n > 0)
		return true;
	*p = c->out.data;
	*n = c->out.len;
	return false;
}

/* Sends what is queued. Returns 0, or -1 after failing c. */
static int
flush(struct lg_conn *c)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;
	bool engine;

	for (;;) {
		engine = next_output(c, &p, &n);
		if (n == 0)
			return want_output(c, false);
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) > 0) {
			if (engine)
				engine_output_consume(c->engine, (size_t)w);
			else
				buf_consume(&c->out, (size_t)w);
		} else if (w < 0 && errno == EAGAIN) {
			return want_output(c, true);
		} else if (w < 0 && errno != EINTR) {
			conn_fail(c, strerror(errno));
			return -1;
		}
	}
}

static void
emit(struct lg_conn *c, enum lg_event ev)
{
	c->loop->fn(c->loop->arg, c, ev);
}

static void
established(struct lg_conn *c)
{
	c->state = LG_READY;
	c->handshake_us = lg_now_us() - c->opened_us;
	emit(c, LG_EV_ESTABLISHED);
}

static void
replied(struct lg_conn *c)
{
	c->state = LG_READY;
	c->rtt_us = lg_now_us() - c->sent_us;
	emit(c, LG_EV_REPLY);
}

/* ---- Engine sessions ---- */

static void
on_engine_event(void *arg, const struct engine_event *ev)
{
	struct lg_conn *c = arg;

	/* The runs measure cvpn-server's own reply: a bare one (another server's style) is wrong here. */
	if (ev->type == ENGINE_EV_REPLY && (ev->status != 0 || ev->bare))
		c->bad_reply = true;
}

/* Runs pending work, sends output, and reports the state changes that matter to the mode. */
static void
engine_pump(struct lg_conn *c)
{
	int r;

	/* Client-side DH runs inline: only the few full lab sessions of a run need it. */
	while (engine_needs_work(c->engine)) {
		engine_work(c->engine);
		if ((r = engine_resume(c->engine)) != 0) {
			conn_fail(c, cvpn_strerror(r));
			return;
		}
	}
	if (flush(c) != 0)
		return;
	if (c->state == LG_HANDSHAKE && engine_established(c->engine))
		established(c);
	else if (c->state == LG_WAITING && engine_ready(c->engine) && c->bad_reply)
		conn_fail(c, "the reply was not the reversed message");
	else if (c->state == LG_WAITING && engine_ready(c->engine))
		replied(c);
	else if (c->state == LG_CLOSING && engine_closed(c->engine))
		lg_conn_end(c, LG_EV_CLOSED, NULL);
}

static void
engine_input(struct lg_conn *c, const uint8_t *p, size_t n)
{
	int r;

	if ((r = engine_feed(c->engine, p, n)) != 0)
		conn_fail(c, cvpn_strerror(r));
	else
		engine_pump(c);
}

/* ---- Scripted lab handshakes ---- */

static void
scripted_start(struct lg_conn *c)
{
	if (buf_append(&c->out, PROPOSAL_LINE, strlen(PROPOSAL_LINE), SCRIPTED_MAX_IN) != 0) {
		conn_fail(c, "out of memory");
		return;
	}
	flush(c);
}

/* Takes one '\n'-terminated line from the server. Returns 1 with it in c->in[0..*len), 0 if incomplete. */
static int
scripted_line(struct lg_conn *c, size_t *len)
{
	const uint8_t *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;

	if (nl == NULL)
		return 0;
	*len = (size_t)(nl - c->in.data);
	return 1;
}

/* Whether line[0..len) starts with keyword and the separator. */
static bool
keyword_line(const uint8_t *line, size_t len, const char *keyword)
{
	size_t k = strlen(keyword);

	return len > k && memcmp(line, keyword, k) == 0 && line[k] == LAB_SEPARATOR;
}

static void
scripted_input(struct lg_conn *c, const uint8_t *p, size_t n)
{
	const struct lg_setup *s = c->loop->setup;
	size_t len;

	if (buf_append(&c->in, p, n, SCRIPTED_MAX_IN) != 0) {
		conn_fail(c, "the server sent too much");
		return;
	}
	while (c->state == LG_HANDSHAKE && scripted_line(c, &len)) {
		if (c->step == 0) {
			if (!keyword_line(c->in.data, len, LAB_CHOICE)) {
				conn_fail(c, "no ChosenCipher line from the server");
				return;
			}
			buf_consume(&c->in, len + 1);
			c->step = 1;
			if (buf_append(&c->out, s->dhmke[c->pool], s->dhmke_len[c->pool], SCRIPTED_MAX_IN) != 0) {
				conn_fail(c, "out of memory");
				return;
			}
			if (flush(c) != 0)
				return;
			continue;
		}
		/* The server's value is checked as a client must (digits, 2 <= y <= p-2), not used. */
		if (!keyword_line(c->in.data, len, LAB_DHMKE) ||
		    dh_check_public(c->in.data + strlen(LAB_DHMKE) + 1, len - strlen(LAB_DHMKE) - 1) != 0) {
			conn_fail(c, "no valid DHMKE line from the server");
			return;
		}
		buf_consume(&c->in, len + 1);
		established(c);
	}
}

/* ---- Counted replies: plain echo, primitives and record kinds ---- */

/* Takes n reply bytes; unless expect is NULL, they must be the next n of the expected reply. */
static void
counted_input(struct lg_conn *c, const uint8_t *p, size_t n, const uint8_t *expect)
{
	if (c->state != LG_WAITING || n > c->due) {
		conn_fail(c, "the server sent bytes nobody asked for");
		return;
	}
	if (expect != NULL && memcmp(p, expect, n) != 0) {
		conn_fail(c, "the reply was not the reversed message");
		return;
	}
	if ((c->due -= n) == 0)
		replied(c);
}

/* The primitives kinds open with what the echo needs to know: lengths (and the secure suite). */
static void
primitives_start(struct lg_conn *c)
{
	const struct lg_opts *o = c->loop->setup->o;
	uint32_t ct = (uint32_t)labprim_ct_len(o->size);
	uint8_t head[SECPRIM_HEAD] = { (uint8_t)(ct >> 24), (uint8_t)(ct >> 16), (uint8_t)(ct >> 8), (uint8_t)ct };
	size_t len = 4;

	if (c->kind == LG_KIND_SECURE_PRIMITIVES) {
		secprim_head(o->suites.suites[0], o->size, head);
		len = SECPRIM_HEAD;
	}
	if (buf_append(&c->out, head, len, (size_t)1 << 20) != 0) {
		conn_fail(c, "out of memory");
		return;
	}
	if (flush(c) == 0)
		established(c);
}

/*
 * Opens the secure record of body bytes at the start of c->in with the
 * session's receiving cipher, as the client engine would: a REPLY must be the
 * expected one and due, a REKEY rekeys that cipher, a KEEPALIVE is nothing.
 * Returns the record's type, or -1 after failing c.
 */
static int
secure_record(struct lg_conn *c, size_t body)
{
	const struct lg_setup *s = c->loop->setup;
	struct noise_cipher *tx, *rx;
	const uint8_t *pt;
	size_t len;
	int type;

	if (engine_secure_transport(c->engine, &tx, &rx) != 0 || secrec_open(rx, c->in.data, body, &type, &pt, &len) != 0) {
		conn_fail(c, "the reply did not open");
		return -1;
	}
	switch (type) {
	case SECREC_REPLY:
		if (c->state != LG_WAITING) {
			conn_fail(c, "the server sent a reply nobody asked for");
			return -1;
		}
		if (len != s->reply_len || memcmp(pt, s->reply, len) != 0) {
			conn_fail(c, "the reply was not the reversed message");
			return -1;
		}
		return type;
	case SECREC_REKEY:
		if (noise_cipher_rekey(rx) != 0) {
			conn_fail(c, "a libcrypto call failed");
			return -1;
		}
		return type;
	case SECREC_KEEPALIVE:
		return type;
	case SECREC_ERROR:
		conn_fail(c, "the server refused the session");
		return -1;
	default:
		conn_fail(c, "the server sent a record out of turn");
		return -1;
	}
}

/*
 * Secure records, of the record and secure primitives kinds: takes bytes
 * until a record is whole, then opens it. The record kind takes records
 * between replies too (a REKEY may follow the last reply); the primitives'
 * echo sends nothing but replies of the length due.
 */
static void
framed_input(struct lg_conn *c, const uint8_t *p, size_t n)
{
	const struct lg_setup *s = c->loop->setup;
	bool primitives = c->kind == LG_KIND_SECURE_PRIMITIVES;
	size_t body;
	int type;

	if ((primitives && c->state != LG_WAITING) || buf_append(&c->in, p, n, (size_t)1 << 16) != 0) {
		conn_fail(c, "the server sent bytes nobody asked for");
		return;
	}
	while ((c->state == LG_WAITING || c->state == LG_READY) && c->in.len >= 2) {
		/* Nothing longer than the reply is due (a REKEY or KEEPALIVE is shorter). */
		body = secure_wire_get16(c->in.data);
		if (primitives ? body != c->due : 2 + body > secrec_wire_len(s->reply_len)) {
			conn_fail(c, "the reply did not open");
			return;
		}
		if (c->in.len < 2 + body)
			return;
		if (!primitives) {
			if ((type = secure_record(c, body)) < 0)
				return;
		} else if (secprim_open(c->sprim, c->in.data, body) == 0) {
			type = SECREC_REPLY;
		} else {
			conn_fail(c, "the reply did not open");
			return;
		}
		buf_consume(&c->in, 2 + body);
		if (type == SECREC_REPLY)
			replied(c);
	}
}

/* The wire length of the run's message in c's kind, and the reply's length due (secure record kind: 0, it is framed). */
static size_t
wire_len(const struct lg_conn *c, size_t *due)
{
	const struct lg_setup *s = c->loop->setup;
	size_t request = 0, reply = 0;

	switch (c->kind) {
	case LG_KIND_PRIMITIVES:
		*due = labprim_ct_len(s->o->size);
		return *due + LABPRIM_TAG;
	case LG_KIND_SECURE_PRIMITIVES:
		(void)secprim_lengths(s->o->size, &request, &reply);
		*due = reply;
		return 2 + request;
	default:
		break;
	}
	if (engine_is_secure(c->engine)) {
		*due = 0;
		return secrec_wire_len(s->o->size);
	}
	*due = s->reply_len;
	return record_wire_len(s->o->size);
}

/*
 * Seals the run's message into c->out: with bench/labprim.c (whose echo
 * answers the decrypted message, block-padded), bench/secprim.c, or the
 * session's own records (the server answers its usual reply). Returns 0 or
 * -1 after failing c.
 */
static int
sealed_send(struct lg_conn *c)
{
	const struct lg_setup *s = c->loop->setup;
	struct record *rec = NULL;
	struct noise_cipher *tx = NULL, *rx;
	size_t wire, due;
	uint8_t *p;
	int r;

	if (c->kind == LG_KIND_RECORD && (rec = engine_lab_record(c->engine)) == NULL &&
	    engine_secure_transport(c->engine, &tx, &rx) != 0) {
		conn_fail(c, "no established session to seal with");
		return -1;
	}
	wire = wire_len(c, &due);
	if (buf_reserve(&c->out, wire, (size_t)1 << 20, &p) != 0) {
		conn_fail(c, "out of memory");
		return -1;
	}
	if (c->kind == LG_KIND_PRIMITIVES) {
		r = labprim_seal(c->prim, s->message, s->o->size, p);
	} else if (c->kind == LG_KIND_SECURE_PRIMITIVES) {
		memcpy(p + 2, s->message, s->o->size);
		memset(p + 2 + s->o->size, 0, wire - 2 - AEAD_TAG_LEN - s->o->size);
		r = secprim_seal(c->sprim, p, wire - 2);
	} else if (rec != NULL) {
		r = record_seal(rec, s->message, s->o->size, p);
	} else {
		r = secrec_seal(tx, SECREC_DATA, s->message, s->o->size, p);
	}
	if (r != 0) {
		buf_unreserve(&c->out, wire);
		conn_fail(c, "a libcrypto call failed");
		return -1;
	}
	c->due = due;
	return flush(c);
}

/* ---- Connection ---- */

/*
 * Whether the engine takes c's input: always for the engine kind; for the
 * record kind during the handshake and the secure CLOSE exchange.
 */
static bool
engine_reads(const struct lg_conn *c)
{
	return c->kind == LG_KIND_ENGINE ||
	    (c->kind == LG_KIND_RECORD && (c->state == LG_HANDSHAKE || c->state == LG_CLOSING));
}

static void
connected(struct lg_conn *c)
{
	int err = 0, r;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		conn_fail(c, strerror(err ? err : errno));
		return;
	}
	c->state = LG_HANDSHAKE;
	c->deadline_us = lg_now_us() + (uint64_t)c->loop->setup->o->timeout_ms * 1000;
	switch (c->kind) {
	case LG_KIND_PLAIN:
		if (want_output(c, false) == 0)
			established(c);
		break;
	case LG_KIND_ENGINE:
	case LG_KIND_RECORD:
		if ((r = engine_start(c->engine)) != 0)
			conn_fail(c, cvpn_strerror(r));
		else
			engine_pump(c);
		break;
	case LG_KIND_SCRIPTED:
		scripted_start(c);
		break;
	case LG_KIND_PRIMITIVES:
	case LG_KIND_SECURE_PRIMITIVES:
		primitives_start(c);
		break;
	}
}

static void
readable(struct lg_conn *c)
{
	struct lg_loop *l = c->loop;
	ssize_t n = recv(c->fd, l->rxbuf, sizeof(l->rxbuf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		conn_fail(c, strerror(errno));
		return;
	}
	if (n == 0) {
		conn_fail(c, c->state == LG_HANDSHAKE ? "the server closed during the handshake" :
		    "the server closed the connection");
		return;
	}
	c->rx_us = l->now_us;
	c->quiet_done = false;
	if (engine_reads(c))
		engine_input(c, l->rxbuf, (size_t)n);
	else if (c->kind == LG_KIND_SCRIPTED)
		scripted_input(c, l->rxbuf, (size_t)n);
	else if (c->kind == LG_KIND_SECURE_PRIMITIVES || (c->kind == LG_KIND_RECORD && engine_is_secure(c->engine)))
		framed_input(c, l->rxbuf, (size_t)n);
	else if (c->kind == LG_KIND_RECORD)
		counted_input(c, l->rxbuf, (size_t)n, l->setup->reply + (l->setup->reply_len - c->due));
	else
		counted_input(c, l->rxbuf, (size_t)n, NULL);
}

void
lg_conn_io(struct lg_conn *c, uint32_t events)
{
	if (c->state == LG_CONNECTING) {
		connected(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		readable(c);
	if (c->state != LG_DEAD && (events & EPOLLOUT))
		flush(c);
}

void
lg_conn_timers(struct lg_conn *c)
{
	uint64_t now = c->loop->now_us;
	int r;

	if (c->state != LG_READY && now >= c->deadline_us) {
		conn_fail(c, c->state == LG_CONNECTING ? "timeout while connecting" :
		    c->state == LG_HANDSHAKE ? "timeout in the handshake" :
		    c->state == LG_WAITING ? "timeout waiting for a reply" : "timeout while closing");
		return;
	}
	/* The server paused in the middle of something: take it as complete, as the client does. */
	if (engine_reads(c) && engine_partial(c->engine) && !c->quiet_done && now - c->rx_us >= QUIET_US) {
		c->quiet_done = true;
		if ((r = engine_quiet(c->engine)) != 0)
			conn_fail(c, cvpn_strerror(r));
		else
			engine_pump(c);
	}
}

void
lg_conn_free(struct lg_conn *c)
{
	if (c == NULL)
		return;
	buf_clear(&c->in);
	buf_clear(&c->out);
	engine_free(c->engine);
	labprim_free(c->prim);
	secprim_free(c->sprim);
	free(c);
}

struct lg_conn *
lg_conn_open(struct lg_loop *l, enum lg_kind kind, enum lg_profile profile)
{
	const struct lg_setup *s = l->setup;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	struct lg_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_in to;
	int err;

	if (c == NULL)
		return NULL;
	c->loop = l;
	c->fd = -1;
	c->kind = kind;
	c->pool = l->opened++ % s->ndhmke;
	c->epollout = true;
	c->opened_us = c->rx_us = lg_now_us();
	c->deadline_us = c->opened_us + (uint64_t)s->o->timeout_ms * 1000;
	ev.data.ptr = c;
	if (((kind == LG_KIND_ENGINE || kind == LG_KIND_RECORD) &&
	    engine_new(profile == LG_SECURE ? &s->secure : &s->lab, on_engine_event, c, &c->engine) != 0) ||
	    (kind == LG_KIND_PRIMITIVES && labprim_new(true, &c->prim) != 0) ||
	    (kind == LG_KIND_SECURE_PRIMITIVES && secprim_new(false, s->o->suites.suites[0], &c->sprim) != 0)) {
		errno = ENOMEM;
		goto fail;
	}
	to = s->o->addr;
	if (kind == LG_KIND_PLAIN)
		to.sin_port = s->o->baseline_port;
	else if (kind == LG_KIND_PRIMITIVES || kind == LG_KIND_SECURE_PRIMITIVES)
		to.sin_port = s->o->ceiling_port;
	if ((c->fd = sock_connect_start((const struct sockaddr *)&to, sizeof(to))) < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		goto fail;
	c->next = l->live;
	if (l->live)
		l->live->prev = c;
	l->live = c;
	l->nlive++;
	return c;
fail:
	err = errno;
	if (c->fd >= 0)
		close(c->fd);
	lg_conn_free(c);
	errno = err;
	return NULL;
}

int
lg_conn_send(struct lg_conn *c)
{
	const struct lg_setup *s = c->loop->setup;
	int r;

	if (c->state != LG_READY || c->kind == LG_KIND_SCRIPTED) {
		conn_fail(c, "a message was sent out of turn");
		return -1;
	}
	c->state = LG_WAITING;
	c->sent_us = lg_now_us();
	c->deadline_us = c->sent_us + (uint64_t)s->o->timeout_ms * 1000;
	if (c->kind == LG_KIND_PLAIN) {
		c->due = s->o->size;
		if (buf_append(&c->out, s->message, s->o->size, (size_t)1 << 20) != 0) {
			conn_fail(c, "out of memory");
			return -1;
		}
		return flush(c);
	}
	if (c->kind != LG_KIND_ENGINE)
		return sealed_send(c);
	if ((r = engine_send(c->engine, s->message, s->o->size)) != 0) {
		conn_fail(c, cvpn_strerror(r));
		return -1;
	}
	engine_pump(c);
	return c->state == LG_DEAD ? -1 : 0;
}

void
lg_conn_finish(struct lg_conn *c)
{
	int r;

	/* The secure profile ends with CLOSE both ways; anything less is a truncation to the server. */
	if ((c->kind == LG_KIND_ENGINE || c->kind == LG_KIND_RECORD) && c->state == LG_READY &&
	    engine_is_secure(c->engine)) {
		/* The record kind hands the engine the start of a record it took in (whole ones it opened). */
		if (c->kind == LG_KIND_RECORD && c->in.len > 0) {
			if ((r = engine_feed(c->engine, c->in.data, c->in.len)) != 0) {
				conn_fail(c, cvpn_strerror(r));
				return;
			}
			buf_consume(&c->in, c->in.len);
		}
		if ((r = engine_close(c->engine)) != 0) {
			conn_fail(c, cvpn_strerror(r));
			return;
		}
		c->state = LG_CLOSING;
		c->deadline_us = lg_now_us() + (uint64_t)c->loop->setup->o->timeout_ms * 1000;
		engine_pump(c);
		return;
	}
	lg_conn_end(c, LG_EV_CLOSED, NULL);
}

static void
unlink_conn(struct lg_conn *c)
{
	struct lg_loop *l = c->loop;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->live = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->nlive--;
	c->prev = NULL;
	c->next = l->dead;
	l->dead = c;
}

static void
end_quietly(struct lg_conn *c, const char *why)
{
	if (c->state == LG_DEAD)
		return;
	c->state = LG_DEAD;
	c->why = why;
	if (c->fd >= 0)
		close(c->fd); /* also removes it from the epoll set */
	c->fd = -1;
	unlink_conn(c);
}

void
lg_conn_end(struct lg_conn *c, enum lg_event ev, const char *why)
{
	if (c->state == LG_DEAD)
		return;
	end_quietly(c, why);
	emit(c, ev);
}

void
lg_conn_drop(struct lg_conn *c)
{
	end_quietly(c, "dropped at the end of the run");
}
