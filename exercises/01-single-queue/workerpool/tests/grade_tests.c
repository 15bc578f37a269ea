/*
 * Graded tests of exercise workerpool (see ../README.md for the points).
 *
 * Pool sizes, job counts and error codes are drawn from GRADE_SEED. The
 * tests count goroutines (runtime_num_goroutine) to check the pool really
 * is `workers` goroutines, check that a blocked submitter is parked, and
 * end with runtime_leak_check so a worker left behind fails the test.
 */
#include "grade.h"
#include "workerpool.h"

static int load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void add(int *p, int d) { __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }

typedef struct { int *p; int want; } eq_arg;
static bool is_eq(void *a) { eq_arg *x = a; return load(x->p) == x->want; }
static bool becomes(int *p, int want)
{
    eq_arg a = { p, want };
    return grade_eventually(is_eq, &a, 5000000000LL);
}
static bool num_goroutine_is(void *a) { return runtime_num_goroutine() == *(int *)a; }

static void no_leaks(void)
{
    int n = runtime_leak_check(1000000000LL, stdout);
    CHECK(n == 0, "%d goroutines still alive after pool_wait and pool_free", n);
}

/* ---- every job once ---------------------------------------------------- */

static int ran[4096];
static int running, max_running;

static int count_job(context_t *ctx, void *arg)
{
    (void)ctx;
    int r = __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    int m = load(&max_running);
    while (r > m && !__atomic_compare_exchange_n(&max_running, &m, r, false, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST))
        ;
    add(&ran[(intptr_t)arg], 1);
    if ((intptr_t)arg % 3 == 0)
        gosched();
    add(&running, -1);
    return 0;
}

GRADE_TEST(pool_runs_every_job, 2, "", 2)
{
    for (int round = 0; round < 3; round++) {
        int workers = (int)grade_rand(1, 8), cap = (int)grade_rand(0, 16);
        int jobs = (int)grade_rand(50, 4000);
        memset(ran, 0, sizeof ran);
        running = max_running = 0;
        workerpool *p = pool_new(NULL, workers, cap);
        int bad = 0;
        for (int i = 0; i < jobs; i++)
            bad += pool_submit(p, count_job, (void *)(intptr_t)i) != 0;
        CHECK(bad == 0, "%d of %d submits to a healthy pool failed", bad, jobs);
        CHECK_EQ(pool_wait(p), 0);
        int wrong = 0;
        for (int i = 0; i < jobs; i++)
            wrong += ran[i] != 1;
        CHECK(wrong == 0, "%d of %d jobs did not run exactly once (workers=%d, queue_cap=%d)",
              wrong, jobs, workers, cap);
        CHECK(max_running <= workers, "%d jobs ran at once with %d workers", max_running, workers);
        pool_free(p);
    }
    no_leaks();
}

/* ---- goroutines and backpressure --------------------------------------- */

static chan_t *gate;

static int gated_job(context_t *ctx, void *arg)
{
    (void)ctx; (void)arg;
    add(&running, 1);
    chan_recv(gate, NULL);
    add(&running, -1);
    add(&ran[0], 1);
    return 0;
}

GRADE_TEST(pool_fixed_workers, 2, "pool_runs_every_job", 2)
{
    int n0 = runtime_num_goroutine();
    int workers = (int)grade_rand(2, 12), cap = (int)grade_rand(1, 8);
    workerpool *p = pool_new(NULL, workers, cap);
    int want = n0 + workers;
    CHECK(grade_eventually(num_goroutine_is, &want, 1000000000LL),
          "pool_new(workers=%d) should start exactly %d goroutines; there are %d more",
          workers, workers, runtime_num_goroutine() - n0);
    gate = chan_make(0, 0);
    running = 0;
    ran[0] = 0;
    int jobs = workers + cap;
    for (int i = 0; i < jobs; i++)
        CHECK_EQ(pool_submit(p, gated_job, NULL), 0);
    CHECK(becomes(&running, workers), "%d jobs should run at once on %d workers; %d do",
          workers, workers, load(&running));
    CHECK(runtime_num_goroutine() == want, "with %d jobs submitted there are %d goroutines, "
          "want %d: a goroutine per job?", jobs, runtime_num_goroutine() - n0, workers);
    chan_close(gate);
    CHECK_EQ(pool_wait(p), 0);
    CHECK_EQ(load(&ran[0]), jobs);
    CHECK(grade_eventually(num_goroutine_is, &n0, 1000000000LL),
          "after pool_wait, %d worker goroutines are still alive", runtime_num_goroutine() - n0);
    pool_free(p);
    chan_free(gate);
    no_leaks();
}

static workerpool *bp_pool;
static int submitted;

static void submitter(void *arg)
{
    int *err = arg;
    *err = pool_submit(bp_pool, gated_job, NULL);
    add(&submitted, 1);
}

GRADE_TEST(pool_backpressure, 3, "pool_fixed_workers", 2)
{
    int workers = (int)grade_rand(1, 6), cap = (int)grade_rand(0, 10);
    bp_pool = pool_new(NULL, workers, cap);
    gate = chan_make(0, 0);
    running = submitted = 0;
    ran[0] = 0;
    for (int i = 0; i < workers; i++)
        CHECK_EQ(pool_submit(bp_pool, gated_job, NULL), 0);
    REQUIRE(becomes(&running, workers), "all %d workers should be busy; %d are", workers,
            load(&running));
    for (int i = 0; i < cap; i++)
        CHECK(pool_try_submit(bp_pool, gated_job, NULL) == 0,
              "try_submit %d of %d should fit in the queue (queue_cap=%d)", i + 1, cap, cap);
    CHECK(pool_try_submit(bp_pool, gated_job, NULL) == POOL_EFULL,
          "try_submit on a full queue should return POOL_EFULL");
    static int err = 12345;
    go(submitter, &err);
    CHECK(grade_wait_parked(1, NULL, "submitter"),
          "pool_submit on a full queue should block, parked");
    time_sleep(GRADE_MS(5));
    CHECK(load(&submitted) == 0, "pool_submit returned although the queue was full");
    chan_close(gate);
    CHECK(becomes(&submitted, 1), "the blocked submit never returned after the jobs finished");
    CHECK_EQ(err, 0);
    CHECK_EQ(pool_wait(bp_pool), 0);
    CHECK_EQ(load(&ran[0]), workers + cap + 1);
    pool_free(bp_pool);
    chan_free(gate);
    no_leaks();
}

/* ---- errors -------------------------------------------------------------- */

static int fail_code, saw_cancel, queued_ran;

static int failing_job(context_t *ctx, void *arg)
{
    (void)ctx; (void)arg;
    chan_recv(gate, NULL);
    return fail_code;
}

/* Runs until the pool's context is cancelled (or 5 s, the failure case). */
static int patient_job(context_t *ctx, void *arg)
{
    (void)arg;
    add(&running, 1);
    chan_t *t = time_after(5000000000LL);
    select_case cases[2] = {
        { .c = context_done(ctx), .dir = SELECT_RECV },
        { .c = t, .dir = SELECT_RECV },
    };
    if (chan_select(cases, 2, true) == 0)
        add(&saw_cancel, 1);
    chan_free(t);
    return 0;
}

static int queued_job(context_t *ctx, void *arg)
{
    (void)ctx; (void)arg;
    add(&queued_ran, 1);
    return 0;
}

GRADE_TEST(pool_error_propagates, 3, "pool_runs_every_job", 2)
{
    int workers = (int)grade_rand(2, 6), cap = (int)grade_rand(1, 10);
    fail_code = (int)grade_rand(100, 1 << 20);
    workerpool *p = pool_new(NULL, workers, cap);
    gate = chan_make(0, 0);
    running = saw_cancel = queued_ran = 0;
    CHECK_EQ(pool_submit(p, failing_job, NULL), 0);
    for (int i = 1; i < workers; i++)
        CHECK_EQ(pool_submit(p, patient_job, NULL), 0);
    REQUIRE(becomes(&running, workers - 1), "the %d patient jobs should all be running",
            workers - 1);
    for (int i = 0; i < cap; i++)
        CHECK_EQ(pool_submit(p, queued_job, NULL), 0);
    chan_close(gate);                                   /* the failing job fails now */
    CHECK(becomes(&saw_cancel, workers - 1), "%d running jobs should see the pool's context "
          "cancelled after a job failed; %d did", workers - 1, load(&saw_cancel));
    int err = pool_submit(p, queued_job, NULL);
    CHECK(err == fail_code, "pool_submit after a failure should return the job's error %d; "
          "it returned %d", fail_code, err);
    err = pool_try_submit(p, queued_job, NULL);
    CHECK(err == fail_code, "pool_try_submit after a failure should return %d; it returned %d",
          fail_code, err);
    err = pool_wait(p);
    CHECK(err == fail_code, "pool_wait should return the first error %d; it returned %d",
          fail_code, err);
    CHECK(load(&queued_ran) == 0, "%d queued jobs were started after the pool had failed",
          load(&queued_ran));
    pool_free(p);
    chan_free(gate);
    no_leaks();
}

static int blocked_err;
static void blocked_submitter(void *arg)
{
    blocked_err = pool_submit(arg, queued_job, NULL);
    add(&submitted, 1);
}

GRADE_TEST(pool_blocked_submit_fails_fast, 2, "pool_error_propagates", 2)
{
    int workers = (int)grade_rand(1, 4), cap = (int)grade_rand(0, 6);
    fail_code = (int)grade_rand(100, 1 << 20);
    workerpool *p = pool_new(NULL, workers, cap);
    gate = chan_make(0, 0);
    running = saw_cancel = queued_ran = submitted = 0;
    CHECK_EQ(pool_submit(p, failing_job, NULL), 0);
    for (int i = 1; i < workers; i++)
        CHECK_EQ(pool_submit(p, patient_job, NULL), 0);
    REQUIRE(becomes(&running, workers - 1), "the patient jobs should all be running");
    for (int i = 0; i < cap; i++)
        CHECK_EQ(pool_submit(p, queued_job, NULL), 0);
    go(blocked_submitter, p);
    REQUIRE(grade_wait_parked(1, NULL, "blocked_submitter"), "submit to a full queue should park");
    chan_close(gate);
    bool returned = becomes(&submitted, 1);
    CHECK(returned, "a submitter blocked on the full queue should return the error once the "
          "pool fails; it is still blocked");
    if (!returned)
        return;                 /* pool_wait would close the queue under its feet */
    CHECK(blocked_err == fail_code, "the blocked submit returned %d, want the error %d",
          blocked_err, fail_code);
    CHECK_EQ(pool_wait(p), fail_code);
    pool_free(p);
    chan_free(gate);
    no_leaks();
}

GRADE_TEST(pool_parent_cancel, 2, "pool_runs_every_job", 2)
{
    context_t *parent = context_with_cancel(context_background());
    int workers = (int)grade_rand(1, 6);
    workerpool *p = pool_new(parent, workers, (int)grade_rand(0, 5));
    running = saw_cancel = 0;
    for (int i = 0; i < workers; i++)
        CHECK_EQ(pool_submit(p, patient_job, NULL), 0);
    REQUIRE(becomes(&running, workers), "the jobs should all be running");
    context_cancel(parent);
    CHECK(becomes(&saw_cancel, workers), "jobs should see the parent's cancellation");
    int err = pool_submit(p, queued_job, NULL);
    CHECK(err == POOL_ECANCELED, "submit after the parent was cancelled should return "
          "POOL_ECANCELED (%d); it returned %d", POOL_ECANCELED, err);
    err = pool_wait(p);
    CHECK(err == POOL_ECANCELED, "pool_wait should return POOL_ECANCELED (%d); it returned %d",
          POOL_ECANCELED, err);
    pool_free(p);
    context_free(parent);
    no_leaks();
}
