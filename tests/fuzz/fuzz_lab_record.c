/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the lab record layer's receiving side (record_open and
 * record_open_last) under a
 * fixed key: the key and IV that the lab vectors' shared_key gives each
 * suite. Input:
 *
 *   c0   bits 0-3 the suite and size (the table's 12 pairs, modulo 12)
 *   c1   bits 0-1 the receiver's HMAC mode (cumulative, per-message, auto,
 *        auto); bit 2 the sender's (cumulative, per-message)
 *   then operations, each a big-endian u16: bit 15 set: the genuine sender
 *   seals the script's next message and the receiver opens it; else bits
 *   0-13 are the length of a wire message that follows, opened as it is.
 *   Bit 14 opens with record_open_last, after whose failure nothing more is
 *   opened (the state is then unusable by contract).
 *
 * Oracles: a failure is BAD_TAG or TRUNCATED and releases nothing (the
 * output buffer is untouched); a success never yields more than the
 * ciphertext; and while no fuzzed message was accepted, every genuine
 * message opens to its exact text, less NULs at its ends (so a failure left
 * the running MAC, the CBC chain and the XOR position unchanged).
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "harness.h"
#include "record.h"
#include "suite.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	return 0;
}

static void
pick(unsigned k, const struct suite **s, unsigned *bits)
{
	size_t i, j;

	for (;;) {
		for (i = 0; i < suite_count(); i++) {
			for (j = 0; j < suite_size_count(suite_at(i)); j++) {
				if (k-- == 0) {
					*s = suite_at(i);
					*bits = suite_size_at(suite_at(i), j);
					return;
				}
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum record_hmac modes[] = { RECORD_HMAC_CUMULATIVE, RECORD_HMAC_PER_MESSAGE, RECORD_HMAC_AUTO,
		RECORD_HMAC_AUTO };
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV], *out = NULL, *wire = NULL;
	size_t key_len, iv_len, off = 2, n, outlen, i, k = 0, len;
	enum record_hmac rmode, smode;
	struct record *rx = NULL, *tx = NULL;
	const struct suite *s;
	const uint8_t *text;
	bool desync = false;
	unsigned bits;
	int r;

	if (size < 2)
		return 0;
	pick(data[0] & 0x0f, &s, &bits);
	rmode = modes[data[1] & 3];
	smode = data[1] & 4 ? RECORD_HMAC_PER_MESSAGE : RECORD_HMAC_CUMULATIVE;
	FZ_ASSERT(suite_derive(s, bits, fz_lab_shared_key, key, &key_len, iv, &iv_len) == 0);
	FZ_ASSERT(record_new(s, bits, key, key_len, iv, iv_len, false, rmode, &rx) == 0);
	FZ_ASSERT(record_new(s, bits, key, key_len, iv, iv_len, true, smode, &tx) == 0);
	/* Genuine messages check the state only where the two modes agree. */
	desync = !(rmode == RECORD_HMAC_AUTO || rmode == smode);
	while (off + 2 <= size) {
		unsigned op = (unsigned)data[off] << 8 | data[off + 1];
		/* record_open_last: a failure ends the session, so nothing is opened after one. */
		bool last = (op & 0x4000) != 0;

		off += 2;
		if (op & 0x8000) {
			text = fz_script(k++ % FZ_SCRIPT_LEN, &len);
			n = record_wire_len(len);
			FZ_ASSERT((wire = malloc(n)) != NULL && (out = malloc(n)) != NULL);
			FZ_ASSERT(record_seal(tx, text, len, wire) == 0);
			r = (last ? record_open_last : record_open)(rx, wire, n, out, &outlen);
			/* The text comes back without the NULs at its ends (they read as padding). */
			while (len > 0 && text[len - 1] == 0)
				len--;
			while (len > 0 && text[0] == 0)
				text++, len--;
			if (!desync)
				FZ_ASSERT(r == 0 && outlen == len && memcmp(out, text, len) == 0);
		} else {
			n = (op & 0x3fff) < size - off ? (op & 0x3fff) : size - off;
			FZ_ASSERT((wire = malloc(n ? n : 1)) != NULL && (out = malloc(n ? n : 1)) != NULL);
			if (n)
				memcpy(wire, data + off, n);
			off += n;
			memset(out, 0xa5, n ? n : 1);
			outlen = (size_t)-1;
			r = (last ? record_open_last : record_open)(rx, wire, n, out, &outlen);
			if (r == 0) {
				FZ_ASSERT(n >= RECORD_TAG_LEN && outlen <= n - RECORD_TAG_LEN);
				desync = true; /* a replay the lab protocol cannot detect (per-message HMAC) */
			} else {
				FZ_ASSERT(r == CVPN_ERR_BAD_TAG || r == CVPN_ERR_TRUNCATED);
				FZ_ASSERT(outlen == (size_t)-1);
				for (i = 0; i < n; i++)
					FZ_ASSERT(out[i] == 0xa5);
			}
		}
		free(wire);
		free(out);
		wire = out = NULL;
		if (r != 0 && last)
			break;
	}
	record_free(rx);
	record_free(tx);
	return 0;
}
