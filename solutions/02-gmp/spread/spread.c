/*
 * spread.c: the reference solution of exercise spread (stage 02).
 *
 * go() puts the new G on the creator's P's local queue, which only that P
 * reads. gosched() puts the caller on the GLOBAL queue and wakes an idle P
 * (wakep), and every P's findrunnable reads the global queue. So after
 * each go() the CREATOR yields: the new G keeps the P it was put on, and
 * the creator continues on whichever P takes it from the global queue
 * (often a freshly woken idle one). A burst of go_spread calls leaves one
 * goroutine on each P the creator passes through.
 *
 * The tempting alternative, a new goroutine whose first act is gosched(),
 * spreads only once the new goroutine RUNS, on the creator's P: if the
 * creator keeps that P busy, the goroutine waits behind it
 * (go_spread_escapes_a_busy_p catches it).
 *
 * The price is a trip through sched.lock and, often, a thread switch per
 * goroutine, which is why go() does not do this, and why stage 03 lets
 * idle Ps steal instead.
 */
#include "spread.h"

#include <stdlib.h>

#include "gort.h"

void go_spread(void (*fn)(void *arg), void *arg)
{
    go(fn, arg);                 /* on this P's local queue; NULL panics as go() does */
    gosched();                   /* and WE move: to the global queue, where any P,
                                    an idle one woken by wakep, may resume us */
}

typedef struct {
    void (*fn)(int, void *);
    void *arg;
    sync_waitgroup *wg;
    int i;
} pf_task;

static void pf_run(void *p)
{
    pf_task *t = p;
    t->fn(t->i, t->arg);
    sync_wg_done(t->wg);
}

void parallel_for(int n, void (*fn)(int i, void *arg), void *arg)
{
    if (n <= 0)
        return;
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    pf_task *tasks = malloc((size_t)n * sizeof *tasks);
    if (tasks == NULL)
        abort();
    sync_wg_add(&wg, n);
    for (int i = 0; i < n; i++) {
        tasks[i] = (pf_task){ fn, arg, &wg, i };
        go_spread(pf_run, &tasks[i]);
    }
    sync_wg_wait(&wg);
    free(tasks);
}
