/* SPDX-License-Identifier: MIT */
/*
 * What the secure profile's two roles share (secure.h): the handshake's
 * setup and end, mac1's key, u16 framing, and the length-prefixed AEAD
 * records with implicit counters (docs/SECURE.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"
#include "keys.h"
#include "noise.h"
#include "secure.h"
#include "text.h"

/* The longest record body (after the length prefix). */
#define MAX_RECORD (secrec_wire_len(SECURE_MAX_PAYLOAD) - 2)
/* A direction is closed long before its 64-bit nonce could wrap. */
#define HARD_LIMIT ((uint64_t)1 << 60)

int
engine_parse_suites(const char *text, struct secure_config *sc)
{
	enum aead_cipher list[sizeof(sc->suites) / sizeof(sc->suites[0])];
	size_t n = 0, len;

	while (*text) {
		len = strcspn(text, ", ");
		if (len == 0) {
			text++;
			continue;
		}
		if (n == sizeof(list) / sizeof(list[0]) || aead_parse(text, len, &list[n]) != 0)
			return CVPN_ERR_INVALID_ARG;
		n++;
		text += len;
	}
	if (n == 0)
		return CVPN_ERR_INVALID_ARG;
	memcpy(sc->suites, list, n * sizeof(list[0]));
	sc->nsuites = n;
	return 0;
}

/* ---- Events ---- */

void
secure_emit(struct engine *e, struct engine_event *ev)
{
	ev->protocol = e->p.sec.protocol[0] ? e->p.sec.protocol : NULL;
	engine_emit(e, ev);
}

void
secure_emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len)
{
	struct engine_event ev = { .type = type, .text = text, .text_len = len };

	secure_emit(e, &ev);
}

/* ---- The handshake ---- */

int
secure_start_handshake(struct engine *e, const uint8_t *ch, size_t chlen, const uint8_t *sh, size_t shlen)
{
	const struct secure_config *sc = &e->cfg.secure;
	struct secure_state *sec = &e->p.sec;
	uint8_t prologue[SECURE_PROLOGUE_MAX], zero[NOISE_PSK_LEN] = { 0 };
	size_t n = secure_wire_prologue(ch, chlen, sh, shlen, prologue);
	const uint8_t *s = NULL, *rs = NULL, *psk = sc->has_psk ? sc->psk : zero;

	if (n == 0)
		return CVPN_ERR_INTERNAL;
	secure_wire_protocol(sec->mode, sec->aead, sec->protocol);
	if (sec->mode == SECURE_MODE_KEY) {
		s = e->cfg.server ? sc->static_priv : sec->client_static;
		rs = e->cfg.server ? NULL : sc->server_pub;
	}
	return noise_handshake_new(sec->protocol, !e->cfg.server, prologue, n, s, rs, psk, &sec->hs);
}

int
secure_mac1_key(const struct engine *e, uint8_t key[static 32])
{
	uint8_t in[8 + KEYS_LEN];
	unsigned int len = NOISE_HASH_LEN;
	int r;

	memcpy(in, SECURE_MAC1_LABEL, 8);
	memcpy(in + 8, e->p.sec.mode == SECURE_MODE_KEY ? e->p.sec.server_pub : e->cfg.secure.psk, KEYS_LEN);
	r = EVP_Digest(in, sizeof(in), key, &len, EVP_sha256(), NULL) == 1 ? 0 : CVPN_ERR_CRYPTO;
	OPENSSL_cleanse(in, sizeof(in));
	return r;
}

int
secure_take_frame(struct engine *e, size_t max, const uint8_t **body, size_t *len)
{
	size_t n;

	if (e->in.len < 2)
		return 0;
	if ((n = secure_wire_get16(e->in.data)) > max)
		return CVPN_ERR_TOO_LONG;
	if (e->in.len < 2 + n)
		return 0;
	if (body != NULL)
		*body = e->in.data + 2;
	*len = n;
	return 1;
}

int
secure_queue_frame(struct engine *e, const uint8_t *p, size_t n)
{
	uint8_t len[2];
	int r;

	secure_wire_put16(len, n);
	if ((r = engine_queue(e, len, 2)) == 0)
		r = engine_queue(e, p, n);
	return r;
}

int
secure_finish_handshake(struct engine *e)
{
	struct engine_event ev = { .type = ENGINE_EV_KEY };
	struct secure_state *sec = &e->p.sec;
	uint8_t hash[NOISE_HASH_LEN], keys[2 * AEAD_KEY_LEN];
	char hex[2 * NOISE_HASH_LEN + 1];
	int r;

	/* The transport keys travel in the event for the key log only; -v never shows them. */
	if ((r = noise_handshake_split_keys(sec->hs, keys)) != 0 ||
	    (r = noise_handshake_split(sec->hs, &sec->send_cs, &sec->recv_cs)) != 0 ||
	    (r = noise_handshake_hash(sec->hs, hash)) != 0) {
		OPENSSL_cleanse(keys, sizeof(keys));
		return r;
	}
	text_hex(hex, hash, sizeof(hash));
	ev.text = (const uint8_t *)hex;
	ev.text_len = 2 * NOISE_HASH_LEN;
	ev.c2s_key = keys;
	ev.s2c_key = keys + AEAD_KEY_LEN;
	ev.transport_key_len = AEAD_KEY_LEN;
	secure_emit(e, &ev);
	OPENSSL_cleanse(keys, sizeof(keys));
	noise_handshake_free(sec->hs);
	sec->hs = NULL;
	return 0;
}

/* ---- Records ---- */

/* Seals a record whose payload is head then tail, in place at the end of the output. */
static int
send_record_parts(struct engine *e, enum secrec_type type, const uint8_t *head, size_t hn, const uint8_t *tail,
    size_t tn)
{
	struct secure_state *sec = &e->p.sec;
	size_t n = hn + tn, size = secrec_wire_len(n);
	uint8_t *rec;
	int r;

	if (n > SECURE_MAX_PAYLOAD || (type == SECREC_DATA && n > ENGINE_MAX_MESSAGE))
		return CVPN_ERR_MSG_TOO_LONG;
	if (noise_cipher_nonce(sec->send_cs) >= HARD_LIMIT)
		return CVPN_ERR_NONCE_EXHAUSTED;
	/* Built and encrypted in place at the end of the output. */
	if ((r = engine_reserve(e, size, &rec)) != 0)
		return r;
	if ((r = secrec_seal_parts(sec->send_cs, type, head, hn, tail, tn, rec)) != 0) {
		engine_unreserve(e, size);
		return r;
	}
	/* Nothing may follow a CLOSE, not even a REKEY. */
	if (type != SECREC_REKEY && type != SECREC_CLOSE && e->cfg.secure.rekey_records &&
	    ++sec->sent_since_rekey >= e->cfg.secure.rekey_records)
		return secure_rekey(e);
	return 0;
}

int
secure_send_record(struct engine *e, enum secrec_type type, const uint8_t *payload, size_t n)
{
	return send_record_parts(e, type, payload, n, NULL, 0);
}

int
secure_read_record(struct engine *e, int *type, const uint8_t **pt, size_t *len, size_t *frame)
{
	struct engine_event confirmed = { .type = ENGINE_EV_CONFIRMED };
	size_t n;
	int r;

	/* The record opens in place, from its prefix at the start of the input on. */
	if ((r = secure_take_frame(e, MAX_RECORD, NULL, &n)) <= 0)
		return r == CVPN_ERR_TOO_LONG ? CVPN_ERR_DECRYPT : r;
	if (noise_cipher_nonce(e->p.sec.recv_cs) >= HARD_LIMIT)
		return CVPN_ERR_NONCE_EXHAUSTED;
	if ((r = secrec_open(e->p.sec.recv_cs, e->in.data, n, type, pt, len)) != 0)
		return r;
	*frame = 2 + n;
	if (engine_confirm(e))
		secure_emit(e, &confirmed);
	return 1;
}

void
secure_release_record(struct engine *e, size_t frame)
{
	OPENSSL_cleanse(e->in.data, frame);
	buf_consume(&e->in, frame);
}

int
secure_common_record(struct engine *e, int type)
{
	switch (type) {
	case SECREC_KEEPALIVE:
		return 1;
	case SECREC_REKEY:
		return noise_cipher_rekey(e->p.sec.recv_cs) == 0 ? 1 : CVPN_ERR_CRYPTO;
	default:
		return 0;
	}
}

int
secure_rekey(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;
	int r;

	if (sec->send_cs == NULL)
		return CVPN_ERR_STATE;
	if ((r = secure_send_record(e, SECREC_REKEY, NULL, 0)) != 0 || (r = noise_cipher_rekey(sec->send_cs)) != 0)
		return r;
	sec->sent_since_rekey = 0;
	return 0;
}

int
secure_keepalive(struct engine *e)
{
	return secure_send_record(e, SECREC_KEEPALIVE, NULL, 0);
}

void
secure_free(struct engine *e)
{
	struct secure_state *sec = &e->p.sec;

	noise_handshake_free(sec->hs);
	noise_cipher_free(sec->send_cs);
	noise_cipher_free(sec->recv_cs);
	buf_clear(&sec->hello);
	OPENSSL_cleanse(sec->client_static, sizeof(sec->client_static));
}

/* ---- Channels ---- */

/* Which side sends a channel record type: the client opens, the server answers, both carry data. */
static bool
sent_by(int type, bool client)
{
	if (type == CHAN_OPEN)
		return client;
	if (type == CHAN_ACCEPT || type == CHAN_REFUSE)
		return !client;
	return chan_is_type(type);
}

int
secure_send_channel(struct engine *e, const struct chan_msg *m, bool client)
{
	uint8_t head[CHAN_HEAD_MAX];
	size_t tail;
	int n, r;

	/* A DATA's bytes go from where they are into the record: no copy to wipe afterwards. */
	if (!sent_by(m->type, client) || (n = chan_encode_head(m, head, sizeof(head), &tail)) < 0)
		return CVPN_ERR_INVALID_ARG;
	r = send_record_parts(e, (enum secrec_type)m->type, head, (size_t)n, m->data, tail);
	OPENSSL_cleanse(head, (size_t)n);
	return r;
}

int
secure_take_channel(struct engine *e, int type, const uint8_t *pt, size_t len, bool from_client)
{
	struct engine_event ev = { .type = ENGINE_EV_CHANNEL };
	struct chan_msg m;

	if (!sent_by(type, from_client) || chan_decode(type, pt, len, &m) != 0)
		return CVPN_ERR_CHANNEL;
	ev.chan = &m;
	secure_emit(e, &ev);
	return 1;
}

/* ---- The IP tunnel over TCP ---- */

bool
secure_is_tunnel(int type)
{
	return type == SECREC_TUNNEL_CONFIG || type == SECREC_TUNNEL_PACKET;
}

int
secure_send_tunnel(struct engine *e, int type, const uint8_t *p, size_t n, bool client)
{
	if (!secure_is_tunnel(type) || (type == SECREC_TUNNEL_CONFIG && client) || n == 0 || n > SECURE_MAX_PAYLOAD)
		return CVPN_ERR_INVALID_ARG;
	return secure_send_record(e, (enum secrec_type)type, p, n);
}

int
secure_take_tunnel(struct engine *e, int type, const uint8_t *pt, size_t len, bool from_client)
{
	struct engine_event ev = { .type = ENGINE_EV_TUNNEL, .text = pt, .text_len = len, .status = type };

	if ((type == SECREC_TUNNEL_CONFIG && from_client) || len == 0)
		return CVPN_ERR_CHANNEL;
	secure_emit(e, &ev);
	return 1;
}
