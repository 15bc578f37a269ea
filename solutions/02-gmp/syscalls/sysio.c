/*
 * sysio.c: the reference solution of exercise syscalls (stage 02).
 *
 * Each call brackets its system call with runtime_entersyscall() and
 * runtime_exitsyscall(), as Go's syscall.Syscall does: entersyscall hands
 * the P to another thread (handoffp) if it has work, exitsyscall takes a P
 * back, or queues the goroutine and parks the thread (exitsyscall0).
 *
 * errno is thread-local, and the goroutine may resume on another thread
 * after exitsyscall. So errno is read right after the call, on the thread
 * that made it, and written again after exitsyscall through a function the
 * compiler cannot see into: glibc declares __errno_location() const, so
 * within one function the compiler may reuse the address it computed
 * before the switch, the old thread's errno.
 */
#include "sysio.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

/* Sets errno on the thread the goroutine runs on NOW (not inlined: see
 * the top of the file). */
__attribute__((noinline)) static void set_errno(int e)
{
    __asm__ volatile("" ::: "memory");
    errno = e;
}

ssize_t gort_read(int fd, void *buf, size_t n)
{
    ssize_t r;
    int e;
    do {
        runtime_entersyscall();
        r = read(fd, buf, n);
        e = errno;               /* this thread's, before anything else */
        runtime_exitsyscall();
    } while (r < 0 && e == EINTR);
    if (r < 0)
        set_errno(e);
    return r;
}

ssize_t gort_write(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    size_t done = 0;
    while (done < n) {
        runtime_entersyscall();
        ssize_t w = write(fd, p + done, n - done);
        int e = errno;
        runtime_exitsyscall();
        if (w < 0) {
            if (e == EINTR)
                continue;
            set_errno(e);
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

int gort_sleep_blocking(int64_t ns)
{
    if (ns <= 0)
        return 0;
    struct timespec req = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
    struct timespec rem;
    runtime_entersyscall();
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;               /* a signal: sleep what is left */
    runtime_exitsyscall();
    return 0;
}
