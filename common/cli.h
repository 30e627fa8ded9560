/* SPDX-License-Identifier: MIT */
/*
 * cvpn: what the three programs' command lines share: the defaults both
 * ends must agree on, --help's line printer, the usage error, and opening
 * the key log with its warning. Each function writes only to the stream
 * main() passes it; exit codes stay main()'s to choose.
 */
#ifndef CVPN_CLI_H
#define CVPN_CLI_H

#include <stdint.h>
#include <stdio.h>

struct keylog;

/* The lab's port, as the course's reference uses it. */
#define CLI_PORT 4600
#define CLI_PORT_TEXT "4600"
/* How long a pause ends a message that may be whole, and one that surely is not (docs/PROTOCOL.md). */
#define CLI_QUIET_MS 150
#define CLI_PARTIAL_TIMEOUT_MS 5000
/* How long a handshake may take. */
#define CLI_HANDSHAKE_TIMEOUT_MS 30000
/* Secure profile: each direction rekeys after this long or this many records. */
#define CLI_REKEY_MS 600000
#define CLI_REKEY_RECORDS ((uint64_t)1 << 20)

/* An opt_help() printer: writes line and a newline to the FILE * in file. */
void cli_print_line(void *file, const char *line);

/*
 * Writes "prog: <message>" and where to find help to f, for a command line
 * that cannot work. Returns EX_USAGE, for main() to return.
 */
int cli_bad_usage(FILE *f, const char *prog, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Opens the key log at path and writes to f that it is on and who could read
 * it (whose: "this session", "these sessions"), or why it cannot be opened.
 * Sets *kl only on success. Returns 0, or -1 after the error line.
 */
int cli_keylog_start(FILE *f, const char *prog, const char *path, const char *whose, struct keylog **kl);

#endif
