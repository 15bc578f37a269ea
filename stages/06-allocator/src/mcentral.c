/*
 * mcentral.c: the spans of one span class that no mcache holds (stage 06;
 * mirrors Go's src/runtime/mcentral.go).
 *
 * Go keeps swept/unswept partial and full span sets, lock-free. gort keeps
 * two locked lists, partial (a free slot, as of the span's last collect)
 * and full, and one lock-free stack, pending: spans that no mcache holds
 * and that gc_free has freed into since. The lock is taken once per span
 * handed to or taken back from an mcache (cacheSpan, uncacheSpan), never
 * per object.
 *
 * Why the pending stack. A full span sits on `full`; a consumer on another
 * P frees its objects by setting bits (slotfree: a count and an OR, no
 * lock). Someone must notice that the span has room again. The freer that
 * brings the span's uncollected frees to an eighth of its slots (pushat)
 * pushes it onto pending (a CAS on `onpending` first, so a span is on the
 * stack at most once); pushing at the first free instead made every span
 * of a program that frees at random come back for a slot or two, each
 * with a collect and two trips through the lock (bench/malloc, churn: 3x
 * slower). The next cacheSpan that finds partial empty takes the whole
 * stack (one exchange: no ABA), collects each
 * span that no mcache holds, and moves it to partial, or gives it back to
 * the heap if nothing in it is live. A span an mcache holds is left to its
 * holder, which collects it when it runs out and when it gives it back.
 * The freer pushes the span before it sets its bit, never after: once
 * the bit is set, a collect may find the span empty and give it to the
 * heap, which may make it a span of another class at once. (The first
 * version pushed after the bit; test_malloc's random test caught a span
 * freed to the heap and then pushed, under load at GOMAXPROCS=2.) The
 * price: a freer that saw the span already pending may set its bit just
 * after a popper collected it; if that span went to `full`, the bit waits
 * for the next free into it. So cacheSpan, before it grows the heap,
 * collects up to FULLSCAN spans from the head of `full` (Go's cacheSpan
 * likewise sweeps up to 100 spans before it grows).
 *
 * partial holds the spans with at least pushat (an eighth) of their slots
 * free as of their last collect, full the others: a span with a free slot
 * or two waits on full for more frees (its push) rather than sending an
 * mcache back here after every slot or two. So up to an eighth of a span
 * may stay unused, Go's own bound on the waste at a span's end.
 *
 * Invariants, under lock: a span of this class is held by exactly one
 * mcache (incache), or on partial or full; incache changes only here.
 */
#include "mheap.h"

#define FULLSCAN 16

/* Under c->lock, s not in an mcache: collect, and file it, or free it. */
static void relist(mcentral *c, mspan *s)
{
    mspan_collect(s);
    if (s->list)
        spanlist_remove(s->list, s);
    if (s->allocCount == 0 && !__atomic_load_n(&s->onpending, __ATOMIC_SEQ_CST)) {
        mheap_freeSpan(s);
        return;
    }
    /* partial: an eighth of the span free or more (pushat), so that an
     * mcache that takes it does not come back for the next slot. */
    spanlist_insert(s->nelems - s->allocCount >= s->pushat ? &c->partial : &c->full, s);
}

static void drainpending(mcentral *c)
{
    mspan *s = __atomic_exchange_n(&c->pending, NULL, __ATOMIC_ACQUIRE);
    while (s) {
        mspan *next = s->pendnext;
        s->pendnext = NULL;
        __atomic_store_n(&s->onpending, 0, __ATOMIC_SEQ_CST);
        if (!s->incache)
            relist(c, s);
        s = next;
    }
}

/* A span with a free slot, now held by the caller's mcache (Go's
 * mcentral.cacheSpan). */
mspan *mcentral_cacheSpan(mcentral *c)
{
    lock(&c->lock);
    /* pending is drained only when partial runs dry: a span collected
     * that much later has gathered more frees, so each collect (a pass
     * over its freebits) pays for more slots. Draining at every refill
     * made a program freeing at random across 100,000 live objects
     * collect every span for one or two slots each (bench/malloc). */
    if (c->partial.first == NULL && __atomic_load_n(&c->pending, __ATOMIC_RELAXED))
        drainpending(c);
    mspan *s = c->partial.first;
    if (s) {
        spanlist_remove(&c->partial, s);
    } else {
        for (int i = 0; i < FULLSCAN && (s = c->full.first) != NULL; i++) {
            spanlist_remove(&c->full, s);
            mspan_collect(s);
            if (s->nelems - s->allocCount >= s->pushat)
                break;
            spanlist_inserttail(&c->full, s);   /* (nearly) full indeed: to the back */
            s = NULL;
        }
    }
    if (s == NULL) {
        unlock(&c->lock);        /* the heap may have to grow: not under our lock */
        s = mheap_alloc(class_to_allocnpages[spanClass_sizeclass(c->spanclass)], c->spanclass);
        san_poison((void *)s->startAddr, s->npages * _PageSize);
        lock(&c->lock);
    }
    s->incache = true;
    unlock(&c->lock);
    return s;
}

/* The mcache gives s back (Go's mcentral.uncacheSpan). */
void mcentral_uncacheSpan(mcentral *c, mspan *s)
{
    lock(&c->lock);
    s->incache = false;
    relist(c, s);
    unlock(&c->lock);
}

/* gc_free: s has a freed slot; make sure a cacheSpan will look at it. */
void mcentral_pushpending(mcentral *c, mspan *s)
{
    if (__atomic_load_n(&s->onpending, __ATOMIC_SEQ_CST))
        return;
    uint32_t zero = 0;
    if (!__atomic_compare_exchange_n(&s->onpending, &zero, 1, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return;
    mspan *old = __atomic_load_n(&c->pending, __ATOMIC_RELAXED);
    do {
        s->pendnext = old;
    } while (!__atomic_compare_exchange_n(&c->pending, &old, s, true,
                                          __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}
