/*
 * stack.c: goroutine stacks and G descriptors (mirrors the role of Go's
 * src/runtime/stack.go: stackalloc, stackfree, stackpool; and proc.go's
 * malg).
 *
 * Go grows stacks by copying, starting at 2 KiB, because its compiler
 * checks the stack bound in every function prologue. C code has no such
 * check, so gort gives every goroutine a fixed stack big enough for normal
 * C (64 KiB usable, the API's promise) and lets the kernel's lazy paging do
 * what copying does for Go: a parked goroutine that touched 1 KiB of its
 * stack costs one 4 KiB page of memory, not 64 KiB.
 *
 * Stacks are attached late and returned early. newproc makes only a G (a
 * couple of hundred bytes from a slab); execute attaches a stack when the
 * G first runs, and goexit0 puts the stack back in the pool as soon as the
 * G dies. A program that spawns a million short goroutines before any runs
 * (GOMAXPROCS=1) therefore touches a few stacks, not a million: a page
 * fault costs about 2 us on these machines, more than everything else a
 * spawn does. (Go keeps the stack with the dead G instead; its stacks are
 * 2 KiB, so it can afford to.)
 *
 * Layout. Stacks are carved from arenas, each one mmap of ARENA_SLOTS
 * slots. A slot, from low to high addresses:
 *
 *     [ guard page | stack, >= 64 KiB                 | stackhdr ]
 *     ^ slot base  ^ stack_lo                         ^ stack_hi
 *
 * The small header at the top links free stacks in the pool and keeps
 * valgrind's id for the stack.
 *
 * Guard pages and vm.max_map_count. A PROT_NONE guard page below each
 * stack turns an overflow into a SIGSEGV that os_linux.c reports as
 * "fatal error: stack overflow". But every guard splits its arena's
 * mapping: a guarded stack costs two kernel mappings, and Linux allows a
 * process vm.max_map_count of them (65530 by default), which would cap a
 * program at about 32,000 goroutines. So gort guards the first
 * max_map_count/4 stacks (about 16,000: every program that is not a
 * million-goroutine experiment) and carves the rest from unguarded arenas,
 * which are one mapping each however many stacks they hold. An unguarded
 * stack that overflows writes into the unused guard-sized gap below it
 * first, and is caught in software when it next switches out (proc.c:
 * mcall checks the stack pointer and the gap's top word); a deep overflow
 * can corrupt the neighbouring stack before that. The stage README
 * discusses the trade-off.
 *
 * Arenas are mapped MAP_NORESERVE (a million stacks reserve 70 GiB of
 * address space, not of memory) and MADV_NOHUGEPAGE (a transparent huge
 * page would make one touched stack page cost 2 MiB).
 *
 * Invariants, under stacklock:
 *   a slot is either in use by exactly one G (gp->stack_hi == its header),
 *   or on the pool, or not yet carved (index >= arena.used);
 *   guarded arenas * ARENA_SLOTS <= max_map_count / 4.
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GORT_ASAN_UNPOISON 1
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND 1
#endif
#endif

#define PAGE        4096
#define STACK_GUARD PAGE
#define STACK_SLOT  (72 << 10)    /* guard + >= 64 KiB of stack + header */
#define ARENA_SLOTS 256           /* 18 MiB of address space per arena */
#define GCHUNK      (1 << 20)     /* G descriptors are carved 1 MiB at a time */

typedef struct stackhdr {
    struct stackhdr *next;        /* pool link while free */
    unsigned valgrind_id;
} stackhdr;

typedef struct arena {
    char   *base;
    int32_t used;                 /* slots carved */
    bool    guarded;
} arena;

static mutex     stacklock;
static arena    *arenas;          /* guarded by stacklock */
static int32_t   narenas, caparenas;
static int64_t   guardbudget;     /* guarded slots still allowed */
static stackhdr *pool;            /* free stacks */
static int64_t   nstackinuse;

static void    **gchunks;         /* G slab, guarded by stacklock */
static int32_t   ngchunks, capgchunks;
static char     *gnext, *gend;

static int64_t read_max_map_count(void)
{
    long v = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 65530;
        fclose(f);
    }
    return v;
}

void stackinit(void)
{
    arenas = NULL;
    narenas = caparenas = 0;
    pool = NULL;
    nstackinuse = 0;
    gchunks = NULL;
    ngchunks = capgchunks = 0;
    gnext = gend = NULL;
    guardbudget = read_max_map_count() / 4;
}

static void *growtable(void *table, int32_t *cap, size_t elem)
{
    *cap = *cap ? 2 * *cap : 16;
    void *n = realloc(table, (size_t)*cap * elem);
    if (n == NULL)
        gort_throw("out of memory growing a runtime table");
    return n;
}

/* A zeroed G, without a stack (Go's malg, minus the stack). */
g *galloc(void)
{
    size_t size = (sizeof(g) + 15) & ~(size_t)15;
    lock(&stacklock);
    if (gnext == NULL || gnext + size > gend) {
        char *p = mmap(NULL, GCHUNK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            gort_throw("out of memory allocating goroutine descriptors");
        if (ngchunks == capgchunks)
            gchunks = growtable(gchunks, &capgchunks, sizeof *gchunks);
        gchunks[ngchunks++] = p;
        gnext = p;
        gend = p + GCHUNK;
    }
    g *gp = (g *)gnext;
    gnext += size;
    unlock(&stacklock);
    return gp;                    /* fresh mmap memory is zero */
}

static stackhdr *carve(void)
{
    arena *a = narenas ? &arenas[narenas - 1] : NULL;
    if (a == NULL || a->used == ARENA_SLOTS) {
        size_t size = (size_t)ARENA_SLOTS * STACK_SLOT;
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            gort_throw("out of memory allocating goroutine stacks (mmap failed)");
        madvise(p, size, MADV_NOHUGEPAGE);
        if (narenas == caparenas)
            arenas = growtable(arenas, &caparenas, sizeof *arenas);
        a = &arenas[narenas++];
        a->base = p;
        a->used = 0;
        a->guarded = guardbudget >= ARENA_SLOTS;
        if (a->guarded)
            guardbudget -= ARENA_SLOTS;
    }
    char *slot = a->base + (size_t)a->used++ * STACK_SLOT;
    if (a->guarded && mprotect(slot, STACK_GUARD, PROT_NONE) != 0)
        gort_throw("mprotect of a stack guard page failed");
    stackhdr *h = (stackhdr *)(slot + STACK_SLOT - sizeof(stackhdr));
#ifdef HAVE_VALGRIND
    h->valgrind_id = VALGRIND_STACK_REGISTER(slot + STACK_GUARD, (char *)h);
#endif
    return h;
}

static bool slot_guarded(char *p)
{
    for (int32_t i = narenas - 1; i >= 0; i--)
        if (p >= arenas[i].base && p < arenas[i].base + (size_t)ARENA_SLOTS * STACK_SLOT)
            return arenas[i].guarded;
    return false;
}

/* Gives gp a stack: a free one from the pool, else a new slot. On g0. */
void stackalloc(g *gp)
{
    lock(&stacklock);
    stackhdr *h = pool;
    if (h)
        pool = h->next;
    else
        h = carve();
    nstackinuse++;
    bool guarded = slot_guarded((char *)h);
    unlock(&stacklock);
    h->next = NULL;
    gp->stack_hi = h;
    gp->stack_lo = (char *)h + sizeof(stackhdr) - STACK_SLOT + STACK_GUARD;
    gp->stack_guarded = guarded;
#ifdef GORT_ASAN_UNPOISON
    /* A dead goroutine never returned from its frames: their redzones are
     * still poisoned. */
    ASAN_UNPOISON_MEMORY_REGION(gp->stack_lo, (char *)gp->stack_hi - (char *)gp->stack_lo);
#endif
}

/* Returns a dead G's stack to the pool. On g0, never on that stack. */
void stackfree(g *gp)
{
    stackhdr *h = gp->stack_hi;
    gp->stack_lo = gp->stack_hi = NULL;
    lock(&stacklock);
    h->next = pool;
    pool = h;
    nstackinuse--;
    unlock(&stacklock);
}

/* For the SIGSEGV handler: is addr in the guard page of gp's stack? */
bool stack_is_guard(g *gp, void *addr)
{
    char *p = addr, *lo = gp->stack_lo;
    return gp->stack_guarded && lo && p >= lo - STACK_GUARD && p < lo;
}

void stackstats(uint64_t *inuse, uint64_t *sys)
{
    lock(&stacklock);
    *inuse = (uint64_t)nstackinuse * STACK_SLOT;
    *sys = (uint64_t)narenas * ARENA_SLOTS * STACK_SLOT + (uint64_t)ngchunks * GCHUNK;
    unlock(&stacklock);
}

/* At runtime_main's end: every stack and G lives in an arena or a chunk,
 * so this frees them all. */
void stackfreeall(void)
{
    for (int32_t i = 0; i < narenas; i++) {
#ifdef HAVE_VALGRIND
        for (int32_t s = 0; s < arenas[i].used; s++) {
            char *top = arenas[i].base + (size_t)(s + 1) * STACK_SLOT;
            VALGRIND_STACK_DEREGISTER(((stackhdr *)(top - sizeof(stackhdr)))->valgrind_id);
        }
#endif
        munmap(arenas[i].base, (size_t)ARENA_SLOTS * STACK_SLOT);
    }
    for (int32_t i = 0; i < ngchunks; i++)
        munmap(gchunks[i], GCHUNK);
    free(arenas);
    free(gchunks);
    stackinit();
}
