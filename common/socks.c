/* SPDX-License-Identifier: MIT */
/* cvpn: SOCKS5 greetings, requests and replies (socks.h, RFC 1928). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "chan.h"
#include "err.h"
#include "socks.h"
#include "text.h"

int
socks_greeting(const uint8_t *p, size_t n, size_t *used, uint8_t *method)
{
	size_t len;

	if (n < 1)
		return CVPN_ERR_TRUNCATED;
	if (p[0] != SOCKS_VERSION)
		return CVPN_ERR_MALFORMED;
	if (n < 2 || n < (len = 2 + (size_t)p[1]))
		return CVPN_ERR_TRUNCATED;
	/* No methods at all offers nothing we take: refused like any list without "none". */
	*method = memchr(p + 2, SOCKS_METHOD_NONE, p[1]) != NULL ? SOCKS_METHOD_NONE : SOCKS_METHOD_REFUSED;
	*used = len;
	return 0;
}

/* The length of the address and port after the 4-byte header (a name's length byte read), or 0 for a type we do not know. */
static size_t
address_len(const uint8_t *p)
{
	switch (p[3]) {
	case SOCKS_ATYP_IPV4:
		return 4 + 2;
	case SOCKS_ATYP_IPV6:
		return 16 + 2;
	case SOCKS_ATYP_NAME:
		return 1 + (size_t)p[4] + 2;
	default:
		return 0;
	}
}

/* Writes the destination's host as text; false for a name an OPEN cannot carry (empty, NUL, not UTF-8). */
static bool
address_text(const uint8_t *p, char *host)
{
	const uint8_t *a = p + 4;
	size_t len;

	if (p[3] == SOCKS_ATYP_IPV4)
		return inet_ntop(AF_INET, a, host, SOCKS_HOST_MAX + 1) != NULL;
	if (p[3] == SOCKS_ATYP_IPV6)
		return inet_ntop(AF_INET6, a, host, SOCKS_HOST_MAX + 1) != NULL;
	len = a[0];
	if (len == 0 || memchr(a + 1, '\0', len) != NULL || !text_utf8_valid(a + 1, len))
		return false;
	memcpy(host, a + 1, len);
	host[len] = '\0';
	return true;
}

/* A request refused with code as soon as that is known, after its first used bytes. */
static int
refuse(uint8_t code, size_t used, struct socks_request *req, size_t *usedp)
{
	memset(req, 0, sizeof(*req));
	req->reply = code;
	*usedp = used;
	return 0;
}

int
socks_request(const uint8_t *p, size_t n, struct socks_request *req, size_t *used)
{
	struct socks_request r = { .reply = SOCKS_SUCCEEDED };
	size_t alen, len;

	if (n >= 1 && p[0] != SOCKS_VERSION)
		return refuse(SOCKS_GENERAL_FAILURE, 1, req, used);
	if (n >= 2 && p[1] != SOCKS_CONNECT)
		return refuse(SOCKS_BAD_COMMAND, 2, req, used);
	if (n >= 3 && p[2] != 0)
		return refuse(SOCKS_GENERAL_FAILURE, 3, req, used);
	if (n < 4)
		return CVPN_ERR_TRUNCATED;
	/* A name's length comes first: nothing is known of the rest before it. */
	if (p[3] == SOCKS_ATYP_NAME && n < 5)
		return CVPN_ERR_TRUNCATED;
	if ((alen = address_len(p)) == 0)
		return refuse(SOCKS_BAD_ADDRESS_TYPE, 4, req, used);
	if (n < (len = 4 + alen))
		return CVPN_ERR_TRUNCATED;
	r.port = (uint16_t)(p[len - 2] << 8 | p[len - 1]);
	if (!address_text(p, r.host) || r.port == 0)
		return refuse(SOCKS_GENERAL_FAILURE, len, req, used);
	*req = r;
	*used = len;
	return 0;
}

void
socks_choice(uint8_t method, uint8_t out[SOCKS_CHOICE_LEN])
{
	out[0] = SOCKS_VERSION;
	out[1] = method;
}

void
socks_reply(uint8_t code, uint8_t out[SOCKS_REPLY_LEN])
{
	static const uint8_t head[] = { SOCKS_VERSION, 0, 0, SOCKS_ATYP_IPV4 };

	memset(out, 0, SOCKS_REPLY_LEN);
	memcpy(out, head, sizeof(head));
	out[1] = code;
}

uint8_t
socks_reply_for(int chan_reason)
{
	/* Timeouts as Tor maps them: "TTL expired" is the one reply that says the time ran out. */
	static const uint8_t map[] = {
		[CHAN_NOT_ALLOWED] = SOCKS_NOT_ALLOWED,
		[CHAN_CONN_REFUSED] = SOCKS_CONN_REFUSED,
		[CHAN_UNREACHABLE] = SOCKS_HOST_UNREACHABLE,
		[CHAN_TIMEOUT] = SOCKS_TTL_EXPIRED,
		[CHAN_TOO_MANY] = SOCKS_GENERAL_FAILURE,
	};

	if (chan_reason < CHAN_NOT_ALLOWED || chan_reason > CHAN_TOO_MANY)
		return SOCKS_GENERAL_FAILURE;
	return map[chan_reason];
}
