/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the server's ChosenCipher message (proposal_parse_choice, with
 * ',' or ':' between name and size) against one of four proposals we could
 * have sent (the first input byte picks it), and proposal_size_extends, which
 * the client uses to tell a complete choice from a prefix.
 * Oracles: only a (name, size) pair we proposed is accepted, nothing is set
 * on failure, and an accepted choice written out again parses the same.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "harness.h"
#include "proposal.h"
#include "suite.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proposal ours[4];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	proposal_default(&ours[0]);
	FZ_ASSERT(proposal_parse_spec("DES:56 AES:128,192,256 Blowfish:112,224,448", false, &ours[1]) == 0);
	FZ_ASSERT(proposal_parse_spec("AES:256", false, &ours[2]) == 0);
	FZ_ASSERT(proposal_parse_spec("AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128",
	    true, &ours[3]) == 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct suite *s = (const struct suite *)&ours, *s2 = NULL;
	const struct proposal *p;
	unsigned bits = 12345, bits2 = 0;
	size_t i, j, start, end;
	bool offered = false;
	char text[64];
	int n, r;

	if (size < 1)
		return 0;
	p = &ours[data[0] & 3];
	data++;
	size--;
	r = proposal_parse_choice(data, size, p, &s, &bits);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_MALFORMED || r == CVPN_ERR_BAD_CHOICE);
	if (r != 0) {
		FZ_ASSERT(s == (const struct suite *)&ours && bits == 12345);
	} else {
		for (i = 0; i < p->n; i++)
			for (j = 0; p->e[i].suite == s && j < p->e[i].nsizes; j++)
				offered |= p->e[i].sizes[j] == bits;
		FZ_ASSERT(offered && suite_has_size(s, bits));
		FZ_ASSERT((n = proposal_format_choice(s, bits, text, sizeof(text))) > 0);
		FZ_ASSERT(proposal_parse_choice((const uint8_t *)text, (size_t)n, p, &s2, &bits2) == 0);
		FZ_ASSERT(s2 == s && bits2 == bits);
	}
	/* The trailing digits of the input, as choice_final passes them, for any suite. */
	end = size;
	while (end > 0 && (data[end - 1] == ' ' || data[end - 1] == '\n' || data[end - 1] == '\r' || data[end - 1] == '\t'))
		end--;
	start = end;
	while (start > 0 && data[start - 1] >= '0' && data[start - 1] <= '9')
		start--;
	for (i = 0; i < suite_count(); i++) {
		bool ext = proposal_size_extends(p, suite_at(i), data + start, end - start), found = false;

		/* Extends means: some size we proposed for this suite is longer and starts with the digits. */
		for (j = 0; j < p->n; j++) {
			size_t k;

			for (k = 0; p->e[j].suite == suite_at(i) && k < p->e[j].nsizes; k++) {
				n = snprintf(text, sizeof(text), "%u", p->e[j].sizes[k]);
				found |= (size_t)n > end - start && memcmp(text, data + start, end - start) == 0;
			}
		}
		FZ_ASSERT(ext == found);
	}
	return 0;
}
