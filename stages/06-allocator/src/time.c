/*
 * time.c: timers, sleep, time_after, timers and tickers (mirrors Go's
 * src/runtime/time.go of Go 1.14 to 1.22, and the user half in
 * src/time/sleep.go, tick.go).
 *
 * The problem stage 04 leaves. Every pending timer of the process sat in
 * one heap under one lock. Every time_sleep, time_after, reset and stop,
 * from every P, took that lock, and so did every M that looked for due
 * timers: a program that sleeps and wakes on many Ps at once serialises
 * on it (Go's issue 6239, "scalable timers", fixed in Go 1.14), and the
 * heap's cache lines travel between the CPUs at every operation.
 *
 * The design (Go 1.14's, simplified where it stays correct):
 *   - Each P has its own 4-ary min-heap of timers ordered by `when`, under
 *     its own lock, p.timerslock. There is no global timer lock.
 *   - addtimer puts a timer on the caller's P (m->p). A caller without a P
 *     (an idle M running timers, a thread that is no M) uses allp[0]: P0
 *     exists for as long as the runtime runs (GOMAXPROCS >= 1), so a timer
 *     put there is never stranded on a P that procresize is destroying
 *     (Go 1.14 throws for a timer added without a P; gort's API may be
 *     called from plain threads).
 *   - t->pp names the P whose heap holds t, NULL when t is not pending.
 *     It is written only under that P's timerslock. deltimer and modtimer
 *     find the timer's P, lock it, and check that t->pp still names it (a
 *     procresize may have moved the timer meanwhile): Go's status machine
 *     is not needed to find the heap.
 *   - A P's timers are run by whoever holds the P (checktimers, from
 *     schedule/findrunnable, gosched and gopreempt), by a thief
 *     (findrunnable's steal loop runs the due timers of every other P in
 *     its last round, idle ones included: Go's stealWork), and, when every
 *     P is busy, by an idle M without a P or by the M sysmon preempted
 *     (proc.c: checkalltimers). Taking the victim's timerslock is what
 *     makes that safe.
 *   - timer0when() is the earliest `when` of the process: the minimum of
 *     the Ps' atomic p.timer0when (Go's timeSleepUntil). Idle Ms sleep
 *     until it, sysmon watches it, and checkdead's fake clock jumps to it.
 *     A timer that becomes the head of its P's heap does not read it: it
 *     calls timers_changed(when) (Go's wakeNetPoller), which compares it
 *     with the time some idle M wakes anyway (proc.c: idlewhen) and wakes
 *     one only for an earlier timer; reading every P's head at every add
 *     would pull the other Ps' busy cache lines to this CPU.
 *   - procresize moves the timers of the Ps it destroys onto the caller's
 *     P (movetimers, Go's moveTimers), under both Ps' locks.
 *
 * Simplified from Go, and why it stays correct:
 *   - Go 1.14 to 1.22 lets deltimer and modtimer mark a timer
 *     (timerDeleted, timerModifiedEarlier/Later) without the owner's lock,
 *     with a CAS on t.status, and leaves the heap work to the owner
 *     (adjusttimers, clearDeletedTimers, counted in deletedTimers), because
 *     f runs with the lock released and only the owner may touch its heap.
 *     gort takes the timer's P's lock in addtimer, deltimer and modtimer
 *     and fixes the heap at once: still no global lock, and a P's lock is
 *     contended only by a thief or by code stopping a timer another P
 *     started. No deleted timer lingers in a heap, so ntimers() is exact.
 *   - A timer's f runs with its P's timerslock held, as stage 04's ran
 *     under timers.lock. That is what keeps the stop-then-free guarantee
 *     without Go's timerRunning status and deltimer's osyield loop: once
 *     deltimer or modtimer returns, f is not running and will not run with
 *     the old setting, because t->pp stays set until f has returned (a
 *     stopper waits on the lock, then finds t->pp NULL). So f must not
 *     block and must not take any timerslock (it never adds or stops a
 *     timer): it readies a sleeping G (time_sleep), does a non-blocking
 *     send of the current time on a channel of capacity 1 (time_after,
 *     timers, tickers: a tick that finds the buffer full is dropped, as in
 *     Go up to 1.22), or cancels a context.
 *   - modtimer keeps a pending timer on its P (Go's timerModified*); a
 *     timer that was not pending goes to the caller's P, as addtimer.
 *
 * What stealing timers costs: a thief's last round loads every other P's
 * timer0when (one atomic load each) and takes the lock only of a P with a
 * due timer; the timers it runs ready their Gs onto the thief's P, away
 * from the cache of the P that set them. README: "Why timers moved onto
 * the Ps", with figures.
 *
 * Lock order: p.timerslock -> ctxlock -> hchan.lock -> sched.lock. No
 * thread holds two timerslocks, but for procresize's movetimers, which
 * takes the destination's before the dying P's (the world is stopped:
 * nobody else takes two).
 *
 * Invariants, for each P pp, under pp->timerslock:
 *   t->pp == pp and t->idx >= 0 iff t is in pp's heap, pp->timers[t->idx] == t;
 *   t->pp == pp and t->idx < 0 while t's f runs (one-shot, taken off the heap);
 *   pp->timers[i]->when >= pp->timers[(i-1)/4]->when;
 *   pp->timer0when == (timerslen > 0 ? timers[0]->when : 0);
 *   pp->numtimers == timerslen.
 */
#include "runtime2.h"

#include <stdlib.h>

/* The earliest pending timer of the process, 0 if none (Go's
 * timeSleepUntil). Ps beyond GOMAXPROCS hold none once procresize has
 * moved them; walking every P ever made costs nothing more and stays
 * right while a resize is under way. */
int64_t timer0when(void)
{
    int64_t next = 0;
    int32_t n = __atomic_load_n(&sched.allplen, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        p *pp = __atomic_load_n(&sched.allp[i], __ATOMIC_ACQUIRE);
        int64_t w = pp ? __atomic_load_n(&pp->timer0when, __ATOMIC_ACQUIRE) : 0;
        if (w != 0 && (next == 0 || w < next))
            next = w;
    }
    return next;
}

/* Pending timers of the process (checkdead). */
int32_t ntimers(void)
{
    int32_t sum = 0;
    int32_t n = __atomic_load_n(&sched.allplen, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        p *pp = __atomic_load_n(&sched.allp[i], __ATOMIC_ACQUIRE);
        if (pp)
            sum += __atomic_load_n(&pp->numtimers, __ATOMIC_ACQUIRE);
    }
    return sum;
}

/* Ps start with empty heaps (calloc); nothing is global any more. */
void timersinit(void)
{
}

/* runtime_main's end, before the Ps are freed: timers still pending belong
 * to the run that is over. */
void timersfree(void)
{
    for (int32_t i = 0; i < sched.allplen; i++) {
        p *pp = sched.allp[i];
        free(pp->timers);
        pp->timers = NULL;
        pp->timerslen = pp->timerscap = 0;
    }
}

/* ---- a P's heap (pp->timerslock held) ---------------------------------- */

static void place(p *pp, int32_t i, timer *t)
{
    pp->timers[i] = t;
    t->idx = i;
}

static void siftup(p *pp, int32_t i)
{
    timer *t = pp->timers[i];
    while (i > 0) {
        int32_t up = (i - 1) / 4;
        if (t->when >= pp->timers[up]->when)
            break;
        place(pp, i, pp->timers[up]);
        i = up;
    }
    place(pp, i, t);
}

static void siftdown(p *pp, int32_t i)
{
    timer *t = pp->timers[i];
    for (;;) {
        int32_t c = 4 * i + 1, best = -1;
        int64_t w = t->when;
        for (int32_t k = c; k < c + 4 && k < pp->timerslen; k++)
            if (pp->timers[k]->when < w) {
                w = pp->timers[k]->when;
                best = k;
            }
        if (best < 0)
            break;
        place(pp, i, pp->timers[best]);
        i = best;
    }
    place(pp, i, t);
}

/* Publishes the heap's head and size for readers without the lock. */
static void updatetimer0(p *pp)
{
    __atomic_store_n(&pp->timer0when, pp->timerslen ? pp->timers[0]->when : 0,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&pp->numtimers, pp->timerslen, __ATOMIC_RELEASE);
}

/* Go's doaddtimer. t->pp is already pp. */
static void heapadd(p *pp, timer *t)
{
    if (pp->timerslen == pp->timerscap) {
        int32_t cap = pp->timerscap ? 2 * pp->timerscap : 64;
        timer **h = realloc(pp->timers, (size_t)cap * sizeof *h);
        if (h == NULL)
            gort_throw("out of memory growing a timer heap");
        pp->timers = h;
        pp->timerscap = cap;
    }
    place(pp, pp->timerslen++, t);
    siftup(pp, t->idx);
}

/* Go's deltimer0/dodeltimer. Leaves t->pp alone. */
static void heapdel(p *pp, timer *t)
{
    int32_t i = t->idx;
    if (i < 0 || i >= pp->timerslen || pp->timers[i] != t)
        gort_throw("timer heap: timer not where its index says");
    timer *last = pp->timers[--pp->timerslen];
    t->idx = -1;
    if (i == pp->timerslen)
        return;
    place(pp, i, last);
    siftup(pp, i);
    siftdown(pp, last->idx);
}

/* ---- finding a timer's P -------------------------------------------------- */

/* Locks the P whose heap holds t and returns it; NULL (nothing locked)
 * when t is not pending. A timer whose f is running counts as pending on
 * its P until f returns: the caller waits on the lock. */
static p *lockedtimerp(timer *t)
{
    for (;;) {
        p *pp = __atomic_load_n(&t->pp, __ATOMIC_ACQUIRE);
        if (pp == NULL)
            return NULL;
        lock(&pp->timerslock);
        if (__atomic_load_n(&t->pp, __ATOMIC_RELAXED) == pp)
            return pp;
        unlock(&pp->timerslock);     /* moved (procresize), or fired: look again */
    }
}

/* The P a new timer goes to: the caller's, else P0 (design comment). */
static p *addtimerp(void)
{
    m *mp = getm();
    p *pp = mp ? mp->p : NULL;
    return pp ? pp : __atomic_load_n(&sched.allp[0], __ATOMIC_ACQUIRE);
}

/* Locks a P for t, which is not pending, and claims t for it (t->pp, by a
 * CAS: two adds or resets of one idle timer race to it). NULL if t turned
 * out to be pending (the caller looks again). */
static p *claimtimer(timer *t)
{
    p *pp = addtimerp();
    lock(&pp->timerslock);
    p *none = NULL;
    if (__atomic_compare_exchange_n(&t->pp, &none, pp, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        return pp;
    unlock(&pp->timerslock);
    return NULL;
}

/* t was put at its P's head (pp->timerslock no longer held): idle Ms and
 * sysmon re-arm their sleeps if they would sleep past it (proc.c). */
static void addedtimer(int64_t when, bool first)
{
    if (first)
        timers_changed(when);
}

/* ---- operations --------------------------------------------------------- */

void addtimer(timer *t)
{
    if (t->when <= 0)
        t->when = 1;             /* 0 means "none" in timer0when */
    p *pp;
    while ((pp = claimtimer(t)) == NULL) {
        p *op = lockedtimerp(t);     /* waits for an f still running */
        if (op != NULL) {
            unlock(&op->timerslock);
            gort_throw("addtimer: timer already in heap");
        }
    }
    int64_t when = t->when;
    heapadd(pp, t);
    bool first = t->idx == 0;
    updatetimer0(pp);
    unlock(&pp->timerslock);
    addedtimer(when, first);
}

/* Stops t. True if it was pending; either way, f is not running when it
 * returns, and will not run (the design comment). */
bool deltimer(timer *t)
{
    p *pp = lockedtimerp(t);
    if (pp == NULL)
        return false;
    heapdel(pp, t);
    __atomic_store_n(&t->pp, NULL, __ATOMIC_RELEASE);
    updatetimer0(pp);
    unlock(&pp->timerslock);
    return true;
}

/* Sets t to fire at `when` (then every period, if > 0), pending or not.
 * True if it was pending. */
bool modtimer(timer *t, int64_t when, int64_t period)
{
    if (when <= 0)
        when = 1;
    for (;;) {
        bool pending = true;
        p *pp = lockedtimerp(t);
        if (pp != NULL) {
            heapdel(pp, t);          /* stays on its P (Go's timerModified*) */
        } else if ((pp = claimtimer(t)) != NULL) {
            pending = false;
        } else {
            continue;                /* someone else added it meanwhile */
        }
        t->when = when;
        t->period = period;
        heapadd(pp, t);
        bool first = t->idx == 0;
        updatetimer0(pp);
        unlock(&pp->timerslock);
        addedtimer(when, first);
        return pending;
    }
}

/* Runs the timer at the head of pp's heap, due at `now` (Go's
 * runOneTimer). pp->timerslock held, and held while f runs. */
static void runonetimer(p *pp, timer *t, int64_t now)
{
    if (t->period > 0) {
        /* Next tick in the future; ticks missed meanwhile are skipped. */
        t->when += t->period * (1 + (now - t->when) / t->period);
        siftdown(pp, 0);
        updatetimer0(pp);
        t->f(t->arg, now);
    } else {
        heapdel(pp, t);          /* t->pp stays pp: a stopper waits for f */
        updatetimer0(pp);
        t->f(t->arg, now);
        __atomic_store_n(&t->pp, NULL, __ATOMIC_RELEASE);
    }
}

/* Runs every timer of pp due at `now` (0: read the clock only if one may
 * be due), whoever calls it: pp's M, a thief, an M without a P (Go's
 * checkTimers; Go's runtimer loop). Called on g0, never on a goroutine's
 * stack, whose room a timer's f may exceed: findrunnable, gosched's and
 * (stage 04) gopreempt's functions under mcall, an idle M (stopm). There
 * a goready from f sees no current G and readies onto the caller's P, or
 * onto the global queue from an M without one. True if any timer ran. */
bool checktimers(p *pp, int64_t now)
{
    if (getg() != NULL)
        gort_throw("checktimers: on a goroutine's stack");
    int64_t next = __atomic_load_n(&pp->timer0when, __ATOMIC_ACQUIRE);
    if (next == 0)
        return false;
    if (now == 0)
        now = nanotime();
    if (next > now)
        return false;
    bool ran = false;
    lock(&pp->timerslock);
    while (pp->timerslen > 0 && pp->timers[0]->when <= now) {
        runonetimer(pp, pp->timers[0], now);
        ran = true;
    }
    unlock(&pp->timerslock);
    return ran;
}

/* procresize, world stopped, under sched.lock: every timer of the dying
 * P src goes to dst (Go's moveTimers). Both locks: a thread that is no M
 * may be stopping one of them right now (lockedtimerp sees t->pp change). */
void movetimers(p *dst, p *src)
{
    lock(&dst->timerslock);
    lock(&src->timerslock);
    for (int32_t i = 0; i < src->timerslen; i++) {
        timer *t = src->timers[i];
        t->idx = -1;
        __atomic_store_n(&t->pp, dst, __ATOMIC_RELEASE);
        heapadd(dst, t);
    }
    src->timerslen = 0;
    updatetimer0(dst);           /* dst first: ntimers() never dips to 0 */
    updatetimer0(src);
    unlock(&src->timerslock);
    unlock(&dst->timerslock);
}

/* ---- time_sleep ------------------------------------------------------- */

int64_t time_now(void)
{
    return nanotime();
}

/* The instant ns from now, saturated at INT64_MAX ("never"): now + ns
 * would overflow for a huge ns, and signed overflow is undefined in C. */
int64_t deadline_after(int64_t ns)
{
    int64_t now = nanotime();
    if (ns <= 0)
        return now;
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

static void goready_timer(void *arg, int64_t now)
{
    (void)now;
    goready(arg);
}

/* gopark's unlockf: the timer goes in only once the G is parked, so its
 * goready cannot come too early (Go's resetForSleep). */
static bool resetforsleep(g *gp, void *unused)
{
    (void)unused;
    addtimer(gp->sleeptimer);
    return true;
}

void time_sleep(int64_t ns)
{
    g *gp = getg();
    if (gp == NULL)
        gort_fatal_outside("time_sleep()");
    if (ns <= 0)
        return;
    if (gp->sleeptimer == NULL) {
        gp->sleeptimer = calloc(1, sizeof(timer));
        if (gp->sleeptimer == NULL)
            gort_throw("out of memory allocating a sleep timer");
    }
    timer *t = gp->sleeptimer;
    t->idx = -1;
    t->f = goready_timer;
    t->arg = gp;
    t->period = 0;
    t->when = deadline_after(ns);
    gopark(resetforsleep, NULL, "sleep");
}

/* ---- channel timers: time_after, time_timer, time_ticker -------------- */

struct time_timer {
    timer   t;
    chan_t *c;
};
struct time_ticker {
    timer   t;
    chan_t *c;
};

/* Non-blocking send of the firing time: a full buffer drops the tick. */
static void sendtime(void *arg, int64_t now)
{
    chan_try_send(arg, &now);
}

static time_timer *newchantimer(int64_t ns, int64_t period)
{
    time_timer *tt = calloc(1, sizeof *tt);
    if (tt == NULL)
        gort_throw("out of memory allocating a timer");
    tt->c = chan_make(sizeof(int64_t), 1);
    tt->t.idx = -1;
    tt->t.f = sendtime;
    tt->t.arg = tt->c;
    tt->t.when = deadline_after(ns);
    tt->t.period = period;
    addtimer(&tt->t);
    return tt;
}

/* time_after's timer belongs to its channel: chan_free stops and frees it. */
static void freeaftertimer(void *owner)
{
    time_timer *tt = owner;
    deltimer(&tt->t);
    free(tt);
}

chan_t *time_after(int64_t ns)
{
    time_timer *tt = newchantimer(ns, 0);
    chan_attach_timer(tt->c, tt, freeaftertimer);
    return tt->c;
}

time_timer *time_new_timer(int64_t ns) { return newchantimer(ns, 0); }
chan_t *time_timer_chan(time_timer *t) { return t->c; }
bool time_timer_stop(time_timer *t) { return deltimer(&t->t); }
bool time_timer_reset(time_timer *t, int64_t ns) { return modtimer(&t->t, deadline_after(ns), 0); }

void time_timer_free(time_timer *t)
{
    if (t == NULL)
        return;
    deltimer(&t->t);
    chan_free(t->c);
    free(t);
}

time_ticker *time_new_ticker(int64_t period_ns)
{
    if (period_ns <= 0)
        gort_panic("non-positive interval for NewTicker");
    return (time_ticker *)newchantimer(period_ns, period_ns);
}

chan_t *time_ticker_chan(time_ticker *t) { return t->c; }
void time_ticker_stop(time_ticker *t) { deltimer(&t->t); }
void time_ticker_free(time_ticker *t) { time_timer_free((time_timer *)t); }
