/* Spins forever: a hang must cost the test's time limit, no more, and
 * Ctrl-C must stop the grader at once. */
#include "impl.h"
static volatile long count;
int impl_add(int a, int b) { for (;;) count++; return a + b; }
void impl_incr(void) { for (;;) count++; }
long impl_count(void) { return count; }
