/* SPDX-License-Identifier: MIT */
/* Keys as people handle them: base64 with one spelling per key, secret files, key lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "keys.h"

/* The base64 of bytes 0, 1, ..., 31, as `base64` prints it. */
static const char COUNT_B64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
#define PADDED " \t" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" "\r\n"

static void
count_key(uint8_t key[KEYS_LEN])
{
	for (int i = 0; i < KEYS_LEN; i++)
		key[i] = (uint8_t)i;
}

static void
test_roundtrip(void **state)
{
	uint8_t key[KEYS_LEN], got[KEYS_LEN];
	char b64[KEYS_B64_LEN + 1];

	(void)state;
	count_key(key);
	keys_to_base64(key, b64);
	assert_string_equal(b64, COUNT_B64);
	assert_int_equal(keys_from_base64(b64, strlen(b64), got), 0);
	assert_memory_equal(got, key, KEYS_LEN);
	/* Whitespace around the key, as a pasted line has, is allowed. */
	memset(got, 0, sizeof(got));
	assert_int_equal(keys_from_base64(PADDED, strlen(PADDED), got), 0);
	assert_memory_equal(got, key, KEYS_LEN);
}

/* Each spelling must be refused and must leave the output untouched. */
static void
refused(const char *text)
{
	uint8_t key[KEYS_LEN];

	memset(key, 0xa5, sizeof(key));
	assert_int_equal(keys_from_base64(text, strlen(text), key), CVPN_ERR_KEY_FORMAT);
	for (int i = 0; i < KEYS_LEN; i++)
		assert_int_equal(key[i], 0xa5);
}

static void
test_refuses_malformed(void **state)
{
	(void)state;
	refused("");
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");        /* no '=' */
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==");      /* too long */
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==");       /* 31 bytes */
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd!h8=");       /* not base64 */
	refused("AAECAwQFBgcICQoL DA0ODxAREhMUFRYXGBkaGxwdHh8=");      /* space inside */
}

/* One key, one spelling: what EVP_DecodeBlock alone would also accept. */
static void
test_refuses_noncanonical(void **state)
{
	(void)state;
	/* An '=' inside decodes as 'A' in OpenSSL. */
	refused("=AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUF=YXGBkaGxwdHh8=");
	/* The last data character carries 4 bits of the key and 2 unused bits, which must be zero. */
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=");
	refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh/=");
}

static char *
write_file(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/cvpn-test-keys.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void
test_secret_file(void **state)
{
	uint8_t key[KEYS_LEN], want[KEYS_LEN];
	char text[128], *path;

	(void)state;
	count_key(want);
	snprintf(text, sizeof(text), "# server key\n\n%s\n", COUNT_B64);
	path = write_file(text, 0600);
	assert_int_equal(keys_load_secret(path, key), 0);
	assert_memory_equal(key, want, KEYS_LEN);
	/* Readable by its group: refused, whatever it holds. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keys_load_secret(path, key), CVPN_ERR_KEY_PERMS);
	unlink(path);
	free(path);
	path = write_file("# nothing here\n", 0600);
	assert_int_equal(keys_load_secret(path, key), CVPN_ERR_KEY_FORMAT);
	unlink(path);
	free(path);
}

/* A list with a bad line: refused with err, the line's number in bad, *out untouched. */
static void
bad_list(const char *text, int err, unsigned line)
{
	struct keys_list *l = NULL;
	unsigned bad = 0;
	char *path = write_file(text, 0644);

	assert_int_equal(keys_list_load(path, &l, &bad), err);
	assert_int_equal(bad, line);
	assert_null(l);
	unlink(path);
	free(path);
}

static void
test_list(void **state)
{
	struct keys_list *l = NULL;
	uint8_t key[KEYS_LEN];
	unsigned bad = 0;
	char text[256], *path;

	(void)state;
	count_key(key);
	snprintf(text, sizeof(text), "# clients\n%s alice\n\n%s\n", COUNT_B64,
	    "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	path = write_file(text, 0644);
	assert_int_equal(keys_list_load(path, &l, &bad), 0);
	assert_int_equal(keys_list_count(l), 2);
	assert_true(keys_list_contains(l, key));
	key[5] ^= 1;
	assert_false(keys_list_contains(l, key));
	keys_list_free(l);
	unlink(path);
	free(path);

	/* A non-canonical key is a bad line, reported by its number. */
	snprintf(text, sizeof(text), "%s\n%s\n", COUNT_B64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=");
	bad_list(text, CVPN_ERR_KEY_FORMAT, 2);
	keys_list_free(NULL);
}

/* permit= options after the key, among the words of a name; a key without any permits nothing. */
static void
test_list_permits(void **state)
{
	static const char other[] = "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	struct keys_list *l = NULL;
	uint8_t key[KEYS_LEN], key2[KEYS_LEN];
	unsigned bad = 0;
	char text[512], *path;

	(void)state;
	count_key(key);
	assert_int_equal(keys_from_base64(other, strlen(other), key2), 0);
	snprintf(text, sizeof(text), "%s alice permit=127.0.0.1:80 laptop\tpermit=DB:5432\n%s bob\n"
	    "%s permit=[::1]:*\n", COUNT_B64, other, COUNT_B64);
	path = write_file(text, 0644);
	assert_int_equal(keys_list_load(path, &l, &bad), 0);
	assert_int_equal(keys_list_count(l), 3);
	assert_true(keys_list_permits(l, key, "127.0.0.1", 80));
	assert_true(keys_list_permits(l, key, "db", 5432));
	assert_false(keys_list_permits(l, key, "db", 80));
	/* Both lines of a key listed twice count. */
	assert_true(keys_list_permits(l, key, "::1", 22));
	assert_false(keys_list_permits(l, key2, "127.0.0.1", 80));
	assert_true(keys_list_contains(l, key2));
	keys_list_free(l);
	unlink(path);
	free(path);

	/* A permit= that is not HOST:PORT is a bad line, never a wider permit. */
	snprintf(text, sizeof(text), "%s\n%s permit=db\n", COUNT_B64, other);
	bad_list(text, CVPN_ERR_INVALID_ARG, 2);
}

/* address= gives a key its tunnel address, line by line; a bad one, or two that differ, is a bad line. */
static void
test_list_address(void **state)
{
	static const char other[] = "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	struct keys_list *l = NULL;
	const uint8_t *k;
	uint8_t key[KEYS_LEN];
	uint32_t address = 1;
	unsigned bad = 0, line = 0;
	char text[512], *path;

	(void)state;
	count_key(key);
	snprintf(text, sizeof(text), "# clients\n%s alice address=10.77.0.5 permit=db:5432\n\n%s bob\n", COUNT_B64, other);
	path = write_file(text, 0644);
	assert_int_equal(keys_list_load(path, &l, &bad), 0);
	assert_int_equal(keys_list_count(l), 2);
	k = keys_list_entry(l, 0, &address, &line);
	assert_memory_equal(k, key, KEYS_LEN);
	assert_int_equal(address, 0x0a4d0005);
	assert_int_equal(line, 2);
	assert_true(keys_list_permits(l, key, "db", 5432));
	keys_list_entry(l, 1, &address, &line);
	assert_int_equal(address, 0);
	assert_int_equal(line, 4);
	keys_list_free(l);
	unlink(path);
	free(path);

	snprintf(text, sizeof(text), "%s address=10.77.0\n", COUNT_B64);
	bad_list(text, CVPN_ERR_INVALID_ARG, 1);
	snprintf(text, sizeof(text), "%s\n%s address=fd00::5\n", COUNT_B64, other);
	bad_list(text, CVPN_ERR_INVALID_ARG, 2);
	snprintf(text, sizeof(text), "%s address=10.77.0.5 address=10.77.0.6\n", COUNT_B64);
	bad_list(text, CVPN_ERR_INVALID_ARG, 1);
	snprintf(text, sizeof(text), "%s address=0.0.0.0\n", COUNT_B64);
	bad_list(text, CVPN_ERR_INVALID_ARG, 1);
	/* The same address twice on one line says nothing new, and is fine. */
	snprintf(text, sizeof(text), "%s address=10.77.0.5 address=10.77.0.5\n", COUNT_B64);
	path = write_file(text, 0644);
	assert_int_equal(keys_list_load(path, &l, &bad), 0);
	keys_list_free(l);
	unlink(path);
	free(path);
}

/* A line longer than the reader takes is refused whole, not read as two lines. */
static void
test_list_long_line(void **state)
{
	char *text;
	size_t n = 6000, at;

	(void)state;
	assert_non_null(text = malloc(n + 64));
	at = (size_t)snprintf(text, n + 64, "%s ", COUNT_B64);
	memset(text + at, 'x', n - at);
	strcpy(text + n, "\n");
	bad_list(text, CVPN_ERR_TOO_LONG, 1);
	free(text);
}

/* A NUL inside a line would hide what follows it: the line is refused, not read as shorter. */
static void
test_list_nul(void **state)
{
	char path[] = "/tmp/cvpn-keys-XXXXXX", text[128];
	struct keys_list *l = NULL;
	unsigned bad = 0;
	size_t n;
	int fd;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%s alice permit=a:1\n%s bob", COUNT_B64, COUNT_B64);
	text[n - 4] = '\0'; /* bob's line: the key, then a NUL where the space was */
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	assert_int_equal(keys_list_load(path, &l, &bad), CVPN_ERR_KEY_FORMAT);
	assert_int_equal(bad, 2);
	assert_null(l);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refuses_malformed),
		cmocka_unit_test(test_refuses_noncanonical),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_permits),
		cmocka_unit_test(test_list_address),
		cmocka_unit_test(test_list_long_line),
		cmocka_unit_test(test_list_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
