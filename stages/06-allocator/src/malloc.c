/*
 * malloc.c: gc_alloc, gc_alloc_noscan and gc_free (stage 06; mirrors Go's
 * src/runtime/malloc.go: mallocgc, nextFreeFast, the tiny allocator).
 *
 * gc_alloc(n), in Go's order:
 *   n == 0                 &zerobase: one address for every empty object
 *   noscan and n < 16      the tiny allocator: carve n bytes, aligned to
 *                          the largest power of two dividing n (at most 8),
 *                          from the P's current 16-byte block
 *   n <= 32 KiB            size class (sizeclasses.h), span class (scan
 *                          and noscan kept apart for stage 07), a slot from
 *                          the P's span: nextFreeFast (ctz on allocCache),
 *                          else nextFreeIndex, else mcache_refill
 *   larger                 its own span of whole pages from the heap
 * and zeroes the object when its span's pages may be dirty (needzero).
 *
 * The fast path, then: load the P's mcache, the span for the class, ctz,
 * a compare, two stores; counters; the zeroing. No lock, no atomic
 * read-modify-write. It is runtime code (gort_text), so a goroutine is
 * never preempted inside it and keeps its P throughout.
 *
 * gc_free(p) (stage 06's only way back; the collector's from stage 07):
 * spanOf(p) (four loads), then the checks that are always on:
 *   - p not in an in-use span, or past the span's last slot: "not
 *     allocated by gc_alloc" (a stack, static or malloc address lands here);
 *   - p not at the start of its slot: "pointer into the middle of an
 *     object";
 *   - the slot is free, or its bit is already set in freebits: "double
 *     free". (A slot freed and then allocated again is a new object: a
 *     free of it is taken.)
 * Then it sets the slot's bit in freebits: one atomic OR, whichever P
 * allocated it; mcentral.c says who folds the bits back, and when. Why
 * deferred free bits and not a free list threaded through the objects
 * (mimalloc's thread-free list): the bits are already Go's way (stage
 * 07's sweep turns mark bits into allocBits the same way), a double free
 * is caught by the same OR, and the freer never writes into the object,
 * which may be reused at once by its owner.
 *
 * Tiny blocks. A 16-byte block holds several tiny objects. Its span keeps
 * a 32-bit mask per slot (mspan.tinymask): one bit per byte offset where
 * a live object starts, and TINYHELD while a P still carves the block.
 * gc_free of a tiny object clears its bit (an atomic AND: a bit already
 * clear is a double free or an interior pointer); whoever clears the last
 * bit (the holder letting the block go, or the last free) frees the slot.
 * So carving costs one atomic OR, which Go's tiny allocator does without.
 *
 * Sanitizers. Under ASan every free slot and free page is poisoned
 * (ASAN_POISON_MEMORY_REGION), a slot is unpoisoned when handed out, so a
 * use after free is reported; tiny objects are poisoned with their block.
 * Under valgrind the heap is a memory pool (VALGRIND_CREATE_MEMPOOL):
 * every object is a chunk, gone at gc_free and all at once when
 * runtime_main returns, so memcheck reports reads of freed objects and no
 * leak for what the program did not free.
 *
 * Roots (gc_add_root, gc_remove_root) are only recorded in stage 06, for
 * stage 07's collector to scan: nothing is collected yet.
 */
#define _GNU_SOURCE
#include "mheap.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GORT_ASAN_POISON 1
#endif
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_VALGRIND 1
#endif
#endif

#ifdef HAVE_VALGRIND
#define VG_ALLOC(p, n) do { VALGRIND_MEMPOOL_ALLOC(&mheap_, (p), (n)); \
                            VALGRIND_MAKE_MEM_DEFINED((p), (n)); } while (0)
#define VG_FREE(p)     VALGRIND_MEMPOOL_FREE(&mheap_, (p))
#define VG_WRITABLE(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))   /* zeroing a freed slot */
#else
#define VG_WRITABLE(p, n) do { (void)(p); (void)(n); } while (0)
#define VG_ALLOC(p, n) do { (void)(p); (void)(n); } while (0)
#define VG_FREE(p)     do { (void)(p); } while (0)
#endif

static _Alignas(16) uint64_t zerobase;   /* gc_alloc(0) */

void san_poison(void *p, size_t n)
{
#ifdef GORT_ASAN_POISON
    ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p; (void)n;
#endif
}

void san_unpoison(void *p, size_t n)
{
#ifdef GORT_ASAN_POISON
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p; (void)n;
#endif
}

/* ---- which mcache ------------------------------------------------------------ */

/* The P's mcache, or (a thread with no P) the shared one, locked. */
static mcache *getmcache(bool *locked, const char *what)
{
    m *mp = getm();
    *locked = false;
    if (mp != NULL && mp->p != NULL)
        return mp->p->mcache;
    if (!__atomic_load_n(&mheap_.inited, __ATOMIC_ACQUIRE))
        gort_fatal_outside(what);
    lock(&mheap_.nopcachelock);
    *locked = true;
    if (mheap_.nopcache == NULL)
        mheap_.nopcache = allocmcache();
    return mheap_.nopcache;
}

static inline void putmcache(bool locked)
{
    if (locked)
        unlock(&mheap_.nopcachelock);
}

/* ---- slots ------------------------------------------------------------------- */

/* Go's nextFreeFast: a free slot from the cache's 64-bit window, or 0. */
static inline uintptr_t nextFreeFast(mspan *s)
{
    uint64_t cache = s->allocCache;
    if (cache == 0)
        return 0;
    uint32_t theBit = (uint32_t)__builtin_ctzll(cache);
    uint32_t result = s->freeindex + theBit;
    if (result < s->nelems) {
        uint32_t freeidx = result + 1;
        if (freeidx % 64 == 0 && freeidx != s->nelems)
            return 0;
        s->allocCache = theBit == 63 ? 0 : cache >> (theBit + 1);
        __atomic_store_n(&s->freeindex, freeidx, __ATOMIC_RELAXED);
        s->allocCount++;
        return s->startAddr + result * s->elemsize;
    }
    return 0;
}

/* Go's mcache.nextFree: the slow path. */
static uintptr_t nextFree(mcache *c, spanClass spc, mspan **sp)
{
    mspan *s = c->alloc[spc];
    uint32_t idx = mspan_nextFreeIndex(s);
    if (idx == s->nelems) {
        s = mcache_refill(c, spc);
        idx = mspan_nextFreeIndex(s);
        if (idx == s->nelems)
            gort_throw("mcache.nextFree: refilled span has no free slot");
    }
    s->allocCount++;
    *sp = s;
    return s->startAddr + idx * s->elemsize;
}

/* A zeroed slot of class spc (unpoisoned: elemsize bytes). */
static uintptr_t slotalloc(mcache *c, spanClass spc, mspan **sp)
{
    mspan *s = c->alloc[spc];
    uintptr_t x = nextFreeFast(s);
    if (x == 0)
        x = nextFree(c, spc, &s);
    *sp = s;
    san_unpoison((void *)x, s->elemsize);
    if (s->needzero) {
        VG_WRITABLE((void *)x, s->elemsize);
        memset((void *)x, 0, s->elemsize);
    }
    return x;
}

static _Noreturn void badfree(const char *what, uintptr_t p, uintptr_t base)
{
    char msg[200];
    g *gp = getg();
    char who[48] = "no goroutine";
    if (gp)
        snprintf(who, sizeof who, "goroutine %lld", (long long)gp->goid);
    if (base)
        snprintf(msg, sizeof msg, "gc_free: %#lx %s (object at %#lx; %s)",
                 (unsigned long)p, what, (unsigned long)base, who);
    else
        snprintf(msg, sizeof msg, "gc_free: %#lx %s (%s)", (unsigned long)p, what, who);
    gort_throw(msg);
}

/* Slot idx of s is free: its bit in freebits (any thread). */
/* The span goes on its mcentral's pending stack first (when this free
 * brings its uncollected frees to pushat), and the bit is set last: once
 * the bit is set the span may be collected, found empty and given back to
 * the heap at once, so the freer must not touch it again. Frees below
 * pushat wait for the next collect of the span (its holder's, or the
 * next push): at most an eighth of a span, Go's own bound on the waste
 * at a span's end. */
void slotfree(mspan *s, uint32_t idx, mcache *c)
{
    (void)c;
    uint64_t bit = 1ULL << (idx % 64);
    uintptr_t obj = s->startAddr + idx * s->elemsize;
    if (__atomic_add_fetch(&s->nfreed, 1, __ATOMIC_SEQ_CST) == s->pushat)
        mcentral_pushpending(&mheap_.central[s->spanclass], s);
    uint64_t old = __atomic_fetch_or(&s->freebits[idx / 64], bit, __ATOMIC_SEQ_CST);
    if (old & bit)
        badfree("was already freed (double free)", obj, 0);
}

/* ---- the tiny allocator ------------------------------------------------------- */

/* The holder lets its current block go; the block's slot is freed if no
 * object in it is live. */
void tinyrelease(mcache *c)
{
    if (c->tiny == 0)
        return;
    uint32_t old = __atomic_fetch_and(c->tinymask, ~TINYHELD, __ATOMIC_ACQ_REL);
    if ((old & ~TINYHELD) == 0) {
        mcache_statadd(&c->st.freebytes, _TinySize);
        san_poison((void *)c->tiny, _TinySize);
        slotfree(c->tinyspan, mspan_objindex(c->tinyspan, c->tiny), c);
    }
    c->tiny = 0;
    c->tinyoffset = 0;
    c->tinymask = NULL;
    c->tinyspan = NULL;
}

static void *tinyalloc(mcache *c, size_t size)
{
    uintptr_t off = c->tinyoffset;
    if ((size & 7) == 0)
        off = (off + 7) & ~(uintptr_t)7;
    else if ((size & 3) == 0)
        off = (off + 3) & ~(uintptr_t)3;
    else if ((size & 1) == 0)
        off = (off + 1) & ~(uintptr_t)1;
    if (c->tiny != 0 && off + size <= _TinySize) {
        __atomic_fetch_or(c->tinymask, 1u << off, __ATOMIC_RELAXED);
        c->tinyoffset = off + size;
        void *x = (void *)(c->tiny + off);
        VG_ALLOC(x, size);
        return x;
    }
    mspan *s;
    uintptr_t x = slotalloc(c, makeSpanClass(_TinySizeClass, true), &s);
    uint32_t *mask = &s->tinymask[mspan_objindex(s, x)];
    __atomic_store_n(mask, TINYHELD | 1u, __ATOMIC_RELAXED);
    tinyrelease(c);
    c->tiny = x;
    c->tinyoffset = size;
    c->tinymask = mask;
    c->tinyspan = s;
    mcache_statadd(&c->st.allocbytes, _TinySize);
    VG_ALLOC((void *)x, size);
    return (void *)x;
}

/* ---- gc_alloc ------------------------------------------------------------------ */

static inline uint8_t sizetoclass(size_t size)
{
    if (size <= smallSizeMax - 8)
        return size_to_class8[(size + smallSizeDiv - 1) / smallSizeDiv];
    return size_to_class128[(size - smallSizeMax + largeSizeDiv - 1) / largeSizeDiv];
}

static void *mallocgc(size_t size, bool noscan, const char *what)
{
    if (size == 0)
        return &zerobase;
    if (size > ((size_t)1 << 46))
        gort_throw("runtime: out of memory: allocation size out of range");
    bool locked;
    mcache *c = getmcache(&locked, what);
    void *x;
    if (size <= _MaxSmallSize) {
        uint8_t sc = sizetoclass(size);
        if (noscan && size < _TinySize) {
            x = tinyalloc(c, size);
        } else {
            mspan *s;
            x = (void *)slotalloc(c, makeSpanClass(sc, noscan), &s);
            mcache_statadd(&c->st.allocbytes, s->elemsize);
            VG_ALLOC(x, size);
        }
        mcache_statadd(&c->st.bysize[sc], 1);
    } else {
        uintptr_t npages = (size + _PageSize - 1) / _PageSize;
        mspan *s = mheap_alloc(npages, makeSpanClass(0, noscan));
        x = (void *)s->startAddr;
        san_unpoison(x, npages * _PageSize);
        if (s->needzero) {
            VG_WRITABLE(x, npages * _PageSize);
            memset(x, 0, npages * _PageSize);
        }
        mcache_statadd(&c->st.allocbytes, npages * _PageSize);
        mcache_statadd(&c->st.bysize[0], 1);
        VG_ALLOC(x, size);
    }
    mcache_statadd(&c->st.nmalloc, 1);
    putmcache(locked);
    return x;
}

void *gc_alloc(size_t size) { return mallocgc(size, false, "gc_alloc"); }
void *gc_alloc_noscan(size_t size) { return mallocgc(size, true, "gc_alloc_noscan"); }

/* ---- gc_free ------------------------------------------------------------------- */

void gc_free(void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    if (ptr == NULL || ptr == &zerobase)
        return;
    if (!__atomic_load_n(&mheap_.inited, __ATOMIC_ACQUIRE))
        gort_fatal_outside("gc_free");
    mspan *s = spanOf(p);
    uint8_t state = s ? __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) : mSpanDead;
    if (state == mSpanFree && p >= s->startAddr && p < s->startAddr + s->npages * _PageSize)
        badfree("is in free heap pages (already freed: double free?)", p, 0);
    if (state != mSpanInUse || p < s->startAddr || p >= s->limit)
        badfree("is not a pointer returned by gc_alloc", p, 0);
    uint8_t sc = spanClass_sizeclass(s->spanclass);
    if (sc == 0) {                         /* a large object: its own span */
        if (p != s->startAddr)
            badfree("points into the middle of an object", p, s->startAddr);
        if (__atomic_exchange_n(&s->largefreed, 1, __ATOMIC_ACQ_REL))
            badfree("was already freed (double free)", p, 0);
        bool locked;
        mcache *c = getmcache(&locked, "gc_free");
        mcache_statadd(&c->st.nfree, 1);
        mcache_statadd(&c->st.freebytes, s->npages * _PageSize);
        putmcache(locked);
        VG_FREE(ptr);
        mheap_freeSpan(s);
        return;
    }
    uint32_t idx = mspan_objindex(s, p);
    uintptr_t base = s->startAddr + idx * s->elemsize;
    if (s->tinymask != NULL) {
        uint32_t mask = __atomic_load_n(&s->tinymask[idx], __ATOMIC_ACQUIRE);
        if (mask != 0) {                   /* a tiny block */
            uint32_t bit = 1u << (p - base);
            uint32_t old = __atomic_fetch_and(&s->tinymask[idx], ~bit, __ATOMIC_ACQ_REL);
            if (!(old & bit))
                badfree("is not a live tiny object (double free, or inside one)", p, base);
            VG_FREE(ptr);
            bool locked;
            mcache *c = getmcache(&locked, "gc_free");
            mcache_statadd(&c->st.nfree, 1);
            if ((old & ~bit) == 0) {       /* last object, block let go: the slot */
                mcache_statadd(&c->st.freebytes, _TinySize);
                san_poison((void *)base, _TinySize);
                slotfree(s, idx, c);
            }
            putmcache(locked);
            return;
        }
    }
    if (p != base)
        badfree("points into the middle of an object", p, base);
    if (mspan_isfree(s, idx))
        badfree("was already freed (double free)", p, 0);
    bool locked;
    mcache *c = getmcache(&locked, "gc_free");
    mcache_statadd(&c->st.nfree, 1);
    mcache_statadd(&c->st.freebytes, s->elemsize);
    VG_FREE(ptr);
    san_poison(ptr, s->elemsize);
    slotfree(s, idx, c);
    putmcache(locked);
}

/* ---- roots (recorded for stage 07) ----------------------------------------------- */

typedef struct { void *start; size_t len; } gcroot;
static mutex rootlock;
static gcroot *roots;
static size_t nroots, caproots;

void gc_add_root(void *start, size_t len)
{
    if (!__atomic_load_n(&mheap_.inited, __ATOMIC_ACQUIRE))
        gort_fatal_outside("gc_add_root");
    lock(&rootlock);
    if (nroots == caproots) {
        size_t n = caproots ? caproots * 2 : 16;
        gcroot *r = realloc(roots, n * sizeof *r);
        if (r == NULL)
            gort_throw("runtime: out of memory (gc roots)");
        roots = r;
        caproots = n;
    }
    roots[nroots++] = (gcroot){ start, len };
    unlock(&rootlock);
}

void gc_remove_root(void *start)
{
    lock(&rootlock);
    for (size_t i = 0; i < nroots; i++) {
        if (roots[i].start == start) {
            roots[i] = roots[--nroots];
            unlock(&rootlock);
            return;
        }
    }
    unlock(&rootlock);
    char msg[120];
    snprintf(msg, sizeof msg, "gc_remove_root: %p is not a registered root", start);
    gort_throw(msg);
}

/* ---- init, end, stats ------------------------------------------------------------- */

void mallocstart(void)
{
    mallocinit();
#ifdef HAVE_VALGRIND
    VALGRIND_CREATE_MEMPOOL(&mheap_, 0, 0);
#endif
}

void mallocend(void)
{
#ifdef HAVE_VALGRIND
    VALGRIND_DESTROY_MEMPOOL(&mheap_);
#endif
    free(roots);
    roots = NULL;
    nroots = caproots = 0;
    mallocfini();
}

static void addstats(mstatslocal *sum, mstatslocal *st)
{
    uint64_t *d = (uint64_t *)sum, *s = (uint64_t *)st;
    for (size_t i = 0; i < sizeof *st / sizeof(uint64_t); i++)
        d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* Summed over every P ever made and the no-P cache (metrics.c). */
void mallocstats(mstatslocal *sum)
{
    memset(sum, 0, sizeof *sum);
    if (!__atomic_load_n(&mheap_.inited, __ATOMIC_ACQUIRE))
        return;
    int32_t np = __atomic_load_n(&sched.allplen, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; sched.allp && i < np; i++) {
        p *pp = __atomic_load_n(&sched.allp[i], __ATOMIC_ACQUIRE);
        mcache *c = pp ? __atomic_load_n(&pp->mcache, __ATOMIC_ACQUIRE) : NULL;
        if (c)
            addstats(sum, &c->st);
    }
    lock(&mheap_.nopcachelock);
    if (mheap_.nopcache)
        addstats(sum, &mheap_.nopcache->st);
    unlock(&mheap_.nopcachelock);
}
