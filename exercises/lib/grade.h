/*
 * grade.h: the graded tests of a gort exercise (a tiny runner of our own).
 *
 * The problem. A graded test must (1) fail, never hang, when the student's
 * code deadlocks or loops; (2) fail when it dies early, whatever it printed;
 * (3) carry points and a parent, like xv6's gradelib; (4) be replayable: the
 * random values it draws and the environment it ran in are printed. The
 * stages' Criterion harness does (1) and (2) but not (3) or (4), and its
 * output is made for the stage's authors, not for a student reading a
 * score. So exercises use this header and exercises/lib/grade.sh.
 *
 * The protocol.
 *   1. A test file includes "grade.h" once and declares its tests:
 *          GRADE_TEST(rw_readers_share, 2, "rw_basic", 2) { ...body... }
 *      name, points, parent test ("" for none), GOMAXPROCS (0: the default).
 *      The body runs as goroutine 1 inside runtime_main().
 *   2. `tests --list` prints one line per test, in source order:
 *          name points parent procs timeout  (parent "-" when none;
 *                                             timeout in seconds)
 *      grade.sh runs `tests NAME` once per test, in its own process, under
 *      GNU timeout, with GOMAXPROCS, GRADE_SEED and GRADE_TIMEOUT set.
 *   3. `tests NAME` prints "(NAME) begin", the seed, runs the body with
 *      GODEBUG=schedseed=GRADE_SEED in front of the user's GODEBUG (unless
 *      that names its own schedseed: the user's wins), so the runtime's
 *      random choices replay too, and reports "end" only if runtime_main
 *      returned 0, at least one CHECK ran, and none failed. grade.sh passes
 *      a test only on exit status 0 *and* that end report (Pintos'
 *      sentinels): a test that dies early cannot pass.
 *      The reports do not go to stdout, which the code under test shares
 *      (a printf("r-") without a newline glued itself to a sentinel there,
 *      and code that printed "(NAME) end" and exited forged a pass): grade.sh
 *      opens a file on the descriptor GRADE_RESULT_FD and draws a random
 *      GRADE_TOKEN for each run; main() takes both out of the environment
 *      (and wipes the token's bytes) before any code under test runs, and
 *      writes "TOKEN begin|end|timeout NAME" lines there (grade_report_).
 *      grade.sh never parses the test's own output for a result; it reads
 *      it only to explain a failure. Without GRADE_RESULT_FD (a test run by
 *      hand, a replay line) only the stdout lines are printed.
 *   4. CHECK(cond, fmt, ...) may be used on any goroutine, on any thread: a
 *      failure prints "check failed: file:line: ..." and is counted; it never
 *      jumps. REQUIRE() is a CHECK that ends the test at once (exit 1).
 *   5. A watchdog thread prints every goroutine (runtime_print_goroutines)
 *      one second before the time limit and exits 3, so a student whose
 *      code deadlocks sees where each goroutine waits; grade.sh's timeout
 *      is the backstop. The limit: GRADE_TIMEOUT if set, else the test's
 *      own (GRADE_TEST_TIMEOUT, GRADE_TEST_GODEBUG_TIMEOUT) or
 *      GRADE_DEFAULT_TIMEOUT, times GRADE_SAN_FACTOR in a sanitizer build;
 *      `--list` prints it.
 *   6. GRADE_DEATH_TEST(name, points, parent, procs, "text") expects the
 *      body to kill the program the way Go does (exit status 2) with "text"
 *      in its output: the test forks before the runtime starts, runs the
 *      body in the child and checks the child's status and stderr.
 *
 * Helpers for checking that the mechanism was really used: grade_count_waiting
 * parses runtime_print_goroutines() to count goroutines parked with a given
 * wait reason (and function); grade_eventually polls a condition.
 */
#ifndef GORT_GRADE_H
#define GORT_GRADE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

typedef struct grade_test {
    const char *name;
    int         points;
    const char *parent;         /* "" for none */
    int         procs;          /* GOMAXPROCS; 0: grade.sh's default */
    void      (*fn)(void);
    int         line;           /* source order, for --list */
    const char *death;          /* death tests: text expected in the output */
    const char *godebug;        /* GRADE_TEST_GODEBUG: settings the test needs */
    int         timeout;        /* seconds, before GRADE_SAN_FACTOR; 0: the default */
} grade_test;

/* Time limits. A hang costs the limit, so it comes from measurements (see
 * exercises/README.md, "Time limits"): on a loaded 2-core machine the
 * graded tests of the solutions take 5-450 ms (two 0.8 and 1.3 s), and
 * 1-1.7 s under TSan (slowest 9.2 s). But many tests give up on their own
 * after waiting up to 5 s for something that should happen (a goroutine
 * parked, a reader woken) and then say exactly what did not: the limit
 * must leave them that time, or the watchdog's dump would replace their
 * message. So 10 s by default (20x the usual test), more for the few whose
 * own deadlines add up to more (GRADE_TEST_TIMEOUT); a sanitizer build
 * runs the code several times slower but waits the same wall-clock
 * deadlines: 6x under TSan (60 s: 6.5x its slowest), 3x under ASan. */
#ifndef GRADE_DEFAULT_TIMEOUT
#define GRADE_DEFAULT_TIMEOUT 10
#endif
#if defined(__SANITIZE_THREAD__)
#define GRADE_SAN_FACTOR 6
#elif defined(__SANITIZE_ADDRESS__)
#define GRADE_SAN_FACTOR 3
#else
#define GRADE_SAN_FACTOR 1
#endif

#define GRADE_REGISTER_(fn, points, parent, procs, death, godebug, timeout)     \
    static void fn(void);                                                      \
    static const grade_test grade_test_##fn                                    \
        __attribute__((used, section("grade_tests"), aligned(sizeof(void *)))) \
        = { #fn, (points), (parent), (procs), fn, __LINE__, (death), (godebug), (timeout) }; \
    static void fn(void)

#define GRADE_TEST(fn, points, parent, procs) \
    GRADE_REGISTER_(fn, points, parent, procs, NULL, NULL, 0)
#define GRADE_DEATH_TEST(fn, points, parent, procs, text) \
    GRADE_REGISTER_(fn, points, parent, procs, (text), NULL, 0)
/* A test that needs more than GRADE_DEFAULT_TIMEOUT seconds (plain build). */
#define GRADE_TEST_TIMEOUT(fn, points, parent, procs, secs) \
    GRADE_REGISTER_(fn, points, parent, procs, NULL, NULL, (secs))
/* A test that needs runtime settings (GODEBUG=asyncpreemptoff=1): they go
 * after the user's GODEBUG, so they win, and the binary adds them itself,
 * so the replay line needs nothing more. */
#define GRADE_TEST_GODEBUG(fn, points, parent, procs, godebug) \
    GRADE_REGISTER_(fn, points, parent, procs, NULL, (godebug), 0)
#define GRADE_TEST_GODEBUG_TIMEOUT(fn, points, parent, procs, godebug, secs) \
    GRADE_REGISTER_(fn, points, parent, procs, NULL, (godebug), (secs))

extern const grade_test __start_grade_tests[], __stop_grade_tests[];

/* ---- checks ------------------------------------------------------------ */

static int grade_nchecks, grade_nfailed;   /* atomic */

__attribute__((format(printf, 4, 5), unused))
static void grade_check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    __atomic_add_fetch(&grade_nfailed, 1, __ATOMIC_SEQ_CST);
    /* One write per failure, so lines from several threads never mix. */
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "check failed: %s:%d: %s%s%s\n", file, line, cond,
                     msg[0] ? ": " : "", msg);
    fflush(stdout);
    if (write(1, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1)) < 0)
        abort();
}

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        __atomic_add_fetch(&grade_nchecks, 1, __ATOMIC_RELAXED);               \
        if (!(cond))                                                           \
            grade_check_failed(__FILE__, __LINE__, #cond, "" __VA_ARGS__);     \
    } while (0)

#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        __atomic_add_fetch(&grade_nchecks, 1, __ATOMIC_RELAXED);               \
        if (!(cond)) {                                                         \
            grade_check_failed(__FILE__, __LINE__, #cond, "" __VA_ARGS__);     \
            fflush(stdout);                                                    \
            _exit(1);                                                          \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        CHECK(a_ == b_, "%s is %lld, want %lld", #a, a_, b_);                  \
    } while (0)

/* ---- randomness (replayable: GRADE_SEED) ------------------------------- */

static uint64_t grade_seed_state;
static pthread_mutex_t grade_rand_lock = PTHREAD_MUTEX_INITIALIZER;

/* A random number in [lo, hi]. Callable from any goroutine. */
__attribute__((unused)) static int64_t grade_rand(int64_t lo, int64_t hi)
{
    pthread_mutex_lock(&grade_rand_lock);
    uint64_t z = (grade_seed_state += 0x9e3779b97f4a7c15ULL);   /* splitmix64 */
    pthread_mutex_unlock(&grade_rand_lock);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return lo + (int64_t)(z % (uint64_t)(hi - lo + 1));
}

#define GRADE_MS(x) ((int64_t)(x) * 1000000LL)

/* ---- looking at the runtime from the outside --------------------------- */

/* Goroutines whose dump header reads "[reason" (any duration) and, when fn
 * is not NULL, whose function line is "fn(...)". reason NULL: parked for
 * any reason (neither running nor runnable). */
__attribute__((unused)) static int grade_count_waiting(const char *reason, const char *fn)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        abort();
    runtime_print_goroutines(f);
    fclose(f);
    int n = 0;
    size_t rl = reason ? strlen(reason) : 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *br = strchr(line, '[');
        if (strncmp(line, "goroutine ", 10) != 0 || br == NULL)
            continue;
        if (reason == NULL) {
            if (strncmp(br, "[running]", 9) == 0 || strncmp(br, "[runnable]", 10) == 0 ||
                strncmp(br, "[dead]", 6) == 0)
                continue;
        } else if (strncmp(br + 1, reason, rl) != 0 || (br[1 + rl] != ']' && br[1 + rl] != ',')) {
            continue;
        }
        char *next = strtok_r(NULL, "\n", &save);
        if (fn == NULL || (next && strncmp(next, fn, strlen(fn)) == 0 &&
                           strcmp(next + strlen(fn), "(...)") == 0))
            n++;
    }
    free(text);
    return n;
}

/* Polls pred(arg) every millisecond (time_sleep: the caller parks) until it
 * holds or timeout_ns passes; returns its last value. */
__attribute__((unused)) static bool grade_eventually(bool (*pred)(void *), void *arg, int64_t timeout_ns)
{
    int64_t deadline = time_now() + timeout_ns;
    for (;;) {
        if (pred(arg))
            return true;
        if (time_now() > deadline)
            return false;
        time_sleep(GRADE_MS(1));
    }
}

typedef struct { const char *reason, *fn; int want; } grade_waiting_arg;
static bool grade_waiting_pred_(void *a)
{
    grade_waiting_arg *w = a;
    return grade_count_waiting(w->reason, w->fn) >= w->want;
}

/* Waits (up to 5 s) until at least `want` goroutines are parked with reason
 * (and fn, if not NULL); returns whether they were. */
__attribute__((unused)) static bool grade_wait_parked(int want, const char *reason, const char *fn)
{
    grade_waiting_arg w = { reason, fn, want };
    return grade_eventually(grade_waiting_pred_, &w, 5000000000LL);
}

/* ---- main ------------------------------------------------------------- */

static const grade_test *grade_current;

/* The result channel (see the protocol, 3): a descriptor and a token that
 * only grade.sh and this file know. -1: not run by grade.sh. */
static int grade_result_fd = -1;
static char grade_token[65];

static void grade_report_(const char *what)
{
    if (grade_result_fd < 0)
        return;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s %s %s\n", grade_token, what, grade_current->name);
    if (n > 0 && write(grade_result_fd, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1)) < 0)
        _exit(4);
}

/* Takes the channel out of the environment before any code under test runs:
 * the token's bytes are overwritten where they lie (getenv returns a
 * pointer into the environment block, which /proc/self/environ shows too). */
static void grade_take_channel_(void)
{
    const char *fd = getenv("GRADE_RESULT_FD");
    char *tok = getenv("GRADE_TOKEN");
    if (fd && tok && *tok && strlen(tok) < sizeof grade_token) {
        grade_result_fd = atoi(fd);
        strcpy(grade_token, tok);
    }
    if (tok)
        memset(tok, 'x', strlen(tok));
    unsetenv("GRADE_TOKEN");
    unsetenv("GRADE_RESULT_FD");
}

static int grade_timeout_(const grade_test *t)
{
    const char *s = getenv("GRADE_TIMEOUT");
    if (s && atoi(s) > 0)
        return atoi(s);
    return (t->timeout > 0 ? t->timeout : GRADE_DEFAULT_TIMEOUT) * GRADE_SAN_FACTOR;
}

static int grade_main_(int argc, char **argv)
{
    (void)argc; (void)argv;
    printf("(%s) schedseed=%" PRIu64 "\n", grade_current->name, runtime_schedseed());
    grade_current->fn();
    return 0;
}

static void *grade_watchdog_(void *arg)
{
    int secs = *(int *)arg;
    sleep((unsigned)secs);
    grade_report_("timeout");
    printf("(%s) still running after %d s: deadlock or endless loop? Every goroutine:\n",
           grade_current->name, secs);
    fflush(stdout);
    runtime_print_goroutines(stdout);
    printf("(%s) a goroutine marked [running] is on a thread right now, spinning or\n"
           "    computing: the dump names its function, not the line. To see the line, run\n"
           "    the replay line under gdb (gdb --args ...), press Ctrl-C after a second,\n"
           "    then `thread apply all bt`; or set GORT_TRACE=trace.json to see what ran.\n",
           grade_current->name);
    fflush(stdout);
    _exit(3);
}

/* The runtime's schedule seed is the test's seed: GODEBUG=schedseed=SEED
 * goes in front of the user's settings, unless those name a schedseed
 * (theirs wins). grade.sh does the same and prints it on the replay line;
 * doing it here too makes `GRADE_SEED=N tests NAME` replay by itself. */
static void grade_set_schedseed_(uint64_t seed, const char *test)
{
    const char *user = getenv("GODEBUG");
    char buf[4096];
    if (user && (strncmp(user, "schedseed=", 10) == 0 || strstr(user, ",schedseed=")))
        snprintf(buf, sizeof buf, "%s", user);
    else
        snprintf(buf, sizeof buf, "schedseed=%" PRIu64 "%s%s", seed, user && *user ? "," : "",
                 user ? user : "");
    if (test && *test) {                     /* the test's own settings, last: they win */
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "", test);
    }
    setenv("GODEBUG", buf, 1);
}

static int grade_cmp_(const void *a, const void *b)
{
    return (*(const grade_test *const *)a)->line - (*(const grade_test *const *)b)->line;
}

static int grade_run_death_(const grade_test *t)
{
    fflush(stdout);
    char path[] = "/tmp/gort-grade-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    unlink(path);
    pid_t pid = fork();
    if (pid == 0) {
        if (grade_result_fd >= 0)
            close(grade_result_fd);          /* the child reports nothing */
        grade_result_fd = -1;
        dup2(fd, 1);
        dup2(fd, 2);
        runtime_main_named(grade_main_, t->name, 0, NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    char out[16384];
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    printf("---- the program's output ----\n%s---- end of output ----\n", out);
    grade_nchecks += 2;
    bool ok = true;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 2) {
        printf("check failed: the program should die with exit status 2 (as Go does); it %s %d\n",
               WIFEXITED(st) ? "exited with status" : "died of signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        ok = false;
    }
    if (strstr(out, t->death) == NULL) {
        printf("check failed: the output should contain \"%s\"\n", t->death);
        ok = false;
    }
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)(__stop_grade_tests - __start_grade_tests);
    const grade_test **tests = malloc((n ? n : 1) * sizeof *tests);
    for (size_t i = 0; i < n; i++)
        tests[i] = &__start_grade_tests[i];
    qsort(tests, n, sizeof *tests, grade_cmp_);

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s %d %s %d %d\n", tests[i]->name, tests[i]->points,
                   tests[i]->parent[0] ? tests[i]->parent : "-", tests[i]->procs,
                   grade_timeout_(tests[i]));
        free(tests);
        return 0;
    }
    for (size_t i = 0; argc == 2 && i < n; i++)
        if (strcmp(tests[i]->name, argv[1]) == 0)
            grade_current = tests[i];
    free(tests);
    if (argc != 2) {
        fprintf(stderr, "usage: %s --list | %s TEST\n", argv[0], argv[0]);
        return 2;
    }
    if (grade_current == NULL) {
        fprintf(stderr, "%s: no test named \"%s\" (see --list)\n", argv[0], argv[1]);
        return 2;
    }

    grade_take_channel_();
    const char *s = getenv("GRADE_SEED");
    char *end = NULL;
    uint64_t seed = s ? strtoull(s, &end, 10) : 0;
    if (s == NULL || *s == '\0' || *end != '\0') {
        if (s) {
            fprintf(stderr, "GRADE_SEED=%s: expected a decimal number\n", s);
            return 2;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    grade_seed_state = seed;
    grade_set_schedseed_(seed, grade_current->godebug);

    const char *name = grade_current->name;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("(%s) begin\n", name);
    grade_report_("begin");
    printf("(%s) GRADE_SEED=%" PRIu64 " GOMAXPROCS=%s GODEBUG=%s\n", name, seed,
           getenv("GOMAXPROCS") ? getenv("GOMAXPROCS") : "(unset)",
           getenv("GODEBUG") ? getenv("GODEBUG") : "(unset)");

    int rc;
    if (grade_current->death) {
        rc = grade_run_death_(grade_current);
    } else {
        static int secs;
        secs = grade_timeout_(grade_current) - 1;
        pthread_t wd;
        if (secs > 0 && pthread_create(&wd, NULL, grade_watchdog_, &secs) == 0)
            pthread_detach(wd);
        rc = runtime_main_named(grade_main_, name, argc, argv);
        if (rc != 0)
            printf("check failed: the test's main goroutine returned %d\n", rc);
    }
    int checks = __atomic_load_n(&grade_nchecks, __ATOMIC_SEQ_CST);
    int failed = __atomic_load_n(&grade_nfailed, __ATOMIC_SEQ_CST);
    if (checks == 0) {
        printf("check failed: the test ran no CHECK (a test that checks nothing fails)\n");
        return 1;
    }
    if (failed > 0 || rc != 0)
        return 1;
    printf("(%s) end\n", name);
    fflush(stdout);
    grade_report_("end");
    return 0;
}

#endif /* GORT_GRADE_H */
