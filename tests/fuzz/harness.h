/* SPDX-License-Identifier: MIT */
/*
 * cvpn fuzzing: what the libFuzzer targets (tests/fuzz/fuzz_*.c) and the seed
 * generator (tests/fuzz/make-seeds.c) share. The engines are bytes in, bytes
 * out: one side runs for real, and the fuzzer plays its peer, as OpenSSH's
 * kex_fuzz does. Everything is deterministic: fixed long-term keys, and an
 * OpenSSL RAND method that replays one stream per role, so a session recorded
 * by make-seeds is the session a target replays, byte for byte.
 *
 * Input of the engine targets (see fz_input_parse):
 *
 *   cfg[0..ncfg)  configuration bytes (what each one means is per target)
 *   k             the low 5 bits: the number of chunk descriptors that follow
 *   k x u16       big-endian; bits 0-14 the length of one read, bit 15: the
 *                 peer pauses after it (the transport's quiet timer fires)
 *   payload       the peer's bytes: the k reads in order, then the rest as
 *                 one last read; the peer always pauses at the end
 *
 * So the first bytes of an input decide how its payload is split over reads
 * and where the peer pauses, while the payload itself stays contiguous for
 * the mutators.
 */
#ifndef CVPN_FUZZ_HARNESS_H
#define CVPN_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "suite.h"

/* A broken invariant: print it and abort, which libFuzzer reports as a crash with the input. */
#define FZ_ASSERT(c) ((c) ? (void)0 : fz_fail(#c, __FILE__, __LINE__))
void fz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

/* suite_init(), the RAND streams, the fixed keys' public halves, the script. Aborts on failure. */
void fz_init(void);

/* ---- Fixed keys ---- */

#define FZ_LAB_PRIV_LEN 88
/* The lab DH private keys of tests/vectors/lab-vectors.json (client_private_hex, server_private_hex). */
extern const uint8_t fz_lab_client_priv[FZ_LAB_PRIV_LEN], fz_lab_server_priv[FZ_LAB_PRIV_LEN];
/* The shared_key those two keys give (the vectors' shared_key). */
extern const char fz_lab_shared_key[SUITE_SHARED_KEY_LEN + 1];
/* Secure profile: the server's and the client's static X25519 keys and the PSK. */
extern const uint8_t fz_sec_server_priv[32], fz_sec_client_priv[32], fz_sec_psk[32];
extern uint8_t fz_sec_server_pub[32], fz_sec_client_pub[32];

/*
 * Whether the lab DH may run for the peer value digits[0..n). The group 18
 * exponentiation costs ~14 ms, so it would dominate every input that reaches
 * it: it always runs for the public values of the fixed keys (whose results
 * dhcache.c memoizes; only then can the rest of a recorded session verify),
 * and for 1 in 16 other values, chosen by a hash of the value so that a
 * crash reproduces. Otherwise the session stays where a server whose worker
 * has not finished would be.
 */
bool fz_dh_allowed(const uint8_t *digits, size_t n);

/* ---- Deterministic randomness ---- */

enum fz_stream { FZ_RNG_CLIENT, FZ_RNG_SERVER };

/* Restarts both streams (at the start of every input and of every recorded session). */
void fz_rng_reset(void);

/* Makes OpenSSL's RAND draw from one role's stream. */
void fz_rng_select(enum fz_stream s);

/* ---- What the clients send ---- */

/* The messages a client sends, in order, each as soon as it may (its "script"). */
#define FZ_SCRIPT_LEN 7
const uint8_t *fz_script(size_t i, size_t *len);

/* ---- Configurations (a few bits of an input choose them) ---- */

/* Server: both profiles, as cvpn-server runs by default plus the variants the bits select. */
void fz_server_config(uint8_t c0, uint8_t c1, struct engine_config *cfg);
/* Lab client. */
void fz_lab_client_config(uint8_t c0, struct engine_config *cfg);
/* Secure client. */
void fz_secure_client_config(uint8_t c0, struct engine_config *cfg);

/* ---- Input layout ---- */

#define FZ_MAX_CHUNKS 31
#define FZ_PAUSE 0x8000u

struct fz_input {
	uint8_t cfg[4];
	size_t nchunks;
	uint16_t chunk[FZ_MAX_CHUNKS];
	const uint8_t *payload;
	size_t payload_len;
};

/* Splits an input into ncfg configuration bytes (missing ones are 0), chunk descriptors and payload. */
void fz_input_parse(const uint8_t *data, size_t size, size_t ncfg, struct fz_input *in);

/* Writes the header and payload of an input (for make-seeds). Returns its length or 0 if out is too small. */
size_t fz_input_write(const uint8_t *cfg, size_t ncfg, const uint16_t *chunks, size_t nchunks,
    const uint8_t *payload, size_t payload_len, uint8_t *out, size_t outcap);

/* ---- One side of a session ---- */

#define FZ_MAX_WRITES 64

struct fz_side {
	struct engine *e;
	struct engine_config cfg;
	enum fz_stream stream;
	bool server;
	bool secure_oracles;     /* check every accepted secure record against the script */
	bool hold;               /* client: send nothing for now */
	size_t close_at;         /* client: send only this many script messages (0: the whole script) */
	bool close_after;        /* secure client: then engine_close() */
	int err;                 /* the first error an engine call returned */
	bool dh_blocked;         /* fz_dh_allowed() said no: never run the work */
	size_t sent;             /* client: script messages sent */
	size_t messages;         /* server: MESSAGE events */
	size_t replies;          /* client: REPLY events */
	size_t keys;             /* KEY events */
	bool closed_sent;
	/* Recording (make-seeds and the pair runner): every byte written, and where each write ended. */
	bool record;
	struct buf out;
	size_t writes[FZ_MAX_WRITES];
	size_t nwrites;
};

/* Creates the engine of a side from sd->cfg (call after filling cfg, server, stream, ...). Aborts on failure. */
void fz_side_open(struct fz_side *sd);

void fz_side_close(struct fz_side *sd);

/*
 * Runs a side until it waits for its peer: its DH work (when allowed), a
 * client's next script message or CLOSE, and its output (kept when recording,
 * else dropped). Returns whether anything happened.
 */
bool fz_side_settle(struct fz_side *sd);

/* Feeds bytes as one read, then settles. */
void fz_side_feed(struct fz_side *sd, const uint8_t *p, size_t n);

/* The peer paused: engine_quiet(), then engine_stalled(), while a partial message is buffered; then settles. */
void fz_side_pause(struct fz_side *sd);

/* Plays an input's payload into a side: its reads, its pauses, and a pause at the end. */
void fz_side_play(struct fz_side *sd, const struct fz_input *in);

/* True once the side's engine failed (sd->err set); checks that the failure sticks. */
bool fz_side_failed(struct fz_side *sd);

/*
 * Runs a client and a server against each other in memory until neither
 * moves (make-seeds and the oracles' genuine sessions). Both sides record.
 */
void fz_pair_run(struct fz_side *c, struct fz_side *s);

/* ---- Genuine secure sessions (the handshake-hash oracle) ---- */

/* Secure sessions make-seeds records: a client configuration byte and two server ones each. */
struct fz_secure_session {
	const char *name;
	uint8_t client, server0, server1;
	size_t close_at;         /* see struct fz_side */
};
extern const struct fz_secure_session fz_secure_sessions[];
extern const size_t fz_secure_nsessions;

/*
 * Runs every session of fz_secure_sessions once and remembers its handshake
 * hash; from then on, a KEY event of the secure profile with any other hash
 * aborts (a handshake completed that no genuine peer ran).
 */
void fz_collect_handshakes(void);

#endif
