/* SPDX-License-Identifier: MIT */
/*
 * The load generator's event loop: level-triggered epoll over every
 * connection, a coarse scan for deadlines, and a tick for the mode. A
 * connection that ends is unlinked at once but freed only after the current
 * batch of events, so a later event of the same batch never touches freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

/* How often deadlines and quiet periods are looked at. */
#define SCAN_US 10000
#define MAX_EVENTS 256

uint64_t
lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
lg_loop_init(struct lg_loop *l, const struct lg_setup *s, lg_event_fn *fn, lg_tick_fn *tick, void *arg)
{
	memset(l, 0, offsetof(struct lg_loop, rxbuf));
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	l->setup = s;
	l->fn = fn;
	l->tick = tick;
	l->arg = arg;
	l->now_us = l->scanned_us = lg_now_us();
	return 0;
}

static void
reap(struct lg_loop *l)
{
	struct lg_conn *c;

	while ((c = l->dead) != NULL) {
		l->dead = c->next;
		lg_conn_free(c);
	}
}

static void
scan(struct lg_loop *l)
{
	struct lg_conn *c, *next;

	l->scanned_us = l->now_us;
	for (c = l->live; c != NULL; c = next) {
		next = c->next;
		lg_conn_timers(c);
	}
}

static int
wait_ms(const struct lg_loop *l, uint64_t until_us, uint64_t tick_us)
{
	uint64_t wake = l->scanned_us + SCAN_US;

	if (until_us < wake)
		wake = until_us;
	if (l->now_us + tick_us < wake)
		wake = l->now_us + tick_us;
	if (wake <= l->now_us)
		return 0;
	/* Round up so that a sub-millisecond wait does not spin. */
	return (int)((wake - l->now_us + 999) / 1000);
}

int
lg_loop_run(struct lg_loop *l, uint64_t until_us)
{
	struct epoll_event ev[MAX_EVENTS];
	uint64_t tick_us;
	int n, i;

	l->quit = false;
	for (;;) {
		l->now_us = lg_now_us();
		tick_us = l->tick ? l->tick(l->arg, l->now_us) : SCAN_US;
		reap(l);
		if (l->quit || l->now_us >= until_us || (l->stop && atomic_load(l->stop)))
			return 0;
		if ((n = epoll_wait(l->epfd, ev, MAX_EVENTS, wait_ms(l, until_us, tick_us))) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		l->now_us = lg_now_us();
		for (i = 0; i < n; i++) {
			struct lg_conn *c = ev[i].data.ptr;

			if (c->state != LG_DEAD)
				lg_conn_io(c, ev[i].events);
		}
		if (l->now_us - l->scanned_us >= SCAN_US)
			scan(l);
		reap(l);
	}
}

void
lg_loop_free(struct lg_loop *l)
{
	while (l->live != NULL)
		lg_conn_drop(l->live);
	reap(l);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}
