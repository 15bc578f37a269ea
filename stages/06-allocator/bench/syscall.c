/*
 * bench/syscall.c: what the runtime adds around a short system call.
 *
 * Go twin: scripts/go-bench (workload "syscall"); the two are the same
 * program:
 *
 *     for each of GOMAXPROCS goroutines, at once:
 *         for i < n { syscall.Syscall(SYS_GETPPID, 0, 0, 0) }   // the bracketed call
 *     then the same with syscall.RawSyscall                       // the bare call
 *     ns := time.Since(start) / n      // each loop's wall time / calls per goroutine
 *
 * gort's bracketed call is runtime_entersyscall, syscall(SYS_getppid) and
 * runtime_exitsyscall; Go's syscall.Syscall calls entersyscall and
 * exitsyscall around the same raw call, and RawSyscall calls neither.
 * getppid is about the cheapest call there is, so the difference between
 * the two loops is the price of the bracket: leaving the P in _Psyscall and
 * taking it back. At GOMAXPROCS=2 two goroutines do it at once, one per P,
 * so whatever the bracket shares between Ps (a lock) shows.
 *
 * A third loop, gort's only (Go has no entersyscall without a call),
 * runs the bracket around nothing: "syscall_enterexit", the same price
 * without the kernel's noise.
 *
 * Usage: syscall [N]   (N calls per goroutine and per loop, default 2000000).
 * Prints "syscall_call NS ns", "syscall_raw NS ns",
 * "syscall_bracket NS ns" (their difference) and "syscall_enterexit NS ns".
 */
#define _GNU_SOURCE
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long iters;
static long sink;               /* keeps the calls; atomic: goroutines run at once */

static void bracketed(void *arg)
{
    long s = 0;
    for (long i = 0; i < iters; i++) {
        runtime_entersyscall();
        s += syscall(SYS_getppid);
        runtime_exitsyscall();
    }
    __atomic_store_n(&sink, s, __ATOMIC_RELAXED);
    sync_wg_done(arg);
}

static void raw(void *arg)
{
    long s = 0;
    for (long i = 0; i < iters; i++)
        s += syscall(SYS_getppid);
    __atomic_store_n(&sink, s, __ATOMIC_RELAXED);
    sync_wg_done(arg);
}

static void enterexit(void *arg)
{
    for (long i = 0; i < iters; i++) {
        runtime_entersyscall();
        runtime_exitsyscall();
    }
    sync_wg_done(arg);
}

/* ns per call of fn, run by procs goroutines at once. */
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

static int syscall_main(int argc, char **argv)
{
    iters = argc > 1 ? atol(argv[1]) : 2000000;
    if (iters < 1) {
        fprintf(stderr, "usage: syscall [N]\n");
        return 2;
    }
    int procs = runtime_gomaxprocs(0);
    double call = loop(bracketed, procs);
    double bare = loop(raw, procs);
    double empty = loop(enterexit, procs);
    printf("syscall_call %.1f ns\n", call);
    printf("syscall_raw %.1f ns\n", bare);
    printf("syscall_bracket %.1f ns\n", call - bare);
    printf("syscall_enterexit %.1f ns\n", empty);
    return 0;
}

GO_MAIN(syscall_main)
