/*
 * bench/chan_buffered.c: a buffered channel (cap 128) carries N ints from one
 * producer to one consumer; ns per item.
 *
 * Go twin: scripts/go-bench (workload "buffered"); the two are the same program:
 *
 *     ch := make(chan int64, 128)
 *     start := time.Now()
 *     go produce(ch, n)                   // for i < n { ch <- i }; close(ch)
 *     var sum int64
 *     for v := range ch {                 // main is the consumer
 *         sum += v
 *     }
 *     ns := time.Since(start) / n
 *     // sum must be n*(n-1)/2
 *
 * What it measures: the buffered fast path (lock, copy into or out of the
 * ring, unlock) most of the time, plus a park and a wake-up whenever one
 * side finds the buffer full or empty. At GOMAXPROCS=2 both sides run at
 * once and fight over the channel's lock and cache lines.
 *
 * Usage: chan_buffered [N]   (items, default 10000000).
 * Prints "chan_buffered_item NS ns".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

static chan_t *ch;
static long nitems;

static void produce(void *arg)
{
    for (int64_t i = 0; i < nitems; i++)
        chan_send(ch, &i);
    chan_close(ch);
}

static int buffered_main(int argc, char **argv)
{
    nitems = argc > 1 ? atol(argv[1]) : 10000000;
    if (nitems < 1) {
        fprintf(stderr, "usage: chan_buffered [N]\n");
        return 2;
    }

    ch = chan_make(sizeof(int64_t), 128);
    int64_t start = time_now();
    go(produce, NULL);
    int64_t v, sum = 0;
    while (chan_recv(ch, &v))
        sum += v;
    int64_t elapsed = time_now() - start;

    int64_t want = (int64_t)nitems * (nitems - 1) / 2;
    if (sum != want) {
        fprintf(stderr, "chan_buffered: sum %lld, expected %lld\n",
                (long long)sum, (long long)want);
        return 1;
    }
    /* The producer may still be on its way out of chan_close. */
    runtime_leak_check(1000000000, NULL);
    chan_free(ch);

    printf("chan_buffered_item %.1f ns\n", (double)elapsed / (double)nitems);
    return 0;
}

GO_MAIN(buffered_main)
