/*
 * test_exit.c: the ends of a run, each test failing when its mechanism is
 * broken:
 *   - main returns while Ps still hold queued goroutines and a locked
 *     thread hands its P off (stoplockedm, or its exit): those goroutines
 *     never run, and the runtime shuts down cleanly, many times over in one
 *     process (startmlocked while exiting);
 */
#include "harness.h"

/* ---- exiting with goroutines queued behind a locked thread ---------------- */

enum { EX_SPAWN = 16 };
static atomic_int ex_ran;
static atomic_int ex_stop;

static void ex_short(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ex_ran, 1);
}

/* A locked goroutine that keeps queueing work on its P and parking, so
 * that its M hands a P with queued Gs off (stoplockedm) while main exits. */
static void ex_locked_spawner(void *arg)
{
    (void)arg;
    runtime_lock_os_thread();
    while (!atomic_load(&ex_stop)) {
        for (int i = 0; i < 4; i++)
            go(ex_short, NULL);
        time_sleep(20 * 1000);
    }
}

/* argc % 3 picks the way main ends:
 *   0: main locks its thread, starts EX_SPAWN goroutines and returns at
 *      once: its M exits with the locked G (schedule's exitthread) and
 *      hands off its P, whose queue still holds them;
 *   1: the same, with a 1 ms sleep first (its M hands the P off in
 *      stoplockedm, and again when the locked main exits);
 *   2: main is not locked; another goroutine is, and keeps queueing work
 *      and parking while main returns. */
static int ex_main(int argc, char **argv)
{
    (void)argv;
    CHECK_EQ(goid(), 1);
    if (argc % 3 == 2) {
        go(ex_locked_spawner, NULL);
        time_sleep(H_MS(1));
        return 7;
    }
    runtime_lock_os_thread();
    for (int i = 0; i < EX_SPAWN; i++)
        go(ex_short, NULL);
    if (argc % 3 == 1)
        time_sleep(H_MS(1));
    return 7;
}

Test(exit, main_returns_with_goroutines_queued_behind_a_locked_thread,
     .timeout = H_TIMEOUT)
{
    int n = 150 * h_scale();
    char a[] = "arg";
    char *argv[4] = { a, a, a, NULL };
    h_reset();
    for (int r = 0; r < n; r++) {
        int argc = r % 3;
        argv[argc] = NULL;
        atomic_store(&ex_stop, 0);
        int got = runtime_main(ex_main, argc, argv);
        atomic_store(&ex_stop, 1);
        argv[argc] = a;
        cr_assert_eq(got, 7, "run %d (way %d) returned %d, expected 7", r, argc, got);
        if (h_failures())
            break;
    }
    h_assert_checks("exit/main_returns_with_goroutines_queued_behind_a_locked_thread");
}
