/*
 * rwmutex.c: sync_once and sync_rwmutex on the stage's semaphores (the
 * reference solution; mirrors Go's src/sync/once.go and src/sync/rwmutex.go).
 *
 * sync_once_do: fast path, one atomic load of done. Slow path: take the
 * mutex, check done again, run fn, and store done = 1 only after fn has
 * returned, with release order, then unlock. A caller that sees done == 1
 * therefore sees everything fn wrote; a caller that arrives while fn runs
 * parks on the mutex ("sync.Mutex.Lock") until fn is over.
 *
 * sync_rwmutex, the protocol (Go's):
 *   RLock:   readercount += 1; if the result is negative a writer is
 *            pending: park on readersem ("sync.RWMutex.RLock").
 *   RUnlock: readercount -= 1; if the result is negative a writer waits:
 *            readerwait -= 1, and the reader that brings it to 0 wakes the
 *            writer (semrelease writersem).
 *   Lock:    lock w (one writer at a time); r = (readercount -= Max) + Max
 *            is the number of readers active at that moment; if r != 0,
 *            readerwait += r, and if that leaves it non-zero park on
 *            writersem ("sync.RWMutex.Lock").
 *   Unlock:  r = (readercount += Max): the readers that arrived and parked
 *            meanwhile; release readersem r times; unlock w.
 * Subtracting Max makes every new reader see a negative count and queue,
 * so a waiting writer cannot be starved by a stream of readers.
 *
 * Invariants: -Max <= readercount (with no writer: 0 <= readercount <= Max);
 * readerwait >= 0.
 */
#include "rwmutex.h"
#include "runtime2.h"

#define rwmutexMaxReaders (1 << 30)

void sync_once_do(sync_once *o, void (*fn)(void *), void *arg)
{
    if (__atomic_load_n(&o->done, __ATOMIC_ACQUIRE))
        return;
    sync_mutex_lock(&o->m);
    if (!__atomic_load_n(&o->done, __ATOMIC_RELAXED)) {
        fn(arg);
        __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
    }
    sync_mutex_unlock(&o->m);
}

void sync_rw_rlock(sync_rwmutex *rw)
{
    if (__atomic_add_fetch(&rw->readercount, 1, __ATOMIC_SEQ_CST) < 0)
        semacquire1(&rw->readersem, false, "sync.RWMutex.RLock");
}

void sync_rw_runlock(sync_rwmutex *rw)
{
    int32_t r = __atomic_sub_fetch(&rw->readercount, 1, __ATOMIC_SEQ_CST);
    if (r >= 0)
        return;
    if (r + 1 == 0 || r + 1 == -rwmutexMaxReaders)
        gort_throw("sync: RUnlock of unlocked RWMutex");
    if (__atomic_sub_fetch(&rw->readerwait, 1, __ATOMIC_SEQ_CST) == 0)
        semrelease1(&rw->writersem, false);
}

void sync_rw_lock(sync_rwmutex *rw)
{
    sync_mutex_lock(&rw->w);
    int32_t r = __atomic_add_fetch(&rw->readercount, -rwmutexMaxReaders, __ATOMIC_SEQ_CST) +
                rwmutexMaxReaders;
    if (r != 0 && __atomic_add_fetch(&rw->readerwait, r, __ATOMIC_SEQ_CST) != 0)
        semacquire1(&rw->writersem, false, "sync.RWMutex.Lock");
}

void sync_rw_unlock(sync_rwmutex *rw)
{
    int32_t r = __atomic_add_fetch(&rw->readercount, rwmutexMaxReaders, __ATOMIC_SEQ_CST);
    if (r >= rwmutexMaxReaders)
        gort_throw("sync: Unlock of unlocked RWMutex");
    for (int32_t i = 0; i < r; i++)
        semrelease1(&rw->readersem, false);
    sync_mutex_unlock(&rw->w);
}
