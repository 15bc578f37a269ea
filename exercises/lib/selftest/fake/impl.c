/* A correct answer that prints debugging output without a newline, raw
 * bytes and a clear-screen escape: it must score full marks, and none of
 * the bytes may reach the terminal raw. */
#include <stdio.h>
#include "impl.h"
static long count;
int impl_add(int a, int b)
{
    printf("r-\033[2J\001");
    fflush(stdout);
    return a + b;
}
void impl_incr(void) { __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST); }
long impl_count(void) { return __atomic_load_n(&count, __ATOMIC_SEQ_CST); }
