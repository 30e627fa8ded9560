/* SPDX-License-Identifier: MIT */
/* cvpn: small text helpers (hex, UTF-8) that the protocol needs byte for byte. */
#ifndef CVPN_TEXT_H
#define CVPN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes 2*n lowercase hex characters and a NUL to out (size >= 2*n + 1). */
void text_hex(char *out, const uint8_t *p, size_t n);

/* True when all n bytes are lowercase hex digits [0-9a-f]. */
bool text_is_lower_hex(const uint8_t *p, size_t n);

/* True when p[0..n) is well-formed UTF-8 (no overlongs, surrogates or values over U+10FFFF). */
bool text_utf8_valid(const uint8_t *p, size_t n);

/* Writes the n bytes of valid UTF-8 in p to out reversed by code point (as Python's s[::-1]). */
void text_utf8_reverse(uint8_t *out, const uint8_t *p, size_t n);

/*
 * Writes p[0..n) into out (NUL-terminated, truncated to outlen) with every
 * control character escaped, so that text from the network cannot drive a
 * terminal or forge a log line: C0 controls and DEL as \xNN, C1 controls
 * (U+0080-U+009F) as \u00NN; when p is not valid UTF-8, every byte from
 * 0x80 up as \xNN. Returns the length the full result needs (without the NUL).
 */
size_t text_escape(char *out, size_t outlen, const uint8_t *p, size_t n);

/* The same into a new string the caller frees with free(); NULL when out of memory. */
char *text_escape_dup(const uint8_t *p, size_t n);

/*
 * Writes p[0..n) to f as a JSON string, quotes included. Text that is not
 * valid UTF-8 (a lab reply is unauthenticated) has its bytes from 0x80 up
 * written as \u00XX, so that the line stays valid JSON.
 */
void text_json_string(FILE *f, const void *text, size_t n);

#endif
