/*
 * os_linux.c: what the runtime asks of Linux (mirrors Go's os_linux.go and,
 * for the overflow handler, signal_unix.go).
 *
 *  - futexsleep/futexwakeup: the only way a runtime thread sleeps.
 *  - getproccount: CPUs in this thread's affinity mask (Go's getproccount);
 *    getncpu: the same, counted once (Go's ncpu, runtime.NumCPU).
 *  - defaultgomaxprocs: GOMAXPROCS when the environment does not set it,
 *    the affinity count lowered to the cgroup v2 CPU limit (Go 1.25's
 *    defaultGOMAXPROCS, cgroup_linux.go, and its internal/runtime/cgroup):
 *      1. /proc/self/cgroup's "0::/PATH" line names the process's cgroup.
 *      2. /sys/fs/cgroup/PATH/cpu.max holds "QUOTA PERIOD" (microseconds
 *         of CPU time allowed per period) or "max PERIOD" (no limit). The
 *         limit is QUOTA/PERIOD CPUs, rounded up, at least 1.
 *      3. A parent cgroup's limit binds its children too: gort reads
 *         cpu.max in PATH and in each directory above it, up to the root,
 *         and takes the smallest. (Go 1.25 reads only the leaf; its
 *         cgroup_linux.go names the tighter parent as a known gap.)
 *      4. GOMAXPROCS = min(affinity count, limit), and never above the
 *         affinity count: a limit of 8 on 2 CPUs still gives 2.
 *    Missing files mean no limit, silently (no cgroup v2, or no cpu
 *    controller at that level); a malformed cpu.max is named on stderr,
 *    with its value, once per value, and taken as no limit. Unlike Go, a
 *    limit below 2 gives 1: Go rounds it up to 2 because its garbage
 *    collector's workers want a second P; gort has no collector here, and
 *    a half-CPU container runs best on one P. Also unlike Go: gort assumes
 *    the cgroup v2 mount at /sys/fs/cgroup (Go finds it in
 *    /proc/self/mountinfo) and does not read cgroup v1's cpu.cfs_quota_us.
 *    GORT_CGROUP_ROOT=DIR (a testing aid) reads DIR/proc_self_cgroup for
 *    /proc/self/cgroup and DIR/PATH/cpu.max, so that a test can build a
 *    tree and change a limit while the program runs (maxprocs.c rereads
 *    it every second).
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
#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
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

/* ---- CPUs and GOMAXPROCS's default ----------------------------------- */

int getproccount(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return 1;
}

static int ncpu;

int getncpu(void)
{
    int n = __atomic_load_n(&ncpu, __ATOMIC_RELAXED);
    if (n > 0)
        return n;
    n = getproccount();
    __atomic_store_n(&ncpu, n, __ATOMIC_RELAXED);
    return n;
}

/* The last complaint, so that a bad file read every second is named once
 * per value. Any thread may read the limit (runtime_main's, the monitor). */
static mutex complainlock;
static char  lastcomplaint[1024];

static void complain(const char *msg)
{
    lock(&complainlock);
    bool same = strcmp(msg, lastcomplaint) == 0;
    if (!same)
        snprintf(lastcomplaint, sizeof lastcomplaint, "%s", msg);
    unlock(&complainlock);
    if (!same)
        fprintf(stderr, "%s", msg);
}

/* Reads a small file whole (cpu.max is under 64 bytes); -1 with errno set
 * if it cannot be opened or read. */
static ssize_t readsmall(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, n - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (got += (size_t)r) == n - 1)
            break;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    buf[got] = 0;
    return (ssize_t)got;
}

/* A decimal integer from 1 to 2^62 filling [s, e) exactly. */
static bool parsepositive(const char *s, const char *e, int64_t *out)
{
    int64_t v = 0;
    if (s == e)
        return false;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9' || v > ((int64_t)1 << 62) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return v > 0;
}

/* The limit in one cpu.max, in CPUs: > 0, or 0 for none (Go's
 * parseV2Limit: "QUOTA PERIOD\n" or "max PERIOD\n"). */
static double readcpumax(const char *path)
{
    char buf[64];
    ssize_t n = readsmall(path, buf, sizeof buf);
    if (n < 0)
        return 0;                       /* no such level, or no cpu controller */
    const char *sp = strchr(buf, ' '), *nl = strchr(buf, '\n');
    const char *end = nl ? nl : buf + n;
    int64_t quota, period;
    if (sp && sp < end && parsepositive(sp + 1, end, &period)) {
        if (sp - buf == 3 && memcmp(buf, "max", 3) == 0)
            return 0;
        if (parsepositive(buf, sp, &quota))
            return (double)quota / (double)period;
    }
    char msg[1024], shown[64];
    size_t k = 0;
    for (const char *c = buf; c < end && k < sizeof shown - 1; c++)
        shown[k++] = *c >= ' ' && *c < 127 ? *c : '?';
    shown[k] = 0;
    snprintf(msg, sizeof msg, "gort: %.400s: \"%s\": expected \"QUOTA PERIOD\" or \"max PERIOD\" "
             "(microseconds); no CPU limit taken from it\n", path, shown);
    complain(msg);
    return 0;
}

/* The smallest cgroup v2 CPU limit on the way from the process's cgroup up
 * to the root, in CPUs; 0 if there is none (steps 1-3 above). */
static double cgroupcpulimit(void)
{
    const char *root = debug.cgrouproot ? debug.cgrouproot : "/sys/fs/cgroup";
    char self[4096], path[4096 + 16], msg[1024];
    if (debug.cgrouproot)
        snprintf(self, sizeof self, "%s/proc_self_cgroup", debug.cgrouproot);
    else
        snprintf(self, sizeof self, "/proc/self/cgroup");
    FILE *f = fopen(self, "re");
    if (f == NULL) {
        if (debug.cgrouproot) {
            snprintf(msg, sizeof msg, "gort: GORT_CGROUP_ROOT=%.300s: cannot read %.300s: %s; "
                     "no CPU limit\n", debug.cgrouproot, self, strerror(errno));
            complain(msg);
        }
        return 0;
    }
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, "0::/", 4) == 0;      /* the v2 hierarchy */
    fclose(f);
    if (!found) {
        if (debug.cgrouproot) {
            snprintf(msg, sizeof msg, "gort: GORT_CGROUP_ROOT=%.300s: %.300s has no \"0::/PATH\" "
                     "line; no CPU limit\n", debug.cgrouproot, self);
            complain(msg);
        }
        return 0;
    }
    line[strcspn(line, "\n")] = 0;
    char *rel = line + 3;                           /* "/PATH" */
    double limit = 0;
    for (;;) {
        size_t len = strlen(rel);
        while (len > 0 && rel[len - 1] == '/')      /* "/" is the root itself */
            rel[--len] = 0;
        snprintf(path, sizeof path, "%s%s/cpu.max", root, rel);
        double l = readcpumax(path);
        if (l > 0 && (limit == 0 || l < limit))
            limit = l;
        char *slash = strrchr(rel, '/');
        if (slash == NULL)
            break;
        *slash = 0;                                 /* up one level */
    }
    return limit;
}

/* Go's defaultGOMAXPROCS: the affinity count (cpus, or counted now when
 * cpus <= 0) lowered to the cgroup CPU limit rounded up, at least 1.
 * GODEBUG=containermaxprocs=0 leaves the limit out, as in Go. */
int defaultgomaxprocs(int cpus)
{
    int procs = cpus > 0 ? cpus : getproccount();
    if (debug.containermaxprocs == 0)
        return procs;
    double limit = cgroupcpulimit();
    if (limit > 0) {
        double up = ceil(limit);
        int n = up < 1 ? 1 : up > MAXGOMAXPROCS ? MAXGOMAXPROCS : (int)up;
        if (n < procs)
            procs = n;
    }
    return procs;
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
