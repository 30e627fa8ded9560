/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: the secure profile's relay, shared by secure.c (cutting the
 * byte streams into hellos, handshake messages and records, and forwarding
 * them), attack.c (the attacks) and subst.c (key substitution).
 */
#ifndef CVPN_MITM_RELAY_H
#define CVPN_MITM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "buf.h"
#include "mitm.h"
#include "secrec.h"
#include "secure_wire.h"

/* The u16 length of a record with an empty payload (a CLOSE): one pad block and the tag. */
#define RELAY_EMPTY_RECORD (SECREC_PAD + AEAD_TAG_LEN)
#define RELAY_HOLD_MS 200               /* reorder: how long a lone record waits for a partner */

enum unit_kind { UNIT_HELLO, UNIT_HANDSHAKE, UNIT_RECORD };

/* One piece of one direction's stream, as on the wire. */
struct unit {
	enum dir dir;
	enum unit_kind kind;
	unsigned index;         /* records: 1, 2, ... in each direction; 0 otherwise */
	uint8_t *p;             /* a hello, or u16 length | body; the attack may change the bytes */
	size_t n;
};

/* One direction of the stream. */
struct flow {
	struct buf in;          /* bytes read and not yet cut into units */
	unsigned units;         /* 0 before the hello, 1 before the handshake message, then records */
	bool opaque;            /* the hello did not parse: bytes go through as they come */
};

struct subst;

struct relay {
	struct mitm_session *ss;
	const struct attack *attack;
	struct flow flow[2];
	bool tried;             /* the attack acted */
	unsigned c2s_at_try;    /* records the client had sent when the attack acted */
	bool cut;               /* close both connections now */
	unsigned sent[2];       /* units forwarded each way */
	enum dir last;          /* the way the last forwarded bytes went */
	char last_what[64];     /* "record 2 from the client" */
	const char *verdict;    /* set by an attack that knows its outcome itself */
	bool worked;            /* ... and the verdict is that the attack worked */
	/* reorder: one record held back, waiting for the next one from the same end */
	struct buf held;
	struct unit held_unit;
	uint64_t held_until;
	/* suite-downgrade: the rewritten ClientHello; or, when the client offered only AESGCM, change the ServerHello */
	uint8_t hello[SECURE_CLIENT_HELLO_MIN + 1];
	bool rewrite_sh;
	struct subst *subst;    /* key-substitution */
	struct buf copy;        /* replay-initiation: the client's hello and its first handshake message */
	bool copy_done;         /* the copy holds both */
};

/* One attack: its name and help for the command line, and what it does to each unit. */
struct attack {
	const char *name;
	const char *help;
	const char *untried;    /* why it may never act, for the outcome line */
	void (*unit)(struct relay *r, struct unit *u);   /* must forward, change, hold or drop u */
	int (*tick)(struct relay *r, uint64_t now);      /* NULL when it has no timer */
	uint64_t (*deadline)(const struct relay *r);
};

/* ---- secure.c ---- */

/* Sends u on to its destination, as it is now. */
void relay_forward(struct relay *r, const struct unit *u);

/* Reports what the attack did (one "attack" event) and marks it tried. */
void relay_tried(struct relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Holds u back (a copy) until relay_release(), for reordering. */
void relay_hold(struct relay *r, const struct unit *u);

/* Forwards the held unit, if any. */
void relay_release(struct relay *r);

/* "record 2 from the client", "handshake message 1", "the ServerHello". */
void unit_name(const struct unit *u, char *out, size_t len);

/* ---- subst.c ---- */

/* key-substitution: answers the client with our own engine and key instead of the server. */
void subst_unit(struct relay *r, struct unit *u);

/* Frees the substitute; accepts a relay without one. */
void subst_free(struct relay *r);

#endif
