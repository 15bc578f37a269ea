/*
 * bench/fib_preempt.c: what each way of preempting costs a program that
 * makes many calls: fib(N) by plain recursion in one goroutine.
 *
 * bench/run.sh runs it three ways at GOMAXPROCS=1, in one run:
 *   none   GODEBUG=asyncpreemptoff=1: sysmon asks, nothing can answer (no
 *          safe point in fib)
 *   async  the default build: a SIGURG every 10 ms time slice (about ten
 *          preemptions in all)
 *   coop   the PREEMPT=coop build (build-coop/): fib is compiled with
 *          -finstrument-functions, so every call runs the prologue check
 *          (__cyg_profile_func_enter, and the matching exit hook): the
 *          pre-1.14 design, paid on every call whether or not anyone asks
 * Go pays for its prologue check too, but it shares the compare with the
 * stack-growth check it needs anyway: one compare and a predicted branch.
 *
 * Usage: fib_preempt [N]   (default 35). Prints "fib_ms MS ms" and
 * "fib_preemptions N count".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static volatile long result;

static int fib_main(int argc, char **argv)
{
    int n = 35;
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (*end || v < 1 || v > 45) {
            fprintf(stderr, "fib_preempt: N=%s: expected an integer from 1 to 45\n", argv[1]);
            return 2;
        }
        n = (int)v;
    }
    int64_t t = time_now();
    result = fib(n);
    int64_t d = time_now() - t;
    metrics_sample s = { .name = "/sched/preemptions:events" };
    metrics_read(&s, 1);
    printf("fib_ms %.1f ms\n", d / 1e6);
    printf("fib_preemptions %llu count\n", (unsigned long long)s.value.u64);
    return 0;
}

GO_MAIN(fib_main)
