/* SPDX-License-Identifier: MIT */
/*
 * What the lab profile's two roles share (lab.h). Handshake messages come
 * without framing: one ends at a '\n', at a point where its grammar cannot
 * go on, at a short pause of the peer where it is plausibly whole (the
 * lab_frame_end_fn callbacks say which), or at the partial timeout whatever
 * it holds. A lost segment comes back one retransmission timeout later (200
 * ms or more), so a short pause alone must not end a message that is visibly
 * incomplete. See docs/PROTOCOL.md, "Reading without framing".
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dh.h"
#include "err.h"
#include "lab.h"
#include "record.h"
#include "suite.h"

/* ---- Events ---- */

void
lab_emit(struct engine *e, struct engine_event *ev)
{
	const struct lab_state *lab = &e->p.lab;

	ev->suite = lab->suite;
	ev->bits = lab->bits;
	if (lab->rec)
		ev->hmac = record_hmac_mode(lab->rec);
	engine_emit(e, ev);
}

void
lab_emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len)
{
	struct engine_event ev = { .type = type, .text = text, .text_len = len };

	lab_emit(e, &ev);
}

int
lab_queue_handshake(struct engine *e, const char *msg, size_t n)
{
	int r;

	if ((r = engine_queue(e, msg, n)) == 0 && e->p.lab.newline)
		r = engine_queue(e, "\n", 1);
	return r;
}

/* ---- Reading handshake messages ---- */

static bool
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t
lab_trimmed(const uint8_t *p, size_t n)
{
	while (n > 0 && is_space(p[n - 1]))
		n--;
	return n;
}

/* True when a message standing at end ends now, given how long the peer has paused. */
static bool
frame_ends(const struct engine *e, enum frame_end end)
{
	return end == FRAME_FINAL || e->pause == PAUSE_LONG || (end == FRAME_AT_PAUSE && e->pause == PAUSE_SHORT);
}

int
lab_take(struct engine *e, const char *keyword, lab_frame_end_fn *where,
    const uint8_t **msg, size_t *len, size_t *used, bool *had_newline)
{
	const uint8_t *p = e->in.data, *nl;
	size_t n = e->in.len, skip = 0, kw = strlen(keyword), cmp;

	/* Nothing buffered yet: the buffer may still be NULL, and NULL + 0 is undefined. */
	if (n == 0)
		return 0;
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
		if ((size_t)(nl - p) > HANDSHAKE_MAX)
			return CVPN_ERR_TOO_LONG;
		*msg = p;
		*len = (size_t)(nl - p);
		*used = skip + *len + 1;
		*had_newline = true;
		return 1;
	}
	if (n > HANDSHAKE_MAX)
		return CVPN_ERR_TOO_LONG;
	if (frame_ends(e, where(e, p, n))) {
		*msg = p;
		*len = n;
		*used = skip + n;
		*had_newline = false;
		return 1;
	}
	return 0;
}

/* Finds the digits of a "DHMKE:" message: 1 if found, 0 if not yet, negative if malformed. */
static int
dhmke_digits(const uint8_t *p, size_t n, const uint8_t **digits, size_t *ndigits)
{
	size_t i = strlen(LAB_DHMKE), start;

	while (i < n && is_space(p[i]))
		i++;
	if (i == n)
		return 0;
	if (p[i++] != LAB_SEPARATOR)
		return CVPN_ERR_MALFORMED;
	while (i < n && is_space(p[i]))
		i++;
	start = i;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	if (lab_trimmed(p + i, n - i) != 0)
		return CVPN_ERR_MALFORMED;
	*digits = p + start;
	*ndigits = i - start;
	return i > start ? 1 : 0;
}

/*
 * A value ends where no digit can follow (2467 digits, or a next digit would
 * pass p); at a short pause only once it is long enough to be whole (see
 * DH_PLAUSIBLE_DIGITS): a shorter one waits for the rest or the partial timeout.
 */
static enum frame_end
dhmke_end(struct engine *e, const uint8_t *p, size_t n)
{
	const uint8_t *digits;
	size_t nd;

	(void)e;
	if (n < strlen(LAB_DHMKE))
		return FRAME_OPEN;
	switch (dhmke_digits(p, n, &digits, &nd)) {
	case 1:
		if (dh_digits_final(digits, nd))
			return FRAME_FINAL;
		return nd >= DH_PLAUSIBLE_DIGITS ? FRAME_AT_PAUSE : FRAME_OPEN;
	case 0:
		return FRAME_OPEN;
	default:
		/* Malformed text is reported as soon as it is taken. */
		return FRAME_FINAL;
	}
}

/*
 * Parses a complete DHMKE message and checks the value before any
 * exponentiation. A short value without a newline was taken at the partial
 * timeout: remember it, for the failure it will most likely cause.
 */
static int
accept_dhmke(struct engine *e, const uint8_t *msg, size_t len, bool had_newline)
{
	const uint8_t *digits;
	size_t nd;
	int r;

	if (len < strlen(LAB_DHMKE) || dhmke_digits(msg, len, &digits, &nd) != 1)
		return CVPN_ERR_MALFORMED;
	if ((r = dh_check_public(digits, nd)) != 0)
		return r;
	if ((e->p.lab.peer_pub = malloc(nd)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(e->p.lab.peer_pub, digits, nd);
	e->p.lab.peer_pub_len = nd;
	if (nd < DH_PLAUSIBLE_DIGITS && !had_newline)
		e->p.lab.peer_pub_cut = nd;
	lab_emit_text(e, ENGINE_EV_DH_PEER, digits, nd);
	return 0;
}

int
lab_read_dhmke(struct engine *e)
{
	const uint8_t *msg;
	size_t len, used;
	bool nl;
	int r;

	if ((r = lab_take(e, LAB_DHMKE, dhmke_end, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = accept_dhmke(e, msg, len, nl)) != 0)
		return r;
	buf_consume(&e->in, used);
	return 1;
}

/* ---- The key ---- */

int
lab_make_key(struct engine *e)
{
	struct lab_state *lab = &e->p.lab;
	int r;

	if (e->cfg.dh_private != NULL)
		r = dh_from_private(e->cfg.dh_private, e->cfg.dh_private_len, &lab->dh);
	else
		r = dh_generate(&lab->dh);
	if (r == 0)
		r = dh_public_decimal(lab->dh, &lab->local_pub);
	return r;
}

int
lab_derive(struct engine *e)
{
	struct lab_state *lab = &e->p.lab;
	uint8_t *secret = NULL;
	size_t len = 0;
	int r;

	if ((r = dh_compute_secret(lab->dh, lab->peer_pub, lab->peer_pub_len, &secret, &len)) != 0)
		return r;
	r = dh_shared_key(secret, len, lab->shared_key);
	OPENSSL_clear_free(secret, len);
	if (r == 0)
		r = suite_derive(lab->suite, lab->bits, lab->shared_key, lab->key, &lab->key_len, lab->iv, &lab->iv_len);
	return r;
}

int
lab_send_dhmke(struct engine *e)
{
	const char *pub = e->p.lab.local_pub;
	size_t n = strlen(pub), k = strlen(LAB_DHMKE);
	char *msg;
	int r;

	lab_emit_text(e, ENGINE_EV_DH_LOCAL, pub, n);
	if ((msg = malloc(k + 1 + n)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(msg, LAB_DHMKE, k);
	msg[k] = LAB_SEPARATOR;
	memcpy(msg + k + 1, pub, n);
	r = lab_queue_handshake(e, msg, k + 1 + n);
	free(msg);
	return r;
}

int
lab_establish(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_KEY };
	struct lab_state *lab = &e->p.lab;
	enum record_hmac mode = e->cfg.hmac;
	int r;

	if (!e->cfg.server && mode == RECORD_HMAC_AUTO)
		mode = RECORD_HMAC_CUMULATIVE;
	if ((r = record_new(lab->suite, lab->bits, lab->key, lab->key_len, lab->iv, lab->iv_len, !e->cfg.server, mode,
	    &lab->rec)) != 0)
		return r;
	ev.text = (const uint8_t *)lab->shared_key;
	ev.text_len = SUITE_SHARED_KEY_LEN;
	ev.key = lab->key;
	ev.key_len = lab->key_len;
	ev.iv = lab->iv;
	ev.iv_len = lab->iv_len;
	lab_emit(e, &ev);
	/* The record holds its own copies of the keys; nothing else needs these. */
	dh_free(lab->dh);
	lab->dh = NULL;
	/* Nor the decimal DH values: public, but 2.5 KB each for every session held. */
	free(lab->local_pub);
	lab->local_pub = NULL;
	free(lab->peer_pub);
	lab->peer_pub = NULL;
	lab->peer_pub_len = 0;
	OPENSSL_cleanse(lab->shared_key, sizeof(lab->shared_key));
	OPENSSL_cleanse(lab->key, sizeof(lab->key));
	OPENSSL_cleanse(lab->iv, sizeof(lab->iv));
	return 0;
}

void
lab_free(struct engine *e)
{
	struct lab_state *lab = &e->p.lab;

	dh_free(lab->dh);
	free(lab->local_pub);
	free(lab->peer_pub);
	record_free(lab->rec);
}
