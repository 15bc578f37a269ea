/*
 * spread.c: your implementation of spread.h (exercise spread). Read the
 * README and spread.h first.
 */
#include "spread.h"

#include <stdio.h>
#include <stdlib.h>

#include "gort.h"

static void todo(const char *what)
{
    fprintf(stderr, "%s: not implemented yet (exercise spread)\n", what);
    exit(2);
}

void go_spread(void (*fn)(void *arg), void *arg)
{
    (void)fn, (void)arg;
    todo("go_spread");
}

void parallel_for(int n, void (*fn)(int i, void *arg), void *arg)
{
    (void)n, (void)fn, (void)arg;
    todo("parallel_for");
}
