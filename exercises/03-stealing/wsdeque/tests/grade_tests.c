/*
 * Graded tests of exercise wsdeque (see ../README.md for the points).
 *
 * Tasks are pointers to slots of a table, so that every take can be
 * counted: a task taken twice, or never, is the bug this kind of deque
 * invites (the last task, raced for by pop and steal). Concurrent tests
 * put the thieves on goroutines that the stage's scheduler spreads over
 * the Ps by stealing; they spin without runtime calls, so each holds a
 * thread. Thread identity is gettid(2).
 */
#include "grade.h"
#include "wsdeque.h"

#include <sys/syscall.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1                      /* smaller sizes: several times slower */
#else
#define SANITIZED 0
#endif

static int tid(void) { return (int)syscall(SYS_gettid); }

static wsdeque dq;                       /* 8 KB: not on a goroutine's stack */
enum { NTASK = 1 << 20 };
static unsigned char *taken;             /* atomic; per task: times taken */
static char table[NTASK];                /* tasks are &table[i] */

static void *task(long i) { return &table[i]; }
static long idx(void *t) { return (char *)t - table; }

/* Records a take; false (and a CHECK) for a pointer that is no task. */
static bool take(void *t)
{
    long i = idx(t);
    if (i < 0 || i >= NTASK) {
        CHECK(false, "took %p, which was never pushed", t);
        return false;
    }
    __atomic_add_fetch(&taken[i], 1, __ATOMIC_RELAXED);
    return true;
}

/* Every task of [0, n) taken exactly once. */
static void check_once(long n, const char *what)
{
    long never = 0, twice = 0, first_never = -1, first_twice = -1;
    for (long i = 0; i < n; i++) {
        unsigned v = __atomic_load_n(&taken[i], __ATOMIC_RELAXED);
        if (v == 0 && never++ == 0)
            first_never = i;
        if (v > 1 && twice++ == 0)
            first_twice = i;
    }
    CHECK(never == 0 && twice == 0, "%s: of %ld tasks, %ld were never taken (first: %ld) and "
          "%ld more than once (first: %ld)", what, n, never, first_never, twice, first_twice);
}

static void reset_taken(void)
{
    if (taken == NULL)
        taken = calloc(NTASK, 1);
    memset(taken, 0, NTASK);
}

/* ---- one thread ----------------------------------------------------------- */

GRADE_TEST(deque_owner_is_lifo_thieves_fifo, 2, "", 1)
{
    wsdeque_init(&dq);
    CHECK(wsdeque_pop(&dq) == NULL && wsdeque_steal(&dq) == NULL, "a new deque is not empty");
    int k = (int)grade_rand(3, 200);
    for (int i = 0; i < k; i++)
        REQUIRE(wsdeque_push(&dq, task(i)), "push %d of %d failed (capacity %d)", i, k,
                WSDEQUE_CAP);
    CHECK_EQ(wsdeque_size(&dq), k);
    void *t = wsdeque_pop(&dq);
    CHECK(t == task(k - 1), "pop after %d pushes gave task %ld, want the newest, %d", k,
          t ? idx(t) : -1, k - 1);
    t = wsdeque_steal(&dq);
    CHECK(t == task(0), "steal gave task %ld, want the oldest, 0", t ? idx(t) : -1);
    t = wsdeque_steal(&dq);
    CHECK(t == task(1), "second steal gave task %ld, want 1", t ? idx(t) : -1);
    long want = k - 2, got = 0;
    while ((t = wsdeque_pop(&dq)) != NULL && got <= k) {
        CHECK(t == task(want), "pop gave task %ld, want %ld", idx(t), want);
        want--, got++;
    }
    CHECK(got == k - 3, "%ld pops emptied a deque of %d", got, k - 3);
    CHECK(wsdeque_pop(&dq) == NULL && wsdeque_steal(&dq) == NULL && wsdeque_size(&dq) == 0,
          "the emptied deque is not empty");
}

GRADE_TEST(deque_full_and_wrapping, 2, "deque_owner_is_lifo_thieves_fifo", 1)
{
    wsdeque_init(&dq);
    for (int i = 0; i < WSDEQUE_CAP; i++)
        REQUIRE(wsdeque_push(&dq, task(i)), "push %d failed: the capacity is %d", i,
                WSDEQUE_CAP);
    CHECK(!wsdeque_push(&dq, task(WSDEQUE_CAP)), "push into a full deque (%d tasks) succeeded",
          WSDEQUE_CAP);
    CHECK_EQ(wsdeque_size(&dq), WSDEQUE_CAP);
    while (wsdeque_pop(&dq) != NULL)
        ;
    /* Many times around the ring: steals at the top, pushes and pops at the
     * bottom, the size kept by a model. */
    reset_taken();
    wsdeque_init(&dq);
    long next = 0, model = 0, ops = 20L * WSDEQUE_CAP;
    for (long op = 0; op < ops; op++) {
        int what = (int)grade_rand(0, 9);
        if (what < 5 && model < WSDEQUE_CAP) {
            REQUIRE(wsdeque_push(&dq, task(next)), "push failed with %ld of %d held", model,
                    WSDEQUE_CAP);
            next++, model++;
        } else {
            void *t = what < 8 ? wsdeque_steal(&dq) : wsdeque_pop(&dq);
            if (model == 0) {
                REQUIRE(t == NULL, "took task %ld from an empty deque", idx(t));
            } else {
                REQUIRE(t != NULL, "%s found nothing with %ld held",
                        what < 8 ? "steal" : "pop", model);
                take(t);
                model--;
            }
        }
        if (wsdeque_size(&dq) != model) {
            CHECK(false, "after %ld operations the size is %lld, want %ld", op,
                  (long long)wsdeque_size(&dq), model);
            return;
        }
    }
    for (void *t; (t = wsdeque_steal(&dq)) != NULL;)
        take(t);
    check_once(next, "wrapping around the ring");
}

/* ---- the last task: pop against steal --------------------------------------- */

static int race_go, race_stop;           /* atomic */
static long race_stolen;                 /* atomic */
static sync_waitgroup race_wg;

static void thief(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&race_go, __ATOMIC_ACQUIRE))
        ;
    while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
        void *t = wsdeque_steal(&dq);
        if (t != NULL && take(t))
            __atomic_add_fetch(&race_stolen, 1, __ATOMIC_RELAXED);
    }
    sync_wg_done(&race_wg);
}

static void start_thieves(int n)
{
    __atomic_store_n(&race_go, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&race_stop, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&race_stolen, 0, __ATOMIC_SEQ_CST);
    sync_wg_add(&race_wg, n);
    for (int i = 0; i < n; i++)
        go(thief, NULL);
    /* Let the thieves be stolen onto the other Ps before the race starts. */
    time_sleep(GRADE_MS(20));
    __atomic_store_n(&race_go, 1, __ATOMIC_SEQ_CST);
}

static void stop_thieves(void)
{
    __atomic_store_n(&race_stop, 1, __ATOMIC_SEQ_CST);
    sync_wg_wait(&race_wg);
}

GRADE_TEST(last_task_goes_to_one_taker, 4, "deque_owner_is_lifo_thieves_fifo", 2)
{
    reset_taken();
    wsdeque_init(&dq);
    start_thieves(1);
    /* Push one to three, wait a moment, pop them all: the thief steals
     * meanwhile, and owner and thief race for the last one. Until enough
     * races were won by each side, or 2 s. */
    long n = 0, popped = 0;
    int64_t stop = time_now() + GRADE_MS(2000);
    while (n < NTASK - 3 && (n % 1024 != 0 || time_now() < stop)) {
        int k = (int)grade_rand(1, 3);
        for (int j = 0; j < k; j++)
            wsdeque_push(&dq, task(n++));
        for (volatile int d = (int)grade_rand(0, 64); d > 0; d--)
            ;
        for (void *t; (t = wsdeque_pop(&dq)) != NULL;)
            popped += take(t);
        if (n % 1024 == 0 && n >= 200000 &&
            __atomic_load_n(&race_stolen, __ATOMIC_RELAXED) >= 5000)
            break;
    }
    stop_thieves();
    for (void *t; (t = wsdeque_steal(&dq)) != NULL;)
        take(t);
    printf("(%s) %ld tasks: the thief took %ld, the owner %ld\n", __func__, n, race_stolen,
           popped);
    check_once(n, "owner popping, one thief stealing");
    CHECK(popped > 0, "the owner popped nothing");
    /* How often the thief wins depends on how much CPU the machine gives
     * its thread: printed above, not graded. */
}

GRADE_TEST(owner_and_three_thieves, 4, "last_task_goes_to_one_taker", 4)
{
    reset_taken();
    wsdeque_init(&dq);
    start_thieves(3);
    long n = SANITIZED ? 200000 : NTASK, popped = 0, next = 0, stuck = 0;
    while (next < n) {
        if (grade_rand(0, 2) != 0) {
            int k = (int)grade_rand(1, 64);
            for (int j = 0; j < k && next < n; j++) {
                if (wsdeque_push(&dq, task(next))) {
                    next++, stuck = 0;
                    continue;
                }
                /* Full: the owner drains one (or the thieves just did). */
                void *t = wsdeque_pop(&dq);
                if (t != NULL)
                    popped += take(t);
                REQUIRE(t != NULL || ++stuck < 1000, "push failed 1000 times in a row, and "
                        "pop found the deque empty each time");
            }
        } else {
            void *t = wsdeque_pop(&dq);
            if (t != NULL)
                popped += take(t);
        }
    }
    for (void *t; (t = wsdeque_pop(&dq)) != NULL;)
        popped += take(t);
    stop_thieves();
    check_once(n, "owner pushing and popping, three thieves stealing");
    CHECK(race_stolen > 0, "the thieves took nothing (the owner popped %ld)", popped);
}

/* ---- a fork-join pool on the deques ------------------------------------------ */

/* The tests' pool, Cilk's scheme: one worker goroutine per P, each owning
 * a deque. spawn pushes a child on the worker's own deque; sync runs the
 * worker's own newest tasks, and steals from a random other worker when
 * its deque is empty, until the children are done. A task that does not
 * fit runs at once. Idle workers gosched now and then, in case two share
 * a P. */
enum { FJ_MAXW = 16 };
typedef struct fj_task fj_task;
typedef struct fj_worker { wsdeque dq; int id; } fj_worker;
struct fj_task {
    void  (*fn)(fj_worker *w, fj_task *t);
    int     n;                           /* pfib's argument */
    long    result;
    int     done;                        /* atomic */
};
static fj_worker fj_workers[FJ_MAXW];
static int fj_nworkers;
static int fj_where[FJ_MAXW];           /* atomic: each worker's thread */
static int fj_tids[FJ_MAXW][64];         /* per worker: threads it ran tasks on */
static long fj_ntasks;                   /* atomic */

static void fj_note_thread(fj_worker *w)
{
    int me = tid();
    for (int i = 0; i < 64; i++) {
        int v = fj_tids[w->id][i];
        if (v == me)
            return;
        if (v == 0) {
            fj_tids[w->id][i] = me;
            return;
        }
    }
}

static void fj_run(fj_worker *w, fj_task *t)
{
    __atomic_add_fetch(&fj_ntasks, 1, __ATOMIC_RELAXED);
    fj_note_thread(w);
    t->fn(w, t);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
}

/* Runs other tasks until t is done. */
static void fj_sync(fj_worker *w, fj_task *t)
{
    unsigned spins = 0;
    while (!__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
        fj_task *o = (fj_task *)wsdeque_pop(&w->dq);
        if (o == NULL) {
            int v = (int)grade_rand(0, fj_nworkers - 1);
            if (v != w->id)
                o = wsdeque_steal(&fj_workers[v].dq);
        }
        if (o != NULL)
            fj_run(w, o);
        else if (++spins % 256 == 0)
            gosched();
    }
}

static long fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

static void pfib(fj_worker *w, fj_task *t)
{
    if (t->n < 12) {
        t->result = fib_serial(t->n);
        return;
    }
    fj_task a = { pfib, t->n - 1, 0, 0 }, b = { pfib, t->n - 2, 0, 0 };
    if (!wsdeque_push(&w->dq, &a))
        fj_run(w, &a);
    fj_run(w, &b);
    fj_sync(w, &a);
    t->result = a.result + b.result;
}

static fj_task *fj_root;
static sync_waitgroup fj_wg;

static void fj_worker_main(void *arg)
{
    fj_worker *w = arg;
    /* The work starts once every worker runs on a thread of its own: each
     * notes its thread and yields until all the notes differ (then none
     * yields again, so none moves). The helpers are then ready to steal. */
    int64_t deadline = time_now() + GRADE_MS(2000);
    while (time_now() < deadline) {
        __atomic_store_n(&fj_where[w->id], tid(), __ATOMIC_SEQ_CST);
        bool distinct = true;
        for (int i = 0; i < fj_nworkers; i++)
            for (int j = 0; j < i; j++) {
                int a = __atomic_load_n(&fj_where[i], __ATOMIC_SEQ_CST);
                distinct &= a != 0 && a != __atomic_load_n(&fj_where[j], __ATOMIC_SEQ_CST);
            }
        if (distinct && __atomic_load_n(&fj_where[0], __ATOMIC_SEQ_CST) != 0)
            break;
        gosched();
    }
    if (w->id == 0)
        fj_run(w, fj_root);
    else {
        unsigned spins = 0;              /* steal until the root is done */
        while (!__atomic_load_n(&fj_root->done, __ATOMIC_ACQUIRE)) {
            int v = (int)grade_rand(0, fj_nworkers - 1);
            fj_task *o = v != w->id ? wsdeque_steal(&fj_workers[v].dq) : NULL;
            if (o != NULL)
                fj_run(w, o);
            else if (++spins % 256 == 0)
                gosched();
        }
    }
    sync_wg_done(&fj_wg);
}

/* One run of the pool on pfib(n): checks the result; returns how many
 * helpers stole and on how many threads tasks ran. */
static void fj_round(int n, int *helpers, int *nthreads)
{
    int nw = fj_nworkers;
    memset(fj_tids, 0, sizeof fj_tids);
    memset(fj_where, 0, sizeof fj_where);
    fj_task root = { pfib, n, 0, 0 };
    fj_root = &root;
    for (int i = 0; i < nw; i++) {
        wsdeque_init(&fj_workers[i].dq);
        fj_workers[i].id = i;
    }
    sync_wg_add(&fj_wg, nw);
    for (int i = 0; i < nw; i++)
        go(fj_worker_main, &fj_workers[i]);
    sync_wg_wait(&fj_wg);
    CHECK(root.result == fib_serial(n), "pfib(%d) = %ld on the pool, want %ld", n, root.result,
          fib_serial(n));
    static int threads[FJ_MAXW * 64];
    *helpers = *nthreads = 0;
    for (int w = 0; w < nw; w++) {
        *helpers += w > 0 && fj_tids[w][0] != 0;
        for (int i = 0; i < 64 && fj_tids[w][i]; i++) {
            bool seen = false;
            for (int j = 0; j < *nthreads; j++)
                seen |= threads[j] == fj_tids[w][i];
            if (!seen)
                threads[(*nthreads)++] = fj_tids[w][i];
        }
    }
}

GRADE_TEST(forkjoin_pfib_spreads_over_threads, 3, "owner_and_three_thieves", 2)
{
    int nw = runtime_gomaxprocs(0);
    REQUIRE(nw >= 2 && nw <= FJ_MAXW, "GOMAXPROCS=%d: want 2 to %d", nw, FJ_MAXW);
    fj_nworkers = nw;
    fj_ntasks = 0;
    /* A helper thread the machine leaves off the CPU for a whole round
     * steals nothing in it: rounds go on (3 s at most) until one did. */
    int helpers = 0, nthreads = 0, rounds = 0, n = 0;
    int64_t stop = time_now() + GRADE_MS(3000);
    do {
        n = (int)grade_rand(SANITIZED ? 22 : 27, SANITIZED ? 24 : 30);
        fj_round(n, &helpers, &nthreads);
        rounds++;
    } while ((helpers == 0 || nthreads < 2) && time_now() < stop);
    CHECK(helpers > 0 && nthreads >= 2, "%d rounds of pfib(27-30), %ld tasks: the last round "
          "ran on %d thread(s), and %d of the %d helper workers stole a task: the deques did "
          "not spread the work", rounds, fj_ntasks, nthreads, helpers, nw - 1);
}
