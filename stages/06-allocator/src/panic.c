/*
 * panic.c: how the runtime dies (mirrors Go's src/runtime/panic.go: throw,
 * fatalthrow, and the printing half of gopanic).
 *
 * gort has no recover: a panic is always fatal, as an unrecovered one is in
 * Go. Both kinds print Go's first line, then every goroutine (the one that
 * died first, marked [running]), then exit with status 2:
 *
 *     panic: send on closed channel        misuse by the program
 *     fatal error: all goroutines are ...  the runtime cannot go on
 *
 * and, last, the seed of the run's random choices with the line that
 * replays it (rand.c: "gort: schedseed=N: ...").
 *
 * Invariant: only one thread prints the death report. A second thread that
 * dies meanwhile waits for the first to end the process; the same thread
 * dying again while printing (a broken invariant found by the dump) exits
 * at once.
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <stdlib.h>
#include <unistd.h>

static uint32_t dying;          /* atomic: a thread is printing its death */
static pthread_t dyingthread;
static uint32_t printing;       /* atomic spin flag for printlock */

void printlock(void)
{
    while (__atomic_exchange_n(&printing, 1, __ATOMIC_ACQUIRE))
        procyield(50);
}

void printunlock(void)
{
    __atomic_store_n(&printing, 0, __ATOMIC_RELEASE);
}

static _Noreturn void die(const char *prefix, const char *msg)
{
    if (__atomic_exchange_n(&dying, 1, __ATOMIC_ACQ_REL)) {
        if (pthread_equal(dyingthread, pthread_self()))
            _exit(2);
        for (;;)
            pause();             /* the first dying thread will _exit */
    }
    dyingthread = pthread_self();
    fflush(stdout);
    fprintf(stderr, "%s%s\n", prefix, msg);
    if (getm() != NULL) {
        fputc('\n', stderr);
        dumpgoroutines(stderr, getg());
        fputc('\n', stderr);
        printschedseed(stderr);
    }
    fflush(stderr);
    _exit(2);
}

_Noreturn void gort_throw(const char *msg) { die("fatal error: ", msg); }
_Noreturn void gort_panic(const char *msg) { die("panic: ", msg); }

/* An API call that needs a goroutine, made from plain C code. */
_Noreturn void gort_fatal_outside(const char *what)
{
    fflush(stdout);
    fprintf(stderr, "gort: %s called outside runtime_main\n", what);
    _exit(2);
}
