/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the secure profile's records after a real handshake. For each
 * input, a client and a server engine run the handshake in memory with fixed
 * static keys and the deterministic RAND stream (so the transport keys are
 * the same every time); then the input's payload goes to one of them as the
 * records its peer sends, split into reads and pauses by the input's first
 * bytes (harness.h).
 *
 * Configuration byte: bits 0-1 the session (key or psk mode, ChaChaPoly or
 * AESGCM: fz_secure_sessions[0..3]); bit 2 the direction: 0 records to the
 * server (DATA, CLOSE, ...), 1 records to the client, which has sent the
 * script's first message and sends the next one after each reply.
 *
 * Oracles: only the genuine peer's records, in order, are accepted (harness.c:
 * the script's messages, the replies to them); and a record that failed
 * changed nothing: afterwards, unless the session failed or a partial record
 * is buffered, the genuine next record (recorded once at start-up) must be
 * accepted, so no counter or key moved on a failure.
 */
#include <string.h>

#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The genuine records of each session after the handshake: one write each. */
static struct {
	struct buf client, server;              /* the streams after the two handshake writes */
	size_t cw[FZ_MAX_WRITES], sw[FZ_MAX_WRITES]; /* each record's end in them */
	size_t ncw, nsw;
} genuine[4];

static void
session_sides(size_t i, struct fz_side *c, struct fz_side *s)
{
	const struct fz_secure_session *ss = &fz_secure_sessions[i];

	memset(c, 0, sizeof(*c));
	memset(s, 0, sizeof(*s));
	fz_secure_client_config(ss->client, &c->cfg);
	c->stream = FZ_RNG_CLIENT;
	c->secure_oracles = true;
	fz_server_config(ss->server0, ss->server1 | 0x40, &s->cfg);
	s->server = true;
	s->stream = FZ_RNG_SERVER;
	s->secure_oracles = true;
}

/* Keeps a side's writes after the first two (the handshake). */
static void
keep(const struct fz_side *sd, struct buf *b, size_t *ends, size_t *n)
{
	size_t skip, i;

	FZ_ASSERT(sd->nwrites > 2);
	skip = sd->writes[1];
	FZ_ASSERT(buf_append(b, sd->out.data + skip, sd->out.len - skip, SIZE_MAX) == 0);
	for (i = 2; i < sd->nwrites; i++)
		ends[(*n)++] = sd->writes[i] - skip;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fz_side c, s;
	size_t i;

	(void)argc;
	(void)argv;
	fz_init();
	fz_collect_handshakes();
	for (i = 0; i < 4; i++) {
		session_sides(i, &c, &s);
		c.close_after = true;
		fz_rng_reset();
		fz_side_open(&c);
		fz_side_open(&s);
		fz_pair_run(&c, &s);
		FZ_ASSERT(c.err == 0 && s.err == 0 && s.messages == FZ_SCRIPT_LEN && c.replies == FZ_SCRIPT_LEN);
		keep(&c, &genuine[i].client, genuine[i].cw, &genuine[i].ncw);
		keep(&s, &genuine[i].server, genuine[i].sw, &genuine[i].nsw);
		fz_side_close(&c);
		fz_side_close(&s);
	}
	return 0;
}

/* The k-th genuine record of a stream. */
static void
record_at(const struct buf *b, const size_t *ends, size_t k, const uint8_t **p, size_t *n)
{
	size_t start = k ? ends[k - 1] : 0;

	*p = b->data + start;
	*n = ends[k] - start;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	struct fz_side c, s, *to;
	const uint8_t *p;
	size_t i, n, before;
	bool to_client;

	fz_input_parse(data, size, 1, &in);
	i = in.cfg[0] & 3;
	to_client = (in.cfg[0] & 4) != 0;
	session_sides(i, &c, &s);
	c.hold = true;
	fz_rng_reset();
	fz_side_open(&c);
	fz_side_open(&s);
	fz_pair_run(&c, &s);
	FZ_ASSERT(c.err == 0 && s.err == 0 && engine_ready(c.e) && engine_established(s.e));
	c.record = s.record = false;
	if (to_client) {
		c.hold = false;
		fz_side_settle(&c); /* sends the script's first message */
		to = &c;
	} else {
		to = &s;
	}
	fz_side_play(to, &in);
	if (!fz_side_failed(to) && !engine_partial(to->e) && !engine_closed(to->e)) {
		if (!to_client && s.messages < genuine[i].ncw - 1) {
			/* The genuine client's next DATA record (its last one is the CLOSE). */
			before = s.messages;
			record_at(&genuine[i].client, genuine[i].cw, before, &p, &n);
			fz_side_feed(&s, p, n);
			FZ_ASSERT(s.err == 0 && s.messages == before + 1);
		} else if (to_client && !engine_ready(c.e) && c.replies < c.sent) {
			/* Waiting for a reply: the genuine server's reply to that message. */
			before = c.replies;
			record_at(&genuine[i].server, genuine[i].sw, before, &p, &n);
			fz_side_feed(&c, p, n);
			FZ_ASSERT(c.err == 0 && c.replies == before + 1);
		}
	}
	fz_side_close(&c);
	fz_side_close(&s);
	return 0;
}
