/*
 * runnext.c: your runnextpick (exercise runnext). Read README.md first.
 * This file replaces the stage's src/runnext.c, which seam.patch carves
 * out of proc.c: see it in
 * ../../build/stages/03-stealing+runnext/tree/src/runnext.c after a first
 * `make`.
 *
 * Only pp's M calls runnextpick, from findrunnable, holding pp. What you
 * may use (src/runtime2.h): runqget, runnextget, runqput, runqlen,
 * globrunqputbatch, sched.runqsize (atomic), pp->schedtick,
 * pp->nhandoff (yours).
 */
#include "runtime2.h"

/* As it stands runnext is just one more slot at the back of the queue:
 * first-in first-out, and no G ever inherits a time slice. */
g *runnextpick(m *mp, p *pp, bool *inherit)
{
    (void)mp;
    *inherit = false;
    if (runqlen(pp) > 0) {
        bool ignored;
        g *gp = NULL;
        /* runqget prefers runnext: take it out first, and put it back. */
        g *next = runnextget(pp);
        gp = runqget(pp, &ignored);
        if (next != NULL)
            runqput(pp, next, true);
        if (gp != NULL)
            return gp;
    }
    bool ignored;
    return runqget(pp, &ignored);     /* TODO */
}
