/* SPDX-License-Identifier: MIT */
/* cvpn-client: shared declarations of the client's modules. */
#ifndef CVPN_CLIENT_H
#define CVPN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* Exit codes (sysexits names); the README's table is generated from the same meanings. */
enum client_exit {
	CLIENT_OK = 0,
	CLIENT_USAGE = 64,        /* EX_USAGE: bad command line */
	CLIENT_REJECTED = 65,     /* EX_DATAERR: the server dropped us after a message (bad HMAC) */
	CLIENT_NOHOST = 68,       /* EX_NOHOST: the host name does not resolve */
	CLIENT_UNAVAILABLE = 69,  /* EX_UNAVAILABLE: cannot connect, or the connection was lost */
	CLIENT_SOFTWARE = 70,     /* EX_SOFTWARE: internal error */
	CLIENT_CANTCREAT = 73,    /* EX_CANTCREAT: cannot open the key log */
	CLIENT_IOERR = 74,        /* EX_IOERR: reading the terminal or a file failed */
	CLIENT_TIMEOUT = 75,      /* EX_TEMPFAIL: the server did not answer in time */
	CLIENT_PROTOCOL = 76,     /* EX_PROTOCOL: the server broke the protocol (bad DH value, bad message) */
	CLIENT_NOPERM = 77,       /* EX_NOPERM: --tun without root or CAP_NET_ADMIN */
	CLIENT_NEGOTIATION = 78   /* EX_CONFIG: no cipher in common (the server closed after the proposal) */
};

/* What went wrong, for one error line and one JSON event. */
struct failure {
	enum client_exit exit;
	const char *code;         /* short token for JSON: "connect", "timeout", "bad_hmac", ... */
	char message[512];
};

struct fwdspec;
struct keylog;

struct client_config {
	const char *host;
	const char *port;
	unsigned timeout_ms;      /* connect, and each wait for the server */
	unsigned quiet_ms;        /* pause that ends an unterminated message that may be whole */
	unsigned partial_timeout_ms; /* pause that ends one that is visibly incomplete */
	unsigned rekey_ms;        /* secure: rekey our direction when a message is sent this long after; 0 never */
	struct engine_config engine;
	int verbosity;            /* -1 quiet, 0 transcript, 1+ protocol values */
	bool json;
	const char *history;      /* history file, NULL for none */
	struct keylog *keylog;    /* session keys for Wireshark, or NULL */
	/* Port forwarding (secure profile): listeners, and what they may hold. */
	struct fwdspec *forwards; /* --forward, in order */
	size_t nforwards;
	struct fwdspec *socks;    /* --socks */
	size_t nsocks;
	bool forward_only;        /* --forward-only: no messages, run until a signal */
	bool reconnect;           /* --reconnect: a lost session is opened again, the listeners stay */
	unsigned max_channels;    /* local connections carried at once */
	size_t max_buffer;        /* bytes the server may make us hold for local readers, all channels together */
	unsigned keepalive_ms;    /* forwarding: a KEEPALIVE after this long without sending; 0 never */
};

/* ---- profile.c: which profile, and the secure profile's keys ---- */

enum profile_choice { PROFILE_AUTO, PROFILE_LAB, PROFILE_SECURE };

struct profile_args {
	enum profile_choice profile;
	const char *server_key;     /* base64 */
	const char *key;            /* our private key file */
	const char *psk;            /* PSK file */
	const char *known_servers;  /* known-servers file */
};

/* Fills cfg->engine.secure from the flags (secure when a server key or PSK is known). 0, or -1 with *f. */
int profile_configure(struct client_config *cfg, const struct profile_args *pa, struct failure *f);

/* "cvpn-client genkey": prints a new private key. Returns an exit code. */
int profile_genkey(void);

/* "cvpn-client pubkey": reads a private key on stdin, prints its public key. Returns an exit code. */
int profile_pubkey(void);

/* ---- report.c: everything the user sees ---- */

/* Sets how events and errors are shown. */
void report_init(const struct client_config *cfg);

/* Engine event callback (arg unused). */
void report_event(void *arg, const struct engine_event *ev);

/* "Connected to ..." and its JSON event. */
void report_connected(const char *host, const char *address);

/* "Forwarding ADDRESS to HOST:PORT" (to NULL: a SOCKS5 proxy) and its JSON event. */
void report_listening(const char *address, const char *to);

/* A channel the server refused: one line on stderr and a JSON event; detail is the server's, escaped here. */
void report_refused(const char *from, const char *to, int reason, const uint8_t *detail, size_t n);

/* -v: a channel opened or closed, on stderr. */
void report_channel(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --reconnect: the next attempt and when it starts, and its JSON event. */
void report_reconnecting(unsigned attempt, unsigned attempts, unsigned delay_ms);

/* One error line on stderr, plus a JSON error event. */
void report_failure(const struct failure *f);

/* A warning that does not end the session (message too long, invalid UTF-8). */
void report_warning(const char *code, const char *message);

/* The JSON "closed" event at a normal end. */
void report_closed(void);

/* ---- loop.c: the descriptors the client waits on ---- */

struct loop;
struct loop_watch;

/* What a watched descriptor waits for now (POLLIN, POLLOUT), or 0 to skip it this turn. */
typedef short loop_events_fn(void *arg);
/* The descriptor is ready: revents as poll() set them. */
typedef void loop_ready_fn(void *arg, short revents);

/* A new loop with nothing to watch. Sets *out; returns 0 or CVPN_ERR_NOMEM. */
int loop_new(struct loop **out);

/* Frees the loop and its watches (not their descriptors); accepts NULL. */
void loop_free(struct loop *l);

/* Watches fd: events() before each turn, ready() when it is. Sets *out; returns 0 or CVPN_ERR_NOMEM. */
int loop_watch(struct loop *l, int fd, loop_events_fn *events, loop_ready_fn *ready, void *arg,
    struct loop_watch **out);

/* Stops watching; safe inside any ready(), that watch's own included. Accepts NULL. */
void loop_unwatch(struct loop *l, struct loop_watch *w);

/* Waits up to timeout_ms (-1: no limit) and calls ready() of each ready watch. 0, or -1 with errno. */
int loop_turn(struct loop *l, int timeout_ms);

/* Milliseconds of a monotonic clock. */
uint64_t loop_now_ms(void);

/* A signal caught into a loop: called from the loop's turn, never from the handler. */
typedef void loop_signal_fn(void *arg, int sig);
struct loop_signals;

/*
 * Catches the n signals of sigs into l: each that arrives wakes a turn in
 * progress and calls fn on it. One catch at a time in the process. Sets
 * *out; returns 0, CVPN_ERR_STATE (one is on already) or CVPN_ERR_IO.
 */
int loop_signals_catch(struct loop *l, const int *sigs, size_t n, loop_signal_fn *fn, void *arg,
    struct loop_signals **out);

/* Gives the signals their earlier actions back and stops watching; accepts NULL. */
void loop_signals_free(struct loop_signals *ls);

/* ---- net.c: the connection and the engine that runs over it ---- */

struct chan_msg;
struct session;

/* Until what a session runs: arg is the caller's. */
typedef bool session_done_fn(void *arg);
/* A channel record from the server. Returns 0, or CVPN_ERR_CHANNEL when it breaks the protocol. */
typedef int session_channel_fn(void *arg, const struct chan_msg *m);
/* The session is ending (session_finish): the channels must end first. */
typedef void session_end_fn(void *arg);

/* Connects (trying every address), runs the handshake on loop. Sets *out or fills *f. */
int session_open(const struct client_config *cfg, struct loop *loop, struct session **out, struct failure *f);

/*
 * Turns the loop until done(arg) holds (0), or the session fails or
 * timeout_ms passes (0: no limit) (-1 with *f; the session is then dead).
 */
int session_run(struct session *s, session_done_fn *done, void *arg, unsigned timeout_ms, struct failure *f);

/* Sends one message and waits for its reply. 0, 1 for a non-fatal refusal (warned), or -1 with *f. */
int session_send(struct session *s, const char *text, size_t n, struct failure *f);

/* Ends the session: the secure profile's CLOSE exchange (nothing for the lab). 0, or -1 with *f. */
int session_finish(struct session *s, struct failure *f);

/*
 * Sends one channel record (rekeying first when it is time). Returns 0,
 * CVPN_ERR_INVALID_ARG, CVPN_ERR_STATE or CVPN_ERR_NOT_SECURE (nothing sent,
 * the session lives), or another code once the session is dead.
 */
int session_channel_send(struct session *s, const struct chan_msg *m);

/* An IP tunnel record from the server (type: ENGINE_TUNNEL_*). */
typedef void session_tunnel_fn(void *arg, int type, const uint8_t *p, size_t n);

/*
 * Sends one IP tunnel record (rekeying first when it is time). Returns as
 * session_channel_send does.
 */
int session_tunnel_send(struct session *s, int type, const uint8_t *p, size_t n);

/*
 * Hands every IP tunnel record from the server to fn, starting with a CONFIG
 * that came before (without a handler the others are ignored).
 */
void session_on_tunnel(struct session *s, session_tunnel_fn *fn, void *arg);

/*
 * Hands every channel record from the server to fn (NULL: a record then
 * breaks the session), and calls end when session_finish() begins.
 */
void session_on_channel(struct session *s, session_channel_fn *fn, session_end_fn *end, void *arg);

/* True while the session may carry channels: alive, established, secure, not ending. */
bool session_carries(const struct session *s);

/* Bytes sealed and waiting for the server's socket. */
size_t session_backlog(const struct session *s);

/* True once the session has failed (session_run says why). */
bool session_failed(const struct session *s);

/* The loop the session runs on. */
struct loop *session_loop(const struct session *s);

/* One line for \status. */
void session_status(const struct session *s, char *out, size_t len);

/* Closes and frees; accepts NULL. */
void session_close(struct session *s);

/* ---- forward.c: local listeners whose connections ride the session as channels ---- */

struct forward;

/*
 * Raises the descriptor limit and binds every --forward and --socks
 * listener on loop; they accept once a session is attached. Sets *out or
 * fills *f (an address that cannot be bound).
 */
int forward_new(struct client_config *cfg, struct loop *loop, struct forward **out, struct failure *f);

/* Says where each listener is and where it goes ("Forwarding ..."), once. */
void forward_announce(struct forward *fw);

/* Carries new local connections through s from now on. */
void forward_attach(struct forward *fw, struct session *s);

/* Closes every local connection (the session ended or is ending) and stops accepting; the listeners stay. */
void forward_detach(struct forward *fw);

/*
 * --forward-only: runs until SIGINT or SIGTERM (then ends the session
 * cleanly) or until the session fails; with --reconnect a failed session is
 * opened again with backoff, and *s replaced. Returns an exit code.
 */
int forward_run(struct forward *fw, struct session **s);

/* Closes the listeners and every connection; accepts NULL. */
void forward_free(struct forward *fw);

/* ---- prompt.c: where messages come from ---- */

/* Sends each -m message. Returns an exit code. */
int prompt_messages(struct session *s, char **msgs, size_t n);

/* Reads lines from a pipe or file on stdin (no prompt, no echo). Returns an exit code. */
int prompt_lines(struct session *s);

/* The interactive readline prompt with history and \commands. Returns an exit code. */
int prompt_interactive(struct session *s, const struct client_config *cfg);

/*
 * Call before writing to the terminal: when the interactive prompt is on the
 * screen, takes it and the half-typed line off (the prompt puts them back
 * once the output is done). Does nothing otherwise (-m, pipes, --json).
 */
void prompt_hide(void);

#endif
