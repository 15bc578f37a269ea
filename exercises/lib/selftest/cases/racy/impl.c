/* A plain ++ from several threads: right now and then, so it must fail
 * every run (the racy test also runs under TSan). */
#include "impl.h"
static long count;
int impl_add(int a, int b) { return a + b; }
void impl_incr(void) { count++; }
long impl_count(void) { return count; }
