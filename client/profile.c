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
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netinet/in.h>

#include <openssl/crypto.h>

#include "client.h"
#include "err.h"
#include "keys.h"
#include "noise.h"
#include "secure_wire.h"

static int
key_failure(struct failure *f, const char *what, const char *path, int r)
{
	f->exit = CLIENT_USAGE;
	f->code = cvpn_errname(r);
	keys_file_message(r, what, path, f->message, sizeof(f->message));
	return -1;
}

/* The addresses a host name stands for, to match known-servers entries written another way. */
struct wanted {
	const char *host, *port;
	struct sockaddr_storage addr[16];
	size_t naddr;
};

/* The addresses host resolves to, up to max of them (numeric names resolve without the network). */
static void
resolve(const char *host, struct sockaddr_storage *out, size_t *n, size_t max)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;

	*n = 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL && *n < max; ai = ai->ai_next)
		if (ai->ai_addrlen <= sizeof(out[0]))
			memcpy(&out[(*n)++], ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
}

/* The same address (family and bytes; the port is compared as text). */
static bool
same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	return a->ss_family == AF_INET6 && memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/*
 * A known-servers entry names the server we connect to when its port is ours
 * (or any) and its host is ours as written, or stands for one of the
 * addresses ours does: "localhost:4600" is the server of -H 127.0.0.1 -p 4600.
 */
static bool
names_server(void *arg, const char *host, const char *port)
{
	struct wanted *w = arg;
	struct sockaddr_storage theirs[16];
	size_t n, i, j;

	if (port != NULL && strcmp(port, w->port) != 0)
		return false;
	if (strcmp(host, w->host) == 0)
		return true;
	resolve(host, theirs, &n, sizeof(theirs) / sizeof(theirs[0]));
	for (i = 0; i < n; i++)
		for (j = 0; j < w->naddr; j++)
			if (same_address(&theirs[i], &w->addr[j]))
				return true;
	return false;
}

/*
 * Looks the server up in the known-servers file (--known-servers, else
 * ~/.cvpn/known_servers when it exists). Returns 1 with sc->server_pub set
 * and *where naming the entry, 0 when it is not there, or -1 with *f.
 */
static int
known_server(const struct client_config *cfg, const struct profile_args *pa, struct secure_config *sc,
    char *where, size_t wlen, struct failure *f)
{
	const char *home = getenv("HOME");
	struct wanted w = { .host = cfg->host, .port = cfg->port };
	char path[4096];
	unsigned line = 0;
	int r;

	if (pa->known_servers)
		snprintf(path, sizeof(path), "%s", pa->known_servers);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.cvpn/known_servers", home);
	else
		return 0;
	if (!pa->known_servers && access(path, F_OK) != 0)
		return 0;
	resolve(cfg->host, w.addr, &w.naddr, sizeof(w.addr) / sizeof(w.addr[0]));
	r = keys_known_server(path, names_server, &w, sc->server_pub, &line);
	if (r == CVPN_ERR_UNKNOWN_SERVER)
		return 0;
	if (r == CVPN_ERR_KEY_FORMAT)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), ", line %u", line);
	if (r != 0)
		return key_failure(f, "known-servers file", path, r);
	snprintf(where, wlen, "%s, line %u", path, line);
	return 1;
}

int
profile_configure(struct client_config *cfg, const struct profile_args *pa, struct failure *f)
{
	struct secure_config *sc = &cfg->engine.secure;
	char where[4200];
	int r;

	if (pa->server_key && keys_from_base64(pa->server_key, strlen(pa->server_key), sc->server_pub) != 0) {
		f->exit = CLIENT_USAGE;
		f->code = "key_format";
		snprintf(f->message, sizeof(f->message), "--server-key: %s", cvpn_strerror(CVPN_ERR_KEY_FORMAT));
		return -1;
	}
	sc->server_pub_set = pa->server_key != NULL;
	if (!sc->server_pub_set && (r = known_server(cfg, pa, sc, where, sizeof(where), f)) != 0) {
		if (r < 0)
			return -1;
		/* A server we have a key for gets nothing readable from us, whatever --profile says. */
		if (pa->profile == PROFILE_LAB) {
			f->exit = CLIENT_USAGE;
			f->code = "known_server";
			snprintf(f->message, sizeof(f->message), "a key for this server is known (%.300s): refusing the "
			    "unauthenticated lab profile toward it (use another --known-servers file to speak lab "
			    "to it anyway)", where);
			return -1;
		}
		sc->server_pub_set = true;
	}
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
	if (sc->nsuites == 0 && engine_parse_suites(SECURE_DEFAULT_SUITES, sc) != 0)
		return -1;
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
