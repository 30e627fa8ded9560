/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "dh.h"
#include "engine.h"
#include "err.h"
#include "suite.h"
#include "text.h"

enum state {
	C_START,        /* client: proposal not yet queued */
	C_WAIT_CHOICE,  /* client: waiting for ChosenCipher */
	C_KEYGEN,       /* client: work: generate our DH key */
	C_WAIT_DH,      /* client: waiting for the server's DHMKE */
	C_DERIVE,       /* client: work: compute the shared secret */
	C_READY,        /* client: may send */
	C_WAIT_REPLY,   /* client: waiting for the reply to the last message */
	S_WAIT_PROPOSAL,
	S_WAIT_DH,
	S_WORK,         /* server: work: generate our key and compute the secret */
	S_READY,        /* server: waiting for data messages */
	FAILED
};

/* Room for a handshake message: the longest DHMKE plus whitespace and terminators. */
#define HANDSHAKE_MAX ENGINE_MAX_MESSAGE
/* How far past the data message limit a reply may go: the prefix and NUL padding. */
#define REPLY_SLACK 64

struct engine {
	struct engine_config cfg;
	enum state state;
	int err;
	engine_event_fn *fn;
	void *arg;
	struct buf in, out;
	bool quiet;             /* the peer paused: take partial messages as complete */
	bool newline;           /* terminate our handshake messages with '\n' */
	const struct suite *suite;
	unsigned bits;
	struct dh *dh;
	char *local_pub;        /* decimal, malloc'd */
	uint8_t *peer_pub;      /* decimal digits kept for the work step */
	size_t peer_pub_len;
	bool work_done;
	int work_err;
	char shared_key[SUITE_SHARED_KEY_LEN + 1];
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len;
	struct record *rec;
	struct buf expect;      /* client: the reply we expect to the last message */
};

static void
emit(struct engine *e, struct engine_event *ev)
{
	ev->suite = e->suite;
	ev->bits = e->bits;
	if (e->rec)
		ev->hmac = record_hmac_mode(e->rec);
	if (e->fn)
		e->fn(e->arg, ev);
}

static void
emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len)
{
	struct engine_event ev = { .type = type, .text = text, .text_len = len };

	emit(e, &ev);
}

static int
queue(struct engine *e, const void *p, size_t n)
{
	/* Output is bounded by what we generate ourselves, never by the peer. */
	return buf_append(&e->out, p, n, (size_t)1 << 20);
}

static int
queue_handshake(struct engine *e, const char *msg, size_t n)
{
	int r;

	if ((r = queue(e, msg, n)) == 0 && e->newline)
		r = queue(e, "\n", 1);
	return r;
}

/* ---- Framing of handshake messages ---- */

/*
 * Without framing, a handshake message ends at a '\n', at a point where the
 * grammar cannot go on (see the is_final callbacks), or when the peer pauses.
 */
typedef bool final_fn(struct engine *e, const uint8_t *p, size_t n);

static bool
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims trailing whitespace. */
static size_t
trimmed(const uint8_t *p, size_t n)
{
	while (n > 0 && is_space(p[n - 1]))
		n--;
	return n;
}

/*
 * Takes one handshake message starting with keyword. Returns 1 with *msg and *len
 * set (the bytes stay in e->in until the caller consumes *used), 0 when more
 * input is needed, or a negative code.
 */
static int
take_handshake(struct engine *e, const char *keyword, final_fn *is_final,
    const uint8_t **msg, size_t *len, size_t *used, bool *had_newline)
{
	const uint8_t *p = e->in.data, *nl;
	size_t n = e->in.len, skip = 0, kw = strlen(keyword), cmp;

	while (skip < n && is_space(p[skip]))
		skip++;
	p += skip;
	n -= skip;
	if (n == 0) {
		buf_consume(&e->in, skip);
		return 0;
	}
	/* A wrong keyword is malformed at once; no need to wait for the rest. */
	cmp = n < kw ? n : kw;
	if (memcmp(p, keyword, cmp) != 0)
		return CVPN_ERR_MALFORMED;
	if ((nl = memchr(p, '\n', n)) != NULL) {
		*msg = p;
		*len = (size_t)(nl - p);
		*used = skip + *len + 1;
		*had_newline = true;
		return 1;
	}
	if (n > HANDSHAKE_MAX)
		return CVPN_ERR_TOO_LONG;
	if (e->quiet || is_final(e, p, n)) {
		*msg = p;
		*len = n;
		*used = skip + n;
		*had_newline = false;
		return 1;
	}
	return 0;
}

/*
 * A proposal can always go on with another ",NAME:[...]" entry, even right
 * after the ']' that closes the last bracket, so only a '\n' or the peer's
 * pause ends it.
 */
static bool
proposal_final(struct engine *e, const uint8_t *p, size_t n)
{
	(void)e;
	(void)p;
	(void)n;
	return false;
}

/* Finds the digits of a "DHMKE:" message: 1 if found, 0 if not yet, negative if malformed. */
static int
dhmke_digits(const uint8_t *p, size_t n, const uint8_t **digits, size_t *ndigits)
{
	size_t i = strlen("DHMKE"), start;

	while (i < n && is_space(p[i]))
		i++;
	if (i == n)
		return 0;
	if (p[i++] != ':')
		return CVPN_ERR_MALFORMED;
	while (i < n && is_space(p[i]))
		i++;
	start = i;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	if (trimmed(p + i, n - i) != 0)
		return CVPN_ERR_MALFORMED;
	*digits = p + start;
	*ndigits = i - start;
	return i > start ? 1 : 0;
}

static bool
dhmke_final(struct engine *e, const uint8_t *p, size_t n)
{
	const uint8_t *digits;
	size_t nd;

	(void)e;
	/* Malformed text is reported as soon as it is taken, so call it final. */
	if (n < strlen("DHMKE"))
		return false;
	switch (dhmke_digits(p, n, &digits, &nd)) {
	case 1:
		return dh_digits_final(digits, nd);
	case 0:
		return false;
	default:
		return true;
	}
}

/* A choice is complete when its size is one we offered and no longer offered size starts with it. */
static bool
choice_final(struct engine *e, const uint8_t *p, size_t n)
{
	const struct suite *s;
	unsigned bits;
	size_t end = trimmed(p, n), start = end;

	if (proposal_parse_choice(p, n, &e->cfg.ciphers, &s, &bits) != 0)
		return false;
	while (start > 0 && p[start - 1] >= '0' && p[start - 1] <= '9')
		start--;
	return !proposal_size_extends(&e->cfg.ciphers, s, p + start, end - start);
}

/* Parses a complete DHMKE message and checks the value before any exponentiation. */
static int
accept_dhmke(struct engine *e, const uint8_t *msg, size_t len)
{
	const uint8_t *digits;
	size_t nd;
	int r;

	if (len < strlen("DHMKE") || dhmke_digits(msg, len, &digits, &nd) != 1)
		return CVPN_ERR_MALFORMED;
	if ((r = dh_check_public(digits, nd)) != 0)
		return r;
	if ((e->peer_pub = malloc(nd)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(e->peer_pub, digits, nd);
	e->peer_pub_len = nd;
	emit_text(e, ENGINE_EV_DH_PEER, digits, nd);
	return 0;
}

/* Reads the peer's DHMKE (either role), then moves on to the work state. */
static int
read_dhmke(struct engine *e, enum state next)
{
	const uint8_t *msg;
	size_t len, used;
	bool nl;
	int r;

	if ((r = take_handshake(e, "DHMKE", dhmke_final, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = accept_dhmke(e, msg, len)) != 0)
		return r;
	buf_consume(&e->in, used);
	e->state = next;
	return 1;
}

/* ---- Key establishment (shared by both roles) ---- */

static int
make_key(struct engine *e)
{
	int r;

	if (e->cfg.dh_private != NULL)
		r = dh_from_private(e->cfg.dh_private, e->cfg.dh_private_len, &e->dh);
	else
		r = dh_generate(&e->dh);
	if (r == 0)
		r = dh_public_decimal(e->dh, &e->local_pub);
	return r;
}

static int
derive(struct engine *e)
{
	uint8_t *secret = NULL;
	size_t len = 0;
	int r;

	if ((r = dh_compute_secret(e->dh, e->peer_pub, e->peer_pub_len, &secret, &len)) != 0)
		return r;
	r = dh_shared_key(secret, len, e->shared_key);
	OPENSSL_clear_free(secret, len);
	if (r == 0)
		r = suite_derive(e->suite, e->bits, e->shared_key, e->key, &e->key_len, e->iv, &e->iv_len);
	return r;
}

static int
establish(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_KEY };
	enum record_hmac mode = e->cfg.hmac;
	int r;

	if (!e->cfg.server && mode == RECORD_HMAC_AUTO)
		mode = RECORD_HMAC_CUMULATIVE;
	if ((r = record_new(e->suite, e->bits, e->key, e->key_len, e->iv, e->iv_len, !e->cfg.server, mode, &e->rec)) != 0)
		return r;
	ev.text = (const uint8_t *)e->shared_key;
	ev.text_len = SUITE_SHARED_KEY_LEN;
	ev.key = e->key;
	ev.key_len = e->key_len;
	ev.iv = e->iv;
	ev.iv_len = e->iv_len;
	emit(e, &ev);
	/* The exponent and the peer value are no longer needed; the record holds the keys. */
	dh_free(e->dh);
	e->dh = NULL;
	return 0;
}

/* ---- Client states ---- */

static int
client_choice(struct engine *e)
{
	const uint8_t *msg;
	size_t len, used;
	bool nl;
	int r;

	if ((r = take_handshake(e, "ChosenCipher", choice_final, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = proposal_parse_choice(msg, len, &e->cfg.ciphers, &e->suite, &e->bits)) != 0)
		return r;
	emit_text(e, ENGINE_EV_NEGOTIATED, msg, trimmed(msg, len));
	buf_consume(&e->in, used);
	e->state = C_KEYGEN;
	return 1;
}

/* Takes the reply to the last message; a different reply is taken when the server pauses. */
static int
client_reply(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_REPLY };
	uint8_t *p;
	size_t n, skip = 0, take, i, out;
	bool prefix;

	while (skip < e->in.len && e->in.data[skip] == 0)
		skip++;
	buf_consume(&e->in, skip);
	p = e->in.data;
	n = e->in.len;
	if (n == 0)
		return 0;
	prefix = memcmp(p, e->expect.data, n < e->expect.len ? n : e->expect.len) == 0;
	if (prefix && n >= e->expect.len) {
		take = e->expect.len;
	} else if (e->quiet) {
		take = n;
		ev.status = CVPN_ERR_BAD_REPLY;
	} else {
		return n > e->cfg.max_message + REPLY_SLACK ? CVPN_ERR_TOO_LONG : 0;
	}
	/* Drop NULs inside what we take (padded replies), then the ones that follow it. */
	for (i = 0, out = 0; i < take; i++)
		if (p[i] != 0)
			p[out++] = p[i];
	ev.text = p;
	ev.text_len = out;
	emit(e, &ev);
	while (take < n && p[take] == 0)
		take++;
	buf_consume(&e->in, take);
	e->state = C_READY;
	return 1;
}

/* Between messages only stray NUL padding may arrive. */
static int
client_idle(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->in.len; i++)
		if (e->in.data[i] != 0)
			return CVPN_ERR_UNEXPECTED;
	buf_consume(&e->in, e->in.len);
	return 0;
}

/* ---- Server states ---- */

static int
server_proposal(struct engine *e)
{
	struct proposal theirs;
	const uint8_t *msg;
	size_t len, used;
	char choice[64];
	bool nl;
	int r, n;

	if ((r = take_handshake(e, "ProposedCiphers", proposal_final, &msg, &len, &used, &nl)) <= 0)
		return r;
	emit_text(e, ENGINE_EV_PROPOSAL, msg, trimmed(msg, len));
	if ((r = proposal_parse_wire(msg, len, &theirs)) != 0 ||
	    (r = proposal_select(&e->cfg.ciphers, &theirs, &e->suite, &e->bits)) != 0)
		return r;
	buf_consume(&e->in, used);
	e->newline = e->cfg.newline == ENGINE_NEWLINE_ALWAYS || (e->cfg.newline == ENGINE_NEWLINE_MIRROR && nl);
	if ((n = proposal_format_choice(e->suite, e->bits, choice, sizeof(choice))) < 0)
		return n;
	emit_text(e, ENGINE_EV_NEGOTIATED, choice, (size_t)n);
	if ((r = queue_handshake(e, choice, (size_t)n)) != 0)
		return r;
	e->state = S_WAIT_DH;
	return 1;
}

static int
reply(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_REPLY };
	size_t prefix = e->cfg.reply == ENGINE_REPLY_BARE ? 0 : strlen(ENGINE_REPLY_PREFIX);
	size_t total = prefix + n, pad = 0;
	uint8_t *out;
	int r;

	if (e->cfg.reply == ENGINE_REPLY_PADDED)
		pad = record_wire_len(n) - RECORD_TAG_LEN - n;
	if ((out = calloc(1, total + pad + 1)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(out, ENGINE_REPLY_PREFIX, prefix);
	text_utf8_reverse(out + prefix, text, n);
	ev.text = out;
	ev.text_len = total;
	emit(e, &ev);
	r = queue(e, out, total + pad);
	free(out);
	return r;
}

/*
 * Finds one data message: the first split where a 16-byte-aligned run of 64
 * lowercase hex characters ends and whose tag verifies. This reads messages
 * split over several reads and several messages in one read. A split that
 * fails at the very end of what arrived is a bad tag, not a partial message.
 */
static int
find_data(struct engine *e, uint8_t *pt, size_t *ptlen, size_t *msglen)
{
	const uint8_t *p = e->in.data;
	size_t n = e->in.len, off;
	int r;

	for (off = 0; off + RECORD_TAG_LEN <= n && off + RECORD_TAG_LEN <= e->cfg.max_message; off += RECORD_PAD) {
		if (!text_is_lower_hex(p + off, RECORD_TAG_LEN))
			continue;
		r = record_open(e->rec, p, off + RECORD_TAG_LEN, pt, ptlen);
		if (r == 0)
			*msglen = off + RECORD_TAG_LEN;
		/*
		 * Random CBC output never looks like hex, but XOR and None send
		 * text that may: for them a failing split at the end may be a
		 * prefix of a longer message until the peer pauses.
		 */
		if (r != CVPN_ERR_BAD_TAG ||
		    (off + RECORD_TAG_LEN == n && (e->quiet || suite_kind(e->suite) == SUITE_CBC)))
			return r == 0 ? 1 : r;
	}
	return n >= e->cfg.max_message ? CVPN_ERR_TOO_LONG : 0;
}

static int
server_data(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_MESSAGE };
	size_t n = e->in.len, ptlen = 0, msglen = 0;
	uint8_t *pt;
	int r;

	if (n < RECORD_TAG_LEN)
		return 0;
	if ((pt = malloc(n)) == NULL)
		return CVPN_ERR_NOMEM;
	if ((r = find_data(e, pt, &ptlen, &msglen)) == 1 && !text_utf8_valid(pt, ptlen))
		r = CVPN_ERR_BAD_UTF8;
	if (r == 1) {
		ev.text = pt;
		ev.text_len = ptlen;
		ev.ct = e->in.data;
		ev.ct_len = msglen - RECORD_TAG_LEN;
		ev.tag = e->in.data + ev.ct_len;
		ev.tag_len = RECORD_TAG_LEN;
		emit(e, &ev);
		if ((r = reply(e, pt, ptlen)) == 0)
			r = 1;
		buf_consume(&e->in, msglen);
	}
	OPENSSL_clear_free(pt, n);
	return r;
}

/* ---- Driver ---- */

/* Runs one state step: 1 after progress, 0 when waiting, negative on failure. */
static int
step(struct engine *e)
{
	switch (e->state) {
	case C_WAIT_CHOICE:
		return client_choice(e);
	case C_WAIT_DH:
		return read_dhmke(e, C_DERIVE);
	case C_WAIT_REPLY:
		return client_reply(e);
	case C_READY:
		return client_idle(e);
	case S_WAIT_PROPOSAL:
		return server_proposal(e);
	case S_WAIT_DH:
		return read_dhmke(e, S_WORK);
	case S_READY:
		return server_data(e);
	case FAILED:
		return e->err;
	default:
		return 0; /* waiting for work or for engine_start */
	}
}

static int
fail(struct engine *e, int err)
{
	e->state = FAILED;
	e->err = err;
	return err;
}

static int
run(struct engine *e)
{
	int r;

	while ((r = step(e)) > 0)
		;
	return r < 0 ? fail(e, r) : 0;
}

int
engine_new(const struct engine_config *cfg, engine_event_fn *fn, void *arg, struct engine **out)
{
	struct engine *e;

	if (cfg->ciphers.n == 0 || (!cfg->server && cfg->newline == ENGINE_NEWLINE_MIRROR))
		return CVPN_ERR_INVALID_ARG;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return CVPN_ERR_NOMEM;
	e->cfg = *cfg;
	if (e->cfg.max_message == 0 || e->cfg.max_message > ENGINE_MAX_MESSAGE * 16)
		e->cfg.max_message = ENGINE_MAX_MESSAGE;
	e->fn = fn;
	e->arg = arg;
	e->state = cfg->server ? S_WAIT_PROPOSAL : C_START;
	e->newline = cfg->newline == ENGINE_NEWLINE_ALWAYS;
	*out = e;
	return 0;
}

int
engine_start(struct engine *e)
{
	char text[PROPOSAL_TEXT_MAX];
	int n, r;

	if (e->cfg.server)
		return 0;
	if (e->state != C_START)
		return CVPN_ERR_STATE;
	if ((n = proposal_format_wire(&e->cfg.ciphers, text, sizeof(text))) < 0)
		return fail(e, n);
	emit_text(e, ENGINE_EV_PROPOSAL, text, (size_t)n);
	if ((r = queue_handshake(e, text, (size_t)n)) != 0)
		return fail(e, r);
	e->state = C_WAIT_CHOICE;
	return 0;
}

int
engine_feed(struct engine *e, const uint8_t *p, size_t n)
{
	int r;

	if (e->state == FAILED)
		return e->err;
	/* Cap what one peer can make us hold: one message plus a little slack. */
	if ((r = buf_append(&e->in, p, n, 2 * e->cfg.max_message + REPLY_SLACK)) != 0)
		return fail(e, r);
	return run(e);
}

int
engine_quiet(struct engine *e)
{
	int r;

	if (e->state == FAILED)
		return e->err;
	e->quiet = true;
	r = run(e);
	e->quiet = false;
	return r;
}

bool
engine_partial(const struct engine *e)
{
	switch (e->state) {
	case C_WAIT_CHOICE:
	case C_WAIT_DH:
	case C_WAIT_REPLY:
	case S_WAIT_PROPOSAL:
	case S_WAIT_DH:
	case S_READY:
		return e->in.len > 0;
	default:
		return false;
	}
}

bool
engine_needs_work(const struct engine *e)
{
	return (e->state == C_KEYGEN || e->state == C_DERIVE || e->state == S_WORK) && !e->work_done;
}

void
engine_work(struct engine *e)
{
	int r = 0;

	if (!engine_needs_work(e))
		return;
	if (e->state == C_KEYGEN || e->state == S_WORK)
		r = make_key(e);
	if (r == 0 && (e->state == C_DERIVE || e->state == S_WORK))
		r = derive(e);
	e->work_err = r;
	e->work_done = true;
}

/* Sends our DHMKE: the client right after keygen, the server after deriving. */
static int
send_dhmke(struct engine *e)
{
	size_t n = strlen(e->local_pub);
	char *msg;
	int r;

	emit_text(e, ENGINE_EV_DH_LOCAL, e->local_pub, n);
	if ((msg = malloc(n + 7)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(msg, "DHMKE:", 6);
	memcpy(msg + 6, e->local_pub, n);
	r = queue_handshake(e, msg, n + 6);
	free(msg);
	return r;
}

int
engine_resume(struct engine *e)
{
	int r;

	if (e->state == FAILED)
		return e->err;
	if (!e->work_done)
		return 0;
	e->work_done = false;
	if (e->work_err != 0)
		return fail(e, e->work_err);
	switch (e->state) {
	case C_KEYGEN:
		r = send_dhmke(e);
		e->state = C_WAIT_DH;
		break;
	case C_DERIVE:
		r = establish(e);
		e->state = C_READY;
		break;
	case S_WORK:
		if ((r = send_dhmke(e)) == 0)
			r = establish(e);
		e->state = S_READY;
		break;
	default:
		r = CVPN_ERR_STATE;
	}
	if (r != 0)
		return fail(e, r);
	return run(e);
}

int
engine_send(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_SENT };
	size_t wire = record_wire_len(n), start = 0, end = n;
	size_t prefix = strlen(ENGINE_REPLY_PREFIX), limit = e->cfg.max_message + REPLY_SLACK;
	uint8_t *out;
	int r;

	if (e->cfg.server || e->state != C_READY)
		return e->state == FAILED ? e->err : CVPN_ERR_STATE;
	if (n > e->cfg.max_message || wire > e->cfg.max_message)
		return CVPN_ERR_MSG_TOO_LONG;
	if (!text_utf8_valid(text, n))
		return CVPN_ERR_BAD_UTF8;
	if ((out = malloc(wire)) == NULL)
		return CVPN_ERR_NOMEM;
	if ((r = record_seal(e->rec, text, n, out)) != 0) {
		free(out);
		return fail(e, r);
	}
	/*
	 * What a reference server answers: it strips NULs at both ends along with
	 * the padding, so its reply lacks them. A different reply is reported, not fatal.
	 */
	while (end > 0 && text[end - 1] == 0)
		end--;
	while (start < end && text[start] == 0)
		start++;
	buf_clear(&e->expect);
	if ((r = buf_append(&e->expect, ENGINE_REPLY_PREFIX, prefix, limit)) == 0 &&
	    (r = buf_append(&e->expect, text + start, end - start, limit)) == 0)
		text_utf8_reverse(e->expect.data + prefix, text + start, end - start);
	if (r == 0)
		r = queue(e, out, wire);
	if (r == 0) {
		ev.text = text;
		ev.text_len = n;
		ev.ct = out;
		ev.ct_len = wire - RECORD_TAG_LEN;
		ev.tag = out + wire - RECORD_TAG_LEN;
		ev.tag_len = RECORD_TAG_LEN;
		emit(e, &ev);
		e->state = C_WAIT_REPLY;
	}
	free(out);
	return r ? fail(e, r) : 0;
}

void
engine_output(const struct engine *e, const uint8_t **p, size_t *n)
{
	*p = e->out.data;
	*n = e->out.len;
}

void
engine_output_consume(struct engine *e, size_t n)
{
	buf_consume(&e->out, n);
}

bool
engine_established(const struct engine *e)
{
	return e->state == C_READY || e->state == C_WAIT_REPLY || e->state == S_READY;
}

bool
engine_ready(const struct engine *e)
{
	return e->state == C_READY;
}

const char *
engine_phase(const struct engine *e)
{
	switch (e->state) {
	case C_START:
	case C_WAIT_CHOICE:
	case S_WAIT_PROPOSAL:
		return "negotiating the cipher";
	case C_KEYGEN:
	case C_WAIT_DH:
	case C_DERIVE:
	case S_WAIT_DH:
	case S_WORK:
		return "negotiating the key";
	case C_READY:
	case C_WAIT_REPLY:
	case S_READY:
		return "exchanging messages";
	default:
		return "failed";
	}
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	buf_clear(&e->in);
	buf_clear(&e->out);
	buf_clear(&e->expect);
	dh_free(e->dh);
	free(e->local_pub);
	free(e->peer_pub);
	record_free(e->rec);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}
