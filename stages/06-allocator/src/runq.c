/*
 * runq.c: each P's lock-free run queue, its runnext slot, and stealing
 * from it (mirrors runqput, runqputslow, runqget, runqgrab, runqsteal and
 * randomOrder in Go's src/runtime/proc.go).
 *
 * The problem. In stage 02 only the M holding a P touches the P's queue,
 * so an idle P cannot take work from a busy one: 100 goroutines spawned
 * by main run on main's P while the others sleep. Letting other Ms take
 * from the queue means the queue is shared, and a lock around it would
 * put a contended lock back on the hottest path of the scheduler.
 *
 * The design: a single-producer, multi-consumer ring (Go's, from Vyukov's
 * design of 2012). Only the M holding the P appends (runqput); that M and
 * thieves remove from the head, each by one CAS on runqhead, so the owner
 * never waits for a thief and thieves never wait for each other.
 *
 *   1. Put (owner only): read head (acquire), write the G into slot
 *      tail % RUNQSIZE, then publish it by storing tail + 1 (release).
 *      A full ring moves its older half and the new G to the global queue
 *      (runqputslow), claiming the half with the same CAS a thief uses.
 *   2. Take (owner, one G): read head (acquire) and the slot, then CAS head
 *      from h to h + 1 (acq_rel). A failed CAS means a thief took it: retry.
 *   3. Steal (thief, half): read head (acquire), then tail (acquire); copy
 *      the slots [h, h + n) with n = ceil((t - h) / 2) into the thief's own
 *      ring beyond its tail; then CAS the victim's head from h to h + n
 *      (acq_rel). Only if the CAS succeeds are the copies the thief's: it
 *      publishes them by storing its own tail (release).
 *   4. runnext: the owner sets it by an exchange (seq_cst: it is also the
 *      StoreLoad barrier of the wake-up protocol, proc.c); the old G goes
 *      to the ring's tail. The owner takes it first (runqget), by CAS, and
 *      a thief takes it only in its last round (runqgrab, stealnext), and
 *      then, when the victim is running, only after sleeping 3 us: the
 *      victim's G has most likely just readied it and is about to block,
 *      so its P will run it in a moment; stealing it then would only bounce
 *      it between Ps. That is Go's rule (usleep(3) on Linux).
 *
 * Why every slot is an atomic: a thief may read a slot at the moment the
 * owner, having seen the head move past it, writes a new G there. The
 * thief then fails its CAS and throws the copy away, so the value never
 * matters, but the read races with the write. Go accepts that benign race
 * inside the runtime; in C it is undefined behaviour and TSan reports it,
 * so slots are read and written with relaxed atomics (plain moves on
 * x86-64 and arm64) and the ordering comes from head and tail.
 *
 * Why a G read from the ring is safe to run: its slot was written before
 * the release store of the tail that the reader loaded with acquire, and
 * every write the previous owner made to the G came before that slot
 * write. A CAS on head that succeeds is the only claim; a reader that
 * loses never touches the G.
 *
 * Rejected: a mutex per P (stage 02's rejected list; the owner would pay
 * for every thief); a deque where the owner pops its newest G (Cilk's
 * THE protocol): Go's local order is FIFO plus one LIFO slot, runnext,
 * which keeps the locality of the newest G without starving the oldest.
 *
 * Victim order (randomOrder in Go): stealing visits the Ps in a random
 * order that is still a permutation, so each round sees every P once:
 * start at a random position and step by a random stride coprime with
 * the number of Ps. The coprimes are computed once per GOMAXPROCS change.
 */
#define _GNU_SOURCE
#include "runtime2.h"

#include <time.h>

#define LD(x, o)     __atomic_load_n(&(x), o)
#define ST(x, v, o)  __atomic_store_n(&(x), (v), o)
#define CAS(x, e, v) __atomic_compare_exchange_n(&(x), (e), (v), false, \
                                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define SLOT(pp, i)  ((pp)->runq[(i) % RUNQSIZE])
#define RLX __ATOMIC_RELAXED
#define ACQ __ATOMIC_ACQUIRE
#define REL __ATOMIC_RELEASE

/* Gs in the ring (not runnext), from any thread: a snapshot. */
uint32_t runqlen(p *pp)
{
    for (;;) {
        uint32_t h = LD(pp->runqhead, ACQ);
        uint32_t t = LD(pp->runqtail, ACQ);
        if (t - h <= RUNQSIZE)
            return t - h;
    }
}

/* No G waits on pp, runnext included. From any thread, a snapshot: the
 * tail is read twice so that head, tail and runnext belong together. */
bool runqempty(p *pp)
{
    for (;;) {
        uint32_t h = LD(pp->runqhead, __ATOMIC_SEQ_CST);
        uint32_t t = LD(pp->runqtail, __ATOMIC_SEQ_CST);
        g *next = LD(pp->runnext, __ATOMIC_SEQ_CST);
        if (t == LD(pp->runqtail, __ATOMIC_SEQ_CST))
            return h == t && next == NULL;
    }
}

/* The ring is full: move its older half, and gp, to the global queue in
 * one batch (Go's runqputslow). False if a thief took some meanwhile: the
 * caller retries the fast path. */
static bool runqputslow(p *pp, g *gp, uint32_t h, uint32_t t)
{
    g *batch[RUNQSIZE / 2 + 1];
    uint32_t n = (t - h) / 2;
    if (n != RUNQSIZE / 2)
        gort_throw("runqputslow: queue is not full");
    for (uint32_t i = 0; i < n; i++)
        batch[i] = LD(SLOT(pp, h + i), RLX);
    if (!CAS(pp->runqhead, &h, h + n))
        return false;
    batch[n] = gp;
    for (uint32_t i = 0; i < n; i++)
        batch[i]->schedlink = batch[i + 1];
    globrunqputbatch(batch[0], batch[n], (int32_t)n + 1);
    return true;
}

/* Puts gp on pp's queue; with next, into runnext, and the G that was
 * there to the tail. Only the M holding pp calls it. */
void runqput(p *pp, g *gp, bool next)
{
    if (next) {
        g *old = __atomic_exchange_n(&pp->runnext, gp, __ATOMIC_SEQ_CST);
        if (old == NULL)
            return;
        gp = old;                /* kicked out of runnext: to the tail */
    }
    for (;;) {
        uint32_t h = LD(pp->runqhead, ACQ);
        uint32_t t = LD(pp->runqtail, RLX);       /* only we write it */
        if (t - h < RUNQSIZE) {
            ST(SLOT(pp, t), gp, RLX);
            ST(pp->runqtail, t + 1, REL);
            return;
        }
        if (runqputslow(pp, gp, h, t))
            return;
    }
}

/* The next G for pp's M: runnext first (*inherit = true: it shares the
 * time slice of the G that readied it), else the ring's head. */
g *runqget(p *pp, bool *inherit)
{
    g *next = LD(pp->runnext, RLX);
    /* Only the owner sets runnext, so a failed CAS means a thief emptied it. */
    if (next != NULL && CAS(pp->runnext, &next, NULL)) {
        *inherit = true;
        return next;
    }
    *inherit = false;
    for (;;) {
        uint32_t h = LD(pp->runqhead, ACQ);
        uint32_t t = LD(pp->runqtail, RLX);
        if (t == h)
            return NULL;
        g *gp = LD(SLOT(pp, h), RLX);
        if (CAS(pp->runqhead, &h, h + 1))
            return gp;
    }
}

/* Copies half of victim's ring (rounded up) into batch[batchhead ...]
 * (the thief's own ring, beyond its tail) and claims it; with stealnext
 * and an empty ring, takes runnext instead. Returns how many (Go's
 * runqgrab). */
static uint32_t runqgrab(p *victim, g **batch, uint32_t batchhead, bool stealnext)
{
    for (;;) {
        uint32_t h = LD(victim->runqhead, ACQ);
        uint32_t t = LD(victim->runqtail, ACQ);
        uint32_t n = t - h;
        n = n - n / 2;
        if (n == 0) {
            g *next;
            if (!stealnext || (next = LD(victim->runnext, ACQ)) == NULL)
                return 0;
            if (LD(victim->status, RLX) == _Prunning) {
                /* Go's back-off: the victim's G most likely readied next
                 * and is about to block; give its P the chance to run it. */
                struct timespec ts = { 0, 3000 };
                nanosleep(&ts, NULL);
            }
            if (!CAS(victim->runnext, &next, NULL))
                continue;
            ST(batch[batchhead % RUNQSIZE], next, RLX);
            return 1;
        }
        if (n > RUNQSIZE / 2)
            continue;            /* h and t read far apart: inconsistent */
        for (uint32_t i = 0; i < n; i++)
            ST(batch[(batchhead + i) % RUNQSIZE], LD(SLOT(victim, h + i), RLX), RLX);
        if (CAS(victim->runqhead, &h, h + n))
            return n;
    }
}

/* Steals half of victim's Gs into pp's (empty) ring; returns one of them
 * to run, or NULL. Only pp's M (Go's runqsteal). */
g *runqsteal(p *pp, p *victim, bool stealnext)
{
    uint32_t t = LD(pp->runqtail, RLX);
    uint32_t n = runqgrab(victim, pp->runq, t, stealnext);
    if (n == 0)
        return NULL;
    ST(pp->nsteal, pp->nsteal + 1, RLX);
    ST(pp->nstolen, pp->nstolen + n, RLX);
    n--;
    g *gp = LD(SLOT(pp, t + n), RLX);     /* the newest one runs now */
    if (n == 0)
        return gp;
    uint32_t h = LD(pp->runqhead, ACQ);
    if (t - h + n >= RUNQSIZE)
        gort_throw("runqsteal: runq overflow");
    ST(pp->runqtail, t + n, REL);
    return gp;
}

/* Every G on pp, runnext first, in the order pp would run them; empties
 * pp. With the world stopped (procresize). */
int32_t runqdrain(p *pp, g **out)
{
    int32_t n = 0;
    bool inherit;
    for (g *gp; (gp = runqget(pp, &inherit)) != NULL;)
        out[n++] = gp;
    return n;
}

/* ---- randomOrder: a random permutation of the Ps per steal round ------- */

static struct {
    uint32_t count;
    uint32_t ncoprimes;
    uint32_t coprimes[MAXGOMAXPROCS];
} stealorder;

static uint32_t gcd(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* With the world stopped; thieves read it without a lock afterwards (the
 * world's restart orders this before them). */
void stealorder_reset(uint32_t count)
{
    stealorder.count = count;
    stealorder.ncoprimes = 0;
    for (uint32_t i = 1; i <= count; i++)
        if (gcd(i, count) == 1)
            stealorder.coprimes[stealorder.ncoprimes++] = i;
}

/* An enumeration of 0..count-1 chosen by r (a fastrandn draw). */
randomenum stealorder_start(uint32_t r)
{
    randomenum e = {
        .i = 0,
        .count = stealorder.count,
        .pos = r % stealorder.count,
        .inc = stealorder.coprimes[r / stealorder.count % stealorder.ncoprimes],
    };
    return e;
}
