/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm against the lab profile: the real man in the middle. A
 * client-role engine faces the server and a server-role engine faces the
 * client, so there are two Diffie-Hellman exchanges and two keys, and every
 * message is decrypted, shown, maybe rewritten, and encrypted again. Nothing
 * in the lab protocol lets either end notice.
 *
 * The client's proposal is held until the server has chosen, and the client
 * is then offered the server's choice (or DES-56 with --downgrade): both ends
 * say the same "We are going to use", and a server that refuses the proposal
 * closes on the client just as it would without us.
 */
#include <string.h>

#include "err.h"
#include "lab.h"
#include "suite.h"

/* Every cipher and size the engines know, XOR and None included: a man in the middle takes what it gets. */
static void
every_cipher(struct proposal *p)
{
	size_t i, j;

	proposal_default(p);
	for (i = 0; i < suite_count() && p->n < PROPOSAL_MAX_ENTRIES; i++) {
		const struct suite *s = suite_at(i);
		struct proposal_entry *e = &p->e[p->n];

		if (!suite_insecure(s))
			continue;
		e->suite = s;
		e->nsizes = 0;
		for (j = 0; j < suite_size_count(s) && j < PROPOSAL_MAX_SIZES; j++)
			e->sizes[e->nsizes++] = suite_size_at(s, j);
		p->n++;
	}
}

/* Runs the slow Diffie-Hellman in place: a demo serves one client, and both ends wait for it anyway. */
static int
work(struct engine *e)
{
	int r;

	while (e && engine_needs_work(e)) {
		engine_work(e);
		if ((r = engine_resume(e)) != 0)
			return r;
	}
	return 0;
}

/* Our own client toward the server, proposing what the client proposed (or only DES-56). */
static int
open_up(struct lab *L, const struct proposal *theirs)
{
	struct engine_config cfg = {
		.hmac = RECORD_HMAC_CUMULATIVE,
		.newline = L->client_nl ? ENGINE_NEWLINE_ALWAYS : ENGINE_NEWLINE_NEVER,
		.ciphers = *theirs,
	};
	int r;

	if (L->ss->cfg->downgrade && (r = proposal_parse_spec("DES:56", false, &cfg.ciphers)) != 0)
		return r;
	if ((r = engine_new(&cfg, lab_on_up, L, &L->up)) != 0)
		return r;
	return engine_start(L->up);
}

/*
 * Our own server toward the client, supporting only the server's choice (or
 * DES-56), or anything when we could not read the proposal (it then refuses
 * it as a server would). It reads the held proposal at once.
 */
static int
open_down(struct lab *L)
{
	struct engine_config cfg = {
		.server = true, .hmac = RECORD_HMAC_AUTO, .newline = ENGINE_NEWLINE_MIRROR, .reply = ENGINE_REPLY_PLAIN,
	};
	int r = 0;

	if (L->ss->cfg->downgrade) {
		r = proposal_parse_spec("DES:56", false, &cfg.ciphers);
	} else if (L->up_chose) {
		cfg.ciphers.n = 1;
		cfg.ciphers.e[0].suite = L->suite;
		cfg.ciphers.e[0].nsizes = 1;
		cfg.ciphers.e[0].sizes[0] = L->bits;
	} else {
		every_cipher(&cfg.ciphers);
	}
	if (r != 0 || (r = engine_new(&cfg, lab_on_down, L, &L->down)) != 0)
		return r;
	r = engine_feed(L->down, L->early.data, L->early.len);
	buf_clear(&L->early);
	/* We took the proposal as complete already (a '\n' or the client's pause). */
	return r ? r : engine_stalled(L->down);
}

/* The client's proposal is complete: show it, and propose it to the server. */
static int
take_proposal(struct lab *L)
{
	const uint8_t *nl = memchr(L->early.data, '\n', L->early.len);
	size_t n = nl ? (size_t)(nl - L->early.data) + 1 : L->early.len;
	struct proposal theirs;
	int r;

	L->proposal_done = true;
	L->client_nl = nl != NULL;
	lab_show_proposal(L->early.data, n);
	if (proposal_parse_wire(L->early.data, n, &theirs) != 0 || theirs.n == 0) {
		/* Nothing to propose: our server-role engine refuses it as a server would. */
		if ((r = open_down(L)) != 0)
			return lab_fail(C2S, L->down, r);
		return 0;
	}
	if ((r = open_up(L, &theirs)) != 0)
		return lab_fail(S2C, L->up, r);
	return 0;
}

/* Moves the engines' output to the sockets; down's output after its handshake is our forged reply, held back. */
static int
move_output(struct lab *L)
{
	const uint8_t *p;
	size_t n;
	int r = 0;

	if (L->down) {
		engine_output(L->down, &p, &n);
		if (n && !L->down_open)
			r = link_queue(&L->ss->client, p, n);
		engine_output_consume(L->down, n);
		L->down_open = engine_established(L->down);
	}
	if (L->up && r == 0) {
		engine_output(L->up, &p, &n);
		if (n && (r = link_queue(&L->ss->server, p, n)) == 0)
			engine_output_consume(L->up, n);
	}
	return r;
}

/* After anything happened: the server side, the client side, the waiting message, the output. */
static int
progress(struct lab *L)
{
	int r;

	if ((r = work(L->up)) != 0)
		return lab_fail(S2C, L->up, r);
	if (L->up_chose && L->down == NULL && (r = open_down(L)) != 0)
		return lab_fail(C2S, L->down, r);
	if ((r = work(L->down)) != 0)
		return lab_fail(C2S, L->down, r);
	if (L->has_pending && L->up && engine_ready(L->up)) {
		L->has_pending = false;
		if ((r = engine_send(L->up, L->pending.data, L->pending.len)) != 0)
			return lab_fail(S2C, L->up, r);
	}
	if (L->err == 0)
		L->err = move_output(L);
	return L->err ? lab_fail(C2S, L->down, L->err) : 0;
}

static int
from_client(struct lab *L, const uint8_t *p, size_t n)
{
	int r;

	if (L->down == NULL) {
		/* Held, even out of turn: our server-role engine reads it all once the server has chosen. */
		if ((r = buf_append(&L->early, p, n, 2 * ENGINE_MAX_MESSAGE)) != 0)
			return lab_fail(C2S, NULL, r);
		if (!L->proposal_done && memchr(p, '\n', n) && (r = take_proposal(L)) != 0)
			return r;
		return progress(L);
	}
	if ((r = engine_feed(L->down, p, n)) != 0)
		return lab_fail(C2S, L->down, r);
	return progress(L);
}

static int
from_server(struct lab *L, const uint8_t *p, size_t n)
{
	int r;

	if (L->up == NULL)
		return 0; /* the server spoke before we did: nothing to read yet */
	/* A reply to an unchanged message goes to the client byte for byte, padding and all. */
	if (engine_established(L->up) && !L->forge && link_queue(&L->ss->client, p, n) != 0)
		return lab_fail(S2C, L->up, CVPN_ERR_NOMEM);
	if ((r = engine_feed(L->up, p, n)) != 0)
		return lab_fail(S2C, L->up, r);
	return progress(L);
}

static int
lab_data(void *arg, enum dir from, const uint8_t *p, size_t n)
{
	return from == C2S ? from_client(arg, p, n) : from_server(arg, p, n);
}

static int
lab_eof(void *arg, enum dir from)
{
	struct lab *L = arg;
	struct engine *e = from == C2S ? L->down : L->up;
	const char *phase = e ? engine_phase(e) : "negotiating the cipher";
	bool done = e && engine_established(e);

	report_begin(0, "eof");
	report_str("by", lab_leg(from));
	report_str("phase", phase);
	report_end("The %s closed the connection%s%s", lab_leg(from), done ? "" : " while ", done ? "" : phase);
	return 0;
}

/* True when bytes wait that only the peer's pause can end (the lab has no framing). */
static bool
partial(const struct lab *L, enum dir from)
{
	if (from == S2C)
		return L->up && engine_partial(L->up);
	/* As the server does, only a handshake message ends at a pause; data messages wait. */
	if (L->down == NULL)
		return !L->proposal_done && L->early.len > 0;
	return !engine_established(L->down) && engine_partial(L->down);
}

/* When the next pause of the peer that from names is due to be heard of, or UINT64_MAX. */
static uint64_t
pause_due(const struct lab *L, enum dir from)
{
	const struct link *l = from == C2S ? &L->ss->client : &L->ss->server;

	if (l->paused >= 2 || !partial(L, from))
		return UINT64_MAX;
	return l->last_rx + (l->paused == 0 ? MITM_QUIET_MS : MITM_PARTIAL_MS);
}

/* A proposal ends at a short pause only after a ']', as the server reads it. */
static bool
proposal_may_end(const struct lab *L)
{
	size_t n = L->early.len;

	while (n > 0 && (L->early.data[n - 1] == ' ' || L->early.data[n - 1] == '\r' || L->early.data[n - 1] == '\t'))
		n--;
	return n > 0 && L->early.data[n - 1] == ']';
}

/* Tells the engine reading from's peer that the peer has paused (once briefly, then long). */
static int
heard_pause(struct lab *L, enum dir from)
{
	struct link *l = from == C2S ? &L->ss->client : &L->ss->server;
	struct engine *e = from == C2S ? L->down : L->up;
	int r;

	l->paused++;
	if (from == C2S && e == NULL)
		return l->paused == 2 || proposal_may_end(L) ? take_proposal(L) : 0;
	if ((r = l->paused == 1 ? engine_quiet(e) : engine_stalled(e)) != 0)
		return lab_fail(from, e, r);
	return 0;
}

static int
lab_tick(void *arg, uint64_t now)
{
	struct lab *L = arg;
	int r;

	if (now >= pause_due(L, C2S) && ((r = heard_pause(L, C2S)) != 0 || (r = progress(L)) != 0))
		return r;
	if (now >= pause_due(L, S2C) && ((r = heard_pause(L, S2C)) != 0 || (r = progress(L)) != 0))
		return r;
	return 0;
}

static uint64_t
lab_deadline(void *arg)
{
	struct lab *L = arg;
	uint64_t c2s = pause_due(L, C2S), s2c = pause_due(L, S2C);

	return c2s < s2c ? c2s : s2c;
}

static void
announce(const struct mitm_config *cfg)
{
	if (cfg->downgrade) {
		report_begin(0, "downgrade");
		report_str("cipher", "DES");
		report_num("bits", 56);
		report_end("Downgrade: we propose only DES:56 to the server and accept only DES:56 from the client");
	}
	if (cfg->attack) {
		report_begin(0, "note");
		report_end("Note: --attack is for the secure profile; against the lab we simply read everything");
	}
}

void
lab_run(struct mitm_session *ss, const uint8_t *first, size_t n)
{
	static const struct pump_ops ops = { lab_data, lab_eof, lab_tick, lab_deadline };
	struct lab L = { .ss = ss };

	announce(ss->cfg);
	if (from_client(&L, first, n) == 0)
		session_pump(ss, &ops, &L);
	engine_free(L.down);
	engine_free(L.up);
	buf_clear(&L.early);
	buf_clear(&L.pending);
	buf_clear(&L.forged);
}
