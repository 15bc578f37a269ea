/*
 * Graded tests of exercise asyncsafe (see ../README.md for the points).
 *
 * All run at GOMAXPROCS=1, where one thread runs every goroutine: a
 * goroutine preempted while it holds something its thread needs (a
 * runtime lock, libc's allocator lock, a no-preempt region) deadlocks or
 * visibly breaks the next goroutine on that thread. The counters come from
 * the runtime: /gort/preemptions/async:events (the trampoline ran),
 * /gort/preemptions/refused:events (the handler said "not here"),
 * /gort/preemptions/cooperative:events (a safe point honoured a request).
 * Spinners are bounded by an iteration count, so a check that refuses
 * everything fails in seconds instead of hanging.
 */
#include "grade.h"
#include "runtime2.h"

#define SLICE1 "preemptslice=1"

static uint64_t metric(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    REQUIRE(s.kind == METRIC_U64, "metric %s missing", name);
    return s.value.u64;
}
#define ASYNC()   metric("/gort/preemptions/async:events")
#define REFUSED() metric("/gort/preemptions/refused:events")
#define COOP()    metric("/gort/preemptions/cooperative:events")
/* Where the stack is too short for metrics_read: the counter itself. */
#define REFUSED_RAW() __atomic_load_n(&sched.npreemptrefused, __ATOMIC_RELAXED)

/* No call: only a signal can stop it. */
static uint64_t sink;
#define BUMP() __atomic_store_n(&sink, __atomic_load_n(&sink, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)

static int stop;                /* atomic */
static int finished;            /* atomic */

static void spinner(void *arg)
{
    for (uint64_t i = 0; i < 2000000000ULL && !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++)
        BUMP();
    __atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
    sync_wg_done(arg);
}

/* ---- 1 ----------------------------------------------------------------------- */

GRADE_TEST(spinner_is_preempted, 3, "", 1)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    uint64_t a0 = ASYNC();
    sync_wg_add(&wg, 1);
    go(spinner, &wg);
    for (int i = 0; i < 20; i++)
        time_sleep(GRADE_MS(1));        /* each wake-up needs the spinner stopped */
    bool early = !__atomic_load_n(&finished, __ATOMIC_ACQUIRE);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);
    CHECK(early, "main's 20 sleeps of 1 ms ended only after the spinner's 2e9 iterations: "
          "the spinner was never preempted");
    CHECK(ASYNC() > a0, "no asynchronous preemption happened");
}

/* ---- 2 ----------------------------------------------------------------------- */

static FILE *devnull;
static chan_t *fullch;

/* Most of its time in libc, holding malloc's and the FILE's locks. */
static bool keep_going(int64_t until)
{
    return !__atomic_load_n(&stop, __ATOMIC_RELAXED) && time_now() < until;
}

static void libc_loop(void *arg)
{
    uint32_t x = (uint32_t)(uintptr_t)&x;
    int64_t until = time_now() + GRADE_MS(400);    /* bounded: a starter fails fast */
    while (keep_going(until)) {
        x = x * 1103515245u + 12345u;
        size_t n = 16 + (x >> 8) % 2048;
        char *p = malloc(n);
        if (p == NULL)
            continue;
        snprintf(p, n, "%u %zu", x, n);
        uint32_t sum = 0;                       /* some time in our own code too */
        for (size_t i = 0; i < n; i++)
            sum = sum * 31 + (uint8_t)p[i];
        fprintf(devnull, "%s %u\n", p, sum);
        free(p);
    }
    sync_wg_done(arg);
}

/* Most of its time in the runtime, holding the channel's lock. */
static void runtime_loop(void *arg)
{
    int v = 1;
    int64_t until = time_now() + GRADE_MS(400);
    while (keep_going(until)) {
        (void)chan_try_send(fullch, &v);
        (void)chan_len(fullch);
        (void)chan_try_recv(fullch, NULL, NULL);
        (void)chan_try_send(fullch, &v);
        for (int i = 0; i < 2000; i++)        /* and in our own */
            BUMP();
    }
    sync_wg_done(arg);
}

GRADE_TEST_GODEBUG(refused_in_libc_and_the_runtime, 3, "", 1, SLICE1)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    REQUIRE((devnull = fopen("/dev/null", "w")) != NULL, "fopen");
    fullch = chan_make(sizeof(int), 4);
    uint64_t a0 = ASYNC(), r0 = REFUSED();
    sync_wg_add(&wg, 7);
    for (int i = 0; i < 4; i++)
        go(libc_loop, &wg);
    for (int i = 0; i < 3; i++)
        go(runtime_loop, &wg);
    for (int i = 0; i < 300; i++)       /* a preemption in a lock deadlocks it */
        time_sleep(GRADE_MS(1));
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);
    uint64_t a = ASYNC() - a0, r = REFUSED() - r0;
    printf("(refused_in_libc_and_the_runtime) %llu async preemptions, %llu refused\n",
           (unsigned long long)a, (unsigned long long)r);
    CHECK(a >= 10, "only %llu asynchronous preemptions in 400 ms of 1 ms slices", (unsigned long long)a);
    CHECK(r > 0, "no signal was refused: the handler never found a goroutine in libc or the runtime?");
    fclose(devnull);
    chan_free(fullch);
}

/* ---- 3 ----------------------------------------------------------------------- */

static uint64_t deep_refused;
static int deep_ok;

/* Spins with its frame within 1.5-2.5 KiB of the stack's end: a preemption
 * there would run the trampoline's save area into the guard page. */
__attribute__((noinline)) static void deep(int depth)
{
    volatile char pad[200];
    pad[0] = (char)depth;
    g *gp = getg();
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (sp > (uintptr_t)gp->stack_lo + 2560) {
        deep(depth + 1);
        pad[1] = pad[0];                        /* not a tail call: a real frame each */
        return;
    }
    if (sp < (uintptr_t)gp->stack_lo + 1536) {
        __atomic_store_n(&deep_ok, -1, __ATOMIC_RELAXED);   /* frames too big: no test */
        return;
    }
    uint64_t r0 = REFUSED_RAW();
    for (uint64_t i = 0; i < 60000000ULL; i++)              /* ~100 ms, asked every 1 ms */
        BUMP();
    deep_refused = REFUSED_RAW() - r0;
    __atomic_store_n(&deep_ok, 1, __ATOMIC_RELAXED);
    (void)pad[0];
}

static uint64_t after;

static void deep_goroutine(void *arg)
{
    deep(0);
    uint64_t a0 = ASYNC();
    for (uint64_t i = 0; i < 60000000ULL; i++)              /* back up: preemptible */
        BUMP();
    after = ASYNC() - a0;
    sync_wg_done(arg);
}

GRADE_TEST_GODEBUG(no_room_on_the_stack_is_refused, 2, "", 1, SLICE1)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    go(deep_goroutine, &wg);
    sync_wg_wait(&wg);
    REQUIRE(__atomic_load_n(&deep_ok, __ATOMIC_RELAXED) == 1,
            "the test could not place a frame 1.5-2.5 KiB above the stack's end");
    CHECK(deep_refused > 0, "near the end of its stack the spinner was never refused");
    CHECK(after > 0, "back up its stack the spinner was never preempted");
}

/* ---- 4 ----------------------------------------------------------------------- */

static int inside;              /* atomic: a goroutine is in its region */
static int violations;          /* atomic */
static int64_t ticks;           /* atomic */

static void spin(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        BUMP();
}

static void spin_for(int64_t ns)
{
    int64_t until = time_now() + ns;   /* time_now: runtime code, not a safe point */
    while (time_now() < until)
        spin(1000);
}

static uint32_t nworker;        /* atomic */

/* At GOMAXPROCS=1 one goroutine runs at a time: another one inside its
 * region when this one enters means that one was stopped inside it.
 *
 * The lengths are random. With fixed ones, a request came at a fixed
 * phase of the loop: a goroutine resumes just after its preempt_enable,
 * and the next request (the ticker's 1 ms timer, or the 1 ms slice) came
 * the same time later, inside a region on one machine and outside on
 * another (CI: 0 async of 106). Every 100th round is 5 ms long, inside and
 * outside, more than a slice: a request lands in each, whatever the
 * machine's speed. */
static void region_worker(void *arg)
{
    uint32_t x = 2463534242u + 7919u * __atomic_add_fetch(&nworker, 1, __ATOMIC_RELAXED);
    for (int r = 0; r < 600; r++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;      /* xorshift32 */
        bool longer = r % 100 == 50;
        preempt_disable();
        if (__atomic_exchange_n(&inside, 1, __ATOMIC_RELAXED) != 0)
            __atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
        if (longer)
            spin_for(5000000);
        else
            spin(100000 + x % 100000);  /* 0.13-0.27 ms: most requests land here */
        __atomic_store_n(&inside, 0, __ATOMIC_RELAXED);
        preempt_enable();
        if (longer)
            spin_for(5000000);
        else
            spin(20000 + (x >> 16) % 80000);   /* 0.03-0.13 ms outside: some land here */
    }
    sync_wg_done(arg);
}

static void tick_loop(void *arg)
{
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        time_sleep(GRADE_MS(1));
        __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
    }
    sync_wg_done(arg);
}

/* 1.3 s on a loaded machine, the slowest graded test: 15 s. */
GRADE_TEST_GODEBUG_TIMEOUT(nopreempt_region_defers_preemption, 4, "", 1, SLICE1, 15)
{
    REQUIRE(runtime_gomaxprocs(0) == 1, "this test needs GOMAXPROCS=1 (one goroutine runs at a time)");
    sync_waitgroup wg = SYNC_WAITGROUP_INIT, tw = SYNC_WAITGROUP_INIT;
    uint64_t a0 = ASYNC(), c0 = COOP();
    sync_wg_add(&tw, 1);
    go(tick_loop, &tw);
    sync_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        go(region_worker, &wg);
    sync_wg_wait(&wg);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&tw);
    uint64_t a = ASYNC() - a0, c = COOP() - c0;
    int v = __atomic_load_n(&violations, __ATOMIC_RELAXED);
    printf("(nopreempt_region_defers_preemption) %llu async, %llu deferred (cooperative), "
           "%d regions entered while another was open, %lld ticks\n", (unsigned long long)a,
           (unsigned long long)c, v, (long long)__atomic_load_n(&ticks, __ATOMIC_RELAXED));
    CHECK(v == 0, "%d times a goroutine was preempted inside a no-preempt region", v);
    CHECK(c > 0, "no preemption was deferred to the end of a region (preempt_enable)");
    CHECK(a > 0, "no goroutine was preempted between its regions");
    CHECK(__atomic_load_n(&ticks, __ATOMIC_RELAXED) >= 3, "the ticker goroutine barely ran");
}

/* ---- 5 ----------------------------------------------------------------------- */

GRADE_TEST(regions_nest, 2, "", 1)
{
    sync_waitgroup tw = SYNC_WAITGROUP_INIT;
    sync_wg_add(&tw, 1);
    go(tick_loop, &tw);
    time_sleep(GRADE_MS(3));                /* the ticker sleeps: its timer will be due */
    preempt_disable();
    preempt_disable();
    int64_t t0 = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
    spin_for(GRADE_MS(30));
    int64_t t1 = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
    preempt_enable();                       /* still inside the outer region */
    spin_for(GRADE_MS(30));
    int64_t t2 = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
    preempt_enable();                       /* the deferred preemption: the ticker runs */
    int64_t t3 = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
    spin_for(GRADE_MS(30));                 /* outside: preempted as usual */
    int64_t t4 = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&tw);
    CHECK(t1 == t0, "the ticker ran %lld times inside two nested regions", (long long)(t1 - t0));
    CHECK(t2 == t0, "the ticker ran %lld times inside the outer region after the inner one ended",
          (long long)(t2 - t1));
    CHECK(t3 > t2, "leaving the outer region did not honour the preemption asked for inside it");
    CHECK(t4 > t3 + 5, "outside any region the ticker ran only %lld times in 30 ms",
          (long long)(t4 - t3));
}
