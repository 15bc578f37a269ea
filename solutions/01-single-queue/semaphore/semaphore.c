/*
 * semaphore.c: a weighted semaphore with context cancellation (reference
 * solution; the design of golang.org/x/sync/semaphore, on gort's public API).
 *
 * State, all under mu: size, cur (units held), and a FIFO list of waiters.
 * A waiter lives on its goroutine's stack: how many units it wants, a
 * channel `ready` that the semaphore closes to admit it, and `admitted`.
 *
 * Acquire(k):
 *   1. Under mu: if k units are free AND nobody is queued, take them.
 *      (Checking the queue is what makes it FIFO: a newcomer never
 *      overtakes a large request that waits at the head.)
 *   2. k > size can never be satisfied: wait for ctx, return its error.
 *   3. Otherwise queue a waiter, unlock, and select on ready and on
 *      context_done(ctx) (NULL for background: that case never fires).
 *   4. ready fired: the releaser already counted our units in cur.
 *   5. ctx fired: lock mu. If we were admitted meanwhile, keep the units
 *      and report success (undoing it would need a release anyway). Else
 *      unlink ourselves, and if we were at the head, admit whoever now
 *      fits: our large request may have been the only thing holding
 *      smaller waiters back (the x/sync bug fixed in 2021).
 * Release(k): under mu, cur -= k (below zero: panic), then admit waiters
 * from the head while the head fits: cur += w->k, unlink, admitted = 1,
 * close(w->ready). Nothing of w is touched after the close: its owner may
 * return and reuse that stack at once.
 *
 * Invariants, under mu: 0 <= cur <= size; a queued waiter has
 * admitted == 0; if the queue is non-empty its head does not fit
 * (size - cur < head->k), or a release is about to admit it.
 */
#include "semaphore.h"

#include <stdlib.h>

typedef struct waiter {
    int64_t        k;
    chan_t        *ready;
    bool           admitted;
    struct waiter *next, *prev;
} waiter;

struct semaphore {
    sync_mutex mu;
    int64_t    size, cur;
    waiter    *head, *tail;
};

static _Noreturn void die(const char *msg)
{
    fprintf(stderr, "panic: %s\n\n", msg);
    runtime_print_goroutines(stderr);
    exit(2);
}

semaphore_t *semaphore_new(int64_t n)
{
    if (n <= 0)
        die("semaphore: size must be positive");
    semaphore_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        die("semaphore: out of memory");
    s->size = n;
    return s;
}

void semaphore_free(semaphore_t *s)
{
    if (s && s->head)
        die("semaphore: freed while goroutines wait on it");
    free(s);
}

static void unlink_waiter(semaphore_t *s, waiter *w)
{
    if (w->prev) w->prev->next = w->next; else s->head = w->next;
    if (w->next) w->next->prev = w->prev; else s->tail = w->prev;
    w->next = w->prev = NULL;
}

/* Admits waiters from the head while they fit. Under mu. */
static void notify(semaphore_t *s)
{
    while (s->head && s->size - s->cur >= s->head->k) {
        waiter *w = s->head;
        s->cur += w->k;
        unlink_waiter(s, w);
        w->admitted = true;
        chan_close(w->ready);           /* w may be gone after this */
    }
}

int semaphore_acquire(semaphore_t *s, context_t *ctx, int64_t k)
{
    if (k < 0)
        die("semaphore: negative acquire");
    if (ctx == NULL)
        ctx = context_background();
    sync_mutex_lock(&s->mu);
    if (s->size - s->cur >= k && s->head == NULL) {
        s->cur += k;
        sync_mutex_unlock(&s->mu);
        return 0;
    }
    if (k > s->size) {
        sync_mutex_unlock(&s->mu);
        chan_recv(context_done(ctx), NULL);     /* NULL: blocks forever, as in Go */
        return context_err(ctx);
    }
    waiter w = { .k = k, .ready = chan_make(0, 0) };
    w.prev = s->tail;
    if (s->tail) s->tail->next = &w; else s->head = &w;
    s->tail = &w;
    sync_mutex_unlock(&s->mu);

    select_case cases[2] = {
        { .c = w.ready, .dir = SELECT_RECV },
        { .c = context_done(ctx), .dir = SELECT_RECV },
    };
    int got = chan_select(cases, 2, true);
    int err = 0;
    if (got == 1) {
        sync_mutex_lock(&s->mu);
        if (!w.admitted) {
            bool front = s->head == &w;
            unlink_waiter(s, &w);
            if (front)
                notify(s);
            err = context_err(ctx);
        }
        sync_mutex_unlock(&s->mu);
    }
    chan_free(w.ready);
    return err;
}

bool semaphore_try_acquire(semaphore_t *s, int64_t k)
{
    sync_mutex_lock(&s->mu);
    bool ok = s->size - s->cur >= k && s->head == NULL;
    if (ok)
        s->cur += k;
    sync_mutex_unlock(&s->mu);
    return ok;
}

void semaphore_release(semaphore_t *s, int64_t k)
{
    sync_mutex_lock(&s->mu);
    s->cur -= k;
    if (s->cur < 0 || k < 0) {
        sync_mutex_unlock(&s->mu);
        die("semaphore: released more than held");
    }
    notify(s);
    sync_mutex_unlock(&s->mu);
}
