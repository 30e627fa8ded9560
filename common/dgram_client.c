/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the UDP transport's client (docs/SECURE.md section 12). It alone
 * starts handshakes: the first, one every 2 minutes after, and one when the
 * server has gone quiet after we sent; it resends an unanswered INIT every
 * 5 s and a third at random, and keeps the previous keys for what is still
 * in flight when new ones arrive.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "dgram_int.h"
#include "err.h"
#include "noise.h"
#include "replay.h"
#include "secure_wire.h"

/* Packets held while the first handshake runs. */
#define HELD_MAX 16

struct held {
	uint8_t *p;
	size_t n;
};

struct dgram_client {
	struct dgram_config cfg;
	struct dgram_ops ops;
	void *arg;
	uint8_t static_pub[32];
	uint8_t mac1_key[32];           /* mac1 of our INITs: the server's public key */
	uint8_t response_key[32];       /* mac1 of RESPONSEs: ours */
	uint8_t cookie_key[32];
	struct noise_handshake *hs;     /* the handshake in flight, or NULL */
	uint32_t hs_index;
	uint64_t hs_sent, hs_wait;      /* when the INIT went, how long before it goes again */
	uint8_t last_mac1[DGRAM_MAC_LEN];
	uint8_t cookie[DGRAM_COOKIE_LEN];
	uint64_t cookie_at;             /* when it came; 0: none */
	struct dgram_keys *current, *previous;
	uint64_t last_sent, last_received;
	uint64_t last_data_received;    /* a packet that was not a keepalive: it asks for an answer */
	bool answer_due;                /* such a packet came since we last sent */
	uint64_t waiting_since;         /* we sent data the server has not answered since; 0: nothing */
	struct held held[HELD_MAX];
	size_t nheld;
	struct dgram_stats stats;
};

static int
drop(struct dgram_client *c, enum dgram_drop why, int err)
{
	c->stats.dropped[why]++;
	return err;
}

/* A random wait of 5 s and up to a third of a second more, so that clients do not resend in step. */
static uint64_t
resend_wait(void)
{
	uint8_t b[2] = { 0 };

	(void)RAND_bytes(b, sizeof(b));
	return DGRAM_REKEY_TIMEOUT_MS + ((unsigned)b[0] << 8 | b[1]) % 334;
}

int
dgram_client_new(const struct dgram_config *cfg, const struct dgram_ops *ops, void *arg, struct dgram_client **out)
{
	struct dgram_client *c;
	int r;

	if (cfg->nsuites == 0)
		return CVPN_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CVPN_ERR_NOMEM;
	c->cfg = *cfg;
	c->ops = *ops;
	c->arg = arg;
	if ((r = noise_public_key(cfg->static_priv, c->static_pub)) != 0 ||
	    (r = dgram_label_key(DGRAM_MAC1_LABEL, cfg->server_pub, c->mac1_key)) != 0 ||
	    (r = dgram_label_key(DGRAM_MAC1_LABEL, c->static_pub, c->response_key)) != 0 ||
	    (r = dgram_label_key(DGRAM_COOKIE_LABEL, cfg->server_pub, c->cookie_key)) != 0) {
		dgram_client_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static void
send_datagram(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n)
{
	c->ops.send(c->arg, NULL, 0, p, n);
	c->last_sent = now;
	c->answer_due = false;
}

/* Writes and sends an INIT: a new ephemeral, a new index, mac2 when a fresh cookie is held. */
static int
send_init(struct dgram_client *c, uint64_t now)
{
	uint8_t pkt[DGRAM_INIT_LEN], prologue[32], stamp[REPLAY_TAI64N_LEN];
	char protocol[SECURE_PROTOCOL_MAX];
	size_t n, plen;
	int r;

	noise_handshake_free(c->hs);
	c->hs = NULL;
	pkt[0] = DGRAM_INIT;
	pkt[1] = SECURE_MODE_KEY;
	pkt[2] = secure_wire_suite_code(c->cfg.suites[0]);
	pkt[3] = 0;
	if ((r = dgram_random_index(&c->hs_index)) != 0)
		return r;
	dgram_put32(pkt + 4, c->hs_index);
	plen = dgram_prologue(pkt, prologue);
	secure_wire_protocol(SECURE_MODE_KEY, c->cfg.suites[0], protocol);
	replay_tai64n((c->cfg.clock ? c->cfg.clock : replay_wall_clock)(), stamp);
	if ((r = noise_handshake_new(protocol, true, prologue, plen, c->cfg.static_priv, c->cfg.server_pub,
	    c->cfg.psk, &c->hs)) != 0 ||
	    (r = noise_handshake_write(c->hs, stamp, sizeof(stamp), pkt + 8, DGRAM_NOISE1_LEN, &n)) != 0)
		return r;
	if (n != DGRAM_NOISE1_LEN)
		return CVPN_ERR_INTERNAL;
	if ((r = dgram_mac(c->mac1_key, 32, pkt, 8 + n, pkt + 8 + n)) != 0)
		return r;
	memcpy(c->last_mac1, pkt + 8 + n, DGRAM_MAC_LEN);
	if (c->cookie_at && now - c->cookie_at < DGRAM_COOKIE_SECRET_MS)
		r = dgram_mac(c->cookie, sizeof(c->cookie), pkt, 8 + n + DGRAM_MAC_LEN, pkt + 8 + n + DGRAM_MAC_LEN);
	else
		memset(pkt + 8 + n + DGRAM_MAC_LEN, 0, DGRAM_MAC_LEN);
	if (r != 0)
		return r;
	send_datagram(c, now, pkt, sizeof(pkt));
	c->hs_sent = now;
	c->hs_wait = resend_wait();
	return 0;
}

/* Seals and sends under the current keys. */
static int
seal_send(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n)
{
	uint8_t *out = malloc(n + DGRAM_DATA_OVERHEAD + DGRAM_PAD);
	size_t len;
	int r;

	if (out == NULL)
		return CVPN_ERR_NOMEM;
	if ((r = dgram_keys_seal(c->current, p, n, out, &len)) == 0) {
		send_datagram(c, now, out, len);
		c->stats.sent++;
		if (n > 0 && c->waiting_since == 0)
			c->waiting_since = now;
	}
	free(out);
	return r;
}

static void
drop_held(struct dgram_client *c)
{
	size_t i;

	for (i = 0; i < c->nheld; i++)
		OPENSSL_clear_free(c->held[i].p, c->held[i].n);
	c->nheld = 0;
}

static int
hold(struct dgram_client *c, const uint8_t *p, size_t n)
{
	uint8_t *copy;

	if (c->nheld == HELD_MAX)
		return CVPN_ERR_STATE; /* the oldest are the ones worth keeping: a handshake is on its way */
	if ((copy = malloc(n ? n : 1)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(copy, p, n);
	c->held[c->nheld].p = copy;
	c->held[c->nheld++].n = n;
	return 0;
}

int
dgram_client_send(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n)
{
	if (n > DGRAM_INNER_MAX)
		return CVPN_ERR_TOO_LONG;
	if (!dgram_keys_usable(c->current, now))
		return hold(c, p, n);
	return seal_send(c, now, p, n);
}

/* RESPONSE: message 2 completes the handshake; its payload is our configuration. */
static int
take_response(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n)
{
	uint8_t config[DGRAM_CONFIG_MAX], raw[2 * AEAD_KEY_LEN];
	struct dgram_keys *keys;
	size_t clen, noise_len = n - 12 - 2 * DGRAM_MAC_LEN, i;
	int r;

	if (n < DGRAM_RESPONSE_MIN || n > DGRAM_RESPONSE_MAX || p[1] || p[2] || p[3])
		return drop(c, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	if (c->hs == NULL || dgram_get32(p + 8) != c->hs_index)
		return drop(c, DGRAM_DROP_INDEX, CVPN_ERR_STATE);
	if (!dgram_mac1_ok(c->response_key, p, n))
		return drop(c, DGRAM_DROP_MAC1, CVPN_ERR_BAD_MAC1);
	if (noise_handshake_read(c->hs, p + 12, noise_len, config, sizeof(config), &clen) != 0)
		return drop(c, DGRAM_DROP_HANDSHAKE, CVPN_ERR_HANDSHAKE);
	r = dgram_keys_new(c->hs, c->cfg.suites[0], true, c->hs_index, dgram_get32(p + 4), now, raw, &keys);
	noise_handshake_free(c->hs);
	c->hs = NULL;
	if (r != 0)
		return r;
	dgram_keys_report(&c->ops, c->arg, NULL, c->cfg.suites[0], c->hs_index, dgram_get32(p + 4), raw);
	dgram_keys_free(c->previous);
	c->previous = c->current;
	c->current = keys;
	c->stats.handshakes++;
	c->waiting_since = 0;
	c->last_received = now;
	if (c->ops.established)
		c->ops.established(c->arg, config, clen);
	OPENSSL_cleanse(config, sizeof(config));
	/* The server takes the new keys with our first packet under them: a held one, or a keepalive. */
	for (i = 0; i < c->nheld; i++)
		(void)seal_send(c, now, c->held[i].p, c->held[i].n);
	if (c->nheld == 0)
		(void)seal_send(c, now, NULL, 0);
	drop_held(c);
	return 0;
}

/* COOKIE: the server is under load; its cookie makes our next INIT's mac2. */
static int
take_cookie(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n)
{
	struct aead *a = NULL;
	uint8_t cookie[DGRAM_COOKIE_LEN + AEAD_TAG_LEN];
	size_t len;
	int r;

	if (n != DGRAM_COOKIE_PACKET_LEN || p[1] || p[2] || p[3])
		return drop(c, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	if (c->hs == NULL || dgram_get32(p + 4) != c->hs_index)
		return drop(c, DGRAM_DROP_INDEX, CVPN_ERR_STATE);
	if ((r = aead_new(AEAD_CHACHAPOLY, c->cookie_key, sizeof(c->cookie_key), &a)) == 0)
		r = aead_open_nonce(a, p + 8, DGRAM_COOKIE_NONCE_LEN, c->last_mac1, DGRAM_MAC_LEN,
		    p + 8 + DGRAM_COOKIE_NONCE_LEN, DGRAM_COOKIE_LEN + AEAD_TAG_LEN, cookie, &len);
	aead_free(a);
	if (r != 0)
		return drop(c, DGRAM_DROP_DECRYPT, CVPN_ERR_DECRYPT);
	memcpy(c->cookie, cookie, DGRAM_COOKIE_LEN);
	OPENSSL_cleanse(cookie, sizeof(cookie));
	c->cookie_at = now;
	return 0;
}

static int
take_data(struct dgram_client *c, uint64_t now, uint8_t *p, size_t n)
{
	uint32_t index = n >= 8 ? dgram_get32(p + 4) : 0;
	struct dgram_keys *k = c->current && c->current->local == index ? c->current :
	    c->previous && c->previous->local == index ? c->previous : NULL;
	enum dgram_drop why;
	uint8_t *inner;
	size_t len;

	if (k == NULL)
		return drop(c, DGRAM_DROP_INDEX, CVPN_ERR_STATE);
	if (dgram_keys_open(k, now, p, n, &inner, &len, &why) != 0)
		return drop(c, why, why == DGRAM_DROP_REPLAY ? CVPN_ERR_REPLAY : CVPN_ERR_DECRYPT);
	c->stats.received++;
	c->last_received = now;
	c->waiting_since = 0;
	if (len > 0) {
		c->last_data_received = now;
		c->answer_due = true;
		c->ops.deliver(c->arg, NULL, inner, len);
	}
	return 0;
}

int
dgram_client_receive(struct dgram_client *c, uint64_t now, const uint8_t *p, size_t n)
{
	uint8_t *copy;
	int r;

	if (n < DGRAM_HEADER + 4)
		return drop(c, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	switch (p[0]) {
	case DGRAM_RESPONSE:
		return take_response(c, now, p, n);
	case DGRAM_COOKIE:
		return take_cookie(c, now, p, n);
	case DGRAM_DATA:
		/* Opened in place: a copy, so that the caller's buffer stays as it was. */
		if ((copy = malloc(n)) == NULL)
			return CVPN_ERR_NOMEM;
		memcpy(copy, p, n);
		r = take_data(c, now, copy, n);
		OPENSSL_clear_free(copy, n);
		return r;
	default:
		return drop(c, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	}
}

/* Whether a new handshake is due: none yet, keys aging or used up, or a server gone quiet. */
static bool
handshake_due(const struct dgram_client *c, uint64_t now)
{
	const struct dgram_keys *k = c->current;

	if (k == NULL || !dgram_keys_usable(k, now))
		return true;
	if (now - k->created >= DGRAM_REKEY_AFTER_MS || k->next_counter >= DGRAM_REKEY_AFTER_PACKETS)
		return true;
	return c->waiting_since && now - c->waiting_since >= DGRAM_KEEPALIVE_TIMEOUT_MS + DGRAM_REKEY_TIMEOUT_MS;
}

static uint64_t
earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t
dgram_client_tick(struct dgram_client *c, uint64_t now)
{
	uint64_t next = now + DGRAM_KEEPALIVE_TIMEOUT_MS;
	bool quiet;

	if (c->hs != NULL && now - c->hs_sent >= c->hs_wait)
		(void)send_init(c, now);
	else if (c->hs == NULL && handshake_due(c, now))
		(void)send_init(c, now);
	if (c->hs != NULL)
		next = earliest(next, c->hs_sent + c->hs_wait);
	if (dgram_keys_usable(c->current, now)) {
		/*
		 * Keepalives: ours every keepalive_ms of silence, and one that answers
		 * data we got and left unanswered for 10 s (never a keepalive: two
		 * ends would answer each other's forever).
		 */
		quiet = c->answer_due;
		if ((c->cfg.keepalive_ms && now - c->last_sent >= c->cfg.keepalive_ms) ||
		    (quiet && now - c->last_data_received >= DGRAM_KEEPALIVE_TIMEOUT_MS)) {
			(void)seal_send(c, now, NULL, 0);
			quiet = false;
		}
		if (c->cfg.keepalive_ms)
			next = earliest(next, c->last_sent + c->cfg.keepalive_ms);
		if (quiet)
			next = earliest(next, c->last_data_received + DGRAM_KEEPALIVE_TIMEOUT_MS);
		next = earliest(next, c->current->created + DGRAM_REKEY_AFTER_MS);
		if (c->waiting_since)
			next = earliest(next, c->waiting_since + DGRAM_KEEPALIVE_TIMEOUT_MS + DGRAM_REKEY_TIMEOUT_MS);
	}
	return next > now ? next : now + 1;
}

bool
dgram_client_established(const struct dgram_client *c)
{
	return c->current != NULL;
}

void
dgram_client_stats(const struct dgram_client *c, struct dgram_stats *out)
{
	*out = c->stats;
}

void
dgram_client_free(struct dgram_client *c)
{
	if (c == NULL)
		return;
	noise_handshake_free(c->hs);
	dgram_keys_free(c->current);
	dgram_keys_free(c->previous);
	drop_held(c);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}
