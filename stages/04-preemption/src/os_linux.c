/*
 * os_linux.c: what the runtime asks of Linux (mirrors Go's os_linux.go and,
 * for the overflow handler, signal_unix.go).
 *
 *  - futexsleep/futexwakeup: the only way a runtime thread sleeps.
 *  - getncpu: CPUs in this process's affinity mask (Go's getproccount).
 *  - nanotime1: the real monotonic clock (Go's nanotime1).
 *  - the SIGSEGV handler that turns a hit on a stack guard page into Go's
 *    "fatal error: stack overflow". It runs on a per-M alternate signal
 *    stack (sigaltstack), since the faulting stack has no room left.
 *
 * Invariant: the handler is installed once per runtime_main and removed
 * when runtime_main returns, restoring the program's previous handler.
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void futexsleep(uint32_t *addr, uint32_t val, int64_t ns)
{
    struct timespec ts, *tsp = NULL;
    if (ns >= 0) {
        ts.tv_sec = ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        tsp = &ts;
    }
    /* EAGAIN (the word changed), EINTR and ETIMEDOUT all just return:
     * every caller re-checks its condition in a loop. */
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
}

void futexwakeup(uint32_t *addr, uint32_t cnt)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, cnt, NULL, NULL, 0);
}

void osyield(void)
{
    sched_yield();
}

static int ncpu;

int getncpu(void)
{
    int n = __atomic_load_n(&ncpu, __ATOMIC_RELAXED);
    if (n > 0)
        return n;
    cpu_set_t set;
    n = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        n = CPU_COUNT(&set);
    __atomic_store_n(&ncpu, n, __ATOMIC_RELAXED);
    return n;
}

int runtime_num_cpu(void)
{
    return getncpu();
}

/* The real clock; nanotime() (time_fake.c) reads it unless fakeclock=1. */
int64_t nanotime1(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- stack overflow --------------------------------------------------- */

#define ALTSTACK_SIZE (64 << 10)

static struct sigaction oldsegv, oldbus;

static void sigsegv_handler(int sig, siginfo_t *info, void *ctx)
{
    g *owner = getg();
    if (owner && stack_is_guard(owner, info->si_addr)) {
        char buf[160];
        printlock();
        snprintf(buf, sizeof buf,
                 "runtime: goroutine %lld stack exceeds %zu-byte limit\n"
                 "runtime: fault address %p is in its guard page\n",
                 (long long)owner->goid,
                 (size_t)((char *)owner->stack_hi - (char *)owner->stack_lo),
                 info->si_addr);
        fputs(buf, stderr);
        printunlock();
        gort_throw("stack overflow");
    }
    /* Not ours: let the previous handler (or the default action) have it. */
    struct sigaction *old = sig == SIGSEGV ? &oldsegv : &oldbus;
    sigaction(sig, old, NULL);
    (void)ctx;
}

void initsig(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigsegv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &oldsegv);
    sigaction(SIGBUS, &sa, &oldbus);
}

void uninitsig(void)
{
    sigaction(SIGSEGV, &oldsegv, NULL);
    sigaction(SIGBUS, &oldbus, NULL);
}

/* Per-M: the alternate stack the handler runs on, and (stage 04) the
 * signal mask the thread starts running goroutines with, which the SIGURG
 * handler compares with the interrupted code's (preempt.c: sigmasknormal). */
void minitsignals(m *mp)
{
    mp->altstack = malloc(ALTSTACK_SIZE);
    if (mp->altstack == NULL)
        gort_throw("out of memory allocating signal stack");
    stack_t ss = { .ss_sp = mp->altstack, .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    pthread_sigmask(SIG_SETMASK, NULL, &mp->sigmask);
}

void unminitsignals(m *mp)
{
    stack_t ss = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
    sigaltstack(&ss, NULL);
    free(mp->altstack);
    mp->altstack = NULL;
}
