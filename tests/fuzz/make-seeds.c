/* SPDX-License-Identifier: MIT */
/*
 * cvpn fuzzing: writes the seed corpora of every target (make fuzz-seeds):
 *
 *   build/fuzz/make-seeds [DIR]      (default tests/fuzz/corpus)
 *
 * The engine seeds are real sessions: a client and a server engine run
 * against each other in memory (fz_pair_run) with the same fixed keys,
 * deterministic RAND streams and script as the targets, and each side's
 * bytes become the other side's seed, one chunk per write with a pause after
 * it. So every seed replays its session exactly in its target, down to the
 * records. The parser seeds are the messages of those sessions and the
 * edge cases of the formats (DH values at and around 0, 1, 2, p-2, p-1 and p, and so on).
 * The output is the same on every run: regenerate after changing the
 * protocol, the harness or the script, and commit the result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "dh.h"
#include "err.h"
#include "harness.h"
#include "keys.h"
#include "proposal.h"
#include "record.h"
#include "suite.h"

static const char *root = "tests/fuzz/corpus";
static unsigned written;

static void
seed(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	if ((f = fopen(path, "wb")) == NULL || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	written++;
}

static void
seed_str(const char *target, const char *name, const char *text)
{
	seed(target, name, text, strlen(text));
}

/* A byte then a string: targets whose first byte is a setting. */
static void
seed_flag(const char *target, const char *name, uint8_t flag, const char *text)
{
	size_t n = strlen(text);
	uint8_t *p = malloc(n + 1);

	p[0] = flag;
	memcpy(p + 1, text, n);
	seed(target, name, p, n + 1);
	free(p);
}

/*
 * Writes what one side sent, from offset skip to the end of its last write
 * counted in nends, as an engine target's input: its writes as chunks, with
 * a pause after each (the peer waits for the answer).
 */
static void
seed_stream(const char *target, const char *name, const uint8_t *cfg, size_t ncfg, const struct buf *out,
    const size_t *ends, size_t nends, size_t skip)
{
	uint16_t chunks[FZ_MAX_CHUNKS];
	size_t i, k = 0, prev = skip, cap = ncfg + 1 + 2 * FZ_MAX_CHUNKS + out->len;
	size_t end = nends ? ends[nends - 1] : out->len;
	uint8_t *buf = malloc(cap);
	size_t n;

	for (i = 0; i < nends && k < FZ_MAX_CHUNKS; i++) {
		if (ends[i] <= skip)
			continue;
		if (ends[i] - prev > 0x7fff)
			break;
		chunks[k++] = (uint16_t)((ends[i] - prev) | FZ_PAUSE);
		prev = ends[i];
	}
	n = fz_input_write(cfg, ncfg, chunks, k, out->data ? out->data + skip : (const uint8_t *)"", end - skip, buf, cap);
	if (n == 0) {
		fprintf(stderr, "make-seeds: %s/%s does not fit\n", target, name);
		exit(1);
	}
	seed(target, name, buf, n);
	free(buf);
}

/* ---- Lab sessions ---- */

static const struct {
	const char *name;
	uint8_t client, server;
} lab_sessions[] = {
	{ "aes256-default", 0x00, 0x00 },
	{ "capture-per-message-padded", 0x09, 0x10 },
	{ "aes128-newline-mirror-bare", 0x12, 0x29 },
	{ "blowfish448-per-message", 0x0b, 0x02 },
	{ "des3-192-server-newline", 0x04, 0x04 },
	{ "des56", 0x05, 0x00 },
	{ "xor", 0x06, 0x40 },
	{ "none", 0x07, 0x40 },
	{ "max-message-256", 0x20, 0x80 },
	{ "no-common-cipher", 0x06, 0x00 },
};

static void
lab(void)
{
	struct fz_side c, s;
	size_t i;

	for (i = 0; i < sizeof(lab_sessions) / sizeof(lab_sessions[0]); i++) {
		memset(&c, 0, sizeof(c));
		memset(&s, 0, sizeof(s));
		fz_lab_client_config(lab_sessions[i].client, &c.cfg);
		c.stream = FZ_RNG_CLIENT;
		fz_server_config(lab_sessions[i].server, 0x03, &s.cfg);
		s.server = true;
		s.stream = FZ_RNG_SERVER;
		fz_rng_reset();
		fz_side_open(&c);
		fz_side_open(&s);
		fz_pair_run(&c, &s);
		fprintf(stderr, "  lab %-28s client %-4d server %-4d messages %zu replies %zu\n", lab_sessions[i].name,
		    c.err, s.err, s.messages, c.replies);
		seed_stream("lab_server", lab_sessions[i].name, &lab_sessions[i].server, 1, &c.out, c.writes, c.nwrites, 0);
		seed_stream("lab_client", lab_sessions[i].name, &lab_sessions[i].client, 1, &s.out, s.writes, s.nwrites, 0);
		fz_side_close(&c);
		fz_side_close(&s);
	}
}

/* ---- Secure sessions ---- */

static void
secure(void)
{
	struct fz_side c, s;
	uint8_t cfg;
	size_t i;

	for (i = 0; i < fz_secure_nsessions; i++) {
		const struct fz_secure_session *ss = &fz_secure_sessions[i];

		memset(&c, 0, sizeof(c));
		memset(&s, 0, sizeof(s));
		fz_secure_client_config(ss->client, &c.cfg);
		c.stream = FZ_RNG_CLIENT;
		c.close_after = true;
		c.close_at = ss->close_at;
		fz_server_config(ss->server0, ss->server1, &s.cfg);
		s.server = true;
		s.stream = FZ_RNG_SERVER;
		fz_rng_reset();
		fz_side_open(&c);
		fz_side_open(&s);
		fz_pair_run(&c, &s);
		fprintf(stderr, "  secure %-25s client %-4d server %-4d messages %zu replies %zu\n", ss->name, c.err,
		    s.err, s.messages, c.replies);
		seed_stream("secure_server", ss->name, &ss->server1, 1, &c.out, c.writes, c.nwrites, 0);
		cfg = (uint8_t)(ss->client | ss->close_at << 6);
		seed_stream("secure_client", ss->name, &cfg, 1, &s.out, s.writes, s.nwrites, 0);
		if (i == 0) {
			/* The same server bytes to a client that closes after one reply: a reply after CLOSE. */
			cfg = (uint8_t)(ss->client | 1 << 6);
			seed_stream("secure_client", "reply-after-close", &cfg, 1, &s.out, s.writes, s.nwrites, 0);
		}
		/* The records of the first four sessions, after the handshake (two writes each way). */
		if (i < 4) {
			char name[64];

			cfg = (uint8_t)i;
			snprintf(name, sizeof(name), "to-server-%s", ss->name);
			seed_stream("secure_records", name, &cfg, 1, &c.out, c.writes, c.nwrites, c.writes[1]);
			cfg = (uint8_t)(i | 4);
			snprintf(name, sizeof(name), "to-client-%s", ss->name);
			/* Without the server's CLOSE: the client in that target never closes. */
			seed_stream("secure_records", name, &cfg, 1, &s.out, s.writes, s.nwrites - 1, s.writes[1]);
		}
		fz_side_close(&c);
		fz_side_close(&s);
	}
}

/*
 * A server refusing a record: the client's first record with one bit
 * flipped, which the server answers with its ERROR record before closing.
 */
static void
refused(void)
{
	const struct fz_secure_session *ss = &fz_secure_sessions[0];
	struct fz_side c, s;
	size_t start;
	uint8_t cfg;

	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	fz_secure_client_config(ss->client, &c.cfg);
	c.stream = FZ_RNG_CLIENT;
	c.hold = true;
	fz_server_config(ss->server0, ss->server1, &s.cfg);
	s.server = true;
	s.stream = FZ_RNG_SERVER;
	fz_rng_reset();
	fz_side_open(&c);
	fz_side_open(&s);
	fz_pair_run(&c, &s);
	c.hold = false;
	fz_side_settle(&c);
	start = c.writes[c.nwrites - 2];
	c.out.data[start + 8] ^= 0x01;
	fz_side_feed(&s, c.out.data + start, c.out.len - start);
	fprintf(stderr, "  secure %-25s client %-4d server %-4d\n", "tampered-record", c.err, s.err);
	seed_stream("secure_server", "tampered-record", &ss->server1, 1, &c.out, c.writes, c.nwrites, 0);
	cfg = ss->client;
	seed_stream("secure_client", "server-refuses", &cfg, 1, &s.out, s.writes, s.nwrites, 0);
	fz_side_close(&c);
	fz_side_close(&s);
}

/* ---- The lab record layer ---- */

static void
record_seeds(void)
{
	static const struct {
		const char *name;
		uint8_t suite, modes;
		bool genuine_ops;
	} cases[] = {
		{ "aes128-cumulative", 0, 0x00, false },
		{ "aes256-cumulative", 2, 0x00, false },
		{ "aes256-auto-per-message", 2, 0x06, false },
		{ "blowfish448-per-message", 5, 0x05, false },
		{ "des3-192-auto", 7, 0x02, false },
		{ "des56-cumulative", 8, 0x00, false },
		{ "xor256-cumulative", 10, 0x00, false },
		{ "none-auto-per-message", 11, 0x06, false },
		{ "aes256-genuine-ops", 2, 0x02, true },
	};
	uint8_t buf[16384], key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t i, j, k, off, key_len, iv_len, len, wire;
	const struct suite *s = NULL;
	struct record *tx;
	const uint8_t *text;
	unsigned bits = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The same pairs as fuzz_lab_record's pick(): the table in order. */
		for (j = 0, k = 0; j < suite_count() && s == NULL; j++)
			for (size_t m = 0; m < suite_size_count(suite_at(j)); m++, k++)
				if (k == cases[i].suite) {
					s = suite_at(j);
					bits = suite_size_at(s, m);
				}
		if (suite_derive(s, bits, fz_lab_shared_key, key, &key_len, iv, &iv_len) != 0 ||
		    record_new(s, bits, key, key_len, iv, iv_len, true,
		        cases[i].modes & 4 ? RECORD_HMAC_PER_MESSAGE : RECORD_HMAC_CUMULATIVE, &tx) != 0) {
			fprintf(stderr, "make-seeds: record %s\n", cases[i].name);
			exit(1);
		}
		buf[0] = cases[i].suite;
		buf[1] = cases[i].modes;
		off = 2;
		for (k = 0; k < 4; k++) {
			if (cases[i].genuine_ops && k < 2) {
				/* The target seals these itself; keep our sender in step. */
				uint8_t tmp[2048];

				text = fz_script(k, &len);
				record_seal(tx, text, len, tmp);
				buf[off++] = 0x80;
				buf[off++] = 0x00;
				continue;
			}
			text = fz_script(k, &len);
			wire = record_wire_len(len);
			buf[off++] = (uint8_t)(wire >> 8);
			buf[off++] = (uint8_t)wire;
			record_seal(tx, text, len, buf + off);
			off += wire;
		}
		record_free(tx);
		s = NULL;
		seed("lab_record", cases[i].name, buf, off);
	}
}

/* ---- Parsers ---- */

static void
parser_seeds(void)
{
	struct proposal p;
	char text[PROPOSAL_TEXT_MAX], b64[KEYS_B64_LEN + 1], *dec;
	uint8_t pub[32];
	BIGNUM *bn;
	struct dh *dh;
	size_t i;
	int n;

	/* ProposedCiphers: what clients send, and the grammar's corners. */
	proposal_default(&p);
	n = proposal_format_wire(&p, text, sizeof(text));
	seed("proposal", "default", text, (size_t)n);
	seed_str("proposal", "capture", "ProposedCiphers:DES:[56],AES:[128,192,256],Blowfish:[112,224,448]");
	seed_str("proposal", "all-crlf",
	    "ProposedCiphers:AES:[128,192,256],Blowfish:[112,224,448],DES3:[128,192],DES:[56],XOR:[128,256],None:[128]\r\n");
	seed_str("proposal", "spaces", " ProposedCiphers : AES : [ 128 , 256 ] , DES : [ 56 ] \n");
	seed_str("proposal", "unknown-skipped", "ProposedCiphers:Foo:[1,2],AES:[99999,256],aes:[128]");
	seed_str("proposal", "duplicates", "ProposedCiphers:AES:[256,256],AES:[128],DES:[56],DES:[56]");
	seed_str("proposal", "malformed", "ProposedCiphers:AES:[128,],DES:[56");

	/* ChosenCipher: the first byte picks our proposal (0 default, 1 capture, 2 AES:256, 3 all). */
	seed_flag("choice", "aes256", 0, "ChosenCipher:AES,256");
	seed_flag("choice", "des56-colon-newline", 1, "ChosenCipher:DES:56\n");
	seed_flag("choice", "blowfish-spaces", 1, " ChosenCipher : Blowfish , 448 \r\n");
	seed_flag("choice", "xor", 3, "ChosenCipher:XOR,128");
	seed_flag("choice", "not-offered", 2, "ChosenCipher:AES,128");
	seed_flag("choice", "prefix", 1, "ChosenCipher:Blowfish,22");

	/* --ciphers: the first byte's bit 0 allows XOR and None. */
	seed_flag("spec", "list", 0, "AES:128,192,256 Blowfish:448 DES:56");
	seed_flag("spec", "brackets", 0, "AES:[128,256],DES:[56]");
	seed_flag("spec", "case-semicolons", 0, "aes:256;des:56,");
	seed_flag("spec", "insecure", 1, "XOR:128,256 None:128");
	seed_flag("spec", "insecure-refused", 0, "None:128");
	seed_flag("spec", "duplicate", 0, "AES:128 AES:256");

	/* DH values: the fixed keys' and the edges of the range 2 <= y <= p-2. */
	FZ_ASSERT(dh_from_private(fz_lab_client_priv, FZ_LAB_PRIV_LEN, &dh) == 0 && dh_public_decimal(dh, &dec) == 0);
	seed_str("dh", "client-public", dec);
	free(dec);
	dh_free(dh);
	FZ_ASSERT(dh_from_private(fz_lab_server_priv, FZ_LAB_PRIV_LEN, &dh) == 0 && dh_public_decimal(dh, &dec) == 0);
	seed_str("dh", "server-public", dec);
	free(dec);
	dh_free(dh);
	for (i = 0; i < 3; i++) {
		static const long delta[] = { -2, -1, 0 };
		static const char *const names[] = { "p-minus-2", "p-minus-1", "p" };

		FZ_ASSERT((bn = BN_get_rfc3526_prime_8192(NULL)) != NULL);
		FZ_ASSERT(delta[i] >= 0 ? BN_add_word(bn, (BN_ULONG)delta[i]) : BN_sub_word(bn, (BN_ULONG)-delta[i]));
		dec = BN_bn2dec(bn);
		seed_str("dh", names[i], dec);
		OPENSSL_free(dec);
		BN_free(bn);
	}
	seed_str("dh", "zero", "0");
	seed_str("dh", "one", "1");
	seed_str("dh", "two", "2");
	seed_str("dh", "leading-zero", "05");
	seed_str("dh", "signs-hex", "-5");
	{
		char nines[DH_MAX_DIGITS + 2];

		memset(nines, '9', DH_MAX_DIGITS - 1);
		nines[DH_MAX_DIGITS - 1] = '\0';
		seed_str("dh", "2466-nines", nines);
		memset(nines, '9', DH_MAX_DIGITS + 1);
		nines[DH_MAX_DIGITS + 1] = '\0';
		seed_str("dh", "2468-nines", nines);
	}

	/* Keys as people paste them. */
	keys_to_base64(fz_sec_server_pub, b64);
	seed_str("keys", "plain", b64);
	snprintf(text, sizeof(text), "  %s\r\n", b64);
	seed_str("keys", "whitespace", text);
	memcpy(pub, fz_sec_psk, 32);
	keys_to_base64(pub, b64);
	seed_str("keys", "psk", b64);
	seed_str("keys", "short", "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI");
	seed_str("keys", "two-pads", "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk==");

	/* Key files: the first byte's bit 0 makes the file group-readable. */
	keys_to_base64(fz_sec_client_pub, b64);
	snprintf(text, sizeof(text), "# authorized clients\n\n%s alice laptop\n  %s\tbob\n", b64, b64);
	seed_flag("keyfile", "list", 0, text);
	snprintf(text, sizeof(text), "# known servers\nexample.org %s\n127.0.0.1:4600 %s\n", b64, b64);
	seed_flag("keyfile", "known-servers", 0, text);
	snprintf(text, sizeof(text), "%s\n", b64);
	seed_flag("keyfile", "secret", 0, text);
	seed_flag("keyfile", "secret-readable", 1, text);
	seed_flag("keyfile", "bad-line", 0, "# one\n\nnot a key\n");

	/* Text: the script, and what the escaping must handle. */
	for (i = 0; i < FZ_SCRIPT_LEN - 1; i++) {
		const uint8_t *t;
		size_t len;

		snprintf(text, sizeof(text), "script-%zu", i);
		t = fz_script(i, &len);
		seed("text", text, t, len);
	}
	seed_str("text", "invalid-utf8", "overlong \xc0\xaf surrogate \xed\xa0\x80 big \xf4\x90\x80\x80 cut \xe2\x9c");
	seed_str("text", "c1-controls", "nel \xc2\x85 csi \xc2\x9b ok \xc2\xa0 bidi \xe2\x80\xae");

	/* --suites. */
	seed_str("suites", "both", "ChaChaPoly,AESGCM");
	seed_str("suites", "spaces", "AESGCM ChaChaPoly");
	seed_str("suites", "separators", ",, AESGCM ,");
	seed_str("suites", "nine", "AESGCM,AESGCM,AESGCM,AESGCM,AESGCM,AESGCM,AESGCM,AESGCM,AESGCM");
	seed_str("suites", "unknown", "ChaCha20Poly1305");
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		root = argv[1];
	if (mkdir(root, 0755) != 0 && errno != EEXIST) {
		perror(root);
		return 1;
	}
	fz_init();
	lab();
	secure();
	refused();
	record_seeds();
	parser_seeds();
	fprintf(stderr, "make-seeds: %u files in %s\n", written, root);
	return 0;
}
