/*
 * Graded tests of exercise coop-checks (see ../README.md for the points).
 *
 * Every test runs at GOMAXPROCS=1 with GODEBUG=asyncpreemptoff=1: sysmon
 * still asks a goroutine to stop (g.preempt, for an overrun slice or a due
 * timer), but no signal makes it, so only the checks in crunch.c can give
 * the thread back. Each test runs one routine twice on input drawn from
 * the seed:
 *
 *   1. alone: the result must equal the reference (below, no checks), and
 *      the routine may not yield for nothing: at most one context switch
 *      per 20 us of its run on average (a gosched() in the inner loop
 *      fails; a check that yields only when asked, or every 100 us, passes);
 *   2. beside a ticker goroutine that sleeps 1 ms in a loop: the ticker
 *      must wake at least once per 4 ms of the routine's run on average
 *      (good checks give one per 1.1 ms; without checks it wakes only
 *      after the routine returns, 0 times), and the result must be right.
 *
 * No bound is on a raw time: both are ratios of counts to the routine's
 * own running time, so a slow or busy machine stretches both sides.
 */
#include "grade.h"
#include "crunch.h"

#define ASYNC_OFF "asyncpreemptoff=1"

static uint64_t metric(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    REQUIRE(s.kind == METRIC_U64, "metric %s missing", name);
    return s.value.u64;
}

/* ---- the ticker --------------------------------------------------------- */

static int ticks;            /* atomic */
static int tickstop;         /* atomic */
static sync_waitgroup tickwg;

static void ticker(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&tickstop, __ATOMIC_ACQUIRE)) {
        time_sleep(GRADE_MS(1));
        __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
    }
    sync_wg_done(&tickwg);
}

typedef struct {
    const char *what;
    void (*run)(void *);     /* the routine under test */
    bool (*ok)(void *);      /* its result is right */
    void *arg;
} job;

static void check_job(job *j)
{
    /* 1. alone */
    uint64_t cs0 = metric("/sched/context-switches:events");
    int64_t t0 = time_now();
    j->run(j->arg);
    int64_t alone = time_now() - t0;
    uint64_t yields = metric("/sched/context-switches:events") - cs0;
    CHECK(j->ok(j->arg), "%s alone: wrong result (the checks must not change what it computes)",
          j->what);
    CHECK(yields <= 2 + (uint64_t)(alone / 20000),
          "%s alone yielded %llu times in %.1f ms: more than once per 20 us, for nothing "
          "(no other goroutine wanted the thread)", j->what, (unsigned long long)yields,
          alone / 1e6);

    /* 2. beside a ticker */
    __atomic_store_n(&ticks, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&tickstop, 0, __ATOMIC_RELAXED);
    sync_wg_add(&tickwg, 1);
    go(ticker, NULL);
    time_sleep(GRADE_MS(3));                /* the ticker is asleep in time_sleep */
    int before = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
    t0 = time_now();
    j->run(j->arg);
    int64_t took = time_now() - t0;
    int during = __atomic_load_n(&ticks, __ATOMIC_RELAXED) - before;
    __atomic_store_n(&tickstop, 1, __ATOMIC_RELEASE);
    sync_wg_wait(&tickwg);
    CHECK(j->ok(j->arg), "%s beside a sleeper: wrong result", j->what);
    int64_t want = took / GRADE_MS(4);
    printf("(%s) alone %.1f ms, %llu switches; beside the ticker %.1f ms, %d wake-ups "
           "(want >= %lld)\n", j->what, alone / 1e6, (unsigned long long)yields, took / 1e6,
           during, (long long)want);
    CHECK(took >= GRADE_MS(20), "%s ran only %.1f ms: too little to measure", j->what, took / 1e6);
    CHECK(during >= want && during >= 3,
          "a goroutine sleeping 1 ms at a time woke %d times during the %.1f ms of %s: "
          "want at least one per 4 ms (its thread was never given back?)",
          during, took / 1e6, j->what);
}

/* ---- hash ------------------------------------------------------------------- */

static struct { uint8_t *buf; size_t len; uint64_t want, got; } hj;

static uint64_t ref_hash(const uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}
static void run_hash(void *a) { (void)a; hj.got = 0; hj.got = crunch_hash(hj.buf, hj.len); }
static bool ok_hash(void *a) { (void)a; return hj.got == hj.want; }

GRADE_TEST_GODEBUG(hash_lets_a_sleeper_run, 3, "", 1, ASYNC_OFF)
{
    hj.len = (size_t)grade_rand(40, 48) << 20;
    REQUIRE((hj.buf = malloc(hj.len)) != NULL, "malloc");
    uint64_t x = (uint64_t)grade_rand(1, INT64_MAX);
    for (size_t i = 0; i < hj.len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        hj.buf[i] = (uint8_t)x;
    }
    hj.want = ref_hash(hj.buf, hj.len);
    job j = { "crunch_hash", run_hash, ok_hash, NULL };
    check_job(&j);
    free(hj.buf);
}

/* ---- matmul ----------------------------------------------------------------- */

static struct { int n; double *a, *b, *c, *want; } mj;

static void run_matmul(void *a) { (void)a; memset(mj.c, 0, sizeof(double) * mj.n * mj.n);
                                  crunch_matmul(mj.n, mj.a, mj.b, mj.c); }
static bool ok_matmul(void *a)
{
    (void)a;
    for (size_t i = 0; i < (size_t)mj.n * mj.n; i++) {
        double d = mj.c[i] - mj.want[i];
        if (d > 1e-9 || d < -1e-9)
            return false;
    }
    return true;
}

GRADE_TEST_GODEBUG(matmul_lets_a_sleeper_run, 3, "", 1, ASYNC_OFF)
{
    int n = mj.n = (int)grade_rand(420, 460);
    size_t sz = sizeof(double) * n * n;
    REQUIRE((mj.a = malloc(sz)) && (mj.b = malloc(sz)) && (mj.c = malloc(sz)) &&
            (mj.want = malloc(sz)), "malloc");
    for (int i = 0; i < n * n; i++) {
        mj.a[i] = (double)grade_rand(-8, 8) / 4;    /* exact in binary: sums are exact */
        mj.b[i] = (double)grade_rand(-8, 8) / 4;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int l = 0; l < n; l++)
                s += mj.a[(size_t)i * n + l] * mj.b[(size_t)l * n + k];
            mj.want[(size_t)i * n + k] = s;
        }
    job j = { "crunch_matmul", run_matmul, ok_matmul, NULL };
    check_job(&j);
    free(mj.a), free(mj.b), free(mj.c), free(mj.want);
}

/* ---- sort ------------------------------------------------------------------- */

static struct { size_t n; int64_t *orig, *v; uint64_t sum, xr; } sj;

static void run_sort(void *a) { (void)a; memcpy(sj.v, sj.orig, sj.n * sizeof *sj.v);
                                crunch_sort(sj.v, sj.n); }
static bool ok_sort(void *a)
{
    (void)a;
    uint64_t sum = 0, xr = 0;
    for (size_t i = 0; i < sj.n; i++) {
        if (i > 0 && sj.v[i - 1] > sj.v[i])
            return false;
        sum += (uint64_t)sj.v[i] * 0x9e3779b97f4a7c15ULL;
        xr ^= (uint64_t)sj.v[i] * 0xbf58476d1ce4e5b9ULL;
    }
    return sum == sj.sum && xr == sj.xr;            /* the same multiset */
}

GRADE_TEST_GODEBUG(sort_lets_a_sleeper_run, 4, "", 1, ASYNC_OFF)
{
    sj.n = (size_t)grade_rand(1800, 2200) * 1000;
    REQUIRE((sj.orig = malloc(sj.n * 8)) && (sj.v = malloc(sj.n * 8)), "malloc");
    uint64_t x = (uint64_t)grade_rand(1, INT64_MAX);
    sj.sum = sj.xr = 0;
    for (size_t i = 0; i < sj.n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sj.orig[i] = (int64_t)(x % 1000003) - 500000;  /* duplicates too */
        sj.sum += (uint64_t)sj.orig[i] * 0x9e3779b97f4a7c15ULL;
        sj.xr ^= (uint64_t)sj.orig[i] * 0xbf58476d1ce4e5b9ULL;
    }
    job j = { "crunch_sort", run_sort, ok_sort, NULL };
    check_job(&j);
    free(sj.orig), free(sj.v);
}
