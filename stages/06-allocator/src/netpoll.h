/*
 * netpoll.h: the pollDesc, shared by netpoll.c (the state machine, the
 * cache, the deadlines) and net.c (the API). What the scheduler sees of
 * the poller is declared in runtime2.h.
 */
#ifndef GORT_NETPOLL_H
#define GORT_NETPOLL_H

#include "runtime2.h"

/* rg and wg hold one of these, or the G parked waiting (Go's values). */
#define pdNil   ((uintptr_t)0)   /* nobody waits, no readiness noted */
#define pdReady ((uintptr_t)1)   /* an edge came while nobody waited: take it */
#define pdWait  ((uintptr_t)2)   /* a G is about to park (netpollblockcommit) */

/* One per socket the API opened (Go's pollDesc). Type-stable: it comes
 * from pollcache and goes back there, never to free() while the runtime
 * runs, so a stale pointer (an epoll event, a timer) always points at a
 * pollDesc, and fdseq says whether it is still the same socket's. */
struct pollDesc {
    pollDesc   *link;           /* pollcache's free list; under its lock */
    int         fd;             /* set at alloc, read-only until free */

    /* atomic, seq_cst: Go's rg/wg state machine (netpoll.c). */
    uintptr_t   rg, wg;
    uint32_t    closing;        /* net_close began: every wait ends in EBADF */
    int64_t     deadline;       /* 0 none, > 0 when (time_now()), -1 passed */
    uint32_t    fdseq;          /* bumped at every free: tags epoll events */

    mutex       lock;           /* guards refs; held across the deadline's
                                   modtimer (order: pd.lock -> p.timerslock) */
    int32_t     refs;           /* API calls using fd now (Go's fdMutex count) */
    bool        orphan;         /* fd was closed behind the API's back and the
                                   number reused: the last reference must not
                                   close it (net.c: fdregister); pd.lock */
    timer       dt;             /* the deadline timer: netpolldeadline */

    /* One reader (read, accept) and one writer (write, connect) at a
     * time, as Go's fdMutex: a second one parks here until the first is
     * done. */
    sync_mutex  rmu, wmu;
};

pollDesc *pdalloc(int fd);       /* fresh state, refs == 1 */
void      pdfree(pollDesc *pd);  /* back to the cache, fdseq++ */

int   netpollcheckerr(pollDesc *pd, int mode);   /* 0, EBADF or ETIMEDOUT */
void  netpollreset(pollDesc *pd, int mode);      /* forget a stale pdReady */
int   netpollwait(pollDesc *pd, int mode);       /* park until ready: 0 or an errno */
g    *netpollunblock(pollDesc *pd, int mode, bool ioready);
void  netpollsetdeadline(pollDesc *pd, int64_t d);   /* pd.lock held */
void  netpollevict(pollDesc *pd);                    /* net_close: wake everyone */
void  netpollgenericinit(void);
void  netpollfini_os(void);
void  netpollinit(void);
int   netpollopen(int fd, pollDesc *pd, uint32_t seq);
void  netpollclose(int fd);
void  netclosefds(void);         /* net.c: runtime exit closes what is left */

#endif
