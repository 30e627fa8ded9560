/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: the attacks on the secure profile, one table. Each sees every
 * unit of both streams and decides what goes on; each must fail, because the
 * hellos are bound into the handshake and every record is authenticated
 * under an implicit counter.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

/* replay-initiation: how long our own connection waits for the server's verdict on the copy. */
#define REPLAY_WAIT_MS 5000

static bool
first_client_record(const struct relay *r, const struct unit *u)
{
	return !r->tried && u->kind == UNIT_RECORD && u->dir == C2S;
}

/* Flips the lowest bit of the first ciphertext byte (after the u16 length). */
static void
tamper_unit(struct relay *r, struct unit *u)
{
	if (first_client_record(r, u)) {
		u->p[2] ^= 0x01;
		relay_tried(r, "flipped bit 0 of the first ciphertext byte of record %u from the client (%zu bytes)",
		    u->index, u->n);
	}
	relay_forward(r, u);
}

/* Sends the record, then the same bytes again, in one write. */
static void
replay_unit(struct relay *r, struct unit *u)
{
	relay_forward(r, u);
	if (first_client_record(r, u)) {
		relay_forward(r, u);
		relay_tried(r, "sent record %u from the client (%zu bytes) twice, back to back", u->index, u->n);
	}
}

/*
 * A CLOSE record is always 48 bytes of AEAD output: an empty payload padded
 * to 32 bytes plus the tag. A DATA record of up to 29 bytes of text has the
 * same size, so with short messages the cut comes before the CLOSE instead.
 */
static void
truncate_unit(struct relay *r, struct unit *u)
{
	if (first_client_record(r, u) && u->n == 2 + RELAY_EMPTY_RECORD) {
		relay_tried(r, "dropped record %u from the client (%zu bytes: the size of its CLOSE) and closed both "
		    "connections", u->index, u->n);
		r->verdict = "we cut both connections in the middle: each end must notice that no CLOSE record came";
		r->cut = true;
		return;
	}
	relay_forward(r, u);
}

static void
downgrade_client_hello(struct relay *r, struct unit *u)
{
	if (u->n == SECURE_CLIENT_HELLO_MIN + 1 && u->p[SECURE_CLIENT_HELLO_MIN] == SECURE_SUITE_AESGCM) {
		r->rewrite_sh = true; /* nothing left to take away here: change the server's answer instead */
		return;
	}
	memcpy(r->hello, u->p, SECURE_HELLO_COUNT);
	r->hello[SECURE_HELLO_COUNT] = 1;
	r->hello[SECURE_CLIENT_HELLO_MIN] = SECURE_SUITE_AESGCM;
	relay_tried(r, "rewrote the ClientHello to offer only AESGCM (it offered %u suite%s)",
	    u->p[SECURE_HELLO_COUNT], u->p[SECURE_HELLO_COUNT] == 1 ? "" : "s");
	u->p = r->hello;
	u->n = SECURE_CLIENT_HELLO_MIN + 1;
}

static void
downgrade_unit(struct relay *r, struct unit *u)
{
	if (u->kind == UNIT_HELLO && u->dir == C2S) {
		downgrade_client_hello(r, u);
	} else if (u->kind == UNIT_HELLO && u->dir == S2C && r->rewrite_sh) {
		u->p[SECURE_HELLO_SUITE] = u->p[SECURE_HELLO_SUITE] == SECURE_SUITE_AESGCM ?
		    SECURE_SUITE_CHACHAPOLY : SECURE_SUITE_AESGCM;
		relay_tried(r, "the client offered only AESGCM: changed the ServerHello's choice to %s instead",
		    secure_wire_suite_name(u->p[SECURE_HELLO_SUITE]));
	}
	relay_forward(r, u);
}

/*
 * Swaps two records of one end that are in flight together. Ends are
 * lock-step (a client's next DATA waits for the reply), so that happens only
 * when an end rekeys: it sends a REKEY record right behind its DATA or REPLY
 * (--rekey-records 1 on the client or the server does it every time). The
 * first such pair is swapped. A lone record is held back a moment for a
 * partner, then let go in order.
 */
static void
reorder_unit(struct relay *r, struct unit *u)
{
	char a[64], b[64];

	if (r->tried || u->kind != UNIT_RECORD) {
		relay_forward(r, u);
		return;
	}
	if (r->held.len && r->held_unit.dir == u->dir) {
		unit_name(&r->held_unit, a, sizeof(a));
		unit_name(u, b, sizeof(b));
		relay_tried(r, "swapped two records in flight together: %s goes before %s", b, a);
		r->c2s_at_try += u->dir == C2S; /* the held record was in flight too */
		relay_forward(r, u);
		relay_release(r);
		return;
	}
	relay_release(r);
	relay_hold(r, u);
}

static int
reorder_tick(struct relay *r, uint64_t now)
{
	if (r->held.len && now >= r->held_until)
		relay_release(r);
	return 0;
}

static uint64_t
reorder_deadline(const struct relay *r)
{
	return r->held.len ? r->held_until : UINT64_MAX;
}

/*
 * Sends all of p[0..n) on fd (non-blocking) and reads what comes back until
 * the server closes, n_back bytes beyond want came, or the time is up.
 * Returns the bytes read, or -1 when the copy could not be sent.
 */
static ssize_t
exchange_copy(int fd, const uint8_t *p, size_t n, size_t want)
{
	uint64_t until = link_now() + REPLAY_WAIT_MS, now;
	struct pollfd pfd = { .fd = fd };
	uint8_t in[256];
	size_t got = 0;
	ssize_t k;

	while ((now = link_now()) < until) {
		pfd.events = n > 0 ? POLLOUT : POLLIN;
		if (poll(&pfd, 1, (int)(until - now)) <= 0)
			continue;
		if (n > 0) {
			if ((k = send(fd, p, n, MSG_NOSIGNAL)) < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (k > 0) {
				p += k;
				n -= (size_t)k;
			}
		} else if ((k = recv(fd, in, sizeof(in), 0)) == 0 || (k < 0 && errno == ECONNRESET)) {
			break;
		} else if (k > 0 && (got += (size_t)k) > want) {
			break;
		}
	}
	return (ssize_t)got;
}

/*
 * Keeps the client's hello and first handshake message and lets the session
 * go on. Once the server has answered the original (its message 2, so the
 * original is surely taken first), sends the copies on a connection of our
 * own: the server must refuse the copy before any message 2.
 */
static void
replay_initiation_unit(struct relay *r, struct unit *u)
{
	const struct mitm_config *cfg = r->ss->cfg;
	struct link server = { .fd = -1 };
	char err[256];
	ssize_t got;

	relay_forward(r, u);
	if (r->tried || u->kind == UNIT_RECORD)
		return;
	if (u->dir == C2S && !r->copy_done) {
		(void)buf_append(&r->copy, u->p, u->n, 1 << 16);
		r->copy_done = u->kind == UNIT_HANDSHAKE;
		return;
	}
	if (u->dir != S2C || u->kind != UNIT_HANDSHAKE || !r->copy_done)
		return;
	if (link_connect(cfg->server, cfg->server_port, cfg->timeout_ms, &server, err, sizeof(err)) != 0) {
		relay_tried(r, "could not open our own connection for the copy: %s", err);
		r->verdict = "no copy reached the server";
		return;
	}
	got = exchange_copy(server.fd, r->copy.data, r->copy.len, SECURE_SERVER_HELLO_LEN);
	link_close(&server);
	relay_tried(r, "sent the client's hello and first handshake message (%zu bytes) again, on a connection "
	    "of our own", r->copy.len);
	if (got < 0) {
		r->verdict = "the copy could not be sent";
	} else if ((size_t)got <= SECURE_SERVER_HELLO_LEN) {
		r->verdict = "the server closed our copy before its message 2: it refused the replayed handshake";
	} else {
		r->verdict = "the server answered our copy with its message 2: the replay went through";
		r->worked = true;
	}
}

static const struct attack attacks[] = {
	{ "key-substitution", "answer the client ourselves, with our own static key", "the client sent no "
	    "handshake message", subst_unit, NULL, NULL },
	{ "suite-downgrade", "make the ClientHello offer only AESGCM (or change the ServerHello)",
	    "no hello went by", downgrade_unit, NULL, NULL },
	{ "tamper", "flip one bit of the client's first record", "the client sent no record", tamper_unit,
	    NULL, NULL },
	{ "replay", "send the client's first record twice", "the client sent no record", replay_unit, NULL, NULL },
	{ "replay-initiation", "send the client's first handshake message again, on a connection of our own",
	    "the handshake did not get as far as the server's message 2", replay_initiation_unit, NULL, NULL },
	{ "reorder", "swap two records in flight together (an end with --rekey-records 1)", "no two records of one "
	    "end were ever in flight together (ends wait for each other; give the client or the server "
	    "--rekey-records 1)", reorder_unit, reorder_tick, reorder_deadline },
	{ "truncate", "drop the client's CLOSE (its first 48-byte record), close both sides",
	    "the client sent no 48-byte record", truncate_unit, NULL, NULL },
};

#define NATTACKS (sizeof(attacks) / sizeof(attacks[0]))

const struct attack *
attack_find(const char *name)
{
	size_t i;

	for (i = 0; i < NATTACKS; i++)
		if (strcmp(attacks[i].name, name) == 0)
			return &attacks[i];
	return NULL;
}

void
attack_help(void (*fn)(void *arg, const char *line), void *arg)
{
	char line[256];
	size_t i;

	for (i = 0; i < NATTACKS; i++) {
		snprintf(line, sizeof(line), "  %-18s %s", attacks[i].name, attacks[i].help);
		fn(arg, line);
	}
}
