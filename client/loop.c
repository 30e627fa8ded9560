/* SPDX-License-Identifier: MIT */
/*
 * The descriptors the client waits on: the server's socket, stdin, the
 * forwarding listeners and their connections, one poll() for all of them.
 *
 * Why poll() and not libuv, which the server uses: the client waits in
 * place. The prompt sends a message and runs the loop until its reply comes
 * (the lab protocol is lock-step), and it does so from inside the handler
 * that read the line; a forwarded connection must go on moving meanwhile.
 * That needs a loop that can be re-entered from one of its own callbacks,
 * which uv_run() cannot be. poll() over a few thousand descriptors costs
 * little next to the encryption of the bytes that woke it.
 *
 * Each watch says afresh before every turn what it waits for, so that flow
 * control (read only while there is credit, write only while bytes wait) is
 * computed where it is decided, never remembered in two places. A watch
 * removed during a turn is only marked: it is freed once no turn runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "err.h"

struct loop_watch {
	int fd;
	loop_events_fn *events;
	loop_ready_fn *ready;
	void *arg;
	bool dead;
};

struct loop {
	struct loop_watch **w;
	size_t n, cap;
	size_t start;           /* where the next turn starts, so that no watch is always served first */
	unsigned depth;         /* turns running, one inside another */
	size_t ndead;
};

uint64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return CVPN_ERR_NOMEM;
	*out = l;
	return 0;
}

/* Frees the watches that were removed, once no turn can still be reading them. */
static void
compact(struct loop *l)
{
	size_t i, k = 0;

	if (l->ndead == 0 || l->depth > 0)
		return;
	for (i = 0; i < l->n; i++) {
		if (l->w[i]->dead)
			free(l->w[i]);
		else
			l->w[k++] = l->w[i];
	}
	l->n = k;
	l->ndead = 0;
}

void
loop_free(struct loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->w[i]);
	free(l->w);
	free(l);
}

int
loop_watch(struct loop *l, int fd, loop_events_fn *events, loop_ready_fn *ready, void *arg, struct loop_watch **out)
{
	struct loop_watch *w, **grown;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 16;
		if ((grown = realloc(l->w, cap * sizeof(*grown))) == NULL)
			return CVPN_ERR_NOMEM;
		l->w = grown;
		l->cap = cap;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CVPN_ERR_NOMEM;
	*w = (struct loop_watch){ .fd = fd, .events = events, .ready = ready, .arg = arg };
	l->w[l->n++] = w;
	*out = w;
	return 0;
}

void
loop_unwatch(struct loop *l, struct loop_watch *w)
{
	if (w == NULL || w->dead)
		return;
	w->dead = true;
	l->ndead++;
	compact(l);
}

/* Fills pfd and who with the watches that wait for something now. Returns how many. */
static size_t
gather(struct loop *l, struct pollfd *pfd, struct loop_watch **who)
{
	size_t i, k = 0, n = l->n;
	struct loop_watch *w;
	short ev;

	for (i = 0; i < n; i++) {
		w = l->w[(l->start + i) % n];
		if (w->dead || (ev = w->events(w->arg)) == 0)
			continue;
		pfd[k] = (struct pollfd){ .fd = w->fd, .events = ev };
		who[k++] = w;
	}
	l->start = n ? (l->start + 1) % n : 0;
	return k;
}

int
loop_turn(struct loop *l, int timeout_ms)
{
	struct loop_watch **who = NULL;
	struct pollfd *pfd = NULL;
	int r = -1, err = ENOMEM;
	size_t i, k;

	/* Per turn, not per loop: a turn run from a callback must not overwrite its caller's. */
	if ((pfd = calloc(l->n + 1, sizeof(*pfd))) == NULL || (who = calloc(l->n + 1, sizeof(*who))) == NULL)
		goto out;
	l->depth++;
	k = gather(l, pfd, who);
	if ((r = poll(pfd, (nfds_t)k, timeout_ms)) >= 0) {
		for (i = 0; i < k; i++)
			if (pfd[i].revents && !who[i]->dead)
				who[i]->ready(who[i]->arg, pfd[i].revents);
	}
	err = errno;
	/* A signal's interruption is a turn in which nothing was ready. */
	r = r >= 0 || err == EINTR ? 0 : -1;
	l->depth--;
out:
	compact(l);
	free(pfd);
	free(who);
	errno = err;
	return r;
}

/*
 * Signals into the loop, by a pipe: the handler writes the signal's number
 * (write() is async-signal-safe), which wakes a poll() whenever it came,
 * before or during the turn, and the turn reads it and calls back. The pipe
 * is the process's, as the handler must find it: one catch at a time.
 */
#define LOOP_SIGNALS_MAX 4

struct loop_signals {
	struct loop *loop;
	struct loop_watch *watch;
	loop_signal_fn *fn;
	void *arg;
	int sigs[LOOP_SIGNALS_MAX];
	struct sigaction saved[LOOP_SIGNALS_MAX];
	size_t n;
};

static int signal_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved_errno = errno;
	unsigned char b = (unsigned char)sig;

	/* A full pipe holds signals to act on already. */
	(void)!write(signal_pipe[1], &b, 1);
	errno = saved_errno;
}

static short
signals_events(void *arg)
{
	(void)arg;
	return POLLIN;
}

static void
signals_ready(void *arg, short revents)
{
	struct loop_signals *ls = arg;
	unsigned char b[16];
	ssize_t i, n;

	(void)revents;
	while ((n = read(signal_pipe[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++)
			ls->fn(ls->arg, b[i]);
}

int
loop_signals_catch(struct loop *l, const int *sigs, size_t n, loop_signal_fn *fn, void *arg,
    struct loop_signals **out)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct loop_signals *ls;
	int r = CVPN_ERR_IO;

	if (signal_pipe[0] >= 0 || n > LOOP_SIGNALS_MAX)
		return CVPN_ERR_STATE;
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return CVPN_ERR_NOMEM;
	*ls = (struct loop_signals){ .loop = l, .fn = fn, .arg = arg };
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		goto out;
	if ((r = loop_watch(l, signal_pipe[0], signals_events, signals_ready, ls, &ls->watch)) != 0)
		goto out;
	/* No SA_RESTART: a poll() in progress returns, and the turn reads the pipe next. */
	sigemptyset(&sa.sa_mask);
	for (ls->n = 0; ls->n < n; ls->n++) {
		ls->sigs[ls->n] = sigs[ls->n];
		if (sigaction(sigs[ls->n], &sa, &ls->saved[ls->n]) != 0) {
			r = CVPN_ERR_IO;
			goto out;
		}
	}
	*out = ls;
	return 0;
out:
	loop_signals_free(ls);
	return r;
}

void
loop_signals_free(struct loop_signals *ls)
{
	size_t i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++)
		(void)sigaction(ls->sigs[i], &ls->saved[i], NULL);
	loop_unwatch(ls->loop, ls->watch);
	if (signal_pipe[0] >= 0) {
		close(signal_pipe[0]);
		close(signal_pipe[1]);
	}
	signal_pipe[0] = signal_pipe[1] = -1;
	free(ls);
}
