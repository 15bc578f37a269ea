/*
 * semaphore.h: a weighted semaphore with context cancellation, after Go's
 * golang.org/x/sync/semaphore. GIVEN: do not edit; write semaphore.c.
 *
 * A semaphore of size n lets callers hold up to n units at once; each
 * acquire asks for some units and waits, parked, until they are free.
 * Waiters are served strictly first-in first-out: a large request at the
 * head of the queue is not overtaken by smaller ones behind it.
 */
#ifndef EX_SEMAPHORE_H
#define EX_SEMAPHORE_H

#include "gort.h"

typedef struct semaphore semaphore_t;      /* defined in semaphore.c */

semaphore_t *semaphore_new(int64_t n);      /* n > 0, else panic */
void         semaphore_free(semaphore_t *s);/* nobody may be waiting */

/* Acquires k units (0 <= k), blocking until they are free or ctx is done.
 * Returns 0 on success; on cancellation CONTEXT_CANCELED or
 * CONTEXT_DEADLINE_EXCEEDED (context_err(ctx)), holding nothing. ctx NULL
 * means context_background(). k larger than the size waits until ctx is
 * done. */
int  semaphore_acquire(semaphore_t *s, context_t *ctx, int64_t k);

/* Acquires k units only if that needs no wait: enough are free AND nobody
 * is queued. */
bool semaphore_try_acquire(semaphore_t *s, int64_t k);

/* Releases k units and admits the queued waiters that now fit, in order.
 * Releasing more than is held: panic "semaphore: released more than held". */
void semaphore_release(semaphore_t *s, int64_t k);

#endif
