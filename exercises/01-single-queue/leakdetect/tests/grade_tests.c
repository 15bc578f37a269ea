/*
 * Graded tests of exercise leakdetect (see ../README.md for the points).
 *
 * Group sizes and thresholds are drawn from GRADE_SEED, so the expected
 * report differs from run to run. Creation sites are recorded on the same
 * line as the go() call (`site = __LINE__; go(...)`), so the expected text
 * follows the file.
 */
#include "grade.h"
#include "leakdetect.h"

static char *report_text;

/* Runs leak_report into a string (report_text) and returns its result. */
static int report(int64_t min_ns)
{
    free(report_text);
    report_text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&report_text, &len);
    int n = leak_report(min_ns, f);
    fclose(f);
    return n;
}

static void show(void) { printf("the report was:\n%s", report_text ? report_text : "(nothing)\n"); }

static bool has_line(const char *want)
{
    size_t n = strlen(want);
    for (const char *p = report_text; p && (p = strstr(p, want)) != NULL; p += n)
        if ((p == report_text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static int nlines(void)
{
    int n = 0;
    for (const char *p = report_text; p && *p; p++)
        n += *p == '\n';
    return n;
}

static void expect_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void expect_line(const char *fmt, ...)
{
    char want[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    CHECK(has_line(want), "the report should contain the line \"%s\"", want);
}

static void header(int n, int64_t ms)
{
    expect_line("leak report: %d goroutine%s parked longer than %lld ms", n, n == 1 ? "" : "s",
                (long long)ms);
}

/* ---- goroutines that leak in various ways ------------------------------- */

static chan_t *never;             /* nobody ever sends on it */
static sync_mutex held;           /* held by the test */
static int stop_spinning;

static void stuck_recv(void *unused) { (void)unused; chan_recv(never, NULL); }
static void stuck_lock(void *unused) { (void)unused; sync_mutex_lock(&held); sync_mutex_unlock(&held); }
static void stuck_select(void *unused)
{
    (void)unused;
    select_case c[2] = { { .c = never, .dir = SELECT_RECV }, { .c = NULL, .dir = SELECT_RECV } };
    chan_select(c, 2, true);
}
static void spinner(void *unused)
{
    (void)unused;
    while (!__atomic_load_n(&stop_spinning, __ATOMIC_SEQ_CST))
        gosched();
}
static void quick(void *unused) { (void)unused; }

static int site_recv, site_lock, site_select, site_young;

static void spawn_recv(int n) { for (int i = 0; i < n; i++) { site_recv = __LINE__; go(stuck_recv, NULL); } }
static void spawn_lock(int n) { for (int i = 0; i < n; i++) { site_lock = __LINE__; go(stuck_lock, NULL); } }
static void spawn_select(int n) { for (int i = 0; i < n; i++) { site_select = __LINE__; go(stuck_select, NULL); } }

GRADE_TEST(leak_none, 1, "", 1)
{
    int64_t ms = grade_rand(1, 500);
    int n = report(GRADE_MS(ms));
    CHECK(n == 0, "with no other goroutine, leak_report should return 0; it returned %d", n);
    header(0, ms);
    CHECK(nlines() == 1, "the report should be the header alone; it has %d lines", nlines());
    if (n != 0 || nlines() != 1)
        show();
}

GRADE_TEST(leak_groups_by_site, 3, "leak_none", 2)
{
    never = chan_make(0, 0);
    held = (sync_mutex)SYNC_MUTEX_INIT;
    sync_mutex_lock(&held);
    int a = (int)grade_rand(1, 9), b = (int)grade_rand(10, 19), c = (int)grade_rand(20, 29);
    spawn_recv(a);
    spawn_lock(b);
    spawn_select(c);
    int64_t ms = grade_rand(20, 60);
    REQUIRE(grade_wait_parked(a + b + c, NULL, NULL), "the goroutines never parked");
    time_sleep(GRADE_MS(ms + 30));
    int n = report(GRADE_MS(ms));
    CHECK(n == a + b + c, "leak_report returned %d, want %d", n, a + b + c);
    header(a + b + c, ms);
    expect_line("  %d x [select] stuck_select(...) created by spawn_select at %s:%d", c,
                __FILE__, site_select);
    expect_line("  %d x [sync.Mutex.Lock] stuck_lock(...) created by spawn_lock at %s:%d", b,
                __FILE__, site_lock);
    expect_line("  %d x [chan receive] stuck_recv(...) created by spawn_recv at %s:%d", a,
                __FILE__, site_recv);
    const char *p1 = strstr(report_text ? report_text : "", "stuck_select");
    const char *p2 = strstr(report_text ? report_text : "", "stuck_lock");
    const char *p3 = strstr(report_text ? report_text : "", "stuck_recv");
    CHECK(p1 && p2 && p3 && p1 < p2 && p2 < p3, "groups should be sorted by count, largest first");
    CHECK(nlines() == 4, "the report should have 4 lines; it has %d", nlines());
    show();
}

GRADE_TEST(leak_threshold_and_states, 3, "leak_groups_by_site", 2)
{
    never = chan_make(0, 0);
    int old = (int)grade_rand(2, 12);
    spawn_recv(old);
    int64_t ms = grade_rand(40, 80);
    REQUIRE(grade_wait_parked(old, "chan receive", "stuck_recv"), "the goroutines never parked");
    time_sleep(GRADE_MS(ms + 30));
    /* Young: parked just now, well under the threshold. */
    int young = (int)grade_rand(1, 6);
    for (int i = 0; i < young; i++) { site_young = __LINE__; go(stuck_recv, NULL); }
    /* Busy: running or runnable, never parked for long. */
    int busy = (int)grade_rand(1, 4);
    stop_spinning = 0;
    for (int i = 0; i < busy; i++)
        go(spinner, NULL);
    /* Dead: ran and exited. */
    for (int i = 0; i < 20; i++)
        go(quick, NULL);
    REQUIRE(grade_wait_parked(old + young, "chan receive", "stuck_recv"), "young never parked");
    int n = report(GRADE_MS(ms));
    CHECK(n == old, "leak_report returned %d, want %d: only goroutines parked longer than "
          "%lld ms count (not the %d just parked, the %d spinning or the dead)", n, old,
          (long long)ms, young, busy);
    header(old, ms);
    expect_line("  %d x [chan receive] stuck_recv(...) created by spawn_recv at %s:%d", old,
                __FILE__, site_recv);
    CHECK(nlines() == 2, "the report should have 2 lines; it has %d", nlines());
    __atomic_store_n(&stop_spinning, 1, __ATOMIC_SEQ_CST);
    /* A lower threshold takes the young ones in, as a group of their own. */
    time_sleep(GRADE_MS(30));
    n = report(GRADE_MS(20));
    CHECK(n == old + young, "with a 20 ms threshold leak_report returned %d, want %d", n,
          old + young);
    expect_line("  %d x [chan receive] stuck_recv(...) created by leak_threshold_and_states at %s:%d",
                young, __FILE__, site_young);
    show();
}

/* The report made from another goroutine: main itself is then parked. */
static int reporter_n;
static int64_t reporter_ms;
static chan_t *reporter_done;
static void reporter(void *unused)
{
    (void)unused;
    time_sleep(GRADE_MS(reporter_ms + 30));
    reporter_n = report(GRADE_MS(reporter_ms));
    chan_send(reporter_done, NULL);
}

GRADE_TEST(leak_main_and_caller, 2, "leak_groups_by_site", 2)
{
    reporter_ms = grade_rand(20, 50);
    reporter_done = chan_make(0, 0);
    go(reporter, NULL);
    chan_recv(reporter_done, NULL);         /* main parks here meanwhile */
    CHECK(reporter_n == 1, "reported from another goroutine, only main (parked in chan "
          "receive) should count; leak_report returned %d", reporter_n);
    header(1, reporter_ms);
    expect_line("  1 x [chan receive] leak_main_and_caller(...)");
    CHECK(strstr(report_text ? report_text : "", "reporter(") == NULL,
          "the caller of leak_report must not report itself");
    show();
}

/* Goroutines come and go (allgs grows and is reallocated) while reports
 * run: a detector that walks allgs without allglock reads freed memory. */
static int churn_stop;
static void churner(void *unused)
{
    (void)unused;
    while (!__atomic_load_n(&churn_stop, __ATOMIC_SEQ_CST)) {
        for (int i = 0; i < 64; i++)
            go(quick, NULL);
        gosched();
    }
}

GRADE_TEST(leak_churn_while_reporting, 2, "leak_threshold_and_states", 4)
{
    never = chan_make(0, 0);
    int old = (int)grade_rand(3, 30);
    spawn_recv(old);
    REQUIRE(grade_wait_parked(old, "chan receive", "stuck_recv"), "the goroutines never parked");
    time_sleep(GRADE_MS(40));
    churn_stop = 0;
    for (int i = 0; i < 3; i++)
        go(churner, NULL);
    int bad = 0, rounds = (int)grade_rand(200, 400);
    for (int r = 0; r < rounds; r++) {
        int n = report(GRADE_MS(30));
        bad += n != old;
        if (r % 8 == 0)
            gosched();
    }
    __atomic_store_n(&churn_stop, 1, __ATOMIC_SEQ_CST);
    CHECK(bad == 0, "%d of %d reports made while goroutines were being created did not "
          "count the %d leaked ones", bad, rounds, old);
}
