/*
 * bench/park.c: park N goroutines on one channel receive; resident bytes per
 * parked goroutine; then wake them all by closing the channel.
 *
 * Go twin: scripts/go-bench (workload "park"); the two are the same program:
 *
 *     ch := make(chan int64)
 *     rss0 := rss()                       // /proc/self/statm, resident pages
 *     wg.Add(n)
 *     for i := 0; i < n; i++ {
 *         go parker(ch, &wg)              // parked.Add(1); <-ch; wg.Done()
 *     }
 *     rss1 := rss()                       // all created (some not yet run)
 *     for runtime.NumGoroutine() < n+1 || parked.Load() < n {
 *         time.Sleep(time.Millisecond)
 *     }
 *     time.Sleep(20 * time.Millisecond)   // the last ones: from Add(1) to parked
 *     rss2 := rss()                       // all parked
 *     close(ch)                           // wake them all
 *     wg.Wait()
 *
 * Resident bytes per goroutine = (rss2 - rss0) / n: the memory a blocked
 * goroutine really costs (its G, the touched part of its stack, its waiter
 * record). Go starts a goroutine on a 8 KiB stack and touches less than
 * that; a C runtime that gives each goroutine its own mmap'd stack pays at
 * least one 4 KiB page for the top of the stack, plus the G.
 *
 * Usage: park [N]   (default 1000000). Prints park_rss_per_goroutine (bytes),
 * park_rss_spawned_per_goroutine (bytes, right after the go statements) and
 * park_wake_goroutine (ns per goroutine for close + all of them finishing).
 */
#include <gort.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static chan_t *ch;
static atomic_long parked;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

/* Resident set size in bytes: the second field of /proc/self/statm, in pages. */
static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2) {
        perror("/proc/self/statm");
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

static int park_main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n < 1) {
        fprintf(stderr, "usage: park [N]\n");
        return 2;
    }

    ch = chan_make(sizeof(int64_t), 0);
    long rss0 = rss_bytes();
    sync_wg_add(&wg, (int)n);
    for (long i = 0; i < n; i++)
        go(parker, NULL);
    long rss1 = rss_bytes();
    while (runtime_num_goroutine() < n + 1 || atomic_load(&parked) < n)
        time_sleep(1000000);
    time_sleep(20000000);
    long rss2 = rss_bytes();

    int64_t start = time_now();
    chan_close(ch);
    sync_wg_wait(&wg);
    int64_t elapsed = time_now() - start;
    chan_free(ch);

    printf("park_rss_per_goroutine %.0f bytes\n", (double)(rss2 - rss0) / (double)n);
    printf("park_rss_spawned_per_goroutine %.0f bytes\n", (double)(rss1 - rss0) / (double)n);
    printf("park_wake_goroutine %.1f ns\n", (double)elapsed / (double)n);
    return 0;
}

GO_MAIN(park_main)
