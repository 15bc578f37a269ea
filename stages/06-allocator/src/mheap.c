/*
 * mheap.c: the page heap, arenas and spans (stage 06; mirrors Go's
 * src/runtime/mheap.go, malloc.go's arena code, and mbitmap.go's span
 * bit operations).
 *
 * Arenas. The heap's address space comes in 64 MiB arenas (Go's
 * heapArenaBytes), each reserved PROT_NONE with one mmap aligned to 64
 * MiB, and committed (mprotect to read-write) from its low end as the
 * heap grows, at least 1 MiB at a time. A large object over 64 MiB gets
 * a reservation of several contiguous arenas. The arena index is Go's:
 * a two-level table (arenas[L1][L2], 10 + 12 bits of addr >> 26, 48-bit
 * addresses) of heapArena records, each with the span of every one of its
 * 8,192 pages. So spanOf(p), for any p, interior pointers too, is four
 * loads and no lock: gc_free here, the collector's mark in stage 07.
 *
 * Pages (8 KiB, Go's) are handed out as spans. Free spans are kept as Go
 * kept them before 1.12: free[n] holds the free spans of n pages (n <
 * 128), freelarge the longer ones; a bitmask says which free[n] are non-
 * empty. mheap_alloc takes the first non-empty free[n'] with n' >= n (two
 * ctz), else the best fit in freelarge, and splits off the rest; a freed
 * span merges with a free neighbour on either side (spans[] of the page
 * just below and just above), so no two free spans ever touch.
 * Why not Go 1.14's page allocator (a bitmap of every page with a radix
 * tree of summaries)? It exists to let many threads allocate pages with
 * little locking and to scavenge at page granularity; gort takes
 * mheap.lock for every span (mcentral asks only when a class runs dry:
 * once per 8 KiB or more of small objects), and returns nothing to the OS
 * before stage 08. What the lists cost: freelarge is searched linearly
 * (fragmented heaps with many long free runs make large allocations
 * O(free runs)), and merging needs spans[] correct at both ends of every
 * free span, which freeSpan and the split maintain.
 *
 * Invariants (mheap.lock; mheap_checkinvariants checks them under DEBUG=3):
 *   every committed page is in exactly one span, in use or free;
 *   an in-use span's every page maps to it in spans[]; a free span's
 *   first and last pages do; no two free spans are adjacent;
 *   heapinuse == pages of in-use spans * 8 KiB;
 *   heapsys == heapinuse + pages of free spans * 8 KiB.
 */
#define _GNU_SOURCE
#include "mheap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

mheap mheap_;
mspan emptymspan;                 /* nelems 0: every mcache slot's start */

typedef struct arenares {
    struct arenares *next;
    uintptr_t base, size;
} arenares;

#define COMMITCHUNK ((uintptr_t)1 << 20)

/* ---- span lists --------------------------------------------------------- */

void spanlist_insert(spanlist *l, mspan *s)
{
    s->prev = NULL;
    s->next = l->first;
    if (l->first)
        l->first->prev = s;
    else
        l->last = s;
    l->first = s;
    s->list = l;
}

void spanlist_inserttail(spanlist *l, mspan *s)
{
    s->next = NULL;
    s->prev = l->last;
    if (l->last)
        l->last->next = s;
    else
        l->first = s;
    l->last = s;
    s->list = l;
}

void spanlist_remove(spanlist *l, mspan *s)
{
    if (s->list != l)
        gort_throw("spanlist_remove: span not on this list");
    if (s->prev) s->prev->next = s->next; else l->first = s->next;
    if (s->next) s->next->prev = s->prev; else l->last = s->prev;
    s->next = s->prev = NULL;
    s->list = NULL;
}

/* ---- span bits (Go's mbitmap.go) ----------------------------------------- */

static inline uint32_t nwords(mspan *s) { return (s->nelems + 63) / 64; }

void mspan_refillAllocCache(mspan *s, uint32_t whichWord)
{
    s->allocCache = whichWord < nwords(s) ? ~s->allocBits[whichWord] : 0;
}

/* Go's nextFreeIndex: the next free slot at or after freeindex, or
 * nelems; moves freeindex past it. */
uint32_t mspan_nextFreeIndex(mspan *s)
{
    uint32_t sfreeindex = s->freeindex, snelems = s->nelems;
    if (sfreeindex == snelems)
        return sfreeindex;
    uint64_t aCache = s->allocCache;
    uint32_t bitIndex = aCache ? (uint32_t)__builtin_ctzll(aCache) : 64;
    while (bitIndex == 64) {
        sfreeindex = (sfreeindex + 64) & ~63u;
        if (sfreeindex >= snelems) {
            __atomic_store_n(&s->freeindex, snelems, __ATOMIC_RELAXED);
            return snelems;
        }
        mspan_refillAllocCache(s, sfreeindex / 64);
        aCache = s->allocCache;
        bitIndex = aCache ? (uint32_t)__builtin_ctzll(aCache) : 64;
    }
    uint32_t result = sfreeindex + bitIndex;
    if (result >= snelems) {
        __atomic_store_n(&s->freeindex, snelems, __ATOMIC_RELAXED);
        return snelems;
    }
    s->allocCache = bitIndex == 63 ? 0 : s->allocCache >> (bitIndex + 1);
    sfreeindex = result + 1;
    if (sfreeindex % 64 == 0 && sfreeindex != snelems)
        mspan_refillAllocCache(s, sfreeindex / 64);
    __atomic_store_n(&s->freeindex, sfreeindex, __ATOMIC_RELAXED);
    return result;
}

/* Folds the slots freed since the last collect into allocBits, with every
 * slot below freeindex (taken since then), and starts the scan over. Only
 * the span's holder calls it. A concurrent gc_free reads freeindex and
 * then allocBits (mspan_isfree): allocBits is stored before freeindex goes
 * back to 0 (release), so a reader that sees 0 sees the new bits. */
int mspan_collect(mspan *s)
{
    uint32_t fi = s->freeindex, n = nwords(s), count = 0;
    int freed = 0;
    for (uint32_t w = 0; w < n; w++) {
        uint64_t fb = __atomic_exchange_n(&s->freebits[w], 0, __ATOMIC_SEQ_CST);
        uint64_t below = fi >= (w + 1) * 64 ? ~0ULL
                       : fi <= w * 64 ? 0 : (1ULL << (fi - w * 64)) - 1;
        uint64_t taken = s->allocBits[w] | below;
        debugcheck((fb & ~taken) == 0, "mspan_collect: a free slot was freed");
        uint64_t ab = taken & ~fb;
        __atomic_store_n(&s->allocBits[w], ab, __ATOMIC_RELAXED);
        count += popcount64(ab);
        freed += (int)popcount64(fb);
    }
    if (freed)
        __atomic_sub_fetch(&s->nfreed, (uint32_t)freed, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->freeindex, 0, __ATOMIC_RELEASE);
    mspan_refillAllocCache(s, 0);
    s->allocCount = count;
    if (freed)
        s->needzero = true;
    return freed;
}

/* Any thread: is slot idx free (never handed out since the last collect,
 * or freed and collected)? A slot freed but not yet collected reads as
 * taken; its bit in freebits says the rest (slotfree). */
bool mspan_isfree(mspan *s, uint32_t idx)
{
    if (idx < __atomic_load_n(&s->freeindex, __ATOMIC_ACQUIRE))
        return false;
    uint64_t ab = __atomic_load_n(&s->allocBits[idx / 64], __ATOMIC_ACQUIRE);
    return !((ab >> (idx % 64)) & 1);
}

/* ---- the arena index ----------------------------------------------------- */

static inline uintptr_t arenaIndex(uintptr_t p) { return p / heapArenaBytes; }

static heapArena *arenaOf(uintptr_t p)
{
    uintptr_t ai = arenaIndex(p);
    if (ai >> (arenaL1Bits + arenaL2Bits))
        return NULL;
    heapArena **l2 = __atomic_load_n(&mheap_.arenas[ai >> arenaL2Bits], __ATOMIC_ACQUIRE);
    if (l2 == NULL)
        return NULL;
    return __atomic_load_n(&l2[ai & ((1 << arenaL2Bits) - 1)], __ATOMIC_ACQUIRE);
}

mspan *spanOf(uintptr_t p)
{
    heapArena *ha = arenaOf(p);
    if (ha == NULL)
        return NULL;
    return __atomic_load_n(&ha->spans[(p / _PageSize) % pagesPerArena], __ATOMIC_ACQUIRE);
}

static void setspan(uintptr_t page, mspan *s)
{
    heapArena *ha = arenaOf(page);
    __atomic_store_n(&ha->spans[(page / _PageSize) % pagesPerArena], s, __ATOMIC_RELEASE);
}

static void setspanends(mspan *s)
{
    setspan(s->startAddr, s);
    setspan(s->startAddr + (s->npages - 1) * _PageSize, s);
}

static inline void statadd(uint64_t *x, int64_t n)
{
    __atomic_store_n(x, *x + (uint64_t)n, __ATOMIC_RELAXED);   /* under mheap.lock */
}

/* ---- free lists ------------------------------------------------------------ */

static void freelist_insert(mspan *s)
{
    if (s->npages < NFREELISTS) {
        spanlist_insert(&mheap_.free[s->npages], s);
        mheap_.freemask[s->npages / 64] |= 1ULL << (s->npages % 64);
    } else {
        spanlist_insert(&mheap_.freelarge, s);
    }
}

static void freelist_remove(mspan *s)
{
    if (s->npages < NFREELISTS) {
        spanlist *l = &mheap_.free[s->npages];
        spanlist_remove(l, s);
        if (l->first == NULL)
            mheap_.freemask[s->npages / 64] &= ~(1ULL << (s->npages % 64));
    } else {
        spanlist_remove(&mheap_.freelarge, s);
    }
}

static mspan *freelist_find(uintptr_t npages)
{
    for (uintptr_t n = npages; n < NFREELISTS;) {
        uint64_t m = mheap_.freemask[n / 64] >> (n % 64);
        if (m) {
            n += (uintptr_t)__builtin_ctzll(m);
            return mheap_.free[n].first;
        }
        n = (n / 64 + 1) * 64;
    }
    mspan *best = NULL;
    for (mspan *s = mheap_.freelarge.first; s; s = s->next)
        if (s->npages >= npages && (best == NULL || s->npages < best->npages ||
                                    (s->npages == best->npages && s->startAddr < best->startAddr)))
            best = s;
    return best;
}

/* A free span [base, base + npages pages) into the lists, merged with free
 * neighbours. s may be a span being freed or a new one. */
static void freespanlocked(mspan *s)
{
    __atomic_store_n(&s->state, mSpanFree, __ATOMIC_RELEASE);
    mspan *before = s->startAddr > 0 ? spanOf(s->startAddr - 1) : NULL;
    if (before && __atomic_load_n(&before->state, __ATOMIC_RELAXED) == mSpanFree &&
        before->startAddr + before->npages * _PageSize == s->startAddr) {
        freelist_remove(before);
        s->startAddr = before->startAddr;
        s->npages += before->npages;
        s->needzero |= before->needzero;
        __atomic_store_n(&before->state, mSpanDead, __ATOMIC_RELAXED);
        fixalloc_free(&mheap_.spanalloc, before);
    }
    uintptr_t end = s->startAddr + s->npages * _PageSize;
    mspan *after = spanOf(end);
    if (after && __atomic_load_n(&after->state, __ATOMIC_RELAXED) == mSpanFree &&
        after->startAddr == end) {
        freelist_remove(after);
        s->npages += after->npages;
        s->needzero |= after->needzero;
        __atomic_store_n(&after->state, mSpanDead, __ATOMIC_RELAXED);
        fixalloc_free(&mheap_.spanalloc, after);
    }
    setspanends(s);
    freelist_insert(s);
}

/* ---- growing: arenas ------------------------------------------------------- */

static void newarenas(uintptr_t base, uintptr_t size)
{
    for (uintptr_t a = base; a < base + size; a += heapArenaBytes) {
        uintptr_t ai = arenaIndex(a);
        if (ai >> (arenaL1Bits + arenaL2Bits))
            gort_throw("runtime: heap address beyond 48 bits");
        heapArena **l2 = mheap_.arenas[ai >> arenaL2Bits];
        if (l2 == NULL) {
            l2 = calloc((size_t)1 << arenaL2Bits, sizeof *l2);
            if (l2 == NULL)
                gort_throw("runtime: out of memory (arena index)");
            statadd(&mheap_.metasys, (int64_t)(sizeof *l2 << arenaL2Bits));
            __atomic_store_n(&mheap_.arenas[ai >> arenaL2Bits], l2, __ATOMIC_RELEASE);
        }
        heapArena *ha = fixalloc_alloc(&mheap_.arenaalloc);
        __atomic_store_n(&l2[ai & ((1 << arenaL2Bits) - 1)], ha, __ATOMIC_RELEASE);
    }
}

/* Reserves (PROT_NONE) at least npages pages of new arenas, 64 MiB aligned. */
static void reserve(uintptr_t npages)
{
    uintptr_t size = (npages * _PageSize + heapArenaBytes - 1) & ~(heapArenaBytes - 1);
    void *v = mmap(NULL, size + heapArenaBytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (v == MAP_FAILED)
        gort_throw("runtime: out of memory: cannot reserve heap arena");
    uintptr_t p = (uintptr_t)v, base = (p + heapArenaBytes - 1) & ~(heapArenaBytes - 1);
    if (base > p)
        munmap(v, base - p);
    if (p + size + heapArenaBytes > base + size)
        munmap((void *)(base + size), p + size + heapArenaBytes - (base + size));
    arenares *r = calloc(1, sizeof *r);
    if (r == NULL)
        gort_throw("runtime: out of memory (arena list)");
    r->base = base;
    r->size = size;
    r->next = mheap_.reservations;
    mheap_.reservations = r;
    statadd(&mheap_.metasys, sizeof *r);
    newarenas(base, size);
    mheap_.curArena = base;
    mheap_.curEnd = base + size;
}

/* Commits [base, base + n) and frees it into the lists (fresh: zero). */
static void commit(uintptr_t base, uintptr_t n)
{
    if (mprotect((void *)base, n, PROT_READ | PROT_WRITE) != 0)
        gort_throw("runtime: out of memory: cannot commit heap pages");
    madvise((void *)base, n, MADV_NOHUGEPAGE);
    statadd(&mheap_.heapsys, (int64_t)n);
    mspan *s = fixalloc_alloc(&mheap_.spanalloc);
    s->startAddr = base;
    s->npages = n / _PageSize;
    s->needzero = false;
    san_poison((void *)base, n);
    freespanlocked(s);
}

/* Go's mheap.grow: room for npages more pages in the free lists. */
static void grow(uintptr_t npages)
{
    uintptr_t need = npages * _PageSize;
    if (mheap_.curEnd - mheap_.curArena < need) {
        if (mheap_.curEnd > mheap_.curArena)     /* the old arena's tail: free */
            commit(mheap_.curArena, mheap_.curEnd - mheap_.curArena);
        reserve(npages);
    }
    uintptr_t n = need < COMMITCHUNK ? COMMITCHUNK : need;
    if (n > mheap_.curEnd - mheap_.curArena)
        n = mheap_.curEnd - mheap_.curArena;
    commit(mheap_.curArena, n);
    mheap_.curArena += n;
}

/* ---- spans ---------------------------------------------------------------- */

mspan *mheap_alloc(uintptr_t npages, spanClass spc)
{
    lock(&mheap_.lock);
    mspan *s = freelist_find(npages);
    if (s == NULL) {
        grow(npages);
        s = freelist_find(npages);
        if (s == NULL)
            gort_throw("mheap_alloc: no span after grow");
    }
    freelist_remove(s);
    if (s->npages > npages) {               /* the rest stays free */
        mspan *t = fixalloc_alloc(&mheap_.spanalloc);
        t->startAddr = s->startAddr + npages * _PageSize;
        t->npages = s->npages - npages;
        t->needzero = s->needzero;
        __atomic_store_n(&t->state, mSpanFree, __ATOMIC_RELAXED);
        setspanends(t);
        freelist_insert(t);
        s->npages = npages;
    }
    bool needzero = s->needzero;
    uintptr_t base = s->startAddr;
    memset(s, 0, sizeof *s);
    s->startAddr = base;
    s->npages = npages;
    s->needzero = needzero;
    s->spanclass = spc;
    uint8_t sc = spanClass_sizeclass(spc);
    if (sc == 0) {
        s->elemsize = npages * _PageSize;
        s->nelems = 1;
    } else {
        s->elemsize = class_to_size[sc];
        s->nelems = (uint32_t)(npages * _PageSize / s->elemsize);
        s->divMul = class_to_divmagic[sc];
        if (spc == makeSpanClass(_TinySizeClass, true))
            s->tinymask = fixalloc_alloc(&mheap_.tinyalloc);
    }
    s->limit = base + s->nelems * s->elemsize;
    s->pushat = s->nelems / 8 ? s->nelems / 8 : 1;
    s->allocCache = ~0ULL;
    for (uintptr_t i = 0; i < npages; i++)
        setspan(base + i * _PageSize, s);
    statadd(&mheap_.heapinuse, (int64_t)(npages * _PageSize));
    __atomic_store_n(&s->state, mSpanInUse, __ATOMIC_RELEASE);
    if (GORT_DEBUG >= 3)
        mheap_checkinvariants();
    unlock(&mheap_.lock);
    return s;
}

/* A span with no live object back to the heap. Its pages are dirty. */
void mheap_freeSpan(mspan *s)
{
    lock(&mheap_.lock);
    if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != mSpanInUse)
        gort_throw("mheap_freeSpan: span not in use");
    statadd(&mheap_.heapinuse, -(int64_t)(s->npages * _PageSize));
    if (s->tinymask) {
        fixalloc_free(&mheap_.tinyalloc, s->tinymask);
        s->tinymask = NULL;
    }
    s->needzero = true;
    san_poison((void *)s->startAddr, s->npages * _PageSize);
    freespanlocked(s);
    if (GORT_DEBUG >= 3)
        mheap_checkinvariants();
    unlock(&mheap_.lock);
}

void mheap_stats(uint64_t *sys, uint64_t *inuse, uint64_t *meta)
{
    *sys = __atomic_load_n(&mheap_.heapsys, __ATOMIC_RELAXED);
    *inuse = __atomic_load_n(&mheap_.heapinuse, __ATOMIC_RELAXED);
    *meta = __atomic_load_n(&mheap_.metasys, __ATOMIC_RELAXED) +
            __atomic_load_n(&mheap_.spanalloc.sys, __ATOMIC_RELAXED) +
            __atomic_load_n(&mheap_.cachealloc.sys, __ATOMIC_RELAXED) +
            __atomic_load_n(&mheap_.arenaalloc.sys, __ATOMIC_RELAXED) +
            __atomic_load_n(&mheap_.tinyalloc.sys, __ATOMIC_RELAXED);
}

/* Under mheap.lock: the invariants at the top of this file. */
void mheap_checkinvariants(void)
{
    uint64_t freebytes = 0;
    for (int n = 0; n <= NFREELISTS; n++) {
        spanlist *l = n < NFREELISTS ? &mheap_.free[n] : &mheap_.freelarge;
        if (n < NFREELISTS && (l->first != NULL) != !!(mheap_.freemask[n / 64] >> (n % 64) & 1))
            gort_throw("mheap: freemask disagrees with free lists");
        for (mspan *s = l->first; s; s = s->next) {
            if (s->state != mSpanFree || s->list != l)
                gort_throw("mheap: span on a free list is not free");
            if (n < NFREELISTS ? s->npages != (uintptr_t)n : s->npages < NFREELISTS)
                gort_throw("mheap: free span on the wrong list");
            if (spanOf(s->startAddr) != s || spanOf(s->startAddr + (s->npages - 1) * _PageSize) != s)
                gort_throw("mheap: free span's ends not in spans[]");
            mspan *b = spanOf(s->startAddr - 1), *a = spanOf(s->startAddr + s->npages * _PageSize);
            if ((b && b->state == mSpanFree && b->startAddr + b->npages * _PageSize == s->startAddr) ||
                (a && a->state == mSpanFree && a->startAddr == s->startAddr + s->npages * _PageSize))
                gort_throw("mheap: two free spans touch (not coalesced)");
            freebytes += s->npages * _PageSize;
        }
    }
    if (mheap_.heapinuse + freebytes != mheap_.heapsys)
        gort_throw("mheap: heapinuse + free pages != heapsys");
}

/* ---- init and the end ------------------------------------------------------ */

void mallocinit(void)
{
    memset(&mheap_, 0, sizeof mheap_);
    fixalloc_init(&mheap_.spanalloc, sizeof(mspan));
    fixalloc_init(&mheap_.cachealloc, sizeof(mcache));
    fixalloc_init(&mheap_.arenaalloc, sizeof(heapArena));
    fixalloc_init(&mheap_.tinyalloc, sizeof(uint32_t) * (_PageSize / _TinySize));
    for (int i = 0; i < _NumSpanClasses; i++)
        mheap_.central[i].spanclass = (spanClass)i;
    memset(&emptymspan, 0, sizeof emptymspan);
    __atomic_store_n(&mheap_.inited, true, __ATOMIC_RELEASE);
}

/* runtime_main's end, every thread joined: every byte back to the OS. */
void mallocfini(void)
{
    __atomic_store_n(&mheap_.inited, false, __ATOMIC_RELEASE);
    for (arenares *r = mheap_.reservations, *next; r; r = next) {
        next = r->next;
        san_unpoison((void *)r->base, r->size);
        munmap((void *)r->base, r->size);
        free(r);
    }
    for (int i = 0; i < (1 << arenaL1Bits); i++)
        free(mheap_.arenas[i]);
    fixalloc_freeall(&mheap_.spanalloc);
    fixalloc_freeall(&mheap_.cachealloc);
    fixalloc_freeall(&mheap_.arenaalloc);
    fixalloc_freeall(&mheap_.tinyalloc);
    memset(&mheap_, 0, sizeof mheap_);
}
