/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: a tiny reader for the lab's known-answer vectors in
 * tests/vectors/lab-vectors.json (relative to the repository's top folder,
 * where the tests run), and small helpers the tests share.
 */
#ifndef CVPN_TEST_VECTORS_H
#define CVPN_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* Where the vector files are, from the repository's top folder (tests/vectors/README.md). */
#define VECTORS_DIR "tests/vectors"

struct json;
struct suite;

/*
 * The string value of key in the object named section (NULL: the top level).
 * Fails the running test when the file or the value is missing. The string
 * lives until the process exits.
 */
const char *vec_str(const char *section, const char *key);

/* The same value hex-decoded; *len gets its length. Fails the test on bad hex. */
const uint8_t *vec_hex(const char *section, const char *key, size_t *len);

/* Decodes hex (either case) into out. Returns the byte count, or -1 on bad hex or no room. */
int unhex(const char *hex, uint8_t *out, size_t outlen);

/* Asserts that p[0..n) is exactly the bytes spelled by hex. */
void assert_bytes_hex(const uint8_t *p, size_t n, const char *hex);

/* Asserts that p[0..n) is exactly the NUL-terminated string s. */
void assert_bytes_str(const uint8_t *p, size_t n, const char *s);

/* The group setup of every test binary: suite_init(). */
int unit_setup(void **state);

/* The suite with this exact wire name; fails the test when there is none. */
const struct suite *suite_named(const char *name);

/* The decimal text of p + delta for the group 18 prime p; the caller frees it with OPENSSL_free(). */
char *prime_plus(long delta);

/*
 * Reads and parses VECTORS_DIR/relpath (JSON); fails the running test
 * loudly when the file is missing or malformed. Free it with json_free().
 */
struct json *vec_json(const char *relpath);

#endif
