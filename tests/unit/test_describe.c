/* SPDX-License-Identifier: MIT */
/* describe: the -v lines students read, their names, shortening, and escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "describe.h"
#include "engine.h"
#include "suite.h"
#include "vectors.h"

static char out[16384];
static int nlines;

static void
collect(void *arg, const char *line)
{
	(void)arg;
	strncat(out, line, sizeof(out) - strlen(out) - 2);
	strcat(out, "\n");
	nlines++;
}

static const char *
describe(const struct engine_event *ev, bool server, int level)
{
	out[0] = '\0';
	nlines = 0;
	describe_event(ev, server, level, collect, NULL);
	return out;
}

static struct engine_event
text_event(enum engine_event_type type, const char *text)
{
	struct engine_event ev = { .type = type, .text = (const uint8_t *)text, .text_len = strlen(text) };

	ev.suite = suite_named("AES");
	ev.bits = 256;
	return ev;
}

static void
test_handshake_lines(void **state)
{
	struct engine_event p = text_event(ENGINE_EV_PROPOSAL, "ProposedCiphers:AES:[256]");
	struct engine_event c = text_event(ENGINE_EV_NEGOTIATED, "ChosenCipher:AES,256");
	char name[16];

	(void)state;
	assert_string_equal(describe(&p, false, 1), "  proposal -> ProposedCiphers:AES:[256]\n");
	assert_string_equal(describe(&p, true, 1), "  proposal <- ProposedCiphers:AES:[256]\n");
	assert_string_equal(describe(&c, false, 1), "  choice <- ChosenCipher:AES,256\n");
	assert_string_equal(describe(&c, true, 1), "  choice -> ChosenCipher:AES,256\n");
	assert_string_equal(describe(&c, true, 0), "");
	describe_choice(&c, name, sizeof(name));
	assert_string_equal(name, "AES256");
}

static void
test_network_text_is_escaped(void **state)
{
	struct engine_event p = text_event(ENGINE_EV_PROPOSAL, "ProposedCiphers:\r\x1b[2JAES:[256]");

	(void)state;
	assert_string_equal(describe(&p, true, 1), "  proposal <- ProposedCiphers:\\x0d\\x1b[2JAES:[256]\n");
}

static void
test_dh_values_shortened(void **state)
{
	const char *y = vec_str(NULL, "client_public_dec");
	struct engine_event local = text_event(ENGINE_EV_DH_LOCAL, y), peer = text_event(ENGINE_EV_DH_PEER, y);

	char expected[128];

	(void)state;
	/* The first and last 20 digits, and the count. */
	snprintf(expected, sizeof(expected), "  dh.client_public = %.20s...%s (2466 digits)\n", y, y + 2446);
	assert_string_equal(describe(&local, false, 1), expected);
	describe(&peer, false, 1);
	assert_non_null(strstr(out, "dh.server_public = "));
	describe(&peer, true, 1);
	assert_non_null(strstr(out, "dh.client_public = "));
	/* -vv prints the value whole. */
	describe(&local, false, 2);
	assert_non_null(strstr(out, y));
}

static void
test_key_lines(void **state)
{
	struct engine_event k = text_event(ENGINE_EV_KEY, vec_str(NULL, "shared_key"));

	(void)state;
	k.key = (const uint8_t *)"8bd540d\0";
	k.key_len = 8;
	k.iv = (const uint8_t *)"94f8e5f4";
	k.iv_len = 8;
	k.hmac = RECORD_HMAC_CUMULATIVE;
	describe(&k, false, 1);
	assert_int_equal(nlines, 4);
	assert_non_null(strstr(out, "  shared_key = 8bd540ddb633ae4cf6464d1ffdd622437bbb825fa353363dba03e63694f8e5f4\n"));
	/* DES's NUL shows as a dot in the text and as 00 in the bytes. */
	assert_non_null(strstr(out, "  key = \"8bd540d.\" hex 3862643534306400 (8 bytes)\n"));
	assert_non_null(strstr(out, "  iv = \"94f8e5f4\" hex 3934663865356634 (8 bytes)\n"));
	assert_non_null(strstr(out, "  hmac = cumulative\n"));
}

static void
test_message_lines(void **state)
{
	uint8_t ct[100];
	struct engine_event m = text_event(ENGINE_EV_SENT, "hello");

	(void)state;
	memset(ct, 0xab, sizeof(ct));
	m.ct = ct;
	m.ct_len = 16;
	m.tag = (const uint8_t *)"27cb64f22597b986914cdcde4ad646e9204ed3312ec3120972a2a716aa06f71e";
	m.tag_len = 64;
	m.hmac = RECORD_HMAC_PER_MESSAGE;
	describe(&m, false, 1);
	assert_string_equal(out, "  ciphertext = abababababababababababababababab (16 bytes)\n"
	    "  tag = 27cb64f22597b986914cdcde4ad646e9204ed3312ec3120972a2a716aa06f71e (per-message)\n");
	m.ct_len = 100;
	describe(&m, false, 1);
	assert_non_null(strstr(out, "ab... (100 bytes)\n"));
	describe(&m, false, 2);
	assert_null(strstr(out, "..."));
}

static void
test_suite_table(void **state)
{
	(void)state;
	out[0] = '\0';
	nlines = 0;
	describe_suites(collect, NULL);
	assert_int_equal(nlines, 1 + (int)suite_count());
	assert_non_null(strstr(out, "\nAES       128,192,256"));
	assert_non_null(strstr(out, "\nDES       56            7+NUL"));
	assert_non_null(strstr(out, "[needs --allow-insecure]"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_lines),
		cmocka_unit_test(test_network_text_is_escaped),
		cmocka_unit_test(test_dh_values_shortened),
		cmocka_unit_test(test_key_lines),
		cmocka_unit_test(test_message_lines),
		cmocka_unit_test(test_suite_table),
	};

	return cmocka_run_group_tests_name("describe", tests, unit_setup, NULL);
}
