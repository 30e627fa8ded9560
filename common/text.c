/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void
text_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Bytes of w (all below 0x80) that lie in [lo, hi), as their high bits. */
static inline uint64_t
bytes_in(uint64_t w, uint8_t lo, uint8_t hi)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;

	/* No byte carries into the next: each is below 0x80 and gains at most 0x80. */
	return (w + ones * (0x80 - lo)) & ~(w + ones * (0x80 - hi)) & high;
}

bool
text_is_lower_hex(const uint8_t *p, size_t n)
{
	/* A table: the lab server asks this of 64 bytes at every 16-byte split of every message. */
	static const bool lower_hex[256] = {
		['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
		['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
		['a'] = true, ['b'] = true, ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true,
	};
	const uint64_t high = 0x8080808080808080ull;
	size_t i = 0;
	uint64_t w;

	/* Most splits fail at their first byte (ciphertext); a tag passes eight bytes at a time. */
	if (n > 0 && !lower_hex[p[0]])
		return false;
	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		if ((w & high) != 0 || (bytes_in(w, '0', '9' + 1) | bytes_in(w, 'a', 'f' + 1)) != high)
			return false;
	}
	for (; i < n; i++)
		if (!lower_hex[p[i]])
			return false;
	return true;
}

/* Length of the UTF-8 sequence starting at p[0], or 0 when it is not well formed. */
static size_t
utf8_seq_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

bool
text_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, len;
	uint64_t w;

	while (i < n) {
		/* Messages are mostly ASCII: pass eight such bytes at a time. */
		if (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		if ((len = utf8_seq_len(p + i, n - i)) == 0)
			return false;
		i += len;
	}
	return true;
}

void
text_utf8_reverse(uint8_t *out, const uint8_t *p, size_t n)
{
	size_t i = 0, len;
	uint64_t w;

	while (i < n) {
		/* Eight ASCII bytes, the common case, reverse as one word. */
		if (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				w = __builtin_bswap64(w);
				memcpy(out + n - i - 8, &w, 8);
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			out[n - 1 - i] = p[i];
			i++;
			continue;
		}
		len = utf8_seq_len(p + i, n - i);
		if (len == 0)
			len = 1; /* callers validate first; keep going byte-wise if not */
		memcpy(out + n - i - len, p + i, len);
		i += len;
	}
}

/* Appends one piece to out, counting its length even when it does not fit. */
static void
put(char *out, size_t outlen, size_t *off, const char *piece, size_t len)
{
	if (*off < outlen) {
		size_t room = outlen - *off - 1, k = len < room ? len : room;

		memcpy(out + *off, piece, k);
		out[*off + k] = '\0';
	}
	*off += len;
}

size_t
text_escape(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	bool utf8 = text_utf8_valid(p, n);
	char esc[8];
	size_t i = 0, off = 0, len;

	if (outlen)
		out[0] = '\0';
	while (i < n) {
		len = utf8 ? utf8_seq_len(p + i, n - i) : 1;
		if (p[i] < 0x20 || p[i] == 0x7f || (!utf8 && p[i] >= 0x80)) {
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			put(out, outlen, &off, esc, 4);
		} else if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i + 1]);
			put(out, outlen, &off, esc, 6);
		} else {
			put(out, outlen, &off, (const char *)p + i, len);
		}
		i += len;
	}
	return off;
}

char *
text_escape_dup(const uint8_t *p, size_t n)
{
	size_t len = text_escape(NULL, 0, p, n);
	char *out = malloc(len + 1);

	if (out != NULL)
		text_escape(out, len + 1, p, n);
	return out;
}

void
text_json_string(FILE *f, const void *text, size_t n)
{
	const uint8_t *p = text;
	bool utf8 = text_utf8_valid(p, n);
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else if (p[i] < 0x20 || p[i] == 0x7f || (!utf8 && p[i] >= 0x80))
			fprintf(f, "\\u%04x", p[i]);
		else
			fputc(p[i], f);
	}
	fputc('"', f);
}
