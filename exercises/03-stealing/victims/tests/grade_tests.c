/*
 * Graded tests of exercise victims (see ../README.md for the points).
 *
 * The first four call the enumeration directly, at GOMAXPROCS=1, where no
 * thief runs (stealwork needs two Ps), so stealorder_reset may be pointed
 * at any count. Orders are compared as arrays; uniformity is judged by
 * Pearson's chi-square with a bound that a uniform order exceeds about
 * once in ten million runs (z > 5 in the Wilson-Hilferty normal
 * approximation), so a fair answer does not flake.
 *
 * The last two run the real scheduler: work made runnable on the last P,
 * whose M never lets go of it, can reach another P only through the
 * student's order (stealwork).
 */
#include "grade.h"
#include "runtime2.h"

#include <math.h>

/* The order of one enumeration, written to out (up to max entries);
 * returns how many Ps it visited before randomenum_done (max + 1 if it
 * had not finished by then). Any visit outside 0..count-1 is reported. */
static int walk(uint32_t count, uint32_t r, uint16_t *out, int max, bool *range_ok)
{
    static randomenum e;             /* 2 KB: off the goroutine's stack */
    stealorder_start(&e, r);
    int n = 0;
    *range_ok = true;
    for (; !randomenum_done(&e); randomenum_next(&e)) {
        if (n > max)
            return n;
        if (e.pos >= count)
            *range_ok = false;
        if (n < max)
            out[n] = (uint16_t)e.pos;
        n++;
    }
    return n;
}

static uint32_t rand32(void) { return (uint32_t)grade_rand(0, UINT32_MAX); }

/* z of a chi-square statistic x with df degrees of freedom. */
static double chi2_z(double x, int df)
{
    double k = df;
    return (pow(x / k, 1.0 / 3) - (1 - 2 / (9 * k))) / sqrt(2 / (9 * k));
}

static double chi2(const long *cells, int ncells, long total)
{
    double want = (double)total / ncells, x = 0;
    for (int i = 0; i < ncells; i++)
        x += (cells[i] - want) * (cells[i] - want) / want;
    return x;
}

/* ---- a permutation ---------------------------------------------------------- */

static uint16_t buf[MAXGOMAXPROCS + 1], buf2[MAXGOMAXPROCS + 1];

/* Returns false, with one CHECK failed, if the order of (count, r) is not
 * a permutation of 0..count-1. */
static bool check_permutation(uint32_t count, uint32_t r)
{
    static bool seen[MAXGOMAXPROCS];
    bool range_ok;
    int n = walk(count, r, buf, MAXGOMAXPROCS, &range_ok);
    if (!range_ok || n != (int)count) {
        CHECK(false, "count=%u r=%u: the enumeration visited %d Ps%s, want each of 0..%u once",
              count, r, n, range_ok ? "" : " (some outside 0..count-1)", count - 1);
        return false;
    }
    memset(seen, 0, sizeof seen);
    for (uint32_t k = 0; k < count; k++) {
        if (seen[buf[k]]) {
            CHECK(false, "count=%u r=%u: P %u visited twice (at steps %u and earlier)",
                  count, r, buf[k], k);
            return false;
        }
        seen[buf[k]] = true;
    }
    return true;
}

GRADE_TEST(order_visits_every_p_once, 3, "", 1)
{
    uint32_t rs[] = { 0, 1, UINT32_MAX, 0x80000000u };
    bool ok = true;
    for (uint32_t count = 1; count <= 64 && ok; count++) {
        stealorder_reset(count);
        for (int k = 0; k < 4 && ok; k++)
            ok = check_permutation(count, rs[k]);
        for (int k = 0; k < 50 && ok; k++)
            ok = check_permutation(count, rand32());
    }
    for (int t = 0; t < 20 && ok; t++) {
        uint32_t count = t == 0 ? MAXGOMAXPROCS : (uint32_t)grade_rand(65, MAXGOMAXPROCS);
        stealorder_reset(count);
        for (int k = 0; k < 10 && ok; k++)
            ok = check_permutation(count, rand32());
    }
    CHECK(ok, "(the first failure is above)");
    stealorder_reset(1);
}

/* ---- replayable ------------------------------------------------------------- */

GRADE_TEST(order_replays_from_its_draw, 2, "order_visits_every_p_once", 1)
{
    bool r1, r2;
    int distinct = 0;
    uint32_t count = (uint32_t)grade_rand(5, 40);
    stealorder_reset(count);
    uint16_t first[MAXGOMAXPROCS];
    walk(count, 12345, first, (int)count, &r1);
    for (int k = 0; k < 200; k++) {
        uint32_t r = rand32();
        walk(count, r, buf, (int)count, &r1);
        /* Another enumeration, walked halfway, must not disturb this one. */
        static randomenum other;
        stealorder_start(&other, rand32());
        for (uint32_t s = 0; s < count / 2; s++)
            randomenum_next(&other);
        stealorder_reset(count);
        walk(count, r, buf2, (int)count, &r2);
        if (memcmp(buf, buf2, count * sizeof *buf) != 0) {
            CHECK(false, "count=%u r=%u gave two different orders: the order must be a function "
                  "of the count and the draw alone (schedseed replays the draws)", count, r);
            return;
        }
        distinct += memcmp(buf, first, count * sizeof *buf) != 0;
    }
    CHECK(distinct >= 190, "of 200 random draws at count=%u, %d gave an order other than that "
          "of r=12345: the draw must choose the order", count, distinct);
}

/* ---- uniform ------------------------------------------------------------------ */

GRADE_TEST(first_two_victims_are_uniform, 2, "order_visits_every_p_once", 1)
{
    uint32_t counts[] = { 2, 3, 4, 6, 8, 13 };
    bool range_ok;
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        uint32_t count = counts[c];
        int ncells = (int)(count * (count > 1 ? count - 1 : 1));
        long cells[13 * 12] = { 0 };
        long total = 300L * ncells;
        stealorder_reset(count);
        for (long k = 0; k < total; k++) {
            walk(count, rand32(), buf, 2, &range_ok);
            int cell = count > 1 ? buf[0] * (int)(count - 1) + (buf[1] - (buf[1] > buf[0])) : 0;
            cells[cell]++;
        }
        int unseen = 0;
        for (int i = 0; i < ncells; i++)
            unseen += cells[i] == 0;
        double z = chi2_z(chi2(cells, ncells, total), ncells - 1);
        CHECK(unseen == 0 && z < 5.0, "count=%u: the first two victims should be any ordered "
              "pair of distinct Ps with equal chance; over %ld draws %d of the %d pairs never "
              "came, chi-square z=%.1f (want < 5)", count, total, unseen, ncells, z);
    }
    stealorder_reset(1);
}

static int factorial(int n) { return n <= 1 ? 1 : n * factorial(n - 1); }

/* The rank of a permutation of 0..n-1 (Lehmer code), 0..n!-1. */
static int rank(const uint16_t *perm, int n)
{
    int r = 0;
    for (int i = 0; i < n; i++) {
        int smaller = 0;
        for (int j = i + 1; j < n; j++)
            smaller += perm[j] < perm[i];
        r = r * (n - i) + smaller;
    }
    return r;
}

GRADE_TEST(every_order_is_reachable, 3, "order_visits_every_p_once", 1)
{
    bool range_ok;
    for (int count = 3; count <= 5; count++) {
        int nf = factorial(count);
        long cells[120] = { 0 };
        long total = 200L * nf;
        stealorder_reset((uint32_t)count);
        for (long k = 0; k < total; k++) {
            walk((uint32_t)count, rand32(), buf, count, &range_ok);
            cells[rank(buf, count)]++;
        }
        int unseen = 0;
        for (int i = 0; i < nf; i++)
            unseen += cells[i] == 0;
        double z = chi2_z(chi2(cells, nf, total), nf - 1);
        CHECK(unseen == 0 && z < 5.0, "count=%d: %d of the %d orders never came in %ld draws "
              "(chi-square z=%.1f, want every order, each as likely: < 5)", count, unseen, nf,
              total, z);
    }
    stealorder_reset(1);
}

/* ---- the scheduler uses it ----------------------------------------------------- */

static int myp(void) { return getm()->p->id; }

/* Runs body on a goroutine that holds the last P. Probes cycle through
 * the global queue (gosched puts a G there, and every P takes from it)
 * until one finds itself on that P; it runs body, the others exit. */
static int probe_claimed;              /* atomic */
static void (*probe_body)(void);
static chan_t *probe_done;
static sync_waitgroup probe_wg;
static int probes_live;                /* atomic */

static void probe(void *arg)
{
    int want = (int)(intptr_t)arg;
    int64_t deadline = time_now() + GRADE_MS(5000);
    while (!__atomic_load_n(&probe_claimed, __ATOMIC_SEQ_CST) && time_now() < deadline) {
        int zero = 0;
        if (myp() == want && __atomic_compare_exchange_n(&probe_claimed, &zero, 1, false,
                                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            probe_body();
            chan_send(probe_done, NULL);
            break;
        }
        gosched();
    }
    __atomic_sub_fetch(&probes_live, 1, __ATOMIC_SEQ_CST);
    sync_wg_done(&probe_wg);
}

static void on_last_p(void (*body)(void))
{
    int n = runtime_gomaxprocs(0);
    probe_body = body;
    probe_done = chan_make(0, 1);
    __atomic_store_n(&probes_live, 4 * n, __ATOMIC_SEQ_CST);
    sync_wg_add(&probe_wg, 4 * n);
    for (int i = 0; i < 4 * n; i++)
        go(probe, (void *)(intptr_t)(n - 1));
    sync_wg_wait(&probe_wg);
    CHECK(chan_try_recv(probe_done, NULL, NULL), "no goroutine got onto P %d in 5 s", n - 1);
    chan_free(probe_done);
}

/* Waits until the probes that did not get the last P have left (or 2 s
 * passed), without a runtime call that could move the caller to another
 * P: those still queued on this P leave only if a thief takes them. */
static void wait_for_probes(void)
{
    int64_t deadline = time_now() + GRADE_MS(2000);
    while (__atomic_load_n(&probes_live, __ATOMIC_SEQ_CST) > 1 && time_now() < deadline)
        ;
}

static int last_seen[MAXGOMAXPROCS];   /* atomic */
static int nseen, want_seen;           /* atomic */
static int64_t spin_deadline;

/* CPU-bound, no runtime call: notes its P, then holds it until every P
 * has been seen (or the deadline), so the others can only steal. */
static void hog(void *arg)
{
    int id = myp();
    if (__atomic_exchange_n(&last_seen[id], 1, __ATOMIC_SEQ_CST) == 0)
        __atomic_add_fetch(&nseen, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&nseen, __ATOMIC_SEQ_CST) < want_seen && time_now() < spin_deadline)
        ;
    sync_wg_done(arg);
}

static void last_p_body(void)
{
    int n = runtime_gomaxprocs(0);
    wait_for_probes();
    uint64_t steals0 = 0;
    for (int i = 0; i < n; i++)
        steals0 += __atomic_load_n(&sched.allp[i]->nsteal, __ATOMIC_RELAXED);
    want_seen = n;
    spin_deadline = time_now() + GRADE_MS(3000);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 8 * n);
    for (int i = 0; i < 8 * n; i++)      /* 8n < 256: no overflow to the global queue */
        go(hog, &wg);
    sync_wg_wait(&wg);
    uint64_t steals = 0;
    for (int i = 0; i < n; i++)
        steals += __atomic_load_n(&sched.allp[i]->nsteal, __ATOMIC_RELAXED);
    char who[256] = "";
    for (int i = 0; i < n; i++)
        if (!last_seen[i])
            snprintf(who + strlen(who), sizeof who - strlen(who), " %d", i);
    CHECK(nseen == n, "%d CPU-bound goroutines made runnable on P %d (the last) ran on %d of "
          "the %d Ps; never on P%s: the thieves' order never reached P %d",
          8 * n, n - 1, nseen, n, who, n - 1);
    CHECK(steals - steals0 >= (uint64_t)(n - 1), "%llu steals, want at least one by each "
          "of the %d other Ps", (unsigned long long)(steals - steals0), n - 1);
}

/* Its own deadlines: probes 5 s, waiting for them 2 s, the hogs 3 s: 15 s. */
GRADE_TEST_TIMEOUT(work_on_the_last_p_is_stolen, 3, "order_visits_every_p_once", 4, 15)
{
    on_last_p(last_p_body);
}

static int flag;                       /* atomic */
static void setter(void *arg) { (void)arg; __atomic_store_n(&flag, 1, __ATOMIC_SEQ_CST); }

/* Main holds the last P and spins: each goroutine it makes runnable must
 * be found there and run by the other P's M, woken by wakep. A thief that
 * misses it (its order skips that P), or goes to sleep without looking
 * again (a lost wake-up), leaves main spinning until the deadline. */
static void found_body(void)
{
    int n = runtime_gomaxprocs(0);
    wait_for_probes();
    int rounds = (int)grade_rand(2000, 4000), done = 0;
    int64_t stop = time_now() + GRADE_MS(4000);
    for (; done < rounds && time_now() < stop; done++) {
        __atomic_store_n(&flag, 0, __ATOMIC_SEQ_CST);
        go(setter, NULL);
        int64_t deadline = time_now() + GRADE_MS(2000);
        while (!__atomic_load_n(&flag, __ATOMIC_SEQ_CST) && time_now() < deadline)
            ;
        if (!__atomic_load_n(&flag, __ATOMIC_SEQ_CST)) {
            CHECK(false, "round %d: a goroutine made runnable on P %d (whose goroutine never "
                  "yields) did not run in 2 s; every other P's M slept or looked elsewhere",
                  done, n - 1);
            return;
        }
    }
    CHECK(myp() == n - 1, "the test's goroutine left P %d: it must never yield", n - 1);
    CHECK(done >= 100, "only %d rounds in 4 s", done);
}

/* Its own deadlines: probes 5 s, waiting for them 2 s, rounds 4 s, the last
 * round 2 s more: 20 s (it hit 5 s once on a loaded machine). */
GRADE_TEST_TIMEOUT(each_new_goroutine_is_found_by_a_thief, 3, "work_on_the_last_p_is_stolen", 2, 20)
{
    on_last_p(found_body);
}
