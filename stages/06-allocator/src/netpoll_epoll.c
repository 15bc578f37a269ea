/*
 * netpoll_epoll.c: the network poller's Linux half (mirrors Go's
 * src/runtime/netpoll_epoll.go).
 *
 * One epoll instance for the whole process, made at the first socket
 * (netpollGenericInit's once), and one eventfd registered in it, through
 * which netpollBreak interrupts an M blocked in epoll_wait.
 *
 * Every socket is registered once, when the API opens it, for everything
 * at once and edge-triggered: EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET.
 * An edge-triggered descriptor is reported once per change of state, not
 * at every epoll_wait while it stays ready, so nothing needs re-arming or
 * unregistering when a goroutine stops waiting (Go's choice: a level-
 * triggered socket nobody reads would be returned by every poll). The
 * price is that the reader must drain the socket until EAGAIN before it
 * waits again: net.c does, and netpoll.c's pdReady remembers an edge that
 * came while nobody waited.
 *
 * An event carries the pollDesc's address tagged with its fdseq (Go's
 * taggedPointer): netpoll drops an event whose tag is not the pollDesc's
 * current fdseq, which is one harvested for a descriptor closed (and
 * perhaps reused by the kernel for a new socket) since.
 *
 * Who calls netpoll: findrunnable (proc.c) with 0 before stealing, and
 * with the time to the next timer when there is nothing else to do (one M
 * at a time: sched.lastpoll == 0 while it blocks); sysmon (preempt.c) with
 * 0 when nobody has polled for 10 ms. Neither holds a lock.
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int epfd = -1;
static int evfd = -1;                /* netpollBreak's eventfd */
static uint32_t wakesig;             /* atomic: a break is pending (Go's netpollWakeSig) */

#define BREAKTAG 1ULL                /* epoll data of the eventfd: no pollDesc is odd */

/* Go's taggedPointerPack: the address in the low 48 bits, the tag above. */
static uint64_t pdpack(pollDesc *pd, uint32_t seq)
{
    uint64_t a = (uint64_t)(uintptr_t)pd;
    if (a >> 48)
        gort_throw("netpoll: pollDesc address above 48 bits");
    return a | ((uint64_t)(seq & 0xffff) << 48);
}

/* Called once, under netpoll.c's init lock. */
void netpollinit(void)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        gort_throw("netpollinit: epoll_create1 failed");
    evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (evfd < 0)
        gort_throw("netpollinit: eventfd failed");
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = BREAKTAG };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) != 0)
        gort_throw("netpollinit: cannot register the eventfd");
    __atomic_store_n(&wakesig, 0, __ATOMIC_RELAXED);
}

/* runtime_main's end, every M joined. */
void netpollfini_os(void)
{
    if (evfd >= 0)
        close(evfd);
    if (epfd >= 0)
        close(epfd);
    evfd = epfd = -1;
}

/* Registers fd, once, for everything, edge-triggered. 0 or an errno. */
int netpollopen(int fd, pollDesc *pd, uint32_t seq)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.u64 = pdpack(pd, seq),
    };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void netpollclose(int fd)
{
    struct epoll_event ev = { 0 };
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

/* Interrupts a blocking netpoll (Go's netpollBreak). One write while a
 * break is pending: the blocked poll consumes it and clears wakesig. */
void netpollBreak(void)
{
    if (!netpollinited())        /* acquire: epfd and evfd are set */
        return;
    uint32_t zero = 0;
    if (!__atomic_compare_exchange_n(&wakesig, &zero, 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return;
    uint64_t one = 1;
    for (;;) {
        ssize_t n = write(evfd, &one, sizeof one);
        if (n == (ssize_t)sizeof one || (n < 0 && errno == EAGAIN))
            return;                  /* EAGAIN: the counter is full, a wake-up waits */
        if (n < 0 && errno == EINTR)
            continue;
        gort_throw("netpollBreak: write to the eventfd failed");
    }
}

/* Polls for ready sockets: delay < 0 blocks until one is ready (or a
 * break), 0 does not block, > 0 waits at most delay ns. Returns the Gs
 * made ready, linked through schedlink, still _Gwaiting (injectglist,
 * proc.c, makes them runnable). */
g *netpoll(int64_t delay)
{
    if (!netpollinited())
        return NULL;
    int waitms;
    if (delay < 0)
        waitms = -1;
    else if (delay == 0)
        waitms = 0;
    else if (delay < 1000000)
        waitms = 1;
    else if (delay < 1000000000000LL)
        waitms = (int)(delay / 1000000);
    else
        waitms = 1000000;            /* about 17 minutes: the caller loops */
    struct epoll_event events[128];
    int n;
    for (;;) {
        n = epoll_wait(epfd, events, 128, waitms);
        if (n >= 0)
            break;
        if (errno != EINTR)
            gort_throw("netpoll: epoll_wait failed");
        if (waitms > 0)
            return NULL;             /* the caller works out the delay again */
    }
    g *list = NULL, **tail = &list;
    for (int i = 0; i < n; i++) {
        struct epoll_event *ev = &events[i];
        if (ev->data.u64 == BREAKTAG) {
            if (delay != 0) {        /* only a blocking poll consumes a break */
                uint64_t buf;
                ssize_t r = read(evfd, &buf, sizeof buf);
                (void)r;
                __atomic_store_n(&wakesig, 0, __ATOMIC_RELAXED);
            }
            continue;
        }
        int mode = 0;
        if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            mode += 'r';
        if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            mode += 'w';
        if (mode == 0)
            continue;
        pollDesc *pd = (pollDesc *)(uintptr_t)(ev->data.u64 & ((1ULL << 48) - 1));
        uint32_t tag = (uint32_t)(ev->data.u64 >> 48);
        if (tag != (netpollfdseq(pd) & 0xffff))
            continue;                /* a closed descriptor's event: stale */
        tail = netpollready(tail, pd, mode);
    }
    return list;
}
