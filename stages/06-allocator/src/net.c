/*
 * net.c: the socket API, net_listen ... net_close (mirrors the parts of
 * Go's src/internal/poll/fd_unix.go, fd_mutex.go and src/net that matter
 * here: a non-blocking descriptor, a system call, and on EAGAIN a park on
 * the pollDesc until netpoll says the socket changed).
 *
 * Each call parks the goroutine, never its thread: every socket is
 * non-blocking and registered with the poller once (netpoll_epoll.c),
 * edge-triggered, so a call retries its system call until EAGAIN before
 * it waits (netpollwait), and the next edge wakes it.
 *
 * The descriptors are the kernel's own ints, so the API keeps a table
 * from descriptor to pollDesc (fdtab, under fdlock). A descriptor unknown
 * to it gets EBADF. A call holds a reference on the pollDesc (refs) from
 * lookup to return, as Go's fdMutex does; net_close takes the descriptor
 * out of the table, marks the pollDesc closing and wakes its waiters
 * (EBADF), and the last reference closes the kernel descriptor. So the
 * descriptor's number is not reused while a call may still make a system
 * call on it, and a call that looks it up after net_close gets EBADF, or
 * the new socket's pollDesc once the number is reused (as with close(2)).
 * A socket closed with close(2) instead of net_close is found when the
 * kernel hands its number to the next socket the API opens: the old
 * pollDesc is then orphaned (its calls end with EBADF) and replaced.
 * One reader (read, accept) and one writer (write, connect) use a socket
 * at a time: a second parks on pollDesc.rmu / wmu until the first is done.
 *
 * Errors: a negative errno value, and errno set as well (HACKING.md: read
 * errno right after the call, on the same thread, or use the value).
 * Addresses are numeric only: "1.2.3.4:80", "[::1]:80", ":80" (listen: all
 * addresses, IPv6 and IPv4 where the kernel has IPv6; dial: 127.0.0.1).
 */
#define _GNU_SOURCE
#include "netpoll.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static mutex      fdlock;       /* guards fdtab and fdtablen */
static pollDesc **fdtab;
static int        fdtablen;

static int seterr(int err)
{
    errno = err;
    return -err;
}

/* The pollDesc of fd with a reference taken, or NULL (EBADF). */
static pollDesc *fdacquire(int fd)
{
    pollDesc *pd = NULL;
    if (fd < 0)
        return NULL;
    lock(&fdlock);
    pollDesc *q = fd < fdtablen ? fdtab[fd] : NULL;
    if (q != NULL) {
        lock(&q->lock);
        if (!__atomic_load_n(&q->closing, __ATOMIC_SEQ_CST)) {
            q->refs++;
            pd = q;
        }
        unlock(&q->lock);
    }
    unlock(&fdlock);
    return pd;
}

/* Drops a reference; the last one after net_close closes the socket and
 * gives the pollDesc back (Go's fdMutex decref and destroy). */
static void fdrelease(pollDesc *pd)
{
    lock(&pd->lock);
    bool last = --pd->refs == 0 && __atomic_load_n(&pd->closing, __ATOMIC_SEQ_CST);
    bool orphan = pd->orphan;
    unlock(&pd->lock);
    if (!last)
        return;
    deltimer(&pd->dt);
    if (!orphan) {               /* an orphan's number is another socket's now */
        netpollclose(pd->fd);
        close(pd->fd);
    }
    pdfree(pd);
}

/* Makes fd non-blocking-registered and known to the API: its pollDesc,
 * with one reference for the caller; or NULL and errno set (fd closed). */
static pollDesc *fdregister(int fd)
{
    netpollgenericinit();
    pollDesc *pd = pdalloc(fd);
    int err = netpollopen(fd, pd, netpollfdseq(pd));
    if (err == 0) {
        lock(&fdlock);
        if (fd >= fdtablen) {
            int n = fdtablen ? fdtablen : 64;
            while (n <= fd)
                n *= 2;
            pollDesc **t = realloc(fdtab, (size_t)n * sizeof *t);
            if (t == NULL)
                gort_throw("out of memory growing the descriptor table");
            memset(t + fdtablen, 0, (size_t)(n - fdtablen) * sizeof *t);
            fdtab = t;
            fdtablen = n;
        }
        /* Still in the table: the program closed the old socket with
         * close(2), not net_close, and the kernel reused its number. The
         * old pollDesc is orphaned: its calls end with EBADF, and its last
         * reference leaves the number (now this socket's) alone. */
        pollDesc *old = fdtab[fd];
        if (old != NULL) {
            lock(&old->lock);
            old->orphan = true;
            old->refs++;
            unlock(&old->lock);
        }
        fdtab[fd] = pd;
        unlock(&fdlock);
        if (old != NULL) {
            netpollevict(old);
            fdrelease(old);
        }
        return pd;
    }
    pdfree(pd);
    close(fd);
    errno = err;
    return NULL;
}

/* runtime_main's end (netpollfini): closes every socket still open. */
void netclosefds(void)
{
    for (int fd = 0; fd < fdtablen; fd++)
        if (fdtab[fd] != NULL)
            close(fd);
    free(fdtab);
    fdtab = NULL;
    fdtablen = 0;
}

/* ---- addresses --------------------------------------------------------- */

/* "host:port" with a numeric host ("1.2.3.4", "[::1]", or "" for any),
 * into sa. listen: an empty host is every address. 0 or EINVAL. */
static int parseaddr(const char *addr, bool listen, struct sockaddr_storage *sa,
                     socklen_t *salen)
{
    if (addr == NULL)
        return EINVAL;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
        return EINVAL;
    long port = 0;
    for (const char *s = colon + 1; *s; s++) {
        if (*s < '0' || *s > '9')
            return EINVAL;
        port = port * 10 + (*s - '0');
    }
    if (port > 65535)
        return EINVAL;
    char host[64];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host)
        return EINVAL;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    memset(sa, 0, sizeof *sa);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return EINVAL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *salen = sizeof *s6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *salen = sizeof *s4;
    if (hl == 0) {
        if (listen) {            /* every address: IPv6 and IPv4 if we can */
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
            int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (probe >= 0) {
                close(probe);
                memset(sa, 0, sizeof *sa);
                s6->sin6_family = AF_INET6;
                s6->sin6_addr = in6addr_any;
                s6->sin6_port = htons((uint16_t)port);
                *salen = sizeof *s6;
            } else {
                s4->sin_addr.s_addr = htonl(INADDR_ANY);
            }
        } else {
            s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        return 0;
    }
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return EINVAL;
    return 0;
}

static int newsocket(int family)
{
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* ---- the API ------------------------------------------------------------- */

int net_listen(const char *addr, int backlog)
{
    mustbeinruntime("net_listen()");
    struct sockaddr_storage sa;
    socklen_t salen;
    int err = parseaddr(addr, true, &sa, &salen);
    if (err)
        return seterr(err);
    int fd = newsocket(sa.ss_family);
    if (fd < 0)
        return seterr(errno);
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa.ss_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&sa)->sin6_addr))
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&sa, salen) != 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
        err = errno;
        close(fd);
        return seterr(err);
    }
    pollDesc *pd = fdregister(fd);
    if (pd == NULL)
        return seterr(errno);
    fdrelease(pd);
    return fd;
}

int net_local_port(int fd)
{
    pollDesc *pd = fdacquire(fd);
    if (pd == NULL)
        return seterr(EBADF);
    struct sockaddr_storage sa;
    socklen_t salen = sizeof sa;
    int r;
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0)
        r = seterr(errno);
    else if (sa.ss_family == AF_INET6)
        r = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    else
        r = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    fdrelease(pd);
    return r;
}

int net_accept(int listen_fd)
{
    mustbeinruntime("net_accept()");
    pollDesc *pd = fdacquire(listen_fd);
    if (pd == NULL)
        return seterr(EBADF);
    sync_mutex_lock(&pd->rmu);
    int fd = -1, err = netpollcheckerr(pd, 'r');
    if (err == 0)
        netpollreset(pd, 'r');
    while (err == 0) {
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            break;
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            err = errno;
            break;
        }
        err = netpollwait(pd, 'r');
    }
    sync_mutex_unlock(&pd->rmu);
    fdrelease(pd);
    if (err)
        return seterr(err);
    pollDesc *npd = fdregister(fd);
    if (npd == NULL)
        return seterr(errno);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* Go's default */
    fdrelease(npd);
    return fd;
}

/* Non-blocking connect, a wait for writability, then SO_ERROR (Go's
 * netFD.connect): an unconnected socket may report itself writable at
 * registration, so a wake-up is believed only once getpeername agrees. */
int net_dial(const char *addr)
{
    mustbeinruntime("net_dial()");
    struct sockaddr_storage sa;
    socklen_t salen;
    int err = parseaddr(addr, false, &sa, &salen);
    if (err)
        return seterr(err);
    int fd = newsocket(sa.ss_family);
    if (fd < 0)
        return seterr(errno);
    pollDesc *pd = fdregister(fd);
    if (pd == NULL)
        return seterr(errno);
    sync_mutex_lock(&pd->wmu);
    netpollreset(pd, 'w');
    if (connect(fd, (struct sockaddr *)&sa, salen) != 0) {
        err = errno;
        if (err == EINPROGRESS || err == EINTR || err == EALREADY)
            err = 0;
        else
            goto out;
        for (;;) {
            if ((err = netpollwait(pd, 'w')) != 0)
                break;
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
                err = errno;
                break;
            }
            if (soerr == EINPROGRESS || soerr == EALREADY || soerr == EINTR)
                continue;
            if (soerr != 0) {
                err = soerr;
                break;
            }
            struct sockaddr_storage peer;
            socklen_t plen = sizeof peer;
            if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
                break;               /* connected */
            if (errno != ENOTCONN) {
                err = errno;
                break;
            }
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* Go's default */
out:
    sync_mutex_unlock(&pd->wmu);
    if (err) {
        lock(&fdlock);
        fdtab[fd] = NULL;
        unlock(&fdlock);
        netpollevict(pd);
        fdrelease(pd);               /* the last reference: closes fd */
        return seterr(err);
    }
    fdrelease(pd);
    return fd;
}

ssize_t net_read(int fd, void *buf, size_t n)
{
    mustbeinruntime("net_read()");
    pollDesc *pd = fdacquire(fd);
    if (pd == NULL)
        return seterr(EBADF);
    sync_mutex_lock(&pd->rmu);
    ssize_t r = -1;
    int err = netpollcheckerr(pd, 'r');
    if (err == 0)
        netpollreset(pd, 'r');
    while (err == 0) {
        r = read(fd, buf, n);
        if (r >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            err = errno;
            break;
        }
        err = netpollwait(pd, 'r');
    }
    sync_mutex_unlock(&pd->rmu);
    fdrelease(pd);
    return err ? seterr(err) : r;
}

/* All of buf: a partial write parks until the socket drains (Go's
 * FD.Write loop). MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE. */
ssize_t net_write(int fd, const void *buf, size_t n)
{
    mustbeinruntime("net_write()");
    pollDesc *pd = fdacquire(fd);
    if (pd == NULL)
        return seterr(EBADF);
    sync_mutex_lock(&pd->wmu);
    size_t done = 0;
    int err = netpollcheckerr(pd, 'w');
    if (err == 0)
        netpollreset(pd, 'w');
    while (err == 0 && done < n) {
        ssize_t r = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (r >= 0) {
            done += (size_t)r;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            err = errno;
            break;
        }
        err = netpollwait(pd, 'w');
    }
    sync_mutex_unlock(&pd->wmu);
    fdrelease(pd);
    return err ? seterr(err) : (ssize_t)done;
}

int net_set_deadline(int fd, int64_t deadline_ns)
{
    pollDesc *pd = fdacquire(fd);
    if (pd == NULL)
        return seterr(EBADF);
    if (deadline_ns < 0)
        deadline_ns = 1;             /* long passed */
    lock(&pd->lock);
    netpollsetdeadline(pd, deadline_ns);
    unlock(&pd->lock);
    fdrelease(pd);
    return 0;
}

int net_close(int fd)
{
    pollDesc *pd = NULL;
    if (fd >= 0) {
        lock(&fdlock);
        if (fd < fdtablen && (pd = fdtab[fd]) != NULL) {
            fdtab[fd] = NULL;        /* new lookups: EBADF */
            lock(&pd->lock);
            pd->refs++;
            unlock(&pd->lock);
        }
        unlock(&fdlock);
    }
    if (pd == NULL)
        return seterr(EBADF);
    netpollevict(pd);                /* waiters wake with EBADF */
    fdrelease(pd);                   /* the last reference closes fd */
    return 0;
}
