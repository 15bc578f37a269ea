/*
 * Graded tests of exercise semaphore (see ../README.md for the points).
 *
 * Sizes, weights and timeouts are drawn from GRADE_SEED. Waiting callers
 * must be parked (the goroutine dump shows them neither running nor
 * runnable): a semaphore that spins or polls with gosched fails.
 */
#include "grade.h"
#include "semaphore.h"

static int load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void add(int *p, int d) { __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }

typedef struct { int *p; int want; } eq_arg;
static bool is_eq(void *a) { eq_arg *x = a; return load(x->p) == x->want; }
static bool becomes(int *p, int want)
{
    eq_arg a = { p, want };
    return grade_eventually(is_eq, &a, 5000000000LL);
}

static semaphore_t *sem;
static int64_t S;

GRADE_TEST(sem_basic, 1, "", 1)
{
    S = grade_rand(4, 64);
    sem = semaphore_new(S);
    int64_t a = grade_rand(1, S - 2);
    CHECK_EQ(semaphore_acquire(sem, NULL, a), 0);
    CHECK(!semaphore_try_acquire(sem, S - a + 1), "try_acquire(%lld) succeeded with only %lld free",
          (long long)(S - a + 1), (long long)(S - a));
    CHECK(semaphore_try_acquire(sem, S - a), "try_acquire(%lld) failed with %lld free",
          (long long)(S - a), (long long)(S - a));
    CHECK(!semaphore_try_acquire(sem, 1), "try_acquire(1) succeeded on a full semaphore");
    CHECK(semaphore_try_acquire(sem, 0), "try_acquire(0) should always succeed when nobody waits");
    semaphore_release(sem, a);
    semaphore_release(sem, S - a);
    CHECK(semaphore_try_acquire(sem, S), "after releasing everything, try_acquire(size) failed");
    semaphore_release(sem, S);
    context_t *bg = context_background();
    CHECK_EQ(semaphore_acquire(sem, bg, S), 0);
    semaphore_release(sem, S);
    semaphore_free(sem);
}

/* ---- blocking --------------------------------------------------------- */

static int admitted, order_n, order_log[128];

typedef struct { int64_t k; int id; context_t *ctx; int err; int64_t took; } req;

static void acquirer(void *arg)
{
    req *r = arg;
    int64_t t0 = time_now();
    r->err = semaphore_acquire(sem, r->ctx, r->k);
    r->took = time_now() - t0;
    if (r->err == 0)
        order_log[__atomic_fetch_add(&order_n, 1, __ATOMIC_SEQ_CST)] = r->id;
    add(&admitted, 1);
}

GRADE_TEST(sem_blocks_and_parks, 2, "sem_basic", 1)
{
    S = grade_rand(2, 32);
    sem = semaphore_new(S);
    admitted = order_n = 0;
    CHECK_EQ(semaphore_acquire(sem, NULL, S), 0);
    static req r;
    r = (req){ .k = grade_rand(1, S), .id = 1 };
    go(acquirer, &r);
    CHECK(grade_wait_parked(1, NULL, "acquirer"),
          "a caller waiting for units should be parked (not running or runnable)");
    time_sleep(GRADE_MS(5));
    CHECK(load(&admitted) == 0, "acquire(%lld) returned while all %lld units were held",
          (long long)r.k, (long long)S);
    semaphore_release(sem, S);
    CHECK(becomes(&admitted, 1), "the waiter was never admitted after the release");
    CHECK_EQ(r.err, 0);
    semaphore_release(sem, r.k);
    semaphore_free(sem);
}

GRADE_TEST(sem_fifo_large_not_overtaken, 3, "sem_blocks_and_parks", 2)
{
    S = grade_rand(4, 20);
    sem = semaphore_new(S);
    admitted = order_n = 0;
    CHECK_EQ(semaphore_acquire(sem, NULL, S), 0);
    static req big, small[16];
    big = (req){ .k = S, .id = 100 };
    go(acquirer, &big);
    REQUIRE(grade_wait_parked(1, NULL, "acquirer"), "the large request should wait, parked");
    int m = (int)grade_rand(2, S < 16 ? S : 16);     /* all fit once the large one is done */
    for (int i = 0; i < m; i++) {
        small[i] = (req){ .k = 1, .id = i + 1 };
        go(acquirer, &small[i]);
    }
    CHECK(grade_wait_parked(1 + m, NULL, "acquirer"),
          "%d small requests queued behind a large one should all wait, parked", m);
    semaphore_release(sem, 1);      /* one unit free: the small ones fit, the head does not */
    time_sleep(GRADE_MS(10));
    CHECK(load(&admitted) == 0, "%d small requests overtook the large one queued before them",
          load(&admitted));
    CHECK(!semaphore_try_acquire(sem, 1), "try_acquire(1) overtook the queued waiters");
    semaphore_release(sem, S - 1);  /* now the head fits */
    CHECK(becomes(&admitted, 1), "the large request was not admitted once all units were free");
    time_sleep(GRADE_MS(5));
    CHECK_EQ(load(&admitted), 1);
    semaphore_release(sem, S);      /* the large one's units (it holds them still) */
    CHECK(becomes(&admitted, 1 + m), "the small requests were not all admitted; %d were",
          load(&admitted) - 1);
    CHECK(order_log[0] == 100, "the first admitted should be the large request; it was %d",
          order_log[0]);
    for (int i = 0; i < m; i++)
        semaphore_release(sem, 1);
    CHECK(semaphore_try_acquire(sem, S), "units leaked: try_acquire(size) fails at the end");
    semaphore_release(sem, S);
    semaphore_free(sem);
}

/* ---- cancellation ---------------------------------------------------- */

static void canceller(void *arg)
{
    time_sleep(GRADE_MS(grade_rand(2, 10)));
    context_cancel(arg);
}

GRADE_TEST(sem_cancel_returns_ctx_err, 2, "sem_blocks_and_parks", 2)
{
    S = grade_rand(2, 16);
    sem = semaphore_new(S);
    admitted = order_n = 0;
    CHECK_EQ(semaphore_acquire(sem, NULL, S), 0);

    int64_t ms = grade_rand(5, 25);
    static req r1, r2;
    r1 = (req){ .k = grade_rand(1, S), .id = 1, .ctx = context_with_timeout(context_background(), GRADE_MS(ms)) };
    go(acquirer, &r1);
    CHECK(becomes(&admitted, 1), "acquire with a %lld ms timeout did not return", (long long)ms);
    CHECK(r1.err == CONTEXT_DEADLINE_EXCEEDED, "acquire should return CONTEXT_DEADLINE_EXCEEDED (%d); "
          "it returned %d", CONTEXT_DEADLINE_EXCEEDED, r1.err);
    CHECK(r1.took >= GRADE_MS(ms) - GRADE_MS(1), "acquire returned after %lld ms, before its "
          "%lld ms timeout", (long long)(r1.took / 1000000), (long long)ms);

    r2 = (req){ .k = grade_rand(1, S), .id = 2, .ctx = context_with_cancel(context_background()) };
    go(acquirer, &r2);
    go(canceller, r2.ctx);
    CHECK(becomes(&admitted, 2), "acquire did not return when its context was cancelled");
    CHECK(r2.err == CONTEXT_CANCELED, "acquire should return CONTEXT_CANCELED (%d); it returned %d",
          CONTEXT_CANCELED, r2.err);

    semaphore_release(sem, S);
    CHECK(semaphore_try_acquire(sem, S), "after cancelled waits, try_acquire(size) fails: "
          "a cancelled waiter still holds units or still sits in the queue");
    semaphore_release(sem, S);
    context_free(r1.ctx);
    context_free(r2.ctx);
    semaphore_free(sem);
}

GRADE_TEST(sem_cancel_head_admits_next, 2, "sem_cancel_returns_ctx_err", 2)
{
    S = grade_rand(4, 24);
    sem = semaphore_new(S);
    admitted = order_n = 0;
    int64_t f = grade_rand(1, S - 2);                 /* units left free */
    CHECK_EQ(semaphore_acquire(sem, NULL, S - f), 0);
    static req head, next;
    head = (req){ .k = f + 1, .id = 1, .ctx = context_with_cancel(context_background()) };
    go(acquirer, &head);
    REQUIRE(grade_wait_parked(1, NULL, "acquirer"), "acquire(%lld) with %lld free should wait",
            (long long)(f + 1), (long long)f);
    next = (req){ .k = f, .id = 2 };
    go(acquirer, &next);
    REQUIRE(grade_wait_parked(2, NULL, "acquirer"), "a request behind the head should wait (FIFO)");
    context_cancel(head.ctx);
    CHECK(becomes(&admitted, 2), "after the head waiter was cancelled, the %lld units free "
          "should admit the waiter behind it (asking %lld); it still waits", (long long)f,
          (long long)f);
    CHECK(head.err == CONTEXT_CANCELED, "the cancelled head should return CONTEXT_CANCELED; got %d",
          head.err);
    CHECK_EQ(next.err, 0);
    semaphore_release(sem, f);
    semaphore_release(sem, S - f);
    context_free(head.ctx);
    semaphore_free(sem);
}

GRADE_TEST(sem_too_big_waits_for_ctx, 1, "sem_basic", 1)
{
    S = grade_rand(1, 16);
    sem = semaphore_new(S);
    context_t *ctx = context_with_timeout(context_background(), GRADE_MS(grade_rand(2, 10)));
    int err = semaphore_acquire(sem, ctx, S + grade_rand(1, 5));
    CHECK(err == CONTEXT_DEADLINE_EXCEEDED, "acquire of more than the size should wait for the "
          "context and return CONTEXT_DEADLINE_EXCEEDED; it returned %d", err);
    CHECK(semaphore_try_acquire(sem, S), "the oversized request left units held or a waiter queued");
    semaphore_release(sem, S);
    context_free(ctx);
    semaphore_free(sem);
}

GRADE_DEATH_TEST(sem_release_more_than_held_dies, 1, "sem_basic", 1,
                 "panic: semaphore: released more than held")
{
    semaphore_t *s = semaphore_new(4);
    CHECK_EQ(semaphore_acquire(s, NULL, 2), 0);
    semaphore_release(s, 3);
}

/* ---- stress ---------------------------------------------------------- */

static int in_use, overflows, done_workers, rounds;

static void stress_worker(void *unused)
{
    (void)unused;
    for (int i = 0; i < rounds; i++) {
        int64_t k = grade_rand(1, S);
        context_t *ctx = NULL;
        if (i % 4 == 3)
            ctx = context_with_timeout(context_background(), grade_rand(10000, 2000000));
        if (semaphore_acquire(sem, ctx, k) == 0) {
            if (__atomic_add_fetch(&in_use, (int)k, __ATOMIC_SEQ_CST) > S)
                add(&overflows, 1);
            if (i % 2)
                gosched();
            add(&in_use, -(int)k);
            semaphore_release(sem, k);
        }
        context_free(ctx);
    }
    add(&done_workers, 1);
}

GRADE_TEST(sem_stress, 3, "sem_cancel_head_admits_next", 2)
{
    S = grade_rand(3, 12);
    sem = semaphore_new(S);
    in_use = overflows = done_workers = 0;
    rounds = (int)grade_rand(200, 500);
    int n = (int)grade_rand(8, 24);
    for (int i = 0; i < n; i++)
        go(stress_worker, NULL);
    CHECK(becomes(&done_workers, n), "only %d of %d workers finished", load(&done_workers), n);
    CHECK(load(&overflows) == 0, "%d times more than %lld units were held at once",
          load(&overflows), (long long)S);
    CHECK(semaphore_try_acquire(sem, S), "units leaked: try_acquire(size) fails at the end");
    semaphore_release(sem, S);
    semaphore_free(sem);
}
