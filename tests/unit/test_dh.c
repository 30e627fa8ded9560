/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: group 18 Diffie-Hellman and the lab's shared_key (common/dh.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "dh.h"
#include "err.h"
#include "text.h"
#include "vectors.h"

static struct dh *
from_vector(const char *key)
{
	struct dh *dh = NULL;
	const uint8_t *priv;
	size_t len;

	priv = vec_hex(NULL, key, &len);
	assert_int_equal(dh_from_private(priv, len, &dh), 0);
	assert_non_null(dh);
	return dh;
}

static void
expect_public(const struct dh *dh, const char *want)
{
	char *dec = NULL;

	assert_int_equal(dh_public_decimal(dh, &dec), 0);
	assert_string_equal(dec, want);
	free(dec);
}

/* Computes the secret with peer's decimal value and checks its encoding (hex). */
static void
expect_secret(const struct dh *dh, const char *peer, const char *want_hex)
{
	uint8_t *secret = NULL;
	size_t len = 0;

	assert_int_equal(dh_compute_secret(dh, (const uint8_t *)peer, strlen(peer), &secret, &len), 0);
	assert_bytes_hex(secret, len, want_hex);
	OPENSSL_clear_free(secret, len);
}

static int
check(const char *digits)
{
	return dh_check_public((const uint8_t *)digits, strlen(digits));
}

static bool
final(const char *digits, size_t n)
{
	return dh_digits_final((const uint8_t *)digits, n);
}

static void
test_public_values(void **state)
{
	struct dh *client = from_vector("client_private_hex"), *server = from_vector("server_private_hex");

	(void)state;
	expect_public(client, vec_str(NULL, "client_public_dec"));
	expect_public(server, vec_str(NULL, "server_public_dec"));
	assert_int_equal(strlen(vec_str(NULL, "client_public_dec")), 2466);
	dh_free(client);
	dh_free(server);
}

static void
test_shared_secret(void **state)
{
	struct dh *client = from_vector("client_private_hex"), *server = from_vector("server_private_hex");
	const char *want = vec_str(NULL, "shared_secret_bytes_hex");

	(void)state;
	/* An 8192-bit s: floor(8192/8)+1 = 1025 bytes with a leading 0x00. */
	assert_int_equal(strlen(want), 2 * 1025);
	assert_memory_equal(want, "00", 2);
	expect_secret(client, vec_str(NULL, "server_public_dec"), want);
	expect_secret(server, vec_str(NULL, "client_public_dec"), want);
	dh_free(client);
	dh_free(server);
}

static void
test_shared_key(void **state)
{
	const uint8_t *secret;
	char out[65];
	size_t len;

	(void)state;
	secret = vec_hex(NULL, "shared_secret_bytes_hex", &len);
	assert_int_equal(dh_shared_key(secret, len, out), 0);
	assert_string_equal(out, vec_str(NULL, "shared_key"));
	/* SHA-256 of the empty string, to pin the hex form. */
	assert_int_equal(dh_shared_key(secret, 0, out), 0);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/*
 * With x = 1 the secret is the peer's value itself, which pins the encoding
 * rule s.to_bytes(s.bit_length() // 8 + 1): a 0x00 in front exactly when the
 * bit length is a multiple of 8.
 */
static void
test_secret_encoding(void **state)
{
	static const struct {
		const char *peer, *hex;
	} cases[] = {
		{ "2", "02" },
		{ "64", "40" },
		{ "128", "0080" },
		{ "256", "0100" },
		{ "32768", "008000" },
		{ "65536", "010000" },
	};
	static const uint8_t one = 1;
	struct dh *dh = NULL;
	size_t i;

	(void)state;
	assert_int_equal(dh_from_private(&one, 1, &dh), 0);
	expect_public(dh, "2");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_secret(dh, cases[i].peer, cases[i].hex);
	dh_free(dh);
}

static void
test_check_public(void **state)
{
	char *p = prime_plus(0), *p_minus_1 = prime_plus(-1), *p_minus_2 = prime_plus(-2), *p_plus_1 = prime_plus(1);
	char *too_long = malloc(DH_MAX_DIGITS + 2);
	const struct {
		const char *digits;
		int err;
	} cases[] = {
		{ "2", 0 },
		{ "3", 0 },
		{ p_minus_2, 0 },
		{ vec_str(NULL, "client_public_dec"), 0 },
		{ "0", CVPN_ERR_DH_RANGE },
		{ "1", CVPN_ERR_DH_RANGE },
		{ p_minus_1, CVPN_ERR_DH_RANGE },
		{ p, CVPN_ERR_DH_RANGE },
		{ p_plus_1, CVPN_ERR_DH_RANGE },
		{ too_long, CVPN_ERR_DH_FORMAT },
		{ "", CVPN_ERR_DH_FORMAT },
		{ "02", CVPN_ERR_DH_FORMAT },
		{ "00", CVPN_ERR_DH_FORMAT },
		{ "12a", CVPN_ERR_DH_FORMAT },
		{ "-5", CVPN_ERR_DH_FORMAT },
		{ "+5", CVPN_ERR_DH_FORMAT },
		{ " 5", CVPN_ERR_DH_FORMAT },
		{ "5 ", CVPN_ERR_DH_FORMAT },
		{ "0x10", CVPN_ERR_DH_FORMAT },
	};
	size_t i;

	(void)state;
	assert_non_null(too_long);
	memset(too_long, '1', DH_MAX_DIGITS + 1);
	too_long[DH_MAX_DIGITS + 1] = '\0';
	assert_int_equal(strlen(p), DH_MAX_DIGITS);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (check(cases[i].digits) != cases[i].err)
			fail_msg("case %zu (%.20s): expected %s", i, cases[i].digits, cvpn_errname(cases[i].err));
	}
	/* A 2468-digit value is refused on length even when p's digits lead. */
	memcpy(too_long, p, DH_MAX_DIGITS);
	assert_int_equal(check(too_long), CVPN_ERR_DH_FORMAT);
	free(too_long);
	OPENSSL_free(p);
	OPENSSL_free(p_minus_1);
	OPENSSL_free(p_minus_2);
	OPENSSL_free(p_plus_1);
}

static void
test_compute_secret_checks_peer(void **state)
{
	struct dh *dh = from_vector("client_private_hex");
	char *p_minus_1 = prime_plus(-1);
	uint8_t *secret = NULL;
	size_t len = 7;

	(void)state;
	assert_int_equal(dh_compute_secret(dh, (const uint8_t *)"1", 1, &secret, &len), CVPN_ERR_DH_RANGE);
	assert_int_equal(dh_compute_secret(dh, (const uint8_t *)p_minus_1, strlen(p_minus_1), &secret, &len),
	    CVPN_ERR_DH_RANGE);
	assert_int_equal(dh_compute_secret(dh, (const uint8_t *)"12x", 3, &secret, &len), CVPN_ERR_DH_FORMAT);
	assert_null(secret);
	assert_int_equal(len, 7);
	OPENSSL_free(p_minus_1);
	dh_free(dh);
}

static void
test_digits_final(void **state)
{
	/* floor((p-2)/10) is the largest 2466-digit prefix that a digit can still extend. */
	char *p_minus_2 = prime_plus(-2), *p_plus_1 = prime_plus(1);
	char *low = malloc(DH_MAX_DIGITS);
	const char *client = vec_str(NULL, "client_public_dec");

	(void)state;
	assert_non_null(low);
	memset(low, '0', DH_MAX_DIGITS);
	low[0] = '1';
	assert_true(final(p_minus_2, DH_MAX_DIGITS));
	assert_true(final(low, DH_MAX_DIGITS));
	assert_false(final(p_minus_2, DH_MAX_DIGITS - 1)); /* (p-2)/10 itself: its last digit fits */
	assert_false(final(low, DH_MAX_DIGITS - 1));       /* 1e2465: any digit gives <= p-2 */
	/* p ends in 9, so (p+1)/10 = (p-2)/10 + 1: the smallest 2466-digit prefix that is final. */
	assert_int_equal(p_plus_1[DH_MAX_DIGITS - 1], '0');
	assert_true(final(p_plus_1, DH_MAX_DIGITS - 1));
	assert_true(final(client, strlen(client)));        /* 1.7e2465: complete at 2466 digits */
	assert_false(final(client, 100));
	assert_false(final(client, 1));
	assert_false(final("2", 1));
	free(low);
	OPENSSL_free(p_minus_2);
	OPENSSL_free(p_plus_1);
}

static void
test_prime(void **state)
{
	static const char want[] = "39ab4feab950a3128fb71accb9fc3965d857012e081998a85996e3ea8b3c3bcf";
	BIGNUM *p = BN_get_rfc3526_prime_8192(NULL);
	uint8_t bytes[1024], md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];

	(void)state;
	assert_non_null(p);
	assert_int_equal(BN_num_bits(p), 8192);
	assert_int_equal(BN_bn2binpad(p, bytes, sizeof(bytes)), sizeof(bytes));
	SHA256(bytes, sizeof(bytes), md);
	text_hex(hex, md, sizeof(md));
	assert_string_equal(hex, want);
	BN_free(p);
}

static void
test_generate(void **state)
{
	struct dh *a = NULL, *b = NULL;
	char *pa = NULL, *pb = NULL;
	uint8_t *sa = NULL, *sb = NULL;
	size_t la = 0, lb = 0;

	(void)state;
	assert_int_equal(dh_generate(&a), 0);
	assert_int_equal(dh_generate(&b), 0);
	assert_int_equal(dh_public_decimal(a, &pa), 0);
	assert_int_equal(dh_public_decimal(b, &pb), 0);
	assert_string_not_equal(pa, pb);
	assert_int_equal(check(pa), 0);
	assert_int_equal(check(pb), 0);
	assert_int_equal(dh_compute_secret(a, (const uint8_t *)pb, strlen(pb), &sa, &la), 0);
	assert_int_equal(dh_compute_secret(b, (const uint8_t *)pa, strlen(pa), &sb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(sa, sb, la);
	OPENSSL_clear_free(sa, la);
	OPENSSL_clear_free(sb, lb);
	free(pa);
	free(pb);
	dh_free(a);
	dh_free(b);
	dh_free(NULL);
}

static void
test_from_private_args(void **state)
{
	static uint8_t big[1025];
	struct dh *dh = NULL;

	(void)state;
	big[0] = 1;
	assert_int_equal(dh_from_private(big, 0, &dh), CVPN_ERR_INVALID_ARG);
	assert_int_equal(dh_from_private(big, sizeof(big), &dh), CVPN_ERR_INVALID_ARG);
	assert_null(dh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_values),
		cmocka_unit_test(test_shared_secret),
		cmocka_unit_test(test_shared_key),
		cmocka_unit_test(test_secret_encoding),
		cmocka_unit_test(test_check_public),
		cmocka_unit_test(test_compute_secret_checks_peer),
		cmocka_unit_test(test_digits_final),
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_from_private_args),
	};

	return cmocka_run_group_tests_name("dh", tests, unit_setup, NULL);
}
