/*
 * runtime2.h: the runtime's core types (mirrors Go's src/runtime/runtime2.go).
 *
 * Stage 02 has Go's three letters (Go 1.1's design, Vyukov's "Scalable Go
 * Scheduler Design"):
 *
 *   G  a goroutine: a stack, a saved context, a status.
 *   M  a machine: an OS thread that runs goroutines. Each M has a g0
 *      context (the thread's own stack) on which the scheduler runs.
 *   P  a processor: the right to run goroutines, and the resources that go
 *      with it, first of all a local run queue. There are exactly
 *      GOMAXPROCS Ps; an M must hold one to run a G. Ms come and go (an M
 *      blocked in a system call gives its P to another M); Ps stay.
 *
 * The run queue is split: each P has a 256-slot ring and a runnext slot,
 * and there is still a global queue, `sched.runq`, under `sched.lock`, for
 * what overflows and what has no P to go to. Only the M holding a P puts
 * into its ring; that M and any idle P's M (a thief) take from it, without
 * a lock (runq.c).
 *
 * Lock order (a thread holding one may only take those to its right):
 *
 *     p.timerslock -> ctxlock -> semaroot.lock / hchan.lock -> sched.lock
 *                                                             -> allglock
 *     sched.lock -> mcentral.lock -> mheap.lock   (stage 06, mheap.h)
 *
 * (stage 05: each P's timers have their own lock, time.c).
 *
 * Stage 05 puts the network poller's locks first (net.c, netpoll.c):
 * fdlock -> pollDesc.lock -> p.timerslock; the pollDesc cache's lock is a
 * leaf.
 *
 * Fields are grouped by what guards them, as xv6 does. "atomic" fields are
 * read and written only through the __atomic builtins (so TSan sees them).
 */
#ifndef GORT_RUNTIME2_H
#define GORT_RUNTIME2_H

#include "gort.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "gort has context switches for x86-64 and arm64 only (src/asm_*.S)"
#endif

#ifndef GORT_DEBUG
#define GORT_DEBUG 0
#endif

typedef struct g g;
typedef struct m m;
typedef struct p p;
typedef struct sudog sudog;
typedef struct timer timer;

/* ---- locks and notes (lock_futex.c) ----------------------------------- */

/* A runtime mutex: futex word, 0 unlocked, 1 locked, 2 locked with sleepers.
 * Held only for short, non-blocking critical sections; a goroutine never
 * parks while holding one (gopark's unlockf releases it on g0). */
typedef struct { uint32_t key; } mutex;

/* A one-shot event: one thread sleeps on it, another wakes it (Go's note). */
typedef struct { uint32_t key; } note;

void lock_slow(mutex *l, uint32_t v);
void unlock_slow(mutex *l, uint32_t v);

/* The uncontended paths, inline: one atomic exchange each. */
static inline void lock(mutex *l)
{
    uint32_t v = __atomic_exchange_n(&l->key, 1, __ATOMIC_ACQUIRE);
    if (v != 0)
        lock_slow(l, v);
}

static inline void unlock(mutex *l)
{
    uint32_t v = __atomic_exchange_n(&l->key, 0, __ATOMIC_RELEASE);
    if (v != 1)
        unlock_slow(l, v);
}
void noteclear(note *n);
void notewakeup(note *n);
void notesleep(note *n);
bool notetsleep(note *n, int64_t ns);   /* false on timeout */

/* ---- G ------------------------------------------------------------------- */

/* Goroutine status, Go's values (runtime2.go). */
enum {
    _Gidle     = 0,   /* just allocated, not yet initialised */
    _Grunnable = 1,   /* on the run queue, not running */
    _Grunning  = 2,   /* running user code on an M (m->curg == gp) */
    _Gsyscall  = 3,   /* in a system call, between entersyscall and exitsyscall;
                         its M holds no P */
    _Gwaiting  = 4,   /* parked in gopark, waiting for goready */
    _Gdead     = 6,   /* exited; on the free list, its stack back in the pool */
};

/* Saved context of a G or of an M's g0. Everything else (callee-saved
 * registers, a goroutine's MXCSR and x87 control word) is pushed on the
 * stack being left, so the context is its stack pointer alone. See
 * asm_amd64.S. */
typedef struct gobuf { void *sp; } gobuf;

struct g {
    /* Owned by the M running the G (or by the M that parks it). */
    gobuf     sched;            /* saved sp when not running */
    void     *stack_lo;         /* usable stack is [stack_lo, stack_hi); */
    void     *stack_hi;         /* both NULL until the G first runs */
    uint8_t   stack_guarded;    /* a PROT_NONE page lies below stack_lo */
    m        *m;                /* M running it, or NULL */
    m        *lockedm;          /* runtime_lock_os_thread: the only M that may run it */
    void     *param;            /* select: the sudog that woke it (chan.c) */
    sudog    *waiting;          /* select: the sudogs it queued (select.c) */
    int64_t   runnable_since;   /* for /sched/latencies (0: not sampled) */

    /* Set once at creation (newproc), read by dumps. */
    int64_t      goid;
    void       (*fn)(void *);
    void        *arg;
    const char  *fn_name;       /* "worker" */
    const char  *creator_fn;    /* the function that called go() */
    const char  *creator_file;
    int          creator_line;
    int64_t      parent_goid;   /* 0 for the main goroutine */
    bool         system;        /* the runtime's own (maxprocs.c's updater):
                                   not counted, not dumped; never exits */

    /* atomic: written by the G's owner, read by dumps and checkdead. */
    uint32_t     atomicstatus;
    const char  *waitreason;    /* Go's words: "chan receive"; atomic */
    int64_t      waitsince;     /* coarse time_now() when it parked; atomic */

    /* atomic: select's winner flag (chan.c, select.c). */
    uint32_t     selectdone;

    /* Guarded by sched.lock (global run queue, free list) or owned by the
     * P whose local run queue holds the G. */
    g           *schedlink;

    timer       *sleeptimer;    /* time_sleep's timer, allocated once */

    /* Sanitizer fibers (san.h). */
    void        *tsan_fiber;

    /* atomic: stage 04, preempt.c. Set by sysmon (preemptone) or by a
     * stop-the-world to ask the G to yield; honoured at the next safe point
     * (mustbeinruntime, the PREEMPT=coop prologue hook) or by the SIGURG
     * handler; cleared by execute when the G next runs (Go's g.preempt). */
    uint32_t     preempt;
};

/* ---- M ------------------------------------------------------------------- */

struct m {
    /* Owned by the thread itself. */
    int64_t   id;
    gobuf     g0;               /* scheduler context on the thread's stack */
    g        *curg;             /* G being run, or NULL on g0 */
    g      *(*mcall_fn)(g *);   /* what g0 does after curg switches to it;
                                   returns the next G to run, or NULL */
    bool    (*waitunlockf)(g *, void *);   /* gopark's unlock callback */
    void     *waitlock;
    pthread_t thread;
    void     *g0_stack_lo;      /* for ASan's fiber switches */
    size_t    g0_stack_size;
    void     *tsan_g0;
    void     *altstack;         /* sigaltstack for the overflow handler */
    uint64_t  fastrand;         /* per-M random state, from schedseed (rand.c) */
    uint32_t  readytick;        /* Gs made runnable here (latency sampling) */
    struct tracebuf *trace;     /* GORT_TRACE events (trace.c) */
    int64_t   run_start;        /* time curg started running (trace) */
    int64_t   run_track;        /* trace track it runs on: its P's, or its own */
    bool      traced_nop;       /* trace: it ran a G with no P (a system call) */
    p        *p;                /* the P it holds, or NULL (idle, in a
                                   syscall); written by its own M, read by
                                   others atomically */
    p        *oldp;             /* the P it held before entersyscall */
    g        *lockedg;          /* runtime_lock_os_thread: the G wired to it */
    uint32_t  lockedext;        /* nesting count of runtime_lock_os_thread */
    bool      exitthread;       /* its locked G exited: the thread ends */
    int64_t   spinstart;        /* when it began spinning (sched.spinningns) */

    /* atomic: written by the M itself (or by startm before it runs), read
     * by schedtrace. Counted in sched.nmspinning while true. */
    uint32_t  spinning;         /* looking for work to steal, holding a P */

    /* Guarded by sched.lock. */
    m        *schedlink;        /* idle list link */
    m        *alllink;          /* sched.allm list, never unlinked before exit */
    p        *nextp;            /* P handed to it by startm/startlockedm */
    note      park;             /* sleeps here while idle */
    bool      joined;           /* runtime_main has joined (or given up on) it */

    /* atomic: read by schedtrace. */
    uint32_t  idle;             /* on sched.midle */
    uint32_t  blocked;          /* asleep on park (idle, or waiting for its locked G) */

    /* atomic: stage 04 (preempt.c). 1 from the SIGURG sent by preemptM
     * until the handler runs on this thread: one signal in flight per M
     * (Go's m.signalPending). */
    uint32_t  signalpending;
    uint32_t  sigwant;          /* atomic: preemptone asked for a SIGURG under
                                   sched.lock; preemptflush sends it after */

    /* Stage 04 (preempt.c): the signal mask the thread runs goroutines
     * with, read by minitsignals on the thread itself. The SIGURG handler
     * (same thread) refuses to preempt code interrupted under any other
     * mask: a signal handler of the program's, or code that blocked
     * signals on purpose. */
    sigset_t  sigmask;
};

/* ---- P ------------------------------------------------------------------- */

/* P status, Go's values (runtime2.go). */
enum {
    _Pidle    = 0,   /* on sched.pidle, no M, empty run queue */
    _Prunning = 1,   /* held by an M (p->m) that runs Gs or looks for them */
    _Psyscall = 2,   /* its M is in a system call (m->p == NULL, m->oldp == P;
                        p->m still names the M: gort's, not Go's): the M
                        takes it back in exitsyscall unless sysmon's retake
                        or a stop-the-world took it first, each by a CAS
                        from _Psyscall (stage 04, preempt.c) */
    _Pgcstop  = 3,   /* stopped for stop-the-world (procresize) */
    _Pdead    = 4,   /* beyond GOMAXPROCS: kept for reuse, never used */
};

#define RUNQSIZE 256           /* local run queue slots, Go's len(p.runq) */
#define MAXGOMAXPROCS 1024     /* Go's _MaxGomaxprocs */

/* Invariants:
 *   runqtail - runqhead == number of Gs in runq, 0 <= it <= RUNQSIZE;
 *   Gs waiting on the P == runqtail - runqhead + (runnext != NULL);
 *   status == _Prunning  iff  m != NULL && m->p == this P;
 *   status == _Pidle     iff  on sched.pidle, and then runq and runnext
 *                        are empty. */
struct p {
    int32_t   id;
    uint32_t  status;           /* atomic; changed under sched.lock, but for
                                   the system-call bracket's store and CASes
                                   (HACKING.md) */
    p        *link;             /* sched.pidle list; guarded by sched.lock */
    m        *m;                /* M holding it, or in a call on it
                                   (_Psyscall); written under sched.lock,
                                   atomically (exitsyscall reads it) */

    /* The lock-free run queue (runq.c): a single-producer, multi-consumer
     * ring. atomic, every field and every slot:
     *   runqtail  written only by the M holding the P (release);
     *   runqhead  advanced by CAS, by that M and by thieves (acq_rel);
     *   runq[i]   written by the holder beyond the tail; read by thieves,
     *             who may read a slot being rewritten and then fail the CAS;
     *   runnext   set by the holder (exchange), cleared by the holder or a
     *             thief (CAS). */
    uint32_t  runqhead;         /* next G to run: runq[runqhead % RUNQSIZE] */
    uint32_t  runqtail;         /* next free slot */
    g        *runq[RUNQSIZE];
    g        *runnext;          /* readied by the running G: runs next */

    /* Owned by the M holding the P. */
    uint32_t  schedtick;        /* incremented on every execute that starts
                                   a new time slice (not on runnext's) */
    uint32_t  syscalltick;      /* incremented on every entersyscall */

    /* atomic counters, for metrics and schedtrace. */
    uint64_t  nswitch;          /* goroutines executed on this P */
    /* atomic: stage 04, preempt.c. A preemption request is for the P's
     * current slice: preemptone stores PREEMPTSLICE | schedtick here, and
     * execute hands the request on to a G that inherits that slice (a
     * runnext pair), else the request is lost whenever it reaches a G
     * that has just parked. */
    uint64_t  preemptslice;
#define PREEMPTSLICE (1ULL << 32)   /* p.preemptslice: a request, for the slice in the low bits */
    uint64_t  ncreated;         /* goroutines created by Gs running here */
    uint64_t  nsteal;           /* successful runqsteal calls by this P */
    uint64_t  nstolen;          /* goroutines it took in them */

    /* Stage 04: what sysmon last saw of this P (Go's p.sysmontick). Only
     * the sysmon thread touches it. */
    struct {
        uint32_t schedtick;     /* schedtick when last seen */
        int64_t  schedwhen;     /* when sysmon first saw that schedtick */
        uint32_t syscalltick;
        int64_t  syscallwhen;
        int64_t  timerpreempt;  /* when sysmon last preempted it for a timer */
        int64_t  askwhen;       /* when sysmon last asked its G to stop */
        uint64_t askswitch;     /* nswitch then: unchanged, the request did not take */
        int64_t  askgap;        /* how long until it may ask again while it does not */
    } sysmontick;

    /* Stage 05: the P's timers (time.c, Go's p.timers). A 4-ary min-heap
     * by `when`, guarded by timerslock: taken by the M holding the P, by
     * a thief running its due timers, by whoever adds, stops or resets one
     * of its timers, and by procresize moving them (movetimers). */
    mutex     timerslock;
    timer   **timers;
    int32_t   timerslen;
    int32_t   timerscap;
    /* atomic: written under timerslock, read without it (timer0when(),
     * checktimers' fast path, checkdead). */
    int64_t   timer0when;       /* timers[0]->when, 0 if none (Go's timer0When) */
    int32_t   numtimers;        /* timerslen (Go's numTimers) */

    /* Stage 06: the P's allocation cache (mcache.c), made with the P and
     * kept for its life; only the M holding the P uses it. Set before the
     * P is published in allp; read by runtime_read_mem_stats atomically. */
    struct mcache *mcache;
};

/* ---- sudog: a G waiting on a channel or a semaphore ---------------------- */

/* Lives on the waiting G's own stack for as long as it waits: gort stacks
 * never move, so unlike Go it needs no cache. Guarded by the lock of the
 * channel or semaphore root whose queue it is on. */
struct sudog {
    g        *g;
    sudog    *next, *prev;      /* wait queue links */
    void     *elem;             /* data to send, or where to receive */
    struct hchan *c;            /* channel (select) */
    sudog    *waitlink;         /* select: the G's list of sudogs */
    void     *addr;             /* semaphore address (sema.c) */
    int64_t   acquiretime;      /* sema: when it began to wait */
    uint32_t  ticket;           /* sema: 1 if handed the semaphore directly */
    bool      isselect;
    bool      success;          /* chan: woken by a value, not by close */
    int       caseidx;          /* select: which case this sudog serves */
};

typedef struct waitq { sudog *first, *last; } waitq;

/* ---- the scheduler ------------------------------------------------------ */

typedef struct schedt {
    mutex     lock;             /* guards everything down to "atomic" */
    g        *runqhead;         /* global run queue, FIFO via g.schedlink */
    g        *runqtail;
    int32_t   runqsize;         /* also read without the lock (atomic) */
    m        *midle;            /* idle Ms, via m.schedlink */
    int32_t   nmidle;           /* also read without the lock (atomic) */
    int32_t   nmidlelocked;     /* Ms asleep waiting for their locked G */
    p        *pidle;            /* idle Ps, via p.link */
    int32_t   npidle;           /* also read without the lock (atomic) */
    m        *allm;             /* every M ever started, via m.alllink */
    int32_t   mcount;           /* Ms whose threads are alive */
    int64_t   mnext;            /* next M id */
    g        *gfree;            /* dead Gs with stacks, via g.schedlink */
    int32_t   ngfree;
    int32_t   gomaxprocs;       /* changed only with the world stopped; atomic */
    uint32_t  gcwaiting;        /* stop-the-world requested; atomic */
    int32_t   stopwait;         /* Ps still to stop */
    int32_t   nmspinning;       /* Ms with spinning set; atomic, seq_cst (proc.c, steps 2 and 5) */
    uint32_t  needspinning;     /* a spinner found work but no idle P; atomic */
    int64_t   spinningns;       /* total time Ms spent spinning; atomic */
    note      stopnote;         /* the stopper sleeps here until stopwait == 0 */
    bool      customgomaxprocs; /* GOMAXPROCS set by the environment or
                                   runtime_gomaxprocs(n): no updates (maxprocs.c) */

    /* allp[0..gomaxprocs) are the Ps in use. The array has room for
     * MAXGOMAXPROCS; a P, once allocated, lives until the runtime exits
     * (_Pdead beyond gomaxprocs), so readers may walk allp[0..allplen)
     * without the lock. */
    p       **allp;
    int32_t   allplen;          /* Ps ever allocated; atomic */

    /* Set before the first M starts, then read-only. */
    const char *main_name;
    int     (*main_fn)(int, char **);
    int       argc;
    char    **argv;

    /* atomic */
    int64_t   goidgen;
    int32_t   ngoroutines;      /* Gs not _Gdead */
    uint32_t  exiting;          /* main returned: Ms leave schedule() */
    uint32_t  maingoexit;       /* main called goexit */
    int32_t   exit_code;
    int64_t   starttime;
    note      maindone;         /* runtime_main sleeps here */

    /* Stage 04 (preempt.c): preemptions, atomic counters. */
    uint64_t  npreemptcoop;     /* honoured at a safe point (flag checked) */
    uint64_t  npreemptasync;    /* taken by the SIGURG handler (asyncPreempt) */
    uint64_t  npreemptrefused;  /* signal arrived at an unsafe PC: retried later */

    /* Stage 05 (proc.c, preempt.c), atomic: when the network was last
     * polled (nanotime1), 0 while an M blocks in netpoll (only one does):
     * Go's sched.lastpoll. */
    int64_t   lastpoll;
} schedt;

extern schedt sched;

/* allgs: every G ever created, for dumps (Go's allgs). */
extern mutex allglock;
extern g **allgs;
extern size_t allglen;

/* ---- functions shared between files -------------------------------------- */

/* proc.c */
m      *getm(void);                       /* never inlined: see HACKING.md */
void    gopreempt(void);                  /* stage 04: yield, as gosched does */
bool    retakep(p *pp);                   /* stage 04: sysmon takes a P from a syscall */
void    sysmonwakep(void);                /* stage 04: sysmon starts an M for an idle P */
g      *getg(void);                       /* current user G, or NULL on g0 */
void    gopark(bool (*unlockf)(g *, void *), void *lock, const char *reason);
void    goready(g *gp);
void    casgstatus(g *gp, uint32_t oldval, uint32_t newval);
uint32_t readgstatus(g *gp);
void    mustbeinruntime(const char *what);
bool    parkunlock_c(g *gp, void *lock);  /* unlockf that unlocks a mutex */
bool    mutex_can_spin(int iter);         /* sync.c's runtime_canSpin */
int64_t deadline_after(int64_t ns);      /* now + ns, saturated (time.c) */

/* runq.c: the per-P lock-free run queue, and stealing */
bool    runqempty(p *pp);
uint32_t runqlen(p *pp);                  /* runq only, not runnext */
void    runqput(p *pp, g *gp, bool next); /* only pp's M */
g      *runqget(p *pp, bool *inherit);    /* only pp's M */
g      *runqsteal(p *pp, p *victim, bool stealnext);   /* pp's M, pp's queue empty */
int32_t runqdrain(p *pp, g **out);        /* world stopped: every G, in order */
void    globrunqputbatch(g *first, g *last, int32_t n);   /* proc.c */
typedef struct { uint32_t i, count, pos, inc; } randomenum;
void    stealorder_reset(uint32_t count); /* procresize, world stopped */
randomenum stealorder_start(uint32_t r);
static inline bool randomenum_done(randomenum *e) { return e->i == e->count; }
static inline void randomenum_next(randomenum *e)
{
    e->i++;
    e->pos = (e->pos + e->inc) % e->count;
}

/* stack.c */
g      *galloc(void);                     /* a zeroed G, no stack yet */
void    stackalloc(g *gp);                /* attach a stack (first run) */
void    stackfree(g *gp);                 /* give it back (goexit0) */
void    stackinit(void);
void    stackfreeall(void);
void    stackstats(uint64_t *inuse, uint64_t *sys);
bool    stack_is_guard(g *gp, void *addr);

/* asm_amd64.S */
void    gort_gogo_g0(gobuf *save, gobuf *load);   /* goroutine -> g0 */
void    gort_gogo_g(gobuf *save, gobuf *load);    /* g0 -> goroutine */
void    gort_gostart(void);

/* os_linux.c */
void    futexsleep(uint32_t *addr, uint32_t val, int64_t ns);
void    futexwakeup(uint32_t *addr, uint32_t cnt);
int     getncpu(void);                     /* affinity count, once (NumCPU) */
int     getproccount(void);                /* affinity count, now */
int     defaultgomaxprocs(int cpus);       /* affinity and cgroup limit; cpus <= 0: now */
void    minitsignals(m *mp);
void    unminitsignals(m *mp);
void    initsig(void);
void    uninitsig(void);
void    osyield(void);
int64_t nanotime1(void);                  /* the real monotonic clock */
static inline void procyield(int n)
{
    while (n-- > 0) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
    }
}

/* panic.c */
_Noreturn void gort_throw(const char *msg);
_Noreturn void gort_panic(const char *msg);
_Noreturn void gort_fatal_outside(const char *what);
void    printlock(void);
void    printunlock(void);

/* traceback.c */
void    dumpgoroutines(FILE *out, g *first);

/* time.c */
struct timer {
    int64_t   when;
    int64_t   period;           /* > 0 for tickers */
    void    (*f)(void *arg, int64_t now);  /* runs on g0 under its P's timerslock */
    void     *arg;
    int32_t   idx;              /* heap index, -1 when not in a heap */
    p        *pp;               /* stage 05: the P whose heap holds it (and
                                   while its f runs), NULL when not pending;
                                   atomic, written under pp->timerslock */
};
void    addtimer(timer *t);                /* on the caller's P (P0 without one) */
bool    deltimer(timer *t);
bool    modtimer(timer *t, int64_t when, int64_t period);
bool    checktimers(p *pp, int64_t now);   /* runs pp's due timers; now 0: read the clock */
void    movetimers(p *dst, p *src);        /* procresize: src is being destroyed */
int64_t timer0when(void);               /* earliest pending when of any P, 0 if none */
int32_t ntimers(void);
void    timersinit(void);
void    timersfree(void);
void    timers_changed(int64_t when);    /* proc.c: wake an idle M for a timer at when */

/* chan.c */
void    chan_attach_timer(chan_t *c, void *owner, void (*free_owner)(void *));

/* sema.c */
void    semacquire1(uint32_t *addr, bool lifo, const char *reason);
void    semrelease1(uint32_t *addr, bool handoff);
void    semainit(void);

/* rand.c: every random choice the runtime makes, from one seed */
void     randinit(void);                  /* runtime_main, after parseenv */
void     mrandinit(m *mp);                /* before mp's thread starts */
uint32_t fastrandn(uint32_t n);           /* uniform in [0, n); Go's cheaprandn */
void     printschedseed(FILE *out);       /* the replay line of a fatal error */

/* time_fake.c: GODEBUG=fakeclock=1 */
int64_t nanotime(void);                   /* the runtime's clock: fake or nanotime1 */
bool    faketime_enabled(void);
void    faketimeinit(bool on);
bool    faketime_jump(void);              /* checkdead: jump to the next timer */

/* runtime1.c: the environment */
typedef struct {
    int32_t  schedtrace;        /* GODEBUG=schedtrace=MS */
    int32_t  scheddetail;       /* GODEBUG=scheddetail=1 */
    int32_t  asyncpreemptoff;   /* GODEBUG=asyncpreemptoff=1 (preempt.c) */
    int32_t  preemptslice;      /* GODEBUG=preemptslice=MS: Go's 10 ms forcePreemptNS */
    int32_t  fakeclock;         /* GODEBUG=fakeclock=1 (time_fake.c) */
    bool     schedseedset;      /* GODEBUG=schedseed=N given (rand.c) */
    uint64_t schedseed;
    const char *tracefile;      /* GORT_TRACE */
    int32_t  updatemaxprocs;    /* GODEBUG=updatemaxprocs=0 turns updates off */
    int32_t  containermaxprocs; /* GODEBUG=containermaxprocs=0: no cgroup limit */
    bool     gomaxprocsenv;     /* GOMAXPROCS=N given: no updates */
    const char *cgrouproot;     /* GORT_CGROUP_ROOT (os_linux.c) */
} debugvars;
extern debugvars debug;
int     parseenv(int ncpu);                 /* returns GOMAXPROCS */

/* maxprocs.c: GOMAXPROCS follows the default while running */
#define MAXPROCS_PERIOD (1000 * 1000 * 1000LL)   /* a look a second: Go's sysmon */
void    maxprocs_start(void);              /* runtime_main, once the world runs */
void    maxprocs_stop(void);
void    sysmonupdategomaxprocs(void);      /* the monitor, once a second */
/* proc.c, for maxprocs.c */
g      *newsystemproc(void (*fn)(void *), void *arg, const char *name);
void    updategomaxprocs(int32_t n);        /* the updater: resize unless custom */

/* schedtrace.c */
void    schedtrace_start(void);
void    schedtrace_stop(void);
void    schedtrace(bool detailed, FILE *out);

/* trace.c: GORT_TRACE */
extern bool trace_enabled;
void    trace_start(const char *path);
void    trace_stop(void);
void    trace_gostart(m *mp, g *gp);       /* gp begins running on mp (and its P) */
void    trace_goend(m *mp, g *gp);         /* gp stops running on mp */
void    trace_instant(m *mp, const char *what, g *gp);

/* preempt.c (stage 04): sysmon, retake, preemption */
void    preemptinit(void);                /* runtime_main: handler, sysmon thread */
void    preemptfini(void);                /* runtime_main: stop sysmon, restore handler */
void    sysmontimer(int64_t when);        /* timers_changed: wake sysmon for a timer at when */
void    timerswoke(void);                 /* stopm: timers run without a P woke Gs */
bool    preemptall(void);                 /* ask every running G to yield */
void    preemptcheck(g *gp);              /* a safe point: yield if asked to */

/* netpoll.c, netpoll_epoll.c (stage 05): the network poller */
typedef struct pollDesc pollDesc;
bool     netpollinited(void);
int32_t  netpollwaiters(void);             /* Gs parked on a pollDesc (Go's netpollWaiters) */
g       *netpoll(int64_t delay);           /* ready Gs via schedlink, still _Gwaiting;
                                              delay < 0 blocks, 0 polls */
void     netpollBreak(void);               /* wakes an M blocked in netpoll */
g      **netpollready(g **tail, pollDesc *pd, int mode);
uint32_t netpollfdseq(pollDesc *pd);
void     netpollfini(void);                /* runtime_main's end */
void     netpollstats(uint64_t *waits, uint64_t *ready);
void     injectglist(g *list);             /* proc.c: make a netpoll list runnable */

/* malloc.c (stage 06): the heap, from runtime_main's start to its end */
struct mcache *allocmcache(void);
void    mcache_releaseAll(struct mcache *c);   /* a P dies: its spans back */
void    mallocstart(void);
void    mallocend(void);

/* metrics.c */
void    metrics_record_latency(int64_t ns);
void    metrics_reset(void);

/* The GORT_DEBUG=3 check: a broken invariant stops the program. */
#if GORT_DEBUG >= 3
#define debugcheck(cond, msg) do { if (!(cond)) gort_throw(msg); } while (0)
#else
#define debugcheck(cond, msg) do { (void)sizeof(cond); } while (0)
#endif


#endif /* GORT_RUNTIME2_H */
