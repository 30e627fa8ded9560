/* SPDX-License-Identifier: MIT */
/* cvpn unit tests: cipher lists, ProposedCiphers and ChosenCipher (common/proposal.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "proposal.h"
#include "suite.h"
#include "vectors.h"

/* The client's proposal in the instructor's capture (captures/reference/README.md). */
#define CAPTURE_SPEC "DES:56 AES:128,192,256 Blowfish:112,224,448"
#define CAPTURE_WIRE "ProposedCiphers:DES:[56],AES:[128,192,256],Blowfish:[112,224,448]"

static struct proposal
spec(const char *text)
{
	struct proposal p;

	assert_int_equal(proposal_parse_spec(text, true, &p), 0);
	return p;
}

static void
expect_wire(const struct proposal *p, const char *want)
{
	char out[PROPOSAL_TEXT_MAX];

	assert_int_equal(proposal_format_wire(p, out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
}

/* A proposal filled with a pattern, to check that failures leave it alone. */
static struct proposal
poisoned(void)
{
	struct proposal p;

	memset(&p, 0x5a, sizeof(p));
	return p;
}

static void
assert_untouched(const struct proposal *p)
{
	struct proposal q = poisoned();

	assert_memory_equal(p, &q, sizeof(q));
}

static void
test_format_wire(void **state)
{
	struct proposal p = spec(CAPTURE_SPEC);
	char out[PROPOSAL_TEXT_MAX];

	(void)state;
	expect_wire(&p, CAPTURE_WIRE);
	assert_int_equal(strlen(CAPTURE_WIRE), 65);
	proposal_format_spec(&p, out, sizeof(out));
	assert_string_equal(out, CAPTURE_SPEC);

	p = spec("AES:256");
	expect_wire(&p, "ProposedCiphers:AES:[256]");
	proposal_default(&p);
	expect_wire(&p, "ProposedCiphers:AES:[128,192,256],Blowfish:[112,224,448],DES3:[128,192],DES:[56]");
	p = spec("AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128");
	assert_true(proposal_format_wire(&p, out, sizeof(out)) > 0);
}

/* Every buffer too small for the message and its NUL gives TOO_LONG and no write past its end. */
static void
test_format_wire_short_buffer(void **state)
{
	struct proposal p = spec(CAPTURE_SPEC);
	char out[PROPOSAL_TEXT_MAX];
	size_t outlen, i;

	(void)state;
	for (outlen = 0; outlen <= strlen(CAPTURE_WIRE); outlen++) {
		memset(out, '#', sizeof(out));
		assert_int_equal(proposal_format_wire(&p, out, outlen), CVPN_ERR_TOO_LONG);
		for (i = outlen; i < sizeof(out); i++)
			if (out[i] != '#')
				fail_msg("outlen %zu: byte %zu written", outlen, i);
	}
	assert_int_equal(proposal_format_wire(&p, out, outlen + 1), (int)strlen(CAPTURE_WIRE));
}

static void
test_parse_spec(void **state)
{
	static const struct {
		const char *text;
		const char *wire;
	} cases[] = {
		{ "AES:128,256 DES:56", "ProposedCiphers:AES:[128,256],DES:[56]" },
		{ "AES:[128,256],DES:[56]", "ProposedCiphers:AES:[128,256],DES:[56]" },
		{ "AES:128,DES:56", "ProposedCiphers:AES:[128],DES:[56]" },
		{ "  AES : [ 128 , 256 ] ;  DES:56  ", "ProposedCiphers:AES:[128,256],DES:[56]" },
		{ "AES:128, 256", "ProposedCiphers:AES:[128,256]" },
		{ "AES:128, DES:56", "ProposedCiphers:AES:[128],DES:[56]" },
		{ "aes:128 blowfish:448 des3:192 dEs:56", "ProposedCiphers:AES:[128],Blowfish:[448],DES3:[192],DES:[56]" },
		{ "AES:256,128,256", "ProposedCiphers:AES:[256,128]" },
		{ "Blowfish:112", "ProposedCiphers:Blowfish:[112]" },
	};
	struct proposal p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(proposal_parse_spec(cases[i].text, false, &p), 0);
		expect_wire(&p, cases[i].wire);
	}
}

static void
test_parse_spec_errors(void **state)
{
	static const struct {
		const char *text;
		bool allow_insecure;
		int err;
	} cases[] = {
		{ "Twofish:128", true, CVPN_ERR_UNKNOWN_CIPHER },
		{ "AES:128 Serpent:256", true, CVPN_ERR_UNKNOWN_CIPHER },
		{ "AES:100", true, CVPN_ERR_UNKNOWN_CIPHER },
		{ "DES:64", true, CVPN_ERR_UNKNOWN_CIPHER },
		{ "XOR:128", false, CVPN_ERR_INSECURE },
		{ "AES:128 None:128", false, CVPN_ERR_INSECURE },
		{ "", true, CVPN_ERR_CIPHER_SPEC },
		{ "   ", true, CVPN_ERR_CIPHER_SPEC },
		{ ",;", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES:", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES:abc", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES:[128", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES:128]", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES:128 AES:256", true, CVPN_ERR_CIPHER_SPEC },
		{ "AES:1280000", true, CVPN_ERR_CIPHER_SPEC },
		{ ":128", true, CVPN_ERR_CIPHER_SPEC },
	};
	struct proposal p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = poisoned();
		if (proposal_parse_spec(cases[i].text, cases[i].allow_insecure, &p) != cases[i].err)
			fail_msg("\"%s\": expected %s", cases[i].text, cvpn_errname(cases[i].err));
		assert_untouched(&p);
	}
	assert_int_equal(proposal_parse_spec("XOR:128,256 None:128", true, &p), 0);
	expect_wire(&p, "ProposedCiphers:XOR:[128,256],None:[128]");
}

static void
test_parse_wire(void **state)
{
	static const struct {
		const char *msg;
		const char *canonical;
	} cases[] = {
		{ CAPTURE_WIRE, CAPTURE_WIRE },
		{ "ProposedCiphers:AES:[128, 192, 256]", "ProposedCiphers:AES:[128,192,256]" },
		{ "ProposedCiphers:AES:[256]\n", "ProposedCiphers:AES:[256]" },
		{ "ProposedCiphers:AES:[256]\r\n", "ProposedCiphers:AES:[256]" },
		{ " ProposedCiphers : AES : [ 128 ] , DES : [ 56 ] \t\r\n", "ProposedCiphers:AES:[128],DES:[56]" },
		{ "ProposedCiphers:DES3:[128,192],DES:[56]", "ProposedCiphers:DES3:[128,192],DES:[56]" },
		/* Names and sizes we do not know are skipped; names are case-sensitive. */
		{ "ProposedCiphers:Twofish:[256],AES:[128]", "ProposedCiphers:AES:[128]" },
		{ "ProposedCiphers:AES:[64,128,512]", "ProposedCiphers:AES:[128]" },
		{ "ProposedCiphers:aes:[128],DES3:[112]", "ProposedCiphers:" },
		{ "ProposedCiphers:AES:[128],AES:[256,128]", "ProposedCiphers:AES:[128,256]" },
		{ "ProposedCiphers:XOR:[128],None:[128]", "ProposedCiphers:XOR:[128],None:[128]" },
	};
	struct proposal p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(proposal_parse_wire((const uint8_t *)cases[i].msg, strlen(cases[i].msg), &p), 0);
		expect_wire(&p, cases[i].canonical);
	}
}

static void
test_parse_wire_malformed(void **state)
{
	static const char *const cases[] = {
		"",
		"ProposedCiphers:",
		"ProposedCiphers: \n",
		"ProposedCiphers",
		"ProposedCiphers AES:[128]",
		"proposedciphers:AES:[128]",
		"PROPOSEDCIPHERS:AES:[128]",
		"ProposedCipher:AES:[128]",
		"ProposedCiphers:AES:128",
		"ProposedCiphers:AES:[128",
		"ProposedCiphers:AES[128]",
		"ProposedCiphers:AES:[]",
		"ProposedCiphers:AES:[128,]",
		"ProposedCiphers:AES:[abc]",
		"ProposedCiphers:AES:[-128]",
		"ProposedCiphers:AES:[12345678901234567890]",
		"ProposedCiphers:AES:[128]x",
		"ProposedCiphers:AES:[128],",
		"ProposedCiphers:AES:[128];DES:[56]",
		"ProposedCiphers:AES:[128]]",
		"ProposedCiphers::[128]",
		"ChosenCipher:AES,128",
	};
	struct proposal p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = poisoned();
		if (proposal_parse_wire((const uint8_t *)cases[i], strlen(cases[i]), &p) != CVPN_ERR_MALFORMED)
			fail_msg("\"%s\" not rejected", cases[i]);
		assert_untouched(&p);
	}
	/* The length bounds the message: a valid text cut short is malformed. */
	assert_int_equal(proposal_parse_wire((const uint8_t *)CAPTURE_WIRE, 30, &p), CVPN_ERR_MALFORMED);
}

static void
test_select(void **state)
{
	static const struct {
		const char *ours, *theirs;
		const char *name;
		unsigned bits;
	} cases[] = {
		/* the course's test_select_cipher (docs/PROTOCOL.md, section 2) */
		{ "AES:256 Blowfish:224,448", CAPTURE_SPEC, "Blowfish", 448 },
		{ "AES:128,256 Blowfish:112,224", CAPTURE_SPEC, "AES", 256 },
		{ "AES:128", CAPTURE_SPEC, "AES", 128 },
		/* The largest common size, not our largest size. */
		{ "AES:128,192,256", "AES:128,192", "AES", 192 },
		{ "Blowfish:112 AES:128", "Blowfish:112 AES:128", "AES", 128 },
		/* Ties go to our (the server's) first entry, whatever their order. */
		{ "DES3:192 AES:192", "AES:192 DES3:192", "DES3", 192 },
		{ "AES:192 DES3:192", "DES3:192 AES:192", "AES", 192 },
		{ "XOR:128 None:128", "None:128 XOR:128", "XOR", 128 },
	};
	const struct suite *s;
	unsigned bits;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proposal ours = spec(cases[i].ours), theirs = spec(cases[i].theirs);

		assert_int_equal(proposal_select(&ours, &theirs, &s, &bits), 0);
		assert_string_equal(suite_name(s), cases[i].name);
		assert_int_equal(bits, cases[i].bits);
	}
}

static void
test_select_no_common(void **state)
{
	static const char *const cases[][2] = {
		{ "DES3:192", "AES:128" },
		{ "AES:256", "AES:128,192" },
		{ "DES:56", "DES3:128 Blowfish:112" },
	};
	const struct suite *s = NULL;
	struct proposal ours, theirs;
	unsigned bits = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ours = spec(cases[i][0]);
		theirs = spec(cases[i][1]);
		assert_int_equal(proposal_select(&ours, &theirs, &s, &bits), CVPN_ERR_NO_COMMON);
		assert_null(s);
		assert_int_equal(bits, 7);
	}
	/* A peer proposal with nothing we know parses to an empty list. */
	assert_int_equal(proposal_parse_wire((const uint8_t *)"ProposedCiphers:RC4:[128]", 25, &theirs), 0);
	assert_int_equal(proposal_select(&ours, &theirs, &s, &bits), CVPN_ERR_NO_COMMON);
}

static void
test_format_choice(void **state)
{
	static const struct {
		const char *name;
		unsigned bits;
		const char *want;
	} cases[] = {
		{ "AES", 128, "ChosenCipher:AES,128" },
		{ "Blowfish", 224, "ChosenCipher:Blowfish,224" },
		{ "DES", 56, "ChosenCipher:DES,56" },
		{ "DES3", 192, "ChosenCipher:DES3,192" },
	};
	char out[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].want);
		assert_int_equal(proposal_format_choice(suite_named(cases[i].name), cases[i].bits, out, sizeof(out)), (int)n);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(proposal_format_choice(suite_named(cases[i].name), cases[i].bits, out, n), CVPN_ERR_TOO_LONG);
	}
}

static void
test_parse_choice(void **state)
{
	static const struct {
		const char *msg;
		int err;
		const char *name;
		unsigned bits;
	} cases[] = {
		{ "ChosenCipher:AES,256", 0, "AES", 256 },
		{ "ChosenCipher:AES:128", 0, "AES", 128 },
		{ "ChosenCipher: Blowfish , 224 ", 0, "Blowfish", 224 },
		{ "ChosenCipher:DES,56\n", 0, "DES", 56 },
		{ "ChosenCipher:DES,56\r\n", 0, "DES", 56 },
		{ "ChosenCipher:AES,512", CVPN_ERR_BAD_CHOICE, NULL, 0 },
		{ "ChosenCipher:AES,112", CVPN_ERR_BAD_CHOICE, NULL, 0 },
		{ "ChosenCipher:Blowfish,448", CVPN_ERR_BAD_CHOICE, NULL, 0 },
		{ "ChosenCipher:DES3,192", CVPN_ERR_BAD_CHOICE, NULL, 0 },
		{ "ChosenCipher:aes,256", CVPN_ERR_BAD_CHOICE, NULL, 0 },
		{ "ChosenCipher:Twofish,256", CVPN_ERR_BAD_CHOICE, NULL, 0 },
		{ "", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:AES256", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:AES,", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:AES;256", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:AES,256x", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:AES,256,128", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher:AES,12345678901234567890", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCiphers:AES,256", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "chosencipher:AES,256", CVPN_ERR_MALFORMED, NULL, 0 },
		{ "ChosenCipher,AES,256", CVPN_ERR_MALFORMED, NULL, 0 },
	};
	struct proposal ours = spec("AES:128,192,256 Blowfish:224 DES:56");
	const struct suite *s;
	unsigned bits;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = NULL;
		bits = 7;
		if (proposal_parse_choice((const uint8_t *)cases[i].msg, strlen(cases[i].msg), &ours, &s, &bits) !=
		    cases[i].err)
			fail_msg("\"%s\": expected %s", cases[i].msg, cvpn_errname(cases[i].err));
		if (cases[i].err != 0) {
			assert_null(s);
			assert_int_equal(bits, 7);
			continue;
		}
		assert_ptr_equal(s, suite_named(cases[i].name));
		assert_int_equal(bits, cases[i].bits);
	}
}

static void
test_size_extends(void **state)
{
	static const struct {
		const char *name;
		const char *digits;
		bool extends;
	} cases[] = {
		{ "AES", "25", true },
		{ "AES", "2", true },
		{ "AES", "1", true },
		{ "AES", "12", true },
		{ "AES", "19", true },
		{ "AES", "", true },
		{ "AES", "256", false },
		{ "AES", "128", false },
		{ "AES", "3", false },
		{ "AES", "2560", false },
		{ "AES", "11", false },
		{ "DES", "5", true },
		{ "DES", "56", false },
		{ "Blowfish", "4", false }, /* not proposed at all */
	};
	struct proposal ours = spec("AES:128,192,256 DES:56");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *d = cases[i].digits;

		if (proposal_size_extends(&ours, suite_named(cases[i].name), (const uint8_t *)d, strlen(d)) !=
		    cases[i].extends)
			fail_msg("%s \"%s\": expected %d", cases[i].name, d, cases[i].extends);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_wire),
		cmocka_unit_test(test_format_wire_short_buffer),
		cmocka_unit_test(test_parse_spec),
		cmocka_unit_test(test_parse_spec_errors),
		cmocka_unit_test(test_parse_wire),
		cmocka_unit_test(test_parse_wire_malformed),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_no_common),
		cmocka_unit_test(test_format_choice),
		cmocka_unit_test(test_parse_choice),
		cmocka_unit_test(test_size_extends),
	};

	return cmocka_run_group_tests_name("proposal", tests, unit_setup, NULL);
}
