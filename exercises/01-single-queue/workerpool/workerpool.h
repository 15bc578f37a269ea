/*
 * workerpool.h: a bounded worker pool with backpressure and error
 * propagation. GIVEN: do not edit; write workerpool.c.
 *
 * A fixed number of worker goroutines take jobs from a bounded queue. A
 * job gets the pool's context and returns 0, or an error code (non-zero).
 * The first error fails the pool: its context is cancelled (so running
 * jobs can stop early), jobs not yet started never start, and every
 * submit from then on returns that error.
 */
#ifndef EX_WORKERPOOL_H
#define EX_WORKERPOOL_H

#include "gort.h"

enum {
    POOL_ECANCELED = -1,        /* the parent context was cancelled */
    POOL_EFULL     = -2,        /* pool_try_submit: the queue is full */
};

typedef struct workerpool workerpool;       /* defined in workerpool.c */
typedef int (*pool_job)(context_t *ctx, void *arg);

/* Starts `workers` goroutines (no more, ever) and a queue of `queue_cap`
 * jobs. The pool's context is a child of parent (NULL: background). */
workerpool *pool_new(context_t *parent, int workers, int queue_cap);

/* Queues fn(ctx, arg). Blocks (parked) while the queue is full. Returns 0
 * once queued, or the pool's error: the first job's error code, or
 * POOL_ECANCELED if the parent was cancelled first. A submitter blocked on
 * a full queue returns that error as soon as the pool fails. */
int pool_submit(workerpool *p, pool_job fn, void *arg);

/* Like pool_submit but never blocks: POOL_EFULL when the queue is full. */
int pool_try_submit(workerpool *p, pool_job fn, void *arg);

/* Call once, after every submit has returned: no more jobs; waits until the
 * queued jobs have run (or been dropped because the pool failed) and every
 * worker goroutine has exited. Returns the pool's error, or 0. */
int pool_wait(workerpool *p);

void pool_free(workerpool *p);              /* after pool_wait */

#endif
