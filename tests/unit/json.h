/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: a minimal JSON reader (RFC 8259) for the Wycheproof and
 * Noise vector files. It builds a tree of values; strings are decoded to
 * UTF-8 (with \u escapes and surrogate pairs), numbers are kept as integers
 * when they are integers. Tests only: it trusts its input to be of modest size.
 */
#ifndef CVPN_TEST_JSON_H
#define CVPN_TEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	bool boolean;
	bool integral;      /* a number without fraction or exponent that fits long long */
	long long integer;
	double number;
	char *string;       /* JSON_STRING: NUL-terminated; may hold NULs, see string_len */
	size_t string_len;
	char **keys;        /* JSON_OBJECT: n keys, parallel to items */
	struct json **items;
	size_t n;           /* JSON_ARRAY and JSON_OBJECT: member count */
};

/* Parses a whole document of len bytes; NULL on any syntax error or trailing garbage. */
struct json *json_parse(const char *text, size_t len);

/* Frees a tree; accepts NULL. */
void json_free(struct json *j);

/* The member named key of an object, or NULL (also when j is not an object). */
const struct json *json_get(const struct json *j, const char *key);

/* Element i of an array, or NULL. */
const struct json *json_at(const struct json *j, size_t i);

/* The following fail the running cmocka test when the member is missing or of another type. */

/* The string member key of object j. */
const char *json_str(const struct json *j, const char *key);

/* The integer member key of object j. */
long long json_int(const struct json *j, const char *key);

/* The array member key of object j. */
const struct json *json_array(const struct json *j, const char *key);

/* The string member key, hex-decoded into a new buffer (free() it); *len gets its length. */
uint8_t *json_hex(const struct json *j, const char *key, size_t *len);

/* True when the array member "flags" of test case j contains flag. */
bool json_has_flag(const struct json *j, const char *flag);

#endif
