/*
 * bench/spawn.c: spawn N goroutines, each calls wg.Done; ns per goroutine.
 *
 * Go twin: scripts/go-bench (workload "spawn"); the two are the same program:
 *
 *     var wg sync.WaitGroup
 *     wg.Add(n)
 *     start := time.Now()
 *     for i := 0; i < n; i++ {
 *         go done(&wg)                    // func done(wg) { wg.Done() }
 *     }
 *     wg.Wait()
 *     ns := time.Since(start) / n
 *
 * What it measures: creating a goroutine (a G and its stack), queueing it,
 * running it to its end, and freeing or recycling it, plus one atomic
 * decrement. At GOMAXPROCS=1 the spawning goroutine runs until it blocks in
 * wg.Wait (or is preempted), so up to N goroutines wait in the run queue at
 * once: memory for N stacks is part of the cost.
 *
 * Usage: spawn [N]   (default 1000000). Prints "spawn_goroutine NS ns".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static void done(void *arg)
{
    sync_wg_done(&wg);
}

static int spawn_main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n < 1) {
        fprintf(stderr, "usage: spawn [N]\n");
        return 2;
    }

    sync_wg_add(&wg, (int)n);
    int64_t start = time_now();
    for (long i = 0; i < n; i++)
        go(done, NULL);
    sync_wg_wait(&wg);
    int64_t elapsed = time_now() - start;

    printf("spawn_goroutine %.1f ns\n", (double)elapsed / (double)n);
    return 0;
}

GO_MAIN(spawn_main)
