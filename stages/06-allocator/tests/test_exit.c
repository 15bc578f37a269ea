/*
 * test_exit.c: how a run ends, each test failing when its mechanism is
 * broken:
 *   - threads that are not goroutines (plain pthreads calling
 *     chan_try_send): one counted by runtime_thread_attach keeps checkdead
 *     quiet while main waits for it, and the fake clock waits for it;
 *     once the last one detaches, a real deadlock is reported, with the
 *     goroutines; a detach after runtime_main has returned does nothing;
 *     an uncounted one is not seen, and the report says so when such a
 *     thread woke goroutines before; misuse of the pair dies with a clear
 *     message;
 *   - an M that has left the scheduler but is slow to end its thread is
 *     waited for, not left behind (stopallm's grace is for goroutines);
 *   - stage 02+: a goroutine waiting in a system call for a plain thread
 *     counts as running (Go's rule); the last detach finds a deadlock when
 *     main is locked to its thread too; main returns while Ps still hold
 *     queued goroutines and a locked thread hands its P off (stoplockedm,
 *     or its exit): those goroutines never run, and the runtime shuts down
 *     cleanly, many times over in one process (startmlocked while exiting).
 */
#include "harness.h"

static const char deadlock_msg[] = "fatal error: all goroutines are asleep - deadlock!";

/* ---- a counted thread wakes main ------------------------------------------ */

enum { FT_VALUES = 3 };
static chan_t *ft_c;

/* Counted by its creator: 100 ms on, then 30 ms apart, it hands main a
 * value (main waits in chan_recv meanwhile, every M idle), then detaches. */
static void *ft_sender(void *arg)
{
    (void)arg;
    for (int i = 0; i < FT_VALUES; i++) {
        usleep(i == 0 ? 100 * 1000 : 30 * 1000);
        int v = 42 + i;
        while (!chan_try_send(ft_c, &v))     /* main is not receiving yet */
            usleep(1000);
    }
    runtime_thread_detach();
    return NULL;
}

GTEST(foreign, attached_thread_wakes_main_without_a_deadlock_report)
{
    ft_c = h_chan_int(0);
    runtime_thread_attach();                 /* on its behalf, before it exists */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, ft_sender, NULL) == 0, "pthread_create");
    for (int i = 0; i < FT_VALUES; i++) {
        int v = 0;
        CHECK(chan_recv(ft_c, &v));
        CHECK_EQ(v, 42 + i);
    }
    pthread_join(t, NULL);
    chan_free(ft_c);
}

/* ---- the last detach reports a real deadlock -------------------------------- */

static void *ft_quitter(void *arg)
{
    (void)arg;
    usleep(50 * 1000);
    runtime_thread_detach();                 /* it never sent anything */
    return NULL;
}

static int ft_deadlock_after_detach(int argc, char **argv)
{
    (void)argc, (void)argv;
    chan_t *c = h_chan_int(0);
    runtime_thread_attach();
    pthread_t t;
    if (pthread_create(&t, NULL, ft_quitter, NULL) != 0)
        return 3;
    int v;
    chan_recv(c, &v);                        /* nobody will send */
    return 4;
}

Test(foreign, deadlock_is_reported_once_the_last_thread_detaches, .timeout = H_TIMEOUT)
{
    h_child r;
    h_expect_death_in(&r, ft_deadlock_after_detach, deadlock_msg, 1);
    cr_assert(strstr(r.err, "goroutine 1 [chan receive") != NULL,
              "the dump does not show main waiting; stderr:\n%s", r.err);
    cr_assert(strstr(r.err, "runtime_thread_attach") == NULL,
              "no thread woke a goroutine, so no hint is due; stderr:\n%s", r.err);
    h_child_free(&r);
}

/* ---- an uncounted thread is not seen ---------------------------------------- */

/* Sends one value, uncounted, to whichever goroutine waits for it. */
static void *ft_once(void *arg)
{
    int v = 1;
    while (!chan_try_send(arg, &v))
        usleep(1000);
    return NULL;
}

static atomic_int ft_got;

static void ft_waiter(void *arg)
{
    int v = 0;
    if (chan_recv(arg, &v) && v == 1)
        atomic_store(&ft_got, 1);
}

/* A thread wakes a goroutine, uncounted (main sleeps meanwhile: a timer is
 * pending, so no deadlock yet); then main waits for a value nobody sends.
 * The report names runtime_thread_attach. */
static int ft_woken_then_deadlock(int argc, char **argv)
{
    (void)argc, (void)argv;
    chan_t *c = h_chan_int(0);
    go(ft_waiter, c);
    pthread_t t;
    if (pthread_create(&t, NULL, ft_once, c) != 0)
        return 3;
    while (!atomic_load(&ft_got))
        time_sleep(H_MS(1));
    pthread_join(t, NULL);
    int v;
    chan_recv(c, &v);                        /* nobody will send */
    return 4;
}

Test(foreign, deadlock_after_an_uncounted_thread_woke_a_goroutine_names_attach,
     .timeout = H_TIMEOUT)
{
    h_child r;
    h_expect_death_in(&r, ft_woken_then_deadlock, deadlock_msg, 1);
    cr_assert(strstr(r.err, "runtime_thread_attach") != NULL,
              "the report does not point to runtime_thread_attach; stderr:\n%s", r.err);
    h_child_free(&r);
}

/* The reviewer's case, uncounted: main waits for a thread that stays silent
 * for 100 ms. The runtime cannot know of it, so it reports a deadlock at
 * once, as Go without cgo would (the rule: HACKING.md, gort.h). */
static void *ft_late(void *arg)
{
    usleep(100 * 1000);
    int v = 1;
    chan_try_send(arg, &v);
    return NULL;
}

static int ft_uncounted_silent_thread(int argc, char **argv)
{
    (void)argc, (void)argv;
    chan_t *c = h_chan_int(0);
    pthread_t t;
    if (pthread_create(&t, NULL, ft_late, c) != 0)
        return 3;
    int v;
    chan_recv(c, &v);
    return 4;
}

Test(foreign, uncounted_silent_thread_is_not_seen, .timeout = H_TIMEOUT)
{
    h_expect_death(ft_uncounted_silent_thread, deadlock_msg, 1);
}

/* ---- the fake clock waits for a counted thread ------------------------------ */

static atomic_int ft_detached;

static void *ft_detach_later(void *arg)
{
    (void)arg;
    usleep(50 * 1000);
    atomic_store(&ft_detached, 1);
    runtime_thread_detach();
    return NULL;
}

/* Under fakeclock=1 the clock jumps to the next timer when nothing can
 * run; a counted thread can, so main's hour of sleep ends only after the
 * thread has detached, and then at exactly an hour of fake time. */
static int ft_fake_hour(int argc, char **argv)
{
    (void)argc, (void)argv;
    atomic_store(&ft_detached, 0);
    runtime_thread_attach();
    pthread_t t;
    if (pthread_create(&t, NULL, ft_detach_later, NULL) != 0)
        return 3;
    int64_t t0 = time_now();
    time_sleep(H_SEC(3600));
    int64_t slept = time_now() - t0;
    int detached = atomic_load(&ft_detached);
    pthread_join(t, NULL);
    if (!detached)
        return 4;                            /* the clock did not wait */
    return slept == H_SEC(3600) ? 0 : 5;
}

static int ft_fake_hour_child(void)
{
    return 100 + runtime_main(ft_fake_hour, 0, NULL);
}

Test(foreign, fake_clock_waits_for_a_counted_thread, .timeout = H_TIMEOUT)
{
    static const char *const env[] = { "GODEBUG=fakeclock=1", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, ft_fake_hour_child, env, 20);
    cr_assert(h_exited_with(&r, 100),
              "expected 100 (104: the clock jumped before the thread detached; 105: "
              "the sleep was not an hour); the child %s; stderr:\n%s",
              h_child_how(&r, how, sizeof how), r.err);
    h_child_free(&r);
}

/* ---- a thread that ends after main ------------------------------------------ */

static pthread_t ft_t;

static void *ft_late_detacher(void *arg)
{
    (void)arg;
    usleep(20 * 1000);
    runtime_thread_detach();                 /* runtime_main has returned by now */
    return NULL;
}

static int ft_main_leaves_early(int argc, char **argv)
{
    (void)argc, (void)argv;
    runtime_thread_attach();
    CHECK(pthread_create(&ft_t, NULL, ft_late_detacher, NULL) == 0, "pthread_create");
    return 5;
}

Test(foreign, detach_after_runtime_main_returned_does_nothing, .timeout = H_TIMEOUT)
{
    h_reset();
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(runtime_main(ft_main_leaves_early, 0, NULL), 5);
        pthread_join(ft_t, NULL);            /* before the next run begins */
    }
    h_assert_checks("foreign/detach_after_runtime_main_returned_does_nothing");
}

/* ---- misuse ------------------------------------------------------------------- */

static int ft_detach_unattached(int argc, char **argv)
{
    (void)argc, (void)argv;
    runtime_thread_detach();
    return 4;
}

Test(foreign, detach_without_attach_panics, .timeout = H_TIMEOUT)
{
    h_expect_death(ft_detach_unattached, "panic: runtime_thread_detach: no thread attached", 1);
}

static int ft_attach_outside(void)
{
    runtime_thread_attach();
    return 100;
}

Test(foreign, attach_outside_runtime_main_is_refused, .timeout = H_TIMEOUT)
{
    h_child r;
    char how[128];
    h_child_run(&r, ft_attach_outside, NULL, 20);
    cr_assert(h_exited_with(&r, 2), "the child %s; stderr:\n%s", h_child_how(&r, how, sizeof how), r.err);
    cr_assert(strstr(r.err, "gort: runtime_thread_attach() called outside runtime_main") != NULL,
              "stderr:\n%s", r.err);
    h_child_free(&r);
}

/* ---- a thread slow to leave is waited for ----------------------------------- */

static pthread_key_t ex_slow_key;

/* Longer than stopallm's one-second grace, as a thread that the OS does not
 * run for that long on a busy machine. */
static void ex_slow_exit(void *v)
{
    (void)v;
    usleep(1500 * 1000);
}

/* The M running main lingers in its thread's exit (a TLS destructor):
 * it has left the scheduler, so runtime_main must wait for it, not leave
 * it behind and refuse the next run. */
static int ex_slow_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    CHECK_EQ(pthread_setspecific(ex_slow_key, &ex_slow_key), 0);
    return 9;
}

Test(exit, thread_slow_to_leave_the_scheduler_is_waited_for, .timeout = H_TIMEOUT)
{
    cr_assert_eq(pthread_key_create(&ex_slow_key, ex_slow_exit), 0);
    h_reset();
    for (int r = 0; r < 2; r++)              /* the second would refuse to start */
        cr_assert_eq(runtime_main(ex_slow_main, 0, NULL), 9);
    h_assert_checks("exit/thread_slow_to_leave_the_scheduler_is_waited_for");
}

/* ---- stage 02+: a goroutine in a system call counts as running ---------------- */

/* Go's rule, the other way to wait for a thread: a goroutine blocked in a
 * system call (here pthread_join, bracketed) holds an M that is not idle,
 * so checkdead stays quiet while main waits, counted or not. */
static void ft_joiner(void *arg)
{
    runtime_entersyscall();
    pthread_join(*(pthread_t *)arg, NULL);
    runtime_exitsyscall();
}

GTEST(foreign, goroutine_in_a_system_call_waiting_for_the_thread_counts_as_running)
{
    chan_t *c = h_chan_int(0);
    static pthread_t t;
    REQUIRE(pthread_create(&t, NULL, ft_late, c) == 0, "pthread_create");
    go(ft_joiner, &t);
    int v = 0;
    CHECK(chan_recv(c, &v));
    CHECK_EQ(v, 1);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "the joiner is still there");
    chan_free(c);
}

/* Every M waits for its locked G (main's), none is idle: the last detach
 * starts an M to look. */
static int ft_locked_deadlock_after_detach(int argc, char **argv)
{
    runtime_lock_os_thread();
    return ft_deadlock_after_detach(argc, argv);
}

Test(foreign, deadlock_is_reported_once_the_last_thread_detaches_from_a_locked_main,
     .timeout = H_TIMEOUT)
{
    h_expect_death(ft_locked_deadlock_after_detach, deadlock_msg, 1);
}

/* ---- stage 02+: exiting with goroutines queued behind a locked thread --------- */

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
