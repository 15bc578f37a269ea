/*
 * bench/gosched.c: two goroutines call gosched in a loop; ns per switch.
 *
 * Go twin: scripts/go-bench (workload "gosched"); the two are the same program:
 *
 *     wg.Add(2)
 *     start := time.Now()
 *     go yielder(n, &wg)                  // for i < n { runtime.Gosched() }; wg.Done()
 *     go yielder(n, &wg)
 *     wg.Wait()
 *     ns := time.Since(start) / (2 * n)   // total time / total Gosched calls
 *
 * What it measures: one trip through the scheduler: save the goroutine's
 * registers, put it on the run queue, pick the next one, restore. At
 * GOMAXPROCS=1 every call switches to the other goroutine; at GOMAXPROCS=2
 * each usually finds itself again at the head of the queue, so the number
 * is the cost of the scheduler's round trip (and of its lock) more than of
 * a context switch.
 *
 * At GOMAXPROCS=2 both goroutines run at once and each gosched puts
 * itself on the one global queue and takes the head again: there is little
 * switching, and the number is the price of the shared scheduler lock, as
 * Go's is the price of its own round trip through schedule().
 *
 * Usage: gosched [N]   (N calls per goroutine, default 1000000).
 * Prints "gosched_switch NS ns".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

static long iters;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static void yielder(void *arg)
{
    for (long i = 0; i < iters; i++)
        gosched();
    sync_wg_done(&wg);
}

static int gosched_main(int argc, char **argv)
{
    iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters < 1) {
        fprintf(stderr, "usage: gosched [N]\n");
        return 2;
    }

    sync_wg_add(&wg, 2);
    int64_t start = time_now();
    go(yielder, NULL);
    go(yielder, NULL);
    sync_wg_wait(&wg);
    int64_t elapsed = time_now() - start;

    printf("gosched_switch %.1f ns\n", (double)elapsed / (2.0 * (double)iters));
    return 0;
}

GO_MAIN(gosched_main)
