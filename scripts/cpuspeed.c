/*
 * scripts/cpuspeed.c: how fast is each CPU right now, all of them at once?
 *
 * Speedups measured on a shared virtual machine mean little when the host
 * lends one virtual CPU less time than the other. On the course machines
 * (2 vCPUs, Firecracker) this happens for minutes at a time: on 2026-12-07
 * one vCPU ran plain C at 55-60% of the other's speed, and neither the
 * guest's load average nor its steal time (always 0 here) showed it. A
 * GOMAXPROCS=2 run then measures the host, not the scheduler. When the
 * whole host is busy, both CPUs slow down alike (that day, to about 62%
 * of their quiet speed): the ratio stays near 1, but every count drops.
 *
 * This program starts one thread per CPU, pins each to its CPU, and lets
 * them all count calls of a small recursive function for MS milliseconds
 * (default 150) at the same time. Then two threads pinned to CPUs 0 and 1
 * pass one cache line back and forth. It prints one line:
 *
 *     cpuspeed 121842 120310 linetrip 483 ns min/max 0.99
 *
 * the count on each CPU; the time for a cache line written on CPU 0 to
 * reach CPU 1 and come back (what every line both CPUs write costs: a
 * shared lock, a free list, a counter); last, the slowest count over the
 * fastest. The line trip depends on where the host placed the two vCPUs,
 * and the host moves them: on 2026-12-07 it was 436 to 540 ns for most of
 * two hours (cores that share no cache) and 131 to 156 ns for a few
 * minutes (cores that share one).
 * scripts/bench-stages.sh runs it before and after its runs and warns when
 * the ratio is under 0.9 (one CPU is being held back). A count also falls
 * when another process of this machine runs on that CPU: the load average
 * shows that case.
 *
 * Usage: cpuspeed [MS]. Exit status 0, or 2 on bad usage.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAXCPU 256

static double ms;
static long counts[MAXCPU];
static volatile long sink;
static _Alignas(64) long line;     /* the cache line passed between 2 CPUs */

enum { TRIPS = 100000 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long work(int n)
{
    return n < 2 ? n : work(n - 1) + work(n - 2);
}

static void *count(void *arg)
{
    long cpu = (long)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        counts[cpu] = -1;              /* not allowed on this CPU */
    double start = now_ms();
    long c = 0;
    while (now_ms() - start < ms) {
        sink += work(16);
        c++;
    }
    if (counts[cpu] == 0)
        counts[cpu] = c;
    return NULL;
}

static bool pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

/* CPU 1's half of the line trip: waits for an odd value, answers with the
 * next even one. */
static void *answer(void *arg)
{
    (void)arg;
    pin(1);
    for (long i = 0; i < TRIPS; i++) {
        while (__atomic_load_n(&line, __ATOMIC_ACQUIRE) != 2 * i + 1)
            ;
        __atomic_store_n(&line, 2 * i + 2, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* ns for one round trip of a cache line between CPUs 0 and 1, or -1 when
 * this process may not run on both (two spinning threads sharing one CPU
 * would take a scheduler tick per trip). */
static double linetrip(void)
{
    pthread_t th;
    if (!pin(1) || !pin(0))
        return -1;
    if (pthread_create(&th, NULL, answer, NULL) != 0)
        return -1;
    double start = now_ms();
    for (long i = 0; i < TRIPS; i++) {
        __atomic_store_n(&line, 2 * i + 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&line, __ATOMIC_ACQUIRE) != 2 * i + 2)
            ;
    }
    double ns = (now_ms() - start) * 1e6 / TRIPS;
    pthread_join(th, NULL);
    return ns;
}

int main(int argc, char **argv)
{
    ms = argc > 1 ? atof(argv[1]) : 150;
    if (argc > 2 || ms < 10 || ms > 10000) {
        fprintf(stderr, "usage: cpuspeed [MS]  (10..10000, got '%s')\n", argv[1]);
        return 2;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > MAXCPU)
        n = MAXCPU;
    pthread_t th[MAXCPU];
    for (long i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, count, (void *)i) != 0) {
            fprintf(stderr, "cpuspeed: cannot start a thread\n");
            return 1;
        }
    for (long i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    long lo = -1, hi = 0;
    printf("cpuspeed");
    for (long i = 0; i < n; i++) {
        printf(" %ld", counts[i]);
        if (counts[i] < 0)
            continue;
        if (lo < 0 || counts[i] < lo)
            lo = counts[i];
        if (counts[i] > hi)
            hi = counts[i];
    }
    double trip = n >= 2 ? linetrip() : -1;
    if (trip > 0)
        printf(" linetrip %.0f ns", trip);
    printf(" min/max %.2f\n", hi > 0 ? (double)lo / (double)hi : 0.0);
    return 0;
}
