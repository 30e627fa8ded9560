/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the secure profile's wire format (common/secure_wire.c)
 * against docs/SECURE.md written out by hand: the prologue's bytes, the
 * suite and mode codes and their names, the u16 framing at its ends, and
 * hellos longer than the format allows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "secure_wire.h"

/* docs/SECURE.md section 3, with a ClientHello offering both suites in key mode. */
static void
test_prologue(void **state)
{
	static const uint8_t ch[] = { 'C', 'V', 'P', 'N', 2, 1, 2, 1, 2 };
	static const uint8_t sh[] = { 'C', 'V', 'P', 'N', 2, 1, 2 };
	static const uint8_t expect[] = {
		'C', 'V', 'P', 'N', ' ', 'v', '2',
		0, 9, 'C', 'V', 'P', 'N', 2, 1, 2, 1, 2,
		0, 7, 'C', 'V', 'P', 'N', 2, 1, 2,
	};
	uint8_t out[SECURE_PROLOGUE_MAX], big[SECURE_CLIENT_HELLO_MAX + 1] = { 0 };

	(void)state;
	assert_int_equal(secure_wire_prologue(ch, sizeof(ch), sh, sizeof(sh), out), sizeof(expect));
	assert_memory_equal(out, expect, sizeof(expect));
	/* The longest hellos fit; one byte more does not. */
	assert_int_equal(secure_wire_prologue(big, SECURE_CLIENT_HELLO_MAX, sh, sizeof(sh), out), SECURE_PROLOGUE_MAX);
	assert_int_equal(secure_wire_prologue(big, sizeof(big), sh, sizeof(sh), out), 0);
	assert_int_equal(secure_wire_prologue(ch, sizeof(ch), big, SECURE_SERVER_HELLO_LEN + 1, out), 0);
}

static void
test_suites(void **state)
{
	enum aead_cipher c = AEAD_AESGCM;
	unsigned code;

	(void)state;
	assert_int_equal(secure_wire_suite_code(AEAD_CHACHAPOLY), 1);
	assert_int_equal(secure_wire_suite_code(AEAD_AESGCM), 2);
	assert_true(secure_wire_code_suite(1, &c));
	assert_int_equal(c, AEAD_CHACHAPOLY);
	assert_true(secure_wire_code_suite(2, &c));
	assert_int_equal(c, AEAD_AESGCM);
	for (code = 0; code < 256; code++) {
		if (code == 1 || code == 2)
			continue;
		c = AEAD_CHACHAPOLY;
		assert_false(secure_wire_code_suite((uint8_t)code, &c));
		assert_int_equal(c, AEAD_CHACHAPOLY); /* untouched */
		assert_string_equal(secure_wire_suite_name((uint8_t)code), "?");
	}
	assert_string_equal(secure_wire_suite_name(1), "ChaChaPoly");
	assert_string_equal(secure_wire_suite_name(2), "AESGCM");
}

static void
test_modes(void **state)
{
	char name[SECURE_PROTOCOL_MAX];

	(void)state;
	assert_string_equal(secure_wire_mode_name(1), "key");
	assert_string_equal(secure_wire_mode_name(2), "psk");
	assert_string_equal(secure_wire_mode_name(0), "?");
	assert_string_equal(secure_wire_mode_name(3), "?");
	secure_wire_protocol(SECURE_MODE_KEY, AEAD_CHACHAPOLY, name);
	assert_string_equal(name, "Noise_IKpsk2_25519_ChaChaPoly_SHA256");
	secure_wire_protocol(SECURE_MODE_PSK, AEAD_AESGCM, name);
	assert_string_equal(name, "Noise_NNpsk0_25519_AESGCM_SHA256");
}

static void
test_u16(void **state)
{
	static const size_t values[] = { 0, 1, 255, 256, 0x1234, 0xfffe, 0xffff };
	uint8_t p[2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		secure_wire_put16(p, values[i]);
		assert_int_equal(p[0], values[i] >> 8);
		assert_int_equal(p[1], values[i] & 0xff);
		assert_int_equal(secure_wire_get16(p), values[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prologue),
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_u16),
	};

	return cmocka_run_group_tests_name("secure_wire", tests, NULL, NULL);
}
