/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "describe.h"
#include "engine.h"
#include "suite.h"
#include "text.h"

/* Shown digits at each end of a shortened DH value, and bytes of a shortened ciphertext. */
#define SHORT_DIGITS 20
#define SHORT_BYTES 48

struct out {
	describe_line_fn *fn;
	void *arg;
};

static void
line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
line(struct out *o, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	o->fn(o->arg, text);
}

/* Emits "name = <hex>" on one line, whatever its length. */
static void
hex_line(struct out *o, const char *name, const unsigned char *p, size_t n, size_t limit)
{
	size_t shown = n > limit ? limit : n, len = strlen(name) + 2 * shown + 64;
	char *text = malloc(len);
	size_t off;

	if (text == NULL)
		return;
	off = (size_t)snprintf(text, len, "  %s = ", name);
	text_hex(text + off, p, shown);
	off += 2 * shown;
	snprintf(text + off, len - off, "%s (%zu bytes)", shown < n ? "..." : "", n);
	o->fn(o->arg, text);
	free(text);
}

static void
dh_line(struct out *o, const char *name, const struct engine_event *ev, int level)
{
	const char *d = (const char *)ev->text;
	size_t n = ev->text_len;
	char *text;

	if (level >= 2 || n <= 2 * SHORT_DIGITS) {
		if ((text = malloc(n + 64)) == NULL)
			return;
		snprintf(text, n + 64, "  %s = %.*s (%zu digits)", name, (int)n, d, n);
		o->fn(o->arg, text);
		free(text);
		return;
	}
	line(o, "  %s = %.*s...%.*s (%zu digits)", name, SHORT_DIGITS, d, SHORT_DIGITS, d + n - SHORT_DIGITS, n);
}

/* Keys and IVs are ASCII slices of shared_key; show the text and the bytes (DES ends in a NUL). */
static void
secret_line(struct out *o, const char *name, const unsigned char *p, size_t n)
{
	char hex[2 * 64 + 1], ascii[64 + 1];
	size_t i;

	for (i = 0; i < n && i < 64; i++)
		ascii[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
	ascii[i] = '\0';
	text_hex(hex, p, i);
	line(o, "  %s = \"%s\" hex %s (%zu bytes)", name, ascii, hex, n);
}

void
describe_choice(const struct engine_event *ev, char *out, size_t outlen)
{
	if (ev->suite == NULL)
		snprintf(out, outlen, "%.*s", (int)ev->text_len, (const char *)ev->text);
	else
		snprintf(out, outlen, "%s%u", suite_name(ev->suite), ev->bits);
}

/* A channel record received: its opening and end at -v, every DATA and WINDOW at -vv. Peer text is escaped. */
static void
channel_line(struct out *o, const struct chan_msg *m, int level)
{
	char *text = NULL;

	switch (m->type) {
	case CHAN_OPEN:
		text = text_escape_dup((const uint8_t *)m->host, strlen(m->host));
		line(o, "  channel %" PRIu32 " <- OPEN %s port %u (window %" PRIu32 ")", m->id, text ? text : "?",
		    m->port, m->window);
		break;
	case CHAN_REFUSE:
		text = text_escape_dup(m->data, m->len);
		line(o, "  channel %" PRIu32 " <- REFUSE: %s%s%s", m->id, chan_reason_text(m->reason), m->len ? ": " : "",
		    text ? text : "");
		break;
	case CHAN_DATA:
		if (level >= 2)
			line(o, "  channel %" PRIu32 " <- DATA %zu bytes", m->id, m->len);
		break;
	case CHAN_WINDOW:
		if (level >= 2)
			line(o, "  channel %" PRIu32 " <- WINDOW +%" PRIu32, m->id, m->window);
		break;
	default:
		line(o, "  channel %" PRIu32 " <- %s", m->id, chan_type_name(m->type));
		break;
	}
	free(text);
}

void
describe_event(const struct engine_event *ev, bool server, int level, describe_line_fn *fn, void *arg)
{
	struct out o = { fn, arg };
	size_t limit = level >= 2 ? (size_t)-1 / 4 : SHORT_BYTES;
	char *text;
	if (level <= 0)
		return;
	switch (ev->type) {
	case ENGINE_EV_PROPOSAL:
	case ENGINE_EV_NEGOTIATED:
		/* Handshake text from the network: escaped, so it cannot forge lines. */
		text = text_escape_dup(ev->text, ev->text_len);
		line(&o, "  %s %s %s", ev->type == ENGINE_EV_PROPOSAL ? "proposal" : "choice",
		    (ev->type == ENGINE_EV_PROPOSAL) == server ? "<-" : "->", text ? text : "?");
		free(text);
		break;
	case ENGINE_EV_DH_LOCAL:
		dh_line(&o, server ? "dh.server_public" : "dh.client_public", ev, level);
		break;
	case ENGINE_EV_DH_PEER:
		dh_line(&o, server ? "dh.client_public" : "dh.server_public", ev, level);
		break;
	case ENGINE_EV_KEY:
		if (ev->protocol) {
			/* Secure profile: the handshake hash binds everything both sides saw. */
			line(&o, "  handshake_hash = %.*s", (int)ev->text_len, (const char *)ev->text);
			break;
		}
		line(&o, "  shared_key = %.*s", (int)ev->text_len, (const char *)ev->text);
		secret_line(&o, "key", ev->key, ev->key_len);
		if (ev->iv_len)
			secret_line(&o, "iv", ev->iv, ev->iv_len);
		line(&o, "  hmac = %s", record_hmac_name(ev->hmac));
		break;
	case ENGINE_EV_SENT:
	case ENGINE_EV_MESSAGE:
		if (ev->protocol || ev->ct == NULL)
			break; /* secure records are opaque: nothing but the text to show */
		hex_line(&o, "ciphertext", ev->ct, ev->ct_len, limit);
		line(&o, "  tag = %.*s (%s)", (int)ev->tag_len, (const char *)ev->tag, record_hmac_name(ev->hmac));
		break;
	case ENGINE_EV_REPLY:
		line(&o, "  reply %s %zu bytes", server ? "->" : "<-", ev->text_len);
		break;
	case ENGINE_EV_PEER:
		line(&o, "  client_key = %.*s", (int)ev->text_len, (const char *)ev->text);
		break;
	case ENGINE_EV_CONFIRMED:
		break; /* the transcript says it where it matters (the secure server) */
	case ENGINE_EV_CHANNEL:
		channel_line(&o, ev->chan, level);
		break;
	case ENGINE_EV_TUNNEL:
		if (ev->status == ENGINE_TUNNEL_CONFIG || level >= 2)
			line(&o, "  tunnel <- %s %zu bytes", ev->status == ENGINE_TUNNEL_CONFIG ? "CONFIG" : "PACKET",
			    ev->text_len);
		break;
	}
}

void
describe_suites(describe_line_fn *fn, void *arg)
{
	struct out o = { fn, arg };
	char sizes[64];
	size_t i, j, off;

	line(&o, "%-9s %-13s %-7s %-3s %s", "cipher", "key sizes", "key", "iv", "notes");
	for (i = 0; i < suite_count(); i++) {
		const struct suite *s = suite_at(i);
		unsigned first = suite_size_at(s, 0);

		for (j = 0, off = 0; j < suite_size_count(s); j++)
			off += (size_t)snprintf(sizes + off, sizeof(sizes) - off, "%s%u", j ? "," : "", suite_size_at(s, j));
		line(&o, "%-9s %-13s %-7s %-3zu %s%s", suite_name(s), sizes,
		    first == 56 ? "7+NUL" : "bits/8", suite_iv_len(s), suite_description(s),
		    suite_insecure(s) ? " [needs --allow-insecure]" : "");
	}
}
