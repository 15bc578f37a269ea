/*
 * bench/sleeper.c: how late does a 1 ms sleeper wake up at GOMAXPROCS=1
 * while another goroutine spins in a loop with no calls?
 * (the sleeper workload of REFERENCE.md, at the top of the repository; Go 1.19: p50 19.3 ms, p99 39.6 ms.)
 *
 * Go twin: scripts/go-bench (workload "sleeper"); the two are the same
 * program:
 *
 *     go spinner()                     // for !stop { x = x*a + c }: no call
 *     time.Sleep(5 ms)
 *     for i < n {
 *         t := time.Now(); time.Sleep(1 ms)
 *         late[i] = time.Since(t) - 1 ms
 *     }
 *
 * Nothing in the spinner's loop can reschedule it cooperatively, so every
 * wake-up waits for a preemption. Go's sysmon preempts a goroutine that has
 * run 10 ms and checks at most every 10 ms once it has backed off, so Go
 * wakes 10-20 ms late (and worse: its sleeps land on whole slices). gort's
 * stage 04 preempts the spinner as soon as the sleeper's timer is due and
 * no P is idle (src/preempt.c: timerpreempt), so the lateness is sysmon's
 * reaction time plus a signal and a switch.
 *
 * Usage: sleeper [N]   (N sleeps, default 300); run it at GOMAXPROCS=1.
 * Prints "sleeper_late_p50 MS ms", "sleeper_late_p99 MS ms",
 * "sleeper_late_max MS ms" and "sleeper_preemptions N count".
 */
#include <gort.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int stop;
static volatile uint64_t sink;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static void spinner(void *arg)
{
    (void)arg;
    uint64_t x = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = x;
    sync_wg_done(&wg);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int sleeper_main(int argc, char **argv)
{
    long n = 300;
    if (argc > 1) {
        char *end;
        n = strtol(argv[1], &end, 10);
        if (*end || n < 1 || n > 1000000) {
            fprintf(stderr, "sleeper: N=%s: expected a number of sleeps from 1 to 1000000\n",
                    argv[1]);
            return 2;
        }
    }
    int64_t *late = malloc((size_t)n * sizeof *late);
    if (late == NULL)
        return 1;
    sync_wg_add(&wg, 1);
    go(spinner, NULL);
    time_sleep(5 * 1000000LL);          /* let the spinner take the P */
    for (long i = 0; i < n; i++) {
        int64_t t = time_now();
        time_sleep(1000000);
        late[i] = time_now() - t - 1000000;
    }
    atomic_store(&stop, 1);
    sync_wg_wait(&wg);
    qsort(late, (size_t)n, sizeof *late, cmp64);
    metrics_sample s = { .name = "/sched/preemptions:events" };
    metrics_read(&s, 1);
    printf("sleeper_late_p50 %.3f ms\n", late[n / 2] / 1e6);
    printf("sleeper_late_p99 %.3f ms\n", late[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6);
    printf("sleeper_late_max %.3f ms\n", late[n - 1] / 1e6);
    printf("sleeper_preemptions %llu count\n", (unsigned long long)s.value.u64);
    free(late);
    return 0;
}

GO_MAIN(sleeper_main)
