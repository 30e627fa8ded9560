/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: ChaCha20-Poly1305 and AES-256-GCM with Noise nonces (common/aead.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "err.h"
#include "vectors.h"

#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

static const enum aead_cipher ciphers[] = { AEAD_CHACHAPOLY, AEAD_AESGCM };

/* The key 00 01 02 ... 1f. */
static void
counting_key(uint8_t key[static AEAD_KEY_LEN])
{
	size_t i;

	for (i = 0; i < AEAD_KEY_LEN; i++)
		key[i] = (uint8_t)i;
}

static struct aead *
make(enum aead_cipher c, const uint8_t *key)
{
	struct aead *a = NULL;

	assert_int_equal(aead_new(c, key, AEAD_KEY_LEN, &a), 0);
	assert_non_null(a);
	assert_int_equal(aead_cipher(a), c);
	return a;
}

static struct aead *
make_counting(enum aead_cipher c)
{
	uint8_t key[AEAD_KEY_LEN];

	counting_key(key);
	return make(c, key);
}

/* Noise section 12.3 (ChaChaPoly, little-endian) and 12.4 (AESGCM, big-endian). */
static void
test_nonce_layout(void **state)
{
	uint8_t nonce[AEAD_NONCE_LEN];

	(void)state;
	aead_nonce(AEAD_CHACHAPOLY, 0x0102030405060708ULL, nonce);
	assert_bytes_hex(nonce, sizeof(nonce), "000000000807060504030201");
	aead_nonce(AEAD_AESGCM, 0x0102030405060708ULL, nonce);
	assert_bytes_hex(nonce, sizeof(nonce), "000000000102030405060708");
	aead_nonce(AEAD_CHACHAPOLY, 1, nonce);
	assert_bytes_hex(nonce, sizeof(nonce), "000000000100000000000000");
	aead_nonce(AEAD_AESGCM, UINT64_MAX, nonce);
	assert_bytes_hex(nonce, sizeof(nonce), "00000000ffffffffffffffff");
}

/*
 * Counter nonces end to end. Expected bytes from an independent implementation
 * (python3-cryptography 48: ChaCha20Poly1305 / AESGCM with the Noise nonce),
 * key 00..1f, ad "associated", plaintext "hello, noise".
 */
static void
test_counter_kat(void **state)
{
	static const struct {
		enum aead_cipher c;
		uint64_t n;
		const char *wire;
	} cases[] = {
		{ AEAD_CHACHAPOLY, 0, "70dd2e5dc2ca86bf7c082f04dcf39179e3c02924be465ac2e37f2c40" },
		{ AEAD_CHACHAPOLY, 1, "f7329f33da068f7646dfdd394a35b8ef6f94d4a5560390a9ba3607e9" },
		{ AEAD_CHACHAPOLY, 0x0102030405060708ULL, "982cc188c415ca760bc259a91c266e69e86d18eca5c25682a9b07062" },
		{ AEAD_CHACHAPOLY, UINT64_MAX, "38e6392fcd299242fc4a816717680061959e679af5edfaedf5bcf554" },
		{ AEAD_AESGCM, 0, "66d9d9b2da00a3d367c1da50d4cd06e04ca7b7a20702431a889a7aa6" },
		{ AEAD_AESGCM, 1, "7db3d3902bd810706147225c10b52cce7f9d608808324316beeec37d" },
		{ AEAD_AESGCM, 0x0102030405060708ULL, "6c340962b2cd29f06cf68e8a66f41480a021764d05691a08d8a21b1b" },
		{ AEAD_AESGCM, UINT64_MAX, "6a640b30e81f7927d6600a58fe3766266c431016713254d607e573a9" },
	};
	uint8_t wire[64], pt[64];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aead *a = make_counting(cases[i].c);

		assert_int_equal(aead_seal(a, cases[i].n, BYTES("associated"), BYTES("hello, noise"), wire), 0);
		assert_bytes_hex(wire, 12 + AEAD_TAG_LEN, cases[i].wire);
		assert_int_equal(aead_open(a, cases[i].n, BYTES("associated"), wire, 12 + AEAD_TAG_LEN, pt, &n), 0);
		assert_bytes_str(pt, n, "hello, noise");
		aead_free(a);
	}
}

/* RFC 8439 section 2.8.2 through the explicit-nonce interface. */
static void
test_rfc8439(void **state)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
	    "the future, sunscreen would be it.";
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], ad[12], wire[sizeof(pt) - 1 + AEAD_TAG_LEN];
	uint8_t out[sizeof(pt)];
	struct aead *a;
	size_t n = 0;

	(void)state;
	assert_int_equal(unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, sizeof(key)), 32);
	assert_int_equal(unhex("070000004041424344454647", nonce, sizeof(nonce)), 12);
	assert_int_equal(unhex("50515253c0c1c2c3c4c5c6c7", ad, sizeof(ad)), 12);
	a = make(AEAD_CHACHAPOLY, key);
	assert_int_equal(aead_seal_nonce(a, nonce, sizeof(nonce), ad, sizeof(ad), BYTES(pt), wire), 0);
	assert_bytes_hex(wire, sizeof(wire),
	    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
	    "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	    "3ff4def08e4b7a9de576d26586cec64b6116"
	    "1ae10b594f09e26a7e902ecbd0600691");
	assert_int_equal(aead_open_nonce(a, nonce, sizeof(nonce), ad, sizeof(ad), wire, sizeof(wire), out, &n), 0);
	assert_bytes_str(out, n, pt);
	aead_free(a);
}

/* Round trips of many lengths, separate buffers and in place, with and without AD. */
static void
test_round_trip(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 1000, 4129 };
	uint8_t pt[4200], wire[4200 + AEAD_TAG_LEN], out[4200];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		struct aead *a = make_counting(ciphers[i]);

		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			n = 99999;
			assert_int_equal(aead_seal(a, j, pt, j, pt, lens[j], wire), 0);
			assert_int_equal(aead_open(a, j, pt, j, wire, lens[j] + AEAD_TAG_LEN, out, &n), 0);
			assert_int_equal(n, lens[j]);
			assert_memory_equal(out, pt, lens[j]);
			/* In place: out == input. */
			memcpy(out, pt, lens[j]);
			assert_int_equal(aead_seal(a, j, NULL, 0, out, lens[j], out), 0);
			assert_int_equal(aead_open(a, j, NULL, 0, out, lens[j] + AEAD_TAG_LEN, out, &n), 0);
			assert_int_equal(n, lens[j]);
			assert_memory_equal(out, pt, lens[j]);
		}
		aead_free(a);
	}
}

/* Opens one tampered message: BAD_TAG, out zeroed, *outlen untouched. */
static void
expect_bad_tag(struct aead *a, uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *wire, size_t n)
{
	uint8_t out[128];
	size_t outlen = 12345;

	assert_true(n - AEAD_TAG_LEN <= sizeof(out));
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(aead_open(a, nonce, ad, adlen, wire, n, out, &outlen), CVPN_ERR_BAD_TAG);
	assert_int_equal(outlen, 12345);
	while (n-- > AEAD_TAG_LEN)
		assert_int_equal(out[n - AEAD_TAG_LEN], 0);
}

/* Every flipped bit of ciphertext, tag or AD, a wrong nonce and a wrong key fail; nothing leaks. */
static void
test_bad_tag(void **state)
{
	uint8_t wire[32 + AEAD_TAG_LEN], ad[8] = "header!", key[AEAD_KEY_LEN], out[32];
	size_t i, j, bit, n = 0;

	(void)state;
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		struct aead *a = make_counting(ciphers[i]), *other;

		assert_int_equal(aead_seal(a, 7, ad, sizeof(ad), BYTES("thirty-two bytes of plaintext!!!"), wire), 0);
		for (j = 0; j < sizeof(wire); j++) {
			for (bit = 0; bit < 8; bit++) {
				wire[j] ^= (uint8_t)(1u << bit);
				expect_bad_tag(a, 7, ad, sizeof(ad), wire, sizeof(wire));
				wire[j] ^= (uint8_t)(1u << bit);
			}
		}
		for (j = 0; j < sizeof(ad); j++) {
			ad[j] ^= 0x80;
			expect_bad_tag(a, 7, ad, sizeof(ad), wire, sizeof(wire));
			ad[j] ^= 0x80;
		}
		expect_bad_tag(a, 6, ad, sizeof(ad), wire, sizeof(wire));
		expect_bad_tag(a, 8, ad, sizeof(ad), wire, sizeof(wire));
		expect_bad_tag(a, 7, NULL, 0, wire, sizeof(wire));
		/* Dropping the AD's last byte, or the ciphertext's, or taking the tag alone. */
		expect_bad_tag(a, 7, ad, sizeof(ad) - 1, wire, sizeof(wire));
		expect_bad_tag(a, 7, ad, sizeof(ad), wire + 1, sizeof(wire) - 1);
		expect_bad_tag(a, 7, ad, sizeof(ad), wire + 32, AEAD_TAG_LEN);
		counting_key(key);
		key[31] ^= 1;
		other = make(ciphers[i], key);
		expect_bad_tag(other, 7, ad, sizeof(ad), wire, sizeof(wire));
		/* The same object still opens the untouched message afterwards. */
		assert_int_equal(aead_open(a, 7, ad, sizeof(ad), wire, sizeof(wire), out, &n), 0);
		assert_bytes_str(out, n, "thirty-two bytes of plaintext!!!");
		aead_free(other);
		aead_free(a);
	}
}

/* A tag from one cipher never opens under the other with the same key. */
static void
test_cipher_separation(void **state)
{
	struct aead *cc = make_counting(AEAD_CHACHAPOLY), *gcm = make_counting(AEAD_AESGCM);
	uint8_t wire[5 + AEAD_TAG_LEN];

	(void)state;
	assert_int_equal(aead_seal(cc, 0, NULL, 0, BYTES("hello"), wire), 0);
	expect_bad_tag(gcm, 0, NULL, 0, wire, sizeof(wire));
	aead_free(cc);
	aead_free(gcm);
}

static void
test_truncated(void **state)
{
	struct aead *a = make_counting(AEAD_AESGCM);
	uint8_t wire[AEAD_TAG_LEN] = { 0 }, out[1];
	size_t n, outlen = 12345;

	(void)state;
	for (n = 0; n < AEAD_TAG_LEN; n++)
		assert_int_equal(aead_open(a, 0, NULL, 0, wire, n, out, &outlen), CVPN_ERR_TRUNCATED);
	assert_int_equal(outlen, 12345);
	/* Exactly a tag: an empty message, here with a wrong tag. */
	assert_int_equal(aead_open(a, 0, NULL, 0, wire, AEAD_TAG_LEN, NULL, &outlen), CVPN_ERR_BAD_TAG);
	aead_free(a);
}

/* Over-long lengths are refused before any byte is read. */
static void
test_too_long(void **state)
{
	struct aead *a = make_counting(AEAD_CHACHAPOLY);
	uint8_t buf[AEAD_TAG_LEN + 1] = { 0 };
	size_t outlen = 12345;

	(void)state;
	assert_int_equal(aead_seal(a, 0, NULL, 0, buf, AEAD_MAX_LEN + 1, buf), CVPN_ERR_TOO_LONG);
	assert_int_equal(aead_seal(a, 0, buf, AEAD_MAX_LEN + 1, buf, 1, buf), CVPN_ERR_TOO_LONG);
	assert_int_equal(aead_open(a, 0, NULL, 0, buf, AEAD_MAX_LEN + AEAD_TAG_LEN + 1, buf, &outlen),
	    CVPN_ERR_TOO_LONG);
	assert_int_equal(aead_open(a, 0, buf, AEAD_MAX_LEN + 1, buf, AEAD_TAG_LEN, buf, &outlen), CVPN_ERR_TOO_LONG);
	assert_int_equal(outlen, 12345);
	aead_free(a);
}

static void
test_nonce_len(void **state)
{
	static const size_t lens[] = { 0, 8, 11, 13, 16, 24 };
	uint8_t nonce[24] = { 0 }, wire[3 + AEAD_TAG_LEN] = { 0 }, out[3];
	size_t i, j, outlen = 12345;

	(void)state;
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		struct aead *a = make_counting(ciphers[i]);

		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			assert_int_equal(aead_seal_nonce(a, nonce, lens[j], NULL, 0, BYTES("abc"), wire), CVPN_ERR_INVALID_ARG);
			assert_int_equal(aead_open_nonce(a, nonce, lens[j], NULL, 0, wire, sizeof(wire), out, &outlen),
			    CVPN_ERR_INVALID_ARG);
		}
		assert_int_equal(aead_seal_nonce(a, NULL, AEAD_NONCE_LEN, NULL, 0, BYTES("abc"), wire),
		    CVPN_ERR_INVALID_ARG);
		/* The counter form and the explicit form agree. */
		aead_nonce(ciphers[i], 42, nonce);
		assert_int_equal(aead_seal_nonce(a, nonce, AEAD_NONCE_LEN, NULL, 0, BYTES("abc"), wire), 0);
		assert_int_equal(aead_open(a, 42, NULL, 0, wire, sizeof(wire), out, &outlen), 0);
		assert_bytes_str(out, outlen, "abc");
		aead_free(a);
	}
}

/* aead_set_key behaves exactly like a fresh object with the new key. */
static void
test_set_key(void **state)
{
	uint8_t key[AEAD_KEY_LEN], w1[5 + AEAD_TAG_LEN], w2[5 + AEAD_TAG_LEN];
	size_t i;

	(void)state;
	memset(key, 0x42, sizeof(key));
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		struct aead *a = make_counting(ciphers[i]), *b = make(ciphers[i], key);

		assert_int_equal(aead_seal(a, 3, NULL, 0, BYTES("hello"), w1), 0);
		assert_int_equal(aead_set_key(a, key), 0);
		assert_int_equal(aead_seal(a, 3, NULL, 0, BYTES("hello"), w2), 0);
		assert_memory_not_equal(w1, w2, sizeof(w1));
		assert_int_equal(aead_seal(b, 3, NULL, 0, BYTES("hello"), w1), 0);
		assert_memory_equal(w1, w2, sizeof(w1));
		aead_free(a);
		aead_free(b);
	}
}

static void
test_new_invalid(void **state)
{
	static const size_t lens[] = { 0, 16, 24, 31, 33, 64 };
	uint8_t key[64] = { 0 };
	struct aead *a = (struct aead *)key;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_int_equal(aead_new(AEAD_CHACHAPOLY, key, lens[i], &a), CVPN_ERR_INVALID_ARG);
	assert_int_equal(aead_new(AEAD_AESGCM, NULL, AEAD_KEY_LEN, &a), CVPN_ERR_INVALID_ARG);
	assert_int_equal(aead_new((enum aead_cipher)7, key, AEAD_KEY_LEN, &a), CVPN_ERR_INVALID_ARG);
	assert_ptr_equal(a, key);
	aead_free(NULL);
}

static void
test_names(void **state)
{
	enum aead_cipher c = AEAD_AESGCM;

	(void)state;
	assert_string_equal(aead_name(AEAD_CHACHAPOLY), "ChaChaPoly");
	assert_string_equal(aead_name(AEAD_AESGCM), "AESGCM");
	assert_string_equal(aead_name((enum aead_cipher)9), "?");
	assert_int_equal(aead_parse("ChaChaPoly", 10, &c), 0);
	assert_int_equal(c, AEAD_CHACHAPOLY);
	assert_int_equal(aead_parse("AESGCM_SHA256", 6, &c), 0);
	assert_int_equal(c, AEAD_AESGCM);
	assert_int_equal(aead_parse("ChaChaPol", 9, &c), CVPN_ERR_UNKNOWN_PROTOCOL);
	assert_int_equal(aead_parse("chachapoly", 10, &c), CVPN_ERR_UNKNOWN_PROTOCOL);
	assert_int_equal(aead_parse("AESGCM", 5, &c), CVPN_ERR_UNKNOWN_PROTOCOL);
	assert_int_equal(aead_parse("", 0, &c), CVPN_ERR_UNKNOWN_PROTOCOL);
	assert_int_equal(c, AEAD_AESGCM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_layout),
		cmocka_unit_test(test_counter_kat),
		cmocka_unit_test(test_rfc8439),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_tag),
		cmocka_unit_test(test_cipher_separation),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_nonce_len),
		cmocka_unit_test(test_set_key),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("aead", tests, NULL, NULL);
}
