/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the engine's insides, shared by engine.c (API and driver),
 * engine_frame.c (reading unframed handshake messages), engine_client.c and
 * engine_server.c (the two roles' states). No other module includes this.
 */
#ifndef CVPN_ENGINE_IMPL_H
#define CVPN_ENGINE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "suite.h"

struct dh;
struct noise_cipher;
struct noise_handshake;

enum state {
	C_START,        /* client: proposal not yet queued */
	C_WAIT_CHOICE,  /* client: waiting for ChosenCipher */
	C_KEYGEN,       /* client: work: generate our DH key */
	C_WAIT_DH,      /* client: waiting for the server's DHMKE */
	C_DERIVE,       /* client: work: compute the shared secret */
	C_READY,        /* client: may send */
	C_WAIT_REPLY,   /* client: waiting for the reply to the last message */
	S_WAIT_PROPOSAL,
	S_WAIT_DH,
	S_WORK,         /* server: work: generate our key and compute the secret */
	S_READY,        /* server: waiting for data messages */
	C_SEC_WAIT_HELLO, /* secure client: ClientHello sent */
	C_SEC_WAIT_MSG2,  /* secure client: handshake message 1 sent */
	C_SEC_READY,
	C_SEC_WAIT_REPLY,
	C_SEC_CLOSING,    /* secure client: CLOSE sent, waiting for the server's */
	C_SEC_CLOSED,
	S_DETECT,         /* server: the first bytes decide the profile */
	S_SEC_HELLO,
	S_SEC_WAIT_MSG1,
	S_SEC_WORK,       /* server: work: the Diffie-Hellman of handshake messages 1 and 2 */
	S_SEC_READY,
	S_SEC_CLOSED,
	FAILED
};

/* How long the peer has been silent with a partial message buffered. */
enum pause {
	PAUSE_NONE,
	PAUSE_SHORT,            /* engine_quiet(): a message that may be whole ends here */
	PAUSE_LONG              /* engine_stalled(): whatever is there ends here */
};

/* Where a buffered handshake message stands. */
enum frame_end {
	FRAME_OPEN,             /* surely incomplete: wait for more, or for a long pause */
	FRAME_AT_PAUSE,         /* may be whole: it ends if the peer pauses */
	FRAME_FINAL             /* cannot go on (or is malformed): it ends now */
};

/* Room for a handshake message: the longest DHMKE plus whitespace and terminators. */
#define HANDSHAKE_MAX ENGINE_MAX_MESSAGE
/* How far past the data message limit a reply may go: the prefix and NUL padding. */
#define REPLY_SLACK 64
/* Output is bounded by what we generate ourselves, never by the peer. */
#define OUT_MAX ((size_t)1 << 20)

struct engine {
	struct engine_config cfg;
	enum state state;
	int err;
	engine_event_fn *fn;
	void *arg;
	struct buf in, out;
	enum pause pause;       /* the peer paused: which partial messages end */
	bool newline;           /* terminate our handshake messages with '\n' */
	const struct suite *suite;
	unsigned bits;
	struct dh *dh;
	char *local_pub;        /* decimal, malloc'd */
	uint8_t *peer_pub;      /* decimal digits kept for the work step */
	size_t peer_pub_len;
	size_t peer_pub_cut;    /* digits of a peer value taken short at a long pause, else 0 */
	bool work_done;
	int work_err;
	char shared_key[SUITE_SHARED_KEY_LEN + 1];
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len;
	struct record *rec;
	struct buf expect;      /* client: the reply we expect to the last message */
	size_t scan_off;        /* server: splits of the buffered data message before this failed */
	/* secure profile */
	int sec_mode;           /* ENGINE_MODE_KEY or ENGINE_MODE_PSK */
	enum aead_cipher aead;
	char protocol[64];      /* the Noise protocol name */
	struct buf hello;       /* client: our ClientHello, for the prologue */
	uint8_t server_pub[32];
	uint8_t client_static[32];
	struct noise_handshake *hs;
	uint8_t hs_msg[256];    /* server: message 1 for the work step, then message 2 from it */
	size_t hs_msg_len;
	struct noise_cipher *send_cs, *recv_cs;
	uint64_t sent_since_rekey;
	enum state failed_in;   /* the state a failure happened in, for engine_phase() */
	bool confirmed;         /* ENGINE_EV_CONFIRMED was emitted */
};

/* ---- engine.c ---- */

/* Passes an event to the user's callback, filling in the session's cipher and HMAC mode. */
void engine_emit(struct engine *e, struct engine_event *ev);

/* Emits ENGINE_EV_CONFIRMED, once: the peer's first message or record checked out. */
void engine_confirm(struct engine *e);

/* Emits an event that carries only text. */
void engine_emit_text(struct engine *e, enum engine_event_type type, const void *text, size_t len);

/* Marks the session dead with err (remembering the phase). Returns err. */
int engine_fail(struct engine *e, int err);

/* Queues bytes to send. Returns 0 or CVPN_ERR_*. */
int engine_queue(struct engine *e, const void *p, size_t n);

/* Appends n bytes of room to the output and points *p at them (valid until the next queue). */
int engine_reserve(struct engine *e, size_t n, uint8_t **p);

/* Wipes and takes back the last n bytes of output: a reservation that went unused. */
void engine_unreserve(struct engine *e, size_t n);

/* Queues a handshake message, with '\n' when the session uses terminators. */
int engine_queue_handshake(struct engine *e, const char *msg, size_t n);

/* Client: remembers the reply the server should give to text (lab: NULs at its ends stripped). */
int engine_expect_reply(struct engine *e, const uint8_t *text, size_t n, bool strip_nuls);

/* ---- engine_frame.c ---- */

/* Where p[0..n), a handshake message so far, stands. */
typedef enum frame_end frame_end_fn(struct engine *e, const uint8_t *p, size_t n);

/* Length of p[0..n) without trailing whitespace. */
size_t frame_trimmed(const uint8_t *p, size_t n);

/*
 * Takes one handshake message starting with keyword. Returns 1 with *msg and
 * *len set (the bytes stay in e->in until the caller consumes *used), 0 when
 * more input is needed, or a negative code.
 */
int frame_take(struct engine *e, const char *keyword, frame_end_fn *where,
    const uint8_t **msg, size_t *len, size_t *used, bool *had_newline);

/* Reads the peer's DHMKE (either role), then moves to state next. Same returns as frame_take. */
int frame_read_dhmke(struct engine *e, enum state next);

/* ---- engine_client.c and engine_server.c: one step of a state; 1 progress, 0 wait, <0 failure ---- */

int client_choice(struct engine *e);
int client_reply(struct engine *e);
int client_idle(struct engine *e);
int server_proposal(struct engine *e);
int server_data(struct engine *e);

/* ---- engine_secure.c ---- */

int server_detect(struct engine *e);
int secure_client_start(struct engine *e);
int secure_client_hello(struct engine *e);
int secure_client_msg2(struct engine *e);
int secure_client_records(struct engine *e);
int secure_send(struct engine *e, const uint8_t *text, size_t n);
int secure_server_hello(struct engine *e);
int secure_server_msg1(struct engine *e);
/* The work step of S_SEC_WORK, off the caller's thread: reads message 1, writes message 2. */
int secure_server_work(struct engine *e);
/* After the work step: checks the client, queues message 2 and ends the handshake. */
int secure_server_resume(struct engine *e);
int secure_server_records(struct engine *e);
void secure_free(struct engine *e);

#endif
