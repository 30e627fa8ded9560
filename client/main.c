/* SPDX-License-Identifier: MIT */
/* cvpn-client: command line. Maps flags to a client_config, picks the message source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "describe.h"
#include "err.h"
#include "fwdspec.h"
#include "keylog.h"
#include "opt.h"
#include "secure_wire.h"
#include "suite.h"
#include "tundev.h"
#include "vpn.h"

#define PROG "cvpn-client"

enum {
	OPT_ALLOW_INSECURE = 256, OPT_HMAC, OPT_NEWLINE, OPT_JSON, OPT_HISTORY, OPT_NO_HISTORY, OPT_TIMEOUT,
	OPT_LIST_CIPHERS, OPT_KEYLOG, OPT_PROFILE, OPT_SERVER_KEY, OPT_KEY, OPT_PSK, OPT_KNOWN_SERVERS, OPT_SUITES, OPT_STEALTH,
	OPT_REKEY_RECORDS, OPT_REKEY_SECONDS, OPT_PARTIAL_TIMEOUT, OPT_RECONNECT, OPT_MAX_CHANNELS, OPT_MAX_BUFFER,
	OPT_KEEPALIVE
};

/* Forwarding's defaults: a thousand connections at once, each with its full window. */
#define MAX_CHANNELS_DEFAULT 1024
#define MAX_CHANNELS_LIMIT 65536
#define MAX_BUFFER_DEFAULT_MIB 256
/* A forwarding session's KEEPALIVE: well inside the server's default --idle-timeout of 300 s. */
#define KEEPALIVE_DEFAULT_MS 60000

/* The IP tunnel's options. */
enum {
	OPT_TUN = 512, OPT_TUN_NAME, OPT_ROUTE, OPT_TRANSPORT, OPT_USER, OPT_NO_DROP, OPT_SANDBOX_TEST
};

/* apply_tun's answer for an option that is not the tunnel's. */
#define NOT_TUN (-2)

static const struct opt options[] = {
	{ "host", 'H', "HOST", "server name or address (default localhost; every address is tried)" },
	{ "port", 'p', "PORT", "server port (default " CLI_PORT_TEXT ")" },
	{ "ciphers", 'c', "LIST", "ciphers to propose, e.g. 'AES:128,192,256 DES:56' (default: all secure)" },
	{ "allow-insecure", OPT_ALLOW_INSECURE, NULL, "allow XOR and None in --ciphers (no confidentiality)" },
	{ "profile", OPT_PROFILE, "NAME", "lab or secure (default: secure when a server key or PSK is known)" },
	{ "server-key", OPT_SERVER_KEY, "KEY", "secure: the server's public key (base64)" },
	{ "known-servers", OPT_KNOWN_SERVERS, "FILE", "secure: 'HOST[:PORT] KEY' lines (default ~/.cvpn/known_servers)" },
	{ "key", OPT_KEY, "FILE", "secure: our private key (else a new anonymous key per session)" },
	{ "psk", OPT_PSK, "FILE", "secure: a pre-shared key (base64), alone or with --server-key" },
	{ "suites", OPT_SUITES, "LIST", "secure: AEAD suites in preference order (default " SECURE_DEFAULT_SUITES ")" },
	{ "stealth", OPT_STEALTH, NULL, "secure: reach a --stealth server (the first suite only, handshake message 1 at once)" },
	{ "rekey-records", OPT_REKEY_RECORDS, "N", "secure: rekey our direction after N records (default 1048576)" },
	{ "rekey-seconds", OPT_REKEY_SECONDS, "SEC", "secure: rekey our direction when sending this long after (default 600)" },
	{ "hmac", OPT_HMAC, "MODE", "cumulative (default, as the reference) or per-message" },
	{ "newline", OPT_NEWLINE, NULL, "end handshake messages with \\n (for line-reading peers)" },
	{ "message", 'm', "MSG", "send MSG, print the reply; repeatable; exit after the last" },
	{ "forward", 'L', "[BIND:]LPORT:HOST:PORT", "secure: carry connections to BIND:LPORT to HOST:PORT as the server sees it (repeatable)" },
	{ "socks", 'D', "[BIND:]PORT", "secure: a SOCKS5 proxy on BIND:PORT whose connections the server makes (repeatable)" },
	{ "forward-only", 'N', NULL, "forward only, no messages: run until SIGINT or SIGTERM" },
	{ "reconnect", OPT_RECONNECT, NULL, "with --forward-only: open a lost session again (with backoff), listeners kept" },
	{ "max-channels", OPT_MAX_CHANNELS, "N", "forward at most N connections at once (default 1024)" },
	{ "max-buffer", OPT_MAX_BUFFER, "MIB", "hold at most MIB MiB from the server for local readers (default 256)" },
	{ "keepalive", OPT_KEEPALIVE, "SEC", "send a keepalive after SEC seconds without sending (0 never; forwarding: default "
	    "60, for the server's idle timeout; tun: default none, for NAT)" },
	{ "json", OPT_JSON, NULL, "print one JSON object per event on stdout" },
	{ "history", OPT_HISTORY, "FILE", "prompt history file (default $CVPN_HISTORY or ~/.cvpn_history)" },
	{ "no-history", OPT_NO_HISTORY, NULL, "do not read or write a history file" },
	{ "timeout", OPT_TIMEOUT, "SEC", "limit for connecting and for each answer (default 30)" },
	{ "partial-timeout", OPT_PARTIAL_TIMEOUT, "SEC", "wait this long for the rest of a visibly cut message (default 5)" },
	{ "tun", OPT_TUN, NULL, "carry IP through a TUN interface to a cvpn-server --tun (needs the server's key)" },
	{ "tun-name", OPT_TUN_NAME, "NAME", "tun: the interface's name (default: the kernel picks cvpnN)" },
	{ "route", OPT_ROUTE, "CIDR", "tun: route this IPv4 network into the tunnel too (repeat; beside the server's)" },
	{ "transport", OPT_TRANSPORT, "NAME", "tun: udp (default) or tcp (the secure TCP session, where UDP is blocked)" },
	{ "user", OPT_USER, "USER", "tun: drop to USER once the TUN and socket are open (default nobody)" },
	{ "no-drop", OPT_NO_DROP, NULL, "tun: keep root and run without the seccomp sandbox (not recommended)" },
	{ "keylog", OPT_KEYLOG, "FILE", "append session keys for Wireshark to FILE (default $CVPN_KEYLOGFILE)" },
	{ "list-ciphers", OPT_LIST_CIPHERS, NULL, "list the supported ciphers and exit" },
	{ "quiet", 'q', NULL, "print only the replies and errors" },
	{ "verbose", 'v', NULL, "show every protocol step with its values on stderr (repeat for more)" },
	{ "help", 'h', NULL, "show this help and exit" },
	{ "version", 'V', NULL, "show the version and exit" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))


static void
usage(FILE *f)
{
	fprintf(f, "Usage: cvpn-client [OPTION]...\n"
	    "       cvpn-client genkey | pubkey\n"
	    "Connect to a Custom VPN lab server, agree on a cipher and a Diffie-Hellman key,\n"
	    "then send messages (from -m, from a pipe on stdin, or typed at the prompt).\n\n");
	opt_help(options, NOPTIONS, cli_print_line, f);
	fprintf(f, "\nAt the prompt: \\quit or Ctrl-D ends the session, \\help lists commands.\n"
	    "\nPort forwarding needs the secure profile. BIND defaults to 127.0.0.1 ('*' listens on every\n"
	    "address), an IPv6 address goes in brackets, and LPORT 0 takes a free port (printed).\n"
	    "The server forwards only where its policy allows (cvpn-server --allow-forward).\n"
	    "\nA server that waits for a newline after each handshake message (the course's 2025\n"
	    "solution) needs --newline, and tags each message on its own: --newline --hmac per-message.\n"
	    "\nExit status:\n"
	    "   0  success\n"
	    "  64  usage error (EX_USAGE), also a -m message that cannot be sent\n"
	    "  65  the server closed the connection after a message: it rejected it (EX_DATAERR)\n"
	    "  68  the host name does not resolve (EX_NOHOST)\n"
	    "  69  cannot connect, the connection was lost, or the server ended the session (EX_UNAVAILABLE)\n"
	    "  70  internal error (EX_SOFTWARE)\n"
	    "  73  cannot open the key log (EX_CANTCREAT)\n"
	    "  74  reading stdin failed (EX_IOERR)\n"
	    "  75  the server did not answer in time (EX_TEMPFAIL)\n"
	    "  76  the server broke the protocol, or a secure session was cut without CLOSE (EX_PROTOCOL)\n"
	    "  77  --tun without root or CAP_NET_ADMIN (EX_NOPERM)\n"
	    "  78  negotiation failed: the server closed after the proposal or hello (EX_CONFIG)\n");
}

struct args {
	struct profile_args profile;
	bool forwarding;
	const char *ciphers;
	const char *keylog;
	bool insecure;
	bool no_history;
	bool keepalive;         /* --keepalive given (cfg->keepalive_ms holds it) */
	char **msgs;
	size_t nmsgs;
};

/* --forward (-L) and --socks (-D): one more listener. Returns -1 to go on, or an exit code. */
static int
apply_forward(int key, const char *arg, struct client_config *cfg, struct args *a)
{
	struct fwdspec *spec = key == 'L' ? &cfg->forwards[cfg->nforwards] : &cfg->socks[cfg->nsocks];
	const char *why;
	int r;

	r = key == 'L' ? fwdspec_forward(arg, spec, &why) : fwdspec_socks(arg, spec, &why);
	if (r != 0)
		return cli_bad_usage(stderr, PROG, "invalid --%s '%s': %s", key == 'L' ? "forward" : "socks", arg, why);
	if (key == 'L')
		cfg->nforwards++;
	else
		cfg->nsocks++;
	a->forwarding = true;
	return -1;
}

/* Applies one option. Returns -1 to go on, or an exit code. */
static int
apply(int key, const char *arg, struct client_config *cfg, struct args *a)
{
	unsigned long v;

	switch (key) {
	case 'H': cfg->host = arg; break;
	case 'p':
		if (opt_uint(arg, 1, 65535, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid port '%s' (expected 1-65535)", arg);
		cfg->port = arg;
		break;
	case 'c': a->ciphers = arg; break;
	case OPT_ALLOW_INSECURE: a->insecure = true; break;
	case OPT_KEYLOG: a->keylog = arg; break;
	case OPT_PROFILE:
		if (strcmp(arg, "lab") != 0 && strcmp(arg, "secure") != 0)
			return cli_bad_usage(stderr, PROG, "invalid --profile '%s' (expected lab or secure)", arg);
		a->profile.profile = strcmp(arg, "lab") == 0 ? PROFILE_LAB : PROFILE_SECURE;
		break;
	case OPT_SERVER_KEY: a->profile.server_key = arg; break;
	case OPT_KNOWN_SERVERS: a->profile.known_servers = arg; break;
	case OPT_KEY: a->profile.key = arg; break;
	case OPT_PSK: a->profile.psk = arg; break;
	case OPT_STEALTH:
		cfg->engine.secure.stealth = true;
		break;
	case OPT_SUITES:
		if (engine_parse_suites(arg, &cfg->engine.secure) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --suites '%s' (expected ChaChaPoly and/or AESGCM)", arg);
		break;
	case OPT_REKEY_RECORDS:
		if (opt_uint(arg, 1, (unsigned long)1 << 40, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --rekey-records '%s'", arg);
		cfg->engine.secure.rekey_records = v;
		break;
	case OPT_REKEY_SECONDS:
		if (opt_seconds(arg, &cfg->rekey_ms) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --rekey-seconds '%s' (expected seconds)", arg);
		break;
	case OPT_HMAC:
		/* A sender must pick: "auto" is only for receivers. */
		if (record_hmac_parse(arg, &cfg->engine.hmac) != 0 || cfg->engine.hmac == RECORD_HMAC_AUTO)
			return cli_bad_usage(stderr, PROG, "invalid --hmac '%s' (expected cumulative or per-message)", arg);
		break;
	case OPT_NEWLINE: cfg->engine.newline = ENGINE_NEWLINE_ALWAYS; break;
	case 'm':
		a->msgs[a->nmsgs++] = (char *)arg;
		break;
	case 'L':
	case 'D':
		return apply_forward(key, arg, cfg, a);
	case 'N': cfg->forward_only = true; break;
	case OPT_RECONNECT: cfg->reconnect = true; break;
	case OPT_MAX_CHANNELS:
		if (opt_uint(arg, 1, MAX_CHANNELS_LIMIT, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --max-channels '%s' (expected 1-%d)", arg, MAX_CHANNELS_LIMIT);
		cfg->max_channels = (unsigned)v;
		break;
	case OPT_MAX_BUFFER:
		if (opt_uint(arg, 1, 65536, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --max-buffer '%s' (expected MiB, 1-65536)", arg);
		cfg->max_buffer = (size_t)v << 20;
		break;
	case OPT_KEEPALIVE:
		/* Whole seconds: the tunnel has always counted its keepalive in them. */
		if (opt_uint(arg, 0, 65535, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --keepalive '%s' (expected 0-65535 seconds)", arg);
		cfg->keepalive_ms = (unsigned)v * 1000;
		a->keepalive = true;
		break;
	case OPT_JSON: cfg->json = true; break;
	case OPT_HISTORY: cfg->history = arg; break;
	case OPT_NO_HISTORY: a->no_history = true; break;
	case OPT_TIMEOUT:
		if (opt_seconds(arg, &cfg->timeout_ms) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --timeout '%s' (expected seconds, e.g. 30 or 0.5)", arg);
		break;
	case OPT_PARTIAL_TIMEOUT:
		if (opt_seconds(arg, &cfg->partial_timeout_ms) != 0 || cfg->partial_timeout_ms < cfg->quiet_ms)
			return cli_bad_usage(stderr, PROG, "invalid --partial-timeout '%s' (expected seconds, at least 0.15)", arg);
		break;
	case 'q': cfg->verbosity = -1; break;
	case 'v': cfg->verbosity = cfg->verbosity < 0 ? 1 : cfg->verbosity + 1; break;
	case OPT_LIST_CIPHERS:
		describe_suites(cli_print_line, stdout);
		return CLIENT_OK;
	case 'h':
		usage(stdout);
		return CLIENT_OK;
	case 'V':
		printf("cvpn-client %s\n", CVPN_VERSION);
		return CLIENT_OK;
	default:
		fprintf(stderr, "Try 'cvpn-client --help' for more information.\n");
		return CLIENT_USAGE;
	}
	return -1;
}

/* Flags that cannot go together, known before connecting. Returns -1 when all is well, or an exit code. */
static int
check_forwarding(const struct client_config *cfg, const struct args *a, bool tun)
{
	if (tun && (a->forwarding || cfg->forward_only || cfg->reconnect))
		return cli_bad_usage(stderr, PROG, "--tun forwards no ports: run another cvpn-client for --forward, "
		    "--socks and --forward-only");
	if (cfg->forward_only && !a->forwarding)
		return cli_bad_usage(stderr, PROG, "--forward-only without --forward or --socks has nothing to do");
	if (cfg->forward_only && a->nmsgs > 0)
		return cli_bad_usage(stderr, PROG, "--forward-only sends no messages: drop -m, or --forward-only");
	if (cfg->reconnect && !cfg->forward_only)
		return cli_bad_usage(stderr, PROG, "--reconnect needs --forward-only (a prompt's session is not "
		    "opened again)");
	if (a->forwarding && !cfg->engine.secure.enabled)
		return cli_bad_usage(stderr, PROG, "%s: give the server's key (--server-key, --known-servers) or a PSK "
		    "(--psk)", cvpn_strerror(CVPN_ERR_NOT_SECURE));
	return -1;
}

/* The tunnel's flags, checked against the others once all are read. */
struct tun_args {
	bool tun, other;                /* --tun; another tunnel flag (meaningless without it) */
	struct vpn_args vpn;
};

/* One --route: an IPv4 network, never 0.0.0.0/0. Returns -1 to go on, or an exit code. */
static int
add_route(const char *arg, struct vpn_args *va)
{
	struct tunconf_route *r = &va->routes[va->nroutes];

	if (va->nroutes == TUNCONF_ROUTES_MAX)
		return cli_bad_usage(stderr, PROG, "too many --route (%d at most)", TUNCONF_ROUTES_MAX);
	if (tunconf_route_parse(arg, r) != 0)
		return cli_bad_usage(stderr, PROG, "invalid --route '%s' (expected an IPv4 network such as 10.1.0.0/16, "
		    "without host bits)", arg);
	if (r->prefix == 0)
		return cli_bad_usage(stderr, PROG, "--route 0.0.0.0/0 would send our own packets to the server into the "
		    "tunnel: give --route 0.0.0.0/1 --route 128.0.0.0/1 after adding a route to the server through your "
		    "gateway (ip route add SERVER via GATEWAY)");
	va->nroutes++;
	return -1;
}

/* Applies one tunnel option. Returns -1 to go on, NOT_TUN for another option, or an exit code. */
static int
apply_tun(int key, const char *arg, struct tun_args *ta)
{
	ta->other |= key > OPT_TUN && key <= OPT_SANDBOX_TEST;
	switch (key) {
	case OPT_TUN: ta->tun = true; break;
	case OPT_TUN_NAME:
		if (strlen(arg) >= TUNDEV_NAME_MAX)
			return cli_bad_usage(stderr, PROG, "invalid --tun-name '%s' (at most %d characters)", arg,
			    TUNDEV_NAME_MAX - 1);
		ta->vpn.tun_name = arg;
		break;
	case OPT_ROUTE: return add_route(arg, &ta->vpn);
	case OPT_TRANSPORT:
		if (strcmp(arg, "udp") != 0 && strcmp(arg, "tcp") != 0)
			return cli_bad_usage(stderr, PROG, "invalid --transport '%s' (expected udp or tcp)", arg);
		ta->vpn.tcp = strcmp(arg, "tcp") == 0;
		break;
	case OPT_USER: ta->vpn.user = arg; break;
	case OPT_NO_DROP: ta->vpn.no_drop = true; break;
	case OPT_SANDBOX_TEST: ta->vpn.sandbox_test = true; break;
	default:
		return NOT_TUN;
	}
	return -1;
}

/* Checks the tunnel's flags against the others. Returns -1 when all is well, or an exit code. */
static int
check_tun(const struct tun_args *ta, const struct client_config *cfg, const struct args *a)
{
	const struct secure_config *sc = &cfg->engine.secure;

	if (!ta->tun)
		return ta->other ? cli_bad_usage(stderr, PROG, "--tun-name, --route, --transport, --user "
		    "and --no-drop go with --tun") : -1;
	if (a->profile.profile == PROFILE_LAB || !sc->enabled)
		return cli_bad_usage(stderr, PROG, "--tun needs the secure profile's key mode: give the server's key "
		    "(--server-key or --known-servers); the lab profile cannot carry a tunnel");
	if (!sc->server_pub_set)
		return cli_bad_usage(stderr, PROG, "--tun needs the server's key (--server-key or --known-servers), not "
		    "a PSK alone: the server names tunnel clients by their keys");
	if (a->nmsgs > 0)
		return cli_bad_usage(stderr, PROG, "--tun sends no messages: drop -m, or --tun");
	return -1;
}

/*
 * --keepalive: a forwarding session's KEEPALIVE record (by default, since
 * the server closes a session idle for its --idle-timeout), or the tunnel's
 * empty packet over UDP. Returns -1 when all is well, or an exit code.
 */
static int
apply_keepalive(struct client_config *cfg, const struct args *a, struct tun_args *ta)
{
	if (a->keepalive && !a->forwarding && !ta->tun)
		return cli_bad_usage(stderr, PROG, "--keepalive goes with --forward, --socks or --tun");
	if (ta->tun)
		ta->vpn.keepalive_s = cfg->keepalive_ms / 1000;
	if (!a->forwarding)
		cfg->keepalive_ms = 0;
	else if (!a->keepalive)
		cfg->keepalive_ms = KEEPALIVE_DEFAULT_MS;
	return -1;
}

/* The history file: --history, else $CVPN_HISTORY, else ~/.cvpn_history. */
static char *
history_path(const struct client_config *cfg)
{
	const char *env = getenv("CVPN_HISTORY"), *home = getenv("HOME");
	char *path;

	if (cfg->history)
		return strdup(cfg->history);
	if (env && *env)
		return strdup(env);
	if (home == NULL || *home == '\0')
		return NULL;
	if (asprintf(&path, "%s/.cvpn_history", home) < 0)
		return NULL;
	return path;
}

int
main(int argc, char **argv)
{
	struct client_config cfg = {
		.host = "localhost",
		.port = CLI_PORT_TEXT,
		.timeout_ms = CLI_HANDSHAKE_TIMEOUT_MS,
		.quiet_ms = CLI_QUIET_MS,
		.partial_timeout_ms = CLI_PARTIAL_TIMEOUT_MS,
		.rekey_ms = CLI_REKEY_MS,
		.max_channels = MAX_CHANNELS_DEFAULT,
		.max_buffer = (size_t)MAX_BUFFER_DEFAULT_MIB << 20,
		.engine = { .server = false, .hmac = RECORD_HMAC_CUMULATIVE, .newline = ENGINE_NEWLINE_NEVER,
		    .secure = { .rekey_records = CLI_REKEY_RECORDS } },
	};
	/* One more than the table: --sandbox-test, for the tests alone, is not in --help. */
	struct option longopts[NOPTIONS + 2];
	char shortopts[3 * NOPTIONS + 1], *history = NULL;
	struct args a = { .keylog = getenv(KEYLOG_ENV) };
	struct forward *fw = NULL;
	struct session *s = NULL;
	struct loop *loop = NULL;
	struct failure f;
	struct tun_args ta = { .tun = false };
	int c, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	report_init(&cfg);
	/* Each argument is at most one message or one listener. */
	if ((a.msgs = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (cfg.forwards = calloc((size_t)argc, sizeof(*cfg.forwards))) == NULL ||
	    (cfg.socks = calloc((size_t)argc, sizeof(*cfg.socks))) == NULL || loop_new(&loop) != 0) {
		r = CLIENT_SOFTWARE;
		goto out;
	}
	if ((r = suite_init()) != 0) {
		fprintf(stderr, "cvpn-client: %s\n", cvpn_strerror(r));
		r = CLIENT_SOFTWARE;
		goto out;
	}
	if (argc == 2 && strcmp(argv[1], "genkey") == 0) {
		r = profile_genkey();
		goto out;
	}
	if (argc == 2 && strcmp(argv[1], "pubkey") == 0) {
		r = profile_pubkey();
		goto out;
	}
	opt_getopt(options, NOPTIONS, longopts, shortopts);
	longopts[NOPTIONS] = (struct option){ "sandbox-test", no_argument, NULL, OPT_SANDBOX_TEST };
	memset(&longopts[NOPTIONS + 1], 0, sizeof(longopts[0]));
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if ((r = apply_tun(c, optarg, &ta)) == NOT_TUN)
			r = apply(c, optarg, &cfg, &a);
		if (r >= 0)
			goto out;
	}
	r = CLIENT_USAGE;
	if (optind < argc) {
		cli_bad_usage(stderr, PROG, "unexpected argument '%s' (messages go after -m)", argv[optind]);
		goto out;
	}
	if (a.ciphers == NULL)
		proposal_default(&cfg.engine.ciphers);
	else if ((r = proposal_parse_spec(a.ciphers, a.insecure, &cfg.engine.ciphers)) != 0) {
		r = cli_bad_usage(stderr, PROG, "--ciphers '%s': %s", a.ciphers, cvpn_strerror(r));
		goto out;
	}
	if (profile_configure(&cfg, &a.profile, &f) != 0) {
		r = cli_bad_usage(stderr, PROG, "%s", f.message);
		goto out;
	}
	if ((r = check_tun(&ta, &cfg, &a)) >= 0)
		goto out;
	r = CLIENT_USAGE;
	if ((r = check_forwarding(&cfg, &a, ta.tun)) >= 0 || (r = apply_keepalive(&cfg, &a, &ta)) >= 0)
		goto out;
	r = CLIENT_USAGE;
	if (a.keylog && *a.keylog && cli_keylog_start(stderr, PROG, a.keylog, "this session", &cfg.keylog) != 0) {
		r = CLIENT_CANTCREAT;
		goto out;
	}
	if (ta.tun) {
		r = vpn_run(&cfg, &ta.vpn);
		goto out;
	}
	/* Listen before connecting: an address that cannot be bound is known before the server is bothered. */
	if ((a.forwarding && forward_new(&cfg, loop, &fw, &f) != 0) || session_open(&cfg, loop, &s, &f) != 0) {
		report_failure(&f);
		r = f.exit;
		goto out;
	}
	if (fw) {
		forward_attach(fw, s);
		forward_announce(fw);
	}
	if (cfg.forward_only) {
		r = forward_run(fw, &s);
	} else if (a.nmsgs > 0) {
		r = prompt_messages(s, a.msgs, a.nmsgs);
	} else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !cfg.json) {
		cfg.history = a.no_history ? NULL : (history = history_path(&cfg));
		r = prompt_interactive(s, &cfg);
	} else {
		r = prompt_lines(s);
	}
out:
	forward_free(fw);
	session_close(s);
	loop_free(loop);
	keylog_free(cfg.keylog);
	free(history);
	free(a.msgs);
	free(cfg.forwards);
	free(cfg.socks);
	return r;
}
