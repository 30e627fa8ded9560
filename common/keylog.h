/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the key log, in the spirit of SSLKEYLOGFILE. One line per session
 * with what a dissector needs to decrypt a capture of it:
 *
 *   CVPN_LAB <client addr:port> <server addr:port> <cipher> <bits> <key hex> <iv hex or -> <hmac>
 *   CVPN_SECURE <client> <server> <Noise protocol> <client-to-server key hex> <server-to-client key hex>
 *
 * The format is documented in docs/PROTOCOL.md.
 */
#ifndef CVPN_KEYLOG_H
#define CVPN_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>

struct dgram_keylog;
struct engine_event;
struct keylog;

/* The environment variable that names a key log when --keylog is not given. */
#define KEYLOG_ENV "CVPN_KEYLOGFILE"

/*
 * Opens path for appending, creating it with mode 0600 (and a header comment
 * when empty). *shared is set when group or others may read the file. Sets
 * *out only on success. Returns 0, CVPN_ERR_IO (errno says why) or CVPN_ERR_NOMEM.
 */
int keylog_open(const char *path, struct keylog **out, bool *shared);

/*
 * Appends the line for a session from its ENGINE_EV_KEY event, with one
 * write() so lines of concurrent sessions never interleave. Returns 0 or CVPN_ERR_IO.
 */
int keylog_write(struct keylog *kl, const char *client, const char *server, const struct engine_event *key);

/* Formats that line (with its '\n') into out. Returns its length, or CVPN_ERR_TOO_LONG. */
int keylog_format(char *out, size_t outlen, const char *client, const char *server, const struct engine_event *key);

/*
 * The line for one handshake of the UDP transport (docs/SECURE.md section 9):
 * CVPN_UDP <client> <server> <protocol> <client index> <server index> <c2s key> <s2c key>,
 * indexes as 8 hex digits. Formats it into out (with its '\n'): its length, or
 * CVPN_ERR_TOO_LONG. keylog_write_udp appends it with one write(): 0 or CVPN_ERR_IO.
 */
int keylog_format_udp(char *out, size_t outlen, const char *client, const char *server, const struct dgram_keylog *k);
int keylog_write_udp(struct keylog *kl, const char *client, const char *server, const struct dgram_keylog *k);

/* Closes; accepts NULL. */
void keylog_free(struct keylog *kl);

#endif
