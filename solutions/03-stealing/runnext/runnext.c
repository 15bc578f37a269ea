/*
 * runnext.c: the reference solution of exercise runnext: runnext with
 * time-slice inheritance, bounded by a count of hand-offs instead of a
 * clock.
 *
 * The problem. A G readied by the running G goes into runnext and runs as
 * soon as its readier blocks, inheriting the rest of the slice (execute
 * leaves schedtick alone): a pair passing a value back and forth runs as
 * one G, hot in cache, and the 1-in-61 look at the global queue, which
 * counts schedticks, does not fire for each pass. Unbounded, the pair
 * keeps every other G of its P, and the global queue, waiting for as long
 * as it plays. Go bounds it with the clock: sysmon ends a slice of 10 ms.
 * Stage 03 does that lazily on the coarse clock (runnextexpire), which the
 * fake clock stops, so a replayed run starves, and whose 4 ms resolution
 * makes the bound anything from 6 to 14 ms.
 *
 * The rule here: while another G waits (on pp's ring or the global
 * queue), at most HANDOFFS consecutive picks of one slice may come from
 * runnext. The next one yields: runnext's G goes behind the waiters (the
 * ring's tail if the ring holds any, else the global queue's tail, where
 * Go's preemption would send it) and the next G starts a fresh slice.
 * While nobody waits the pair keeps its slice, however long.
 *
 * The count: pp->nhandoff counts the inherited picks of the slice whose
 * schedtick is pp->slicetick (free since runnextexpire is gone); any new
 * schedtick (a fresh slice, however it started: ring, global queue,
 * steal) starts the count again, and so does a pick while nobody waits.
 * Only pp's M touches either field.
 */
#include "runtime2.h"

#define HANDOFFS 8

static bool others_wait(p *pp)
{
    return runqlen(pp) > 0 || __atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) > 0;
}

g *runnextpick(m *mp, p *pp, bool *inherit)
{
    (void)mp;
    if (pp->slicetick != pp->schedtick) {
        pp->slicetick = pp->schedtick;       /* a new slice */
        pp->nhandoff = 0;
    }
    bool waiting = others_wait(pp);
    if (__atomic_load_n(&pp->runnext, __ATOMIC_RELAXED) != NULL && waiting) {
        if (pp->nhandoff >= HANDOFFS) {
            g *gp = runnextget(pp);
            if (gp != NULL) {                /* NULL: a thief took it */
                if (trace_enabled)
                    trace_instant(mp, "slice end", gp);
                if (runqlen(pp) > 0)
                    runqput(pp, gp, false);  /* behind the local waiters */
                else
                    globrunqputbatch(gp, gp, 1);
            }
        }
    } else {
        pp->nhandoff = 0;                    /* nobody waits: no bound */
    }
    g *gp = runqget(pp, inherit);
    if (gp != NULL && *inherit && waiting)
        pp->nhandoff++;                      /* one more pass while others wait */
    return gp;
}
