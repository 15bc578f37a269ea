/*
 * workerpool.c: a bounded worker pool with backpressure and error
 * propagation (reference solution, on gort's public API only).
 *
 * Goroutines: `workers` workers, started by pool_new; nothing else.
 * Shared state: a buffered channel `queue` of queue_cap jobs (the bound:
 * a full channel blocks submitters, which is the backpressure); the pool's
 * context `ctx`, a child of the parent; the first error, under mu; a
 * WaitGroup counting live workers.
 *
 * Worker loop:
 *   1. If ctx is done, exit (a failed pool starts no job: checked before
 *      every job, since select alone might pick a queued job over done).
 *   2. select { job := <-queue ; <-ctx.done }: done or a closed, drained
 *      queue -> exit.
 *   3. Run the job; a non-zero result is recorded if it is the first, and
 *      ctx is cancelled: running jobs see ctx.done, workers stop at step 1,
 *      blocked submitters wake (below).
 * Submit:
 *   1. If ctx is done, return the pool's error.
 *   2. select { queue <- job ; <-ctx.done }: queued -> 0; done -> error.
 *      A submitter parked on a full queue is thus woken by a failure.
 * Wait: close(queue) (every submit has returned, so no send can race the
 * close), wait for the workers, return the error. Jobs left in the queue
 * of a failed pool are dropped with the channel in pool_free.
 *
 * The error: the first non-zero job result; else POOL_ECANCELED when ctx
 * was cancelled by the parent; else 0.
 */
#include "workerpool.h"

#include <stdlib.h>

typedef struct { pool_job fn; void *arg; } job;

struct workerpool {
    chan_t        *queue;       /* of job, capacity queue_cap */
    context_t     *ctx;
    sync_waitgroup wg;          /* live workers */
    sync_mutex     mu;
    int            err;         /* first job error; under mu */
};

static int poolerr(workerpool *p)
{
    sync_mutex_lock(&p->mu);
    int err = p->err;
    sync_mutex_unlock(&p->mu);
    if (err == 0 && context_err(p->ctx) != CONTEXT_OK)
        err = POOL_ECANCELED;
    return err;
}

static void worker(void *arg)
{
    workerpool *p = arg;
    for (;;) {
        if (context_err(p->ctx) != CONTEXT_OK)
            break;
        job j;
        select_case cases[2] = {
            { .c = p->queue, .dir = SELECT_RECV, .elem = &j },
            { .c = context_done(p->ctx), .dir = SELECT_RECV },
        };
        if (chan_select(cases, 2, true) != 0 || !cases[0].ok)
            break;
        int err = j.fn(p->ctx, j.arg);
        if (err != 0) {
            sync_mutex_lock(&p->mu);
            if (p->err == 0)
                p->err = err;
            sync_mutex_unlock(&p->mu);
            context_cancel(p->ctx);
        }
    }
    sync_wg_done(&p->wg);
}

workerpool *pool_new(context_t *parent, int workers, int queue_cap)
{
    if (workers < 1 || queue_cap < 0) {
        fprintf(stderr, "panic: pool_new: workers=%d (want >= 1), queue_cap=%d (want >= 0)\n",
                workers, queue_cap);
        exit(2);
    }
    workerpool *p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    p->queue = chan_make(sizeof(job), (size_t)queue_cap);
    p->ctx = context_with_cancel(parent ? parent : context_background());
    sync_wg_add(&p->wg, workers);
    for (int i = 0; i < workers; i++)
        go(worker, p);
    return p;
}

static int submit(workerpool *p, pool_job fn, void *arg, bool block)
{
    int err = poolerr(p);
    if (err != 0)
        return err;
    job j = { fn, arg };
    select_case cases[2] = {
        { .c = p->queue, .dir = SELECT_SEND, .elem = &j },
        { .c = context_done(p->ctx), .dir = SELECT_RECV },
    };
    int got = chan_select(cases, 2, block);
    if (got == 0)
        return 0;
    if (got < 0)
        return POOL_EFULL;
    return poolerr(p);
}

int pool_submit(workerpool *p, pool_job fn, void *arg) { return submit(p, fn, arg, true); }
int pool_try_submit(workerpool *p, pool_job fn, void *arg) { return submit(p, fn, arg, false); }

int pool_wait(workerpool *p)
{
    chan_close(p->queue);
    sync_wg_wait(&p->wg);
    return poolerr(p);
}

void pool_free(workerpool *p)
{
    if (p == NULL)
        return;
    context_free(p->ctx);
    chan_free(p->queue);
    free(p);
}
