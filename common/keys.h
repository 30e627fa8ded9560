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

/*
 * Reads a private key or PSK from the first non-comment line of path. Refuses
 * a file that group or others can read (CVPN_ERR_KEY_PERMS), one that cannot
 * be read (CVPN_ERR_IO, errno says why), or that holds no key (CVPN_ERR_KEY_FORMAT).
 */
int keys_load_secret(const char *path, uint8_t key[static KEYS_LEN]);

/*
 * Loads a list of public keys, one per line; '#' starts a comment, blank
 * lines are skipped, and text after the key on a line is a free-form name.
 * On CVPN_ERR_KEY_FORMAT, *bad_line is the line number. Sets *out only on success.
 */
int keys_list_load(const char *path, struct keys_list **out, unsigned *bad_line);

/* True when the list holds key (compared in constant time per entry). */
bool keys_list_contains(const struct keys_list *l, const uint8_t key[static KEYS_LEN]);

/* Number of keys in the list. */
size_t keys_list_count(const struct keys_list *l);

/* Whether a known-servers entry names the server sought: host as written, port NULL for any port. */
typedef bool keys_server_match_fn(void *arg, const char *host, const char *port);

/*
 * Finds the first entry of a known-servers file that match accepts: lines
 * "HOST[:PORT] BASE64KEY" ("[v6]:PORT", or a bare IPv6 address for any
 * port), '#' comments. Returns 0 with key and *line (its number) set,
 * CVPN_ERR_UNKNOWN_SERVER when none matches, CVPN_ERR_IO, or
 * CVPN_ERR_KEY_FORMAT (*line says where).
 */
int keys_known_server(const char *path, keys_server_match_fn *match, void *arg, uint8_t key[static KEYS_LEN],
    unsigned *line);

/* Frees; accepts NULL. */
void keys_list_free(struct keys_list *l);

#endif
