/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the user's --ciphers list (proposal_parse_spec). The first
 * input byte's low bit is --allow-insecure-ciphers; the rest is the text, up
 * to its first NUL, as it would come from argv.
 * Oracles: an accepted list is non-empty, holds only known pairs without
 * duplicates, XOR and None only when allowed; its user form and its wire
 * form both parse back to the same list; nothing is set on failure.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "harness.h"
#include "proposal.h"
#include "suite.h"

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

static bool
same(const struct proposal *a, const struct proposal *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->e[i].suite != b->e[i].suite || a->e[i].nsizes != b->e[i].nsizes ||
		    memcmp(a->e[i].sizes, b->e[i].sizes, a->e[i].nsizes * sizeof(a->e[i].sizes[0])) != 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proposal p, q, before;
	char out[4 * PROPOSAL_TEXT_MAX], *text;
	bool allow;
	size_t i, j, k;
	int n, r;

	if (size < 1)
		return 0;
	allow = data[0] & 1;
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	memset(&p, 0x5a, sizeof(p));
	before = p;
	r = proposal_parse_spec(text, allow, &p);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_CIPHER_SPEC || r == CVPN_ERR_UNKNOWN_CIPHER || r == CVPN_ERR_INSECURE);
	if (r != 0) {
		FZ_ASSERT(memcmp(&p, &before, sizeof(p)) == 0);
		FZ_ASSERT(r != CVPN_ERR_INSECURE || !allow);
		free(text);
		return 0;
	}
	FZ_ASSERT(p.n >= 1 && p.n <= PROPOSAL_MAX_ENTRIES);
	for (i = 0; i < p.n; i++) {
		FZ_ASSERT(allow || !suite_insecure(p.e[i].suite));
		FZ_ASSERT(p.e[i].nsizes >= 1 && p.e[i].nsizes <= PROPOSAL_MAX_SIZES);
		for (j = 0; j < i; j++)
			FZ_ASSERT(p.e[j].suite != p.e[i].suite);
		for (j = 0; j < p.e[i].nsizes; j++) {
			FZ_ASSERT(suite_has_size(p.e[i].suite, p.e[i].sizes[j]));
			for (k = 0; k < j; k++)
				FZ_ASSERT(p.e[i].sizes[k] != p.e[i].sizes[j]);
		}
	}
	proposal_format_spec(&p, out, sizeof(out));
	FZ_ASSERT(proposal_parse_spec(out, allow, &q) == 0 && same(&p, &q));
	FZ_ASSERT((n = proposal_format_wire(&p, out, sizeof(out))) > 0);
	FZ_ASSERT(proposal_parse_wire((const uint8_t *)out, (size_t)n, &q) == 0 && same(&p, &q));
	free(text);
	return 0;
}
