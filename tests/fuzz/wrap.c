/* SPDX-License-Identifier: MIT */
/*
 * cvpn fuzzing: link-time wrappers (fuzz.mk links every target with
 * -Wl,--wrap=dh_from_private,--wrap=dh_free,--wrap=dh_compute_secret,--wrap=BN_dec2bn).
 *
 * BN_dec2bn: the DH parser must never hand OpenSSL more than DH_MAX_DIGITS
 * digits (a quadratic conversion); every call is checked.
 *
 * The lab Diffie-Hellman is memoized: a group 18 exponentiation costs
 * ~14 ms, and an engine target would spend nearly all its time there. The
 * functions are deterministic, so the fuzz build computes each result once:
 * the key pair of a fixed private key once per process (shared by every
 * engine; dh_free leaves it alone), and a secret once per (key pair, peer
 * value). Parsing, checks, state and everything after the exponentiation
 * still run on every input. The generator (make-seeds) links the real
 * functions.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "dh.h"
#include "err.h"
#include "harness.h"

int __real_dh_from_private(const uint8_t *priv, size_t len, struct dh **out);
void __real_dh_free(struct dh *dh);
int __real_dh_compute_secret(const struct dh *dh, const uint8_t *digits, size_t n, uint8_t **out, size_t *outlen);
int __wrap_dh_from_private(const uint8_t *priv, size_t len, struct dh **out);
void __wrap_dh_free(struct dh *dh);
int __wrap_dh_compute_secret(const struct dh *dh, const uint8_t *digits, size_t n, uint8_t **out, size_t *outlen);

int __real_BN_dec2bn(BIGNUM **bn, const char *a);
int __wrap_BN_dec2bn(BIGNUM **bn, const char *a);

int
__wrap_BN_dec2bn(BIGNUM **bn, const char *a)
{
	FZ_ASSERT(strlen(a) <= DH_MAX_DIGITS);
	return __real_BN_dec2bn(bn, a);
}

#define KEYS 4
#define SECRETS 64

static struct {
	uint8_t priv[1024];
	size_t len;
	struct dh *dh;
} keys[KEYS];
static size_t nkeys;

static struct {
	const struct dh *dh;
	uint8_t *digits;
	size_t n;
	uint8_t *secret;
	size_t len;
} secrets[SECRETS];
static size_t next_secret;

static bool
cached_key(const struct dh *dh)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (keys[i].dh == dh)
			return true;
	return false;
}

int
__wrap_dh_from_private(const uint8_t *priv, size_t len, struct dh **out)
{
	size_t i;
	int r;

	for (i = 0; i < nkeys; i++) {
		if (keys[i].len == len && memcmp(keys[i].priv, priv, len) == 0) {
			*out = keys[i].dh;
			return 0;
		}
	}
	if ((r = __real_dh_from_private(priv, len, out)) != 0 || nkeys == KEYS || len > sizeof(keys[0].priv))
		return r;
	memcpy(keys[nkeys].priv, priv, len);
	keys[nkeys].len = len;
	keys[nkeys++].dh = *out;
	return 0;
}

void
__wrap_dh_free(struct dh *dh)
{
	if (!cached_key(dh))
		__real_dh_free(dh);
}

int
__wrap_dh_compute_secret(const struct dh *dh, const uint8_t *digits, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t *copy, *secret;
	size_t i, len;
	int r;

	if (!cached_key(dh))
		return __real_dh_compute_secret(dh, digits, n, out, outlen);
	for (i = 0; i < SECRETS; i++) {
		if (secrets[i].dh == dh && secrets[i].n == n && memcmp(secrets[i].digits, digits, n) == 0) {
			/* The caller releases it with OPENSSL_clear_free, as the real one's. */
			if ((*out = OPENSSL_memdup(secrets[i].secret, secrets[i].len)) == NULL)
				return CVPN_ERR_NOMEM;
			*outlen = secrets[i].len;
			return 0;
		}
	}
	if ((r = __real_dh_compute_secret(dh, digits, n, &secret, &len)) != 0)
		return r;
	if ((copy = malloc(n)) != NULL) {
		i = next_secret++ % SECRETS;
		free(secrets[i].digits);
		OPENSSL_clear_free(secrets[i].secret, secrets[i].len);
		memcpy(copy, digits, n);
		secrets[i].dh = dh;
		secrets[i].digits = copy;
		secrets[i].n = n;
		secrets[i].secret = OPENSSL_memdup(secret, len);
		secrets[i].len = secrets[i].secret ? len : 0;
		if (secrets[i].secret == NULL)
			secrets[i].dh = NULL;
	}
	*out = secret;
	*outlen = len;
	return 0;
}
