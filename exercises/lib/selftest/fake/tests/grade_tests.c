/* The fake exercise's graded tests (the grader's selftest). */
#include "grade.h"
#include "impl.h"

GRADE_TEST(add_small, 1, "", 1)
{
    CHECK_EQ(impl_add(2, 3), 5);
}

GRADE_TEST(add_more, 1, "add_small", 1)
{
    CHECK_EQ(impl_add(-7, 3), -4);
}

static sync_waitgroup wg;
static chan_t *gate;
static int started;
static void incr_many(void *arg)
{
    chan_recv(gate, NULL);                  /* all start together */
    /* Wait (up to 1 s) until two run at once, one on each thread. */
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    int64_t until = time_now() + GRADE_MS(1000);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 2 && time_now() < until)
        ;
    for (long i = 0; i < (long)arg; i++)
        impl_incr();
    sync_wg_done(&wg);
}

/* Racy by design (TSAN_TESTS): a plain ++ passes here now and then. Four
 * goroutines on two threads, released at once by closing a channel, then
 * nothing orders their increments. */
GRADE_TEST(count_from_two_threads, 1, "", 2)
{
    gate = chan_make(0, 0);
    sync_wg_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        go(incr_many, (void *)100000L);
    time_sleep(GRADE_MS(5));
    chan_close(gate);
    sync_wg_wait(&wg);
    CHECK_EQ(impl_count(), 400000);
}
