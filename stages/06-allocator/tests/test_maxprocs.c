/*
 * test_maxprocs.c: GOMAXPROCS's default and its updates (stage 02 on; Go
 * 1.25's container-aware GOMAXPROCS).
 *   The default is the affinity count lowered to the cgroup v2 CPU limit
 *   (cpu.max, QUOTA/PERIOD rounded up, at least 1), the smallest on the way
 *   up to the root; "max" is no limit; a malformed cpu.max is named on
 *   stderr with its value and ignored; one CPU in the affinity mask (what
 *   `taskset -c 0` sets) gives 1.
 *   While the program runs, a changed limit changes GOMAXPROCS within about
 *   a second, through a goroutine of the runtime's own that the program
 *   does not see (runtime_num_goroutine, dumps, deadlock detection).
 *   No updates with GOMAXPROCS=N, after runtime_gomaxprocs(n), with
 *   GODEBUG=updatemaxprocs=0 or GODEBUG=fakeclock=1.
 * Every case runs in a child with GOMAXPROCS unset and GORT_CGROUP_ROOT
 * pointing at a fake tree: DIR/proc_self_cgroup says "0::/pod/ctr", and
 * DIR/pod/cpu.max and DIR/pod/ctr/cpu.max hold the limits.
 */
#include "harness.h"

#include <sched.h>
#include <sys/stat.h>

/* ---- the fake cgroup tree --------------------------------------------- */

static char cgdir[256];

/* Replaces a file whole (rename), as the kernel's cpu.max changes whole:
 * a reader never sees it half written. NULL removes it. */
static void put(const char *rel, const char *text)
{
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/%s", cgdir, rel);
    if (text == NULL) {
        unlink(path);
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "test_maxprocs: writing %s: %s\n", path, strerror(errno));
        abort();
    }
}

static void tree_make(const char *parent, const char *leaf)
{
    snprintf(cgdir, sizeof cgdir, "%s/gort-cgroup.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert(mkdtemp(cgdir) != NULL, "mkdtemp: %s", strerror(errno));
    char d[300];
    snprintf(d, sizeof d, "%s/pod", cgdir);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/pod/ctr", cgdir);
    mkdir(d, 0755);
    put("proc_self_cgroup", "0::/pod/ctr\n");
    put("pod/cpu.max", parent);
    put("pod/ctr/cpu.max", leaf);
}

static void tree_remove(void)
{
    put("pod/ctr/cpu.max", NULL);
    put("pod/cpu.max", NULL);
    put("proc_self_cgroup", NULL);
    char d[300];
    snprintf(d, sizeof d, "%s/pod/ctr", cgdir);
    rmdir(d);
    snprintf(d, sizeof d, "%s/pod", cgdir);
    rmdir(d);
    rmdir(cgdir);
}

/* The affinity count, read here: runtime_num_cpu() would cache it in this
 * process, and a child that changes its mask must count afresh. */
static int ncpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 1)
        return 1;
    return CPU_COUNT(&set);
}

static int imin(int a, int b) { return a < b ? a : b; }

/* ---- the child ---------------------------------------------------------- */

/* What the child does, set before the fork. */
static struct {
    int         start;          /* GOMAXPROCS expected at start */
    int         setprocs;       /* > 0: runtime_gomaxprocs(setprocs) first */
    bool        onecpu;         /* sched_setaffinity to one CPU first (taskset -c) */
    const char *change;         /* then the leaf's cpu.max becomes this */
    int         after;          /* and GOMAXPROCS becomes this (0: stays) */
    const char *change2;        /* then this, */
    int         after2;         /* and GOMAXPROCS this */
    bool        deadlock;       /* at the end main blocks for ever */
} kid;

/* Waits up to ms (times H_SLOW) for GOMAXPROCS to be want. */
static bool wait_procs(int want, int ms)
{
    int64_t deadline = h_now() + H_MS((int64_t)ms * H_SLOW);
    while (runtime_gomaxprocs(0) != want && h_now() < deadline)
        time_sleep(H_MS(10));
    return runtime_gomaxprocs(0) == want;
}

/* Real time, even under the fake clock: gosched between 1 ms naps. */
static void wait_real(int ms)
{
    int64_t deadline = h_now() + H_MS(ms);
    while (h_now() < deadline) {
        usleep(1000);
        gosched();
    }
}

static int kid_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    int start = runtime_gomaxprocs(0);
    CHECK_EQ(start, kid.start);
    if (kid.setprocs > 0) {
        runtime_gomaxprocs(kid.setprocs);
        CHECK_EQ(runtime_gomaxprocs(0), kid.setprocs);
        start = kid.setprocs;
    }
    if (kid.change) {
        put("pod/ctr/cpu.max", kid.change);
        if (kid.after > 0) {
            CHECK(wait_procs(kid.after, 3000), "GOMAXPROCS is %d, not %d, 3 s after cpu.max "
                  "became \"%s\"", runtime_gomaxprocs(0), kid.after, kid.change);
        } else {
            wait_real(1500);                /* the monitor looks once a second */
            CHECK(runtime_gomaxprocs(0) == start, "GOMAXPROCS went from %d to %d after "
                  "cpu.max became \"%s\"", start, runtime_gomaxprocs(0), kid.change);
        }
    }
    if (kid.change2) {
        put("pod/ctr/cpu.max", kid.change2);
        CHECK(wait_procs(kid.after2, 3000), "GOMAXPROCS is %d, not %d, 3 s after cpu.max "
              "became \"%s\"", runtime_gomaxprocs(0), kid.after2, kid.change2);
    }
    /* The world goes on, and the updater is nobody's goroutine. */
    chan_t *c = h_chan_int(1);
    h_send_int(c, 5);
    CHECK_EQ(h_recv_int(c), 5);
    CHECK_EQ(runtime_num_goroutine(), 1);
    CHECK_EQ(runtime_leak_check(0, NULL), 0);
    char *d = h_dump();
    CHECK(strstr(d, "updateMaxProcs") == NULL && strstr(d, "GOMAXPROCS updater") == NULL,
          "the dump shows the updater:\n%s", d);
    free(d);
    metrics_sample s = { .name = "/sched/gomaxprocs:threads" };
    metrics_read(&s, 1);
    CHECK_EQ(s.value.u64, (uint64_t)runtime_gomaxprocs(0));
    if (kid.deadlock && h_failures() == 0) {
        chan_t *never = h_chan_int(0);
        h_recv_int(never);                  /* all goroutines are asleep */
        CHECK(false, "received from a channel nobody sends on");
    }
    chan_free(c);
    return h_failures() ? 1 : 0;
}

static int run_kid(void)
{
    if (kid.onecpu) {
        cpu_set_t set, one;
        CPU_ZERO(&one);
        if (sched_getaffinity(0, sizeof set, &set) == 0) {
            for (int i = 0; i < CPU_SETSIZE; i++)
                if (CPU_ISSET(i, &set)) {
                    CPU_SET(i, &one);
                    break;
                }
            if (sched_setaffinity(0, sizeof one, &one) != 0)
                return 90;
        }
    }
    h_reset();
    int rc = runtime_main(kid_main, 0, NULL);
    h_child_dump_failures();
    return rc;
}

/* Runs the child with GOMAXPROCS unset (or set, when env sets it) and the
 * fake tree, and expects exit status code. */
static void expect_kid(h_child *r, const char *godebug, const char *gomaxprocs, int code)
{
    char root[300], dbg[128], procs[64], how[128];
    snprintf(root, sizeof root, "GORT_CGROUP_ROOT=%s", cgdir);
    snprintf(dbg, sizeof dbg, "GODEBUG=%s", godebug ? godebug : "");
    snprintf(procs, sizeof procs, "GOMAXPROCS=%s", gomaxprocs ? gomaxprocs : "");
    const char *env[] = { root, godebug ? dbg : "GODEBUG", gomaxprocs ? procs : "GOMAXPROCS",
                          NULL };
    h_child_run(r, run_kid, env, 30);
    cr_assert(h_exited_with(r, code), "expected exit status %d; the child %s; stdout:\n%s\n"
              "stderr:\n%s", code, h_child_how(r, how, sizeof how), r->out, r->err);
}

static void reset_kid(int start)
{
    memset(&kid, 0, sizeof kid);
    kid.start = start;
}

/* ---- the default ---------------------------------------------------------- */

Test(maxprocs, default_is_the_cgroup_cpu_limit, .timeout = H_TIMEOUT)
{
    int n = ncpu();
    struct { const char *parent, *leaf; int want; } cases[] = {
        { NULL, "150000 100000\n", imin(2, n) },         /* 1.5 CPUs: 2 */
        { NULL, "max 100000\n", n },                     /* no limit */
        { NULL, "50000 100000\n", 1 },                   /* half a CPU: 1 */
        { NULL, "300000 100000\n", imin(3, n) },         /* never above the CPUs */
        { "100000 100000\n", "max 100000\n", 1 },        /* the parent's binds */
        { "max 100000\n", "200000 100000\n", imin(2, n) },
        { "400000 100000\n", "250000 100000\n", imin(3, n) },
        { NULL, NULL, n },                               /* no cpu controller */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tree_make(cases[i].parent, cases[i].leaf);
        reset_kid(cases[i].want);
        h_child r;
        expect_kid(&r, NULL, NULL, 0);
        cr_assert(strstr(r.err, "gort:") == NULL, "case %zu: unexpected complaint:\n%s",
                  i, r.err);
        h_child_free(&r);
        tree_remove();
    }
}

Test(maxprocs, malformed_cpu_max_is_named_and_ignored, .timeout = H_TIMEOUT)
{
    const char *bad[] = { "abc 100000\n", "150000\n", "1.5 100000\n", "0 100000\n",
                          "max\n", "-100000 100000\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tree_make("100000 100000\n", "max 100000\n");
        put("pod/cpu.max", bad[i]);     /* the parent's, so that the walk goes on */
        reset_kid(ncpu());
        h_child r;
        expect_kid(&r, NULL, NULL, 0);
        char path[300], val[64];
        snprintf(path, sizeof path, "%s/pod/cpu.max", cgdir);
        snprintf(val, sizeof val, "\"%.*s\"", (int)strcspn(bad[i], "\n"), bad[i]);
        cr_assert(strstr(r.err, path) != NULL && strstr(r.err, val) != NULL,
                  "cpu.max %s: stderr does not name the file (%s) and the value:\n%s",
                  val, path, r.err);
        h_child_free(&r);
        tree_remove();
    }
}

Test(maxprocs, one_cpu_in_the_affinity_mask_gives_1, .timeout = H_TIMEOUT)
{
    /* What `taskset -c 0 prog` does: sched_setaffinity before the program
     * starts (here: before runtime_main), whatever the cgroup allows. */
    const char *limits[] = { "max 100000\n", "400000 100000\n" };
    for (int i = 0; i < 2; i++) {
        tree_make(NULL, limits[i]);
        reset_kid(1);
        kid.onecpu = true;
        h_child r;
        expect_kid(&r, NULL, NULL, 0);
        h_child_free(&r);
        tree_remove();
    }
}

/* ---- updates while running ---------------------------------------------- */

/* Most of these need 2 CPUs: on 1, the default cannot change. */
static bool need_two_cpus(const char *test)
{
    if (ncpu() >= 2)
        return true;
    fprintf(stderr, "maxprocs/%s: skipped: one CPU in the affinity mask, so the default "
            "cannot change\n", test);
    cr_assert(ncpu() == 1, "one CPU");
    return false;
}

Test(maxprocs, a_lower_limit_lowers_gomaxprocs_while_running, .timeout = H_TIMEOUT)
{
    if (!need_two_cpus("a_lower_limit_lowers_gomaxprocs_while_running"))
        return;
    tree_make(NULL, "200000 100000\n");
    reset_kid(2);
    kid.change = "100000 100000\n";
    kid.after = 1;
    kid.change2 = "max 100000\n";
    kid.after2 = ncpu();
    kid.deadlock = true;
    h_child r;
    expect_kid(&r, NULL, NULL, 2);
    cr_assert(strstr(r.err, "all goroutines are asleep - deadlock!") != NULL,
              "the updater hid a deadlock; stderr:\n%s", r.err);
    cr_assert(strstr(r.err, "updateMaxProcs") == NULL,
              "the fatal error's dump shows the updater:\n%s", r.err);
    h_child_free(&r);
    tree_remove();
}

Test(maxprocs, gomaxprocs_in_the_environment_turns_updates_off, .timeout = H_TIMEOUT)
{
    /* The limit says 1 from the start; GOMAXPROCS=3 wins, and stays. */
    tree_make(NULL, "100000 100000\n");
    reset_kid(3);
    kid.change = "100000 100000\n";
    h_child r;
    expect_kid(&r, NULL, "3", 0);
    h_child_free(&r);
    tree_remove();
}

Test(maxprocs, runtime_gomaxprocs_turns_updates_off, .timeout = H_TIMEOUT)
{
    tree_make(NULL, "100000 100000\n");
    reset_kid(1);
    kid.setprocs = 3;                   /* then the limit still says 1 */
    kid.change = "100000 100000\n";
    h_child r;
    expect_kid(&r, NULL, NULL, 0);
    h_child_free(&r);
    tree_remove();
}

static void expect_no_update(const char *godebug)
{
    tree_make(NULL, "200000 100000\n");
    reset_kid(2);
    kid.change = "100000 100000\n";
    h_child r;
    expect_kid(&r, godebug, NULL, 0);
    cr_assert(strstr(r.err, "gort: GODEBUG") == NULL, "GODEBUG=%s: unexpected complaint:\n%s",
              godebug, r.err);
    h_child_free(&r);
    tree_remove();
}

Test(maxprocs, godebug_updatemaxprocs_0_turns_updates_off, .timeout = H_TIMEOUT)
{
    if (need_two_cpus("godebug_updatemaxprocs_0_turns_updates_off"))
        expect_no_update("updatemaxprocs=0");
}

Test(maxprocs, fakeclock_turns_updates_off, .timeout = H_TIMEOUT)
{
    if (need_two_cpus("fakeclock_turns_updates_off"))
        expect_no_update("fakeclock=1");
}

Test(maxprocs, malformed_godebug_values_are_named, .timeout = H_TIMEOUT)
{
    const char *bad[] = { "updatemaxprocs=2", "updatemaxprocs=off", "containermaxprocs=x" };
    for (int i = 0; i < 3; i++) {
        tree_make(NULL, "max 100000\n");
        reset_kid(ncpu());
        h_child r;
        expect_kid(&r, bad[i], NULL, 0);
        cr_assert(strstr(r.err, "GODEBUG") != NULL && strstr(r.err, bad[i]) != NULL,
                  "GODEBUG=%s: stderr does not name it:\n%s", bad[i], r.err);
        h_child_free(&r);
        tree_remove();
    }
}

Test(maxprocs, godebug_containermaxprocs_0_leaves_the_limit_out, .timeout = H_TIMEOUT)
{
    tree_make(NULL, "100000 100000\n");
    reset_kid(ncpu());
    h_child r;
    expect_kid(&r, "containermaxprocs=0", NULL, 0);
    h_child_free(&r);
    tree_remove();
}
