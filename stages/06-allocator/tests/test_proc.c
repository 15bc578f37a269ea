/*
 * test_proc.c: what stage 02's Ps add, each test failing when its
 * mechanism is broken or missing:
 *   - runtime_gomaxprocs(n) resizes under load and loses no goroutine
 *     (stop the world, procresize moving dead Ps' queues);
 *   - a goroutine blocked in a system call at GOMAXPROCS=1 lets the others
 *     run (entersyscall hands the P off);
 *   - a locked goroutine always runs on its thread, and that thread runs
 *     nothing else; exiting while locked ends the thread;
 *   - the global queue cannot starve behind two goroutines that ready each
 *     other through runnext (stage 03: the end of their shared time slice);
 *   - a local queue that overflows feeds idle Ps (runqputslow);
 *   - schedtrace's per-P queue lengths, scheddetail's P lines, a trace
 *     track per P.
 */
#include "harness.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/syscall.h>

static int h_gettid(void) { return (int)syscall(SYS_gettid); }

/* ---- GOMAXPROCS resized under load ------------------------------------------ */

enum { RS_WORKERS = 48, RS_ITEMS = 400 };
static chan_t *rs_work;
static atomic_llong rs_sum;
static atomic_int rs_stop;

static void rs_producer(void *arg)
{
    sync_waitgroup *wg = arg;
    for (int i = 1; i <= RS_ITEMS; i++) {
        h_send_int(rs_work, i);
        if (i % 50 == 0)
            gosched();
    }
    sync_wg_done(wg);
}

static void rs_consumer(void *arg)
{
    sync_waitgroup *wg = arg;
    int v;
    while (chan_recv(rs_work, &v)) {
        atomic_fetch_add(&rs_sum, v);
        if (v % 97 == 0)
            time_sleep(50000);   /* 50 us: through the timers */
    }
    sync_wg_done(wg);
}

/* A goroutine in and out of system calls while the world stops. */
static void rs_syscaller(void *arg)
{
    sync_waitgroup *wg = arg;
    while (!atomic_load(&rs_stop)) {
        runtime_entersyscall();
        usleep(200);
        runtime_exitsyscall();
    }
    sync_wg_done(wg);
}

static void rs_burst(void *arg) { atomic_fetch_add(&rs_sum, 1000000); sync_wg_done(arg); }

GTEST(gomaxprocs, resize_under_load_loses_no_goroutine)
{
    int start = runtime_gomaxprocs(0);
    rs_work = h_chan_int(16);
    atomic_store(&rs_sum, 0);
    atomic_store(&rs_stop, 0);
    sync_waitgroup prod = SYNC_WAITGROUP_INIT, cons = SYNC_WAITGROUP_INIT,
                   sys = SYNC_WAITGROUP_INIT, burst = SYNC_WAITGROUP_INIT;
    sync_wg_add(&cons, RS_WORKERS);
    for (int i = 0; i < RS_WORKERS; i++)
        go(rs_consumer, &cons);
    sync_wg_add(&sys, 2);
    go(rs_syscaller, &sys);
    go(rs_syscaller, &sys);
    sync_wg_add(&prod, RS_WORKERS);
    for (int i = 0; i < RS_WORKERS; i++)
        go(rs_producer, &prod);

    static const int sizes[] = { 1, 3, 2, 6, 1, 4, 2, 8, 3, 1, 5, 2 };
    int prev = start, bursts = 0;
    for (int round = 0; round < 36; round++) {
        int n = sizes[round % 12];
        /* a burst that sits in this P's local queue when it may die */
        sync_wg_add(&burst, 20);
        for (int i = 0; i < 20; i++)
            go(rs_burst, &burst);
        bursts += 20;
        int got = runtime_gomaxprocs(n);
        CHECK_EQ(got, prev);
        CHECK_EQ(runtime_gomaxprocs(0), n);
        prev = n;
        time_sleep(H_MS(1));
    }
    sync_wg_wait(&prod);
    chan_close(rs_work);
    sync_wg_wait(&cons);
    sync_wg_wait(&burst);
    atomic_store(&rs_stop, 1);
    sync_wg_wait(&sys);
    long long want = (long long)RS_WORKERS * RS_ITEMS * (RS_ITEMS + 1) / 2 + 1000000LL * bursts;
    CHECK_EQ(atomic_load(&rs_sum), want);
    metrics_sample s = { .name = "/sched/gomaxprocs:threads" };
    metrics_read(&s, 1);
    CHECK_EQ(s.value.u64, (uint64_t)prev);
    CHECK_EQ(runtime_gomaxprocs(start), prev);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "%d goroutines left",
          runtime_num_goroutine());
    chan_free(rs_work);
}

/* ---- a blocking system call at GOMAXPROCS=1 ------------------------------------- */

static int sc_pipe[2];
static atomic_int sc_ticks;
static atomic_int sc_rescued;

static void sc_reader(void *arg)
{
    chan_t *done = arg;
    char c = 0;
    runtime_entersyscall();
    ssize_t n = read(sc_pipe[0], &c, 1);    /* blocks the thread until main writes */
    runtime_exitsyscall();
    h_send_int(done, n == 1 ? c : -1);
}

static void sc_ticker(void *arg)
{
    (void)arg;
    while (atomic_load(&sc_ticks) >= 0) {
        atomic_fetch_add(&sc_ticks, 1);
        gosched();
    }
}

/* If the P is not handed off, nothing runs while the reader blocks: this
 * thread writes after 5 s so that the test fails instead of hanging. */
static void *sc_rescue(void *arg)
{
    (void)arg;
    usleep(5000 * 1000);
    if (write(sc_pipe[1], "r", 1) == 1)
        atomic_store(&sc_rescued, 1);
    return NULL;
}

GTEST(syscall, blocking_call_at_gomaxprocs_1_lets_others_run)
{
    int start = runtime_gomaxprocs(1);
    REQUIRE(pipe(sc_pipe) == 0, "pipe: %s", strerror(errno));
    atomic_store(&sc_ticks, 0);
    atomic_store(&sc_rescued, 0);
    pthread_t rescue;
    REQUIRE(pthread_create(&rescue, NULL, sc_rescue, NULL) == 0, "pthread_create");
    chan_t *done = h_chan_int(1);
    go(sc_reader, done);
    go(sc_ticker, NULL);
    time_sleep(H_MS(30));                   /* the reader is in read() by now */
    /* The ticker runs meanwhile, once the P is handed off: at once in stage
     * 02, at sysmon's second look from stage 04 on (up to 20 ms once
     * sysmon has backed off to 10 ms ticks). Without a hand-off nothing
     * runs until the rescue thread's write, 5 s on. */
    CHECK(WAIT_UNTIL(atomic_load(&sc_ticks) > 100, 400),
          "the ticker ran %d times while the reader blocked, want > 100",
          atomic_load(&sc_ticks));
    CHECK(write(sc_pipe[1], "w", 1) == 1, "write: %s", strerror(errno));
    CHECK_EQ(h_recv_int(done), 'w');
    CHECK(!atomic_load(&sc_rescued), "main only ran after the rescue thread's write");
    atomic_store(&sc_ticks, -1000000000);
    pthread_cancel(rescue);
    pthread_join(rescue, NULL);
    runtime_gomaxprocs(start);
    close(sc_pipe[0]);
    close(sc_pipe[1]);
    chan_free(done);
}

static int sc_misuse(int argc, char **argv)
{
    (void)argc, (void)argv;
    runtime_exitsyscall();
    return 0;
}

Test(syscall, exitsyscall_without_entersyscall_panics, .timeout = H_TIMEOUT)
{
    h_expect_death(sc_misuse, "panic: runtime_exitsyscall: not in a system call", 1);
}

/* Goroutines in a loop of short system calls, now and then a longer one
 * (so that the P is retaken from some: sysmon, from stage 04), while
 * GOMAXPROCS changes under them. Each stop-the-world must stop the Ps
 * they leave behind in a call, and each M must come back to a P of its
 * own: from stage 04 entersyscall and exitsyscall take no lock, and the
 * returning M, retakep and stoptheworld claim a _Psyscall P by a CAS. */
static atomic_int sr_stop;
static atomic_long sr_calls;

static void sr_caller(void *arg)
{
    long n = 0;
    while (!atomic_load(&sr_stop)) {
        runtime_entersyscall();
        if (n % 64 == 0)
            usleep(100);
        else
            (void)syscall(SYS_getppid);
        runtime_exitsyscall();
        n++;
    }
    atomic_fetch_add(&sr_calls, n);
    sync_wg_done(arg);
}

GTEST(syscall, short_calls_while_gomaxprocs_changes)
{
    int start = runtime_gomaxprocs(0);
    atomic_store(&sr_stop, 0);
    atomic_store(&sr_calls, 0);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        go(sr_caller, &wg);
    int64_t t0 = h_now();
    for (int i = 0; i < 300 && h_now() - t0 < H_SEC(2); i++) {
        runtime_gomaxprocs(1 + i % 4);
        time_sleep(200000);
    }
    atomic_store(&sr_stop, 1);
    sync_wg_wait(&wg);
    runtime_gomaxprocs(start);
    CHECK_GT(atomic_load(&sr_calls), 0);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "%d goroutines left",
          runtime_num_goroutine());
}

/* ---- runtime_lock_os_thread ------------------------------------------------------ */

/* Thread identity by gettid(2): glibc declares pthread_self() const, so
 * the compiler may reuse one call's result after the goroutine has moved
 * to another thread (HACKING.md: thread-local state moves under you). */
static atomic_int lk_thread;
static atomic_int lk_locked;
static atomic_int lk_foreign;      /* other goroutines seen on the locked thread */
static atomic_int lk_moved;        /* the locked goroutine seen off its thread */

static void lk_other(void *arg)
{
    sync_waitgroup *wg = arg;
    for (int i = 0; i < 300; i++) {
        if (atomic_load(&lk_locked) && h_gettid() == atomic_load(&lk_thread))
            atomic_fetch_add(&lk_foreign, 1);
        if (i % 3 == 0)
            gosched();
        else
            time_sleep(20000);
    }
    sync_wg_done(wg);
}

static void lk_partner(void *arg)
{
    chan_t **pp = arg;
    int v;
    while (chan_recv(pp[0], &v))
        h_send_int(pp[1], v + 1);
}

static void lk_check_here(int self)
{
    if (h_gettid() != self)
        atomic_fetch_add(&lk_moved, 1);
}

GTEST(lockosthread, locked_goroutine_stays_on_its_thread_alone)
{
    atomic_store(&lk_foreign, 0);
    atomic_store(&lk_moved, 0);
    runtime_lock_os_thread();
    runtime_lock_os_thread();                /* nested: two unlocks needed */
    int self = h_gettid();
    atomic_store(&lk_thread, self);
    atomic_store(&lk_locked, 1);

    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 8);
    for (int i = 0; i < 8; i++)
        go(lk_other, &wg);
    chan_t *pp[2] = { h_chan_int(0), h_chan_int(0) };
    go(lk_partner, pp);
    for (int i = 0; i < 400; i++) {
        h_send_int(pp[0], i);                /* parks: the partner runs elsewhere */
        CHECK_EQ(h_recv_int(pp[1]), i + 1);
        lk_check_here(self);
        if (i % 10 == 0) {
            gosched();
            lk_check_here(self);
            time_sleep(50000);
            lk_check_here(self);
        }
    }
    runtime_unlock_os_thread();              /* still locked once */
    for (int i = 0; i < 50; i++) {
        time_sleep(20000);
        lk_check_here(self);
    }
    atomic_store(&lk_locked, 0);
    runtime_unlock_os_thread();
    runtime_unlock_os_thread();              /* one too many: a no-op, as in Go */
    sync_wg_wait(&wg);
    chan_close(pp[0]);
    int moved = atomic_load(&lk_moved), foreign = atomic_load(&lk_foreign);
    CHECK(moved == 0, "the locked goroutine was seen %d times off its thread", moved);
    CHECK(foreign == 0, "other goroutines ran %d times on the locked thread", foreign);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "%d goroutines left",
          runtime_num_goroutine());
    chan_free(pp[0]);
    chan_free(pp[1]);
}

static atomic_int lk_tid;

static void lk_exit_locked(void *arg)
{
    runtime_lock_os_thread();
    atomic_store(&lk_tid, (int)h_gettid());
    sync_wg_done(arg);
}                                             /* returns while locked */

GTEST(lockosthread, exiting_while_locked_ends_the_thread)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    go(lk_exit_locked, &wg);
    sync_wg_wait(&wg);
    int tid = atomic_load(&lk_tid);
    CHECK(tid != h_gettid(), "the locked goroutine ran on main's thread");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", tid);
    CHECK(WAIT_UNTIL(access(path, F_OK) != 0, 2000),
          "thread %d of a goroutine that exited locked is still alive", tid);
    /* the runtime goes on with the other threads */
    chan_t *c = h_chan_int(1);
    h_send_int(c, 7);
    CHECK_EQ(h_recv_int(c), 7);
    chan_free(c);
}

static int lk_deadlock(int argc, char **argv)
{
    (void)argc, (void)argv;
    runtime_lock_os_thread();
    chan_t *c = h_chan_int(0);
    int v;
    chan_recv(c, &v);                        /* nobody sends: deadlock */
    return 0;
}

Test(lockosthread, deadlock_of_a_locked_goroutine_is_reported, .timeout = H_TIMEOUT)
{
    h_expect_death(lk_deadlock, "fatal error: all goroutines are asleep - deadlock!", 1);
}

/* ---- the global queue is not starved ---------------------------------------- */

static atomic_long gq_rounds;
static atomic_int gq_stop;
static atomic_int gq_timedout;   /* the pair stopped at its deadline */
static int64_t gq_deadline;

/* The pair ping-pongs through runnext (stage 03), sharing one time slice,
 * until told to stop or, if the yielder starves, until the deadline. */
static void gq_ping(void *arg)
{
    chan_t **c = arg;
    for (int i = 0;; i++) {
        bool late = (i & 255) == 0 && h_now() > gq_deadline;
        if (late)
            atomic_store(&gq_timedout, 1);
        bool stop = atomic_load(&gq_stop) || late;
        h_send_int(c[0], stop ? -1 : i);
        if (stop)
            break;
        h_recv_int(c[1]);
        atomic_fetch_add(&gq_rounds, 1);
    }
}

static void gq_pong(void *arg)
{
    chan_t **c = arg;
    for (int v; (v = h_recv_int(c[0])) >= 0;)
        h_send_int(c[1], v);
}

/* gosched puts this G on the global queue, while the pair keeps the P
 * busy through runnext: only the end of the pair's time slice (10 ms;
 * stage 03: proc.c's runnextexpire, from stage 04 sysmon's retake) brings
 * it back. Reports the longest wait of ten goscheds, in ns, and the fewest
 * rounds the pair played during one. */
struct gq_result { int64_t worst_ns; long min_rounds; chan_t *done; };

static void gq_yielder(void *arg)
{
    struct gq_result *r = arg;
    while (atomic_load(&gq_rounds) < 100)
        gosched();               /* the pair has started */
    r->worst_ns = 0;
    r->min_rounds = LONG_MAX;
    for (int n = 0; n < 10; n++) {
        long before = atomic_load(&gq_rounds);
        int64_t t0 = h_now();
        gosched();
        int64_t dt = h_now() - t0;
        long played = atomic_load(&gq_rounds) - before;
        if (dt > r->worst_ns)
            r->worst_ns = dt;
        if (played < r->min_rounds)
            r->min_rounds = played;
    }
    atomic_store(&gq_stop, 1);
    h_send_int(r->done, 1);
}

GTEST(runq, global_queue_is_not_starved_by_a_runnext_pair)
{
    int start = runtime_gomaxprocs(1);
    atomic_store(&gq_rounds, 0);
    atomic_store(&gq_stop, 0);
    atomic_store(&gq_timedout, 0);
    gq_deadline = h_now() + H_SEC(3) * H_SLOW;
    chan_t *c[2] = { h_chan_int(0), h_chan_int(0) };
    struct gq_result r = { .done = h_chan_int(1) };
    go(gq_ping, c);
    go(gq_pong, c);
    go(gq_yielder, &r);
    h_recv_int(r.done);          /* a channel, not a timer: see test_steal.c */
    CHECK(!atomic_load(&gq_timedout), "a goroutine on the global queue starved until the "
          "ping-pong pair stopped at its deadline (%d ms)", 3000 * H_SLOW);
    /* One slice is 10 ms (8-14 with the coarse clock); allow 20 of them. */
    CHECK(r.worst_ns < H_MS(200) * H_SLOW,
          "a goroutine on the global queue waited %.1f ms behind a ping-pong pair "
          "(starved: ~%d ms, the pair's deadline)", r.worst_ns / 1e6, 3000 * H_SLOW);
    CHECK_GT(r.min_rounds, 0);   /* the pair did play meanwhile */
    runtime_gomaxprocs(start);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "%d goroutines left",
          runtime_num_goroutine());
    chan_free(c[0]);
    chan_free(c[1]);
    chan_free(r.done);
}

/* ---- timers fire while every running M is busy ------------------------------------ */

static atomic_int tm_stop;

static void tm_spinner(void *arg)
{
    (void)arg;
    int64_t give_up = h_now() + H_SEC(10) * H_SLOW;  /* so a failure ends */
    while (!atomic_load(&tm_stop) && h_now() < give_up)
        ;
}

/* GOMAXPROCS=2: P0's M spins in user code; the sleeper's timers must be
 * watched by some other M, which stage 02 starts on demand. */
GTEST(timers, fire_while_another_p_spins)
{
    int start = runtime_gomaxprocs(2);
    atomic_store(&tm_stop, 0);
    go(tm_spinner, NULL);        /* on this P's queue (stage 02 starts no M for it) */
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        /* The first sleep parks with the spinner queued behind it and,
         * in stage 02, the other P idle with no M: the case under test.
         * It is longer, so that a slow thread (TSan, a busy host) does not
         * find it over before the spinner has started: stage 02 would
         * queue the woken sleeper behind the spinner on this P, where
         * nothing reaches it (no stealing, no preemption). */
        int64_t d = i == 0 ? H_MS(50) * H_SLOW : H_MS(2);
        int64_t t0 = h_now();
        time_sleep(d);
        int64_t late = h_now() - t0 - d;
        if (late > worst)
            worst = late;
    }
    atomic_store(&tm_stop, 1);
    CHECK(worst < H_MS(500) * H_SLOW, "a 2 ms sleep beside a spinning goroutine ended %.1f ms late",
          worst / 1e6);
    runtime_gomaxprocs(start);
}

/* GOMAXPROCS=1: a goroutine in and out of short system calls takes the P
 * back each time (exitsyscall's fast path) and never looks at the timers;
 * the P it hands off idle must still get some M to sleep on them. */
static atomic_int tm_sys_stop;

static void tm_syscaller(void *arg)
{
    (void)arg;
    int64_t give_up = h_now() + H_SEC(10) * H_SLOW;
    while (!atomic_load(&tm_sys_stop) && h_now() < give_up) {
        runtime_entersyscall();
        usleep(100);
        runtime_exitsyscall();
    }
}

GTEST(timers, fire_while_a_goroutine_loops_in_system_calls)
{
    int start = runtime_gomaxprocs(1);
    atomic_store(&tm_sys_stop, 0);
    int64_t worst = 0;
    for (int round = 0; round < 5; round++) {
        go(tm_syscaller, NULL);
        for (int i = 0; i < 10; i++) {
            int64_t t0 = h_now();
            time_sleep(H_MS(2));
            int64_t late = h_now() - t0 - H_MS(2);
            if (late > worst)
                worst = late;
        }
        atomic_store(&tm_sys_stop, 1);
        CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 5000), "%d goroutines left",
              runtime_num_goroutine());
        atomic_store(&tm_sys_stop, 0);
    }
    CHECK(worst < H_MS(500) * H_SLOW, "a 2 ms sleep beside a goroutine in system calls "
          "ended %.1f ms late", worst / 1e6);
    runtime_gomaxprocs(start);
}

/* ---- runqputslow: an overflowing local queue feeds idle Ps ---------------------- */

static pthread_t ov_threads[64];
static atomic_int ov_nthreads;
static pthread_mutex_t ov_mu = PTHREAD_MUTEX_INITIALIZER;

static void ov_task(void *arg)
{
    int64_t until = h_now() + 50000;         /* 50 us of work */
    while (h_now() < until)
        ;
    pthread_t self = pthread_self();
    pthread_mutex_lock(&ov_mu);
    int n = atomic_load(&ov_nthreads);
    bool seen = false;
    for (int i = 0; i < n; i++)
        seen |= pthread_equal(ov_threads[i], self);
    if (!seen && n < 64)
        ov_threads[atomic_fetch_add(&ov_nthreads, 1)] = self;
    pthread_mutex_unlock(&ov_mu);
    sync_wg_done(arg);
}

GTEST(runq, overflowing_local_queue_feeds_idle_ps)
{
    int start = runtime_gomaxprocs(2);
    atomic_store(&ov_nthreads, 0);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 2000);
    for (int i = 0; i < 2000; i++)           /* > 256: the local queue overflows */
        go(ov_task, &wg);
    sync_wg_wait(&wg);
    CHECK_GE(atomic_load(&ov_nthreads), 2);
    runtime_gomaxprocs(start);
}

/* ---- schedtrace, scheddetail and the trace: one column or track per P ------------- */

static void ob_syscall(void *arg)
{
    runtime_entersyscall();
    usleep(2000);
    runtime_exitsyscall();
    sync_wg_done(arg);
}

static int ob_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        go(ob_syscall, &wg);
    sync_wg_wait(&wg);
    time_sleep(H_MS(120));
    return 0;
}

static int ob_child(void) { return runtime_main(ob_main, 0, NULL); }

/* Does some line of text start with "SCHED " and end with " [a b c]", n numbers? */
static bool has_per_p_lengths(const char *text, int n)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "SCHED ", 6) != 0)
            continue;
        const char *eol = strchr(p, '\n');
        const char *open = memchr(p, '[', (size_t)(eol ? eol - p : (long)strlen(p)));
        if (open == NULL)
            continue;
        int count = 0;
        const char *q = open + 1;
        for (;;) {
            char *end;
            strtol(q, &end, 10);
            if (end == q)
                break;
            count++;
            q = end;
            if (*q == ' ')
                q++;
        }
        if (*q == ']' && count == n)
            return true;
    }
    return false;
}

Test(observe, schedtrace_shows_each_ps_queue, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=schedtrace=20", "GOMAXPROCS=3", NULL };
    h_child r;
    h_child_run(&r, ob_child, env, 20);
    cr_assert(h_exited_with(&r, 0), "child failed; stderr:\n%s", r.err);
    cr_assert(has_per_p_lengths(r.err, 3), "no SCHED line ending in [a b c]:\n%s", r.err);
    h_child_free(&r);

    const char *env2[] = { "GODEBUG=schedtrace=20,scheddetail=1", "GOMAXPROCS=2", NULL };
    h_child_run(&r, ob_child, env2, 20);
    cr_assert(h_exited_with(&r, 0), "child failed; stderr:\n%s", r.err);
    cr_assert(strstr(r.err, "\n  P0: status=") && strstr(r.err, "\n  P1: status="),
              "no P lines:\n%s", r.err);
    cr_assert(strstr(r.err, " gcwaiting=") && strstr(r.err, "\n  M0: p="),
              "no header detail or M lines:\n%s", r.err);
    cr_assert(strstr(r.err, "\n  P2:") == NULL, "a P beyond GOMAXPROCS=2:\n%s", r.err);
    h_child_free(&r);
}

Test(observe, trace_has_a_track_per_p, .timeout = H_TIMEOUT)
{
    char path[] = "/tmp/gort-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char var[64];
    snprintf(var, sizeof var, "GORT_TRACE=%s", path);
    const char *env[] = { var, "GOMAXPROCS=2", NULL };
    h_child r;
    h_child_run(&r, ob_child, env, 20);
    cr_assert(h_exited_with(&r, 0), "child failed; stderr:\n%s", r.err);
    h_child_free(&r);
    FILE *f = fopen(path, "r");
    cr_assert(f != NULL);
    char *json = h_slurp(f);
    fclose(f);
    unlink(path);
    cr_assert(strstr(json, "\"args\":{\"name\":\"P0\"}") != NULL, "no P0 track");
    cr_assert(strstr(json, "\"args\":{\"name\":\"P1\"}") != NULL, "no P1 track");
    cr_assert(strstr(json, " (no P)\"}") != NULL, "no M track for the system calls");
    cr_assert(strstr(json, "\"name\":\"syscall\"") != NULL, "no syscall event");
    free(json);
}
