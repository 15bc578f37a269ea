/*
 * Graded tests of exercise gfree (see ../README.md for the points).
 *
 * White-box: they read struct p's gfree/ngfree, sched.gfree/ngfree and
 * allgs through src/runtime2.h, at moments when no other thread may change
 * them (GOMAXPROCS=1, where the test's own M holds the only P; or after
 * runtime_gomaxprocs(1), which stops the world and purges the other Ps).
 * Counts come from GRADE_SEED.
 */
#include "grade.h"
#include "runtime2.h"

enum { GFREE_MAX = 64, GFREE_BATCH = 32 };

static int list_len(g *head, int limit)
{
    int n = 0;
    for (g *gp = head; gp && n <= limit; gp = gp->schedlink)
        n++;
    return n;
}

static size_t nallg(void)
{
    lock(&allglock);
    size_t n = allglen;
    unlock(&allglock);
    return n;
}

/* Goroutines that wait on `gate` and exit when it closes. */
static chan_t *gate;
static sync_waitgroup wg;
static void waiter(void *arg)
{
    (void)arg;
    chan_recv(gate, NULL);
    sync_wg_done(&wg);
}

/* Starts n waiters, then (close_them) lets them all exit and waits until
 * they have (GOMAXPROCS=1: they exit on this P, before main runs again). */
static void spawn(int n) { gate = chan_make(0, 0); sync_wg_add(&wg, n); for (int i = 0; i < n; i++) go(waiter, NULL); }
static void release_all(void)
{
    chan_close(gate);
    sync_wg_wait(&wg);
    while (runtime_num_goroutine() > 1)
        time_sleep(100000);
    chan_free(gate);
}

static p *myp(void) { return getm()->p; }

/* ---- reuse ---------------------------------------------------------------- */

static void nothing(void *arg) { sync_wg_done(arg); }

GRADE_TEST(gfree_reuses_dead_gs, 2, "", 1)
{
    int rounds = (int)grade_rand(200, 600);
    size_t before = nallg();
    for (int i = 0; i < rounds; i++) {
        sync_waitgroup w = SYNC_WAITGROUP_INIT;
        sync_wg_add(&w, 1);
        go(nothing, &w);
        sync_wg_wait(&w);
        time_sleep(0);
    }
    size_t grown = nallg() - before;
    CHECK(grown <= 4, "%d goroutines ran one after another, yet %zu new Gs were allocated: dead "
          "Gs are not reused (gfput must keep them, gfget hand them out)", rounds, grown);
}

/* ---- the P's own list ------------------------------------------------------- */

GRADE_TEST(gfput_caches_on_the_p, 2, "gfree_reuses_dead_gs", 1)
{
    p *pp = myp();
    int k = (int)grade_rand(5, GFREE_MAX - 1);
    int l0 = pp->ngfree, g0 = sched.ngfree;
    REQUIRE(l0 == 0 && g0 == 0, "at the start no G has died yet, but the P's list holds %d and "
            "the global one %d", l0, g0);
    spawn(k);
    release_all();
    CHECK(pp->ngfree == k, "%d goroutines died on this P: its list (p->ngfree) should hold all "
          "%d (fewer than %d), it holds %d", k, k, GFREE_MAX, pp->ngfree);
    CHECK(list_len(pp->gfree, 10000) == pp->ngfree, "p->ngfree is %d but the list p->gfree "
          "has %d Gs", pp->ngfree, list_len(pp->gfree, 10000));
    CHECK(sched.ngfree == 0, "below %d dead Gs nothing should go to the global list; it has %d",
          GFREE_MAX, sched.ngfree);
    int bad = 0;
    for (g *gp = pp->gfree; gp; gp = gp->schedlink)
        bad += readgstatus(gp) != _Gdead;
    CHECK(bad == 0, "%d Gs on the P's list are not _Gdead", bad);
}

/* The model of the README: from an empty P, after k deaths on it. */
static int model_local(int k) { return k < GFREE_MAX ? k : GFREE_BATCH + (k - GFREE_MAX) % GFREE_BATCH; }

GRADE_TEST(gfput_overflow_moves_a_batch, 2, "gfput_caches_on_the_p", 1)
{
    p *pp = myp();
    int k = (int)grade_rand(GFREE_MAX, 6 * GFREE_MAX);
    spawn(k);
    release_all();
    int wl = model_local(k);
    CHECK(pp->ngfree == wl && sched.ngfree == k - wl, "after %d deaths on one P, want %d on "
          "its list and %d on the global one (a batch of %d moves each time the P's list "
          "reaches %d); got %d and %d", k, wl, k - wl, GFREE_BATCH, GFREE_MAX, pp->ngfree,
          sched.ngfree);
    CHECK(list_len(pp->gfree, 100000) == pp->ngfree, "p->ngfree %d, list length %d",
          pp->ngfree, list_len(pp->gfree, 100000));
    CHECK(list_len(sched.gfree, 100000) == sched.ngfree, "sched.ngfree %d, list length %d",
          sched.ngfree, list_len(sched.gfree, 100000));
}

GRADE_TEST(gfget_refills_a_batch_from_global, 2, "gfput_overflow_moves_a_batch", 1)
{
    p *pp = myp();
    int k = (int)grade_rand(2 * GFREE_MAX, 6 * GFREE_MAX);
    spawn(k);
    release_all();
    int local = pp->ngfree, global = sched.ngfree;
    size_t allg = nallg();
    /* Use up the P's list: the global one must not be touched. */
    spawn(local);
    CHECK(pp->ngfree == 0 && sched.ngfree == global, "%d go() calls with %d Gs on the P's "
          "list should take them all from there (want 0 left, global %d); got %d, global %d",
          local, local, global, pp->ngfree, sched.ngfree);
    /* One more: a batch comes over, one is used. */
    int extra = (int)grade_rand(1, GFREE_BATCH);
    chan_t *first_gate = gate;
    sync_wg_add(&wg, extra);
    for (int i = 0; i < extra; i++)
        go(waiter, NULL);
    CHECK(sched.ngfree == global - GFREE_BATCH && pp->ngfree == GFREE_BATCH - extra,
          "with the P's list empty and %d on the global list, %d go() calls should move one "
          "batch of %d to the P (global %d, P %d); got global %d, P %d", global, extra,
          GFREE_BATCH, global - GFREE_BATCH, GFREE_BATCH - extra, sched.ngfree, pp->ngfree);
    CHECK(nallg() == allg, "%zu new Gs were allocated although %d dead ones were free",
          nallg() - allg, global + local);
    chan_close(first_gate);
    sync_wg_wait(&wg);
    while (runtime_num_goroutine() > 1)
        time_sleep(100000);
    chan_free(first_gate);
}

/* ---- procresize: a dying P's list goes to the global one ------------------ */

static int moved_off_p0;
static void churner(void *arg)
{
    (void)arg;
    /* Get onto another P: gosched goes through the global queue, which
     * idle Ps take from. */
    for (int i = 0; i < 2000 && getm()->p->id == 0; i++) {
        gosched();
        if (i % 50 == 49)
            time_sleep(200000);
    }
    if (getm()->p->id != 0) {
        __atomic_add_fetch(&moved_off_p0, 1, __ATOMIC_SEQ_CST);
        int n = (int)grade_rand(5, 40);        /* die here: this P's list fills */
        sync_waitgroup w = SYNC_WAITGROUP_INIT;
        sync_wg_add(&w, n);
        for (int i = 0; i < n; i++)
            go(nothing, &w);
        sync_wg_wait(&w);
    }
    sync_wg_done(&wg);
}

/* With the world stopped at GOMAXPROCS=1: every dead G on exactly one list,
 * and none on a P that is not allp[0]. Returns the number of problems. */
static int check_accounting(const char *when)
{
    int problems = 0, ndead = 0;
    lock(&allglock);
    for (size_t i = 0; i < allglen; i++)
        ndead += readgstatus(allgs[i]) == _Gdead;
    unlock(&allglock);
    int onlists = list_len(sched.gfree, 1 << 24);
    CHECK(onlists == sched.ngfree, "%s: sched.ngfree %d, global list length %d", when,
          sched.ngfree, onlists);
    problems += onlists != sched.ngfree;
    for (int32_t i = 0; i < sched.allplen; i++) {
        p *pp = sched.allp[i];
        int n = list_len(pp->gfree, 1 << 24);
        if (i > 0 && (n != 0 || pp->ngfree != 0)) {
            CHECK(false, "%s: P %d is dead (GOMAXPROCS=1) but still holds %d dead Gs "
                  "(gfpurge must move them to the global list)", when, i, n);
            problems++;
        }
        CHECK(n == pp->ngfree, "%s: P %d: ngfree %d, list length %d", when, i, pp->ngfree, n);
        problems += n != pp->ngfree;
        onlists += n;
    }
    /* Only dead Gs are on the lists, each once: the lengths add up. */
    CHECK(onlists == ndead, "%s: %d Gs are dead, but the free lists hold %d", when, ndead,
          onlists);
    return problems + (onlists != ndead);
}

GRADE_TEST(gfpurge_empties_dying_ps, 2, "gfput_caches_on_the_p", 4)
{
    int n = (int)grade_rand(6, 12);
    moved_off_p0 = 0;
    sync_wg_add(&wg, n);
    for (int i = 0; i < n; i++)
        go(churner, NULL);
    sync_wg_wait(&wg);
    while (runtime_num_goroutine() > 1)
        time_sleep(100000);
    REQUIRE(__atomic_load_n(&moved_off_p0, __ATOMIC_SEQ_CST) > 0,
            "no goroutine of %d ever ran on a P other than P0: cannot test gfpurge", n);
    int held = 0;
    for (int32_t i = 1; i < sched.gomaxprocs; i++)
        held += __atomic_load_n(&sched.allp[i]->ngfree, __ATOMIC_RELAXED);
    CHECK(held > 0, "goroutines died on Ps 1-3, yet those Ps' lists hold nothing");
    runtime_gomaxprocs(1);               /* stops the world; Ps 1-3 die */
    check_accounting("after runtime_gomaxprocs(1)");
}

/* ---- the point of it all: no lock on the fast path ------------------------ */

static int cycles, hold_state, cycles_in_hold;
static size_t allg_in_hold;
static void child(void *arg) { chan_send(arg, NULL); }

/* A plain thread takes sched.lock and holds it 150 ms; a goroutine that
 * spawns and reaps children meanwhile must not need it. */
static void *lock_holder(void *arg)
{
    (void)arg;
    lock(&sched.lock);
    size_t a0 = allglen;
    int c0 = __atomic_load_n(&cycles, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hold_state, 1, __ATOMIC_SEQ_CST);
    usleep(150000);
    int c1 = __atomic_load_n(&cycles, __ATOMIC_SEQ_CST);
    __atomic_store_n(&allg_in_hold, allglen - a0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cycles_in_hold, c1 - c0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hold_state, 2, __ATOMIC_SEQ_CST);
    unlock(&sched.lock);
    return NULL;
}

GRADE_TEST(gfree_fast_path_takes_no_lock, 3, "gfget_refills_a_batch_from_global", 1)
{
    chan_t *c = chan_make(0, 1);
    for (int i = 0; i < 4; i++) {        /* warm: a few dead Gs on this P */
        go(child, c);
        chan_recv(c, NULL);
    }
    time_sleep(GRADE_MS(1));
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, lock_holder, NULL) == 0, "pthread_create failed");
    while (__atomic_load_n(&hold_state, __ATOMIC_SEQ_CST) < 2) {
        go(child, c);                    /* gfget */
        chan_recv(c, NULL);              /* the child runs, sends, dies: gfput */
        __atomic_add_fetch(&cycles, 1, __ATOMIC_SEQ_CST);
    }
    pthread_join(t, NULL);
    int n = __atomic_load_n(&cycles_in_hold, __ATOMIC_SEQ_CST);
    CHECK(n >= 20, "while another thread held sched.lock for 150 ms, go() + exit ran %d times "
          "(want >= 20): the per-P fast path must not take sched.lock", n);
    CHECK(__atomic_load_n(&allg_in_hold, __ATOMIC_SEQ_CST) == 0, "%zu new Gs were allocated "
          "meanwhile: the dead ones on this P were not reused",
          __atomic_load_n(&allg_in_hold, __ATOMIC_SEQ_CST));
    chan_free(c);
}

/* ---- everything at once ------------------------------------------------------ */

static void spawner(void *arg)
{
    int depth = (int)(intptr_t)arg;
    int n = (int)grade_rand(1, 6);
    sync_waitgroup w = SYNC_WAITGROUP_INIT;
    sync_wg_add(&w, n);
    for (int i = 0; i < n; i++) {
        if (depth > 0)
            go((void (*)(void *))spawner, (void *)(intptr_t)(depth - 1));
        else
            go(nothing, &w);
        if (depth > 0)
            sync_wg_done(&w);
    }
    sync_wg_wait(&w);
    if (grade_rand(0, 3) == 0)
        gosched();
}

GRADE_TEST(gfree_stress_accounting, 3, "gfpurge_empties_dying_ps", 4)
{
    int rounds = (int)grade_rand(20, 40);
    for (int r = 0; r < rounds; r++) {
        go(spawner, (void *)(intptr_t)grade_rand(1, 3));
        if (r % 8 == 7)
            time_sleep(GRADE_MS(1));
    }
    while (runtime_num_goroutine() > 1)
        time_sleep(GRADE_MS(1));
    runtime_gomaxprocs(1);
    check_accounting("after the stress, at GOMAXPROCS=1");
    size_t total = nallg();
    int dead = sched.ngfree + myp()->ngfree;
    CHECK(dead > 0 && total < 20000, "%zu Gs allocated, %d free: reuse is not happening",
          total, dead);
}
