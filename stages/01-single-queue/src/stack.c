/*
 * stack.c: goroutine stacks (mirrors the role of Go's src/runtime/stack.go).
 *
 * Go grows stacks by copying, starting at 2 KiB, because its compiler
 * checks the stack bound in every function prologue. C code has no such
 * check, so gort gives every goroutine a fixed stack big enough for normal
 * C (64 KiB usable, the API's promise) and lets the kernel's lazy paging do
 * what copying does for Go: a parked goroutine that touched 1 KiB of its
 * stack costs one 4 KiB page of memory, not 64 KiB.
 *
 * Layout. Stacks are carved from arenas, each one mmap of ARENA_SLOTS
 * slots. A slot, from low to high addresses:
 *
 *     [ guard page | stack, 64 KiB + ... | struct g ]
 *     ^ slot base                        ^ stack_hi  ^ slot base + STACK_SLOT
 *
 * The G lives at the top of its own stack slot, in the same page as the
 * stack's first frames: a parked goroutine's descriptor and its live frames
 * share one resident page. The G and its stack are born together, die
 * together (gfput keeps both on the free list) and are unmapped only when
 * runtime_main returns, as Go never frees a G either.
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
 * stack that overflows lands in the unused guard page below it first and
 * is caught in software, by the stack-pointer check every switch-out makes
 * (proc.c: mcall); a deeper overflow can corrupt the neighbouring stack
 * before that check runs. The stage README discusses the trade-off.
 *
 * Arenas are mapped MAP_NORESERVE (a million stacks reserve 70 GiB of
 * address space, not of memory) and MADV_NOHUGEPAGE (a transparent huge
 * page would make one touched stack page cost 2 MiB).
 *
 * Invariants, under stacklock:
 *   used <= nslots for every arena; only the last arena has used < nslots;
 *   guarded slots in use <= guardbudget.
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND 1
#endif
#endif

#define PAGE        4096
#define STACK_GUARD PAGE
#define STACK_SLOT  (72 << 10)    /* guard + >= 64 KiB of stack + struct g */
#define ARENA_SLOTS 256           /* 18 MiB of address space per arena */

typedef struct arena {
    char   *base;
    int32_t used;                 /* slots handed out */
    bool    guarded;
} arena;

static mutex   stacklock;
static arena  *arenas;            /* guarded by stacklock */
static int32_t narenas, caparenas;
static int64_t guardbudget;       /* guarded slots still allowed */

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
    guardbudget = read_max_map_count() / 4;
}

static arena *newarena(void)
{
    size_t size = (size_t)ARENA_SLOTS * STACK_SLOT;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        gort_throw("out of memory allocating goroutine stacks (mmap failed)");
    madvise(p, size, MADV_NOHUGEPAGE);
    if (narenas == caparenas) {
        caparenas = caparenas ? 2 * caparenas : 16;
        arena *na = realloc(arenas, (size_t)caparenas * sizeof *arenas);
        if (na == NULL)
            gort_throw("out of memory growing the stack arena table");
        arenas = na;
    }
    arena *a = &arenas[narenas++];
    a->base = p;
    a->used = 0;
    a->guarded = guardbudget >= ARENA_SLOTS;
    if (a->guarded)
        guardbudget -= ARENA_SLOTS;
    return a;
}

/* Returns a zeroed G at the top of a fresh stack slot. */
g *stackalloc_g(void)
{
    lock(&stacklock);
    arena *a = narenas ? &arenas[narenas - 1] : NULL;
    if (a == NULL || a->used == ARENA_SLOTS)
        a = newarena();
    char *slot = a->base + (size_t)a->used++ * STACK_SLOT;
    bool guarded = a->guarded;
    unlock(&stacklock);

    if (guarded && mprotect(slot, STACK_GUARD, PROT_NONE) != 0)
        gort_throw("mprotect of a stack guard page failed");

    uintptr_t top = (uintptr_t)slot + STACK_SLOT;
    g *gp = (g *)((top - sizeof(g)) & ~(uintptr_t)63);
    memset(gp, 0, sizeof *gp);
    gp->stack_lo = slot + STACK_GUARD;
    gp->stack_hi = (void *)((uintptr_t)gp & ~(uintptr_t)15);
    gp->stack_guarded = guarded;
#ifdef HAVE_VALGRIND
    gp->valgrind_stack_id = VALGRIND_STACK_REGISTER(gp->stack_lo, gp->stack_hi);
#endif
    return gp;
}

/* For the SIGSEGV handler: is addr in a guard page, and whose? Runs in a
 * signal handler on a dying thread, so it takes no lock. */
bool stack_is_guard(void *addr, g **owner)
{
    char *p = addr;
    for (int32_t i = 0; i < narenas; i++) {
        arena *a = &arenas[i];
        if (p < a->base || p >= a->base + (size_t)ARENA_SLOTS * STACK_SLOT)
            continue;
        size_t off = (size_t)(p - a->base);
        size_t slotidx = off / STACK_SLOT;
        if (!a->guarded || off % STACK_SLOT >= STACK_GUARD || (int32_t)slotidx >= a->used)
            return false;
        uintptr_t top = (uintptr_t)a->base + (slotidx + 1) * STACK_SLOT;
        *owner = (g *)((top - sizeof(g)) & ~(uintptr_t)63);
        return true;
    }
    return false;
}

void stackstats(uint64_t *inuse, uint64_t *sys)
{
    lock(&stacklock);
    uint64_t slots = 0;
    for (int32_t i = 0; i < narenas; i++)
        slots += (uint64_t)arenas[i].used;
    *inuse = slots * STACK_SLOT;
    *sys = (uint64_t)narenas * ARENA_SLOTS * STACK_SLOT;
    unlock(&stacklock);
}

/* At runtime_main's end: every G lives in an arena, so this frees them all. */
void stackfreeall(void)
{
    for (int32_t i = 0; i < narenas; i++) {
#ifdef HAVE_VALGRIND
        for (int32_t s = 0; s < arenas[i].used; s++) {
            uintptr_t top = (uintptr_t)arenas[i].base + (size_t)(s + 1) * STACK_SLOT;
            g *gp = (g *)((top - sizeof(g)) & ~(uintptr_t)63);
            VALGRIND_STACK_DEREGISTER(gp->valgrind_stack_id);
        }
#endif
        munmap(arenas[i].base, (size_t)ARENA_SLOTS * STACK_SLOT);
    }
    free(arenas);
    arenas = NULL;
    narenas = caparenas = 0;
}
