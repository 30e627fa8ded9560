/* SPDX-License-Identifier: MIT */
/*
 * Reading handshake messages without framing. A message ends at a '\n', at a
 * point where its grammar cannot go on (the final callbacks), or when the
 * peer pauses (engine_quiet). See docs/PROTOCOL.md, "Reading without framing".
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

int
frame_take(struct engine *e, const char *keyword, frame_final_fn *is_final,
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
	if (e->quiet || is_final(e, p, n)) {
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

	if ((r = frame_take(e, "DHMKE", dhmke_final, &msg, &len, &used, &nl)) <= 0)
		return r;
	if ((r = accept_dhmke(e, msg, len)) != 0)
		return r;
	buf_consume(&e->in, used);
	e->state = next;
	return 1;
}
