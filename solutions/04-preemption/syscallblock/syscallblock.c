/*
 * syscallblock.c: the reference solution of exercise syscallblock.
 *
 * Stage 04 makes every system call lazy: runtime_entersyscall leaves the P
 * in _Psyscall, and only sysmon, after a whole tick (20 us when busy, up
 * to 10 ms once it has backed off), hands it to another M. That is right
 * for the many calls that last a microsecond, and wrong for one that is
 * known to block: the goroutines queued behind it wait for sysmon. Go has
 * both (entersyscall, and entersyscallblock for calls that block).
 *
 * runtime_entersyscallblock: enter the call as usual, then take the P
 * back from _Psyscall ourselves and hand it off now, with the same step
 * sysmon uses (retakep: _Psyscall -> _Pidle under sched.lock, then
 * handoffp). exitsyscall needs nothing new: it finds its old P gone and
 * takes an idle one, or queues the G.
 *
 * blocking_read: whether a read will block is known before it starts:
 * poll(fd, 0) says whether data (or EOF, or an error) is waiting. Then the
 * call is short and keeps the P; otherwise the P goes at once. The answer
 * can go stale (another reader takes the data first): the read then blocks
 * with a lazy P, and sysmon hands it off, which is what stage 04 does for
 * every call; never wrong, only late.
 *
 * errno is read right after the call, before runtime_exitsyscall, which
 * may resume the goroutine on another thread (HACKING.md).
 */
#include "syscallblock.h"

#include "runtime2.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

void runtime_entersyscallblock(void)
{
    runtime_entersyscall();
    m *mp = getm();
    retakep(mp->oldp);           /* false only if someone took it first */
}

ssize_t blocking_read(int fd, void *buf, size_t n)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        bool ready = poll(&pfd, 1, 0) != 0;    /* ready, EOF, error, or poll failed */
        if (ready)
            runtime_entersyscall();
        else
            runtime_entersyscallblock();
        ssize_t r = read(fd, buf, n);
        int err = errno;
        runtime_exitsyscall();
        if (r < 0 && err == EINTR)
            continue;
        errno = err;
        return r;
    }
}
