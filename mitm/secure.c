/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm against the secure profile. Without any key it can only cut each
 * direction's stream into what docs/SECURE.md defines (a hello, then u16
 * length-prefixed handshake messages and records), show their sizes, and
 * forward them, or let the chosen attack change, repeat, hold or drop one.
 * At the end it says what it saw each end do about it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aead.h"
#include "engine.h"
#include "err.h"
#include "relay.h"

/* One unit at most plus one read. */
#define FLOW_MAX (SECURE_FRAME_MAX + 16384)

static const char *
end_name(enum dir d)
{
	return d == C2S ? "client" : "server";
}

void
unit_name(const struct unit *u, char *out, size_t len)
{
	if (u->kind == UNIT_HELLO)
		snprintf(out, len, "the %s", u->dir == C2S ? "ClientHello" : "ServerHello");
	else if (u->kind == UNIT_HANDSHAKE)
		snprintf(out, len, "handshake message %d", u->dir == C2S ? 1 : 2);
	else
		snprintf(out, len, "record %u from the %s", u->index, end_name(u->dir));
}

void
relay_forward(struct relay *r, const struct unit *u)
{
	struct link *to = u->dir == C2S ? &r->ss->server : &r->ss->client;

	if (link_queue(to, u->p, u->n) != 0) {
		report_error("nomem", "out of memory");
		r->cut = true;
		return;
	}
	r->sent[u->dir]++;
	r->last = u->dir;
	unit_name(u, r->last_what, sizeof(r->last_what));
}

void
relay_tried(struct relay *r, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r->tried = true;
	r->c2s_at_try = r->sent[C2S];
	report_begin(0, "attack");
	report_str("attack", r->attack->name);
	report_str("text", text);
	report_end("Attack %s: %s", r->attack->name, text);
}

void
relay_hold(struct relay *r, const struct unit *u)
{
	r->held.len = 0;
	if (buf_append(&r->held, u->p, u->n, FLOW_MAX) != 0) {
		relay_forward(r, u);
		return;
	}
	r->held_unit = *u;
	r->held_unit.p = r->held.data;
	r->held_until = link_now() + RELAY_HOLD_MS;
}

void
relay_release(struct relay *r)
{
	if (r->held.len == 0)
		return;
	relay_forward(r, &r->held_unit);
	r->held.len = 0;
}

/* ---- Cutting the streams ---- */

/* The next complete unit of one direction: 1 with *u set, 0 for more bytes, -1 when it is not our framing. */
static int
next_unit(struct relay *r, enum dir dir, struct unit *u)
{
	struct flow *f = &r->flow[dir];
	const uint8_t *p = f->in.data;
	size_t n = f->in.len, need;

	if (n >= SECURE_MAGIC_LEN && f->units == 0 && memcmp(p, SECURE_MAGIC, SECURE_MAGIC_LEN) != 0)
		return -1;
	if (f->units == 0 && dir == C2S)
		need = n < SECURE_CLIENT_HELLO_MIN ? SECURE_CLIENT_HELLO_MIN : SECURE_CLIENT_HELLO_MIN + p[SECURE_HELLO_COUNT];
	else if (f->units == 0)
		need = SECURE_SERVER_HELLO_LEN;
	else
		need = n < 2 ? 2 : 2 + secure_wire_get16(p);
	if (n < need)
		return 0;
	u->dir = dir;
	u->kind = f->units == 0 ? UNIT_HELLO : f->units == 1 ? UNIT_HANDSHAKE : UNIT_RECORD;
	u->index = f->units >= 2 ? f->units - 1 : 0;
	u->p = f->in.data;
	u->n = need;
	f->units++;
	return 1;
}

static void
show_hello(const struct unit *u)
{
	char suites[64] = "";
	size_t i, off = 0;

	report_begin(0, "hello");
	report_str("from", end_name(u->dir));
	report_str("mode", secure_wire_mode_name(u->p[SECURE_HELLO_MODE]));
	if (u->dir == S2C) {
		report_str("suite", secure_wire_suite_name(u->p[SECURE_HELLO_SUITE]));
		report_end("ServerHello: %s mode, suite %s (in clear, but bound into the handshake)",
		    secure_wire_mode_name(u->p[SECURE_HELLO_MODE]), secure_wire_suite_name(u->p[SECURE_HELLO_SUITE]));
		return;
	}
	/* Up to 255 codes from the wire: stop while a name still fits. */
	for (i = 0; i < u->p[SECURE_HELLO_COUNT] && off + 16 < sizeof(suites); i++)
		off += (size_t)snprintf(suites + off, sizeof(suites) - off, "%s%s", i ? "," : "",
		    secure_wire_suite_name(u->p[SECURE_CLIENT_HELLO_MIN + i]));
	report_str("suites", suites);
	report_end("ClientHello: %s mode, suites %s (in clear, but bound into the handshake)",
	    secure_wire_mode_name(u->p[SECURE_HELLO_MODE]), suites);
}

static void
show_unit(const struct unit *u)
{
	if (u->kind == UNIT_HELLO) {
		show_hello(u);
		return;
	}
	report_begin(0, u->kind == UNIT_HANDSHAKE ? "handshake" : "record");
	report_str("from", end_name(u->dir));
	report_num("index", u->kind == UNIT_HANDSHAKE ? (u->dir == C2S ? 1 : 2) : u->index);
	report_num("bytes", u->n);
	if (u->kind == UNIT_RECORD)
		report_end("Record %u from the %s: %zu bytes, opaque to us", u->index, end_name(u->dir), u->n);
	else
		report_end("Handshake message %d (%s -> %s): %zu bytes, opaque to us", u->dir == C2S ? 1 : 2,
		    end_name(u->dir), end_name(u->dir == C2S ? S2C : C2S), u->n);
}

/* Whatever does not parse goes through untouched: we are a proxy first. */
static void
go_opaque(struct relay *r, enum dir dir)
{
	struct flow *f = &r->flow[dir];

	f->opaque = true;
	if (link_queue(dir == C2S ? &r->ss->server : &r->ss->client, f->in.data, f->in.len) != 0)
		r->cut = true;
	f->in.len = 0;
}

static int
sec_data(void *arg, enum dir from, const uint8_t *p, size_t n)
{
	struct relay *r = arg;
	struct flow *f = &r->flow[from];
	struct unit u;
	size_t used;
	int k = 0;

	if (buf_append(&f->in, p, n, FLOW_MAX) != 0)
		return -1;
	if (f->opaque) {
		go_opaque(r, from);
		return r->cut ? -1 : 0;
	}
	while (!r->cut && (k = next_unit(r, from, &u)) > 0) {
		used = u.n; /* the attack may point u at other bytes */
		show_unit(&u);
		if (r->attack)
			r->attack->unit(r, &u);
		else
			relay_forward(r, &u);
		buf_consume(&f->in, used);
	}
	if (!r->cut && k < 0)
		go_opaque(r, from);
	return r->cut ? -1 : 0;
}

static int
sec_eof(void *arg, enum dir from)
{
	struct relay *r = arg;

	/* A record held back from an end that is leaving goes out first. */
	if (r->held.len && r->held_unit.dir == from)
		relay_release(r);
	report_begin(0, "eof");
	report_str("by", end_name(from));
	report_end("The %s closed the connection", end_name(from));
	return r->cut ? -1 : 0;
}

static int
sec_tick(void *arg, uint64_t now)
{
	struct relay *r = arg;

	if (r->attack && r->attack->tick)
		r->attack->tick(r, now);
	return r->cut ? -1 : 0;
}

static uint64_t
sec_deadline(void *arg)
{
	const struct relay *r = arg;

	return r->attack && r->attack->deadline ? r->attack->deadline(r) : UINT64_MAX;
}

/* ---- What we saw ---- */

/*
 * The verdict from what the proxy can see. A normal session ends with the
 * server's CLOSE record, after which the server hangs up first. An end that
 * hangs up first right after receiving something, without answering it,
 * rejected it.
 */
static bool
judge(const struct relay *r, char *text, size_t len)
{
	const struct mitm_session *ss = r->ss;

	if (!r->tried) {
		snprintf(text, len, "never tried: %s", r->attack->untried);
		return false;
	}
	if (r->verdict) {
		snprintf(text, len, "%s", r->verdict);
		return !r->worked;
	}
	if (ss->any_eof && ss->first_eof == C2S) {
		snprintf(text, len, "the client hung up first, after %s reached it: it rejected what it got", r->last_what);
		return true;
	}
	if (ss->any_eof && (r->last == C2S || r->sent[C2S] > r->sent[S2C])) {
		snprintf(text, len, "the server hung up without answering %s: it rejected it", r->last_what);
		return true;
	}
	/* The server answers a record it refuses with one ERROR record, then hangs up; the client then stops. */
	if (ss->any_eof && ss->first_eof == S2C && r->sent[C2S] <= r->c2s_at_try + 1) {
		snprintf(text, len, "the server hung up right after the attacked record, with at most an ERROR record: "
		    "it rejected it");
		return true;
	}
	snprintf(text, len, "the session went on as if nothing had happened");
	return false;
}

static void
outcome(const struct relay *r)
{
	char text[512];
	bool failed;

	if (r->attack == NULL) {
		report_begin(0, "summary");
		report_num("client_units", r->sent[C2S]);
		report_num("server_units", r->sent[S2C]);
		report_end("Forwarded %u units from the client and %u from the server, and could read none of them",
		    r->sent[C2S], r->sent[S2C]);
		return;
	}
	failed = judge(r, text, sizeof(text));
	report_begin(0, "outcome");
	report_str("attack", r->attack->name);
	report_bool("tried", r->tried);
	report_bool("failed", failed);
	report_str("text", text);
	report_end("Outcome of %s: %s%s", r->attack->name, text, failed ? " -- the attack failed" : "");
}

static void
announce(const struct mitm_config *cfg)
{
	if (cfg->downgrade || cfg->nrewrites) {
		report_begin(0, "note");
		report_end("Note: --downgrade and --rewrite need the keys; the secure profile gives us none (try --attack)");
	}
	if (cfg->attack == NULL)
		return;
	report_begin(0, "plan");
	report_str("attack", cfg->attack->name);
	report_str("text", cfg->attack->help);
	report_end("Trying %s: %s", cfg->attack->name, cfg->attack->help);
}

void
secure_run(struct mitm_session *ss, const uint8_t *first, size_t n)
{
	static const struct pump_ops ops = { sec_data, sec_eof, sec_tick, sec_deadline };
	struct relay r = { .ss = ss, .attack = ss->cfg->attack };

	announce(ss->cfg);
	if (sec_data(&r, C2S, first, n) == 0)
		session_pump(ss, &ops, &r);
	outcome(&r);
	subst_free(&r);
	buf_clear(&r.flow[C2S].in);
	buf_clear(&r.flow[S2C].in);
	buf_clear(&r.held);
	buf_clear(&r.copy);
}
