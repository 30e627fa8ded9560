/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a base64 key as a user types or pastes it (keys_from_base64).
 * Oracles: an accepted key is exactly 44 characters between whitespace,
 * ending in one '='; it encodes back to the same 32 bytes; nothing is written
 * on failure; and it is canonical base64 (as wg's key_from_base64 requires):
 * no '=' but the last character, and the unused low bits of the last data
 * character zero, so one key has one spelling.
 */
#include <ctype.h>
#include <string.h>

#include "err.h"
#include "harness.h"
#include "keys.h"

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	uint8_t key[KEYS_LEN], again[KEYS_LEN];
	char b64[KEYS_B64_LEN + 1];
	size_t start = 0, end = size;
	int r;

	memset(key, 0xa5, sizeof(key));
	r = keys_from_base64(text, size, key);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_KEY_FORMAT);
	if (r != 0) {
		for (start = 0; start < sizeof(key); start++)
			FZ_ASSERT(key[start] == 0xa5);
		return 0;
	}
	while (start < end && isspace((unsigned char)text[start]))
		start++;
	while (end > start && isspace((unsigned char)text[end - 1]))
		end--;
	FZ_ASSERT(end - start == KEYS_B64_LEN && text[end - 1] == '=' && text[end - 2] != '=');
	keys_to_base64(key, b64);
	FZ_ASSERT(keys_from_base64(b64, KEYS_B64_LEN, again) == 0 && memcmp(key, again, KEYS_LEN) == 0);
	/* The input is the canonical form. */
	FZ_ASSERT(memcmp(b64, text + start, KEYS_B64_LEN) == 0);
	return 0;
}
