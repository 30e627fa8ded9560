/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a peer's ProposedCiphers message (proposal_parse_wire), then
 * what the server does with an accepted one (proposal_select, the choice).
 * Oracles: an accepted proposal holds only known (suite, size) pairs within
 * the caps, without duplicates; writing it out and parsing it again gives
 * the same proposal; the choice made from it parses back as an allowed pair.
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

static void
check_valid(const struct proposal *p)
{
	size_t i, j, k;

	FZ_ASSERT(p->n <= PROPOSAL_MAX_ENTRIES);
	for (i = 0; i < p->n; i++) {
		const struct proposal_entry *e = &p->e[i];

		FZ_ASSERT(e->suite != NULL && e->nsizes >= 1 && e->nsizes <= PROPOSAL_MAX_SIZES);
		for (j = 0; j < i; j++)
			FZ_ASSERT(p->e[j].suite != e->suite);
		for (j = 0; j < e->nsizes; j++) {
			FZ_ASSERT(suite_has_size(e->suite, e->sizes[j]));
			for (k = 0; k < j; k++)
				FZ_ASSERT(e->sizes[k] != e->sizes[j]);
		}
	}
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

static bool
offers(const struct proposal *p, const struct suite *s, unsigned bits)
{
	size_t i, j;

	for (i = 0; i < p->n; i++)
		for (j = 0; p->e[i].suite == s && j < p->e[i].nsizes; j++)
			if (p->e[i].sizes[j] == bits)
				return true;
	return false;
}

/* The server's side: pick from ours, write the choice, and the client must accept it. */
static void
check_select(const struct proposal *ours, const struct proposal *theirs)
{
	const struct suite *s = NULL, *s2 = NULL;
	unsigned bits = 0, bits2 = 0;
	char choice[64];
	int n, r;

	r = proposal_select(ours, theirs, &s, &bits);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_NO_COMMON);
	if (r != 0)
		return;
	FZ_ASSERT(offers(ours, s, bits) && offers(theirs, s, bits));
	FZ_ASSERT((n = proposal_format_choice(s, bits, choice, sizeof(choice))) > 0);
	FZ_ASSERT(proposal_parse_choice((const uint8_t *)choice, (size_t)n, theirs, &s2, &bits2) == 0);
	FZ_ASSERT(s2 == s && bits2 == bits);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char all[] = "AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128";
	struct proposal p, q, ours;
	char text[PROPOSAL_TEXT_MAX];
	int n, r;

	memset(&p, 0xa5, sizeof(p));
	q = p;
	r = proposal_parse_wire(data, size, &p);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_MALFORMED);
	if (r != 0) {
		/* Nothing is set on failure. */
		FZ_ASSERT(memcmp(&p, &q, sizeof(p)) == 0);
		return 0;
	}
	check_valid(&p);
	if (p.n > 0) {
		FZ_ASSERT((n = proposal_format_wire(&p, text, sizeof(text))) > 0);
		FZ_ASSERT(proposal_parse_wire((const uint8_t *)text, (size_t)n, &q) == 0);
		FZ_ASSERT(same(&p, &q));
	}
	proposal_default(&ours);
	check_select(&ours, &p);
	FZ_ASSERT(proposal_parse_spec(all, true, &ours) == 0);
	check_select(&ours, &p);
	return 0;
}
