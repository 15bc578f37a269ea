/*
 * test_panic.c: misuse dies like Go: the message on stderr, a goroutine dump,
 * exit status 2. Each case runs the runtime in a forked child whose stderr is
 * captured (h_expect_death), so the text is checked as well as the status;
 * a few cases are repeated as Criterion-native death tests (.exit_code = 2).
 *
 *   panic: send on closed channel        (send, a parked sender, try_send, select)
 *   panic: close of closed channel
 *   panic: close of nil channel
 *   panic: sync: negative WaitGroup counter
 *   fatal error: sync: unlock of unlocked mutex
 *   panic: go of nil func value
 *   panic: non-positive interval for NewTicker
 *   fatal error: all goroutines are asleep - deadlock!   (several ways)
 *   fatal error: stack overflow                          (goroutine and main)
 *   gort: go() called outside runtime_main               (no dump)
 */
#include "harness.h"

#define PANIC_TEST(name) Test(panic, name, .timeout = H_TIMEOUT)

/* ---- channels ------------------------------------------------------------- */

static int send_on_closed(int argc, char **argv)
{
    chan_t *c = h_chan_int(1);
    chan_close(c);
    h_send_int(c, 1);
    return 0;
}
PANIC_TEST(send_on_closed_channel)
{
    h_expect_death(send_on_closed, "panic: send on closed channel", 1);
}

static void parked_sender(void *arg) { h_send_int(arg, 1); }
static int close_under_parked_sender(int argc, char **argv)
{
    chan_t *c = h_chan_int(0);
    go(parked_sender, c);
    time_sleep(H_MS(20));       /* let it park in chan_send */
    chan_close(c);              /* the sender wakes and panics */
    time_sleep(H_SEC(10));
    return 0;
}
PANIC_TEST(close_wakes_a_parked_sender_into_a_panic)
{
    h_expect_death(close_under_parked_sender, "panic: send on closed channel", 1);
}

static int try_send_on_closed(int argc, char **argv)
{
    chan_t *c = h_chan_int(1);
    chan_close(c);
    int v = 1;
    chan_try_send(c, &v);
    return 0;
}
PANIC_TEST(try_send_on_closed_channel)
{
    h_expect_death(try_send_on_closed, "panic: send on closed channel", 1);
}

static int select_send_on_closed(int argc, char **argv)
{
    chan_t *c = h_chan_int(0), *other = h_chan_int(0);
    chan_close(c);
    int v = 1;
    select_case cs[2] = {
        { .c = other, .dir = SELECT_RECV, .elem = &v },
        { .c = c, .dir = SELECT_SEND, .elem = &v },
    };
    chan_select(cs, 2, true);
    return 0;
}
PANIC_TEST(select_send_on_closed_channel)
{
    h_expect_death(select_send_on_closed, "panic: send on closed channel", 1);
}

static int close_closed(int argc, char **argv)
{
    chan_t *c = h_chan_int(0);
    chan_close(c);
    chan_close(c);
    return 0;
}
PANIC_TEST(close_of_closed_channel)
{
    h_expect_death(close_closed, "panic: close of closed channel", 1);
}

static int close_nil(int argc, char **argv)
{
    chan_close(NULL);
    return 0;
}
PANIC_TEST(close_of_nil_channel)
{
    h_expect_death(close_nil, "panic: close of nil channel", 1);
}

/* A panic in another goroutine: the dump lists it (running) and main. */
static void close_twice_and_report(void *arg)
{
    printf("gid=%lld\n", (long long)goid());
    /* main must be parked, not still on its way into chan_recv on another
     * thread, for the dump to show it as [chan receive] */
    if (!h_wait_parked(1, "chan receive", 2000))
        printf("main never parked\n");
    fflush(stdout);
    chan_close(arg);
    chan_close(arg);
}
static int panic_in_goroutine(int argc, char **argv)
{
    chan_t *c = h_chan_int(0), *never = h_chan_int(0);
    go(close_twice_and_report, c);
    int v;
    chan_recv(never, &v);
    return 0;
}
PANIC_TEST(panic_in_a_goroutine_dumps_every_goroutine)
{
    h_child r;
    h_expect_death_in(&r, panic_in_goroutine, "panic: close of closed channel", 1);
    long long gid = 0;
    const char *g = strstr(r.out, "gid=");
    cr_assert(g != NULL && sscanf(g, "gid=%lld", &gid) == 1 && gid > 1, "stdout: %s", r.out);
    char want[64];
    snprintf(want, sizeof want, "goroutine %lld [running]:", gid);
    cr_assert(strstr(r.err, want) != NULL, "no \"%s\" in:\n%s", want, r.err);
    cr_assert(strstr(r.err, "goroutine 1 [chan receive]:") != NULL,
              "main not shown as [chan receive] in:\n%s", r.err);
    cr_assert(strstr(r.err, "close_twice_and_report(") != NULL, "no function name in:\n%s", r.err);
    /* the message comes before the dump, as in Go */
    cr_assert(strstr(r.err, "panic: close of closed channel") < strstr(r.err, want),
              "message after the dump:\n%s", r.err);
    h_child_free(&r);
}

/* A select parked on a send case panics when that channel is closed. */
static void close_after_parking(void *arg)
{
    if (!h_wait_parked(1, "select", 2000))
        printf("main never parked in select\n");
    fflush(stdout);
    chan_close(arg);
}
static int close_under_parked_select_send(int argc, char **argv)
{
    chan_t *c = h_chan_int(0), *other = h_chan_int(0);
    go(close_after_parking, c);
    int v = 1, x;
    select_case cs[2] = {
        { .c = other, .dir = SELECT_RECV, .elem = &x },
        { .c = c, .dir = SELECT_SEND, .elem = &v },
    };
    chan_select(cs, 2, true);
    return 0;
}
PANIC_TEST(close_wakes_a_parked_select_send_into_a_panic)
{
    h_expect_death(close_under_parked_select_send, "panic: send on closed channel", 1);
}

static int make_huge_chan(int argc, char **argv)
{
    chan_make(8, SIZE_MAX / 4);
    return 0;
}
PANIC_TEST(makechan_size_out_of_range)
{
    h_expect_death(make_huge_chan, "panic: makechan: size out of range", 1);
}

/* ---- sync ------------------------------------------------------------------- */

static int negative_wg(int argc, char **argv)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    sync_wg_done(&wg);
    sync_wg_done(&wg);
    return 0;
}
PANIC_TEST(negative_waitgroup_counter)
{
    h_expect_death(negative_wg, "panic: sync: negative WaitGroup counter", 1);
}

static int negative_wg_add(int argc, char **argv)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, -3);
    return 0;
}
PANIC_TEST(negative_waitgroup_add)
{
    h_expect_death(negative_wg_add, "panic: sync: negative WaitGroup counter", 1);
}

static int unlock_unlocked(int argc, char **argv)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    sync_mutex_unlock(&m);
    return 0;
}
PANIC_TEST(unlock_of_unlocked_mutex)
{
    h_expect_death(unlock_unlocked, "fatal error: sync: unlock of unlocked mutex", 1);
}

static int unlock_twice(int argc, char **argv)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    sync_mutex_lock(&m);
    sync_mutex_unlock(&m);
    sync_mutex_unlock(&m);
    return 0;
}
PANIC_TEST(unlock_twice)
{
    h_expect_death(unlock_twice, "fatal error: sync: unlock of unlocked mutex", 1);
}

/* ---- goroutines and tickers ---------------------------------------------------- */

static int go_nil(int argc, char **argv)
{
    void (*fn)(void *) = NULL;
    go(fn, NULL);
    time_sleep(H_MS(50));
    return 0;
}
PANIC_TEST(go_of_nil_func_value)
{
    h_expect_death(go_nil, "panic: go of nil func value", 1);
}

static int ticker_zero(int argc, char **argv)
{
    time_new_ticker(0);
    return 0;
}
static int ticker_negative(int argc, char **argv)
{
    time_new_ticker(-H_MS(1));
    return 0;
}
PANIC_TEST(non_positive_ticker_interval)
{
    h_expect_death(ticker_zero, "panic: non-positive interval for NewTicker", 1);
    h_expect_death(ticker_negative, "panic: non-positive interval for NewTicker", 1);
}

/* ---- deadlock ---------------------------------------------------------------- */

#define DEADLOCK "fatal error: all goroutines are asleep - deadlock!"

static int deadlock_recv(int argc, char **argv)
{
    chan_t *c = h_chan_int(0);
    int v;
    chan_recv(c, &v);
    return 0;
}
PANIC_TEST(deadlock_main_receives_from_nobody)
{
    h_child r;
    h_expect_death_in(&r, deadlock_recv, DEADLOCK, 1);
    cr_assert(strstr(r.err, "goroutine 1 [chan receive]:") != NULL, "dump:\n%s", r.err);
    h_child_free(&r);
}

static void exit_soon(void *arg) { time_sleep(H_MS(10)); }
static void lock_forever(void *arg) { sync_mutex_lock(arg); }
static int deadlock_after_others(int argc, char **argv)
{
    /* others exit or block; a sleeper that ends is no reason to wait forever */
    static sync_mutex m = SYNC_MUTEX_INIT;
    sync_mutex_lock(&m);
    go(lock_forever, &m);
    go(exit_soon, NULL);
    chan_t *c = h_chan_int(0);
    h_send_int(c, 1);
    return 0;
}
PANIC_TEST(deadlock_with_other_goroutines_blocked)
{
    h_child r;
    h_expect_death_in(&r, deadlock_after_others, DEADLOCK, 1);
    cr_assert(strstr(r.err, "goroutine 1 [chan send]:") != NULL, "dump:\n%s", r.err);
    cr_assert(strstr(r.err, "[sync.Mutex.Lock]:") != NULL, "dump:\n%s", r.err);
    h_child_free(&r);
}

static int deadlock_wg(int argc, char **argv)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    sync_wg_wait(&wg);
    return 0;
}
static int deadlock_self_lock(int argc, char **argv)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    sync_mutex_lock(&m);
    sync_mutex_lock(&m);
    return 0;
}
static int deadlock_select_none(int argc, char **argv)
{
    chan_select(NULL, 0, true);
    return 0;
}
static int deadlock_nil_recv(int argc, char **argv)
{
    int v;
    chan_recv(NULL, &v);
    return 0;
}
static int deadlock_after_timer(int argc, char **argv)
{
    time_sleep(H_MS(20));            /* not a deadlock while it sleeps */
    chan_t *t = time_after(H_MS(10));
    int64_t v;
    chan_recv(t, &v);                /* nor while it waits on a timer */
    chan_t *c = h_chan_int(0);
    chan_recv(c, &v);                /* now it is */
    return 0;
}
PANIC_TEST(deadlock_in_every_blocking_call)
{
    h_expect_death(deadlock_wg, DEADLOCK, 1);
    h_expect_death(deadlock_self_lock, DEADLOCK, 1);
    h_expect_death(deadlock_select_none, DEADLOCK, 1);
    h_expect_death(deadlock_nil_recv, DEADLOCK, 1);
    h_expect_death(deadlock_after_timer, DEADLOCK, 1);
}

/* Go: Goexit in the main goroutine lets the others run on; when the last one
 * exits, "no goroutines (main called runtime.Goexit) - deadlock!". */
static void finish_later(void *arg)
{
    time_sleep(H_MS(20));
    printf("other goroutine finished\n");
    fflush(stdout);
}
static int main_goexit(int argc, char **argv)
{
    go(finish_later, NULL);
    goexit();
    printf("goexit returned\n");
    return 0;
}
PANIC_TEST(goexit_in_main_then_no_goroutines)
{
    h_child r;
    h_expect_death_in(&r, main_goexit, "fatal error: no goroutines (main called runtime.Goexit) - deadlock!", -1);
    cr_assert(strstr(r.out, "other goroutine finished") != NULL,
              "the other goroutine did not run to its end after main's goexit; stdout:\n%s", r.out);
    cr_assert(strstr(r.out, "goexit returned") == NULL, "goexit returned in main");
    h_child_free(&r);
}

/* ---- stack overflow -------------------------------------------------------------- */

static volatile int depth_limit = 1 << 30;   /* never reached: keeps it formally finite */
static int __attribute__((noinline)) recurse(int n)
{
    volatile char frame[256];
    frame[n & 255] = (char)n;
    if (n >= depth_limit)
        return frame[0];
    int r = recurse(n + 1);        /* not a tail call: its value is used below */
    return r + frame[(n * 7) & 255];
}

static void overflow(void *arg)
{
    printf("%d\n", recurse(0));
}
static int overflow_in_goroutine(int argc, char **argv)
{
    go(overflow, NULL);
    chan_t *c = h_chan_int(0);
    int v;
    chan_recv(c, &v);
    return 0;
}
PANIC_TEST(stack_overflow_in_a_goroutine)
{
    h_expect_death(overflow_in_goroutine, "fatal error: stack overflow", 1);
}

static int overflow_in_main(int argc, char **argv)
{
    printf("%d\n", recurse(0));
    return 0;
}
PANIC_TEST(stack_overflow_in_main)
{
    h_expect_death(overflow_in_main, "fatal error: stack overflow", 1);
}

/* ---- calls outside the runtime ---------------------------------------------------- */

static void nothing(void *arg) {}

static int go_before_runtime_main(void)
{
    go(nothing, NULL);
    return 100;
}
PANIC_TEST(go_outside_runtime_main)
{
    h_child r;
    char how[128];
    h_child_run(&r, go_before_runtime_main, NULL, 20);
    cr_assert(h_exited_with(&r, 2), "the child %s; stderr:\n%s", h_child_how(&r, how, sizeof how), r.err);
    cr_assert(strstr(r.err, "gort: go() called outside runtime_main") != NULL, "stderr:\n%s", r.err);
    cr_assert(strstr(r.err, "goroutine ") == NULL, "a dump with no goroutine:\n%s", r.err);
    h_child_free(&r);
}

static int return_0(int argc, char **argv) { return 0; }
static int go_after_runtime_main(void)
{
    if (runtime_main(return_0, 0, NULL) != 0)
        return 101;
    go(nothing, NULL);
    return 100;
}
PANIC_TEST(go_after_runtime_main_returned)
{
    h_child r;
    char how[128];
    h_child_run(&r, go_after_runtime_main, NULL, 20);
    cr_assert(h_exited_with(&r, 2), "the child %s; stderr:\n%s", h_child_how(&r, how, sizeof how), r.err);
    cr_assert(strstr(r.err, "gort: go() called outside runtime_main") != NULL, "stderr:\n%s", r.err);
    h_child_free(&r);
}

/* ---- the same, as Criterion-native death tests --------------------------------------- */

/* Criterion checks the exit status; reaching the assertion means runtime_main
 * returned from a program that should have died. */
Test(native, send_on_closed_channel, .exit_code = 2, .timeout = H_TIMEOUT)
{
    runtime_main(send_on_closed, 0, NULL);
    cr_assert_fail("runtime_main returned after a send on a closed channel");
}

Test(native, close_of_nil_channel, .exit_code = 2, .timeout = H_TIMEOUT)
{
    runtime_main(close_nil, 0, NULL);
    cr_assert_fail("runtime_main returned after closing a nil channel");
}

Test(native, deadlock, .exit_code = 2, .timeout = H_TIMEOUT)
{
    runtime_main(deadlock_recv, 0, NULL);
    cr_assert_fail("runtime_main returned from a deadlocked program");
}

Test(native, go_outside_runtime_main, .exit_code = 2, .timeout = H_TIMEOUT)
{
    go(nothing, NULL);
    cr_assert_fail("go() outside runtime_main returned");
}
