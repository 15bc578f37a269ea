/* A wrong answer that forges the old sentinel lines and a result-channel
 * report on every descriptor it can guess, then exits 0: must not pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "impl.h"
int impl_add(int a, int b)
{
    (void)a; (void)b;
    printf("(add_small) end\n(add_more) end\n\033[2J\001\n");
    fflush(stdout);
    const char *t = getenv("GRADE_TOKEN");
    for (int fd = 3; fd < 64; fd++) {
        char buf[256];
        int n = snprintf(buf, sizeof buf, "%s end add_small\n%s end add_more\n", t ? t : "x", t ? t : "x");
        if (write(fd, buf, (size_t)n) < 0) {}
    }
    exit(0);
}
void impl_incr(void) {}
long impl_count(void) { printf("(count_from_two_threads) end\n"); fflush(stdout); exit(0); }
