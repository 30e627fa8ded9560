/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <strings.h>

#include <openssl/provider.h>

#include "err.h"
#include "suite.h"

#define SUITE_MAX_SIZES 3

struct suite_size {
	unsigned bits;
	uint8_t key_chars;  /* characters of shared_key used as key */
	uint8_t key_len;    /* key bytes handed to the cipher (DES appends a NUL) */
	const char *evp;    /* EVP cipher name, NULL for XOR and None */
};

struct suite {
	const char *name;
	enum suite_kind kind;
	uint8_t iv_len;
	bool insecure;
	const char *description;
	struct suite_size sizes[SUITE_MAX_SIZES];
};

/*
 * The order of this table is the default preference order of the server and
 * the order of the client's default proposal.
 */
static const struct suite suites[] = {
	{ "AES", SUITE_CBC, 16, false, "AES in CBC mode, 128-bit block",
	    { { 128, 16, 16, "AES-128-CBC" }, { 192, 24, 24, "AES-192-CBC" }, { 256, 32, 32, "AES-256-CBC" } } },
	{ "Blowfish", SUITE_CBC, 8, false, "Blowfish in CBC mode, 64-bit block (legacy provider)",
	    { { 112, 14, 14, "BF-CBC" }, { 224, 28, 28, "BF-CBC" }, { 448, 56, 56, "BF-CBC" } } },
	{ "DES3", SUITE_CBC, 8, false, "Triple DES (EDE) in CBC mode, two- or three-key",
	    { { 128, 16, 16, "DES-EDE-CBC" }, { 192, 24, 24, "DES-EDE3-CBC" } } },
	{ "DES", SUITE_CBC, 8, false, "single DES in CBC mode; key is 7 hex characters + NUL (legacy provider)",
	    { { 56, 7, 8, "DES-CBC" } } },
	{ "XOR", SUITE_XOR, 0, true, "repeating-key XOR, no IV: no confidentiality (teaching only)",
	    { { 128, 16, 16, NULL }, { 256, 32, 32, NULL } } },
	{ "None", SUITE_NONE, 0, true, "no encryption, HMAC only (teaching only)",
	    { { 128, 16, 16, NULL } } },
};

#define NSUITES (sizeof(suites) / sizeof(suites[0]))

static EVP_CIPHER *fetched[NSUITES][SUITE_MAX_SIZES];
static bool initialised;

int
suite_init(void)
{
	size_t i, j;

	if (initialised)
		return 0;
	/* Loading any provider stops the implicit default one, so load both. */
	if (OSSL_PROVIDER_load(NULL, "default") == NULL)
		return CVPN_ERR_CRYPTO;
	if (OSSL_PROVIDER_load(NULL, "legacy") == NULL)
		return CVPN_ERR_PROVIDER;
	for (i = 0; i < NSUITES; i++) {
		for (j = 0; j < SUITE_MAX_SIZES && suites[i].sizes[j].bits; j++) {
			if (suites[i].sizes[j].evp == NULL)
				continue;
			fetched[i][j] = EVP_CIPHER_fetch(NULL, suites[i].sizes[j].evp, NULL);
			if (fetched[i][j] == NULL)
				return CVPN_ERR_PROVIDER;
		}
	}
	initialised = true;
	return 0;
}

size_t
suite_count(void)
{
	return NSUITES;
}

const struct suite *
suite_at(size_t i)
{
	return i < NSUITES ? &suites[i] : NULL;
}

const struct suite *
suite_by_name(const char *name, size_t len, bool icase)
{
	size_t i;

	for (i = 0; i < NSUITES; i++) {
		if (strlen(suites[i].name) != len)
			continue;
		if (icase ? strncasecmp(suites[i].name, name, len) == 0 : memcmp(suites[i].name, name, len) == 0)
			return &suites[i];
	}
	return NULL;
}

const char *
suite_name(const struct suite *s)
{
	return s->name;
}

const char *
suite_description(const struct suite *s)
{
	return s->description;
}

enum suite_kind
suite_kind(const struct suite *s)
{
	return s->kind;
}

bool
suite_insecure(const struct suite *s)
{
	return s->insecure;
}

size_t
suite_size_count(const struct suite *s)
{
	size_t n = 0;

	while (n < SUITE_MAX_SIZES && s->sizes[n].bits)
		n++;
	return n;
}

unsigned
suite_size_at(const struct suite *s, size_t i)
{
	return i < suite_size_count(s) ? s->sizes[i].bits : 0;
}

static const struct suite_size *
find_size(const struct suite *s, unsigned bits, size_t *index)
{
	size_t i;

	for (i = 0; i < suite_size_count(s); i++) {
		if (s->sizes[i].bits == bits) {
			if (index)
				*index = i;
			return &s->sizes[i];
		}
	}
	return NULL;
}

bool
suite_has_size(const struct suite *s, unsigned bits)
{
	return find_size(s, bits, NULL) != NULL;
}

size_t
suite_iv_len(const struct suite *s)
{
	return s->iv_len;
}

size_t
suite_key_len(const struct suite *s, unsigned bits)
{
	const struct suite_size *z = find_size(s, bits, NULL);

	return z ? z->key_len : 0;
}

const EVP_CIPHER *
suite_evp(const struct suite *s, unsigned bits)
{
	size_t i;

	if (find_size(s, bits, &i) == NULL)
		return NULL;
	return fetched[s - suites][i];
}

int
suite_derive(const struct suite *s, unsigned bits, const char shared_key[static SUITE_SHARED_KEY_LEN],
    uint8_t *key, size_t *key_len, uint8_t *iv, size_t *iv_len)
{
	const struct suite_size *z = find_size(s, bits, NULL);

	if (z == NULL)
		return CVPN_ERR_UNKNOWN_CIPHER;
	/* The key is ASCII hex text, not the decoded digest: that is the lab's rule. */
	memset(key, 0, z->key_len);
	memcpy(key, shared_key, z->key_chars);
	memcpy(iv, shared_key + SUITE_SHARED_KEY_LEN - s->iv_len, s->iv_len);
	*key_len = z->key_len;
	*iv_len = s->iv_len;
	return 0;
}
