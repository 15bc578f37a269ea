/*
 * harness.h: the glue between Criterion and gort for the unit tests.
 *
 * The problem. Criterion's cr_assert() reports a failure by longjmp()ing out
 * of the test function. That is only safe on the thread and the stack that
 * Criterion called the test on. gort runs every line of user code on a
 * goroutine stack, possibly on another thread, so a cr_assert() there would
 * jump across stacks and threads and corrupt both the runtime and Criterion.
 *
 * The protocol.
 *   1. A test body is a plain `void body(void)` that runs as goroutine 1
 *      (main_fn) inside runtime_main(). GTEST(suite, name) declares one and
 *      the Criterion test that runs it; RUN(body) runs one by hand.
 *   2. Inside goroutines (main or any other, on any thread) checks use
 *      CHECK(cond, fmt, ...), CHECK_EQ(a, b) and friends. A failed check records
 *      "file:line: CHECK(cond) failed: message" in a global, lock-protected
 *      list and counts; it never jumps, so the goroutine goes on.
 *   3. When runtime_main() returns, back on Criterion's own stack, h_run()
 *      asserts: the body ran to its end (a Pintos-style end sentinel), no check
 *      failed (printing every recorded message), runtime_main returned main_fn's
 *      value, and at least one check ran (a test that checks nothing fails).
 *
 * Replaying a failure. Every run of the runtime draws its random choices
 * from one seed (runtime_schedseed(), GODEBUG=schedseed=N). A test that
 * fails logs the line that re-runs it alone with that seed:
 *     replay: GOMAXPROCS=1 GODEBUG=schedseed=N build/tests/test_chan --filter 'chan/x'
 * (h_replay_line). At GOMAXPROCS=1, adding fakeclock=1 to GODEBUG when the
 * test ran with it, that replays the failing schedule exactly; with more
 * threads it repeats the random choices only (README, "Replaying a run").
 *
 * Death tests (panics, fatal errors, environment handling) fork a child that
 * runs the runtime with stdout and stderr sent to temporary files; the parent
 * waits (with its own deadline, killing a hung child), then asserts on the
 * exit status and the captured text. See h_child_run().
 *
 * Every test file includes this header first.
 */
#ifndef GORT_TEST_HARNESS_H
#define GORT_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#ifdef GORT_MINICRITERION
#include "minicriterion.h"   /* TSan builds: see that file */
#else
#include <criterion/criterion.h>
#include <criterion/logging.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

/* ---- Build flavour and time limits ------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define H_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define H_SANITIZED 1
#endif
#endif
#ifndef H_SANITIZED
#define H_SANITIZED 0
#endif

#if defined(__SANITIZE_THREAD__)
#define H_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define H_TSAN 1
#endif
#endif
#ifndef H_TSAN
#define H_TSAN 0
#endif

/* TSan gives every goroutine a fiber, and a process at most 8128 threads and
 * fibers alive at once ("Thread limit exceeded. Dying."): under TSan the
 * stress tests keep fewer goroutines alive at the same time. */
#define H_MAX_LIVE (H_TSAN ? 6000 : 1000000)

/* Per-test Criterion timeout, in seconds. Sanitizer builds run 5-15x slower. */
#if H_SANITIZED
#define H_TIMEOUT 300
#else
#define H_TIMEOUT 30
#endif

/* How much slower than the plain build deadlines in the tests may be. */
#define H_SLOW (H_SANITIZED ? 10 : 1)
/* How much wider the gaps between deadlines that must stay ordered are. */
#define H_GAP (H_SANITIZED ? 3 : 1)

#define H_FN static __attribute__((unused))

#define H_MS(x) ((int64_t)(x) * 1000000LL)
#define H_SEC(x) ((int64_t)(x) * 1000000000LL)

/* CLOCK_MONOTONIC in nanoseconds: a clock the tests own, independent of the
 * runtime's time_now(). */
static inline int64_t h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* GORT_STRESS_SCALE (default 1) multiplies the sizes of the stress tests. */
static inline int h_scale(void)
{
    const char *s = getenv("GORT_STRESS_SCALE");
    if (s == NULL || *s == '\0')
        return 1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > 1000)
        return 1;
    return (int)v;
}

/* ---- Recording failures from goroutines -------------------------------- */

#define H_MAX_MSGS 16
#define H_MSG_LEN 512

struct h_state {
    pthread_mutex_t mu;                 /* guards msgs and nmsgs */
    char msgs[H_MAX_MSGS][H_MSG_LEN];
    int nmsgs;
    atomic_long checks;                 /* CHECKs evaluated, passed or not */
    atomic_int failures;                /* CHECKs failed */
    atomic_int finished;                /* the body returned (end sentinel) */
    void (*body)(void);
};

static struct h_state h = { .mu = PTHREAD_MUTEX_INITIALIZER };

H_FN void h_reset(void)
{
    pthread_mutex_lock(&h.mu);
    h.nmsgs = 0;
    pthread_mutex_unlock(&h.mu);
    atomic_store(&h.checks, 0);
    atomic_store(&h.failures, 0);
    atomic_store(&h.finished, 0);
    h.body = NULL;
}

__attribute__((format(printf, 4, 5), noinline))
H_FN void h_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    char msg[H_MSG_LEN];
    int k = snprintf(msg, sizeof msg, "%s:%d: CHECK(%s) failed [goroutine %" PRId64 "]:",
                     file, line, expr, goid());
    if (k > 0 && (size_t)k < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
        va_end(ap);
    }
    atomic_fetch_add(&h.failures, 1);
    pthread_mutex_lock(&h.mu);
    if (h.nmsgs < H_MAX_MSGS)
        memcpy(h.msgs[h.nmsgs++], msg, sizeof msg);
    pthread_mutex_unlock(&h.mu);
}

/* CHECK(cond) or CHECK(cond, "fmt", args...): safe on any goroutine. */
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        atomic_fetch_add_explicit(&h.checks, 1, memory_order_relaxed);          \
        if (!(cond))                                                            \
            h_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                 \
    } while (0)

#define H_CMP(a, op, b)                                                         \
    do {                                                                        \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                 \
        atomic_fetch_add_explicit(&h.checks, 1, memory_order_relaxed);          \
        if (!(h_a_ op h_b_))                                                    \
            h_fail(__FILE__, __LINE__, #a " " #op " " #b,                       \
                   " left %lld, right %lld", h_a_, h_b_);                       \
    } while (0)
#define CHECK_EQ(a, b) H_CMP(a, ==, b)
#define CHECK_NE(a, b) H_CMP(a, !=, b)
#define CHECK_LT(a, b) H_CMP(a, <, b)
#define CHECK_LE(a, b) H_CMP(a, <=, b)
#define CHECK_GT(a, b) H_CMP(a, >, b)
#define CHECK_GE(a, b) H_CMP(a, >=, b)

/* REQUIRE: like CHECK, but returns from the current (void) function on failure. */
#define REQUIRE(cond, ...)                                                      \
    do {                                                                        \
        atomic_fetch_add_explicit(&h.checks, 1, memory_order_relaxed);          \
        if (!(cond)) {                                                          \
            h_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                 \
            return;                                                             \
        }                                                                       \
    } while (0)

static inline int h_failures(void) { return atomic_load(&h.failures); }

/* Poll cond (gosched between tries, then 1 ms sleeps) until it holds or
 * timeout_ms pass; evaluates to whether it held. Only from a goroutine. */
#define WAIT_UNTIL(cond, timeout_ms)                                            \
    ({                                                                          \
        int64_t h_dl_ = h_now() + H_MS((int64_t)(timeout_ms) * H_SLOW);         \
        bool h_ok_ = false;                                                     \
        for (int h_i_ = 0;; h_i_++) {                                           \
            if (cond) { h_ok_ = true; break; }                                  \
            if (h_now() > h_dl_) break;                                         \
            if (h_i_ < 2000) gosched(); else time_sleep(H_MS(1));               \
        }                                                                       \
        h_ok_;                                                                  \
    })

/* ---- Running a body as goroutine 1 ------------------------------------- */

/* The line that re-runs test `name` ("suite/name", or a bare name) alone
 * with the seed of the last runtime_main, in the environment of this one. */
H_FN const char *h_replay_line(char *buf, size_t n, const char *name)
{
    const char *procs = getenv("GOMAXPROCS"), *godebug = getenv("GODEBUG");
    /* Criterion runs tests in workers named "boxfort-worker": the binary's
     * own path, relative to the working directory when it lies below it. */
    char exe[512] = "", cwd[512] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    const char *bin = exe[0] ? exe : program_invocation_name;
    size_t cl = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
    if (cl > 0 && strncmp(bin, cwd, cl) == 0 && bin[cl] == '/')
        bin += cl + 1;
    /* The rest of GODEBUG, less any schedseed= already in it (a replay
     * run's own): the seed just used goes first. */
    char rest[256] = "";
    for (const char *s = godebug ? godebug : ""; *s;) {
        size_t len = strcspn(s, ",");
        if (len > 0 && strncmp(s, "schedseed=", 10) != 0)
            snprintf(rest + strlen(rest), sizeof rest - strlen(rest), ",%.*s", (int)len, s);
        s += len + (s[len] == ',');
    }
    snprintf(buf, n, "replay: %s%s%sGODEBUG=schedseed=%" PRIu64 "%s %s --filter '%s%s'",
             procs ? "GOMAXPROCS=" : "", procs ? procs : "", procs ? " " : "",
             runtime_schedseed(), rest, bin, strchr(name, '/') ? "" : "*/", name);
    return buf;
}

H_FN int h_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    if (goid() != 1)                    /* not counted: the body must check */
        h_fail(__FILE__, __LINE__, "goid() == 1", " main_fn runs as goroutine %" PRId64, goid());
    h.body();
    atomic_store(&h.finished, 1);
    return h_failures() ? 1 : 0;
}

/* For tests that call runtime_main themselves: after it returns, logs every
 * failed CHECK and asserts that none failed and that some CHECK ran. Runs
 * on Criterion's stack, after the runtime is gone: safe to cr_assert. */
H_FN void h_assert_checks(const char *name)
{
    int nf = h_failures();
    char replay[512];
    if (nf != 0 || atomic_load(&h.checks) == 0)
        cr_log_error("%s", h_replay_line(replay, sizeof replay, name));
    pthread_mutex_lock(&h.mu);
    for (int i = 0; i < h.nmsgs; i++)
        cr_log_error("%s", h.msgs[i]);
    char first[H_MSG_LEN];
    snprintf(first, sizeof first, "%s", h.nmsgs ? h.msgs[0] : "");
    pthread_mutex_unlock(&h.mu);
    cr_assert(nf == 0, "%s: %d check(s) failed; first: %s", name, nf, first);
    cr_assert(atomic_load(&h.checks) > 0, "%s: the test checked nothing", name);
}

/* h_assert_checks, and the body ran to its end and main_fn returned 0. */
H_FN void h_report(const char *name, int rc)
{
    bool finished = atomic_load(&h.finished);
    char replay[512];
    if ((!finished || rc != 0) && h_failures() == 0 && atomic_load(&h.checks) > 0)
        cr_log_error("%s", h_replay_line(replay, sizeof replay, name));
    h_assert_checks(name);
    cr_assert(finished, "%s: the body did not run to its end (rc=%d)", name, rc);
    cr_assert(rc == 0, "%s: runtime_main returned %d, main_fn returned 0", name, rc);
}

H_FN void h_run(void (*body)(void), const char *name)
{
    static char arg0[] = "gort-test";
    static char *argv[] = { arg0, NULL };
    h_reset();
    h.body = body;
    int rc = runtime_main(h_main, 1, argv);
    h_report(name, rc);
}

#define RUN(body) h_run((body), #body)


/* GTEST(suite, name[, criterion attributes]) { body run as goroutine 1 } */
#define GTEST(suite, name, ...)                                                 \
    static void suite##__##name(void);                                          \
    Test(suite, name, .timeout = H_TIMEOUT, ##__VA_ARGS__)                      \
    {                                                                           \
        h_run(suite##__##name, #suite "/" #name);                               \
    }                                                                           \
    static void suite##__##name(void)

/* ---- Child processes: death tests and environment tests ---------------- */

typedef struct {
    int status;          /* from waitpid */
    bool timed_out;      /* killed by the parent after the deadline */
    char *out;           /* captured stdout, NUL-terminated (malloc'd) */
    char *err;           /* captured stderr, NUL-terminated (malloc'd) */
} h_child;

H_FN char *h_slurp(FILE *f)
{
    fflush(f);
    if (fseek(f, 0, SEEK_END) != 0)
        return strdup("");
    long n = ftell(f);
    if (n < 0)
        n = 0;
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    return buf;
}

/* Forks; the child applies env ("NAME=value" sets, "NAME" unsets; NULL ends),
 * sends stdout and stderr to temporary files, and _exit()s with fn()'s value.
 * The parent waits up to timeout_s seconds (times H_SLOW), then kills it. */
H_FN void h_child_run(h_child *r, int (*fn)(void), const char *const *env, int timeout_s)
{
    memset(r, 0, sizeof *r);
    FILE *fo = tmpfile(), *fe = tmpfile();
    cr_assert(fo != NULL && fe != NULL, "tmpfile: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Dies with the test: a test killed at its own timeout must not
         * leave a hung child spinning on the CI machine's cores. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(125);
        dup2(fileno(fo), 1);
        dup2(fileno(fe), 2);
        for (int i = 0; env != NULL && env[i] != NULL; i++) {
            const char *eq = strchr(env[i], '=');
            if (eq == NULL) {
                unsetenv(env[i]);
            } else {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
                setenv(name, eq + 1, 1);
            }
        }
        int code = fn();
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    int64_t deadline = h_now() + H_SEC((int64_t)timeout_s * H_SLOW);
    for (;;) {
        pid_t w = waitpid(pid, &r->status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            cr_assert_fail("waitpid: %s", strerror(errno));
        }
        if (h_now() > deadline && !r->timed_out) {
            r->timed_out = true;
            kill(pid, SIGKILL);
        }
        usleep(1000);
    }
    r->out = h_slurp(fo);
    r->err = h_slurp(fe);
    fclose(fo);
    fclose(fe);
}

H_FN void h_child_free(h_child *r)
{
    free(r->out);
    free(r->err);
}

/* A readable description of how the child ended. */
H_FN const char *h_child_how(const h_child *r, char *buf, size_t n)
{
    if (r->timed_out)
        snprintf(buf, n, "hung and was killed after its deadline");
    else if (WIFEXITED(r->status))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(r->status));
    else if (WIFSIGNALED(r->status))
        snprintf(buf, n, "was killed by signal %d (%s)", WTERMSIG(r->status),
                 strsignal(WTERMSIG(r->status)));
    else
        snprintf(buf, n, "ended with wait status %#x", r->status);
    return buf;
}

static inline bool h_exited_with(const h_child *r, int code)
{
    return !r->timed_out && WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

/* In a child: print the recorded check failures to stdout, for the parent. */
H_FN void h_child_dump_failures(void)
{
    pthread_mutex_lock(&h.mu);
    for (int i = 0; i < h.nmsgs; i++)
        printf("%s\n", h.msgs[i]);
    pthread_mutex_unlock(&h.mu);
    fflush(stdout);
}

/*
 * The standard death test: runs main_fn under runtime_main in a child and
 * asserts that it exits with status 2 and that stderr contains want (and,
 * when dump is true, a goroutine dump listing goroutine 1; when false, no
 * dump at all). A child that returns from runtime_main exits 100 + value.
 */
static int (*h_death_main)(int, char **);
H_FN int h_death_child(void)
{
    static char arg0[] = "gort-death";
    static char *argv[] = { arg0, NULL };
    h_reset();
    int rc = runtime_main(h_death_main, 1, argv);
    return 100 + (rc & 0x7f);
}

H_FN void h_expect_death_in(h_child *r, int (*main_fn)(int, char **), const char *want, int dump)
{
    char how[128];
    h_death_main = main_fn;
    h_child_run(r, h_death_child, NULL, 20);
    cr_assert(h_exited_with(r, 2),
              "expected exit status 2 with \"%s\"; the child %s; stderr:\n%s",
              want, h_child_how(r, how, sizeof how), r->err);
    cr_assert(strstr(r->err, want) != NULL,
              "stderr lacks \"%s\"; stderr:\n%s", want, r->err);
    if (dump > 0)
        cr_assert(strstr(r->err, "goroutine 1 [") != NULL,
                  "stderr lacks a goroutine dump listing goroutine 1; stderr:\n%s", r->err);
    else if (dump == 0)
        cr_assert(strstr(r->err, "goroutine ") == NULL,
                  "stderr has a goroutine dump where none is expected; stderr:\n%s", r->err);
}

H_FN void h_expect_death(int (*main_fn)(int, char **), const char *want, int dump)
{
    h_child r;
    h_expect_death_in(&r, main_fn, want, dump);
    h_child_free(&r);
}

/* ---- Small helpers used by several files ------------------------------- */

/* Keeps p reachable for LeakSanitizer: for objects a test deliberately leaves
 * behind, such as a channel that abandoned goroutines stay blocked on (it
 * must not be freed while they are inside a call on it). */
static void *volatile h_kept[64];
static atomic_int h_nkept;
static inline void *h_keep(void *p)
{
    int i = atomic_fetch_add(&h_nkept, 1);
    if (i < 64)
        h_kept[i] = p;
    return p;
}

/* Threads in this process now ("Threads:" in /proc/self/status), or -1. */
H_FN int h_count_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void *h_nothing_thread(void *arg) { return arg; }

/* The baseline for comparing before and after runtime_main (not from a
 * goroutine). Starts and joins a thread first, because TSan starts its
 * background thread at the first pthread_create, and that one must not be
 * counted as a thread the runtime forgot to join; then lets the count settle
 * (see h_threads_after). */
H_FN int h_threads_before(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, h_nothing_thread, NULL) == 0)
        pthread_join(t, NULL);
    int n = h_count_threads();
    for (int i = 0; i < 200; i++) {
        usleep(1000);
        int m = h_count_threads();
        if (m == n)
            break;
        n = m;
    }
    return n;
}

/* The thread count once it has come down to before (or after a deadline).
 * pthread_join can return a moment before the kernel stops counting the
 * joined thread (it clears the tid at exit before it unlinks the task), so a
 * count taken straight after runtime_main may still include its threads. */
H_FN int h_threads_after(int before)
{
    int64_t deadline = h_now() + H_SEC(2) * H_SLOW;
    int n;
    while ((n = h_count_threads()) > before && h_now() < deadline)
        usleep(1000);
    return n;
}

/* A channel of ints. */
static inline chan_t *h_chan_int(size_t cap) { return chan_make(sizeof(int), cap); }

static inline void h_send_int(chan_t *c, int v) { chan_send(c, &v); }

static inline int h_recv_int(chan_t *c)
{
    int v = -1;
    bool ok = chan_recv(c, &v);
    CHECK(ok, "chan_recv on an open channel returned false");
    return v;
}

/* Captures runtime_print_goroutines() in a malloc'd string. */
static inline char *h_dump(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return strdup("");
    runtime_print_goroutines(f);
    fclose(f);
    return buf;
}

/* The block of a dump that begins "goroutine <id> [" (up to the next block),
 * malloc'd, or NULL when the dump has no such goroutine. */
static inline char *h_dump_block(const char *dump, int64_t id)
{
    char head[64];
    snprintf(head, sizeof head, "goroutine %" PRId64 " [", id);
    const char *p = dump;
    for (;;) {
        p = strstr(p, head);
        if (p == NULL)
            return NULL;
        if (p == dump || p[-1] == '\n')
            break;
        p++;
    }
    const char *end = p + 1;
    for (;;) {
        end = strstr(end, "\ngoroutine ");
        if (end == NULL) {
            end = p + strlen(p);
            break;
        }
        /* a block starts at "goroutine N [" at the start of a line */
        const char *q = end + 11;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > end + 11 && q[0] == ' ' && q[1] == '[')
            break;
        end++;
    }
    return strndup(p, (size_t)(end - p));
}

/* Polls the goroutine dump until goroutine id shows "[reason" (e.g. "chan
 * send") or ms pass (times H_SLOW); evaluates to whether it did. Only from a
 * goroutine. Used where a test needs a goroutine parked before going on. */
H_FN bool h_wait_parked(int64_t id, const char *reason, int ms)
{
    char want[96];
    snprintf(want, sizeof want, "goroutine %" PRId64 " [%s", id, reason);
    int64_t deadline = h_now() + H_MS((int64_t)ms * H_SLOW);
    for (;;) {
        char *d = h_dump();
        char *b = h_dump_block(d, id);
        bool ok = b != NULL && strncmp(b, want, strlen(want)) == 0 &&
                  (b[strlen(want)] == ']' || b[strlen(want)] == ',');
        free(b);
        free(d);
        if (ok)
            return true;
        if (h_now() > deadline)
            return false;
        time_sleep(H_MS(1));
    }
}

#endif /* GORT_TEST_HARNESS_H */
