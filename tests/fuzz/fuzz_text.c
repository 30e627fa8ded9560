/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the text helpers every message goes through:
 * text_utf8_valid, text_utf8_reverse, text_escape (and _dup), text_hex and
 * text_is_lower_hex. Oracles:
 *  - text_utf8_valid agrees with a decoder written from the Unicode
 *    standard's table of well-formed byte sequences (Table 3-7);
 *  - reversing valid text gives valid text, and reversing twice gives it back;
 *  - escaping returns the full length whatever the room, a truncated result
 *    is a prefix of the full one, the result has no C0, DEL or C1 control, is
 *    valid UTF-8, and escaping it again changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	return 0;
}

/* Table 3-7: the ranges of the second byte after each lead byte; later bytes are 80..BF. */
static bool
model_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, len, k;
	uint8_t lo, hi;

	while (i < n) {
		uint8_t b = p[i];

		lo = 0x80;
		hi = 0xbf;
		if (b <= 0x7f) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf) {
			len = 2;
		} else if (b == 0xe0) {
			len = 3, lo = 0xa0;
		} else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
			len = 3;
		} else if (b == 0xed) {
			len = 3, hi = 0x9f;
		} else if (b == 0xf0) {
			len = 4, lo = 0x90;
		} else if (b >= 0xf1 && b <= 0xf3) {
			len = 4;
		} else if (b == 0xf4) {
			len = 4, hi = 0x8f;
		} else {
			return false;
		}
		if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return false;
		i += len;
	}
	return true;
}

static void
check_escaped(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i;

	FZ_ASSERT(strlen(s) == n);
	FZ_ASSERT(text_utf8_valid(p, n));
	for (i = 0; i < n; i++) {
		FZ_ASSERT(p[i] >= 0x20 && p[i] != 0x7f);
		FZ_ASSERT(!(p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool valid = text_utf8_valid(data, size);
	uint8_t *rev, *back;
	char *full, *again, *part, *hex;
	size_t len, len2, room, i;
	bool lower = true;

	FZ_ASSERT(valid == model_valid(data, size));
	if (valid && size > 0) {
		FZ_ASSERT((rev = malloc(size)) != NULL && (back = malloc(size)) != NULL);
		text_utf8_reverse(rev, data, size);
		FZ_ASSERT(text_utf8_valid(rev, size));
		text_utf8_reverse(back, rev, size);
		FZ_ASSERT(memcmp(back, data, size) == 0);
		free(rev);
		free(back);
	}

	len = text_escape(NULL, 0, data, size);
	FZ_ASSERT((full = malloc(len + 1)) != NULL);
	FZ_ASSERT(text_escape(full, len + 1, data, size) == len);
	check_escaped(full, len);
	FZ_ASSERT((again = text_escape_dup(data, size)) != NULL && strcmp(again, full) == 0);
	free(again);
	/* Idempotent: escaped text has nothing left to escape. */
	FZ_ASSERT((again = text_escape_dup((const uint8_t *)full, len)) != NULL && strcmp(again, full) == 0);
	free(again);
	/* Any room: the same length back, and a prefix of the full result. */
	room = size ? data[0] % (len + 2) : 0;
	FZ_ASSERT((part = malloc(room + 1)) != NULL);
	memset(part, 'Z', room + 1);
	len2 = text_escape(part, room, data, size);
	FZ_ASSERT(len2 == len);
	if (room > 0) {
		FZ_ASSERT(strlen(part) == (len < room - 1 ? len : room - 1));
		FZ_ASSERT(memcmp(part, full, strlen(part)) == 0);
	}
	FZ_ASSERT(part[room] == 'Z');
	free(part);
	free(full);

	FZ_ASSERT((hex = malloc(2 * size + 1)) != NULL);
	text_hex(hex, data, size);
	FZ_ASSERT(strlen(hex) == 2 * size && text_is_lower_hex((const uint8_t *)hex, 2 * size));
	free(hex);
	for (i = 0; i < size; i++)
		lower &= (data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f');
	FZ_ASSERT(text_is_lower_hex(data, size) == lower);
	return 0;
}
