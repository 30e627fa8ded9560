/* SPDX-License-Identifier: MIT */
/*
 * cvpn: what both ends of the UDP transport share (dgram_int.h): the keys of
 * a handshake and the DATA packets sealed and opened under them, the keys
 * derived from a public key, the macs, and the prologue.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dgram_int.h"
#include "err.h"
#include "noise.h"
#include "secure_wire.h"

void
dgram_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
dgram_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
dgram_put64(uint8_t *p, uint64_t v)
{
	dgram_put32(p, (uint32_t)(v >> 32));
	dgram_put32(p + 4, (uint32_t)v);
}

uint64_t
dgram_get64(const uint8_t *p)
{
	return (uint64_t)dgram_get32(p) << 32 | dgram_get32(p + 4);
}

int
dgram_random_index(uint32_t *out)
{
	uint8_t b[4];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return CVPN_ERR_CRYPTO;
	*out = dgram_get32(b);
	return 0;
}

/* ---- Keys ---- */

int
dgram_keys_new(struct noise_handshake *hs, enum aead_cipher suite, bool initiator, uint32_t local,
    uint32_t remote, uint64_t now, uint8_t raw[2 * AEAD_KEY_LEN], struct dgram_keys **out)
{
	uint8_t keys[2 * AEAD_KEY_LEN];
	struct dgram_keys *k = calloc(1, sizeof(*k));
	int r;

	if (k == NULL)
		return CVPN_ERR_NOMEM;
	/* The first half is the initiator's (the client's) sending key. */
	if ((r = noise_handshake_split_keys(hs, keys)) == 0 &&
	    (r = aead_new(suite, initiator ? keys : keys + AEAD_KEY_LEN, AEAD_KEY_LEN, &k->send)) == 0)
		r = aead_new(suite, initiator ? keys + AEAD_KEY_LEN : keys, AEAD_KEY_LEN, &k->recv);
	if (r == 0 && raw != NULL)
		memcpy(raw, keys, sizeof(keys));
	OPENSSL_cleanse(keys, sizeof(keys));
	if (r != 0) {
		dgram_keys_free(k);
		return r;
	}
	k->local = local;
	k->remote = remote;
	k->created = now;
	replaywin_init(&k->window);
	*out = k;
	return 0;
}

void
dgram_keys_report(const struct dgram_ops *ops, void *arg, struct dgram_peer *peer, enum aead_cipher suite,
    uint32_t client_index, uint32_t server_index, uint8_t raw[2 * AEAD_KEY_LEN])
{
	char protocol[SECURE_PROTOCOL_MAX];
	struct dgram_keylog k = { protocol, client_index, server_index, raw, raw + AEAD_KEY_LEN };

	if (ops->keys != NULL) {
		secure_wire_protocol(SECURE_MODE_KEY, suite, protocol);
		ops->keys(arg, peer, &k);
	}
	OPENSSL_cleanse(raw, 2 * AEAD_KEY_LEN);
}

bool
dgram_keys_usable(const struct dgram_keys *k, uint64_t now)
{
	return k != NULL && now - k->created < DGRAM_REJECT_AFTER_MS && k->next_counter < DGRAM_REJECT_AFTER_PACKETS;
}

int
dgram_keys_seal(struct dgram_keys *k, const uint8_t *p, size_t n, uint8_t *out, size_t *outlen)
{
	size_t padded = (n + DGRAM_PAD - 1) / DGRAM_PAD * DGRAM_PAD;
	int r;

	if (n > DGRAM_INNER_MAX)
		return CVPN_ERR_TOO_LONG;
	if (k->next_counter >= DGRAM_REJECT_AFTER_PACKETS)
		return CVPN_ERR_NONCE_EXHAUSTED;
	out[0] = DGRAM_DATA;
	out[1] = out[2] = out[3] = 0;
	dgram_put32(out + 4, k->remote);
	dgram_put64(out + 8, k->next_counter);
	if (n)
		memmove(out + DGRAM_DATA_HEADER, p, n);
	memset(out + DGRAM_DATA_HEADER + n, 0, padded - n);
	if ((r = aead_seal(k->send, k->next_counter, out, DGRAM_DATA_HEADER, out + DGRAM_DATA_HEADER, padded,
	    out + DGRAM_DATA_HEADER)) != 0) {
		OPENSSL_cleanse(out, DGRAM_DATA_HEADER + padded);
		return r;
	}
	k->next_counter++;
	*outlen = DGRAM_DATA_HEADER + padded + AEAD_TAG_LEN;
	return 0;
}

/* The length an inner packet's own header gives it, or 0 when it is no IP packet that fits n bytes. */
static size_t
inner_length(const uint8_t *p, size_t n)
{
	size_t len;

	if (n >= 20 && p[0] >> 4 == 4) {
		len = (size_t)p[2] << 8 | p[3];
		return len >= 20 && len <= n ? len : 0;
	}
	if (n >= 40 && p[0] >> 4 == 6) {
		len = 40 + ((size_t)p[4] << 8 | p[5]);
		return len <= n ? len : 0;
	}
	return 0;
}

int
dgram_keys_open(struct dgram_keys *k, uint64_t now, uint8_t *p, size_t n, uint8_t **inner, size_t *len,
    enum dgram_drop *why)
{
	uint64_t counter;
	size_t ptlen, trimmed = 0;

	if (n < DGRAM_DATA_OVERHEAD || (n - DGRAM_DATA_OVERHEAD) % DGRAM_PAD != 0) {
		*why = DGRAM_DROP_MALFORMED;
		return -1;
	}
	counter = dgram_get64(p + 8);
	if (counter >= DGRAM_REJECT_AFTER_PACKETS || now - k->created >= DGRAM_REJECT_AFTER_MS) {
		*why = DGRAM_DROP_EXPIRED;
		return -1;
	}
	if (aead_open(k->recv, counter, p, DGRAM_DATA_HEADER, p + DGRAM_DATA_HEADER, n - DGRAM_DATA_HEADER,
	    p + DGRAM_DATA_HEADER, &ptlen) != 0) {
		*why = DGRAM_DROP_DECRYPT;
		return -1;
	}
	/* Only an authenticated counter may move the window. */
	if (!replaywin_accept(&k->window, counter)) {
		*why = DGRAM_DROP_REPLAY;
		return -1;
	}
	if (ptlen > 0 && (trimmed = inner_length(p + DGRAM_DATA_HEADER, ptlen)) == 0) {
		*why = DGRAM_DROP_MALFORMED;
		return -1;
	}
	k->confirmed = true;
	*inner = p + DGRAM_DATA_HEADER;
	*len = trimmed;
	return 0;
}

void
dgram_keys_free(struct dgram_keys *k)
{
	if (k == NULL)
		return;
	aead_free(k->send);
	aead_free(k->recv);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* ---- Macs and prologue ---- */

int
dgram_label_key(const char *label, const uint8_t pub[static 32], uint8_t key[static 32])
{
	uint8_t in[8 + 32];
	unsigned int len = 32;
	int r;

	memcpy(in, label, 8);
	memcpy(in + 8, pub, 32);
	r = EVP_Digest(in, sizeof(in), key, &len, EVP_sha256(), NULL) == 1 ? 0 : CVPN_ERR_CRYPTO;
	OPENSSL_cleanse(in, sizeof(in));
	return r;
}

int
dgram_mac(const uint8_t *key, size_t keylen, const uint8_t *p, size_t n, uint8_t mac[static DGRAM_MAC_LEN])
{
	uint8_t full[NOISE_HASH_LEN];
	int r;

	if ((r = noise_hmac(key, keylen, p, n, full)) == 0)
		memcpy(mac, full, DGRAM_MAC_LEN);
	OPENSSL_cleanse(full, sizeof(full));
	return r;
}

bool
dgram_mac1_ok(const uint8_t key[static 32], const uint8_t *p, size_t n)
{
	size_t at = n - 2 * DGRAM_MAC_LEN;

	return n >= 2 * DGRAM_MAC_LEN && noise_hmac_verify(key, 32, p, at, p + at, DGRAM_MAC_LEN) == 0;
}

size_t
dgram_prologue(const uint8_t header[static DGRAM_HEADER], uint8_t out[static 32])
{
	size_t n = strlen(DGRAM_PROLOGUE_LABEL);

	memcpy(out, DGRAM_PROLOGUE_LABEL, n);
	memcpy(out + n, header, DGRAM_HEADER);
	return n + DGRAM_HEADER;
}
