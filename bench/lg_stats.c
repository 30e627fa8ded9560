/* SPDX-License-Identifier: MIT */
/* Latency samples and their percentiles, a process's memory, and one-line JSON results. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

/* Enough for minutes of round trips at loopback rates, at 16 MiB. */
#define MAX_SAMPLES (4u << 20)

void
lg_samples_add(struct lg_samples *s, uint64_t us)
{
	uint32_t *v;
	size_t cap;

	if (s->n == s->cap) {
		if (s->cap >= MAX_SAMPLES)
			return;
		cap = s->cap ? 2 * s->cap : 1024;
		if ((v = realloc(s->v, cap * sizeof(*v))) == NULL)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	s->sorted = false;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

double
lg_samples_pct(struct lg_samples *s, double p)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
		s->sorted = true;
	}
	/* Nearest rank: the smallest sample with at least p% of all samples at or below it. */
	rank = (size_t)ceil(p / 100.0 * (double)s->n);
	return s->v[rank ? rank - 1 : 0];
}

void
lg_samples_free(struct lg_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

long
lg_proc_kib(int pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kib = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/* ---- JSON ---- */

static void
put(struct lg_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct lg_json *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->len >= sizeof(j->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->len, sizeof(j->buf) - j->len, fmt, ap);
	va_end(ap);
	j->len = n < 0 ? sizeof(j->buf) : j->len + (size_t)n;
}

void
lg_json_begin(struct lg_json *j, const char *mode)
{
	j->len = 0;
	put(j, "{\"mode\":\"%s\"", mode);
}

/* Strings here are our own (modes, profiles, strerror text): only quotes and backslashes need care. */
void
lg_json_str(struct lg_json *j, const char *key, const char *value)
{
	const char *p;

	put(j, ",\"%s\":\"", key);
	for (p = value ? value : ""; *p; p++) {
		if (*p == '"' || *p == '\\')
			put(j, "\\%c", *p);
		else
			put(j, "%c", (unsigned char)*p < 0x20 ? '?' : *p);
	}
	put(j, "\"");
}

void
lg_json_num(struct lg_json *j, const char *key, double value)
{
	put(j, ",\"%s\":%.3f", key, isfinite(value) ? value : 0.0);
}

void
lg_json_int(struct lg_json *j, const char *key, long long value)
{
	put(j, ",\"%s\":%lld", key, value);
}

void
lg_json_end(struct lg_json *j)
{
	put(j, "}");
	if (j->len >= sizeof(j->buf))
		fprintf(stderr, "loadgen: the JSON result was truncated\n");
	else
		printf("%s\n", j->buf);
	fflush(stdout);
}
