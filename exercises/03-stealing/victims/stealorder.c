/*
 * stealorder.c: your victim order for stealwork (exercise victims). Read
 * the README first. This file replaces the stage's src/stealorder.c (Go's
 * randomOrder, which seam.patch moves out of runq.c): see that file in
 * ../../build/stages/03-stealing+victims/tree/src/stealorder.c after a
 * first `make`.
 *
 * What you may use (src/runtime2.h): the fields of randomenum (i, count and
 * pos are read by stealwork; inc, state and perm are yours), MAXGOMAXPROCS.
 * Nothing here may take a lock or allocate: stealwork runs on a thread
 * looking for work, in a loop, and several thieves run it at once.
 */
#include "runtime2.h"

/* As it stands every round visits P 0 again and again: a P whose queue is
 * not P 0's is never stolen from. */

static uint32_t nprocs;

void stealorder_reset(uint32_t count)
{
    nprocs = count;              /* TODO */
}

void stealorder_start(randomenum *e, uint32_t r)
{
    (void)r;                     /* TODO */
    e->i = 0;
    e->count = nprocs;
    e->pos = 0;
}

void randomenum_next(randomenum *e)
{
    e->i++;                      /* TODO */
}
