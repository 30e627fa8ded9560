/* SPDX-License-Identifier: MIT */
/*
 * cvpn: command-line options from one table that feeds getopt_long, --help
 * and (for the client) completion. Formats and parses only; prints nothing.
 */
#ifndef CVPN_OPT_H
#define CVPN_OPT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

struct opt {
	const char *name;   /* long name without "--" */
	int key;            /* short letter, or a value >= 256 for long-only options */
	const char *arg;    /* argument name for help, NULL for a flag */
	const char *help;   /* one line */
};

typedef void opt_line_fn(void *arg, const char *line);

/*
 * Fills longopts (n + 1 entries) and shortopts (3 * n + 1 bytes) for
 * getopt_long from a table of n options.
 */
void opt_getopt(const struct opt *table, size_t n, struct option *longopts, char *shortopts);

/* Calls fn with one help line per option: "  -p, --port PORT   help". */
void opt_help(const struct opt *table, size_t n, opt_line_fn *fn, void *arg);

/* Parses a decimal integer in [min, max]. Returns 0 or CVPN_ERR_INVALID_ARG; sets *out only on success. */
int opt_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out);

/* Parses seconds ("30", "0.5") in (0, 86400] into milliseconds. Returns 0 or CVPN_ERR_INVALID_ARG. */
int opt_seconds(const char *text, unsigned *ms);

/* Finds the index of name in a list of choices. Returns 0 or CVPN_ERR_INVALID_ARG. */
int opt_choice(const char *text, const char *const *choices, size_t n, int *out);

#endif
