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

/* Lets the loop end once the jobs in flight are done (their done still runs). */
void pool_close(struct pool *p);

/* Stops and joins the workers; call after the loop ended. Accepts NULL. */
void pool_free(struct pool *p);

#endif
