/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm, lab profile: what the two engines tell us, shown as it
 * happens, and the --rewrite of each client message on its way through.
 */
#include <string.h>

#include "describe.h"
#include "err.h"
#include "lab.h"
#include "suite.h"

/* The longest rewritten message we build; the engine refuses anything over the lab's limit anyway. */
#define REWRITE_MAX (ENGINE_MAX_MESSAGE * 16)

const char *
lab_leg(enum dir leg)
{
	return leg == C2S ? "client" : "server";
}

static const char *
side(enum dir leg)
{
	return leg == C2S ? "Client side" : "Server side";
}

int
lab_fail(enum dir leg, const struct engine *e, int err)
{
	report_begin(0, "error");
	report_str("leg", lab_leg(leg));
	report_str("code", cvpn_errname(err));
	report_str("message", cvpn_strerror(err));
	report_end("%s: error while %s: %s", side(leg), e ? engine_phase(e) : "starting", cvpn_strerror(err));
	return -1;
}

static void
detail(void *arg, const char *line)
{
	/* The shared key has its own line already. */
	if (strncmp(line, "  shared_key = ", 15) != 0)
		report_detail(arg, line);
}

void
lab_show_proposal(const uint8_t *text, size_t n)
{
	char *t;

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	t = report_escape(text, n);
	report_begin(0, "proposal");
	report_str("leg", "client");
	report_text("text", text, n);
	report_end("Proposal from the client: %s", t);
	report_free(t);
}

static void
show_sent_proposal(const struct engine_event *ev)
{
	char *t = report_escape(ev->text, ev->text_len);

	report_begin(0, "proposal");
	report_str("leg", "server");
	report_text("text", ev->text, ev->text_len);
	report_end("Proposal to the server:   %s", t);
	report_free(t);
}

static void
show_choice(enum dir leg, const struct engine_event *ev)
{
	char name[64], *t = report_escape(ev->text, ev->text_len);

	describe_choice(ev, name, sizeof(name));
	report_begin(0, "negotiated");
	report_str("leg", lab_leg(leg));
	report_str("cipher", suite_name(ev->suite));
	report_num("bits", ev->bits);
	report_text("text", ev->text, ev->text_len);
	report_end("%s: We are going to use %s (%s)", side(leg), name, t);
	report_free(t);
}

static void
show_key(enum dir leg, const struct engine_event *ev)
{
	report_begin(0, "key");
	report_str("leg", lab_leg(leg));
	report_str("cipher", suite_name(ev->suite));
	report_num("bits", ev->bits);
	report_text("shared_key", ev->text, ev->text_len);
	report_hex("key", ev->key, ev->key_len);
	report_hex("iv", ev->iv, ev->iv_len);
	report_end("%s: shared_key = %.*s", side(leg), (int)ev->text_len, (const char *)ev->text);
}

static void
show_dh(enum dir leg, const struct engine_event *ev)
{
	bool client_value = (ev->type == ENGINE_EV_DH_PEER) == (leg == C2S);

	report_begin(1, "dh");
	report_str("leg", lab_leg(leg));
	report_str("name", client_value ? "dh.client_public" : "dh.server_public");
	report_text("value", ev->text, ev->text_len);
	report_end(NULL);
}

/* Applies one FROM=TO to in, into out. Returns 0 or CVPN_ERR_*. */
static int
replace(const struct mitm_rewrite *rw, const struct buf *in, struct buf *out)
{
	size_t i = 0, run = 0;
	int r = 0;

	while (r == 0 && i < in->len) {
		if (in->len - i >= rw->from_len && memcmp(in->data + i, rw->from, rw->from_len) == 0) {
			if ((r = buf_append(out, in->data + run, i - run, REWRITE_MAX)) == 0)
				r = buf_append(out, rw->to, rw->to_len, REWRITE_MAX);
			i += rw->from_len;
			run = i;
		} else {
			i++;
		}
	}
	return r ? r : buf_append(out, in->data + run, in->len - run, REWRITE_MAX);
}

/* The client's message after every --rewrite, into L->pending. */
static int
rewrite(struct lab *L, const uint8_t *text, size_t n)
{
	const struct mitm_config *cfg = L->ss->cfg;
	struct buf tmp = { 0 };
	size_t i;
	int r;

	buf_clear(&L->pending);
	if ((r = buf_append(&L->pending, text, n, REWRITE_MAX)) != 0)
		return r;
	for (i = 0; i < cfg->nrewrites && r == 0; i++) {
		tmp.len = 0;
		if ((r = replace(&cfg->rewrites[i], &L->pending, &tmp)) == 0) {
			L->pending.len = 0;
			r = buf_append(&L->pending, tmp.data, tmp.len, REWRITE_MAX);
		}
	}
	buf_clear(&tmp);
	return r;
}

static void
take_message(struct lab *L, const struct engine_event *ev)
{
	char *t = report_escape(ev->text, ev->text_len);
	int r;

	report_begin(0, "message");
	report_str("leg", "client");
	report_text("text", ev->text, ev->text_len);
	report_end("Client says: %s", t);
	report_free(t);
	if ((r = rewrite(L, ev->text, ev->text_len)) != 0) {
		L->err = r;
		return;
	}
	L->has_pending = true;
	L->forge = L->pending.len != ev->text_len || memcmp(L->pending.data, ev->text, ev->text_len) != 0;
	if (!L->forge)
		return;
	t = report_escape(L->pending.data, L->pending.len);
	report_begin(0, "rewritten");
	report_text("from", ev->text, ev->text_len);
	report_text("to", L->pending.data, L->pending.len);
	report_end("Rewritten for the server: %s", t);
	report_free(t);
}

void
lab_on_down(void *arg, const struct engine_event *ev)
{
	struct lab *L = arg;

	switch (ev->type) {
	case ENGINE_EV_PROPOSAL:
		return; /* shown as it came, before the server saw it */
	case ENGINE_EV_NEGOTIATED: show_choice(C2S, ev); return;
	case ENGINE_EV_KEY: show_key(C2S, ev); break;
	case ENGINE_EV_DH_PEER:
	case ENGINE_EV_DH_LOCAL: show_dh(C2S, ev); break;
	case ENGINE_EV_MESSAGE: take_message(L, ev); break;
	case ENGINE_EV_REPLY:
		/* What a real server answers to the client's own text: the forgery, if one is needed. */
		L->forged.len = 0;
		if (buf_append(&L->forged, ev->text, ev->text_len, REWRITE_MAX) != 0)
			L->err = CVPN_ERR_NOMEM;
		return; /* shown only if it is used */
	default:
		break;
	}
	describe_event(ev, true, L->ss->cfg->verbosity, detail, "client side");
}

static void
take_reply(struct lab *L, const struct engine_event *ev)
{
	char *t = report_escape(ev->text, ev->text_len);

	report_begin(0, "reply");
	report_str("leg", "server");
	report_text("text", ev->text, ev->text_len);
	report_bool("expected", ev->status == 0);
	report_bool("forwarded", !L->forge);
	report_end("Server replies: %s%s", t, L->forge ? "" : " (passed on as it came)");
	report_free(t);
	if (!L->forge)
		return;
	/* The client checks that the reply is its own text reversed: give it exactly that. */
	if (link_queue(&L->ss->client, L->forged.data, L->forged.len) != 0)
		L->err = CVPN_ERR_NOMEM;
	t = report_escape(L->forged.data, L->forged.len);
	report_begin(0, "forged_reply");
	report_str("leg", "client");
	report_text("text", L->forged.data, L->forged.len);
	report_end("Forged reply to the client: %s", t);
	report_free(t);
	L->forge = false;
}

void
lab_on_up(void *arg, const struct engine_event *ev)
{
	struct lab *L = arg;

	switch (ev->type) {
	case ENGINE_EV_PROPOSAL: show_sent_proposal(ev); return;
	case ENGINE_EV_NEGOTIATED:
		show_choice(S2C, ev);
		L->up_chose = true;
		L->suite = ev->suite;
		L->bits = ev->bits;
		return;
	case ENGINE_EV_KEY: show_key(S2C, ev); break;
	case ENGINE_EV_DH_PEER:
	case ENGINE_EV_DH_LOCAL: show_dh(S2C, ev); break;
	case ENGINE_EV_SENT:
		report_begin(1, "sent");
		report_str("leg", "server");
		report_text("text", ev->text, ev->text_len);
		report_hex("ciphertext", ev->ct, ev->ct_len);
		report_text("tag", ev->tag, ev->tag_len);
		report_end(NULL);
		break;
	case ENGINE_EV_REPLY: take_reply(L, ev); break;
	default:
		break;
	}
	describe_event(ev, false, L->ss->cfg->verbosity, detail, "server side");
}
