/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"
#include "keys.h"
#include "permit.h"

/* Longest line we read from a key file or a list: a key is 44 characters, its options may be many. */
#define LINE_MAX_LEN 4096
/* A list is for people to edit: cap its size rather than trust it. */
#define LIST_MAX_KEYS 100000
/* The option of an authorized-clients line that permits a forwarding destination. */
#define PERMIT_OPTION "permit="
/* The option that gives the key a fixed address in the IP tunnel. */
#define ADDRESS_OPTION "address="

/* One line of a list: a key, the destinations it may forward to (NULL: none), its tunnel address. */
struct keys_entry {
	uint8_t key[KEYS_LEN];
	struct permit_list *permits;
	uint32_t address;       /* host order; 0: none */
	unsigned line;
};

struct keys_list {
	size_t n, cap;
	struct keys_entry *entries;
};

void
keys_to_base64(const uint8_t key[static KEYS_LEN], char out[static KEYS_B64_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, key, KEYS_LEN);
	out[KEYS_B64_LEN] = '\0';
}

int
keys_from_base64(const char *text, size_t len, uint8_t key[static KEYS_LEN])
{
	unsigned char decoded[KEYS_B64_LEN], again[KEYS_B64_LEN + 1];
	size_t start = 0, end = len;
	int n, r;

	while (start < end && isspace((unsigned char)text[start]))
		start++;
	while (end > start && isspace((unsigned char)text[end - 1]))
		end--;
	/* 32 bytes are exactly 44 characters ending in one '='. */
	if (end - start != KEYS_B64_LEN || text[start + KEYS_B64_LEN - 1] != '=' ||
	    text[start + KEYS_B64_LEN - 2] == '=')
		return CVPN_ERR_KEY_FORMAT;
	n = EVP_DecodeBlock(decoded, (const unsigned char *)text + start, KEYS_B64_LEN);
	/* EVP_DecodeBlock counts the padding as data: 33 bytes, the last one zero. */
	if (n != KEYS_LEN + 1) {
		r = CVPN_ERR_KEY_FORMAT;
		goto out;
	}
	/*
	 * EVP_DecodeBlock reads an '=' inside the text as 'A' and ignores the
	 * last character's unused bits, so several spellings would name one
	 * key. Accept only the canonical one: the text must encode back to
	 * itself, as wg(8) insists.
	 */
	EVP_EncodeBlock(again, decoded, KEYS_LEN);
	if (CRYPTO_memcmp(again, text + start, KEYS_B64_LEN) != 0) {
		r = CVPN_ERR_KEY_FORMAT;
		goto out;
	}
	memcpy(key, decoded, KEYS_LEN);
	r = 0;
out:
	OPENSSL_cleanse(decoded, sizeof(decoded));
	OPENSSL_cleanse(again, sizeof(again));
	return r;
}

/* True for lines that carry nothing: blank or a '#' comment. */
static bool
skip_line(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return *line == '\0' || *line == '#';
}

int
keys_check_file(int fd, enum keys_file_kind kind)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return CVPN_ERR_IO;
	/* Whoever owns the file can change it: only we and root may. */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return CVPN_ERR_FILE_OWNER;
	if ((st.st_mode & 022) != 0)
		return CVPN_ERR_FILE_WRITABLE;
	if (kind == KEYS_FILE_SECRET && (st.st_mode & 044) != 0)
		return CVPN_ERR_KEY_PERMS;
	return 0;
}

void
keys_file_message(int err, const char *what, const char *path, char *out, size_t len)
{
	const struct passwd *pw;

	switch (err) {
	case CVPN_ERR_IO:
		snprintf(out, len, "cannot read %s '%s': %s", what, path, strerror(errno));
		break;
	case CVPN_ERR_KEY_PERMS:
		snprintf(out, len, "%s '%s' is readable by group or others: chmod 600 '%s'", what, path, path);
		break;
	case CVPN_ERR_FILE_WRITABLE:
		snprintf(out, len, "%s '%s' is writable by group or others: chmod go-w '%s'", what, path, path);
		break;
	case CVPN_ERR_FILE_OWNER:
		pw = getpwuid(geteuid());
		snprintf(out, len, "%s '%s' belongs to another user, who could change it: chown %s '%s' "
		    "(or use a copy of your own)", what, path, pw ? pw->pw_name : "$(id -un)", path);
		break;
	default:
		snprintf(out, len, "%s '%s': %s", what, path, cvpn_strerror(err));
		break;
	}
}

int
keys_load_secret(const char *path, uint8_t key[static KEYS_LEN])
{
	char line[LINE_MAX_LEN];
	FILE *f;
	int r = CVPN_ERR_KEY_FORMAT;

	if ((f = fopen(path, "re")) == NULL)
		return CVPN_ERR_IO;
	if ((r = keys_check_file(fileno(f), KEYS_FILE_SECRET)) != 0)
		goto out;
	r = CVPN_ERR_KEY_FORMAT;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (skip_line(line))
			continue;
		r = keys_from_base64(line, strlen(line), key);
		break;
	}
out:
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	return r;
}

static int
list_add(struct keys_list *l, const uint8_t key[static KEYS_LEN], struct permit_list *permits, uint32_t address,
    unsigned line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *p;

		if (cap > LIST_MAX_KEYS || (p = realloc(l->entries, cap * sizeof(*l->entries))) == NULL)
			return CVPN_ERR_NOMEM;
		l->entries = p;
		l->cap = cap;
	}
	memcpy(l->entries[l->n].key, key, KEYS_LEN);
	l->entries[l->n].address = address;
	l->entries[l->n].line = line;
	l->entries[l->n++].permits = permits;
	return 0;
}

/*
 * Reads one "address=A.B.C.D" word of n bytes into *address (host order). A
 * second one on the line must say the same. Returns 0 or CVPN_ERR_INVALID_ARG.
 */
static int
read_address(const char *p, size_t n, uint32_t *address)
{
	char text[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t opt = strlen(ADDRESS_OPTION);
	uint32_t v;

	if (n - opt >= sizeof(text))
		return CVPN_ERR_INVALID_ARG;
	memcpy(text, p + opt, n - opt);
	text[n - opt] = '\0';
	if (inet_pton(AF_INET, text, &a) != 1 || (v = ntohl(a.s_addr)) == 0 || (*address != 0 && *address != v))
		return CVPN_ERR_INVALID_ARG;
	*address = v;
	return 0;
}

/*
 * Reads what follows the key on a line: words, of which each "permit=HOST:PORT"
 * and "address=A.B.C.D" is an option and the others name the key's owner.
 * Sets *out (NULL when the line permits nothing) and *address (0: none) only
 * on success. Returns 0, CVPN_ERR_INVALID_ARG for a permit= that is not
 * HOST:PORT or an address= that is not one IPv4 address, or CVPN_ERR_NOMEM.
 */
static int
read_options(const char *p, struct permit_list **out, uint32_t *address)
{
	struct permit_list *l = NULL;
	size_t n, opt = strlen(PERMIT_OPTION);
	uint32_t a = 0;
	int r = 0;

	for (; r == 0 && *p != '\0'; p += n) {
		while (isspace((unsigned char)*p))
			p++;
		n = strcspn(p, " \t\r\n");
		if (n >= strlen(ADDRESS_OPTION) && strncmp(p, ADDRESS_OPTION, strlen(ADDRESS_OPTION)) == 0) {
			r = read_address(p, n, &a);
			continue;
		}
		if (n < opt || strncmp(p, PERMIT_OPTION, opt) != 0)
			continue;
		if (l == NULL && (l = permit_list_new()) == NULL)
			return CVPN_ERR_NOMEM;
		r = permit_list_add(l, p + opt, n - opt);
	}
	if (r != 0) {
		permit_list_free(l);
		return r;
	}
	*out = l;
	*address = a;
	return 0;
}

/* Reads one line of a list that is not blank or a comment: the key, then its options. */
static int
read_entry(struct keys_list *l, const char *line, unsigned lineno)
{
	struct permit_list *permits;
	uint8_t key[KEYS_LEN];
	uint32_t address;
	size_t n;
	int r;

	while (isspace((unsigned char)*line))
		line++;
	n = strcspn(line, " \t\r\n");
	if ((r = keys_from_base64(line, n, key)) != 0 || (r = read_options(line + n, &permits, &address)) != 0)
		return r;
	if ((r = list_add(l, key, permits, address, lineno)) != 0)
		permit_list_free(permits);
	return r;
}

/*
 * Reads one line into buf (NUL-terminated, its newline kept). Returns 1, 0 at
 * the end of the file, CVPN_ERR_TOO_LONG for a line that does not fit (fgets
 * would read it as two), or CVPN_ERR_KEY_FORMAT for a NUL in it, which would
 * hide the rest of the line from the parser.
 */
static int
read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF) {
		if (n + 1 == cap)
			return CVPN_ERR_TOO_LONG;
		if (c == '\0')
			return CVPN_ERR_KEY_FORMAT;
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	return n > 0 ? 1 : 0;
}

int
keys_list_load(const char *path, struct keys_list **out, unsigned *bad_line)
{
	struct keys_list *l;
	char line[LINE_MAX_LEN];
	unsigned lineno = 0;
	FILE *f;
	int r = 0, got;

	if ((f = fopen(path, "re")) == NULL)
		return CVPN_ERR_IO;
	if ((r = keys_check_file(fileno(f), KEYS_FILE_TRUST)) != 0) {
		fclose(f);
		return r;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		fclose(f);
		return CVPN_ERR_NOMEM;
	}
	while (r == 0 && (got = read_line(f, line, sizeof(line))) != 0) {
		lineno++;
		if (got < 0)
			r = got;
		else if (!skip_line(line))
			r = read_entry(l, line, lineno);
	}
	fclose(f);
	if (r != 0) {
		*bad_line = lineno;
		keys_list_free(l);
		return r;
	}
	*out = l;
	return 0;
}

bool
keys_list_contains(const struct keys_list *l, const uint8_t key[static KEYS_LEN])
{
	bool found = false;
	size_t i;

	/* Visit every entry so the time does not tell where a key sits. */
	for (i = 0; i < l->n; i++)
		found |= CRYPTO_memcmp(l->entries[i].key, key, KEYS_LEN) == 0;
	return found;
}

bool
keys_list_permits(const struct keys_list *l, const uint8_t key[static KEYS_LEN], const char *host, uint16_t port)
{
	bool permitted = false;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (CRYPTO_memcmp(l->entries[i].key, key, KEYS_LEN) == 0)
			permitted |= permit_list_match(l->entries[i].permits, host, port);
	return permitted;
}

size_t
keys_list_count(const struct keys_list *l)
{
	return l->n;
}

const uint8_t *
keys_list_entry(const struct keys_list *l, size_t i, uint32_t *address, unsigned *line)
{
	*address = l->entries[i].address;
	*line = l->entries[i].line;
	return l->entries[i].key;
}

/*
 * Splits the first word of a known-servers line into host and port (NULL:
 * any): "host:port", "[v6]:port", "[v6]", a bare IPv6 address, or "host".
 * Writes into word. Returns false when it cannot be one.
 */
static bool
split_server(char *word, const char **host, const char **port)
{
	char *colon, *close;

	*port = NULL;
	if (word[0] == '[') {
		if ((close = strchr(word, ']')) == NULL || (close[1] != '\0' && close[1] != ':'))
			return false;
		*close = '\0';
		*host = word + 1;
		if (close[1] == ':')
			*port = close + 2;
		return **host != '\0' && (*port == NULL || **port != '\0');
	}
	*host = word;
	colon = strchr(word, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		*port = colon + 1;
	}
	return **host != '\0' && (*port == NULL || **port != '\0');
}

int
keys_known_server(const char *path, keys_server_match_fn *match, void *arg, uint8_t key[static KEYS_LEN],
    unsigned *line)
{
	char text[LINE_MAX_LEN], *p, *k;
	const char *host, *port;
	unsigned n = 0;
	size_t len;
	FILE *f;
	int r = CVPN_ERR_UNKNOWN_SERVER;

	if ((f = fopen(path, "re")) == NULL)
		return CVPN_ERR_IO;
	if ((r = keys_check_file(fileno(f), KEYS_FILE_TRUST)) != 0) {
		fclose(f);
		*line = 0;
		return r;
	}
	r = CVPN_ERR_UNKNOWN_SERVER;
	while (r == CVPN_ERR_UNKNOWN_SERVER && fgets(text, sizeof(text), f) != NULL) {
		n++;
		if (skip_line(text))
			continue;
		for (p = text; isspace((unsigned char)*p); p++)
			;
		len = strcspn(p, " \t\r\n");
		for (k = p + len; isspace((unsigned char)*k); k++)
			;
		p[len] = '\0';
		if (!split_server(p, &host, &port)) {
			r = CVPN_ERR_KEY_FORMAT;
			break;
		}
		if (match(arg, host, port))
			r = keys_from_base64(k, strcspn(k, " \t\r\n"), key);
	}
	fclose(f);
	*line = n;
	return r;
}

void
keys_list_free(struct keys_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		permit_list_free(l->entries[i].permits);
	free(l->entries);
	free(l);
}
