/*
 * test_observe.c: runtime_print_goroutines (Go's dump format: header with the
 * wait reason, the function, "created by <caller> in goroutine N" and the
 * go() call's file:line; every wait reason of stage 1; every goroutine listed),
 * runtime_leak_check (0 when goroutines exit in time, the count and the
 * creation site when they do not, the whole timeout spent), metrics_read
 * (each stage-1 metric, METRIC_BAD for unknown names) and
 * runtime_read_mem_stats (stack figures).
 */
#include "harness.h"

static int64_t count_headers(const char *dump)
{
    int64_t n = 0;
    for (const char *p = dump; (p = strstr(p, "goroutine ")) != NULL; p++) {
        if (p != dump && p[-1] != '\n')
            continue;
        const char *q = p + 10;
        const char *d = q;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > d && q[0] == ' ' && q[1] == '[')
            n++;
    }
    return n;
}

/* ---- runtime_print_goroutines ------------------------------------------- */

static atomic_llong parked_id;
static void blocked_receiver(void *arg)
{
    atomic_store(&parked_id, goid());
    int v;
    chan_recv(arg, &v);
}

GTEST(dump, shows_a_parked_receiver_as_go_does)
{
    atomic_store(&parked_id, 0);
    chan_t *c = h_chan_int(0);
    go(blocked_receiver, c); const int go_line = __LINE__;
    CHECK(WAIT_UNTIL(atomic_load(&parked_id) != 0, 2000));
    int64_t id = atomic_load(&parked_id);
    CHECK(h_wait_parked(id, "chan receive", 2000), "goroutine %lld never showed as [chan receive",
          (long long)id);
    char *d = h_dump();
    char *b = h_dump_block(d, id);
    CHECK(b != NULL, "no block for goroutine %lld in:\n%s", (long long)id, d);
    if (b != NULL) {
        char want[160];
        snprintf(want, sizeof want, "goroutine %lld [chan receive]:\n", (long long)id);
        CHECK(strncmp(b, want, strlen(want)) == 0, "header is not \"%s\":\n%s", want, b);
        CHECK(strstr(b, "blocked_receiver(") != NULL, "no function name:\n%s", b);
        snprintf(want, sizeof want, "created by %s in goroutine 1", __func__);
        CHECK(strstr(b, want) != NULL, "no \"%s\":\n%s", want, b);
        snprintf(want, sizeof want, "test_observe.c:%d", go_line);
        CHECK(strstr(b, want) != NULL, "no go() call site \"%s\":\n%s", want, b);
        /* Go's order: function, then "created by", then the site below it */
        const char *fn = strstr(b, "blocked_receiver("), *cb = strstr(b, "created by "),
                   *site = strstr(b, want);
        CHECK(fn && cb && site && fn < cb && cb < site, "lines out of Go's order:\n%s", b);
    }
    free(b);
    /* the caller is listed too, running, as goroutine 1 running main */
    b = h_dump_block(d, 1);
    CHECK(b != NULL, "goroutine 1 missing:\n%s", d);
    if (b != NULL) {
        CHECK(strncmp(b, "goroutine 1 [running]:\n", 23) == 0, "goroutine 1's header:\n%s", b);
        CHECK(strstr(b, "main(") != NULL, "goroutine 1 does not show main(:\n%s", b);
    }
    free(b);
    free(d);
    h_send_int(c, 0);
    chan_free(c);
}

/* The block of the dump whose function line starts with fn (e.g. "worker("),
 * malloc'd, or NULL. */
static char *block_running(const char *dump, const char *fn)
{
    for (const char *p = dump; p != NULL;) {
        long long id;
        if (sscanf(p, "goroutine %lld [", &id) == 1) {
            char *b = h_dump_block(dump, id);
            const char *nl = b ? strchr(b, '\n') : NULL;
            if (nl && strncmp(nl + 1, fn, strlen(fn)) == 0)
                return b;
            free(b);
        }
        p = strstr(p, "\ngoroutine ");
        if (p != NULL)
            p++;
    }
    return NULL;
}

static void not_yet_run(void *arg)
{
    int v;
    chan_recv(arg, &v);
}

GTEST(dump, a_new_goroutine_is_runnable)
{
    chan_t *c = h_chan_int(0);
    go(not_yet_run, c);
    char *d = h_dump();                 /* main has not yielded since go() */
    char *b = block_running(d, "not_yet_run(");
    CHECK(b != NULL, "no block running not_yet_run( in:\n%s", d);
    if (b != NULL && runtime_gomaxprocs(0) == 1)
        CHECK(strstr(b, " [runnable]:\n") != NULL, "at GOMAXPROCS=1 it cannot have run yet:\n%s", b);
    free(b);
    free(d);
    h_send_int(c, 1);
    chan_free(c);
}

/* "created by F in goroutine N" names the creating goroutine, not always 1. */
static atomic_llong spawner_id, grandchild_id;
static void grandchild(void *arg)
{
    atomic_store(&grandchild_id, goid());
    int v;
    chan_recv(arg, &v);
}
static void spawner(void *arg)
{
    atomic_store(&spawner_id, goid());
    go(grandchild, arg);
}

GTEST(dump, created_by_names_the_creating_goroutine)
{
    atomic_store(&spawner_id, 0);
    atomic_store(&grandchild_id, 0);
    chan_t *c = h_chan_int(0);
    go(spawner, c);
    CHECK(WAIT_UNTIL(atomic_load(&grandchild_id) != 0, 2000));
    int64_t id = atomic_load(&grandchild_id);
    CHECK(h_wait_parked(id, "chan receive", 2000));
    char *d = h_dump();
    char *b = h_dump_block(d, id);
    char want[96];
    snprintf(want, sizeof want, "created by spawner in goroutine %lld", (long long)atomic_load(&spawner_id));
    CHECK(b != NULL && strstr(b, want) != NULL, "no \"%s\" in:\n%s", want, b ? b : d);
    free(b);
    free(d);
    h_send_int(c, 1);
    chan_free(c);
}

/* One goroutine per wait reason. Each records its id, then blocks. */
enum { W_SEND, W_RECV_NIL, W_SEND_NIL, W_SELECT, W_SELECT_NONE, W_SLEEP, W_MUTEX, W_WG, W_N };
static const char *const reasons[W_N] = {
    "chan send", "chan receive (nil chan)", "chan send (nil chan)", "select",
    "select (no cases)", "sleep", "sync.Mutex.Lock", "sync.WaitGroup.Wait",
};
static atomic_llong wait_ids[W_N];
static chan_t *w_chan, *w_chan2;
static sync_mutex w_mu;
static sync_waitgroup w_wg;

static void waiter(void *arg)
{
    intptr_t k = (intptr_t)arg;
    atomic_store(&wait_ids[k], goid());
    int v = 1;
    switch (k) {
    case W_SEND: chan_send(w_chan, &v); break;
    case W_RECV_NIL: chan_recv(NULL, &v); break;
    case W_SEND_NIL: chan_send(NULL, &v); break;
    case W_SELECT: {
        select_case cs[2] = {
            { .c = w_chan2, .dir = SELECT_RECV, .elem = &v },
            { .c = NULL, .dir = SELECT_SEND, .elem = &v },
        };
        chan_select(cs, 2, true);
        break;
    }
    case W_SELECT_NONE: chan_select(NULL, 0, true); break;
    case W_SLEEP: time_sleep(H_SEC(20)); break;
    case W_MUTEX: sync_mutex_lock(&w_mu); sync_mutex_unlock(&w_mu); break;
    case W_WG: sync_wg_wait(&w_wg); break;
    }
}

GTEST(dump, uses_gos_wait_reasons)
{
    w_chan = h_chan_int(0);
    w_chan2 = h_chan_int(0);
    memset(&w_mu, 0, sizeof w_mu);
    memset(&w_wg, 0, sizeof w_wg);
    sync_mutex_lock(&w_mu);
    sync_wg_add(&w_wg, 1);
    for (intptr_t k = 0; k < W_N; k++) {
        atomic_store(&wait_ids[k], 0);
        go(waiter, (void *)k);
    }
    for (int k = 0; k < W_N; k++) {
        CHECK(WAIT_UNTIL(atomic_load(&wait_ids[k]) != 0, 2000), "waiter %d never ran", k);
        CHECK(h_wait_parked(atomic_load(&wait_ids[k]), reasons[k], 2000),
              "goroutine %lld never showed as [%s]", (long long)atomic_load(&wait_ids[k]), reasons[k]);
    }
    char *d = h_dump();
    CHECK_EQ(count_headers(d), 1 + W_N);
    for (int k = 0; k < W_N; k++) {
        char *b = h_dump_block(d, atomic_load(&wait_ids[k]));
        CHECK(b != NULL && strstr(b, "waiter(") != NULL, "block for %s:\n%s", reasons[k], b ? b : d);
        free(b);
    }
    free(d);
    /* release the ones that can be released */
    int v;
    CHECK(chan_recv(w_chan, &v));
    h_send_int(w_chan2, 2);
    sync_mutex_unlock(&w_mu);
    sync_wg_done(&w_wg);
    /* left: two nil-channel waiters, select (no cases) and the sleeper */
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 5, 2000), "%d goroutines", runtime_num_goroutine());
    chan_free(w_chan);
    chan_free(w_chan2);
}

static void park_on(void *arg)
{
    int v;
    chan_recv(arg, &v);
}

GTEST(dump, lists_every_goroutine)
{
    chan_t *c = h_chan_int(0);
    for (int i = 0; i < 50; i++)
        go(park_on, c);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 51, 2000));
    char *d = h_dump();
    CHECK_EQ(count_headers(d), 51);
    free(d);
    chan_close(c);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    d = h_dump();
    CHECK_EQ(count_headers(d), 1);
    free(d);
    chan_free(c);
}

GTEST(dump, to_a_real_file)
{
    FILE *f = tmpfile();
    REQUIRE(f != NULL);
    runtime_print_goroutines(f);
    fflush(f);
    char *s = h_slurp(f);
    fclose(f);
    CHECK(strstr(s, "goroutine 1 [running]:") != NULL, "dump:\n%s", s);
    free(s);
}

/* ---- runtime_leak_check ------------------------------------------------------ */

static void exit_after_20ms(void *arg) { time_sleep(H_MS(20)); }

GTEST(leak_check, zero_when_goroutines_exit_in_time)
{
    CHECK_EQ(runtime_leak_check(0, NULL), 0);       /* main alone: nothing to wait for */
    for (int i = 0; i < 3; i++)
        go(exit_after_20ms, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int64_t t0 = h_now();
    int n = runtime_leak_check(H_SEC(3), f);
    int64_t took = h_now() - t0;
    fclose(f);
    CHECK_EQ(n, 0);
    CHECK(took < H_MS(2500) * H_SLOW, "leak_check took %.3f s though all exited after 20 ms",
          took / 1e9);
    CHECK(strstr(buf, "goroutine ") == NULL, "report for no leak:\n%s", buf);
    free(buf);
}

static void leaky_worker(void *arg)
{
    int v;
    chan_recv(arg, &v);
}

GTEST(leak_check, counts_and_reports_the_creation_site)
{
    chan_t *c = h_chan_int(0);
    go(leaky_worker, c); const int go_line = __LINE__;
    go(leaky_worker, c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int64_t t0 = h_now();
    int n = runtime_leak_check(H_MS(50), f);
    int64_t took = h_now() - t0;
    fclose(f);
    CHECK_EQ(n, 2);
    CHECK_GE(took, H_MS(50));                       /* the whole timeout when some remain */
    CHECK(strstr(buf, "leaky_worker(") != NULL, "report:\n%s", buf);
    char site[64];
    snprintf(site, sizeof site, "test_observe.c:%d", go_line);
    CHECK(strstr(buf, site) != NULL, "report lacks %s:\n%s", site, buf);
    CHECK_EQ(count_headers(buf), 2);                /* the caller is not reported */
    free(buf);
    CHECK_EQ(runtime_leak_check(0, NULL), 2);       /* NULL report is allowed */
    chan_close(c);
    CHECK_EQ(runtime_leak_check(H_SEC(2), NULL), 0);
    chan_free(c);
}

static void sleep_50ms(void *arg) { time_sleep(H_MS(50)); }

GTEST(leak_check, waits_for_late_exits)
{
    go(sleep_50ms, NULL);
    go(sleep_50ms, NULL);
    int64_t t0 = h_now();
    CHECK_EQ(runtime_leak_check(H_SEC(5), NULL), 0);
    CHECK_GE(h_now() - t0, H_MS(40));
}

/* ---- metrics_read ---------------------------------------------------------------- */

#define M_GOROUTINES "/sched/goroutines:goroutines"
#define M_GOMAXPROCS "/sched/gomaxprocs:threads"
#define M_LATENCIES "/sched/latencies:seconds"
#define M_SWITCHES "/sched/context-switches:events"

GTEST(metrics, goroutines_and_gomaxprocs)
{
    chan_t *c = h_chan_int(0);
    for (int i = 0; i < 7; i++)
        go(park_on, c);
    metrics_sample s[2] = { { .name = M_GOROUTINES }, { .name = M_GOMAXPROCS } };
    metrics_read(s, 2);
    CHECK_EQ(s[0].kind, METRIC_U64);
    CHECK_EQ(s[0].value.u64, 8);
    CHECK_EQ(s[0].value.u64, runtime_num_goroutine());
    CHECK_EQ(s[1].kind, METRIC_U64);
    CHECK_EQ(s[1].value.u64, runtime_gomaxprocs(0));
    chan_close(c);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    metrics_read(s, 1);
    CHECK_EQ(s[0].value.u64, 1);
    chan_free(c);
}

static uint64_t hist_total(const metrics_sample *s)
{
    uint64_t t = 0;
    for (int i = 0; i < s->value.hist.n; i++)
        t += s->value.hist.counts[i];
    return t;
}

static void ping(void *arg)
{
    chan_t **ch = arg;
    int v;
    while (chan_recv(ch[0], &v))
        chan_send(ch[1], &v);
}

/* Round trips with ping until the latency histogram holds more than
 * `above` samples; returns its total. The runtime samples one ready in 64
 * on each M (or P), and the readies spread over as many of them as the
 * scheduler likes, so no fixed count of round trips is sure to be
 * sampled: 100 round trips (200 readies) over four Ms gave none, once, on
 * the loaded CI machine. A runtime that records nothing still fails,
 * after 20000 round trips. */
static uint64_t pingpong_until_sampled(chan_t **ch, uint64_t above)
{
    metrics_sample s = { .name = M_LATENCIES };
    uint64_t total = 0;
    for (int i = 0; i < 20000; i++) {
        h_send_int(ch[0], i);
        CHECK_EQ(h_recv_int(ch[1]), i);
        if (i % 50 == 49) {
            metrics_read(&s, 1);
            if (s.kind == METRIC_HIST && (total = hist_total(&s)) > above)
                break;
        }
    }
    return total;
}

GTEST(metrics, scheduling_latency_histogram)
{
    chan_t *ch[2] = { h_chan_int(0), h_chan_int(0) };
    go(ping, ch);
    metrics_sample s = { .name = M_LATENCIES };
    metrics_read(&s, 1);
    CHECK_EQ(s.kind, METRIC_HIST);
    if (s.kind == METRIC_HIST) {
        const metric_hist *hh = &s.value.hist;
        CHECK_GE(hh->n, 1);
        CHECK(hh->buckets != NULL && hh->counts != NULL);
        if (hh->n >= 1 && hh->buckets != NULL && hh->counts != NULL) {
            int unordered = 0;
            for (int i = 0; i < hh->n; i++)
                unordered += !(hh->buckets[i] < hh->buckets[i + 1]);   /* n+1 boundaries */
            CHECK_EQ(unordered, 0);
            CHECK(hh->buckets[hh->n] > 0, "last boundary %g", hh->buckets[hh->n]);
            uint64_t before = pingpong_until_sampled(ch, 0);
            CHECK_GT(before, 0);
            CHECK_GT(pingpong_until_sampled(ch, before), before);
        }
    }
    chan_close(ch[0]);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    chan_free(ch[0]);
    chan_free(ch[1]);
}

GTEST(metrics, context_switches_grow)
{
    metrics_sample s = { .name = M_SWITCHES };
    metrics_read(&s, 1);
    CHECK_EQ(s.kind, METRIC_U64);
    uint64_t before = s.value.u64;
    chan_t *ch[2] = { h_chan_int(0), h_chan_int(0) };
    go(ping, ch);
    for (int i = 0; i < 100; i++) {     /* each round trip parks someone */
        h_send_int(ch[0], i);
        h_recv_int(ch[1]);
    }
    metrics_read(&s, 1);
    CHECK_GE(s.value.u64, before + 100);
    chan_close(ch[0]);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    chan_free(ch[0]);
    chan_free(ch[1]);
}

GTEST(metrics, unknown_names_are_bad_and_do_not_disturb_others)
{
    metrics_sample s[4] = {
        { .name = "/no/such:metric", .kind = METRIC_U64 },
        { .name = M_GOROUTINES },
        { .name = "", .kind = METRIC_F64 },
        { .name = "/sched/goroutines:goroutine" },          /* near miss */
    };
    metrics_read(s, 4);
    CHECK_EQ(s[0].kind, METRIC_BAD);
    CHECK_EQ(s[1].kind, METRIC_U64);
    CHECK_EQ(s[1].value.u64, 1);
    CHECK_EQ(s[2].kind, METRIC_BAD);
    CHECK_EQ(s[3].kind, METRIC_BAD);
    metrics_read(s, 0);                  /* n == 0 is fine */
    CHECK_EQ(s[1].value.u64, 1);
}

/* ---- runtime_read_mem_stats ------------------------------------------------------ */

static atomic_int parked_count;
static void count_and_park(void *arg)
{
    atomic_fetch_add(&parked_count, 1);
    int v;
    chan_recv(arg, &v);
}

GTEST(mem_stats, stack_figures)
{
    runtime_mem_stats ms;
    memset(&ms, 0xFF, sizeof ms);
    runtime_read_mem_stats(&ms);
    CHECK_GT(ms.StackInuse, 0);
    CHECK_GE(ms.StackSys, ms.StackInuse);
    CHECK_LT(ms.StackInuse, (uint64_t)1 << 40);       /* actually filled in, not 0xFF... */
    uint64_t before = ms.StackInuse;
    chan_t *c = h_chan_int(0);
    atomic_store(&parked_count, 0);
    for (int i = 0; i < 100; i++)
        go(count_and_park, c);
    /* once they have run (a runtime may attach stacks at first run) */
    CHECK(WAIT_UNTIL(atomic_load(&parked_count) == 100, 2000));
    runtime_read_mem_stats(&ms);
    CHECK_GT(ms.StackInuse, before);                  /* 100 more stacks in use */
    CHECK_GE(ms.StackSys, ms.StackInuse);
    chan_close(c);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    chan_free(c);
}
