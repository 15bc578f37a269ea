/* A right sum, then exit(0) in the middle of the test: died early. */
#include <stdlib.h>
#include "impl.h"
static long count;
int impl_add(int a, int b) { if (a < 0) exit(0); return a + b; }
void impl_incr(void) { __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST); }
long impl_count(void) { return __atomic_load_n(&count, __ATOMIC_SEQ_CST); }
