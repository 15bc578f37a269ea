/*
 * test_sync.c: sync_mutex (mutual exclusion, try_lock, blocking, unlock by
 * another goroutine, starvation mode) and sync_waitgroup (wait, several
 * waiters, reuse, zero counter, negative delta).
 */
#include "harness.h"

/* ---- mutual exclusion ---------------------------------------------------- */

#define NWORKERS 8
#define NITER 5000

static sync_mutex mu;
static long counter;                /* guarded by mu; deliberately not atomic */
static atomic_int inside;           /* goroutines inside the critical section */
static atomic_int overlap;
static sync_waitgroup mx_wg;

static void increment(void *arg)
{
    for (int i = 0; i < NITER; i++) {
        sync_mutex_lock(&mu);
        if (atomic_fetch_add(&inside, 1) != 0)
            atomic_fetch_add(&overlap, 1);
        long c = counter;
        if (i % 64 == 0)
            gosched();                  /* hold the lock across a switch */
        counter = c + 1;
        atomic_fetch_sub(&inside, 1);
        sync_mutex_unlock(&mu);
    }
    sync_wg_done(&mx_wg);
}

GTEST(mutex, mutual_exclusion)
{
    memset(&mu, 0, sizeof mu);          /* the all-zero mutex is unlocked */
    memset(&mx_wg, 0, sizeof mx_wg);
    counter = 0;
    atomic_store(&inside, 0);
    atomic_store(&overlap, 0);
    sync_wg_add(&mx_wg, NWORKERS);
    for (int i = 0; i < NWORKERS; i++)
        go(increment, NULL);
    sync_wg_wait(&mx_wg);
    sync_mutex_lock(&mu);
    CHECK_EQ(counter, (long)NWORKERS * NITER);
    CHECK_EQ(atomic_load(&overlap), 0);
    sync_mutex_unlock(&mu);
}

GTEST(mutex, initializer_and_try_lock)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    CHECK(sync_mutex_try_lock(&m), "try_lock of an unlocked mutex failed");
    CHECK(!sync_mutex_try_lock(&m), "try_lock of a locked mutex succeeded");
    sync_mutex_unlock(&m);
    CHECK(sync_mutex_try_lock(&m), "try_lock after unlock failed");
    sync_mutex_unlock(&m);
    sync_mutex_lock(&m);
    CHECK(!sync_mutex_try_lock(&m));
    sync_mutex_unlock(&m);
}

static atomic_int try_result;
static void try_from_other(void *arg)
{
    atomic_store(&try_result, sync_mutex_try_lock(arg) ? 1 : 2);
}

GTEST(mutex, try_lock_from_another_goroutine)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    sync_mutex_lock(&m);
    atomic_store(&try_result, 0);
    go(try_from_other, &m);
    CHECK(WAIT_UNTIL(atomic_load(&try_result) != 0, 2000));
    CHECK_EQ(atomic_load(&try_result), 2);
    sync_mutex_unlock(&m);
    atomic_store(&try_result, 0);
    go(try_from_other, &m);
    CHECK(WAIT_UNTIL(atomic_load(&try_result) != 0, 2000));
    CHECK_EQ(atomic_load(&try_result), 1);
    /* the other goroutine exited holding it: a mutex belongs to no goroutine */
    CHECK(!sync_mutex_try_lock(&m));
    sync_mutex_unlock(&m);
    CHECK(sync_mutex_try_lock(&m));
    sync_mutex_unlock(&m);
}

static atomic_int got_lock;
static void lock_and_flag(void *arg)
{
    sync_mutex_lock(arg);
    atomic_store(&got_lock, 1);
    sync_mutex_unlock(arg);
}

GTEST(mutex, lock_blocks_until_unlock)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    atomic_store(&got_lock, 0);
    sync_mutex_lock(&m);
    go(lock_and_flag, &m);
    time_sleep(H_MS(20));               /* the thread is free: a parked waiter */
    CHECK_EQ(atomic_load(&got_lock), 0);
    sync_mutex_unlock(&m);
    CHECK(WAIT_UNTIL(atomic_load(&got_lock) == 1, 2000), "the waiter never got the lock");
    CHECK(WAIT_UNTIL(sync_mutex_try_lock(&m), 2000));
    sync_mutex_unlock(&m);
}

static void unlock_other(void *arg)
{
    sync_mutex_unlock(arg);
}

GTEST(mutex, unlocked_by_another_goroutine)
{
    sync_mutex m = SYNC_MUTEX_INIT;
    sync_mutex_lock(&m);
    go(unlock_other, &m);
    sync_mutex_lock(&m);                /* waits for the other goroutine's unlock */
    CHECK(!sync_mutex_try_lock(&m));
    sync_mutex_unlock(&m);
}

/* ---- starvation mode ----------------------------------------------------- */

/* Go's TestMutexFairness: a hog re-locks right after each unlock; the other
 * goroutine must still get the lock 10 times. In normal mode the woken waiter
 * always loses the race to the running hog; only starvation mode (hand-off to
 * a waiter blocked more than 1 ms) lets it in. */
static sync_mutex fair_mu;
static atomic_int fair_stop;

static void hog(void *arg)
{
    while (!atomic_load(&fair_stop)) {
        sync_mutex_lock(&fair_mu);
        time_sleep(100 * 1000);         /* 100 us holding the lock */
        sync_mutex_unlock(&fair_mu);
    }
    sync_wg_done(arg);
}

static void fair_waiter(void *arg)
{
    for (int i = 0; i < 10; i++) {
        time_sleep(100 * 1000);
        sync_mutex_lock(&fair_mu);
        sync_mutex_unlock(&fair_mu);
    }
    h_send_int(arg, 1);
}

GTEST(mutex, starvation_mode_hands_off_to_a_waiter)
{
    memset(&fair_mu, 0, sizeof fair_mu);
    atomic_store(&fair_stop, 0);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    chan_t *done = h_chan_int(1);
    sync_wg_add(&wg, 1);
    go(hog, &wg);
    go(fair_waiter, done);
    chan_t *timeout = time_after(H_SEC(5) * H_SLOW);
    int x;
    int64_t t;
    select_case cs[2] = {
        { .c = done, .dir = SELECT_RECV, .elem = &x },
        { .c = timeout, .dir = SELECT_RECV, .elem = &t },
    };
    int i = chan_select(cs, 2, true);
    CHECK(i == 0, "the waiter could not get the mutex 10 times in 5 s while a hog re-locked it");
    atomic_store(&fair_stop, 1);
    sync_wg_wait(&wg);
    if (i != 0)
        h_recv_int(done);               /* let the waiter finish first */
    chan_free(timeout);
    chan_free(done);
}

/* ---- WaitGroup ------------------------------------------------------------ */

GTEST(waitgroup, zero_counter_returns_at_once)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    int64_t t0 = h_now();
    sync_wg_wait(&wg);
    sync_waitgroup z;
    memset(&z, 0, sizeof z);
    sync_wg_wait(&z);
    CHECK_LT(h_now() - t0, H_SEC(1));
}

static atomic_int wg_done_count;
static void done_after_sleep(void *arg)
{
    time_sleep(H_MS(5));
    atomic_fetch_add(&wg_done_count, 1);
    sync_wg_done(arg);
}

GTEST(waitgroup, wait_returns_after_every_done)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_store(&wg_done_count, 0);
    sync_wg_add(&wg, 50);
    for (int i = 0; i < 50; i++)
        go(done_after_sleep, &wg);
    sync_wg_wait(&wg);
    CHECK_EQ(atomic_load(&wg_done_count), 50);
}

static atomic_int waiters_through;
static void wg_waiter(void *arg)
{
    sync_wg_wait(arg);
    atomic_fetch_add(&waiters_through, 1);
}

GTEST(waitgroup, releases_every_waiter_and_can_be_reused)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    for (int round = 0; round < 3; round++) {
        atomic_store(&waiters_through, 0);
        sync_wg_add(&wg, 2);
        for (int i = 0; i < 5; i++)
            go(wg_waiter, &wg);
        time_sleep(H_MS(10));
        CHECK_EQ(atomic_load(&waiters_through), 0);
        sync_wg_done(&wg);
        time_sleep(H_MS(5));
        CHECK_EQ(atomic_load(&waiters_through), 0);   /* counter is still 1 */
        sync_wg_add(&wg, -1);                        /* a negative delta is a done */
        CHECK(WAIT_UNTIL(atomic_load(&waiters_through) == 5, 2000),
              "round %d: %d of 5 waiters released", round, atomic_load(&waiters_through));
        sync_wg_wait(&wg);                           /* counter is 0 again */
    }
}
