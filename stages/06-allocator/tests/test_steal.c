/*
 * test_steal.c: what stage 03 adds, each test failing on stage 02's
 * runtime (which has no stealing, no runnext, no spinning Ms):
 *   - work spawned by one goroutine, with no gosched and no channel, ends
 *     up running on every P, and the steal counters say so;
 *   - a stress test: one goroutine keeps filling its P's queue while the
 *     other Ps steal from it; every goroutine runs exactly once, at
 *     GOMAXPROCS 2 and 4;
 *   - runnext: a goroutine readied by the running one runs next, yet a
 *     ping-pong pair that keeps using runnext does not starve a third
 *     goroutine on the same P (the pair's shared time slice ends);
 *   - schedtrace's spinningthreads= and scheddetail's spinning= fields.
 * Thread identity is gettid(2), never pthread_self(): glibc declares the
 * latter const, so the compiler may reuse one call's result after the
 * goroutine has moved to another thread.
 */
#include "harness.h"

#include <limits.h>
#include <sys/syscall.h>

static int h_gettid(void) { return (int)syscall(SYS_gettid); }

static uint64_t metric_u64(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    return s.kind == METRIC_U64 ? s.value.u64 : UINT64_MAX;
}

/* ---- work spawned by one goroutine spreads to every P ---------------------- */

enum { SP_MAXP = 64 };
static pthread_mutex_t sp_mu = PTHREAD_MUTEX_INITIALIZER;
static int sp_tids[SP_MAXP];
static atomic_int sp_ntids;
static int sp_want;
static int64_t sp_deadline;

static void sp_record(int tid)
{
    pthread_mutex_lock(&sp_mu);
    int n = atomic_load(&sp_ntids);
    bool seen = false;
    for (int i = 0; i < n; i++)
        seen |= sp_tids[i] == tid;
    if (!seen && n < SP_MAXP)
        sp_tids[atomic_fetch_add(&sp_ntids, 1)] = tid;
    pthread_mutex_unlock(&sp_mu);
}

/* CPU-bound, no runtime call: records its thread, then spins until every
 * P's thread has been seen (or the deadline passes), so that this P stays
 * busy and the others can only get work by stealing it. */
static void sp_task(void *arg)
{
    sp_record(h_gettid());
    while (atomic_load(&sp_ntids) < sp_want && h_now() < sp_deadline)
        ;
    sync_wg_done(arg);
}

/* From stage 04 on, sysmon preempts a spinner after its time slice (10
 * ms) and queues it globally, where an idle P takes it without stealing;
 * under TSan, where starting the Ms one after another is slow, every task
 * had started before the last P came (CI: 3 threads of 4, 1 run in 10).
 * A slice longer than the test keeps it about stealing; stage 03 ignores
 * the key, as Go ignores GODEBUG keys it does not know. */
static void sp_longslice(void)
{
    const char *old = getenv("GODEBUG");
    char buf[512];
    snprintf(buf, sizeof buf, "%s%spreemptslice=60000", old && *old ? old : "",
             old && *old ? "," : "");
    setenv("GODEBUG", buf, 1);
}

GTEST(steal, work_spawned_by_one_goroutine_runs_on_every_p, .init = sp_longslice)
{
    int n = runtime_gomaxprocs(0);
    REQUIRE(n <= SP_MAXP, "GOMAXPROCS=%d: at most %d here", n, SP_MAXP);
    atomic_store(&sp_ntids, 0);
    sp_want = n;
    sp_deadline = h_now() + H_SEC(3) * H_SLOW;
    uint64_t steals0 = metric_u64("/sched/steals:events");
    uint64_t stolen0 = metric_u64("/sched/stolen:goroutines");
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 8 * n);
    for (int i = 0; i < 8 * n; i++)          /* 8n < 256: no overflow to the global queue */
        go(sp_task, &wg);
    sync_wg_wait(&wg);
    int seen = atomic_load(&sp_ntids);
    CHECK(seen == n, "%d goroutines spawned by one ran on %d distinct threads, want "
          "GOMAXPROCS=%d", 8 * n, seen, n);
    uint64_t steals = metric_u64("/sched/steals:events") - steals0;
    uint64_t stolen = metric_u64("/sched/stolen:goroutines") - stolen0;
    if (n > 1) {
        CHECK_GE(steals, (uint64_t)(n - 1));  /* every other P stole at least once */
        CHECK_GE(stolen, steals);
    } else {
        CHECK_EQ(steals, 0);                  /* one P has nobody to steal from */
    }
}

/* ---- stress: thieves against a producer that keeps the queue full ---------- */

static atomic_uchar *st_ran;     /* per-goroutine run count */
static atomic_long st_done;
static atomic_long st_dup;

static void st_task(void *arg)
{
    long i = (long)(intptr_t)arg;
    if (atomic_fetch_add(&st_ran[i], 1) != 0)
        atomic_fetch_add(&st_dup, 1);
    for (volatile int k = 0; k < (int)(i % 64); k++)
        ;                        /* uneven, short work */
    atomic_fetch_add(&st_done, 1);
}

static void st_round(int procs, long total)
{
    runtime_gomaxprocs(procs);
    for (long i = 0; i < total; i++)
        atomic_store(&st_ran[i], 0);
    atomic_store(&st_done, 0);
    atomic_store(&st_dup, 0);
    uint64_t steals0 = metric_u64("/sched/steals:events");
    long live = H_MAX_LIVE / 2;
    /* First a queue's worth, then the producer spins without yielding
     * until some of it has run: only a thief can have run it, however
     * busy the machine (the OS may not run a thief's thread for a while). */
    long first = 128;
    for (long i = 0; i < first; i++)
        go(st_task, (void *)(intptr_t)i);
    int64_t deadline = h_now() + H_SEC(5) * H_SLOW;
    while (procs > 1 && atomic_load(&st_done) == 0 && h_now() < deadline)
        ;
    CHECK(procs == 1 || atomic_load(&st_done) > 0,
          "GOMAXPROCS=%d: no other P took any of %ld queued goroutines in 5 s", procs, first);
    /* Then the producer never blocks while it spawns: its P's queue stays
     * full (and overflows to the global queue) while the other Ps steal. */
    for (long i = first; i < total; i++) {
        go(st_task, (void *)(intptr_t)i);
        if (i - atomic_load(&st_done) > live)
            while (i - atomic_load(&st_done) > live / 2)
                gosched();       /* TSan: keep the live fibers bounded */
    }
    CHECK(WAIT_UNTIL(atomic_load(&st_done) == total, 10000), "GOMAXPROCS=%d: %ld of %ld ran",
          procs, atomic_load(&st_done), total);
    long never = 0, twice = 0;
    for (long i = 0; i < total; i++) {
        unsigned v = atomic_load(&st_ran[i]);
        never += v == 0;
        twice += v > 1;
    }
    CHECK(never == 0 && twice == 0 && atomic_load(&st_dup) == 0,
          "GOMAXPROCS=%d: %ld goroutines never ran, %ld ran more than once", procs, never, twice);
    uint64_t steals = metric_u64("/sched/steals:events") - steals0;
    CHECK(steals > 0, "GOMAXPROCS=%d: no steal in %ld goroutines", procs, total);
}

GTEST(steal, stress_every_goroutine_runs_exactly_once)
{
    int start = runtime_gomaxprocs(0);
    /* TSan: a fiber per goroutine, about 1 ms each (test_stress.c). */
    long total = (H_TSAN ? 4000L : H_SANITIZED ? 20000L : 100000L) * h_scale();
    st_ran = calloc((size_t)total, sizeof *st_ran);
    REQUIRE(st_ran != NULL);
    st_round(2, total);
    st_round(4, total);
    runtime_gomaxprocs(start);
    free(st_ran);
}

/* ---- runnext: next, but not forever ------------------------------------------ */

static atomic_long rn_rounds;
static atomic_int rn_stop;
static atomic_long rn_spawned_at;    /* rounds when the third one was made */
static atomic_long rn_ran_at;        /* rounds when it ran, -1 before */
static int64_t rn_t_spawned, rn_t_ran, rn_deadline;

static void rn_third(void *arg)
{
    rn_t_ran = h_now();
    atomic_store(&rn_ran_at, atomic_load(&rn_rounds));
    atomic_store(&rn_stop, 1);
}

/* After 1000 rounds, spawns the third goroutine (into runnext, from where
 * the partner it readies next pushes it to the queue's tail), then plays
 * on until it has run or the deadline passes. */
static void rn_ping(void *arg)
{
    chan_t **c = arg;
    for (long i = 0;; i++) {
        bool stop = atomic_load(&rn_stop) || ((i & 255) == 0 && h_now() > rn_deadline);
        if (i == 1000) {
            gosched();           /* a fresh time slice for the pair (it may have
                                    used up the one it shared so far) */
            rn_t_spawned = h_now();
            atomic_store(&rn_spawned_at, atomic_load(&rn_rounds));
            go(rn_third, NULL);
        }
        h_send_int(c[0], stop ? -1 : 1);
        if (stop)
            break;
        h_recv_int(c[1]);
        atomic_fetch_add(&rn_rounds, 1);
    }
    h_send_int(c[2], 1);
}

static void rn_pong(void *arg)
{
    chan_t **c = arg;
    for (int v; (v = h_recv_int(c[0])) >= 0;)
        h_send_int(c[1], v);
}

GTEST(runnext, ping_pong_pair_does_not_starve_a_third_goroutine)
{
    int start = runtime_gomaxprocs(1);
    atomic_store(&rn_rounds, 0);
    atomic_store(&rn_stop, 0);
    atomic_store(&rn_ran_at, -1);
    rn_deadline = h_now() + H_SEC(3) * H_SLOW;
    chan_t *c[3] = { h_chan_int(0), h_chan_int(0), h_chan_int(1) };
    go(rn_ping, c);
    go(rn_pong, c);
    /* Main waits on a channel: a timer's wake-up would put main into
     * runnext and break the pair's hold by itself. */
    h_recv_int(c[2]);
    long ran = atomic_load(&rn_ran_at), spawned = atomic_load(&rn_spawned_at);
    CHECK(ran >= 0, "the third goroutine never ran while the pair played (%ld rounds)",
          atomic_load(&rn_rounds));
    if (ran >= 0) {
        double ms = (rn_t_ran - rn_t_spawned) / 1e6;
        /* runnext: the pair went first, round after round (stage 02's FIFO
         * queue runs the third one after 0 or 1; a slice is ~30,000 rounds
         * here, ~100 under TSan) ... */
        CHECK(ran - spawned >= 10, "the third goroutine ran after only %ld ping-pong rounds: "
              "the readied partner did not run next", ran - spawned);
        /* ... but only for one time slice (10 ms), not until the pair stops. */
        CHECK(ms < 200.0 * H_SLOW, "the third goroutine waited %.1f ms behind the pair "
              "(starved: until the pair's deadline, %d ms)", ms, 3000 * H_SLOW);
    }
    runtime_gomaxprocs(start);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "%d goroutines left",
          runtime_num_goroutine());
    for (int i = 0; i < 3; i++)
        chan_free(c[i]);
}

/* ---- schedtrace: spinning threads ---------------------------------------------- */

static void sc_spin(void *arg)
{
    int64_t until = h_now() + H_MS(2);
    while (h_now() < until)
        ;
    sync_wg_done(arg);
}

static int sc_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    for (int round = 0; round < 30; round++) {
        sync_waitgroup wg = SYNC_WAITGROUP_INIT;
        sync_wg_add(&wg, 6);
        for (int i = 0; i < 6; i++)
            go(sc_spin, &wg);
        sync_wg_wait(&wg);
        time_sleep(H_MS(2));
    }
    metrics_sample m = { .name = "/sched/spinning:seconds" };
    metrics_read(&m, 1);
    printf("spinning %s %.9f\n", m.kind == METRIC_F64 ? "f64" : "bad", m.value.f64);
    return 0;
}

static int sc_child(void) { return runtime_main(sc_main, 0, NULL); }

/* Every SCHED line has "spinningthreads=N" with 0 <= N <= gomaxprocs; with
 * scheddetail, every M line says spinning=true or spinning=false; and the
 * Ms did spin (/sched/spinning:seconds > 0: samples every 5 ms may miss
 * the short spins, the total cannot). */
Test(observe, schedtrace_reports_spinning_threads, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=schedtrace=5,scheddetail=1", "GOMAXPROCS=3", NULL };
    h_child r;
    h_child_run(&r, sc_child, env, 30);
    cr_assert(h_exited_with(&r, 0), "child failed; stderr:\n%s", r.err);
    int lines = 0, mlines = 0;
    for (const char *p = r.err; (p = strstr(p, "SCHED ")) != NULL; p++) {
        const char *f = strstr(p, " spinningthreads=");
        const char *eol = strchr(p, '\n');
        cr_assert(f != NULL && (eol == NULL || f < eol), "no spinningthreads= in:\n%.200s", p);
        char *end;
        long v = strtol(f + 17, &end, 10);
        cr_assert(end != f + 17 && *end == ' ' && v >= 0 && v <= 3,
                  "spinningthreads=%ld is not a count of 0..3 Ms:\n%.200s", v, p);
        lines++;
    }
    for (const char *p = r.err; (p = strstr(p, "\n  M")) != NULL; p++) {
        const char *eol = strchr(p + 1, '\n');
        const char *f = strstr(p, " spinning=");
        cr_assert(f != NULL && (eol == NULL || f < eol), "an M line without spinning=:\n%.200s", p);
        cr_assert(strncmp(f, " spinning=true ", 15) == 0 || strncmp(f, " spinning=false ", 16) == 0,
                  "spinning= is neither true nor false:\n%.200s", p);
        mlines++;
    }
    cr_assert(lines >= 3 && mlines >= 3, "%d SCHED lines, %d M lines:\n%s", lines, mlines, r.err);
    double spun = -1;
    cr_assert(sscanf(r.out, "spinning f64 %lf", &spun) == 1 && spun > 0,
              "no time spent spinning in /sched/spinning:seconds: %s", r.out);
    h_child_free(&r);
}
