/*
 * Graded tests of exercise syscallblock (see ../README.md for the points).
 *
 * A read that blocks while its goroutine holds the P stops every other
 * goroutine of that P; stage 04's lazy calls free the P only when sysmon
 * notices, a tick or more later; runtime_entersyscallblock frees it at
 * once. The tests look at the P itself (m.oldp's status, right after the
 * call is entered) and at who gets to run while a read waits. A pipe that
 * nobody in the program will write would hang a wrong answer for ever, so
 * a plain thread writes a different byte to it after 2 s: a read that
 * returns that byte failed.
 */
#define _GNU_SOURCE
#include "grade.h"
#include "runtime2.h"
#include "syscallblock.h"

#include <errno.h>

static int stop;                /* atomic */
static int64_t rounds;          /* atomic */

static void ticker(void *arg)
{
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
        gosched();
    }
    sync_wg_done(arg);
}

/* The backstop: writes 'T' to fd after 2 s unless told not to. */
typedef struct { int fd; int cancel; } backstop;
static void *backstop_thread(void *arg)
{
    backstop *b = arg;
    for (int i = 0; i < 200 && !__atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE); i++)
        usleep(10000);
    if (!__atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE))
        (void)!write(b->fd, "T", 1);
    return NULL;
}

/* ---- 1 ------------------------------------------------------------------ */

GRADE_TEST(entersyscallblock_hands_off_at_once, 3, "", 1)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    go(ticker, &wg);
    gosched();
    int still = 0;
    int64_t r0 = __atomic_load_n(&rounds, __ATOMIC_RELAXED);
    for (int i = 0; i < 20; i++) {
        runtime_entersyscallblock();
        p *oldp = getm()->oldp;
        uint32_t s = oldp ? __atomic_load_n(&oldp->status, __ATOMIC_RELAXED) : _Psyscall;
        usleep(2000);
        runtime_exitsyscall();
        if (s == _Psyscall)
            still++;
    }
    int64_t ran = __atomic_load_n(&rounds, __ATOMIC_RELAXED) - r0;
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);
    CHECK(still == 0, "%d of 20 times the P was still in _Psyscall right after "
          "runtime_entersyscallblock: left for sysmon", still);
    CHECK(ran > 0, "the goroutine queued behind 20 blocking calls never ran");
}

/* ---- 2 ------------------------------------------------------------------ */

static int pfd[2];

static void late_writer(void *arg)
{
    for (int i = 0; i < 50; i++)
        gosched();                  /* runs only if the reader gave its P away */
    (void)!write(pfd[1], "x", 1);
    sync_wg_done(arg);
}

GRADE_TEST(ready_reads_keep_the_p_and_waiting_ones_do_not, 4, "", 1)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    REQUIRE(pipe(pfd) == 0, "pipe: %s", strerror(errno));
    sync_wg_add(&wg, 1);
    go(ticker, &wg);                /* always runnable: work a hand-off would run */
    gosched();
    char data[200], got[200];
    for (int i = 0; i < 200; i++)
        data[i] = (char)grade_rand(1, 255);
    REQUIRE(write(pfd[1], data, sizeof data) == (ssize_t)sizeof data, "write");
    /* A read that hands its P off lets the ticker run, about once per
     * read. One that keeps it lets it run only if sysmon retakes the P,
     * which needs a call the OS stretched past two sysmon ticks (a busy
     * machine): a few times at most. (Counting threads failed now and
     * then for that reason: one retake starts an M.) */
    int64_t t0 = __atomic_load_n(&rounds, __ATOMIC_RELAXED);
    int bad = 0;
    for (int i = 0; i < 200; i++)
        if (blocking_read(pfd[0], &got[i], 1) != 1 || got[i] != data[i])
            bad++;
    int64_t ticked = __atomic_load_n(&rounds, __ATOMIC_RELAXED) - t0;
    CHECK(bad == 0, "%d of 200 one-byte reads of ready data returned something else", bad);
    CHECK(ticked < 100, "the goroutine queued behind 200 reads of data already there ran "
          "%lld times during them: a short call handed its P off", (long long)ticked);

    backstop b = { pfd[1], 0 };
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, backstop_thread, &b) == 0, "pthread_create");
    sync_wg_add(&wg, 1);
    go(late_writer, &wg);
    char c = 0;
    ssize_t r = blocking_read(pfd[0], &c, 1);
    __atomic_store_n(&b.cancel, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK(r == 1 && c == 'x', "a read of an empty pipe got %s: the goroutine that writes "
          "it never ran while the read waited", c == 'T' ? "the backstop's byte after 2 s" : "nothing");
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);
    close(pfd[0]);
    close(pfd[1]);
}

/* ---- 3 ------------------------------------------------------------------ */

enum { NR = 4 };
static int rp[NR][2];
static int inread;                  /* atomic: readers about to read */
static char gotc[NR];

static void reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    __atomic_add_fetch(&inread, 1, __ATOMIC_RELAXED);
    if (blocking_read(rp[i][0], &gotc[i], 1) != 1)
        gotc[i] = '?';
}

static void writer(void *arg)
{
    while (__atomic_load_n(&inread, __ATOMIC_RELAXED) < NR)
        gosched();
    for (int i = 0; i < 100; i++)
        gosched();                  /* let them get into read(2) */
    for (int i = 0; i < NR; i++)
        (void)!write(rp[i][1], "w", 1);
    sync_wg_done(arg);
}

GRADE_TEST(blocked_readers_do_not_hold_every_p, 3, "", 2)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    backstop b[NR];
    pthread_t t[NR];
    for (int i = 0; i < NR; i++) {
        REQUIRE(pipe(rp[i]) == 0, "pipe");
        b[i] = (backstop){ rp[i][1], 0 };
        REQUIRE(pthread_create(&t[i], NULL, backstop_thread, &b[i]) == 0, "pthread_create");
    }
    sync_wg_add(&wg, 1);
    for (int i = 0; i < NR; i++)
        go(reader, (void *)(intptr_t)i);
    go(writer, &wg);
    sync_wg_wait(&wg);
    for (int i = 0; i < NR; i++) {
        char c;
        while ((c = __atomic_load_n(&gotc[i], __ATOMIC_RELAXED)) == 0)
            time_sleep(GRADE_MS(1));
        __atomic_store_n(&b[i].cancel, 1, __ATOMIC_RELEASE);
        CHECK(c == 'w', "reader %d got '%c': the writer did not get a P while %d readers "
              "waited in read(2)", i, c, NR);
    }
    for (int i = 0; i < NR; i++) {
        pthread_join(t[i], NULL);
        close(rp[i][0]);
        close(rp[i][1]);
    }
}
