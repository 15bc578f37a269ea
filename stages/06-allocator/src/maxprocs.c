/*
 * maxprocs.c: GOMAXPROCS follows its default while the program runs
 * (mirrors Go 1.25's proc.go: sysmonUpdateGOMAXPROCS, updateMaxProcsGState,
 * updateMaxProcsGoroutine; the default itself, defaultgomaxprocs, lives in
 * os_linux.c, as Go's lives in cgroup_linux.go).
 *
 * The problem. The default (the CPUs in the affinity mask, lowered to the
 * cgroup CPU limit) is read when runtime_main starts. A container's limit
 * can change while the program runs (`docker update --cpus`, a Kubernetes
 * in-place resize): with more Ps than CPUs the kernel throttles the
 * process, and with fewer it leaves CPUs idle.
 *
 * The design, as in Go 1.25:
 *   1. Once a second a monitor computes the default again: sysmon
 *      (preempt.c), as in Go. (Stages 02 and 03, which have no sysmon,
 *      start a thread of their own for it.)
 *   2. If the default differs from GOMAXPROCS and nobody has set GOMAXPROCS
 *      (sched.customgomaxprocs, under sched.lock), the monitor hands the
 *      new value to the updater goroutine and readies it. The monitor holds
 *      no P and is no goroutine: it cannot stop the world itself, and must
 *      not wait while a stop-the-world waits for every P.
 *   3. The updater stops the world and resizes (proc.c: updategomaxprocs,
 *      which looks at sched.customgomaxprocs again under worldsema, so a
 *      runtime_gomaxprocs(n) meanwhile wins), then parks until the next
 *      change. While it works (upd.idle == 0) the monitor hands it nothing.
 *
 * When nothing is updated: GOMAXPROCS=N in the environment, a call to
 * runtime_gomaxprocs(n > 0) (from then on), GODEBUG=updatemaxprocs=0, and
 * GODEBUG=fakeclock=1, whose replays must not depend on a file read in
 * real time; in those runs sysmon does not look.
 *
 * The updater is a system goroutine (newsystemproc): runtime_num_goroutine,
 * leak checks and checkdead do not count it, and dumps leave it out. A
 * program whose goroutines are all blocked is deadlocked, updater or not:
 * checkdead counts running Ms, and the updater parks between updates.
 *
 * Rejected:
 *   - Resizing from sysmon: stoptheworld needs a P, and waits for every
 *     goroutine to stop, which sysmon's own preemption brings about.
 *   - A runtime timer firing every second instead of a thread: a pending
 *     timer keeps checkdead from reporting a deadlock.
 *   - Making the updater at startup, as Go does: every goroutine after it
 *     would get a goid one higher than in stage 01 or under
 *     updatemaxprocs=0. It is made at the first change instead, so a run
 *     whose limit never changes has exactly the goroutines it asked for.
 *
 * The stop-the-world preempts a goroutine that spins without calls, so an
 * update never waits for one (stages 02 and 03 wait).
 *
 * Invariants:
 *   - upd.idle == 1 iff the updater is parked or not yet made, and only
 *     then is it handed a value; the monitor clears idle, the updater sets
 *     it, each under upd.lock. upd.gp is written by the monitor only.
 *   - The updater is readied only by the monitor, after upd.lock is
 *     released (goready takes sched.lock: no new lock order).
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <string.h>

/* Go's updateMaxProcsGState. */
static struct {
    mutex    lock;
    g       *gp;                /* the updater, once made */
    uint32_t idle;              /* parked (or not made): may take a value */
    int32_t  procs;             /* the new GOMAXPROCS, while !idle */
} upd;

static uint32_t enabled;        /* atomic: updates on for this run */

/* Go's updateMaxProcsGoroutine. Never returns (g.system). */
static void updatemaxprocsgoroutine(void *unused)
{
    (void)unused;
    for (;;) {
        lock(&upd.lock);
        int32_t n = upd.procs;
        unlock(&upd.lock);
        updategomaxprocs(n);
        lock(&upd.lock);
        if (upd.idle)
            gort_throw("updatemaxprocs: phase error");
        upd.idle = 1;
        gopark(parkunlock_c, &upd.lock, "GOMAXPROCS updater (idle)");
    }
}

/* Go's sysmonUpdateGOMAXPROCS: the monitor's look, once a second. */
void sysmonupdategomaxprocs(void)
{
    if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE))
        return;
    lock(&sched.lock);
    bool custom = sched.customgomaxprocs;
    unlock(&sched.lock);
    if (custom)
        return;
    int procs = defaultgomaxprocs(0);              /* the affinity mask now */
    if (procs > MAXGOMAXPROCS)
        procs = MAXGOMAXPROCS;
    if (procs == __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED))
        return;
    lock(&upd.lock);
    bool idle = upd.idle;
    if (idle) {
        upd.procs = procs;
        upd.idle = 0;
    }
    unlock(&upd.lock);
    if (!idle)
        return;                                     /* the last one is still going */
    if (upd.gp == NULL)
        upd.gp = newsystemproc(updatemaxprocsgoroutine, NULL, "updateMaxProcsGoroutine");
    else
        goready(upd.gp);
}

/* ---- on and off (stage 04: sysmon looks, every MAXPROCS_PERIOD) ------- */

/* At runtime_main's start, once the world runs. sched is fresh, so a
 * runtime_gomaxprocs(n) that main already made keeps its mark. */
void maxprocs_start(void)
{
    memset(&upd, 0, sizeof upd);
    upd.idle = 1;
    if (debug.gomaxprocsenv) {
        lock(&sched.lock);
        sched.customgomaxprocs = true;
        unlock(&sched.lock);
    }
    bool on = debug.updatemaxprocs && !debug.gomaxprocsenv && !debug.fakeclock;
    __atomic_store_n(&enabled, on, __ATOMIC_RELEASE);
}

/* When main has returned, before the Ms are joined: sysmon, still running,
 * looks no more. */
void maxprocs_stop(void)
{
    __atomic_store_n(&enabled, 0, __ATOMIC_RELEASE);
}
