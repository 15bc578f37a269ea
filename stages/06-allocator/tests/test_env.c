/*
 * test_env.c: the environment runtime_main reads in stage 1.
 *   GOMAXPROCS=3 is honoured (and runs goroutines on 3 threads at once);
 *   GOMAXPROCS unset means runtime_num_cpu();
 *   a malformed GOMAXPROCS ("abc", "2x") is reported on stderr with the
 *   variable and the value, and the run goes on with the default;
 *   GODEBUG=schedtrace=MS prints Go's "SCHED" lines on stderr;
 *   GORT_TRACE=FILE writes a Chrome Trace Event JSON file.
 * The suite runs with GOMAXPROCS=1, 2 and 4 in the environment: a test that
 * changes a variable in this process restores it; the others use children.
 */
#include "harness.h"

#include <pthread.h>

/* ---- saving and restoring a variable ---------------------------------------- */

struct saved_env { char name[32]; char *value; bool was_set; };

static void env_save(struct saved_env *s, const char *name)
{
    snprintf(s->name, sizeof s->name, "%s", name);
    const char *v = getenv(name);
    s->was_set = v != NULL;
    s->value = v ? strdup(v) : NULL;
}

static void env_restore(struct saved_env *s)
{
    if (s->was_set)
        setenv(s->name, s->value, 1);
    else
        unsetenv(s->name);
    free(s->value);
    s->value = NULL;
}

/* ---- N goroutines running at the same time need N threads --------------- */

static atomic_int spinning;
static atomic_int barrier_ok;
static atomic_int moved;            /* stage 04: preempted off its thread meanwhile */
static pthread_t threads_seen[16];
static sync_waitgroup bar_wg;

/* Each goroutine spins without yielding, waiting for all n to spin at the
 * same moment: only n threads running goroutines at once get there (a
 * goroutine counted in `spinning` has not yielded since it was counted). A
 * round that times out (two of them queued behind each other on one P)
 * yields once and tries again: from stage 02 on, goroutines created by
 * one G start in its P's queue, and gosched sends a G through the global
 * queue, where idle Ps find it. From stage 04 a goroutine spinning here
 * can be preempted (after a 10 ms slice) and resume on another thread, and
 * its thread then run another of them: a goroutine that finds itself on
 * another thread when all have met says so, and the check starts again. */
static void spin_barrier(void *arg)
{
    int n = (int)(intptr_t)arg;
    int64_t deadline = h_now() + H_SEC(5) * H_SLOW;
    bool met = false;
    while (!met && h_now() < deadline) {
        atomic_fetch_add(&spinning, 1);
        int64_t round = h_now() + H_MS(50);
        while (atomic_load(&spinning) < n && h_now() < round)
            ;
        met = atomic_load(&spinning) >= n;
        if (!met) {
            atomic_fetch_sub(&spinning, 1);
            gosched();
        }
    }
    if (met) {
        int me = atomic_fetch_add(&barrier_ok, 1);
        if (me < 16)
            threads_seen[me] = pthread_self();
        /* Hold the thread until all have met: the threads recorded are
         * then n goroutines running at once, so they must differ. */
        while (atomic_load(&barrier_ok) < n && h_now() < deadline)
            ;
        if (me < 16 && !pthread_equal(threads_seen[me], pthread_self()))
            atomic_store(&moved, 1);
    }
    sync_wg_done(&bar_wg);
}

static void check_parallel(int n)
{
    for (int attempt = 0; attempt < 5; attempt++) {   /* stage 04: see spin_barrier */
        atomic_store(&spinning, 0);
        atomic_store(&barrier_ok, 0);
        atomic_store(&moved, 0);
        memset(&bar_wg, 0, sizeof bar_wg);
        sync_wg_add(&bar_wg, n);
        for (int i = 0; i < n; i++)
            go(spin_barrier, (void *)(intptr_t)n);
        sync_wg_wait(&bar_wg);
        if (!atomic_load(&moved))
            break;
    }
    CHECK(atomic_load(&barrier_ok) == n, "only %d of %d spinning goroutines met: fewer threads than GOMAXPROCS?",
          atomic_load(&barrier_ok), n);
    int distinct = 0;
    for (int i = 0; i < n && i < 16; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup |= pthread_equal(threads_seen[i], threads_seen[j]);
        distinct += !dup;
    }
    CHECK_EQ(distinct, n);
}

/* ---- GOMAXPROCS honoured ---------------------------------------------------- */

static void gomaxprocs_is_3(void)
{
    CHECK_EQ(runtime_gomaxprocs(0), 3);
    metrics_sample s = { .name = "/sched/gomaxprocs:threads" };
    metrics_read(&s, 1);
    CHECK_EQ(s.kind, METRIC_U64);
    CHECK_EQ(s.value.u64, 3);
    check_parallel(3);
}

Test(env, gomaxprocs_3_is_honoured, .timeout = H_TIMEOUT)
{
    struct saved_env saved;
    env_save(&saved, "GOMAXPROCS");
    setenv("GOMAXPROCS", "3", 1);
    h_reset();
    h.body = gomaxprocs_is_3;
    int rc = runtime_main(h_main, 0, NULL);
    env_restore(&saved);
    h_report("gomaxprocs_3_is_honoured", rc);
}

static void gomaxprocs_matches_env(void)
{
    const char *s = getenv("GOMAXPROCS");
    int n = runtime_gomaxprocs(0);
    if (s != NULL && atoi(s) > 0)
        CHECK_EQ(n, atoi(s));
    else
        CHECK_EQ(n, runtime_num_cpu());
    if (n >= 2 && n <= 16)
        check_parallel(n);      /* GOMAXPROCS real threads run goroutines */
}

GTEST(env, inherited_gomaxprocs_runs_that_many_threads)
{
    gomaxprocs_matches_env();
}

/* ---- children: default and malformed values ------------------------------------ */

static int child_default_procs(int argc, char **argv)
{
    CHECK_EQ(runtime_gomaxprocs(0), runtime_num_cpu());
    chan_t *c = h_chan_int(1);     /* and the run goes on normally */
    h_send_int(c, 5);
    CHECK_EQ(h_recv_int(c), 5);
    chan_free(c);
    return h_failures() ? 1 : 0;
}

static int run_child_default(void)
{
    h_reset();
    int rc = runtime_main(child_default_procs, 0, NULL);
    h_child_dump_failures();
    return rc;
}

static void expect_default_run(const char *const *env, h_child *r)
{
    char how[128];
    h_child_run(r, run_child_default, env, 20);
    cr_assert(h_exited_with(r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(r, how, sizeof how), r->out, r->err);
}

/* containermaxprocs=0: from stage 02 the default also heeds a cgroup CPU
 * limit (test_maxprocs.c), which a container running these tests may set. */
Test(env, unset_gomaxprocs_means_num_cpu, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GOMAXPROCS", "GODEBUG=containermaxprocs=0", NULL };
    h_child r;
    expect_default_run(env, &r);
    cr_assert(strstr(r.err, "GOMAXPROCS") == NULL, "unexpected complaint:\n%s", r.err);
    h_child_free(&r);
}

Test(env, malformed_gomaxprocs_is_reported, .timeout = H_TIMEOUT)
{
    const char *bad[] = { "abc", "2x", "-x3" };
    for (int i = 0; i < 3; i++) {
        char var[32];
        snprintf(var, sizeof var, "GOMAXPROCS=%s", bad[i]);
        const char *env[] = { var, "GODEBUG=containermaxprocs=0", NULL };
        h_child r;
        expect_default_run(env, &r);
        cr_assert(strstr(r.err, "GOMAXPROCS") != NULL,
                  "GOMAXPROCS=%s: stderr does not name the variable:\n%s", bad[i], r.err);
        cr_assert(strstr(r.err, bad[i]) != NULL,
                  "GOMAXPROCS=%s: stderr does not show the value:\n%s", bad[i], r.err);
        h_child_free(&r);
    }
}

/* ---- GODEBUG=schedtrace ---------------------------------------------------------- */

static int child_sleep_150ms(int argc, char **argv)
{
    time_sleep(H_MS(150));
    return 0;
}

/* Also checks that runtime_main joined every thread it started, the
 * schedtrace thread included: the child exits 90 if not. */
static int run_child_sleep(void)
{
    int before = h_threads_before();
    int rc = runtime_main(child_sleep_150ms, 0, NULL);
    int after = h_threads_after(before);
    if (after > before) {
        printf("threads: %d before runtime_main, still %d 2 s after\n", before, after);
        return 90;
    }
    return rc;
}

static int count_line_prefix(const char *text, const char *prefix)
{
    int n = 0;
    size_t k = strlen(prefix);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, k) == 0;
    return n;
}

Test(env, schedtrace_prints_sched_lines, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=schedtrace=10", "GOMAXPROCS=2", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, run_child_sleep, env, 20);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    int lines = count_line_prefix(r.err, "SCHED ");
    cr_assert(lines >= 2, "%d SCHED lines in 150 ms at schedtrace=10:\n%s", lines, r.err);
    cr_assert(strstr(r.err, "gomaxprocs=2") != NULL, "no gomaxprocs=2 field:\n%s", r.err);
    cr_assert(strstr(r.err, "runqueue=") != NULL, "no runqueue= field:\n%s", r.err);
    h_child_free(&r);
}

Test(env, scheddetail_adds_thread_and_goroutine_lines, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=schedtrace=20,scheddetail=1", "GOMAXPROCS=2", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, run_child_sleep, env, 20);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    cr_assert(count_line_prefix(r.err, "SCHED ") >= 1, "no SCHED line:\n%s", r.err);
    cr_assert(count_line_prefix(r.err, "  M") >= 2, "no per-thread \"  M<id>:\" lines:\n%s", r.err);
    /* main is sleeping: Go prints it as "  G1: status=4(sleep) ..." */
    cr_assert(count_line_prefix(r.err, "  G1: status=") >= 1, "no \"  G1: status=\" line:\n%s", r.err);
    cr_assert(strstr(r.err, "(sleep)") != NULL, "main's wait reason (sleep) not shown:\n%s", r.err);
    h_child_free(&r);
}

Test(env, no_schedtrace_no_sched_lines, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, run_child_sleep, env, 20);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    cr_assert(strstr(r.err, "SCHED ") == NULL, "SCHED lines without GODEBUG:\n%s", r.err);
    h_child_free(&r);
}

Test(env, malformed_schedtrace_is_reported, .timeout = H_TIMEOUT)
{
    const char *env[] = { "GODEBUG=schedtrace=fast", NULL };
    h_child r;
    char how[128];
    h_child_run(&r, run_child_sleep, env, 20);
    cr_assert(h_exited_with(&r, 0), "the child %s; stdout:\n%s\nstderr:\n%s",
              h_child_how(&r, how, sizeof how), r.out, r.err);
    cr_assert(strstr(r.err, "schedtrace") != NULL && strstr(r.err, "fast") != NULL,
              "GODEBUG=schedtrace=fast not reported:\n%s", r.err);
    h_child_free(&r);
}

/* ---- GORT_TRACE ---------------------------------------------------------------------- */

/* A small JSON validator: true when s is one well-formed JSON value. */
static const char *js_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

static const char *js_value(const char *s, int depth);

static const char *js_string(const char *s)
{
    if (*s != '"')
        return NULL;
    for (s++; *s != '"'; s++) {
        if (*s == '\0' || (unsigned char)*s < 0x20)
            return NULL;
        if (*s == '\\') {
            s++;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0')
                        return NULL;
                s += 4;
            } else if (!strchr("\"\\/bfnrt", *s) || *s == '\0') {
                return NULL;
            }
        }
    }
    return s + 1;
}

static const char *js_number(const char *s)
{
    const char *b = s;
    if (*s == '-')
        s++;
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return NULL;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return NULL;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return s > b ? s : NULL;
}

static const char *js_value(const char *s, int depth)
{
    if (depth > 64)
        return NULL;
    s = js_ws(s);
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        bool obj = *s == '{';
        s = js_ws(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            if (obj) {
                s = js_string(js_ws(s));
                if (s == NULL)
                    return NULL;
                s = js_ws(s);
                if (*s++ != ':')
                    return NULL;
            }
            s = js_value(s, depth + 1);
            if (s == NULL)
                return NULL;
            s = js_ws(s);
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s == close)
                return s + 1;
            return NULL;
        }
    }
    if (*s == '"')
        return js_string(s);
    if (!strncmp(s, "true", 4))
        return s + 4;
    if (!strncmp(s, "false", 5))
        return s + 5;
    if (!strncmp(s, "null", 4))
        return s + 4;
    return js_number(s);
}

static bool json_ok(const char *s)
{
    const char *e = js_value(s, 0);
    return e != NULL && *js_ws(e) == '\0';
}

Test(env, json_validator_self_check, .timeout = H_TIMEOUT)
{
    cr_assert(json_ok("{\"traceEvents\":[{\"ph\":\"X\",\"ts\":1.5e3,\"a\":[true,null,-2]}]}"));
    cr_assert(json_ok("[ ]"));
    cr_assert(!json_ok("[{\"ph\":\"X\"},]"));
    cr_assert(!json_ok("[{\"ph\":\"X\"}"));
    cr_assert(!json_ok("{\"a\" 1}"));
}

static void trace_worker(void *arg)
{
    for (int i = 0; i < 20; i++)
        h_send_int(arg, i);
}

static int child_traced(int argc, char **argv)
{
    chan_t *c = h_chan_int(0);
    for (int g = 0; g < 4; g++)
        go(trace_worker, c);
    int sum = 0;
    for (int i = 0; i < 80; i++) {
        int v = -1;
        chan_recv(c, &v);
        sum += v;
    }
    time_sleep(H_MS(5));
    chan_free(c);
    return sum == 4 * 190 ? 0 : 1;
}

static int run_child_traced(void)
{
    return runtime_main(child_traced, 0, NULL);
}

Test(env, gort_trace_writes_chrome_trace_json, .timeout = H_TIMEOUT)
{
    char path[128], var[160];
    snprintf(path, sizeof path, "/tmp/gort-test-trace-%d.json", (int)getpid());
    snprintf(var, sizeof var, "GORT_TRACE=%s", path);
    unlink(path);
    const char *env[] = { var, NULL };
    h_child r;
    char how[128];
    h_child_run(&r, run_child_traced, env, 30);
    cr_assert(h_exited_with(&r, 0), "the child %s; stderr:\n%s", h_child_how(&r, how, sizeof how), r.err);
    h_child_free(&r);
    FILE *f = fopen(path, "r");
    cr_assert(f != NULL, "GORT_TRACE=%s: no file written (%s)", path, strerror(errno));
    char *s = h_slurp(f);
    fclose(f);
    unlink(path);
    size_t n = strlen(s);
    cr_assert(n > 0, "empty trace file");
    bool ok = json_ok(s);
    bool has_ph = strstr(s, "\"ph\"") != NULL;
    bool has_ts = strstr(s, "\"ts\"") != NULL;
    char head[200];
    snprintf(head, sizeof head, "%.*s", 150, s);
    free(s);
    cr_assert(ok, "the trace is not well-formed JSON (%zu bytes); it begins: %s", n, head);
    cr_assert(has_ph && has_ts, "no \"ph\"/\"ts\" event fields; it begins: %s", head);
}
