/*
 * mcache.c: the per-P cache of spans (stage 06; mirrors Go's
 * src/runtime/mcache.go).
 *
 * Each P owns one mcache (p.mcache), made with the P and kept for its
 * life. Only the M holding the P touches it, so the fast path (malloc.c's
 * nextFreeFast: ctz of the span's allocCache) takes no lock and makes no
 * atomic read-modify-write. A thread with no P (a program's own pthread
 * calling gc_alloc) uses mheap_.nopcache under nopcachelock instead.
 *
 * refill: when the current span of a class has no free slot left, the
 * mcache first collects it (slots freed into it since, by any P); only if
 * that finds nothing does it give the span back to mcentral and take
 * another. So a producer whose objects a consumer frees keeps reusing its
 * own span, with no lock, as long as the consumer keeps up.
 *
 * The counters (mstatslocal) are written only by the holder, with atomic
 * stores, and summed by runtime_read_mem_stats.
 */
#include "mheap.h"

void mcache_statadd(uint64_t *ctr, uint64_t n)
{
    __atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

mcache *allocmcache(void)
{
    lock(&mheap_.lock);
    mcache *c = fixalloc_alloc(&mheap_.cachealloc);
    unlock(&mheap_.lock);
    for (int i = 0; i < _NumSpanClasses; i++)
        c->alloc[i] = &emptymspan;
    return c;
}

mspan *mcache_refill(mcache *c, spanClass spc)
{
    mspan *s = c->alloc[spc];
    if (s != &emptymspan) {
        /* Keep it if the collect gave back an eighth of it or more; for a
         * slot or two, a partial span from mcentral is a better bet. */
        mspan_collect(s);
        uint32_t nfree = s->nelems - s->allocCount;
        if (nfree > 0 && nfree >= s->nelems / 8)
            return s;
        mcentral_uncacheSpan(&mheap_.central[spc], s);
    }
    s = mcentral_cacheSpan(&mheap_.central[spc]);
    c->alloc[spc] = s;
    return s;
}

void tinyrelease(mcache *c);     /* malloc.c */

/* A P is going away (procresize), or the world ends: every span back. */
void mcache_releaseAll(mcache *c)
{
    tinyrelease(c);
    for (int i = 0; i < _NumSpanClasses; i++) {
        if (c->alloc[i] != &emptymspan) {
            mcentral_uncacheSpan(&mheap_.central[i], c->alloc[i]);
            c->alloc[i] = &emptymspan;
        }
    }
}
