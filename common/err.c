/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

static const struct {
	const char *name;
	const char *text;
} errors[] = {
	[0] = { "ok", "success" },
	[-CVPN_ERR_INTERNAL] = { "internal", "internal error" },
	[-CVPN_ERR_NOMEM] = { "nomem", "out of memory" },
	[-CVPN_ERR_CRYPTO] = { "crypto", "libcrypto operation failed" },
	[-CVPN_ERR_INVALID_ARG] = { "invalid_argument", "invalid argument" },
	[-CVPN_ERR_CIPHER_SPEC] = { "cipher_spec", "cannot parse cipher list (expected NAME:SIZE[,SIZE...] entries)" },
	[-CVPN_ERR_UNKNOWN_CIPHER] = { "unknown_cipher", "unknown cipher or unsupported key size (see --list-ciphers)" },
	[-CVPN_ERR_INSECURE] = { "insecure_cipher", "XOR and None need --allow-insecure" },
	[-CVPN_ERR_MALFORMED] = { "malformed", "malformed message" },
	[-CVPN_ERR_TOO_LONG] = { "too_long", "message over the size limit" },
	[-CVPN_ERR_NO_COMMON] = { "no_common_cipher", "could not agree on a cipher" },
	[-CVPN_ERR_BAD_CHOICE] = { "bad_choice", "server chose a cipher that was not proposed" },
	[-CVPN_ERR_DH_RANGE] = { "dh_range", "DH public value out of range (must be 2..p-2)" },
	[-CVPN_ERR_DH_FORMAT] = { "dh_format", "DH public value is not 1..2467 decimal digits" },
	[-CVPN_ERR_BAD_TAG] = { "bad_hmac", "bad HMAC" },
	[-CVPN_ERR_TRUNCATED] = { "truncated", "truncated message" },
	[-CVPN_ERR_BAD_UTF8] = { "bad_utf8", "decrypted message is not valid UTF-8" },
	[-CVPN_ERR_STATE] = { "state", "operation not allowed in this protocol state" },
	[-CVPN_ERR_UNEXPECTED] = { "unexpected_data", "peer sent data out of turn" },
	[-CVPN_ERR_BAD_REPLY] = { "bad_reply", "reply is not the reversed message" },
	[-CVPN_ERR_PROVIDER] = { "provider", "OpenSSL legacy provider not available (Blowfish, DES)" },
	[-CVPN_ERR_MSG_TOO_LONG] = { "message_too_long", "message too long for the lab profile" },
	[-CVPN_ERR_IO] = { "io", "cannot open or write the file" },
	[-CVPN_ERR_DH_ZERO] = { "dh_low_order", "X25519 public key of low order (all-zero shared secret)" },
	[-CVPN_ERR_NONCE_EXHAUSTED] = { "nonce_exhausted", "cipher nonces used up: rekey or a new handshake is needed" },
	[-CVPN_ERR_UNKNOWN_PROTOCOL] = { "unknown_protocol", "unsupported Noise protocol name" },
	[-CVPN_ERR_KEY_FORMAT] = { "key_format", "not a base64 32-byte key" },
	[-CVPN_ERR_KEY_PERMS] = { "key_permissions", "secret file readable by group or others" },
	[-CVPN_ERR_UNKNOWN_SERVER] = { "unknown_server", "server not in the known-servers file (give --server-key)" },
	[-CVPN_ERR_DECRYPT] = { "decrypt", "decryption failed" },
	[-CVPN_ERR_BAD_MAC1] = { "bad_mac1", "first handshake message failed its MAC (wrong server key or PSK?)" },
	[-CVPN_ERR_HANDSHAKE] = { "handshake", "handshake failed (keys do not match, or a hello was changed in transit)" },
	[-CVPN_ERR_UNAUTHORIZED] = { "unauthorized", "client key not in --authorized-clients" },
	[-CVPN_ERR_NO_SUITE] = { "no_suite", "no secure mode or suite in common" },
	[-CVPN_ERR_LAB_DISABLED] = { "lab_disabled", "lab profile disabled (--no-lab)" },
	[-CVPN_ERR_REFUSED] = { "refused", "the server refused what it received (ERROR record)" },
	[-CVPN_ERR_PSK_NO_KEY] = { "psk_no_key",
	    "psk mode carries no client key, and only the keys of --authorized-clients are accepted" },
	[-CVPN_ERR_REPLAY] = { "replay", "first handshake message replayed (seen before)" },
	[-CVPN_ERR_STALE] = { "stale", "first handshake message outside the replay window: replayed, "
	    "or the client's clock is off by more than --replay-window" },
	[-CVPN_ERR_REPLAY_FULL] = { "replay_full", "too many recent handshakes held to check this one for replay" },
	[-CVPN_ERR_FILE_WRITABLE] = { "file_writable", "file writable by group or others" },
	[-CVPN_ERR_FILE_OWNER] = { "file_owner", "file owned by another user" },
	[-CVPN_ERR_NOT_SECURE] = { "not_secure", "port forwarding needs the secure profile (the lab has no integrity on replies)" },
	[-CVPN_ERR_CHANNEL] = { "channel", "channel protocol broken by the peer (unknown channel, window overrun or a record out of turn)" },
	[-CVPN_ERR_PRIVILEGE] = { "privilege", "operation not permitted: run as root or grant CAP_NET_ADMIN" },
	[-CVPN_ERR_SYSTEM] = { "system", "the operating system refused a call" },
	[-CVPN_ERR_DROP_INCOMPLETE] = { "drop_incomplete", "privileges were not fully dropped: a uid, group or capability remains" },
	[-CVPN_ERR_BUSY] = { "busy", "the server is under load and asked for a cookie first" },
};

static int
index_of(int err)
{
	if (err > 0 || err <= CVPN_ERR_COUNT)
		return -CVPN_ERR_INTERNAL;
	return -err;
}

const char *
cvpn_strerror(int err)
{
	return errors[index_of(err)].text;
}

const char *
cvpn_errname(int err)
{
	return errors[index_of(err)].name;
}

int
cvpn_why(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}
