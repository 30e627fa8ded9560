/* SPDX-License-Identifier: MIT */
/*
 * cvpn-server: the workers that run the lab's 8192-bit Diffie-Hellman off the
 * event loop. One thread per CPU the server may run on, at a low priority,
 * so that the loop wins the CPU the moment a client needs it; jobs go out
 * and come back through pipes, so the loop never waits or spins on a worker
 * (libuv's own pool wakes the loop with uv_async_send, whose receiver spins
 * on sched_yield while a preempted worker finishes its handoff).
 */
#ifndef CVPN_POOL_H
#define CVPN_POOL_H

#include <stdbool.h>

#include <uv.h>

struct pool;

typedef void pool_work_fn(void *job);   /* runs on a worker thread */
typedef void pool_done_fn(void *job);   /* runs on the loop, after pool_work_fn returned */

/* Starts the workers and watches for finished jobs on loop. Returns 0 or a negative uv error code. */
int pool_new(uv_loop_t *loop, pool_work_fn *work, pool_done_fn *done, struct pool **out);

/* Queues job; done(job) follows on the loop. Returns 0, or UV_EAGAIN when the queue is full. */
int pool_submit(struct pool *p, void *job);

/* How many worker threads run. */
unsigned pool_threads(const struct pool *p);

/*
 * Stops watching for finished jobs, so that the loop can end now: the jobs
 * still queued or running are abandoned, and their done never runs.
 */
void pool_close(struct pool *p);

/*
 * Tells the workers to finish, after the loop ended, and waits up to grace_ms
 * for them. Returns true when every worker has ended: the abandoned jobs are
 * then the caller's again, and pool_free() will not wait. Returns false while
 * one still runs a job (a Diffie-Hellman cannot be interrupted).
 */
bool pool_join(struct pool *p, unsigned grace_ms);

/* Gives the workers the normal priority back, for the way out (best effort: it may need privileges). */
void pool_hurry(struct pool *p);

/* Joins the workers that pool_join() did not, waiting for them, and frees p. Accepts NULL. */
void pool_free(struct pool *p);

#endif
