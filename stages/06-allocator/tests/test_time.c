/*
 * test_time.c: time_now (monotonic), time_sleep (at least the duration; parks
 * the goroutine, not its thread), time_after (value, capacity 1, freed before
 * it fires), timers (stop/reset return values as Go's, the value left in the
 * channel after a fire, free), tickers (ticks, a slow reader drops ticks,
 * stop), and a pending timer keeping the deadlock detector quiet. Stage 05
 * (timers on the Ps): a million timers started and stopped, timers spread
 * over the Ps firing in order, a timer whose P went idle, timers moved by
 * runtime_gomaxprocs, and stops racing the timer firing on another P.
 */
#include "harness.h"

/* ---- time_now ------------------------------------------------------------ */

GTEST(now, is_monotonic_and_advances)
{
    int64_t prev = time_now(), backwards = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t t = time_now();
        backwards += t < prev;
        prev = t;
    }
    CHECK_EQ(backwards, 0);
    int64_t a = time_now(), ha = h_now();
    time_sleep(H_MS(10));
    int64_t b = time_now(), hb = h_now();
    CHECK_GE(b - a, H_MS(10));
    /* it runs at the speed of CLOCK_MONOTONIC (within 20% + 5 ms) */
    int64_t d = (b - a) - (hb - ha);
    if (d < 0)
        d = -d;
    CHECK(d < (hb - ha) / 5 + H_MS(5), "time_now advanced %lld ns, CLOCK_MONOTONIC %lld ns",
          (long long)(b - a), (long long)(hb - ha));
}

/* ---- time_sleep ------------------------------------------------------------ */

GTEST(sleep, lasts_at_least_the_duration)
{
    for (int ms = 1; ms <= 20; ms += 9) {
        int64_t t0 = time_now(), h0 = h_now();
        time_sleep(H_MS(ms));
        int64_t took = time_now() - t0, htook = h_now() - h0;
        CHECK_GE(took, H_MS(ms));
        CHECK_GE(htook, H_MS(ms));
        CHECK_LT(htook, H_SEC(2) * H_SLOW);
    }
}

GTEST(sleep, zero_and_negative_return_at_once)
{
    int64_t t0 = h_now();
    time_sleep(0);
    time_sleep(-H_SEC(5));
    CHECK_LT(h_now() - t0, H_SEC(1) * H_SLOW);
}

static atomic_int spins;
static atomic_int spin_stop;
static void spinner(void *arg)
{
    while (!atomic_load(&spin_stop)) {
        atomic_fetch_add(&spins, 1);
        gosched();
    }
}

GTEST(sleep, parks_the_goroutine_not_the_thread)
{
    /* at GOMAXPROCS=1 the spinner can only run while main sleeps if the
     * sleep gave the thread away */
    atomic_store(&spins, 0);
    atomic_store(&spin_stop, 0);
    go(spinner, NULL);
    time_sleep(H_MS(30));
    int n = atomic_load(&spins);
    atomic_store(&spin_stop, 1);
    CHECK_GT(n, 0);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
}

static sync_waitgroup sleepers_wg;
static void sleep_20ms(void *arg)
{
    int64_t t0 = time_now();
    time_sleep(H_MS(20));
    CHECK_GE(time_now() - t0, H_MS(20));
    sync_wg_done(&sleepers_wg);
}

GTEST(sleep, many_sleepers_sleep_concurrently)
{
    memset(&sleepers_wg, 0, sizeof sleepers_wg);
    sync_wg_add(&sleepers_wg, 100);
    int64_t t0 = h_now();
    for (int i = 0; i < 100; i++)
        go(sleep_20ms, NULL);
    sync_wg_wait(&sleepers_wg);
    int64_t took = h_now() - t0;
    CHECK_GE(took, H_MS(20));
    /* 100 x 20 ms one after another would be 2 s */
    CHECK(took < H_MS(1500) * H_SLOW, "100 concurrent 20 ms sleeps took %.3f s", took / 1e9);
}

struct ordered { chan_t *out; int ms; };
static void sleep_then_send(void *arg)
{
    struct ordered *o = arg;
    time_sleep(H_MS(o->ms) * H_GAP);
    h_send_int(o->out, o->ms);
}

GTEST(sleep, shorter_sleeps_wake_first)
{
    chan_t *out = h_chan_int(3);
    struct ordered o[3] = { { out, 160 }, { out, 10 }, { out, 80 } };
    for (int i = 0; i < 3; i++)
        go(sleep_then_send, &o[i]);
    CHECK_EQ(h_recv_int(out), 10);
    CHECK_EQ(h_recv_int(out), 80);
    CHECK_EQ(h_recv_int(out), 160);
    chan_free(out);
}

/* Hundreds of sleeps with shuffled, distinct deadlines wake in deadline
 * order: under fakeclock=1 the order is exact, so a timer heap that is
 * out of order anywhere (a siftdown that skips a child) shows. Runs in a
 * child, where GODEBUG can be set. */
enum { ORD_N = 400 };
static chan_t *ord_out;

static void ord_sleeper(void *arg)
{
    int ms = (int)(intptr_t)arg;
    time_sleep(H_MS(ms));
    h_send_int(ord_out, ms);
}

static int ord_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    int ms[ORD_N];
    for (int i = 0; i < ORD_N; i++)
        ms[i] = i + 1;
    for (int i = ORD_N - 1; i > 0; i--) {      /* a fixed shuffle */
        int j = (int)((i * 2654435761u) % (unsigned)(i + 1));
        int t = ms[i]; ms[i] = ms[j]; ms[j] = t;
    }
    ord_out = h_chan_int(ORD_N);
    for (int i = 0; i < ORD_N; i++)
        go(ord_sleeper, (void *)(intptr_t)ms[i]);
    for (int want = 1; want <= ORD_N; want++) {
        int got = h_recv_int(ord_out);
        if (got != want) {
            printf("wake-up %d was the %d ms sleeper\n", want, got);
            return 1;
        }
    }
    return 0;
}

static int ord_child(void) { return runtime_main(ord_main, 0, NULL); }

Test(sleep, shuffled_deadlines_wake_in_order_under_fakeclock, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=fakeclock=1", NULL };
    h_child r;
    h_child_run(&r, ord_child, env, 30);
    cr_assert(h_exited_with(&r, 0), "out of order: %s%s", r.out, r.err);
    h_child_free(&r);
}

/* ---- time_after ------------------------------------------------------------- */

GTEST(after, delivers_time_now_once)
{
    int64_t t0 = time_now();
    chan_t *c = time_after(H_MS(20));
    CHECK(c != NULL);
    CHECK_EQ(chan_cap(c), 1);
    int64_t v = 0;
    CHECK(chan_recv(c, &v));
    int64_t t1 = time_now();
    CHECK_GE(v, t0 + H_MS(20));
    CHECK_LE(v, t1);
    CHECK_GE(t1 - t0, H_MS(20));
    time_sleep(H_MS(30));
    CHECK(!chan_try_recv(c, &v, NULL), "time_after sent a second value");
    chan_free(c);
}

GTEST(after, zero_or_negative_fires_at_once)
{
    int64_t t0 = h_now();
    chan_t *a = time_after(0), *b = time_after(-H_MS(5));
    int64_t v;
    CHECK(chan_recv(a, &v));
    CHECK(chan_recv(b, &v));
    CHECK_LT(h_now() - t0, H_SEC(1) * H_SLOW);
    chan_free(a);
    chan_free(b);
}

GTEST(after, freed_before_it_fires)
{
    /* freeing stops the timer: nothing touches the freed channel later
     * (ASan would catch it), and the runtime goes on */
    for (int i = 0; i < 20; i++) {
        chan_t *c = time_after(H_MS(5 + i % 3));
        if (i % 2)
            gosched();
        chan_free(c);
    }
    time_sleep(H_MS(30));
    chan_t *c = time_after(H_MS(1));
    int64_t v;
    CHECK(chan_recv(c, &v));
    chan_free(c);
}

GTEST(after, huge_durations_do_not_overflow)
{
    chan_t *a = time_after(INT64_MAX);
    time_timer *t = time_new_timer(INT64_MAX - 1);
    time_ticker *k = time_new_ticker(INT64_MAX);
    time_sleep(H_MS(5));
    CHECK_EQ(chan_len(a), 0);                       /* a wrapped deadline would fire now */
    CHECK_EQ(chan_len(time_timer_chan(t)), 0);
    CHECK_EQ(chan_len(time_ticker_chan(k)), 0);
    CHECK(time_timer_stop(t), "a timer due in 292 years was not pending");
    chan_free(a);
    time_timer_free(t);
    time_ticker_free(k);
    context_t *ctx = context_with_timeout(context_background(), INT64_MAX);
    time_sleep(H_MS(5));
    CHECK_EQ(context_err(ctx), CONTEXT_OK);
    context_free(ctx);
}

GTEST(after, wakes_a_select)
{
    chan_t *never = h_chan_int(0);
    /* t0 before the timer is made: a thread the OS stalls between the two
     * would otherwise make a timer that fired on time look early. */
    int64_t t0 = h_now();
    chan_t *t = time_after(H_MS(15));
    int x;
    int64_t v;
    select_case cs[2] = {
        { .c = never, .dir = SELECT_RECV, .elem = &x },
        { .c = t, .dir = SELECT_RECV, .elem = &v },
    };
    CHECK_EQ(chan_select(cs, 2, true), 1);
    CHECK(cs[1].ok);
    CHECK_GE(h_now() - t0, H_MS(15));
    chan_free(t);
    chan_free(never);
}

/* A goroutine blocked on a timer channel is not a deadlock, even when every
 * other goroutine is blocked for good. */
static chan_t *forgotten;
static void block_forever(void *arg)
{
    int v;
    chan_recv(arg, &v);
}

GTEST(after, pending_timer_is_not_a_deadlock)
{
    forgotten = h_keep(h_chan_int(0));   /* never freed: a goroutine stays inside */
    go(block_forever, forgotten);
    chan_t *t = time_after(H_MS(50));
    int64_t v;
    CHECK(chan_recv(t, &v));   /* main is blocked on the only wakeable thing */
    chan_free(t);
    time_sleep(H_MS(20));      /* and a plain sleep is not a deadlock either */
}

/* ---- timers ------------------------------------------------------------------ */

GTEST(timer, fires_once_with_time_now)
{
    int64_t t0 = time_now();
    time_timer *tm = time_new_timer(H_MS(15));
    chan_t *c = time_timer_chan(tm);
    CHECK(c != NULL);
    CHECK_EQ(chan_cap(c), 1);
    int64_t v = 0;
    CHECK(chan_recv(c, &v));
    CHECK_GE(v, t0 + H_MS(15));
    CHECK_LE(v, time_now());
    CHECK(!time_timer_stop(tm), "stop after the fire (value received) returned true");
    time_timer_free(tm);
}

GTEST(timer, stop_before_fire)
{
    time_timer *tm = time_new_timer(H_MS(30));
    CHECK(time_timer_stop(tm), "stop of a pending timer returned false");
    CHECK(!time_timer_stop(tm), "second stop returned true");
    time_sleep(H_MS(60));
    CHECK(!chan_try_recv(time_timer_chan(tm), NULL, NULL), "a stopped timer fired");
    time_timer_free(tm);
}

GTEST(timer, fired_value_waits_in_the_channel)
{
    /* Go up to 1.22: the value stays in the 1-slot channel; stop returns false */
    time_timer *tm = time_new_timer(H_MS(5));
    chan_t *c = time_timer_chan(tm);
    CHECK(WAIT_UNTIL(chan_len(c) == 1, 2000), "the timer never fired");
    CHECK(!time_timer_stop(tm));
    CHECK_EQ(chan_len(c), 1);
    int64_t v = 0;
    CHECK(chan_try_recv(c, &v, NULL));
    CHECK_GT(v, 0);
    time_timer_free(tm);
}

GTEST(timer, reset_returns_whether_it_was_active)
{
    time_timer *tm = time_new_timer(H_SEC(10));
    chan_t *c = time_timer_chan(tm);
    int64_t t0 = time_now();
    CHECK(time_timer_reset(tm, H_MS(20)), "reset of an active timer returned false");
    int64_t v;
    CHECK(chan_recv(c, &v));
    CHECK_GE(v, t0 + H_MS(20));
    CHECK_LT(time_now() - t0, H_SEC(5) * H_SLOW);        /* not the 10 s one */
    /* expired and drained: reset returns false and it fires again */
    t0 = time_now();
    CHECK(!time_timer_reset(tm, H_MS(10)), "reset of an expired timer returned true");
    CHECK(chan_recv(c, &v));
    CHECK_GE(v, t0 + H_MS(10));
    /* expired again; re-armed it is active, stopped it is not; a reset of
     * a stopped timer returns false and re-arms it */
    CHECK(!time_timer_reset(tm, H_SEC(10)), "reset of an expired timer returned true");
    CHECK(time_timer_stop(tm), "stop of a re-armed timer returned false");
    CHECK(!time_timer_reset(tm, H_MS(5)), "reset of a stopped timer returned true");
    CHECK(chan_recv(c, &v));
    time_timer_free(tm);
}

GTEST(timer, reset_earlier_and_later)
{
    time_timer *tm = time_new_timer(H_MS(10));
    int64_t t0 = time_now();
    CHECK(time_timer_reset(tm, H_MS(60)));   /* later */
    time_sleep(H_MS(25));
    if (time_now() - t0 < H_MS(55))               /* (unless this thread was held up) */
        CHECK_EQ(chan_len(time_timer_chan(tm)), 0);   /* the 10 ms deadline is gone */
    int64_t v;
    CHECK(chan_recv(time_timer_chan(tm), &v));
    CHECK_GE(v, t0 + H_MS(60));
    time_timer_free(tm);
}

GTEST(timer, free_stops_a_pending_timer)
{
    for (int i = 0; i < 10; i++) {
        time_timer *tm = time_new_timer(H_MS(3 + i % 4));
        time_timer_free(tm);
    }
    time_timer *fired = time_new_timer(H_MS(1));
    CHECK(WAIT_UNTIL(chan_len(time_timer_chan(fired)) == 1, 2000));
    time_timer_free(fired);     /* with its value still in the channel */
    time_sleep(H_MS(20));
    time_timer *tm = time_new_timer(H_MS(1));
    int64_t v;
    CHECK(chan_recv(time_timer_chan(tm), &v));
    time_timer_free(tm);
}

static void many_timers(void *arg)
{
    intptr_t i = (intptr_t)arg;
    time_timer *tm = time_new_timer(H_MS(1 + i % 10));
    int64_t v;
    CHECK(chan_recv(time_timer_chan(tm), &v));
    time_timer_free(tm);
    sync_wg_done(&sleepers_wg);
}

GTEST(timer, hundreds_of_timers)
{
    memset(&sleepers_wg, 0, sizeof sleepers_wg);
    sync_wg_add(&sleepers_wg, 300);
    for (intptr_t i = 0; i < 300; i++)
        go(many_timers, (void *)i);
    sync_wg_wait(&sleepers_wg);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
}

/* ---- tickers ------------------------------------------------------------------- */

GTEST(ticker, ticks_every_period)
{
    int64_t t0 = time_now();
    time_ticker *tk = time_new_ticker(H_MS(10));
    chan_t *c = time_ticker_chan(tk);
    CHECK(c != NULL);
    CHECK_EQ(chan_cap(c), 1);
    int64_t prev = t0, v = 0;
    for (int i = 0; i < 5; i++) {
        CHECK(chan_recv(c, &v));
        CHECK_GT(v, prev);
        prev = v;
    }
    int64_t took = time_now() - t0;
    CHECK_GE(took, H_MS(50));            /* ticks never come early */
    CHECK_LT(took, H_SEC(3) * H_SLOW);
    time_ticker_stop(tk);
    time_ticker_free(tk);
}

GTEST(ticker, slow_reader_drops_ticks)
{
    time_ticker *tk = time_new_ticker(H_MS(20) * H_GAP);
    chan_t *c = time_ticker_chan(tk);
    time_sleep(H_MS(200) * H_GAP);       /* ~10 ticks come while nobody reads */
    CHECK_LE(chan_len(c), 1);
    CHECK(WAIT_UNTIL(chan_len(c) == 1, 2000), "the ticker never ticked");
    int drained = 0;
    int64_t v;
    while (chan_try_recv(c, &v, NULL))
        drained++;
    /* one buffered, at most one more racing in; never the backlog of ~10 */
    CHECK(drained >= 1 && drained <= 2, "drained %d ticks at once", drained);
    /* and it goes on ticking */
    CHECK(chan_recv(c, &v));
    time_ticker_free(tk);
}

GTEST(ticker, stop_ends_the_ticks)
{
    time_ticker *tk = time_new_ticker(H_MS(5));
    chan_t *c = time_ticker_chan(tk);
    int64_t v;
    CHECK(chan_recv(c, &v));
    time_ticker_stop(tk);
    while (chan_try_recv(c, &v, NULL))
        ;                                /* a tick sent before the stop */
    time_sleep(H_MS(40));
    CHECK(!chan_try_recv(c, &v, NULL), "a stopped ticker ticked");
    time_ticker_stop(tk);                /* stopping twice is harmless */
    time_ticker_free(tk);
    /* free without stop */
    time_ticker *t2 = time_new_ticker(H_MS(2));
    CHECK(chan_recv(time_ticker_chan(t2), &v));
    time_ticker_free(t2);
    time_sleep(H_MS(10));
}

static void tick_reader(void *arg)
{
    time_ticker *tk = time_new_ticker(H_MS(3));
    int64_t v;
    for (int i = 0; i < 5; i++)
        CHECK(chan_recv(time_ticker_chan(tk), &v));
    time_ticker_free(tk);
    sync_wg_done(arg);
}

GTEST(ticker, several_tickers_at_once)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 10);
    for (int i = 0; i < 10; i++)
        go(tick_reader, &wg);
    sync_wg_wait(&wg);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
}

/* ---- a timer's function runs on g0 ------------------------------------------ */

/* A timer's function runs on g0, the M's own thread stack (1 MiB), never
 * on the stack of the goroutine that happened to look at the timers: a
 * goroutine has 64 KiB (stack.c). A timeout that cancels a deep chain of
 * contexts recurses once per level (context.c, cancellocked): 4,000
 * levels take about 130 KiB; under TSan, whose frames are about 250
 * bytes, 2,000 still overflow a goroutine's stack but fit in g0's. At
 * GOMAXPROCS=1 the goroutine yielding in a loop is the one whose
 * scheduling runs the timer; on its own stack, that overflows. Runs in a
 * child, which a stack overflow kills. */
enum { DEEPCTX_N = H_SANITIZED ? 2000 : 4000 };

static context_t **deepctx_chain(void)
{
    context_t **c = malloc(DEEPCTX_N * sizeof *c);
    c[0] = context_with_timeout(context_background(), H_MS(20));
    for (int i = 1; i < DEEPCTX_N; i++)
        c[i] = context_with_cancel(c[i - 1]);
    return c;
}

/* 0 if the timeout cancelled the whole chain, leaf included. */
static int deepctx_free(context_t **c)
{
    int rc = context_err(c[DEEPCTX_N - 1]) == CONTEXT_DEADLINE_EXCEEDED &&
             context_err(c[0]) == CONTEXT_DEADLINE_EXCEEDED ? 0 : 1;
    if (rc)
        printf("the timeout did not cancel the chain\n");
    for (int i = DEEPCTX_N - 1; i >= 0; i--)
        context_free(c[i]);
    free(c);
    return rc;
}

static int deepctx_gosched_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    context_t **c = deepctx_chain();
    int64_t t0 = h_now();
    while (context_err(c[DEEPCTX_N - 1]) == CONTEXT_OK && h_now() - t0 < H_SEC(10))
        gosched();
    return deepctx_free(c);
}

static int deepctx_gosched_child(void) { return runtime_main(deepctx_gosched_main, 0, NULL); }

Test(timer, deep_function_runs_on_g0_while_a_goroutine_yields, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, deepctx_gosched_child, env, 30);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    h_child_free(&r);
}

/* Stage 04: the same timer, due while the only goroutine spins without a
 * call. sysmon preempts it for the timer (preempt.c, timerpreempt): the
 * SIGURG trampoline leaves only a little of its stack free, and gopreempt
 * runs the timers on g0. */
static int deepctx_spin_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    context_t **c = deepctx_chain();
    int64_t t0 = h_now();
    volatile uint64_t n = 0;
    while (context_err(c[DEEPCTX_N - 1]) == CONTEXT_OK && h_now() - t0 < H_SEC(10))
        for (int i = 0; i < 100000; i++)
            n++;
    return deepctx_free(c);
}

static int deepctx_spin_child(void) { return runtime_main(deepctx_spin_main, 0, NULL); }

Test(timer, deep_function_runs_on_g0_when_a_spinner_is_preempted, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, deepctx_spin_child, env, 30);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    h_child_free(&r);
}

/* ---- timers on the Ps (stage 05) ------------------------------------------ */

/* A million timers started and stopped, on every P, in an order other than
 * the one they were started in: each stop finds its timer pending, it is
 * fast (no timer lingers in a heap, no stop walks one), and none is left
 * pending: once they are all stopped, main blocking for good is reported
 * as a deadlock, which a timer still counted would prevent (checkdead).
 * Runs as a death test, in a child. */
enum { MIL_N = H_TSAN ? 100000 : 1000000, MIL_WIN = 1000 };
static sync_waitgroup mil_wg;
static atomic_int mil_notpending;

static void mil_worker(void *arg)
{
    int share = (int)(intptr_t)arg;
    time_timer **win = malloc(MIL_WIN * sizeof *win);
    for (int done = 0; done < share; done += MIL_WIN) {
        for (int i = 0; i < MIL_WIN; i++)       /* an hour ahead, shuffled */
            win[i] = time_new_timer(H_SEC(3600) + (int64_t)((i * 2654435761u) % 997) * 1000);
        for (int i = 0; i < MIL_WIN; i++) {
            int k = (i * 7 + done / MIL_WIN) % MIL_WIN;   /* 7 is prime to 1000 */
            if (!time_timer_stop(win[k]))
                atomic_fetch_add(&mil_notpending, 1);
            time_timer_free(win[k]);
        }
        gosched();                              /* and maybe on to another P */
    }
    free(win);
    sync_wg_done(&mil_wg);
}

static int mil_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    int w = 2 * runtime_gomaxprocs(0);
    int64_t t0 = h_now();
    sync_wg_add(&mil_wg, w);
    for (int i = 0; i < w; i++)
        go(mil_worker, (void *)(intptr_t)(MIL_N / w));
    sync_wg_wait(&mil_wg);
    int64_t took = h_now() - t0;
    printf("%d timers started and stopped in %.0f ms\n", MIL_N, (double)took / 1e6);
    if (atomic_load(&mil_notpending) != 0 || took > H_SEC(10) * H_SLOW) {
        fprintf(stderr, "%d stops found their timer not pending; %.0f ms\n",
                atomic_load(&mil_notpending), (double)took / 1e6);
        return 1;
    }
    fflush(stdout);
    h_recv_int(h_chan_int(0));                  /* nothing pending: a deadlock */
    return 1;
}

Test(timer, a_million_started_and_stopped_leave_none_pending, .timeout = H_TIMEOUT)
{
    h_child r;
    h_expect_death_in(&r, mil_main, "all goroutines are asleep - deadlock!", -1);
    h_child_free(&r);
}

/* Goroutines on different Ps each set timers with interleaved deadlines,
 * all at once, so the timers due next are spread over every P's heap (a
 * timer stays on the P it was set on): under fakeclock=1 they must fire
 * exactly in `when` order, which only holds if the clock jumps to the
 * earliest timer of all the Ps (timer0when) and the M that wakes runs it
 * wherever it is. Runs in a child, where GODEBUG can be set. */
enum { SPREAD_W = 8, SPREAD_R = 25 };
static chan_t *spread_out;
static atomic_int spread_arrived;
static int64_t spread_t0;

/* A call: under PREEMPT=coop (TSan) a safe point, so a spin loop that
 * makes it can be preempted there too. */
__attribute__((noinline)) static void spread_pause(void) { __asm__ volatile("" ::: "memory"); }

static void spread_worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    /* Spin, not gosched: gosched would cycle them all through one P. The
     * spinners hold their Ps; the others wait to be stolen by idle Ps, or
     * for a spinner's slice to end (sysmon's clock is the real one). */
    atomic_fetch_add(&spread_arrived, 1);
    while (atomic_load(&spread_arrived) < SPREAD_W)
        spread_pause();
    time_timer *tm[SPREAD_R];
    for (int j = 0; j < SPREAD_R; j++)
        tm[j] = time_new_timer(spread_t0 + H_MS(j * SPREAD_W + i + 1) - time_now());
    for (int j = 0; j < SPREAD_R; j++) {
        int64_t v;
        chan_recv(time_timer_chan(tm[j]), &v);
        h_send_int(spread_out, v == spread_t0 + H_MS(j * SPREAD_W + i + 1) ? j * SPREAD_W + i
                                                                         : -1);
        time_timer_free(tm[j]);
    }
}

static int spread_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    spread_out = h_chan_int(SPREAD_W * SPREAD_R);
    spread_t0 = time_now();
    for (int i = 0; i < SPREAD_W; i++)
        go(spread_worker, (void *)(intptr_t)i);
    for (int want = 0; want < SPREAD_W * SPREAD_R; want++) {
        int got = h_recv_int(spread_out);
        if (got != want) {
            printf("wake-up %d was deadline %d\n", want, got);
            return 1;
        }
    }
    return 0;
}

static int spread_child(void) { return runtime_main(spread_main, 0, NULL); }

Test(timer, timers_spread_over_ps_fire_in_when_order_under_fakeclock, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=fakeclock=1", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, spread_child, env, 30);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    h_child_free(&r);
}

/* A timer set on a P that then goes idle still fires. The sleeper parks
 * (its timer on its P) while the other goroutine still runs; that one then
 * blocks too, so its P goes idle last, and under fakeclock=1 the M that
 * checkdead wakes to run the timer gets that P back (the idle list is
 * LIFO): the timer is on another P's heap, and only stealing runs it
 * (findrunnable's steal loop: Go's stealWork). Run for many rounds, so the
 * two land on different Ps at GOMAXPROCS 2 and 4. A runtime that left the
 * idle P's timers alone spins for ever. */
enum { IDLE_ROUNDS = 40 };
static atomic_int idle_parking;
static chan_t *idle_c, *idle_done;

static void idle_sleeper(void *arg)
{
    atomic_store(&idle_parking, 1);
    time_sleep(H_MS(1));
    h_send_int(idle_c, 1);
}

static void idle_last(void *arg)
{
    while (!atomic_load(&idle_parking))
        gosched();
    int64_t until = h_now() + 200 * 1000;       /* the sleeper's P goes idle first */
    while (h_now() < until)
        ;
    h_recv_int(idle_c);
    h_send_int(idle_done, 1);
}

static int idle_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    idle_c = h_chan_int(0);
    idle_done = h_chan_int(0);
    for (int r = 0; r < IDLE_ROUNDS; r++) {
        atomic_store(&idle_parking, 0);
        go(idle_sleeper, NULL);
        go(idle_last, NULL);
        h_recv_int(idle_done);
    }
    return 0;
}

static int idle_child(void) { return runtime_main(idle_main, 0, NULL); }

Test(timer, fires_when_its_p_has_gone_idle, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=fakeclock=1", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, idle_child, env, 30);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    h_child_free(&r);
}

/* Timers survive runtime_gomaxprocs: goroutines spread over the Ps (they
 * spin until all have started, so the last ones to arrive find every P
 * held by a spinner) each set timers, then the number of Ps changes while
 * they are pending. Ps that die hand their timers to a survivor
 * (procresize's callers: destroytimers, Go's moveTimers); every timer
 * fires, once, not early. */
enum { MOVE_W = 16, MOVE_T = 4 };
struct move_round {
    int64_t        d;
    atomic_int     arrived, done, bad;
    sync_waitgroup armed;
};

static void move_worker(void *arg)
{
    struct move_round *r = arg;
    atomic_fetch_add(&r->arrived, 1);
    while (atomic_load(&r->arrived) < MOVE_W)
        spread_pause();
    time_timer *tm[MOVE_T];
    int64_t t0 = time_now();
    for (int j = 0; j < MOVE_T; j++)
        tm[j] = time_new_timer(r->d + H_MS(j));
    sync_wg_done(&r->armed);
    for (int j = 0; j < MOVE_T; j++) {
        int64_t v = 0;
        if (!chan_recv(time_timer_chan(tm[j]), &v) || v < t0 + r->d + H_MS(j) ||
            chan_len(time_timer_chan(tm[j])) != 0)
            atomic_fetch_add(&r->bad, 1);
        time_timer_free(tm[j]);
    }
    atomic_fetch_add(&r->done, 1);
}

static void move_round(int from, int to)
{
    static struct move_round rounds[8];
    static int nround;
    struct move_round *r = &rounds[nround++];
    r->d = H_MS(100) * H_GAP;
    runtime_gomaxprocs(from);
    sync_wg_add(&r->armed, MOVE_W);
    for (int i = 0; i < MOVE_W; i++)
        go(move_worker, r);
    sync_wg_wait(&r->armed);                    /* every timer is set */
    runtime_gomaxprocs(to);
    CHECK(WAIT_UNTIL(atomic_load(&r->done) == MOVE_W, 5000),
          "GOMAXPROCS %d -> %d: %d of %d goroutines got all their timers", from, to,
          atomic_load(&r->done), MOVE_W);
    CHECK_EQ(atomic_load(&r->bad), 0);
}

GTEST(timer, timers_survive_gomaxprocs_shrinking_and_growing)
{
    int prev = runtime_gomaxprocs(0);
    move_round(4, 1);
    move_round(1, 4);
    move_round(4, 2);
    move_round(2, 3);
    runtime_gomaxprocs(prev);
}

/* Stopping a timer races with its firing on another P (an idle M that
 * woke for it, a thief, the M sysmon preempted). Whatever wins, when
 * time_timer_stop returns the timer's function is not running and will
 * not run: false means it ran, whole, so its value is in the channel
 * already; true means it never will. Never a value after a true, never
 * two. */
enum { RACE_N = H_TSAN ? 2000 : 20000, RACE_BATCH = 64 };
static sync_waitgroup race_wg;
static atomic_int race_fired, race_stopped, race_bad;

static void race_check(time_timer *tm, bool pending)
{
    size_t n = chan_len(time_timer_chan(tm));
    if (n != (pending ? 0u : 1u))
        atomic_fetch_add(&race_bad, 1);
}

static void race_worker(void *arg)
{
    unsigned s = (unsigned)(intptr_t)arg * 2654435761u + 1;
    time_timer *batch[RACE_BATCH];
    bool pend[RACE_BATCH];
    int nb = 0;
    for (int i = 0; i < RACE_N; i++) {
        s = s * 1103515245u + 12345u;
        time_timer *tm = time_new_timer((int64_t)((s >> 8) % 50000));   /* 0-50 us */
        int64_t until = h_now() + (int64_t)((s >> 12) % 60000);         /* 0-60 us */
        while (h_now() < until)
            ;
        bool p = time_timer_stop(tm);
        race_check(tm, p);
        atomic_fetch_add(p ? &race_stopped : &race_fired, 1);
        batch[nb] = tm;
        pend[nb++] = p;
        if (nb == RACE_BATCH || i == RACE_N - 1) {
            gosched();                          /* a late run would show now */
            for (int k = 0; k < nb; k++) {
                race_check(batch[k], pend[k]);
                time_timer_free(batch[k]);
            }
            nb = 0;
        }
    }
    sync_wg_done(&race_wg);
}

GTEST(timer, stop_racing_the_timer_firing_on_another_p)
{
    int procs = runtime_gomaxprocs(0);
    int w = procs > 1 ? procs - 1 : 1;          /* an idle P: its M fires timers */
    atomic_store(&race_fired, 0);
    atomic_store(&race_stopped, 0);
    atomic_store(&race_bad, 0);
    sync_wg_add(&race_wg, w);
    for (int i = 0; i < w; i++)
        go(race_worker, (void *)(intptr_t)(i + 1));
    sync_wg_wait(&race_wg);
    CHECK(atomic_load(&race_bad) == 0, "%d stops disagreed with the channel (stop won %d "
          "times, the timer %d times)", atomic_load(&race_bad), atomic_load(&race_stopped),
          atomic_load(&race_fired));
    CHECK_EQ(atomic_load(&race_fired) + atomic_load(&race_stopped), w * RACE_N);
}
