/*
 * proc.c: goroutines and the scheduler (mirrors Go's src/runtime/proc.go,
 * and more closely Go 1.0's src/pkg/runtime/proc.c, whose model this is).
 *
 * The problem. Run any number of goroutines on GOMAXPROCS OS threads, so
 * that a goroutine that waits (on a channel, a lock, a timer) costs a few
 * hundred bytes and no thread, and waking it costs no system call.
 *
 * The design of this stage: one global run queue.
 *
 *   - Every runnable G sits in one FIFO list, sched.runq, under one lock,
 *     sched.lock. GOMAXPROCS Ms (threads) are started by runtime_main.
 *   - Each M runs schedule() on its own thread stack (its "g0"): take a G
 *     from the queue (findrunnable), switch to it (execute), and when the
 *     G switches back, finish whatever it asked for (mcall), then loop.
 *   - An M that finds the queue empty puts itself on the idle list and
 *     sleeps on its note, with a timeout if a timer is pending. Whoever
 *     makes a G runnable wakes one idle M. No thread ever busy-waits.
 *
 * Rejected here, and why (the later stages take them up):
 *   - One thread per goroutine: 8 MiB stacks, 10-100 us to create, and the
 *     kernel scheduler does not know who waits for whom.
 *   - Per-thread queues (stage 02): better, but then idle threads must find
 *     work elsewhere, which is stage 03's stealing.
 * What this design costs: every schedule() on every thread takes the same
 * lock, so it stops scaling beyond a few threads (the labs measure it).
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
 *   4. goready marks it _Grunnable, appends it to the run queue and wakes
 *      an idle M if there is one.
 * Step 3 is why switching through g0 is needed: a G cannot publish itself
 * as resumable while it is still running on its own stack.
 *
 * Invariants:
 *   - A G is on the run queue iff its status is _Grunnable.
 *   - m->curg == gp iff gp is _Grunning on m, and gp->m == m.
 *   - An M is on sched.midle iff m->idle, and then it is asleep or about to
 *     sleep on m->park, or just woken and about to take itself off.
 *   - When every M is idle, the run queue is empty, no timer is pending
 *     and no thread is counted by runtime_thread_attach, no goroutine can
 *     ever run again: checkdead reports the deadlock.
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

static void *mstart(void *arg);
static void  schedule(m *mp);
static g    *findrunnable(m *mp);
static void  execute(m *mp, g *gp);
static void  checkdead(void);
static g    *newproc1(void (*fn)(void *), void *arg, const char *fn_name,
                      const char *caller, const char *file, int line);
static void  globrunqput(g *gp);
static g    *globrunqget(void);
static void  wakeidle(void);

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
    if (mp && (++mp->schedtick & 63) == 0)
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

/* go(fn, arg): Go's newproc. */
void gort_go(void (*fn)(void *), void *arg, const char *fn_name,
             const char *caller, const char *file, int line)
{
    if (getm() == NULL)
        gort_fatal_outside("go()");
    if (fn == NULL)
        gort_panic("go of nil func value");
    g *gp = newproc1(fn, arg, fn_name, caller, file, line);
    if (trace_enabled)
        trace_instant(getm(), "create", gp);
    markrunnable(gp);
    globrunqput(gp);
    wakeidle();
}

/* Where every goroutine begins (called from gort_gostart) and ends. */
void gort_goroutine_entry(g *gp);
void gort_goroutine_entry(g *gp)
{
    san_goroutine_start();
    gp->fn(gp->arg);
    goexit();
}

/* ---- the global run queue ---------------------------------------------- */

/* GORT_DEBUG=3: the run queue and idle list agree with their counts and
 * hold only what they should. Under sched.lock; O(n) at every change. */
static void checkschedt(void)
{
#if GORT_DEBUG >= 3
    int32_t n = 0;
    g *last = NULL;
    for (g *gp = sched.runqhead; gp; gp = gp->schedlink, n++) {
        if (readgstatus(gp) != _Grunnable)
            gort_throw("checkschedt: G on the run queue is not _Grunnable");
        last = gp;
    }
    if (n != sched.runqsize || last != sched.runqtail)
        gort_throw("checkschedt: run queue length or tail is wrong");
    n = 0;
    for (m *mp = sched.midle; mp; mp = mp->schedlink, n++)
        if (!mp->idle)
            gort_throw("checkschedt: M on the idle list is not marked idle");
    if (n != sched.nmidle || n > sched.mcount)
        gort_throw("checkschedt: idle M count is wrong");
#endif
}

/* Appends gp to the run queue. Under sched.lock. */
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

static void globrunqput(g *gp)
{
    lock(&sched.lock);
    globrunqputlocked(gp);
    unlock(&sched.lock);
}

static g *globrunqget(void)
{
    g *gp = sched.runqhead;
    if (gp == NULL)
        return NULL;
    sched.runqhead = gp->schedlink;
    if (sched.runqhead == NULL)
        sched.runqtail = NULL;
    gp->schedlink = NULL;
    __atomic_store_n(&sched.runqsize, sched.runqsize - 1, __ATOMIC_RELAXED);
    debugcheck(readgstatus(gp) == _Grunnable, "globrunqget: G on run queue is not runnable");
    checkschedt();
    return gp;
}

/* ---- idle Ms --------------------------------------------------------- */

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

/* New work (a runnable G or an earlier timer): wake one idle M, if any. */
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

void timers_changed(void) { wakeidle(); }

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

/* Makes a parked G runnable. Callable from any G and from g0. */
void goready(g *gp)
{
    casgstatus(gp, _Gwaiting, _Grunnable);
    m *mp = getm();
    if (mp == NULL)              /* a thread that is no M: checkdead's hint */
        __atomic_store_n(&foreignwoke, 1, __ATOMIC_RELAXED);
    if (trace_enabled && mp)
        trace_instant(mp, "ready", gp);
    markrunnable(gp);
    globrunqput(gp);
    wakeidle();
}

static void checktimers(void);

/* Puts gp at the tail and takes the head in one lock hold, handing the
 * next G straight back to schedule(). The due timers run first, here on
 * g0 (time.c: a timer's f may need more stack than a goroutine has), and
 * what they wake queues ahead of gp. */
static g *gosched_m(g *gp)
{
    checktimers();
    casgstatus(gp, _Grunning, _Grunnable);
    markrunnable(gp);
    lock(&sched.lock);
    globrunqputlocked(gp);
    g *next = NULL;
    if (!__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE))
        next = globrunqget();
    unlock(&sched.lock);
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
    __atomic_store_n(&mp->nswitch, mp->nswitch + 1, __ATOMIC_RELAXED);
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

/* Blocks until there is a G to run; NULL when the runtime is exiting. */
static g *findrunnable(m *mp)
{
    for (;;) {
        if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE))
            return NULL;
        checktimers();

        lock(&sched.lock);
        g *gp = globrunqget();
        if (gp) {
            unlock(&sched.lock);
            return gp;
        }
        if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
            unlock(&sched.lock);
            return NULL;
        }
        /* Nothing to do: go idle. The queue check and mput happen under
         * one lock hold, so a goready after it finds us on the list. */
        noteclear(&mp->park);
        mput(mp);
        checkdead();
        int64_t when = timer0when();
        unlock(&sched.lock);

        if (when != 0 && !faketime_enabled()) {
            int64_t d = when - nanotime();
            if (d > 0)
                notetsleep(&mp->park, d);
        } else {
            notesleep(&mp->park);
        }
        lock(&sched.lock);
        mremove(mp);
        checkschedt();
        unlock(&sched.lock);
    }
}

static void schedule(m *mp)
{
    g *gp = findrunnable(mp);
    while (gp != NULL) {
        execute(mp, gp);
        /* gp called mcall: finish what it asked for on this stack. */
        g *(*fn)(g *) = mp->mcall_fn;
        mp->mcall_fn = NULL;
        gp = fn(gp);             /* may hand back the next G to run */
        if (gp == NULL)
            gp = findrunnable(mp);
    }
}

/* Called under sched.lock by an M going idle (Go's checkdead): when every
 * M is idle, the run queue is empty and no timer is pending, nothing can
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
    if (sched.nmidle != sched.mcount || sched.runqsize > 0)
        return;
    if (nforeign > 0)
        return;                  /* it may still wake someone */
    if (ntimers() > 0) {
        /* fakeclock=1: nothing can run before the next timer, so the
         * clock jumps to it, and this M (the head of the idle list) is
         * woken to run it (Go's checkdead under faketime; time_fake.c). */
        if (faketime_jump())
            notewakeup(&mget()->park);
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
        sched.nmidle == sched.mcount) {
        m *mp = mget();
        if (mp != NULL)
            notewakeup(&mp->park);
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
    tls_m = NULL;
    return NULL;
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

/* Wakes every idle M so it sees sched.exiting, then joins them all. An M
 * in the scheduler (no curg) is on its way out, since every wait there
 * checks sched.exiting: it is waited for as long as the OS takes to run
 * it (on a loaded machine, up to half a second for the M that ran main).
 * Threads still inside a goroutine that never reaches a scheduling point
 * (stage 01 cannot preempt) get a grace period; false if any is still
 * running then. */
static bool stopallm(void)
{
    int64_t start = nanotime1();
    bool all = true;
    for (int32_t i = 0; i < sched.mcount; i++) {
        m *mp = &sched.allm[i];
        for (;;) {
            /* An M can go idle again after a wake-up round: wake them all
             * each time. */
            lock(&sched.lock);
            for (m *w; (w = mget()) != NULL;)
                notewakeup(&w->park);
            unlock(&sched.lock);
            int err = joinwithin(mp->thread, 10 * 1000 * 1000);
            if (err == 0)
                break;
            if (err == ETIMEDOUT && nanotime1() - start >= STOPALLM_GRACE &&
                __atomic_load_n(&mp->curg, __ATOMIC_RELAXED) != NULL) {
                all = false;     /* still inside its goroutine: left behind */
                break;
            }
        }
    }
    return all;
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
    free(sched.allm);
    sched.allm = NULL;
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
    sched.gomaxprocs = parseenv(getncpu());
    randinit();
    faketimeinit(debug.fakeclock != 0);
    sched.mcount = sched.gomaxprocs;
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

    g *main_g = newproc1(main_goroutine, NULL, sched.main_name, NULL, NULL, 0);
    globrunqput(main_g);

    sched.allm = calloc((size_t)sched.mcount, sizeof(m));
    if (sched.allm == NULL)
        gort_throw("out of memory allocating Ms");
    for (int32_t i = 0; i < sched.mcount; i++) {
        m *mp = &sched.allm[i];
        mp->id = i;
        mrandinit(mp);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        if (pthread_create(&mp->thread, &attr, mstart, mp) != 0)
            gort_throw("pthread_create failed");
        pthread_attr_destroy(&attr);
    }
    schedtrace_start();

    notesleep(&sched.maindone);

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

/* ---- queries ---------------------------------------------------------- */

int runtime_gomaxprocs(int n)
{
    (void)n;   /* stage 01 cannot resize: the value chosen at start stays */
    if (!running)
        return parseenv(getncpu());
    return sched.gomaxprocs;
}

int runtime_num_goroutine(void)
{
    return __atomic_load_n(&sched.ngoroutines, __ATOMIC_ACQUIRE);
}

/* sync.Mutex may spin only where spinning can pay: several CPUs, another
 * thread running (that could release the lock) and no queued goroutine
 * that this thread should be running instead (Go's sync_runtime_canSpin). */
bool mutex_can_spin(int iter)
{
    if (iter >= 4 || getncpu() <= 1)
        return false;
    int32_t idle = __atomic_load_n(&sched.nmidle, __ATOMIC_RELAXED);
    if (sched.gomaxprocs <= idle + 1)
        return false;
    return __atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) == 0;
}
