/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "json.h"
#include "suite.h"
#include "vectors.h"

/*
 * The file is a flat JSON object of strings with one level of nested objects;
 * this reader handles exactly that (objects, strings with simple escapes).
 * Every entry stays reachable until exit, so leak checkers stay quiet.
 */
struct entry {
	const char *section; /* NULL at the top level */
	char *key;
	char *value;         /* NULL for a nested object's own entry */
	uint8_t *bytes;      /* hex-decoded value, on first use */
	size_t nbytes;
};

static struct entry *entries;
static size_t nentries;
static bool loaded;

static void
skip_ws(const char **pp)
{
	while (**pp == ' ' || **pp == '\t' || **pp == '\r' || **pp == '\n')
		(*pp)++;
}

/* Parses a JSON string at *pp into a new C string; NULL when malformed. */
static char *
parse_string(const char **pp)
{
	const char *p = *pp + 1;
	char *out, *q;

	if (**pp != '"' || (out = q = malloc(strlen(p) + 1)) == NULL)
		return NULL;
	for (; *p != '"'; p++) {
		if (*p == '\0' || (*p == '\\' && strchr("\"\\/", p[1]) == NULL)) {
			free(out);
			return NULL;
		}
		if (*p == '\\')
			p++;
		*q++ = *p;
	}
	*q = '\0';
	*pp = p + 1;
	return out;
}

static bool
add(const char *section, char *key, char *value)
{
	struct entry *grown = realloc(entries, (nentries + 1) * sizeof(*entries));

	if (grown == NULL)
		return false;
	entries = grown;
	entries[nentries++] = (struct entry){ .section = section, .key = key, .value = value };
	return true;
}

/* Parses an object whose members belong to section. */
static bool
parse_object(const char **pp, const char *section)
{
	char *key, *value;
	bool ok;

	skip_ws(pp);
	if (*(*pp)++ != '{')
		return false;
	for (skip_ws(pp); **pp != '}'; skip_ws(pp)) {
		if ((key = parse_string(pp)) == NULL)
			return false;
		skip_ws(pp);
		if (*(*pp)++ != ':')
			ok = false;
		else if (skip_ws(pp), **pp == '{')
			ok = add(section, key, NULL) && parse_object(pp, key);
		else
			ok = (value = parse_string(pp)) != NULL && add(section, key, value);
		if (!ok)
			return false;
		skip_ws(pp);
		if (**pp == ',')
			(*pp)++;
	}
	(*pp)++;
	return true;
}

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)n + 1)) != NULL) {
		if (fread(text, 1, (size_t)n, f) == (size_t)n) {
			text[n] = '\0';
		} else {
			free(text);
			text = NULL;
		}
	}
	fclose(f);
	return text;
}

static void
load(void)
{
	const char *path = VECTORS_DIR "/lab-vectors.json";
	const char *p;
	char *text;

	if (loaded)
		return;
	if ((text = read_all(path)) == NULL)
		fail_msg("cannot read %s (run the tests from the repository's top folder, as make check does)", path);
	p = text;
	if (!parse_object(&p, NULL))
		fail_msg("cannot parse %s", path);
	free(text);
	loaded = true;
}

static struct entry *
find(const char *section, const char *key)
{
	size_t i;

	load();
	for (i = 0; i < nentries; i++) {
		const char *s = entries[i].section;

		if (entries[i].value != NULL && strcmp(entries[i].key, key) == 0 &&
		    (section == NULL ? s == NULL : s != NULL && strcmp(s, section) == 0))
			return &entries[i];
	}
	fail_msg("no vector %s.%s", section ? section : "", key);
	return NULL;
}

const char *
vec_str(const char *section, const char *key)
{
	return find(section, key)->value;
}

const uint8_t *
vec_hex(const char *section, const char *key, size_t *len)
{
	struct entry *e = find(section, key);
	size_t cap = strlen(e->value) / 2;
	int n;

	if (e->bytes == NULL) {
		if ((e->bytes = malloc(cap ? cap : 1)) == NULL || (n = unhex(e->value, e->bytes, cap)) < 0)
			fail_msg("vector %s.%s is not hex", section ? section : "", key);
		else
			e->nbytes = (size_t)n;
	}
	*len = e->nbytes;
	return e->bytes;
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
unhex(const char *hex, uint8_t *out, size_t outlen)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n / 2 > outlen)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

void
assert_bytes_hex(const uint8_t *p, size_t n, const char *hex)
{
	size_t len = strlen(hex) / 2;
	uint8_t *want = malloc(len ? len : 1);

	assert_non_null(want);
	assert_int_equal(unhex(hex, want, len), (int)len);
	assert_int_equal(n, len);
	assert_memory_equal(p, want, n);
	free(want);
}

void
assert_bytes_str(const uint8_t *p, size_t n, const char *s)
{
	assert_int_equal(n, strlen(s));
	assert_memory_equal(p, s, n);
}

char *
prime_plus(long delta)
{
	BIGNUM *p = BN_get_rfc3526_prime_8192(NULL);
	char *dec;

	assert_non_null(p);
	assert_true(delta < 0 ? BN_sub_word(p, (BN_ULONG)-delta) : BN_add_word(p, (BN_ULONG)delta));
	dec = BN_bn2dec(p);
	BN_free(p);
	assert_non_null(dec);
	return dec;
}

int
unit_setup(void **state)
{
	(void)state;
	return suite_init();
}

const struct suite *
suite_named(const char *name)
{
	const struct suite *s = suite_by_name(name, strlen(name), false);

	if (s == NULL)
		fail_msg("no suite %s", name);
	return s;
}

struct json *
vec_json(const char *relpath)
{
	struct json *j;
	char path[4096], *text;

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, relpath);
	if ((text = read_all(path)) == NULL)
		fail_msg("cannot read %s (run the tests from the repository's top folder, as make check does)", path);
	j = json_parse(text, strlen(text));
	free(text);
	if (j == NULL)
		fail_msg("cannot parse %s", path);
	return j;
}
