/* SPDX-License-Identifier: MIT */
/* cvpn: one error namespace for everything in common/. */
#ifndef CVPN_ERR_H
#define CVPN_ERR_H

#include <stddef.h>

/*
 * Every function in common/ that can fail returns 0 on success or one of
 * these negative codes. Only main() turns them into messages and exit codes.
 */
enum {
	CVPN_OK = 0,
	CVPN_ERR_INTERNAL = -1,      /* a bug or an impossible state */
	CVPN_ERR_NOMEM = -2,         /* an allocation failed */
	CVPN_ERR_CRYPTO = -3,        /* libcrypto reported a failure */
	CVPN_ERR_INVALID_ARG = -4,   /* a caller passed a bad argument */
	CVPN_ERR_CIPHER_SPEC = -5,   /* a --ciphers list could not be parsed */
	CVPN_ERR_UNKNOWN_CIPHER = -6,/* a cipher name or key size we do not know */
	CVPN_ERR_INSECURE = -7,      /* XOR/None without --allow-insecure */
	CVPN_ERR_MALFORMED = -8,     /* a peer message does not follow the grammar */
	CVPN_ERR_TOO_LONG = -9,      /* a peer message exceeds its size limit */
	CVPN_ERR_NO_COMMON = -10,    /* no cipher and key size both sides support */
	CVPN_ERR_BAD_CHOICE = -11,   /* the server chose something we never offered */
	CVPN_ERR_DH_RANGE = -12,     /* a DH public value outside 2..p-2 */
	CVPN_ERR_DH_FORMAT = -13,    /* a DH public value that is not plain digits */
	CVPN_ERR_BAD_TAG = -14,      /* an HMAC tag did not verify */
	CVPN_ERR_TRUNCATED = -15,    /* a message ended before it was complete */
	CVPN_ERR_BAD_UTF8 = -16,     /* a decrypted message is not valid UTF-8 */
	CVPN_ERR_STATE = -17,        /* a call or message that is not allowed now */
	CVPN_ERR_UNEXPECTED = -18,   /* the peer sent data when it should wait */
	CVPN_ERR_BAD_REPLY = -19,    /* the server's reply was not the expected text */
	CVPN_ERR_PROVIDER = -20,     /* the OpenSSL legacy provider is missing */
	CVPN_ERR_MSG_TOO_LONG = -21, /* a message to send is over the size limit */
	CVPN_ERR_IO = -22,           /* a file could not be opened or written (errno says why) */
	CVPN_ERR_DH_ZERO = -23,      /* an X25519 public key of low order: the shared secret would be zero */
	CVPN_ERR_NONCE_EXHAUSTED = -24, /* a cipher key has used up its nonces: rekey or handshake again */
	CVPN_ERR_UNKNOWN_PROTOCOL = -25, /* a Noise protocol name we do not implement */
	CVPN_ERR_KEY_FORMAT = -26,     /* a key that is not base64 of 32 bytes */
	CVPN_ERR_KEY_PERMS = -27,      /* a secret file that group or others may read */
	CVPN_ERR_UNKNOWN_SERVER = -28,  /* no known key for this server */
	CVPN_ERR_DECRYPT = -29,        /* any failure of a secure record (one generic error) */
	CVPN_ERR_BAD_MAC1 = -30,       /* the first handshake message failed its mac1 */
	CVPN_ERR_HANDSHAKE = -31,      /* the Noise handshake failed */
	CVPN_ERR_UNAUTHORIZED = -32,   /* a client key the server does not accept */
	CVPN_ERR_NO_SUITE = -33,       /* no secure mode or suite both sides serve */
	CVPN_ERR_LAB_DISABLED = -34,   /* a lab client reached a --no-lab server */
	CVPN_ERR_REFUSED = -35,      /* the peer sent an ERROR record: it refused what it received */
	CVPN_ERR_PSK_NO_KEY = -36,   /* a psk-mode client at a server that only accepts listed client keys */
	CVPN_ERR_REPLAY = -37,       /* a first handshake message seen before */
	CVPN_ERR_STALE = -38,        /* a first handshake message whose time is outside the replay window */
	CVPN_ERR_REPLAY_FULL = -39,  /* too many recent first handshake messages held to check one more */
	CVPN_ERR_FILE_WRITABLE = -40, /* a key or trust file that group or others may write */
	CVPN_ERR_FILE_OWNER = -41,   /* a key or trust file owned by neither us nor root */
	CVPN_ERR_NOT_SECURE = -42,   /* port forwarding asked of a lab session: it needs the secure profile */
	CVPN_ERR_CHANNEL = -43,      /* a channel record out of turn: unknown channel, overrun window, wrong side */
	CVPN_ERR_PRIVILEGE = -44,    /* the process lacks a privilege it needs: root or a capability */
	CVPN_ERR_SYSTEM = -45,       /* the operating system refused a call (errno or the caller's message says why) */
	CVPN_ERR_DROP_INCOMPLETE = -46, /* a privilege drop left a uid, group or capability behind */
	CVPN_ERR_BUSY = -47,         /* a server under load asked for a cookie first (mac2) */
	CVPN_ERR_COUNT = -48         /* one past the last code; not an error */
};

/* Returns a static one-line description of an error code; never NULL. */
const char *cvpn_strerror(int err);

/* Returns a static short token for an error code (for JSON and logs); never NULL. */
const char *cvpn_errname(int err);

/*
 * Writes one line for the user to why, when why is not NULL: what failed and
 * what to do, for the functions that explain their failures. Returns err.
 */
int cvpn_why(int err, char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
