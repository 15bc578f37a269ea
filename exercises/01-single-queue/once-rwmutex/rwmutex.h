/*
 * rwmutex.h: sync_once and sync_rwmutex (Go's sync.Once and sync.RWMutex).
 *
 * YOU EDIT THIS FILE (and rwmutex.c): choose the fields of both structs
 * and make the two *_INIT initialisers match them. Do not change the
 * function declarations: the graded tests call them.
 */
#ifndef EX_RWMUTEX_H
#define EX_RWMUTEX_H

#include "gort.h"

typedef struct {
    uint32_t todo;              /* TODO: your fields */
} sync_once;
#define SYNC_ONCE_INIT { 0 }   /* TODO: match your fields; all-zero must also work */

/* Runs fn(arg) exactly once over all calls with the same o. Every call
 * returns only after that one fn(arg) has returned. */
void sync_once_do(sync_once *o, void (*fn)(void *arg), void *arg);

typedef struct {
    uint32_t todo;              /* TODO: your fields */
} sync_rwmutex;
#define SYNC_RWMUTEX_INIT { 0 } /* TODO: match your fields; all-zero must also work */

void sync_rw_lock(sync_rwmutex *rw);     /* one writer, no readers */
void sync_rw_unlock(sync_rwmutex *rw);
void sync_rw_rlock(sync_rwmutex *rw);    /* any number of readers */
void sync_rw_runlock(sync_rwmutex *rw);

#endif
