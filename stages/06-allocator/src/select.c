/*
 * select.c: select over several channel operations (mirrors Go's
 * src/runtime/select.go: selectgo).
 *
 * chan_select(cases, n, block):
 *   1. Poll order: a random permutation of the cases (Fisher-Yates), so
 *      that when several are ready each is chosen with equal chance and no
 *      case can starve the others. Cases on a NULL channel are left out:
 *      they never fire.
 *   2. Lock order: the cases sorted by channel address. Every select locks
 *      its channels in this one global order, so two selects on the same
 *      channels cannot deadlock; a channel named twice is locked once.
 *   3. Pass 1, all channels locked: in poll order, the first case that can
 *      proceed now (a waiting partner, buffer room or data, a closed
 *      channel) is done; unlock all and return its index.
 *   4. No case ready: return -1 if not blocking. Otherwise enqueue one
 *      sudog per case on every channel (pass 2) and gopark; selparkcommit
 *      unlocks all the channels once the G is parked.
 *   5. Woken: the waker won gp->selectdone, did the operation and left
 *      its sudog in gp->param. Lock all again and take every other sudog
 *      off its queue (pass 3); return the winning case.
 *
 * Invariant: a G parked in select has exactly one sudog on the queue of
 * each non-NULL case, until the first channel that completes a case sets
 * selectdone; later dequeues skip (and drop) its other sudogs.
 */
#include "chan.h"

#include <stdlib.h>
#include <string.h>

typedef struct selstate {
    select_case *cases;
    uint16_t    *lockorder;
    int          nlock;          /* cases with a channel */
} selstate;

static void sellock(selstate *s)
{
    chan_t *prev = NULL;
    for (int i = 0; i < s->nlock; i++) {
        chan_t *c = s->cases[s->lockorder[i]].c;
        if (c != prev)
            lock(&c->lock);
        prev = c;
    }
}

static void selunlock(void *arg)
{
    selstate *s = arg;
    for (int i = s->nlock - 1; i >= 0; i--) {
        chan_t *c = s->cases[s->lockorder[i]].c;
        if (i > 0 && c == s->cases[s->lockorder[i - 1]].c)
            continue;   /* locked once, unlocked once */
        unlock(&c->lock);
    }
}

static bool selparkcommit(g *gp, void *arg)
{
    (void)gp;
    selunlock(arg);
    return true;
}

enum { SELECT_STACK_CASES = 16 };

int chan_select(select_case *cases, int ncases, bool block)
{
    if (ncases < 0 || ncases > 65535)
        gort_panic("select: bad number of cases");
    for (int i = 0; i < ncases; i++)
        if (cases[i].dir != SELECT_RECV && cases[i].dir != SELECT_SEND)
            gort_panic("select: case direction is neither SELECT_RECV nor SELECT_SEND");
    if (block)
        mustbeinruntime("chan_select()");

    uint16_t order_small[2 * SELECT_STACK_CASES];
    sudog sg_small[SELECT_STACK_CASES];
    uint16_t *order = order_small;
    sudog *sgs = sg_small;
    if (ncases > SELECT_STACK_CASES) {
        order = malloc(2 * (size_t)ncases * sizeof *order);
        sgs = malloc((size_t)ncases * sizeof *sgs);
        if (order == NULL || sgs == NULL)
            gort_throw("out of memory in chan_select");
    }
    uint16_t *pollorder = order, *lockorder = order + ncases;

    /* 1. Random poll order over the cases that have a channel. */
    int n = 0;
    for (int i = 0; i < ncases; i++) {
        if (cases[i].c == NULL)
            continue;
        int j = (int)fastrandn((uint32_t)n + 1);
        pollorder[n] = pollorder[j];
        pollorder[j] = (uint16_t)i;
        n++;
    }
    /* 2. Lock order: by channel address (insertion sort; n is small). */
    for (int i = 0; i < n; i++) {
        uint16_t k = pollorder[i];
        int j = i;
        while (j > 0 && (uintptr_t)cases[lockorder[j - 1]].c > (uintptr_t)cases[k].c) {
            lockorder[j] = lockorder[j - 1];
            j--;
        }
        lockorder[j] = k;
    }
    selstate st = { cases, lockorder, n };
    int chosen = -1;

    if (n == 0) {
        if (!block)
            goto out;
        gopark(NULL, NULL, ncases == 0 ? "select (no cases)" : "select");
        gort_throw("unreachable: woke from an empty select");
    }

    sellock(&st);
    /* 3. Pass 1: is any case ready? */
    for (int k = 0; k < n; k++) {
        int i = pollorder[k];
        select_case *cas = &cases[i];
        chan_t *c = cas->c;
        if (cas->dir == SELECT_RECV) {
            sudog *sg = chan_dequeue(&c->sendq);
            if (sg) {
                chan_recvfrom(c, sg, cas->elem, selunlock, &st);
                cas->ok = true;
            } else if (c->qcount > 0) {
                chan_bufget(c, cas->elem);
                selunlock(&st);
                cas->ok = true;
            } else if (c->closed) {
                selunlock(&st);
                chan_copyelem(c, cas->elem, NULL);
                cas->ok = false;
            } else {
                continue;
            }
        } else {
            if (c->closed) {
                selunlock(&st);
                gort_panic("send on closed channel");
            }
            sudog *sg = chan_dequeue(&c->recvq);
            if (sg) {
                chan_sendto(c, sg, cas->elem, selunlock, &st);
            } else if (c->qcount < c->dataqsiz) {
                chan_bufput(c, cas->elem);
                selunlock(&st);
            } else {
                continue;
            }
        }
        chosen = i;
        goto out;
    }
    if (!block) {
        selunlock(&st);
        goto out;
    }

    /* 4. Pass 2: wait on every case at once. */
    g *gp = getg();
    __atomic_store_n(&gp->selectdone, 0, __ATOMIC_RELAXED);
    gp->param = NULL;
    for (int k = 0; k < n; k++) {
        int i = lockorder[k];
        sudog *sg = &sgs[i];
        memset(sg, 0, sizeof *sg);
        sg->g = gp;
        sg->isselect = true;
        sg->elem = cases[i].elem;
        sg->c = cases[i].c;
        sg->caseidx = i;
        chan_enqueue(cases[i].dir == SELECT_SEND ? &sg->c->sendq : &sg->c->recvq, sg);
    }
    gopark(selparkcommit, &st, "select");

    /* 5. Pass 3: the winner is in gp->param; withdraw the rest. */
    sellock(&st);
    sudog *won = gp->param;
    gp->param = NULL;
    if (won == NULL)
        gort_throw("select: woken without a winning case");
    for (int k = 0; k < n; k++) {
        int i = lockorder[k];
        sudog *sg = &sgs[i];
        if (sg == won)
            continue;
        chan_unlink_if_queued(cases[i].dir == SELECT_SEND ? &sg->c->sendq : &sg->c->recvq, sg);
    }
    chosen = won->caseidx;
    bool success = won->success;
    selunlock(&st);
    if (cases[chosen].dir == SELECT_SEND) {
        if (!success)
            gort_panic("send on closed channel");
    } else {
        cases[chosen].ok = success;
    }

out:
    if (order != order_small) {
        free(order);
        free(sgs);
    }
    return chosen;
}
