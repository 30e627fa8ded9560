/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the secure profile's wire format: codes, names and layouts that every
 * binary reads the same way (secure_wire.h).
 */
#include <stdio.h>
#include <string.h>

#include "secure_wire.h"

void
secure_wire_put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t
secure_wire_get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

uint8_t
secure_wire_suite_code(enum aead_cipher c)
{
	return c == AEAD_CHACHAPOLY ? SECURE_SUITE_CHACHAPOLY : SECURE_SUITE_AESGCM;
}

bool
secure_wire_code_suite(uint8_t code, enum aead_cipher *c)
{
	if (code != SECURE_SUITE_CHACHAPOLY && code != SECURE_SUITE_AESGCM)
		return false;
	*c = code == SECURE_SUITE_CHACHAPOLY ? AEAD_CHACHAPOLY : AEAD_AESGCM;
	return true;
}

const char *
secure_wire_suite_name(uint8_t code)
{
	enum aead_cipher c;

	return secure_wire_code_suite(code, &c) ? aead_name(c) : "?";
}

const char *
secure_wire_mode_name(uint8_t code)
{
	return code == SECURE_MODE_KEY ? "key" : code == SECURE_MODE_PSK ? "psk" : "?";
}

void
secure_wire_protocol(enum secure_mode mode, enum aead_cipher c, char out[static SECURE_PROTOCOL_MAX])
{
	snprintf(out, SECURE_PROTOCOL_MAX, "Noise_%s_25519_%s_SHA256", mode == SECURE_MODE_KEY ? "IKpsk2" : "NNpsk0",
	    aead_name(c));
}

size_t
secure_wire_prologue(const uint8_t *ch, size_t chlen, const uint8_t *sh, size_t shlen,
    uint8_t out[static SECURE_PROLOGUE_MAX])
{
	size_t n = strlen(SECURE_PROLOGUE_LABEL);

	if (chlen > SECURE_CLIENT_HELLO_MAX || shlen > SECURE_SERVER_HELLO_LEN)
		return 0;
	memcpy(out, SECURE_PROLOGUE_LABEL, n);
	secure_wire_put16(out + n, chlen);
	memcpy(out + n + 2, ch, chlen);
	secure_wire_put16(out + n + 2 + chlen, shlen);
	memcpy(out + n + 4 + chlen, sh, shlen);
	return n + 4 + chlen + shlen;
}
