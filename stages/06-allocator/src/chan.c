/*
 * chan.c: channels (mirrors Go's src/runtime/chan.go).
 *
 * A channel is a ring buffer of `dataqsiz` elements plus two wait queues
 * of sudogs: goroutines blocked sending (sendq) and receiving (recvq), all
 * under the channel's lock.
 *
 * Send, in order (Go's chansend):
 *   1. closed             -> panic: send on closed channel
 *   2. a receiver waits   -> copy the value straight into the receiver's
 *                            variable and goready it: the buffer is skipped
 *   3. room in the buffer -> copy into buf[sendx]
 *   4. otherwise          -> queue a sudog on sendq and gopark
 * Receive mirrors it (Go's chanrecv):
 *   1. a sender waits     -> unbuffered: copy from the sender directly;
 *                            buffered (so the buffer is full): take the
 *                            head and put the sender's value at the tail
 *   2. buffer not empty   -> copy from buf[recvx]
 *   3. closed             -> zero value, ok = false
 *   4. otherwise          -> queue on recvq and gopark
 * close wakes every waiter: receivers get the zero value and ok = false;
 * senders wake with success = false and panic.
 *
 * Invariants, under c->lock:
 *   qcount <= dataqsiz;
 *   sendq non-empty => buffer full (qcount == dataqsiz);
 *   recvq non-empty => buffer empty (qcount == 0);
 *   closed => sendq empty.
 *
 * A sudog lives on its goroutine's stack (gort stacks never move). A
 * select enqueues one sudog per case on many channels; the first channel
 * operation to win sg->g->selectdone completes it, and the others skip
 * that sudog when they dequeue (see dequeue and select.c).
 */
#include "chan.h"

#include <stdlib.h>
#include <string.h>

void *chanbuf(chan_t *c, uint32_t i)
{
    return c->buf + (size_t)i * c->elemsize;
}

chan_t *chan_make(size_t elem_size, size_t cap)
{
    if (elem_size > (1 << 16))
        gort_panic("makechan: invalid channel element type");
    if (cap > (1u << 30) || (elem_size && cap > ((size_t)1 << 40) / elem_size))
        gort_panic("makechan: size out of range");
    chan_t *c = calloc(1, sizeof *c + elem_size * cap);
    if (c == NULL)
        gort_throw("out of memory in chan_make");
    c->elemsize = (uint32_t)elem_size;
    c->dataqsiz = (uint32_t)cap;
    c->buf = (char *)(c + 1);
    return c;
}

void chan_attach_timer(chan_t *c, void *owner, void (*free_owner)(void *))
{
    c->timer_owner = owner;
    c->free_owner = free_owner;
}

void chan_free(chan_t *c)
{
    if (c == NULL)
        return;
    if (c->free_owner)
        c->free_owner(c->timer_owner);   /* stops a time_after timer first */
    free(c);
}

/* ---- wait queues ------------------------------------------------------- */

void chan_enqueue(waitq *q, sudog *sg)
{
    sg->next = NULL;
    sg->prev = q->last;
    if (q->last)
        q->last->next = sg;
    else
        q->first = sg;
    q->last = sg;
}

void chan_unlink(waitq *q, sudog *sg)
{
    if (sg->prev)
        sg->prev->next = sg->next;
    else
        q->first = sg->next;
    if (sg->next)
        sg->next->prev = sg->prev;
    else
        q->last = sg->prev;
    sg->next = sg->prev = NULL;
}

/* Removes sg from q if it is still queued (a select's losing case: a
 * dequeue may already have dropped it). Go's dequeueSudoG. */
void chan_unlink_if_queued(waitq *q, sudog *sg)
{
    if (sg->prev == NULL && sg->next == NULL && q->first != sg)
        return;
    chan_unlink(q, sg);
}

/* First waiter that can still be woken: a select's sudog whose goroutine
 * another channel already won is skipped (Go's waitq.dequeue). */
sudog *chan_dequeue(waitq *q)
{
    for (sudog *sg = q->first; sg; sg = q->first) {
        chan_unlink(q, sg);
        if (sg->isselect) {
            uint32_t expected = 0;
            if (!__atomic_compare_exchange_n(&sg->g->selectdone, &expected, 1, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue;
        }
        return sg;
    }
    return NULL;
}

void chan_copyelem(chan_t *c, void *dst, const void *src)
{
    if (c->elemsize == 0)
        return;
    if (dst == NULL)
        return;
    if (src)
        memcpy(dst, src, c->elemsize);
    else
        memset(dst, 0, c->elemsize);
}

/* The buffer's two ends, with c->lock held and room (or data) checked. */
void chan_bufput(chan_t *c, const void *ep)
{
    chan_copyelem(c, chanbuf(c, c->sendx), ep);
    if (++c->sendx == c->dataqsiz)
        c->sendx = 0;
    __atomic_store_n(&c->qcount, c->qcount + 1, __ATOMIC_RELAXED);
}

void chan_bufget(chan_t *c, void *ep)
{
    void *qp = chanbuf(c, c->recvx);
    chan_copyelem(c, ep, qp);
    chan_copyelem(c, qp, NULL);
    if (++c->recvx == c->dataqsiz)
        c->recvx = 0;
    __atomic_store_n(&c->qcount, c->qcount - 1, __ATOMIC_RELAXED);
}

/* ---- send --------------------------------------------------------------- */

static void unlockchan(void *c) { unlock(&((chan_t *)c)->lock); }

/* Hands ep to waiting receiver sg, releases the lock(s) through
 * unlockf(arg) and wakes the receiver (Go's send). */
void chan_sendto(chan_t *c, sudog *sg, const void *ep, void (*unlockf)(void *), void *arg)
{
    chan_copyelem(c, sg->elem, ep);
    sg->success = true;
    g *gp = sg->g;
    gp->param = sg;
    unlockf(arg);
    goready(gp);
}

static bool chansend(chan_t *c, const void *ep, bool block)
{
    if (c == NULL) {
        if (!block)
            return false;
        gopark(NULL, NULL, "chan send (nil chan)");
        gort_throw("unreachable: woke from nil channel send");
    }
    lock(&c->lock);
    if (c->closed) {
        unlock(&c->lock);
        gort_panic("send on closed channel");
    }
    sudog *sg = chan_dequeue(&c->recvq);
    if (sg) {
        chan_sendto(c, sg, ep, unlockchan, c);
        return true;
    }
    if (c->qcount < c->dataqsiz) {
        chan_bufput(c, ep);
        unlock(&c->lock);
        return true;
    }
    if (!block) {
        unlock(&c->lock);
        return false;
    }
    /* Block: our sudog waits on this stack frame until a receiver or
     * close takes it off the queue. */
    g *gp = getg();
    sudog mysg = { .g = gp, .elem = (void *)ep, .c = c };
    chan_enqueue(&c->sendq, &mysg);
    gopark(parkunlock_c, &c->lock, "chan send");
    if (!mysg.success)
        gort_panic("send on closed channel");
    return true;
}

void chan_send(chan_t *c, const void *elem)
{
    mustbeinruntime("chan_send()");
    chansend(c, elem, true);
}

bool chan_try_send(chan_t *c, const void *elem)
{
    return chansend(c, elem, false);
}

/* ---- receive ---------------------------------------------------------- */

/* Takes a value from waiting sender sg, releases the lock(s) and wakes
 * the sender (Go's recv). */
void chan_recvfrom(chan_t *c, sudog *sg, void *ep, void (*unlockf)(void *), void *arg)
{
    if (c->dataqsiz == 0) {
        chan_copyelem(c, ep, sg->elem);
    } else {
        /* The buffer is full: take its head, and put the sender's value in
         * the freed slot, which is now the tail. */
        void *qp = chanbuf(c, c->recvx);
        chan_copyelem(c, ep, qp);
        chan_copyelem(c, qp, sg->elem);
        if (++c->recvx == c->dataqsiz)
            c->recvx = 0;
        c->sendx = c->recvx;
    }
    sg->success = true;
    g *gp = sg->g;
    gp->param = sg;
    unlockf(arg);
    goready(gp);
}

/* Returns whether a receive happened; *received is false for a closed,
 * drained channel (Go's chanrecv's selected, received). */
static bool chanrecv(chan_t *c, void *ep, bool block, bool *received)
{
    *received = false;
    if (c == NULL) {
        if (!block)
            return false;
        gopark(NULL, NULL, "chan receive (nil chan)");
        gort_throw("unreachable: woke from nil channel receive");
    }
    lock(&c->lock);
    sudog *sg = chan_dequeue(&c->sendq);
    if (sg) {
        chan_recvfrom(c, sg, ep, unlockchan, c);
        *received = true;
        return true;
    }
    if (c->qcount > 0) {
        chan_bufget(c, ep);
        unlock(&c->lock);
        *received = true;
        return true;
    }
    if (c->closed) {
        unlock(&c->lock);
        chan_copyelem(c, ep, NULL);
        return true;
    }
    if (!block) {
        unlock(&c->lock);
        return false;
    }
    g *gp = getg();
    sudog mysg = { .g = gp, .elem = ep, .c = c };
    chan_enqueue(&c->recvq, &mysg);
    gopark(parkunlock_c, &c->lock, "chan receive");
    /* Woken by a sender (success: it already copied the value into ep) or
     * by close (ep zeroed by closechan). */
    *received = mysg.success;
    return true;
}

bool chan_recv(chan_t *c, void *elem)
{
    mustbeinruntime("chan_recv()");
    bool received;
    chanrecv(c, elem, true, &received);
    return received;
}

bool chan_try_recv(chan_t *c, void *elem, bool *ok)
{
    bool received;
    bool fired = chanrecv(c, elem, false, &received);
    if (ok)
        *ok = fired && received;
    return fired;
}

/* ---- close -------------------------------------------------------------- */

void chan_close(chan_t *c)
{
    if (c == NULL)
        gort_panic("close of nil channel");
    lock(&c->lock);
    if (c->closed) {
        unlock(&c->lock);
        gort_panic("close of closed channel");
    }
    c->closed = 1;

    /* Collect every waiter, then wake them after unlocking (Go's glist). */
    g *list = NULL;
    sudog *sg;
    while ((sg = chan_dequeue(&c->recvq)) != NULL) {
        chan_copyelem(c, sg->elem, NULL);
        sg->success = false;
        sg->g->param = sg;
        sg->g->schedlink = list;
        list = sg->g;
    }
    while ((sg = chan_dequeue(&c->sendq)) != NULL) {
        sg->success = false;
        sg->g->param = sg;
        sg->g->schedlink = list;
        list = sg->g;
    }
    unlock(&c->lock);
    while (list) {
        g *gp = list;
        list = gp->schedlink;
        gp->schedlink = NULL;
        goready(gp);
    }
}

/* ---- queries and the helpers select.c needs ---------------------------- */

size_t chan_len(chan_t *c)
{
    return c ? __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) : 0;
}

size_t chan_cap(chan_t *c)
{
    return c ? c->dataqsiz : 0;
}
