/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the programs' command-line scaffolding (common/cli.c):
 * the usage error's two lines and exit code, and the key log's warning,
 * including a file others may read, and the error for one that cannot open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "keylog.h"

/* What f received, NUL-terminated, into out. */
static void
contents(FILE *f, char *out, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	rewind(f);
	assert_int_equal(ftruncate(fileno(f), 0), 0);
}

static void
test_bad_usage(void **state)
{
	FILE *f = tmpfile();
	char text[256];

	(void)state;
	assert_non_null(f);
	assert_int_equal(cli_bad_usage(f, "cvpn-x", "invalid port '%s'", "0x"), EX_USAGE);
	contents(f, text, sizeof(text));
	assert_string_equal(text, "cvpn-x: invalid port '0x'\nTry 'cvpn-x --help' for more information.\n");
	cli_print_line(f, "  -h, --help");
	contents(f, text, sizeof(text));
	assert_string_equal(text, "  -h, --help\n");
	fclose(f);
}

static void
test_keylog(void **state)
{
	char dir[] = "/tmp/cvpn-cli-XXXXXX", path[64], text[512];
	struct keylog *kl = NULL;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);
	assert_int_equal(cli_keylog_start(f, "cvpn-x", path, "this session", &kl), 0);
	assert_non_null(kl);
	keylog_free(kl);
	contents(f, text, sizeof(text));
	assert_non_null(strstr(text, "cvpn-x: warning: writing session keys to '"));
	assert_non_null(strstr(text, "captures of this session\n"));
	assert_null(strstr(text, "readable by other users"));
	/* A file others may read is said to be so. */
	assert_int_equal(chmod(path, 0644), 0);
	kl = NULL;
	assert_int_equal(cli_keylog_start(f, "cvpn-x", path, "these sessions", &kl), 0);
	keylog_free(kl);
	contents(f, text, sizeof(text));
	assert_non_null(strstr(text, "(readable by other users!)"));
	assert_non_null(strstr(text, "captures of these sessions\n"));
	/* A directory that does not exist: one error line, *kl untouched. */
	snprintf(path, sizeof(path), "%s/missing/keys", dir);
	kl = NULL;
	assert_int_equal(cli_keylog_start(f, "cvpn-x", path, "this session", &kl), -1);
	assert_null(kl);
	contents(f, text, sizeof(text));
	assert_non_null(strstr(text, "cvpn-x: cannot open the key log '"));
	assert_non_null(strstr(text, "No such file or directory\n"));
	snprintf(path, sizeof(path), "%s/keys", dir);
	unlink(path);
	rmdir(dir);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_usage),
		cmocka_unit_test(test_keylog),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
