/*
 * minicriterion.h: the part of Criterion's interface the tests use, for the
 * ThreadSanitizer build only.
 *
 * Criterion cannot start under TSan: its inheritable arena fails with
 * "Resource temporarily unavailable" (Snaipe/Criterion#274, open since
 * 2018). So `make SAN=thread` compiles the same test files against this
 * header instead (the Makefile defines GORT_MINICRITERION), and the whole
 * suite still runs under TSan.
 *
 * What it keeps of Criterion's behaviour:
 *   - Test(suite, name, .timeout = S, .exit_code = N, .signal = N,
 *     .init = fn) registers a test; each runs in its own forked child, so
 *     a crash, a hang or an exit only ends that test; .init runs first, in
 *     the child;
 *   - a test passes when it ends with the expected exit status (0 unless
 *     .exit_code says otherwise; the expected signal if .signal), with no
 *     failed assertion, within its timeout;
 *   - cr_assert, cr_assert_eq, cr_assert_fail stop the test at the first
 *     failure with file, line and message; cr_log_error logs;
 *   - the options tests/run.sh passes: -j1 (accepted: tests always run one
 *     at a time) and --filter GLOB on "suite/name";
 *   - a closing line in Criterion's words:
 *     "[====] Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N",
 *     and exit status 0 only when every test passed.
 */
#ifndef GORT_MINICRITERION_H
#define GORT_MINICRITERION_H

#pragma GCC diagnostic ignored "-Wformat-zero-length"   /* cr_assert(cond) with no message */

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct mc_test {
    const char *suite, *name, *file;
    int line;
    void (*fn)(void);
    void (*init)(void);          /* run in the child before fn */
    double timeout;              /* seconds; 0: none */
    int exit_code;
    int signal;
    struct mc_test *next;
};

static struct mc_test *mc_tests;
static volatile int *mc_failed;  /* shared with the child: an assertion failed */

static void mc_register(struct mc_test *t)
{
    t->next = mc_tests;
    mc_tests = t;
}

#define Test(s_, n_, ...)                                                       \
    static void s_##_##n_##_fn(void);                                           \
    static struct mc_test s_##_##n_##_desc = {                                  \
        .suite = #s_, .name = #n_, .file = __FILE__, .line = __LINE__,          \
        .fn = s_##_##n_##_fn, ##__VA_ARGS__ };                                  \
    __attribute__((constructor)) static void s_##_##n_##_reg(void)              \
    {                                                                           \
        mc_register(&s_##_##n_##_desc);                                         \
    }                                                                           \
    static void s_##_##n_##_fn(void)

__attribute__((format(printf, 4, 5), noreturn))
static void mc_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    fflush(stdout);
    fprintf(stderr, "[----] %s:%d: Assertion failed: ", file, line);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    } else {
        fputs(expr, stderr);
    }
    fputc('\n', stderr);
    fflush(stderr);
    if (mc_failed)
        *mc_failed = 1;
    _exit(1);
}

#define cr_assert(cond, ...) \
    do { if (!(cond)) mc_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__); } while (0)
#define cr_assert_eq(a, b, ...) \
    do { if (!((a) == (b))) mc_fail(__FILE__, __LINE__, #a " == " #b, "" __VA_ARGS__); } while (0)
#define cr_assert_fail(...) mc_fail(__FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_log_error(...) \
    do { fprintf(stderr, "[ERR ] " __VA_ARGS__); fputc('\n', stderr); } while (0)

/* Runs one test in a child; true if it passed. */
static int mc_run(struct mc_test *t)
{
    *mc_failed = 0;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("minicriterion: fork");
        return 0;
    }
    if (pid == 0) {
        if (t->timeout > 0)
            alarm((unsigned)(t->timeout + 0.999));
        if (t->init)
            t->init();
        t->fn();
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (*mc_failed) {
        fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
        return 0;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (t->signal && sig == t->signal)
            return 1;
        fprintf(stderr, "[FAIL] %s::%s: %s (%s:%d)\n", t->suite, t->name,
                sig == SIGALRM ? "timed out" : strsignal(sig), t->file, t->line);
        return -1;
    }
    int code = WEXITSTATUS(status);
    if (t->signal || code != t->exit_code) {
        fprintf(stderr, "[FAIL] %s::%s: exited with status %d, expected %d (%s:%d)\n",
                t->suite, t->name, code, t->exit_code, t->file, t->line);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strncmp(argv[i], "-j", 2) == 0 || strncmp(argv[i], "--jobs", 6) == 0) {
            if (argv[i][2] == 0 || strcmp(argv[i], "--jobs") == 0)
                i++;             /* "-j 1": skip the value */
        } else {
            fprintf(stderr, "minicriterion: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    mc_failed = mmap(NULL, sizeof *mc_failed, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mc_failed == MAP_FAILED) {
        perror("minicriterion: mmap");
        return 2;
    }
    int tested = 0, passing = 0, failing = 0, crashing = 0;
    for (struct mc_test *t = mc_tests; t; t = t->next) {
        char full[512];
        snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
        if (filter && fnmatch(filter, full, 0) != 0)
            continue;
        tested++;
        int r = mc_run(t);
        if (r > 0)
            passing++;
        else if (r < 0)
            crashing++;
        else
            failing++;
    }
    printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d\n",
           tested, passing, failing, crashing);
    return failing + crashing == 0 && tested > 0 ? 0 : 1;
}

#endif /* GORT_MINICRITERION_H */
