/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the UDP transport's server (docs/SECURE.md section 12). Every client
 * is a peer named by its static key; each handshake gives it keys found by
 * their index in one lookup. An INIT costs one HMAC before anything else,
 * and under load one more (mac2) before any Diffie-Hellman; new keys are
 * taken when the client's first packet under them arrives, the previous
 * ones kept for what is still in flight.
 */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "dgram_int.h"
#include "err.h"
#include "noise.h"
#include "replay.h"
#include "secure_wire.h"

#define INDEX_BUCKETS 4096
#define PEER_BUCKETS 1024
/* A peer without live keys and silent this long is forgotten. */
#define FORGET_AFTER_MS (3 * DGRAM_REJECT_AFTER_MS)

struct dgram_peer {
	uint8_t key[32];
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;
	struct dgram_keys *current, *previous, *next;
	uint64_t last_sent, last_received, last_data_received;
	bool answer_due;                /* data came since we last sent: a keepalive answers it if nothing else does */
	uint32_t source;                /* network order; 0: any */
	void *data;
	struct dgram_peer *chain;       /* in its key's bucket */
	struct dgram_peer *prev, *following; /* every peer */
};

/* Where an index leads: a peer and which of its keys. */
struct slot {
	uint32_t index;
	struct dgram_peer *peer;
	struct dgram_keys *keys;
	struct slot *chain;
};

struct dgram_server {
	struct dgram_config cfg;
	struct dgram_ops ops;
	void *arg;
	uint8_t static_pub[32];
	uint8_t mac1_key[32], cookie_key[32];
	uint8_t secret[32];             /* the cookies' */
	uint64_t secret_at;
	uint64_t load_start;            /* the second INITs are counted in */
	unsigned load_count;
	struct slot *index[INDEX_BUCKETS];
	struct dgram_peer *by_key[PEER_BUCKETS];
	struct dgram_peer *peers;
	struct dgram_stats stats;
};

static int
drop(struct dgram_server *s, enum dgram_drop why, int err)
{
	s->stats.dropped[why]++;
	return err;
}

int
dgram_server_new(const struct dgram_config *cfg, const struct dgram_ops *ops, void *arg, struct dgram_server **out)
{
	struct dgram_server *s;
	int r;

	if (cfg->nsuites == 0 || cfg->nsuites > sizeof(cfg->suites) / sizeof(cfg->suites[0]) || ops->admit == NULL)
		return CVPN_ERR_INVALID_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CVPN_ERR_NOMEM;
	s->cfg = *cfg;
	s->ops = *ops;
	s->arg = arg;
	if ((r = noise_public_key(cfg->static_priv, s->static_pub)) != 0 ||
	    (r = dgram_label_key(DGRAM_MAC1_LABEL, s->static_pub, s->mac1_key)) != 0 ||
	    (r = dgram_label_key(DGRAM_COOKIE_LABEL, s->static_pub, s->cookie_key)) != 0) {
		dgram_server_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* ---- Tables ---- */

static struct slot **
slot_at(struct dgram_server *s, uint32_t index)
{
	struct slot **p = &s->index[index % INDEX_BUCKETS];

	while (*p != NULL && (*p)->index != index)
		p = &(*p)->chain;
	return p;
}

/* A fresh index for keys of peer, not in use. */
static int
slot_add(struct dgram_server *s, struct dgram_peer *peer, uint32_t *index)
{
	struct slot *sl;
	uint32_t i;
	int r, tries;

	for (tries = 0; tries < 16; tries++) {
		if ((r = dgram_random_index(&i)) != 0)
			return r;
		if (*slot_at(s, i) == NULL)
			break;
	}
	if (tries == 16)
		return CVPN_ERR_INTERNAL;
	if ((sl = calloc(1, sizeof(*sl))) == NULL)
		return CVPN_ERR_NOMEM;
	sl->index = i;
	sl->peer = peer;
	sl->chain = s->index[i % INDEX_BUCKETS];
	s->index[i % INDEX_BUCKETS] = sl;
	*index = i;
	return 0;
}

static void
slot_remove(struct dgram_server *s, uint32_t index)
{
	struct slot **p = slot_at(s, index), *sl = *p;

	if (sl != NULL) {
		*p = sl->chain;
		free(sl);
	}
}

/* Frees keys and their index; accepts NULL. */
static void
keys_drop(struct dgram_server *s, struct dgram_keys *k)
{
	if (k == NULL)
		return;
	slot_remove(s, k->local);
	dgram_keys_free(k);
}

static struct dgram_peer **
peer_at(struct dgram_server *s, const uint8_t key[static 32])
{
	struct dgram_peer **p = &s->by_key[dgram_get32(key) % PEER_BUCKETS];

	while (*p != NULL && CRYPTO_memcmp((*p)->key, key, 32) != 0)
		p = &(*p)->chain;
	return p;
}

static struct dgram_peer *
peer_new(struct dgram_server *s, const uint8_t key[static 32])
{
	struct dgram_peer *peer = calloc(1, sizeof(*peer)), **at;

	if (peer == NULL)
		return NULL;
	memcpy(peer->key, key, 32);
	at = peer_at(s, key);
	*at = peer;
	peer->following = s->peers;
	if (s->peers)
		s->peers->prev = peer;
	s->peers = peer;
	return peer;
}

static void
peer_free(struct dgram_server *s, struct dgram_peer *peer)
{
	struct dgram_peer **at = peer_at(s, peer->key);

	if (s->ops.forget)
		s->ops.forget(s->arg, peer);
	*at = peer->chain;
	if (peer->prev)
		peer->prev->following = peer->following;
	else
		s->peers = peer->following;
	if (peer->following)
		peer->following->prev = peer->prev;
	keys_drop(s, peer->current);
	keys_drop(s, peer->previous);
	keys_drop(s, peer->next);
	OPENSSL_cleanse(peer, sizeof(*peer));
	free(peer);
}

/* ---- Cookies ---- */

/* Whether INITs come faster than the configured rate this second: then mac2 is required. */
static bool
under_load(struct dgram_server *s, uint64_t now)
{
	if (now - s->load_start >= 1000) {
		s->load_start = now;
		s->load_count = 0;
	}
	s->load_count++;
	return s->cfg.cookie_rate && s->load_count > s->cfg.cookie_rate;
}

/* The cookie of an address: HMAC(secret, address | port)[:16], the secret replaced every 2 minutes. */
static int
cookie_of(struct dgram_server *s, uint64_t now, const struct sockaddr *from, uint8_t cookie[static DGRAM_COOKIE_LEN])
{
	uint8_t who[18];
	size_t n;

	if (s->secret_at == 0 || now - s->secret_at >= DGRAM_COOKIE_SECRET_MS) {
		if (RAND_bytes(s->secret, sizeof(s->secret)) != 1)
			return CVPN_ERR_CRYPTO;
		s->secret_at = now ? now : 1;
	}
	if (from->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;

		memcpy(who, &a->sin6_addr, 16);
		memcpy(who + 16, &a->sin6_port, 2);
		n = 18;
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;

		memcpy(who, &a->sin_addr, 4);
		memcpy(who + 4, &a->sin_port, 2);
		n = 6;
	}
	return dgram_mac(s->secret, sizeof(s->secret), who, n, cookie);
}

/* Answers an INIT without a right mac2 with a COOKIE sealed to its sender. */
static int
send_cookie(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen,
    const uint8_t *init, const uint8_t cookie[static DGRAM_COOKIE_LEN])
{
	uint8_t pkt[DGRAM_COOKIE_PACKET_LEN];
	struct aead *a = NULL;
	int r;

	(void)now;
	pkt[0] = DGRAM_COOKIE;
	pkt[1] = pkt[2] = pkt[3] = 0;
	memcpy(pkt + 4, init + 4, 4);
	if (RAND_bytes(pkt + 8, DGRAM_COOKIE_NONCE_LEN) != 1)
		return CVPN_ERR_CRYPTO;
	if ((r = aead_new(AEAD_CHACHAPOLY, s->cookie_key, sizeof(s->cookie_key), &a)) == 0)
		r = aead_seal_nonce(a, pkt + 8, DGRAM_COOKIE_NONCE_LEN, init + DGRAM_INIT_LEN - 2 * DGRAM_MAC_LEN,
		    DGRAM_MAC_LEN, cookie, DGRAM_COOKIE_LEN, pkt + 8 + DGRAM_COOKIE_NONCE_LEN);
	aead_free(a);
	if (r == 0)
		s->ops.send(s->arg, from, fromlen, pkt, sizeof(pkt));
	return r;
}

/* mac1 first (one HMAC); under load, mac2 too, else a COOKIE and nothing more. */
static int
check_macs(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen, const uint8_t *p)
{
	uint8_t cookie[DGRAM_COOKIE_LEN], key_mac[DGRAM_MAC_LEN];
	int r;

	if (!dgram_mac1_ok(s->mac1_key, p, DGRAM_INIT_LEN))
		return drop(s, DGRAM_DROP_MAC1, CVPN_ERR_BAD_MAC1);
	if (!under_load(s, now))
		return 0;
	if ((r = cookie_of(s, now, from, cookie)) != 0 ||
	    (r = dgram_mac(cookie, sizeof(cookie), p, DGRAM_INIT_LEN - DGRAM_MAC_LEN, key_mac)) != 0)
		return r;
	if (CRYPTO_memcmp(key_mac, p + DGRAM_INIT_LEN - DGRAM_MAC_LEN, DGRAM_MAC_LEN) == 0)
		return 0;
	(void)send_cookie(s, now, from, fromlen, p, cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
	return drop(s, DGRAM_DROP_COOKIE, CVPN_ERR_BUSY);
}

/* ---- Handshake ---- */

static bool
suite_accepted(const struct dgram_server *s, uint8_t code, enum aead_cipher *suite)
{
	size_t i;

	if (!secure_wire_code_suite(code, suite))
		return false;
	for (i = 0; i < s->cfg.nsuites; i++)
		if (s->cfg.suites[i] == *suite)
			return true;
	return false;
}

/* Reads message 1 of an INIT whose macs passed: the client's key and clock. */
static int
read_init(struct dgram_server *s, const uint8_t *p, enum aead_cipher suite, struct noise_handshake **hs,
    uint8_t client[static 32], uint8_t stamp[static REPLAY_TAI64N_LEN])
{
	uint8_t prologue[32];
	char protocol[SECURE_PROTOCOL_MAX];
	size_t plen = dgram_prologue(p, prologue), n;
	int r;

	secure_wire_protocol(SECURE_MODE_KEY, suite, protocol);
	if ((r = noise_handshake_new(protocol, false, prologue, plen, s->cfg.static_priv, NULL, s->cfg.psk, hs)) != 0)
		return r;
	if (noise_handshake_read(*hs, p + 8, DGRAM_NOISE1_LEN, stamp, REPLAY_TAI64N_LEN, &n) != 0 ||
	    n != REPLAY_TAI64N_LEN || noise_handshake_remote_static(*hs, client) != 0)
		return CVPN_ERR_HANDSHAKE;
	return 0;
}

/* Writes and sends RESPONSE: message 2 with the client's configuration, mac1 keyed by the client's key. */
static int
send_response(struct dgram_server *s, struct dgram_peer *peer, struct noise_handshake *hs, uint32_t local,
    const uint8_t *init, const uint8_t *config, size_t clen, uint64_t now)
{
	uint8_t pkt[DGRAM_RESPONSE_MAX], key[32];
	size_t n;
	int r;

	pkt[0] = DGRAM_RESPONSE;
	pkt[1] = pkt[2] = pkt[3] = 0;
	dgram_put32(pkt + 4, local);
	memcpy(pkt + 8, init + 4, 4);
	if ((r = noise_handshake_write(hs, config, clen, pkt + 12, sizeof(pkt) - 12 - 2 * DGRAM_MAC_LEN, &n)) != 0 ||
	    (r = dgram_label_key(DGRAM_MAC1_LABEL, peer->key, key)) != 0 ||
	    (r = dgram_mac(key, sizeof(key), pkt, 12 + n, pkt + 12 + n)) != 0)
		return r;
	memset(pkt + 12 + n + DGRAM_MAC_LEN, 0, DGRAM_MAC_LEN);
	s->ops.send(s->arg, (const struct sockaddr *)&peer->endpoint, peer->endpoint_len, pkt,
	    12 + n + 2 * DGRAM_MAC_LEN);
	peer->last_sent = now;
	return 0;
}

/* After message 1 proved the client: admitted, not replayed, then message 2 and the keys it will take. */
static int
answer_init(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen, const uint8_t *p,
    enum aead_cipher suite, struct noise_handshake *hs, const uint8_t client[static 32],
    const uint8_t stamp[static REPLAY_TAI64N_LEN])
{
	struct dgram_peer *peer = *peer_at(s, client);
	uint8_t config[DGRAM_CONFIG_MAX], raw[2 * AEAD_KEY_LEN];
	struct dgram_keys *keys = NULL;
	bool fresh = peer == NULL;
	uint32_t local;
	size_t clen = 0;
	int r;

	if (fresh && (peer = peer_new(s, client)) == NULL)
		return CVPN_ERR_NOMEM;
	if ((r = s->ops.admit(s->arg, peer, config, sizeof(config), &clen)) != 0 ||
	    (s->cfg.replay && (r = replay_accept(s->cfg.replay, p + 8, stamp)) != 0) ||
	    (r = slot_add(s, peer, &local)) != 0)
		goto out;
	memcpy(&peer->endpoint, from, fromlen);
	peer->endpoint_len = fromlen;
	if ((r = send_response(s, peer, hs, local, p, config, clen, now)) != 0 ||
	    (r = dgram_keys_new(hs, suite, false, local, dgram_get32(p + 4), now, raw, &keys)) != 0) {
		slot_remove(s, local);
		goto out;
	}
	dgram_keys_report(&s->ops, s->arg, peer, suite, dgram_get32(p + 4), local, raw);
	(*slot_at(s, local))->keys = keys;
	keys_drop(s, peer->next);
	peer->next = keys;
	s->stats.handshakes++;
out:
	OPENSSL_cleanse(config, sizeof(config));
	if (r != 0 && fresh)
		peer_free(s, peer);
	return r;
}

static int
take_init(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen, const uint8_t *p,
    size_t n)
{
	uint8_t client[32], stamp[REPLAY_TAI64N_LEN];
	struct noise_handshake *hs = NULL;
	enum aead_cipher suite;
	int r;

	if (n != DGRAM_INIT_LEN || p[3] != 0)
		return drop(s, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	if ((r = check_macs(s, now, from, fromlen, p)) != 0)
		return r;
	if (p[1] != SECURE_MODE_KEY || !suite_accepted(s, p[2], &suite))
		return drop(s, DGRAM_DROP_HANDSHAKE, CVPN_ERR_NO_SUITE);
	/* A copy of an INIT we took is refused by its ephemeral key, before any Diffie-Hellman. */
	if (s->cfg.replay && replay_seen(s->cfg.replay, p + 8))
		return drop(s, DGRAM_DROP_HANDSHAKE, CVPN_ERR_REPLAY);
	if ((r = read_init(s, p, suite, &hs, client, stamp)) == 0)
		r = answer_init(s, now, from, fromlen, p, suite, hs, client, stamp);
	noise_handshake_free(hs);
	OPENSSL_cleanse(client, sizeof(client));
	return r == 0 ? 0 : drop(s, DGRAM_DROP_HANDSHAKE, r);
}

/* ---- Data ---- */

/* The client's first packet under new keys: they become current, the old ones previous. */
static void
confirm(struct dgram_server *s, struct dgram_peer *peer)
{
	keys_drop(s, peer->previous);
	peer->previous = peer->current;
	peer->current = peer->next;
	peer->next = NULL;
}

/* Whether an inner packet comes from the address the client was given. */
static bool
source_ok(const struct dgram_peer *peer, const uint8_t *p, size_t n)
{
	uint32_t src;

	if (peer->source == 0)
		return true;
	if (n < 20 || p[0] >> 4 != 4)
		return false;
	memcpy(&src, p + 12, 4);
	return src == peer->source;
}

static int
take_data(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen, uint8_t *p, size_t n)
{
	struct slot *sl = n >= 8 ? *slot_at(s, dgram_get32(p + 4)) : NULL;
	struct dgram_peer *peer;
	enum dgram_drop why;
	uint8_t *inner;
	size_t len;

	if (sl == NULL || sl->keys == NULL)
		return drop(s, DGRAM_DROP_INDEX, CVPN_ERR_STATE);
	peer = sl->peer;
	if (dgram_keys_open(sl->keys, now, p, n, &inner, &len, &why) != 0)
		return drop(s, why, why == DGRAM_DROP_REPLAY ? CVPN_ERR_REPLAY : CVPN_ERR_DECRYPT);
	if (sl->keys == peer->next)
		confirm(s, peer);
	/* Roaming: an authenticated packet with a new counter says where the client is now. */
	if (fromlen != peer->endpoint_len || memcmp(from, &peer->endpoint, fromlen) != 0) {
		memcpy(&peer->endpoint, from, fromlen);
		peer->endpoint_len = fromlen;
	}
	s->stats.received++;
	peer->last_received = now;
	if (len == 0)
		return 0;
	if (!source_ok(peer, inner, len))
		return drop(s, DGRAM_DROP_SPOOFED, CVPN_ERR_UNAUTHORIZED);
	peer->last_data_received = now;
	peer->answer_due = true;
	s->ops.deliver(s->arg, peer, inner, len);
	return 0;
}

int
dgram_server_receive(struct dgram_server *s, uint64_t now, const struct sockaddr *from, socklen_t fromlen,
    const uint8_t *p, size_t n)
{
	uint8_t *copy;
	int r;

	if (n < DGRAM_HEADER + 4 || fromlen > sizeof(struct sockaddr_storage))
		return drop(s, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	switch (p[0]) {
	case DGRAM_INIT:
		return take_init(s, now, from, fromlen, p, n);
	case DGRAM_DATA:
		/* Opened in place: a copy, so that the caller's buffer stays as it was. */
		if ((copy = malloc(n)) == NULL)
			return CVPN_ERR_NOMEM;
		memcpy(copy, p, n);
		r = take_data(s, now, from, fromlen, copy, n);
		OPENSSL_clear_free(copy, n);
		return r;
	default:
		return drop(s, DGRAM_DROP_MALFORMED, CVPN_ERR_MALFORMED);
	}
}

int
dgram_server_send(struct dgram_server *s, struct dgram_peer *peer, uint64_t now, const uint8_t *p, size_t n)
{
	uint8_t *out;
	size_t len;
	int r;

	if (n > DGRAM_INNER_MAX)
		return CVPN_ERR_TOO_LONG;
	/* New keys wait for the client's first packet under them; until then the current ones send. */
	if (!dgram_keys_usable(peer->current, now))
		return CVPN_ERR_STATE;
	if ((out = malloc(n + DGRAM_DATA_OVERHEAD + DGRAM_PAD)) == NULL)
		return CVPN_ERR_NOMEM;
	if ((r = dgram_keys_seal(peer->current, p, n, out, &len)) == 0) {
		s->ops.send(s->arg, (const struct sockaddr *)&peer->endpoint, peer->endpoint_len, out, len);
		peer->last_sent = now;
		peer->answer_due = false;
		s->stats.sent++;
	}
	free(out);
	return r;
}

/* One peer's due work: a keepalive that answers data left unanswered, keys past use, silence. Returns when next. */
static uint64_t
peer_tick(struct dgram_server *s, struct dgram_peer *peer, uint64_t now, bool *forget)
{
	uint64_t next = now + DGRAM_KEEPALIVE_TIMEOUT_MS;

	if (peer->previous && !dgram_keys_usable(peer->previous, now)) {
		keys_drop(s, peer->previous);
		peer->previous = NULL;
	}
	if (peer->next && now - peer->next->created >= DGRAM_REKEY_TIMEOUT_MS * 18) {
		keys_drop(s, peer->next); /* never confirmed */
		peer->next = NULL;
	}
	if (peer->answer_due && dgram_keys_usable(peer->current, now)) {
		if (now - peer->last_data_received >= DGRAM_KEEPALIVE_TIMEOUT_MS)
			(void)dgram_server_send(s, peer, now, NULL, 0);
		else
			next = peer->last_data_received + DGRAM_KEEPALIVE_TIMEOUT_MS;
	}
	*forget = !dgram_keys_usable(peer->current, now) && peer->next == NULL &&
	    now - peer->last_received >= FORGET_AFTER_MS;
	return next;
}

uint64_t
dgram_server_tick(struct dgram_server *s, uint64_t now)
{
	struct dgram_peer *peer, *following;
	uint64_t next = now + DGRAM_KEEPALIVE_TIMEOUT_MS, t;
	bool forget;

	for (peer = s->peers; peer != NULL; peer = following) {
		following = peer->following;
		t = peer_tick(s, peer, now, &forget);
		if (forget)
			peer_free(s, peer);
		else if (t < next)
			next = t;
	}
	return next > now ? next : now + 1;
}

void
dgram_server_stats(const struct dgram_server *s, struct dgram_stats *out)
{
	*out = s->stats;
}

void
dgram_server_free(struct dgram_server *s)
{
	if (s == NULL)
		return;
	while (s->peers != NULL)
		peer_free(s, s->peers);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const uint8_t *
dgram_peer_key(const struct dgram_peer *peer)
{
	return peer->key;
}

const struct sockaddr *
dgram_peer_endpoint(const struct dgram_peer *peer, socklen_t *len)
{
	*len = peer->endpoint_len;
	return (const struct sockaddr *)&peer->endpoint;
}

void *
dgram_peer_data(const struct dgram_peer *peer)
{
	return peer->data;
}

void
dgram_peer_set_data(struct dgram_peer *peer, void *data)
{
	peer->data = data;
}

void
dgram_peer_set_source(struct dgram_peer *peer, uint32_t ipv4)
{
	peer->source = ipv4;
}
