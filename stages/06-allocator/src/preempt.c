/*
 * preempt.c: sysmon, retake and preemption (mirrors Go's src/runtime/proc.go:
 * sysmon, retake, preemptone, preemptall; preempt.go: asyncPreempt2,
 * wantAsyncPreempt, isAsyncSafePoint; signal_unix.go: doSigPreempt,
 * preemptM; signal_amd64.go: pushCall).
 *
 * The problem stage 03 leaves. A goroutine gives its P up only when it
 * calls into the runtime. `for (;;) x++` never does: at GOMAXPROCS=1
 * nothing else ever runs again, a stop-the-world (runtime_gomaxprocs)
 * waits for ever, and so does program exit. And a P whose M sits in a
 * system call is handed off at once (stage 02), a thread wake-up for every
 * call, although most calls last a microsecond.
 *
 * The design: a monitor thread and two ways to stop a goroutine.
 *
 *   sysmon   its own thread, holding no P (so it runs even when every P is
 *            busy). It sleeps 20 us, then doubles its sleep up to 10 ms
 *            while it finds nothing to do (Go's schedule), never more than
 *            one time slice, and never past a timer that no idle M will run.
 *   retake   at every sysmon tick, for each P: one that has run the same G
 *            (the same schedtick) for a whole time slice (10 ms, Go's
 *            forcePreemptNS; GODEBUG=preemptslice=MS) has that G asked to
 *            stop (preemptone; a request that did not take is repeated
 *            ever later: sysmonpreempt); one left in _Psyscall for a whole
 *            sysmon tick (20 us or more) with work queued, or with no idle
 *            P, or for 10 ms, is taken from its M and handed off (proc.c:
 *            retakep). A short call keeps its P: that is the lazy hand-off.
 *   timers   gort's own addition, for latency: when a timer is due and
 *            every P is busy, nobody would run it before some G yields, up
 *            to a time slice later (Go's 10-20 ms). sysmon sleeps only
 *            until the earliest timer (a timer set while it sleeps longer
 *            wakes it: sysmontimer), and when it is due with no idle P
 *            it preempts the P whose G has run longest, at most once per P
 *            every TIMERGAP (250 us). The preempted M runs the timers in
 *            gopreempt before anything else, and the woken G runs next.
 *            With an idle P but no idle M, sysmon starts an M instead.
 *            When an idle M without a P ran the timers first, the woken
 *            Gs wait on the global queue: it preempts for them the same
 *            way (timerswoke).
 *   GOMAXPROCS  once a second, sysmon computes the default again and
 *            has the updater goroutine resize when it changed (maxprocs.c;
 *            Go 1.25's sysmonUpdateGOMAXPROCS).
 *
 * Asking a G to stop sets gp->preempt. It is honoured in two ways.
 *
 *   Cooperative (Go before 1.14): at a safe point, a call into the runtime
 *   (mustbeinruntime, at the entry of every blocking API call), or, in a
 *   PREEMPT=coop build, at the entry of every user function: user code is
 *   compiled with -finstrument-functions and __cyg_profile_func_enter is
 *   gort's version of Go's prologue stack check. A loop with no calls has
 *   no safe point.
 *
 *   Asynchronous (Go 1.14), the protocol, x86-64:
 *     1. preemptone sets gp->preempt under sched.lock, then, once the
 *        lock is let go, preemptflush (Go's preemptM) sends SIGURG to the
 *        M (pthread_kill), once: m->signalpending stays 1 until the
 *        handler runs, so a slow thread is not flooded.
 *     2. The handler (on the M's sigaltstack) clears signalpending and
 *        reads the interrupted RIP and RSP from the ucontext.
 *     3. It checks that the point is async-safe: the interrupted code ran
 *        under the M's own signal mask (sigmasknormal: not in a signal
 *        handler of the program's, which blocks its signal and may have
 *        interrupted libc or the runtime), and (asyncsafe) the M runs a
 *        G that is _Grunning and still asked to stop; the PC is in the
 *        executable's own code but outside the runtime's, which the
 *        Makefile links into its own section, gort_text (so not in the
 *        runtime, whose locks are only ever held by runtime code or by the
 *        libc it calls, and not in libc, libm or the vDSO, whose locks and
 *        per-thread state the goroutine might be holding; the runtime is
 *        built with -fno-plt, so that its libc calls never stop in a PLT
 *        stub, which is in the program's text); RSP lies in the
 *        G's stack with room for the trampoline's frame and the XSAVE area.
 *        Otherwise it counts a refusal and returns: sysmon asks again
 *        while the G still runs, 250 us later, then twice as long each
 *        time up to its longest tick (sysmonpreempt).
 *     4. It makes the thread resume in gort_asyncPreempt as if the
 *        interrupted code had called it, below the 128-byte red zone that
 *        the System V ABI lets leaf code use under RSP: it writes RIP at
 *        RSP - 136 and sets RSP to that slot, RIP to the trampoline.
 *     5. gort_asyncPreempt (preempt_amd64.S) saves the flags, every
 *        general register and, with XSAVE, the whole x87/SSE/AVX/AVX-512
 *        state (FXSAVE where XSAVE is missing), clears DF and aligns the
 *        stack for C, then calls gort_asyncPreempt2.
 *     6. gort_asyncPreempt2 checks the interrupted PC once more (user
 *        code, or gort_throw: a wrong verdict in step 3 would otherwise
 *        show only as a rare deadlock), counts the preemption and calls
 *        gopreempt (proc.c): the G goes to the global queue as with
 *        gosched, and this M runs the due timers and then whatever is next.
 *     7. When the G runs again, on any M, gopreempt returns; the trampoline
 *        restores everything and `ret $128` pops the interrupted RIP and
 *        steps back over the red zone.
 *
 * What async preemption cannot know. A C goroutine preempted in its own
 * code may resume on another thread. Code that caches a thread-local
 * address (errno's, a __thread variable's) or holds a lock that blocks its
 * thread (a pthread mutex, flockfile) across a loop with no calls can
 * break; Go's own code has neither. Nor can it know that user code runs
 * as a callback from libc with a libc lock held (dl_iterate_phdr's): such
 * code must run with SIGURG blocked (HACKING.md, Preemption). A SIGURG
 * also cuts short a sleep or a read the goroutine makes without
 * runtime_entersyscall (EINTR; SA_RESTART restarts the rest), as in Go
 * since 1.14; while it stays blocked, sysmon asks ever more rarely, up to
 * once per 10 ms. GODEBUG=asyncpreemptoff=1 turns the signals off.
 *
 * Rejected:
 *   - A timer signal per thread (setitimer, timer_create): every thread
 *     is interrupted every slice, busy or not; sysmon signals only a G
 *     that has overrun.
 *   - Checking a flag at loop back-edges (Go considered it, 2018): every
 *     loop pays, and C code compiled elsewhere has no such checks.
 *   - Making the handler switch goroutines itself: it runs on the
 *     sigaltstack in the middle of a signal frame; the trampoline runs as
 *     an ordinary call on the G's own stack, so the switch is the usual
 *     one (mcall) and the sanitizers see nothing new.
 *
 * Where it cannot run: under TSan the signal reaches gort's handler late,
 * from TSan's own code, with a copy of the context (editing it changes
 * nothing, and writing below the copied RSP would corrupt a live stack),
 * so a TSan build preempts cooperatively only, as PREEMPT=coop does. The
 * arm64 port has no trampoline yet: it sends no signals. Nor does a
 * statically linked program, whose text holds libc's code (preemptinit
 * checks, and says so on stderr). Under valgrind the handler tells
 * memcheck about the slot it writes below the G's RSP (pushcall).
 *
 * Invariants:
 *   - sysmon holds no P and no M; it takes sched.lock for each pass of
 *     retake and reads p->m and m->curg only under it, but sends no
 *     signal under it (preemptflush).
 *   - A G runs gort_asyncPreempt only from the handler's step 4, and only
 *     in user code (gort_asyncPreempt2 checks): never twice nested (the
 *     trampoline is in gort_text), never in a signal handler.
 *   - npreemptasync + npreemptcoop == /sched/preemptions:events.
 */
#define _GNU_SOURCE
#include "runtime2.h"
#include "san.h"

#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_VALGRIND 1
#endif
#endif

#define SYSMON_MIN    (20 * 1000LL)         /* 20 us: Go's first delay */
#define SYSMON_MAX    (10 * 1000 * 1000LL)  /* 10 ms: Go's longest */
#define SYSCALL_MAX   (10 * 1000 * 1000LL)  /* retake an idle-worthy syscall P after 10 ms */
#define TIMERGAP      (250 * 1000LL)        /* at most one timer preemption per P per 250 us */
#define ASKGAP        (250 * 1000LL)        /* first wait after a request that did not take */

/* Runtime code lies between these (the Makefile renames every runtime
 * object's .text to gort_text; ld defines the two symbols). */
extern const char __start_gort_text[], __stop_gort_text[];

void gort_asyncPreempt(void);               /* preempt_amd64.S */
void gort_asyncPreempt2(uintptr_t pc);

/* ---- which build may preempt asynchronously --------------------------- */

#if defined(GORT_TSAN)
static const char *const asyncoff_why = "TSan delivers signals late (README: TSan)";
#elif defined(GORT_PREEMPT_COOP)
static const char *const asyncoff_why = "built with PREEMPT=coop";
#elif !defined(__x86_64__)
static const char *const asyncoff_why = "no trampoline for this architecture yet (arm64)";
#else
static const char *const asyncoff_why = NULL;
#endif

static bool asyncpreempt;                   /* signals are sent (set at preemptinit) */

/* ---- the executable's code, and the XSAVE area ------------------------ */

#define MAXTEXT 8
static struct { uintptr_t lo, hi; } text[MAXTEXT];   /* executable segments of the program */
static int ntext;
static bool dynamic;                        /* the program has PT_INTERP: ld.so loads libc */

static int findtext(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size; (void)arg;
    for (int i = 0; i < info->dlpi_phnum && ntext < MAXTEXT; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_INTERP)
            dynamic = true;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            text[ntext].lo = info->dlpi_addr + ph->p_vaddr;
            text[ntext].hi = text[ntext].lo + ph->p_memsz;
            ntext++;
        }
    }
    return 1;                                /* the first object is the program */
}

/* Whether pc is user code: the program's own text, outside the runtime's. */
static bool userpc(uintptr_t pc)
{
    if (pc >= (uintptr_t)__start_gort_text && pc < (uintptr_t)__stop_gort_text)
        return false;
    for (int i = 0; i < ntext; i++)
        if (pc >= text[i].lo && pc < text[i].hi)
            return true;
    return false;
}

/* Statically linked, libc's code lies in the program's text: "user code"
 * by address, so the handler would preempt inside malloc or fprintf with
 * their locks held (heap corruption, deadlocks), and inside the libc calls
 * the runtime makes under sched.lock (gopreempt then takes it again).
 * Two signs, either enough: no PT_INTERP header (nothing loaded libc), or
 * qsort, libc's own code, calling back from an address in the program's
 * text (a test that holds however the program was linked). */
static uintptr_t qsortcaller;

static int probecmp(const void *a, const void *b)
{
    qsortcaller = (uintptr_t)__builtin_return_address(0);
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static bool libcinprogram(void)
{
    int v[3] = { 3, 1, 2 };
    qsortcaller = 0;
    qsort(v, 3, sizeof v[0], probecmp);
    return !dynamic || (qsortcaller != 0 && userpc(qsortcaller));
}

/* Read by preempt_amd64.S: the XSAVE component mask (0: use FXSAVE) and the
 * size of the save area, a multiple of 64. */
uint64_t gort_xsave_mask;
uint64_t gort_xsave_size;

static void xsaveinit(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    gort_xsave_mask = 0;
    gort_xsave_size = 512;                   /* FXSAVE: x87, MXCSR, XMM0-15 */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    /* Everything the OS enabled except AMX tiles (bits 17-18: 8 KiB, and
     * off limits until the thread asks the kernel for them). */
    uint64_t mask = (((uint64_t)hi << 32) | lo) & ~((1ULL << 17) | (1ULL << 18));
    uint64_t size = 576;                     /* legacy area + XSAVE header */
    for (int i = 2; i < 63; i++) {
        if (!(mask & (1ULL << i)))
            continue;
        __cpuid_count(0xD, i, a, b, c, d);   /* a: size, b: offset */
        if ((uint64_t)a + b > size)
            size = (uint64_t)a + b;
    }
    gort_xsave_mask = mask;
    gort_xsave_size = (size + 63) & ~63ULL;
#endif
}

/* Bytes of G stack a preemption needs below the interrupted RSP: the red
 * zone, the trampoline's frame and save area, and the C frames of
 * asyncPreempt2 and gopreempt down to mcall (the due timers run on g0,
 * in gopreempt_m, not here). */
static __attribute__((unused)) uintptr_t preemptroom(void)
{
    return 128 + 16 + 14 * 8 + 64 + (uintptr_t)gort_xsave_size + 8192;
}

/* ---- sysmon ------------------------------------------------------------ */

static struct {
    pthread_t thread;
    bool      started;
    note      wake;                 /* to stop, or for an earlier timer */
    uint32_t  stop;                 /* atomic */
    int64_t   until;                /* atomic: when its sleep ends; 0 awake */
    uint32_t  timerswoke;           /* atomic: Gs that timers woke wait for a P */
} sysmonst;

static int64_t slicens(void)
{
    return (int64_t)debug.preemptslice * 1000000;
}

/* sysmon's longest sleep: 10 ms, and never more than one time slice. */
static int64_t sysmonmax(void)
{
    return slicens() < SYSMON_MAX ? slicens() : SYSMON_MAX;
}

/* Asks the G running on pp to stop: the flag, and a signal unless async
 * preemption is off (Go's preemptone). Under sched.lock; the signal itself
 * is sent by preemptflush once the caller has let the lock go, so that
 * pthread_kill (a system call) never lengthens a sched.lock hold. */
static bool preemptone(p *pp)
{
    m *mp = pp->m;
    if (mp == NULL || mp->joined)
        return false;
    g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
    if (gp == NULL)
        return false;                         /* in schedule(): stops by itself */
    __atomic_store_n(&gp->preempt, 1, __ATOMIC_RELAXED);
    /* For the slice, not only for gp: gp may be parking right now, and the
     * G that inherits its slice (runnext) would run on unasked. */
    __atomic_store_n(&pp->preemptslice,
                     PREEMPTSLICE | __atomic_load_n(&pp->schedtick, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    if (asyncpreempt && __atomic_exchange_n(&mp->signalpending, 1, __ATOMIC_ACQ_REL) == 0)
        __atomic_store_n(&mp->sigwant, 1, __ATOMIC_RELEASE);
    return true;
}

/* Sends the signals preemptone asked for (Go's preemptM). Without
 * sched.lock: Ms are never freed while the runtime runs, and sched.allm
 * only grows (newm publishes with a release store), so the list can be
 * walked as it is; the exchange makes each request one signal. */
static void preemptflush(void)
{
    for (m *mp = __atomic_load_n(&sched.allm, __ATOMIC_ACQUIRE); mp; mp = mp->alllink) {
        if (__atomic_load_n(&mp->sigwant, __ATOMIC_RELAXED) &&
            __atomic_exchange_n(&mp->sigwant, 0, __ATOMIC_ACQ_REL) &&
            pthread_kill(mp->thread, SIGURG) != 0)
            __atomic_store_n(&mp->signalpending, 0, __ATOMIC_RELAXED);
    }
}

/* sysmon's requests (retake's overrun, a due timer) to the G on pp, Go's
 * preemptone with a back-off: a request that did not take (no switch on
 * the P since the last one: the G ignored its signal, being in libc,
 * blocked in a plain read(), or in a signal handler of its own) is made
 * again only after ASKGAP, then twice as long each time, up to sysmon's
 * longest tick. Go asks at every tick, but its ticks have backed off to
 * 10 ms by then; gort's stay at 20 us while a timer waits for a P, and a
 * G blocked in a plain read() was signalled 4,000 times a second.
 * Under sched.lock. */
static bool backedoff(p *pp, int64_t now)
{
    return __atomic_load_n(&pp->nswitch, __ATOMIC_RELAXED) == pp->sysmontick.askswitch &&
           now - pp->sysmontick.askwhen < pp->sysmontick.askgap;
}

static bool sysmonpreempt(p *pp, int64_t now)
{
    if (backedoff(pp, now) || !preemptone(pp))
        return false;
    uint64_t sw = __atomic_load_n(&pp->nswitch, __ATOMIC_RELAXED);
    int64_t gap = ASKGAP, max = sysmonmax();
    if (pp->sysmontick.askwhen != 0 && sw == pp->sysmontick.askswitch)
        gap = pp->sysmontick.askgap * 2 < max ? pp->sysmontick.askgap * 2 : max;
    pp->sysmontick.askwhen = now;
    pp->sysmontick.askswitch = sw;
    pp->sysmontick.askgap = gap;
    return true;
}

/* Every running G is asked to stop (Go's preemptall): stop-the-world and
 * exit. True if any was asked. */
bool preemptall(void)
{
    bool any = false;
    lock(&sched.lock);
    for (int32_t i = 0; i < sched.gomaxprocs; i++) {
        p *pp = sched.allp[i];
        if (__atomic_load_n(&pp->status, __ATOMIC_RELAXED) == _Prunning && preemptone(pp))
            any = true;
    }
    unlock(&sched.lock);
    if (any)
        preemptflush();
    return any;
}

/* Go's retake: preempt Gs past their slice; take Ps from long system
 * calls. Returns the number of Ps retaken. */
static int retake(int64_t now)
{
    int n = 0;
    lock(&sched.lock);
    for (int32_t i = 0; i < sched.gomaxprocs; i++) {
        p *pp = sched.allp[i];
        uint32_t s = __atomic_load_n(&pp->status, __ATOMIC_RELAXED);
        bool overran = false;
        if (s == _Prunning || s == _Psyscall) {
            uint32_t t = __atomic_load_n(&pp->schedtick, __ATOMIC_RELAXED);
            if (pp->sysmontick.schedtick != t) {
                pp->sysmontick.schedtick = t;
                pp->sysmontick.schedwhen = now;
            } else if (pp->sysmontick.schedwhen + slicens() <= now) {
                if (s == _Prunning)
                    sysmonpreempt(pp, now);
                overran = true;
            }
        }
        if (s != _Psyscall)
            continue;
        /* Retake it if it spans a whole sysmon tick, unless it has no work
         * (runnext included), an idle P or a spinning M is there to take
         * new work, and it is under 10 ms (Go's retake). */
        uint32_t t = __atomic_load_n(&pp->syscalltick, __ATOMIC_RELAXED);
        if (!overran && pp->sysmontick.syscalltick != t) {
            pp->sysmontick.syscalltick = t;
            pp->sysmontick.syscallwhen = now;
            continue;
        }
        if (runqempty(pp) &&
            __atomic_load_n(&sched.nmspinning, __ATOMIC_SEQ_CST) + sched.npidle > 0 &&
            pp->sysmontick.syscallwhen + SYSCALL_MAX > now)
            continue;
        unlock(&sched.lock);
        if (retakep(pp))
            n++;
        lock(&sched.lock);
    }
    unlock(&sched.lock);
    preemptflush();
    return n;
}

/* When sysmon must look at the timers: the earliest timer, if nobody else
 * will run it in time (no idle P, or no idle M to take one); else 0. */
static int64_t timerwatch(void)
{
    if (faketime_enabled())
        return 0;                            /* fake time moves in checkdead */
    int64_t when = timer0when();
    if (when == 0)
        return 0;
    if (__atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) > 0 &&
        __atomic_load_n(&sched.nmidle, __ATOMIC_RELAXED) > 0)
        return 0;                            /* an idle M sleeps until it */
    return when;
}

/* Wakes sysmon if it sleeps past `when` (> 0), after what the caller just
 * published (a timer, sysmonst.timerswoke): the fence pairs with the one
 * sysmon makes between saying when its sleep ends and looking at both. */
static void sysmonwake(int64_t when)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int64_t until = __atomic_load_n(&sysmonst.until, __ATOMIC_RELAXED);
    if (when != 0 && until > when &&
        __atomic_compare_exchange_n(&sysmonst.until, &until, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        notewakeup(&sysmonst.wake);
}

/* A new earliest timer (proc.c: timers_changed): sysmon, asleep past it
 * after backing off, wakes to sleep until it instead. Without this a
 * sleeper whose timer is set while sysmon sleeps 10 ms waits that long.
 * Stage 05: the caller passes the timer's when (the earliest of all the
 * Ps' is no longer one load). */
void sysmontimer(int64_t when)
{
    sysmonwake(when);
}

/* An M without a P ran the due timers because every P was busy (proc.c:
 * stopm). The Gs they woke wait on the global queue, where timerpreempt,
 * which watches the timer heap, would not see them: they would wait for a
 * G to yield, up to a time slice. So it preempts for them as for a due
 * timer, at its next tick. */
void timerswoke(void)
{
    __atomic_store_n(&sysmonst.timerswoke, 1, __ATOMIC_RELAXED);
    sysmonwake(1);
}

/* A timer is due and nobody is there to run it, or Gs that timers woke
 * wait for a P (the latency design in the header comment). Returns 1 if
 * it acted. */
static int timerpreempt(int64_t now)
{
    int64_t when = timerwatch();
    bool due = when != 0 && when <= now;
    bool woke = __atomic_exchange_n(&sysmonst.timerswoke, 0, __ATOMIC_ACQ_REL);
    if (!due && !woke)
        return 0;
    if (__atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) > 0) {
        sysmonwakep();                       /* an idle P, but no M to run it */
        return 1;
    }
    p *best = NULL;
    lock(&sched.lock);
    if (!due && sched.runqsize == 0) {
        unlock(&sched.lock);                 /* what the timers woke is running */
        return 0;
    }
    for (int32_t i = 0; i < sched.gomaxprocs; i++) {
        p *pp = sched.allp[i];
        if (__atomic_load_n(&pp->status, __ATOMIC_RELAXED) != _Prunning || pp->m == NULL ||
            __atomic_load_n(&pp->m->curg, __ATOMIC_RELAXED) == NULL)
            continue;                        /* an M in schedule() runs the timers itself */
        if (now - pp->sysmontick.timerpreempt < TIMERGAP || backedoff(pp, now))
            continue;
        if (best == NULL || pp->sysmontick.schedwhen < best->sysmontick.schedwhen)
            best = pp;
    }
    int acted = 0;
    if (best && sysmonpreempt(best, now)) {
        best->sysmontick.timerpreempt = now;
        acted = 1;
    } else if (woke) {
        __atomic_store_n(&sysmonst.timerswoke, 1, __ATOMIC_RELAXED);   /* next tick */
    }
    unlock(&sched.lock);
    if (acted)
        preemptflush();
    return acted;
}

/* Stage 05: polls the network when nobody has for 10 ms (every M busy
 * running goroutines, none in findrunnable), and queues what is ready,
 * starting idle Ps for it (Go's sysmon). Returns 1 if it found any. */
static int sysmonnetpoll(int64_t now)
{
    int64_t last = __atomic_load_n(&sched.lastpoll, __ATOMIC_SEQ_CST);
    if (!netpollinited() || last == 0 || now - last < 10 * 1000 * 1000 ||
        !__atomic_compare_exchange_n(&sched.lastpoll, &last, now, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return 0;
    g *list = netpoll(0);
    if (list == NULL)
        return 0;
    injectglist(list);           /* no P here: the global queue, idle Ps started */
    return 1;
}

static void *sysmon(void *arg)
{
    (void)arg;
    int64_t delay = 0;
    int idle = 0;
    int64_t lastmaxprocs = nanotime1();
    for (;;) {
        if (idle == 0)
            delay = SYSMON_MIN;
        else if (idle > 50)
            delay *= 2;                      /* after 1 ms of nothing, back off */
        int64_t max = slicens() < SYSMON_MAX ? slicens() : SYSMON_MAX;
        if (delay > max)
            delay = max;
        int64_t now = nanotime1(), sleep = delay;
        /* Say when the sleep ends before looking at the timers: a timer
         * added after the look sees it and wakes us (sysmontimer). */
        noteclear(&sysmonst.wake);
        __atomic_store_n(&sysmonst.until, now + sleep, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        int64_t when = timerwatch();
        if (when > now && when - now < sleep)   /* overdue: timerpreempt's back-off */
            sleep = when - now < SYSMON_MIN ? SYSMON_MIN : when - now;
        if (__atomic_load_n(&sysmonst.timerswoke, __ATOMIC_RELAXED))
            sleep = SYSMON_MIN;
        if (!__atomic_load_n(&sysmonst.stop, __ATOMIC_ACQUIRE))
            notetsleep(&sysmonst.wake, sleep);
        __atomic_store_n(&sysmonst.until, 0, __ATOMIC_RELAXED);
        if (__atomic_load_n(&sysmonst.stop, __ATOMIC_ACQUIRE))
            break;
        now = nanotime1();
        if (__atomic_load_n(&sched.exiting, __ATOMIC_ACQUIRE)) {
            preemptall();                    /* main returned: stop every spinner */
            idle = 0;
            continue;
        }
        /* A refused signal is no reason to look again sooner (Go's rule):
         * once it was, and a G blocked in libc (a plain read) got a signal
         * every 20 us. sysmonpreempt repeats a request that did not take
         * on a schedule of its own. */
        if (now - lastmaxprocs >= MAXPROCS_PERIOD) {
            lastmaxprocs = now;
            sysmonupdategomaxprocs();        /* Go 1.25: maxprocs.c */
        }
        int n = retake(now) + timerpreempt(now) + sysmonnetpoll(now);
        idle = n > 0 ? 0 : idle + 1;
    }
    return NULL;
}

/* ---- the signal ----------------------------------------------------------- */

static struct sigaction oldurg;
static bool handlerset;

/* Step 3 of the protocol. */
static bool asyncsafe(m *mp, g *gp, uintptr_t pc, uintptr_t sp)
{
#if defined(__x86_64__)
    if (readgstatus(gp) != _Grunning || mp->p == NULL)
        return false;
    if (pc >= (uintptr_t)__start_gort_text && pc < (uintptr_t)__stop_gort_text)
        return false;                        /* the runtime */
    bool user = false;
    for (int i = 0; i < ntext; i++)
        if (pc >= text[i].lo && pc < text[i].hi)
            user = true;
    if (!user)
        return false;                        /* libc, libm, the vDSO, a JIT... */
    if ((sp & 7) != 0 || sp > (uintptr_t)gp->stack_hi ||
        sp < (uintptr_t)gp->stack_lo + preemptroom())
        return false;                        /* not on its stack, or too deep in it */
    return true;
#else
    (void)mp; (void)gp; (void)pc; (void)sp;
    return false;                            /* arm64: no trampoline yet */
#endif
}

/* Step 4: the handler's store below the G's RSP is not a C object that
 * ASan could know about. Valgrind's memcheck keeps only the 128 bytes
 * below RSP addressable, and moves that window when RSP moves, but not
 * when sigreturn sets RSP: the slot and the 128 bytes below it would stay
 * "no access", and the trampoline's first 16 pushes and its `ret` would
 * be reported as invalid. So the handler tells it, as a call would have. */
__attribute__((no_sanitize_address))
static void pushcall(ucontext_t *uc, uintptr_t pc, uintptr_t sp)
{
#if defined(__x86_64__)
    sp -= 128 + 8;                           /* step over the red zone */
#ifdef HAVE_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED((void *)(sp - 128), 128 + 8);
#endif
    *(uintptr_t *)sp = pc;                   /* the trampoline's return address */
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)gort_asyncPreempt;
#else
    (void)uc; (void)pc; (void)sp;
#endif
}

/* Whether the interrupted code ran under the signal mask this M runs
 * goroutines with (m.sigmask, from minitsignals). Another mask means the
 * program's own signal handler (its signal is blocked while it runs, and
 * without SA_ONSTACK it runs on the goroutine's stack, in user code by
 * address, above whatever it interrupted: libc with a lock held, the
 * runtime), or user code that blocked signals on purpose. A preempted G
 * may resume on another thread, whose mask it would not have. Only the
 * first 64 signals: the kernel saves no more of the mask. */
static bool sigmasknormal(const m *mp, const ucontext_t *uc)
{
    for (int s = 1; s <= 64; s++)
        if (sigismember(&uc->uc_sigmask, s) != sigismember(&mp->sigmask, s))
            return false;
    return true;
}

static void sigurg(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    m *mp = getm();
    if (mp == NULL || __atomic_exchange_n(&mp->signalpending, 0, __ATOMIC_ACQ_REL) == 0) {
        /* Not sysmon's: the program's own SIGURG. */
        if ((oldurg.sa_flags & SA_SIGINFO) && oldurg.sa_sigaction)
            oldurg.sa_sigaction(sig, info, ctx);
        else if (oldurg.sa_handler != SIG_DFL && oldurg.sa_handler != SIG_IGN)
            oldurg.sa_handler(sig);
        errno = saved;
        return;
    }
    g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
    if (gp != NULL && __atomic_load_n(&gp->preempt, __ATOMIC_RELAXED)) {
        ucontext_t *uc = ctx;
#if defined(__x86_64__)
        uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
        uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#else
        uintptr_t pc = (uintptr_t)uc->uc_mcontext.pc, sp = (uintptr_t)uc->uc_mcontext.sp;
#endif
        if (sigmasknormal(mp, uc) && asyncsafe(mp, gp, pc, sp))
            pushcall(uc, pc, sp);
        else
            __atomic_add_fetch(&sched.npreemptrefused, 1, __ATOMIC_RELAXED);
    }
    errno = saved;
}

/* Steps 6-7, called by the trampoline on the G's stack with the
 * interrupted PC. First the handler's verdict is checked once more: a G
 * stopped in libc or in the runtime breaks only when a lock it holds is
 * wanted again on its thread, now and then; a broken asyncsafe should
 * fail at the first such preemption instead. */
void gort_asyncPreempt2(uintptr_t pc)
{
    if (!userpc(pc)) {
        char msg[128];
        snprintf(msg, sizeof msg, "asyncPreempt: goroutine stopped at %#lx, outside "
                 "the program's own code (libc, the runtime)", (unsigned long)pc);
        gort_throw(msg);
    }
    __atomic_add_fetch(&sched.npreemptasync, 1, __ATOMIC_RELAXED);
    gopreempt();
}

/* ---- cooperative safe points ---------------------------------------------- */

void preemptcheck(g *gp)
{
    if (__atomic_load_n(&gp->preempt, __ATOMIC_RELAXED) && readgstatus(gp) == _Grunning) {
        __atomic_add_fetch(&sched.npreemptcoop, 1, __ATOMIC_RELAXED);
        gopreempt();
    }
}

/* PREEMPT=coop: user code compiled with -finstrument-functions calls these
 * at every function entry and exit; the entry is gort's prologue check. */
__attribute__((no_instrument_function))
void __cyg_profile_func_enter(void *fn, void *site);
__attribute__((no_instrument_function))
void __cyg_profile_func_exit(void *fn, void *site);

__attribute__((no_instrument_function))
void __cyg_profile_func_enter(void *fn, void *site)
{
    (void)fn; (void)site;
    g *gp = getg();
    if (gp != NULL && __atomic_load_n(&gp->preempt, __ATOMIC_RELAXED))
        preemptcheck(gp);
}

__attribute__((no_instrument_function))
void __cyg_profile_func_exit(void *fn, void *site)
{
    (void)fn; (void)site;
}

/* ---- start and stop --------------------------------------------------------- */

void preemptinit(void)
{
    static bool warned;
    ntext = 0;
    dynamic = false;
    dl_iterate_phdr(findtext, NULL);
    bool staticlibc = asyncoff_why == NULL && libcinprogram();
    asyncpreempt = asyncoff_why == NULL && !staticlibc && !debug.asyncpreemptoff;
    if (staticlibc && !debug.asyncpreemptoff && !warned) {
        warned = true;
        fprintf(stderr, "gort: the program is statically linked (libc's code lies in its "
                "own text): asynchronous preemption is off; goroutines are preempted only "
                "at calls into the runtime\n");
    }
    xsaveinit();
    if (asyncoff_why == NULL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = sigurg;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        handlerset = sigaction(SIGURG, &sa, &oldurg) == 0;
    }
    noteclear(&sysmonst.wake);
    __atomic_store_n(&sysmonst.stop, 0, __ATOMIC_RELAXED);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    if (pthread_create(&sysmonst.thread, &attr, sysmon, NULL) != 0)
        gort_throw("preemptinit: cannot start sysmon");
    pthread_attr_destroy(&attr);
    sysmonst.started = true;
}

void preemptfini(void)
{
    if (sysmonst.started) {
        __atomic_store_n(&sysmonst.stop, 1, __ATOMIC_RELEASE);
        notewakeup(&sysmonst.wake);
        pthread_join(sysmonst.thread, NULL);
        sysmonst.started = false;
    }
    if (handlerset) {
        sigaction(SIGURG, &oldurg, NULL);
        handlerset = false;
    }
}
