/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the lab protocol engine. Bytes in, bytes out, and events; no sockets,
 * clocks or terminals inside. One engine per side of one session.
 *
 * The transport feeds received bytes with engine_feed(), sends whatever
 * engine_output() holds, runs engine_work() (the expensive Diffie-Hellman,
 * safe on a worker thread) whenever engine_needs_work() says so and then calls
 * engine_resume() on its own thread. Because the lab protocol has no framing,
 * the transport also tells the engine when the peer has been silent with a
 * partial message buffered (engine_partial()): after a short pause
 * (engine_quiet(), 150 ms), which ends a message only where it is plausibly
 * whole, and after the partial timeout (engine_stalled(), seconds), which ends
 * whatever is there. See docs/PROTOCOL.md, "Reading without framing".
 *
 * While engine_work() runs on another thread, the owner must make no other
 * call on that engine (stop reading the socket until engine_resume()).
 */
#ifndef CVPN_ENGINE_H
#define CVPN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "lab_wire.h"
#include "proposal.h"
#include "record.h"

struct chan_msg;
struct engine;
struct keys_list;
struct replay;
struct suite;

/* The reference's recv(4096): the largest data message, and our cap on handshake messages. */
#define ENGINE_MAX_MESSAGE 4096

enum engine_newline {
	ENGINE_NEWLINE_NEVER,   /* capture-exact: no terminator (client and server default) */
	ENGINE_NEWLINE_ALWAYS,  /* end both handshake messages with '\n' (for line-reading peers) */
	ENGINE_NEWLINE_MIRROR   /* server: add '\n' only if the client's proposal ended with one */
};

enum engine_reply {
	ENGINE_REPLY_PLAIN,     /* "Server says: " + reversed text (reference default) */
	ENGINE_REPLY_PADDED,    /* the same plus NULs up to the padded length (as in the capture) */
	ENGINE_REPLY_BARE       /* the reversed text alone (2025 student variant) */
};

/* The secure profile's keys and choices. Absent keys have their *_set flag false. */
struct secure_config {
	bool enabled;                  /* client: speak the secure profile (the server detects it) */
	uint8_t static_priv[32];       /* server: needed for key mode; client: its identity (else anonymous) */
	bool static_priv_set;
	uint8_t server_pub[32];        /* client: the server's key; sets key mode */
	bool server_pub_set;
	uint8_t psk[32];               /* optional in key mode, required in psk mode */
	bool has_psk;
	const struct keys_list *authorized; /* server: accepted client keys; NULL accepts any */
	struct replay *replay;         /* server: refuses copies of first messages (replay.h); NULL accepts them */
	uint64_t (*clock)(void);       /* client: the time message 1 carries, ns since 1970; NULL reads the wall clock */
	enum aead_cipher suites[8];    /* preference order */
	size_t nsuites;
	uint64_t rekey_records;        /* rekey a direction after this many records; 0 never */
	/*
	 * Stealth (docs/SECURE.md section 11). Server: sends nothing, not even its
	 * hello, until handshake message 1 has proved the client. Client: offers
	 * its first suite only and sends message 1 at once, with the hello such a
	 * server will answer; any server takes it.
	 */
	bool stealth;
};

struct engine_config {
	bool server;
	bool no_lab;                   /* server: refuse lab clients */
	struct secure_config secure;
	struct proposal ciphers;       /* client: the proposal; server: supported, in preference order */
	enum record_hmac hmac;         /* client: cumulative or per-message; server: also auto */
	enum engine_newline newline;
	enum engine_reply reply;       /* server only */
	size_t max_message;            /* data message limit on the wire; 0 means ENGINE_MAX_MESSAGE */
	const uint8_t *dh_private;     /* fixed DH exponent for tests and captures; NULL = random */
	size_t dh_private_len;
};

enum engine_event_type {
	ENGINE_EV_PROPOSAL,     /* text: the proposal sent (client) or received (server) */
	ENGINE_EV_NEGOTIATED,   /* suite, bits; text: the ChosenCipher message */
	ENGINE_EV_DH_PEER,      /* text: the peer's public value, decimal */
	ENGINE_EV_DH_LOCAL,     /* text: our public value, decimal */
	ENGINE_EV_KEY,          /* lab: text = shared_key; key, iv; suite, bits, hmac.
	                         * secure: text = handshake hash (hex); c2s_key, s2c_key = the two
	                         * transport keys of Split() (for the key log only) */
	ENGINE_EV_SENT,         /* client: text = plaintext; ct, tag as sent */
	ENGINE_EV_MESSAGE,      /* server: text = verified plaintext; ct, tag as received; hmac */
	ENGINE_EV_REPLY,        /* text: the reply without NULs; status 0 or CVPN_ERR_BAD_REPLY (client) */
	ENGINE_EV_PEER,         /* secure, server: text = the client's static public key, base64 */
	ENGINE_EV_CHANNEL,      /* secure: a channel record from the peer (chan), checked against the format */
	ENGINE_EV_TUNNEL,       /* secure: an IP tunnel record (status: ENGINE_TUNNEL_*); text = its payload */
	ENGINE_EV_CONFIRMED     /* the peer proved it holds the session's key: its first message verified
	                         * (lab server) or its first record opened (secure); comes before its content */
};

/* Pointers are valid only during the callback. */
struct engine_event {
	enum engine_event_type type;
	const uint8_t *text;
	size_t text_len;
	const uint8_t *ct, *tag, *key, *iv;
	size_t ct_len, tag_len, key_len, iv_len;
	const struct suite *suite;     /* lab profile; NULL in the secure profile */
	unsigned bits;
	enum record_hmac hmac;
	const char *protocol;          /* secure profile: the Noise protocol name; NULL in the lab */
	const uint8_t *c2s_key, *s2c_key; /* secure ENGINE_EV_KEY: client-to-server and server-to-client keys */
	size_t transport_key_len;
	int status;
	bool bare;                     /* lab client: the expected reply came without "Server says: " */
	const struct chan_msg *chan;   /* ENGINE_EV_CHANNEL */
};

typedef void engine_event_fn(void *arg, const struct engine_event *ev);

/* Creates an engine; fn receives every event. Sets *out only on success. Returns 0 or CVPN_ERR_*. */
int engine_new(const struct engine_config *cfg, engine_event_fn *fn, void *arg, struct engine **out);

/* Client: queues the proposal. Server: no-op. Returns 0 or CVPN_ERR_*. */
int engine_start(struct engine *e);

/* Consumes received bytes. Returns 0, or a negative code after which the session is dead. */
int engine_feed(struct engine *e, const uint8_t *p, size_t n);

/* The peer has paused: a buffered handshake message or reply is taken as complete. Same returns as engine_feed. */
int engine_quiet(struct engine *e);

/*
 * The peer has been silent for the partial timeout: a buffered handshake
 * message or reply is taken as it is, even where a short pause would not end
 * it (a Diffie-Hellman value too short to be whole). Same returns as engine_feed.
 */
int engine_stalled(struct engine *e);

/* True when bytes of an incomplete message are buffered (the transport then arms its pause timers). */
bool engine_partial(const struct engine *e);

/*
 * True when the peer's Diffie-Hellman value was taken at the partial timeout
 * with fewer digits than an honest value has but once in ten million: it was
 * most likely cut short in transit, and the two sides' keys differ. Sets
 * *digits to its length then. For failure messages.
 */
bool engine_dh_cut(const struct engine *e, size_t *digits);

/* True when engine_work() must run before the session can go on. */
bool engine_needs_work(const struct engine *e);

/* Does the pending Diffie-Hellman work. Writes only this engine (and reads its configuration): safe on another thread. */
void engine_work(struct engine *e);

/* After engine_work(), on the owner's thread: emits events, queues output, reads buffered input. */
int engine_resume(struct engine *e);

/*
 * Client: encrypts and queues one message. Returns 0, CVPN_ERR_STATE when not
 * ready (before the key or while a reply is awaited), CVPN_ERR_MSG_TOO_LONG or
 * CVPN_ERR_BAD_UTF8 (the session stays usable), or another code after which it is dead.
 */
int engine_send(struct engine *e, const uint8_t *text, size_t n);

/*
 * Parses a suite list such as "ChaChaPoly,AESGCM" into sc's preference list.
 * Sets it only on success. Returns 0 or CVPN_ERR_INVALID_ARG.
 */
int engine_parse_suites(const char *text, struct secure_config *sc);

/*
 * Secure: sends CLOSE. Client: ends the session; engine_closed() turns true
 * when the server's CLOSE answers, or when the server ended it first.
 * Server: ends an established session first (its idle timeout, its
 * shutdown): the client answers nothing, what it sends after is dropped,
 * and the transport closes once the output is written. Returns 0,
 * CVPN_ERR_STATE (a lab session, or not established or already ending), or fatal.
 */
int engine_close(struct engine *e);

/* Secure: sends REKEY and rekeys our direction now (the transport's timer calls it). */
int engine_rekey(struct engine *e);

/*
 * The program refuses what the peer sent (a channel record beyond its
 * window, say): a secure server queues an ERROR record so that the client
 * learns it was refused, and the session is dead with err. Returns err.
 */
int engine_refuse(struct engine *e, int err);

/* The IP tunnel's records over TCP (docs/SECURE.md section 12). */
enum engine_tunnel {
	ENGINE_TUNNEL_CONFIG = 14,      /* server to client: the configuration list */
	ENGINE_TUNNEL_PACKET = 15       /* either way: one inner IP packet */
};

/*
 * Secure, once established and until closing: sends one IP tunnel record
 * (a CONFIG only from the server; 1 to 16388 bytes). Returns 0,
 * CVPN_ERR_NOT_SECURE, CVPN_ERR_STATE, CVPN_ERR_INVALID_ARG (a type this side
 * may not send, or a bad length); a sealing failure kills the session.
 */
int engine_tunnel_send(struct engine *e, enum engine_tunnel type, const uint8_t *p, size_t n);

/*
 * Secure, once established and until closing: sends one channel record
 * (chan.h; the server answers OPEN, the client opens). Returns 0,
 * CVPN_ERR_NOT_SECURE for a lab session, CVPN_ERR_STATE before the handshake's
 * end or after CLOSE, CVPN_ERR_INVALID_ARG for a record the format does not
 * allow or a type this side may not send; a sealing failure kills the session.
 */
int engine_channel_send(struct engine *e, const struct chan_msg *m);

/* Secure, established, not closing: queues a KEEPALIVE record. 0, CVPN_ERR_NOT_SECURE, CVPN_ERR_STATE, or fatal. */
int engine_keepalive(struct engine *e);

/*
 * Secure: true once the session ended in order: both CLOSE records exchanged,
 * or the server's CLOSE sent or received first (a TCP close before that is a truncation).
 */
bool engine_closed(const struct engine *e);

/* True for a session of the secure profile (a server knows once the client's first bytes arrived). */
bool engine_is_secure(const struct engine *e);

/* True once ENGINE_EV_CONFIRMED came: the peer proved it holds the key (a lab client's replies never do). */
bool engine_confirmed(const struct engine *e);

/* Bytes waiting to be sent; *p stays valid until the next call on e. */
void engine_output(const struct engine *e, const uint8_t **p, size_t *n);

/* Marks n output bytes as sent. */
void engine_output_consume(struct engine *e, size_t n);

/* True once the key is established (and until a failure). */
bool engine_established(const struct engine *e);

/* True when the client may send (key established, no reply awaited). */
bool engine_ready(const struct engine *e);

/*
 * What the session is doing, for log lines: "negotiating the cipher",
 * "negotiating the key" or "exchanging messages"; after a failure, the phase
 * it failed in.
 */
const char *engine_phase(const struct engine *e);

/* Wipes every secret and frees; accepts NULL. */
void engine_free(struct engine *e);

#endif
