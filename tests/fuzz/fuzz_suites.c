/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the secure profile's --suites list (engine_parse_suites), the
 * input up to its first NUL as it would come from argv.
 * Oracles: it agrees with a model (names separated by commas and spaces, each
 * exactly "ChaChaPoly" or "AESGCM", 1 to 8 of them); nothing changes on
 * failure; an accepted list written out again parses the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "engine.h"
#include "err.h"
#include "harness.h"

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

/* Returns the number of suites the model accepts, or -1. */
static int
model(const char *text, enum aead_cipher *out)
{
	size_t len;
	int n = 0;

	while (*text) {
		if ((len = strcspn(text, ", ")) == 0) {
			text++;
			continue;
		}
		if (n == 8)
			return -1;
		if (len == 10 && memcmp(text, "ChaChaPoly", 10) == 0)
			out[n++] = AEAD_CHACHAPOLY;
		else if (len == 6 && memcmp(text, "AESGCM", 6) == 0)
			out[n++] = AEAD_AESGCM;
		else
			return -1;
		text += len;
	}
	return n ? n : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secure_config sc, before, again;
	enum aead_cipher want[8];
	char *text, out[8 * 12];
	size_t i, off = 0;
	int r, n;

	FZ_ASSERT((text = malloc(size + 1)) != NULL);
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	memset(&sc, 0x5a, sizeof(sc));
	before = sc;
	r = engine_parse_suites(text, &sc);
	n = model(text, want);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_INVALID_ARG);
	FZ_ASSERT((r == 0) == (n > 0));
	if (r != 0) {
		FZ_ASSERT(memcmp(&sc, &before, sizeof(sc)) == 0);
		free(text);
		return 0;
	}
	FZ_ASSERT(sc.nsuites == (size_t)n && memcmp(sc.suites, want, (size_t)n * sizeof(want[0])) == 0);
	for (i = 0; i < sc.nsuites; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s", i ? "," : "", aead_name(sc.suites[i]));
	FZ_ASSERT(engine_parse_suites(out, &again) == 0 && again.nsuites == sc.nsuites &&
	    memcmp(again.suites, sc.suites, sc.nsuites * sizeof(sc.suites[0])) == 0);
	free(text);
	return 0;
}
