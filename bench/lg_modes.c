/* SPDX-License-Identifier: MIT */
/*
 * The load generator's modes. Each runs its own loop, measures inside a
 * window that starts after a warm-up, prints one JSON line and returns an
 * exit status: 0 when the measurement is valid, 1 when it is not (nothing
 * completed, or sessions failed where none may).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"

#define US 1000000.0
/* How long a run may spend opening sessions before it gives up. */
#define SETUP_BUDGET_US (180 * 1000000ull)
/* How long sessions get to close cleanly at the end of a run. */
#define DRAIN_US (3 * 1000000ull)
/* Handshakes in flight while a mode opens its sessions. */
#define OPEN_BATCH 32

const char *
lg_profile_name(enum lg_profile p)
{
	static const char *const names[] = { [LG_LAB] = "lab", [LG_SECURE] = "secure" };

	return names[p];
}

/* Room for every suite --suites can list, with commas. */
#define SUITES_TEXT 128

/* The secure suites offered, as --suites takes them ("ChaChaPoly,AESGCM"). */
static const char *
offered(const struct lg_opts *o, char out[static SUITES_TEXT])
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < o->suites.nsuites && n < SUITES_TEXT; i++)
		n += (size_t)snprintf(out + n, SUITES_TEXT - n, "%s%s", i ? "," : "", aead_name(o->suites.suites[i]));
	return out;
}

/* The profile for a summary line: "lab", or "secure (AESGCM)". */
static const char *
profile_label(const struct lg_opts *o, char out[static SUITES_TEXT + 16])
{
	char list[SUITES_TEXT];

	if (o->profile != LG_SECURE)
		return lg_profile_name(o->profile);
	snprintf(out, SUITES_TEXT + 16, "secure (%s)", offered(o, list));
	return out;
}

/* The run's profile in its JSON, and the suites offered whenever a secure session is in it. */
static void
json_profile(struct lg_json *j, const struct lg_opts *o)
{
	char list[SUITES_TEXT];

	lg_json_str(j, "profile", lg_profile_name(o->profile));
	if (o->profile == LG_SECURE || o->flood_profile == LG_SECURE)
		lg_json_str(j, "suites_offered", offered(o, list));
}

static struct lg_loop *
loop_new(const struct lg_setup *s, lg_event_fn *fn, lg_tick_fn *tick, void *arg)
{
	struct lg_loop *l = malloc(sizeof(*l));

	if (l == NULL || lg_loop_init(l, s, fn, tick, arg) != 0) {
		perror("loadgen: epoll");
		free(l);
		return NULL;
	}
	return l;
}

static void
loop_free(struct lg_loop *l)
{
	if (l == NULL)
		return;
	lg_loop_free(l);
	free(l);
}

/*
 * Ends a run: every session that may close cleanly does (the secure
 * profile's CLOSE exchange, so that the server logs no truncation), and
 * those already closing get DRAIN_US to finish. The mode's tick no longer
 * runs; its event function still does and must ignore what comes.
 */
static void
finish_all(struct lg_loop *l)
{
	uint64_t until = lg_now_us() + DRAIN_US;
	struct lg_conn *c, *next;

	l->tick = NULL;
	l->stop = NULL; /* the flag that ended the run must not end the drain too */
	while (l->nlive > 0 && lg_now_us() < until) {
		for (c = l->live; c != NULL; c = next) {
			next = c->next;
			if (c->state == LG_READY)
				lg_conn_finish(c);
		}
		if (lg_loop_run(l, lg_now_us() + 10000) != 0)
			break;
	}
}

/* ---- Handshake floods ---- */

struct flood {
	struct lg_loop *loop;
	const struct lg_setup *s;
	enum lg_profile profile;
	unsigned concurrency, inflight, verify_every;
	unsigned long opened;
	uint64_t win_start, win_end;
	bool closing;
	atomic_bool *paused;
	struct lg_flood *out;
};

static void
flood_open(struct flood *f)
{
	unsigned every = f->verify_every;
	bool verify = f->profile == LG_LAB && every > 0 && f->opened % every == every - 1;
	enum lg_kind kind = f->profile == LG_LAB && !verify ? LG_KIND_SCRIPTED : LG_KIND_ENGINE;
	struct lg_conn *c = lg_conn_open(f->loop, kind, f->profile);

	f->opened++;
	if (c == NULL) {
		f->out->failures++;
		f->out->last_error = strerror(errno);
		return;
	}
	c->flag = verify;
	c->tag = 1; /* counted in inflight until established or failed */
	f->inflight++;
}

static uint64_t
flood_tick(void *arg, uint64_t now)
{
	struct flood *f = arg;
	unsigned long failed = f->out->failures;

	if (now >= f->win_end) {
		f->loop->quit = true;
		return 0;
	}
	if (f->paused && atomic_load(f->paused))
		return 10000;
	/* A connect that fails at once would spin here: wait for the next turn instead. */
	while (f->inflight < f->concurrency && f->out->failures == failed)
		flood_open(f);
	if (f->out->failures > 1000 && f->out->failures > 10 * f->out->handshakes) {
		f->out->last_error = f->out->last_error ? f->out->last_error : "too many failures";
		f->loop->quit = true;
	}
	return f->win_end - now;
}

static void
flood_event(void *arg, struct lg_conn *c, enum lg_event ev)
{
	struct flood *f = arg;
	uint64_t now = f->loop->now_us;

	if (c->tag && (ev == LG_EV_ESTABLISHED || ev == LG_EV_FAILED)) {
		c->tag = 0;
		f->inflight--;
	}
	if (ev == LG_EV_ESTABLISHED) {
		if (!f->closing && now >= f->win_start && now < f->win_end) {
			f->out->handshakes++;
			lg_samples_add(&f->out->times, c->handshake_us);
		}
		if (c->flag)
			lg_conn_send(c);
		else
			lg_conn_finish(c);
	} else if (ev == LG_EV_REPLY) {
		f->out->verified++;
		lg_conn_finish(c);
	} else if (ev == LG_EV_FAILED && !f->closing) {
		f->out->failures++;
		f->out->last_error = c->why;
	}
}

int
lg_flood_run(const struct lg_setup *s, enum lg_profile profile, unsigned concurrency, unsigned verify_every,
    atomic_bool *stop, atomic_bool *paused, struct lg_flood *out)
{
	struct flood f = { .s = s, .profile = profile, .concurrency = concurrency, .verify_every = verify_every,
		.paused = paused, .out = out };
	uint64_t t0 = lg_now_us(), end;

	if ((f.loop = loop_new(s, flood_event, flood_tick, &f)) == NULL)
		return -1;
	f.loop->stop = stop;
	f.win_start = t0 + (uint64_t)(s->o->warmup * US);
	/* A flood that another thread stops has no end of its own. */
	f.win_end = stop ? UINT64_MAX : t0 + (uint64_t)(s->o->duration * US);
	if (lg_loop_run(f.loop, f.win_end) != 0) {
		loop_free(f.loop);
		return -1;
	}
	end = lg_now_us();
	if (end > f.win_end)
		end = f.win_end;
	out->seconds = end > f.win_start ? (double)(end - f.win_start) / US : 0;
	f.closing = true;
	finish_all(f.loop);
	loop_free(f.loop);
	return 0;
}

int
lg_mode_handshakes(const struct lg_setup *s)
{
	const struct lg_opts *o = s->o;
	struct lg_flood r = { 0 };
	char label[SUITES_TEXT + 16];
	struct lg_json j;
	int rc;

	if (lg_flood_run(s, o->profile, o->concurrency, o->verify_every, NULL, NULL, &r) != 0)
		return 1;
	lg_json_begin(&j, "handshakes");
	json_profile(&j, o);
	lg_json_int(&j, "concurrency", o->concurrency);
	lg_json_int(&j, "handshakes", (long long)r.handshakes);
	lg_json_num(&j, "seconds", r.seconds);
	lg_json_num(&j, "per_s", r.seconds > 0 ? (double)r.handshakes / r.seconds : 0);
	lg_json_num(&j, "p99_ms", lg_samples_pct(&r.times, 99) / 1000);
	lg_json_int(&j, "verified", (long long)r.verified);
	lg_json_int(&j, "failures", (long long)r.failures);
	if (r.last_error)
		lg_json_str(&j, "last_error", r.last_error);
	lg_json_end(&j);
	fprintf(stderr, "loadgen: %s handshakes: %.1f/s (%lu in %.1f s, %lu verified, %lu failed)\n",
	    profile_label(o, label), r.seconds > 0 ? r.handshakes / r.seconds : 0, r.handshakes, r.seconds,
	    r.verified, r.failures);
	rc = r.handshakes > 0 && (o->profile != LG_LAB || o->verify_every == 0 || r.verified > 0) ? 0 : 1;
	lg_samples_free(&r.times);
	return rc;
}

/* ---- Round trips: rtt (one client) and throughput (many) ---- */

/*
 * A paired run (--baseline-port) opens as many plain echo clients as
 * measured ones, and the two groups take turns: one group sends for a slot,
 * its last replies come back, then the other sends. Both see the same
 * machine at 50 ms granularity, so a VM's swings of 2x over seconds cancel
 * out of the ratio, which separate runs cannot promise. With --ceiling-port
 * a third group, the profile's primitives alone, takes its turns too, so
 * that the ceiling comes from the same moments as the ratio it bounds.
 */
#define SLOT_US 50000ull

struct traffic_group {
	unsigned opened, ready, outstanding;
	unsigned long messages;
	uint64_t busy_us;               /* time this group had the turn, inside the window */
	struct lg_samples rtts;
};

struct traffic {
	struct lg_loop *loop;
	const struct lg_setup *s;
	unsigned clients, ngroups, connecting, turn;
	struct traffic_group g[3];      /* 0: the profile measured; 1: the plain baseline; 2: the primitives alone */
	uint64_t win_start, win_end, turn_start, turn_end;
	unsigned long failures, close_failures;
	bool closing;
	const char *error;
	char close_error[160];          /* the last session that could not close cleanly, and why */
};

/* Time of [a, b) inside the measuring window. */
static uint64_t
in_window(const struct traffic *t, uint64_t a, uint64_t b)
{
	if (a < t->win_start)
		a = t->win_start;
	if (b > t->win_end)
		b = t->win_end;
	return b > a ? b - a : 0;
}

/*
 * The kind of group g's clients. The measured group's messages go through
 * the session's own records unless --client engine asks for the whole client
 * engine: the round trip then holds the server's work and the client's
 * crypto, not the client's bookkeeping, which took the whole engine
 * 150-250 ns more per lab round trip (bench/HISTORY.md, "Target by target", 3).
 */
static enum lg_kind
group_kind(const struct lg_opts *o, unsigned g)
{
	if (g == 1)
		return LG_KIND_PLAIN;
	if (g == 2)
		return o->profile == LG_LAB ? LG_KIND_PRIMITIVES : LG_KIND_SECURE_PRIMITIVES;
	return o->engine_client ? LG_KIND_ENGINE : LG_KIND_RECORD;
}

/* Gives the turn to group g: each of its clients sends a message. */
static void
traffic_turn(struct traffic *t, unsigned g, uint64_t now)
{
	struct lg_conn *c, *next;

	t->turn = g;
	t->turn_start = now;
	t->turn_end = t->ngroups > 1 ? now + SLOT_US : t->win_end;
	for (c = t->loop->live; c != NULL; c = next) {
		next = c->next;
		if (c->tag == g && lg_conn_send(c) == 0)
			t->g[g].outstanding++;
	}
}

static uint64_t
traffic_tick(void *arg, uint64_t now)
{
	struct traffic *t = arg;
	struct lg_conn *c;
	unsigned g;

	if (t->win_end && now >= t->win_end + DRAIN_US) {
		t->error = "replies stopped coming";
		t->loop->quit = true;
		return 0;
	}
	for (g = 0; g < t->ngroups; g++) {
		while (t->g[g].opened < t->clients && t->connecting < OPEN_BATCH) {
			if ((c = lg_conn_open(t->loop, group_kind(t->s->o, g), t->s->o->profile)) == NULL) {
				t->error = strerror(errno);
				t->loop->quit = true;
				return 0;
			}
			c->tag = g;
			t->g[g].opened++;
			t->connecting++;
		}
	}
	return t->win_end ? t->win_end + DRAIN_US - now : 10000;
}

/* A reply of the group that has the turn: count it, send again, or pass the turn on. */
static void
traffic_reply(struct traffic *t, struct lg_conn *c, uint64_t now)
{
	struct traffic_group *gr = &t->g[c->tag];

	gr->outstanding--;
	if (now >= t->win_start && now < t->win_end) {
		gr->messages++;
		lg_samples_add(&gr->rtts, c->rtt_us);
	}
	if (now < t->turn_end) {
		if (lg_conn_send(c) == 0)
			gr->outstanding++;
		return;
	}
	if (gr->outstanding > 0)
		return;
	gr->busy_us += in_window(t, t->turn_start, now);
	if (now >= t->win_end)
		t->loop->quit = true;
	else
		traffic_turn(t, (t->turn + 1) % t->ngroups, now);
}

static void
traffic_event(void *arg, struct lg_conn *c, enum lg_event ev)
{
	struct traffic *t = arg;
	uint64_t now = t->loop->now_us;

	/* After the window, only a session that could not close cleanly counts. */
	if (t->closing) {
		if (ev == LG_EV_FAILED) {
			t->close_failures++;
			snprintf(t->close_error, sizeof(t->close_error), "a session did not close cleanly: %s",
			    c->why ? c->why : "?");
		}
		return;
	}
	switch (ev) {
	case LG_EV_ESTABLISHED:
		t->connecting--;
		t->g[c->tag].ready++;
		if (t->g[0].ready + t->g[1].ready + t->g[2].ready == t->clients * t->ngroups) {
			t->win_start = now + (uint64_t)(t->s->o->warmup * US);
			t->win_end = t->win_start + (uint64_t)(t->s->o->duration * US);
			traffic_turn(t, 0, now);
		}
		break;
	case LG_EV_REPLY:
		traffic_reply(t, c, now);
		break;
	default:
		/* A measurement with a lost session is not a measurement. */
		t->failures++;
		t->error = c->why;
		t->loop->quit = true;
		break;
	}
}

/* Adds one group's figures to the JSON line, its keys prefixed with prefix. */
static double
traffic_json(struct lg_json *j, struct traffic_group *g, const char *prefix)
{
	double per_s = g->busy_us ? g->messages * US / (double)g->busy_us : 0;
	char key[64];

	snprintf(key, sizeof(key), "%smessages", prefix);
	lg_json_int(j, key, (long long)g->messages);
	snprintf(key, sizeof(key), "%sseconds", prefix);
	lg_json_num(j, key, g->busy_us / US);
	snprintf(key, sizeof(key), "%sper_s", prefix);
	lg_json_num(j, key, per_s);
	snprintf(key, sizeof(key), "%sp99_us", prefix);
	lg_json_num(j, key, lg_samples_pct(&g->rtts, 99));
	return per_s;
}

static int
traffic_run(const struct lg_setup *s, const char *mode, unsigned clients)
{
	struct traffic t = { .s = s, .clients = clients,
		.ngroups = s->o->ceiling_port ? 3 : s->o->baseline_port ? 2 : 1 };
	double per_s, base = 0, ceiling = 0;
	char label[SUITES_TEXT + 16];
	struct lg_json j;
	int rc;

	if ((t.loop = loop_new(s, traffic_event, traffic_tick, &t)) == NULL)
		return 1;
	lg_loop_run(t.loop, lg_now_us() + SETUP_BUDGET_US);
	if (t.win_end == 0 && t.error == NULL)
		t.error = "sessions were not established in time";
	/* The sessions close first, so that a session that cannot close cleanly fails the run. */
	t.closing = true;
	finish_all(t.loop);
	lg_json_begin(&j, mode);
	json_profile(&j, s->o);
	lg_json_str(&j, "client", s->o->engine_client ? "engine" : "record");
	lg_json_int(&j, "clients", clients);
	lg_json_int(&j, "size", s->o->size);
	per_s = traffic_json(&j, &t.g[0], "");
	if (t.ngroups > 1) {
		base = traffic_json(&j, &t.g[1], "baseline_");
		lg_json_num(&j, "ratio", base > 0 ? per_s / base : 0);
	}
	if (t.ngroups > 2) {
		ceiling = traffic_json(&j, &t.g[2], "ceiling_");
		lg_json_num(&j, "ceiling_ratio", base > 0 ? ceiling / base : 0);
	}
	lg_json_int(&j, "failures", (long long)t.failures);
	lg_json_int(&j, "close_failures", (long long)t.close_failures);
	if (t.error)
		lg_json_str(&j, "error", t.error);
	else if (t.close_failures)
		lg_json_str(&j, "error", t.error = t.close_error);
	lg_json_end(&j);
	fprintf(stderr, "loadgen: %s %s x%u, %u bytes: %.0f messages/s", mode, profile_label(s->o, label), clients,
	    s->o->size, per_s);
	if (t.ngroups > 1)
		fprintf(stderr, ", plain baseline %.0f/s (ratio %.2f)", base, base > 0 ? per_s / base : 0);
	if (t.ngroups > 2)
		fprintf(stderr, ", primitives alone %.0f/s (ratio %.2f)", ceiling, base > 0 ? ceiling / base : 0);
	fprintf(stderr, "%s%s\n", t.error ? ", error: " : "", t.error ? t.error : "");
	rc = t.error == NULL && t.g[0].messages > 0 && (t.ngroups < 2 || t.g[1].messages > 0) &&
	    (t.ngroups < 3 || t.g[2].messages > 0) ? 0 : 1;
	lg_samples_free(&t.g[0].rtts);
	lg_samples_free(&t.g[1].rtts);
	lg_samples_free(&t.g[2].rtts);
	loop_free(t.loop);
	return rc;
}

int
lg_mode_rtt(const struct lg_setup *s)
{
	return traffic_run(s, "rtt", 1);
}

int
lg_mode_throughput(const struct lg_setup *s)
{
	return traffic_run(s, "throughput", s->o->concurrency);
}

/* ---- Hold: many idle sessions, each still answering ---- */

/*
 * Sessions opened and closed before the server's memory is first read: the
 * thread pool, libcrypto's tables and the allocator's arenas then exist
 * already, and are not counted as the sessions' memory.
 */
#define HOLD_WARM 8

struct hold {
	struct lg_loop *loop;
	const struct lg_setup *s;
	unsigned target, opened, inflight, established, failed, answered, lost;
	bool asking, closing;
	const char *error;
};

static uint64_t
hold_tick(void *arg, uint64_t now)
{
	struct hold *h = arg;
	const struct lg_opts *o = h->s->o;

	(void)now;
	while (!h->asking && h->opened < h->target && h->inflight < o->concurrency) {
		if (lg_conn_open(h->loop, LG_KIND_ENGINE, o->profile) == NULL) {
			h->error = strerror(errno);
			h->failed += h->target - h->opened;
			h->opened = h->target;
			break;
		}
		h->opened++;
		h->inflight++;
	}
	if (!h->asking && h->established + h->failed >= h->target)
		h->loop->quit = true;
	if (h->asking && h->answered + h->lost >= h->established)
		h->loop->quit = true;
	return 10000;
}

static void
hold_event(void *arg, struct lg_conn *c, enum lg_event ev)
{
	struct hold *h = arg;

	if (h->closing)
		return;
	if (ev == LG_EV_ESTABLISHED) {
		h->inflight--;
		h->established++;
	} else if (ev == LG_EV_REPLY) {
		h->answered++;
	} else if (ev == LG_EV_FAILED && c->handshake_us == 0) {
		h->inflight--;
		h->failed++;
		h->error = c->why;
	} else if (ev == LG_EV_FAILED) {
		h->lost++;
		h->error = c->why;
	}
}

/* Asks every open session for one reply. */
static void
hold_ask(struct hold *h)
{
	struct lg_conn *c, *next;

	h->asking = true;
	for (c = h->loop->live; c != NULL; c = next) {
		next = c->next;
		lg_conn_send(c);
	}
}

static void
hold_report(const struct hold *h, const long rss[3])
{
	const struct lg_opts *o = h->s->o;
	long top = rss[2] > rss[1] ? rss[2] : rss[1];
	char label[SUITES_TEXT + 16];
	struct lg_json j;

	lg_json_begin(&j, "hold");
	json_profile(&j, o);
	lg_json_int(&j, "requested", o->count);
	lg_json_int(&j, "established", h->established);
	lg_json_int(&j, "answered", h->answered);
	lg_json_int(&j, "failures", h->failed + h->lost);
	lg_json_int(&j, "rss_base_kib", rss[0]);
	lg_json_int(&j, "rss_open_kib", rss[1]);
	lg_json_int(&j, "rss_answered_kib", rss[2]);
	lg_json_num(&j, "kib_per_session", rss[0] >= 0 && h->answered ? (double)(top - rss[0]) / h->answered : 0);
	if (h->error)
		lg_json_str(&j, "last_error", h->error);
	lg_json_end(&j);
	fprintf(stderr, "loadgen: hold %s: %u of %u sessions answered; server RSS %ld -> %ld KiB\n",
	    profile_label(o, label), h->answered, o->count, rss[0], top);
}

/* Reads a field of the server's /proc status, or -1 without a server pid. */
static long
server_kib(const struct hold *h, const char *field)
{
	return h->s->o->server_pid ? lg_proc_kib(h->s->o->server_pid, field) : -1;
}

/* Opens h->target sessions, reads the server's memory into *rss_open, then asks each session once. */
static void
hold_round(struct hold *h, long *rss_open)
{
	struct timespec settle = { 0, 300 * 1000000 };

	lg_loop_run(h->loop, lg_now_us() + SETUP_BUDGET_US);
	/* Let the server finish what it was doing before reading its memory. */
	nanosleep(&settle, NULL);
	if (rss_open)
		*rss_open = server_kib(h, "VmRSS");
	hold_ask(h);
	lg_loop_run(h->loop, lg_now_us() + (uint64_t)h->s->o->timeout_ms * 1000 + 5 * 1000000ull);
	nanosleep(&settle, NULL);
}

/* A few sessions opened, used and closed, so that one-time costs are in the baseline. */
static void
hold_warm(struct hold *h)
{
	h->target = HOLD_WARM;
	hold_round(h, NULL);
	h->closing = true;
	finish_all(h->loop);
	h->opened = h->inflight = h->established = h->failed = h->answered = h->lost = 0;
	h->asking = h->closing = false;
	h->loop->tick = hold_tick;
}

int
lg_mode_hold(const struct lg_setup *s)
{
	struct hold h = { .s = s };
	long rss[3];
	int rc;

	if ((h.loop = loop_new(s, hold_event, hold_tick, &h)) == NULL)
		return 1;
	hold_warm(&h);
	rss[0] = server_kib(&h, "VmRSS");
	h.target = s->o->count;
	hold_round(&h, &rss[1]);
	rss[2] = server_kib(&h, "VmRSS");
	hold_report(&h, rss);
	rc = h.answered > 0 && h.answered == h.established ? 0 : 1;
	h.closing = true;
	finish_all(h.loop);
	loop_free(h.loop);
	return rc;
}

/* ---- Latency: paced probes, idle and under a handshake flood ---- */

/*
 * The flood is switched on and off every LAT_SLOT_US, and the probes' round
 * trips are kept by the state of the flood they met, after LAT_SETTLE_US of
 * each slot (the handshakes still in flight drain, or the flood fills up).
 * Idle and loaded samples thus come from the same seconds of the machine,
 * interleaved, which one idle window followed by one loaded window on a VM
 * whose latency tail moves by 10x from one minute to the next cannot promise.
 */
#define LAT_SLOT_US 1300000ull
#define LAT_SETTLE_US 300000ull

enum lat_phase { LAT_SETUP, LAT_SETTLING, LAT_IDLE, LAT_LOADED };

struct latency {
	struct lg_loop *loop;
	const struct lg_setup *s;
	enum lat_phase phase;
	unsigned opened, ready;
	uint64_t interval_us;
	struct lg_samples idle, loaded;
	unsigned long failures;
	bool closing;
	const char *error;
};

/* Sends on every probe whose turn it is; returns the wait until the next turn. */
static uint64_t
latency_tick(void *arg, uint64_t now)
{
	struct latency *t = arg;
	const struct lg_opts *o = t->s->o;
	uint64_t wait = t->interval_us;
	struct lg_conn *c, *next;

	while (t->phase == LAT_SETUP && t->opened < o->concurrency) {
		if (lg_conn_open(t->loop, LG_KIND_ENGINE, o->profile) == NULL) {
			t->error = strerror(errno);
			t->loop->quit = true;
			return 0;
		}
		t->opened++;
	}
	for (c = t->loop->live; t->phase != LAT_SETUP && c != NULL; c = next) {
		next = c->next;
		if (c->state == LG_READY && now >= c->next_send_us) {
			/* A probe that fell behind (a slow reply) starts its next interval now. */
			c->next_send_us = c->next_send_us + t->interval_us > now ? c->next_send_us + t->interval_us :
			    now + t->interval_us;
			lg_conn_send(c);
		}
		if (c->state == LG_READY && c->next_send_us > now && c->next_send_us - now < wait)
			wait = c->next_send_us - now;
	}
	return wait;
}

static void
latency_event(void *arg, struct lg_conn *c, enum lg_event ev)
{
	struct latency *t = arg;
	uint64_t now = t->loop->now_us;

	if (t->closing)
		return;
	if (ev == LG_EV_ESTABLISHED) {
		/* Spread the probes evenly over one interval. */
		c->next_send_us = now + t->interval_us * t->ready / t->s->o->concurrency;
		if (++t->ready == t->s->o->concurrency) {
			t->phase = LAT_SETTLING;
			t->loop->quit = true;
		}
	} else if (ev == LG_EV_REPLY) {
		if (t->phase == LAT_IDLE)
			lg_samples_add(&t->idle, c->rtt_us);
		else if (t->phase == LAT_LOADED)
			lg_samples_add(&t->loaded, c->rtt_us);
	} else {
		t->failures++;
		t->error = c->why;
		t->loop->quit = true;
	}
}

struct flood_thread {
	const struct lg_setup *s;
	atomic_bool stop, paused;
	struct lg_flood result;
	int rc;
};

static void *
flood_main(void *arg)
{
	struct flood_thread *ft = arg;

	struct sched_param idle = { .sched_priority = 0 };

	/*
	 * No full sessions in this flood: their client-side DH would take the
	 * load generator's core from the probes and show up as server latency.
	 * For the same reason the flood thread runs only when the probes' thread
	 * has nothing to do (SCHED_IDLE): a secure flood's client handshakes are
	 * half its core's work, and the scheduler gave them slices of several
	 * milliseconds ahead of a probe's reply otherwise. Best effort: without
	 * it the figure is only pessimistic.
	 */
	(void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
	ft->rc = lg_flood_run(ft->s, ft->s->o->flood_profile, ft->s->o->flood_concurrency, 0, &ft->stop, &ft->paused,
	    &ft->result);
	return NULL;
}

/* Runs the probes for us microseconds in the given phase. Returns 0, or -1 when a probe failed. */
static int
latency_phase(struct latency *t, enum lat_phase phase, uint64_t us)
{
	t->phase = phase;
	lg_loop_run(t->loop, lg_now_us() + us);
	return t->failures ? -1 : 0;
}

/* Alternates idle and loaded slots until each kind has measured the run's duration. Returns loaded seconds. */
static double
latency_slots(struct latency *t, struct flood_thread *ft)
{
	uint64_t want = (uint64_t)(t->s->o->duration * US), measured = 0, loaded_us = 0;

	while (measured < want) {
		atomic_store(&ft->paused, true);
		if (latency_phase(t, LAT_SETTLING, LAT_SETTLE_US) || latency_phase(t, LAT_IDLE, LAT_SLOT_US - LAT_SETTLE_US))
			break;
		atomic_store(&ft->paused, false);
		if (latency_phase(t, LAT_SETTLING, LAT_SETTLE_US) ||
		    latency_phase(t, LAT_LOADED, LAT_SLOT_US - LAT_SETTLE_US))
			break;
		loaded_us += LAT_SLOT_US;
		measured += LAT_SLOT_US - LAT_SETTLE_US;
	}
	return loaded_us / US;
}

static void
latency_report(struct latency *t, const struct flood_thread *ft, double loaded_s)
{
	double idle99 = lg_samples_pct(&t->idle, 99), loaded99 = lg_samples_pct(&t->loaded, 99);
	double rate = loaded_s > 0 ? ft->result.handshakes / loaded_s : 0;
	struct lg_json j;

	lg_json_begin(&j, "latency");
	json_profile(&j, t->s->o);
	lg_json_str(&j, "flood_profile", lg_profile_name(t->s->o->flood_profile));
	lg_json_int(&j, "probes", t->s->o->concurrency);
	lg_json_int(&j, "idle_samples", (long long)t->idle.n);
	lg_json_num(&j, "idle_p50_us", lg_samples_pct(&t->idle, 50));
	lg_json_num(&j, "idle_p99_us", idle99);
	lg_json_int(&j, "loaded_samples", (long long)t->loaded.n);
	lg_json_num(&j, "loaded_p50_us", lg_samples_pct(&t->loaded, 50));
	lg_json_num(&j, "loaded_p99_us", loaded99);
	lg_json_num(&j, "flood_per_s", rate);
	lg_json_int(&j, "flood_failures", (long long)ft->result.failures);
	lg_json_int(&j, "failures", (long long)t->failures);
	if (t->error)
		lg_json_str(&j, "error", t->error);
	lg_json_end(&j);
	fprintf(stderr, "loadgen: latency p99 idle %.0f us, under %.1f handshakes/s %.0f us (x%.2f)\n", idle99,
	    rate, loaded99, idle99 > 0 ? loaded99 / idle99 : 0);
}

int
lg_mode_latency(const struct lg_setup *s)
{
	struct latency t = { .s = s, .interval_us = 1000000 / s->o->rate };
	struct flood_thread ft = { .s = s };
	double loaded_s = 0;
	pthread_t th;
	int rc = 1;

	if ((t.loop = loop_new(s, latency_event, latency_tick, &t)) == NULL)
		return 1;
	lg_loop_run(t.loop, lg_now_us() + SETUP_BUDGET_US);
	if (t.phase == LAT_SETTLING) {
		atomic_init(&ft.stop, false);
		atomic_init(&ft.paused, true);
		if (pthread_create(&th, NULL, flood_main, &ft) != 0) {
			t.error = "cannot start the flood thread";
		} else {
			loaded_s = latency_slots(&t, &ft);
			atomic_store(&ft.stop, true);
			pthread_join(th, NULL);
			rc = t.failures == 0 && ft.rc == 0 && t.loaded.n > 0 && t.idle.n > 0 ? 0 : 1;
		}
	} else if (t.error == NULL) {
		t.error = "the probe sessions did not start";
	}
	latency_report(&t, &ft, loaded_s);
	lg_samples_free(&t.idle);
	lg_samples_free(&t.loaded);
	lg_samples_free(&ft.result.times);
	t.closing = true;
	finish_all(t.loop);
	loop_free(t.loop);
	return rc;
}
