/*
 * bench/skewed.c: 4,000 CPU-bound tasks of 50 us to 1 ms, spawned by one
 * goroutine; efficiency = serial time / (GOMAXPROCS x wall time).
 *
 * Go twin: scripts/go-bench (workload "skewed"); the two are the same
 * program. Task i spins on the monotonic clock for
 *
 *     d(i) = 50 us * 20^u(i),  u(i) = (i * 2654435761 mod 2^32) / 2^32
 *
 * (log-uniform: many short tasks, a few long ones; mean 317 us, 1.27 s in
 * all), and adds the time it measured itself spinning to the serial time.
 * Main spawns all 4,000 in a row, then waits on a wait group:
 *
 *     efficiency = sum of the tasks' measured times / (P * wall)
 *
 * where wall runs from before the first spawn to the end of the wait
 * (REFERENCE.md: Go 0.985 at P=1, 0.955 at P=2). 1.0 means every P ran
 * tasks all the time; what is missing is time a P sat idle while work
 * waited elsewhere, plus the spawning and scheduling itself. A task never
 * blocks and never yields, so once it runs it keeps its P: a P that runs
 * dry can only get more work by stealing (stage 03) or from the global
 * queue (the spawner's queue overflows there past 256 tasks, stage 02).
 *
 * Usage: skewed [N]   (default 4000 tasks). Prints "skewed_efficiency E
 * fraction" (higher is better) and "skewed_wall_ms MS ms".
 */
#include <gort.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Task i's duration, in ns: 50 us * 20^u, u from a multiplicative hash. */
static int64_t duration(long i)
{
    double u = (double)(uint32_t)((uint64_t)i * 2654435761u) / 4294967296.0;
    return (int64_t)(50000.0 * pow(20.0, u));
}

static sync_waitgroup wg = SYNC_WAITGROUP_INIT;
static int64_t serial;           /* atomic: sum of the measured task times */

static void task(void *arg)
{
    int64_t d = duration((long)(intptr_t)arg);
    int64_t start = mono(), now;
    do
        now = mono();
    while (now - start < d);
    __atomic_add_fetch(&serial, now - start, __ATOMIC_RELAXED);
    sync_wg_done(&wg);
}

static int skewed_main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 4000;
    if (n < 1 || n > 10000000) {
        fprintf(stderr, "usage: skewed [N]  (N: 1..10000000 tasks, got '%s')\n",
                argc > 1 ? argv[1] : "");
        return 2;
    }
    int procs = runtime_gomaxprocs(0);
    sync_wg_add(&wg, (int)n);
    int64_t start = mono();
    for (long i = 0; i < n; i++)
        go(task, (void *)(intptr_t)i);
    sync_wg_wait(&wg);
    int64_t wall = mono() - start;
    double eff = (double)__atomic_load_n(&serial, __ATOMIC_RELAXED) / ((double)procs * (double)wall);
    printf("skewed_efficiency %.3f fraction\n", eff);
    printf("skewed_wall_ms %.1f ms\n", (double)wall / 1e6);
    return 0;
}

GO_MAIN(skewed_main)
