/*
 * test_select.c: chan_select. Uniform random choice among ready cases (also
 * when not-ready cases sit between them), blocking until a case is ready,
 * non-blocking -1, NULL-channel cases that never fire, ncases 0, send and
 * receive cases mixed, the ok flag and zeroed element on a closed channel,
 * the same channel in several cases, and a woken select leaving no stale
 * waiter on the channels it did not choose.
 */
#include "harness.h"

/* ---- fairness ------------------------------------------------------------- */

/* Runs n non-blocking selects over recv cases on channels that are always
 * ready (refilled after each pick); counts picks per case. */
static void count_picks(chan_t **chans, int ncases, int n, int *counts, bool block)
{
    select_case cs[8];
    int vals[8];
    for (int i = 0; i < ncases; i++) {
        cs[i] = (select_case){ .c = chans[i], .dir = SELECT_RECV, .elem = &vals[i] };
        counts[i] = 0;
    }
    for (int k = 0; k < n; k++) {
        int i = chan_select(cs, ncases, block);
        if (i < 0 || i >= ncases) {
            CHECK(false, "chan_select returned %d", i);
            return;
        }
        counts[i]++;
        CHECK(cs[i].ok);
        CHECK_EQ(vals[i], i);
        h_send_int(chans[i], i);          /* refill */
    }
}

GTEST(fairness, two_ready_cases_split_evenly)
{
    chan_t *ch[2] = { h_chan_int(1), h_chan_int(1) };
    h_send_int(ch[0], 0);
    h_send_int(ch[1], 1);
    int counts[2], n = 10000;
    count_picks(ch, 2, n, counts, false);
    /* expected 5000 each, standard deviation 50: 4000..6000 is 20 sigma */
    CHECK(counts[0] > 4000 && counts[1] > 4000, "picks %d / %d", counts[0], counts[1]);
    count_picks(ch, 2, n, counts, true);
    CHECK(counts[0] > 4000 && counts[1] > 4000, "blocking picks %d / %d", counts[0], counts[1]);
    chan_free(ch[0]);
    chan_free(ch[1]);
}

GTEST(fairness, four_ready_cases_roughly_uniform)
{
    chan_t *ch[4];
    for (int i = 0; i < 4; i++) {
        ch[i] = h_chan_int(1);
        h_send_int(ch[i], i);
    }
    int counts[4], n = 20000;
    count_picks(ch, 4, n, counts, false);
    /* expected 5000 each, sd ~61 */
    for (int i = 0; i < 4; i++)
        CHECK(counts[i] > 4000 && counts[i] < 6000, "case %d picked %d of %d", i, counts[i], n);
    for (int i = 0; i < 4; i++)
        chan_free(ch[i]);
}

GTEST(fairness, uniform_among_ready_not_by_position)
{
    /* Cases: [empty, ready, ready, empty, empty, ready]. A "random start, then
     * scan in order" choice favours the ready case after the longest run of
     * empty ones (case 5 would get 3/6, case 2 only 1/6); Go's random
     * permutation gives each ready case 1/3. */
    chan_t *ch[6];
    for (int i = 0; i < 6; i++)
        ch[i] = h_chan_int(1);
    int ready[] = { 1, 2, 5 };
    int vals[6];
    select_case cs[6];
    for (int i = 0; i < 6; i++)
        cs[i] = (select_case){ .c = ch[i], .dir = SELECT_RECV, .elem = &vals[i] };
    for (int j = 0; j < 3; j++)
        h_send_int(ch[ready[j]], ready[j]);
    int counts[6] = { 0 }, n = 15000;
    for (int k = 0; k < n; k++) {
        int i = chan_select(cs, 6, false);
        if (i < 0 || i >= 6) {
            CHECK(false, "chan_select returned %d", i);
            break;
        }
        counts[i]++;
        h_send_int(ch[i], i);
    }
    CHECK_EQ(counts[0] + counts[3] + counts[4], 0);
    /* expected 5000 each, sd ~58 */
    for (int j = 0; j < 3; j++)
        CHECK(counts[ready[j]] > 4000 && counts[ready[j]] < 6000,
              "ready case %d picked %d of %d (%d/%d/%d)", ready[j], counts[ready[j]], n,
              counts[1], counts[2], counts[5]);
    for (int i = 0; i < 6; i++)
        chan_free(ch[i]);
}

GTEST(fairness, send_cases_split_evenly)
{
    chan_t *a = h_chan_int(1), *b = h_chan_int(1);
    int va = 1, vb = 2;
    select_case cs[2] = {
        { .c = a, .dir = SELECT_SEND, .elem = &va },
        { .c = b, .dir = SELECT_SEND, .elem = &vb },
    };
    int counts[2] = { 0, 0 };
    for (int k = 0; k < 10000; k++) {
        int i = chan_select(cs, 2, false);
        if (i < 0 || i > 1) {
            CHECK(false, "chan_select returned %d", i);
            break;
        }
        counts[i]++;
        CHECK_EQ(h_recv_int(i == 0 ? a : b), i == 0 ? 1 : 2);
    }
    CHECK(counts[0] > 4000 && counts[1] > 4000, "picks %d / %d", counts[0], counts[1]);
    chan_free(a);
    chan_free(b);
}

/* ---- non-blocking ---------------------------------------------------------- */

GTEST(nonblock, returns_minus_one_when_nothing_is_ready)
{
    chan_t *a = h_chan_int(0), *b = h_chan_int(1);
    h_send_int(b, 1);                     /* b is full: a send case is not ready */
    int x = 0, y = 5;
    select_case cs[2] = {
        { .c = a, .dir = SELECT_RECV, .elem = &x },
        { .c = b, .dir = SELECT_SEND, .elem = &y },
    };
    CHECK_EQ(chan_select(cs, 2, false), -1);
    CHECK_EQ(x, 0);
    CHECK_EQ(chan_len(b), 1);
    CHECK_EQ(chan_select(NULL, 0, false), -1);   /* ncases 0 */
    CHECK_EQ(chan_select(cs, 0, false), -1);
    chan_free(a);
    chan_free(b);
}

GTEST(nonblock, null_channel_cases_never_fire)
{
    int x = 7, y = 1;
    select_case cs[2] = {
        { .c = NULL, .dir = SELECT_RECV, .elem = &x },
        { .c = NULL, .dir = SELECT_SEND, .elem = &y },
    };
    for (int i = 0; i < 100; i++)
        CHECK_EQ(chan_select(cs, 2, false), -1);
    CHECK_EQ(x, 7);
    /* beside a ready case, only the ready case fires */
    chan_t *c = h_chan_int(1);
    select_case cs3[3] = {
        cs[0],
        { .c = c, .dir = SELECT_SEND, .elem = &y },
        cs[1],
    };
    CHECK_EQ(chan_select(cs3, 3, false), 1);
    CHECK_EQ(chan_select(cs3, 3, false), -1);     /* c is now full */
    CHECK_EQ(h_recv_int(c), 1);
    chan_free(c);
}

/* ---- blocking ---------------------------------------------------------------- */

static void send_after_20ms(void *arg)
{
    time_sleep(H_MS(20));
    h_send_int(arg, 1234);
}

GTEST(block, waits_for_a_sender)
{
    chan_t *a = h_chan_int(0), *b = h_chan_int(0);
    int x = 0, y = 0;
    select_case cs[3] = {
        { .c = a, .dir = SELECT_RECV, .elem = &x },
        { .c = NULL, .dir = SELECT_RECV, .elem = NULL },
        { .c = b, .dir = SELECT_RECV, .elem = &y },
    };
    go(send_after_20ms, b);
    int64_t t0 = h_now();
    int i = chan_select(cs, 3, true);
    int64_t took = h_now() - t0;
    CHECK_EQ(i, 2);
    CHECK_EQ(y, 1234);
    CHECK(cs[2].ok);
    CHECK_EQ(x, 0);
    CHECK_GE(took, H_MS(15));               /* it did wait for the sleeper */
    chan_free(a);
    chan_free(b);
}

static void recv_after_20ms(void *arg)
{
    time_sleep(H_MS(20));
    int v = h_recv_int(arg);
    CHECK_EQ(v, 4321);
}

GTEST(block, send_case_waits_for_a_receiver)
{
    chan_t *a = h_chan_int(0), *b = h_chan_int(0);
    int x = 0, y = 4321;
    select_case cs[2] = {
        { .c = a, .dir = SELECT_RECV, .elem = &x },
        { .c = b, .dir = SELECT_SEND, .elem = &y },
    };
    go(recv_after_20ms, b);
    CHECK_EQ(chan_select(cs, 2, true), 1);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    chan_free(a);
    chan_free(b);
}

struct sel_sender { chan_t *c; int v; };
static void sel_send_value(void *arg)
{
    struct sel_sender *s = arg;
    int v = s->v;
    select_case cs[1] = { { .c = s->c, .dir = SELECT_SEND, .elem = &v } };
    CHECK_EQ(chan_select(cs, 1, true), 0);
}

GTEST(block, select_sender_meets_select_receiver)
{
    chan_t *c = h_chan_int(0), *other = h_chan_int(0);
    struct sel_sender s = { .c = c, .v = 66 };
    for (int round = 0; round < 50; round++) {
        s.v = 66 + round;
        go(sel_send_value, &s);
        int x = 0;
        select_case cs[2] = {
            { .c = other, .dir = SELECT_RECV, .elem = NULL },
            { .c = c, .dir = SELECT_RECV, .elem = &x },
        };
        CHECK_EQ(chan_select(cs, 2, true), 1);
        CHECK_EQ(x, 66 + round);
        CHECK(cs[1].ok);
        /* The sender is woken but may still be inside chan_select, locking
         * c again to withdraw: s and c must outlive that (API.md: chan_free). */
        CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    }
    chan_free(c);
    chan_free(other);
}

static void close_after_10ms(void *arg)
{
    time_sleep(H_MS(10));
    chan_close(arg);
}

GTEST(block, closed_channel_gives_ok_false_and_zero)
{
    chan_t *a = h_chan_int(0), *b = h_chan_int(0);
    int x = 5, y = 6;
    select_case cs[2] = {
        { .c = a, .dir = SELECT_RECV, .elem = &x, .ok = true },
        { .c = b, .dir = SELECT_RECV, .elem = &y, .ok = true },
    };
    go(close_after_10ms, b);              /* wakes a parked select */
    CHECK_EQ(chan_select(cs, 2, true), 1);
    CHECK(!cs[1].ok);
    CHECK_EQ(y, 0);
    CHECK_EQ(x, 5);
    y = 8;
    cs[1].ok = true;
    CHECK_EQ(chan_select(cs, 2, false), 1);   /* closed is always ready */
    CHECK(!cs[1].ok);
    CHECK_EQ(y, 0);
    chan_free(a);
    chan_free(b);
}

GTEST(block, closed_buffered_delivers_values_then_ok_false)
{
    chan_t *c = h_chan_int(2);
    h_send_int(c, 10);
    chan_close(c);
    int x = 0;
    select_case cs[1] = { { .c = c, .dir = SELECT_RECV, .elem = &x } };
    CHECK_EQ(chan_select(cs, 1, true), 0);
    CHECK(cs[0].ok);
    CHECK_EQ(x, 10);
    CHECK_EQ(chan_select(cs, 1, true), 0);
    CHECK(!cs[0].ok);
    CHECK_EQ(x, 0);
    chan_free(c);
}

/* A select woken through one channel must leave nothing behind on the other:
 * afterwards nobody is receiving on b, so a try_send on b must fail. */
static atomic_int sel_result;
static void select_two(void *arg)
{
    chan_t **ch = arg;
    int x = 0, y = 0;
    select_case cs[2] = {
        { .c = ch[0], .dir = SELECT_RECV, .elem = &x },
        { .c = ch[1], .dir = SELECT_RECV, .elem = &y },
    };
    int i = chan_select(cs, 2, true);
    atomic_store(&sel_result, i == 0 ? x : -100 - y);
}

GTEST(block, woken_select_leaves_no_stale_waiter)
{
    chan_t *ch[2] = { h_chan_int(0), h_chan_int(0) };
    for (int round = 0; round < 20; round++) {
        atomic_store(&sel_result, 0);
        go(select_two, ch);
        h_send_int(ch[0], 1 + round);     /* blocks until the select takes it */
        CHECK(WAIT_UNTIL(atomic_load(&sel_result) != 0, 2000));
        CHECK_EQ(atomic_load(&sel_result), 1 + round);
        int v = 9;
        CHECK(!chan_try_send(ch[1], &v), "a send on the other channel found a stale receiver");
    }
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    chan_free(ch[0]);
    chan_free(ch[1]);
}

/* ---- the same channel in several cases ---------------------------------- */

GTEST(dup, same_channel_in_two_recv_cases)
{
    chan_t *c = h_chan_int(1);
    int x = -1, y = -1;
    select_case cs[2] = {
        { .c = c, .dir = SELECT_RECV, .elem = &x },
        { .c = c, .dir = SELECT_RECV, .elem = &y },
    };
    int counts[2] = { 0, 0 };
    for (int k = 0; k < 2000; k++) {
        h_send_int(c, k);
        int i = chan_select(cs, 2, k % 2);
        if (i < 0 || i > 1) {
            CHECK(false, "chan_select returned %d", i);
            break;
        }
        counts[i]++;
        CHECK_EQ(i == 0 ? x : y, k);
    }
    CHECK(counts[0] > 700 && counts[1] > 700, "picks %d / %d", counts[0], counts[1]);
    CHECK_EQ(chan_len(c), 0);
    chan_free(c);
}

GTEST(dup, same_channel_blocking_woken_by_sender)
{
    chan_t *c = h_chan_int(0);
    for (int round = 0; round < 3; round++) {
        go(send_after_20ms, c);
        int x = 0, y = 0;
        select_case cs[3] = {
            { .c = c, .dir = SELECT_RECV, .elem = &x },
            { .c = c, .dir = SELECT_RECV, .elem = &y },
            { .c = NULL, .dir = SELECT_SEND, .elem = &x },
        };
        int i = chan_select(cs, 3, true);
        CHECK(i == 0 || i == 1, "returned %d", i);
        CHECK_EQ(x + y, 1234);
    }
    chan_free(c);
}

GTEST(dup, send_and_recv_case_on_one_buffered_channel)
{
    chan_t *c = h_chan_int(1);
    int in = 3, out = 0;
    select_case cs[2] = {
        { .c = c, .dir = SELECT_SEND, .elem = &in },
        { .c = c, .dir = SELECT_RECV, .elem = &out },
    };
    /* empty: only the send is ready; full: only the receive */
    CHECK_EQ(chan_select(cs, 2, true), 0);
    CHECK_EQ(chan_len(c), 1);
    CHECK_EQ(chan_select(cs, 2, true), 1);
    CHECK_EQ(out, 3);
    CHECK_EQ(chan_len(c), 0);
    chan_free(c);
}

/* ---- no cases / only NULL cases block forever ------------------------------- */

static atomic_int forever_returned;
static void select_nothing(void *arg)
{
    chan_select(NULL, 0, true);
    atomic_store(&forever_returned, 1);
}
static void select_only_nil(void *arg)
{
    int x;
    select_case cs[2] = {
        { .c = NULL, .dir = SELECT_RECV, .elem = &x },
        { .c = NULL, .dir = SELECT_SEND, .elem = &x },
    };
    chan_select(cs, 2, true);
    atomic_store(&forever_returned, 2);
}

GTEST(block, no_cases_and_nil_cases_block_forever)
{
    atomic_store(&forever_returned, 0);
    go(select_nothing, NULL);
    go(select_only_nil, NULL);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 3, 1000));
    time_sleep(H_MS(30));
    CHECK_EQ(atomic_load(&forever_returned), 0);
}

/* ---- many selectors on one channel -------------------------------------------- */

static void select_recv_sum(void *arg)
{
    chan_t **ch = arg;   /* ch[0] data, ch[1] quit, ch[2] result */
    long sum = 0;
    for (;;) {
        int v = 0;
        select_case cs[2] = {
            { .c = ch[0], .dir = SELECT_RECV, .elem = &v },
            { .c = ch[1], .dir = SELECT_RECV, .elem = NULL },
        };
        int i = chan_select(cs, 2, true);
        if (i == 1 || !cs[0].ok)
            break;
        sum += v;
    }
    int s = (int)sum;
    chan_send(ch[2], &s);
}

GTEST(block, many_selecting_receivers_share_the_values)
{
    chan_t *ch[3] = { h_chan_int(0), h_chan_int(0), h_chan_int(8) };
    for (int i = 0; i < 8; i++)
        go(select_recv_sum, ch);
    long want = 0;
    for (int v = 1; v <= 2000; v++) {
        h_send_int(ch[0], v);
        want += v;
    }
    chan_close(ch[1]);
    long got = 0;
    for (int i = 0; i < 8; i++)
        got += h_recv_int(ch[2]);
    CHECK_EQ(got, want);
    for (int i = 0; i < 3; i++)
        chan_free(ch[i]);
}
