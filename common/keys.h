/* SPDX-License-Identifier: MIT */
/*
 * cvpn: keys of the secure profile as people handle them: 32-byte X25519
 * keys and PSKs written as base64 (as wg does), secret files that only their
 * owner may read, the server's authorized-clients list and the client's
 * known-servers list.
 */
#ifndef CVPN_KEYS_H
#define CVPN_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keys_list;

#define KEYS_LEN 32
#define KEYS_B64_LEN 44   /* base64 of 32 bytes, with its '=' */

/* Writes the base64 form of a key and a NUL into out. */
void keys_to_base64(const uint8_t key[static KEYS_LEN], char out[static KEYS_B64_LEN + 1]);

/*
 * Parses a base64 key (surrounding whitespace allowed). Sets key only on
 * success. Returns 0 or CVPN_ERR_KEY_FORMAT.
 */
int keys_from_base64(const char *text, size_t len, uint8_t key[static KEYS_LEN]);

/* What a file holds, for the checks it must pass before it is trusted. */
enum keys_file_kind {
	KEYS_FILE_SECRET,       /* a private key or PSK: nobody else may read or write it */
	KEYS_FILE_TRUST         /* a list of keys to trust: nobody else may write it */
};

/*
 * Checks an open key or list file: owned by the running user or root
 * (CVPN_ERR_FILE_OWNER), not writable by group or others
 * (CVPN_ERR_FILE_WRITABLE), and for a secret not readable by them either
 * (CVPN_ERR_KEY_PERMS). Returns 0, or CVPN_ERR_IO when fstat fails.
 */
int keys_check_file(int fd, enum keys_file_kind kind);

/*
 * Writes one line for a failure of one of the load functions below: what
 * (e.g. "PSK file"), the path, what is wrong and the chmod or chown that
 * mends it. errno must still be the load's for CVPN_ERR_IO.
 */
void keys_file_message(int err, const char *what, const char *path, char *out, size_t len);

/*
 * Reads a private key or PSK from the first non-comment line of path. Refuses
 * a file that fails keys_check_file (a secret), one that cannot be read
 * (CVPN_ERR_IO, errno says why), or that holds no key (CVPN_ERR_KEY_FORMAT).
 */
int keys_load_secret(const char *path, uint8_t key[static KEYS_LEN]);

/*
 * Loads a list of public keys, one per line; '#' starts a comment, blank
 * lines are skipped. After the key, words "permit=HOST:PORT" (permit.h) and
 * "address=A.B.C.D" (the key's fixed address in the IP tunnel) are options,
 * and the other words a free-form name. The file must pass keys_check_file
 * as a trust file. On CVPN_ERR_KEY_FORMAT (not a key), CVPN_ERR_INVALID_ARG
 * (a permit= that is not HOST:PORT, an address= that is not one IPv4
 * address, or two that differ on one line) or
 * CVPN_ERR_TOO_LONG (a line over 4095 bytes), *bad_line is the line number.
 * Sets *out only on success.
 */
int keys_list_load(const char *path, struct keys_list **out, unsigned *bad_line);

/* True when the list holds key (compared in constant time per entry). */
bool keys_list_contains(const struct keys_list *l, const uint8_t key[static KEYS_LEN]);

/* True when a line of the list with key has a permit= for host and port (a key on several lines: any of them). */
bool keys_list_permits(const struct keys_list *l, const uint8_t key[static KEYS_LEN], const char *host, uint16_t port);

/* Number of keys in the list. */
size_t keys_list_count(const struct keys_list *l);

/*
 * The key of line-entry i (below keys_list_count), with its address=
 * (host order, 0: none) and the line it was read from.
 */
const uint8_t *keys_list_entry(const struct keys_list *l, size_t i, uint32_t *address, unsigned *line);

/* Whether a known-servers entry names the server sought: host as written, port NULL for any port. */
typedef bool keys_server_match_fn(void *arg, const char *host, const char *port);

/*
 * Finds the first entry of a known-servers file that match accepts: lines
 * "HOST[:PORT] BASE64KEY" ("[v6]:PORT", or a bare IPv6 address for any
 * port), '#' comments; the file must pass keys_check_file as a trust file.
 * Returns 0 with key and *line (its number) set,
 * CVPN_ERR_UNKNOWN_SERVER when none matches, CVPN_ERR_IO, or
 * CVPN_ERR_KEY_FORMAT (*line says where).
 */
int keys_known_server(const char *path, keys_server_match_fn *match, void *arg, uint8_t key[static KEYS_LEN],
    unsigned *line);

/* Frees; accepts NULL. */
void keys_list_free(struct keys_list *l);

#endif
