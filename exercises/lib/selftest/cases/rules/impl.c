/* Right answers, but it allocates and locks where the rules forbid it. */
#include <pthread.h>
#include <stdlib.h>
#include "impl.h"
static long count;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
int impl_add(int a, int b) { int *p = malloc(sizeof *p); *p = a + b; int r = *p; free(p); return r; }
void impl_incr(void) { pthread_mutex_lock(&mu); count++; pthread_mutex_unlock(&mu); }
long impl_count(void) { pthread_mutex_lock(&mu); long c = count; pthread_mutex_unlock(&mu); return c; }
