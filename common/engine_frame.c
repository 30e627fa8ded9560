/* SPDX-License-Identifier: MIT */
/*
 * Reading handshake messages without framing. A message ends at a '\n', at a
 * point where its grammar cannot go on, at a short pause of the peer where it
 * is plausibly whole (the frame_end callbacks say which), or at the partial
 * timeout whatever it holds. A lost segment comes back one retransmission
 * timeout later (200 ms or more), so a short pause alone must not end a
 * message that is visibly incomplete. See docs/PROTOCOL.md, "Reading without
 * framing".
 */
#include <stdlib.h>
#include <string.h>

#include "dh.h"
#include "engine_impl.h"
#include "err.h"

static bool
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t
frame_trimmed(const uint8_t *p, size_t n)
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
frame_take(struct engine *e, const char *keyword, frame_end_fn *where,
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
	if (frame_trimmed(p + i, n - i) != 0)
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
	if (n < strlen("DHMKE"))
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

	if (len < strlen("DHMKE") || dhmke_digits(msg, len, &digits, &nd) != 1)
		return CVPN_ERR_MALFORMED;
	if ((r = dh_check_public(digits, nd)) != 0)
		return r;
	if ((e->peer_pub = malloc(nd)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(e->peer_pub, digits, nd);
	e->peer_pub_len = nd;
	if (nd < DH_PLAUSIBLE_DIGITS && !had_newline)
		e->peer_pub_cut = nd;
	engine_emit_text(e, ENGINE_EV_DH_PEER, digits, nd);
	return 0;
}

/* Reads the peer's DHMKE (either role), then moves on to the work state. */
int
frame_read_dhmke(struct engine *e, enum state next)
{
	const uint8_t *msg;
	size_t len, used;
	bool nl;
	int r;

	if ((r = frame_take(e, "DHMKE", dhmke_end, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = accept_dhmke(e, msg, len, nl)) != 0)
		return r;
	buf_consume(&e->in, used);
	e->state = next;
	return 1;
}
