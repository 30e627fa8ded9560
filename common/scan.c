/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "scan.h"

void
scan_init(struct scan *sc, const void *p, size_t len)
{
	sc->p = p;
	sc->len = len;
	sc->pos = 0;
}

void
scan_ws(struct scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->p[sc->pos]) != NULL && sc->p[sc->pos] != '\0')
		sc->pos++;
}

bool
scan_char(struct scan *sc, char c)
{
	scan_ws(sc);
	if (sc->pos < sc->len && sc->p[sc->pos] == (uint8_t)c) {
		sc->pos++;
		return true;
	}
	return false;
}

bool
scan_word(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	scan_ws(sc);
	if (sc->len - sc->pos < n || memcmp(sc->p + sc->pos, word, n) != 0)
		return false;
	sc->pos += n;
	return true;
}

static bool
is_name_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool
scan_name(struct scan *sc, const uint8_t **tok, size_t *toklen)
{
	size_t start;

	scan_ws(sc);
	start = sc->pos;
	while (sc->pos < sc->len && is_name_char(sc->p[sc->pos]))
		sc->pos++;
	if (sc->pos == start)
		return false;
	*tok = sc->p + start;
	*toklen = sc->pos - start;
	return true;
}

bool
scan_uint(struct scan *sc, unsigned max_digits, unsigned *value)
{
	size_t start, n = 0;
	unsigned v = 0;

	scan_ws(sc);
	start = sc->pos;
	while (start + n < sc->len && sc->p[start + n] >= '0' && sc->p[start + n] <= '9') {
		if (++n > max_digits)
			return false;
		v = v * 10 + (unsigned)(sc->p[start + n - 1] - '0');
	}
	if (n == 0)
		return false;
	sc->pos = start + n;
	*value = v;
	return true;
}

bool
scan_end(struct scan *sc)
{
	scan_ws(sc);
	return sc->pos == sc->len;
}
