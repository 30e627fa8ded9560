/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the lab profile's wire format (docs/PROTOCOL.md), in one place for
 * every binary and tool: the handshake messages' keywords, how a keyword
 * ends, and the reply's prefix. The cipher list's grammar is in proposal.h,
 * the Diffie-Hellman group in dh.h, the records' layout in record.h.
 */
#ifndef CVPN_LAB_WIRE_H
#define CVPN_LAB_WIRE_H

/*
 * Client: "ProposedCiphers:AES:[128,256],..."; server: "ChosenCipher:AES,256";
 * then each side "DHMKE:" and its public value in decimal. The reference
 * sends no terminator; a newline after each is accepted and mirrored.
 */
#define LAB_PROPOSAL "ProposedCiphers"
#define LAB_CHOICE "ChosenCipher"
#define LAB_DHMKE "DHMKE"
#define LAB_SEPARATOR ':'

/* The reference server's reply: this prefix, then the message reversed. The secure profile's REPLY keeps it. */
#define LAB_REPLY_PREFIX "Server says: "

#endif
