/*
 * time.c: timers, sleep, time_after, timers and tickers (mirrors Go's
 * src/runtime/time.go and the user half in src/time/sleep.go, tick.go).
 *
 * All pending timers of the process sit in one 4-ary min-heap ordered by
 * `when`, under timers.lock (Go keeps one heap per P from 1.14 on; stage 01
 * has no P). Nobody owns a timer thread: an M looking for work in
 * findrunnable runs the expired timers, and an M going idle sleeps no
 * longer than until the earliest one (timer0when). Adding a timer that
 * becomes the earliest wakes an idle M so it can shorten its sleep.
 *
 * A timer's f runs on g0 with timers.lock held, so it must not block: it
 * readies a sleeping G (time_sleep), or does a non-blocking send of the
 * current time on a channel of capacity 1 (time_after, timers, tickers:
 * a tick that finds the buffer full is dropped, as in Go up to 1.22).
 * Running f under the lock is what makes stop-then-free safe: once
 * deltimer returns, f is not running and will not run.
 *
 * Invariants, under timers.lock:
 *   t->idx >= 0 iff t is in the heap, and heap[t->idx] == t;
 *   heap[i]->when >= heap[(i-1)/4]->when;
 *   timer0 == (n > 0 ? heap[0]->when : 0).
 */
#include "runtime2.h"

#include <stdlib.h>

static struct {
    mutex    lock;
    timer  **heap;
    int32_t  n, cap;
    int64_t  timer0;            /* atomic: earliest when, 0 if none */
    int32_t  count;             /* atomic: n, for checkdead */
} timers;

int64_t timer0when(void) { return __atomic_load_n(&timers.timer0, __ATOMIC_ACQUIRE); }
int32_t ntimers(void) { return __atomic_load_n(&timers.count, __ATOMIC_ACQUIRE); }

void timersinit(void)
{
    timers.heap = NULL;
    timers.n = timers.cap = 0;
    __atomic_store_n(&timers.timer0, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&timers.count, 0, __ATOMIC_RELEASE);
}

void timersfree(void)
{
    free(timers.heap);
    timers.heap = NULL;
    timers.n = timers.cap = 0;
}

/* ---- the heap (timers.lock held) -------------------------------------- */

static void place(int32_t i, timer *t)
{
    timers.heap[i] = t;
    t->idx = i;
}

static void siftup(int32_t i)
{
    timer *t = timers.heap[i];
    while (i > 0) {
        int32_t p = (i - 1) / 4;
        if (t->when >= timers.heap[p]->when)
            break;
        place(i, timers.heap[p]);
        i = p;
    }
    place(i, t);
}

static void siftdown(int32_t i)
{
    timer *t = timers.heap[i];
    for (;;) {
        int32_t c = 4 * i + 1, best = -1;
        int64_t w = t->when;
        for (int32_t k = c; k < c + 4 && k < timers.n; k++)
            if (timers.heap[k]->when < w) {
                w = timers.heap[k]->when;
                best = k;
            }
        if (best < 0)
            break;
        place(i, timers.heap[best]);
        i = best;
    }
    place(i, t);
}

static void updatetimer0(void)
{
    __atomic_store_n(&timers.timer0, timers.n ? timers.heap[0]->when : 0, __ATOMIC_RELEASE);
    __atomic_store_n(&timers.count, timers.n, __ATOMIC_RELEASE);
}

static void heapadd(timer *t)
{
    if (timers.n == timers.cap) {
        timers.cap = timers.cap ? 2 * timers.cap : 64;
        timer **h = realloc(timers.heap, (size_t)timers.cap * sizeof *h);
        if (h == NULL)
            gort_throw("out of memory growing the timer heap");
        timers.heap = h;
    }
    place(timers.n++, t);
    siftup(t->idx);
}

static void heapdel(timer *t)
{
    int32_t i = t->idx;
    timer *last = timers.heap[--timers.n];
    t->idx = -1;
    if (i == timers.n)
        return;
    place(i, last);
    siftup(i);
    siftdown(last->idx);
}

/* ---- operations --------------------------------------------------------- */

void addtimer(timer *t)
{
    if (t->when <= 0)
        t->when = 1;             /* 0 means "none" in timer0 */
    lock(&timers.lock);
    if (t->idx >= 0)
        gort_throw("addtimer: timer already in heap");
    heapadd(t);
    bool first = t->idx == 0;
    updatetimer0();
    unlock(&timers.lock);
    if (first)
        timers_changed();
}

bool deltimer(timer *t)
{
    lock(&timers.lock);
    bool pending = t->idx >= 0;
    if (pending) {
        heapdel(t);
        updatetimer0();
    }
    unlock(&timers.lock);
    return pending;
}

bool modtimer(timer *t, int64_t when, int64_t period)
{
    if (when <= 0)
        when = 1;
    lock(&timers.lock);
    bool pending = t->idx >= 0;
    if (pending)
        heapdel(t);
    t->when = when;
    t->period = period;
    heapadd(t);
    bool first = t->idx == 0;
    updatetimer0();
    unlock(&timers.lock);
    if (first)
        timers_changed();
    return pending;
}

/* Runs every timer due at `now`. Called on g0, never on a goroutine's
 * stack, whose room a timer's f may exceed: by findrunnable, by gosched's
 * and (stage 04) gopreempt's functions under mcall, and by an idle M
 * (stopm, from stage 02). There, a goready from f sees no current G. */
void runtimers(int64_t now)
{
    if (getg() != NULL)
        gort_throw("runtimers: on a goroutine's stack");
    lock(&timers.lock);
    while (timers.n > 0 && timers.heap[0]->when <= now) {
        timer *t = timers.heap[0];
        if (t->period > 0) {
            /* Next tick in the future; ticks missed meanwhile are skipped. */
            t->when += t->period * (1 + (now - t->when) / t->period);
            siftdown(0);
        } else {
            heapdel(t);
        }
        t->f(t->arg, now);
    }
    updatetimer0();
    unlock(&timers.lock);
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
