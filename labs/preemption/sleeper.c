/*
 * sleeper.c: the preemption lab's workload: how late does a sleeper wake up
 * while another goroutine spins?
 *
 *   sleeper SAMPLES BURST_MS
 *
 * A spinner goroutine runs a multiply-add loop that makes no calls at all,
 * so nothing in it can reschedule cooperatively. With BURST_MS > 0 it
 * spins BURST_MS milliseconds at a time (calibrated at start) and calls
 * gosched() between bursts: the only way a stage without preemption can
 * take the CPU back. With BURST_MS = 0 it never yields: only asynchronous
 * preemption (stage 04's sysmon and signals) can stop it. Never run that
 * at GOMAXPROCS=1 on a stage without preemption: the sleeper would never
 * run again (labs/preemption/run.sh does not).
 *
 * Goroutine 1 sleeps 1 ms SAMPLES times and prints, one line each, how much
 * later than asked it woke: "late_us". Go's twin is go/main.go.
 */
#include <gort.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int stop;
static long burst_iters;                 /* 0: spin without ever yielding */
static volatile uint64_t sink;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static uint64_t step(uint64_t x) { return x * 6364136223846793005ULL + 1442695040888963407ULL; }

static void spinner(void *arg)
{
    uint64_t x = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (long k = 0; (burst_iters == 0 || k < burst_iters) &&
                         !atomic_load_explicit(&stop, memory_order_relaxed); k++)
            x = step(x);                 /* inlined: no call, no scheduling point */
        gosched();
    }
    sink = x;
    sync_wg_done(&wg);
}

static int sleeper_main(int argc, char **argv)
{
    long samples = argc == 3 ? atol(argv[1]) : 0, burst_ms = argc == 3 ? atol(argv[2]) : -1;
    if (samples < 1 || burst_ms < 0) {
        fprintf(stderr, "usage: sleeper SAMPLES BURST_MS (SAMPLES >= 1, BURST_MS >= 0)\n");
        return 2;
    }
    /* Calibrate: how many steps make a millisecond on this machine. */
    uint64_t x = 1;
    int64_t t0 = time_now();
    for (long k = 0; k < 20000000; k++)
        x = step(x);
    int64_t t1 = time_now();
    sink = x;
    burst_iters = burst_ms == 0 ? 0 : (long)(20000000.0 * 1e6 * (double)burst_ms / (double)(t1 - t0));

    sync_wg_add(&wg, 1);
    go(spinner, NULL);
    time_sleep(5 * 1000000LL);           /* let the spinner get going */
    for (long i = 0; i < samples; i++) {
        int64_t s = time_now();
        time_sleep(1000000);
        printf("%.1f\n", (double)(time_now() - s - 1000000) / 1e3);
    }
    atomic_store(&stop, 1);
    sync_wg_wait(&wg);
    return 0;
}

GO_MAIN(sleeper_main)
