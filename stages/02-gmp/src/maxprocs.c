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
 *   1. Once a second a monitor computes the default again. In this stage it
 *      is a thread of its own that runtime_main starts (maxprocs_start) and
 *      that sleeps on a note between looks; from stage 04 sysmon does it.
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
 * real time; in those runs no monitor thread is started either.
 *
 * The updater is a system goroutine (newsystemproc): runtime_num_goroutine,
 * leak checks and checkdead do not count it, and dumps leave it out. A
 * program whose goroutines are all blocked is deadlocked, updater or not:
 * checkdead counts running Ms, and the updater parks between updates.
 *
 * Rejected:
 *   - Resizing from the monitor: stoptheworld needs a P, and in stages 02
 *     and 03 it waits, for as long as it takes, for every goroutine to
 *     reach a scheduling point.
 *   - A runtime timer firing every second instead of a thread: a pending
 *     timer keeps checkdead from reporting a deadlock.
 *   - Making the updater at startup, as Go does: every goroutine after it
 *     would get a goid one higher than in stage 01 or under
 *     updatemaxprocs=0. It is made at the first change instead, so a run
 *     whose limit never changes has exactly the goroutines it asked for.
 *
 * In this stage a stop-the-world waits for every goroutine to call into the
 * runtime: an update that comes while one spins without calls stops the
 * others until it does (stage 04 preempts it), as runtime_gomaxprocs would.
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

#include <pthread.h>
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

/* ---- the monitor thread (stages 02 and 03; stage 04 has sysmon) ------ */

static struct {
    pthread_t thread;
    bool      started;
    note      stop;
} mon;

static void *maxprocsmonitor(void *arg)
{
    (void)arg;
    while (!notetsleep(&mon.stop, MAXPROCS_PERIOD))
        sysmonupdategomaxprocs();
    return NULL;
}

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
    mon.started = false;
    if (!on)
        return;
    noteclear(&mon.stop);
    mon.started = pthread_create(&mon.thread, NULL, maxprocsmonitor, NULL) == 0;
}

/* When main has returned, before the Ms are joined. */
void maxprocs_stop(void)
{
    __atomic_store_n(&enabled, 0, __ATOMIC_RELEASE);
    if (!mon.started)
        return;
    notewakeup(&mon.stop);
    pthread_join(mon.thread, NULL);
    mon.started = false;
}
