/*
 * Graded tests of exercise once-rwmutex (see ../README.md for the points).
 *
 * Each test runs as goroutine 1 of a fresh runtime (lib/grade.h). Counts
 * and durations are drawn from GRADE_SEED, so a printed seed replays a run.
 * Beyond the results, the tests check that the mechanism is the one asked
 * for: waiters must be PARKED with Go's wait reasons ("sync.Mutex.Lock",
 * "sync.RWMutex.Lock", "sync.RWMutex.RLock"), which only the stage's
 * semaphores (or sync_mutex) produce; a spinning or sleeping wait fails.
 */
#include "grade.h"
#include "rwmutex.h"

/* A gate: goroutines wait on it until it is opened (closed). */
static chan_t *gate_new(void) { return chan_make(0, 0); }
static void gate_wait(chan_t *g) { chan_recv(g, NULL); }
static void gate_open(chan_t *g) { chan_close(g); }

static int load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void add(int *p, int d) { __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }

typedef struct { int *p; int want; } atleast_arg;
static bool atleast(void *a)
{
    atleast_arg *x = a;
    return load(x->p) >= x->want;
}
static bool reaches(int *p, int want)
{
    atleast_arg a = { p, want };
    return grade_eventually(atleast, &a, 5000000000LL);
}

/* ---- sync_once ---------------------------------------------------------- */

static sync_once once;
static sync_once once_zero;          /* all-zero: must work like SYNC_ONCE_INIT */
static int once_calls, once_value, once_want, once_finished;
static chan_t *once_gate;
static sync_waitgroup once_wg;

static void once_fn(void *arg)
{
    add(&once_calls, 1);
    if (once_gate)
        gate_wait(once_gate);               /* held open by the test */
    if (arg)
        time_sleep(*(int64_t *)arg);
    once_value = once_want;                 /* plain write: Once must publish it */
    __atomic_store_n(&once_finished, 1, __ATOMIC_SEQ_CST);
}

static void *once_arg;
static sync_once *once_which;

static void once_caller(void *unused)
{
    (void)unused;
    sync_once_do(once_which, once_fn, once_arg);
    /* The plain read first: a seq_cst load before it (once_finished) would
     * order fn's write before it by itself, and a Once whose done flag is
     * relaxed would pass under TSan too. */
    int value = once_value;
    CHECK(load(&once_finished) == 1, "sync_once_do returned before fn had returned");
    CHECK(value == once_want, "after sync_once_do, fn's write is not visible (%d, want %d)",
          value, once_want);
    sync_wg_done(&once_wg);
}

static void once_run(sync_once *o, int callers, void *arg)
{
    once_which = o;
    once_arg = arg;
    once_calls = once_finished = 0;
    once_want = (int)grade_rand(1, 1 << 30);
    sync_wg_add(&once_wg, callers);
    for (int i = 0; i < callers; i++)
        go(once_caller, NULL);
}

GRADE_TEST(once_runs_once, 2, "", 2)
{
    sync_once a = SYNC_ONCE_INIT;
    sync_once *os[] = { &a, &once_zero };
    for (int k = 0; k < 2; k++) {
        int callers = (int)grade_rand(10, 60);
        once_run(os[k], callers, NULL);
        sync_wg_wait(&once_wg);
        CHECK_EQ(load(&once_calls), 1);
        /* Later calls are no-ops too. */
        sync_once_do(os[k], once_fn, NULL);
        CHECK_EQ(load(&once_calls), 1);
    }
}

GRADE_TEST(once_waiters_wait_for_fn, 2, "once_runs_once", 2)
{
    static int64_t nap;
    nap = GRADE_MS(grade_rand(20, 40));
    once = (sync_once)SYNC_ONCE_INIT;
    once_run(&once, (int)grade_rand(5, 20), &nap);   /* fn sleeps: others must wait */
    sync_wg_wait(&once_wg);
    CHECK_EQ(load(&once_calls), 1);
}

GRADE_TEST(once_waiters_park, 2, "once_runs_once", 1)
{
    /* fn blocks until the gate opens; the other callers must be parked on
     * a mutex meanwhile, not spinning (at GOMAXPROCS=1 a spinner would
     * show up as runnable, and could even starve the test). */
    once = (sync_once)SYNC_ONCE_INIT;
    once_gate = gate_new();
    int callers = (int)grade_rand(4, 12);
    once_run(&once, callers, NULL);
    CHECK(grade_wait_parked(callers - 1, "sync.Mutex.Lock", "once_caller"),
          "%d callers should be parked with wait reason \"sync.Mutex.Lock\" while fn runs; "
          "found %d", callers - 1, grade_count_waiting("sync.Mutex.Lock", "once_caller"));
    CHECK_EQ(load(&once_finished), 0);
    gate_open(once_gate);
    sync_wg_wait(&once_wg);
    CHECK_EQ(load(&once_calls), 1);
    chan_free(once_gate);
    once_gate = NULL;
}

/* ---- sync_rwmutex ------------------------------------------------------- */

static sync_rwmutex rw;
static sync_rwmutex rw_zero;
static int readers_in, writers_in, max_readers_in, violations;
static chan_t *release;

GRADE_TEST(rw_basic, 1, "", 1)
{
    sync_rwmutex a = SYNC_RWMUTEX_INIT;
    sync_rwmutex *ms[] = { &a, &rw_zero };
    for (int k = 0; k < 2; k++) {
        int n = (int)grade_rand(2, 9);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < n; i++)
                sync_rw_rlock(ms[k]);
            for (int i = 0; i < n; i++)
                sync_rw_runlock(ms[k]);
            sync_rw_lock(ms[k]);
            sync_rw_unlock(ms[k]);
        }
        CHECK(true, "lock and unlock sequences returned");
    }
}

/* A reader that holds the read lock until `release` opens. */
static void holding_reader(void *unused)
{
    (void)unused;
    sync_rw_rlock(&rw);
    add(&readers_in, 1);
    if (load(&writers_in) != 0)
        add(&violations, 1);
    gate_wait(release);
    add(&readers_in, -1);
    sync_rw_runlock(&rw);
}

GRADE_TEST(rw_readers_share, 2, "rw_basic", 1)
{
    rw = (sync_rwmutex)SYNC_RWMUTEX_INIT;
    release = gate_new();
    int n = (int)grade_rand(3, 10);
    for (int i = 0; i < n; i++)
        go(holding_reader, NULL);
    CHECK(reaches(&readers_in, n), "%d readers should hold the read lock at once; %d do",
          n, load(&readers_in));
    gate_open(release);
    /* A writer gets in once they have all left. */
    sync_rw_lock(&rw);
    CHECK_EQ(load(&readers_in), 0);
    sync_rw_unlock(&rw);
}

static void writer(void *arg)
{
    int *got = arg;
    sync_rw_lock(&rw);
    if (load(&readers_in) != 0 || load(&writers_in) != 0)
        add(&violations, 1);
    add(&writers_in, 1);
    add(got, 1);
    add(&writers_in, -1);
    sync_rw_unlock(&rw);
}

GRADE_TEST(rw_writer_waits_for_readers, 2, "rw_basic", 2)
{
    rw = (sync_rwmutex)SYNC_RWMUTEX_INIT;
    readers_in = violations = 0;
    release = gate_new();
    int n = (int)grade_rand(2, 6);
    for (int i = 0; i < n; i++)
        go(holding_reader, NULL);
    REQUIRE(reaches(&readers_in, n), "%d readers should hold the lock; %d do", n, load(&readers_in));
    static int got;
    got = 0;
    go(writer, &got);
    CHECK(grade_wait_parked(1, "sync.RWMutex.Lock", "writer"),
          "a writer waiting for readers should be parked with wait reason \"sync.RWMutex.Lock\"");
    time_sleep(GRADE_MS(10));
    CHECK(load(&got) == 0, "the writer got the lock while %d readers held it", load(&readers_in));
    gate_open(release);
    CHECK(reaches(&got, 1), "the writer never got the lock after the readers left");
    CHECK_EQ(load(&violations), 0);
}

static int order_log[64], order_n;
static void log_event(int who) { order_log[__atomic_fetch_add(&order_n, 1, __ATOMIC_SEQ_CST)] = who; }

static void late_reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    sync_rw_rlock(&rw);
    log_event(id);
    if (load(&writers_in) != 0)
        add(&violations, 1);
    sync_rw_runlock(&rw);
}

static void logging_writer(void *unused)
{
    (void)unused;
    sync_rw_lock(&rw);
    add(&writers_in, 1);
    log_event(0);
    time_sleep(GRADE_MS(5));
    add(&writers_in, -1);
    sync_rw_unlock(&rw);
}

GRADE_TEST(rw_waiting_writer_blocks_new_readers, 3, "rw_writer_waits_for_readers", 2)
{
    /* Go's rule: once a writer waits, new readers queue behind it, so a
     * stream of readers cannot starve the writer. */
    rw = (sync_rwmutex)SYNC_RWMUTEX_INIT;
    readers_in = writers_in = violations = order_n = 0;
    release = gate_new();
    go(holding_reader, NULL);
    REQUIRE(reaches(&readers_in, 1), "the first reader never got the read lock");
    go(logging_writer, NULL);
    REQUIRE(grade_wait_parked(1, "sync.RWMutex.Lock", "logging_writer"),
            "the writer should be parked with wait reason \"sync.RWMutex.Lock\"");
    int k = (int)grade_rand(2, 8);
    for (int i = 1; i <= k; i++)
        go(late_reader, (void *)(intptr_t)i);
    CHECK(grade_wait_parked(k, "sync.RWMutex.RLock", "late_reader"),
          "%d readers arriving while a writer waits should be parked with wait reason "
          "\"sync.RWMutex.RLock\"; found %d", k, grade_count_waiting("sync.RWMutex.RLock", "late_reader"));
    CHECK(load(&order_n) == 0, "a reader got in while a writer was waiting");
    gate_open(release);
    CHECK(reaches(&order_n, k + 1), "after the writer, %d readers should get in; %d did",
          k, load(&order_n) - 1);
    CHECK(order_log[0] == 0, "the waiting writer should get the lock before the readers that "
          "came after it (first in was reader %d)", order_log[0]);
    CHECK_EQ(load(&violations), 0);
}

static void parked_reader(void *unused)
{
    (void)unused;
    sync_rw_rlock(&rw);
    add(&readers_in, 1);
    gate_wait(release);
    add(&readers_in, -1);
    sync_rw_runlock(&rw);
}

GRADE_TEST(rw_unlock_wakes_every_reader, 2, "rw_waiting_writer_blocks_new_readers", 2)
{
    rw = (sync_rwmutex)SYNC_RWMUTEX_INIT;
    readers_in = 0;
    release = gate_new();
    sync_rw_lock(&rw);
    int k = (int)grade_rand(3, 12);
    for (int i = 0; i < k; i++)
        go(parked_reader, NULL);
    CHECK(grade_wait_parked(k, "sync.RWMutex.RLock", "parked_reader"),
          "%d readers should be parked on the held write lock", k);
    sync_rw_unlock(&rw);
    CHECK(reaches(&readers_in, k), "unlock should let all %d waiting readers in together; %d got in",
          k, load(&readers_in));
    gate_open(release);
    sync_rw_lock(&rw);
    CHECK_EQ(load(&readers_in), 0);
    sync_rw_unlock(&rw);
}

/* Random mix of readers and writers; invariants checked inside. */
static sync_waitgroup mix_wg;
static int mix_iters;

static void mix_reader(void *unused)
{
    (void)unused;
    for (int i = 0; i < mix_iters; i++) {
        sync_rw_rlock(&rw);
        int r = __atomic_add_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
        int m = load(&max_readers_in);
        while (r > m && !__atomic_compare_exchange_n(&max_readers_in, &m, r, false,
                                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            ;
        if (load(&writers_in) != 0)
            add(&violations, 1);
        if (i % 3 == 0)
            gosched();
        add(&readers_in, -1);
        sync_rw_runlock(&rw);
    }
    sync_wg_done(&mix_wg);
}

static long shared_a, shared_b;     /* written only under the write lock */

static void mix_writer(void *unused)
{
    (void)unused;
    for (int i = 0; i < mix_iters; i++) {
        sync_rw_lock(&rw);
        if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_SEQ_CST) != 1 || load(&readers_in) != 0)
            add(&violations, 1);
        shared_a++;
        if (i % 2 == 0)
            gosched();
        shared_b++;
        add(&writers_in, -1);
        sync_rw_unlock(&rw);
    }
    sync_wg_done(&mix_wg);
}

static void mix(int readers, int writers, int iters)
{
    rw = (sync_rwmutex)SYNC_RWMUTEX_INIT;
    readers_in = writers_in = max_readers_in = violations = 0;
    shared_a = shared_b = 0;
    mix_iters = iters;
    int total = readers + writers, every = readers / writers + 1, started = 0;
    sync_wg_add(&mix_wg, total);
    for (int i = 0; i < total; i++) {
        if ((i % every == 0 && started < writers) || total - i == writers - started) {
            go(mix_writer, NULL);
            started++;
        } else {
            go(mix_reader, NULL);
        }
    }
    sync_wg_wait(&mix_wg);
}

GRADE_TEST(rw_writer_excludes, 2, "rw_basic", 2)
{
    int writers = (int)grade_rand(2, 4), readers = (int)grade_rand(4, 12);
    int iters = (int)grade_rand(300, 800);
    mix(readers, writers, iters);
    CHECK(load(&violations) == 0, "%d times a writer overlapped a reader or another writer",
          load(&violations));
    CHECK(shared_a == shared_b && shared_a == (long)writers * iters,
          "writes under the write lock were lost: %ld and %ld, want %ld", shared_a, shared_b,
          (long)writers * iters);
}

GRADE_TEST(rw_stress_gomaxprocs4, 2, "rw_writer_excludes", 4)
{
    int writers = (int)grade_rand(3, 6), readers = (int)grade_rand(10, 30);
    int iters = (int)grade_rand(1000, 2000);
    mix(readers, writers, iters);
    CHECK(load(&violations) == 0, "%d times a writer overlapped a reader or another writer",
          load(&violations));
    CHECK(shared_a == shared_b && shared_a == (long)writers * iters,
          "writes under the write lock were lost: %ld and %ld, want %ld", shared_a, shared_b,
          (long)writers * iters);
}

GRADE_DEATH_TEST(rw_runlock_of_unlocked_dies, 1, "rw_basic", 1,
                 "fatal error: sync: RUnlock of unlocked RWMutex")
{
    sync_rwmutex a = SYNC_RWMUTEX_INIT;
    sync_rw_rlock(&a);
    sync_rw_runlock(&a);
    sync_rw_runlock(&a);
}

GRADE_DEATH_TEST(rw_unlock_of_unlocked_dies, 1, "rw_basic", 1,
                 "fatal error: sync: Unlock of unlocked RWMutex")
{
    sync_rwmutex a = SYNC_RWMUTEX_INIT;
    sync_rw_lock(&a);
    sync_rw_unlock(&a);
    sync_rw_unlock(&a);
}
