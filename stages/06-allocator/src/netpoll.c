/*
 * netpoll.c: the network poller's portable half (mirrors Go's
 * src/runtime/netpoll.go): the pollDesc state machine, the pollDesc
 * cache, deadlines as timers, and the counts the scheduler asks for.
 *
 * The state machine. Each direction of a pollDesc has one word, rg for
 * reading (and accepting), wg for writing (and connecting):
 *
 *                 netpollblock: CAS            netpollblockcommit (on g0,
 *        +------> pdNil ---------------> pdWait ---------------------> G
 *        |          ^  \                    |      after gopark saved     |
 *        |          |   \ netpollunblock    | unblock(ioready=false):     |
 *        | block:   |    \ (ioready): an    | close, deadline: commit     | unblock: an edge,
 *        | consume  |     \ edge nobody     | fails, the park is aborted  | a close, a deadline:
 *        | (CAS)    |      v waits for      v                             | CAS G -> pdReady
 *        +------- pdReady <--------------- (pdNil)                        | (or pdNil), goready G
 *                   ^                                                     |
 *                   +-----------------------------------------------------+
 *
 * Every change is one CAS (or exchange) on the word, so exactly one side
 * wins each race: an edge that comes while nobody waits is kept
 * (pdReady) and taken by the next netpollblock without parking; an edge,
 * a close and a deadline that come together wake the parked G once, and
 * whoever loses the CAS sees the new state and wakes nobody. A waiter
 * finds out why it woke from the pollDesc (netpollcheckerr: closing,
 * deadline), never from the word, which holds at most pdReady.
 *
 * Ordering. The word's CASes and the loads of `closing` and `deadline`
 * are seq_cst: net_close stores closing then unblocks; netpollblock
 * stores pdWait then checks closing. One of the two sees the other, so a
 * close never slips between a waiter's check and its park.
 *
 * fd reuse. The kernel hands a closed descriptor's number to the next
 * socket. net.c keeps a descriptor open (and its number taken) for as
 * long as an API call uses it (pollDesc.refs, Go's fdMutex), so the
 * number cannot come back while a call might still issue a system call
 * on it; the last call out closes it (pdfree). A pollDesc is freed only
 * into the cache, with fdseq incremented: an epoll event harvested before
 * the close carries the old fdseq, and netpoll drops it. A deadline
 * timer is stopped (deltimer: after it returns the callback is not
 * running and will not run) before the pollDesc is freed, and
 * netpolldeadline acts only on a deadline that is still set and due.
 *
 * Deadlines are timers (Go's netpolldeadlineimpl): the callback runs on
 * g0 under its P's timerslock, marks the deadline passed (-1) with a CAS and
 * unblocks both directions; a waiter wakes, sees -1, returns ETIMEDOUT.
 * Moving a deadline is modtimer under pd.lock (lock order: pd.lock ->
 * p.timerslock); the callback takes no pollDesc lock, only the CAS, so a
 * deadline moved just as the old timer fires either wins (the CAS fails)
 * or finds the waiter woken, which looks again and waits for the new one.
 *
 * Lock order: the fd table's lock -> pd.lock -> p.timerslock -> ...
 * (runtime2.h). Nothing here is held across a park.
 */
#define _GNU_SOURCE
#include "netpoll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct {
    mutex      lock;            /* guards init, the cache and the blocks */
    bool       inited;          /* atomic for netpollinited() */
    pollDesc  *free;            /* the cache's free list */
    void     **blocks;          /* every block allocated, freed at exit */
    int32_t    nblocks, capblocks;
    int32_t    waiters;         /* atomic: Gs parked in netpollblock */
    uint64_t   nwaits;          /* atomic: /gort/netpoll/waits:events */
    uint64_t   nready;          /* atomic: /gort/netpoll/ready:events */
} np;

#define PDBLOCK 64              /* pollDescs per cache block */

bool netpollinited(void) { return __atomic_load_n(&np.inited, __ATOMIC_ACQUIRE); }
int32_t netpollwaiters(void) { return __atomic_load_n(&np.waiters, __ATOMIC_SEQ_CST); }
uint32_t netpollfdseq(pollDesc *pd) { return __atomic_load_n(&pd->fdseq, __ATOMIC_ACQUIRE); }

void netpollstats(uint64_t *waits, uint64_t *ready)
{
    *waits = __atomic_load_n(&np.nwaits, __ATOMIC_RELAXED);
    *ready = __atomic_load_n(&np.nready, __ATOMIC_RELAXED);
}

/* The first socket makes the epoll instance (Go's netpollGenericInit). */
void netpollgenericinit(void)
{
    if (netpollinited())
        return;
    lock(&np.lock);
    if (!np.inited) {
        netpollinit();
        __atomic_store_n(&np.inited, true, __ATOMIC_RELEASE);
    }
    unlock(&np.lock);
}

/* runtime_main's end, every M joined: close what the program left open,
 * then the poller, and free the cache (valgrind sees nothing lost). */
void netpollfini(void)
{
    if (!netpollinited())
        return;
    netclosefds();
    netpollfini_os();
    for (int32_t i = 0; i < np.nblocks; i++)
        free(np.blocks[i]);
    free(np.blocks);
    memset(&np, 0, sizeof np);
}

/* ---- the cache (Go's pollCache) ---------------------------------------- */

static void netpolldeadline(void *arg, int64_t now);

pollDesc *pdalloc(int fd)
{
    lock(&np.lock);
    if (np.free == NULL) {
        pollDesc *b = calloc(PDBLOCK, sizeof *b);
        if (b == NULL || (np.nblocks == np.capblocks &&
                          !(np.capblocks = np.capblocks ? 2 * np.capblocks : 16,
                            np.blocks = realloc(np.blocks, (size_t)np.capblocks * sizeof *np.blocks))))
            gort_throw("out of memory allocating pollDescs");
        np.blocks[np.nblocks++] = b;
        for (int i = 0; i < PDBLOCK; i++) {
            b[i].link = np.free;
            np.free = &b[i];
        }
    }
    pollDesc *pd = np.free;
    np.free = pd->link;
    unlock(&np.lock);
    pd->link = NULL;
    pd->fd = fd;
    __atomic_store_n(&pd->rg, pdNil, __ATOMIC_SEQ_CST);
    __atomic_store_n(&pd->wg, pdNil, __ATOMIC_SEQ_CST);
    __atomic_store_n(&pd->closing, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&pd->deadline, 0, __ATOMIC_SEQ_CST);
    pd->refs = 1;
    pd->orphan = false;
    pd->dt.idx = -1;
    pd->dt.f = netpolldeadline;
    pd->dt.arg = pd;
    pd->dt.period = 0;
    pd->rmu = (sync_mutex)SYNC_MUTEX_INIT;
    pd->wmu = (sync_mutex)SYNC_MUTEX_INIT;
    return pd;
}

/* The descriptor is closed, no call uses it, its timer is stopped. */
void pdfree(pollDesc *pd)
{
    __atomic_add_fetch(&pd->fdseq, 1, __ATOMIC_RELEASE);
    lock(&np.lock);
    pd->link = np.free;
    np.free = pd;
    unlock(&np.lock);
}

/* ---- the state machine --------------------------------------------------- */

static uintptr_t *pdword(pollDesc *pd, int mode)
{
    return mode == 'r' ? &pd->rg : &pd->wg;
}

/* Why a wait must end: EBADF once closing, ETIMEDOUT once the deadline
 * passed, else 0 (Go's netpollcheckerr). */
int netpollcheckerr(pollDesc *pd, int mode)
{
    (void)mode;
    if (__atomic_load_n(&pd->closing, __ATOMIC_SEQ_CST))
        return EBADF;
    if (__atomic_load_n(&pd->deadline, __ATOMIC_SEQ_CST) < 0)
        return ETIMEDOUT;
    return 0;
}

/* Before a system call that will be retried after a wait: an old edge
 * says nothing about the state after this call (Go's pollReset). */
void netpollreset(pollDesc *pd, int mode)
{
    __atomic_store_n(pdword(pd, mode), pdNil, __ATOMIC_SEQ_CST);
}

/* gopark's unlockf, on g0: the G is parked only if nobody ended the wait
 * meanwhile (Go's netpollblockcommit). */
static bool netpollblockcommit(g *gp, void *arg)
{
    uintptr_t want = pdWait;
    bool ok = __atomic_compare_exchange_n((uintptr_t *)arg, &want, (uintptr_t)gp, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    if (ok) {
        __atomic_add_fetch(&np.waiters, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&np.nwaits, 1, __ATOMIC_RELAXED);
        m *mp = getm();
        if (trace_enabled && mp)
            trace_instant(mp, "netpoll-wait", gp);
    }
    return ok;
}

/* Waits for an edge on pd in mode: true if it came (IO is ready), false
 * if the wait ended for another reason (close, deadline) or for none
 * (the caller looks at netpollcheckerr and tries again). Go's
 * netpollblock with waitio == false. */
static bool netpollblock(pollDesc *pd, int mode)
{
    uintptr_t *gpp = pdword(pd, mode);
    for (;;) {
        uintptr_t old = pdReady;
        if (__atomic_compare_exchange_n(gpp, &old, pdNil, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return true;                 /* an edge was waiting */
        old = pdNil;
        if (__atomic_compare_exchange_n(gpp, &old, pdWait, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            break;
        if (old != pdReady && old != pdNil)
            gort_throw("netpollblock: double wait");
    }
    /* After pdWait is stored: a close or deadline before it is seen here,
     * one after it finds pdWait and makes the commit fail. */
    if (netpollcheckerr(pd, mode) == 0)
        gopark(netpollblockcommit, gpp, "IO wait");
    uintptr_t old = __atomic_exchange_n(gpp, pdNil, __ATOMIC_SEQ_CST);
    if (old > pdWait)
        gort_throw("netpollblock: corrupted state");
    return old == pdReady;
}

/* Ends a wait in mode: returns the G to ready, or NULL. ioready: an edge
 * (kept as pdReady when nobody waits); else a close or a deadline, which
 * leaves no trace in the word (Go's netpollunblock). */
g *netpollunblock(pollDesc *pd, int mode, bool ioready)
{
    uintptr_t *gpp = pdword(pd, mode);
    for (;;) {
        uintptr_t old = __atomic_load_n(gpp, __ATOMIC_SEQ_CST);
        if (old == pdReady)
            return NULL;
        if (old == pdNil && !ioready)
            return NULL;                 /* nobody waits, nothing to note */
        uintptr_t new = ioready ? pdReady : pdNil;
        if (__atomic_compare_exchange_n(gpp, &old, new, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            if (old == pdWait || old == pdNil)
                return NULL;             /* pdWait: the commit will fail */
            __atomic_sub_fetch(&np.waiters, 1, __ATOMIC_SEQ_CST);
            return (g *)old;
        }
    }
}

/* Parks until pd is ready in mode: 0, or why not (Go's poll_runtime_pollWait). */
int netpollwait(pollDesc *pd, int mode)
{
    int err = netpollcheckerr(pd, mode);
    if (err)
        return err;
    while (!netpollblock(pd, mode)) {
        err = netpollcheckerr(pd, mode);
        if (err)
            return err;
    }
    return 0;
}

/* netpoll found pd ready in mode ('r', 'w' or both): appends the Gs it
 * wakes to the list ending at *tail (Go's netpollready). */
g **netpollready(g **tail, pollDesc *pd, int mode)
{
    g *rg = NULL, *wg = NULL;
    if (mode == 'r' || mode == 'r' + 'w')
        rg = netpollunblock(pd, 'r', true);
    if (mode == 'w' || mode == 'r' + 'w')
        wg = netpollunblock(pd, 'w', true);
    m *mp = getm();
    for (int i = 0; i < 2; i++) {
        g *gp = i == 0 ? rg : wg;
        if (gp == NULL)
            continue;
        __atomic_add_fetch(&np.nready, 1, __ATOMIC_RELAXED);
        if (trace_enabled && mp)
            trace_instant(mp, "netpoll-ready", gp);
        gp->schedlink = NULL;
        *tail = gp;
        tail = &gp->schedlink;
    }
    return tail;
}

/* ---- deadlines and close ------------------------------------------------ */

/* The deadline timer, on g0 under its P's timerslock (Go's netpolldeadlineimpl).
 * Acts only on the deadline now set, if it is due: one moved later, or
 * cleared, since the timer was armed is left alone. */
static void netpolldeadline(void *arg, int64_t now)
{
    pollDesc *pd = arg;
    int64_t d = __atomic_load_n(&pd->deadline, __ATOMIC_SEQ_CST);
    if (d <= 0 || d > now ||
        !__atomic_compare_exchange_n(&pd->deadline, &d, -1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return;
    g *rg = netpollunblock(pd, 'r', false);
    g *wg = netpollunblock(pd, 'w', false);
    if (rg)
        goready(rg);
    if (wg)
        goready(wg);
}

/* net_set_deadline, with pd.lock held (Go's poll_runtime_pollSetDeadline
 * for both directions at once): 0 clears it, a time already passed ends
 * the waits now, a later one (re)arms the timer. */
void netpollsetdeadline(pollDesc *pd, int64_t d)
{
    g *rg = NULL, *wg = NULL;
    if (d == 0) {
        __atomic_store_n(&pd->deadline, 0, __ATOMIC_SEQ_CST);
        deltimer(&pd->dt);
    } else if (d <= nanotime()) {
        __atomic_store_n(&pd->deadline, -1, __ATOMIC_SEQ_CST);
        deltimer(&pd->dt);
        rg = netpollunblock(pd, 'r', false);
        wg = netpollunblock(pd, 'w', false);
    } else {
        __atomic_store_n(&pd->deadline, d, __ATOMIC_SEQ_CST);
        modtimer(&pd->dt, d, 0);
    }
    if (rg)
        goready(rg);
    if (wg)
        goready(wg);
}

/* net_close: every wait on pd ends, now and later, with EBADF (Go's
 * poll_runtime_pollUnblock). The timer is stopped; after deltimer it is
 * not running and will not run. */
void netpollevict(pollDesc *pd)
{
    __atomic_store_n(&pd->closing, 1, __ATOMIC_SEQ_CST);
    deltimer(&pd->dt);
    g *rg = netpollunblock(pd, 'r', false);
    g *wg = netpollunblock(pd, 'w', false);
    if (rg)
        goready(rg);
    if (wg)
        goready(wg);
}
