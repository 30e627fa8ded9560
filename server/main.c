/* SPDX-License-Identifier: MIT */
/* cvpn-server: command line. Maps flags to a server_config and errors to exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/crypto.h>

#include "chan.h"
#include "cli.h"
#include "describe.h"
#include "dgram_wire.h"
#include "err.h"
#include "keylog.h"
#include "keys.h"
#include "noise.h"
#include "opt.h"
#include "permit.h"
#include "privdrop.h"
#include "replay.h"
#include "secure_wire.h"
#include "server.h"
#include "suite.h"
#include "tundev.h"
#include "tunnet.h"
#include "vpn.h"

#define PROG "cvpn-server"

enum {
	OPT_ALLOW_INSECURE = 256, OPT_HMAC, OPT_NEWLINE, OPT_REPLY, OPT_HANDSHAKE_TIMEOUT,
	OPT_IDLE_TIMEOUT, OPT_PARTIAL_TIMEOUT, OPT_MAX_MESSAGE, OPT_MAX_CLIENTS, OPT_MAX_HANDSHAKES,
	OPT_LIST_CIPHERS, OPT_KEYLOG, OPT_MAX_FAILURES, OPT_REKEY_SECONDS, OPT_KEY, OPT_PSK, OPT_AUTHORIZED, OPT_NO_LAB, OPT_STEALTH, OPT_SUITES, OPT_REKEY,
	OPT_MAX_SOURCE_HANDSHAKES, OPT_LOG_MESSAGES, OPT_REPLAY_WINDOW, OPT_ALLOW_FORWARD, OPT_MAX_CHANNELS,
	OPT_FORWARD_TIMEOUT, OPT_MAX_FORWARD_BUFFER, OPT_TUN, OPT_TUN_NAME, OPT_TUN_NET, OPT_PUSH_ROUTE,
	OPT_CLIENT_TO_CLIENT, OPT_MTU, OPT_COOKIE_RATE, OPT_USER, OPT_NO_DROP, OPT_SANDBOX_TEST
};

/* What the IP tunnel is given when --tun-net is not. */
#define TUN_NET_DEFAULT "10.77.0.0/24"
/* apply_tun's answer for an option that is not the tunnel's. */
#define NOT_TUN (-2)

static const struct opt options[] = {
	{ "listen", 'l', "ADDR", "address to listen on (default: every IPv6 and IPv4 address)" },
	{ "port", 'p', "PORT", "TCP port (default " CLI_PORT_TEXT "; 0 picks a free one)" },
	{ "ciphers", 'c', "LIST", "supported ciphers in preference order, e.g. 'AES:128,192,256 DES:56'" },
	{ "allow-insecure", OPT_ALLOW_INSECURE, NULL, "allow XOR and None in --ciphers (no confidentiality)" },
	{ "key", OPT_KEY, "FILE", "secure profile: our private key (clients then need its public key)" },
	{ "psk", OPT_PSK, "FILE", "secure profile: a pre-shared key (base64)" },
	{ "authorized-clients", OPT_AUTHORIZED, "FILE", "secure: accept only these client public keys (one a line)" },
	{ "suites", OPT_SUITES, "LIST", "secure: AEAD suites in preference order (default " SECURE_DEFAULT_SUITES ")" },
	{ "rekey-records", OPT_REKEY, "N", "secure: rekey a direction after N records (default 1048576)" },
	{ "rekey-seconds", OPT_REKEY_SECONDS, "SEC", "secure: rekey our direction this often (default 600)" },
	{ "no-lab", OPT_NO_LAB, NULL, "refuse lab-profile clients (with a logged reason)" },
	{ "stealth", OPT_STEALTH, NULL, "secure: send nothing until a client's first handshake message proves it; "
	    "reset the others after a random pause (implies --no-lab)" },
	{ "log-messages", OPT_LOG_MESSAGES, NULL, "secure: log the clients' messages too (the lab's are always logged)" },
	{ "replay-window", OPT_REPLAY_WINDOW, "SEC", "secure: accept a first handshake message this far from our clock, once (default 120)" },
	{ "allow-forward", OPT_ALLOW_FORWARD, "HOST:PORT", "secure: let every client forward to HOST:PORT ([v6]:PORT, HOST:* any port; repeat)" },
	{ "max-channels", OPT_MAX_CHANNELS, "N", "secure: forwarded channels one session may hold at once (default 1024)" },
	{ "forward-timeout", OPT_FORWARD_TIMEOUT, "SEC", "secure: time to resolve and connect to a destination (default 10)" },
	{ "max-forward-buffer", OPT_MAX_FORWARD_BUFFER, "BYTES", "secure: bytes one session may hold for destinations that do not read (default 33554432)" },
	{ "tun", OPT_TUN, NULL, "carry IP between a TUN interface and key-mode clients, over UDP (same port) and TCP" },
	{ "tun-name", OPT_TUN_NAME, "NAME", "tun: the interface's name (default: the kernel picks cvpnN)" },
	{ "tun-net", OPT_TUN_NET, "CIDR", "tun: the tunnel's IPv4 network; the server takes its first address (default " TUN_NET_DEFAULT ")" },
	{ "push-route", OPT_PUSH_ROUTE, "CIDR", "tun: a network the clients route into the tunnel (repeat)" },
	{ "client-to-client", OPT_CLIENT_TO_CLIENT, NULL, "tun: pass packets between clients (else only between each client and the server)" },
	{ "mtu", OPT_MTU, "N", "tun: the tunnel's MTU, which the clients take too (default 1420)" },
	{ "cookie-rate", OPT_COOKIE_RATE, "N", "tun: UDP handshakes a second above which clients must prove their address (default 50)" },
	{ "user", OPT_USER, "USER", "tun: drop to USER, no capabilities, once the TUN and sockets are open (default nobody)" },
	{ "no-drop", OPT_NO_DROP, NULL, "tun: keep root and run without the seccomp sandbox (not recommended)" },
	{ "hmac", OPT_HMAC, "MODE", "auto (default), cumulative or per-message" },
	{ "newline", OPT_NEWLINE, "WHEN", "end handshake answers with \\n: mirror (default), always, never" },
	{ "reply", OPT_REPLY, "STYLE", "plain (default), padded (NULs as in the capture) or bare" },
	{ "handshake-timeout", OPT_HANDSHAKE_TIMEOUT, "SEC", "time allowed from connect to key (default 30)" },
	{ "idle-timeout", OPT_IDLE_TIMEOUT, "SEC", "close sessions idle this long (default 300)" },
	{ "partial-timeout", OPT_PARTIAL_TIMEOUT, "SEC", "silence allowed inside a message (default 5)" },
	{ "max-message", OPT_MAX_MESSAGE, "BYTES", "largest data message on the wire (default 4096)" },
	{ "max-clients", OPT_MAX_CLIENTS, "N", "connections served at once (default 1024)" },
	{ "max-handshakes", OPT_MAX_HANDSHAKES, "N", "connections still in the handshake at once (default 64)" },
	{ "max-source-handshakes", OPT_MAX_SOURCE_HANDSHAKES, "N", "connections in the handshake at once from one address (default 4)" },
	{ "max-failures", OPT_MAX_FAILURES, "N", "failed handshakes per address in 60 s before a 30 s ban, doubling (default 5)" },
	{ "keylog", OPT_KEYLOG, "FILE", "append session keys for Wireshark to FILE (default $CVPN_KEYLOGFILE)" },
	{ "list-ciphers", OPT_LIST_CIPHERS, NULL, "list the supported ciphers and exit" },
	{ "quiet", 'q', NULL, "print only errors" },
	{ "verbose", 'v', NULL, "show every protocol step with its values (repeat for more)" },
	{ "help", 'h', NULL, "show this help and exit" },
	{ "version", 'V', NULL, "show the version and exit" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* File names of the secure profile's keys, loaded once the flags are read, the replay window and --allow-forward. */
struct secure_args {
	const char *key, *psk, *authorized;
	unsigned replay_window;
	struct permit_list *allow;
};

static const char *const newline_modes[] = { "never", "always", "mirror" };
static const char *const reply_styles[] = { "plain", "padded", "bare" };

static void
usage(FILE *f)
{
	fprintf(f, "Usage: cvpn-server [OPTION]...\n"
	    "Serve the Custom VPN lab protocol (cipher negotiation, Diffie-Hellman group 18,\n"
	    "CBC + HMAC-SHA256 messages answered with the reversed text) to many clients.\n\n");
	opt_help(options, NOPTIONS, cli_print_line, f);
	fprintf(f, "\nWith --tun the server also carries IP: clients run cvpn-client --tun with its key.\n"
	    "SIGUSR1 prints the tunnel's counters and clients (they are printed at the end too).\n");
	fprintf(f, "\nExit status: 0 after SIGINT/SIGTERM, 64 usage error, 69 cannot listen (or open the\n"
	    "tunnel), 70 OpenSSL lacks a needed cipher (legacy provider), 73 cannot open the key\n"
	    "log, 77 --tun without root or CAP_NET_ADMIN, 78 a key or authorized-clients file is refused.\n"
	    "The lab profile is for teaching: its key exchange is unauthenticated and replies\n"
	    "travel in clear. See README.md.\n");
}

/* The tunnel's flags, checked against each other once all are read. */
struct tun_args {
	bool tun, other;                /* --tun; another tunnel flag (meaningless without it) */
	const char *net;
	struct vpn_config vpn;
};

/* One --push-route. Returns -1 to go on, or an exit code. */
static int
push_route(const char *arg, struct vpn_config *v)
{
	struct tunconf_route *r = &v->routes[v->nroutes];

	if (v->nroutes == TUNCONF_ROUTES_MAX)
		return cli_bad_usage(stderr, PROG, "too many --push-route (%d at most: the configuration must fit "
		    "one datagram)", TUNCONF_ROUTES_MAX);
	if (tunconf_route_parse(arg, r) != 0)
		return cli_bad_usage(stderr, PROG, "invalid --push-route '%s' (expected an IPv4 network such as "
		    "192.168.10.0/24, without host bits)", arg);
	if (r->prefix == 0)
		return cli_bad_usage(stderr, PROG, "--push-route 0.0.0.0/0 would route the clients' own tunnel "
		    "packets into the tunnel: push 0.0.0.0/1 and 128.0.0.0/1, and let each client keep a route to "
		    "this server through its own gateway (docs/cvpn-client.1)");
	v->nroutes++;
	return -1;
}

/* Applies one tunnel option. Returns -1 to go on, NOT_TUN for another option, or an exit code. */
static int
apply_tun(int key, const char *arg, struct tun_args *ta)
{
	unsigned long v;

	ta->other |= key != OPT_TUN && key >= OPT_TUN_NAME && key <= OPT_SANDBOX_TEST;
	switch (key) {
	case OPT_TUN: ta->tun = true; break;
	case OPT_TUN_NAME:
		if (strlen(arg) >= TUNDEV_NAME_MAX)
			return cli_bad_usage(stderr, PROG, "invalid --tun-name '%s' (at most %d characters)", arg,
			    TUNDEV_NAME_MAX - 1);
		ta->vpn.tun_name = arg;
		break;
	case OPT_TUN_NET: ta->net = arg; break;
	case OPT_PUSH_ROUTE: return push_route(arg, &ta->vpn);
	case OPT_CLIENT_TO_CLIENT: ta->vpn.client_to_client = true; break;
	case OPT_MTU:
		if (opt_uint(arg, TUNCONF_MTU_MIN, TUNCONF_MTU_MAX - DGRAM_DATA_OVERHEAD - DGRAM_PAD, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --mtu '%s' (expected %d-%d)", arg, TUNCONF_MTU_MIN,
			    TUNCONF_MTU_MAX - DGRAM_DATA_OVERHEAD - DGRAM_PAD);
		ta->vpn.mtu = (unsigned)v;
		break;
	case OPT_COOKIE_RATE:
		if (opt_uint(arg, 0, 1000000, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --cookie-rate '%s' (expected 0-1000000 handshakes a "
			    "second; 0 never asks)", arg);
		ta->vpn.cookie_rate = (unsigned)v;
		break;
	case OPT_USER: ta->vpn.user = arg; break;
	case OPT_NO_DROP: ta->vpn.no_drop = true; break;
	case OPT_SANDBOX_TEST: ta->vpn.sandbox_test = true; break;
	default:
		return NOT_TUN;
	}
	return -1;
}

/*
 * Checks the tunnel's flags against the others and the privilege it needs,
 * and its network. Returns -1 when all is well, or an exit code.
 */
static int
check_tun(struct tun_args *ta, const struct secure_args *sa)
{
	struct tunconf_route net;
	char why[512];

	if (!ta->tun)
		return ta->other ? cli_bad_usage(stderr, PROG, "--tun-name, --tun-net, --push-route, --client-to-client, "
		    "--mtu, --cookie-rate, --user and --no-drop go with --tun") : -1;
	if (sa->key == NULL)
		return cli_bad_usage(stderr, PROG, "--tun needs the secure profile's key mode: give --key (the tunnel "
		    "names its clients by their keys; a PSK alone cannot)");
	if (sa->allow != NULL)
		return cli_bad_usage(stderr, PROG, "--allow-forward does not go with --tun: a tunnel server runs "
		    "sandboxed and cannot open connections (route the tunnel to the destination instead)");
	if (tunconf_route_parse(ta->net ? ta->net : TUN_NET_DEFAULT, &net) != 0 || net.prefix < TUNNET_PREFIX_MIN ||
	    net.prefix > TUNNET_PREFIX_MAX)
		return cli_bad_usage(stderr, PROG, "invalid --tun-net '%s' (expected an IPv4 network from /%d to /%d "
		    "without host bits, such as " TUN_NET_DEFAULT ")", ta->net ? ta->net : TUN_NET_DEFAULT,
		    TUNNET_PREFIX_MIN, TUNNET_PREFIX_MAX);
	ta->vpn.network = net.network;
	ta->vpn.prefix = net.prefix;
	if (privdrop_check_tun(PROG, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return EX_NOPERM;
	}
	return -1;
}

/* Adds one --allow-forward destination. Returns -1 to go on, or an exit code. */
static int
allow_forward(const char *arg, struct secure_args *sa)
{
	int r;

	if (sa->allow == NULL && (sa->allow = permit_list_new()) == NULL) {
		fprintf(stderr, "cvpn-server: out of memory\n");
		return EX_SOFTWARE;
	}
	if ((r = permit_list_add(sa->allow, arg, strlen(arg))) == CVPN_ERR_NOMEM) {
		fprintf(stderr, "cvpn-server: out of memory\n");
		return EX_SOFTWARE;
	}
	if (r != 0)
		return cli_bad_usage(stderr, PROG, "invalid --allow-forward '%s' (expected HOST:PORT or HOST:*, an IPv6 "
		    "address in brackets as [::1]:22)", arg);
	return -1;
}

/* Applies one option to cfg. Returns -1 to go on, or an exit code. */
static int
apply(int key, const char *arg, struct server_config *cfg, const char **ciphers, bool *insecure,
    const char **keylog, struct secure_args *sa)
{
	unsigned long v;
	int i;

	switch (key) {
	case 'l': cfg->listen = arg; break;
	case 'p':
		if (opt_uint(arg, 0, 65535, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid port '%s' (expected 0-65535)", arg);
		cfg->port = (int)v;
		break;
	case 'c': *ciphers = arg; break;
	case OPT_ALLOW_INSECURE: *insecure = true; break;
	case OPT_KEYLOG: *keylog = arg; break;
	case OPT_KEY: sa->key = arg; break;
	case OPT_PSK: sa->psk = arg; break;
	case OPT_AUTHORIZED: sa->authorized = arg; break;
	case OPT_NO_LAB: cfg->engine.no_lab = true; break;
	case OPT_STEALTH: cfg->engine.secure.stealth = cfg->engine.no_lab = true; break;
	case OPT_LOG_MESSAGES: cfg->log_messages = true; break;
	case OPT_REPLAY_WINDOW:
		if (opt_uint(arg, 1, REPLAY_WINDOW_MAX, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --replay-window '%s' (expected 1-%d seconds)", arg, REPLAY_WINDOW_MAX);
		sa->replay_window = (unsigned)v;
		break;
	case OPT_ALLOW_FORWARD:
		return allow_forward(arg, sa);
	case OPT_MAX_CHANNELS:
		if (opt_uint(arg, 1, 1000000, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --max-channels '%s' (expected 1-1000000)", arg);
		cfg->max_channels = (unsigned)v;
		break;
	case OPT_FORWARD_TIMEOUT:
		if (opt_seconds(arg, &cfg->forward_timeout_ms) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --forward-timeout '%s' (expected seconds, e.g. 10 or 0.5)", arg);
		break;
	case OPT_MAX_FORWARD_BUFFER:
		if (opt_uint(arg, CHAN_WINDOW_INITIAL, (unsigned long)1 << 40, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --max-forward-buffer '%s' (expected %d bytes or more)", arg,
			    CHAN_WINDOW_INITIAL);
		cfg->max_forward_buffer = v;
		break;
	case OPT_SUITES:
		if (engine_parse_suites(arg, &cfg->engine.secure) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --suites '%s' (expected ChaChaPoly and/or AESGCM)", arg);
		break;
	case OPT_REKEY:
		if (opt_uint(arg, 1, (unsigned long)1 << 40, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --rekey-records '%s'", arg);
		cfg->engine.secure.rekey_records = v;
		break;
	case OPT_HMAC:
		if (record_hmac_parse(arg, &cfg->engine.hmac) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --hmac '%s' (expected auto, cumulative or per-message)", arg);
		break;
	case OPT_NEWLINE:
		if (opt_choice(arg, newline_modes, 3, &i) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --newline '%s' (expected mirror, always or never)", arg);
		cfg->engine.newline = (enum engine_newline)i;
		break;
	case OPT_REPLY:
		if (opt_choice(arg, reply_styles, 3, &i) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --reply '%s' (expected plain, padded or bare)", arg);
		cfg->engine.reply = (enum engine_reply)i;
		break;
	case OPT_HANDSHAKE_TIMEOUT:
	case OPT_IDLE_TIMEOUT:
	case OPT_PARTIAL_TIMEOUT:
	case OPT_REKEY_SECONDS:
		if (opt_seconds(arg, key == OPT_HANDSHAKE_TIMEOUT ? &cfg->handshake_timeout_ms :
		    key == OPT_IDLE_TIMEOUT ? &cfg->idle_timeout_ms :
		    key == OPT_REKEY_SECONDS ? &cfg->rekey_ms : &cfg->partial_timeout_ms) != 0)
			return cli_bad_usage(stderr, PROG, "invalid timeout '%s' (expected seconds, e.g. 30 or 0.5)", arg);
		break;
	case OPT_MAX_MESSAGE:
		if (opt_uint(arg, 64, ENGINE_MAX_MESSAGE * 16, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid --max-message '%s' (expected 64-65536 bytes)", arg);
		cfg->engine.max_message = v;
		break;
	case OPT_MAX_CLIENTS:
	case OPT_MAX_HANDSHAKES:
	case OPT_MAX_SOURCE_HANDSHAKES:
	case OPT_MAX_FAILURES:
		if (opt_uint(arg, 1, 1000000, &v) != 0)
			return cli_bad_usage(stderr, PROG, "invalid limit '%s' (expected 1-1000000)", arg);
		*(key == OPT_MAX_CLIENTS ? &cfg->max_clients : key == OPT_MAX_HANDSHAKES ? &cfg->max_handshakes :
		    key == OPT_MAX_SOURCE_HANDSHAKES ? &cfg->limits.max_pending : &cfg->limits.max_failures) = (unsigned)v;
		break;
	case 'q': cfg->verbosity = -1; break;
	case 'v': cfg->verbosity = cfg->verbosity < 0 ? 1 : cfg->verbosity + 1; break;
	case OPT_LIST_CIPHERS:
		describe_suites(cli_print_line, stdout);
		return EX_OK;
	case 'h':
		usage(stdout);
		return EX_OK;
	case 'V':
		printf("cvpn-server %s\n", CVPN_VERSION);
		return EX_OK;
	default:
		fprintf(stderr, "Try 'cvpn-server --help' for more information.\n");
		return EX_USAGE;
	}
	return -1;
}

/* Says why a key or list file was refused. Returns the exit code for it. */
static int
file_failure(int r, const char *what, const char *path)
{
	char why[512];

	keys_file_message(r, what, path, why, sizeof(why));
	fprintf(stderr, "cvpn-server: %s\n", why);
	return EX_CONFIG;
}

/* Says what is wrong with a line of the authorized-clients file, or with the file. Returns the exit code for it. */
static int
list_failure(int r, const char *path, unsigned line)
{
	const char *why;

	switch (r) {
	case CVPN_ERR_KEY_FORMAT:
		why = cvpn_strerror(r);
		break;
	case CVPN_ERR_INVALID_ARG:
		why = "a permit= option that is not HOST:PORT or HOST:* (an IPv6 address in brackets, as [::1]:22), "
		    "or an address= that is not one IPv4 address";
		break;
	case CVPN_ERR_TOO_LONG:
		why = "line too long (4095 bytes at most): split its permit= options over several lines of the same key";
		break;
	default:
		return file_failure(r, "authorized-clients file", path);
	}
	fprintf(stderr, "cvpn-server: %s:%u: %s\n", path, line, why);
	return EX_CONFIG;
}

/* Reads a private key or PSK file; says why not. Returns 0 or an exit code. */
static int
load_secret(const char *what, const char *path, uint8_t key[static KEYS_LEN])
{
	int r = keys_load_secret(path, key);

	return r == 0 ? 0 : file_failure(r, what, path);
}

/* Loads the secure profile's keys, starts its replay guard and prints the server's public key. Returns 0 or an exit code. */
static int
secure_setup(struct server_config *cfg, const struct secure_args *sa, struct keys_list **authorized,
    struct replay **replay)
{
	struct secure_config *sc = &cfg->engine.secure;
	uint8_t pub[KEYS_LEN];
	char b64[KEYS_B64_LEN + 1];
	unsigned line = 0;
	int r;

	if (sa->key && (r = load_secret("key file", sa->key, sc->static_priv)) != 0)
		return r;
	sc->static_priv_set = sa->key != NULL;
	if (sa->psk && (r = load_secret("PSK file", sa->psk, sc->psk)) != 0)
		return r;
	sc->has_psk = sa->psk != NULL;
	if (sa->authorized && (r = keys_list_load(sa->authorized, authorized, &line)) != 0)
		return list_failure(r, sa->authorized, line);
	sc->authorized = *authorized;
	if (sc->nsuites == 0 && engine_parse_suites(SECURE_DEFAULT_SUITES, sc) != 0)
		return EX_SOFTWARE;
	if (sc->rekey_records == 0)
		sc->rekey_records = CLI_REKEY_RECORDS;
	if (cfg->engine.no_lab && !sc->static_priv_set && !sc->has_psk) {
		fprintf(stderr, "cvpn-server: %s needs the secure profile: give --key or --psk\n",
		    sc->stealth ? "--stealth" : "--no-lab");
		return EX_USAGE;
	}
	if ((sc->static_priv_set || sc->has_psk) && replay_new(sa->replay_window, REPLAY_MAX_DEFAULT, NULL, replay) != 0) {
		fprintf(stderr, "cvpn-server: out of memory\n");
		return EX_SOFTWARE;
	}
	sc->replay = *replay;
	if (sc->static_priv_set && cfg->verbosity >= 0 && noise_public_key(sc->static_priv, pub) == 0) {
		keys_to_base64(pub, b64);
		printf("Server key: %s\n", b64);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct server_config cfg = {
		.port = CLI_PORT,
		.engine = { .server = true, .hmac = RECORD_HMAC_AUTO, .newline = ENGINE_NEWLINE_MIRROR },
		.handshake_timeout_ms = CLI_HANDSHAKE_TIMEOUT_MS,
		.idle_timeout_ms = 300000,
		.partial_timeout_ms = CLI_PARTIAL_TIMEOUT_MS,
		.quiet_ms = CLI_QUIET_MS,
		.rekey_ms = CLI_REKEY_MS,
		.max_clients = 1024,
		.max_handshakes = 64,
		.max_channels = 1024,
		.forward_timeout_ms = 10000,
		.max_forward_buffer = (size_t)32 << 20,
		.limits = { .max_failures = 5, .window_ms = 60000, .penalty_ms = 30000, .max_penalty_ms = 600000,
		    .max_pending = 4 },
	};
	/* One more than the table: --sandbox-test, for the tests alone, is not in --help. */
	struct option longopts[NOPTIONS + 2];
	char shortopts[3 * NOPTIONS + 1], why[512];
	const char *ciphers = NULL, *keylog = getenv(KEYLOG_ENV);
	struct tun_args ta = { .vpn = { .mtu = VPN_MTU_DEFAULT, .cookie_rate = VPN_COOKIE_RATE_DEFAULT } };
	struct secure_args sa = { .replay_window = REPLAY_WINDOW_DEFAULT };
	struct keys_list *authorized = NULL;
	struct replay *replay = NULL;
	bool insecure = false;
	int c, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((r = suite_init()) != 0) {
		fprintf(stderr, "cvpn-server: %s\n", cvpn_strerror(r));
		return EX_SOFTWARE;
	}
	opt_getopt(options, NOPTIONS, longopts, shortopts);
	longopts[NOPTIONS] = (struct option){ "sandbox-test", no_argument, NULL, OPT_SANDBOX_TEST };
	memset(&longopts[NOPTIONS + 1], 0, sizeof(longopts[0]));
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if ((r = apply_tun(c, optarg, &ta)) == NOT_TUN)
			r = apply(c, optarg, &cfg, &ciphers, &insecure, &keylog, &sa);
		if (r >= 0)
			goto out;
	}
	if (optind < argc) {
		r = cli_bad_usage(stderr, PROG, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (ciphers == NULL) {
		proposal_default(&cfg.engine.ciphers);
	} else if ((r = proposal_parse_spec(ciphers, insecure, &cfg.engine.ciphers)) != 0) {
		fprintf(stderr, "cvpn-server: --ciphers '%s': %s\n", ciphers, cvpn_strerror(r));
		r = EX_USAGE;
		goto out;
	}
	if ((r = check_tun(&ta, &sa)) >= 0)
		goto out;
	if ((r = secure_setup(&cfg, &sa, &authorized, &replay)) != 0)
		goto out;
	if (ta.tun && vpn_check_addresses(&ta.vpn, authorized, sa.authorized, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		r = EX_CONFIG;
		goto out;
	}
	cfg.allow_forward = sa.allow;
	cfg.vpn = ta.tun ? &ta.vpn : NULL;
	if (keylog && *keylog && cli_keylog_start(stderr, PROG, keylog, "these sessions", &cfg.keylog) != 0) {
		r = EX_CANTCREAT;
		goto out;
	}
	r = server_run(&cfg) != 0 ? EX_UNAVAILABLE : EX_OK;
out:
	keylog_free(cfg.keylog);
	keys_list_free(authorized);
	permit_list_free(sa.allow);
	replay_free(replay);
	OPENSSL_cleanse(&cfg.engine.secure, sizeof(cfg.engine.secure));
	return r;
}
