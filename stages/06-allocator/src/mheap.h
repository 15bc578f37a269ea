/*
 * mheap.h: the allocator's types (stage 06; mirrors Go's src/runtime/
 * mheap.go, mcentral.go, mcache.go, mfixalloc.go, malloc.go).
 *
 * The hierarchy, each level a cache for the one below:
 *
 *   gc_alloc(size)      size -> size class (sizeclasses.h) -> span class
 *        |                    (class << 1 | noscan: scan and noscan apart)
 *   mcache (per P)      one current span per span class, and the tiny
 *        |              block; no lock: only the M holding the P touches it
 *   mcentral (per span  the spans of one class that no mcache holds:
 *        |    class)    partial (a free slot) and full; a lock each
 *   mheap (one)         pages: free spans by length, coalesced on free;
 *        |              arenas of 64 MiB (reserved PROT_NONE, committed
 *        |              as the heap grows) and the arena index; one lock
 *   mmap
 *
 * An mspan is a run of pages. In use it holds one large object (class 0)
 * or nelems slots of one size class. Which slots are taken is Go's
 * arrangement: allocBits says what was allocated at the last sweep
 * (stage 06: the last "collect", below), every slot below freeindex is
 * taken, and allocCache holds the complement of allocBits from freeindex
 * on, 64 at a time, so that ctz finds the next free slot.
 *
 * Freeing (gc_free) never touches that state, which belongs to whoever
 * holds the span: the freer, on any thread, sets the slot's bit in
 * freebits with one atomic OR (no lock). The holder folds freebits into
 * allocBits ("collects", the stage-06 stand-in for sweeping) when the
 * span runs out in its mcache, when it gives the span back, or, for a
 * span no mcache holds, in mcentral under its lock: the free that brings
 * a span's count of uncollected frees to an eighth of its slots pushes it
 * onto its mcentral's lock-free `pending` stack (once; `onpending` says it
 * is there), which cacheSpan drains when it has no partial span left. So
 * a free is two atomic read-modify-writes on one cache line (a count and
 * an OR) and, once in nelems/8 frees, a push; stage 07's sweeper takes the
 * same place, with gcmarkBits instead of freebits.
 *
 * Lock order: sched.lock -> mcentral.lock -> mheap.lock (procresize
 * flushes a dying P's mcache under sched.lock; mcentral calls the heap).
 */
#ifndef GORT_MHEAP_H
#define GORT_MHEAP_H

#include "runtime2.h"
#include "sizeclasses.h"

#include <stddef.h>
#include <stdint.h>

#define _NumSpanClasses   (_NumSizeClasses << 1)
#define _MaxSmallObjects  (_PageSize / 8)          /* class 1: 1024 slots a page */
#define _AllocBitsWords   (_MaxSmallObjects / 64)
#define _TinySize         16                       /* Go's maxTinySize */
#define _TinySizeClass    2                        /* 16-byte blocks */
#define heapArenaBytes    ((uintptr_t)64 << 20)    /* Go's, on 64-bit Linux */
#define pagesPerArena     (heapArenaBytes / _PageSize)
#define arenaL1Bits       10
#define arenaL2Bits       12                       /* 2^22 arenas: 48-bit addresses */

typedef uint8_t spanClass;                         /* sizeclass << 1 | noscan */
static inline spanClass makeSpanClass(uint8_t sc, bool noscan) { return (spanClass)(sc << 1 | noscan); }
static inline uint8_t spanClass_sizeclass(spanClass s) { return s >> 1; }
static inline bool spanClass_noscan(spanClass s) { return s & 1; }

/* Span states (Go's mSpanState). atomic: gc_free reads it on any thread. */
enum { mSpanDead = 0, mSpanInUse = 1, mSpanFree = 2 };

typedef struct mspan mspan;
struct mspan {
    /* Field order: what every gc_free reads or writes comes first, in
     * one cache line (a free of a random object misses on each line of
     * its span it touches: bench/malloc's churn). */

    /* Set when the span is made (mheap_alloc), under mheap.lock. */
    uintptr_t  startAddr;
    uintptr_t  limit;            /* end of the last slot (small) or of the span */
    uintptr_t  elemsize;
    uint32_t   divMul;           /* class_to_divmagic: offset / elemsize */
    uint32_t   nelems;
    /* Tiny blocks (noscan class 2 only; NULL otherwise): per slot, one
     * bit per byte offset where a live tiny object starts, and
     * TINYHELD while an mcache still carves the block. 0: not a tiny
     * block (or a free slot). atomic. */
    uint32_t  *tinymask;
    spanClass  spanclass;
    uint8_t    state;            /* atomic: gc_free reads it on any thread */
    bool       needzero;         /* a slot may hold old data: zero on alloc */
    bool       incache;          /* held by an mcache; under mcentral.lock */
    uint32_t   freeindex;        /* atomic stores; slots below it are taken */
    /* Any thread, atomic. */
    uint32_t   nfreed;           /* frees since the last collect (counted
                                    before the bit is set) */
    uint32_t   pushat;           /* the nfreed that pushes it: nelems/8, at least 1 */
    uint32_t   onpending;        /* on its mcentral's pending stack */
    uint32_t   largefreed;       /* large span: gc_free claimed it */

    uintptr_t  npages;
    /* mheap's free lists (state mSpanFree) or mcentral's lists; under
     * the lock of whichever holds the span. */
    mspan     *next, *prev;
    struct spanlist *list;
    mspan     *pendnext;         /* the pending stack's link */

    /* Owned by whoever holds the span: its mcache's M, or mcentral
     * under its lock (incache false). Others read freeindex and allocBits
     * only atomically (gc_free's check). */
    uint32_t   allocCount;       /* slots taken, as of the last collect + allocs */
    uint64_t   allocCache;       /* ~allocBits from freeindex (ctz: next free) */
    uint64_t   allocBits[_AllocBitsWords];   /* atomic stores */
    /* Any thread, atomic: slots freed since the last collect. */
    uint64_t   freebits[_AllocBitsWords];
    uint64_t   gcmarkBits[_AllocBitsWords];  /* stage 07's; unused here */
};
#define TINYHELD (1u << 16)

typedef struct spanlist { mspan *first, *last; } spanlist;
void    spanlist_insert(spanlist *l, mspan *s);
void    spanlist_inserttail(spanlist *l, mspan *s);
void    spanlist_remove(spanlist *l, mspan *s);

/* Not __builtin_popcountll: without -mpopcnt gcc calls libgcc's
 * __popcountdi2, linked into the program's own .text, outside gort_text,
 * so the SIGURG handler takes it for user code and may preempt a goroutine
 * there, inside mspan_collect, with an mcentral lock held (a deadlock that
 * test_malloc's random test found at GOMAXPROCS=2). */
static inline uint32_t popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (uint32_t)((x * 0x0101010101010101ULL) >> 56);
}

static inline uintptr_t mspan_base(mspan *s) { return s->startAddr; }
/* Go's objIndex: (p - base) / elemsize by multiply and shift. */
static inline uint32_t mspan_objindex(mspan *s, uintptr_t p)
{
    return (uint32_t)(((uint64_t)(p - s->startAddr) * s->divMul) >> 32);
}
void    mspan_refillAllocCache(mspan *s, uint32_t whichWord);
uint32_t mspan_nextFreeIndex(mspan *s);
int     mspan_collect(mspan *s);        /* folds freebits in; returns slots freed */
bool    mspan_isfree(mspan *s, uint32_t idx);   /* any thread: gc_free's check */

/* ---- fixalloc (mfixalloc.c): the runtime's own fixed-size metadata ---- */

typedef struct fixalloc {
    size_t   size;
    void    *list;               /* free objects */
    char    *chunk;              /* carving from */
    size_t   nchunk;             /* bytes left in chunk */
    void    *chunks;             /* every chunk, for fixalloc_freeall */
    uint64_t inuse;              /* bytes handed out */
    uint64_t sys;                /* bytes mapped */
} fixalloc;
void    fixalloc_init(fixalloc *f, size_t size);
void   *fixalloc_alloc(fixalloc *f);    /* zeroed */
void    fixalloc_free(fixalloc *f, void *p);
void    fixalloc_freeall(fixalloc *f);

/* ---- mcentral (mcentral.c) --------------------------------------------- */

typedef struct mcentral {
    mutex     lock;
    spanClass spanclass;
    spanlist  partial;           /* a free slot (as of the last collect) */
    spanlist  full;              /* none */
    mspan    *pending;           /* atomic: spans freed into since (Treiber stack) */
    char      pad[64];           /* one cache line each */
} mcentral;
mspan  *mcentral_cacheSpan(mcentral *c);
void    mcentral_uncacheSpan(mcentral *c, mspan *s);
void    mcentral_pushpending(mcentral *c, mspan *s);

/* ---- mcache (mcache.c) ------------------------------------------------- */

/* Counters of the P's own allocations and frees: written by the M holding
 * the P only (atomic stores), read by runtime_read_mem_stats. */
typedef struct mstatslocal {
    uint64_t nmalloc;            /* objects gc_alloc returned (size > 0) */
    uint64_t nfree;              /* objects gc_free took back */
    uint64_t allocbytes;         /* slot bytes: elemsize, a 16-byte tiny
                                    block once, a large span's pages */
    uint64_t freebytes;
    uint64_t bysize[_NumSizeClasses];   /* objects by class; [0]: large */
} mstatslocal;

typedef struct mcache {
    mspan    *alloc[_NumSpanClasses];   /* current span per class, or &emptymspan */
    uintptr_t tiny;              /* current tiny block, or 0 */
    uintptr_t tinyoffset;
    uint32_t *tinymask;          /* its mask word */
    mspan    *tinyspan;
    mstatslocal st;
} mcache;
mcache *allocmcache(void);
void    mcache_releaseAll(mcache *c);   /* spans back to mcentral; stats stay */
mspan  *mcache_refill(mcache *c, spanClass spc);
void    mcache_statadd(uint64_t *ctr, uint64_t n);

/* ---- mheap (mheap.c) --------------------------------------------------- */

typedef struct heapArena {
    mspan *spans[pagesPerArena]; /* atomic: page -> span (every page of an
                                    in-use span; first and last of a free one) */
} heapArena;

#define NFREELISTS 128           /* free[n]: free spans of n pages; longer ones in freelarge */

typedef struct mheap {
    mutex     lock;              /* everything but central and the stats read atomically */
    spanlist  free[NFREELISTS];
    spanlist  freelarge;
    uint64_t  freemask[NFREELISTS / 64];   /* free[n] non-empty */
    heapArena **arenas[1 << arenaL1Bits];  /* atomic pointers */
    uintptr_t curArena, curEnd;  /* growing into [curArena, curEnd) */
    struct arenares *reservations;         /* every mmap, to unmap at the end */
    fixalloc  spanalloc, cachealloc, arenaalloc, tinyalloc;
    mcentral  central[_NumSpanClasses];
    mutex     nopcachelock;      /* guards nopcache */
    mcache   *nopcache;          /* for threads with no P */
    /* atomic, written under lock */
    uint64_t  heapsys;           /* bytes of arena committed to the heap */
    uint64_t  heapinuse;         /* bytes of in-use spans */
    uint64_t  metasys;           /* fixalloc chunks, arena metadata */
    mstatslocal nopst;           /* frees and allocs on no P: atomic adds */
    bool      inited;
} mheap;
extern mheap mheap_;
extern mspan emptymspan;

void    mallocinit(void);
void    mallocfini(void);
mspan  *mheap_alloc(uintptr_t npages, spanClass spc);  /* state InUse, bitmaps ready */
void    mheap_freeSpan(mspan *s);
mspan  *spanOf(uintptr_t p);                            /* any thread; NULL outside the heap */
void    mheap_stats(uint64_t *sys, uint64_t *inuse, uint64_t *meta);
void    mheap_checkinvariants(void);                    /* DEBUG=3 and tests */

/* malloc.c */
void    slotfree(mspan *s, uint32_t idx, mcache *c);    /* a slot back: freebits */
void    mallocstats(mstatslocal *sum);                  /* metrics.c: sum over Ps */
void    san_poison(void *p, size_t n);
void    san_unpoison(void *p, size_t n);

#endif /* GORT_MHEAP_H */
