/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: the lab man in the middle's state, shared by lab.c (driving the
 * two engines) and lab_show.c (what they tell us, and rewriting messages).
 */
#ifndef CVPN_MITM_LAB_H
#define CVPN_MITM_LAB_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "engine.h"
#include "mitm.h"

struct lab {
	struct mitm_session *ss;
	struct buf early;           /* the client's proposal, held until the server has chosen */
	bool proposal_done;
	bool client_nl;             /* the client ends its handshake messages with '\n' */
	struct engine *up;          /* faces the server: the client's role */
	bool up_chose;              /* the server's choice is known: the client may have its answer */
	const struct suite *suite;  /* ... and it is this */
	unsigned bits;
	struct engine *down;        /* faces the client: the server's role */
	bool down_open;             /* the client side is keyed: down's later output is our forgery */
	struct buf pending;         /* the message (rewritten) waiting for the server side */
	bool has_pending;
	bool forge;                 /* the last message was changed: the client gets our own reply */
	struct buf forged;          /* down's reply to the client's own text */
	int err;                    /* a failure inside an event callback */
};

/* ---- lab_show.c ---- */

/* "client" or "server": the connection an event belongs to. */
const char *lab_leg(enum dir leg);

/* One "error" event naming the side and the phase. Returns -1 (the session ends). */
int lab_fail(enum dir leg, const struct engine *e, int err);

/* The client's proposal as it came (trailing whitespace dropped). */
void lab_show_proposal(const uint8_t *text, size_t n);

/* Events of the engine that faces the client, and of the one that faces the server (arg: the lab). */
void lab_on_down(void *arg, const struct engine_event *ev);
void lab_on_up(void *arg, const struct engine_event *ev);

#endif
