/*
 * test_stress.c: volume. 10,000 goroutines fanning values in through select
 * sends with the sums checked; selects that send and receive on shared
 * channels; a 100-stage pipeline; a spawn tree; goroutine churn; many mutex
 * contenders; a close that wakes thousands; many timers; 200 runtime_main
 * calls in one process. GORT_STRESS_SCALE (default 1) multiplies the sizes.
 */
#include "harness.h"

/* ---- 10,000 goroutines fan in through select ---------------------------- */

static chan_t *fan[4];
static sync_waitgroup prod_wg, cons_wg;
static long long fan_sum[4];
static long fan_count[4];
static atomic_llong fan_goid[4];

static void fan_producer(void *arg)
{
    int v = (int)(intptr_t)arg;
    select_case cs[4];
    for (int i = 0; i < 4; i++)
        cs[i] = (select_case){ .c = fan[i], .dir = SELECT_SEND, .elem = &v };
    int k = chan_select(cs, 4, true);
    CHECK(k >= 0 && k < 4, "select returned %d", k);
    sync_wg_done(&prod_wg);
}

static void fan_consumer(void *arg)
{
    int me = (int)(intptr_t)arg;
    int v;
    atomic_store(&fan_goid[me], goid());
    while (chan_recv(fan[me], &v)) {
        fan_sum[me] += v;
        fan_count[me]++;
    }
    sync_wg_done(&cons_wg);
}

GTEST(stress, ten_thousand_goroutines_fan_in)
{
    long n = 10000L * h_scale();
    if (n > H_MAX_LIVE)
        n = H_MAX_LIVE;          /* TSan's fiber limit: see harness.h */
    memset(&prod_wg, 0, sizeof prod_wg);
    memset(&cons_wg, 0, sizeof cons_wg);
    for (int i = 0; i < 4; i++) {
        fan[i] = h_chan_int((size_t)i * 3);   /* caps 0, 3, 6, 9 */
        fan_sum[i] = 0;
        fan_count[i] = 0;
        atomic_store(&fan_goid[i], 0);
    }
    sync_wg_add(&cons_wg, 4);
    for (intptr_t i = 0; i < 4; i++)
        go(fan_consumer, (void *)i);
    /* Every consumer waits in chan_recv before the first select. Go's
     * select chooses uniformly among the cases ready at that moment, and
     * promises nothing for a case that is ready only now and then: the
     * unbuffered channel's case is ready only while its consumer is
     * parked, so a consumer slow to be scheduled could see every value go
     * to the buffered channels. Ready at the start, each case stays ready
     * until some select chooses it (an empty buffer cannot fill, a parked
     * receiver cannot leave, without being chosen), so each select takes
     * it with probability at least 1/4: a consumer left with nothing after
     * n selects means a select that is not uniform, by (3/4)^n. */
    for (int i = 0; i < 4; i++) {
        REQUIRE(WAIT_UNTIL(atomic_load(&fan_goid[i]) != 0, 5000), "consumer %d never ran", i);
        REQUIRE(h_wait_parked(atomic_load(&fan_goid[i]), "chan receive", 5000),
                "consumer %d never waited in chan_recv", i);
    }
    sync_wg_add(&prod_wg, (int)n);
    for (intptr_t i = 1; i <= n; i++)
        go(fan_producer, (void *)i);
    sync_wg_wait(&prod_wg);
    for (int i = 0; i < 4; i++)
        chan_close(fan[i]);
    sync_wg_wait(&cons_wg);
    long long sum = 0;
    long count = 0;
    for (int i = 0; i < 4; i++) {
        sum += fan_sum[i];
        count += fan_count[i];
        CHECK(fan_count[i] > 0, "consumer %d got nothing (select never chose it)", i);
    }
    CHECK_EQ(count, n);
    CHECK_EQ(sum, (long long)n * (n + 1) / 2);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000), "%d left", runtime_num_goroutine());
    for (int i = 0; i < 4; i++)
        chan_free(fan[i]);
}

/* ---- selects on both ends ------------------------------------------------ */

static chan_t *sa, *sb, *squit;
static atomic_llong sel_sum;
static atomic_long sel_count;

static void sel_producer(void *arg)
{
    int base = (int)(intptr_t)arg;
    for (int k = 0; k < 100; k++) {
        int v = base * 100 + k;
        select_case cs[2] = {
            { .c = sa, .dir = SELECT_SEND, .elem = &v },
            { .c = sb, .dir = SELECT_SEND, .elem = &v },
        };
        int i = chan_select(cs, 2, true);
        CHECK(i == 0 || i == 1, "select returned %d", i);
    }
    sync_wg_done(&prod_wg);
}

static void sel_consumer(void *arg)
{
    long long sum = 0;
    long count = 0;
    for (;;) {
        int v = 0;
        select_case cs[3] = {
            { .c = sa, .dir = SELECT_RECV, .elem = &v },
            { .c = sb, .dir = SELECT_RECV, .elem = &v },
            { .c = squit, .dir = SELECT_RECV, .elem = NULL },
        };
        int i = chan_select(cs, 3, true);
        if (i == 2)
            break;
        CHECK(cs[i].ok);
        sum += v;
        count++;
    }
    atomic_fetch_add(&sel_sum, sum);
    atomic_fetch_add(&sel_count, count);
    sync_wg_done(&cons_wg);
}

GTEST(stress, selects_sending_and_receiving)
{
    int producers = 100 * h_scale(), consumers = 20;
    if (producers > H_MAX_LIVE / 2)
        producers = H_MAX_LIVE / 2;
    sa = h_chan_int(0);
    sb = h_chan_int(2);
    squit = h_chan_int(0);
    atomic_store(&sel_sum, 0);
    atomic_store(&sel_count, 0);
    memset(&prod_wg, 0, sizeof prod_wg);
    memset(&cons_wg, 0, sizeof cons_wg);
    sync_wg_add(&cons_wg, consumers);
    for (int i = 0; i < consumers; i++)
        go(sel_consumer, NULL);
    sync_wg_add(&prod_wg, producers);
    for (intptr_t i = 0; i < producers; i++)
        go(sel_producer, (void *)i);
    sync_wg_wait(&prod_wg);
    /* every send has happened; sb may still buffer up to 2 values, which the
     * consumers take: close quit only once it is empty */
    CHECK(WAIT_UNTIL(chan_len(sb) == 0, 5000), "sb never drained");
    chan_close(squit);
    sync_wg_wait(&cons_wg);
    long long total = (long long)producers * 100;
    CHECK_EQ(atomic_load(&sel_count), total);
    CHECK_EQ(atomic_load(&sel_sum), total * (total - 1) / 2);
    chan_free(sa);
    chan_free(sb);
    chan_free(squit);
}

/* ---- a 100-stage pipeline ------------------------------------------------ */

struct stage { chan_t *in, *out; };

static void add_one(void *arg)
{
    struct stage *st = arg;
    int v;
    while (chan_recv(st->in, &v)) {
        v++;
        chan_send(st->out, &v);
    }
    chan_close(st->out);
}

static void feed(void *arg)
{
    struct stage *st = arg;
    int n = 1000 * h_scale();
    for (int i = 0; i < n; i++)
        h_send_int(st->out, i);
    chan_close(st->out);
}

GTEST(stress, pipeline_of_100_stages)
{
    enum { STAGES = 100 };
    static struct stage st[STAGES + 1];
    chan_t *chans[STAGES + 1];
    for (int i = 0; i <= STAGES; i++)
        chans[i] = h_chan_int(i % 3);       /* a mix of unbuffered and buffered */
    st[0].out = chans[0];
    go(feed, &st[0]);
    for (int i = 1; i <= STAGES; i++) {
        st[i].in = chans[i - 1];
        st[i].out = chans[i];
        go(add_one, &st[i]);
    }
    int n = 1000 * h_scale(), v, want = 0, bad = 0;
    while (chan_recv(chans[STAGES], &v))
        bad += v != STAGES + want++;
    CHECK_EQ(want, n);
    CHECK_EQ(bad, 0);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000));
    for (int i = 0; i <= STAGES; i++)
        chan_free(chans[i]);
}

/* ---- a spawn tree -------------------------------------------------------- */

struct node { int depth; chan_t *up; };

static void tree(void *arg)
{
    struct node *me = arg;
    int leaves = 1;
    if (me->depth > 0) {
        chan_t *c = h_chan_int(2);
        struct node kids[2] = { { me->depth - 1, c }, { me->depth - 1, c } };
        go(tree, &kids[0]);
        go(tree, &kids[1]);
        leaves = h_recv_int(c) + h_recv_int(c);   /* kids live on this stack until then */
        chan_free(c);
    }
    h_send_int(me->up, leaves);
}

GTEST(stress, spawn_tree)
{
    int depth = 12 + (h_scale() > 1) * 2;       /* 8191 goroutines, more when scaled */
    while ((1 << (depth + 1)) > H_MAX_LIVE)
        depth--;                                /* TSan's fiber limit: see harness.h */
    chan_t *c = h_chan_int(1);
    struct node root = { depth, c };
    go(tree, &root);
    CHECK_EQ(h_recv_int(c), 1 << depth);
    chan_free(c);
}

/* ---- churn: many short-lived goroutines, stacks reused -------------------- */

static atomic_long churned;
static void short_lived(void *arg)
{
    atomic_fetch_add(&churned, 1);
    sync_wg_done(arg);
}

GTEST(stress, goroutine_churn)
{
    /* Under TSan each goroutine costs a fiber, about 1 ms to create and
     * destroy: a tenth is still 5 rounds of 1000 reusing every G. */
    long total = (H_TSAN ? 5000L : 50000L) * h_scale();
    atomic_store(&churned, 0);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    for (long done = 0; done < total; done += 1000) {
        sync_wg_add(&wg, 1000);
        for (int i = 0; i < 1000; i++)
            go(short_lived, &wg);
        sync_wg_wait(&wg);
    }
    CHECK_EQ(atomic_load(&churned), total);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000));
}

/* ---- many mutex contenders ------------------------------------------------- */

static sync_mutex smu;
static long scounter;
static atomic_int sinside, soverlap;

static void contender(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        sync_mutex_lock(&smu);
        if (atomic_fetch_add(&sinside, 1) != 0)
            atomic_fetch_add(&soverlap, 1);
        scounter++;
        if (i % 50 == 0)
            gosched();
        atomic_fetch_sub(&sinside, 1);
        sync_mutex_unlock(&smu);
    }
    sync_wg_done(arg);
}

GTEST(stress, many_mutex_contenders)
{
    int n = 100 * h_scale();
    if (n > H_MAX_LIVE / 2)
        n = H_MAX_LIVE / 2;
    memset(&smu, 0, sizeof smu);
    scounter = 0;
    atomic_store(&sinside, 0);
    atomic_store(&soverlap, 0);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, n);
    for (int i = 0; i < n; i++)
        go(contender, &wg);
    sync_wg_wait(&wg);
    sync_mutex_lock(&smu);
    CHECK_EQ(scounter, (long)n * 1000);
    sync_mutex_unlock(&smu);
    CHECK_EQ(atomic_load(&soverlap), 0);
}

/* ---- close wakes thousands ---------------------------------------------------- */

static atomic_int closed_seen;
static void wait_for_close(void *arg)
{
    int v = 1;
    if (!chan_recv(arg, &v) && v == 0)
        atomic_fetch_add(&closed_seen, 1);
}

GTEST(stress, close_wakes_thousands)
{
    int n = 3000 * h_scale();
    if (n > H_MAX_LIVE)
        n = H_MAX_LIVE;
    atomic_store(&closed_seen, 0);
    chan_t *c = h_chan_int(0);
    for (int i = 0; i < n; i++)
        go(wait_for_close, c);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == n + 1, 5000));
    chan_close(c);
    CHECK(WAIT_UNTIL(atomic_load(&closed_seen) == n, 5000), "%d of %d woken", atomic_load(&closed_seen), n);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000));
    chan_free(c);
}

/* ---- many timers ---------------------------------------------------------------- */

static void random_sleeper(void *arg)
{
    intptr_t i = (intptr_t)arg;
    int64_t d = (int64_t)((i * 7919) % 5000) * 1000;   /* 0..5 ms */
    int64_t t0 = time_now();
    time_sleep(d);
    CHECK_GE(time_now() - t0, d);
    sync_wg_done(&prod_wg);
}

GTEST(stress, thousands_of_sleepers)
{
    int n = 2000 * h_scale();
    if (n > H_MAX_LIVE)
        n = H_MAX_LIVE;
    memset(&prod_wg, 0, sizeof prod_wg);
    sync_wg_add(&prod_wg, n);
    for (intptr_t i = 0; i < n; i++)
        go(random_sleeper, (void *)i);
    sync_wg_wait(&prod_wg);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000));
}

/* ---- ping-pong pairs: lost wake-ups hang or trip the deadlock detector ------- */

struct pair { chan_t *ping, *pong; int rounds; };

static void ponger(void *arg)
{
    struct pair *p = arg;
    int v;
    while (chan_recv(p->ping, &v))
        chan_send(p->pong, &(int){ v + 1 });
}

static void pinger(void *arg)
{
    struct pair *p = arg;
    int bad = 0;
    for (int i = 0; i < p->rounds; i++) {
        h_send_int(p->ping, i);
        bad += h_recv_int(p->pong) != i + 1;
    }
    CHECK_EQ(bad, 0);
    chan_close(p->ping);
    sync_wg_done(&prod_wg);
}

GTEST(stress, ping_pong_pairs)
{
    enum { PAIRS = 8 };
    static struct pair pairs[PAIRS];
    memset(&prod_wg, 0, sizeof prod_wg);
    sync_wg_add(&prod_wg, PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        /* unbuffered, and capacity 1 (the full/empty edge every time) */
        pairs[i] = (struct pair){ h_chan_int(i % 2), h_chan_int(i % 2), 20000 * h_scale() / (H_SANITIZED ? 10 : 1) };
        go(ponger, &pairs[i]);
        go(pinger, &pairs[i]);
    }
    sync_wg_wait(&prod_wg);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000));
    for (int i = 0; i < PAIRS; i++) {
        chan_free(pairs[i].ping);
        chan_free(pairs[i].pong);
    }
}

/* ---- timers racing their own chan_free ------------------------------------------- */

static void after_racer(void *arg)
{
    chan_t *data = arg;
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        chan_t *t = time_after((int64_t)((i * 37) % 200) * 1000);   /* 0..200 us */
        int64_t when = 0;
        int v;
        select_case cs[2] = {
            { .c = t, .dir = SELECT_RECV, .elem = &when },
            { .c = data, .dir = SELECT_RECV, .elem = &v },
        };
        bool block = i % 3 != 0;
        int k = chan_select(cs, 2, block);
        bad += (block && k < 0) || k > 1 || (k == 0 && (!cs[0].ok || when <= 0));
        chan_free(t);                    /* often while its timer is due or firing */
    }
    CHECK_EQ(bad, 0);
    sync_wg_done(&prod_wg);
}

GTEST(stress, time_after_freed_while_firing)
{
    int n = 8 * h_scale();
    chan_t *data = h_chan_int(4);
    memset(&prod_wg, 0, sizeof prod_wg);
    sync_wg_add(&prod_wg, n);
    for (int i = 0; i < n; i++)
        go(after_racer, data);
    int sent = 0;
    while (sent < 200 && runtime_num_goroutine() > 1) {
        if (chan_try_send(data, &sent))
            sent++;
        time_sleep(50 * 1000);
    }
    sync_wg_wait(&prod_wg);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000));
    chan_free(data);
}

/* ---- 200 runtime_main calls in one process ---------------------------------------- */

static void round_worker(void *arg)
{
    chan_t *c = arg;
    int v = h_recv_int(c);
    h_send_int(c, v * 2);
}

static int one_run(int argc, char **argv)
{
    CHECK_EQ(goid(), 1);
    CHECK_EQ(runtime_num_goroutine(), 1);
    chan_t *c = h_chan_int(0);
    long sum = 0;
    for (int i = 0; i < 5; i++) {
        go(round_worker, c);
        h_send_int(c, argc + i);
        sum += h_recv_int(c);
    }
    chan_free(c);
    chan_t *t = time_after(0);
    int64_t now;
    CHECK(chan_recv(t, &now));
    chan_free(t);
    return (int)(sum % 100);
}

Test(stress, two_hundred_runtime_main_calls, .timeout = H_TIMEOUT)
{
    int n = 200 * h_scale();
    char a[] = "arg";
    char *argv[8] = { a, a, a, a, a, a, a, NULL };
    h_reset();
    for (int r = 0; r < n; r++) {
        int argc = r % 7;
        int want = (int)((2L * (5L * argc + 10)) % 100);
        argv[argc] = NULL;
        int got = runtime_main(one_run, argc, argv);
        argv[argc] = a;
        cr_assert_eq(got, want, "run %d returned %d, expected %d", r, got, want);
        if (h_failures())
            break;
    }
    h_assert_checks("two_hundred_runtime_main_calls");
}
