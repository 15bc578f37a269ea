/*
 * sysio.h: blocking system calls that do not block the program (exercise
 * syscalls, stage 02). This header is the specification; implement it in
 * sysio.c.
 *
 * Each call runs its system call between runtime_entersyscall() and
 * runtime_exitsyscall() (include/gort.h), so that while this goroutine's
 * thread sleeps in the kernel its P runs the other goroutines: at
 * GOMAXPROCS=1 a goroutine blocked in gort_read() must not stop the rest of
 * the program. This is what Go's syscall.Read does around the raw call
 * (entersyscall/exitsyscall in runtime/proc.go).
 *
 * Rules shared by the three calls:
 *   - Only the system call itself runs between entersyscall and
 *     exitsyscall: no runtime call (no go(), no channel, no lock of the
 *     runtime), no printing.
 *   - A call interrupted by a signal (EINTR) is restarted: gort_read and
 *     gort_write retry it, gort_sleep_blocking sleeps the time that is left.
 *     The caller never sees EINTR.
 *   - On failure they return -1 with errno set to the system call's error,
 *     as the caller's thread sees it when the call returns. Careful: the
 *     goroutine may come back from runtime_exitsyscall() on ANOTHER thread,
 *     and errno belongs to a thread (stage 02's HACKING.md).
 */
#ifndef SYSIO_H
#define SYSIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One read(2) of at most n bytes: the count read, 0 at end of file, or -1
 * with errno. */
ssize_t gort_read(int fd, void *buf, size_t n);

/* Writes all n bytes of buf, with as many write(2) calls as it takes (a
 * write may take only part of the buffer): n, or -1 with errno when one
 * fails (bytes already written stay written). n == 0 returns 0. */
ssize_t gort_write(int fd, const void *buf, size_t n);

/* Sleeps the calling THREAD (nanosleep(2), not time_sleep) for ns
 * nanoseconds, handing its P off meanwhile: the stand-in for any call that
 * blocks in the kernel for a while. ns <= 0 returns at once. Returns 0. */
int gort_sleep_blocking(int64_t ns);

#endif /* SYSIO_H */
