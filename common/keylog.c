/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aead.h"
#include "dgram.h"
#include "engine.h"
#include "err.h"
#include "keylog.h"
#include "suite.h"
#include "text.h"

#define HEADER "# cvpn key log (docs/PROTOCOL.md, docs/SECURE.md): " \
	"CVPN_LAB <client> <server> <cipher> <bits> <key> <iv> <hmac> | " \
	"CVPN_SECURE <client> <server> <protocol> <client-to-server key> <server-to-client key> | " \
	"CVPN_UDP <client> <server> <protocol> <client index> <server index> <c2s key> <s2c key>\n"

struct keylog {
	int fd;
};

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return CVPN_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
keylog_open(const char *path, struct keylog **out, bool *shared)
{
	struct keylog *kl;
	struct stat st;
	int fd, err;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return CVPN_ERR_IO;
	if (fstat(fd, &st) < 0 || (st.st_size == 0 && write_all(fd, HEADER, strlen(HEADER)) != 0))
		goto fail;
	if ((kl = malloc(sizeof(*kl))) == NULL) {
		close(fd);
		return CVPN_ERR_NOMEM;
	}
	kl->fd = fd;
	*shared = (st.st_mode & 077) != 0;
	*out = kl;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return CVPN_ERR_IO;
}

int
keylog_format(char *out, size_t outlen, const char *client, const char *server, const struct engine_event *key)
{
	char keyhex[2 * SUITE_MAX_KEY + 1], ivhex[2 * SUITE_MAX_KEY + 1];
	int n;

	if (key->protocol) {
		text_hex(keyhex, key->c2s_key, key->transport_key_len);
		text_hex(ivhex, key->s2c_key, key->transport_key_len);
		n = snprintf(out, outlen, "CVPN_SECURE %s %s %s %s %s\n", client, server, key->protocol, keyhex, ivhex);
	} else {
		text_hex(keyhex, key->key, key->key_len);
		text_hex(ivhex, key->iv, key->iv_len);
		n = snprintf(out, outlen, "CVPN_LAB %s %s %s %u %s %s %s\n", client, server, suite_name(key->suite),
		    key->bits, keyhex, key->iv_len ? ivhex : "-", record_hmac_name(key->hmac));
	}
	OPENSSL_cleanse(ivhex, sizeof(ivhex));
	OPENSSL_cleanse(keyhex, sizeof(keyhex));
	if (n < 0 || (size_t)n >= outlen)
		return CVPN_ERR_TOO_LONG;
	return n;
}

/* Appends a formatted line with one write(), then wipes it. */
static int
write_line(struct keylog *kl, char *line, size_t size, int n)
{
	int r;

	if (n < 0)
		return n;
	r = write_all(kl->fd, line, (size_t)n);
	OPENSSL_cleanse(line, size);
	return r;
}

int
keylog_write(struct keylog *kl, const char *client, const char *server, const struct engine_event *key)
{
	char line[512];

	return write_line(kl, line, sizeof(line), keylog_format(line, sizeof(line), client, server, key));
}

int
keylog_format_udp(char *out, size_t outlen, const char *client, const char *server, const struct dgram_keylog *k)
{
	char c2s[2 * AEAD_KEY_LEN + 1], s2c[2 * AEAD_KEY_LEN + 1];
	int n;

	text_hex(c2s, k->c2s, AEAD_KEY_LEN);
	text_hex(s2c, k->s2c, AEAD_KEY_LEN);
	n = snprintf(out, outlen, "CVPN_UDP %s %s %s %08" PRIx32 " %08" PRIx32 " %s %s\n", client, server, k->protocol,
	    k->client_index, k->server_index, c2s, s2c);
	OPENSSL_cleanse(c2s, sizeof(c2s));
	OPENSSL_cleanse(s2c, sizeof(s2c));
	if (n < 0 || (size_t)n >= outlen)
		return CVPN_ERR_TOO_LONG;
	return n;
}

int
keylog_write_udp(struct keylog *kl, const char *client, const char *server, const struct dgram_keylog *k)
{
	char line[512];

	return write_line(kl, line, sizeof(line), keylog_format_udp(line, sizeof(line), client, server, k));
}

void
keylog_free(struct keylog *kl)
{
	if (kl == NULL)
		return;
	close(kl->fd);
	free(kl);
}
