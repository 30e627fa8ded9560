/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the lab's DH public value as it arrives after "DHMKE:"
 * (dh_check_public) and the reader's end-of-number test (dh_digits_final).
 * No exponentiation. Oracles:
 *  - dh_check_public agrees with a plain model: 1..2467 ASCII digits, no
 *    leading zero, and 2 <= y <= p-2 (computed with BIGNUM here);
 *  - dh_digits_final never claims a number is complete when one more digit
 *    would still give a valid value (the reader would cut it short), and at
 *    2466 digits it is exact;
 *  - BN_dec2bn never sees more than 2467 digits (wrap.c checks every call).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "dh.h"
#include "err.h"
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static BIGNUM *pminus2;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	FZ_ASSERT((pminus2 = BN_get_rfc3526_prime_8192(NULL)) != NULL && BN_sub_word(pminus2, 2));
	return 0;
}

/* The model: 0, DH_FORMAT or DH_RANGE. */
static int
model(const uint8_t *d, size_t n)
{
	BIGNUM *y = NULL;
	char *text;
	size_t i;
	int r;

	if (n == 0 || n > DH_MAX_DIGITS || (d[0] == '0' && n > 1))
		return CVPN_ERR_DH_FORMAT;
	for (i = 0; i < n; i++)
		if (d[i] < '0' || d[i] > '9')
			return CVPN_ERR_DH_FORMAT;
	FZ_ASSERT((text = malloc(n + 1)) != NULL);
	memcpy(text, d, n);
	text[n] = '\0';
	FZ_ASSERT(BN_dec2bn(&y, text) == (int)n);
	r = BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, pminus2) <= 0 ? 0 : CVPN_ERR_DH_RANGE;
	BN_free(y);
	free(text);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *ext;
	bool final, any = false;
	int r, d;

	r = dh_check_public(data, size);
	FZ_ASSERT(r == model(data, size));
	final = dh_digits_final(data, size);
	if (size > DH_MAX_DIGITS + 1)
		return 0;
	/* One more digit: when final, none may give a valid value. */
	FZ_ASSERT((ext = malloc(size + 1)) != NULL);
	if (size)
		memcpy(ext, data, size);
	for (d = 0; d < 10; d++) {
		ext[size] = (uint8_t)('0' + d);
		any |= dh_check_public(ext, size + 1) == 0;
	}
	free(ext);
	FZ_ASSERT(!(final && any));
	if (size == DH_MAX_DIGITS - 1 && model(data, size) != CVPN_ERR_DH_FORMAT)
		FZ_ASSERT(final == !any);
	return 0;
}
