/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: everything it shows. One line per event on stdout, or with
 * --json one JSON object per line; an event's fields go to JSON only, its
 * line to the human view only. Errors of the proxy itself go to stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mitm.h"
#include "text.h"

static const struct mitm_config *config;
static bool shown;      /* the event being built is shown */

void
report_init(const struct mitm_config *cfg)
{
	config = cfg;
}

void
report_begin(int level, const char *event)
{
	shown = config->verbosity >= level;
	if (shown && config->json)
		printf("{\"event\":\"%s\"", event);
}

void
report_str(const char *name, const char *value)
{
	report_text(name, value, strlen(value));
}

void
report_text(const char *name, const void *p, size_t n)
{
	if (!shown || !config->json)
		return;
	printf(",\"%s\":", name);
	text_json_string(stdout, p, n);
}

void
report_hex(const char *name, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	if (!shown || !config->json)
		return;
	printf(",\"%s\":\"", name);
	for (i = 0; i < n; i++)
		printf("%02x", s[i]);
	putchar('"');
}

void
report_num(const char *name, unsigned long long v)
{
	if (shown && config->json)
		printf(",\"%s\":%llu", name, v);
}

void
report_bool(const char *name, bool v)
{
	if (shown && config->json)
		printf(",\"%s\":%s", name, v ? "true" : "false");
}

void
report_end(const char *fmt, ...)
{
	va_list ap;

	if (!shown)
		return;
	if (config->json) {
		printf("}\n");
	} else if (fmt) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	fflush(stdout);
	shown = false;
}

void
report_detail(const char *prefix, const char *line)
{
	if (config->json)
		return;
	printf("  %s:%s\n", prefix, line);
	fflush(stdout);
}

void
report_error(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cvpn-mitm: %s\n", msg);
	if (config && config->json) {
		printf("{\"event\":\"error\",\"code\":\"%s\",\"message\":", code);
		text_json_string(stdout, msg, strlen(msg));
		printf("}\n");
		fflush(stdout);
	}
}

static char oom[] = "(out of memory)";

char *
report_escape(const void *p, size_t n)
{
	char *s = text_escape_dup(p, n);

	return s ? s : oom;
}

void
report_free(char *s)
{
	if (s != oom)
		free(s);
}
