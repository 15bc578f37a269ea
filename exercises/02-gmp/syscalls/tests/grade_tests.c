/*
 * Graded tests of exercise syscalls (see ../README.md for the points).
 *
 * Most run at GOMAXPROCS=1: there a goroutine blocked in the kernel
 * without handing its P off stops every other goroutine, so "the others
 * kept running" is the proof that the P was handed off. Nothing here can
 * hang: a helper thread (not a goroutine) unblocks the call after a few
 * seconds, and the test then fails with a message instead of a timeout.
 * Sizes come from GRADE_SEED.
 */
#define _GNU_SOURCE
#include "grade.h"
#include "sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

/* errno and the thread id of the thread running the caller NOW: not
 * inlined, so the compiler cannot reuse a thread-local address computed
 * before the goroutine moved (glibc declares __errno_location const). */
__attribute__((noinline)) static int cur_errno(void) { __asm__ volatile("" ::: "memory"); return errno; }
__attribute__((noinline)) static void set_errno(int e) { __asm__ volatile("" ::: "memory"); errno = e; }
static int gettid_(void) { return (int)syscall(SYS_gettid); }

static int load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void store(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static void add(int *p, int d) { __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }

/* A goroutine that counts while it runs: proof that the P is free. */
static int ticks, stop_ticker;
static void ticker(void *arg)
{
    (void)arg;
    while (!load(&stop_ticker)) {
        add(&ticks, 1);
        gosched();
    }
}

/* A plain thread that writes one byte to fd after ms milliseconds: the
 * rescue that ends a test whose goroutines are all stuck. */
typedef struct { int fd; int ms; int fired; pthread_t t; } rescue_t;
static void *rescue_main(void *arg)
{
    rescue_t *r = arg;
    usleep((useconds_t)r->ms * 1000);
    if (write(r->fd, "r", 1) == 1)
        store(&r->fired, 1);
    return NULL;
}
static void rescue_start(rescue_t *r, int fd, int ms)
{
    *r = (rescue_t){ .fd = fd, .ms = ms };
    if (pthread_create(&r->t, NULL, rescue_main, r) != 0)
        abort();
}
static void rescue_stop(rescue_t *r)
{
    pthread_cancel(r->t);
    pthread_join(r->t, NULL);
}

/* Waits (parked, 1 ms at a time) until *p >= want or ns pass. */
static bool eventually_ge(int *p, int want, int64_t ns)
{
    int64_t deadline = time_now() + ns;
    while (time_now() < deadline) {
        if (load(p) >= want)
            return true;
        time_sleep(GRADE_MS(1));
    }
    return load(p) >= want;
}

/* ---- basic ------------------------------------------------------------- */

GRADE_TEST(sysio_basic, 1, "", 1)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe: %s", strerror(errno));
    size_t n = (size_t)grade_rand(1, 512);
    char out[512], in[512];
    for (size_t i = 0; i < n; i++)
        out[i] = (char)grade_rand(0, 255);
    CHECK_EQ(gort_write(fds[1], out, n), n);
    CHECK_EQ(gort_write(fds[1], out, 0), 0);
    ssize_t r = gort_read(fds[0], in, sizeof in);
    CHECK_EQ(r, n);
    CHECK(r == (ssize_t)n && memcmp(in, out, n) == 0, "gort_read returned other bytes than were written");
    close(fds[1]);
    CHECK_EQ(gort_read(fds[0], in, sizeof in), 0);          /* end of file */
    close(fds[0]);

    set_errno(0);
    CHECK_EQ(gort_read(fds[0], in, 1), -1);                  /* closed: EBADF */
    CHECK(cur_errno() == EBADF, "gort_read on a closed fd: errno %d (%s), want EBADF",
          cur_errno(), strerror(cur_errno()));
    set_errno(0);
    CHECK_EQ(gort_write(fds[1], out, 1), -1);
    CHECK(cur_errno() == EBADF, "gort_write on a closed fd: errno %d (%s), want EBADF",
          cur_errno(), strerror(cur_errno()));

    int64_t d = GRADE_MS(grade_rand(5, 30));
    int64_t t0 = time_now();
    CHECK_EQ(gort_sleep_blocking(d), 0);
    CHECK(time_now() - t0 >= d, "gort_sleep_blocking(%lld ns) returned after %lld ns",
          (long long)d, (long long)(time_now() - t0));
    t0 = time_now();
    CHECK_EQ(gort_sleep_blocking(-1), 0);
    CHECK_EQ(gort_sleep_blocking(0), 0);
    CHECK(time_now() - t0 < GRADE_MS(500), "gort_sleep_blocking(<= 0) should return at once");
}

/* ---- a blocked read hands its P off --------------------------------------- */

static int rd_pipe[2], rd_got, rd_done;
static void blocked_reader(void *arg)
{
    (void)arg;
    char c = 0;
    ssize_t r = gort_read(rd_pipe[0], &c, 1);
    store(&rd_got, r == 1 ? c : -1);
    store(&rd_done, 1);
}

GRADE_TEST(read_lets_others_run, 3, "sysio_basic", 1)
{
    REQUIRE(pipe(rd_pipe) == 0, "pipe: %s", strerror(errno));
    store(&ticks, 0), store(&stop_ticker, 0), store(&rd_done, 0);
    rescue_t rescue;
    rescue_start(&rescue, rd_pipe[1], 3000);
    go(blocked_reader, NULL);
    go(ticker, NULL);
    int want = (int)grade_rand(200, 2000);
    CHECK(eventually_ge(&ticks, want, GRADE_MS(2000)),
          "at GOMAXPROCS=1, with one goroutine blocked in gort_read, another got only %d turns "
          "(want %d): the blocked thread kept the P", load(&ticks), want);
    CHECK(load(&rescue.fired) == 0, "nothing else ran until a helper thread unblocked the read");
    CHECK(grade_count_waiting("syscall", "blocked_reader") == 1 || load(&rd_done),
          "the blocked reader should show as [syscall] in the goroutine dump "
          "(was runtime_entersyscall called?)");
    CHECK(write(rd_pipe[1], "w", 1) == 1, "write: %s", strerror(errno));
    CHECK(eventually_ge(&rd_done, 1, GRADE_MS(5000)), "the reader never returned");
    CHECK(load(&rd_got) == 'w' || load(&rd_got) == 'r', "gort_read returned %d", load(&rd_got));
    store(&stop_ticker, 1);
    rescue_stop(&rescue);
    time_sleep(GRADE_MS(2));
    close(rd_pipe[0]);
    close(rd_pipe[1]);
}

/* ---- gort_write writes everything, and hands its P off while blocked ------- */

static int wr_pipe[2], wr_bad, wr_total, wr_done, wr_writing, wr_rescued;
static size_t wr_len;

/* The pattern byte at offset i: checks order and completeness. */
static char pattern(size_t i) { return (char)((i * 131 + (i >> 9)) & 0xff); }

static void pipe_reader(void *arg)
{
    (void)arg;
    char buf[1024];
    size_t at = 0;
    while (at < wr_len) {
        ssize_t r = gort_read(wr_pipe[0], buf, sizeof buf);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pattern(at + (size_t)i))
                store(&wr_bad, 1);
        size_t before = at;
        at += (size_t)r;
        if (before / 8192 != at / 8192)
            time_sleep(GRADE_MS(1));       /* slower than the writer */
    }
    store(&wr_total, (int)at);
    store(&wr_done, 1);
}

static void on_sigusr1(int sig) { (void)sig; }

/* While the writer is in gort_write: a signal to its thread every 1 ms (a
 * write(2) blocked on a full pipe then returns the part it moved: a short
 * write); and after 3 s, if the reader goroutine never ran, this thread
 * drains the pipe itself so that the test ends. */
typedef struct { int tid; } wkick_t;
static void *write_kicker(void *arg)
{
    wkick_t *k = arg;
    char sink[4096];
    for (int i = 0; load(&wr_writing); i++) {
        usleep(1000);
        syscall(SYS_tgkill, getpid(), k->tid, SIGUSR1);
        if (i > 3000) {
            store(&wr_rescued, 1);
            fcntl(wr_pipe[0], F_SETFL, O_NONBLOCK);
            while (load(&wr_writing))
                if (read(wr_pipe[0], sink, sizeof sink) <= 0)
                    usleep(1000);
        }
    }
    return NULL;
}

GRADE_TEST(write_writes_all_and_lets_others_run, 3, "sysio_basic", 1)
{
    struct sigaction sa = { .sa_handler = on_sigusr1 };   /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    REQUIRE(pipe(wr_pipe) == 0, "pipe: %s", strerror(errno));
    fcntl(wr_pipe[1], F_SETPIPE_SZ, 4096);   /* small: the writer blocks often */
    wr_len = (size_t)grade_rand(256, 768) * 1024;
    char *buf = malloc(wr_len);
    REQUIRE(buf != NULL, "out of memory");
    for (size_t i = 0; i < wr_len; i++)
        buf[i] = pattern(i);
    store(&wr_bad, 0), store(&wr_total, 0), store(&wr_done, 0), store(&wr_rescued, 0);
    /* The reader needs this P: a writer blocked in the kernel that keeps
     * it never lets the reader run. */
    go(pipe_reader, NULL);
    store(&wr_writing, 1);
    wkick_t k = { gettid_() };
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, write_kicker, &k) == 0, "pthread_create failed");
    ssize_t w = gort_write(wr_pipe[1], buf, wr_len);
    int e = cur_errno();
    store(&wr_writing, 0);
    pthread_join(t, NULL);
    signal(SIGUSR1, SIG_DFL);
    CHECK(w == (ssize_t)wr_len, "gort_write(%zu bytes) returned %zd%s%s: it must write all of "
          "a buffer, over short writes and signals", wr_len, w, w < 0 ? ", errno " : "",
          w < 0 ? strerror(e) : "");
    CHECK(!load(&wr_rescued), "at GOMAXPROCS=1 the reader goroutine never ran while the writer "
          "was blocked in gort_write (its P was not handed off); a helper thread drained the pipe");
    close(wr_pipe[1]);
    CHECK(eventually_ge(&wr_done, 1, GRADE_MS(5000)), "the reader never finished");
    if (!load(&wr_rescued)) {
        CHECK(load(&wr_total) == (int)wr_len, "the reader got %d of %zu bytes", load(&wr_total),
              wr_len);
        CHECK(!load(&wr_bad), "the bytes arrived altered or out of order");
    }
    free(buf);
    close(wr_pipe[0]);
}

/* ---- errno survives the move to another thread ------------------------------- */

static int er_sock[2], er_spin_stop;
static void errno_clobberer(void *arg)
{
    (void)arg;
    /* Holds the P (no runtime call) past the moment the read fails, so
     * the reader finds no P free, is queued, and resumes on THIS thread
     * when we yield; this thread's errno says ERANGE. */
    int64_t until = time_now() + GRADE_MS(150);
    while (time_now() < until && !load(&er_spin_stop))
        set_errno(ERANGE);
    set_errno(ERANGE);
    gosched();
}

GRADE_TEST(errno_survives_a_thread_switch, 2, "read_lets_others_run", 1)
{
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, er_sock) == 0, "socketpair: %s", strerror(errno));
    struct timeval tv = { .tv_sec = 0, .tv_usec = 40000 };   /* read fails: EAGAIN */
    setsockopt(er_sock[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int moved = 0, right = 0, tries = (int)grade_rand(3, 5);
    for (int i = 0; i < tries; i++) {
        store(&er_spin_stop, 0);
        go(errno_clobberer, NULL);
        int before = gettid_();
        char c;
        set_errno(0);
        ssize_t r = gort_read(er_sock[0], &c, 1);
        int e = cur_errno();
        store(&er_spin_stop, 1);
        moved += gettid_() != before;
        right += r == -1 && (e == EAGAIN || e == EWOULDBLOCK);
        if (r != -1 || (e != EAGAIN && e != EWOULDBLOCK))
            CHECK(false, "a read that timed out returned %zd with errno %d (%s), want -1 and "
                  "EAGAIN%s", r, e, strerror(e),
                  gettid_() != before ? "; the goroutine came back on another thread, whose "
                  "errno is not the one read(2) set" : "");
        time_sleep(GRADE_MS(5));
    }
    CHECK(moved > 0, "the goroutine never moved to another thread, so errno was not tested "
          "(was the P handed off during the read?)");
    CHECK_EQ(right, tries);
    close(er_sock[0]);
    close(er_sock[1]);
}

/* ---- EINTR: a signal does not cut a call short ------------------------------- */

static int in_tid, in_ready;

/* Sends SIGUSR1 to thread tid a few times while it is in the kernel. */
typedef struct { int tid; int n; } kick_t;
static void *kicker(void *arg)
{
    kick_t *k = arg;
    for (int i = 0; i < k->n; i++) {
        usleep(10000);
        syscall(SYS_tgkill, getpid(), k->tid, SIGUSR1);
    }
    return NULL;
}

static int in_pipe[2], in_result;
static void eintr_reader(void *arg)
{
    (void)arg;
    store(&in_tid, gettid_());
    store(&in_ready, 1);
    char c = 0;
    set_errno(0);
    ssize_t r = gort_read(in_pipe[0], &c, 1);
    store(&in_result, r == 1 ? c : -cur_errno() - 1000);
}

GRADE_TEST(eintr_is_restarted, 2, "sysio_basic", 2)
{
    struct sigaction sa = { .sa_handler = on_sigusr1 };   /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    /* gort_sleep_blocking: the whole time, signals or not. */
    int kicks = (int)grade_rand(2, 4);
    kick_t k = { gettid_(), kicks };
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, kicker, &k) == 0, "pthread_create failed");
    int64_t d = GRADE_MS(10 * kicks + 60), t0 = time_now();
    gort_sleep_blocking(d);
    int64_t took = time_now() - t0;
    pthread_join(t, NULL);
    CHECK(took >= d, "gort_sleep_blocking(%lld ms) returned after %.1f ms: a signal cut it short",
          (long long)(d / 1000000), took / 1e6);

    /* gort_read: a signal while blocked, then the data. */
    REQUIRE(pipe(in_pipe) == 0, "pipe: %s", strerror(errno));
    store(&in_ready, 0), store(&in_result, 0);
    go(eintr_reader, NULL);
    CHECK(eventually_ge(&in_ready, 1, GRADE_MS(2000)), "the reader never started");
    time_sleep(GRADE_MS(10));
    k = (kick_t){ load(&in_tid), kicks };
    REQUIRE(pthread_create(&t, NULL, kicker, &k) == 0, "pthread_create failed");
    pthread_join(t, NULL);
    CHECK(write(in_pipe[1], "d", 1) == 1, "write: %s", strerror(errno));
    int64_t until = time_now() + GRADE_MS(3000);
    while (load(&in_result) == 0 && time_now() < until)
        time_sleep(GRADE_MS(1));
    CHECK(load(&in_result) == 'd', "gort_read interrupted by a signal returned %s",
          load(&in_result) == 0 ? "nothing" : load(&in_result) == -EINTR - 1000 ?
          "-1 with EINTR (it must retry)" : "an error");
    close(in_pipe[0]);
    close(in_pipe[1]);
    signal(SIGUSR1, SIG_DFL);
}

/* ---- a blocking sleep hands off too --------------------------------------- */

static int sl_done;
static void blocking_sleeper(void *arg)
{
    gort_sleep_blocking(*(int64_t *)arg);
    store(&sl_done, 1);
}

GRADE_TEST(sleep_blocking_lets_others_run, 2, "sysio_basic", 1)
{
    static int64_t d;
    d = GRADE_MS(grade_rand(300, 500));
    store(&ticks, 0), store(&stop_ticker, 0), store(&sl_done, 0);
    go(blocking_sleeper, &d);
    go(ticker, NULL);
    time_sleep(GRADE_MS(100));            /* needs the P too */
    int t = load(&ticks);
    CHECK(!load(&sl_done) && t > 100, "at GOMAXPROCS=1, while one goroutine slept in "
          "gort_sleep_blocking, another got %d turns%s", t,
          load(&sl_done) ? " and main waited for the whole sleep" : "");
    CHECK(eventually_ge(&sl_done, 1, d + GRADE_MS(3000)), "the sleeper never woke");
    store(&stop_ticker, 1);
    time_sleep(GRADE_MS(2));
}

/* ---- many at once ---------------------------------------------------------- */

enum { PAIRS = 6 };
static int st_pipes[PAIRS][2], st_sum[PAIRS], st_left;
static int st_n;

static void st_writer(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (int k = 1; k <= st_n; k++) {
        int v = k;
        if (gort_write(st_pipes[i][1], &v, sizeof v) != sizeof v)
            break;
        if (k % 16 == 0)
            gort_sleep_blocking(100000);
    }
    close(st_pipes[i][1]);
}

static void st_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    int v, sum = 0;
    /* A pipe delivers an int whole or not at all: 4 bytes < PIPE_BUF. */
    while (gort_read(st_pipes[i][0], &v, sizeof v) == sizeof v)
        sum += v;
    store(&st_sum[i], sum);
    add(&st_left, -1);
}

/* Gives up after 15 s of its own: 20 s. */
GRADE_TEST_TIMEOUT(stress_pipes, 2, "read_lets_others_run", 2, 20)
{
    st_n = (int)grade_rand(500, 2000);
    store(&st_left, PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        REQUIRE(pipe(st_pipes[i]) == 0, "pipe: %s", strerror(errno));
        go(st_reader, (void *)(intptr_t)i);
        go(st_writer, (void *)(intptr_t)i);
    }
    int64_t until = time_now() + GRADE_MS(15000);
    while (load(&st_left) > 0 && time_now() < until)
        time_sleep(GRADE_MS(2));
    CHECK(load(&st_left) == 0, "%d of %d reader goroutines never finished", load(&st_left), PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        CHECK(load(&st_sum[i]) == st_n * (st_n + 1) / 2, "pipe %d: the reader summed %d, want %d",
              i, load(&st_sum[i]), st_n * (st_n + 1) / 2);
        close(st_pipes[i][0]);
    }
}
