/* SPDX-License-Identifier: MIT */
/*
 * cvpn: cipher lists. Parses the user's --ciphers text, writes and parses the
 * wire's ProposedCiphers and ChosenCipher messages, and picks the cipher.
 */
#ifndef CVPN_PROPOSAL_H
#define CVPN_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct suite;

#define PROPOSAL_MAX_ENTRIES 8
#define PROPOSAL_MAX_SIZES 8
/* Room for the longest proposal that the whole suite table can produce. */
#define PROPOSAL_TEXT_MAX 256

/* A plain value: an ordered list of suites, each with key sizes in bits. */
struct proposal {
	size_t n;
	struct proposal_entry {
		const struct suite *suite;
		size_t nsizes;
		unsigned sizes[PROPOSAL_MAX_SIZES];
	} e[PROPOSAL_MAX_ENTRIES];
};

/* Fills p with every secure suite and size, in table order (the default list). */
void proposal_default(struct proposal *p);

/*
 * Parses a user list such as "AES:128,192,256 Blowfish:448 DES:56" (also
 * "AES:[128,256],DES:[56]"); names are case-insensitive. XOR and None are
 * refused unless allow_insecure. Sets *p only on success. Returns 0,
 * CVPN_ERR_CIPHER_SPEC, CVPN_ERR_UNKNOWN_CIPHER or CVPN_ERR_INSECURE.
 */
int proposal_parse_spec(const char *text, bool allow_insecure, struct proposal *p);

/* Writes the user form "AES:128,192,256 DES:56" into out (NUL-terminated, truncated to outlen). */
void proposal_format_spec(const struct proposal *p, char *out, size_t outlen);

/*
 * Writes the wire message "ProposedCiphers:AES:[128,256],DES:[56]" (no
 * terminator) into out. Returns its length, or CVPN_ERR_TOO_LONG.
 */
int proposal_format_wire(const struct proposal *p, char *out, size_t outlen);

/*
 * Parses a peer's ProposedCiphers message (whitespace allowed between tokens,
 * trailing CR/LF allowed). Names and sizes we do not support are skipped, so
 * the result can be empty. Sets *p only on success. Returns 0 or CVPN_ERR_MALFORMED.
 */
int proposal_parse_wire(const uint8_t *msg, size_t len, struct proposal *p);

/*
 * Picks the suite whose largest size shared by ours and theirs is largest;
 * ties go to the earlier entry of ours (the server's preference). Sets the
 * out-parameters only on success. Returns 0 or CVPN_ERR_NO_COMMON.
 */
int proposal_select(const struct proposal *ours, const struct proposal *theirs,
    const struct suite **suite, unsigned *bits);

/* Writes "ChosenCipher:AES,256" (no terminator). Returns its length, or CVPN_ERR_TOO_LONG. */
int proposal_format_choice(const struct suite *s, unsigned bits, char *out, size_t outlen);

/*
 * Parses a ChosenCipher message (',' or ':' between name and size, whitespace
 * and trailing CR/LF allowed) and checks it against what we proposed. Sets the
 * out-parameters only on success. Returns 0, CVPN_ERR_MALFORMED or CVPN_ERR_BAD_CHOICE.
 */
int proposal_parse_choice(const uint8_t *msg, size_t len, const struct proposal *ours,
    const struct suite **suite, unsigned *bits);

/* True when some size we proposed for a suite is a longer decimal extension of digits[0..n). */
bool proposal_size_extends(const struct proposal *ours, const struct suite *s, const uint8_t *digits, size_t n);

#endif
