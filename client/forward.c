/* SPDX-License-Identifier: MIT */
/*
 * Port forwarding as ssh -L and -D do it (docs/SECURE.md, section 10): the
 * listeners of --forward and --socks, the channel ids of the connections
 * they accept (tunnel.c carries each), the caps on how many and on what the
 * server may make us hold, and --forward-only's run with --reconnect.
 *
 * The listeners outlive sessions: between two (while --reconnect tries
 * again) they accept nothing, and new connections wait in the kernel's
 * backlog for the next session instead of being refused.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fwdspec.h"
#include "tunnel.h"

/* The session's output above which no local socket is read, and below which reading resumes. */
#define BACKLOG_HIGH (256 * 1024)
#define BACKLOG_LOW (64 * 1024)
/* Connections taken from one listener per turn. */
#define ACCEPTS_PER_TURN 64
/* Descriptors kept for the session, the listeners, stdin and the logs. */
#define SPARE_FDS 64
/* --reconnect: the first pause, the longest, and how many attempts in a row. */
#define RECONNECT_FIRST_MS 250
#define RECONNECT_MAX_MS 30000
#define RECONNECT_ATTEMPTS 10

/* ---- Channel ids and the caps ---- */

bool
forward_take_id(struct forward *fw, struct tunnel *t)
{
	uint32_t i, id;

	/* Round the table, so that an id just freed is the last to be used again. */
	for (i = 0; i < fw->cfg->max_channels; i++) {
		id = (fw->next_id + i) % fw->cfg->max_channels;
		if (fw->byid[id] == NULL) {
			fw->byid[id] = t;
			t->id = id;
			t->has_id = true;
			fw->next_id = (id + 1) % fw->cfg->max_channels;
			return true;
		}
	}
	return false;
}

void
forward_release_id(struct forward *fw, struct tunnel *t)
{
	if (!t->has_id)
		return;
	fw->byid[t->id] = NULL;
	t->has_id = false;
}

bool
forward_may_read(struct forward *fw)
{
	size_t backlog;

	if (fw->session == NULL || !session_carries(fw->session))
		return false;
	backlog = session_backlog(fw->session);
	if (fw->throttled && backlog <= BACKLOG_LOW)
		fw->throttled = false;
	else if (!fw->throttled && backlog >= BACKLOG_HIGH)
		fw->throttled = true;
	return !fw->throttled;
}

void
forward_forget(struct forward *fw, struct tunnel *t)
{
	forward_release_id(fw, t);
	if (t->prev)
		t->prev->next = t->next;
	else
		fw->tunnels = t->next;
	if (t->next)
		t->next->prev = t->prev;
	fw->ntunnels--;
	fw->committed -= t->rx.size;
	fw->full = fw->starved = false;
}

/* A cap was reached: said once, until a connection ends. */
static void
cap_reached(struct forward *fw, const char *code, const char *message)
{
	if (fw->full)
		return;
	fw->full = true;
	report_warning(code, message);
}

/*
 * Whether one more connection may be carried, and the window it gets: the
 * full one while the buffer cap has room, less once it runs short. Each
 * window is what the server may make us hold for that connection.
 */
static bool
admit(struct forward *fw, uint32_t *window)
{
	size_t room = fw->cfg->max_buffer - fw->committed;
	char line[256];

	if (fw->ntunnels >= fw->cfg->max_channels) {
		snprintf(line, sizeof(line), "--max-channels reached: %u connections are forwarded; new ones are "
		    "closed until one ends", fw->cfg->max_channels);
		cap_reached(fw, "max_channels", line);
		return false;
	}
	if (room < CHAN_DATA_MAX) {
		snprintf(line, sizeof(line), "--max-buffer reached: the open channels may hold %zu MiB from the "
		    "server; new connections are closed until one ends", fw->cfg->max_buffer >> 20);
		cap_reached(fw, "max_buffer", line);
		return false;
	}
	*window = (uint32_t)(room < CHAN_WINDOW_INITIAL ? room : CHAN_WINDOW_INITIAL);
	return true;
}

/* ---- Listeners ---- */

static short
listener_events(void *arg)
{
	struct listener *l = arg;
	struct forward *fw = l->fw;

	return fw->session && session_carries(fw->session) && !fw->starved ? POLLIN : 0;
}

static void
listener_ready(void *arg, short revents)
{
	struct listener *l = arg;
	struct forward *fw = l->fw;
	uint32_t window;
	int i, fd;

	(void)revents;
	for (i = 0; i < ACCEPTS_PER_TURN && !fw->starved; i++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* The connection stays in the backlog; polling for it again would spin. */
			fw->starved = true;
			report_warning("descriptors", "out of file descriptors: no new forwarded connections until "
			    "one ends (raise ulimit -n, or lower --max-channels)");
			return;
		}
		if (fd < 0)
			return; /* EAGAIN, or a connection that left before it was taken */
		if (!admit(fw, &window)) {
			close(fd);
			continue;
		}
		(void)tunnel_new(fw, l, fd, window);
	}
}

/* Binds and listens on one address. Returns the socket, or -1 with errno. */
static int
listen_on(const struct addrinfo *ai, uint16_t port)
{
	struct sockaddr_storage sa;
	int fd, one = 1, saved;

	memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
	if (port && sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons(port);
	else if (port && sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* Each family on its own socket: "*" binds both, and a v6 socket must not take v4's port. */
	if ((ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* The port a socket is bound to. */
static uint16_t
bound_port(int fd, char *address, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t n = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &n) != 0)
		return 0;
	sock_format_address((struct sockaddr *)&sa, address, len, NULL, 0);
	return ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port :
	    ((struct sockaddr_in6 *)&sa)->sin6_port);
}

static int
add_listener(struct forward *fw, int fd, const struct fwdspec *spec, bool socks, struct failure *f)
{
	struct listener *l = &fw->listeners[fw->nlisteners];
	int r;

	*l = (struct listener){ .fw = fw, .fd = fd, .socks = socks, .port = spec->port };
	memcpy(l->host, spec->host, sizeof(l->host));
	(void)bound_port(fd, l->address, sizeof(l->address));
	if ((r = loop_watch(fw->loop, fd, listener_events, listener_ready, l, &l->watch)) != 0) {
		close(fd);
		f->exit = CLIENT_SOFTWARE;
		f->code = "nomem";
		snprintf(f->message, sizeof(f->message), "%s", cvpn_strerror(r));
		return -1;
	}
	fw->nlisteners++;
	return 0;
}

/* How many sockets the specifications may need: a name may stand for several addresses. */
static size_t
listeners_max(const struct client_config *cfg)
{
	return 16 * (cfg->nforwards + cfg->nsocks);
}

/* The listening addresses of a specification: every one its BIND names ("", every address). */
static int
resolve_bind(const struct fwdspec *spec, struct addrinfo **res, struct failure *f)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	int r;

	if ((r = getaddrinfo(spec->bind[0] ? spec->bind : NULL, "0", &hints, res)) == 0)
		return 0;
	f->exit = CLIENT_USAGE;
	f->code = "resolve";
	snprintf(f->message, sizeof(f->message), "cannot listen on '%s': %s", spec->bind, gai_strerror(r));
	return -1;
}

/*
 * Listens on every address of one specification. Port 0 takes the port the
 * system gives the first address for the others too, as ssh does, so that
 * one port names the forwarding.
 */
static int
bind_spec(struct forward *fw, const struct fwdspec *spec, bool socks, struct failure *f)
{
	struct addrinfo *res, *ai;
	uint16_t port = spec->bind_port;
	size_t before = fw->nlisteners;
	char dummy[SOCK_ADDRESS_MAX];
	int fd, err = 0;

	if (resolve_bind(spec, &res, f) != 0)
		return -1;
	for (ai = res; ai != NULL && fw->nlisteners < listeners_max(fw->cfg); ai = ai->ai_next) {
		if ((fd = listen_on(ai, port)) < 0) {
			err = errno;
			continue;
		}
		if (port == 0)
			port = bound_port(fd, dummy, sizeof(dummy));
		if (add_listener(fw, fd, spec, socks, f) != 0) {
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	if (fw->nlisteners > before)
		return 0;
	f->exit = CLIENT_UNAVAILABLE;
	f->code = "listen";
	snprintf(f->message, sizeof(f->message), "cannot listen on %s port %u: %s", spec->bind[0] ? spec->bind : "*",
	    (unsigned)spec->bind_port, strerror(err));
	return -1;
}

/*
 * Every connection holds a descriptor: take the hard limit, as the server
 * does, and carry fewer connections than asked when even that is short.
 */
static void
raise_fd_limit(struct client_config *cfg)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)cfg->max_channels + SPARE_FDS)
		return;
	cfg->max_channels = rl.rlim_cur > 2 * SPARE_FDS ? (unsigned)(rl.rlim_cur - SPARE_FDS) : 1;
	fprintf(stderr, "cvpn-client: --max-channels lowered to %u (the descriptor limit is %lu)\n",
	    cfg->max_channels, (unsigned long)rl.rlim_cur);
}

int
forward_new(struct client_config *cfg, struct loop *loop, struct forward **out, struct failure *f)
{
	struct forward *fw = calloc(1, sizeof(*fw));
	size_t i;

	raise_fd_limit(cfg);
	if (fw == NULL || (fw->listeners = calloc(listeners_max(cfg), sizeof(*fw->listeners))) == NULL ||
	    (fw->byid = calloc(cfg->max_channels, sizeof(*fw->byid))) == NULL) {
		*f = (struct failure){ .exit = CLIENT_SOFTWARE, .code = "nomem", .message = "out of memory" };
		goto fail;
	}
	fw->cfg = cfg;
	fw->loop = loop;
	for (i = 0; i < cfg->nforwards; i++)
		if (bind_spec(fw, &cfg->forwards[i], false, f) != 0)
			goto fail;
	for (i = 0; i < cfg->nsocks; i++)
		if (bind_spec(fw, &cfg->socks[i], true, f) != 0)
			goto fail;
	*out = fw;
	return 0;
fail:
	forward_free(fw);
	return -1;
}

void
forward_announce(struct forward *fw)
{
	char to[CHAN_HOST_MAX + 16];
	const struct listener *l;
	size_t i;

	if (fw->announced)
		return;
	fw->announced = true;
	for (i = 0; i < fw->nlisteners; i++) {
		l = &fw->listeners[i];
		snprintf(to, sizeof(to), strchr(l->host, ':') ? "[%s]:%u" : "%s:%u", l->host, (unsigned)l->port);
		report_listening(l->address, l->socks ? NULL : to);
	}
}

/* ---- Sessions ---- */

static int
on_record(void *arg, const struct chan_msg *m)
{
	struct forward *fw = arg;

	if (m->id >= fw->cfg->max_channels || fw->byid[m->id] == NULL)
		return CVPN_ERR_CHANNEL;
	return tunnel_record(fw->byid[m->id], m);
}

static void
on_end(void *arg)
{
	forward_detach(arg);
}

void
forward_attach(struct forward *fw, struct session *s)
{
	fw->session = s;
	fw->throttled = false;
	session_on_channel(s, on_record, on_end, fw);
}

void
forward_detach(struct forward *fw)
{
	size_t n = fw->ntunnels;
	char line[128];

	if (fw->session)
		session_on_channel(fw->session, NULL, NULL, NULL);
	fw->session = NULL;
	while (fw->tunnels)
		tunnel_drop(fw->tunnels);
	if (n == 0)
		return;
	snprintf(line, sizeof(line), "closed %zu forwarded connection%s with the session", n, n == 1 ? "" : "s");
	report_warning("forward_closed", line);
}

void
forward_free(struct forward *fw)
{
	size_t i;

	if (fw == NULL)
		return;
	forward_detach(fw);
	for (i = 0; i < fw->nlisteners; i++) {
		loop_unwatch(fw->loop, fw->listeners[i].watch);
		close(fw->listeners[i].fd);
	}
	free(fw->listeners);
	free(fw->byid);
	free(fw);
}

/* ---- --forward-only: signals and --reconnect ---- */

static const int stop_signals[] = { SIGINT, SIGTERM };

static void
on_signal(void *arg, int sig)
{
	struct forward *fw = arg;

	fw->stop_signal = sig;
}

static bool
stopping(void *arg)
{
	struct forward *fw = arg;

	return fw->stop_signal != 0;
}

/* Waits ms, or less when a signal comes. Returns true when one did. */
static bool
pause_for(struct forward *fw, unsigned ms)
{
	uint64_t end = loop_now_ms() + ms, t;

	while (!fw->stop_signal && (t = loop_now_ms()) < end)
		if (loop_turn(fw->loop, (int)(end - t)) != 0)
			break;
	return fw->stop_signal != 0;
}

/* Opens a new session after a lost one, with backoff. Returns 0 with *s attached, or -1 with *f. */
static int
reconnect(struct forward *fw, struct session **s, struct failure *f)
{
	unsigned delay = RECONNECT_FIRST_MS, attempt;

	for (attempt = 1; attempt <= RECONNECT_ATTEMPTS; attempt++) {
		report_reconnecting(attempt, RECONNECT_ATTEMPTS, delay);
		if (pause_for(fw, delay))
			return -1;
		if (session_open(fw->cfg, fw->loop, s, f) == 0) {
			forward_attach(fw, *s);
			return 0;
		}
		report_failure(f);
		delay = delay * 2 < RECONNECT_MAX_MS ? delay * 2 : RECONNECT_MAX_MS;
	}
	return -1;
}

/* A signal ends the session as the prompt's end does: connections closed, then CLOSE both ways. */
static int
finish(struct forward *fw, struct session *s)
{
	struct failure f;

	forward_detach(fw);
	if (session_finish(s, &f) != 0) {
		report_failure(&f);
		return f.exit;
	}
	report_closed();
	return CLIENT_OK;
}

int
forward_run(struct forward *fw, struct session **s)
{
	struct failure f;
	int r;

	r = loop_signals_catch(fw->loop, stop_signals, sizeof(stop_signals) / sizeof(stop_signals[0]), on_signal, fw,
	    &fw->signals);
	if (r != 0) {
		fprintf(stderr, "cvpn-client: cannot catch signals: %s\n", cvpn_strerror(r));
		return CLIENT_SOFTWARE;
	}
	for (;;) {
		if (session_run(*s, stopping, fw, 0, &f) == 0) {
			r = finish(fw, *s);
			break;
		}
		report_failure(&f);
		forward_detach(fw);
		r = f.exit;
		if (!fw->cfg->reconnect)
			break;
		session_close(*s);
		*s = NULL;
		if (reconnect(fw, s, &f) != 0) {
			r = fw->stop_signal ? CLIENT_OK : f.exit;
			break;
		}
	}
	loop_signals_free(fw->signals);
	fw->signals = NULL;
	return r;
}
