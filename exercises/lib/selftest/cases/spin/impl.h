/* The fake exercise's API (see ../selftest.sh). */
#ifndef SELFTEST_IMPL_H
#define SELFTEST_IMPL_H
int  impl_add(int a, int b);     /* a + b */
void impl_incr(void);            /* count += 1, from any goroutine, any thread */
long impl_count(void);
#endif
