/*
 * bench/chan_pingpong.c: unbuffered channel ping-pong; ns per round trip.
 *
 * Go twin: scripts/go-bench (workload "pingpong"); the two are the same program:
 *
 *     ping, pong := make(chan int64), make(chan int64)
 *     go echo(ping, pong, &wg)            // for v := range ping { pong <- v }; wg.Done()
 *     start := time.Now()
 *     for i := int64(0); i < n; i++ {
 *         ping <- i
 *         <-pong
 *     }
 *     ns := time.Since(start) / n
 *     close(ping)
 *     wg.Wait()
 *
 * What it measures: a round trip is two unbuffered hand-offs, each one a
 * park of the waiting side and a wake-up (ready) by the other: two
 * goroutine switches at GOMAXPROCS=1; at GOMAXPROCS=2 the two may sit on
 * different threads, and a wake-up may cross threads (sleep and wake of an
 * idle thread), which can cost more than staying on one.
 *
 * Usage: chan_pingpong [N]   (round trips, default 1000000).
 * Prints "chan_pingpong_roundtrip NS ns".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

static chan_t *ping, *pong;
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;

static void echo(void *arg)
{
    int64_t v;
    while (chan_recv(ping, &v))
        chan_send(pong, &v);
    sync_wg_done(&wg);
}

static int pingpong_main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n < 1) {
        fprintf(stderr, "usage: chan_pingpong [N]\n");
        return 2;
    }

    ping = chan_make(sizeof(int64_t), 0);
    pong = chan_make(sizeof(int64_t), 0);
    sync_wg_add(&wg, 1);
    go(echo, NULL);

    int64_t start = time_now();
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        chan_send(ping, &i);
        chan_recv(pong, &v);
        if (v != i) {
            fprintf(stderr, "chan_pingpong: sent %lld, got back %lld\n",
                    (long long)i, (long long)v);
            return 1;
        }
    }
    int64_t elapsed = time_now() - start;
    chan_close(ping);
    sync_wg_wait(&wg);
    chan_free(ping);
    chan_free(pong);

    printf("chan_pingpong_roundtrip %.1f ns\n", (double)elapsed / (double)n);
    return 0;
}

GO_MAIN(pingpong_main)
