/* Dereferences NULL: a crash, explained without bash's job-control line. */
#include "impl.h"
static long count;
int impl_add(int a, int b) { volatile int *p = (int *)(long)(a - 2); return *p + b; }
void impl_incr(void) { __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST); }
long impl_count(void) { return __atomic_load_n(&count, __ATOMIC_SEQ_CST); }
