/* SPDX-License-Identifier: MIT */
/*
 * bench/loadgen: one process, one epoll loop per thread, many client
 * sessions at once. Sessions of the two profiles run the real client engines
 * of common/ (round trips of both seal with the session's own records once
 * the engine has run the handshake); plain sessions (no crypto) are the
 * baseline and sessions of a profile's primitives alone its ceiling; lab
 * handshake floods use a scripted client that sends precomputed DH values
 * (see lg_conn.c for why). docs/PERFORMANCE.md says what each mode measures.
 */
#ifndef CVPN_LOADGEN_H
#define CVPN_LOADGEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "buf.h"
#include "engine_bench.h"
#include "labprim.h"
#include "secprim.h"

enum lg_profile {
	LG_LAB,         /* the lab profile, AES-256, cumulative HMAC */
	LG_SECURE       /* the secure profile, key mode (Noise IK), ChaChaPoly unless --suites says otherwise */
};

/* The command line, after parsing. */
struct lg_opts {
	struct sockaddr_in addr;
	in_port_t baseline_port;        /* rtt, throughput: plain echo clients here take turns (network order); 0 for none */
	in_port_t ceiling_port;         /* and its primitives alone here (network order, the first of --suites); 0 for none */
	enum lg_profile profile;
	enum lg_profile flood_profile;  /* latency: what the handshake flood speaks */
	bool engine_client;             /* rtt, throughput: messages through the whole client engine */
	bool client_set;                /* --client was given */
	uint8_t server_pub[32];
	bool server_pub_set;
	struct secure_config suites;    /* secure: the suites offered (only suites and nsuites are used) */
	unsigned concurrency;           /* handshakes in flight, clients, or probe sessions */
	unsigned flood_concurrency;     /* latency: handshakes in flight in the flood */
	unsigned count;                 /* hold: sessions to open */
	unsigned size;                  /* message size in bytes */
	unsigned verify_every;          /* lab handshakes: every Nth runs the full engine and one message */
	unsigned rate;                  /* latency: messages per second per probe session */
	unsigned timeout_ms;            /* per step: connect, handshake, reply */
	double duration, warmup;        /* seconds */
	int server_pid;                 /* hold: whose RSS to read; 0 for none */
};

/* What every session of a run shares, read-only once built (threads included). */
struct lg_setup {
	const struct lg_opts *o;
	struct engine_config lab, secure;
	char **dhmke;                   /* the scripted client's precomputed "DHMKE:...\n" lines */
	size_t *dhmke_len, ndhmke;
	uint8_t *message;               /* o->size bytes of printable ASCII */
	uint8_t *reply;                 /* the server's reply to it: the prefix and the reversed message */
	size_t reply_len;
};

/* Builds the engine configurations, the DH pool and the message. Returns 0 or a CVPN_ERR_* code. */
int lg_setup_init(struct lg_setup *s, const struct lg_opts *o);

/* Frees what lg_setup_init made; accepts a zeroed setup. */
void lg_setup_free(struct lg_setup *s);

/* ---- lg_loop.c and lg_conn.c: the event loop and its connections ---- */

enum lg_kind {
	LG_KIND_PLAIN,      /* echo client */
	LG_KIND_ENGINE,     /* a client engine, lab or secure */
	LG_KIND_SCRIPTED,   /* lab handshake only, precomputed client DH value */
	LG_KIND_PRIMITIVES, /* echo client that seals each message with bench/labprim.c */
	LG_KIND_SECURE_PRIMITIVES, /* the same with bench/secprim.c */
	LG_KIND_RECORD      /* the engine's handshake, then messages sealed with the session's records */
};

enum lg_state {
	LG_CONNECTING,
	LG_HANDSHAKE,
	LG_READY,           /* may send */
	LG_WAITING,         /* a message is out, its reply is due */
	LG_CLOSING,         /* secure: CLOSE sent, waiting for the server's */
	LG_DEAD
};

enum lg_event {
	LG_EV_ESTABLISHED,  /* the key is established (plain: connected) */
	LG_EV_REPLY,        /* the reply to the last message arrived; rtt_us holds its round trip */
	LG_EV_CLOSED,       /* closed after lg_conn_finish */
	LG_EV_FAILED        /* anything else that ended it; why says what */
};

struct lg_loop;
struct lg_conn;

typedef void lg_event_fn(void *arg, struct lg_conn *c, enum lg_event ev);
/* Called once per loop turn; returns how many microseconds it may sleep at most. */
typedef uint64_t lg_tick_fn(void *arg, uint64_t now_us);

struct lg_conn {
	struct lg_loop *loop;
	struct lg_conn *prev, *next;
	int fd;
	enum lg_kind kind;
	enum lg_state state;
	struct engine *engine;
	struct labprim *prim;           /* primitives kind: the sending direction */
	struct secprim *sprim;          /* secure primitives kind */
	struct buf in, out;             /* every kind but the engine's (the record kind once established) */
	size_t due;                     /* plain, primitives, lab record: reply bytes still to come;
	                                 * secure primitives: the reply record's body length */
	size_t pool;                    /* scripted: which precomputed DH value */
	unsigned step;                  /* scripted: 0 waiting for the choice, 1 for the server's DHMKE */
	bool epollout;                  /* EPOLLOUT is armed */
	bool bad_reply;                 /* engine: a reply other than "Server says: " + the reversed message */
	bool quiet_done;                /* engine_quiet() ran for the buffered bytes */
	uint64_t opened_us, sent_us, rx_us, deadline_us;
	uint64_t rtt_us;                /* of the last reply */
	uint64_t handshake_us;          /* connect to established */
	const char *why;                /* after LG_EV_FAILED */
	/* For the mode's own use. */
	unsigned long tag;
	uint64_t next_send_us;
	bool flag;
};

struct lg_loop {
	int epfd;
	const struct lg_setup *setup;
	lg_event_fn *fn;
	lg_tick_fn *tick;
	void *arg;
	struct lg_conn *live, *dead;
	size_t nlive;
	unsigned long opened;           /* connections started, for the DH pool's rotation */
	uint64_t now_us, scanned_us;
	atomic_bool *stop;              /* set by another thread to end lg_loop_run early; may be NULL */
	bool quit;                      /* set by the mode to end lg_loop_run */
	uint8_t rxbuf[65536];
};

/* Monotonic microseconds. */
uint64_t lg_now_us(void);

/* Creates the epoll instance. Returns 0, or -1 with errno set. */
int lg_loop_init(struct lg_loop *l, const struct lg_setup *s, lg_event_fn *fn, lg_tick_fn *tick, void *arg);

/* Runs until until_us, l->quit or *l->stop. Returns 0, or -1 with errno set when epoll fails. */
int lg_loop_run(struct lg_loop *l, uint64_t until_us);

/* Closes every connection left (without events) and the epoll instance. */
void lg_loop_free(struct lg_loop *l);

/*
 * Starts a connection of kind (profile picks the engine configuration of
 * the engine and record kinds); plain ones go to the baseline port and
 * primitives ones to the ceiling port.
 * Returns it, or NULL with errno set; failures after this call arrive as LG_EV_FAILED.
 */
struct lg_conn *lg_conn_open(struct lg_loop *l, enum lg_kind kind, enum lg_profile profile);

/* Sends the run's message; the reply comes as LG_EV_REPLY. Returns 0, or -1 after LG_EV_FAILED. */
int lg_conn_send(struct lg_conn *c);

/* Ends a session cleanly (secure: the CLOSE exchange); LG_EV_CLOSED follows, at once or later. */
void lg_conn_finish(struct lg_conn *c);

/* Ends a session at once without an event (end of a run). */
void lg_conn_drop(struct lg_conn *c);

/* ---- lg_conn.c internals used by lg_loop.c ---- */

/* Handles readiness of c's socket. */
void lg_conn_io(struct lg_conn *c, uint32_t events);

/* Checks c's deadline and its quiet period. */
void lg_conn_timers(struct lg_conn *c);

/* Frees a connection whose socket is closed and which is on no list; accepts NULL. */
void lg_conn_free(struct lg_conn *c);

/* Marks c dead with reason why, closes its socket and reports LG_EV_FAILED (or ev). */
void lg_conn_end(struct lg_conn *c, enum lg_event ev, const char *why);

/* ---- lg_stats.c: samples, percentiles, RSS, JSON ---- */

struct lg_samples {
	uint32_t *v;                    /* microseconds */
	size_t n, cap;
	bool sorted;
};

/* Adds a sample (bounded: past 4 million samples they are dropped). */
void lg_samples_add(struct lg_samples *s, uint64_t us);

/* The p-th percentile (nearest rank), 0 when empty. */
double lg_samples_pct(struct lg_samples *s, double p);

/* Frees the samples; accepts an empty set. */
void lg_samples_free(struct lg_samples *s);

/* A field of /proc/PID/status in KiB ("VmRSS"), or -1. */
long lg_proc_kib(int pid, const char *field);

/* One JSON object, written as one line. */
struct lg_json {
	char buf[4096];
	size_t len;
};

void lg_json_begin(struct lg_json *j, const char *mode);
void lg_json_str(struct lg_json *j, const char *key, const char *value);
void lg_json_num(struct lg_json *j, const char *key, double value);
void lg_json_int(struct lg_json *j, const char *key, long long value);
/* Closes the object and prints it with a newline to stdout. */
void lg_json_end(struct lg_json *j);

/* ---- lg_modes.c ---- */

/* The result of a handshake flood, for the handshakes and latency modes. */
struct lg_flood {
	unsigned long handshakes;       /* completed inside the measuring window */
	unsigned long verified, failures;
	double seconds;                 /* the window's length */
	struct lg_samples times;        /* connect to established, microseconds */
	const char *last_error;
};

/*
 * Keeps `concurrency` handshakes of `profile` in flight until the window
 * [start + warmup, start + duration) ends or *stop is set (stop may be NULL);
 * while *paused is set (paused may be NULL) it starts none and lets those in
 * flight finish. With verify_every N > 0, every Nth lab session is a full one
 * that sends a message. Returns 0, or -1 when the loop itself failed.
 */
int lg_flood_run(const struct lg_setup *s, enum lg_profile profile, unsigned concurrency, unsigned verify_every,
    atomic_bool *stop, atomic_bool *paused, struct lg_flood *out);

/* The modes: each prints one JSON line and returns an exit status. */
int lg_mode_handshakes(const struct lg_setup *s);
int lg_mode_rtt(const struct lg_setup *s);
int lg_mode_throughput(const struct lg_setup *s);
int lg_mode_hold(const struct lg_setup *s);
int lg_mode_latency(const struct lg_setup *s);

/* The profile's name: "lab" or "secure". */
const char *lg_profile_name(enum lg_profile p);

#endif
