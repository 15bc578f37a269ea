/*
 * test_determinism.c: GODEBUG=schedseed=N, GODEBUG=fakeclock=1 and the
 * replay aid (src/rand.c, src/time_fake.c; README "Replaying a run").
 *
 *   - a racy program (producers and consumers choosing among ready
 *     channels with select, sleeping on timers) run twice at GOMAXPROCS=1
 *     with the same seed under the fake clock gives byte-identical stdout
 *     and GORT_TRACE file; another seed gives a different schedule; no
 *     seed gives a fresh random one each run;
 *   - without the fake clock a seed alone replays a timer-free run (the
 *     trace is then the same but for its timestamps);
 *   - under the fake clock, eight hours of sleeps, ticks, a time_after and
 *     a context timeout finish at once, each at its exact instant and in
 *     exact order (at every GOMAXPROCS the suite runs with);
 *   - a deadlock under the fake clock is still reported, with the fake
 *     wait durations in the dump;
 *   - a panic prints the seed, and re-running with it replays the output;
 *   - malformed values are named and refused; the harness's replay line.
 * Every child runs the runtime in a forked process (h_child_run).
 */
#include "harness.h"

#define FAKE_START 1257894000000000000LL   /* time_fake.c: Go's playground clock */
#define MIN(x) ((int64_t)(x) * 60000000000LL)

/* ---- the racy program ------------------------------------------------------- */

enum { NPROD = 4, NCONS = 2, PER = 25 };

static bool racy_sleeps;        /* producers sleep on timers now and then */
static bool racy_panics;        /* ends with a panic instead of returning */
static chan_t *rc_ch[NPROD], *rc_results, *rc_quit;
static sync_waitgroup rc_prod, rc_cons;

static void producer(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (int k = 0; k < PER; k++) {
        int v = i * 100 + k;
        select_case cs[2] = {
            { rc_ch[i], SELECT_SEND, &v, false },
            { rc_ch[(i + 1) % NPROD], SELECT_SEND, &v, false },
        };
        chan_select(cs, 2, true);
        if (racy_sleeps && k % 5 == 4)
            time_sleep(H_MS(1 + (k + i) % 3));
        else if (k % 7 == 0)
            gosched();
    }
    sync_wg_done(&rc_prod);
}

static void consumer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (;;) {
        int v = -1;
        select_case cs[NPROD + 1];
        for (int i = 0; i < NPROD; i++)
            cs[i] = (select_case){ rc_ch[i], SELECT_RECV, &v, false };
        cs[NPROD] = (select_case){ rc_quit, SELECT_RECV, NULL, false };
        if (chan_select(cs, NPROD + 1, true) == NPROD)
            break;
        int rec[2] = { id, v };
        chan_send(rc_results, rec);
        /* Let the value steer the schedule: with runnext, who runs next
         * no longer depends on which channel a producer's select chose. */
        if (v % 2)
            gosched();
    }
    sync_wg_done(&rc_cons);
}

static int racy_main(int argc, char **argv)
{
    int64_t start = time_now();
    for (int i = 0; i < NPROD; i++)
        rc_ch[i] = chan_make(sizeof(int), 2);
    rc_results = chan_make(2 * sizeof(int), 0);
    rc_quit = chan_make(0, 0);
    memset(&rc_prod, 0, sizeof rc_prod);
    memset(&rc_cons, 0, sizeof rc_cons);
    sync_wg_add(&rc_cons, NCONS);
    for (int c = 0; c < NCONS; c++)
        go(consumer, (void *)(intptr_t)c);
    sync_wg_add(&rc_prod, NPROD);
    for (int i = 0; i < NPROD; i++)
        go(producer, (void *)(intptr_t)i);
    for (int n = 0; n < NPROD * PER; n++) {
        int rec[2];
        chan_recv(rc_results, rec);
        printf("c%d %d\n", rec[0], rec[1]);
    }
    sync_wg_wait(&rc_prod);
    chan_close(rc_quit);
    sync_wg_wait(&rc_cons);
    if (racy_sleeps)
        printf("elapsed %lld ns\n", (long long)(time_now() - start));
    for (int i = 0; i < NPROD; i++)
        chan_free(rc_ch[i]);
    chan_free(rc_results);
    chan_free(rc_quit);
    fprintf(stderr, "seed %llu\n", (unsigned long long)runtime_schedseed());
    if (racy_panics) {
        fflush(stdout);
        chan_close(NULL);
    }
    return 0;
}

static int racy_child(void)
{
    return runtime_main(racy_main, 0, NULL);
}

/* One run of the racy program; its stdout, stderr and (if traced) trace. */
typedef struct { char *out, *err, *trace; } racy_run;

static void run_racy(racy_run *rr, const char *godebug, bool sleeps, bool traced, int want_status)
{
    char path[128], tvar[160], dvar[256];
    snprintf(path, sizeof path, "/tmp/gort-det-%d.json", (int)getpid());
    snprintf(tvar, sizeof tvar, "GORT_TRACE=%s", path);
    /* Stage 04: a time slice longer than any run. sysmon preempts in real
     * time, and on a busy machine the OS can stall a thread for 10 ms,
     * which would change the schedule (README: Replaying a run). */
    if (godebug)
        snprintf(dvar, sizeof dvar, "GODEBUG=%s,preemptslice=60000", godebug);
    else
        snprintf(dvar, sizeof dvar, "GODEBUG=preemptslice=60000");
    const char *env[] = { "GOMAXPROCS=1", dvar, traced ? tvar : "GORT_TRACE", NULL };
    unlink(path);
    racy_sleeps = sleeps;
    h_child r;
    char how[128];
    h_child_run(&r, racy_child, env, 20);
    cr_assert(h_exited_with(&r, want_status), "GODEBUG=%s: the racy program %s; stderr:\n%s",
              godebug ? godebug : "(unset)", h_child_how(&r, how, sizeof how), r.err);
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    cr_assert(lines >= NPROD * PER, "only %d lines of output:\n%s", lines, r.out);
    rr->out = r.out;
    rr->err = r.err;
    rr->trace = NULL;
    if (traced) {
        FILE *f = fopen(path, "r");
        cr_assert(f != NULL, "GORT_TRACE=%s: no file written", path);
        rr->trace = h_slurp(f);
        fclose(f);
        unlink(path);
        cr_assert(strlen(rr->trace) > 100, "a near-empty trace:\n%s", rr->trace);
    }
}

static void racy_free(racy_run *rr)
{
    free(rr->out);
    free(rr->err);
    free(rr->trace);
}

/* The seed a run reported ("seed N" on stderr). */
static unsigned long long reported_seed(const racy_run *rr)
{
    const char *p = strstr(rr->err, "seed ");
    cr_assert(p != NULL, "no \"seed N\" line on stderr:\n%s", rr->err);
    return strtoull(p + 5, NULL, 10);
}

/* The first line where a and b differ, for messages. */
static const char *firstdiff(const char *a, const char *b, char *buf, size_t n)
{
    int line = 1;
    const char *la = a;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
        }
        a++, b++;
    }
    snprintf(buf, n, "line %d: \"%.60s\"", line, la);
    return buf;
}

Test(determinism, same_seed_same_output_and_trace_under_fakeclock, .timeout = H_TIMEOUT)
{
    racy_run a, b, c;
    char d[128];
    run_racy(&a, "schedseed=12345,fakeclock=1", true, true, 0);
    run_racy(&b, "schedseed=12345,fakeclock=1", true, true, 0);
    run_racy(&c, "schedseed=54321,fakeclock=1", true, true, 0);
    cr_assert_eq(reported_seed(&a), 12345ULL);
    cr_assert_eq(reported_seed(&c), 54321ULL);
    cr_assert(strcmp(a.out, b.out) == 0, "same seed, different stdout at %s",
              firstdiff(a.out, b.out, d, sizeof d));
    cr_assert(strcmp(a.trace, b.trace) == 0, "same seed, different trace at %s",
              firstdiff(a.trace, b.trace, d, sizeof d));
    cr_assert(strstr(a.out, "elapsed ") != NULL, "no elapsed line:\n%s", a.out);
    cr_assert(strcmp(a.out, c.out) != 0, "seeds 12345 and 54321 chose the same %zu-byte schedule",
              strlen(a.out));
    cr_assert(strcmp(a.trace, c.trace) != 0, "seeds 12345 and 54321 wrote the same trace");
    racy_free(&a);
    racy_free(&b);
    racy_free(&c);
}

/* A trace with its "ts" and "dur" values removed: what the run did, not when. */
static char *untimed(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    while (*s) {
        if (!strncmp(s, "\"ts\":", 5) || !strncmp(s, "\"dur\":", 6)) {
            s = strchr(s, ':') + 1;
            while ((*s >= '0' && *s <= '9') || *s == '.' || *s == '-')
                s++;
            continue;
        }
        *o++ = *s++;
    }
    *o = 0;
    return out;
}

Test(determinism, seed_alone_replays_a_timer_free_run, .timeout = H_TIMEOUT)
{
    racy_run a, b, c;
    char d[128];
    run_racy(&a, "schedseed=7", false, true, 0);
    run_racy(&b, "schedseed=7", false, true, 0);
    run_racy(&c, "schedseed=8", false, true, 0);
    cr_assert(strcmp(a.out, b.out) == 0, "same seed, different stdout at %s",
              firstdiff(a.out, b.out, d, sizeof d));
    char *ta = untimed(a.trace), *tb = untimed(b.trace), *tc = untimed(c.trace);
    cr_assert(strcmp(ta, tb) == 0, "same seed, different events at %s", firstdiff(ta, tb, d, sizeof d));
    cr_assert(strcmp(a.out, c.out) != 0, "seeds 7 and 8 chose the same schedule");
    cr_assert(strcmp(ta, tc) != 0, "seeds 7 and 8 wrote the same events");
    free(ta);
    free(tb);
    free(tc);
    racy_free(&a);
    racy_free(&b);
    racy_free(&c);
}

Test(determinism, no_seed_means_a_fresh_random_seed, .timeout = H_TIMEOUT)
{
    racy_run a, b;
    run_racy(&a, NULL, false, false, 0);
    run_racy(&b, "fakeclock=0", false, false, 0);
    cr_assert(reported_seed(&a) != reported_seed(&b), "two unseeded runs both used seed %llu",
              reported_seed(&a));
    cr_assert(strcmp(a.out, b.out) != 0, "two unseeded runs chose the same schedule");
    racy_free(&a);
    racy_free(&b);
}

/* ---- the fake clock ------------------------------------------------------------ */

#define NEV 15
static struct { const char *what; int64_t at; } ev[NEV + 4];
static atomic_int nev;
static int64_t fc_start;
static sync_waitgroup fc_wg;

static void record(const char *what)
{
    int i = atomic_fetch_add(&nev, 1);
    if (i < NEV + 4) {
        ev[i].what = what;
        ev[i].at = time_now() - fc_start;
    }
}

struct sleeper { const char *what; int64_t d; };

static void fc_sleeper(void *arg)
{
    struct sleeper *s = arg;
    time_sleep(s->d);
    record(s->what);
    sync_wg_done(&fc_wg);
}

static void fc_ticks(void *arg)
{
    static const char *names[] = { "tick 1", "tick 2", "tick 3", "tick 4" };
    time_ticker *t = time_new_ticker(MIN(50));
    for (int i = 0; i < 4; i++) {
        int64_t sent = 0;
        chan_recv(time_ticker_chan(t), &sent);
        CHECK_EQ(sent - fc_start, MIN(50) * (i + 1));   /* the tick carries its instant */
        record(names[i]);
    }
    time_ticker_free(t);
    sync_wg_done(&fc_wg);
}

static void fc_context(void *arg)
{
    context_t *ctx = context_with_timeout(context_background(), MIN(155));
    chan_recv(context_done(ctx), NULL);
    CHECK_EQ(context_err(ctx), CONTEXT_DEADLINE_EXCEEDED);
    record("context 155m");
    context_free(ctx);
    sync_wg_done(&fc_wg);
}

static void fc_after(void *arg)
{
    chan_t *never = chan_make(sizeof(int), 0);
    chan_t *after = time_after(MIN(30));
    int64_t at = 0;
    select_case cs[2] = { { never, SELECT_RECV, NULL, false }, { after, SELECT_RECV, &at, false } };
    CHECK_EQ(chan_select(cs, 2, true), 1);
    record("after 30m");
    chan_free(after);
    chan_free(never);
    sync_wg_done(&fc_wg);
}

static int fakeclock_main(int argc, char **argv)
{
    /* In creation order, not wake-up order. */
    static struct sleeper s[] = {
        { "sleep 300m", MIN(300) }, { "sleep 60m", MIN(60) }, { "sleep 420m", MIN(420) },
        { "sleep 180m", MIN(180) }, { "sleep 90m+1ns", MIN(90) + 1 }, { "sleep 120m", MIN(120) },
        { "sleep 480m", MIN(480) }, { "sleep 240m", MIN(240) }, { "sleep 360m", MIN(360) },
    };
    static const struct { const char *what; int64_t at; } want[NEV] = {
        { "after 30m", MIN(30) }, { "tick 1", MIN(50) }, { "sleep 60m", MIN(60) },
        { "sleep 90m+1ns", MIN(90) + 1 }, { "tick 2", MIN(100) }, { "sleep 120m", MIN(120) }, { "tick 3", MIN(150) }, { "context 155m", MIN(155) },
        { "sleep 180m", MIN(180) }, { "tick 4", MIN(200) }, { "sleep 240m", MIN(240) },
        { "sleep 300m", MIN(300) }, { "sleep 360m", MIN(360) }, { "sleep 420m", MIN(420) },
        { "sleep 480m", MIN(480) },
    };
    fc_start = time_now();
    CHECK_EQ(fc_start, FAKE_START);
    atomic_store(&nev, 0);
    memset(&fc_wg, 0, sizeof fc_wg);
    sync_wg_add(&fc_wg, 9 + 3);
    for (int i = 0; i < 9; i++)
        go(fc_sleeper, &s[i]);
    go(fc_ticks, NULL);
    go(fc_context, NULL);
    go(fc_after, NULL);
    sync_wg_wait(&fc_wg);
    CHECK_EQ(time_now() - fc_start, MIN(480));
    CHECK_EQ(atomic_load(&nev), NEV);
    for (int i = 0; i < NEV && i < atomic_load(&nev); i++) {
        CHECK(strcmp(ev[i].what, want[i].what) == 0, "wake-up %d was \"%s\", want \"%s\"",
              i, ev[i].what, want[i].what);
        CHECK(ev[i].at == want[i].at, "\"%s\" woke at %lld ns, want %lld", ev[i].what,
              (long long)ev[i].at, (long long)want[i].at);
    }
    return h_failures() ? 1 : 0;
}

static int fakeclock_child(void)
{
    h_reset();
    int rc = runtime_main(fakeclock_main, 0, NULL);
    h_child_dump_failures();
    printf("checks %ld\n", (long)atomic_load(&h.checks));
    return rc;
}

/* At the GOMAXPROCS the suite runs with: with distinct instants the order is
 * exact at any thread count, since the clock moves only when all Ms idle. */
Test(determinism, fakeclock_sleeps_hours_at_once_in_exact_order, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=fakeclock=1", NULL };
    h_child r;
    char how[128];
    int64_t t0 = h_now();
    h_child_run(&r, fakeclock_child, env, 20);
    int64_t real = h_now() - t0;
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    long checks = 0;
    const char *p = strstr(r.out, "checks ");
    if (p)
        checks = atol(p + 7);
    cr_assert(checks >= 2 * NEV, "the child ran only %ld checks:\n%s", checks, r.out);
    /* 8 simulated hours; a real clock would take them all. */
    cr_assert(real < H_SEC(2) * H_SLOW, "8 fake hours took %.3f s of real time",
              (double)real / 1e9);
    h_child_free(&r);
}

static void sleep_an_hour(void *arg)
{
    time_sleep(MIN(60));
}

static int deadlock_after_an_hour(int argc, char **argv)
{
    chan_t *c = h_chan_int(0);
    go(sleep_an_hour, NULL);
    printf("start %lld\n", (long long)time_now());
    fflush(stdout);
    h_recv_int(c);              /* nobody sends: deadlock once the sleeper is gone */
    return 0;
}

Test(determinism, fakeclock_still_reports_deadlock, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=schedseed=99,fakeclock=1", NULL };
    h_child r;
    char how[128];
    h_death_main = deadlock_after_an_hour;
    int64_t t0 = h_now();
    h_child_run(&r, h_death_child, env, 20);
    int64_t real = h_now() - t0;
    cr_assert(h_exited_with(&r, 2), "the child %s; stderr:\n%s", h_child_how(&r, how, sizeof how), r.err);
    cr_assert(strstr(r.err, "fatal error: all goroutines are asleep - deadlock!") != NULL,
              "no deadlock message:\n%s", r.err);
    /* Main waited the sleeper's whole fake hour: the dump says so. */
    cr_assert(strstr(r.err, "goroutine 1 [chan receive, 60 minutes]:") != NULL,
              "main's fake wait not in the dump:\n%s", r.err);
    cr_assert(strstr(r.err, "gort: schedseed=99: ") != NULL &&
              strstr(r.err, "GODEBUG=schedseed=99,fakeclock=1") != NULL, "no replay line:\n%s", r.err);
    char want[64];
    snprintf(want, sizeof want, "start %lld\n", FAKE_START);
    cr_assert(strstr(r.out, want) != NULL, "time_now() did not start at %lld:\n%s", FAKE_START, r.out);
    cr_assert(real < H_SEC(2) * H_SLOW, "a fake hour took %.3f s", (double)real / 1e9);
    h_child_free(&r);
}

/* ---- the replay aid --------------------------------------------------------------- */

Test(determinism, panic_prints_the_seed_that_replays_it, .timeout = H_TIMEOUT)
{
    racy_panics = true;
    racy_run a, b;
    run_racy(&a, "fakeclock=1", true, false, 2);
    cr_assert(strstr(a.err, "panic: close of nil channel") != NULL, "no panic:\n%s", a.err);
    const char *p = strstr(a.err, "gort: schedseed=");
    cr_assert(p != NULL, "the panic does not print the seed:\n%s", a.err);
    unsigned long long seed = strtoull(p + 16, NULL, 10);
    cr_assert_eq(seed, reported_seed(&a), "printed seed %llu, runtime_schedseed() %llu",
                 seed, reported_seed(&a));
    char line[256], godebug[64];
    snprintf(line, sizeof line, "gort: schedseed=%llu: replay this run with GOMAXPROCS=1 "
             "GODEBUG=schedseed=%llu,fakeclock=1\n", seed, seed);
    cr_assert(strstr(a.err, line) != NULL, "no line \"%s\" in:\n%s", line, a.err);
    snprintf(godebug, sizeof godebug, "schedseed=%llu,fakeclock=1", seed);
    run_racy(&b, godebug, true, false, 2);
    cr_assert(strcmp(a.out, b.out) == 0, "the replay with %s printed something else", godebug);
    racy_free(&a);
    racy_free(&b);
}

GTEST(determinism, harness_prints_a_replay_line)
{
    char buf[512], want[64];
    h_replay_line(buf, sizeof buf, "determinism/harness_prints_a_replay_line");
    snprintf(want, sizeof want, "GODEBUG=schedseed=%" PRIu64, runtime_schedseed());
    CHECK(strncmp(buf, "replay: ", 8) == 0, "%s", buf);
    CHECK(strstr(buf, want) != NULL, "no %s in: %s", want, buf);
    CHECK(strstr(buf, "test_determinism --filter 'determinism/harness_prints_a_replay_line'") != NULL,
          "%s", buf);
    h_replay_line(buf, sizeof buf, "bare_name");
    CHECK(strstr(buf, "--filter '*/bare_name'") != NULL, "%s", buf);
}

/* ---- malformed and extreme values ----------------------------------------------------- */

static int print_clock_and_seed(int argc, char **argv)
{
    printf("now %lld seed %llu\n", (long long)time_now(), (unsigned long long)runtime_schedseed());
    time_sleep(H_MS(1));
    return 0;
}

static int clock_child(void)
{
    return runtime_main(print_clock_and_seed, 0, NULL);
}

static void run_clock(h_child *r, const char *godebug)
{
    char var[128], how[128];
    snprintf(var, sizeof var, "GODEBUG=%s", godebug);
    const char *env[] = { var, NULL };
    h_child_run(r, clock_child, env, 20);
    cr_assert(h_exited_with(r, 0), "GODEBUG=%s: the child %s; stderr:\n%s", godebug,
              h_child_how(r, how, sizeof how), r->err);
}

Test(determinism, malformed_values_are_named_and_refused, .timeout = H_TIMEOUT)
{
    static const char *bad[][2] = {
        { "schedseed=abc", "schedseed=abc: expected an unsigned decimal integer" },
        { "schedseed=-1", "schedseed=-1: expected" },
        { "schedseed=18446744073709551616", "schedseed=18446744073709551616: expected" },
        { "schedseed=", "schedseed=: expected" },
        { "fakeclock=2", "fakeclock=2: expected 0 or 1" },
        { "fakeclock=yes", "fakeclock=yes: expected 0 or 1" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h_child r;
        run_clock(&r, bad[i][0]);
        cr_assert(strstr(r.err, "gort: GODEBUG: ") != NULL && strstr(r.err, bad[i][1]) != NULL,
                  "GODEBUG=%s: stderr lacks \"%s\":\n%s", bad[i][0], bad[i][1], r.err);
        long long now = atoll(r.out + 4);
        cr_assert(now != FAKE_START, "GODEBUG=%s turned the fake clock on", bad[i][0]);
        h_child_free(&r);
    }
}

Test(determinism, extreme_valid_values_are_taken, .timeout = H_TIMEOUT)
{
    h_child r;
    run_clock(&r, "schedseed=18446744073709551615,fakeclock=1");
    char want[96];
    snprintf(want, sizeof want, "now %lld seed 18446744073709551615\n", FAKE_START);
    cr_assert(strcmp(r.out, want) == 0, "stdout \"%s\", want \"%s\"", r.out, want);
    cr_assert(r.err[0] == 0, "a complaint about valid values:\n%s", r.err);
    h_child_free(&r);
    run_clock(&r, "schedseed=0,fakeclock=0");
    cr_assert(strstr(r.out, " seed 0\n") != NULL && strncmp(r.out, "now ", 4) == 0 &&
              atoll(r.out + 4) != FAKE_START, "stdout \"%s\"", r.out);
    cr_assert(r.err[0] == 0, "a complaint about valid values:\n%s", r.err);
    h_child_free(&r);
}
