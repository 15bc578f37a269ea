/*
 * rwmutex.c: sync_once and sync_rwmutex on stage 01's semaphores.
 *
 * YOU EDIT THIS FILE. Read README.md first. You may use the public API
 * (gort.h) and the stage's internals declared in src/runtime2.h, in
 * particular semacquire1/semrelease1 (src/sema.c) and gort_throw.
 * Replace this comment with your design: the protocol as numbered steps
 * and the invariants of your fields.
 */
#include "rwmutex.h"
#include "runtime2.h"

void sync_once_do(sync_once *o, void (*fn)(void *), void *arg)
{
    (void)o; (void)fn; (void)arg;
    gort_throw("sync_once_do: not implemented yet (exercise once-rwmutex)");
}

void sync_rw_rlock(sync_rwmutex *rw)
{
    (void)rw;
    gort_throw("sync_rw_rlock: not implemented yet (exercise once-rwmutex)");
}

void sync_rw_runlock(sync_rwmutex *rw)
{
    (void)rw;
    gort_throw("sync_rw_runlock: not implemented yet (exercise once-rwmutex)");
}

void sync_rw_lock(sync_rwmutex *rw)
{
    (void)rw;
    gort_throw("sync_rw_lock: not implemented yet (exercise once-rwmutex)");
}

void sync_rw_unlock(sync_rwmutex *rw)
{
    (void)rw;
    gort_throw("sync_rw_unlock: not implemented yet (exercise once-rwmutex)");
}
