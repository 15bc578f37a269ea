/*
 * prodcons.c: one producer, three consumers, a buffered channel between.
 *
 * The Go program it rebuilds:
 *
 *     func produce(n int, items chan<- int) {
 *         for i := 1; i <= n; i++ {
 *             items <- i                // blocks only while the buffer is full
 *         }
 *         close(items)                  // "no more values": ends the range loops
 *     }
 *
 *     func consume(items <-chan int, results chan<- partial) {
 *         var p partial
 *         for v := range items {        // drains the buffer even after close
 *             p.sum += v
 *             p.count++
 *         }
 *         results <- p
 *     }
 *
 *     func main() {
 *         items := make(chan int, 8)
 *         results := make(chan partial)
 *         go produce(1000, items)
 *         for i := 0; i < 3; i++ {
 *             go consume(items, results)
 *         }
 *         var total partial
 *         for i := 0; i < 3; i++ {
 *             p := <-results
 *             total.sum += p.sum
 *             total.count += p.count
 *         }
 *         fmt.Println(total.count, total.sum, total.sum == 1000*1001/2)
 *     }
 *
 * What to notice:
 *  - A buffered channel decouples the two sides: the producer runs ahead by
 *    up to cap(items) values and parks only when the buffer is full; a
 *    consumer parks only when it is empty.
 *  - close is a message to the receivers, not to the channel: values already
 *    in the buffer are still delivered, and only then does chan_recv return
 *    false. Closing is the sender's job; a send after close panics.
 *  - How the 1000 values split among the three consumers changes from run to
 *    run, so only the totals are printed; they never change.
 */
#include <gort.h>

#include <stdio.h>

enum { NITEMS = 1000, NCONSUMERS = 3, BUFFER = 8 };

struct partial {
    long sum;
    long count;
};

struct pipeline {
    chan_t *items;      /* chan int, capacity BUFFER */
    chan_t *results;    /* chan struct partial, unbuffered */
};

static void produce(void *arg)
{
    struct pipeline *pl = arg;

    for (int i = 1; i <= NITEMS; i++)
        chan_send(pl->items, &i);
    chan_close(pl->items);
}

static void consume(void *arg)
{
    struct pipeline *pl = arg;
    struct partial p = { 0, 0 };
    int v;

    while (chan_recv(pl->items, &v)) {   /* for v := range items */
        p.sum += v;
        p.count++;
    }
    chan_send(pl->results, &p);
}

static int prodcons_main(int argc, char **argv)
{
    struct pipeline pl = {
        .items   = chan_make(sizeof(int), BUFFER),
        .results = chan_make(sizeof(struct partial), 0),
    };

    go(produce, &pl);
    for (int i = 0; i < NCONSUMERS; i++)
        go(consume, &pl);

    struct partial total = { 0, 0 };
    for (int i = 0; i < NCONSUMERS; i++) {
        struct partial p;
        chan_recv(pl.results, &p);
        total.sum += p.sum;
        total.count += p.count;
    }

    long want = (long)NITEMS * (NITEMS + 1) / 2;
    printf("buffer capacity: %zu\n", chan_cap(pl.items));
    printf("consumers: %d\n", NCONSUMERS);
    printf("items received: %ld\n", total.count);
    printf("sum of 1..%d: %ld (expected %ld): %s\n", NITEMS, total.sum, want,
           total.sum == want ? "ok" : "WRONG");

    /* Every consumer has sent its result, the producer has closed items.
     * Wait for all of them to be gone before freeing what they used (C has
     * no collector to do it when the last goroutine lets go). */
    if (runtime_leak_check(1000000000LL, stdout) != 0)
        return 1;
    chan_free(pl.items);
    chan_free(pl.results);
    return total.sum == want ? 0 : 1;
}

GO_MAIN(prodcons_main)
