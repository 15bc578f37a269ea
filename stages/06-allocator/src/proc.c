/*
 * proc.c: goroutines and the scheduler (mirrors Go's src/runtime/proc.go;
 * Go 1.1's src/pkg/runtime/proc.c is the closest ancestor in C).
 *
 * The problem stage 02 leaves. Its Ps made the run queue scale, but an
 * idle P never looks into another P's queue: 100 CPU-bound goroutines
 * spawned by main run on main's P while the other Ps sleep, and a fork-
 * join program (fib) gets no speedup from a second P.
 *
 * The design of stage 03, which this stage keeps: stage 02, plus work
 * stealing, Go 1.1's.
 *
 *   - GOMAXPROCS Ps, each with a local run queue (runq.c): a lock-free ring
 *     that only the M holding the P appends to, and that this M and the Ms
 *     of idle Ps (thieves) take from, by CAS. An M must hold a P to run Gs
 *     (acquirep/releasep); Ms without a P sleep on the idle list.
 *   - A G made runnable by a running G (go, goready) goes into its P's
 *     runnext slot, the G that was there to the queue's tail: it runs as
 *     soon as its creator blocks, on the same CPU and cache, and inherits
 *     the rest of the time slice (execute, inheritTime), so that a pair
 *     passing a value back and forth counts as one G for the 61-tick check
 *     and the slice (stage 04: sysmon's retake ends the shared slice after
 *     10 ms, preempting whichever of the pair runs, as Go's does; stage
 *     03's runnextexpire, which did that in findrunnable, is gone).
 *   - findrunnable looks, in order: every 61st tick the global queue;
 *     the local queue (runnext first); the global queue; the other Ps'
 *     queues, stealing half of one (stealwork: 4 rounds over the Ps in a
 *     random order, runnext only in the last); then it gives up its P and
 *     sleeps. Stage 05 puts the network poller before stealing (netpoll(0)
 *     when goroutines wait on sockets), and lets one M with nothing to do
 *     block in netpoll until the next timer instead of sleeping
 *     (netpollblockm; the hooks are marked "stage 05").
 *   - Spinning Ms: an M that steals is "spinning". At most half as many
 *     Ms spin as there are busy Ps; a G made runnable wakes an idle P's M
 *     only when no M spins (wakep); a spinner that finds work wakes the
 *     next (resetspinning). So a burst of work pulls in idle Ps one at a
 *     time, and a steady load does not keep waking threads for nothing.
 *   - The global queue (under sched.lock) holds what overflows and what
 *     has no P to go to: a G readied by an M without a P, a G leaving a
 *     system call that found no idle P, gosched's G (as in Go), the queues
 *     of Ps destroyed by procresize.
 *   - System calls (runtime_entersyscall/exitsyscall): the M leaves its P
 *     in _Psyscall and takes it straight back when the call returns. Stage
 *     04: only when the call lasts (sysmon's retake, preempt.c, after 20 us
 *     to 10 ms) is the P handed to another M (handoffp: to an M if it has
 *     work, or to a spinning M if no M spins and no P is idle, so that the
 *     busy Ps' work can be stolen). Back from the kernel, the M takes its
 *     old P if it is still _Psyscall or idle, any idle P otherwise, and
 *     failing both queues its G on the global queue and goes idle
 *     (exitsyscall0).
 *   - Stop the world (runtime_gomaxprocs): every P is stopped at its next
 *     schedule(); procresize then creates or destroys Ps, moving a dead P's
 *     queue and runnext to the global queue, and the world restarts.
 *
 * Stage 03 did not preempt: a G that looped without a call kept its P,
 * and stealing moves only Gs that wait, never a running one. This stage
 * preempts (preempt.c; the hooks here are listed below).
 *
 * Waking a worker without losing work (Go's "Worker thread parking/
 * unparking"). A thread that submits work and a thread going to sleep
 * race: if each looks at the other's state before its own store is seen,
 * the work waits with every M asleep. Go's protocol, and gort's:
 *   1. Submitting: put the G on a queue (runqput: runnext's exchange,
 *      seq_cst; or the global queue under sched.lock).
 *   2. StoreLoad: that exchange is seq_cst, so the loads of step 3 cannot
 *      pass it.
 *   3. wakep: if a P is idle and no M spins (npidle, nmspinning, seq_cst),
 *      claim nmspinning 0 -> 1 and start an M with an idle P, spinning.
 *   4. Looking: a spinner checks the local, global and every other queue;
 *      at most (busy Ps) / 2 Ms spin at once.
 *   5. Going idle: put the P on the idle list (npidle++, seq_cst), then
 *      decrement nmspinning (seq_cst), then look at the global queue and
 *      every P's queue once more (seq_cst loads: runqempty); if work is there, take an idle
 *      P back and spin again. Work submitted before the decrement is seen
 *      here; work submitted after it sees nmspinning == 0 at step 3 and
 *      wakes an M: in C11 terms the two seq_cst operations cannot both
 *      read the old value of the other's store.
 *   6. Found work while spinning: stop spinning, and wakep, since this M
 *      may have been the last spinner and more work may be waiting.
 * An M that is not spinning goes idle without step 5's second look: a
 * spinner exists (or wakep will start one) to find what it misses.
 * If step 5 finds work but no idle P, or wakep's idle P is gone once it
 * holds the lock, it sets needspinning, and the next M about to drop its
 * P spins instead (Go 1.21).
 *
 * Rejected here, and why:
 *   - Locking each local queue so others may take from it: the owner
 *     would pay for a lock on every put and get, for the rare thief.
 *   - Pushing new work to idle Ps (work sharing): the producer pays for
 *     every G, and keeps paying when everyone is busy. Go lets idle Ps pull.
 *   - Waking an M for every new G (stage 02 woke one per global put): with
 *     a steady stream, threads wake, find nothing, and sleep again; the
 *     spinning limit caps that at one in flight.
 *   - Stealing one G at a time: a thief would come back for each; half the
 *     queue amortises the CAS and balances two Ps in one step.
 *   - Handing the P off at every system call (stage 02's eager hand-off):
 *     a thread wake-up per call, for calls that mostly last a microsecond.
 *     Stage 04 keeps the P (_Psyscall) and lets sysmon notice a long one.
 *
 * Preemption (stage 04, preempt.c) hooks in here at a few places, each
 * marked "stage 04": execute (counts schedtick for sysmon, clears the
 * request), mustbeinruntime (the cooperative safe point), gopreempt (the
 * yield), entersyscall/exitsyscall (_Psyscall), stoptheworld (preempts
 * running Ps, stops Ps in system calls) and runtime_main (starts and
 * stops sysmon, which also preempts every spinner once main returns).
 *
 * Timers on the Ps (stage 05, time.c) hook in at a few places, each
 * marked "stage 05": findrunnable, gosched and gopreempt run their P's
 * due timers (checktimers(pp, now) instead of stage 04's global
 * runtimers); stealwork's last round runs every other P's due timers, idle
 * Ps' included (Go's stealWork); an M without a P when every P is busy
 * (stopm), and the M that sysmon preempted for a due timer (gopreempt_m),
 * run every P's (checkalltimers); and runtime_gomaxprocs moves the timers
 * of the Ps it destroys (destroytimers). Idle Ms sleep until timer0when(),
 * now the earliest timer of all the Ps, and publish that deadline
 * (idlewhen), against which timers_changed(when) decides whether a new
 * timer needs an idle M woken.
 *
 * Blocking protocol (gopark/goready, Go's names and rules):
 *   1. A G that must wait puts itself on some wait queue (a channel's, a
 *      semaphore's, a timer) while holding that queue's lock.
 *   2. It calls gopark(unlockf, lock, reason). gopark switches to g0
 *      (mcall), saving the G's registers on its own stack.
 *   3. On g0, park_m marks the G _Gwaiting and only then calls
 *      unlockf(lock). From this moment another thread may find the G on
 *      the wait queue and goready it: its context is already saved, so it
 *      can be resumed on any thread.
 *   4. goready marks it _Grunnable and puts it in the readying M's P's
 *      runnext slot, and wakes a P to steal what waits behind it (or, on
 *      an M without a P, puts it on the global queue, waking an idle P).
 *
 * Handing a P to a sleeping M (startm, startlockedm, stopm):
 *   1. Under sched.lock, the giver takes the M off the idle list (mget)
 *      and sets m->nextp.
 *   2. It calls notewakeup(&m->park).
 *   3. The sleeper checks m->nextp under sched.lock before every sleep,
 *      and clears its note under the same lock hold, so a wake-up can come
 *      early or late but is never lost.
 *
 * Invariants:
 *   - A G is on a run queue (local, runnext or global) iff its status is
 *     _Grunnable and no M has taken it to run; a thief takes it only by a
 *     successful CAS on the victim's runqhead or runnext.
 *   - sched.nmspinning == the number of Ms with m.spinning set (each holds
 *     a P), plus transient claims by wakep/handoffp before startm.
 *   - m->curg == gp iff gp is _Grunning (or _Gsyscall) on m, and gp->m == m.
 *   - mp->p == pp iff pp->m == mp and pp is _Prunning; stage 04: pp->m
 *     also names the M while pp is _Psyscall (mp->oldp == pp).
 *   - A P is on sched.pidle iff _Pidle, and then its local queue and its
 *     runnext are empty.
 *   - When every M is idle, no G is runnable, no timer is pending and no
 *     thread is counted by runtime_thread_attach, no goroutine can ever
 *     run again: checkdead reports the deadlock.
 *     Under fakeclock=1, when a timer is pending then, checkdead moves the
 *     clock to it instead (time_fake.c).
 *   - Stage 05: at most one M blocks in netpoll, and sched.lastpoll == 0
 *     exactly while one does; that M holds no P and is not idle, so
 *     checkdead does not run while goroutines wait on sockets.
 *   - Every random choice comes from fastrandn (rand.c), seeded per run.
 *   - Code that may run on either side of a switch reads the current M
 *     through getm() each time, never from a cached TLS address: the G may
 *     resume on another thread (HACKING.md).
 */
#define _GNU_SOURCE
#include "runtime2.h"
#include "san.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

schedt sched;
mutex  allglock;
g    **allgs;
size_t allglen;
static size_t allgcap;

static __thread m *tls_m;
static bool running;      /* a runtime_main is in progress */
static bool poisoned;     /* a previous run left threads we could not join */
static int32_t nforeign;  /* threads counted by runtime_thread_attach; sched.lock */
static uint32_t foreignwoke;  /* atomic: a thread that is no M readied a G */
static uint32_t worldsema = 1;   /* one stop-the-world at a time */
/* Stage 05: a time by which some idle M wakes from its sleep in stopm
 * (the earliest deadline among some of the sleeping Ms), INT64_MAX when
 * none is known. Written under sched.lock: lowered by an M going to sleep
 * with a deadline, reset to INT64_MAX whenever an M leaves the idle list
 * (it may have been the one that set it). Read atomically by
 * timers_changed, Go's pollUntil in wakeNetPoller: a new timer due no
 * earlier needs no wake-up. */
static int64_t idlewhen = INT64_MAX;

static void *mstart(void *arg);
static void  schedule(m *mp);
static g    *findrunnable(m *mp, bool *inherit);
static void  execute(m *mp, g *gp, bool inherit);
static void  checkdead(void);
static g    *newproc1(void (*fn)(void *), void *arg, const char *fn_name,
                      const char *caller, const char *file, int line);
static void  globrunqput(g *gp);
static g    *globrunqget(p *pp, int32_t max);
static void  wakep(void);
static void  wakeidle(void);
static bool  stopm(m *mp);
static bool  netpollblockm(m *mp);   /* stage 05 */
static void  handoffp(p *pp);
static bool  checkalltimers(p *first);

/* ---- the current M and G --------------------------------------------- */

/* Never inlined or analysed across calls: a goroutine that calls getm(),
 * parks, and resumes on another thread must see the new thread's M. */
#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noinline, noipa))
#else
#define NOIPA __attribute__((noinline))
#endif

NOIPA m *getm(void) { return tls_m; }

NOIPA g *getg(void)
{
    m *mp = tls_m;
    return mp ? mp->curg : NULL;
}

void mustbeinruntime(const char *what)
{
    g *gp = getg();
    if (gp == NULL)
        gort_fatal_outside(what);
    preemptcheck(gp);            /* stage 04: an API entry is a safe point */
}

/* ---- status ----------------------------------------------------------- */

uint32_t readgstatus(g *gp)
{
    return __atomic_load_n(&gp->atomicstatus, __ATOMIC_ACQUIRE);
}

/* Every transition is made by the one thread that owns the G at that
 * moment (the protocol in the header comment), so a checked store does:
 * Go needs a CAS because its GC also claims Gs; gort's debug build uses
 * one to catch a second, racing owner. */
void casgstatus(g *gp, uint32_t oldval, uint32_t newval)
{
    uint32_t expected = oldval;
#if GORT_DEBUG >= 1
    bool ok = __atomic_compare_exchange_n(&gp->atomicstatus, &expected, newval, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
#else
    expected = __atomic_load_n(&gp->atomicstatus, __ATOMIC_RELAXED);
    bool ok = expected == oldval;
    if (ok)
        __atomic_store_n(&gp->atomicstatus, newval, __ATOMIC_RELEASE);
#endif
    if (!ok) {
        char buf[96];
        snprintf(buf, sizeof buf, "casgstatus: goroutine %lld: bad status %u, want %u -> %u",
                 (long long)gp->goid, expected, oldval, newval);
        gort_throw(buf);
    }
}

/* A coarse clock (a few ns, ~4 ms resolution) for wait durations, which
 * dumps print in minutes. Go likewise records waitsince only roughly.
 * Under fakeclock=1, the fake clock, so that dumps replay too. */
static int64_t coarsetime(void)
{
    if (faketime_enabled())
        return nanotime();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sample one ready-to-running latency in 64, so that reading the clock
 * (25 ns on these machines) stays off the fast path. Go samples one in 8
 * (gTrackingPeriod); a switch here costs half of Go's, so the clock would
 * weigh twice as much. */
static void markrunnable(g *gp)
{
    m *mp = getm();
    if (mp && (++mp->readytick & 63) == 0)
        gp->runnable_since = nanotime();
}

/* ---- goroutine creation (newproc) and the free list (gfget/gfput) ---- */

static void allgadd(g *gp)
{
    lock(&allglock);
    if (allglen == allgcap) {
        allgcap = allgcap ? 2 * allgcap : 1024;
        g **n = realloc(allgs, allgcap * sizeof *allgs);
        if (n == NULL)
            gort_throw("out of memory growing allgs");
        allgs = n;
    }
    allgs[allglen++] = gp;
    unlock(&allglock);
}

/* A dead G with its stack, from the free list (Go's gfget). */
static g *gfget(void)
{
    lock(&sched.lock);
    g *gp = sched.gfree;
    if (gp) {
        sched.gfree = gp->schedlink;
        sched.ngfree--;
        gp->schedlink = NULL;
    }
    unlock(&sched.lock);
    return gp;
}

static void gfput(g *gp)
{
    lock(&sched.lock);
    gp->schedlink = sched.gfree;
    sched.gfree = gp;
    sched.ngfree++;
    unlock(&sched.lock);
}

/* Lays out gp's new stack as if gp had been switched out just before its
 * first instruction: gort_gogo_g will "return" into gort_gostart with the
 * G in a callee-saved register and the default control words. Frame
 * layouts: asm_amd64.S, asm_arm64.S. */
static void gostartcall(g *gp)
{
    uintptr_t *sp = (uintptr_t *)gp->stack_hi;
#if defined(__x86_64__)
    *--sp = 0;                              /* keeps gort_gostart's rsp aligned */
    *--sp = (uintptr_t)gort_gostart;        /* return address */
    *--sp = 0;                              /* rbp */
    *--sp = 0;                              /* rbx */
    *--sp = (uintptr_t)gp;                  /* r12 */
    *--sp = 0;                              /* r13 */
    *--sp = 0;                              /* r14 */
    *--sp = 0;                              /* r15 */
    *--sp = 0x037F00001F80ULL;              /* x87 CW 0x37F, MXCSR 0x1F80 */
#elif defined(__aarch64__)
    sp -= 176 / sizeof *sp;                 /* x19..x30, d8..d15, FPCR: all 0 */
    memset(sp, 0, 176);
    sp[0] = (uintptr_t)gp;                  /* x19 */
    sp[11] = (uintptr_t)gort_gostart;       /* x30 */
#endif
    gp->sched.sp = sp;
}

static g *newproc1(void (*fn)(void *), void *arg, const char *fn_name,
                   const char *caller, const char *file, int line)
{
    g *gp = gfget();
    if (gp == NULL) {
        gp = galloc();
        __atomic_store_n(&gp->atomicstatus, _Gdead, __ATOMIC_RELEASE);
        allgadd(gp);
    }
    g *parent = getg();
    gp->fn = fn;
    gp->arg = arg;
    gp->fn_name = fn_name;
    gp->creator_fn = caller;
    gp->creator_file = file;
    gp->creator_line = line;
    gp->parent_goid = parent ? parent->goid : 0;
    __atomic_store_n(&gp->waitreason, NULL, __ATOMIC_RELAXED);
    /* atomic: scheddetail reads the goids of live Gs while Gs are reused */
    __atomic_store_n(&gp->goid, __atomic_add_fetch(&sched.goidgen, 1, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    __atomic_add_fetch(&sched.ngoroutines, 1, __ATOMIC_RELAXED);
    casgstatus(gp, _Gdead, _Grunnable);
    return gp;
}

/* go(fn, arg): Go's newproc. The new G goes into the creator's P's
 * runnext slot (the creator's data is hot in this CPU's cache), and an
 * idle P is woken to come and steal if no M is spinning already. */
void gort_go(void (*fn)(void *), void *arg, const char *fn_name,
             const char *caller, const char *file, int line)
{
    m *mp = getm();
    if (mp == NULL)
        gort_fatal_outside("go()");
    if (fn == NULL)
        gort_panic("go of nil func value");
    g *gp = newproc1(fn, arg, fn_name, caller, file, line);
    if (trace_enabled)
        trace_instant(mp, "create", gp);
    markrunnable(gp);
    if (mp->p) {
        __atomic_store_n(&mp->p->ncreated, mp->p->ncreated + 1, __ATOMIC_RELAXED);
        runqput(mp->p, gp, true);
        wakep();
    } else {
        globrunqput(gp);         /* go() between entersyscall and exitsyscall */
    }
}

/* Where every goroutine begins (called from gort_gostart) and ends. */
void gort_goroutine_entry(g *gp);
void gort_goroutine_entry(g *gp)
{
    san_goroutine_start();
    gp->fn(gp->arg);
    goexit();
}

/* ---- run queues: a local one per P, and the global one ---------------- */

/* GORT_DEBUG=3: the global queue, the idle lists and every P agree with
 * their counts and hold only what they should. Under sched.lock; O(n) at
 * every change. */
static void checkschedt(void)
{
#if GORT_DEBUG >= 3
    int32_t n = 0;
    g *last = NULL;
    for (g *gp = sched.runqhead; gp; gp = gp->schedlink, n++) {
        if (readgstatus(gp) != _Grunnable)
            gort_throw("checkschedt: G on the global run queue is not _Grunnable");
        last = gp;
    }
    if (n != sched.runqsize || last != sched.runqtail)
        gort_throw("checkschedt: global run queue length or tail is wrong");
    n = 0;
    for (m *mp = sched.midle; mp; mp = mp->schedlink, n++)
        if (!mp->idle || mp->p != NULL)
            gort_throw("checkschedt: M on the idle list is not idle, or holds a P");
    if (n != sched.nmidle || n > sched.mcount)
        gort_throw("checkschedt: idle M count is wrong");
    n = 0;
    for (p *pp = sched.pidle; pp; pp = pp->link, n++)
        if (__atomic_load_n(&pp->status, __ATOMIC_RELAXED) != _Pidle || pp->m != NULL ||
            !runqempty(pp))
            gort_throw("checkschedt: P on the idle list is not idle, or has work");
    if (n != sched.npidle || n > sched.gomaxprocs)
        gort_throw("checkschedt: idle P count is wrong");
    for (int32_t i = 0; i < sched.gomaxprocs; i++) {
        p *pp = sched.allp[i];
        if (runqlen(pp) > RUNQSIZE)
            gort_throw("checkschedt: local run queue length out of range");
        /* _Prunning needs its M, and so does _Psyscall (stage 04: p->m
         * stays while its M is in the call); a P with an M is one of those,
         * or _Pgcstop held by the M that stops the world. The M flips its
         * P between _Prunning and _Psyscall without the lock, so m->p is
         * compared only for _Pgcstop. */
        uint32_t s = __atomic_load_n(&pp->status, __ATOMIC_SEQ_CST);
        if (((s == _Prunning || s == _Psyscall) && pp->m == NULL) ||
            (pp->m != NULL && s != _Prunning && s != _Psyscall &&
             (s != _Pgcstop || pp->m->p != pp)))
            gort_throw("checkschedt: P status and its M disagree");
    }
#endif
}

/* The local queues, runnext and stealing are in runq.c. A batch from
 * runqputslow joins the global queue's tail in one lock hold, in order. */
void globrunqputbatch(g *first, g *last, int32_t n)
{
    last->schedlink = NULL;
    lock(&sched.lock);
    if (sched.runqtail)
        sched.runqtail->schedlink = first;
    else
        sched.runqhead = first;
    sched.runqtail = last;
    __atomic_store_n(&sched.runqsize, sched.runqsize + n, __ATOMIC_RELAXED);
    checkschedt();
    unlock(&sched.lock);
}

/* Appends gp to the global queue. Under sched.lock. */
static void globrunqputlocked(g *gp)
{
    gp->schedlink = NULL;
    if (sched.runqtail)
        sched.runqtail->schedlink = gp;
    else
        sched.runqhead = gp;
    sched.runqtail = gp;
    __atomic_store_n(&sched.runqsize, sched.runqsize + 1, __ATOMIC_RELAXED);
    checkschedt();
}

/* Puts gp at the head of the global queue (procresize). Under sched.lock. */
static void globrunqputhead(g *gp)
{
    gp->schedlink = sched.runqhead;
    sched.runqhead = gp;
    if (sched.runqtail == NULL)
        sched.runqtail = gp;
    __atomic_store_n(&sched.runqsize, sched.runqsize + 1, __ATOMIC_RELAXED);
}

/* Global work is what idle Ps can see: wake one for it. */
static void globrunqput(g *gp)
{
    lock(&sched.lock);
    globrunqputlocked(gp);
    unlock(&sched.lock);
    wakep();
}

/* Takes a fair share of the global queue for pp, Go's globrunqget: one G
 * to return, and up to size/gomaxprocs more (at most max, or half a local
 * queue) moved onto pp's local queue. Under sched.lock. */
static g *globrunqget(p *pp, int32_t max)
{
    if (sched.runqsize == 0)
        return NULL;
    int32_t n = sched.runqsize / sched.gomaxprocs + 1;
    if (n > sched.runqsize)
        n = sched.runqsize;
    if (max > 0 && n > max)
        n = max;
    if (n > RUNQSIZE / 2)
        n = RUNQSIZE / 2;
    __atomic_store_n(&sched.runqsize, sched.runqsize - n, __ATOMIC_RELAXED);
    g *gp = sched.runqhead;
    sched.runqhead = gp->schedlink;
    while (--n > 0) {
        g *g1 = sched.runqhead;
        sched.runqhead = g1->schedlink;
        if (runqlen(pp) >= RUNQSIZE / 2)   /* called only on an empty queue */
            gort_throw("globrunqget: local run queue is full");
        runqput(pp, g1, false);
    }
    if (sched.runqhead == NULL)
        sched.runqtail = NULL;
    gp->schedlink = NULL;
    debugcheck(readgstatus(gp) == _Grunnable, "globrunqget: G on run queue is not runnable");
    checkschedt();
    return gp;
}

/* ---- idle Ms and idle Ps ------------------------------------------------ */

/* Under sched.lock. */
static void mput(m *mp)
{
    mp->schedlink = sched.midle;
    sched.midle = mp;
    __atomic_store_n(&mp->idle, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sched.nmidle, sched.nmidle + 1, __ATOMIC_RELAXED);
}

static m *mget(void)
{
    m *mp = sched.midle;
    if (mp) {
        sched.midle = mp->schedlink;
        mp->schedlink = NULL;
        __atomic_store_n(&mp->idle, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&sched.nmidle, sched.nmidle - 1, __ATOMIC_RELAXED);
        __atomic_store_n(&idlewhen, INT64_MAX, __ATOMIC_RELAXED);   /* stage 05 */
    }
    return mp;
}

/* Takes mp off the idle list if it is still there (its sleep timed out). */
static void mremove(m *mp)
{
    if (!mp->idle)
        return;
    for (m **pp = &sched.midle; *pp; pp = &(*pp)->schedlink) {
        if (*pp == mp) {
            *pp = mp->schedlink;
            mp->schedlink = NULL;
            __atomic_store_n(&mp->idle, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&sched.nmidle, sched.nmidle - 1, __ATOMIC_RELAXED);
            __atomic_store_n(&idlewhen, INT64_MAX, __ATOMIC_RELAXED);   /* stage 05 */
            return;
        }
    }
    gort_throw("mremove: idle M not on the idle list");
}

/* Under sched.lock. pp has no M and an empty queue. */
static void pidleput(p *pp)
{
    if (!runqempty(pp))
        gort_throw("pidleput: P has non-empty run queue");
    __atomic_store_n(&pp->status, _Pidle, __ATOMIC_RELAXED);
    pp->link = sched.pidle;
    sched.pidle = pp;
    /* seq_cst: a spinner going idle publishes this before its re-check. */
    __atomic_store_n(&sched.npidle, sched.npidle + 1, __ATOMIC_SEQ_CST);
}

static p *pidleget(void)
{
    p *pp = sched.pidle;
    if (pp) {
        sched.pidle = pp->link;
        pp->link = NULL;
        __atomic_store_n(&sched.npidle, sched.npidle - 1, __ATOMIC_RELAXED);
    }
    return pp;
}

/* Takes pp off the idle list wherever it is (exitsyscall's old P). */
static bool pidleremove(p *pp)
{
    for (p **l = &sched.pidle; *l; l = &(*l)->link) {
        if (*l == pp) {
            *l = pp->link;
            pp->link = NULL;
            __atomic_store_n(&sched.npidle, sched.npidle - 1, __ATOMIC_RELAXED);
            return true;
        }
    }
    return false;
}

/* mp takes pp (Go's acquirep). Under sched.lock. */
static void acquirep(m *mp, p *pp)
{
    if (mp->p != NULL || pp->m != NULL)
        gort_throw("acquirep: already in use");
    mp->p = pp;
    __atomic_store_n(&pp->m, mp, __ATOMIC_RELAXED);     /* stage 04: exitsyscall reads it */
    __atomic_store_n(&pp->status, _Prunning, __ATOMIC_RELAXED);
}

/* mp lets go of its P and returns it (Go's releasep). Under sched.lock. */
static p *releasep(m *mp)
{
    p *pp = mp->p;
    if (pp == NULL || pp->m != mp ||
        __atomic_load_n(&pp->status, __ATOMIC_RELAXED) != _Prunning)   /* stage 04: CAS'd unlocked */
        gort_throw("releasep: invalid P state");
    mp->p = NULL;
    __atomic_store_n(&pp->m, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&pp->status, _Pidle, __ATOMIC_RELAXED);
    return pp;
}

/* A P that reached a stop-the-world: counted, and the stopper woken when
 * it is the last. Under sched.lock. */
static void pstopped(p *pp)
{
    __atomic_store_n(&pp->status, _Pgcstop, __ATOMIC_RELAXED);
    if (--sched.stopwait == 0)
        notewakeup(&sched.stopnote);
}

static m *newm(p *pp, bool spinning);

/* ---- spinning Ms (the "Worker thread parking/unparking" protocol) ---- */

/* mp starts looking for work to steal (Go's becomeSpinning). */
static void becomespinning(m *mp)
{
    mp->spinstart = nanotime();
    __atomic_store_n(&mp->spinning, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sched.needspinning, 0, __ATOMIC_RELAXED);
}

/* mp stops spinning: it found work, or it gives up (step 5). The
 * decrement is seq_cst, and so are the loads of the re-check that follows
 * (runqempty, npidle): in the single total order of seq_cst operations
 * either the re-check comes after a submitter's runnext exchange and sees
 * it, or the submitter's load of nmspinning comes after the decrement. */
static void stopspinning(m *mp)
{
    __atomic_store_n(&mp->spinning, 0, __ATOMIC_RELAXED);
    if (__atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST) < 0)
        gort_throw("findrunnable: negative nmspinning");
    __atomic_add_fetch(&sched.spinningns, nanotime() - mp->spinstart, __ATOMIC_RELAXED);
}

/* The runtime is exiting and nobody will run pp again: the Gs on its
 * queue never run (as in Go, where exit ends the process under every
 * goroutine still alive), so they are dropped, and pp goes idle with the
 * empty queue pidleput demands, where a stop-the-world still finds it.
 * Under sched.lock; pp has no M, so nobody puts into its queue (a thief may
 * still take some, by the same CAS). */
static void runqdrop(p *pp)
{
    bool inherit;
    while (runqget(pp, &inherit) != NULL)
        ;
}

/* Gives pp to an idle M, or to a new one (Go's startm); a spinning M has
 * been counted in nmspinning by the caller. Under sched.lock. */
static void startmlocked(p *pp, bool spinning)
{
    if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
        runqdrop(pp);            /* nobody will run it now, nor its Gs */
        pidleput(pp);
        if (spinning)
            __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
        return;
    }
    m *mp = mget();
    if (mp == NULL) {
        newm(pp, spinning);
        return;
    }
    if (mp->nextp != NULL)
        gort_throw("startm: M has nextp");
    if (spinning) {
        mp->spinstart = nanotime();
        __atomic_store_n(&mp->spinning, 1, __ATOMIC_RELAXED);
    }
    mp->nextp = pp;
    notewakeup(&mp->park);
}

/* pp's M is leaving it (a system call, a locked G's wait, a thread exit):
 * give pp to another M if it has work; if no M is spinning and no P is
 * idle, to a spinning M, which will steal from the busy Ps; else park it
 * (Go's handoffp). */
static void handoffp(p *pp)
{
    bool idle = false;
    lock(&sched.lock);
    int32_t zero = 0;
    if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_RELAXED)) {
        pstopped(pp);
    } else if (!runqempty(pp) || sched.runqsize > 0) {
        startmlocked(pp, false);
    } else if (__atomic_load_n(&sched.nmspinning, __ATOMIC_SEQ_CST) + sched.npidle == 0 &&
             __atomic_compare_exchange_n(&sched.nmspinning, &zero, 1, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&sched.needspinning, 0, __ATOMIC_RELAXED);
        startmlocked(pp, true);
    } else {
        pidleput(pp);
        idle = true;
    }
    checkschedt();
    unlock(&sched.lock);
    /* The M that let go of pp keeps running (a system call), so it will
     * not sleep on the timers; make sure some M does (Go's handoffp calls
     * wakeNetPoller). Else a sleep armed while every M was busy is never
     * fired by anyone. */
    int64_t when = idle ? timer0when() : 0;
    if (when != 0)
        timers_changed(when);
}

/* New work exists (step 3): if a P is idle and no M is spinning, start
 * one spinning M, which steals it or passes the baton on (Go's wakep).
 * At most one M is woken per call, and none while another one spins:
 * the spinner that finds work wakes the next (resetspinning). If the idle
 * P is gone by the time the lock is held, the next M about to drop its P
 * spins instead (needspinning: Go 1.21's pidlegetSpinning). The first
 * test is Go 1.20's: Go 1.21 dropped it, and so takes sched.lock at every
 * wakep while every P is busy and no M spins, only to set needspinning.
 * gort keeps it: work submitted while no P is idle sits on a running P,
 * which runs it in time; a P that goes idle just after the test may stay
 * idle meanwhile, as in Go 1.20. */
static void wakep(void)
{
    if (__atomic_load_n(&sched.npidle, __ATOMIC_SEQ_CST) == 0)
        return;
    int32_t zero = 0;
    if (__atomic_load_n(&sched.nmspinning, __ATOMIC_SEQ_CST) != 0 ||
        !__atomic_compare_exchange_n(&sched.nmspinning, &zero, 1, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return;
    lock(&sched.lock);
    p *pp = pidleget();
    if (pp)
        startmlocked(pp, true);
    else {                       /* the P went meanwhile: undo the count */
        __atomic_store_n(&sched.needspinning, 1, __ATOMIC_RELAXED);
        if (__atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST) < 0)
            gort_throw("wakep: negative nmspinning");
    }
    unlock(&sched.lock);
}

/* mp, spinning, found a G to run (step 6): it stops spinning, and since
 * it may have been the last spinner, wakes another to keep looking
 * (Go's resetspinning). */
static void resetspinning(m *mp)
{
    stopspinning(mp);
    wakep();
}

/* An earlier timer: wake one idle M to re-arm its sleep. */
static void wakeidle(void)
{
    if (__atomic_load_n(&sched.nmidle, __ATOMIC_RELAXED) == 0)
        return;
    lock(&sched.lock);
    m *mp = mget();
    unlock(&sched.lock);
    if (mp)
        notewakeup(&mp->park);
}

/* A timer due at `when` heads its P's heap (Go's wakeNetPoller(when)).
 * Stage 05: nothing to do if an idle M wakes by then anyway (idlewhen):
 * it will see the timer, whichever P holds it; this test reads two words
 * that rarely change, where asking every P for its earliest timer
 * (timer0when) would pull each P's heap head into this CPU's cache at
 * every sleep. Else an idle M re-arms its sleep for it; with no M idle (Ms
 * start on demand), one is started for an idle P, to find nothing to run
 * and sleep until the timer. With every P busy and none idle, the running
 * Ms check the timers at each schedule(). */
void timers_changed(int64_t when)
{
    /* Stage 05: an M blocked in netpoll sleeps until the timer it saw;
     * break its poll so it waits for this one (Go's wakeNetPoller; Go
     * breaks only when the new timer is earlier than the poll's end,
     * gort whenever a new earliest timer is added while one polls). The
     * fence pairs with netpollblockm's between lastpoll and timer0when. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&sched.lastpoll, __ATOMIC_SEQ_CST) == 0) {
        sysmontimer(when);       /* stage 04: sysmon sleeps until it too */
        netpollBreak();
        return;
    }
    bool idlems = __atomic_load_n(&sched.nmidle, __ATOMIC_RELAXED) > 0;
    if (idlems && when >= __atomic_load_n(&idlewhen, __ATOMIC_RELAXED))
        return;
    sysmontimer(when);           /* stage 04: sysmon sleeps until it too */
    if (idlems)
        wakeidle();
    else
        wakep();
}

/* Parks mp, which holds no P, until it is handed one: true then, false when
 * the runtime is exiting. Called with sched.lock held; returns without it.
 * While the Ms sleep, the timers are theirs: an M whose sleep ends at the
 * earliest timer takes an idle P to run it, or runs it without one. */
static bool stopm(m *mp)
{
    bool timerdue = false;       /* stage 05 */
    for (;;) {
        p *pp = mp->nextp;
        if (pp != NULL) {
            mp->nextp = NULL;
            acquirep(mp, pp);
            checkschedt();
            unlock(&sched.lock);
            /* Stage 05: woken for a due timer, which may sit on any P's
             * heap, a busy P's included: run it now, with the P, so that
             * what it wakes goes to this P. findrunnable alone runs only
             * this P's timers, and steals others' only when few enough Ms
             * spin: an M that did not would find the timer still due and
             * wake again at once, for as long as its owner ran on. */
            if (timerdue)
                checkalltimers(pp);
            return true;
        }
        if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
            unlock(&sched.lock);
            return false;
        }
        if (sched.runqsize > 0 && !sched.gcwaiting && (pp = pidleget()) != NULL) {
            mp->nextp = pp;      /* work arrived while we were letting go */
            continue;
        }
        if (mp->spinning)        /* a spinner sleeps only after step 5 */
            gort_throw("stopm: spinning M");
        noteclear(&mp->park);
        mput(mp);
        checkdead();
        int64_t when = timer0when();
        int64_t deadline = when != 0 && !faketime_enabled() ? when : INT64_MAX;
        if (deadline < __atomic_load_n(&idlewhen, __ATOMIC_RELAXED))
            __atomic_store_n(&idlewhen, deadline, __ATOMIC_RELAXED);   /* stage 05 */
        unlock(&sched.lock);

        __atomic_store_n(&mp->blocked, 1, __ATOMIC_RELAXED);
        bool woken = true;
        if (when != 0 && !faketime_enabled()) {
            int64_t d = when - nanotime();
            woken = d > 0 && notetsleep(&mp->park, d);
        } else {
            notesleep(&mp->park);
        }
        __atomic_store_n(&mp->blocked, 0, __ATOMIC_RELAXED);

        lock(&sched.lock);
        mremove(mp);
        if (woken || mp->nextp != NULL)
            continue;
        /* A timer is due. */
        if (!sched.gcwaiting && (pp = pidleget()) != NULL) {
            mp->nextp = pp;      /* findrunnable will run it, with a P */
            timerdue = true;
            continue;
        }
        unlock(&sched.lock);
        checkalltimers(NULL);    /* every P is busy: run it without one (stage 05: any P's) */
        timerswoke();            /* stage 04: sysmon preempts a P for what it woke */
        lock(&sched.lock);
    }
}

/* mp, whose P is needed elsewhere, stops for stop-the-world (Go's gcstopm).
 * Returns with a P, or false when the runtime is exiting. */
static bool gcstopm(m *mp)
{
    if (mp->spinning)
        stopspinning(mp);        /* starttheworld wakes Ms as needed */
    lock(&sched.lock);
    pstopped(releasep(mp));
    return stopm(mp);
}

/* ---- blocking: gopark, goready, mcall ------------------------------- */

/* Switches from the current G (mp->curg) to mp's g0, which then calls
 * fn(gp). `dying`: gp will never run again (goexit). Go's mcall. Inlined,
 * so that the code resuming after the switch returns straight to its
 * caller. */
static inline __attribute__((always_inline))
void mcall(m *mp, g *(*fn)(g *), bool dying)
{
    g *gp = mp->curg;
    /* The software half of overflow detection (stack.c): a stack without
     * a guard page that is past its end now, or has written into the
     * never-used gap below it (untouched, it reads as the kernel's shared
     * zero page and costs no memory), is caught here. */
    char *sp = __builtin_frame_address(0);
    if (sp < (char *)gp->stack_lo || sp > (char *)gp->stack_hi ||
        (!gp->stack_guarded && ((volatile uint64_t *)gp->stack_lo)[-1] != 0))
        gort_throw("stack overflow");
    mp->mcall_fn = fn;
    san_swap(gort_gogo_g0, &gp->sched, &mp->g0, mp->g0_stack_lo, mp->g0_stack_size,
             mp->tsan_g0, dying);
}

bool parkunlock_c(g *gp, void *l)
{
    (void)gp;
    unlock(l);
    return true;
}

static g *park_m(g *gp)
{
    m *mp = getm();
    casgstatus(gp, _Grunning, _Gwaiting);
    if (trace_enabled)
        trace_instant(mp, "park", gp);
    bool (*fn)(g *, void *) = mp->waitunlockf;
    if (fn) {
        void *l = mp->waitlock;
        mp->waitunlockf = NULL;
        mp->waitlock = NULL;
        if (!fn(gp, l)) {
            /* The wait is already over: run it again at once, in the
             * rest of its time slice (schedule: Go's execute(gp, true)). */
            casgstatus(gp, _Gwaiting, _Grunnable);
            return gp;
        }
    }
    return NULL;
}

/* Puts the current goroutine to sleep until goready(gp). unlockf(gp, lock)
 * runs on g0 once the G is safely parked; returning false aborts the park. */
void gopark(bool (*unlockf)(g *, void *), void *l, const char *reason)
{
    m *mp = getm();
    g *gp = mp ? mp->curg : NULL;
    if (gp == NULL)
        gort_fatal_outside(reason);
    mp->waitunlockf = unlockf;
    mp->waitlock = l;
    __atomic_store_n(&gp->waitreason, reason, __ATOMIC_RELAXED);
    __atomic_store_n(&gp->waitsince, coarsetime(), __ATOMIC_RELAXED);
    mcall(mp, park_m, false);
}

/* Makes a parked G runnable: into the runnext slot of the P of the M that
 * calls it, so that it runs as soon as the caller blocks and shares the
 * caller's time slice, waking an idle P for what waits behind it (Go's
 * ready); or on the global queue from an M without a P (a timer run by an
 * idle M) or from a thread that is no M (chan_try_send). */
void goready(g *gp)
{
    casgstatus(gp, _Gwaiting, _Grunnable);
    m *mp = getm();
    if (mp == NULL)              /* a thread that is no M: checkdead's hint */
        __atomic_store_n(&foreignwoke, 1, __ATOMIC_RELAXED);
    if (trace_enabled && mp)
        trace_instant(mp, "ready", gp);
    markrunnable(gp);
    if (mp && mp->p) {
        runqput(mp->p, gp, true);
        wakep();
    } else {
        globrunqput(gp);
    }
}

/* Go's Gosched puts the G on the global queue, so that it yields to the
 * whole program, not only to its P. When the local queue is empty the
 * next G comes from the global queue in the same lock hold. The due
 * timers run first, here on g0 (time.c: a timer's f may need more stack
 * than a goroutine has; Go runs them in schedule), and what they wake
 * goes to this P, ahead of gp. */
static g *gosched_m(g *gp)
{
    m *mp = getm();
    checktimers(mp->p, 0);       /* stage 05: this P's timers */
    casgstatus(gp, _Grunning, _Grunnable);
    markrunnable(gp);
    lock(&sched.lock);
    globrunqputlocked(gp);
    g *next = NULL;
    if (!__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE) && !sched.gcwaiting &&
        runqempty(mp->p) && mp->lockedg == NULL)
        next = globrunqget(mp->p, 0);
    bool more = sched.runqsize > 0;
    unlock(&sched.lock);
    if (more)
        wakep();
    return next;
}

void gosched(void)
{
    m *mp = getm();
    if (mp == NULL || mp->curg == NULL)
        gort_fatal_outside("gosched()");
    mcall(mp, gosched_m, false);
}

/* Stage 04, on g0: the current G was asked to stop (preempt.c: a safe
 * point, or the SIGURG trampoline, which leaves only a little of the G's
 * stack free: preemptroom). It runs the due timers here, then yields as
 * gosched does, to the global queue behind everything waiting (Go's
 * gopreempt_m -> goschedImpl); but when the timers woke Gs onto this P
 * (its queue, or its runnext slot, where goready puts the first) it
 * queues behind them there instead, so that the 1-in-61 global check
 * cannot hand the P straight back to it before they run (sysmon preempted
 * it for them: preempt.c, timerpreempt). */
static g *gopreempt_m(g *gp)
{
    m *mp = getm();
    p *pp = mp->p;
    uint32_t tail = pp->runqtail;
    g *next = __atomic_load_n(&pp->runnext, __ATOMIC_RELAXED);
    checkalltimers(pp);          /* stage 05: sysmon's due timer may be another busy P's */
    g *now = __atomic_load_n(&pp->runnext, __ATOMIC_RELAXED);
    if (pp->runqtail == tail && (now == NULL || now == next))
        return gosched_m(gp);    /* woke none here (its checktimers: none due) */
    casgstatus(gp, _Grunning, _Grunnable);
    markrunnable(gp);
    runqput(pp, gp, false);
    return NULL;
}

void gopreempt(void)
{
    m *mp = getm();
    if (trace_enabled)
        trace_instant(mp, "preempt", mp->curg);
    mcall(mp, gopreempt_m, false);
}

static g *goexit0(g *gp)
{
    m *mp = getm();
    casgstatus(gp, _Grunning, _Gdead);
    stackfree(gp);
    san_fiber_destroy(gp->tsan_fiber);
    gp->tsan_fiber = NULL;
    /* Release: whoever sees the count drop (runtime_num_goroutine, a leak
     * check) also sees everything the goroutine did. */
    __atomic_sub_fetch(&sched.ngoroutines, 1, __ATOMIC_RELEASE);
    gp->fn = NULL;
    gp->arg = NULL;
    __atomic_store_n(&gp->waitreason, NULL, __ATOMIC_RELAXED);
    gp->param = NULL;
    gp->waiting = NULL;
    if (mp->lockedg == gp) {
        /* Exiting while locked: the thread may hold state the goroutine
         * changed, so it is not reused (Go 1.10+). schedule() ends it. */
        gp->lockedm = NULL;
        mp->lockedg = NULL;
        mp->lockedext = 0;
        mp->exitthread = true;
    }
    gfput(gp);
    return NULL;
}

void goexit(void)
{
    g *gp = getg();
    if (gp == NULL)
        gort_fatal_outside("goexit()");
    if (gp->goid == 1)
        __atomic_store_n(&sched.maingoexit, 1, __ATOMIC_RELAXED);
    if (trace_enabled)
        trace_instant(getm(), "exit", gp);
    mcall(getm(), goexit0, true);
    gort_throw("goexit: dead goroutine resumed");
}

int64_t goid(void)
{
    g *gp = getg();
    return gp ? gp->goid : 0;
}

/* ---- system calls: handing the P off -------------------------------- */

/* Stage 04: takes pp, an M's P in _Psyscall, for a stop-the-world, by a
 * CAS that the M's exitsyscall may win first. Under sched.lock. */
static bool stopsyscallp(p *pp)
{
    uint32_t s = _Psyscall;
    if (!__atomic_compare_exchange_n(&pp->status, &s, _Pgcstop, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return false;
    __atomic_store_n(&pp->m, NULL, __ATOMIC_RELAXED);
    return true;
}

/* Stage 04: a stop-the-world began as pp went into _Psyscall: stop pp
 * here, unless stoptheworld's CAS did (Go's entersyscall_gcwait). */
static void entersyscall_gcwait(p *pp)
{
    lock(&sched.lock);
    if (sched.stopwait > 0 && stopsyscallp(pp) && --sched.stopwait == 0)
        notewakeup(&sched.stopnote);
    unlock(&sched.lock);
}

/* The calling goroutine is about to block in the kernel. Stage 04: its P
 * stays behind in _Psyscall, unowned, for the M to take back in
 * exitsyscall; if the call lasts, sysmon's retake hands the P to another
 * M (Go's entersyscall; stage 02 handed off at once, like Go's
 * entersyscallblock). No runtime call may be made until
 * runtime_exitsyscall.
 *
 * Stage 04's fast path takes no lock (Go's): the M lets go of its P with
 * a store of _Psyscall, and whoever takes the P from _Psyscall (this M in
 * exitsyscall, retakep, stoptheworld) claims it by a CAS, which exactly
 * one of them wins. p->m keeps naming the M meanwhile (Go clears it), so
 * that p->m still changes only under sched.lock, where sysmon reads it
 * (and the M that takes its P back reads it atomically: another M's P,
 * once retaken and left in _Psyscall again, is taken the same way, and
 * then p->m is set under the lock); m->p, which other threads read only in
 * schedtrace, is stored atomically.
 * The store of _Psyscall and the load of gcwaiting are seq_cst, as are
 * stoptheworld's store of gcwaiting and its CAS: one of the two sides
 * sees the other, and the CAS decides who stops the P. */
void runtime_entersyscall(void)
{
    m *mp = getm();
    g *gp = mp ? mp->curg : NULL;
    if (gp == NULL)
        gort_fatal_outside("runtime_entersyscall()");
    casgstatus(gp, _Grunning, _Gsyscall);
    if (trace_enabled) {
        trace_instant(mp, "syscall", gp);
        trace_goend(mp, gp);
    }
    p *pp = mp->p;
    __atomic_store_n(&pp->syscalltick, pp->syscalltick + 1, __ATOMIC_RELAXED);   /* scheddetail */
    mp->oldp = pp;
    __atomic_store_n(&mp->p, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&pp->status, _Psyscall, __ATOMIC_SEQ_CST);        /* stage 04: lazy */
    if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_SEQ_CST))
        entersyscall_gcwait(pp);         /* a stop-the-world is waiting for it */
    if (trace_enabled)
        trace_gostart(mp, gp);           /* on the M's own track */
}

/* Stage 04, sysmon (preempt.c): pp has sat in _Psyscall too long. Take it
 * from its M, which finds it gone in exitsyscall, and hand it off (Go's
 * retake). The CAS races the M's own in exitsyscall; false if the M took
 * it back first. */
bool retakep(p *pp)
{
    lock(&sched.lock);
    uint32_t s = _Psyscall;
    bool took = __atomic_compare_exchange_n(&pp->status, &s, _Pidle, false,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    if (took)
        __atomic_store_n(&pp->m, NULL, __ATOMIC_RELAXED);
    unlock(&sched.lock);
    if (took)
        handoffp(pp);
    return took;
}

/* Stage 04, sysmon: a timer is due, a P is idle and no M is there to run
 * the timer: start one (Go's wakeNetPoller from sysmon). */
void sysmonwakep(void)
{
    wakep();
}

/* On g0: no P was free when gp left its system call (Go's exitsyscall0). */
static g *exitsyscall0(g *gp)
{
    m *mp = getm();
    casgstatus(gp, _Gsyscall, _Grunnable);
    lock(&sched.lock);
    p *pp = sched.gcwaiting ? NULL : pidleget();
    if (pp) {
        acquirep(mp, pp);
        unlock(&sched.lock);
        return gp;
    }
    globrunqputlocked(gp);
    if (mp->lockedg == gp) {
        /* Only this M may run gp: wait for whoever dequeues it to hand us
         * a P (startlockedm). schedule() sees mp->lockedg and waits. */
        unlock(&sched.lock);
        return NULL;
    }
    if (!stopm(mp))
        return NULL;             /* exiting */
    return NULL;                 /* with a P: schedule() looks for work */
}

/* Back from the kernel: run on at once if a P can be had, the old one
 * first (its queue and caches are this G's), else queue and wait. Stage
 * 04: the old P, if still _Psyscall, is taken back by a CAS, without the
 * lock (Go's exitsyscallfast); its p->m is still this M. */
void runtime_exitsyscall(void)
{
    m *mp = getm();
    g *gp = mp ? mp->curg : NULL;
    if (gp == NULL)
        gort_fatal_outside("runtime_exitsyscall()");
    if (readgstatus(gp) != _Gsyscall)
        gort_panic("runtime_exitsyscall: not in a system call");
    p *oldp = mp->oldp;
    mp->oldp = NULL;
    uint32_t s = _Psyscall;
    if (__atomic_compare_exchange_n(&oldp->status, &s, _Prunning, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        if (__atomic_load_n(&oldp->m, __ATOMIC_RELAXED) != mp) {
            /* Rare: oldp was retaken, handed to another M, and left by it
             * in _Psyscall in turn; any M may take a _Psyscall P (Go's
             * exitsyscallfast), and that M will find it gone. p->m changes
             * under sched.lock (sysmon reads it there). */
            lock(&sched.lock);
            __atomic_store_n(&oldp->m, mp, __ATOMIC_RELAXED);
            unlock(&sched.lock);
        }
        __atomic_store_n(&mp->p, oldp, __ATOMIC_RELAXED);   /* stage 04: not retaken */
        casgstatus(gp, _Gsyscall, _Grunning);
        if (trace_enabled) {
            trace_goend(mp, gp);
            trace_gostart(mp, gp);       /* back on a P's track */
        }
        return;
    }
    lock(&sched.lock);
    p *pp = NULL;
    if (!sched.gcwaiting) {
        if (__atomic_load_n(&oldp->status, __ATOMIC_RELAXED) == _Pidle && pidleremove(oldp))
            pp = oldp;
        else
            pp = pidleget();
    }
    if (pp) {
        acquirep(mp, pp);
        unlock(&sched.lock);
        casgstatus(gp, _Gsyscall, _Grunning);
        if (trace_enabled) {
            trace_goend(mp, gp);
            trace_gostart(mp, gp);       /* back on a P's track */
        }
        return;
    }
    unlock(&sched.lock);
    mcall(mp, exitsyscall0, false);
}

/* ---- locked goroutines: runtime_lock_os_thread ------------------------ */

/* Wires the calling goroutine to its thread: until as many unlocks, only
 * this M runs it, and this M runs nothing else (Go's LockOSThread). */
void runtime_lock_os_thread(void)
{
    m *mp = getm();
    g *gp = mp ? mp->curg : NULL;
    if (gp == NULL)
        gort_fatal_outside("runtime_lock_os_thread()");
    if (mp->lockedext++ == 0) {
        mp->lockedg = gp;
        gp->lockedm = mp;
    }
}

void runtime_unlock_os_thread(void)
{
    m *mp = getm();
    g *gp = mp ? mp->curg : NULL;
    if (gp == NULL)
        gort_fatal_outside("runtime_unlock_os_thread()");
    if (mp->lockedext == 0)
        return;                  /* as in Go: unlocking an unlocked G is a no-op */
    if (--mp->lockedext == 0) {
        mp->lockedg = NULL;
        gp->lockedm = NULL;
    }
}

/* mp's locked G is not running: give the P away and sleep until someone
 * hands us a P to run it with (Go's stoplockedm). NULL when exiting. */
static g *stoplockedm(m *mp)
{
    if (mp->p) {
        p *pp;
        lock(&sched.lock);
        pp = releasep(mp);
        unlock(&sched.lock);
        handoffp(pp);
    }
    lock(&sched.lock);
    sched.nmidlelocked++;
    checkdead();
    while (mp->nextp == NULL && !__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
        noteclear(&mp->park);
        unlock(&sched.lock);
        __atomic_store_n(&mp->blocked, 1, __ATOMIC_RELAXED);
        notesleep(&mp->park);
        __atomic_store_n(&mp->blocked, 0, __ATOMIC_RELAXED);
        lock(&sched.lock);
    }
    if (mp->nextp == NULL)
        sched.nmidlelocked--;    /* exiting; else startlockedm counted us out */
    p *pp = mp->nextp;
    mp->nextp = NULL;
    if (pp)
        acquirep(mp, pp);
    unlock(&sched.lock);
    if (pp == NULL)
        return NULL;
    if (readgstatus(mp->lockedg) != _Grunnable)
        gort_throw("stoplockedm: locked G not runnable");
    return mp->lockedg;
}

/* gp, just taken from a queue by mp, is locked to another M: give that M
 * our P and wake it; mp goes idle (Go's startlockedm). */
static void startlockedm(m *mp, g *gp)
{
    m *lm = gp->lockedm;
    lock(&sched.lock);
    if (lm == mp || lm->nextp != NULL) {   /* nextp is sched.lock's */
        unlock(&sched.lock);
        gort_throw("startlockedm: locked to me, or M busy");
    }
    sched.nmidlelocked--;        /* now, not when lm wakes: checkdead must
                                    not see every M idle in between */
    lm->nextp = releasep(mp);
    unlock(&sched.lock);
    notewakeup(&lm->park);
}

/* ---- stop the world, procresize --------------------------------------- */

/* Stops every P but the caller's, each at its next schedule() (Go's
 * stopTheWorldWithSema). Stage 04: a P in a system call is stopped where
 * it is (its M finds it _Pgcstop in exitsyscall), and every running G is
 * asked to yield, again every 100 us until all have (a signal that landed
 * in libc was refused), so a loop with no calls cannot hold the world up. */
static void stoptheworld(m *mp)
{
    lock(&sched.lock);
    noteclear(&sched.stopnote);
    sched.stopwait = sched.gomaxprocs;
    __atomic_store_n(&sched.gcwaiting, 1, __ATOMIC_SEQ_CST);  /* entersyscall's fast path */
    __atomic_store_n(&mp->p->status, _Pgcstop, __ATOMIC_RELAXED);
    sched.stopwait--;
    for (p *pp; (pp = pidleget()) != NULL;) {
        __atomic_store_n(&pp->status, _Pgcstop, __ATOMIC_RELAXED);
        sched.stopwait--;
    }
    for (int32_t i = 0; i < sched.gomaxprocs; i++)         /* stage 04 */
        if (stopsyscallp(sched.allp[i]))
            sched.stopwait--;
    bool wait = sched.stopwait > 0;
    unlock(&sched.lock);
    if (wait) {
        preemptall();                                       /* stage 04 */
        while (!notetsleep(&sched.stopnote, 100 * 1000))
            preemptall();
    }
    if (sched.stopwait != 0)
        gort_throw("stoptheworld: not stopped");
}

/* Stage 05: the world is stopped for a resize to n Ps. The timers of the
 * Ps that will die go to the P the caller will hold, its own if it
 * survives, else allp[0] (procresize; Go's moveTimers in p.destroy).
 * Before procresize takes sched.lock, not under it as in Go: a timer's f
 * runs under its P's timerslock and may take sched.lock (goready), and an
 * M without a P may be running timers (stopm) while the world is stopped.
 * Nobody adds a timer to a dying P meanwhile: every P but the caller's is
 * stopped, and a caller without a P uses allp[0] (time.c). */
static void destroytimers(m *mp, int32_t n)
{
    p *dst = mp->p->id < n ? mp->p : sched.allp[0];
    for (int32_t i = n; i < sched.gomaxprocs; i++)
        movetimers(dst, sched.allp[i]);
}

/* Changes the number of Ps to n, with the world stopped, under sched.lock
 * (Go's procresize). Ps beyond n die, their Gs moving to the head of the
 * global queue in order; new Ps are made or revived. The caller keeps its
 * P if it survives, else takes allp[0]. Returns the Ps that have work and
 * need an M, linked through p.link. */
static p *procresize(m *mp, int32_t n)
{
    int32_t old = sched.gomaxprocs;
    for (int32_t i = 0; i < n; i++) {
        p *pp = sched.allp[i];
        if (pp == NULL) {
            pp = calloc(1, sizeof *pp);
            if (pp == NULL)
                gort_throw("out of memory allocating Ps");
            pp->id = i;
            pp->mcache = allocmcache();                     /* stage 06 */
            __atomic_store_n(&sched.allp[i], pp, __ATOMIC_RELEASE);
            __atomic_store_n(&sched.allplen, i + 1, __ATOMIC_RELEASE);
        }
        if (pp->mcache == NULL)                             /* stage 06: P0 */
            __atomic_store_n(&pp->mcache, allocmcache(), __ATOMIC_RELEASE);
        __atomic_store_n(&pp->status, _Pgcstop, __ATOMIC_RELAXED);
    }
    for (int32_t i = n; i < old; i++) {
        p *pp = sched.allp[i];
        g *gs[RUNQSIZE + 1];
        for (int32_t k = runqdrain(pp, gs); k > 0; k--)
            globrunqputhead(gs[k - 1]);
        mcache_releaseAll(pp->mcache);      /* stage 06: its spans to mcentral */
        __atomic_store_n(&pp->status, _Pdead, __ATOMIC_RELAXED);
    }
    p *mine = mp->p;
    if (mine->id >= n) {
        __atomic_store_n(&mine->m, NULL, __ATOMIC_RELAXED);
        mp->p = NULL;
        acquirep(mp, sched.allp[0]);
    } else {
        __atomic_store_n(&mine->status, _Prunning, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&sched.gomaxprocs, n, __ATOMIC_RELAXED);
    stealorder_reset((uint32_t)n);
    p *runnable = NULL;
    for (int32_t i = n - 1; i >= 0; i--) {
        p *pp = sched.allp[i];
        if (pp == mp->p)
            continue;
        if (runqempty(pp)) {
            pidleput(pp);
        } else {
            pp->link = runnable;
            runnable = pp;
        }
    }
    return runnable;
}

/* Restarts the world, in the same sched.lock hold as procresize (Go's
 * startTheWorldWithSema): an M for every P with work. Were the lock let go
 * in between, a wakep could hand one of the Ps procresize just made idle
 * to an M that would still see gcwaiting and stop it again, with no world
 * to restart it: the next stop-the-world would wait for it for ever. The
 * caller wakes one more P for the global queue once it unlocks. */
static void starttheworld(p *runnable)
{
    __atomic_store_n(&sched.gcwaiting, 0, __ATOMIC_RELAXED);
    while (runnable) {
        p *pp = runnable;
        runnable = pp->link;
        pp->link = NULL;
        startmlocked(pp, false);
    }
    checkschedt();
}

/* ---- schedule --------------------------------------------------------- */

/* Runs gp on mp. inherit: gp came from runnext, and continues the time
 * slice of the G that readied it, so schedtick does not move (Go's
 * inheritTime). */
static void execute(m *mp, g *gp, bool inherit)
{
    casgstatus(gp, _Grunnable, _Grunning);
    if (gp->stack_hi == NULL) {
        stackalloc(gp);          /* first run: stacks are attached late */
        gostartcall(gp);
        gp->tsan_fiber = san_fiber_create();
    }
    __atomic_store_n(&gp->m, mp, __ATOMIC_RELAXED);
    __atomic_store_n(&mp->curg, gp, __ATOMIC_RELAXED);
    if (gp->runnable_since) {
        metrics_record_latency(nanotime() - gp->runnable_since);
        gp->runnable_since = 0;
    }
    p *pp = mp->p;
    if (!inherit)
        __atomic_store_n(&pp->schedtick, pp->schedtick + 1, __ATOMIC_RELAXED);   /* scheddetail */
    /* Stage 04: a new time slice clears the request; an inherited slice
     * keeps one made for it (p.preemptslice). */
    bool want = inherit && __atomic_load_n(&pp->preemptslice, __ATOMIC_RELAXED) ==
                           (PREEMPTSLICE | pp->schedtick);
    __atomic_store_n(&gp->preempt, want, __ATOMIC_RELAXED);
    __atomic_store_n(&pp->nswitch, pp->nswitch + 1, __ATOMIC_RELAXED);
    if (trace_enabled)
        trace_gostart(mp, gp);
    san_swap(gort_gogo_g, &mp->g0, &gp->sched, gp->stack_lo,
             (size_t)((char *)gp->stack_hi - (char *)gp->stack_lo), gp->tsan_fiber, false);
    /* Back on g0: gp called mcall. */
    if (trace_enabled)
        trace_goend(mp, gp);
    __atomic_store_n(&mp->curg, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&gp->m, NULL, __ATOMIC_RELAXED);
}

/* Stage 05: runs the due timers of first (if any), then of every other P:
 * an M without a P when every P is busy (stopm), and an M that sysmon
 * preempted because a timer was due (gopreempt_m). Cheap when none is
 * due: one atomic load per P. True if any timer ran. */
static bool checkalltimers(p *first)
{
    int64_t now = nanotime();
    bool ran = first != NULL && checktimers(first, now);
    /* The Ps in use (dead ones hold no timers: destroytimers). An M
     * without a P may run this while procresize makes new Ps: only those
     * published in allplen are read. */
    int32_t n = __atomic_load_n(&sched.allplen, __ATOMIC_ACQUIRE);
    int32_t procs = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
    if (procs < n)
        n = procs;
    for (int32_t i = 0; i < n; i++) {
        p *pp = __atomic_load_n(&sched.allp[i], __ATOMIC_ACQUIRE);
        if (pp != first && checktimers(pp, now))
            ran = true;
    }
    return ran;
}

/* Steals for pp from the other Ps: four rounds, each over every P in a
 * random order (a new one each round), runnext only in the last round
 * (Go's stealWork). Stage 05: the last round also runs the due timers of
 * every other P, idle ones included (nobody else may be there to run
 * them), and returns at once a G they readied onto pp. *newwork:
 * stop-the-world or exit began; start over. */
static g *stealwork(m *mp, p *pp, bool *inherit, bool *newwork)
{
    enum { stealtries = 4 };
    int32_t n = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
    for (int i = 0; i < stealtries; i++) {
        bool stealtimersornext = i == stealtries - 1;
        randomenum e = stealorder_start(fastrandn((uint32_t)n * (uint32_t)n));
        for (; !randomenum_done(&e); randomenum_next(&e)) {
            if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_RELAXED) ||
                __atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
                *newwork = true;
                return NULL;
            }
            p *p2 = sched.allp[e.pos];
            if (p2 == pp)
                continue;
            if (stealtimersornext && checktimers(p2, 0)) {      /* stage 05 */
                g *gp = runqget(pp, inherit);
                if (gp)
                    return gp;
            }
            if (__atomic_load_n(&p2->status, __ATOMIC_RELAXED) == _Pidle)
                continue;
            g *gp = runqsteal(pp, p2, stealtimersornext);
            if (gp) {
                if (trace_enabled)
                    trace_instant(mp, "steal", gp);
                return gp;
            }
        }
    }
    return NULL;
}

/* The last look of a spinner that has let go of its P and stopped
 * spinning (step 5): if some running P's queue has work, take an idle P
 * back and spin again. Under sched.lock. If no P is idle, asks the next
 * M about to drop its P to spin instead (needspinning, Go 1.21). */
static bool checkrunqsnop(m *mp)
{
    int32_t n = sched.gomaxprocs;
    for (int32_t i = 0; i < n; i++) {
        p *p2 = sched.allp[i];
        if (__atomic_load_n(&p2->status, __ATOMIC_RELAXED) == _Pidle || runqempty(p2))
            continue;
        p *pp = pidleget();
        if (pp == NULL) {
            __atomic_store_n(&sched.needspinning, 1, __ATOMIC_RELAXED);
            return false;
        }
        acquirep(mp, pp);
        becomespinning(mp);
        return true;
    }
    return false;
}

/* Finds a G for mp to run, in Go's order: every 61st tick the global queue
 * first, then the local queue (runnext first), the global queue, then
 * other Ps' queues (stealwork) if few enough Ms spin already; with nothing
 * anywhere the P goes idle and the M sleeps (stopm) until handed a P
 * again. *inherit: the G came from runnext. Returns with mp holding a P,
 * or NULL (and no P) when exiting. */
static g *findrunnable(m *mp, bool *inherit)
{
    *inherit = false;
    for (;;) {
        if (mp->p == NULL) {     /* gave its P away: wait for one */
            lock(&sched.lock);
            if (!stopm(mp))
                return NULL;
        }
        if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
            if (mp->spinning)
                stopspinning(mp);
            lock(&sched.lock);
            releasep(mp);        /* its queue may hold Gs: they never run */
            unlock(&sched.lock);
            return NULL;
        }
        if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_RELAXED)) {
            if (!gcstopm(mp))
                return NULL;
            continue;
        }
        p *pp = mp->p;
        checktimers(pp, 0);      /* stage 05: this P's timers */
        g *gp;
        if (pp->schedtick % 61 == 0 && __atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) > 0) {
            lock(&sched.lock);
            gp = globrunqget(pp, 1);
            unlock(&sched.lock);
            if (gp)
                return gp;
        }
        if ((gp = runqget(pp, inherit)) != NULL)
            return gp;
        if (__atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) > 0) {
            lock(&sched.lock);
            gp = globrunqget(pp, 0);
            bool more = sched.runqsize > 0;
            unlock(&sched.lock);
            if (gp) {
                if (more)
                    wakep();     /* pass the rest of the burst on */
                return gp;
            }
        }
        /* Stage 05: the network, without blocking, before stealing (Go's
         * findRunnable): a G whose socket is ready runs here, the rest of
         * what the poll returned goes to the queues (injectglist). */
        if (netpollinited() && netpollwaiters() > 0 &&
            __atomic_load_n(&sched.lastpoll, __ATOMIC_SEQ_CST) != 0) {
            g *list = netpoll(0);
            if (list != NULL) {
                gp = list;
                injectglist(gp->schedlink);
                gp->schedlink = NULL;
                casgstatus(gp, _Gwaiting, _Grunnable);
                markrunnable(gp);
                return gp;
            }
        }
        /* Steal, unless half the busy Ps' count spin already: more would
         * burn CPU for nothing (step 4). One P has nobody to steal from. */
        int32_t procs = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
        int32_t busy = procs - __atomic_load_n(&sched.npidle, __ATOMIC_SEQ_CST);
        if (procs > 1 && (mp->spinning ||
                          2 * __atomic_load_n(&sched.nmspinning, __ATOMIC_SEQ_CST) < busy)) {
            if (!mp->spinning)
                becomespinning(mp);
            bool newwork = false;
            if ((gp = stealwork(mp, pp, inherit, &newwork)) != NULL)
                return gp;
            if (newwork)
                continue;
        }
        lock(&sched.lock);
        if (sched.gcwaiting) {
            unlock(&sched.lock);
            continue;
        }
        gp = globrunqget(pp, 0);
        if (gp) {
            bool more = sched.runqsize > 0;
            unlock(&sched.lock);
            if (more)
                wakep();
            return gp;
        }
        if (!mp->spinning && __atomic_load_n(&sched.needspinning, __ATOMIC_RELAXED)) {
            becomespinning(mp);  /* a spinner found work but had no P */
            unlock(&sched.lock);
            continue;
        }
        /* Nothing: give up the P and sleep, in one lock hold, so that a
         * wakep after this finds both the idle P and this idle M. */
        pidleput(releasep(mp));
        checkschedt();
        if (mp->spinning) {
            /* Step 5: stop spinning, then look everywhere once more. Work
             * submitted before the decrement is seen here; work submitted
             * after it sees nmspinning == 0 and wakes an M (wakep). Every
             * spinner does it, not only the last, as in Go (issue 43997). */
            stopspinning(mp);
            if (sched.runqsize > 0) {
                p *p2 = pidleget();
                if (p2 != NULL) {
                    acquirep(mp, p2);
                    becomespinning(mp);
                    unlock(&sched.lock);
                    continue;
                }
                __atomic_store_n(&sched.needspinning, 1, __ATOMIC_RELAXED);
            }
            if (checkrunqsnop(mp)) {
                unlock(&sched.lock);
                continue;
            }
        }
        /* Stage 05: nothing to run anywhere. If goroutines wait on
         * sockets, one M (lastpoll 0 -> it) blocks in the poller, without
         * a P, until a socket is ready, the next timer, or a break (a new
         * earliest timer, the runtime's exit); the others sleep on their
         * notes. An M in netpoll is not idle, so checkdead does not run
         * while goroutines may still be woken by the network (Go's).
         * Under fakeclock with a timer pending it does not block: the last
         * idle M moves the clock (checkdead) instead. */
        if (!sched.gcwaiting && netpollinited() && netpollwaiters() > 0 &&
            !(faketime_enabled() && ntimers() > 0) && netpollblockm(mp))
            continue;
        if (!stopm(mp))
            return NULL;
    }
}

/* Stage 05: findrunnable's blocking poll. Called under sched.lock with no
 * P; returns true with a P and sched.lock released (run what it found, or
 * look again), false with sched.lock held (go to sleep: stopm), also when
 * another M polls already. */
static bool netpollblockm(m *mp)
{
    int64_t last = __atomic_load_n(&sched.lastpoll, __ATOMIC_SEQ_CST);
    if (last == 0 || !__atomic_compare_exchange_n(&sched.lastpoll, &last, 0, false,
                                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return false;
    unlock(&sched.lock);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);     /* pairs with timers_changed */
    int64_t when = timer0when(), delay = -1;
    if (when != 0) {
        delay = when - nanotime();
        if (delay < 0 || faketime_enabled())
            delay = 0;
    }
    g *list = netpoll(delay);    /* not m.blocked: that is a note sleep */
    __atomic_store_n(&sched.lastpoll, nanotime1(), __ATOMIC_SEQ_CST);
    lock(&sched.lock);
    p *pp = sched.gcwaiting ? NULL : pidleget();
    if (pp == NULL) {
        unlock(&sched.lock);
        injectglist(list);       /* every P is busy: the global queue */
        lock(&sched.lock);
        return false;
    }
    acquirep(mp, pp);
    checkschedt();
    unlock(&sched.lock);
    if (list != NULL) {          /* run the first here, queue the rest */
        g *gp = list;
        list = gp->schedlink;
        gp->schedlink = NULL;
        casgstatus(gp, _Gwaiting, _Grunnable);
        markrunnable(gp);
        runqput(pp, gp, true);
        injectglist(list);
    }
    return true;
}

/* Stage 05: makes the Gs netpoll returned (linked through schedlink,
 * _Gwaiting) runnable (Go's injectglist). On an M with a P, one G per
 * idle P goes to the global queue and an idle P is started for each; the
 * rest go to this P's queue. Without a P, all go to the global queue,
 * and as many idle Ps as there are Gs are started. */
void injectglist(g *list)
{
    if (list == NULL)
        return;
    int32_t n = 0;
    for (g *gp = list; gp; gp = gp->schedlink) {
        casgstatus(gp, _Gwaiting, _Grunnable);
        markrunnable(gp);
        n++;
    }
    m *mp = getm();
    p *pp = mp ? mp->p : NULL;
    int32_t nglob = n;
    if (pp != NULL) {
        int32_t npidle = __atomic_load_n(&sched.npidle, __ATOMIC_SEQ_CST);
        nglob = npidle < n ? npidle : n;
    }
    if (nglob > 0) {
        g *first = list, *last = list;
        for (int32_t i = 1; i < nglob; i++)
            last = last->schedlink;
        list = last->schedlink;
        lock(&sched.lock);
        last->schedlink = NULL;
        if (sched.runqtail)
            sched.runqtail->schedlink = first;
        else
            sched.runqhead = first;
        sched.runqtail = last;
        __atomic_store_n(&sched.runqsize, sched.runqsize + nglob, __ATOMIC_RELAXED);
        for (int32_t i = 0; i < nglob && !sched.gcwaiting && sched.npidle > 0; i++)
            startmlocked(pidleget(), false);
        checkschedt();
        unlock(&sched.lock);
    }
    while (list != NULL) {       /* the rest: this P's queue */
        g *gp = list;
        list = gp->schedlink;
        gp->schedlink = NULL;
        runqput(pp, gp, false);
    }
}

static void schedule(m *mp)
{
    g *gp = NULL;
    bool inherit = false;
    for (;;) {
        if (gp == NULL)                  /* a locked M runs its G or nothing */
            gp = mp->lockedg ? stoplockedm(mp) : findrunnable(mp, &inherit);
        if (gp == NULL)
            return;                      /* exiting */
        if (mp->spinning)
            resetspinning(mp);           /* found work: another M may look */
        if (gp->lockedm != NULL && gp->lockedm != mp) {
            startlockedm(mp, gp);        /* its own M runs it; we go idle */
            gp = NULL;
            continue;
        }
        execute(mp, gp, inherit);
        /* gp called mcall: finish what it asked for on this stack. */
        g *(*fn)(g *) = mp->mcall_fn;
        mp->mcall_fn = NULL;
        gp = fn(gp);             /* may hand back the next G to run */
        inherit = fn == park_m && gp != NULL;   /* an aborted park goes on */
        if (mp->exitthread) {
            if (mp->p) {
                p *pp;
                lock(&sched.lock);
                pp = releasep(mp);
                unlock(&sched.lock);
                handoffp(pp);
            }
            return;
        }
    }
}

/* Called under sched.lock by an M going idle (Go's checkdead): when no M
 * is running (every one idle, or waiting for its locked G), no G is on a
 * run queue (an idle P's is empty) and no timer is pending, nothing can
 * ever wake anyone.
 *
 * Nor can a thread that is no M while it is counted: a plain pthread that
 * will call chan_try_send in a moment is invisible to the scheduler, so a
 * program counts it (runtime_thread_attach) for as long as it may still
 * wake a goroutine, and checkdead counts it as a running M, as Go counts
 * a cgo program's extra M in mcount (which is why Go's detector never
 * fires under cgo). An uncounted one is not seen: when every goroutine
 * waits for it, the program is reported dead, as a Go program without cgo
 * would be; the message says so if such a thread has woken a goroutine
 * before. Why threads are not counted at their first call: HACKING.md. */
static void checkdead(void)
{
    if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE))
        return;
    int32_t run = sched.mcount - sched.nmidle - sched.nmidlelocked;
    if (run > 0 || sched.runqsize > 0)
        return;
    if (run < 0)
        gort_throw("checkdead: inconsistent M counts");
    if (nforeign > 0)
        return;                  /* it may still wake someone */
    if (ntimers() > 0) {
        /* fakeclock=1: nothing can run before the next timer, so the
         * clock jumps to it, and an idle P goes to an idle M (often the
         * caller) to run it (Go's checkdead under faketime; time_fake.c). */
        p *pp;
        if (faketime_jump() && (pp = pidleget()) != NULL)
            startmlocked(pp, false);
        return;
    }
    int32_t n = __atomic_load_n(&sched.ngoroutines, __ATOMIC_RELAXED);
    if (n == 0 && __atomic_load_n(&sched.maingoexit, __ATOMIC_RELAXED))
        gort_throw("no goroutines (main called runtime.Goexit) - deadlock!");
    if (n > 0 && __atomic_load_n(&foreignwoke, __ATOMIC_RELAXED))
        gort_throw("all goroutines are asleep - deadlock!\n\n"
                   "gort: threads outside the runtime woke goroutines in this run, and "
                   "none is counted now: count a thread that may still wake one with "
                   "runtime_thread_attach (gort.h)");
    if (n > 0)
        gort_throw("all goroutines are asleep - deadlock!");
}

/* ---- threads that are no M: runtime_thread_attach --------------------- */

/* Counts one thread that is no M and may still wake a goroutine: the
 * caller, or a thread the caller is about to create (attaching before
 * pthread_create leaves no moment where main could block uncounted).
 * checkdead counts it as a running M until runtime_thread_detach. */
void runtime_thread_attach(void)
{
    if (!__atomic_load_n(&running, __ATOMIC_ACQUIRE))
        gort_fatal_outside("runtime_thread_attach()");
    lock(&sched.lock);
    nforeign++;
    unlock(&sched.lock);
}

/* Ends one count. checkdead runs when an M goes idle; with the count back
 * at 0 and every M idle already, none would run it again, so one is woken
 * to look: it runs checkdead before it sleeps again, from an M, where the
 * report can list the goroutines. Once main has returned the count no
 * longer matters and the Ms are being joined: it only drops; after
 * runtime_main has returned, nothing happens (a thread may end after
 * main), but the next runtime_main must not have begun. */
void runtime_thread_detach(void)
{
    if (!__atomic_load_n(&running, __ATOMIC_ACQUIRE))
        return;                  /* the run is over: nothing left to count */
    lock(&sched.lock);
    if (nforeign == 0) {
        unlock(&sched.lock);
        gort_panic("runtime_thread_detach: no thread attached");
    }
    if (--nforeign == 0 && !__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE) &&
        sched.mcount - sched.nmidle - sched.nmidlelocked == 0) {
        m *mp = mget();
        if (mp != NULL)
            notewakeup(&mp->park);
        else                     /* every M waits for its locked G */
            newm(NULL, false);
    }
    unlock(&sched.lock);
}

/* ---- threads ----------------------------------------------------------- */

static void *mstart(void *arg)
{
    m *mp = arg;
    tls_m = mp;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &mp->g0_stack_lo, &mp->g0_stack_size);
        pthread_attr_destroy(&attr);
    }
    mp->tsan_g0 = san_current_fiber();
    minitsignals(mp);
    schedule(mp);
    unminitsignals(mp);
    lock(&sched.lock);
    sched.mcount--;              /* this thread runs no more Gs */
    checkdead();
    unlock(&sched.lock);
    tls_m = NULL;
    return NULL;
}

/* A new M, started with pp in hand (Go's newm). Under sched.lock. */
static m *newm(p *pp, bool spinning)
{
    if (sched.mcount >= 10000)
        gort_throw("thread exhaustion");   /* Go's limit: maxmcount */
    m *mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        gort_throw("out of memory allocating an M");
    mp->id = sched.mnext++;
    mp->nextp = pp;
    if (spinning) {
        mp->spinstart = nanotime();
        mp->spinning = 1;        /* before the thread exists: no race */
    }
    mrandinit(mp);
    mp->alllink = sched.allm;
    __atomic_store_n(&sched.allm, mp, __ATOMIC_RELEASE);   /* stage 04: preemptflush */
    sched.mcount++;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    if (pthread_create(&mp->thread, &attr, mstart, mp) != 0)
        gort_throw("newm: pthread_create failed");
    pthread_attr_destroy(&attr);
    return mp;
}

/* Goroutine 1: runs main_fn, then ends the program. */
static void main_goroutine(void *unused)
{
    (void)unused;
    int r = sched.main_fn(sched.argc, sched.argv);
    __atomic_store_n(&sched.exit_code, r, __ATOMIC_RELAXED);
    __atomic_store_n(&sched.exiting, 1, __ATOMIC_RELEASE);
    notewakeup(&sched.maindone);
}

/* How long stopallm waits for a thread still inside a goroutine. */
#define STOPALLM_GRACE 1000000000LL

/* pthread_timedjoin_np for at most ns: the deadline it takes is on the
 * wall clock, so stopallm waits in short slices and measures its grace on
 * the monotonic clock, which a step of the wall clock cannot cut short. */
static int joinwithin(pthread_t t, int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t n = ts.tv_nsec + ns;
    ts.tv_sec += n / 1000000000;
    ts.tv_nsec = n % 1000000000;
    return pthread_timedjoin_np(t, NULL, &ts);
}

/* Wakes every M so it sees sched.exiting, then joins them all, including
 * any started meanwhile. An M in the scheduler (no curg) is on its way
 * out, since every wait there checks sched.exiting: it is waited for as
 * long as the OS takes to run it (on a loaded machine, up to half a second
 * for the M that ran main). A thread inside a goroutine that never
 * reaches a scheduling point is preempted by sysmon meanwhile (stage 04);
 * one blocked in a system call gets a grace period; false if any is still
 * running then. */
static bool stopallm(void)
{
    int64_t start = nanotime1();
    bool all = true;
    for (;;) {
        /* Under sched.lock: a sleeper checks exiting and clears its note in
         * one hold, so this wake-up cannot fall between the two. */
        lock(&sched.lock);
        m *next = NULL;
        for (m *mp = sched.allm; mp; mp = mp->alllink) {
            notewakeup(&mp->park);
            if (!mp->joined)
                next = mp;
        }
        unlock(&sched.lock);
        netpollBreak();          /* stage 05: and the M blocked in netpoll */
        if (next == NULL)
            return all;
        int err = joinwithin(next->thread, 10 * 1000 * 1000);
        if (err == ETIMEDOUT && (nanotime1() - start < STOPALLM_GRACE ||
                                 __atomic_load_n(&next->curg, __ATOMIC_RELAXED) == NULL))
            continue;            /* wake them all again, and wait again */
        if (err == ETIMEDOUT)
            all = false;         /* still inside its goroutine: left behind */
        if (err == 0 || err == ETIMEDOUT) {
            lock(&sched.lock);
            next->joined = true;
            unlock(&sched.lock);
        }
    }
}

static void freeall(void)
{
    for (size_t i = 0; i < allglen; i++) {
        san_fiber_destroy(allgs[i]->tsan_fiber);
        free(allgs[i]->sleeptimer);
    }
    free(allgs);
    allgs = NULL;
    allglen = allgcap = 0;
    stackfreeall();
    timersfree();
    for (m *mp = sched.allm, *next; mp; mp = next) {
        next = mp->alllink;
        free(mp);
    }
    sched.allm = NULL;
    for (int32_t i = 0; i < sched.allplen; i++)
        free(sched.allp[i]);
    free(sched.allp);
    sched.allp = NULL;
    mallocend();                 /* stage 06: the heap, every arena */
}

int runtime_main(int (*main_fn)(int, char **), int argc, char **argv)
{
    return runtime_main_named(main_fn, "main", argc, argv);
}

int runtime_main_named(int (*main_fn)(int, char **), const char *name,
                       int argc, char **argv)
{
    if (getm() != NULL || running) {
        fputs("gort: runtime_main called while the runtime is already running\n", stderr);
        exit(2);
    }
    if (poisoned) {
        fputs("gort: runtime_main: threads of the previous run are still inside "
              "goroutines that never yielded; cannot start again\n", stderr);
        exit(2);
    }
    if (main_fn == NULL) {
        fputs("gort: runtime_main: main_fn is NULL\n", stderr);
        exit(2);
    }
    __atomic_store_n(&running, true, __ATOMIC_RELEASE);
    memset(&sched, 0, sizeof sched);
    sched.lastpoll = nanotime1();   /* stage 05: 0 would mean "an M is in netpoll" */
    nforeign = 0;
    idlewhen = INT64_MAX;
    __atomic_store_n(&foreignwoke, 0, __ATOMIC_RELAXED);
    worldsema = 1;
    int32_t nprocs = parseenv(getncpu());
    if (nprocs > MAXGOMAXPROCS)
        nprocs = MAXGOMAXPROCS;
    randinit();
    faketimeinit(debug.fakeclock != 0);
    sched.main_fn = main_fn;
    sched.main_name = name ? name : "main";
    sched.argc = argc;
    sched.argv = argv;
    sched.starttime = nanotime();
    stackinit();
    mallocstart();               /* stage 06: before the first P's mcache */
    timersinit();
    semainit();
    metrics_reset();
    initsig();
    if (debug.tracefile)
        trace_start(debug.tracefile);

    sched.allp = calloc(MAXGOMAXPROCS, sizeof *sched.allp);
    if (sched.allp == NULL)
        gort_throw("out of memory allocating Ps");
    /* M0 gets P0 and the main goroutine; the other Ps start idle, and Ms
     * for them are started when there is work (wakep). */
    m m0 = { 0 };                /* procresize's caller: holds P0 briefly */
    sched.allp[0] = calloc(1, sizeof(p));
    if (sched.allp[0] == NULL)
        gort_throw("out of memory allocating Ps");
    sched.allplen = 1;
    sched.gomaxprocs = 1;
    acquirep(&m0, sched.allp[0]);
    g *main_g = newproc1(main_goroutine, NULL, sched.main_name, NULL, NULL, 0);
    lock(&sched.lock);
    (void)procresize(&m0, nprocs);   /* no P has work yet: none to start */
    p *p0 = releasep(&m0);
    p0->runq[p0->runqtail++ % RUNQSIZE] = main_g;
    newm(p0, false);
    unlock(&sched.lock);
    preemptinit();               /* stage 04: the SIGURG handler, sysmon */
    schedtrace_start();
    maxprocs_start();            /* GOMAXPROCS follows the default (stage 02+) */

    notesleep(&sched.maindone);

    maxprocs_stop();             /* before stopallm: it may start an M */
    bool joined = stopallm();    /* sysmon preempts the spinners meanwhile */
    preemptfini();               /* stage 04 */
    schedtrace_stop();
    int code = __atomic_load_n(&sched.exit_code, __ATOMIC_RELAXED);
    if (!joined) {
        /* Their goroutines still use the runtime's memory: keep it. */
        poisoned = true;
        __atomic_store_n(&running, false, __ATOMIC_RELEASE);
        return code;
    }
    trace_stop();
    uninitsig();
    netpollfini();               /* stage 05: every M is joined */
    freeall();
    faketimeinit(false);
    __atomic_store_n(&running, false, __ATOMIC_RELEASE);
    return code;
}

/* ---- queries and GOMAXPROCS ------------------------------------------- */

/* Go's runtime.GOMAXPROCS: n < 1 only reports; otherwise stop the world,
 * resize the set of Ps, and start it again. */
int runtime_gomaxprocs(int n)
{
    if (!running)
        return parseenv(getncpu());
    int32_t prev = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
    if (n < 1)
        return prev;
    mustbeinruntime("runtime_gomaxprocs(n > 0)");
    lock(&sched.lock);
    sched.customgomaxprocs = true;   /* no more updates of the default (maxprocs.c) */
    unlock(&sched.lock);
    if (n > MAXGOMAXPROCS)
        n = MAXGOMAXPROCS;
    semacquire1(&worldsema, false, "stop the world");
    m *mp = getm();
    prev = sched.gomaxprocs;
    if (n != prev) {
        stoptheworld(mp);
        destroytimers(mp, n);    /* stage 05 */
        lock(&sched.lock);
        starttheworld(procresize(mp, n));
        unlock(&sched.lock);
        wakep();
    }
    semrelease1(&worldsema, false);
    return prev;
}

/* The updater goroutine's resize to the default n (maxprocs.c; Go's
 * updateMaxProcsGoroutine): as runtime_gomaxprocs, unless the program set
 * GOMAXPROCS since the monitor looked (checked under worldsema, which
 * orders this resize against the program's). */
void updategomaxprocs(int32_t n)
{
    semacquire1(&worldsema, false, "stop the world");
    lock(&sched.lock);
    bool custom = sched.customgomaxprocs;
    unlock(&sched.lock);
    m *mp = getm();
    if (!custom && n != sched.gomaxprocs) {
        stoptheworld(mp);
        destroytimers(mp, n);    /* stage 05 */
        lock(&sched.lock);
        starttheworld(procresize(mp, n));
        unlock(&sched.lock);
        wakep();
    }
    semrelease1(&worldsema, false);
}

/* A goroutine of the runtime's own (maxprocs.c's updater), made by a thread
 * that may be no M, onto the global queue. It is not counted in
 * ngoroutines (Go's sched.ngsys): runtime_num_goroutine, leak checks and
 * checkdead see the program's goroutines only; dumps skip it (Go's
 * isSystemGoroutine). It must never exit. */
g *newsystemproc(void (*fn)(void *), void *arg, const char *name)
{
    g *gp = newproc1(fn, arg, name, NULL, NULL, 0);
    gp->system = true;
    __atomic_sub_fetch(&sched.ngoroutines, 1, __ATOMIC_RELAXED);
    globrunqput(gp);
    return gp;
}

int runtime_num_goroutine(void)
{
    return __atomic_load_n(&sched.ngoroutines, __ATOMIC_ACQUIRE);
}

/* sync.Mutex may spin only where spinning can pay: several CPUs, another
 * P running (that could release the lock) and nothing in this P's queue
 * that this thread should be running instead (Go's sync_runtime_canSpin). */
bool mutex_can_spin(int iter)
{
    if (iter >= 4 || getncpu() <= 1)
        return false;
    int32_t idle = __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED);
    if (__atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED) <= idle + 1)
        return false;
    m *mp = getm();
    return mp && mp->p && runqempty(mp->p);
}
