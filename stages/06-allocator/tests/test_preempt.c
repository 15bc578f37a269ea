/*
 * test_preempt.c: what stage 04 adds, each test failing (or hanging, and
 * killed) on stage 02's runtime, which cannot preempt:
 *   - at GOMAXPROCS=1 a goroutine spinning in `for (;;) x++` does not stop
 *     main from finishing: runtime_main returns, joins every thread, and
 *     can run again (exit preempts the spinners);
 *   - floating-point, x87 and vector state (SSE, AVX, AVX-512 where the
 *     CPU has them) survives thousands of preemptions, results checked;
 *   - goroutines preempted inside printf/malloc/free-heavy loops never
 *     deadlock (the handler refuses to stop them inside libc), and some
 *     signals were refused; nor do goroutines preempted while the runtime
 *     itself calls libc with a lock held;
 *   - runtime_gomaxprocs(n) completes while a goroutine spins;
 *   - GODEBUG=asyncpreemptoff=1 sends no signal, and without it the same
 *     workload is preempted;
 *   - a goroutine woken by a timer runs before the spinner preempted for
 *     it gets its P back, even with a 2 s time slice, and so does one
 *     that an idle M without a P woke;
 *   - system calls are lazy: short ones keep the P, a long one at
 *     GOMAXPROCS=1 is retaken by sysmon so others run.
 *
 * Build modes. The default build preempts with signals, and the tests
 * count async preemptions. PREEMPT=coop and TSan builds have no signals
 * (README: TSan): there the spinners call a function in their loop, which
 * -finstrument-functions makes a safe point, and the tests count
 * cooperative preemptions instead. A spinner with no call at all cannot be
 * stopped in those builds, which is the point of asynchronous preemption.
 *
 * Tests that would hang on a runtime without preemption run in a child
 * process with a deadline (h_child_run), so they fail instead of hanging.
 */
#include "harness.h"

#include <math.h>
#include <unistd.h>

#if defined(GORT_PREEMPT_COOP) || H_TSAN
#define PR_COOP 1
#define PR_METRIC "/gort/preemptions/cooperative:events"
#else
#define PR_COOP 0
#define PR_METRIC "/gort/preemptions/async:events"
#endif

/* The spinners' x++: a relaxed atomic load and store, which the compiler
 * may not drop (the role of Go's tests' volatile sink) and TSan accepts
 * from several goroutines at once. No call. */
static uint64_t pr_sink;
static atomic_int pr_stop;
#define PR_BUMP() __atomic_store_n(&pr_sink, __atomic_load_n(&pr_sink, __ATOMIC_RELAXED) + 1, \
                                   __ATOMIC_RELAXED)

#if PR_COOP
/* A call: with -finstrument-functions, a safe point (Go's prologue check). */
__attribute__((noinline, noipa)) static void pr_step(void) { PR_BUMP(); }
#define PR_STEP() pr_step()
#else
#define PR_STEP() PR_BUMP()         /* no call: only a signal can stop it */
#endif

static void pr_forever(void *arg) { (void)arg; for (;;) PR_STEP(); }

static void pr_spinner(void *arg)
{
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed))
        PR_STEP();
    if (arg)
        sync_wg_done(arg);
}

static uint64_t pr_metric(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    return s.kind == METRIC_U64 ? s.value.u64 : 0;
}

/* Runs body as goroutine 1 in a child (its environment: env), which exits 0
 * only if the body ran to its end, checked something and no check failed;
 * the parent asserts that within timeout_s seconds. */
static void (*pr_body)(void);
static int pr_child_main(void)
{
    static char arg0[] = "gort-preempt";
    static char *argv[] = { arg0, NULL };
    h_reset();
    h.body = pr_body;
    int rc = runtime_main(h_main, 1, argv);
    h_child_dump_failures();
    if (rc != 0 || h_failures() != 0 || atomic_load(&h.checks) == 0 || !atomic_load(&h.finished))
        return 1;
    return 0;
}

static void pr_in_child(void (*body)(void), const char *const *env, int timeout_s)
{
    h_child r;
    char how[128];
    pr_body = body;
    h_child_run(&r, pr_child_main, env, timeout_s);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    h_child_free(&r);
}

/* ---- exit with spinners running ------------------------------------------- */

static int ex_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    int n = runtime_gomaxprocs(0) + 1;      /* more spinners than Ps */
    for (int i = 0; i < n; i++)
        go(pr_forever, NULL);
    time_sleep(H_MS(20));                   /* the spinners hold every P */
    return 7;
}

/* Exits 0 if runtime_main returned main's value twice (a run that left
 * threads behind makes the second refuse to start) and joined its threads. */
static int ex_child(void)
{
    int before = h_threads_before();
    int rc = runtime_main(ex_main, 0, NULL);
    if (rc != 7)
        return 10;
    int after = h_threads_after(before);
    if (after > before) {
        printf("threads: %d before runtime_main, %d after\n", before, after);
        return 11;
    }
    rc = runtime_main(ex_main, 0, NULL);
    return rc == 7 ? 0 : 12;
}

static void ex_expect(const char *const *env)
{
    h_child r;
    char how[128];
    h_child_run(&r, ex_child, env, 20);
    cr_assert(h_exited_with(&r, 0), "the child %s (10: wrong value, 11: threads left, "
              "12: second run failed); stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    h_child_free(&r);
}

Test(exit, spinner_at_gomaxprocs_1_does_not_stop_main, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", NULL };
    ex_expect(env);
}

Test(exit, spinners_on_every_p_do_not_stop_main, .timeout = H_TIMEOUT)
{
    ex_expect(NULL);                        /* tests/run.sh's GOMAXPROCS */
}

/* ---- register state survives preemption -------------------------------------- */

enum { FP_N = 20000 };
static atomic_int fp_wrong;
static atomic_int fp_wrongkind[4];          /* scalar/x87, SSE, AVX2, AVX-512 */
static const char *fp_what;

typedef double v2d __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

/* Sums of (k + id) * 0.5 for k = 1..FP_N: every partial sum is a multiple
 * of 0.5 far below 2^53, so the result is exact and known in closed form;
 * a register clobbered by a preemption (or another goroutine's value leaking
 * in) shows up as a wrong sum. */
static double fp_expect(int id, double scale)
{
    return ((double)FP_N * (FP_N + 1) / 2 + (double)FP_N * id) * scale;
}

__attribute__((noinline)) static bool fp_scalar(int id)
{
    double s = 0;
    long double x = 0;                      /* the x87 stack */
    for (int k = 1; k <= FP_N; k++) {
        s += (k + id) * 0.5;
        x += (k + id) * 0.25L;
    }
    return s == fp_expect(id, 0.5) && x == (long double)fp_expect(id, 0.25);
}

__attribute__((noinline)) static bool fp_sse(int id)
{
    v2d s = { 0, 0 }, d = { 0.5, 0.125 };
    for (int k = 1; k <= FP_N; k++) {
        v2d v = { (double)(k + id), (double)(k + id) };
        s += v * d;
    }
    return s[0] == fp_expect(id, 0.5) && s[1] == fp_expect(id, 0.125);
}

#if defined(__x86_64__)
__attribute__((noinline, target("avx2"))) static bool fp_avx(int id)
{
    v4d s = { 0, 0, 0, 0 }, d = { 0.5, 0.25, 0.125, 1 };
    for (int k = 1; k <= FP_N; k++) {
        double f = (double)(k + id);
        v4d v = { f, f, f, f };
        s += v * d;
    }
    return s[0] == fp_expect(id, 0.5) && s[1] == fp_expect(id, 0.25) &&
           s[2] == fp_expect(id, 0.125) && s[3] == fp_expect(id, 1);
}

__attribute__((noinline, target("avx512f"))) static bool fp_avx512(int id)
{
    v8d s = { 0 }, d = { 0.5, 0.25, 0.125, 1, 2, 4, 0.5, 0.25 };
    for (int k = 1; k <= FP_N; k++) {
        double f = (double)(k + id);
        v8d v = { f, f, f, f, f, f, f, f };
        s += v * d;
    }
    for (int i = 0; i < 8; i++)
        if (s[i] != fp_expect(id, d[i]))
            return false;
    return true;
}
#endif

static void fp_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
#if defined(__x86_64__)
    bool avx = __builtin_cpu_supports("avx2"), avx512 = __builtin_cpu_supports("avx512f");
#endif
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed)) {
        bool ok[4] = { fp_scalar(id), fp_sse(id), true, true };
#if defined(__x86_64__)
        if (avx)
            ok[2] = fp_avx(id);
        if (avx512)
            ok[3] = fp_avx512(id);
#endif
        for (int i = 0; i < 4; i++) {
            if (!ok[i]) {
                atomic_fetch_add(&fp_wrong, 1);
                atomic_fetch_add(&fp_wrongkind[i], 1);
            }
        }
        PR_STEP();
    }
}

static void fp_body(void)
{
    atomic_store(&fp_wrong, 0);
    atomic_store(&pr_stop, 0);
#if defined(__x86_64__)
    fp_what = __builtin_cpu_supports("avx512f") ? "x87, SSE, AVX2, AVX-512"
            : __builtin_cpu_supports("avx2") ? "x87, SSE, AVX2" : "x87, SSE";
#else
    fp_what = "FP/SIMD";
#endif
    int n = runtime_gomaxprocs(0) + 2;
    for (int i = 0; i < n; i++)
        go(fp_worker, (void *)(intptr_t)(i * 7 + 1));
    int64_t deadline = h_now() + H_SEC(20) * H_SLOW;
    while (pr_metric(PR_METRIC) < 1000 && h_now() < deadline)
        time_sleep(H_MS(10));
    atomic_store(&pr_stop, 1);
    CHECK_GE(pr_metric(PR_METRIC), 1000);
    CHECK(atomic_load(&fp_wrong) == 0, "%d wrong %s results after preemptions "
          "(scalar/x87 %d, SSE %d, AVX2 %d, AVX-512 %d)", atomic_load(&fp_wrong), fp_what,
          atomic_load(&fp_wrongkind[0]), atomic_load(&fp_wrongkind[1]),
          atomic_load(&fp_wrongkind[2]), atomic_load(&fp_wrongkind[3]));
    time_sleep(H_MS(5));                    /* let the workers see pr_stop */
}

Test(state, fp_and_vector_registers_survive_thousands_of_preemptions, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=preemptslice=1", NULL };
    pr_in_child(fp_body, env, 25);
}

/* ---- preempted inside libc-heavy loops: no deadlock ------------------------------- */

static FILE *lc_null;
static sync_waitgroup lc_wg;

/* malloc, snprintf, fprintf to one shared FILE (its lock is taken inside
 * libc), realloc, free: most of the time is spent in libc, where a
 * goroutine holds the allocator's and the FILE's locks. Preempting it there
 * and running another goroutine on the same thread would deadlock the
 * thread; the handler must refuse and let sysmon retry. */
static void lc_goroutine(void *arg)
{
    uint32_t x = (uint32_t)(uintptr_t)arg * 2654435761u;
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed)) {
        x = x * 1103515245u + 12345u;
        size_t n = 16 + (x >> 8) % 4096;
        char *p = malloc(n);
        if (p == NULL)
            continue;
        snprintf(p, n, "%u %zu %s", x, n, "preempt me");
        uint32_t sum = 0;                   /* some time in our own code too */
        for (size_t i = 0; i < n; i++)
            sum = sum * 31 + (uint8_t)p[i];
        fprintf(lc_null, "%s %p %u\n", p, (void *)p, sum);
        char *q = realloc(p, n * 2);
        free(q ? q : p);
        PR_STEP();
    }
    sync_wg_done(&lc_wg);
}

static void lc_body(void)
{
    REQUIRE((lc_null = fopen("/dev/null", "w")) != NULL, "fopen /dev/null: %s", strerror(errno));
    atomic_store(&pr_stop, 0);
    uint64_t refused0 = pr_metric("/gort/preemptions/refused:events");
    uint64_t done0 = pr_metric(PR_METRIC);
    int n = 8;
    sync_wg_add(&lc_wg, n);
    for (int i = 0; i < n; i++)
        go(lc_goroutine, (void *)(uintptr_t)(i + 1));
    int64_t soak = h_now() + H_MS(1500), deadline = h_now() + H_SEC(20) * H_SLOW;
    while (h_now() < soak || (pr_metric(PR_METRIC) - done0 < 200 && h_now() < deadline))
        time_sleep(H_MS(10));
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&lc_wg);                   /* a deadlock hangs here; the parent kills us */
    CHECK_GE(pr_metric(PR_METRIC) - done0, 200);
#if !PR_COOP
    /* The handler did find goroutines inside libc, and let them be. */
    CHECK_GT(pr_metric("/gort/preemptions/refused:events") - refused0, 0);
#else
    (void)refused0;
#endif
    fclose(lc_null);
}

Test(stress, preempted_in_printf_and_malloc_loops_never_deadlocks, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=preemptslice=1", NULL };
    pr_in_child(lc_body, env, 25);
}

/* The runtime's own calls into libc (memcpy, memset: chan_try_send copies
 * the element with the channel's lock held). Called through a PLT stub,
 * which lies in the program's text outside gort_text, the handler took
 * the stub for user code, preempted there with the lock held, and the
 * next goroutine on the thread deadlocked on it. The Makefile builds the
 * runtime with -fno-plt, so its calls go straight into libc. */
static chan_t *rl_ch;

static void rl_goroutine(void *arg)
{
    (void)arg;
    int v = 1;
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed)) {
        (void)chan_try_send(rl_ch, &v);     /* a nearly full channel: copies */
        (void)chan_len(rl_ch);
        (void)chan_try_recv(rl_ch, NULL, NULL);
        (void)chan_try_send(rl_ch, &v);
        for (int k = 0; k < 64; k++)        /* and about as long in its own code, */
            PR_STEP();                       /* where a preemption may land */
    }
    sync_wg_done(&lc_wg);
}

/* Three such goroutines at GOMAXPROCS=1, preempted for a 1 ms sleeper's
 * timer and at every 1 ms slice. Without their own loop they were in the
 * runtime 99% of the time, and stopped only by luck: one request in a
 * hundred caught one in its own code. sysmon once asked again every 20 us
 * after a refusal; it now backs off (preempt.c: sysmonpreempt), and the
 * 300 sleeps took minutes. */
static void rl_body(void)
{
    rl_ch = chan_make(sizeof(int), 4);
    atomic_store(&pr_stop, 0);
    uint64_t done0 = pr_metric(PR_METRIC);
    sync_wg_add(&lc_wg, 3);
    for (int i = 0; i < 3; i++)
        go(rl_goroutine, NULL);
    for (int i = 0; i < 300; i++)
        time_sleep(H_MS(1));
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&lc_wg);                   /* a deadlock hangs here; the parent kills us */
    CHECK_GE(pr_metric(PR_METRIC) - done0, 200);
    chan_free(rl_ch);
}

Test(stress, preempted_beside_the_runtimes_own_libc_calls_never_deadlocks, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", "GODEBUG=preemptslice=1", NULL };
    pr_in_child(rl_body, env, 25);
}

/* A goroutine that lives in libc: memset and memcmp over 4 MiB buffers,
 * so its PC is in libc nearly all the time and in its own loop for a few
 * instructions per millisecond. With a 1 ms slice sysmon asks it to stop
 * again and again: nearly every signal must be refused, and none may stop
 * it inside libc. memset and memcmp hold no lock, so a preemption there
 * would go unnoticed by the goroutine itself: the trampoline checks the
 * interrupted PC again (preempt.c: gort_asyncPreempt2) and throws. The
 * planted bug handler-preempts-in-libc dies here on every run, where the
 * printf/malloc stress above deadlocks only when a preempted goroutine's
 * lock is wanted again on the same thread. */
static size_t ls_size = 4 << 20;

static void ls_goroutine(void *arg)
{
    (void)arg;
    size_t n = __atomic_load_n(&ls_size, __ATOMIC_RELAXED);   /* no inlined memset */
    unsigned char *a = malloc(n), *b = malloc(n);
    long bad = 0;
    if (a != NULL && b != NULL) {
        for (int x = 0; !atomic_load_explicit(&pr_stop, memory_order_relaxed); x++) {
            memset(a, x, n);
            memset(b, x, n);
            if (memcmp(a, b, n) != 0)
                bad++;
        }
    }
    CHECK(a != NULL && b != NULL, "malloc(%zu) failed", n);
    CHECK_EQ(bad, 0);
    free(a);
    free(b);
    sync_wg_done(&lc_wg);
}

static void ls_body(void)
{
    atomic_store(&pr_stop, 0);
    uint64_t refused0 = pr_metric("/gort/preemptions/refused:events");
    sync_wg_add(&lc_wg, 2);
    for (int i = 0; i < 2; i++)
        go(ls_goroutine, NULL);
    /* 300 ms, and until 20 requests were refused (sysmon asks every 1 ms). */
    int64_t soak = h_now() + H_MS(300), deadline = h_now() + H_SEC(10) * H_SLOW;
    while (h_now() < soak || (!PR_COOP && h_now() < deadline &&
                              pr_metric("/gort/preemptions/refused:events") - refused0 < 20))
        time_sleep(H_MS(10));
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&lc_wg);
#if !PR_COOP
    CHECK_GE(pr_metric("/gort/preemptions/refused:events") - refused0, 20);
#endif
}

Test(stress, spinning_inside_libc_is_never_preempted_there, .timeout = H_TIMEOUT)
{
    /* Main sleeps on the third P: its timers never need a spinner stopped. */
    const char *env[] = { "GOMAXPROCS=3", "GODEBUG=preemptslice=1", NULL };
    pr_in_child(ls_body, env, 25);
}

/* ---- a goroutine blocked in libc: sysmon backs off ------------------------------- */

/* A goroutine blocked in a plain read() (no runtime_entersyscall) keeps
 * its P, overruns its slice, and sysmon asks it to stop; each signal lands
 * in libc and is refused (SA_RESTART resumes the read). A refusal once
 * reset sysmon to its 20 us tick, and retake asked at every tick: 3,000 to
 * 4,000 refused signals in 0.5 s, a sixth of a CPU, and a nanosleep cut
 * short at once; so did a due timer that the blocked G's P should run (a
 * request every 250 us). Now sysmon backs off as Go's does, and a request
 * that did not take is repeated ever later (preempt.c: sysmonpreempt):
 * about 50 in 0.5 s. */
static int bl_fd[2];
static atomic_int bl_done;

static void *bl_writer(void *arg)
{
    (void)arg;
    usleep(500 * 1000);
    if (write(bl_fd[1], "x", 1) != 1)
        perror("bl_writer: write");
    return NULL;
}

static void bl_reader(void *arg)
{
    char c;
    ssize_t k;
    do
        k = read(bl_fd[0], &c, 1);
    while (k < 0 && errno == EINTR);
    atomic_store(&bl_done, 1);
    h_send_int(arg, (int)k);
}

/* 1 ms sleeps: at GOMAXPROCS=1 its timers fall due while the reader
 * blocks the only P, and sysmon's timer rule asks the reader to stop. */
static void bl_sleeper(void *arg)
{
    while (!atomic_load(&bl_done))
        time_sleep(H_MS(1));
    sync_wg_done(arg);
}

static void bl_run(bool timers)
{
    REQUIRE(pipe(bl_fd) == 0, "pipe: %s", strerror(errno));
    chan_t *done = h_chan_int(1);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_store(&bl_done, 0);
    if (timers) {
        sync_wg_add(&wg, 1);
        go(bl_sleeper, &wg);
        gosched();                           /* it sleeps before the reader blocks */
    }
    uint64_t refused0 = pr_metric("/gort/preemptions/refused:events");
    pthread_t w;
    REQUIRE(pthread_create(&w, NULL, bl_writer, NULL) == 0, "pthread_create failed");
    go(bl_reader, done);
    CHECK_EQ(h_recv_int(done), 1);           /* main parks: no timer, no runtime call */
    pthread_join(w, NULL);
    sync_wg_wait(&wg);
    uint64_t refused = pr_metric("/gort/preemptions/refused:events") - refused0;
#if !PR_COOP
    CHECK_GT(refused, 0);                    /* it was asked, in libc */
    CHECK(refused <= 250, "%" PRIu64 " refused signals in 0.5 s: sysmon did not back off",
          refused);
#else
    (void)refused;
#endif
    chan_free(done);
    close(bl_fd[0]);
    close(bl_fd[1]);
}

static void bl_body(void) { bl_run(false); }
static void bl_timers_body(void) { bl_run(true); }

Test(blocked, goroutine_in_a_plain_read_is_not_signalled_every_tick, .timeout = H_TIMEOUT)
{
    const char *env1[] = { "GOMAXPROCS=1", "GODEBUG", NULL };
    const char *env2[] = { "GOMAXPROCS=2", "GODEBUG", NULL };
    pr_in_child(bl_body, env1, 20);
    pr_in_child(bl_body, env2, 20);
    pr_in_child(bl_timers_body, env1, 20);   /* and with a timer waiting for its P */
}

/* ---- user code in a signal handler of the program's ---------------------------- */

/* A goroutine raises SIGUSR1 at itself again and again; its handler,
 * installed without SA_ONSTACK, runs on the goroutine's own stack and spins
 * there in user code for a while. That is user code by address, but a
 * handler may have interrupted anything (libc with a lock held, the
 * runtime), and runs with its signal blocked: a preemption there would
 * carry that mask to whatever this thread runs next. The handler must
 * refuse (preempt.c: sigmasknormal). At GOMAXPROCS=1 a ticker goroutine
 * runs only when the raiser is stopped: the ticks it counts while a
 * handler runs are the preemptions inside it. */
static atomic_long sh_ticks, sh_inside, sh_handled;

static void sh_handler(int sig)
{
    (void)sig;
    long t0 = atomic_load_explicit(&sh_ticks, memory_order_relaxed);
    for (int i = 0; i < 1000000; i++)        /* about 1 ms of user code, no call */
        PR_BUMP();
    if (atomic_load_explicit(&sh_ticks, memory_order_relaxed) != t0)
        atomic_fetch_add(&sh_inside, 1);
    atomic_fetch_add(&sh_handled, 1);
}

static void sh_raiser(void *arg)
{
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed)) {
        raise(SIGUSR1);
        for (int i = 0; i < 100000; i++)     /* outside: stopping it here is fine */
            PR_STEP();
    }
    sync_wg_done(arg);
}

static void sh_ticker(void *arg)
{
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&sh_ticks, 1, memory_order_relaxed);
        gosched();
    }
    sync_wg_done(arg);
}

static void sh_body(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sh_handler;              /* no SA_ONSTACK: the goroutine's stack */
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0, "sigaction: %s", strerror(errno));
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_store(&pr_stop, 0);
    uint64_t refused0 = pr_metric("/gort/preemptions/refused:events");
    uint64_t done0 = pr_metric(PR_METRIC);
    sync_wg_add(&wg, 2);
    go(sh_raiser, &wg);
    go(sh_ticker, &wg);
    int64_t soak = h_now() + H_MS(300), deadline = h_now() + H_SEC(10) * H_SLOW;
    while (h_now() < soak || (h_now() < deadline && atomic_load(&sh_handled) < 100))
        time_sleep(H_MS(10));
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&wg);
    sigaction(SIGUSR1, &old, NULL);
    CHECK_GE(atomic_load(&sh_handled), 100);
    CHECK(atomic_load(&sh_inside) == 0, "preempted inside the program's signal handler "
          "%ld times in %ld", atomic_load(&sh_inside), atomic_load(&sh_handled));
    CHECK_GT(pr_metric(PR_METRIC) - done0, 0);               /* stopped outside it */
#if !PR_COOP
    CHECK_GT(pr_metric("/gort/preemptions/refused:events") - refused0, 0);
#else
    (void)refused0;
#endif
}

Test(signal, user_signal_handler_is_never_preempted, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", "GODEBUG=preemptslice=1", NULL };
    pr_in_child(sh_body, env, 25);
}

/* ---- a statically linked program --------------------------------------------------- */

#if !H_SANITIZED
/* BUILD/tests/static_malloc (tests/static_malloc.c, linked -static by the
 * Makefile): six goroutines churning malloc, snprintf and free for 1 s at
 * GOMAXPROCS=2. With libc in the program's text the handler took malloc
 * for user code and preempted there: double frees and segfaults in 2-3
 * runs of 5, and async preemptions in every run. The runtime must see it
 * at start, warn, and preempt only at calls into the runtime. The
 * sanitizer builds cannot link statically and have no such program. */
static char st_path[600];

static int st_exec(void)
{
    execl(st_path, st_path, (char *)NULL);
    printf("execl %s: %s\n", st_path, strerror(errno));
    return 127;
}

Test(static, statically_linked_program_turns_async_preemption_off, .timeout = H_TIMEOUT)
{
    char exe[512];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert(k > 0, "readlink /proc/self/exe: %s", strerror(errno));
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    *slash = 0;
    snprintf(st_path, sizeof st_path, "%s/static_malloc", exe);
    if (access(st_path, X_OK) != 0)
        cr_skip_test("%s was not built: this system cannot link a program statically "
                     "(Debian: libc6-dev ships libc.a)", st_path);

    const char *env[] = { "GOMAXPROCS=2", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, st_exec, env, 20);
    cr_assert(h_exited_with(&r, 0), "%s %s; stdout:\n%s\nstderr:\n%s", st_path,
              h_child_how(&r, how, sizeof how), r.out, r.err);
    unsigned long long async = 1, coop = 0;
    cr_assert(sscanf(r.out, "async=%llu cooperative=%llu", &async, &coop) == 2,
              "unexpected output:\n%s", r.out);
    cr_assert(async == 0, "%llu asynchronous preemptions in a static program; stderr:\n%s",
              async, r.err);
    cr_assert(coop > 0, "no cooperative preemption:\n%s", r.out);
#if !PR_COOP
    cr_assert(strstr(r.err, "gort: the program is statically linked") != NULL &&
              strstr(r.err, "asynchronous preemption is off") != NULL,
              "no warning on stderr:\n%s", r.err);
#endif
    h_child_free(&r);
}
#endif

/* ---- stop the world while a goroutine spins ------------------------------------- */

static void stw_body(void)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_store(&pr_stop, 0);
    sync_wg_add(&wg, 1);
    go(pr_spinner, &wg);
    time_sleep(H_MS(10));                   /* at GOMAXPROCS=1 it holds the P */
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(runtime_gomaxprocs(2), 1);
        CHECK_EQ(runtime_gomaxprocs(1), 2);
    }
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&wg);
    CHECK_GT(pr_metric("/sched/preemptions:events"), 0);
}

Test(stw, gomaxprocs_completes_while_a_goroutine_spins, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", NULL };
    pr_in_child(stw_body, env, 20);
}

/* ---- GODEBUG=asyncpreemptoff=1 -------------------------------------------------- */

/* A spinner that yields by itself every ~2 ms (so the program ends even
 * without preemption) beside a sleeper. */
static void off_spinner(void *arg)
{
    while (!atomic_load_explicit(&pr_stop, memory_order_relaxed)) {
        for (int k = 0; k < 2000000 && !atomic_load_explicit(&pr_stop, memory_order_relaxed); k++)
            PR_STEP();
        gosched();
    }
    sync_wg_done(arg);
}

static void off_workload(void)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_store(&pr_stop, 0);
    sync_wg_add(&wg, 1);
    go(off_spinner, &wg);
    for (int i = 0; i < 30; i++)
        time_sleep(H_MS(1));
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&wg);
}

static void off_body(void)
{
    off_workload();
    CHECK_EQ(pr_metric("/gort/preemptions/async:events"), 0);
    CHECK_EQ(pr_metric("/gort/preemptions/refused:events"), 0);   /* no signal at all */
}

static void on_body(void)
{
    off_workload();
    CHECK_GT(pr_metric(PR_METRIC), 0);      /* the timers preempted the spinner */
}

Test(asyncpreemptoff, turns_the_signals_off, .timeout = H_TIMEOUT)
{
    const char *off[] = { "GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1", NULL };
    const char *on[] = { "GOMAXPROCS=1", "GODEBUG", NULL };
    pr_in_child(off_body, off, 20);
    pr_in_child(on_body, on, 20);           /* and nothing else stops preemption */
}

/* ---- timers: the woken G runs before the spinner resumes ---------------------- */

/* With a 2 s time slice only the timer design (preempt.c: timerpreempt,
 * proc.c: gopreempt) can wake the sleeper: each 1 ms sleep must end long
 * before the spinner's slice does. gopreempt once queued the spinner
 * globally while the woken G sat in runnext: whenever the next schedule()
 * was a 1-in-61 global check, the spinner got the P back for a whole
 * slice (about one wake-up in 30). */

/* A goroutine in a long system call: sysmon retakes its P for a new M,
 * which stays idle afterwards. */
static void tp_blocker(void *arg)
{
    runtime_entersyscall();
    usleep(30 * 1000);
    runtime_exitsyscall();
    sync_wg_done(arg);
}

/* Spinners on every P, then 200 sleeps of 1 ms; each must end long before
 * a spinner's 2 s slice would. With idle_ms, Ms left idle by long system
 * calls sleep until each timer too: one that fires it first, without a
 * P, leaves the woken G on the global queue (proc.c: stopm), which sysmon
 * must preempt for as well (preempt.c: timerswoke). */
static void tp_run(bool idle_ms)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    if (idle_ms) {
        for (int i = 0; i < 4; i++) {
            sync_wg_add(&wg, 1);
            go(tp_blocker, &wg);
        }
        sync_wg_wait(&wg);
    }
    atomic_store(&pr_stop, 0);
    int n = runtime_gomaxprocs(0);
    sync_wg_add(&wg, n);
    for (int i = 0; i < n; i++)
        go(pr_spinner, &wg);
    time_sleep(H_MS(5));                    /* the spinners hold every P */
    int64_t worst = 0;
    for (int i = 0; i < 200; i++) {
        int64_t t = time_now();
        time_sleep(H_MS(1));
        int64_t late = time_now() - t - H_MS(1);
        if (late > worst)
            worst = late;
    }
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&wg);
    CHECK(worst < H_MS(500), "a 1 ms sleep woke %.1f ms late: a spinner kept its P "
          "for its slice", (double)worst / 1e6);
}

static void tp_body(void) { tp_run(false); }
static void tp_idle_ms_body(void) { tp_run(true); }

Test(timers, woken_goroutine_runs_before_the_spinner_resumes, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=1", "GODEBUG=preemptslice=2000", NULL };
    pr_in_child(tp_body, env, 60);
}

Test(timers, goroutines_woken_by_an_idle_m_get_a_p_in_time, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS=2", "GODEBUG=preemptslice=2000", NULL };
    pr_in_child(tp_idle_ms_body, env, 60);
}

/* ---- lazy system calls ------------------------------------------------------------ */

static atomic_int sc_ticks;

static void sc_ticker(void *arg)
{
    while (!atomic_load(&pr_stop)) {
        atomic_fetch_add(&sc_ticks, 1);
        gosched();
    }
    sync_wg_done(arg);
}

/* Short calls keep their P (_Psyscall) and take it straight back: with a
 * goroutine waiting to run, stage 02 handed the P to another thread at
 * every call, and the ticker ran about once per call. Here it runs only
 * when a call is retaken, which needs one that lasts two sysmon ticks: a
 * getppid does only when the OS deschedules the thread inside it (a busy
 * machine), so a handful of ticks may run, never one per call. (Counting
 * threads instead failed now and then for that reason: one retake starts
 * an M.) */
static void sc_short(void)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_store(&pr_stop, 0);
    sync_wg_add(&wg, 1);
    go(sc_ticker, &wg);                     /* always runnable: work for a hand-off */
    gosched();
    int t0 = atomic_load(&sc_ticks);
    for (int i = 0; i < 200; i++) {
        runtime_entersyscall();
        (void)getppid();
        runtime_exitsyscall();
    }
    int ran = atomic_load(&sc_ticks) - t0;
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&wg);
    CHECK(ran < 100, "the ticker ran %d times during 200 short calls: the P was handed "
          "off at the calls, not kept", ran);
}

static void sc_sleeper(void *arg)
{
    chan_t *done = arg;
    int t0 = atomic_load(&sc_ticks);
    runtime_entersyscall();
    usleep(30 * 1000);                      /* holds this thread; its P is retaken */
    runtime_exitsyscall();
    h_send_int(done, atomic_load(&sc_ticks) - t0);
}

/* A long call loses its P to sysmon's retake, and the rest run meanwhile. */
static void sc_long(void)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    chan_t *done = h_chan_int(1);
    atomic_store(&pr_stop, 0);
    atomic_store(&sc_ticks, 0);
    sync_wg_add(&wg, 1);
    go(sc_ticker, &wg);
    go(sc_sleeper, done);
    int ran = h_recv_int(done);
    atomic_store(&pr_stop, 1);
    sync_wg_wait(&wg);
    CHECK_GT(ran, 100);                     /* the ticker ran during the 30 ms call */
    chan_free(done);
}

GTEST(syscall, short_calls_keep_the_p_and_long_ones_lose_it)
{
    int start = runtime_gomaxprocs(1);
    sc_short();
    sc_long();
    runtime_gomaxprocs(start);
}
