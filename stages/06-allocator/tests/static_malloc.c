/*
 * static_malloc.c: a program linked with -static, run by test_preempt.c
 * (static/statically_linked_program_turns_async_preemption_off). Not a
 * Criterion binary: the Makefile builds it in the plain and coop builds
 * only (the sanitizers cannot link statically), as BUILD/tests/static_malloc.
 *
 * Linked statically, libc's code lies in the program's own text, where the
 * SIGURG handler would take it for user code: six goroutines churning
 * malloc, snprintf and free at GOMAXPROCS=2 were preempted inside malloc
 * and died in 2-3 runs of 5 ("free(): double free detected in tcache 2",
 * segfaults). The runtime must notice at start, say so on stderr, and
 * preempt only at calls into the runtime: here the sync_mutex_lock every
 * 64 rounds, which is also what lets main's 1 s sleep end while the six
 * hold both Ps.
 *
 * Prints "async=N cooperative=N refused=N rounds=N" and exits 0 when every
 * block it checked was intact.
 */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NCHURNERS = 6 };

static uint32_t stop;                   /* atomic */
static sync_mutex mu = SYNC_MUTEX_INIT;
static long rounds, bad;                /* under mu */

static void churn(void *arg)
{
    uint32_t x = (uint32_t)(uintptr_t)arg * 2654435761u;
    long n = 0, wrong = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        x = x * 1103515245u + 12345u;
        size_t len = 16 + (x >> 8) % 4096;
        char *p = malloc(len);
        if (p == NULL)
            continue;
        snprintf(p, len, "%u %zu %s", x, len, "preempt me, not malloc");
        char *q = malloc(len);
        if (q != NULL) {
            memcpy(q, p, strlen(p) + 1);
            if (strcmp(p, q) != 0)
                wrong++;
            free(q);
        }
        free(p);
        if (++n % 64 == 0) {             /* a call into the runtime: a safe point */
            sync_mutex_lock(&mu);
            rounds += 64;
            bad += wrong;
            wrong = 0;
            sync_mutex_unlock(&mu);
        }
    }
}

static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static void churner(void *arg)
{
    churn(arg);
    sync_wg_done(&wg);
}

static uint64_t metric(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    return s.kind == METRIC_U64 ? s.value.u64 : 0;
}

static int app(int argc, char **argv)
{
    (void)argc; (void)argv;
    sync_wg_add(&wg, NCHURNERS);
    for (int i = 0; i < NCHURNERS; i++)
        go(churner, (void *)(uintptr_t)(i + 1));
    time_sleep(1000LL * 1000 * 1000);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);
    printf("async=%llu cooperative=%llu refused=%llu rounds=%ld\n",
           (unsigned long long)metric("/gort/preemptions/async:events"),
           (unsigned long long)metric("/gort/preemptions/cooperative:events"),
           (unsigned long long)metric("/gort/preemptions/refused:events"), rounds);
    if (bad != 0)
        printf("%ld corrupted blocks\n", bad);
    return bad == 0 ? 0 : 1;
}

GO_MAIN(app)
