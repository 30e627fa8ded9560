/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pool.h"

/* Where SCHED_IDLE is refused: a nice value that still favours the loop thread. */
#define POOL_NICE 10
#define POOL_MAX_THREADS 16
/* Finished jobs taken per read; the pipe holds whole pointers only. */
#define POOL_BATCH 64

struct pool {
	uv_loop_t *loop;
	uv_poll_t watch;                /* the read end of done_pipe */
	pool_work_fn *work;
	pool_done_fn *done;
	int job_pipe[2];                /* loop -> workers, one pointer a write */
	int done_pipe[2];               /* workers -> loop */
	pthread_t threads[POOL_MAX_THREADS];
	bool joined[POOL_MAX_THREADS];
	unsigned nthreads;
	sem_t ready;                    /* posted by each worker once its descriptor table is its own */
	unsigned long in_flight;
	bool watching, closing, closed;
};

/* Writes all of a pointer; a pipe write of 8 bytes is atomic. Returns false on error. */
static bool
put_job(int fd, void *job)
{
	ssize_t w;

	while ((w = write(fd, &job, sizeof(job))) < 0 && errno == EINTR)
		;
	return w == (ssize_t)sizeof(job);
}

/*
 * Gives this worker a descriptor table of its own, holding only its two pipe
 * ends (and stdio). While threads share a table, each read, write and
 * epoll_wait of the loop thread takes and drops a reference on the file it
 * uses; the kernel skips that for a table no other thread shares (about 50 ns
 * a read and 20-90 ns a write here: bench/HISTORY.md, "What the numbers
 * exposed").
 * CLOSE_RANGE_UNSHARE unshares and closes in one step, so a worker that cannot
 * (a kernel before 5.9, a seccomp filter) keeps the shared table untouched:
 * slower, not wrong. The workers need no signals: pool_new blocks them.
 */
static void
unshare_files(const struct pool *p)
{
	int a = p->job_pipe[0], b = p->done_pipe[1], hi = a > b ? a : b;

	if (close_range((unsigned)hi + 1, ~0U, CLOSE_RANGE_UNSHARE) != 0)
		return;
	/*
	 * Below it: the loop's descriptors, and this copy of the job pipe's
	 * write end, which must go for the workers to see end of file.
	 */
	for (int fd = 3; fd < hi; fd++)
		if (fd != a && fd != b)
			(void)close(fd);
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	void *job;
	ssize_t n;

	struct sched_param idle = { .sched_priority = 0 };

	unshare_files(p);
	(void)sem_post(&p->ready);
	/*
	 * Per thread on Linux: only this worker gets the lower priority. Under
	 * SCHED_IDLE the loop thread takes the CPU back the moment it wakes up;
	 * at nice 10 the scheduler (EEVDF) let a worker finish its slice first,
	 * and a probe's round trip under a secure handshake flood waited up to
	 * 3-6 ms for it (bench target 6). A worker still gets a small share of
	 * a CPU that is busy with other work, so handshakes slow down there but
	 * do not stop.
	 */
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_NICE);
	for (;;) {
		while ((n = read(p->job_pipe[0], &job, sizeof(job))) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof(job))
			break; /* end of file: the pool is being freed */
		p->work(job);
		if (!put_job(p->done_pipe[1], job))
			abort(); /* the loop would wait for this job forever */
	}
	/* Release libcrypto's per-thread state while libcrypto is still there. */
	OPENSSL_thread_stop();
	return NULL;
}

static void on_done(uv_poll_t *w, int status, int events);

/*
 * Watches for finished jobs only while some are in flight, so that an idle
 * pool does not keep the loop alive; once closing, not at all.
 */
static void
update_watch(struct pool *p)
{
	if (p->closed)
		return;
	if (p->closing) {
		uv_close((uv_handle_t *)&p->watch, NULL);
		p->closed = true;
	} else if (p->in_flight > 0 && !p->watching) {
		p->watching = uv_poll_start(&p->watch, UV_READABLE, on_done) == 0;
	} else if (p->in_flight == 0 && p->watching) {
		uv_poll_stop(&p->watch);
		p->watching = false;
	}
}

static void
on_done(uv_poll_t *w, int status, int events)
{
	struct pool *p = w->data;
	void *jobs[POOL_BATCH];
	ssize_t n;

	(void)status;
	(void)events;
	while ((n = read(p->done_pipe[0], jobs, sizeof(jobs))) < 0 && errno == EINTR)
		;
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(void *); i++) {
		p->in_flight--;
		p->done(jobs[i]);
	}
	update_watch(p);
}

static unsigned
cpus_usable(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || (n = CPU_COUNT(&set)) < 1)
		return 1;
	return n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (unsigned)n;
}

int
pool_new(uv_loop_t *loop, pool_work_fn *work, pool_done_fn *done, struct pool **out)
{
	struct pool *p;
	unsigned want = cpus_usable();
	sigset_t mask, old;
	int r = 0;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return UV_ENOMEM;
	if (sem_init(&p->ready, 0, 0) != 0) {
		free(p);
		return UV_EINVAL;
	}
	p->loop = loop;
	p->work = work;
	p->done = done;
	p->job_pipe[0] = p->job_pipe[1] = p->done_pipe[0] = p->done_pipe[1] = -1;
	if (pipe2(p->job_pipe, O_CLOEXEC) != 0 || pipe2(p->done_pipe, O_CLOEXEC) != 0 ||
	    fcntl(p->job_pipe[1], F_SETFL, O_NONBLOCK) != 0 || fcntl(p->done_pipe[0], F_SETFL, O_NONBLOCK) != 0) {
		r = -errno;
		goto out;
	}
	/*
	 * The workers start with the asynchronous signals blocked: libuv's
	 * handler, in whichever thread a signal lands, writes to descriptors
	 * that the workers' own tables no longer hold. Faults stay deliverable.
	 */
	sigfillset(&mask);
	sigdelset(&mask, SIGSEGV);
	sigdelset(&mask, SIGBUS);
	sigdelset(&mask, SIGFPE);
	sigdelset(&mask, SIGILL);
	sigdelset(&mask, SIGABRT);
	if ((r = -pthread_sigmask(SIG_SETMASK, &mask, &old)) != 0)
		goto out;
	for (; p->nthreads < want; p->nthreads++) {
		if ((r = -pthread_create(&p->threads[p->nthreads], NULL, worker_main, p)) != 0)
			break;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Once each worker has its own table, no connection the loop accepts can land in one. */
	for (unsigned i = 0; i < p->nthreads; i++)
		while (sem_wait(&p->ready) != 0 && errno == EINTR)
			;
	/* Fewer workers than CPUs is slower, not wrong; none is an error. */
	if (p->nthreads == 0 || (r = uv_poll_init(loop, &p->watch, p->done_pipe[0])) != 0)
		goto out;
	p->watch.data = p;
	*out = p;
	return 0;
out:
	pool_free(p);
	return r != 0 ? r : UV_EAGAIN;
}

int
pool_submit(struct pool *p, void *job)
{
	if (p->closing)
		return UV_ECANCELED;
	if (!put_job(p->job_pipe[1], job))
		return errno == EAGAIN ? UV_EAGAIN : -errno;
	p->in_flight++;
	update_watch(p);
	return 0;
}

unsigned
pool_threads(const struct pool *p)
{
	return p->nthreads;
}

void
pool_close(struct pool *p)
{
	if (p == NULL)
		return;
	p->closing = true;
	update_watch(p);
}

/* End of file on the job pipe tells each worker to finish, once it has read the jobs before it. */
static void
end_jobs(struct pool *p)
{
	if (p->job_pipe[1] >= 0)
		close(p->job_pipe[1]);
	p->job_pipe[1] = -1;
}

bool
pool_join(struct pool *p, unsigned grace_ms)
{
	struct timespec until;
	bool all = true;

	end_jobs(p);
	if (clock_gettime(CLOCK_REALTIME, &until) != 0)
		return false;
	until.tv_sec += grace_ms / 1000;
	until.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	for (unsigned i = 0; i < p->nthreads; i++) {
		if (!p->joined[i])
			p->joined[i] = pthread_timedjoin_np(p->threads[i], NULL, &until) == 0;
		all = all && p->joined[i];
	}
	return all;
}

void
pool_hurry(struct pool *p)
{
	struct sched_param normal = { .sched_priority = 0 };

	for (unsigned i = 0; i < p->nthreads; i++)
		if (!p->joined[i])
			(void)pthread_setschedparam(p->threads[i], SCHED_OTHER, &normal);
}

void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	end_jobs(p);
	for (unsigned i = 0; i < p->nthreads; i++)
		if (!p->joined[i])
			pthread_join(p->threads[i], NULL);
	if (p->job_pipe[0] >= 0)
		close(p->job_pipe[0]);
	for (int i = 0; i < 2; i++)
		if (p->done_pipe[i] >= 0)
			close(p->done_pipe[i]);
	sem_destroy(&p->ready);
	free(p);
}
