/*
 * rwmutex.h: sync_once and sync_rwmutex (Go's sync.Once and sync.RWMutex),
 * the reference solution. The public functions are fixed by the exercise;
 * the fields are the solution's choice.
 */
#ifndef EX_RWMUTEX_H
#define EX_RWMUTEX_H

#include "gort.h"

/* done is 0 until fn has returned, then 1 (atomic): the fast path reads it
 * without the mutex. m serialises the slow path. */
typedef struct {
    uint32_t   done;
    sync_mutex m;
} sync_once;
#define SYNC_ONCE_INIT { 0, SYNC_MUTEX_INIT }

void sync_once_do(sync_once *o, void (*fn)(void *arg), void *arg);

/* Go's layout. w: held by the writer (and by writers queued behind it).
 * readercount: readers holding or waiting; a writer subtracts
 *   rwmutexMaxReaders from it, so negative means "a writer is pending".
 * readerwait: readers the pending writer still waits for.
 * writersem / readersem: the stage's semaphores (sema.c) the writer and
 * the blocked readers park on. All int32/uint32 fields are atomic. */
typedef struct {
    sync_mutex w;
    uint32_t   writersem;
    uint32_t   readersem;
    int32_t    readercount;
    int32_t    readerwait;
} sync_rwmutex;
#define SYNC_RWMUTEX_INIT { SYNC_MUTEX_INIT, 0, 0, 0, 0 }

void sync_rw_lock(sync_rwmutex *rw);
void sync_rw_unlock(sync_rwmutex *rw);
void sync_rw_rlock(sync_rwmutex *rw);
void sync_rw_runlock(sync_rwmutex *rw);

#endif
