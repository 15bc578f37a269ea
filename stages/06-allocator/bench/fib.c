/*
 * bench/fib.c: parallel fib(35), a goroutine per call above n = 20; ms per
 * tree, over about a second of trees.
 *
 * Go twin: scripts/go-bench (workload "fib"); the two are the same program:
 *
 *     func pfib(n int, res *int, wg *sync.WaitGroup) {   // one tree; see "Timing"
 *         if n <= 20 {
 *             *res = fib(n)               // plain recursion
 *         } else {
 *             var a, b int
 *             var inner sync.WaitGroup
 *             inner.Add(2)
 *             go pfib(n-1, &a, &inner)
 *             go pfib(n-2, &b, &inner)
 *             inner.Wait()
 *             *res = a + b
 *         }
 *         wg.Done()
 *     }
 *
 * What it measures: fork-join parallelism. The work is a tree of 3,193
 * goroutines created where the work is, each waiting for its two children:
 * a P that runs out of work can only get more by stealing from the P that
 * created it, so the speedup from GOMAXPROCS=1 to 2 is what stealing buys
 * (stage 02, which cannot steal, stays near 1x; REFERENCE.md: Go's 84 ms and
 * 42 ms, 2.0x). The leaves, fib(20) and below (about 30 us each), are
 * compiled code in both languages, so the ratio to Go is the compilers'
 * as much as the runtimes'.
 *
 * Timing. Both programs run one tree untimed, then run trees one after
 * another until MS milliseconds (default 1000) have passed, and print the
 * mean time of a tree. The first tree pays for carving about a thousand
 * stacks (gort: mmap, an mprotect per guard page, first-touch page
 * faults; stack.c), which the kernel serialises on the process's memory
 * map, and at GOMAXPROCS=2 every mprotect also interrupts the other CPU to
 * flush its TLB: measured on the course machine, 17 ms at P=1 and 15 ms at
 * P=2 for the first tree, 14 and 7 for the next. That is the stack
 * allocator's cost, not the scheduler's; the warm trees measure the
 * scheduler. A single warm tree (10-20 ms) was too short to time on a
 * shared machine: in five rounds the same P=1 run took 11 to 20 ms. A
 * second of trees averages out the host's hiccups, and the same duration
 * at both GOMAXPROCS values and in both languages keeps the comparison
 * fair (bench/run.sh takes the median of per-round speedups).
 *
 * Grain. The cutoff decides how much work a goroutine carries: at 20 a
 * leaf is fib(20) or fib(19), about 7 us of gcc-compiled C, beside a few
 * hundred ns of scheduling per goroutine. At GOMAXPROCS=2 that scheduling
 * costs more, because the two CPUs now write the same lines of memory
 * (the free lists of Gs and stacks, counters) and each such line crosses
 * between them: the stage README measures it, and it is what keeps the
 * speedup under 2. Go's compiler makes the same leaf about 3.5 times
 * slower, so the same tree hands Go's scheduler 3.5 times more work per
 * goroutine to hide its costs behind. A larger CUTOFF gives gort a
 * coarser grain (22: leaves of about 18 us, 1,219 goroutines).
 *
 * Usage: fib [N [CUTOFF [MS]]]   (defaults 35, 20 and 1000). Prints
 * "fib_ms T ms", T the mean milliseconds of a warm tree; exits 1 on a
 * wrong result, 2 on bad usage.
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

static int cutoff = 20;         /* a goroutine per call above it */

static long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

struct call {
    int n;
    long res;
    sync_waitgroup *wg;          /* the parent's */
};

static void pfib(void *arg)
{
    struct call *c = arg;
    if (c->n <= cutoff) {
        c->res = fib(c->n);
    } else {
        sync_waitgroup inner = SYNC_WAITGROUP_INIT;
        struct call a = { c->n - 1, 0, &inner }, b = { c->n - 2, 0, &inner };
        sync_wg_add(&inner, 2);
        go(pfib, &a);
        go(pfib, &b);
        sync_wg_wait(&inner);
        c->res = a.res + b.res;
    }
    sync_wg_done(c->wg);
}

static int fib_main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 35;
    if (argc > 4 || n < 1 || n > 50) {
        fprintf(stderr, "usage: fib [N [CUTOFF [MS]]]  (N: 1..50, got '%s')\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    if (argc > 2) {
        cutoff = atoi(argv[2]);
        if (cutoff < 1 || cutoff > 50) {
            fprintf(stderr, "usage: fib [N [CUTOFF [MS]]]  (CUTOFF: 1..50, got '%s')\n", argv[2]);
            return 2;
        }
    }
    int ms = argc > 3 ? atoi(argv[3]) : 1000;
    if (ms < 1 || ms > 600000) {
        fprintf(stderr, "usage: fib [N [CUTOFF [MS]]]  (MS: 1..600000, got '%s')\n", argv[3]);
        return 2;
    }
    long want = fib(n);
    int64_t start = 0, elapsed = 0;
    int trees = 0;
    /* Tree 0 warms up the stack pool; then trees until ms have passed. */
    for (int run = 0; run == 0 || elapsed < (int64_t)ms * 1000000; run++) {
        sync_waitgroup wg = SYNC_WAITGROUP_INIT;
        struct call root = { n, 0, &wg };
        sync_wg_add(&wg, 1);
        if (run == 1)
            start = time_now();
        go(pfib, &root);
        sync_wg_wait(&wg);
        if (root.res != want) {
            fprintf(stderr, "fib(%d): got %ld, want %ld\n", n, root.res, want);
            return 1;
        }
        if (run > 0) {
            elapsed = time_now() - start;
            trees++;
        }
    }
    printf("fib_ms %.2f ms\n", (double)elapsed / 1e6 / trees);
    return 0;
}

GO_MAIN(fib_main)
