/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: SOCKS5 greetings, requests and replies (common/socks.c).
 * Each valid greeting and request is read whole and at its exact length;
 * every cut short waits for more; every byte of each is swept through all
 * 256 values, and each value gives the parse or the refusal RFC 1928 names.
 * Inputs sit in buffers of their exact size, so that under ASan a read past
 * the end fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "err.h"
#include "socks.h"

/* An exact-size copy of p, so that any read past n is out of bounds. */
static uint8_t *
exact(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	assert_non_null(q);
	if (n)
		memcpy(q, p, n);
	return q;
}

static int
greeting(const uint8_t *p, size_t n, size_t *used, uint8_t *method)
{
	uint8_t *q = exact(p, n);
	int r = socks_greeting(q, n, used, method);

	free(q);
	return r;
}

static int
request(const uint8_t *p, size_t n, struct socks_request *req, size_t *used)
{
	uint8_t *q = exact(p, n);
	int r = socks_request(q, n, req, used);

	free(q);
	return r;
}

static void
test_greeting(void **state)
{
	static const struct {
		uint8_t bytes[8];
		size_t n;
		uint8_t method;
	} cases[] = {
		{ { 5, 1, 0 }, 3, SOCKS_METHOD_NONE },
		{ { 5, 3, 1, 2, 0 }, 5, SOCKS_METHOD_NONE },
		{ { 5, 1, 2 }, 3, SOCKS_METHOD_REFUSED },          /* username/password only */
		{ { 5, 2, 1, 0x80 }, 4, SOCKS_METHOD_REFUSED },    /* GSSAPI and a private method */
		{ { 5, 0 }, 2, SOCKS_METHOD_REFUSED },             /* no method at all */
	};
	uint8_t buf[16], method = 0x55;
	size_t i, cut, used = 99;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(greeting(cases[i].bytes, cases[i].n, &used, &method), 0);
		assert_int_equal(used, cases[i].n);
		assert_int_equal(method, cases[i].method);
		/* Bytes after it (a pipelined request) are not the greeting's. */
		memcpy(buf, cases[i].bytes, cases[i].n);
		memset(buf + cases[i].n, 5, 4);
		assert_int_equal(greeting(buf, cases[i].n + 4, &used, &method), 0);
		assert_int_equal(used, cases[i].n);
		for (cut = 0; cut < cases[i].n; cut++) {
			used = 99;
			assert_int_equal(greeting(cases[i].bytes, cut, &used, &method), CVPN_ERR_TRUNCATED);
			assert_int_equal(used, 99);
		}
	}
}

static void
test_greeting_all_methods(void **state)
{
	uint8_t buf[SOCKS_GREETING_MAX], method;
	size_t used, i;

	(void)state;
	buf[0] = 5;
	buf[1] = 255;
	for (i = 0; i < 255; i++)
		buf[2 + i] = (uint8_t)(i + 1); /* 1..255: every method but "none" */
	assert_int_equal(greeting(buf, sizeof(buf), &used, &method), 0);
	assert_int_equal(used, SOCKS_GREETING_MAX);
	assert_int_equal(method, SOCKS_METHOD_REFUSED);
	buf[2 + 254] = 0;
	assert_int_equal(greeting(buf, sizeof(buf), &used, &method), 0);
	assert_int_equal(method, SOCKS_METHOD_NONE);
	assert_int_equal(greeting(buf, sizeof(buf) - 1, &used, &method), CVPN_ERR_TRUNCATED);
}

static void
test_greeting_bad_version(void **state)
{
	uint8_t buf[3] = { 0, 1, 0 }, method = 0x55;
	size_t used = 99;
	int v;

	(void)state;
	for (v = 0; v < 256; v++) {
		if (v == SOCKS_VERSION)
			continue;
		buf[0] = (uint8_t)v;
		/* The version alone tells: a SOCKS4 client is refused before anything more arrives. */
		assert_int_equal(greeting(buf, 1, &used, &method), CVPN_ERR_MALFORMED);
		assert_int_equal(greeting(buf, 3, &used, &method), CVPN_ERR_MALFORMED);
	}
	assert_int_equal(used, 99);
	assert_int_equal(method, 0x55);
}

/* The valid requests the sweeps start from. */
static const struct valid {
	const char *what;
	uint8_t bytes[32];
	size_t n;
	const char *host;
	uint16_t port;
} valid[] = {
	{ "IPv4", { 5, 1, 0, 1, 192, 0, 2, 1, 0x1f, 0x90 }, 10, "192.0.2.1", 8080 },
	{ "IPv6", { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80 }, 22,
	    "2001:db8::1", 80 },
	{ "name", { 5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x01, 0xbb }, 18,
	    "example.com", 443 },
	{ "UTF-8 name", { 5, 1, 0, 3, 5, 0xc3, 0xa9, 't', 'e', '.', 0, 1 }, 12, "\xc3\xa9te.", 1 },
	{ "one-letter name, top port", { 5, 1, 0, 3, 1, 'a', 0xff, 0xff }, 8, "a", 65535 },
};

static void
test_request_valid(void **state)
{
	struct socks_request req;
	uint8_t buf[64];
	size_t i, cut, used;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct valid *v = &valid[i];

		used = 0;
		assert_int_equal(request(v->bytes, v->n, &req, &used), 0);
		assert_int_equal(req.reply, SOCKS_SUCCEEDED);
		assert_string_equal(req.host, v->host);
		assert_int_equal(req.port, v->port);
		assert_int_equal(used, v->n);
		/* Data the application sends before our reply stays after the request. */
		memcpy(buf, v->bytes, v->n);
		memcpy(buf + v->n, "GET /", 5);
		assert_int_equal(request(buf, v->n + 5, &req, &used), 0);
		assert_int_equal(used, v->n);
		for (cut = 0; cut < v->n; cut++) {
			used = 99;
			assert_int_equal(request(v->bytes, cut, &req, &used), CVPN_ERR_TRUNCATED);
			assert_int_equal(used, 99);
		}
	}
}

static void
test_request_longest_name(void **state)
{
	uint8_t buf[SOCKS_REQUEST_MAX] = { 5, 1, 0, 3, 255 };
	struct socks_request req;
	size_t used;

	(void)state;
	memset(buf + 5, 'n', 255);
	buf[5 + 255] = 0;
	buf[5 + 256] = 22;
	assert_int_equal(request(buf, sizeof(buf), &req, &used), 0);
	assert_int_equal(req.reply, SOCKS_SUCCEEDED);
	assert_int_equal(strlen(req.host), 255);
	assert_int_equal(req.port, 22);
	assert_int_equal(used, SOCKS_REQUEST_MAX);
	assert_int_equal(request(buf, sizeof(buf) - 1, &req, &used), CVPN_ERR_TRUNCATED);
}

/*
 * What one changed byte must give: the header's bytes each have one value
 * that is right and a refusal for the rest; the address type moves where
 * the request ends; a name's length, bytes and the port go on being read.
 */
static void
check_mutation(const struct valid *v, size_t pos, uint8_t b, int r, const struct socks_request *req, size_t used)
{
	if (pos == 0 && b != SOCKS_VERSION) {
		assert_int_equal(r, 0);
		assert_int_equal(req->reply, SOCKS_GENERAL_FAILURE);
		assert_int_equal(used, 1);
	} else if (pos == 1 && b != SOCKS_CONNECT) {
		/* BIND and UDP ASSOCIATE, like any command we do not know: "command not supported". */
		assert_int_equal(r, 0);
		assert_int_equal(req->reply, SOCKS_BAD_COMMAND);
	} else if (pos == 2 && b != 0) {
		assert_int_equal(r, 0);
		assert_int_equal(req->reply, SOCKS_GENERAL_FAILURE);
	} else if (pos == 3 && b != SOCKS_ATYP_IPV4 && b != SOCKS_ATYP_IPV6 && b != SOCKS_ATYP_NAME) {
		assert_int_equal(r, 0);
		assert_int_equal(req->reply, SOCKS_BAD_ADDRESS_TYPE);
	} else if (r == 0 && req->reply == SOCKS_SUCCEEDED) {
		/* Still a request we carry: a host the channel takes and a port. */
		assert_true(strlen(req->host) > 0 && strlen(req->host) <= SOCKS_HOST_MAX);
		assert_true(req->port != 0);
		assert_true(used <= v->n);
	} else if (r == 0) {
		/* A name with a NUL or broken UTF-8, or port 0. */
		assert_int_equal(req->reply, SOCKS_GENERAL_FAILURE);
	} else {
		/* A longer name or address than the bytes given: wait for the rest. */
		assert_int_equal(r, CVPN_ERR_TRUNCATED);
	}
}

static void
test_request_sweep(void **state)
{
	struct socks_request req;
	uint8_t buf[32];
	size_t i, pos, used;
	int b, r;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		for (pos = 0; pos < valid[i].n; pos++) {
			for (b = 0; b < 256; b++) {
				memcpy(buf, valid[i].bytes, valid[i].n);
				buf[pos] = (uint8_t)b;
				memset(&req, 0, sizeof(req));
				used = 0;
				r = request(buf, valid[i].n, &req, &used);
				check_mutation(&valid[i], pos, (uint8_t)b, r, &req, used);
			}
		}
	}
}

static void
test_request_refusals(void **state)
{
	static const struct {
		const char *what;
		uint8_t bytes[16];
		size_t n;
		uint8_t reply;
	} cases[] = {
		{ "SOCKS4 version", { 4 }, 1, SOCKS_GENERAL_FAILURE },
		{ "BIND", { 5, SOCKS_BIND }, 2, SOCKS_BAD_COMMAND },
		{ "UDP ASSOCIATE", { 5, SOCKS_UDP_ASSOCIATE, 0, 1, 0, 0, 0, 0, 0, 0 }, 10, SOCKS_BAD_COMMAND },
		{ "reserved byte set", { 5, 1, 1 }, 3, SOCKS_GENERAL_FAILURE },
		{ "address type 2", { 5, 1, 0, 2 }, 4, SOCKS_BAD_ADDRESS_TYPE },
		{ "empty name", { 5, 1, 0, 3, 0, 0, 80 }, 7, SOCKS_GENERAL_FAILURE },
		{ "name with a NUL", { 5, 1, 0, 3, 2, 'a', 0, 0, 80 }, 9, SOCKS_GENERAL_FAILURE },
		{ "name not UTF-8", { 5, 1, 0, 3, 2, 0xc3, 'a', 0, 80 }, 9, SOCKS_GENERAL_FAILURE },
		{ "port 0", { 5, 1, 0, 1, 127, 0, 0, 1, 0, 0 }, 10, SOCKS_GENERAL_FAILURE },
	};
	struct socks_request req;
	size_t i, used;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(request(cases[i].bytes, cases[i].n, &req, &used), 0);
		assert_int_equal(req.reply, cases[i].reply);
		assert_true(used <= cases[i].n);
	}
}

static void
test_replies(void **state)
{
	static const uint8_t refused[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 };
	uint8_t out[SOCKS_REPLY_LEN], choice[SOCKS_CHOICE_LEN];

	(void)state;
	socks_reply(SOCKS_CONN_REFUSED, out);
	assert_memory_equal(out, refused, sizeof(refused));
	socks_choice(SOCKS_METHOD_REFUSED, choice);
	assert_int_equal(choice[0], 5);
	assert_int_equal(choice[1], 0xff);
}

static void
test_reply_for_refusals(void **state)
{
	(void)state;
	assert_int_equal(socks_reply_for(CHAN_NOT_ALLOWED), SOCKS_NOT_ALLOWED);
	assert_int_equal(socks_reply_for(CHAN_CONN_REFUSED), SOCKS_CONN_REFUSED);
	assert_int_equal(socks_reply_for(CHAN_UNREACHABLE), SOCKS_HOST_UNREACHABLE);
	assert_int_equal(socks_reply_for(CHAN_TIMEOUT), SOCKS_TTL_EXPIRED);
	assert_int_equal(socks_reply_for(CHAN_TOO_MANY), SOCKS_GENERAL_FAILURE);
	assert_int_equal(socks_reply_for(0), SOCKS_GENERAL_FAILURE);
	assert_int_equal(socks_reply_for(6), SOCKS_GENERAL_FAILURE);
	assert_int_equal(socks_reply_for(-1), SOCKS_GENERAL_FAILURE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_greeting_all_methods),
		cmocka_unit_test(test_greeting_bad_version),
		cmocka_unit_test(test_request_valid),
		cmocka_unit_test(test_request_longest_name),
		cmocka_unit_test(test_request_sweep),
		cmocka_unit_test(test_request_refusals),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_reply_for_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
