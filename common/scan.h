/* SPDX-License-Identifier: MIT */
/* cvpn: a bounded cursor for the lab's text grammars (no NUL termination assumed). */
#ifndef CVPN_SCAN_H
#define CVPN_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scan {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

/* Starts a cursor over p[0..len). */
void scan_init(struct scan *sc, const void *p, size_t len);

/* Skips spaces, tabs, CR and LF. */
void scan_ws(struct scan *sc);

/* Skips whitespace, then consumes c if it is next. Returns whether it did. */
bool scan_char(struct scan *sc, char c);

/* Skips whitespace, then consumes the literal word if it is next. Returns whether it did. */
bool scan_word(struct scan *sc, const char *word);

/* Skips whitespace, then consumes [A-Za-z0-9_-]+ into *tok and *toklen. Returns false if none. */
bool scan_name(struct scan *sc, const uint8_t **tok, size_t *toklen);

/*
 * Skips whitespace, then consumes 1..max_digits decimal digits into *value.
 * Returns false (consuming nothing) when there are no digits or too many.
 */
bool scan_uint(struct scan *sc, unsigned max_digits, unsigned *value);

/* Skips whitespace and returns true when nothing is left. */
bool scan_end(struct scan *sc);

#endif
