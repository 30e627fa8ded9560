/* SPDX-License-Identifier: MIT */
/*
 * bench/loadgen: the load generator behind make bench. One process drives
 * many client sessions against cvpn-server (or bench/echo) on 127.0.0.1 and
 * prints one JSON line with what it measured.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dh.h"
#include "err.h"
#include "keys.h"
#include "lab_wire.h"
#include "loadgen.h"
#include "noise.h"
#include "proposal.h"
#include "record.h"
#include "suite.h"
#include "text.h"

/* Precomputed client DH values for scripted handshakes; the server cannot tell them apart. */
#define DH_POOL 8

static const struct mode {
	const char *name;
	int (*run)(const struct lg_setup *s);
	unsigned concurrency;     /* the default of -c */
	bool traffic;             /* sends messages in a loop: --client and --ceiling-port mean something here */
	const char *help;
} modes[] = {
	{ "handshakes", lg_mode_handshakes, 16, false, "new sessions per second, -c handshakes in flight" },
	{ "rtt", lg_mode_rtt, 1, true, "round trips per second on one connection, -s bytes a message" },
	{ "throughput", lg_mode_throughput, 100, true, "messages per second over -c clients, one message in flight each" },
	{ "hold", lg_mode_hold, 64, false, "open -n sessions, check each answers, report the server's RSS per session" },
	{ "latency", lg_mode_latency, 4, false,
	  "p50/p99 of -c paced sessions, in slots that alternate idle and under a handshake flood" },
};

static void
usage(void)
{
	FILE *f = stdout;
	size_t i;

	fprintf(f, "Usage: loadgen MODE -p PORT [OPTION]...\n"
	    "Drives many cvpn client sessions (or plain TCP echo sessions) from one process.\n\nModes:\n");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(f, "  %-12s %s\n", modes[i].name, modes[i].help);
	fprintf(f, "\nOptions:\n"
	    "  -p, --port PORT             server port on 127.0.0.1 (required)\n"
	    "  -P, --profile NAME          lab (default) or secure\n"
	    "      --server-key KEY        secure: the server's public key (base64)\n"
	    "      --suites LIST           secure: AEAD suites offered, in order (default ChaChaPoly)\n"
	    "      --client KIND           rtt, throughput: record (default: messages sealed with the\n"
	    "                              session's own records once the engine has run the handshake,\n"
	    "                              each reply checked byte for byte) or engine (the whole client\n"
	    "                              engine for every message, as cvpn-client sends)\n"
	    "  -c, --concurrency N         handshakes in flight, clients or probes (default by mode)\n"
	    "  -n, --count N               hold: sessions to open (default 100)\n"
	    "  -s, --size BYTES            message size (default 64)\n"
	    "  -d, --duration SEC          measuring window (default 5)\n"
	    "  -w, --warmup SEC            time before the window, not measured (default 1)\n"
	    "      --verify-every N        lab handshakes: every Nth is a full session with a message (default 16, 0 never)\n"
	    "      --rate HZ               latency: messages a second per probe (default 200)\n"
	    "      --flood-profile NAME    latency: lab (default) or secure handshakes in the flood\n"
	    "      --flood-concurrency N   latency: handshakes in flight in the flood (default 8)\n"
	    "      --server-pid PID        hold: the server process whose memory is read\n"
	    "      --timeout MS            limit for each connect, handshake and reply (default 10000)\n"
	    "      --baseline-port PORT    rtt, throughput: as many plain echo clients on PORT, taking\n"
	    "                              turns with the measured ones every 50 ms (paired run)\n"
	    "      --ceiling-port PORT     with --baseline-port (and one suite): a third group, as many clients\n"
	    "                              of the profile's primitives alone (echo --lab-primitives or\n"
	    "                              --secure-primitives) on PORT, in the same turns: the run's ceiling\n"
	    "  -h, --help                  show this help and exit\n"
	    "\nPrints one JSON object on stdout and a summary on stderr. Exit status: 0 when the\n"
	    "measurement is valid, 1 when sessions failed or nothing completed, 64 usage error.\n");
}

/* A profile by the name lg_profile_name gives it. Returns 0, or -1 for an unknown name. */
static int
parse_profile(const char *s, enum lg_profile *p)
{
	enum lg_profile i;

	for (i = LG_LAB; i <= LG_SECURE; i++) {
		if (strcmp(s, lg_profile_name(i)) == 0) {
			*p = i;
			return 0;
		}
	}
	return -1;
}

/* --client: record or engine. Returns 0, or -1 for anything else. */
static int
parse_client(const char *s, bool *engine)
{
	if (strcmp(s, "record") != 0 && strcmp(s, "engine") != 0)
		return -1;
	*engine = strcmp(s, "engine") == 0;
	return 0;
}

/* A whole number in [lo, hi], or -1. */
static long
number(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && *end == '\0' && v >= lo && v <= hi ? v : -1;
}

static double
seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	return *s && *end == '\0' && v >= 0 && v <= 3600 ? v : -1;
}

enum { OPT_KEY = 256, OPT_SUITES, OPT_CLIENT, OPT_VERIFY, OPT_RATE, OPT_FLOOD_PROFILE, OPT_FLOOD_CONC, OPT_PID, OPT_TIMEOUT, OPT_BASELINE, OPT_CEILING };

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "profile", required_argument, NULL, 'P' },
	{ "server-key", required_argument, NULL, OPT_KEY },
	{ "suites", required_argument, NULL, OPT_SUITES },
	{ "client", required_argument, NULL, OPT_CLIENT },
	{ "concurrency", required_argument, NULL, 'c' },
	{ "count", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "duration", required_argument, NULL, 'd' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "verify-every", required_argument, NULL, OPT_VERIFY },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "flood-profile", required_argument, NULL, OPT_FLOOD_PROFILE },
	{ "flood-concurrency", required_argument, NULL, OPT_FLOOD_CONC },
	{ "server-pid", required_argument, NULL, OPT_PID },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "baseline-port", required_argument, NULL, OPT_BASELINE },
	{ "ceiling-port", required_argument, NULL, OPT_CEILING },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The long name of an option, for messages. */
static const char *
opt_name(int c)
{
	const struct option *o;

	for (o = long_opts; o->name != NULL; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* Options that take a whole number into an unsigned field of struct lg_opts. */
static const struct count_opt {
	int opt;
	long lo, hi;
	size_t field;
} count_opts[] = {
	{ 'c', 1, 100000, offsetof(struct lg_opts, concurrency) },
	{ 'n', 1, 1000000, offsetof(struct lg_opts, count) },
	{ 's', 1, 65536, offsetof(struct lg_opts, size) },
	{ OPT_VERIFY, 0, 1000000, offsetof(struct lg_opts, verify_every) },
	{ OPT_RATE, 1, 100000, offsetof(struct lg_opts, rate) },
	{ OPT_FLOOD_CONC, 1, 10000, offsetof(struct lg_opts, flood_concurrency) },
	{ OPT_TIMEOUT, 1, 600000, offsetof(struct lg_opts, timeout_ms) },
};

/* Applies an option of count_opts. Returns 1 when c is one (0 or -1 in *bad), 0 when it is not. */
static int
apply_count(struct lg_opts *o, int c, const char *arg, int *bad)
{
	size_t i;
	long v;

	for (i = 0; i < sizeof(count_opts) / sizeof(count_opts[0]); i++) {
		if (count_opts[i].opt != c)
			continue;
		if ((v = number(arg, count_opts[i].lo, count_opts[i].hi)) < 0)
			*bad = 1;
		else
			*(unsigned *)(void *)((char *)o + count_opts[i].field) = (unsigned)v;
		return 1;
	}
	return 0;
}

/* Applies one option. Returns 0, or -1 after printing what is wrong with it. */
static int
apply(struct lg_opts *o, int c, const char *arg)
{
	long v = 0;
	int bad = 0;

	if (apply_count(o, c, arg, &bad))
		;
	else if (c == 'p' && (bad = (v = number(arg, 1, 65535)) < 0) == 0)
		o->addr.sin_port = htons((uint16_t)v);
	else if (c == OPT_BASELINE && (bad = (v = number(arg, 1, 65535)) < 0) == 0)
		o->baseline_port = htons((uint16_t)v);
	else if (c == OPT_CEILING && (bad = (v = number(arg, 1, 65535)) < 0) == 0)
		o->ceiling_port = htons((uint16_t)v);
	else if (c == 'P')
		bad = parse_profile(arg, &o->profile) != 0;
	else if (c == OPT_FLOOD_PROFILE)
		bad = parse_profile(arg, &o->flood_profile) != 0;
	else if (c == OPT_KEY)
		o->server_pub_set = !(bad = keys_from_base64(arg, strlen(arg), o->server_pub) != 0);
	else if (c == OPT_SUITES)
		bad = engine_parse_suites(arg, &o->suites) != 0;
	else if (c == OPT_CLIENT)
		o->client_set = !(bad = parse_client(arg, &o->engine_client) != 0);
	else if (c == 'd')
		bad = (o->duration = seconds(arg)) <= 0;
	else if (c == 'w')
		bad = (o->warmup = seconds(arg)) < 0;
	else if (c == OPT_PID && (bad = (v = number(arg, 1, 1 << 30)) < 0) == 0)
		o->server_pid = (int)v;
	else if (c != 'p' && c != OPT_PID && c != OPT_BASELINE && c != OPT_CEILING)
		return -1;
	if (bad)
		fprintf(stderr, "loadgen: invalid value `%s' for --%s\n", arg, opt_name(c));
	return bad ? -1 : 0;
}

/* The primitives' clients of --ceiling-port take any message their profile does. */
_Static_assert(LABPRIM_MAX >= ENGINE_MAX_MESSAGE, "a lab message's ciphertext fits bench/labprim.c");

/* Whether a --size message fits the profile: the lab's on the wire, the secure profile's in its record. */
static bool
size_fits(const struct lg_opts *o)
{
	return o->profile == LG_LAB ? record_wire_len(o->size) <= ENGINE_MAX_MESSAGE : o->size <= ENGINE_MAX_MESSAGE;
}

/* Checks what the options mean together. Returns 0, or -1 after printing why. */
static int
check(const struct lg_opts *o)
{
	if (o->addr.sin_port == 0) {
		fprintf(stderr, "loadgen: --port is required\n");
		return -1;
	}
	if ((o->profile == LG_SECURE || o->flood_profile == LG_SECURE) && !o->server_pub_set) {
		fprintf(stderr, "loadgen: the secure profile needs --server-key\n");
		return -1;
	}
	if (o->ceiling_port && !o->baseline_port) {
		fprintf(stderr, "loadgen: --ceiling-port is for a paired run (--baseline-port)\n");
		return -1;
	}
	/* The primitives use the first suite; with a choice the server might pick another for cvpn. */
	if (o->ceiling_port && o->profile == LG_SECURE && o->suites.nsuites > 1) {
		fprintf(stderr, "loadgen: --ceiling-port needs a single suite (--suites), so that both groups use it\n");
		return -1;
	}
	if (!size_fits(o)) {
		fprintf(stderr, "loadgen: --size %u is over the %s profile's message limit\n", o->size,
		    lg_profile_name(o->profile));
		return -1;
	}
	return 0;
}

static const struct mode *
find_mode(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].name, name) == 0)
			return &modes[i];
	return NULL;
}

static void
defaults(struct lg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->addr.sin_family = AF_INET;
	o->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	o->profile = LG_LAB;
	o->flood_profile = LG_LAB;
	o->count = 100;
	o->size = 64;
	o->duration = 5;
	o->warmup = 1;
	o->verify_every = 16;
	o->rate = 200;
	o->flood_concurrency = 8;
	o->timeout_ms = 10000;
	o->suites.suites[0] = AEAD_CHACHAPOLY;
	o->suites.nsuites = 1;
}

/* ---- Setup shared by every session ---- */

/* The scripted client's DHMKE lines, from fixed exponents: only the server's work matters to a flood. */
static int
dh_pool_init(struct lg_setup *s)
{
	uint8_t priv[DH_PRIVATE_BITS / 8];
	struct dh *dh;
	char *dec;
	size_t i, j;
	int r;

	if ((s->dhmke = calloc(DH_POOL, sizeof(*s->dhmke))) == NULL ||
	    (s->dhmke_len = calloc(DH_POOL, sizeof(*s->dhmke_len))) == NULL)
		return CVPN_ERR_NOMEM;
	for (i = 0; i < DH_POOL; i++) {
		for (j = 0; j < sizeof(priv); j++)
			priv[j] = (uint8_t)(0x9e ^ (i * 61 + j * 17 + 1));
		priv[0] |= 0x80;
		if ((r = dh_from_private(priv, sizeof(priv), &dh)) != 0)
			return r;
		r = dh_public_decimal(dh, &dec);
		dh_free(dh);
		if (r != 0)
			return r;
		s->dhmke_len[i] = strlen(LAB_DHMKE) + 1 + strlen(dec) + 1;
		if ((s->dhmke[i] = malloc(s->dhmke_len[i] + 1)) == NULL) {
			free(dec);
			return CVPN_ERR_NOMEM;
		}
		snprintf(s->dhmke[i], s->dhmke_len[i] + 1, "%s%c%s\n", LAB_DHMKE, LAB_SEPARATOR, dec);
		free(dec);
		s->ndhmke++;
	}
	return 0;
}

int
lg_setup_init(struct lg_setup *s, const struct lg_opts *o)
{
	uint8_t pub[32];
	size_t i;
	int r;

	memset(s, 0, sizeof(*s));
	s->o = o;
	if ((r = suite_init()) != 0)
		return r;
	/* The lab client as cvpn-client runs it, with terminators so that nobody waits for a pause. */
	if ((r = proposal_parse_spec("AES:256", false, &s->lab.ciphers)) != 0)
		return r;
	s->lab.hmac = RECORD_HMAC_CUMULATIVE;
	s->lab.newline = ENGINE_NEWLINE_ALWAYS;
	/* Key mode with one client identity for all sessions (the server accepts any key). */
	s->secure = s->lab;
	s->secure.secure.enabled = true;
	memcpy(s->secure.secure.server_pub, o->server_pub, 32);
	s->secure.secure.server_pub_set = o->server_pub_set;
	if ((r = noise_keypair_generate(s->secure.secure.static_priv, pub)) != 0)
		return r;
	s->secure.secure.static_priv_set = true;
	memcpy(s->secure.secure.suites, o->suites.suites, sizeof(o->suites.suites));
	s->secure.secure.nsuites = o->suites.nsuites;
	s->secure.secure.rekey_records = (uint64_t)1 << 20;
	if ((s->message = malloc(o->size)) == NULL)
		return CVPN_ERR_NOMEM;
	for (i = 0; i < o->size; i++)
		s->message[i] = (uint8_t)"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
	s->reply_len = strlen(LAB_REPLY_PREFIX) + o->size;
	if ((s->reply = malloc(s->reply_len)) == NULL)
		return CVPN_ERR_NOMEM;
	memcpy(s->reply, LAB_REPLY_PREFIX, strlen(LAB_REPLY_PREFIX));
	text_utf8_reverse(s->reply + strlen(LAB_REPLY_PREFIX), s->message, o->size);
	return dh_pool_init(s);
}

void
lg_setup_free(struct lg_setup *s)
{
	size_t i;

	for (i = 0; s->dhmke && i < DH_POOL; i++)
		free(s->dhmke[i]);
	free(s->dhmke);
	free(s->dhmke_len);
	free(s->message);
	free(s->reply);
	OPENSSL_cleanse(&s->secure, sizeof(s->secure));
	memset(s, 0, sizeof(*s));
}

/* Thousands of sessions need as many descriptors: take the hard limit. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	const struct mode *mode;
	struct lg_opts o;
	struct lg_setup s;
	int c, r;

	defaults(&o);
	while ((c = getopt_long(argc, argv, "p:P:c:n:s:d:w:h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if (c == '?' || apply(&o, c, optarg) != 0) {
			fprintf(stderr, "Try `loadgen --help'.\n");
			return 64;
		}
	}
	if (optind != argc - 1 || (mode = find_mode(argv[optind])) == NULL) {
		if (optind < argc)
			fprintf(stderr, "loadgen: unknown mode `%s'\n", argv[optind]);
		else
			fprintf(stderr, "loadgen: no mode given\n");
		fprintf(stderr, "Try `loadgen --help'.\n");
		return 64;
	}
	if (o.concurrency == 0)
		o.concurrency = mode->concurrency;
	if (check(&o) != 0)
		return 64;
	if ((o.client_set || o.ceiling_port) && !mode->traffic) {
		fprintf(stderr, "loadgen: %s is for the rtt and throughput modes only\n",
		    o.client_set ? "--client" : "--ceiling-port");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	/* A last bound on the whole run, whatever happens inside it. */
	alarm((unsigned)(2 * (o.duration + o.warmup)) + 300);
	if ((r = lg_setup_init(&s, &o)) != 0) {
		fprintf(stderr, "loadgen: setup failed: %s\n", cvpn_strerror(r));
		lg_setup_free(&s);
		return 70;
	}
	r = mode->run(&s);
	lg_setup_free(&s);
	return r;
}
