/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: key substitution. To read the secure profile a man in the
 * middle must be the client's server: answer its hello and run the handshake
 * with a static key of its own (and a PSK of its own guessing). The client's
 * first handshake message is sealed to the real server's key, so it fails
 * twice: mac1 is keyed by that key, and Noise's "es" mixes it in before the
 * client's static key is encrypted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "engine.h"
#include "err.h"
#include "keys.h"
#include "noise.h"
#include "relay.h"
#include "secure_wire.h"


struct subst {
	struct engine *engine;      /* a server's engine with our keys */
	uint8_t priv[NOISE_DH_LEN], pub[NOISE_DH_LEN], psk[NOISE_PSK_LEN];
	struct buf ch, sh;          /* the client's hello and ours, for the prologue */
	char verdict[512];
};

static void
on_event(void *arg, const struct engine_event *ev)
{
	(void)arg;
	if (ev->type == ENGINE_EV_NEGOTIATED) {
		report_begin(0, "substitute");
		report_text("protocol", ev->text, ev->text_len);
		report_end("Our substitute server: We are going to use %.*s", (int)ev->text_len, (const char *)ev->text);
	}
}

static int
subst_new(struct subst **out)
{
	struct engine_config cfg = { .server = true, .hmac = RECORD_HMAC_AUTO, .newline = ENGINE_NEWLINE_MIRROR };
	struct secure_config *sc = &cfg.secure;
	struct subst *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (s == NULL)
		return CVPN_ERR_NOMEM;
	proposal_default(&cfg.ciphers);
	r = engine_parse_suites(SECURE_DEFAULT_SUITES, sc);
	if (r == 0)
		r = noise_keypair_generate(s->priv, s->pub);
	if (r == 0 && RAND_bytes(s->psk, sizeof(s->psk)) != 1)
		r = CVPN_ERR_CRYPTO;
	if (r == 0) {
		memcpy(sc->static_priv, s->priv, sizeof(s->priv));
		memcpy(sc->psk, s->psk, sizeof(s->psk));
		sc->static_priv_set = sc->has_psk = true;
		r = engine_new(&cfg, on_event, NULL, &s->engine);
	}
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (r != 0) {
		OPENSSL_clear_free(s, sizeof(*s));
		return r;
	}
	*out = s;
	return 0;
}

/*
 * Reads the client's handshake message 1 with Noise alone, as if mac1 did not
 * exist: our key in place of the server's. Returns the error it fails with.
 */
static int
noise_check(const struct subst *s, const struct unit *u)
{
	uint8_t prologue[SECURE_PROLOGUE_MAX], zero[NOISE_PSK_LEN] = { 0 }, payload[64];
	size_t n = 0, plen;
	bool key = s->ch.data[SECURE_HELLO_MODE] == SECURE_MODE_KEY;
	struct noise_handshake *hs = NULL;
	enum aead_cipher suite;
	char protocol[SECURE_PROTOCOL_MAX];
	int r;

	if (s->sh.len == SECURE_SERVER_HELLO_LEN && u->n >= 2 + SECURE_MAC1_LEN &&
	    secure_wire_code_suite(s->sh.data[SECURE_HELLO_SUITE], &suite))
		n = secure_wire_prologue(s->ch.data, s->ch.len, s->sh.data, s->sh.len, prologue);
	if (n == 0)
		return CVPN_ERR_MALFORMED;
	secure_wire_protocol(key ? SECURE_MODE_KEY : SECURE_MODE_PSK, suite, protocol);
	r = noise_handshake_new(protocol, false, prologue, n, key ? s->priv : NULL, NULL, key ? zero : s->psk, &hs);
	if (r == 0)
		r = noise_handshake_read(hs, u->p + 2, u->n - 2 - SECURE_MAC1_LEN, payload, sizeof(payload), &plen);
	noise_handshake_free(hs);
	return r;
}

/* Our engine refused the client's message: say why, then hang up as a server would. */
static void
refused(struct relay *r, const struct unit *u, int err)
{
	struct subst *s = r->subst;
	int nr = u->kind == UNIT_HANDSHAKE ? noise_check(s, u) : CVPN_ERR_STATE;
	bool key = s->ch.data[SECURE_HELLO_MODE] == SECURE_MODE_KEY;

	if (u->kind == UNIT_HANDSHAKE)
		snprintf(s->verdict, sizeof(s->verdict), "the client's handshake message 1 is sealed to the real "
		    "%s: our engine refused it (%s) and, mac1 aside, Noise cannot open it with ours (%s); we hang up "
		    "as a server would", key ? "server's static key" : "PSK", cvpn_strerror(err),
		    nr == CVPN_ERR_BAD_TAG ? "its AEAD tag does not verify" : nr ? cvpn_strerror(nr) : "it opened?!");
	else
		snprintf(s->verdict, sizeof(s->verdict), "our engine refused %s: %s", u->kind == UNIT_HELLO ?
		    "the ClientHello" : "a record", cvpn_strerror(err));
	r->verdict = s->verdict;
	r->cut = true;
}

/* Feeds a client unit to our engine and sends the client what it answers. */
static void
feed(struct relay *r, const struct unit *u)
{
	struct subst *s = r->subst;
	const uint8_t *p;
	size_t n;
	int err = engine_feed(s->engine, u->p, u->n);

	engine_output(s->engine, &p, &n);
	if (n && s->sh.len == 0 && buf_append(&s->sh, p, n < SECURE_SERVER_HELLO_LEN ? n : SECURE_SERVER_HELLO_LEN, 64) != 0)
		err = CVPN_ERR_NOMEM;
	if (n && link_queue(&r->ss->client, p, n) != 0)
		err = CVPN_ERR_NOMEM;
	engine_output_consume(s->engine, n);
	if (err != 0)
		refused(r, u, err);
}

/* The client's hello goes to the server as well: it sees a client arrive, and nothing after. */
static void
start(struct relay *r, struct unit *u)
{
	char b64[KEYS_B64_LEN + 1];
	int err;

	relay_forward(r, u);
	if ((err = subst_new(&r->subst)) != 0 || (err = buf_append(&r->subst->ch, u->p, u->n, 64)) != 0) {
		report_error(cvpn_errname(err), "key-substitution: %s", cvpn_strerror(err));
		r->cut = true;
		return;
	}
	keys_to_base64(r->subst->pub, b64);
	relay_tried(r, "answering the client ourselves, as its server, with our own static key %s and a PSK of "
	    "our own", b64);
}

void
subst_unit(struct relay *r, struct unit *u)
{
	char name[64];

	if (u->dir == S2C) {
		unit_name(u, name, sizeof(name));
		report_begin(0, "dropped");
		report_str("unit", name);
		report_end("Dropped %s from the server: the client talks to our substitute", name);
		return;
	}
	if (r->subst == NULL)
		start(r, u);
	if (r->subst != NULL && !r->cut)
		feed(r, u);
}

void
subst_free(struct relay *r)
{
	struct subst *s = r->subst;

	if (s == NULL)
		return;
	engine_free(s->engine);
	buf_clear(&s->ch);
	buf_clear(&s->sh);
	OPENSSL_clear_free(s, sizeof(*s));
	r->subst = NULL;
}
