/* SPDX-License-Identifier: MIT */
/*
 * cvpn-mitm: command line. A man in the middle for the lab, on loopback:
 * listens for clients, connects to the server for each, one at a time.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "mitm.h"
#include "opt.h"
#include "suite.h"
#include "text.h"

#define PROG "cvpn-mitm"

volatile sig_atomic_t mitm_stop;

enum { OPT_JSON = 256 };

static const struct opt options[] = {
	{ "listen", 'l', "ADDR", "address to listen on (default 127.0.0.1)" },
	{ "listen-port", 'p', "PORT", "port to listen on; 0 picks a free one (required)" },
	{ "server", 's', "ADDR", "the real server's address (default 127.0.0.1)" },
	{ "server-port", 'P', "PORT", "the real server's port (required)" },
	{ "downgrade", 'd', NULL, "lab: force DES-56 on both sides" },
	{ "rewrite", 'r', "FROM=TO", "lab: replace FROM by TO in client messages (repeatable)" },
	{ "attack", 'a', "NAME", "secure: try this attack (listed below); default: just forward" },
	{ "json", OPT_JSON, NULL, "print one JSON object per event on stdout" },
	{ "verbose", 'v', NULL, "also show the protocol values (DH values, keys, ciphertexts)" },
	{ "help", 'h', NULL, "show this help and exit" },
	{ "version", 'V', NULL, "show the version and exit" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static void
usage(FILE *f)
{
	fprintf(f, "Usage: cvpn-mitm --listen-port PORT --server-port PORT [OPTION]...\n"
	    "A man in the middle for the Custom VPN lab, between a client and a server on\n"
	    "this machine. Against the lab profile it runs two key exchanges and reads,\n"
	    "rewrites and downgrades everything; against the secure profile it can only\n"
	    "forward bytes, and every attack it tries fails.\n\n");
	opt_help(options, NOPTIONS, cli_print_line, f);
	fprintf(f, "\nAttacks (secure profile):\n");
	attack_help(cli_print_line, f);
	fprintf(f, "\nPoint the client at the --listen-port. For teaching only: loopback by default.\n"
	    "Exit status: 0 after SIGINT/SIGTERM, 64 usage error, 69 cannot listen, 70 OpenSSL\n"
	    "lacks a needed cipher.\n");
}

/* Parses FROM=TO: FROM not empty, both UTF-8 (so the rewritten message stays UTF-8). */
static int
add_rewrite(struct mitm_config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct mitm_rewrite *rw = &cfg->rewrites[cfg->nrewrites];

	if (cfg->nrewrites == MITM_MAX_REWRITES)
		return cli_bad_usage(stderr, PROG, "at most %d --rewrite", MITM_MAX_REWRITES);
	if (eq == NULL || eq == arg || !text_utf8_valid((const uint8_t *)arg, strlen(arg)))
		return cli_bad_usage(stderr, PROG, "invalid --rewrite '%s' (expected FROM=TO, FROM not empty)", arg);
	rw->from = arg;
	rw->from_len = (size_t)(eq - arg);
	rw->to = eq + 1;
	rw->to_len = strlen(eq + 1);
	cfg->nrewrites++;
	return -1;
}

static int
port(const char *arg, unsigned long min, const char **out)
{
	unsigned long v;

	if (opt_uint(arg, min, 65535, &v) != 0)
		return cli_bad_usage(stderr, PROG, "invalid port '%s' (expected %lu-65535)", arg, min);
	*out = arg;
	return -1;
}

/* Applies one option. Returns -1 to go on, or an exit code. */
static int
apply(int key, const char *arg, struct mitm_config *cfg)
{
	switch (key) {
	case 'l': cfg->listen = arg; break;
	case 'p': return port(arg, 0, &cfg->listen_port);
	case 's': cfg->server = arg; break;
	case 'P': return port(arg, 1, &cfg->server_port);
	case 'd': cfg->downgrade = true; break;
	case 'r': return add_rewrite(cfg, arg);
	case 'a':
		if ((cfg->attack = attack_find(arg)) == NULL)
			return cli_bad_usage(stderr, PROG, "unknown --attack '%s' (see --help for the list)", arg);
		break;
	case OPT_JSON: cfg->json = true; break;
	case 'v': cfg->verbosity++; break;
	case 'h':
		usage(stdout);
		return EX_OK;
	case 'V':
		printf("cvpn-mitm %s\n", CVPN_VERSION);
		return EX_OK;
	default:
		fprintf(stderr, "Try 'cvpn-mitm --help' for more information.\n");
		return EX_USAGE;
	}
	return -1;
}

static void
on_signal(int sig)
{
	(void)sig;
	mitm_stop = 1;
}

/* SIGINT and SIGTERM end the current session and the program; without SA_RESTART, so poll and accept wake. */
static void
signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Serves clients one after the other until a signal. Returns an exit code. */
static int
serve(const struct mitm_config *cfg)
{
	char name[80];
	struct link client;
	int lfd;

	if (link_listen(cfg->listen, cfg->listen_port, &lfd, name, sizeof(name)) != 0) {
		report_error("listen", "cannot listen on %s port %s: %s", cfg->listen, cfg->listen_port, strerror(errno));
		return EX_UNAVAILABLE;
	}
	report_begin(0, "listening");
	report_str("address", name);
	report_str("server", cfg->server);
	report_str("server_port", cfg->server_port);
	report_end("Listening on %s (relaying to %s port %s)", name, cfg->server, cfg->server_port);
	while (!mitm_stop) {
		if (link_accept(lfd, &client) == 0) {
			session_serve(cfg, &client);
		} else if (!mitm_stop) {
			report_error("accept", "accept: %s", strerror(errno));
			poll(NULL, 0, 100); /* out of descriptors, say: do not spin */
		}
	}
	close(lfd);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct mitm_config cfg = { .listen = "127.0.0.1", .server = "127.0.0.1", .timeout_ms = 10000 };
	struct option longopts[NOPTIONS + 1];
	char shortopts[3 * NOPTIONS + 1];
	int c, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	report_init(&cfg);
	opt_getopt(options, NOPTIONS, longopts, shortopts);
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if ((r = apply(c, optarg, &cfg)) >= 0)
			return r;
	if (optind < argc)
		return cli_bad_usage(stderr, PROG, "unexpected argument '%s'", argv[optind]);
	if (cfg.listen_port == NULL || cfg.server_port == NULL)
		return cli_bad_usage(stderr, PROG, "--listen-port and --server-port are required");
	if ((r = suite_init()) != 0) {
		fprintf(stderr, "cvpn-mitm: %s\n", cvpn_strerror(r));
		return EX_SOFTWARE;
	}
	signals();
	return serve(&cfg);
}
