/*
 * memleak.c: a C memory leak in a program on the runtime, for valgrind.
 *
 *   memleak leaky|fixed REQUESTS
 *
 * Each request is a goroutine that copies the request's header into a
 * malloc'd buffer, parses it and frees it; one request in four fails to
 * parse and takes the early return, and in the leaky variant that path
 * forgets the free. No goroutine leaks, runtime_leak_check is silent, the
 * goroutine count stays flat: this leak is in C's heap, which gort does not
 * manage (until stage 06 brings an allocator and stage 07 a collector).
 * valgrind --leak-check=full finds it and names the malloc's call stack:
 * "definitely lost: ... in handle_request (memleak.c:NN)".
 * The runtime releases all of its own memory before runtime_main returns,
 * so whatever valgrind reports as lost is the program's.
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fixed;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;
static sync_mutex mu = SYNC_MUTEX_INIT;
static long parsed, rejected;

static void handle_request(void *arg)
{
    long id = (long)(intptr_t)arg;
    char header[64];
    snprintf(header, sizeof header, "GET /item/%ld%s", id, id % 4 == 3 ? " ?bad" : "");

    char *copy = malloc(strlen(header) + 1);
    if (copy == NULL) { perror("memleak: malloc"); exit(1); }
    strcpy(copy, header);
    if (strchr(copy, '?') != NULL) {              /* the error path */
        sync_mutex_lock(&mu); rejected++; sync_mutex_unlock(&mu);
        if (fixed)
            free(copy);                           /* FIX */
        sync_wg_done(&wg);
        return;                                   /* BUG (leaky): copy is lost */
    }
    sync_mutex_lock(&mu); parsed++; sync_mutex_unlock(&mu);
    free(copy);
    sync_wg_done(&wg);
}

static int memleak_main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "leaky") && strcmp(argv[1], "fixed"))) {
        fprintf(stderr, "usage: memleak leaky|fixed REQUESTS\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[2], &end, 10);
    if (*end || n < 1 || n > 1000000) {
        fprintf(stderr, "memleak: REQUESTS=%s: expected an integer in 1..1000000\n", argv[2]);
        return 2;
    }
    fixed = strcmp(argv[1], "fixed") == 0;
    sync_wg_add(&wg, (int)n);
    for (long i = 0; i < n; i++)
        go(handle_request, (void *)(intptr_t)i);
    sync_wg_wait(&wg);
    printf("%ld parsed, %ld rejected, goroutines left: %d\n", parsed, rejected,
           runtime_leak_check(100 * 1000000LL, stderr));
    return 0;
}

GO_MAIN(memleak_main)
