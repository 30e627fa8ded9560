/* SPDX-License-Identifier: MIT */
/* cvpn: small text helpers (hex, UTF-8) that the protocol needs byte for byte. */
#ifndef CVPN_TEXT_H
#define CVPN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2*n lowercase hex characters and a NUL to out (size >= 2*n + 1). */
void text_hex(char *out, const uint8_t *p, size_t n);

/* True when all n bytes are lowercase hex digits [0-9a-f]. */
bool text_is_lower_hex(const uint8_t *p, size_t n);

/* True when p[0..n) is well-formed UTF-8 (no overlongs, surrogates or values over U+10FFFF). */
bool text_utf8_valid(const uint8_t *p, size_t n);

/* Writes the n bytes of valid UTF-8 in p to out reversed by code point (as Python's s[::-1]). */
void text_utf8_reverse(uint8_t *out, const uint8_t *p, size_t n);

#endif
