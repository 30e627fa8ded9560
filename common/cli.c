/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the programs' shared command-line scaffolding (cli.h). It writes
 * only to the stream it is given, so it stays a library: main() decides
 * where messages go and which exit code follows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "err.h"
#include "keylog.h"

void
cli_print_line(void *file, const char *line)
{
	fprintf(file, "%s\n", line);
}

int
cli_bad_usage(FILE *f, const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(f, "%s: ", prog);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, "\nTry '%s --help' for more information.\n", prog);
	return EX_USAGE;
}

int
cli_keylog_start(FILE *f, const char *prog, const char *path, const char *whose, struct keylog **kl)
{
	bool shared;
	int r;

	if ((r = keylog_open(path, kl, &shared)) != 0) {
		fprintf(f, "%s: cannot open the key log '%s': %s\n", prog, path,
		    r == CVPN_ERR_IO ? strerror(errno) : cvpn_strerror(r));
		return -1;
	}
	fprintf(f, "%s: warning: writing session keys to '%s'%s: anyone who reads it can decrypt captures of %s\n",
	    prog, path, shared ? " (readable by other users!)" : "", whose);
	return 0;
}
