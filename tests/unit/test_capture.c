/* SPDX-License-Identifier: MIT */
/*
 * The instructor's capture (captures/reference/capture.pcapng),
 * read with tshark: every handshake message goes through our parsers, and a
 * cvpn session with the same proposal and messages puts the same sequence of
 * message sizes on the wire: 65, 20, 2472, 2472, 80, 29, 80, 29.
 *
 * The replies are the one place where the default differs: the capture's
 * server answered "Server says: olleh" followed by 11 NUL bytes (29 bytes,
 * "Server says: " plus the 16-byte padded length), while the reference code
 * and our default send the 18 bytes without NULs. Our server's --reply padded
 * reproduces the capture, and our client drops the NULs in either case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dh.h"
#include "engine.h"
#include "err.h"
#include "proposal.h"
#include "record.h"
#include "suite.h"
#include "vectors.h"

#define MAX_PAYLOADS 16
/* The capture, from the repository's top folder (captures/reference/README.md). */
#define REFERENCE_CAPTURE "captures/reference/capture.pcapng"

struct payload {
	bool from_client;
	size_t len;
	uint8_t *data;
};

static struct payload payloads[MAX_PAYLOADS];
static size_t npayloads;

static const size_t capture_sizes[] = { 65, 20, 2472, 2472, 80, 29, 80, 29 };

/* Reads the TCP payloads of the capture, in order, with tshark. */
static int
load_capture(void **state)
{
	char cmd[512], line[16384], *tab;
	unsigned client_port = 0, port;
	FILE *p;

	(void)state;
	unit_setup(state);
	snprintf(cmd, sizeof(cmd), "tshark -r %s -Y 'tcp.len > 0' -T fields -e tcp.srcport -e tcp.payload 2>/dev/null",
	    REFERENCE_CAPTURE);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (npayloads < MAX_PAYLOADS && fgets(line, sizeof(line), p) != NULL) {
		struct payload *pl = &payloads[npayloads];
		size_t hexlen;

		if ((tab = strchr(line, '\t')) == NULL || sscanf(line, "%u", &port) != 1)
			continue;
		hexlen = strcspn(tab + 1, "\r\n");
		tab[1 + hexlen] = '\0';
		if (client_port == 0)
			client_port = port;
		pl->from_client = port == client_port;
		pl->data = malloc(hexlen / 2 + 1);
		if (pl->data == NULL || unhex(tab + 1, pl->data, hexlen / 2 + 1) != (int)(hexlen / 2))
			return -1;
		pl->len = hexlen / 2;
		npayloads++;
	}
	return pclose(p) == 0 && npayloads > 0 ? 0 : -1;
}

static int
free_capture(void **state)
{
	(void)state;
	for (size_t i = 0; i < npayloads; i++)
		free(payloads[i].data);
	return 0;
}

static void
test_capture_layout(void **state)
{
	(void)state;
	assert_int_equal(npayloads, sizeof(capture_sizes) / sizeof(capture_sizes[0]));
	for (size_t i = 0; i < npayloads; i++) {
		assert_int_equal(payloads[i].len, capture_sizes[i]);
		assert_int_equal(payloads[i].from_client, i % 2 == 0);
	}
}

static void
test_capture_proposal_and_choice(void **state)
{
	struct proposal theirs, server;
	const struct suite *s;
	unsigned bits;
	char choice[64];
	int n;

	(void)state;
	assert_int_equal(proposal_parse_wire(payloads[0].data, payloads[0].len, &theirs), 0);
	assert_int_equal(theirs.n, 3);
	assert_string_equal(suite_name(theirs.e[0].suite), "DES");
	assert_string_equal(suite_name(theirs.e[1].suite), "AES");
	assert_int_equal(theirs.e[1].nsizes, 3);
	assert_string_equal(suite_name(theirs.e[2].suite), "Blowfish");
	/* The instructor's server chose AES 256 over Blowfish 448: it supported AES only. */
	assert_int_equal(proposal_parse_spec("AES:128,192,256", false, &server), 0);
	assert_int_equal(proposal_select(&server, &theirs, &s, &bits), 0);
	n = proposal_format_choice(s, bits, choice, sizeof(choice));
	assert_int_equal((size_t)n, payloads[1].len);
	assert_memory_equal(choice, payloads[1].data, payloads[1].len);
	assert_int_equal(proposal_parse_choice(payloads[1].data, payloads[1].len, &theirs, &s, &bits), 0);
	assert_string_equal(suite_name(s), "AES");
	assert_int_equal(bits, 256);
}

static void
test_capture_dh_values(void **state)
{
	(void)state;
	for (size_t i = 2; i <= 3; i++) {
		assert_memory_equal(payloads[i].data, "DHMKE:", 6);
		assert_int_equal(dh_check_public(payloads[i].data + 6, payloads[i].len - 6), 0);
		assert_true(dh_digits_final(payloads[i].data + 6, payloads[i].len - 6));
	}
}

static void
test_capture_data_and_replies(void **state)
{
	static const char *const replies[] = { "Server says: olleh", "Server says: eyb" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const struct payload *msg = &payloads[4 + 2 * i], *rep = &payloads[5 + 2 * i];
		size_t textlen = strlen(replies[i]);

		/* 16 bytes of ciphertext, then the tag as 64 lowercase hex characters. */
		assert_int_equal(msg->len, 16 + RECORD_TAG_LEN);
		for (size_t j = 16; j < msg->len; j++)
			assert_true(strchr("0123456789abcdef", msg->data[j]) != NULL);
		assert_memory_equal(rep->data, replies[i], textlen);
		for (size_t j = textlen; j < rep->len; j++)
			assert_int_equal(rep->data[j], 0);
	}
}

/* ---- A cvpn session with the same proposal and messages ---- */

static void
drain(struct engine *from, struct engine *to, size_t *sizes, size_t *n)
{
	const uint8_t *p;
	size_t len;

	for (int guard = 0; guard < 8; guard++) {
		if (engine_needs_work(from)) {
			engine_work(from);
			assert_int_equal(engine_resume(from), 0);
		}
		engine_output(from, &p, &len);
		if (len == 0 && engine_partial(to)) {
			/* No terminator: the receiver takes the message once the sender pauses. */
			assert_int_equal(engine_quiet(to), 0);
			continue;
		}
		if (len == 0)
			return;
		sizes[(*n)++] = len;
		assert_int_equal(engine_feed(to, p, len), 0);
		engine_output_consume(from, len);
	}
}

/* Runs the capture's session through our engines and records each message's size. */
static size_t
session_sizes(enum engine_reply reply, size_t *sizes)
{
	size_t xc_len, xs_len, n = 0;
	const uint8_t *xc = vec_hex(NULL, "client_private_hex", &xc_len);
	const uint8_t *xs = vec_hex(NULL, "server_private_hex", &xs_len);
	struct engine_config cc = { .hmac = RECORD_HMAC_CUMULATIVE, .dh_private = xc, .dh_private_len = xc_len };
	struct engine_config sc = { .server = true, .hmac = RECORD_HMAC_AUTO, .newline = ENGINE_NEWLINE_MIRROR,
		.reply = reply, .dh_private = xs, .dh_private_len = xs_len };
	struct engine *c, *s;
	static const char *const msgs[] = { "hello", "bye" };

	assert_int_equal(proposal_parse_wire(payloads[0].data, payloads[0].len, &cc.ciphers), 0);
	assert_int_equal(proposal_parse_spec("AES:128,192,256", false, &sc.ciphers), 0);
	assert_int_equal(engine_new(&cc, NULL, NULL, &c), 0);
	assert_int_equal(engine_new(&sc, NULL, NULL, &s), 0);
	assert_int_equal(engine_start(c), 0);
	for (int round = 0; round < 4 && !engine_ready(c); round++) {
		drain(c, s, sizes, &n);
		drain(s, c, sizes, &n);
	}
	assert_true(engine_ready(c));
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(engine_send(c, (const uint8_t *)msgs[i], strlen(msgs[i])), 0);
		drain(c, s, sizes, &n);
		drain(s, c, sizes, &n);
		assert_true(engine_ready(c));
	}
	engine_free(c);
	engine_free(s);
	return n;
}

static void
test_session_sizes_match_capture(void **state)
{
	size_t sizes[16], n;

	(void)state;
	n = session_sizes(ENGINE_REPLY_PADDED, sizes);
	assert_int_equal(n, sizeof(capture_sizes) / sizeof(capture_sizes[0]));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sizes[i], capture_sizes[i]);
}

static void
test_default_replies_drop_the_nuls(void **state)
{
	size_t sizes[16], n;

	(void)state;
	n = session_sizes(ENGINE_REPLY_PLAIN, sizes);
	assert_int_equal(n, 8);
	assert_int_equal(sizes[5], strlen("Server says: olleh"));
	assert_int_equal(sizes[7], strlen("Server says: eyb"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_layout),
		cmocka_unit_test(test_capture_proposal_and_choice),
		cmocka_unit_test(test_capture_dh_values),
		cmocka_unit_test(test_capture_data_and_replies),
		cmocka_unit_test(test_session_sizes_match_capture),
		cmocka_unit_test(test_default_replies_drop_the_nuls),
	};

	return cmocka_run_group_tests_name("capture", tests, load_capture, free_capture);
}
