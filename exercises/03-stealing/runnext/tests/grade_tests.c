/*
 * Graded tests of exercise runnext (see ../README.md for the points).
 *
 * All run at GOMAXPROCS=1 with no timers, where the schedule is a pure
 * function of the program: every count below is exact, not a timing. A
 * "pair" is two goroutines passing a counter back and forth over two
 * unbuffered channels: each pass readies the other into runnext, then
 * blocks, so every pick of the pair is a runnext pick (a hand-off).
 */
#include "grade.h"
#include "runtime2.h"

#define HANDOFFS 8

static uint32_t schedtick_now(void) { return getm()->p->schedtick; }

/* ---- the pair ------------------------------------------------------------ */

typedef struct {
    chan_t *ab, *ba;
    int n;                      /* hand-offs to make */
    int64_t passes;             /* atomic: hand-offs made so far */
    void (*at)(int pass);       /* called by A before pass `pass`, or NULL */
    sync_waitgroup wg;
    uint32_t tick0, tick1;      /* schedtick at the first and last pass */
} pair;

static pair pr;

static void pair_a(void *arg)
{
    (void)arg;
    int v = 0;
    pr.tick0 = schedtick_now();
    for (int i = 0; i < pr.n; i += 2) {
        if (pr.at)
            pr.at(i);
        __atomic_store_n(&pr.passes, i + 1, __ATOMIC_RELAXED);
        chan_send(pr.ab, &v);
        chan_recv(pr.ba, &v);
    }
    pr.tick1 = schedtick_now();
    int stop = -1;
    chan_send(pr.ab, &stop);
    sync_wg_done(&pr.wg);
}

static void pair_b(void *arg)
{
    (void)arg;
    for (int v;;) {
        chan_recv(pr.ab, &v);
        if (v < 0)
            break;
        __atomic_add_fetch(&pr.passes, 1, __ATOMIC_RELAXED);
        chan_send(pr.ba, &v);
    }
    sync_wg_done(&pr.wg);
}

static void pair_run(int n, void (*at)(int))
{
    REQUIRE(runtime_gomaxprocs(0) == 1, "this test needs GOMAXPROCS=1: its counts are exact there");
    pr.ab = chan_make(sizeof(int), 0);
    pr.ba = chan_make(sizeof(int), 0);
    pr.n = n;
    pr.at = at;
    __atomic_store_n(&pr.passes, 0, __ATOMIC_RELAXED);
    sync_wg_add(&pr.wg, 2);
    go(pair_b, NULL);
    time_sleep(GRADE_MS(1));            /* B waits in chan_recv */
    go(pair_a, NULL);
    sync_wg_wait(&pr.wg);
    chan_free(pr.ab);
    chan_free(pr.ba);
}

/* ---- 1 --------------------------------------------------------------------- */

static char order[8];
static int norder;
static chan_t *cc;

static void logger(void *arg)
{
    order[__atomic_fetch_add(&norder, 1, __ATOMIC_RELAXED)] = (char)(intptr_t)arg;
}

static void consumer(void *arg)
{
    int v;
    chan_recv(cc, &v);
    logger((void *)(intptr_t)'C');
    sync_wg_done(arg);
}

static void filler(void *arg)
{
    logger(arg);
}

GRADE_TEST(readied_goroutine_runs_next, 3, "", 1)
{
    REQUIRE(runtime_gomaxprocs(0) == 1, "this test needs GOMAXPROCS=1: its order is exact there");
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    cc = chan_make(sizeof(int), 0);
    sync_wg_add(&wg, 1);
    go(consumer, &wg);
    time_sleep(GRADE_MS(1));            /* it waits in chan_recv */
    go(filler, (void *)(intptr_t)'1');
    go(filler, (void *)(intptr_t)'2');
    go(filler, (void *)(intptr_t)'3');
    int v = 7;
    chan_send(cc, &v);                  /* readies the consumer: runnext */
    sync_wg_wait(&wg);                  /* main blocks: the P picks */
    time_sleep(GRADE_MS(1));
    CHECK(norder == 4 && order[0] == 'C', "run order %.4s: the consumer readied last should run "
          "first, before the goroutines queued earlier", order);
    chan_free(cc);
}

/* ---- 2 --------------------------------------------------------------------- */

GRADE_TEST(pair_keeps_its_slice_when_alone, 3, "", 1)
{
    pair_run(2000, NULL);
    uint32_t d = pr.tick1 - pr.tick0;
    CHECK(__atomic_load_n(&pr.passes, __ATOMIC_RELAXED) >= 2000, "the pair did not finish");
    CHECK(d <= 2, "2000 hand-offs with no other goroutine waiting took %u time slices "
          "(schedtick): each pick from runnext should inherit the slice", d);
}

/* ---- 3 --------------------------------------------------------------------- */

static int64_t queued_at[3], ran_at[3];

static void waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    ran_at[i] = __atomic_load_n(&pr.passes, __ATOMIC_RELAXED);
}

static void make_waiters(int pass)
{
    int which = pass == 100 ? 0 : pass == 600 ? 1 : pass == 1400 ? 2 : -1;
    if (which < 0)
        return;
    queued_at[which] = pass;
    go(waiter, (void *)(intptr_t)which);    /* runnable on this P's queue */
}

GRADE_TEST(waiter_runs_after_eight_handoffs, 4, "", 1)
{
    for (int i = 0; i < 3; i++)
        ran_at[i] = -1;
    pair_run(2000, make_waiters);
    for (int i = 0; i < 3; i++) {
        int64_t waited = ran_at[i] < 0 ? -1 : ran_at[i] - queued_at[i];
        CHECK(waited >= HANDOFFS - 1 && waited <= HANDOFFS + 2,
              "a goroutine queued behind the pair at hand-off %lld ran %s%lld hand-offs later: "
              "want %d (the pair keeps its slice for %d hand-offs, then yields)",
              (long long)queued_at[i], ran_at[i] < 0 ? "never, or " : "", (long long)waited,
              HANDOFFS, HANDOFFS);
    }
}

/* ---- 4 --------------------------------------------------------------------- */

static int yielder_stop, recording;
static int64_t seen[20000];             /* pr.passes at each run of the yielder */
static int nseen;

static void yielder(void *arg)
{
    while (!__atomic_load_n(&yielder_stop, __ATOMIC_RELAXED)) {
        if (recording && nseen < 20000 && __atomic_load_n(&pr.passes, __ATOMIC_RELAXED) > 0)
            seen[nseen++] = __atomic_load_n(&pr.passes, __ATOMIC_RELAXED);
        gosched();                      /* to the global queue's tail */
    }
    sync_wg_done(arg);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

GRADE_TEST(gosched_goroutine_gets_every_eighth_turn, 2, "", 1)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    go(yielder, &wg);
    time_sleep(GRADE_MS(1));
    int first = nseen;
    recording = 1;
    pair_run(4000, NULL);
    recording = 0;
    int last = nseen;
    __atomic_store_n(&yielder_stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);
    /* The hand-offs between two runs of the yielder, while the pair played. */
    static int64_t gaps[20000];
    int n = 0;
    for (int i = first + 1; i < last; i++)
        if (seen[i] < 4000)
            gaps[n++] = seen[i] - seen[i - 1];
    qsort(gaps, (size_t)n, sizeof gaps[0], cmp64);
    int64_t median = n ? gaps[n / 2] : -1;
    printf("(gosched_goroutine_gets_every_eighth_turn) %d runs, median gap %lld hand-offs\n",
           n, (long long)median);
    CHECK(n >= 4000 / (2 * (HANDOFFS + 2)), "a goroutine yielding to the global queue ran %d "
          "times during 4000 hand-offs of a pair: want one run per %d hand-offs or so", n, HANDOFFS);
    CHECK(median >= HANDOFFS - 1 && median <= HANDOFFS + 2, "between two runs of the yielding "
          "goroutine the pair made %lld hand-offs (median): want %d, a slice of %d hand-offs",
          (long long)median, HANDOFFS, HANDOFFS);
}
