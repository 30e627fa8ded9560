/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: channel records and windows (common/chan.c). Every type
 * round-trips with its bytes as docs/SECURE.md section 10 lays them out,
 * whole and as a head followed by the data it leaves where it is;
 * every shorter or longer record, and every value the format forbids, is
 * refused on the way in and on the way out; a window grants back what was
 * delivered once half of it is, and refuses an overrun.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "chan.h"
#include "err.h"

static void
round_trip(const struct chan_msg *m, const uint8_t *expect, size_t n)
{
	uint8_t out[CHAN_PAYLOAD_MAX + 8], head[CHAN_HEAD_MAX];
	struct chan_msg back;
	size_t cut, tail = 99999;
	int h;

	assert_int_equal(chan_encode(m, out, sizeof(out)), (int)n);
	assert_memory_equal(out, expect, n);
	assert_int_equal(chan_decode(m->type, out, n, &back), 0);
	assert_int_equal(back.type, m->type);
	assert_int_equal(back.id, m->id);
	assert_int_equal(back.len, m->len);
	if (m->type == CHAN_OPEN) {
		assert_string_equal(back.host, m->host);
		assert_int_equal(back.port, m->port);
	}
	if (m->type == CHAN_OPEN || m->type == CHAN_ACCEPT || m->type == CHAN_WINDOW)
		assert_int_equal(back.window, m->window);
	/* Every cut short is refused, and one byte more is too (DATA, REFUSE: where it is not). */
	for (cut = 0; cut < n; cut++) {
		if ((m->type == CHAN_DATA && cut > 4) || (m->type == CHAN_REFUSE && cut > 4))
			continue; /* a shorter DATA or REFUSE is another valid record */
		assert_int_equal(chan_decode(m->type, out, cut, &back), CVPN_ERR_MALFORMED);
	}
	out[n] = 'x';
	if (m->type != CHAN_DATA && m->type != CHAN_REFUSE)
		assert_int_equal(chan_decode(m->type, out, n + 1, &back), CVPN_ERR_MALFORMED);
	/* Too little room to write it. */
	assert_int_equal(chan_encode(m, out, n - 1), CVPN_ERR_TOO_LONG);
	/* The head alone, then the bytes of m->data that end the payload: the same record. */
	h = chan_encode_head(m, head, sizeof(head), &tail);
	assert_true(h >= 4);
	assert_int_equal((size_t)h + tail, n);
	assert_memory_equal(head, expect, (size_t)h);
	if (tail)
		assert_memory_equal(m->data, expect + h, tail);
	assert_int_equal(tail, m->type == CHAN_DATA || m->type == CHAN_REFUSE ? m->len : 0);
}

static void
test_layouts(void **state)
{
	struct chan_msg open = { .type = CHAN_OPEN, .id = 0x01020304, .window = 0x00040000, .port = 8080 };
	static const uint8_t open_bytes[] = { 1, 2, 3, 4, 0, 4, 0, 0, 0x1f, 0x90, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't' };
	static const uint8_t accept_bytes[] = { 0, 0, 0, 9, 0, 0, 0x10, 0 };
	static const uint8_t refuse_bytes[] = { 0, 0, 0, 9, 2, 'n', 'o' };
	static const uint8_t data_bytes[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c' };
	static const uint8_t eof_bytes[] = { 0, 0, 0, 1 };
	static const uint8_t window_bytes[] = { 0, 0, 0, 1, 0x40, 0, 0, 0 };

	(void)state;
	strcpy(open.host, "localhost");
	round_trip(&open, open_bytes, sizeof(open_bytes));
	round_trip(&(struct chan_msg){ .type = CHAN_ACCEPT, .id = 9, .window = 4096 }, accept_bytes, sizeof(accept_bytes));
	round_trip(&(struct chan_msg){ .type = CHAN_REFUSE, .id = 9, .reason = CHAN_CONN_REFUSED,
	    .data = (const uint8_t *)"no", .len = 2 }, refuse_bytes, sizeof(refuse_bytes));
	round_trip(&(struct chan_msg){ .type = CHAN_DATA, .id = 0xffffffff, .data = (const uint8_t *)"abc", .len = 3 },
	    data_bytes, sizeof(data_bytes));
	round_trip(&(struct chan_msg){ .type = CHAN_EOF, .id = 1 }, eof_bytes, sizeof(eof_bytes));
	round_trip(&(struct chan_msg){ .type = CHAN_CLOSE, .id = 1 }, eof_bytes, sizeof(eof_bytes));
	round_trip(&(struct chan_msg){ .type = CHAN_WINDOW, .id = 1, .window = CHAN_WINDOW_MAX }, window_bytes,
	    sizeof(window_bytes));
}

static void
test_refused(void **state)
{
	static uint8_t big[CHAN_DATA_MAX + 1];
	uint8_t out[CHAN_PAYLOAD_MAX + 8], rec[300];
	struct chan_msg m = { .type = CHAN_OPEN, .id = 1, .window = 1, .port = 1 }, back;
	size_t tail = 7;
	int t;

	(void)state;
	/* Out: an empty host, a zero port or window, a window over the cap, DATA empty or over 16 KiB. */
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	strcpy(m.host, "h");
	m.port = 0;
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	m.port = 1;
	m.window = CHAN_WINDOW_MAX + 1;
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	m = (struct chan_msg){ .type = CHAN_DATA, .id = 1, .data = big, .len = CHAN_DATA_MAX + 1 };
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	m.len = 0;
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	m = (struct chan_msg){ .type = CHAN_REFUSE, .id = 1, .data = (const uint8_t *)"\xff", .len = 1, .reason = 1 };
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	m = (struct chan_msg){ .type = (enum chan_type)6, .id = 1 };
	assert_int_equal(chan_encode(&m, out, sizeof(out)), CVPN_ERR_INVALID_ARG);
	/* The head alone refuses the same, and says nothing of a tail. */
	assert_int_equal(chan_encode_head(&m, out, sizeof(out), &tail), CVPN_ERR_INVALID_ARG);
	m = (struct chan_msg){ .type = CHAN_DATA, .id = 1, .data = big, .len = 0 };
	assert_int_equal(chan_encode_head(&m, out, sizeof(out), &tail), CVPN_ERR_INVALID_ARG);
	assert_int_equal(tail, 7);
	/* In: types outside the range, a host with a NUL or not UTF-8, an unknown reason, a zero window. */
	for (t = 0; t < 256; t++)
		if (!chan_is_type(t))
			assert_int_equal(chan_decode(t, (const uint8_t *)"\0\0\0\1", 4, &back), CVPN_ERR_MALFORMED);
	memcpy(rec, "\0\0\0\1\0\0\0\1\0\1\3a\0b", 14);
	assert_int_equal(chan_decode(CHAN_OPEN, rec, 14, &back), CVPN_ERR_MALFORMED);
	rec[12] = (char)0xff;
	assert_int_equal(chan_decode(CHAN_OPEN, rec, 14, &back), CVPN_ERR_MALFORMED);
	rec[12] = 'x';
	assert_int_equal(chan_decode(CHAN_OPEN, rec, 14, &back), 0);
	rec[7] = 0; /* window 0 */
	assert_int_equal(chan_decode(CHAN_OPEN, rec, 14, &back), CVPN_ERR_MALFORMED);
	for (t = 0; t < 256; t++) {
		memcpy(rec, "\0\0\0\1", 4);
		rec[4] = (uint8_t)t;
		assert_int_equal(chan_decode(CHAN_REFUSE, rec, 5, &back),
		    t >= CHAN_NOT_ALLOWED && t <= CHAN_TOO_MANY ? 0 : CVPN_ERR_MALFORMED);
	}
	assert_int_equal(chan_decode(CHAN_WINDOW, (const uint8_t *)"\0\0\0\1\0\0\0\0", 8, &back), CVPN_ERR_MALFORMED);
	assert_string_equal(chan_type_name(CHAN_WINDOW), "WINDOW");
	assert_string_equal(chan_type_name(3), "?");
	assert_string_equal(chan_reason_text(99), "unknown reason");
}

static void
test_window(void **state)
{
	struct chan_window w = { .granted = 1000, .size = 1000 };
	uint32_t grant;
	size_t i, total = 0;

	(void)state;
	assert_false(chan_window_accept(&w, 1001));
	assert_true(chan_window_accept(&w, 1000));
	assert_false(chan_window_accept(&w, 1));
	/* Delivered in pieces: nothing granted under half the window, then all of it at once. */
	for (i = 0; i < 10; i++) {
		grant = chan_window_delivered(&w, 100);
		total += grant;
		if (i < 4)
			assert_int_equal(grant, 0);
	}
	assert_int_equal(total + w.pending, 1000);
	assert_int_equal(w.granted, total);
	assert_true(chan_window_accept(&w, total));
	assert_false(chan_window_accept(&w, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}
