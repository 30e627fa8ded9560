/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: the cipher-suite table and key/IV slicing (common/suite.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "suite.h"
#include "vectors.h"

/* The shared_key of the course's tests (test_get_key_and_iv). */
#define TEST_SHARED_KEY "2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95cef4b0cb47"

static const struct {
	const char *name;
	enum suite_kind kind;
	bool insecure;
	size_t iv_len;
	size_t nsizes;
	unsigned bits[3];
	size_t key_len[3];
} table[] = {
	{ "AES", SUITE_CBC, false, 16, 3, { 128, 192, 256 }, { 16, 24, 32 } },
	{ "Blowfish", SUITE_CBC, false, 8, 3, { 112, 224, 448 }, { 14, 28, 56 } },
	{ "DES3", SUITE_CBC, false, 8, 2, { 128, 192 }, { 16, 24 } },
	{ "DES", SUITE_CBC, false, 8, 1, { 56 }, { 8 } },
	{ "XOR", SUITE_XOR, true, 0, 2, { 128, 256 }, { 16, 32 } },
	{ "None", SUITE_NONE, true, 0, 1, { 128 }, { 16 } },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static void
test_table(void **state)
{
	size_t i, j;

	(void)state;
	assert_int_equal(suite_count(), NTABLE);
	assert_null(suite_at(NTABLE));
	for (i = 0; i < NTABLE; i++) {
		const struct suite *s = suite_named(table[i].name);

		assert_string_equal(suite_name(s), table[i].name);
		assert_true(strlen(suite_description(s)) > 0);
		assert_int_equal(suite_kind(s), table[i].kind);
		assert_int_equal(suite_insecure(s), table[i].insecure);
		assert_int_equal(suite_iv_len(s), table[i].iv_len);
		assert_int_equal(suite_size_count(s), table[i].nsizes);
		for (j = 0; j < table[i].nsizes; j++) {
			assert_int_equal(suite_size_at(s, j), table[i].bits[j]);
			assert_true(suite_has_size(s, table[i].bits[j]));
			assert_int_equal(suite_key_len(s, table[i].bits[j]), table[i].key_len[j]);
		}
		assert_int_equal(suite_size_at(s, j), 0);
		assert_false(suite_has_size(s, 64));
		assert_int_equal(suite_key_len(s, 64), 0);
		assert_null(suite_evp(s, 64));
	}
	for (i = 0; i < suite_count(); i++)
		assert_ptr_equal(suite_at(i), suite_named(suite_name(suite_at(i))));
}

static void
test_by_name(void **state)
{
	const struct suite *aes = suite_named("AES");

	(void)state;
	assert_null(suite_by_name("aes", 3, false));
	assert_ptr_equal(suite_by_name("aes", 3, true), aes);
	assert_ptr_equal(suite_by_name("bLoWfIsH", 8, true), suite_named("Blowfish"));
	assert_ptr_equal(suite_by_name("AES:[128]", 3, false), aes); /* only len bytes count */
	assert_null(suite_by_name("AE", 2, false));
	assert_null(suite_by_name("AESX", 4, false));
	assert_null(suite_by_name("DES33", 5, true));
	assert_null(suite_by_name("", 0, true));
	assert_ptr_not_equal(suite_named("DES3"), suite_named("DES"));
}

static void
test_evp(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NTABLE; i++) {
		const struct suite *s = suite_named(table[i].name);

		for (j = 0; j < table[i].nsizes; j++) {
			const EVP_CIPHER *evp = suite_evp(s, table[i].bits[j]);

			if (table[i].kind != SUITE_CBC) {
				assert_null(evp);
				continue;
			}
			assert_non_null(evp);
			assert_int_equal(EVP_CIPHER_get_mode(evp), EVP_CIPH_CBC_MODE);
			assert_int_equal(EVP_CIPHER_get_iv_length(evp), (int)table[i].iv_len);
			assert_int_equal(EVP_CIPHER_get_block_size(evp), (int)table[i].iv_len);
			/* Blowfish has a variable key length that the record layer sets. */
			if (strcmp(table[i].name, "Blowfish") != 0)
				assert_int_equal(EVP_CIPHER_get_key_length(evp), (int)table[i].key_len[j]);
		}
	}
}

static const struct {
	const char *name;
	unsigned bits;
	const char *key;
	const char *iv;
} derive_cases[] = {
	{ "AES", 128, "2e97c59d79d1b148", "fbcf95cef4b0cb47" },
	{ "AES", 192, "2e97c59d79d1b1483364113f", "fbcf95cef4b0cb47" },
	{ "AES", 256, "2e97c59d79d1b1483364113f55d92b41", "fbcf95cef4b0cb47" },
	{ "Blowfish", 112, "2e97c59d79d1b1", "f4b0cb47" },
	{ "Blowfish", 224, "2e97c59d79d1b1483364113f55d9", "f4b0cb47" },
	{ "Blowfish", 448, "2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95ce", "f4b0cb47" },
	{ "DES3", 128, "2e97c59d79d1b148", "f4b0cb47" },
	{ "DES3", 192, "2e97c59d79d1b1483364113f", "f4b0cb47" },
	{ "XOR", 128, "2e97c59d79d1b148", "" },
	{ "XOR", 256, "2e97c59d79d1b1483364113f55d92b41", "" },
	{ "None", 128, "2e97c59d79d1b148", "" },
};

static void
derive(const char *name, unsigned bits, const char *shared_key, uint8_t *key, size_t *key_len, uint8_t *iv,
    size_t *iv_len)
{
	assert_int_equal(strlen(shared_key), SUITE_SHARED_KEY_LEN);
	assert_int_equal(suite_derive(suite_named(name), bits, shared_key, key, key_len, iv, iv_len), 0);
}

static void
test_derive(void **state)
{
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len, i;

	(void)state;
	for (i = 0; i < sizeof(derive_cases) / sizeof(derive_cases[0]); i++) {
		derive(derive_cases[i].name, derive_cases[i].bits, TEST_SHARED_KEY, key, &key_len, iv, &iv_len);
		assert_bytes_str(key, key_len, derive_cases[i].key);
		assert_bytes_str(iv, iv_len, derive_cases[i].iv);
	}
}

static void
test_derive_vectors(void **state)
{
	const char *shared_key = vec_str(NULL, "shared_key");
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len, n;
	const uint8_t *des_key = vec_hex("des56", "key_hex", &n);

	(void)state;
	/* DES: 7 characters of shared_key and a NUL byte. */
	derive("DES", 56, shared_key, key, &key_len, iv, &iv_len);
	assert_int_equal(key_len, 8);
	assert_int_equal(key[7], 0);
	assert_int_equal(n, key_len);
	assert_memory_equal(key, des_key, n);
	assert_bytes_str(iv, iv_len, vec_str("des56", "iv"));

	derive("AES", 256, shared_key, key, &key_len, iv, &iv_len);
	assert_bytes_str(key, key_len, vec_str("aes256", "key"));
	assert_bytes_str(iv, iv_len, vec_str("aes256", "iv"));
}

static void
test_derive_unknown_size(void **state)
{
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len = 99, iv_len = 99;

	(void)state;
	assert_int_equal(suite_derive(suite_named("AES"), 64, TEST_SHARED_KEY, key, &key_len, iv, &iv_len),
	    CVPN_ERR_UNKNOWN_CIPHER);
	assert_int_equal(suite_derive(suite_named("DES"), 64, TEST_SHARED_KEY, key, &key_len, iv, &iv_len),
	    CVPN_ERR_UNKNOWN_CIPHER);
	assert_int_equal(key_len, 99);
	assert_int_equal(iv_len, 99);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_evp),
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_derive_vectors),
		cmocka_unit_test(test_derive_unknown_size),
	};

	return cmocka_run_group_tests_name("suite", tests, unit_setup, NULL);
}
