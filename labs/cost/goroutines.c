/*
 * goroutines.c: the cost lab's gort programs: what a goroutine costs.
 *
 *   goroutines spawn N      spawns N goroutines that each park on one
 *                           channel receive; prints
 *                           "ns_per_spawn<TAB>rss_bytes_per_goroutine":
 *                           the time from the first go() to the last
 *                           goroutine parked, divided by N, and the growth of
 *                           the resident set (/proc/self/statm) while all N
 *                           are parked, divided by N. Then closes the channel
 *                           and waits for all of them.
 *   goroutines gosched N    two goroutines call gosched() N times each (run
 *                           it at GOMAXPROCS=1): prints ns per switch, the
 *                           elapsed time over 2N
 *   goroutines pingpong N   N round trips over two unbuffered channels:
 *                           prints ns per switch (a round trip is two
 *                           hand-offs: elapsed / 2N)
 *
 * A parked gort goroutine holds its G (~200 bytes) and the pages of its
 * stack it has touched (one 4 KiB page for a function this small); a Go
 * goroutine holds a 2 KiB stack that grows by copying. That difference is
 * the memory plot. go/main.go is the Go twin; threads.c and ucontext.c are
 * the baselines without a runtime.
 */
#include <gort.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static chan_t *ch, *ping, *pong;
static atomic_long parked;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2) {
        perror("goroutines: /proc/self/statm");
        exit(1);
    }
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void parker(void *arg)
{
    atomic_fetch_add(&parked, 1);
    chan_recv(ch, NULL);
    sync_wg_done(&wg);
}

static void yielder(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        gosched();
    sync_wg_done(&wg);
}

static void ponger(void *arg)
{
    long n = (long)(intptr_t)arg, v;
    for (long i = 0; i < n; i++) {
        chan_recv(ping, &v);
        chan_send(pong, &v);
    }
    sync_wg_done(&wg);
}

static int goroutines_main(int argc, char **argv)
{
    long n = argc == 3 ? atol(argv[2]) : 0;
    if (argc != 3 || n < 1 || n > 100000000) {
        fprintf(stderr, "usage: goroutines spawn|gosched|pingpong N   (N in 1..100000000)\n");
        return 2;
    }
    const char *what = argv[1];
    if (strcmp(what, "spawn") == 0) {
        ch = chan_make(sizeof(int64_t), 0);
        long rss0 = rss_bytes();
        int64_t t0 = time_now();
        sync_wg_add(&wg, (int)n);
        for (long i = 0; i < n; i++)
            go(parker, NULL);
        while (atomic_load(&parked) < n)
            gosched();
        int64_t t1 = time_now();
        time_sleep(20 * 1000000LL);      /* let every thread go idle */
        long rss1 = rss_bytes();
        printf("%.1f\t%.0f\n", (double)(t1 - t0) / (double)n, (double)(rss1 - rss0) / (double)n);
        chan_close(ch);
        sync_wg_wait(&wg);
        chan_free(ch);
    } else if (strcmp(what, "gosched") == 0) {
        sync_wg_add(&wg, 2);
        int64_t t0 = time_now();
        go(yielder, (void *)(intptr_t)n);
        go(yielder, (void *)(intptr_t)n);
        sync_wg_wait(&wg);
        printf("%.1f\n", (double)(time_now() - t0) / (2.0 * (double)n));
    } else if (strcmp(what, "pingpong") == 0) {
        ping = chan_make(sizeof(long), 0);
        pong = chan_make(sizeof(long), 0);
        sync_wg_add(&wg, 1);
        go(ponger, (void *)(intptr_t)n);
        int64_t t0 = time_now();
        for (long i = 0; i < n; i++) {
            chan_send(ping, &i);
            chan_recv(pong, NULL);
        }
        printf("%.1f\n", (double)(time_now() - t0) / (2.0 * (double)n));
        sync_wg_wait(&wg);
        chan_free(ping);
        chan_free(pong);
    } else {
        fprintf(stderr, "goroutines: MODE=%s: expected spawn, gosched or pingpong\n", what);
        return 2;
    }
    return 0;
}

GO_MAIN(goroutines_main)
