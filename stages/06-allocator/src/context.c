/*
 * context.c: cancellation trees (mirrors Go's src/context/context.go:
 * WithCancel, WithTimeout, propagateCancel, cancelCtx.cancel).
 *
 * A context has a done channel that is closed, once, when it is cancelled,
 * and an error saying why. Cancelling a context cancels its whole subtree;
 * a child created under an already-cancelled parent starts cancelled. A
 * timeout is a runtime timer whose f cancels the context with
 * CONTEXT_DEADLINE_EXCEEDED.
 *
 * Go gives each context its own mutex and is careful about the order in
 * which parent and child are locked. gort keeps one lock for every tree,
 * ctxlock: cancellation is rare, so the contention does not matter, and
 * the code stays obviously free of lock-order bugs. Lock order:
 * p.timerslock -> ctxlock -> hchan.lock (a timeout fires under its P's
 * timerslock, stage 05; closing a done channel takes its lock).
 * context_free therefore stops the timer before it takes ctxlock.
 *
 * Invariants, under ctxlock:
 *   err != CONTEXT_OK iff done is closed;
 *   a cancelled context has no children (they were cancelled and detached);
 *   c->parent == NULL or c is on c->parent's children list.
 */
#include "runtime2.h"

#include <stdlib.h>

struct context {
    chan_t    *done;            /* closed on cancel; NULL for background */
    int        err;             /* guarded by ctxlock */
    context_t *parent;          /* guarded by ctxlock */
    context_t *children;        /* first child */
    context_t *next, *prev;     /* siblings */
    timer      t;               /* timeout; t.idx < 0 when not pending */
    bool       has_timer;
};

static mutex ctxlock;
static context_t background = { .t = { .idx = -1 } };

context_t *context_background(void)
{
    return &background;
}

static void unlinkchild(context_t *c)
{
    context_t *p = c->parent;
    if (p == NULL)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->children = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->parent = c->next = c->prev = NULL;
}

/* Cancels c and its subtree. ctxlock held. */
static void cancellocked(context_t *c, int err)
{
    if (c->err != CONTEXT_OK)
        return;
    c->err = err;
    chan_close(c->done);
    while (c->children) {
        context_t *child = c->children;
        unlinkchild(child);
        cancellocked(child, err);
    }
}

static void cancel(context_t *c, int err, bool removefromparent)
{
    lock(&ctxlock);
    cancellocked(c, err);
    if (removefromparent)
        unlinkchild(c);
    unlock(&ctxlock);
}

static void timeout_fired(void *arg, int64_t now)
{
    (void)now;
    cancel(arg, CONTEXT_DEADLINE_EXCEEDED, true);
}

static context_t *newctx(context_t *parent)
{
    if (parent == NULL)
        gort_panic("cannot create context from nil parent");
    context_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        gort_throw("out of memory allocating a context");
    c->done = chan_make(0, 0);
    c->t.idx = -1;
    /* propagateCancel: join the parent's tree, or start cancelled. */
    if (parent != &background) {
        lock(&ctxlock);
        if (parent->err != CONTEXT_OK) {
            cancellocked(c, parent->err);
        } else {
            c->parent = parent;
            c->next = parent->children;
            if (parent->children)
                parent->children->prev = c;
            parent->children = c;
        }
        unlock(&ctxlock);
    }
    return c;
}

context_t *context_with_cancel(context_t *parent)
{
    return newctx(parent);
}

context_t *context_with_timeout(context_t *parent, int64_t ns)
{
    context_t *c = newctx(parent);
    if (ns <= 0) {
        cancel(c, CONTEXT_DEADLINE_EXCEEDED, true);
        return c;
    }
    c->has_timer = true;
    c->t.f = timeout_fired;
    c->t.arg = c;
    c->t.when = deadline_after(ns);
    addtimer(&c->t);
    return c;
}

void context_cancel(context_t *ctx)
{
    if (ctx == NULL || ctx == &background)
        return;
    if (ctx->has_timer)
        deltimer(&ctx->t);
    cancel(ctx, CONTEXT_CANCELED, true);
}

chan_t *context_done(context_t *ctx)
{
    return ctx ? ctx->done : NULL;
}

int context_err(context_t *ctx)
{
    if (ctx == NULL || ctx == &background)
        return CONTEXT_OK;
    lock(&ctxlock);
    int err = ctx->err;
    unlock(&ctxlock);
    return err;
}

void context_free(context_t *ctx)
{
    if (ctx == NULL || ctx == &background)
        return;
    if (ctx->has_timer)
        deltimer(&ctx->t);       /* before ctxlock: lock order */
    cancel(ctx, CONTEXT_CANCELED, true);
    chan_free(ctx->done);
    free(ctx);
}
