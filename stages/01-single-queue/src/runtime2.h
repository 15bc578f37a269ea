/*
 * runtime2.h: the runtime's core types (mirrors Go's src/runtime/runtime2.go).
 *
 * Stage 01 has two of Go's three letters:
 *
 *   G  a goroutine: a stack, a saved context, a status.
 *   M  a machine: an OS thread that runs goroutines. Each M has a g0
 *      context (the thread's own stack) on which the scheduler runs.
 *
 * and no P: there is one global run queue, `sched.runq`, under one lock,
 * `sched.lock`, served by GOMAXPROCS Ms. That is Go 1.0's design. It is
 * simple and correct, and every schedule() of every thread takes the same
 * lock, which is what stage 02 fixes.
 *
 * Lock order (a thread holding one may only take those to its right):
 *
 *     timers.lock -> ctxlock -> semaroot.lock / hchan.lock -> sched.lock
 *                                                          -> allglock
 *
 * Fields are grouped by what guards them, as xv6 does. "atomic" fields are
 * read and written only through the __atomic builtins (so TSan sees them).
 */
#ifndef GORT_RUNTIME2_H
#define GORT_RUNTIME2_H

#include "gort.h"

#include <pthread.h>
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
    _Gsyscall  = 3,   /* stage 02 */
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

    /* atomic: written by the G's owner, read by dumps and checkdead. */
    uint32_t     atomicstatus;
    const char  *waitreason;    /* Go's words: "chan receive"; atomic */
    int64_t      waitsince;     /* coarse time_now() when it parked; atomic */

    /* atomic: select's winner flag (chan.c, select.c). */
    uint32_t     selectdone;

    /* Guarded by sched.lock: run queue and free list link. */
    g           *schedlink;

    timer       *sleeptimer;    /* time_sleep's timer, allocated once */

    /* Sanitizer fibers (san.h). */
    void        *tsan_fiber;
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
    uint32_t  schedtick;        /* Gs made runnable here (latency sampling) */
    struct tracebuf *trace;     /* GORT_TRACE events (trace.c) */
    int64_t   run_start;        /* time curg started running (trace) */

    /* atomic: read by metrics and schedtrace. */
    uint64_t  nswitch;          /* goroutines executed on this M */
    uint32_t  idle;             /* parked in findrunnable */

    /* Guarded by sched.lock. */
    m        *schedlink;        /* idle list link */
    note      park;             /* sleeps here while idle */
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
    int32_t   runqsize;
    m        *midle;            /* idle Ms, via m.schedlink */
    int32_t   nmidle;
    g        *gfree;            /* dead Gs with stacks, via g.schedlink */
    int32_t   ngfree;

    /* Set before the Ms start, then read-only. */
    int32_t   gomaxprocs;
    int32_t   mcount;
    m        *allm;             /* array of mcount Ms */
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
} schedt;

extern schedt sched;

/* allgs: every G ever created, for dumps (Go's allgs). */
extern mutex allglock;
extern g **allgs;
extern size_t allglen;

/* ---- functions shared between files -------------------------------------- */

/* proc.c */
m      *getm(void);                       /* never inlined: see HACKING.md */
g      *getg(void);                       /* current user G, or NULL on g0 */
void    gopark(bool (*unlockf)(g *, void *), void *lock, const char *reason);
void    goready(g *gp);
void    casgstatus(g *gp, uint32_t oldval, uint32_t newval);
uint32_t readgstatus(g *gp);
void    mustbeinruntime(const char *what);
bool    parkunlock_c(g *gp, void *lock);  /* unlockf that unlocks a mutex */
bool    mutex_can_spin(int iter);         /* sync.c's runtime_canSpin */
int64_t deadline_after(int64_t ns);      /* now + ns, saturated (time.c) */

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
int     getncpu(void);
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
    void    (*f)(void *arg, int64_t now);  /* runs on g0 under timers.lock */
    void     *arg;
    int32_t   idx;              /* heap index, -1 when not pending */
};
void    addtimer(timer *t);
bool    deltimer(timer *t);
bool    modtimer(timer *t, int64_t when, int64_t period);
void    runtimers(int64_t now);
int64_t timer0when(void);               /* earliest pending when, 0 if none */
int32_t ntimers(void);
void    timersinit(void);
void    timersfree(void);
void    timers_changed(void);            /* proc.c: wake an idle M */

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
    int32_t  asyncpreemptoff;   /* accepted; used from stage 04 */
    int32_t  fakeclock;         /* GODEBUG=fakeclock=1 (time_fake.c) */
    bool     schedseedset;      /* GODEBUG=schedseed=N given (rand.c) */
    uint64_t schedseed;
    const char *tracefile;      /* GORT_TRACE */
} debugvars;
extern debugvars debug;
int     parseenv(int ncpu);                 /* returns GOMAXPROCS */

/* schedtrace.c */
void    schedtrace_start(void);
void    schedtrace_stop(void);
void    schedtrace(bool detailed, FILE *out);

/* trace.c: GORT_TRACE */
extern bool trace_enabled;
void    trace_start(const char *path);
void    trace_stop(void);
void    trace_gostart(m *mp, g *gp);       /* gp begins running on mp */
void    trace_goend(m *mp, g *gp);         /* gp stops running on mp */
void    trace_instant(m *mp, const char *what, g *gp);

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
