/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: padding, chained CBC and the HMAC tag (common/record.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "record.h"
#include "suite.h"
#include "vectors.h"

/* The shared_key of the course's tests (test_get_key_and_iv). */
#define TEST_SHARED_KEY "2e97c59d79d1b1483364113f55d92b41b7d2deb25b637416fbcf95cef4b0cb47"
#define MAX_WIRE 256

/* A byte string with an explicit length, so that tables can hold NULs. */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

static struct record *
make(const char *name, unsigned bits, const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
    bool encrypt, enum record_hmac mode)
{
	struct record *r = NULL;

	assert_int_equal(record_new(suite_named(name), bits, key, key_len, iv, iv_len, encrypt, mode, &r), 0);
	assert_non_null(r);
	return r;
}

/* A record keyed with ASCII key and IV strings, as the lab's vectors give them. */
static struct record *
make_ascii(const char *name, unsigned bits, const char *key, const char *iv, bool encrypt, enum record_hmac mode)
{
	return make(name, bits, (const uint8_t *)key, strlen(key), (const uint8_t *)iv, strlen(iv), encrypt, mode);
}

/* A record keyed as the lab derives it from TEST_SHARED_KEY. */
static struct record *
make_derived(const char *name, unsigned bits, bool encrypt, enum record_hmac mode)
{
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len;

	assert_int_equal(suite_derive(suite_named(name), bits, TEST_SHARED_KEY, key, &key_len, iv, &iv_len), 0);
	return make(name, bits, key, key_len, iv, iv_len, encrypt, mode);
}

/* Seals n bytes into wire (MAX_WIRE bytes) and returns the wire length. */
static size_t
seal(struct record *r, const uint8_t *pt, size_t n, uint8_t *wire)
{
	assert_true(record_wire_len(n) <= MAX_WIRE);
	assert_int_equal(record_seal(r, pt, n, wire), 0);
	return record_wire_len(n);
}

static void
seal_expect_hex(struct record *r, const char *pt, const char *want_hex)
{
	uint8_t wire[MAX_WIRE];
	size_t n = seal(r, (const uint8_t *)pt, strlen(pt), wire);

	assert_bytes_hex(wire, n, want_hex);
}

static void
open_expect(struct record *r, const uint8_t *wire, size_t n, const uint8_t *want, size_t want_len)
{
	uint8_t out[MAX_WIRE];
	size_t outlen = 0;

	assert_true(n <= MAX_WIRE);
	assert_int_equal(record_open(r, wire, n, out, &outlen), 0);
	assert_int_equal(outlen, want_len);
	assert_memory_equal(out, want, want_len);
}

static void
open_expect_str(struct record *r, const uint8_t *wire, size_t n, const char *want)
{
	open_expect(r, wire, n, (const uint8_t *)want, strlen(want));
}

static void
open_expect_err(struct record *r, const uint8_t *wire, size_t n, int err)
{
	uint8_t out[MAX_WIRE];
	size_t outlen = 12345;

	assert_int_equal(record_open(r, wire, n, out, &outlen), err);
	assert_int_equal(outlen, 12345);
}

/* The course's test_encrypt_message, fresh state per vector. */
static void
test_course_vectors(void **state)
{
	static const struct {
		const char *pt, *key, *iv;
		unsigned bits;
		const char *ct, *tag;
	} cases[] = {
		{ "infosec", "49094793659111181547021843208480", "2442744371103948", 256,
		    "a6d32f9a57dbb5d273b8b8c4901d6c5b",
		    "051b7f5638e3a1d0eda1fd638ec35b333cda0c4497e90b9722c70934ab40eb96" },
		{ "octoduck", "2e97c59d79d1b1483364113f55d92b41", "fbcf95cef4b0cb47", 256,
		    "c5ec0068ace64c8cda4df6314f746757",
		    "c7593c078051c1982878fb0d239f51350a33b519009a03da8d3668b496737ec2" },
		{ "Information Assurance and Security", "2e97c59d79d1b148", "3364113f55d92b41", 128,
		    "fbd2d3c46aa409838e0b15f306d73c1f915125b3af1ec0ef3265aa7da36d3aea0bfa3d161c6ff30fed768dd43a67201d",
		    "1b072fe79eda09516021f7a5a99107524bb7846ea66efa9ae19b146144791416" },
	};
	uint8_t wire[MAX_WIRE];
	size_t i, n, ctlen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct record *enc = make_ascii("AES", cases[i].bits, cases[i].key, cases[i].iv, true,
		    RECORD_HMAC_CUMULATIVE);
		struct record *dec = make_ascii("AES", cases[i].bits, cases[i].key, cases[i].iv, false,
		    RECORD_HMAC_CUMULATIVE);

		n = seal(enc, (const uint8_t *)cases[i].pt, strlen(cases[i].pt), wire);
		ctlen = strlen(cases[i].ct) / 2;
		assert_int_equal(n, ctlen + RECORD_TAG_LEN);
		assert_bytes_hex(wire, ctlen, cases[i].ct);
		assert_bytes_str(wire + ctlen, RECORD_TAG_LEN, cases[i].tag);
		open_expect_str(dec, wire, n, cases[i].pt);
		record_free(enc);
		record_free(dec);
	}
}

/* lab-vectors.json: "hello" then "bye" under AES-256, both HMAC modes, both directions. */
static void
test_aes256_vectors(void **state)
{
	static const struct {
		enum record_hmac sender, receiver;
		const char *wire2;
	} cases[] = {
		{ RECORD_HMAC_CUMULATIVE, RECORD_HMAC_CUMULATIVE, "wire2_cumulative_hex" },
		{ RECORD_HMAC_CUMULATIVE, RECORD_HMAC_AUTO, "wire2_cumulative_hex" },
		{ RECORD_HMAC_PER_MESSAGE, RECORD_HMAC_PER_MESSAGE, "wire2_per_message_hex" },
		{ RECORD_HMAC_PER_MESSAGE, RECORD_HMAC_AUTO, "wire2_per_message_hex" },
	};
	const char *key = vec_str("aes256", "key"), *iv = vec_str("aes256", "iv");
	const uint8_t *w1, *w2;
	size_t n1, n2, i;

	(void)state;
	w1 = vec_hex("aes256", "wire1_hex", &n1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct record *enc = make_ascii("AES", 256, key, iv, true, cases[i].sender);
		struct record *dec = make_ascii("AES", 256, key, iv, false, cases[i].receiver);

		w2 = vec_hex("aes256", cases[i].wire2, &n2);
		seal_expect_hex(enc, vec_str("aes256", "msg1"), vec_str("aes256", "wire1_hex"));
		seal_expect_hex(enc, vec_str("aes256", "msg2"), vec_str("aes256", cases[i].wire2));
		open_expect_str(dec, w1, n1, vec_str("aes256", "msg1"));
		open_expect_str(dec, w2, n2, vec_str("aes256", "msg2"));
		assert_int_equal(record_hmac_mode(dec), cases[i].sender);
		record_free(enc);
		record_free(dec);
	}
}

static void
test_des56_vector(void **state)
{
	const uint8_t *key, *wire;
	size_t key_len, n;
	const char *iv = vec_str("des56", "iv");
	struct record *enc, *dec;

	(void)state;
	key = vec_hex("des56", "key_hex", &key_len);
	wire = vec_hex("des56", "wire1_hex", &n);
	enc = make("DES", 56, key, key_len, (const uint8_t *)iv, strlen(iv), true, RECORD_HMAC_CUMULATIVE);
	dec = make("DES", 56, key, key_len, (const uint8_t *)iv, strlen(iv), false, RECORD_HMAC_CUMULATIVE);
	seal_expect_hex(enc, vec_str("des56", "msg1"), vec_str("des56", "wire1_hex"));
	open_expect_str(dec, wire, n, vec_str("des56", "msg1"));
	record_free(enc);
	record_free(dec);
}

static void
test_wire_len(void **state)
{
	static const size_t cases[][2] = {
		{ 0, 64 }, { 1, 80 }, { 15, 80 }, { 16, 80 }, { 17, 96 }, { 32, 96 }, { 4032, 4096 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(record_wire_len(cases[i][0]), cases[i][1]);
}

/* Every suite and size: several chained messages of awkward lengths survive the trip. */
static void
test_round_trip_all(void **state)
{
	static const size_t lengths[] = { 0, 1, 15, 16, 17, 100, 16 };
	uint8_t pt[128], wire[MAX_WIRE], first[MAX_WIRE];
	size_t i, j, k, n;

	(void)state;
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)('A' + i % 26);
	for (i = 0; i < suite_count(); i++) {
		const struct suite *s = suite_at(i);

		for (j = 0; j < suite_size_count(s); j++) {
			struct record *enc = make_derived(suite_name(s), suite_size_at(s, j), true, RECORD_HMAC_CUMULATIVE);
			struct record *dec = make_derived(suite_name(s), suite_size_at(s, j), false, RECORD_HMAC_CUMULATIVE);

			for (k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
				n = seal(enc, pt, lengths[k], wire);
				/* None sends the padded text; the others must not. */
				if (lengths[k] > 0)
					assert_int_equal(memcmp(wire, pt, lengths[k]) == 0, suite_kind(s) == SUITE_NONE);
				/* CBC chains: the same 16 bytes encrypt differently the second time. */
				if (k == 3)
					memcpy(first, wire, 16);
				if (k == 6 && suite_kind(s) == SUITE_CBC)
					assert_memory_not_equal(first, wire, 16);
				open_expect(dec, wire, n, pt, lengths[k]);
			}
			record_free(enc);
			record_free(dec);
		}
	}
}

/* XOR keeps its keystream position across messages. */
static void
test_xor_keystream(void **state)
{
	const char *key = "2e97c59d79d1b1483364113f55d92b41";
	struct record *enc = make_derived("XOR", 256, true, RECORD_HMAC_CUMULATIVE);
	uint8_t wire[MAX_WIRE], want[16];
	size_t i;

	(void)state;
	seal(enc, BYTES("hello"), wire);
	for (i = 0; i < 16; i++)
		want[i] = (uint8_t)((i < 5 ? "hello"[i] : 0) ^ key[i]);
	assert_memory_equal(wire, want, 16);
	seal(enc, BYTES("bye"), wire);
	for (i = 0; i < 16; i++)
		want[i] = (uint8_t)((i < 3 ? "bye"[i] : 0) ^ key[16 + i]);
	assert_memory_equal(wire, want, 16);
	record_free(enc);
}

static void
flip_ct_bit(uint8_t *w, size_t n)
{
	(void)n;
	w[0] ^= 0x01;
}

static void
change_tag_char(uint8_t *w, size_t n)
{
	uint8_t *c = w + n - RECORD_TAG_LEN;

	*c = *c == '0' ? '1' : '0';
}

static void
uppercase_tag(uint8_t *w, size_t n)
{
	size_t i;

	for (i = n - RECORD_TAG_LEN; i < n; i++)
		w[i] = (uint8_t)toupper(w[i]);
}

static void
swap_halves_of_tag(uint8_t *w, size_t n)
{
	uint8_t tmp[RECORD_TAG_LEN / 2];

	memcpy(tmp, w + n - RECORD_TAG_LEN, sizeof(tmp));
	memmove(w + n - RECORD_TAG_LEN, w + n - sizeof(tmp), sizeof(tmp));
	memcpy(w + n - sizeof(tmp), tmp, sizeof(tmp));
}

/* A bad tag on message 1 or 2 leaves the state alone: the genuine message still opens. */
static void
test_bad_tag(void **state)
{
	static void (*const tamper[])(uint8_t *, size_t) = {
		flip_ct_bit, change_tag_char, uppercase_tag, swap_halves_of_tag,
	};
	static const char *const wires[] = { "wire1_hex", "wire2_cumulative_hex" };
	static const char *const texts[] = { "msg1", "msg2" };
	const char *key = vec_str("aes256", "key"), *iv = vec_str("aes256", "iv");
	uint8_t bad[MAX_WIRE];
	size_t i, m, n;

	(void)state;
	for (i = 0; i < sizeof(tamper) / sizeof(tamper[0]); i++) {
		struct record *dec = make_ascii("AES", 256, key, iv, false, RECORD_HMAC_AUTO);

		for (m = 0; m < 2; m++) {
			const uint8_t *w = vec_hex("aes256", wires[m], &n);

			memcpy(bad, w, n);
			tamper[i](bad, n);
			assert_memory_not_equal(bad, w, n);
			open_expect_err(dec, bad, n, CVPN_ERR_BAD_TAG);
			open_expect_str(dec, w, n, vec_str("aes256", texts[m]));
		}
		record_free(dec);
	}
}

static void
test_truncated(void **state)
{
	static const size_t lengths[] = { 0, 1, 16, 63, 65, 79 };
	const char *key = vec_str("aes256", "key"), *iv = vec_str("aes256", "iv");
	struct record *dec = make_ascii("AES", 256, key, iv, false, RECORD_HMAC_CUMULATIVE);
	const uint8_t *w;
	size_t i, n;

	(void)state;
	w = vec_hex("aes256", "wire1_hex", &n);
	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
		open_expect_err(dec, w, lengths[i], CVPN_ERR_TRUNCATED);
	/* 64 bytes is a well-formed empty message whose tag is wrong. */
	open_expect_err(dec, w, 64, CVPN_ERR_BAD_TAG);
	open_expect_str(dec, w, n, "hello");
	record_free(dec);
}

static void
test_nul_stripping(void **state)
{
	static const struct {
		const uint8_t *pt;
		size_t n;
		const uint8_t *want;
		size_t want_len;
	} cases[] = {
		{ BYTES("\0\0abc\0"), BYTES("abc") },
		{ BYTES("\0\0\0\0\0\0\0\0\0\0\0hello"), BYTES("hello") }, /* left-padded, as the capture hints */
		{ BYTES("a\0b"), BYTES("a\0b") },
		{ BYTES("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), BYTES("") },
		{ BYTES(""), BYTES("") },
	};
	struct record *enc = make_derived("AES", 128, true, RECORD_HMAC_CUMULATIVE);
	struct record *dec = make_derived("AES", 128, false, RECORD_HMAC_CUMULATIVE);
	uint8_t wire[MAX_WIRE];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = seal(enc, cases[i].pt, cases[i].n, wire);
		open_expect(dec, wire, n, cases[i].want, cases[i].want_len);
	}
	record_free(enc);
	record_free(dec);
}

/*
 * AUTO learns the sender's mode at message 2 and then refuses the other one.
 * Two senders with the same key produce the same ciphertexts and differ only
 * in the tags from message 2 on.
 */
static void
test_auto_mode(void **state)
{
	static const enum record_hmac modes[] = { RECORD_HMAC_CUMULATIVE, RECORD_HMAC_PER_MESSAGE };
	static const char *const msgs[] = { "one", "two", "three", "four" };
	uint8_t wire[2][4][MAX_WIRE];
	size_t len[4], i, m;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct record *enc = make_derived("Blowfish", 224, true, modes[i]);

		for (m = 0; m < 4; m++)
			len[m] = seal(enc, (const uint8_t *)msgs[m], strlen(msgs[m]), wire[i][m]);
		record_free(enc);
	}
	assert_memory_equal(wire[0][0], wire[1][0], len[0]);
	assert_memory_equal(wire[0][1], wire[1][1], len[1] - RECORD_TAG_LEN);
	assert_memory_not_equal(wire[0][1], wire[1][1], len[1]);
	for (i = 0; i < 2; i++) {
		struct record *dec = make_derived("Blowfish", 224, false, RECORD_HMAC_AUTO);

		open_expect_str(dec, wire[i][0], len[0], msgs[0]);
		assert_int_equal(record_hmac_mode(dec), RECORD_HMAC_AUTO);
		open_expect_str(dec, wire[i][1], len[1], msgs[1]);
		assert_int_equal(record_hmac_mode(dec), modes[i]);
		open_expect_err(dec, wire[1 - i][2], len[2], CVPN_ERR_BAD_TAG);
		open_expect_str(dec, wire[i][2], len[2], msgs[2]);
		open_expect_err(dec, wire[1 - i][3], len[3], CVPN_ERR_BAD_TAG);
		open_expect_str(dec, wire[i][3], len[3], msgs[3]);
		assert_int_equal(record_hmac_mode(dec), modes[i]);
		record_free(dec);
	}
}

/*
 * record_open_last feeds the transcript in place: messages opened with it
 * and with record_open, in any order, all verify, in every mode (a transcript
 * it failed to feed would fail the next cumulative tag); it refuses a bad tag.
 */
static void
test_open_last(void **state)
{
	static const enum record_hmac modes[] = { RECORD_HMAC_CUMULATIVE, RECORD_HMAC_PER_MESSAGE };
	static const enum record_hmac receivers[] = { RECORD_HMAC_AUTO, RECORD_HMAC_CUMULATIVE, RECORD_HMAC_PER_MESSAGE };
	static const char *const msgs[] = { "one", "two", "three", "four", "five" };
	uint8_t wire[5][MAX_WIRE], out[MAX_WIRE];
	size_t len[5], i, j, m, outlen;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct record *enc = make_derived("AES", 256, true, modes[i]);

		for (m = 0; m < 5; m++)
			len[m] = seal(enc, (const uint8_t *)msgs[m], strlen(msgs[m]), wire[m]);
		record_free(enc);
		for (j = 0; j < 3; j++) {
			struct record *dec = make_derived("AES", 256, false, receivers[j]);

			if (receivers[j] != RECORD_HMAC_AUTO && receivers[j] != modes[i]) {
				record_free(dec);
				continue;
			}
			for (m = 0; m < 5; m++) {
				outlen = 0;
				if (m % 3 == 2)
					assert_int_equal(record_open(dec, wire[m], len[m], out, &outlen), 0);
				else
					assert_int_equal(record_open_last(dec, wire[m], len[m], out, &outlen), 0);
				assert_int_equal(outlen, strlen(msgs[m]));
				assert_memory_equal(out, msgs[m], outlen);
			}
			record_free(dec);
		}
	}
	/* A bad tag: refused like record_open (the state is then not to be used again). */
	{
		struct record *enc = make_derived("AES", 256, true, RECORD_HMAC_CUMULATIVE);
		struct record *dec = make_derived("AES", 256, false, RECORD_HMAC_AUTO);

		len[0] = seal(enc, (const uint8_t *)msgs[0], strlen(msgs[0]), wire[0]);
		change_tag_char(wire[0], len[0]);
		outlen = 12345;
		assert_int_equal(record_open_last(dec, wire[0], len[0], out, &outlen), CVPN_ERR_BAD_TAG);
		assert_int_equal(outlen, 12345);
		record_free(enc);
		record_free(dec);
	}
}

/* A receiver with a fixed mode refuses the other mode from message 2. */
static void
test_fixed_mode_mismatch(void **state)
{
	const char *key = vec_str("aes256", "key"), *iv = vec_str("aes256", "iv");
	struct record *dec = make_ascii("AES", 256, key, iv, false, RECORD_HMAC_CUMULATIVE);
	const uint8_t *w1, *w2;
	size_t n1, n2;

	(void)state;
	w1 = vec_hex("aes256", "wire1_hex", &n1);
	w2 = vec_hex("aes256", "wire2_per_message_hex", &n2);
	open_expect_str(dec, w1, n1, "hello");
	open_expect_err(dec, w2, n2, CVPN_ERR_BAD_TAG);
	record_free(dec);
}

static void
test_new_invalid(void **state)
{
	static const struct {
		const char *name;
		unsigned bits;
		size_t key_len, iv_len;
		bool encrypt;
		enum record_hmac mode;
	} cases[] = {
		{ "AES", 256, 16, 16, true, RECORD_HMAC_CUMULATIVE },   /* key length of AES-128 */
		{ "AES", 128, 16, 8, true, RECORD_HMAC_CUMULATIVE },    /* IV of a 64-bit block */
		{ "DES", 56, 7, 8, false, RECORD_HMAC_CUMULATIVE },     /* DES takes 7 characters + NUL */
		{ "AES", 128, 16, 16, true, RECORD_HMAC_AUTO },         /* AUTO only receives */
		{ "AES", 64, 8, 16, false, RECORD_HMAC_CUMULATIVE },
		{ "AES", 64, 0, 16, false, RECORD_HMAC_CUMULATIVE },
		{ "XOR", 64, 0, 0, true, RECORD_HMAC_CUMULATIVE },      /* sizes the suite lacks */
		{ "None", 64, 0, 0, true, RECORD_HMAC_CUMULATIVE },
	};
	uint8_t key[SUITE_MAX_KEY] = { 0 }, iv[SUITE_MAX_IV] = { 0 };
	struct record *r = (struct record *)key;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (record_new(suite_named(cases[i].name), cases[i].bits, key, cases[i].key_len, iv, cases[i].iv_len,
		    cases[i].encrypt, cases[i].mode, &r) != CVPN_ERR_INVALID_ARG)
			fail_msg("case %zu accepted", i);
		assert_ptr_equal(r, key);
	}
	record_free(NULL);
}

static void
test_hmac_names(void **state)
{
	static const struct {
		const char *name;
		enum record_hmac mode;
	} cases[] = {
		{ "cumulative", RECORD_HMAC_CUMULATIVE },
		{ "per-message", RECORD_HMAC_PER_MESSAGE },
		{ "auto", RECORD_HMAC_AUTO },
	};
	enum record_hmac mode;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(record_hmac_name(cases[i].mode), cases[i].name);
		assert_int_equal(record_hmac_parse(cases[i].name, &mode), 0);
		assert_int_equal(mode, cases[i].mode);
	}
	mode = RECORD_HMAC_AUTO;
	assert_int_equal(record_hmac_parse("Cumulative", &mode), CVPN_ERR_INVALID_ARG);
	assert_int_equal(record_hmac_parse("", &mode), CVPN_ERR_INVALID_ARG);
	assert_int_equal(mode, RECORD_HMAC_AUTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_course_vectors),
		cmocka_unit_test(test_aes256_vectors),
		cmocka_unit_test(test_des56_vector),
		cmocka_unit_test(test_wire_len),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_xor_keystream),
		cmocka_unit_test(test_open_last),
		cmocka_unit_test(test_bad_tag),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nul_stripping),
		cmocka_unit_test(test_auto_mode),
		cmocka_unit_test(test_fixed_mode_mismatch),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_hmac_names),
	};

	return cmocka_run_group_tests_name("record", tests, unit_setup, NULL);
}
