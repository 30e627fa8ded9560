/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the SOCKS5 requests `cvpn-client --socks` answers (RFC 1928), as
 * bytes in and bytes out: the greeting with its choice of method, the
 * CONNECT request with its destination, and the reply. Only CONNECT without
 * authentication is served; every other command or method is answered with
 * the refusal the RFC names. The client owns the sockets.
 */
#ifndef CVPN_SOCKS_H
#define CVPN_SOCKS_H

#include <stddef.h>
#include <stdint.h>

#define SOCKS_VERSION 5
/* Methods: no authentication, and "no acceptable methods". */
#define SOCKS_METHOD_NONE 0x00
#define SOCKS_METHOD_REFUSED 0xff
/* The longest greeting (255 methods) and request (a 255-byte name). */
#define SOCKS_GREETING_MAX (2 + 255)
#define SOCKS_REQUEST_MAX (4 + 1 + 255 + 2)
/* A method choice, and a reply with an IPv4 bound address. */
#define SOCKS_CHOICE_LEN 2
#define SOCKS_REPLY_LEN 10
/* The longest destination host as text: a name, or an IPv6 address. */
#define SOCKS_HOST_MAX 255

/* Commands and address types of a request. */
enum socks_command { SOCKS_CONNECT = 1, SOCKS_BIND, SOCKS_UDP_ASSOCIATE };
enum socks_atyp { SOCKS_ATYP_IPV4 = 1, SOCKS_ATYP_NAME = 3, SOCKS_ATYP_IPV6 = 4 };

/* The reply field (REP). */
enum socks_reply {
	SOCKS_SUCCEEDED = 0,
	SOCKS_GENERAL_FAILURE,
	SOCKS_NOT_ALLOWED,
	SOCKS_NET_UNREACHABLE,
	SOCKS_HOST_UNREACHABLE,
	SOCKS_CONN_REFUSED,
	SOCKS_TTL_EXPIRED,
	SOCKS_BAD_COMMAND,
	SOCKS_BAD_ADDRESS_TYPE
};

/* A request, decoded. */
struct socks_request {
	uint8_t reply;          /* SOCKS_SUCCEEDED for a CONNECT we can carry, else the reply that refuses it */
	char host[SOCKS_HOST_MAX + 1]; /* "192.0.2.1", "2001:db8::1" or a name; NUL-terminated */
	uint16_t port;
};

/*
 * Reads a greeting (version, methods) from p[0..n). Returns 0 with *used (its
 * length) and *method (SOCKS_METHOD_NONE when offered, else
 * SOCKS_METHOD_REFUSED) once it is whole, CVPN_ERR_TRUNCATED while more
 * bytes are needed, or CVPN_ERR_MALFORMED for a version other than 5 (a
 * SOCKS4 client). Sets *used and *method only on success.
 */
int socks_greeting(const uint8_t *p, size_t n, size_t *used, uint8_t *method);

/*
 * Reads a request from p[0..n). Returns 0 with *req and *used set as soon as
 * the request is whole, or known to be refused (req->reply says why: another
 * version or reserved byte, a command but CONNECT, an unknown address type,
 * a name the channel cannot carry or port 0), or CVPN_ERR_TRUNCATED while
 * more bytes are needed. Sets *req and *used only on a 0 return.
 */
int socks_request(const uint8_t *p, size_t n, struct socks_request *req, size_t *used);

/* Writes the method choice to out. */
void socks_choice(uint8_t method, uint8_t out[SOCKS_CHOICE_LEN]);

/* Writes a reply with code and an unspecified bound address (0.0.0.0:0) to out. */
void socks_reply(uint8_t code, uint8_t out[SOCKS_REPLY_LEN]);

/* The reply that tells a SOCKS client why the server refused its channel (chan.h's enum chan_reason). */
uint8_t socks_reply_for(int chan_reason);

#endif
