/* SPDX-License-Identifier: MIT */
/* The key log: the line format the dissector reads, file mode 0600, appending. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "err.h"
#include "dgram.h"
#include "keylog.h"
#include "suite.h"
#include "vectors.h"

/* A key event as the engine reports it (key_len counts DES's trailing NUL). */
static struct engine_event
key_event(const char *cipher, unsigned bits, const char *key, size_t key_len, const char *iv, enum record_hmac hmac)
{
	struct engine_event ev = { .type = ENGINE_EV_KEY, .suite = suite_named(cipher), .bits = bits, .hmac = hmac };

	ev.key = (const uint8_t *)key;
	ev.key_len = key_len;
	ev.iv = (const uint8_t *)iv;
	ev.iv_len = strlen(iv);
	return ev;
}

static void
test_format(void **state)
{
	struct engine_event ev = key_event("AES", 256, vec_str("aes256", "key"), 32, vec_str("aes256", "iv"),
	    RECORD_HMAC_CUMULATIVE);
	char line[512];
	int n;

	(void)state;
	n = keylog_format(line, sizeof(line), "127.0.0.1:46596", "127.0.1.1:4600", &ev);
	assert_int_equal(n, (int)strlen(line));
	assert_string_equal(line, "CVPN_LAB 127.0.0.1:46596 127.0.1.1:4600 AES 256 "
	    "3862643534306464623633336165346366363436346431666664643632323433 "
	    "62613033653633363934663865356634 cumulative\n");
	assert_int_equal(keylog_format(line, 40, "a", "b", &ev), CVPN_ERR_TOO_LONG);
}

static void
test_format_no_iv(void **state)
{
	struct engine_event ev = key_event("XOR", 128, "0123456789abcdef", 16, "", RECORD_HMAC_AUTO);
	char line[512];

	(void)state;
	assert_true(keylog_format(line, sizeof(line), "[::1]:5", "[::1]:4600", &ev) > 0);
	assert_string_equal(line, "CVPN_LAB [::1]:5 [::1]:4600 XOR 128 30313233343536373839616263646566 - auto\n");
}

static void
test_format_secure(void **state)
{
	uint8_t keys[64];
	struct engine_event ev = { .type = ENGINE_EV_KEY, .protocol = "Noise_IKpsk2_25519_ChaChaPoly_SHA256" };
	char line[512];

	(void)state;
	memset(keys, 0xab, 32);
	memset(keys + 32, 0xcd, 32);
	ev.c2s_key = keys;
	ev.s2c_key = keys + 32;
	ev.transport_key_len = 32;
	assert_true(keylog_format(line, sizeof(line), "127.0.0.1:5", "127.0.0.1:4600", &ev) > 0);
	assert_string_equal(line, "CVPN_SECURE 127.0.0.1:5 127.0.0.1:4600 Noise_IKpsk2_25519_ChaChaPoly_SHA256 "
	    "abababababababababababababababababababababababababababababababab "
	    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\n");
}

static void
test_format_udp(void **state)
{
	uint8_t keys[64];
	struct dgram_keylog k = { "Noise_IKpsk2_25519_AESGCM_SHA256", 0x0102abcd, 7, keys, keys + 32 };
	char line[512];

	(void)state;
	memset(keys, 0x11, 32);
	memset(keys + 32, 0xfe, 32);
	assert_true(keylog_format_udp(line, sizeof(line), "192.0.2.7:40000", "192.0.2.1:4600", &k) > 0);
	assert_string_equal(line, "CVPN_UDP 192.0.2.7:40000 192.0.2.1:4600 Noise_IKpsk2_25519_AESGCM_SHA256 0102abcd 00000007 "
	    "1111111111111111111111111111111111111111111111111111111111111111 "
	    "fefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefe\n");
	assert_int_equal(keylog_format_udp(line, 100, "192.0.2.7:40000", "192.0.2.1:4600", &k), CVPN_ERR_TOO_LONG);
}

static void
test_file(void **state)
{
	char path[] = "/tmp/cvpn-keylog-XXXXXX", text[1024];
	struct engine_event ev = key_event("DES", 56, "8bd540d", 8, "94f8e5f4", RECORD_HMAC_PER_MESSAGE);
	struct keylog *kl = NULL;
	struct stat st;
	bool shared = true;
	FILE *f;
	size_t n;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(keylog_open(path, &kl, &shared), 0);
	assert_false(shared);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keylog_write(kl, "127.0.0.1:1", "127.0.0.1:2", &ev), 0);
	keylog_free(kl);
	/* Reopening appends, with no second header. */
	assert_int_equal(keylog_open(path, &kl, &shared), 0);
	assert_int_equal(keylog_write(kl, "127.0.0.1:3", "127.0.0.1:2", &ev), 0);
	keylog_free(kl);
	keylog_free(NULL);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	assert_non_null(strstr(text, "# cvpn key log"));
	assert_null(strstr(strstr(text, "# cvpn key log") + 1, "# cvpn key log"));
	assert_non_null(strstr(text, "\nCVPN_LAB 127.0.0.1:1 127.0.0.1:2 DES 56 3862643534306400 3934663865356634 per-message\n"));
	assert_non_null(strstr(text, "\nCVPN_LAB 127.0.0.1:3 "));
}

static void
test_open_failure(void **state)
{
	struct keylog *kl = NULL;
	bool shared;

	(void)state;
	assert_int_equal(keylog_open("/nonexistent-dir/keys.log", &kl, &shared), CVPN_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_null(kl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_no_iv),
		cmocka_unit_test(test_format_secure),
		cmocka_unit_test(test_format_udp),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_open_failure),
	};

	return cmocka_run_group_tests_name("keylog", tests, unit_setup, NULL);
}
