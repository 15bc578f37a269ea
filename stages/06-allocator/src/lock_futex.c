/*
 * lock_futex.c: runtime mutexes and notes on Linux futexes
 * (mirrors Go's src/runtime/lock_futex.go).
 *
 * A mutex word is 0 (unlocked), 1 (locked) or 2 (locked, and someone may be
 * asleep in the kernel). lock() first swaps in 1; if the lock was free it is
 * ours. Otherwise it spins a little (the holder is probably running on
 * another core and about to release), yields a little, and finally swaps in
 * 2 and sleeps on the futex while the word is 2. unlock() swaps in 0 and
 * only enters the kernel when the old value was 2. An uncontended
 * lock/unlock pair is two atomic exchanges and no system call.
 *
 * A note is a one-shot event: noteclear, then exactly one thread may
 * notesleep while others notewakeup. Each idle M sleeps on its own note.
 *
 * Invariant: runtime mutexes guard short critical sections that never park
 * a goroutine. A goroutine that must wait for something releases its locks
 * through gopark's unlockf, after its context has been saved (proc.c).
 */
#include "runtime2.h"

enum { MUTEX_UNLOCKED = 0, MUTEX_LOCKED = 1, MUTEX_SLEEPING = 2 };
enum { ACTIVE_SPIN = 4, ACTIVE_SPIN_CNT = 30, PASSIVE_SPIN = 1 };

/* lock() found the mutex held: v is what its exchange read. */
void lock_slow(mutex *l, uint32_t v)
{
    /* v is MUTEX_LOCKED or MUTEX_SLEEPING: whichever it was, we must put it
     * back when we take the lock, or a sleeper would never be woken. */
    uint32_t wait = v;
    int spin = getncpu() > 1 ? ACTIVE_SPIN : 0;
    for (;;) {
        for (int i = 0; i < spin; i++) {
            while (__atomic_load_n(&l->key, __ATOMIC_RELAXED) == MUTEX_UNLOCKED) {
                uint32_t expected = MUTEX_UNLOCKED;
                if (__atomic_compare_exchange_n(&l->key, &expected, wait, false,
                                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                    return;
            }
            procyield(ACTIVE_SPIN_CNT);
        }
        for (int i = 0; i < PASSIVE_SPIN; i++) {
            while (__atomic_load_n(&l->key, __ATOMIC_RELAXED) == MUTEX_UNLOCKED) {
                uint32_t expected = MUTEX_UNLOCKED;
                if (__atomic_compare_exchange_n(&l->key, &expected, wait, false,
                                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                    return;
            }
            osyield();
        }
        v = __atomic_exchange_n(&l->key, MUTEX_SLEEPING, __ATOMIC_ACQUIRE);
        if (v == MUTEX_UNLOCKED)
            return;
        wait = MUTEX_SLEEPING;
        futexsleep(&l->key, MUTEX_SLEEPING, -1);
    }
}

/* unlock() read something other than MUTEX_LOCKED. */
void unlock_slow(mutex *l, uint32_t v)
{
    if (v == MUTEX_UNLOCKED)
        gort_throw("unlock of unlocked lock");
    if (v == MUTEX_SLEEPING)
        futexwakeup(&l->key, 1);
}

void noteclear(note *n)
{
    __atomic_store_n(&n->key, 0, __ATOMIC_RELAXED);
}

/* Wakes the sleeper, if any. A second wake-up before the next noteclear is
 * harmless (an idle M can be popped by a waker just as its sleep times out;
 * see findrunnable in proc.c), so unlike Go's this does not throw. */
void notewakeup(note *n)
{
    uint32_t old = __atomic_exchange_n(&n->key, 1, __ATOMIC_RELEASE);
    if (old == 0)
        futexwakeup(&n->key, 1);
}

void notesleep(note *n)
{
    while (__atomic_load_n(&n->key, __ATOMIC_ACQUIRE) == 0)
        futexsleep(&n->key, 0, -1);
}

/* Sleeps until woken or ns nanoseconds of real time have passed (the
 * real clock even under fakeclock=1); true if woken. */
bool notetsleep(note *n, int64_t ns)
{
    int64_t now = nanotime1();
    int64_t deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    while (__atomic_load_n(&n->key, __ATOMIC_ACQUIRE) == 0) {
        int64_t left = deadline - nanotime1();
        if (left <= 0)
            return false;
        futexsleep(&n->key, 0, left);
    }
    return true;
}
