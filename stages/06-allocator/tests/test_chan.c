/*
 * test_chan.c: channels. Unbuffered and buffered send/receive, elem_size 0 and
 * odd or large element sizes, close semantics (drain, then false with a zeroed
 * element; every blocked receiver woken), elem NULL dropping a value,
 * chan_try_send/chan_try_recv, chan_len/chan_cap, FIFO order of waiting
 * senders and receivers, and the NULL (nil) channel that blocks forever.
 */
#include "harness.h"

/* ---- unbuffered ------------------------------------------------------------ */

static atomic_int sent_flag;
static void send_then_flag(void *arg)
{
    h_send_int(arg, 5);
    atomic_store(&sent_flag, 1);
}

GTEST(unbuffered, send_blocks_until_received)
{
    atomic_store(&sent_flag, 0);
    chan_t *c = h_chan_int(0);
    go(send_then_flag, c);
    time_sleep(H_MS(20));
    CHECK_EQ(atomic_load(&sent_flag), 0);     /* nobody received yet */
    CHECK_EQ(chan_len(c), 0);
    CHECK_EQ(h_recv_int(c), 5);
    CHECK(WAIT_UNTIL(atomic_load(&sent_flag) == 1, 2000), "sender never resumed");
    chan_free(c);
}

static atomic_int got_value;
static void recv_then_flag(void *arg)
{
    int v = -1;
    bool ok = chan_recv(arg, &v);
    atomic_store(&got_value, ok ? v : -2);
}

GTEST(unbuffered, recv_blocks_until_sent)
{
    atomic_store(&got_value, 0);
    chan_t *c = h_chan_int(0);
    go(recv_then_flag, c);
    time_sleep(H_MS(20));
    CHECK_EQ(atomic_load(&got_value), 0);
    h_send_int(c, 77);                         /* returns once received */
    CHECK(WAIT_UNTIL(atomic_load(&got_value) != 0, 2000), "receiver never resumed");
    CHECK_EQ(atomic_load(&got_value), 77);
    chan_free(c);
}

static void count_up(void *arg)
{
    for (int i = 0; i < 2000; i++)
        h_send_int(arg, i);
    chan_close(arg);
}

GTEST(unbuffered, values_arrive_in_order)
{
    chan_t *c = h_chan_int(0);
    go(count_up, c);
    int v, want = 0, bad = 0;
    while (chan_recv(c, &v))
        bad += v != want++;
    CHECK_EQ(bad, 0);
    CHECK_EQ(want, 2000);
    chan_free(c);
}

/* ---- buffered -------------------------------------------------------------- */

GTEST(buffered, fills_without_blocking_and_keeps_fifo_order)
{
    chan_t *c = h_chan_int(3);
    CHECK_EQ(chan_cap(c), 3);
    CHECK_EQ(chan_len(c), 0);
    h_send_int(c, 1);
    CHECK_EQ(chan_len(c), 1);
    h_send_int(c, 2);
    h_send_int(c, 3);   /* would deadlock if a buffered send blocked */
    CHECK_EQ(chan_len(c), 3);
    int v = 4;
    CHECK(!chan_try_send(c, &v), "try_send on a full channel succeeded");
    CHECK_EQ(chan_len(c), 3);
    CHECK_EQ(h_recv_int(c), 1);
    CHECK_EQ(chan_len(c), 2);
    CHECK_EQ(h_recv_int(c), 2);
    CHECK_EQ(h_recv_int(c), 3);
    CHECK_EQ(chan_len(c), 0);
    CHECK_EQ(chan_cap(c), 3);
    chan_free(c);
}

GTEST(buffered, wraps_around_the_ring)
{
    chan_t *c = h_chan_int(5);
    int next_in = 0, next_out = 0, bad = 0;
    for (int round = 0; round < 200; round++) {
        int k = 1 + round % 5;
        for (int i = 0; i < k; i++)
            h_send_int(c, next_in++);
        for (int i = 0; i < k; i++)
            bad += h_recv_int(c) != next_out++;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(chan_len(c), 0);
    chan_free(c);
}

static atomic_int fourth_sent;
static void send_four(void *arg)
{
    for (int i = 1; i <= 4; i++)
        h_send_int(arg, i);
    atomic_store(&fourth_sent, 1);
}

GTEST(buffered, send_blocks_when_full)
{
    atomic_store(&fourth_sent, 0);
    chan_t *c = h_chan_int(3);
    go(send_four, c);
    CHECK(WAIT_UNTIL(chan_len(c) == 3, 2000), "len %zu", chan_len(c));
    time_sleep(H_MS(20));
    CHECK_EQ(atomic_load(&fourth_sent), 0);
    CHECK_EQ(chan_len(c), 3);
    CHECK_EQ(h_recv_int(c), 1);
    CHECK(WAIT_UNTIL(atomic_load(&fourth_sent) == 1, 2000), "the blocked sender never resumed");
    CHECK_EQ(chan_len(c), 3);
    CHECK_EQ(h_recv_int(c), 2);
    CHECK_EQ(h_recv_int(c), 3);
    CHECK_EQ(h_recv_int(c), 4);
    chan_free(c);
}

static void producer_1000(void *arg)
{
    for (int i = 0; i < 1000; i++)
        h_send_int(arg, i);
}

GTEST(buffered, producer_consumer_in_order)
{
    chan_t *c = h_chan_int(7);
    go(producer_1000, c);
    int bad = 0;
    for (int i = 0; i < 1000; i++)
        bad += h_recv_int(c) != i;
    CHECK_EQ(bad, 0);
    chan_free(c);
}

/* ---- waiters are served first in, first out ------------------------------- */

struct tagged { chan_t *c; int value; atomic_llong id; };

static void tagged_sender(void *arg)
{
    struct tagged *t = arg;
    atomic_store(&t->id, goid());
    h_send_int(t->c, t->value);
}

GTEST(buffered, blocked_senders_queue_behind_the_buffer)
{
    chan_t *c = h_chan_int(2);
    h_send_int(c, 1);
    h_send_int(c, 2);
    struct tagged a = { .c = c, .value = 3 }, b = { .c = c, .value = 4 };
    atomic_store(&a.id, 0);
    atomic_store(&b.id, 0);
    go(tagged_sender, &a);
    CHECK(WAIT_UNTIL(atomic_load(&a.id) != 0, 2000));
    CHECK(h_wait_parked(atomic_load(&a.id), "chan send", 2000), "sender 3 never parked");
    go(tagged_sender, &b);
    CHECK(WAIT_UNTIL(atomic_load(&b.id) != 0, 2000));
    CHECK(h_wait_parked(atomic_load(&b.id), "chan send", 2000), "sender 4 never parked");
    for (int want = 1; want <= 4; want++)
        CHECK_EQ(h_recv_int(c), want);
    CHECK_EQ(chan_len(c), 0);
    chan_free(c);
}

struct tagged_rx { chan_t *c; chan_t *report; atomic_llong id; int order; };

static void tagged_receiver(void *arg)
{
    struct tagged_rx *t = arg;
    atomic_store(&t->id, goid());
    int v = h_recv_int(t->c);
    h_send_int(t->report, t->order * 100 + v);
}

GTEST(unbuffered, blocked_receivers_are_served_in_order)
{
    chan_t *c = h_chan_int(0), *report = h_chan_int(2);
    struct tagged_rx r1 = { .c = c, .report = report, .order = 1 };
    struct tagged_rx r2 = { .c = c, .report = report, .order = 2 };
    atomic_store(&r1.id, 0);
    atomic_store(&r2.id, 0);
    go(tagged_receiver, &r1);
    CHECK(WAIT_UNTIL(atomic_load(&r1.id) != 0, 2000));
    CHECK(h_wait_parked(atomic_load(&r1.id), "chan receive", 2000), "receiver 1 never parked");
    go(tagged_receiver, &r2);
    CHECK(WAIT_UNTIL(atomic_load(&r2.id) != 0, 2000));
    CHECK(h_wait_parked(atomic_load(&r2.id), "chan receive", 2000), "receiver 2 never parked");
    h_send_int(c, 10);   /* goes to receiver 1 */
    h_send_int(c, 20);   /* goes to receiver 2 */
    int x = h_recv_int(report), y = h_recv_int(report);
    CHECK((x == 110 && y == 220) || (x == 220 && y == 110), "reports %d and %d", x, y);
    chan_free(c);
    chan_free(report);
}

/* ---- element sizes ------------------------------------------------------- */

struct big { unsigned char bytes[1000]; };

static void fill_big(struct big *b, int seed)
{
    for (int i = 0; i < 1000; i++)
        b->bytes[i] = (unsigned char)(seed * 31 + i * 7);
}

static bool big_ok(const struct big *b, int seed)
{
    for (int i = 0; i < 1000; i++)
        if (b->bytes[i] != (unsigned char)(seed * 31 + i * 7))
            return false;
    return true;
}

static void send_bigs(void *arg)
{
    struct big b;
    for (int s = 0; s < 20; s++) {
        fill_big(&b, s);
        chan_send(arg, &b);
        memset(&b, 0, sizeof b);    /* the channel must have copied it */
    }
}

static void check_bigs(chan_t *c)
{
    go(send_bigs, c);
    int bad = 0;
    for (int s = 0; s < 20; s++) {
        struct big b;
        memset(&b, 0xEE, sizeof b);
        CHECK(chan_recv(c, &b));
        bad += !big_ok(&b, s);
    }
    CHECK_EQ(bad, 0);
}

GTEST(elem, large_elements_copy_whole)
{
    chan_t *u = chan_make(sizeof(struct big), 0);
    check_bigs(u);
    chan_free(u);
    chan_t *b = chan_make(sizeof(struct big), 3);
    check_bigs(b);
    chan_free(b);
}

GTEST(elem, odd_sizes_do_not_spill)
{
    /* 3-byte elements: the bytes around the destination must stay intact */
    chan_t *c = chan_make(3, 4);
    unsigned char in[3] = { 0x11, 0x22, 0x33 };
    chan_send(c, in);
    in[0] = 0x44;
    chan_send(c, in);
    unsigned char out[7];
    memset(out, 0xAA, sizeof out);
    CHECK(chan_recv(c, out + 2));
    CHECK(out[0] == 0xAA && out[1] == 0xAA && out[5] == 0xAA && out[6] == 0xAA);
    CHECK(out[2] == 0x11 && out[3] == 0x22 && out[4] == 0x33);
    CHECK(chan_recv(c, out + 2));
    CHECK(out[2] == 0x44 && out[3] == 0x22 && out[4] == 0x33 && out[5] == 0xAA);
    chan_free(c);
}

static void send_empty(void *arg)
{
    char dummy = 0;
    for (int i = 0; i < 10; i++)
        chan_send(arg, &dummy);
    chan_close(arg);
}

GTEST(elem, size_zero_unbuffered)
{
    chan_t *c = chan_make(0, 0);
    CHECK_EQ(chan_cap(c), 0);
    go(send_empty, c);
    int n = 0;
    char probe = 0x5A;
    while (chan_recv(c, n % 2 ? &probe : NULL))
        n++;
    CHECK_EQ(n, 10);
    CHECK_EQ(probe, 0x5A);      /* nothing was written through a 0-byte element */
    chan_free(c);
}

GTEST(elem, size_zero_buffered_counts)
{
    chan_t *c = chan_make(0, 3);
    char dummy = 0;
    CHECK_EQ(chan_cap(c), 3);
    CHECK(chan_try_send(c, &dummy));
    chan_send(c, &dummy);
    chan_send(c, &dummy);
    CHECK_EQ(chan_len(c), 3);
    CHECK(!chan_try_send(c, &dummy), "try_send on a full zero-size channel succeeded");
    CHECK(chan_recv(c, NULL));
    CHECK_EQ(chan_len(c), 2);
    bool ok = false;
    CHECK(chan_try_recv(c, &dummy, &ok));
    CHECK(ok);
    chan_close(c);
    CHECK(chan_recv(c, NULL));            /* the last one is still delivered */
    CHECK(!chan_recv(c, NULL));           /* then closed */
    chan_free(c);
}

/* ---- close ---------------------------------------------------------------- */

GTEST(close, recv_on_closed_returns_false_and_zeroes)
{
    chan_t *c = h_chan_int(0);
    chan_close(c);
    int v = 12345;
    CHECK(!chan_recv(c, &v));
    CHECK_EQ(v, 0);
    v = 777;
    CHECK(!chan_recv(c, &v));             /* and again, forever */
    CHECK_EQ(v, 0);
    CHECK(!chan_recv(c, NULL));
    chan_free(c);

    chan_t *b = chan_make(sizeof(struct big), 2);
    chan_close(b);
    struct big x;
    memset(&x, 0xCD, sizeof x);
    CHECK(!chan_recv(b, &x));
    int nonzero = 0;
    for (int i = 0; i < 1000; i++)
        nonzero += x.bytes[i] != 0;
    CHECK_EQ(nonzero, 0);
    chan_free(b);
}

GTEST(close, buffered_values_drain_before_false)
{
    chan_t *c = h_chan_int(4);
    h_send_int(c, 1);
    h_send_int(c, 2);
    h_send_int(c, 3);
    chan_close(c);
    CHECK_EQ(chan_len(c), 3);
    CHECK_EQ(chan_cap(c), 4);
    int v = -1;
    CHECK(chan_recv(c, &v));
    CHECK_EQ(v, 1);
    CHECK(chan_recv(c, NULL));            /* 2 dropped */
    bool ok = false;
    CHECK(chan_try_recv(c, &v, &ok));
    CHECK(ok);
    CHECK_EQ(v, 3);
    v = 99;
    CHECK(!chan_recv(c, &v));
    CHECK_EQ(v, 0);
    CHECK_EQ(chan_len(c), 0);
    chan_free(c);
}

static atomic_int woken_false;
static void recv_expect_closed(void *arg)
{
    int v = 1234;
    bool ok = chan_recv(arg, &v);
    if (!ok && v == 0)
        atomic_fetch_add(&woken_false, 1);
    else
        atomic_fetch_add(&woken_false, 1000);
}

GTEST(close, wakes_every_blocked_receiver)
{
    atomic_store(&woken_false, 0);
    chan_t *c = h_chan_int(0);
    for (int i = 0; i < 20; i++)
        go(recv_expect_closed, c);
    time_sleep(H_MS(10));
    CHECK_EQ(atomic_load(&woken_false), 0);
    chan_close(c);
    CHECK(WAIT_UNTIL(atomic_load(&woken_false) >= 20, 2000), "woken %d", atomic_load(&woken_false));
    CHECK_EQ(atomic_load(&woken_false), 20);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    chan_free(c);
}

GTEST(close, try_recv_on_closed_fires_with_ok_false)
{
    chan_t *c = h_chan_int(1);
    chan_close(c);
    int v = 55;
    bool ok = true;
    CHECK(chan_try_recv(c, &v, &ok), "try_recv on a closed channel did not fire");
    CHECK(!ok);
    CHECK_EQ(v, 0);
    CHECK(chan_try_recv(c, NULL, NULL));
    chan_free(c);
}

/* ---- elem NULL drops ------------------------------------------------------- */

static void send_1_2(void *arg)
{
    h_send_int(arg, 1);
    h_send_int(arg, 2);
}

GTEST(recv, null_elem_drops_the_value)
{
    chan_t *b = h_chan_int(2);
    h_send_int(b, 1);
    h_send_int(b, 2);
    CHECK(chan_recv(b, NULL));
    CHECK_EQ(chan_len(b), 1);
    CHECK_EQ(h_recv_int(b), 2);
    chan_free(b);

    chan_t *u = h_chan_int(0);
    go(send_1_2, u);
    CHECK(chan_recv(u, NULL));            /* from a parked or arriving sender */
    CHECK_EQ(h_recv_int(u), 2);
    chan_free(u);
}

/* ---- try_send / try_recv ---------------------------------------------------- */

GTEST(try, send_and_recv_on_empty_unbuffered_fail)
{
    chan_t *c = h_chan_int(0);
    int v = 1;
    CHECK(!chan_try_send(c, &v));
    bool ok = true;
    v = 42;
    CHECK(!chan_try_recv(c, &v, &ok));
    CHECK_EQ(v, 42);                      /* untouched when the case did not fire */
    CHECK(!chan_try_recv(c, NULL, NULL));
    chan_free(c);
}

GTEST(try, send_reaches_a_parked_receiver)
{
    atomic_store(&got_value, 0);
    chan_t *c = h_chan_int(0);
    go(recv_then_flag, c);
    int v = 31;
    int64_t deadline = h_now() + H_SEC(2) * H_SLOW;
    bool sent = false;
    while (!(sent = chan_try_send(c, &v)) && h_now() < deadline)
        time_sleep(H_MS(1));
    CHECK(sent, "try_send never found the parked receiver");
    CHECK(WAIT_UNTIL(atomic_load(&got_value) != 0, 2000));
    CHECK_EQ(atomic_load(&got_value), 31);
    chan_free(c);
}

static void send_9(void *arg) { h_send_int(arg, 9); }

GTEST(try, recv_takes_from_a_parked_sender)
{
    chan_t *c = h_chan_int(0);
    go(send_9, c);
    int v = 0;
    bool ok = false, got = false;
    int64_t deadline = h_now() + H_SEC(2) * H_SLOW;
    while (!(got = chan_try_recv(c, &v, &ok)) && h_now() < deadline)
        time_sleep(H_MS(1));
    CHECK(got, "try_recv never found the parked sender");
    CHECK(ok);
    CHECK_EQ(v, 9);
    chan_free(c);
}

GTEST(try, buffered_space_and_values)
{
    chan_t *c = h_chan_int(2);
    int v = 1;
    CHECK(chan_try_send(c, &v));
    v = 2;
    CHECK(chan_try_send(c, &v));
    v = 3;
    CHECK(!chan_try_send(c, &v));
    bool ok = false;
    v = 0;
    CHECK(chan_try_recv(c, &v, &ok));
    CHECK(ok);
    CHECK_EQ(v, 1);
    CHECK(chan_try_recv(c, NULL, NULL));
    CHECK(!chan_try_recv(c, &v, &ok));
    CHECK_EQ(chan_len(c), 0);
    chan_free(c);
}

/* ---- len / cap -------------------------------------------------------------- */

GTEST(len_cap, unbuffered_and_null)
{
    chan_t *c = h_chan_int(0);
    CHECK_EQ(chan_len(c), 0);
    CHECK_EQ(chan_cap(c), 0);
    chan_free(c);
    CHECK_EQ(chan_len(NULL), 0);          /* len(nil chan) == 0 in Go */
    CHECK_EQ(chan_cap(NULL), 0);
    chan_t *big = chan_make(8, 1000);
    CHECK_EQ(chan_cap(big), 1000);
    int64_t x = 1;
    for (int i = 0; i < 600; i++)
        chan_send(big, &x);
    CHECK_EQ(chan_len(big), 600);
    chan_free(big);
}

/* ---- the NULL (nil) channel ----------------------------------------------- */

static atomic_int nil_returned;
static void nil_sender(void *arg)
{
    int v = 1;
    chan_send(NULL, &v);
    atomic_store(&nil_returned, 1);
}
static void nil_receiver(void *arg)
{
    int v;
    chan_recv(NULL, &v);
    atomic_store(&nil_returned, 2);
}

GTEST(nil_chan, try_ops_never_fire)
{
    int v = 3;
    bool ok = true;
    CHECK(!chan_try_send(NULL, &v));
    CHECK(!chan_try_recv(NULL, &v, &ok));
    CHECK_EQ(v, 3);
}

GTEST(nil_chan, send_and_recv_block_forever)
{
    atomic_store(&nil_returned, 0);
    go(nil_sender, NULL);
    go(nil_receiver, NULL);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 3, 1000));
    time_sleep(H_MS(30));
    CHECK_EQ(atomic_load(&nil_returned), 0);
    CHECK_EQ(runtime_num_goroutine(), 3);
    /* main returns; the two are abandoned and runtime_main still returns */
}

/* ---- chan_free ------------------------------------------------------------- */

GTEST(free, frees_in_any_state)
{
    chan_t *a = h_chan_int(0);
    chan_free(a);
    chan_t *b = h_chan_int(4);
    h_send_int(b, 1);
    h_send_int(b, 2);
    chan_free(b);                         /* with values still buffered */
    chan_t *c = h_chan_int(1);
    chan_close(c);
    chan_free(c);
    chan_t *z = chan_make(0, 0);
    chan_free(z);
    chan_t *after = h_chan_int(1);        /* the allocator still works */
    h_send_int(after, 8);
    CHECK_EQ(h_recv_int(after), 8);
    chan_free(after);
}
