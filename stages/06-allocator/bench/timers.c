/*
 * bench/timers.c: what a timer costs to start and stop.
 *
 * Go twin: scripts/go-bench (workload "timers"); the two are the same
 * program:
 *
 *     for each of GOMAXPROCS goroutines, at once:
 *         for i < n { t := time.NewTimer(time.Hour); t.Stop() }
 *     then, each goroutine on one timer of its own:
 *         for i < n { t.Reset(time.Hour); t.Stop() }
 *     ns := time.Since(start) / n      // each loop's wall time / pairs per goroutine
 *
 * The timers never fire: this is the price of putting a timer into the
 * heap and taking it out again, which a network server pays on every
 * deadline it sets. "timer_new_stop" also makes and frees the timer and
 * its channel; "timer_reset_stop" is the heap alone. At GOMAXPROCS=2 two
 * goroutines do it at once: a heap shared by the Ps (stages 01-04) makes
 * them take turns, a heap per P (stage 05, Go 1.14) does not.
 *
 * Usage: timers [N]   (N pairs per goroutine and per loop, default 1000000).
 * Prints "timer_new_stop NS ns" and "timer_reset_stop NS ns".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

#define HOUR (3600LL * 1000000000LL)

static long iters;

static void newstop(void *arg)
{
    for (long i = 0; i < iters; i++) {
        time_timer *t = time_new_timer(HOUR);
        time_timer_stop(t);
        time_timer_free(t);
    }
    sync_wg_done(arg);
}

static void resetstop(void *arg)
{
    time_timer *t = time_new_timer(HOUR);
    for (long i = 0; i < iters; i++) {
        time_timer_reset(t, HOUR);
        time_timer_stop(t);
    }
    time_timer_free(t);
    sync_wg_done(arg);
}

/* ns per pair of fn, run by procs goroutines at once. */
static double loop(void (*fn)(void *), int procs)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, procs);
    int64_t start = time_now();
    for (int i = 0; i < procs; i++)
        go(fn, &wg);
    sync_wg_wait(&wg);
    return (double)(time_now() - start) / (double)iters;
}

static int timers_main(int argc, char **argv)
{
    iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters < 1) {
        fprintf(stderr, "usage: timers [N]\n");
        return 2;
    }
    int procs = runtime_gomaxprocs(0);
    double made = loop(newstop, procs);
    double reset = loop(resetstop, procs);
    printf("timer_new_stop %.1f ns\n", made);
    printf("timer_reset_stop %.1f ns\n", reset);
    return 0;
}

GO_MAIN(timers_main)
