/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "lab_wire.h"
#include "proposal.h"
#include "scan.h"
#include "suite.h"

/* Sizes on the wire are small numbers; more digits than this is malformed. */
#define SIZE_MAX_DIGITS 5

/* Index of the entry for s in p, or -1. */
static int
entry_index(const struct proposal *p, const struct suite *s)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->e[i].suite == s)
			return (int)i;
	return -1;
}

static bool
entry_has(const struct proposal_entry *e, unsigned bits)
{
	size_t i;

	for (i = 0; i < e->nsizes; i++)
		if (e->sizes[i] == bits)
			return true;
	return false;
}

/* Adds (s, bits) to p, merging with an existing entry for s. */
static void
add_size(struct proposal *p, const struct suite *s, unsigned bits)
{
	int i = entry_index(p, s);
	struct proposal_entry *e = i < 0 ? NULL : &p->e[i];

	if (e == NULL) {
		if (p->n == PROPOSAL_MAX_ENTRIES)
			return;
		e = &p->e[p->n++];
		e->suite = s;
		e->nsizes = 0;
	}
	if (!entry_has(e, bits) && e->nsizes < PROPOSAL_MAX_SIZES)
		e->sizes[e->nsizes++] = bits;
}

void
proposal_default(struct proposal *p)
{
	size_t i, j;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < suite_count(); i++) {
		const struct suite *s = suite_at(i);

		if (suite_insecure(s))
			continue;
		for (j = 0; j < suite_size_count(s); j++)
			add_size(p, s, suite_size_at(s, j));
	}
}

/* Consumes a comma only when a size follows it; a comma before a name starts the next entry. */
static bool
comma_then_size(struct scan *sc)
{
	size_t pos = sc->pos;

	if (scan_char(sc, ',')) {
		scan_ws(sc);
		if (sc->pos < sc->len && sc->p[sc->pos] >= '0' && sc->p[sc->pos] <= '9')
			return true;
	}
	sc->pos = pos;
	return false;
}

/* Parses one "NAME:[S,S]" or "NAME:S,S" entry of a user list into p. */
static int
parse_spec_entry(struct scan *sc, bool allow_insecure, struct proposal *p)
{
	const uint8_t *name;
	size_t namelen;
	const struct suite *s;
	bool bracket;
	unsigned bits;

	if (!scan_name(sc, &name, &namelen) || !scan_char(sc, ':'))
		return CVPN_ERR_CIPHER_SPEC;
	if ((s = suite_by_name((const char *)name, namelen, true)) == NULL)
		return CVPN_ERR_UNKNOWN_CIPHER;
	if (suite_insecure(s) && !allow_insecure)
		return CVPN_ERR_INSECURE;
	if (entry_index(p, s) >= 0)
		return CVPN_ERR_CIPHER_SPEC;
	bracket = scan_char(sc, '[');
	do {
		if (!scan_uint(sc, SIZE_MAX_DIGITS, &bits))
			return CVPN_ERR_CIPHER_SPEC;
		if (!suite_has_size(s, bits))
			return CVPN_ERR_UNKNOWN_CIPHER;
		add_size(p, s, bits);
	} while (comma_then_size(sc));
	if (bracket && !scan_char(sc, ']'))
		return CVPN_ERR_CIPHER_SPEC;
	return 0;
}

int
proposal_parse_spec(const char *text, bool allow_insecure, struct proposal *out)
{
	struct proposal p;
	struct scan sc;
	int r;

	memset(&p, 0, sizeof(p));
	scan_init(&sc, text, strlen(text));
	for (;;) {
		while (scan_char(&sc, ';') || scan_char(&sc, ','))
			;
		if (scan_end(&sc))
			break;
		if ((r = parse_spec_entry(&sc, allow_insecure, &p)) != 0)
			return r;
	}
	if (p.n == 0)
		return CVPN_ERR_CIPHER_SPEC;
	*out = p;
	return 0;
}

void
proposal_format_spec(const struct proposal *p, char *out, size_t outlen)
{
	size_t i, j, off = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < p->n && off < outlen; i++) {
		off += (size_t)snprintf(out + off, outlen - off, "%s%s:", i ? " " : "", suite_name(p->e[i].suite));
		for (j = 0; j < p->e[i].nsizes && off < outlen; j++)
			off += (size_t)snprintf(out + off, outlen - off, "%s%u", j ? "," : "", p->e[i].sizes[j]);
	}
}

int
proposal_format_wire(const struct proposal *p, char *out, size_t outlen)
{
	size_t i, j;
	int off, n;

	off = snprintf(out, outlen, "%s%c", LAB_PROPOSAL, LAB_SEPARATOR);
	if (off < 0 || (size_t)off >= outlen)
		return CVPN_ERR_TOO_LONG;
	for (i = 0; i < p->n; i++) {
		n = snprintf(out + off, outlen - (size_t)off, "%s%s:[", i ? "," : "", suite_name(p->e[i].suite));
		if (n < 0 || (size_t)n >= outlen - (size_t)off)
			return CVPN_ERR_TOO_LONG;
		off += n;
		for (j = 0; j < p->e[i].nsizes; j++) {
			n = snprintf(out + off, outlen - (size_t)off, "%s%u", j ? "," : "", p->e[i].sizes[j]);
			if (n < 0 || (size_t)n >= outlen - (size_t)off)
				return CVPN_ERR_TOO_LONG;
			off += n;
		}
		if ((size_t)off + 1 >= outlen)
			return CVPN_ERR_TOO_LONG;
		out[off++] = ']';
		out[off] = '\0';
	}
	return off;
}

/* Parses one "NAME:[S,S]" entry of a peer's proposal, keeping what we know. */
static int
parse_wire_entry(struct scan *sc, struct proposal *p)
{
	const uint8_t *name;
	size_t namelen;
	const struct suite *s;
	unsigned bits;

	if (!scan_name(sc, &name, &namelen) || !scan_char(sc, ':') || !scan_char(sc, '['))
		return CVPN_ERR_MALFORMED;
	s = suite_by_name((const char *)name, namelen, false);
	do {
		if (!scan_uint(sc, SIZE_MAX_DIGITS, &bits))
			return CVPN_ERR_MALFORMED;
		if (s != NULL && suite_has_size(s, bits))
			add_size(p, s, bits);
	} while (scan_char(sc, ','));
	if (!scan_char(sc, ']'))
		return CVPN_ERR_MALFORMED;
	return 0;
}

int
proposal_parse_wire(const uint8_t *msg, size_t len, struct proposal *out)
{
	struct proposal p;
	struct scan sc;
	int r;

	memset(&p, 0, sizeof(p));
	scan_init(&sc, msg, len);
	if (!scan_word(&sc, LAB_PROPOSAL) || !scan_char(&sc, LAB_SEPARATOR))
		return CVPN_ERR_MALFORMED;
	do {
		if ((r = parse_wire_entry(&sc, &p)) != 0)
			return r;
	} while (scan_char(&sc, ','));
	if (!scan_end(&sc))
		return CVPN_ERR_MALFORMED;
	*out = p;
	return 0;
}

static unsigned
largest_common(const struct proposal_entry *a, const struct proposal_entry *b)
{
	unsigned best = 0;
	size_t i;

	for (i = 0; i < a->nsizes; i++)
		if (a->sizes[i] > best && entry_has(b, a->sizes[i]))
			best = a->sizes[i];
	return best;
}

int
proposal_select(const struct proposal *ours, const struct proposal *theirs,
    const struct suite **suite, unsigned *bits)
{
	const struct suite *best = NULL;
	unsigned best_bits = 0, b;
	size_t i, j;

	for (i = 0; i < ours->n; i++) {
		for (j = 0; j < theirs->n; j++) {
			if (theirs->e[j].suite != ours->e[i].suite)
				continue;
			/* Strictly greater keeps the earlier (preferred) suite on ties. */
			b = largest_common(&ours->e[i], &theirs->e[j]);
			if (b > best_bits) {
				best = ours->e[i].suite;
				best_bits = b;
			}
		}
	}
	if (best == NULL)
		return CVPN_ERR_NO_COMMON;
	*suite = best;
	*bits = best_bits;
	return 0;
}

int
proposal_format_choice(const struct suite *s, unsigned bits, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%c%s,%u", LAB_CHOICE, LAB_SEPARATOR, suite_name(s), bits);

	if (n < 0 || (size_t)n >= outlen)
		return CVPN_ERR_TOO_LONG;
	return n;
}

int
proposal_parse_choice(const uint8_t *msg, size_t len, const struct proposal *ours,
    const struct suite **suite, unsigned *bits)
{
	const uint8_t *name;
	size_t namelen;
	const struct suite *s;
	struct scan sc;
	unsigned b;
	int i;

	scan_init(&sc, msg, len);
	if (!scan_word(&sc, LAB_CHOICE) || !scan_char(&sc, LAB_SEPARATOR) || !scan_name(&sc, &name, &namelen))
		return CVPN_ERR_MALFORMED;
	if (!scan_char(&sc, ',') && !scan_char(&sc, ':'))
		return CVPN_ERR_MALFORMED;
	if (!scan_uint(&sc, SIZE_MAX_DIGITS, &b) || !scan_end(&sc))
		return CVPN_ERR_MALFORMED;
	s = suite_by_name((const char *)name, namelen, false);
	if (s == NULL || (i = entry_index(ours, s)) < 0 || !entry_has(&ours->e[i], b))
		return CVPN_ERR_BAD_CHOICE;
	*suite = s;
	*bits = b;
	return 0;
}

bool
proposal_size_extends(const struct proposal *ours, const struct suite *s, const uint8_t *digits, size_t n)
{
	int k = entry_index(ours, s);
	char text[16];
	size_t i;

	for (i = 0; k >= 0 && i < ours->e[k].nsizes; i++) {
		int len = snprintf(text, sizeof(text), "%u", ours->e[k].sizes[i]);

		if ((size_t)len > n && memcmp(text, digits, n) == 0)
			return true;
	}
	return false;
}
