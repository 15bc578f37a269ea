/*
 * Graded tests of exercise spread (see ../README.md for the points).
 *
 * The spread tests run CPU-bound bodies (no runtime call for 20 ms) at
 * GOMAXPROCS=4 and record the thread each ran on (gettid). With plain
 * go() all of them run on the creator's P, one thread: stage 02 has no
 * stealing. Counts come from GRADE_SEED.
 */
#define _GNU_SOURCE
#include "grade.h"
#include "spread.h"

#include <sys/syscall.h>

static int gettid_(void) { return (int)syscall(SYS_gettid); }

static int counts[4096];
static void count_i(int i, void *arg) { (void)arg; __atomic_add_fetch(&counts[i], 1, __ATOMIC_SEQ_CST); }

GRADE_TEST(parallel_for_runs_each_once, 2, "", 2)
{
    int n = (int)grade_rand(1, 4000);
    memset(counts, 0, sizeof counts);
    parallel_for(n, count_i, NULL);
    int wrong = 0, first = -1;
    for (int i = 0; i < n; i++)
        if (__atomic_load_n(&counts[i], __ATOMIC_SEQ_CST) != 1 && wrong++ == 0)
            first = i;
    CHECK(wrong == 0, "parallel_for(%d): %d indexes did not run exactly once when it returned "
          "(first: %d ran %d times)", n, wrong, first, first >= 0 ? counts[first] : 0);
    parallel_for(0, count_i, NULL);
    parallel_for(-3, count_i, NULL);
    CHECK(counts[n] == 0, "parallel_for(0) or (-3) ran fn");
}

static int spread_ran;
static void bump(void *arg) { __atomic_add_fetch(&spread_ran, 1, __ATOMIC_SEQ_CST); sync_wg_done(arg); }

GRADE_TEST(go_spread_runs_fn_once, 1, "", 1)
{
    int n = (int)grade_rand(1, 300);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, n);
    for (int i = 0; i < n; i++)
        go_spread(bump, &wg);
    sync_wg_wait(&wg);
    CHECK_EQ(__atomic_load_n(&spread_ran, __ATOMIC_SEQ_CST), n);
    time_sleep(GRADE_MS(5));
    CHECK(runtime_num_goroutine() == 1, "%d goroutines left after every go_spread body returned",
          runtime_num_goroutine());
}

/* ---- spreading ------------------------------------------------------------ */

static int tids[64];
static void spin_and_record(int i, void *arg)
{
    (void)arg;
    int64_t until = time_now() + GRADE_MS(20);
    while (time_now() < until)
        ;                              /* no runtime call: holds its P */
    tids[i] = gettid_();
}

static int distinct(int *v, int n)
{
    int d = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= v[j] == v[i];
        d += !seen;
    }
    return d;
}

GRADE_TEST(parallel_for_spreads_over_ps, 3, "parallel_for_runs_each_once", 4)
{
    int n = (int)grade_rand(8, 16);
    memset(tids, 0, sizeof tids);
    parallel_for(n, spin_and_record, NULL);
    int d = distinct(tids, n);
    CHECK(d >= 2, "%d CPU-bound bodies at GOMAXPROCS=4 all ran on %d thread(s): they waited "
          "on one P's local queue, where idle Ps never look", n, d);
}

static sync_waitgroup sp_wg;
static void spin_go(void *arg)
{
    spin_and_record((int)(intptr_t)arg, NULL);
    sync_wg_done(&sp_wg);
}

/* The creator keeps its P busy (it spins too) while its goroutines wait:
 * only a P that is not the creator's can run them meanwhile. */
GRADE_TEST(go_spread_escapes_a_busy_p, 2, "go_spread_runs_fn_once", 4)
{
    int n = (int)grade_rand(3, 6);
    memset(tids, 0, sizeof tids);
    sync_wg_add(&sp_wg, n);
    for (int i = 0; i < n; i++)
        go_spread(spin_go, (void *)(intptr_t)(i + 1));
    int me = gettid_();
    int64_t until = time_now() + GRADE_MS(200);
    int early = 0;
    while (time_now() < until && early < n) {   /* busy: no runtime call */
        early = 0;
        for (int i = 1; i <= n; i++)
            early += __atomic_load_n(&tids[i], __ATOMIC_SEQ_CST) != 0;
    }
    sync_wg_wait(&sp_wg);
    CHECK(early > 0, "while the creator's P was busy for 200 ms, none of %d go_spread "
          "goroutines ran (GOMAXPROCS=4, three Ps idle)", n);
    int elsewhere = 0;
    for (int i = 1; i <= n; i++)
        elsewhere += tids[i] != me;
    CHECK(elsewhere > 0, "every go_spread body ran on the creator's thread");
}

static int nested_total;
static void inner(int i, void *arg) { (void)i, (void)arg; __atomic_add_fetch(&nested_total, 1, __ATOMIC_SEQ_CST); }
static void outer(int i, void *arg) { (void)arg; parallel_for(i % 7 + 1, inner, NULL); }

GRADE_TEST(parallel_for_nests, 2, "parallel_for_runs_each_once", 4)
{
    int n = (int)grade_rand(10, 80);
    int want = 0;
    for (int i = 0; i < n; i++)
        want += i % 7 + 1;
    parallel_for(n, outer, NULL);
    CHECK_EQ(__atomic_load_n(&nested_total, __ATOMIC_SEQ_CST), want);
}
