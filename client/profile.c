/* SPDX-License-Identifier: MIT */
/*
 * Which profile the client speaks, and the keys of the secure one: the
 * server's key from --server-key or the known-servers file, our own key, the
 * PSK; plus the genkey and pubkey commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"
#include "keys.h"
#include "noise.h"

static int
key_failure(struct failure *f, const char *what, const char *path, int r)
{
	f->exit = CLIENT_USAGE;
	f->code = cvpn_errname(r);
	if (r == CVPN_ERR_IO)
		snprintf(f->message, sizeof(f->message), "cannot read %s '%s': %s", what, path, strerror(errno));
	else if (r == CVPN_ERR_KEY_PERMS)
		snprintf(f->message, sizeof(f->message), "%s '%s' is readable by group or others: chmod 600 '%s'",
		    what, path, path);
	else
		snprintf(f->message, sizeof(f->message), "%s '%s': %s", what, path, cvpn_strerror(r));
	return -1;
}

/* The known-servers file: --known-servers, else ~/.cvpn/known_servers when it exists. */
static int
known_server(const struct client_config *cfg, const struct profile_args *pa, struct engine_secure *sc,
    struct failure *f)
{
	const char *home = getenv("HOME");
	char path[4096];
	int r;

	if (pa->known_servers)
		snprintf(path, sizeof(path), "%s", pa->known_servers);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.cvpn/known_servers", home);
	else
		return 0;
	if (!pa->known_servers && access(path, F_OK) != 0)
		return 0;
	r = keys_known_server(path, cfg->host, cfg->port, sc->server_pub);
	if (r == CVPN_ERR_UNKNOWN_SERVER)
		return 0;
	if (r != 0)
		return key_failure(f, "known-servers file", path, r);
	sc->server_pub_set = true;
	return 0;
}

int
profile_configure(struct client_config *cfg, const struct profile_args *pa, struct failure *f)
{
	struct engine_secure *sc = &cfg->engine.secure;
	int r;

	if (pa->server_key && keys_from_base64(pa->server_key, strlen(pa->server_key), sc->server_pub) != 0) {
		f->exit = CLIENT_USAGE;
		f->code = "key_format";
		snprintf(f->message, sizeof(f->message), "--server-key: %s", cvpn_strerror(CVPN_ERR_KEY_FORMAT));
		return -1;
	}
	sc->server_pub_set = pa->server_key != NULL;
	if (!sc->server_pub_set && pa->profile != PROFILE_LAB && known_server(cfg, pa, sc, f) != 0)
		return -1;
	if (pa->psk && (r = keys_load_secret(pa->psk, sc->psk)) != 0)
		return key_failure(f, "PSK file", pa->psk, r);
	sc->has_psk = pa->psk != NULL;
	if (pa->key && (r = keys_load_secret(pa->key, sc->static_priv)) != 0)
		return key_failure(f, "key file", pa->key, r);
	sc->static_priv_set = pa->key != NULL;
	/* Secure whenever there is a key to be secure with, unless told otherwise. */
	sc->enabled = pa->profile == PROFILE_SECURE ||
	    (pa->profile == PROFILE_AUTO && (sc->server_pub_set || sc->has_psk));
	if (sc->enabled && !sc->server_pub_set && !sc->has_psk) {
		f->exit = CLIENT_USAGE;
		f->code = "no_key";
		snprintf(f->message, sizeof(f->message),
		    "the secure profile needs the server's key (--server-key or --known-servers) or a PSK (--psk)");
		return -1;
	}
	if (sc->nsuites == 0) {
		sc->suites[0] = AEAD_CHACHAPOLY;
		sc->suites[1] = AEAD_AESGCM;
		sc->nsuites = 2;
	}
	return 0;
}

int
profile_genkey(void)
{
	uint8_t priv[KEYS_LEN], pub[KEYS_LEN];
	char b64[KEYS_B64_LEN + 1];
	struct stat st;

	/* A private key in a file others can read is refused later: make the file ours alone now. */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 &&
	    fchmod(STDOUT_FILENO, st.st_mode & 0700) != 0)
		fprintf(stderr, "cvpn-client: warning: writing a private key to a file others can read "
		    "(use umask 077, or chmod 600 it)\n");
	if (noise_keypair_generate(priv, pub) != 0) {
		fprintf(stderr, "cvpn-client: cannot generate a key: %s\n", cvpn_strerror(CVPN_ERR_CRYPTO));
		return CLIENT_SOFTWARE;
	}
	keys_to_base64(priv, b64);
	printf("%s\n", b64);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(b64, sizeof(b64));
	return CLIENT_OK;
}

int
profile_pubkey(void)
{
	uint8_t priv[KEYS_LEN], pub[KEYS_LEN];
	char line[256], b64[KEYS_B64_LEN + 1];
	int r = CLIENT_USAGE;

	if (fgets(line, sizeof(line), stdin) == NULL ||
	    keys_from_base64(line, strlen(line), priv) != 0) {
		fprintf(stderr, "cvpn-client: pubkey reads a private key (base64, 44 characters) on stdin\n");
		goto out;
	}
	if (noise_public_key(priv, pub) != 0) {
		r = CLIENT_SOFTWARE;
		goto out;
	}
	keys_to_base64(pub, b64);
	printf("%s\n", b64);
	r = CLIENT_OK;
out:
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(line, sizeof(line));
	return r;
}
