/*
 * proc.c: goroutines and the scheduler (mirrors Go's src/runtime/proc.go;
 * Go 1.1's src/pkg/runtime/proc.c is the closest ancestor in C).
 *
 * The problem stage 01 leaves. With one run queue under one lock, every
 * goready and every schedule() on every thread takes sched.lock: beyond a
 * couple of threads they queue for it, and a thread blocked in a system
 * call takes a whole GOMAXPROCS slot with it.
 *
 * The design of this stage: Ps (processors).
 *
 *   - GOMAXPROCS Ps, each with a local run queue of RUNQSIZE slots that only
 *     the M holding the P touches, without a lock. An M must hold a P to
 *     run Gs (acquirep/releasep); Ms without a P sleep on the idle list.
 *   - A G made runnable (go, goready) goes to the local queue of the P of
 *     the M that readies it, so a producer and its consumer stay on one P
 *     and its cache. A full local queue moves half of itself to the global
 *     queue (runqputslow).
 *   - schedule() runs the local queue in FIFO order, and every 61st tick
 *     takes from the global queue first, so nothing there starves behind
 *     two goroutines that keep readying each other.
 *   - The global queue (under sched.lock) holds what overflows and what
 *     has no P to go to: a G readied by an M without a P, a G leaving a
 *     system call that found no idle P, gosched's G (as in Go), the queues
 *     of Ps destroyed by procresize. Putting a G there wakes an idle P
 *     (wakep); an M that takes a batch from it and leaves some behind wakes
 *     one more, so a burst spreads over the idle Ps one wake-up at a time.
 *   - System calls (runtime_entersyscall/exitsyscall): the P is handed off
 *     at once to another M if it has work (handoffp), so the Gs behind the
 *     blocked one keep running. Back from the kernel, the M takes its old
 *     P if it is still idle, any idle P otherwise, and failing both queues
 *     its G on the global queue and goes idle (exitsyscall0).
 *   - Stop the world (runtime_gomaxprocs): every P is stopped at its next
 *     schedule(); procresize then creates or destroys Ps, moving a dead P's
 *     queue to the global queue, and the world restarts.
 *
 * What this stage does not do: an idle P never looks into another P's
 * queue. Work created by one goroutine stays on its P until the queue
 * overflows (256) or the G passes through the global queue, so 100 CPU-
 * bound goroutines spawned by main run on one P while the others idle.
 * Stage 03 adds stealing (runqsteal) to fix exactly that.
 *
 * Rejected here, and why:
 *   - Locking each local queue so others may take from it: that is
 *     stealing with a lock; stage 03 does it lock-free instead.
 *   - Pushing new work to idle Ps (work sharing): the producer pays for
 *     every G, and keeps paying when everyone is busy. Go lets idle Ps pull.
 *   - Keeping the P through a system call (stage 04, sysmon's retake): a
 *     short call then costs nothing, but someone must notice a long one.
 *     This stage hands off eagerly; its price is a thread wake-up per call.
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
 *   4. goready marks it _Grunnable and puts it on the readying M's P's
 *      local queue (or, on an M without a P, the global queue, waking an
 *      idle P).
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
 *   - A G is on a run queue (local or global) iff its status is _Grunnable
 *     and no M has taken it to run.
 *   - m->curg == gp iff gp is _Grunning (or _Gsyscall) on m, and gp->m == m.
 *   - mp->p == pp iff pp->m == mp iff pp is _Prunning.
 *   - A P is on sched.pidle iff _Pidle, and then its local queue is empty.
 *   - When every M is idle, no G is runnable, no timer is pending and no
 *     thread is counted by runtime_thread_attach, no goroutine can ever
 *     run again: checkdead reports the deadlock.
 *     Under fakeclock=1, when a timer is pending then, checkdead moves the
 *     clock to it instead (time_fake.c).
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

static void *mstart(void *arg);
static void  schedule(m *mp);
static g    *findrunnable(m *mp);
static void  execute(m *mp, g *gp);
static void  checkdead(void);
static g    *newproc1(void (*fn)(void *), void *arg, const char *fn_name,
                      const char *caller, const char *file, int line);
static void  runqput(p *pp, g *gp);
static void  globrunqput(g *gp);
static g    *globrunqget(p *pp, int32_t max);
static void  wakep(void);
static void  wakeidle(void);
static bool  stopm(m *mp);
static void  handoffp(p *pp);

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
    if (getg() == NULL)
        gort_fatal_outside(what);
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

/* go(fn, arg): Go's newproc. The new G joins the creator's P's queue. */
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
        runqput(mp->p, gp);
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
        if (pp->status != _Pidle || pp->m != NULL || pp->runqtail != pp->runqhead)
            gort_throw("checkschedt: P on the idle list is not idle, or has work");
    if (n != sched.npidle || n > sched.gomaxprocs)
        gort_throw("checkschedt: idle P count is wrong");
    for (int32_t i = 0; i < sched.gomaxprocs; i++) {
        p *pp = sched.allp[i];
        uint32_t len = pp->runqtail - pp->runqhead;
        if (len > RUNQSIZE)
            gort_throw("checkschedt: local run queue length out of range");
        /* _Prunning needs its M; an M's P is _Prunning, or _Pgcstop while
         * that M stops the world. */
        if ((pp->status == _Prunning && pp->m == NULL) ||
            (pp->m != NULL && (pp->m->p != pp ||
                               (pp->status != _Prunning && pp->status != _Pgcstop))))
            gort_throw("checkschedt: P status and its M disagree");
    }
#endif
}

static bool runqempty(p *pp)
{
    return __atomic_load_n(&pp->runqtail, __ATOMIC_RELAXED) ==
           __atomic_load_n(&pp->runqhead, __ATOMIC_RELAXED);
}

/* Appends gp to pp's local queue; only the M holding pp calls it. A full
 * queue sends half of itself, and gp, to the global queue. */
static void runqput(p *pp, g *gp)
{
    uint32_t h = pp->runqhead, t = pp->runqtail;
    if (t - h < RUNQSIZE) {
        pp->runq[t % RUNQSIZE] = gp;
        __atomic_store_n(&pp->runqtail, t + 1, __ATOMIC_RELEASE);
        return;
    }
    /* runqputslow: the oldest half, then gp, as one batch, so that the
     * global queue keeps their order; one lock hold for all of them. */
    uint32_t n = RUNQSIZE / 2;
    g *first = pp->runq[h % RUNQSIZE], *last = first;
    for (uint32_t i = 1; i < n; i++) {
        last->schedlink = pp->runq[(h + i) % RUNQSIZE];
        last = last->schedlink;
    }
    last->schedlink = gp;
    gp->schedlink = NULL;
    __atomic_store_n(&pp->runqhead, h + n, __ATOMIC_RELEASE);
    lock(&sched.lock);
    if (sched.runqtail)
        sched.runqtail->schedlink = first;
    else
        sched.runqhead = first;
    sched.runqtail = gp;
    __atomic_store_n(&sched.runqsize, sched.runqsize + (int32_t)n + 1, __ATOMIC_RELAXED);
    checkschedt();
    unlock(&sched.lock);
    wakep();
}

/* Takes the oldest G from pp's local queue (FIFO); only pp's M calls it. */
static g *runqget(p *pp)
{
    uint32_t h = pp->runqhead;
    if (h == pp->runqtail)
        return NULL;
    g *gp = pp->runq[h % RUNQSIZE];
    __atomic_store_n(&pp->runqhead, h + 1, __ATOMIC_RELEASE);
    return gp;
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
        uint32_t t = pp->runqtail;  /* room: called only on an empty queue */
        if (t - pp->runqhead >= RUNQSIZE)
            gort_throw("globrunqget: local run queue is full");
        pp->runq[t % RUNQSIZE] = g1;
        __atomic_store_n(&pp->runqtail, t + 1, __ATOMIC_RELEASE);
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
    __atomic_store_n(&sched.npidle, sched.npidle + 1, __ATOMIC_RELAXED);
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
    pp->m = mp;
    __atomic_store_n(&pp->status, _Prunning, __ATOMIC_RELAXED);
}

/* mp lets go of its P and returns it (Go's releasep). Under sched.lock. */
static p *releasep(m *mp)
{
    p *pp = mp->p;
    if (pp == NULL || pp->m != mp || pp->status != _Prunning)
        gort_throw("releasep: invalid P state");
    mp->p = NULL;
    pp->m = NULL;
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

static m *newm(p *pp);

/* The runtime is exiting and nobody will run pp again: the Gs on its
 * queue never run (as in Go, where exit ends the process under every
 * goroutine still alive), so they are dropped, and pp goes idle with the
 * empty queue pidleput demands, where a stop-the-world still finds it.
 * Under sched.lock; pp has no M, so nobody puts into its queue. */
static void runqdrop(p *pp)
{
    while (runqget(pp) != NULL)
        ;
}

/* Gives pp to an idle M, or to a new one (Go's startm). Under sched.lock. */
static void startmlocked(p *pp)
{
    if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
        runqdrop(pp);            /* nobody will run it now, nor its Gs */
        pidleput(pp);
        return;
    }
    m *mp = mget();
    if (mp == NULL) {
        newm(pp);
        return;
    }
    if (mp->nextp != NULL)
        gort_throw("startm: M has nextp");
    mp->nextp = pp;
    notewakeup(&mp->park);
}

/* pp's M is leaving it (a system call, a locked G's wait, a thread exit):
 * give pp to another M if it has work, else park it (Go's handoffp). */
static void handoffp(p *pp)
{
    bool idle = false;
    lock(&sched.lock);
    if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_RELAXED)) {
        pstopped(pp);
    } else if (!runqempty(pp) || sched.runqsize > 0) {
        startmlocked(pp);
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
    if (idle && timer0when() != 0)
        timers_changed();
}

/* New global work: give an idle P, if there is one, an M (Go's wakep). */
static void wakep(void)
{
    if (__atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) == 0)
        return;
    lock(&sched.lock);
    p *pp = pidleget();
    if (pp)
        startmlocked(pp);
    unlock(&sched.lock);
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

/* A new earliest timer. An idle M re-arms its sleep for it; with no M
 * idle (Ms start on demand), one is started for an idle P, to find nothing
 * to run and sleep until the timer (Go's wakeNetPoller). With every P busy
 * and none idle, the running Ms check the timers at each schedule(). */
void timers_changed(void)
{
    if (__atomic_load_n(&sched.nmidle, __ATOMIC_RELAXED) > 0)
        wakeidle();
    else
        wakep();
}

static void checktimers(void);

/* Parks mp, which holds no P, until it is handed one: true then, false when
 * the runtime is exiting. Called with sched.lock held; returns without it.
 * While the Ms sleep, the timers are theirs: an M whose sleep ends at the
 * earliest timer takes an idle P to run it, or runs it without one. */
static bool stopm(m *mp)
{
    for (;;) {
        p *pp = mp->nextp;
        if (pp != NULL) {
            mp->nextp = NULL;
            acquirep(mp, pp);
            checkschedt();
            unlock(&sched.lock);
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
        noteclear(&mp->park);
        mput(mp);
        checkdead();
        int64_t when = timer0when();
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
            continue;
        }
        unlock(&sched.lock);
        checktimers();           /* every P is busy: run it without one */
        lock(&sched.lock);
    }
}

/* mp, whose P is needed elsewhere, stops for stop-the-world (Go's gcstopm).
 * Returns with a P, or false when the runtime is exiting. */
static bool gcstopm(m *mp)
{
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
            /* The wait is already over: run it again at once. */
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

/* Makes a parked G runnable, on the local queue of the P of the M that
 * calls it, or on the global queue from an M without a P (a timer run by
 * an idle M) or from a thread that is no M (chan_try_send). */
void goready(g *gp)
{
    casgstatus(gp, _Gwaiting, _Grunnable);
    m *mp = getm();
    if (mp == NULL)              /* a thread that is no M: checkdead's hint */
        __atomic_store_n(&foreignwoke, 1, __ATOMIC_RELAXED);
    if (trace_enabled && mp)
        trace_instant(mp, "ready", gp);
    markrunnable(gp);
    if (mp && mp->p)
        runqput(mp->p, gp);
    else
        globrunqput(gp);
}

static void checktimers(void);

/* Go's Gosched puts the G on the global queue, so that it yields to the
 * whole program, not only to its P. When the local queue is empty the
 * next G comes from the global queue in the same lock hold. The due
 * timers run first, here on g0 (time.c: a timer's f may need more stack
 * than a goroutine has; Go runs them in schedule), and what they wake
 * goes to this P, ahead of gp. */
static g *gosched_m(g *gp)
{
    m *mp = getm();
    checktimers();
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

/* The calling goroutine is about to block in the kernel: its P goes to
 * another M if it has work (Go's entersyscallblock, which hands off at
 * once; stage 04's sysmon makes it lazy). No runtime call may be made
 * until runtime_exitsyscall. */
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
    lock(&sched.lock);
    releasep(mp);
    unlock(&sched.lock);
    if (trace_enabled)
        trace_gostart(mp, gp);           /* on the M's own track */
    handoffp(pp);
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
 * first (its queue and caches are this G's), else queue and wait. */
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
    lock(&sched.lock);
    p *pp = NULL;
    if (!sched.gcwaiting) {
        if (oldp->status == _Pidle && pidleremove(oldp))
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
 * stopTheWorldWithSema). A goroutine that never reaches one (a loop with
 * no calls) holds this up forever: stage 04 preempts it. */
static void stoptheworld(m *mp)
{
    lock(&sched.lock);
    noteclear(&sched.stopnote);
    sched.stopwait = sched.gomaxprocs;
    __atomic_store_n(&sched.gcwaiting, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&mp->p->status, _Pgcstop, __ATOMIC_RELAXED);
    sched.stopwait--;
    for (p *pp; (pp = pidleget()) != NULL;) {
        __atomic_store_n(&pp->status, _Pgcstop, __ATOMIC_RELAXED);
        sched.stopwait--;
    }
    bool wait = sched.stopwait > 0;
    unlock(&sched.lock);
    if (wait)
        notesleep(&sched.stopnote);
    if (sched.stopwait != 0)
        gort_throw("stoptheworld: not stopped");
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
            __atomic_store_n(&sched.allp[i], pp, __ATOMIC_RELEASE);
            __atomic_store_n(&sched.allplen, i + 1, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&pp->status, _Pgcstop, __ATOMIC_RELAXED);
    }
    for (int32_t i = n; i < old; i++) {
        p *pp = sched.allp[i];
        while (pp->runqtail != pp->runqhead) {
            pp->runqtail--;
            globrunqputhead(pp->runq[pp->runqtail % RUNQSIZE]);
        }
        __atomic_store_n(&pp->status, _Pdead, __ATOMIC_RELAXED);
    }
    p *mine = mp->p;
    if (mine->id >= n) {
        mine->m = NULL;
        mp->p = NULL;
        acquirep(mp, sched.allp[0]);
    } else {
        __atomic_store_n(&mine->status, _Prunning, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&sched.gomaxprocs, n, __ATOMIC_RELAXED);
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
        startmlocked(pp);
    }
    checkschedt();
}

/* ---- schedule --------------------------------------------------------- */

static void execute(m *mp, g *gp)
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
    __atomic_store_n(&pp->schedtick, pp->schedtick + 1, __ATOMIC_RELAXED);   /* scheddetail */
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

/* Runs expired timers; cheap when none is due (one atomic load). */
static void checktimers(void)
{
    int64_t when = timer0when();
    if (when != 0 && when <= nanotime())
        runtimers(nanotime());
}

/* Finds a G for mp to run, in Go's order: every 61st tick the global queue
 * first, then the local queue, then the global queue; with nothing there
 * the P goes idle and the M sleeps (stopm) until handed a P again.
 * Returns with mp holding a P, or NULL (and no P) when exiting. */
static g *findrunnable(m *mp)
{
    for (;;) {
        if (mp->p == NULL) {     /* gave its P away: wait for one */
            lock(&sched.lock);
            if (!stopm(mp))
                return NULL;
        }
        if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
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
        checktimers();
        p *pp = mp->p;
        g *gp;
        if (pp->schedtick % 61 == 0 && __atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) > 0) {
            lock(&sched.lock);
            gp = globrunqget(pp, 1);
            unlock(&sched.lock);
            if (gp)
                return gp;
        }
        if ((gp = runqget(pp)) != NULL)
            return gp;
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
                wakep();         /* pass the rest of the burst on */
            return gp;
        }
        /* Nothing: give up the P and sleep, in one lock hold, so that a
         * wakep after this finds both the idle P and this idle M. */
        pidleput(releasep(mp));
        checkschedt();
        if (!stopm(mp))
            return NULL;
    }
}

static void schedule(m *mp)
{
    g *gp = NULL;
    for (;;) {
        if (gp == NULL)                  /* a locked M runs its G or nothing */
            gp = mp->lockedg ? stoplockedm(mp) : findrunnable(mp);
        if (gp == NULL)
            return;                      /* exiting */
        if (gp->lockedm != NULL && gp->lockedm != mp) {
            startlockedm(mp, gp);        /* its own M runs it; we go idle */
            gp = NULL;
            continue;
        }
        execute(mp, gp);
        /* gp called mcall: finish what it asked for on this stack. */
        g *(*fn)(g *) = mp->mcall_fn;
        mp->mcall_fn = NULL;
        gp = fn(gp);             /* may hand back the next G to run */
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
            startmlocked(pp);
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
            newm(NULL);
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
static m *newm(p *pp)
{
    if (sched.mcount >= 10000)
        gort_throw("thread exhaustion");   /* Go's limit: maxmcount */
    m *mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        gort_throw("out of memory allocating an M");
    mp->id = sched.mnext++;
    mp->nextp = pp;
    mrandinit(mp);
    mp->alllink = sched.allm;
    sched.allm = mp;
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
 * for the M that ran main). Threads still inside a goroutine that never
 * reaches a scheduling point (stage 02 cannot preempt), or blocked in a
 * system call, get a grace period; false if any is still running then. */
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
    nforeign = 0;
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
    newm(p0);
    unlock(&sched.lock);
    schedtrace_start();
    maxprocs_start();            /* GOMAXPROCS follows the default (stage 02+) */

    notesleep(&sched.maindone);

    maxprocs_stop();             /* before stopallm: it may start an M */
    bool joined = stopallm();
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
