/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the engine's insides. One struct engine per side of one session: the
 * part every profile shares (configuration, buffers, the event callback,
 * failure, the work step's result), and a union with one state per profile.
 * A profile and role is a table of operations (struct engine_ops), one
 * module each: lab_client.c, lab_server.c and secure_client.c,
 * secure_server.c, with lab_common.c and secure_common.c for what each
 * profile's two roles share. engine.c is the public API: it dispatches to
 * the table, and the modules call only the core (engine_core.c), which calls
 * nothing back. Only these modules include this header.
 */
#ifndef CVPN_ENGINE_CORE_H
#define CVPN_ENGINE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "secure_wire.h"
#include "suite.h"

struct chan_msg;
struct dh;
struct noise_cipher;
struct noise_handshake;
struct record;

/* Room for a handshake message: the longest DHMKE plus whitespace and terminators. */
#define HANDSHAKE_MAX ENGINE_MAX_MESSAGE
/* How far past the data message limit a reply may go: the prefix and NUL padding. */
#define REPLY_SLACK 64
/* Output is bounded by what we generate ourselves, never by the peer. */
#define OUT_MAX ((size_t)1 << 20)

/* How long the peer has been silent with a partial message buffered. */
enum pause {
	PAUSE_NONE,
	PAUSE_SHORT,            /* engine_quiet(): a message that may be whole ends here */
	PAUSE_LONG              /* engine_stalled(): whatever is there ends here */
};

/* What a session is doing, for log lines (engine_phase). */
enum phase {
	PHASE_CIPHER,           /* negotiating the cipher (or the secure hellos) */
	PHASE_KEY,              /* negotiating the key */
	PHASE_MESSAGES,         /* exchanging messages */
	PHASE_CLOSING           /* secure: the CLOSE exchange, or after it */
};

/* ---- The lab profile's state ---- */

enum lab_client_state {
	LAB_C_START,            /* proposal not yet queued */
	LAB_C_WAIT_CHOICE,
	LAB_C_KEYGEN,           /* work: generate our DH key */
	LAB_C_WAIT_DH,
	LAB_C_DERIVE,           /* work: compute the shared secret */
	LAB_C_READY,            /* may send */
	LAB_C_WAIT_REPLY
};

enum lab_server_state {
	LAB_S_WAIT_PROPOSAL,
	LAB_S_WAIT_DH,
	LAB_S_WORK,             /* work: generate our key and compute the secret */
	LAB_S_READY             /* reading data messages */
};

struct lab_state {
	union {
		enum lab_client_state client;
		enum lab_server_state server;
	} state;
	bool newline;           /* terminate our handshake messages with '\n' */
	const struct suite *suite;
	unsigned bits;
	struct dh *dh;
	char *local_pub;        /* decimal, malloc'd */
	uint8_t *peer_pub;      /* decimal digits kept for the work step */
	size_t peer_pub_len;
	size_t peer_pub_cut;    /* digits of a peer value taken short at a long pause, else 0 */
	char shared_key[SUITE_SHARED_KEY_LEN + 1];
	uint8_t key[SUITE_MAX_KEY], iv[SUITE_MAX_IV];
	size_t key_len, iv_len;
	struct record *rec;
	size_t scan_off;        /* server: splits of the buffered data message before this failed */
};

/* ---- The secure profile's state ---- */

enum secure_client_state {
	SEC_C_START,            /* ClientHello not yet queued */
	SEC_C_WAIT_HELLO,       /* ClientHello sent */
	SEC_C_WAIT_MSG2,        /* handshake message 1 sent */
	SEC_C_READY,
	SEC_C_WAIT_REPLY,
	SEC_C_CLOSING,          /* CLOSE sent, waiting for the server's */
	SEC_C_CLOSED
};

enum secure_server_state {
	SEC_S_HELLO,
	SEC_S_WAIT_MSG1,
	SEC_S_WORK,             /* work: the Diffie-Hellman of handshake messages 1 and 2 */
	SEC_S_READY,
	SEC_S_CLOSED,           /* the client's CLOSE answered with ours */
	SEC_S_ENDED             /* ours sent first (idle timeout, shutdown): what the client sends now is dropped */
};

struct secure_state {
	union {
		enum secure_client_state client;
		enum secure_server_state server;
	} state;
	enum secure_mode mode;
	enum aead_cipher aead;
	char protocol[SECURE_PROTOCOL_MAX]; /* the Noise protocol name */
	struct buf hello;       /* client: our ClientHello, for the prologue; stealth server: its ServerHello, held */
	uint8_t server_pub[32];
	uint8_t client_static[32];
	struct noise_handshake *hs;
	uint8_t hs_msg[256];    /* server: message 1 for the work step, then message 2 from it */
	size_t hs_msg_len;
	struct noise_cipher *send_cs, *recv_cs;
	uint64_t sent_since_rekey;
};

/* ---- One profile and role ---- */

struct engine_ops {
	bool secure;
	/* Client: queues the first message. */
	int (*start)(struct engine *e);
	/* One step on the buffered input: 1 after progress, 0 when waiting, negative on failure. */
	int (*step)(struct engine *e);
	/* The Diffie-Hellman the state needs, off the owner's thread; NULL when the role has none. */
	int (*work)(struct engine *e);
	bool (*needs_work)(const struct engine *e);
	/* After the work step, on the owner's thread. */
	int (*resume)(struct engine *e);
	/* Client: seals one message (text already checked as UTF-8). */
	int (*send)(struct engine *e, const uint8_t *text, size_t n);
	/* Secure: sends CLOSE (the client's end, or the server's end first) or REKEY (both); NULL in the lab. */
	int (*close)(struct engine *e);
	int (*rekey)(struct engine *e);
	/* Secure: whether channel records may be sent now, and sends one; NULL in the lab. */
	bool (*carries_channels)(const struct engine *e);
	int (*send_channel)(struct engine *e, const struct chan_msg *m);
	int (*send_tunnel)(struct engine *e, int type, const uint8_t *p, size_t n);
	/* Secure: sends a KEEPALIVE record, which keeps an idle session from the peer's idle timeout. */
	int (*keepalive)(struct engine *e);
	/* Secure server: tells the peer it refused what it sent (an ERROR record); NULL elsewhere. */
	void (*refuse)(struct engine *e);
	/* Where the session stands. */
	bool (*partial)(const struct engine *e);
	bool (*established)(const struct engine *e);
	bool (*ready)(const struct engine *e);
	bool (*closed)(const struct engine *e);
	enum phase (*phase)(const struct engine *e);
	/* Frees the profile's state (the core frees its own). */
	void (*free)(struct engine *e);
};

extern const struct engine_ops lab_client_ops, lab_server_ops, secure_client_ops, secure_server_ops;

struct engine {
	struct engine_config cfg;
	const struct engine_ops *ops;   /* NULL: a server before the client's first bytes told the profile */
	engine_event_fn *fn;
	void *arg;
	struct buf in, out;
	int err;                /* the failure, for good; 0 while alive */
	enum phase failed_in;   /* the phase a failure happened in, for engine_phase() */
	enum pause pause;       /* the peer paused: which partial messages end */
	bool started;           /* client: engine_start() ran */
	bool confirmed;         /* ENGINE_EV_CONFIRMED was emitted */
	bool work_done;         /* engine_work() ran; engine_resume() takes work_err */
	int work_err;
	struct buf expect;      /* client: the reply we expect to the last message */
	union {
		struct lab_state lab;
		struct secure_state sec;
	} p;
};

/* ---- engine_core.c ---- */

/* Passes an event to the user's callback as it is (the profile filled in its fields). */
void engine_emit(struct engine *e, struct engine_event *ev);

/* Queues bytes to send. Returns 0 or CVPN_ERR_*. */
int engine_queue(struct engine *e, const void *p, size_t n);

/* Appends n bytes of room to the output and points *p at them (valid until the next queue). */
int engine_reserve(struct engine *e, size_t n, uint8_t **p);

/* Wipes and takes back the last n bytes of output: a reservation that went unused. */
void engine_unreserve(struct engine *e, size_t n);

/* Client: remembers the reply the server should give to text (lab: NULs at its ends stripped). */
int engine_expect_reply(struct engine *e, const uint8_t *text, size_t n, bool strip_nuls);

/* True the first time only: the peer has just proved it holds the key (the caller emits the event). */
bool engine_confirm(struct engine *e);

#endif
