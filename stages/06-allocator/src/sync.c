/*
 * sync.c: sync_mutex and sync_waitgroup (mirrors Go's src/sync/mutex.go and
 * src/sync/waitgroup.go, which sit on the runtime's semaphores, sema.c).
 *
 * sync_mutex.state packs:
 *     bit 0  mutexLocked     the mutex is held
 *     bit 1  mutexWoken      a woken waiter is running; Unlock need not wake another
 *     bit 2  mutexStarving   starvation mode (below)
 *     bits 3+ number of goroutines waiting on sema
 *
 * Normal mode: waiters queue FIFO, but a woken waiter must compete for the
 * mutex with goroutines that just arrived, which are already on a CPU and
 * usually win. That is fast (the lock passes without a context switch) but
 * can starve the waiter. So a waiter that fails to get the mutex for more
 * than 1 ms switches it to starvation mode: Unlock then hands the mutex
 * directly to the waiter at the head of the queue, and newcomers queue at
 * the tail without trying. The last waiter, or one that waited less than
 * 1 ms, switches back to normal mode.
 *
 * Invariant: Unlock of an unlocked mutex is a fatal error, as in Go.
 *
 * sync_waitgroup.state is counter << 32 | waiters. Wait increments waiters
 * and sleeps on sema; the Add that brings the counter to zero resets the
 * state and releases sema once per waiter.
 */
#include "runtime2.h"

enum {
    mutexLocked = 1,
    mutexWoken = 2,
    mutexStarving = 4,
    mutexWaiterShift = 3,
};
#define starvationThresholdNs 1000000

static bool cas32(int32_t *p, int32_t old, int32_t new)
{
    return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void lockslow(sync_mutex *m)
{
    int64_t waitstart = 0;
    bool starving = false, awoke = false;
    int iter = 0;
    int32_t old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
    for (;;) {
        /* Spin while locked in normal mode and spinning can pay. */
        if ((old & (mutexLocked | mutexStarving)) == mutexLocked && mutex_can_spin(iter)) {
            if (!awoke && (old & mutexWoken) == 0 && (old >> mutexWaiterShift) != 0 &&
                cas32(&m->state, old, old | mutexWoken))
                awoke = true;
            procyield(30);
            iter++;
            old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
            continue;
        }
        int32_t new = old;
        if ((old & mutexStarving) == 0)
            new |= mutexLocked;           /* don't grab a starving mutex */
        if ((old & (mutexLocked | mutexStarving)) != 0)
            new += 1 << mutexWaiterShift;
        if (starving && (old & mutexLocked) != 0)
            new |= mutexStarving;
        if (awoke) {
            if ((new & mutexWoken) == 0)
                gort_throw("sync: inconsistent mutex state");
            new &= ~mutexWoken;
        }
        if (cas32(&m->state, old, new)) {
            if ((old & (mutexLocked | mutexStarving)) == 0)
                break;                    /* locked it with the CAS */
            bool queuelifo = waitstart != 0;
            if (waitstart == 0)
                waitstart = nanotime();
            semacquire1(&m->sema, queuelifo, "sync.Mutex.Lock");
            starving = starving || nanotime() - waitstart > starvationThresholdNs;
            old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
            if ((old & mutexStarving) != 0) {
                /* Handed to us directly; the state still says unlocked. */
                if ((old & (mutexLocked | mutexWoken)) != 0 || (old >> mutexWaiterShift) == 0)
                    gort_throw("sync: inconsistent mutex state");
                int32_t delta = mutexLocked - (1 << mutexWaiterShift);
                if (!starving || (old >> mutexWaiterShift) == 1)
                    delta -= mutexStarving;   /* leave starvation mode */
                __atomic_add_fetch(&m->state, delta, __ATOMIC_ACQ_REL);
                break;
            }
            awoke = true;
            iter = 0;
        } else {
            old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
        }
    }
}

void sync_mutex_lock(sync_mutex *m)
{
    mustbeinruntime("sync_mutex_lock()");
    if (cas32(&m->state, 0, mutexLocked))
        return;
    lockslow(m);
}

bool sync_mutex_try_lock(sync_mutex *m)
{
    int32_t old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
    if ((old & (mutexLocked | mutexStarving)) != 0)
        return false;
    return cas32(&m->state, old, old | mutexLocked);
}

static void unlockslow(sync_mutex *m, int32_t new)
{
    if (((new + mutexLocked) & mutexLocked) == 0)
        gort_throw("sync: unlock of unlocked mutex");
    if ((new & mutexStarving) == 0) {
        int32_t old = new;
        for (;;) {
            /* Nobody to wake, or someone already woken / holding it. */
            if ((old >> mutexWaiterShift) == 0 ||
                (old & (mutexLocked | mutexWoken | mutexStarving)) != 0)
                return;
            new = (old - (1 << mutexWaiterShift)) | mutexWoken;
            if (cas32(&m->state, old, new)) {
                semrelease1(&m->sema, false);
                return;
            }
            old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
        }
    } else {
        /* Starving: hand the mutex straight to the first waiter. */
        semrelease1(&m->sema, true);
    }
}

void sync_mutex_unlock(sync_mutex *m)
{
    int32_t new = __atomic_add_fetch(&m->state, -mutexLocked, __ATOMIC_ACQ_REL);
    if (new != 0)
        unlockslow(m, new);
}

void sync_wg_add(sync_waitgroup *wg, int delta)
{
    uint64_t state = __atomic_add_fetch(&wg->state, (uint64_t)(int64_t)delta << 32, __ATOMIC_ACQ_REL);
    int32_t v = (int32_t)(state >> 32);
    uint32_t w = (uint32_t)state;
    if (v < 0)
        gort_panic("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && v == delta)
        gort_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    if (v > 0 || w == 0)
        return;
    /* Counter is zero and there are waiters: nobody may change the state
     * now except us, so a plain reset is safe (Go checks that too). */
    if (__atomic_load_n(&wg->state, __ATOMIC_ACQUIRE) != state)
        gort_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    __atomic_store_n(&wg->state, 0, __ATOMIC_RELEASE);
    for (; w != 0; w--)
        semrelease1(&wg->sema, false);
}

void sync_wg_done(sync_waitgroup *wg)
{
    sync_wg_add(wg, -1);
}

void sync_wg_wait(sync_waitgroup *wg)
{
    mustbeinruntime("sync_wg_wait()");
    for (;;) {
        uint64_t state = __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);
        if ((int32_t)(state >> 32) == 0)
            return;
        if (__atomic_compare_exchange_n(&wg->state, &state, state + 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            semacquire1(&wg->sema, false, "sync.WaitGroup.Wait");
            if (__atomic_load_n(&wg->state, __ATOMIC_ACQUIRE) != 0)
                gort_panic("sync: WaitGroup is reused before previous Wait has returned");
            return;
        }
    }
}
