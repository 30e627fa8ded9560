/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: key files as people edit them: a secret key or PSK file
 * (keys_load_secret), an --authorized-clients list (keys_list_load) and a
 * known-servers file (keys_known_server). The first input byte's low bit
 * makes the file group-readable; the rest is the file's content.
 * Oracles: only the documented errors; a group-readable secret is refused;
 * a list never holds more keys than the file has lines, and names the line
 * of its first bad key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "harness.h"
#include "keys.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmp[] = "/tmp/cvpn-fuzz-keyfile.XXXXXX";

	(void)argc;
	(void)argv;
	fz_init();
	/* One unlinked file per process, reached through /proc: nothing is left behind. */
	FZ_ASSERT((fd = mkstemp(tmp)) >= 0);
	unlink(tmp);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

/* The entries of 127.0.0.1, port 4600 or any. */
static bool
local_4600(void *arg, const char *host, const char *port)
{
	(void)arg;
	return strcmp(host, "127.0.0.1") == 0 && (port == NULL || strcmp(port, "4600") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keys_list *l = NULL;
	uint8_t key[KEYS_LEN];
	unsigned bad = 0, line = 0;
	size_t lines = 1, i;
	int r;

	if (size < 1)
		return 0;
	FZ_ASSERT(ftruncate(fd, 0) == 0);
	FZ_ASSERT(pwrite(fd, data + 1, size - 1, 0) == (ssize_t)(size - 1));
	FZ_ASSERT(fchmod(fd, data[0] & 1 ? 0640 : 0600) == 0);
	for (i = 1; i < size; i++)
		lines += data[i] == '\n';

	r = keys_load_secret(path, key);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_KEY_FORMAT || r == CVPN_ERR_KEY_PERMS);
	FZ_ASSERT((r == CVPN_ERR_KEY_PERMS) == (data[0] & 1));

	/* A bad key, a bad permit= or address= option, a line over the limit. */
	r = keys_list_load(path, &l, &bad);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_KEY_FORMAT || r == CVPN_ERR_INVALID_ARG || r == CVPN_ERR_TOO_LONG);
	if (r == 0) {
		FZ_ASSERT(keys_list_count(l) <= lines);
		keys_list_free(l);
	} else {
		FZ_ASSERT(bad >= 1);
	}

	r = keys_known_server(path, local_4600, NULL, key, &line);
	FZ_ASSERT(r == 0 || r == CVPN_ERR_KEY_FORMAT || r == CVPN_ERR_UNKNOWN_SERVER);
	return 0;
}
