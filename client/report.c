/* SPDX-License-Identifier: MIT */
/*
 * Everything the client shows: the transcript on stdout (or one JSON object
 * per event with --json), the -v protocol view and errors on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "client.h"
#include "describe.h"
#include "err.h"
#include "suite.h"
#include "text.h"

static const struct client_config *config;

void
report_init(const struct client_config *cfg)
{
	config = cfg;
}

static void
json_hex(FILE *f, const char *name, const unsigned char *p, size_t n)
{
	size_t i;

	fprintf(f, ",\"%s\":\"", name);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

static void
json_text(FILE *f, const char *name, const void *p, size_t n)
{
	fprintf(f, ",\"%s\":", name);
	text_json_string(f, p, n);
}

/* One JSON object per event; protocol values (secrets included) only with -v. */
static void
json_event(const struct engine_event *ev)
{
	bool values = config->verbosity > 0;

	switch (ev->type) {
	case ENGINE_EV_NEGOTIATED:
		if (ev->protocol) {
			printf("{\"event\":\"negotiated\",\"profile\":\"secure\",\"protocol\":\"%s\"", ev->protocol);
			break;
		}
		printf("{\"event\":\"negotiated\",\"profile\":\"lab\",\"cipher\":\"%s\",\"bits\":%u",
		    suite_name(ev->suite), ev->bits);
		break;
	case ENGINE_EV_KEY:
		if (ev->protocol) {
			printf("{\"event\":\"key_established\",\"protocol\":\"%s\"", ev->protocol);
			if (values)
				json_text(stdout, "handshake_hash", ev->text, ev->text_len);
			break;
		}
		printf("{\"event\":\"key_established\",\"cipher\":\"%s\",\"bits\":%u,\"hmac\":\"%s\"",
		    suite_name(ev->suite), ev->bits, record_hmac_name(ev->hmac));
		if (values) {
			json_text(stdout, "shared_key", ev->text, ev->text_len);
			json_hex(stdout, "key", ev->key, ev->key_len);
			json_hex(stdout, "iv", ev->iv, ev->iv_len);
		}
		break;
	case ENGINE_EV_SENT:
		printf("{\"event\":\"sent\"");
		json_text(stdout, "text", ev->text, ev->text_len);
		if (ev->ct)
			printf(",\"bytes\":%zu", ev->ct_len + ev->tag_len);
		if (values && ev->ct) {
			json_hex(stdout, "ciphertext", ev->ct, ev->ct_len);
			json_text(stdout, "tag", ev->tag, ev->tag_len);
		}
		break;
	case ENGINE_EV_REPLY:
		printf("{\"event\":\"reply\"");
		json_text(stdout, "text", ev->text, ev->text_len);
		printf(",\"expected\":%s", ev->status == 0 ? "true" : "false");
		break;
	case ENGINE_EV_PROPOSAL:
		if (!values)
			return;
		printf("{\"event\":\"proposal\"");
		json_text(stdout, "text", ev->text, ev->text_len);
		break;
	case ENGINE_EV_DH_LOCAL:
	case ENGINE_EV_DH_PEER:
		if (!values)
			return;
		printf("{\"event\":\"%s\"", ev->type == ENGINE_EV_DH_LOCAL ? "dh.client_public" : "dh.server_public");
		json_text(stdout, "value", ev->text, ev->text_len);
		break;
	default:
		return;
	}
	printf("}\n");
	fflush(stdout);
}

static void
verbose_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}

static void
human_event(const struct engine_event *ev)
{
	char name[64];

	if (ev->type == ENGINE_EV_NEGOTIATED && config->verbosity >= 0) {
		describe_choice(ev, name, sizeof(name));
		printf("We are going to use %s%s\n", name, ev->protocol ? " (secure profile)" : "");
		/* Someone typing at a terminal may not know what the lab profile leaves open; a script does. */
		if (!ev->protocol && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
			fprintf(stderr, "cvpn-client: note: the lab profile is unauthenticated and readable by anyone on "
			    "the path (the secure profile is used with --server-key or --psk)\n");
	} else if (ev->type == ENGINE_EV_REPLY) {
		/* Terminal controls from the network must not reach the terminal. */
		char *text = text_escape_dup(ev->text, ev->text_len);

		printf("%s\n", text ? text : "(out of memory)");
		free(text);
		if (ev->status != 0)
			fprintf(stderr, "cvpn-client: warning: the reply is not the reversed message (as the reference server sends)\n");
	}
	fflush(stdout);
}

void
report_event(void *arg, const struct engine_event *ev)
{
	static bool told_bare;

	(void)arg;
	prompt_hide();
	if (config->json)
		json_event(ev);
	else
		human_event(ev);
	describe_event(ev, false, config->verbosity, verbose_line, NULL);
	/* A bare reply is the expected text in another server's style: worth one note, not one per message. */
	if (ev->type == ENGINE_EV_REPLY && ev->bare && !told_bare) {
		told_bare = true;
		report_warning("bare_reply", "the server answered without the \"Server says: \" prefix");
	}
}

void
report_connected(const char *host, const char *address)
{
	if (config->json) {
		printf("{\"event\":\"connected\"");
		json_text(stdout, "host", host, strlen(host));
		json_text(stdout, "address", address, strlen(address));
		printf("}\n");
	} else if (config->verbosity >= 0) {
		printf("Connected to %s\n", address);
	}
	fflush(stdout);
}

void
report_listening(const char *address, const char *to)
{
	if (config->json) {
		printf("{\"event\":\"listening\"");
		json_text(stdout, "address", address, strlen(address));
		if (to)
			json_text(stdout, "to", to, strlen(to));
		else
			printf(",\"socks\":true");
		printf("}\n");
	} else if (config->verbosity >= 0) {
		prompt_hide();
		if (to)
			printf("Forwarding %s to %s\n", address, to);
		else
			printf("Forwarding %s by SOCKS5\n", address);
	}
	fflush(stdout);
}

void
report_refused(const char *from, const char *to, int reason, const uint8_t *detail, size_t n)
{
	/* The detail is the server's words: no terminal control may come through. */
	const char *why = chan_reason_text(reason);
	size_t shown = n;
	char *text;

	/* A detail that only repeats the reason adds nothing to the line. */
	if (n == strlen(why) && memcmp(detail, why, n) == 0)
		shown = 0;
	text = text_escape_dup(detail, shown);
	prompt_hide();
	fprintf(stderr, "cvpn-client: %s to %s: the server refused the channel: %s%s%s%s\n", from, to, why,
	    shown ? " (" : "", shown && text ? text : "", shown ? ")" : "");
	if (config->json) {
		printf("{\"event\":\"channel_refused\"");
		json_text(stdout, "from", from, strlen(from));
		json_text(stdout, "to", to, strlen(to));
		printf(",\"reason\":%d", reason);
		json_text(stdout, "text", why, strlen(why));
		json_text(stdout, "detail", detail, n);
		printf("}\n");
		fflush(stdout);
	}
	free(text);
}

void
report_channel(const char *fmt, ...)
{
	va_list ap;

	if (config->verbosity < 1)
		return;
	prompt_hide();
	fprintf(stderr, "cvpn-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
report_reconnecting(unsigned attempt, unsigned attempts, unsigned delay_ms)
{
	prompt_hide();
	fprintf(stderr, "cvpn-client: reconnecting in %u.%03u s (attempt %u of %u)\n", delay_ms / 1000, delay_ms % 1000,
	    attempt, attempts);
	if (config->json) {
		printf("{\"event\":\"reconnecting\",\"attempt\":%u,\"attempts\":%u,\"delay_ms\":%u}\n", attempt,
		    attempts, delay_ms);
		fflush(stdout);
	}
}

void
report_failure(const struct failure *f)
{
	prompt_hide();
	fprintf(stderr, "cvpn-client: %s\n", f->message);
	if (config && config->json) {
		printf("{\"event\":\"error\",\"code\":\"%s\",\"exit\":%d", f->code, (int)f->exit);
		json_text(stdout, "message", f->message, strlen(f->message));
		printf("}\n");
		fflush(stdout);
	}
}

void
report_warning(const char *code, const char *message)
{
	prompt_hide();
	fprintf(stderr, "cvpn-client: %s\n", message);
	if (config->json) {
		printf("{\"event\":\"warning\",\"code\":\"%s\"", code);
		json_text(stdout, "message", message, strlen(message));
		printf("}\n");
		fflush(stdout);
	}
}

void
report_closed(void)
{
	if (config->json) {
		printf("{\"event\":\"closed\"}\n");
		fflush(stdout);
	}
}
