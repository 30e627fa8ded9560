/* SPDX-License-Identifier: MIT */
/*
 * turnaround.so: an LD_PRELOAD library that times how one event-loop thread
 * spends a request-reply turn, cut at its system calls:
 *
 *   wake    epoll_wait returned      -> read (or recv) entered: the loop's dispatch
 *   read    the read itself
 *   work    read returned with data  -> write (or send) entered: the program's own work
 *   write   the write itself (on loopback it also delivers to the peer and wakes it)
 *   settle  write returned           -> the next epoll_wait entered
 *
 * Only turns of exactly that shape are counted (epoll_wait, one read with
 * data, one write), in the first thread that calls epoll_wait. At exit it
 * prints one line to stderr with the median of each part:
 *
 *   turnaround: turns N wake W read R work K write X settle S ns (TSC cycles: ...)
 *
 * It exists because perf's samples on this VM (no PMU, so a timer) land far
 * from their cause, while the system calls' boundaries are exact. What it
 * found is in bench/HISTORY.md, "Target by target", section 3 (round trips
 * on one connection). Calls that bypass these symbols (readv, sendmsg, the
 * __read_chk of a program built with _FORTIFY_SOURCE and a buffer of known
 * size) are not seen. The report comes from the measured thread only, when
 * it is the one that ends the program (the usual single event loop), so that
 * no turn is being written meanwhile.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define TICKS() __rdtsc()
#define TICK_NAME "TSC cycles"
#else
#define TICKS() mono_ns()
#define TICK_NAME "ns"
#endif

enum part { WAKE, READ, WORK, WRITE, SETTLE, NPARTS };

static const char *const part_names[NPARTS] = { "wake", "read", "work", "write", "settle" };

/* Turns kept for the medians; a 10-second run at 80,000 turns/s fits. */
#define MAX_TURNS (1u << 20)

/* Where the owner thread is in its turn. */
enum stage { IDLE, WOKEN, READING, HAVE_READ, WRITING, WROTE };

static uint32_t samples[NPARTS][MAX_TURNS];
static size_t nturns, nlost;    /* turns kept, and turns past MAX_TURNS */
static pthread_t owner;
static int owned;               /* 0 nobody, 1 being claimed, 2 owner is set */
static uint64_t start_ticks, start_ns;

static __thread enum stage stage;
static __thread uint64_t mark[NPARTS + 1];

/* The wrapped functions, looked up on first use. */
enum wrapped { F_EPOLL_WAIT, F_EPOLL_PWAIT, F_READ, F_RECV, F_WRITE, F_SEND, NWRAPPED };

static const char *const wrapped_names[NWRAPPED] = {
	"epoll_wait", "epoll_pwait", "read", "recv", "write", "send"
};

static void *next_fn[NWRAPPED];

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The next definition of a wrapped function after this library: libc's. */
static void *
next(enum wrapped w)
{
	void *f = __atomic_load_n(&next_fn[w], __ATOMIC_RELAXED);

	if (f == NULL) {
		if ((f = dlsym(RTLD_NEXT, wrapped_names[w])) == NULL) {
			fprintf(stderr, "turnaround: no %s to wrap\n", wrapped_names[w]);
			abort();
		}
		__atomic_store_n(&next_fn[w], f, __ATOMIC_RELAXED);
	}
	return f;
}

/* The first thread to wait on epoll becomes the one measured. */
static void
claim(void)
{
	int expected = 0;

	if (__atomic_load_n(&owned, __ATOMIC_RELAXED) == 0 &&
	    __atomic_compare_exchange_n(&owned, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		owner = pthread_self();
		__atomic_store_n(&owned, 2, __ATOMIC_RELEASE);
	}
}

static bool
mine(void)
{
	return __atomic_load_n(&owned, __ATOMIC_ACQUIRE) == 2 && pthread_equal(owner, pthread_self());
}

/* At epoll_wait: a complete turn ends here; keep it. */
static void
before_wait(uint64_t now)
{
	if (stage == WROTE && nturns == MAX_TURNS)
		nlost++;
	if (stage == WROTE && nturns < MAX_TURNS) {
		mark[NPARTS] = now;
		for (int i = 0; i < NPARTS; i++) {
			uint64_t d = mark[i + 1] - mark[i];

			samples[i][nturns] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		}
		nturns++;
	}
	stage = IDLE;
}

static void
after_wait(void)
{
	mark[WAKE] = TICKS();
	stage = WOKEN;
}

/*
 * Entering a read or a write: at stage from, the turn stamps mark[part] and
 * moves to to; at any other stage it is not of the shape counted. Returns
 * whether this thread is the one measured.
 */
static bool
enter(enum stage from, enum part part, enum stage to)
{
	if (!mine())
		return false;
	if (stage == from) {
		mark[part] = TICKS();
		stage = to;
	} else {
		stage = IDLE;
	}
	return true;
}

/* Leaving it with result n: the turn stamps mark[part] and moves to to if the call moved bytes. */
static void
leave(bool timed, enum stage from, enum part part, ssize_t n, enum stage to)
{
	if (!timed || stage != from)
		return;
	mark[part] = TICKS();
	stage = n > 0 ? to : IDLE;
}

int
epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	int (*f)(int, struct epoll_event *, int, int) = next(F_EPOLL_WAIT);
	bool timed;
	int r;

	claim();
	if ((timed = mine()))
		before_wait(TICKS());
	r = f(epfd, ev, max, timeout);
	if (timed)
		after_wait();
	return r;
}

int
epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	int (*f)(int, struct epoll_event *, int, int, const sigset_t *) = next(F_EPOLL_PWAIT);
	bool timed;
	int r;

	claim();
	if ((timed = mine()))
		before_wait(TICKS());
	r = f(epfd, ev, max, timeout, mask);
	if (timed)
		after_wait();
	return r;
}

ssize_t
read(int fd, void *buf, size_t n)
{
	ssize_t (*f)(int, void *, size_t) = next(F_READ);
	bool timed = enter(WOKEN, READ, READING);
	ssize_t r = f(fd, buf, n);

	leave(timed, READING, WORK, r, HAVE_READ);
	return r;
}

ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	ssize_t (*f)(int, void *, size_t, int) = next(F_RECV);
	bool timed = enter(WOKEN, READ, READING);
	ssize_t r = f(fd, buf, n, flags);

	leave(timed, READING, WORK, r, HAVE_READ);
	return r;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	ssize_t (*f)(int, const void *, size_t) = next(F_WRITE);
	bool timed = enter(HAVE_READ, WRITE, WRITING);
	ssize_t r = f(fd, buf, n);

	leave(timed, WRITING, SETTLE, r, WROTE);
	return r;
}

ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	ssize_t (*f)(int, const void *, size_t, int) = next(F_SEND);
	bool timed = enter(HAVE_READ, WRITE, WRITING);
	ssize_t r = f(fd, buf, n, flags);

	leave(timed, WRITING, SETTLE, r, WROTE);
	return r;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

__attribute__((constructor)) static void
turnaround_start(void)
{
	start_ns = mono_ns();
	start_ticks = TICKS();
}

/* Writes a line straight to the descriptor (stdio may be gone this late in exit), past our own write. */
static void
say(const char *line)
{
	ssize_t (*f)(int, const void *, size_t) = next(F_WRITE);

	(void)f(STDERR_FILENO, line, strlen(line));
}

/* Appends to line[0..cap) at *off; what does not fit is cut. */
static void
append(char *line, size_t cap, size_t *off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
append(char *line, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < cap ? *off + (size_t)n : cap;
}

/* Prints the medians, in nanoseconds (from the tick rate over the whole run) and in ticks. */
__attribute__((destructor)) static void
turnaround_report(void)
{
	double ns_per_tick = 1.0;
	uint32_t med[NPARTS] = { 0 };
	uint64_t ticks = TICKS() - start_ticks, ns = mono_ns() - start_ns;
	char line[512];
	size_t off = 0;

	if (__atomic_load_n(&owned, __ATOMIC_ACQUIRE) == 2 && !mine()) {
		say("turnaround: no report: the thread measured is not the one ending the program\n");
		return;
	}
	if (ticks > 0)
		ns_per_tick = (double)ns / (double)ticks;
	for (int i = 0; i < NPARTS && nturns > 0; i++) {
		qsort(samples[i], nturns, sizeof(samples[i][0]), cmp_u32);
		med[i] = samples[i][nturns / 2];
	}
	append(line, sizeof(line), &off, "turnaround: turns %zu", nturns);
	if (nlost > 0)
		append(line, sizeof(line), &off, " (%zu more not kept)", nlost);
	for (int i = 0; i < NPARTS; i++)
		append(line, sizeof(line), &off, " %s %.0f", part_names[i], med[i] * ns_per_tick);
	append(line, sizeof(line), &off, " ns (" TICK_NAME ":");
	for (int i = 0; i < NPARTS; i++)
		append(line, sizeof(line), &off, " %u", med[i]);
	append(line, sizeof(line), &off, ")\n");
	say(line);
}
