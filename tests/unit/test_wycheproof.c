/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: every case of the Wycheproof files the secure profile's
 * primitives answer to (C2SP/wycheproof testvectors_v1, see
 * tests/vectors/README.md): X25519, ChaCha20-Poly1305, AES-GCM, HKDF-SHA256
 * and HMAC-SHA256, through common/aead.c and common/noise.c.
 *
 * Rules: "valid" must pass and give the exact bytes; "invalid" must fail;
 * "acceptable" cases are decided one by one below, in comments. Every file's
 * case count is checked against its numberOfTests, so no case goes missing, and
 * every skip is counted and asserted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "err.h"
#include "json.h"
#include "noise.h"
#include "vectors.h"

struct tally {
	size_t total;
	size_t valid, invalid, acceptable;  /* by the file's verdict */
	size_t passed;       /* computed, and the bytes matched */
	size_t rejected;     /* refused by our code, as the verdict (or our documented choice) requires */
	size_t skipped_key;  /* a key size our API does not offer: refused with CVPN_ERR_INVALID_ARG */
	size_t skipped_iv;   /* a nonce size our API does not offer: refused with CVPN_ERR_INVALID_ARG */
};

typedef void case_fn(const struct json *group, const struct json *tc, struct tally *t);

/* Runs fn over every test of every group of the file and checks the total against the header. */
static void
run_file(const char *name, case_fn *fn, struct tally *t)
{
	char rel[128];
	struct json *root;
	const struct json *groups, *tests, *tc;
	const char *result;
	size_t i, j;

	snprintf(rel, sizeof(rel), "wycheproof/%s", name);
	root = vec_json(rel);
	groups = json_array(root, "testGroups");
	for (i = 0; i < groups->n; i++) {
		tests = json_array(groups->items[i], "tests");
		for (j = 0; j < tests->n; j++) {
			tc = tests->items[j];
			result = json_str(tc, "result");
			if (strcmp(result, "valid") == 0)
				t->valid++;
			else if (strcmp(result, "invalid") == 0)
				t->invalid++;
			else if (strcmp(result, "acceptable") == 0)
				t->acceptable++;
			else
				fail_msg("%s tcId %lld: unknown result %s", name, json_int(tc, "tcId"), result);
			fn(groups->items[i], tc, t);
			t->total++;
		}
	}
	assert_int_equal(t->total, json_int(root, "numberOfTests"));
	print_message("# %s: %zu cases (%zu valid, %zu invalid, %zu acceptable): %zu passed, %zu rejected, "
	    "%zu skipped for key size, %zu skipped for nonce size\n", name, t->total, t->valid, t->invalid,
	    t->acceptable, t->passed, t->rejected, t->skipped_key, t->skipped_iv);
	json_free(root);
}

static bool
is(const struct json *tc, const char *result)
{
	return strcmp(json_str(tc, "result"), result) == 0;
}

static long long
tcid(const struct json *tc)
{
	return json_int(tc, "tcId");
}

/*
 * X25519. The file has no "invalid" case. Its "acceptable" cases are of two
 * kinds. (1) The 31 low-order public keys (flag ZeroSharedSecret) give an
 * all-zero shared secret: RFC 7748 section 6.1 lets a protocol check for it,
 * Noise section 12.1 allows signalling an error, and WireGuard does; our
 * choice is to reject, so noise_dh must refuse them with CVPN_ERR_DH_ZERO.
 * (2) The rest (twist points, non-canonical encodings, special public keys)
 * have a well-defined RFC 7748 result, which we accept and must compute exactly.
 */
static void
x25519_case(const struct json *group, const struct json *tc, struct tally *t)
{
	static const uint8_t zero[NOISE_DH_LEN];
	uint8_t *priv, *pub, *shared, out[NOISE_DH_LEN];
	size_t privlen, publen, sharedlen;
	int r;

	assert_string_equal(json_str(group, "curve"), "curve25519");
	priv = json_hex(tc, "private", &privlen);
	pub = json_hex(tc, "public", &publen);
	shared = json_hex(tc, "shared", &sharedlen);
	/* Every case of this file uses 32-byte keys; anything else would need a decision here. */
	if (privlen != NOISE_DH_LEN || publen != NOISE_DH_LEN || sharedlen != NOISE_DH_LEN)
		fail_msg("x25519 tcId %lld: key of %zu/%zu bytes", tcid(tc), privlen, publen);
	memset(out, 0xa5, sizeof(out));
	r = noise_dh(priv, pub, out);
	if (memcmp(shared, zero, sizeof(zero)) == 0) {
		if (r != CVPN_ERR_DH_ZERO || !json_has_flag(tc, "ZeroSharedSecret") || out[0] != 0xa5)
			fail_msg("x25519 tcId %lld: low-order key not rejected (%d)", tcid(tc), r);
		t->rejected++;
	} else if (is(tc, "invalid")) {
		if (r == 0)
			fail_msg("x25519 tcId %lld: invalid case accepted", tcid(tc));
		t->rejected++;
	} else {
		if (r != 0 || memcmp(out, shared, sizeof(out)) != 0)
			fail_msg("x25519 tcId %lld (%s): r=%d or wrong secret", tcid(tc), json_str(tc, "result"), r);
		t->passed++;
	}
	free(priv);
	free(pub);
	free(shared);
}

static void
test_x25519(void **state)
{
	struct tally t = { 0 };

	(void)state;
	run_file("x25519_test.json", x25519_case, &t);
	assert_int_equal(t.total, 518);
	assert_int_equal(t.valid, 264);
	assert_int_equal(t.acceptable, 254);
	assert_int_equal(t.rejected, 31);
	assert_int_equal(t.passed, 518 - 31);
}

/* Bytes of one AEAD case, decoded. */
struct aead_case {
	uint8_t *key, *iv, *aad, *msg, *ct, *tag, *wire;
	size_t keylen, ivlen, aadlen, msglen, ctlen, taglen, wirelen;
};

static void
aead_case_load(const struct json *tc, struct aead_case *c)
{
	c->key = json_hex(tc, "key", &c->keylen);
	c->iv = json_hex(tc, "iv", &c->ivlen);
	c->aad = json_hex(tc, "aad", &c->aadlen);
	c->msg = json_hex(tc, "msg", &c->msglen);
	c->ct = json_hex(tc, "ct", &c->ctlen);
	c->tag = json_hex(tc, "tag", &c->taglen);
	c->wirelen = c->ctlen + c->taglen;
	c->wire = malloc(c->wirelen + 1);
	assert_non_null(c->wire);
	memcpy(c->wire, c->ct, c->ctlen);
	memcpy(c->wire + c->ctlen, c->tag, c->taglen);
}

static void
aead_case_free(struct aead_case *c)
{
	free(c->key);
	free(c->iv);
	free(c->aad);
	free(c->msg);
	free(c->ct);
	free(c->tag);
	free(c->wire);
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

/*
 * One AEAD case through the raw-nonce interface of common/aead.c. Seal must
 * give ct || tag exactly and open must give msg back for valid cases; open must
 * return CVPN_ERR_BAD_TAG and release nothing for invalid ones.
 */
static void
aead_case(enum aead_cipher cipher, const struct json *tc, struct tally *t)
{
	struct aead_case c;
	struct aead *a = NULL;
	uint8_t *sealed, *opened;
	size_t outlen = 12345;
	int rs, ro;

	aead_case_load(tc, &c);
	rs = aead_new(cipher, c.key, c.keylen, &a);
	if (c.keylen != AEAD_KEY_LEN) {
		/* AES-128/192-GCM: this module is AES-256-GCM only, by design (the Noise suite). */
		if (rs != CVPN_ERR_INVALID_ARG || a != NULL)
			fail_msg("tcId %lld: %zu-byte key not refused", tcid(tc), c.keylen);
		t->skipped_key++;
		aead_case_free(&c);
		return;
	}
	assert_int_equal(rs, 0);
	sealed = malloc(c.msglen + AEAD_TAG_LEN);
	opened = malloc(c.wirelen + 1);
	assert_non_null(sealed);
	assert_non_null(opened);
	memset(opened, 0xa5, c.wirelen + 1);
	rs = aead_seal_nonce(a, c.iv, c.ivlen, c.aad, c.aadlen, c.msg, c.msglen, sealed);
	ro = aead_open_nonce(a, c.iv, c.ivlen, c.aad, c.aadlen, c.wire, c.wirelen, opened, &outlen);
	if (c.ivlen != AEAD_NONCE_LEN) {
		/* Noise nonces are 96 bits; other sizes are refused before any work. */
		if (rs != CVPN_ERR_INVALID_ARG || ro != CVPN_ERR_INVALID_ARG || outlen != 12345)
			fail_msg("tcId %lld: %zu-byte nonce not refused (%d, %d)", tcid(tc), c.ivlen, rs, ro);
		if (is(tc, "invalid"))
			t->rejected++;   /* InvalidNonceSize, ZeroLengthIv: refused for the very reason they are invalid */
		else
			t->skipped_iv++; /* a valid AES-GCM case with a non-96-bit IV, which Noise never uses */
	} else if (is(tc, "invalid")) {
		if (ro != CVPN_ERR_BAD_TAG || outlen != 12345 || !all_zero(opened, c.msglen))
			fail_msg("tcId %lld: invalid case not rejected cleanly (%d)", tcid(tc), ro);
		t->rejected++;
	} else {
		if (rs != 0 || memcmp(sealed, c.ct, c.ctlen) != 0 || memcmp(sealed + c.msglen, c.tag, c.taglen) != 0 ||
		    c.taglen != AEAD_TAG_LEN || c.ctlen != c.msglen)
			fail_msg("tcId %lld: seal gave other bytes (%d)", tcid(tc), rs);
		if (ro != 0 || outlen != c.msglen || memcmp(opened, c.msg, c.msglen) != 0)
			fail_msg("tcId %lld: open failed (%d)", tcid(tc), ro);
		t->passed++;
	}
	free(sealed);
	free(opened);
	aead_free(a);
	aead_case_free(&c);
}

static void
chacha_case(const struct json *group, const struct json *tc, struct tally *t)
{
	(void)group;
	aead_case(AEAD_CHACHAPOLY, tc, t);
}

static void
gcm_case(const struct json *group, const struct json *tc, struct tally *t)
{
	(void)group;
	aead_case(AEAD_AESGCM, tc, t);
}

static void
test_chacha20_poly1305(void **state)
{
	struct tally t = { 0 };

	(void)state;
	run_file("chacha20_poly1305_test.json", chacha_case, &t);
	assert_int_equal(t.total, 325);
	assert_int_equal(t.passed, t.valid);
	assert_int_equal(t.rejected, t.invalid);
	/* Nothing skipped: the 9 InvalidNonceSize cases are refused, as they must be. */
	assert_int_equal(t.skipped_key + t.skipped_iv, 0);
	assert_int_equal(t.invalid, 69);
}

/*
 * AES-GCM: the AESGCM Noise suite is AES-256-GCM with 96-bit nonces, so 211
 * cases with 128- or 192-bit keys and the 37 valid 256-bit-key cases with
 * other IV sizes are outside the API: each is still fed to it and must be
 * refused. The 2 invalid 256-bit ZeroLengthIv cases are refused too, as required.
 */
static void
test_aes_gcm(void **state)
{
	struct tally t = { 0 };

	(void)state;
	run_file("aes_gcm_test.json", gcm_case, &t);
	assert_int_equal(t.total, 316);
	assert_int_equal(t.skipped_key, 211);
	assert_int_equal(t.skipped_iv, 37);
	assert_int_equal(t.passed, 39);
	assert_int_equal(t.rejected, 27 + 2);
	assert_int_equal(t.passed + t.rejected + t.skipped_key + t.skipped_iv, t.total);
}

/* HKDF-SHA256 through noise_hkdf, the function Noise's HKDF is built on. */
static void
hkdf_case(const struct json *group, const struct json *tc, struct tally *t)
{
	uint8_t *ikm, *salt, *info, *okm, *out;
	size_t ikmlen, saltlen, infolen, okmlen, size;
	int r;

	(void)group;
	ikm = json_hex(tc, "ikm", &ikmlen);
	salt = json_hex(tc, "salt", &saltlen);
	info = json_hex(tc, "info", &infolen);
	okm = json_hex(tc, "okm", &okmlen);
	size = (size_t)json_int(tc, "size");
	out = calloc(1, size + 1);
	assert_non_null(out);
	r = noise_hkdf(salt, saltlen, ikm, ikmlen, info, infolen, out, size);
	if (is(tc, "invalid")) {
		/* SizeTooLarge: over 255 blocks. */
		if (r != CVPN_ERR_INVALID_ARG || !all_zero(out, size))
			fail_msg("hkdf tcId %lld: invalid case accepted (%d)", tcid(tc), r);
		t->rejected++;
	} else {
		if (r != 0 || okmlen != size || memcmp(out, okm, size) != 0)
			fail_msg("hkdf tcId %lld: wrong output (%d)", tcid(tc), r);
		t->passed++;
	}
	free(ikm);
	free(salt);
	free(info);
	free(okm);
	free(out);
}

static void
test_hkdf_sha256(void **state)
{
	struct tally t = { 0 };

	(void)state;
	run_file("hkdf_sha256_test.json", hkdf_case, &t);
	assert_int_equal(t.total, 86);
	assert_int_equal(t.passed, 83);
	assert_int_equal(t.rejected, 3);
}

/*
 * HMAC-SHA256 through noise_hmac_verify, full and 128-bit truncated tags (the
 * group's tagSize); valid cases also through noise_hmac, byte for byte.
 */
static void
hmac_case(const struct json *group, const struct json *tc, struct tally *t)
{
	uint8_t *key, *msg, *tag, full[NOISE_HASH_LEN];
	size_t keylen, msglen, taglen;
	int r;

	key = json_hex(tc, "key", &keylen);
	msg = json_hex(tc, "msg", &msglen);
	tag = json_hex(tc, "tag", &taglen);
	assert_int_equal(taglen * 8, json_int(group, "tagSize"));
	r = noise_hmac_verify(key, keylen, msg, msglen, tag, taglen);
	if (is(tc, "invalid")) {
		if (r != CVPN_ERR_BAD_TAG)
			fail_msg("hmac tcId %lld: modified tag accepted (%d)", tcid(tc), r);
		t->rejected++;
	} else {
		if (r != 0 || noise_hmac(key, keylen, msg, msglen, full) != 0 || memcmp(full, tag, taglen) != 0)
			fail_msg("hmac tcId %lld: valid tag refused (%d)", tcid(tc), r);
		t->passed++;
	}
	free(key);
	free(msg);
	free(tag);
}

static void
test_hmac_sha256(void **state)
{
	struct tally t = { 0 };

	(void)state;
	run_file("hmac_sha256_test.json", hmac_case, &t);
	assert_int_equal(t.total, 174);
	assert_int_equal(t.passed, 66);
	assert_int_equal(t.rejected, 108);
}

/* The test-only JSON reader itself: the shapes the vector files use, and malformed input refused. */
static void
test_json_reader(void **state)
{
	static const char doc[] = " {\"a\": [1, -2, 3.5e1, true, false, null], \"s\": \"q\\\"\\\\/\\n\\u00e9\\ud83d\\ude00\","
	    " \"o\": {\"x\": \"00ff\", \"flags\": [\"Ktv\"]}} ";
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "\"unterminated", "\"bad \\x escape\"",
		"\"\\ud83d alone\"", "01", "-", "tru", "{} extra", "[\"tab\there\"]", "{\"a\":1,}",
	};
	struct json *j = json_parse(doc, strlen(doc));
	const struct json *a, *o;
	uint8_t *bytes;
	size_t i, n;

	(void)state;
	assert_non_null(j);
	a = json_array(j, "a");
	assert_int_equal(a->n, 6);
	assert_true(json_at(a, 0)->integral);
	assert_int_equal(json_at(a, 1)->integer, -2);
	assert_false(json_at(a, 2)->integral);
	assert_true(json_at(a, 2)->number == 35.0);
	assert_true(json_at(a, 3)->type == JSON_BOOL && json_at(a, 3)->boolean);
	assert_true(json_at(a, 4)->type == JSON_BOOL && !json_at(a, 4)->boolean);
	assert_int_equal(json_at(a, 5)->type, JSON_NULL);
	assert_null(json_at(a, 6));
	assert_string_equal(json_str(j, "s"), "q\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
	o = json_get(j, "o");
	bytes = json_hex(o, "x", &n);
	assert_int_equal(n, 2);
	assert_int_equal(bytes[1], 0xff);
	free(bytes);
	assert_true(json_has_flag(o, "Ktv"));
	assert_false(json_has_flag(o, "Kt"));
	assert_null(json_get(j, "missing"));
	json_free(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((j = json_parse(bad[i], strlen(bad[i]))) != NULL)
			fail_msg("accepted %s", bad[i]);
	}
	json_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_reader),
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_chacha20_poly1305),
		cmocka_unit_test(test_aes_gcm),
		cmocka_unit_test(test_hkdf_sha256),
		cmocka_unit_test(test_hmac_sha256),
	};

	return cmocka_run_group_tests_name("wycheproof", tests, NULL, NULL);
}
