/*
 * gfree.c: the reference solution of exercise gfree (stage 02): a free list
 * of dead Gs per P, in front of the global one (Go's p.gFree with gfget,
 * gfput and gfpurge, src/runtime/proc.go).
 *
 * The problem. Stage 02's free list is global, under sched.lock, so every
 * go() and every goroutine exit takes the scheduler's lock: the very cost
 * local run queues removed from goready. Spawn-heavy programs on several Ps
 * queue for it.
 *
 * The design: each P keeps its own list, touched only by the M holding the
 * P, with no lock. The global list is the overflow and the reserve:
 *   1. gfput pushes on the P's list; when the list reaches GFREE_MAX (64),
 *      GFREE_BATCH (32) Gs move to the global list in ONE lock hold.
 *   2. gfget pops from the P's list; when it is empty, up to GFREE_BATCH Gs
 *      move from the global list in ONE lock hold, then one is popped.
 *      Without a P (go() between entersyscall and exitsyscall, the main
 *      goroutine's creation) it takes from the global list directly.
 *   3. gfpurge (procresize, under sched.lock, world stopped) moves a dying
 *      P's whole list to the global list.
 * So the lock is taken once per 32 operations at most, and a P never
 * hoards more than 63 dead Gs. Go uses the same numbers (64 and 32), and
 * moves until 32 remain; this solution moves exactly a batch of 32.
 *
 * Invariant: every _Gdead G in allgs is on exactly one list (a P's or the
 * global one), and each list's count equals its length.
 */
#include "runtime2.h"

enum { GFREE_MAX = 64, GFREE_BATCH = 32 };

g *gfget(p *pp)
{
    if (pp == NULL) {
        lock(&sched.lock);
        g *gp = sched.gfree;
        if (gp) {
            sched.gfree = gp->schedlink;
            __atomic_store_n(&sched.ngfree, sched.ngfree - 1, __ATOMIC_RELAXED);
            gp->schedlink = NULL;
        }
        unlock(&sched.lock);
        return gp;
    }
    if (pp->gfree == NULL && __atomic_load_n(&sched.ngfree, __ATOMIC_RELAXED) > 0) {
        lock(&sched.lock);
        while (pp->ngfree < GFREE_BATCH && sched.gfree != NULL) {
            g *gp = sched.gfree;
            sched.gfree = gp->schedlink;
            __atomic_store_n(&sched.ngfree, sched.ngfree - 1, __ATOMIC_RELAXED);
            gp->schedlink = pp->gfree;
            pp->gfree = gp;
            pp->ngfree++;
        }
        unlock(&sched.lock);
    }
    g *gp = pp->gfree;
    if (gp) {
        pp->gfree = gp->schedlink;
        pp->ngfree--;
        gp->schedlink = NULL;
    }
    return gp;
}

void gfput(p *pp, g *gp)
{
    if (readgstatus(gp) != _Gdead)
        gort_throw("gfput: bad status (not _Gdead)");
    gp->schedlink = pp->gfree;
    pp->gfree = gp;
    if (++pp->ngfree < GFREE_MAX)
        return;
    /* Unlink a batch first, then splice it in one short lock hold. */
    g *first = pp->gfree, *last = first;
    for (int i = 1; i < GFREE_BATCH; i++)
        last = last->schedlink;
    pp->gfree = last->schedlink;
    pp->ngfree -= GFREE_BATCH;
    lock(&sched.lock);
    last->schedlink = sched.gfree;
    sched.gfree = first;
    __atomic_store_n(&sched.ngfree, sched.ngfree + GFREE_BATCH, __ATOMIC_RELAXED);
    unlock(&sched.lock);
}

void gfpurge(p *pp)
{
    while (pp->gfree) {
        g *gp = pp->gfree;
        pp->gfree = gp->schedlink;
        gp->schedlink = sched.gfree;
        sched.gfree = gp;
        __atomic_store_n(&sched.ngfree, sched.ngfree + 1, __ATOMIC_RELAXED);
    }
    pp->ngfree = 0;
}
