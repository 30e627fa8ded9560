/* SPDX-License-Identifier: MIT */
/* cvpn: --forward and --socks specifications (fwdspec.h). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "err.h"
#include "fwdspec.h"
#include "text.h"

/* At most BIND, LPORT, HOST, PORT. */
#define FIELDS_MAX 4

/* One field of a specification: where its text starts, how long it is, whether it was in brackets. */
struct field {
	const char *p;
	size_t n;
	bool bracketed;
};

/*
 * Splits text at the colons outside brackets into at most FIELDS_MAX fields.
 * Returns how many, or -1 with *why.
 */
static int
split(const char *text, struct field *f, const char **why)
{
	const char *p = text, *end;
	int n = 0;

	for (;;) {
		if (n == FIELDS_MAX) {
			*why = "too many ':' (an IPv6 address goes in brackets, e.g. [::1])";
			return -1;
		}
		f[n].bracketed = *p == '[';
		if (f[n].bracketed) {
			if ((end = strchr(p, ']')) == NULL) {
				*why = "a '[' without its ']'";
				return -1;
			}
			f[n].p = p + 1;
			f[n].n = (size_t)(end - p - 1);
			p = end + 1;
			if (*p != ':' && *p != '\0') {
				*why = "a ']' not followed by ':'";
				return -1;
			}
		} else {
			f[n].p = p;
			f[n].n = strcspn(p, ":");
			p += f[n].n;
		}
		n++;
		if (*p == '\0')
			return n;
		p++; /* the ':' */
	}
}

/* A decimal port in [min, 65535]; false for anything else. */
static bool
port_ok(const struct field *f, unsigned min, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (f->bracketed || f->n == 0 || f->n > 5)
		return false;
	for (i = 0; i < f->n; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(f->p[i] - '0');
	}
	if (v < min || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* A host a channel's OPEN carries: 1-255 bytes of UTF-8 without controls; in brackets, an IPv6 address. */
static bool
host_ok(const struct field *f, char *out, const char **why)
{
	struct in6_addr a;
	size_t i;

	if (f->n == 0 || f->n > FWDSPEC_HOST_MAX) {
		*why = f->n ? "a host longer than 255 bytes" : "an empty host";
		return false;
	}
	for (i = 0; i < f->n; i++) {
		if ((unsigned char)f->p[i] < 0x20 || f->p[i] == 0x7f || f->p[i] == '[' || f->p[i] == ']') {
			*why = "a host with a control character or a stray bracket";
			return false;
		}
	}
	if (!text_utf8_valid((const uint8_t *)f->p, f->n)) {
		*why = "a host that is not UTF-8";
		return false;
	}
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	if (f->bracketed && inet_pton(AF_INET6, out, &a) != 1) {
		*why = "brackets around something other than an IPv6 address";
		return false;
	}
	return true;
}

/* BIND: "" or "*" for every address, else a host. */
static bool
bind_ok(const struct field *f, char *out, const char **why)
{
	if (!f->bracketed && (f->n == 0 || (f->n == 1 && f->p[0] == '*'))) {
		out[0] = '\0';
		return true;
	}
	return host_ok(f, out, why);
}

int
fwdspec_forward(const char *text, struct fwdspec *out, const char **why)
{
	struct fwdspec s = { .bind = FWDSPEC_BIND_DEFAULT };
	struct field f[FIELDS_MAX], *rest = f;
	int n;

	if ((n = split(text, f, why)) < 0)
		return CVPN_ERR_INVALID_ARG;
	if (n < 3) {
		*why = "expected [BIND:]LPORT:HOST:PORT";
		return CVPN_ERR_INVALID_ARG;
	}
	if (n == 4 && !bind_ok(rest++, s.bind, why))
		return CVPN_ERR_INVALID_ARG;
	if (!port_ok(&rest[0], 0, &s.bind_port)) {
		*why = "a local port that is not a number from 0 to 65535";
		return CVPN_ERR_INVALID_ARG;
	}
	if (!host_ok(&rest[1], s.host, why))
		return CVPN_ERR_INVALID_ARG;
	if (!port_ok(&rest[2], 1, &s.port)) {
		*why = "a destination port that is not a number from 1 to 65535";
		return CVPN_ERR_INVALID_ARG;
	}
	*out = s;
	return 0;
}

int
fwdspec_socks(const char *text, struct fwdspec *out, const char **why)
{
	struct fwdspec s = { .bind = FWDSPEC_BIND_DEFAULT };
	struct field f[FIELDS_MAX];
	int n;

	if ((n = split(text, f, why)) < 0)
		return CVPN_ERR_INVALID_ARG;
	if (n > 2) {
		*why = "expected [BIND:]PORT (an IPv6 address goes in brackets, e.g. [::1]:1080)";
		return CVPN_ERR_INVALID_ARG;
	}
	if (n == 2 && !bind_ok(&f[0], s.bind, why))
		return CVPN_ERR_INVALID_ARG;
	if (!port_ok(&f[n - 1], 0, &s.bind_port)) {
		*why = "a port that is not a number from 0 to 65535";
		return CVPN_ERR_INVALID_ARG;
	}
	*out = s;
	return 0;
}
