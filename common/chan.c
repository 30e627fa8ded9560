/* SPDX-License-Identifier: MIT */
/* cvpn: channel records and windows (chan.h). */
#include <string.h>

#include "chan.h"
#include "err.h"
#include "text.h"

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool
chan_is_type(int type)
{
	return type >= CHAN_TYPE_FIRST && type <= CHAN_TYPE_LAST;
}

const char *
chan_type_name(int type)
{
	static const char *const names[] = { "OPEN", "ACCEPT", "REFUSE", "DATA", "EOF", "CLOSE", "WINDOW" };

	return chan_is_type(type) ? names[type - CHAN_TYPE_FIRST] : "?";
}

const char *
chan_reason_text(int reason)
{
	switch (reason) {
	case CHAN_NOT_ALLOWED:
		return "not allowed by the server";
	case CHAN_CONN_REFUSED:
		return "connection refused";
	case CHAN_UNREACHABLE:
		return "unreachable";
	case CHAN_TIMEOUT:
		return "timed out";
	case CHAN_TOO_MANY:
		return "too many channels";
	default:
		return "unknown reason";
	}
}

/* A host as the format takes it: 1-255 bytes of UTF-8 without NUL. */
static bool
host_ok(const uint8_t *p, size_t n)
{
	return n > 0 && n <= CHAN_HOST_MAX && memchr(p, '\0', n) == NULL && text_utf8_valid(p, n);
}

/* Bytes after the id that each fixed-size type carries; -1 for the variable ones. */
static int
fixed_len(int type)
{
	switch (type) {
	case CHAN_ACCEPT:
	case CHAN_WINDOW:
		return 4;
	case CHAN_EOF:
	case CHAN_CLOSE:
		return 0;
	default:
		return -1;
	}
}

int
chan_encode_head(const struct chan_msg *m, uint8_t *out, size_t outlen, size_t *tail)
{
	size_t hn = m->type == CHAN_OPEN ? strlen(m->host) : 0, n, t = 0;

	switch (m->type) {
	case CHAN_OPEN:
		if (!host_ok((const uint8_t *)m->host, hn) || m->port == 0 || m->window == 0 || m->window > CHAN_WINDOW_MAX)
			return CVPN_ERR_INVALID_ARG;
		n = 4 + 4 + 2 + 1 + hn;
		break;
	case CHAN_REFUSE:
		if (m->len > CHAN_DETAIL_MAX || !text_utf8_valid(m->data, m->len))
			return CVPN_ERR_INVALID_ARG;
		n = 4 + 1;
		t = m->len;
		break;
	case CHAN_DATA:
		if (m->len == 0 || m->len > CHAN_DATA_MAX)
			return CVPN_ERR_INVALID_ARG;
		n = 4;
		t = m->len;
		break;
	case CHAN_ACCEPT:
	case CHAN_WINDOW:
		if (m->window == 0 || m->window > CHAN_WINDOW_MAX)
			return CVPN_ERR_INVALID_ARG;
		/* fall through */
	case CHAN_EOF:
	case CHAN_CLOSE:
		n = 4 + (size_t)fixed_len(m->type);
		break;
	default:
		return CVPN_ERR_INVALID_ARG;
	}
	if (n > outlen)
		return CVPN_ERR_TOO_LONG;
	put32(out, m->id);
	if (m->type == CHAN_OPEN) {
		put32(out + 4, m->window);
		out[8] = (uint8_t)(m->port >> 8);
		out[9] = (uint8_t)m->port;
		out[10] = (uint8_t)hn;
		memcpy(out + 11, m->host, hn);
	} else if (m->type == CHAN_REFUSE) {
		out[4] = m->reason;
	} else if (m->type == CHAN_ACCEPT || m->type == CHAN_WINDOW) {
		put32(out + 4, m->window);
	}
	*tail = t;
	return (int)n;
}

int
chan_encode(const struct chan_msg *m, uint8_t *out, size_t outlen)
{
	size_t tail;
	int n;

	if ((n = chan_encode_head(m, out, outlen, &tail)) < 0)
		return n;
	if ((size_t)n + tail > outlen)
		return CVPN_ERR_TOO_LONG;
	if (tail)
		memcpy(out + n, m->data, tail);
	return n + (int)tail;
}

/* The parts after the id of an OPEN: window, port, host. */
static int
decode_open(const uint8_t *p, size_t n, struct chan_msg *m)
{
	if (n < 7 || n != 7 + (size_t)p[6] || !host_ok(p + 7, p[6]))
		return CVPN_ERR_MALFORMED;
	m->window = get32(p);
	m->port = (uint16_t)(p[4] << 8 | p[5]);
	memcpy(m->host, p + 7, p[6]);
	m->host[p[6]] = '\0';
	return m->window == 0 || m->window > CHAN_WINDOW_MAX || m->port == 0 ? CVPN_ERR_MALFORMED : 0;
}

int
chan_decode(int type, const uint8_t *p, size_t n, struct chan_msg *out)
{
	struct chan_msg m = { .type = (enum chan_type)type };
	int r = 0;

	if (!chan_is_type(type) || n < 4)
		return CVPN_ERR_MALFORMED;
	m.id = get32(p);
	p += 4;
	n -= 4;
	if (fixed_len(type) >= 0 && n != (size_t)fixed_len(type))
		return CVPN_ERR_MALFORMED;
	switch (type) {
	case CHAN_OPEN:
		r = decode_open(p, n, &m);
		break;
	case CHAN_REFUSE:
		if (n < 1 || n - 1 > CHAN_DETAIL_MAX || p[0] < CHAN_NOT_ALLOWED || p[0] > CHAN_TOO_MANY ||
		    !text_utf8_valid(p + 1, n - 1))
			return CVPN_ERR_MALFORMED;
		m.reason = p[0];
		m.data = p + 1;
		m.len = n - 1;
		break;
	case CHAN_DATA:
		if (n == 0 || n > CHAN_DATA_MAX)
			return CVPN_ERR_MALFORMED;
		m.data = p;
		m.len = n;
		break;
	case CHAN_ACCEPT:
	case CHAN_WINDOW:
		m.window = get32(p);
		if (m.window == 0 || m.window > CHAN_WINDOW_MAX)
			return CVPN_ERR_MALFORMED;
		break;
	default:
		break;
	}
	if (r != 0)
		return r;
	*out = m;
	return 0;
}

bool
chan_window_accept(struct chan_window *w, size_t n)
{
	if (n > w->granted)
		return false;
	w->granted -= n;
	return true;
}

uint32_t
chan_window_delivered(struct chan_window *w, size_t n)
{
	uint64_t grant;

	w->pending += n;
	if (w->pending < w->size / 2)
		return 0;
	grant = w->pending;
	w->pending = 0;
	w->granted += grant;
	return (uint32_t)grant;
}
