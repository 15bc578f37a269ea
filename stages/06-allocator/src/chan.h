/*
 * chan.h: the channel type, shared by chan.c and select.c as Go's hchan is
 * shared by chan.go and select.go. Invariants: see chan.c.
 */
#ifndef GORT_CHAN_H
#define GORT_CHAN_H

#include "runtime2.h"

struct hchan {
    mutex     lock;
    uint32_t  qcount;           /* elements in buf;  atomic read by chan_len */
    uint32_t  dataqsiz;         /* capacity */
    uint32_t  elemsize;
    uint32_t  closed;
    uint32_t  sendx, recvx;     /* next slot to send to / receive from */
    waitq     recvq, sendq;
    void     *timer_owner;      /* time_after: the timer feeding this channel */
    void    (*free_owner)(void *);
    char     *buf;
};

/* chan.c, for select.c. All with c->lock held. */
void   chan_enqueue(waitq *q, sudog *sg);
void   chan_unlink(waitq *q, sudog *sg);
sudog *chan_dequeue(waitq *q);
void   chan_unlink_if_queued(waitq *q, sudog *sg);
void   chan_bufput(chan_t *c, const void *ep);
void   chan_bufget(chan_t *c, void *ep);
void  *chanbuf(chan_t *c, uint32_t i);
void   chan_copyelem(chan_t *c, void *dst, const void *src);
/* send/recv complete an operation with a waiting partner sg, then call
 * unlockf(arg) to release the lock(s) held, and wake the partner. */
void   chan_sendto(chan_t *c, sudog *sg, const void *ep, void (*unlockf)(void *), void *arg);
void   chan_recvfrom(chan_t *c, sudog *sg, void *ep, void (*unlockf)(void *), void *arg);

#endif /* GORT_CHAN_H */
