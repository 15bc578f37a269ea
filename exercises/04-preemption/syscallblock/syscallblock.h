/*
 * syscallblock.h: system calls that say whether they will block
 * (exercise syscallblock).
 */
#ifndef SYSCALLBLOCK_H
#define SYSCALLBLOCK_H

#include <sys/types.h>

/* Like runtime_entersyscall, for a call known to block for a while: the P
 * is handed to another M at once instead of waiting for sysmon (Go's
 * entersyscallblock). Paired with runtime_exitsyscall. */
void runtime_entersyscallblock(void);

/* read(2) on fd for a goroutine: a read that data already waits for is a
 * short call (runtime_entersyscall, the P stays); one that will wait is a
 * blocking call (runtime_entersyscallblock). Returns what read returns,
 * with errno kept across the thread switch; retries EINTR. */
ssize_t blocking_read(int fd, void *buf, size_t n);

#endif
