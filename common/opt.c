/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "opt.h"

void
opt_getopt(const struct opt *table, size_t n, struct option *longopts, char *shortopts)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		longopts[i].name = table[i].name;
		longopts[i].has_arg = table[i].arg ? required_argument : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = table[i].key;
		if (table[i].key < 256) {
			shortopts[k++] = (char)table[i].key;
			if (table[i].arg)
				shortopts[k++] = ':';
		}
	}
	memset(&longopts[n], 0, sizeof(longopts[n]));
	shortopts[k] = '\0';
}

void
opt_help(const struct opt *table, size_t n, opt_line_fn *fn, void *arg)
{
	char left[64], text[256];
	size_t i;

	for (i = 0; i < n; i++) {
		if (table[i].key < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", table[i].key, table[i].name,
			    table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", table[i].name,
			    table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
		snprintf(text, sizeof(text), "  %-30s %s", left, table[i].help);
		fn(arg, text);
	}
}

int
opt_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return CVPN_ERR_INVALID_ARG;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return CVPN_ERR_INVALID_ARG;
	*out = v;
	return 0;
}

int
opt_seconds(const char *text, unsigned *ms)
{
	double v;
	char *end;

	if (!isdigit((unsigned char)text[0]) && text[0] != '.')
		return CVPN_ERR_INVALID_ARG;
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !(v > 0) || v > 86400)
		return CVPN_ERR_INVALID_ARG;
	*ms = (unsigned)(v * 1000 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

int
opt_choice(const char *text, const char *const *choices, size_t n, int *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(text, choices[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return CVPN_ERR_INVALID_ARG;
}
