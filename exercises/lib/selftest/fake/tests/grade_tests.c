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
static void incr_many(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        impl_incr();
        if (i % 64 == 0)
            gosched();
    }
    sync_wg_done(&wg);
}

/* Racy by design (TSAN_TESTS): a plain ++ passes here now and then. */
GRADE_TEST(count_from_two_threads, 1, "", 2)
{
    sync_wg_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        go(incr_many, (void *)2000L);
    sync_wg_wait(&wg);
    CHECK_EQ(impl_count(), 8000);
}
