/*
 * syscallblock.c: your runtime_entersyscallblock and blocking_read
 * (exercise syscallblock). Read README.md first.
 *
 * What you may use (src/runtime2.h): getm(), m.oldp, p.status, retakep,
 * and the public runtime_entersyscall/runtime_exitsyscall.
 */
#include "syscallblock.h"

#include "runtime2.h"

#include <errno.h>
#include <unistd.h>

void runtime_entersyscallblock(void)
{
    runtime_entersyscall();      /* TODO: lazy, like any other call */
}

ssize_t blocking_read(int fd, void *buf, size_t n)
{
    return read(fd, buf, n);     /* TODO: the P is held for the whole call */
}
