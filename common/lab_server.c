/* SPDX-License-Identifier: MIT */
/* The lab profile's server: the proposal, the key, and data messages answered with replies. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "lab.h"
#include "proposal.h"
#include "record.h"
#include "text.h"

/*
 * A proposal can always go on with another ",NAME:[...]" entry, even right
 * after the ']' that closes the last bracket, so only a '\n' or the peer's
 * pause ends it; a short pause only after a ']', since a proposal cut inside
 * an entry is visibly incomplete.
 */
static enum frame_end
proposal_end(struct engine *e, const uint8_t *p, size_t n)
{
	(void)e;
	n = lab_trimmed(p, n);
	return n > 0 && p[n - 1] == ']' ? FRAME_AT_PAUSE : FRAME_OPEN;
}

static int
read_proposal(struct engine *e)
{
	struct lab_state *lab = &e->p.lab;
	struct proposal theirs;
	const uint8_t *msg;
	size_t len, used;
	char choice[64];
	bool nl;
	int r, n;

	if ((r = lab_take(e, LAB_PROPOSAL, proposal_end, &msg, &len, &used, &nl)) <= 0)
		return r;
	/* Nothing from a message that does not parse reaches the user. */
	if ((r = proposal_parse_wire(msg, len, &theirs)) != 0)
		return r;
	lab_emit_text(e, ENGINE_EV_PROPOSAL, msg, lab_trimmed(msg, len));
	if ((r = proposal_select(&e->cfg.ciphers, &theirs, &lab->suite, &lab->bits)) != 0)
		return r;
	buf_consume(&e->in, used);
	lab->newline = e->cfg.newline == ENGINE_NEWLINE_ALWAYS || (e->cfg.newline == ENGINE_NEWLINE_MIRROR && nl);
	if ((n = proposal_format_choice(lab->suite, lab->bits, choice, sizeof(choice))) < 0)
		return n;
	lab_emit_text(e, ENGINE_EV_NEGOTIATED, choice, (size_t)n);
	if ((r = lab_queue_handshake(e, choice, (size_t)n)) != 0)
		return r;
	lab->state.server = LAB_S_WAIT_DH;
	return 1;
}

static int
reply(struct engine *e, const uint8_t *text, size_t n)
{
	struct engine_event ev = { .type = ENGINE_EV_REPLY };
	size_t prefix = e->cfg.reply == ENGINE_REPLY_BARE ? 0 : strlen(LAB_REPLY_PREFIX);
	size_t total = prefix + n, pad = 0;
	uint8_t *out;
	int r;

	if (e->cfg.reply == ENGINE_REPLY_PADDED)
		pad = record_wire_len(n) - RECORD_TAG_LEN - n;
	/* Written where it is sent from: the lab's reply goes out in clear. */
	if ((r = engine_reserve(e, total + pad, &out)) != 0)
		return r;
	if (total + pad > 0) { /* else out may be NULL: a bare reply to an empty message */
		memcpy(out, LAB_REPLY_PREFIX, prefix);
		text_utf8_reverse(out + prefix, text, n);
		memset(out + total, 0, pad);
	}
	ev.text = total > 0 ? out : (const uint8_t *)"";
	ev.text_len = total;
	lab_emit(e, &ev);
	return 0;
}

/* Input up to this size is decrypted on the stack (a 1 KiB message's record and tag fit). */
#define SMALL_PT 2048

/*
 * Finds one data message: the first split where a 16-byte-aligned run of 64
 * lowercase hex characters ends and whose tag verifies. This reads messages
 * split over several reads and several messages in one read. A split that
 * fails at the very end of what arrived is a bad tag, not a partial message.
 * The bytes before a split never change, so a split that failed once stays
 * failed: e->scan_off remembers where to go on, which keeps a peer that
 * trickles hex-looking bytes from costing quadratic work. *pt is set at the
 * first candidate: to small when the input fits in SMALL_PT bytes (most
 * messages: no allocation per message), else to an allocation; the caller
 * wipes it and frees it unless it is small.
 */
static int
find_data(struct engine *e, uint8_t small[static SMALL_PT], uint8_t **pt, size_t *ptlen, size_t *msglen)
{
	const uint8_t *p = e->in.data;
	size_t n = e->in.len, off;
	bool last;
	int r;

	for (off = e->p.lab.scan_off; off + RECORD_TAG_LEN <= n && off + RECORD_TAG_LEN <= e->cfg.max_message;
	    off += RECORD_PAD) {
		e->p.lab.scan_off = off;
		if (!text_is_lower_hex(p + off, RECORD_TAG_LEN))
			continue;
		if (*pt == NULL && (*pt = n <= SMALL_PT ? small : malloc(n)) == NULL)
			return CVPN_ERR_NOMEM;
		/*
		 * Random CBC output never looks like hex, but XOR and None send
		 * text that may: for them a failing split at the end may be a
		 * prefix of a longer message until the peer pauses. Where a
		 * failure ends the session, no candidate transcript is kept.
		 */
		last = off + RECORD_TAG_LEN == n && (e->pause != PAUSE_NONE || suite_kind(e->p.lab.suite) == SUITE_CBC);
		r = (last ? record_open_last : record_open)(e->p.lab.rec, p, off + RECORD_TAG_LEN, *pt, ptlen);
		if (r == 0)
			*msglen = off + RECORD_TAG_LEN;
		if (r != CVPN_ERR_BAD_TAG || last)
			return r == 0 ? 1 : r;
		if (off + RECORD_TAG_LEN == n)
			return 0; /* XOR/None: try this split again when more arrives or the peer pauses */
	}
	e->p.lab.scan_off = off;
	return n >= e->cfg.max_message ? CVPN_ERR_TOO_LONG : 0;
}

static int
read_data(struct engine *e)
{
	size_t n = e->in.len, ptlen = 0, msglen = 0;
	uint8_t small[SMALL_PT], *pt = NULL;
	int r;

	/* Nothing left after a message: the usual second call. */
	if (n == 0)
		return 0;
	if ((r = find_data(e, small, &pt, &ptlen, &msglen)) == 1 && !text_utf8_valid(pt, ptlen))
		r = CVPN_ERR_BAD_UTF8;
	if (r == 1) {
		struct engine_event ev = { .type = ENGINE_EV_MESSAGE };
		struct engine_event confirmed = { .type = ENGINE_EV_CONFIRMED };

		if (engine_confirm(e))
			lab_emit(e, &confirmed);
		ev.text = pt;
		ev.text_len = ptlen;
		ev.ct = e->in.data;
		ev.ct_len = msglen - RECORD_TAG_LEN;
		ev.tag = e->in.data + ev.ct_len;
		ev.tag_len = RECORD_TAG_LEN;
		lab_emit(e, &ev);
		if ((r = reply(e, pt, ptlen)) == 0)
			r = 1;
		buf_consume(&e->in, msglen);
		e->p.lab.scan_off = 0;
	}
	if (pt == small)
		OPENSSL_cleanse(pt, n);
	else if (pt != NULL)
		OPENSSL_clear_free(pt, n);
	return r;
}

static int
read_dhmke(struct engine *e)
{
	int r;

	if ((r = lab_read_dhmke(e)) == 1)
		e->p.lab.state.server = LAB_S_WORK;
	return r;
}

static int
step(struct engine *e)
{
	switch (e->p.lab.state.server) {
	case LAB_S_WAIT_PROPOSAL:
		return read_proposal(e);
	case LAB_S_WAIT_DH:
		return read_dhmke(e);
	case LAB_S_READY:
		return read_data(e);
	default:
		return 0; /* waiting for the work step */
	}
}

static bool
needs_work(const struct engine *e)
{
	return e->p.lab.state.server == LAB_S_WORK;
}

/* Our key and the secret in one step: the server answers the client's DHMKE with its own. */
static int
work(struct engine *e)
{
	int r;

	if ((r = lab_make_key(e)) == 0)
		r = lab_derive(e);
	return r;
}

static int
resume(struct engine *e)
{
	int r;

	if ((r = lab_send_dhmke(e)) == 0)
		r = lab_establish(e);
	e->p.lab.state.server = LAB_S_READY;
	return r;
}

static bool
partial(const struct engine *e)
{
	return e->p.lab.state.server != LAB_S_WORK && e->in.len > 0;
}

static bool
established(const struct engine *e)
{
	return e->p.lab.state.server == LAB_S_READY;
}

static bool
never(const struct engine *e)
{
	(void)e;
	return false;
}

static enum phase
phase(const struct engine *e)
{
	switch (e->p.lab.state.server) {
	case LAB_S_WAIT_PROPOSAL:
		return PHASE_CIPHER;
	case LAB_S_READY:
		return PHASE_MESSAGES;
	default:
		return PHASE_KEY;
	}
}

const struct engine_ops lab_server_ops = {
	.secure = false,
	.step = step,
	.work = work,
	.needs_work = needs_work,
	.resume = resume,
	.partial = partial,
	.established = established,
	.ready = never,
	.closed = never,
	.phase = phase,
	.free = lab_free,
};
