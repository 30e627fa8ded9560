/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: a man in the middle for the lab, between one client and one
 * server on loopback. Against the lab profile it runs two Diffie-Hellman
 * exchanges and reads (and may rewrite) everything; against the secure profile
 * it can only forward bytes, and the attack it tries must fail.
 */
#ifndef CVPN_MITM_H
#define CVPN_MITM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MITM_MAX_REWRITES 8
/*
 * The pauses that end an unterminated lab message, as the client and the
 * server use them: a short one for a message that may be whole, the partial
 * timeout for one that is visibly cut (docs/PROTOCOL.md).
 */
#define MITM_QUIET_MS 150
#define MITM_PARTIAL_MS 5000
/*
 * How long a session may stay silent (the server's default --idle-timeout),
 * and how long one end may linger after the other closed.
 */
#define MITM_IDLE_MS 300000
#define MITM_LINGER_MS 3000
/* How long a session's end waits for both ends to close after our FIN. */
#define MITM_DRAIN_MS 1000

struct attack;

/* One --rewrite FROM=TO: applied to every client message, in order. */
struct mitm_rewrite {
	const char *from, *to;
	size_t from_len, to_len;
};

struct mitm_config {
	const char *listen, *listen_port;
	const char *server, *server_port;
	bool downgrade;
	struct mitm_rewrite rewrites[MITM_MAX_REWRITES];
	size_t nrewrites;
	const struct attack *attack;    /* secure profile: NULL forwards untouched */
	bool json;
	int verbosity;                  /* 0 events, 1+ protocol values too */
	unsigned timeout_ms;            /* connecting to the server, and the profile detection */
};

/* Set by SIGINT/SIGTERM: every loop ends its session and returns. */
extern volatile sig_atomic_t mitm_stop;

/* ---- link.c: one TCP connection with an output buffer ---- */

enum dir { C2S, S2C };          /* client to server, server to client */

struct link {
	int fd;
	struct buf out;             /* bytes waiting to be sent to this peer */
	bool eof;                   /* the peer sends no more (closed, reset, or gone) */
	bool shut;                  /* we shut down our sending side */
	uint64_t last_rx;
	int paused;                 /* pauses the engine heard of since the last bytes: 0, 1 quiet, 2 stalled */
	char name[80];              /* the peer's address:port */
};

/* Milliseconds on a monotonic clock. */
uint64_t link_now(void);

/* Listens on host:port (port 0 picks one). Sets *fd and name ("addr:port"). Returns 0 or -1 with errno. */
int link_listen(const char *host, const char *port, int *fd, char *name, size_t len);

/* Accepts one client (blocking, restarts on EINTR unless stopping). Returns 0 or -1. */
int link_accept(int lfd, struct link *l);

/* Connects to host:port within timeout_ms. Returns 0, or -1 with a reason in err. */
int link_connect(const char *host, const char *port, unsigned timeout_ms, struct link *l, char *err, size_t errlen);

/* Queues bytes for the peer. Returns 0 or CVPN_ERR_*. */
int link_queue(struct link *l, const void *p, size_t n);

/* Closes the socket and frees the buffer; safe to call twice. */
void link_close(struct link *l);

/* ---- session.c: one client, its server connection, and the loop that drives them ---- */

struct mitm_session {
	const struct mitm_config *cfg;
	struct link client, server;
	enum dir first_eof;         /* which end closed first (valid once one did) */
	bool any_eof;
	uint64_t eof_at;            /* when it did */
};

/* What a profile does with the bytes the session loop reads. Each returns 0, or -1 to end at once. */
struct pump_ops {
	int (*data)(void *arg, enum dir from, const uint8_t *p, size_t n);
	int (*eof)(void *arg, enum dir from);
	int (*tick)(void *arg, uint64_t now);           /* timers are due (may be NULL) */
	uint64_t (*deadline)(void *arg);                 /* the next timer, or UINT64_MAX (may be NULL) */
};

/*
 * Runs the session until both ends closed (an end's close is passed on to the
 * other once its bytes are out), an op returns -1, the session idles out, or
 * mitm_stop. Returns 0, or -1 when it was cut short.
 */
int session_pump(struct mitm_session *ss, const struct pump_ops *ops, void *arg);

/* Serves one accepted client: connects to the server, detects the profile, runs it. */
void session_serve(const struct mitm_config *cfg, struct link *client);

/* ---- report.c: one line (or one JSON object) per event, on stdout ---- */

void report_init(const struct mitm_config *cfg);

/* Starts an event shown at verbosity >= level. Fields and the end are ignored when it is not shown. */
void report_begin(int level, const char *event);
void report_str(const char *name, const char *value);
void report_text(const char *name, const void *p, size_t n);
void report_hex(const char *name, const void *p, size_t n);
void report_num(const char *name, unsigned long long v);
void report_bool(const char *name, bool v);

/* Ends the event: the JSON object, or the human line (fmt NULL prints none). */
void report_end(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A -v detail line in human mode only, prefixed ("client side", "server side"). */
void report_detail(const char *prefix, const char *line);

/* An error of the proxy itself: stderr, and a JSON "error" event. */
void report_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Network text made safe for a terminal, for report_free(). Never NULL (a placeholder when out of memory). */
char *report_escape(const void *p, size_t n);
void report_free(char *s);

/* ---- lab.c: the real man in the middle ---- */

/* Runs the lab profile; first holds the client's bytes read so far. */
void lab_run(struct mitm_session *ss, const uint8_t *first, size_t n);

/* ---- secure.c: forwarding the secure profile, with one attack ---- */

/* Runs the secure profile; first holds the client's bytes read so far. */
void secure_run(struct mitm_session *ss, const uint8_t *first, size_t n);

/* ---- attack.c: the attacks on the secure profile ---- */

/* The attack named name, or NULL. */
const struct attack *attack_find(const char *name);

/* Calls fn with one help line per attack. */
void attack_help(void (*fn)(void *arg, const char *line), void *arg);

#endif
