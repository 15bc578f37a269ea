/*
 * hello.c: the first gort program. Read it before anything else.
 *
 * The Go program it rebuilds:
 *
 *     func greet(i int, out chan<- greeting, wg *sync.WaitGroup) {
 *         defer wg.Done()
 *         out <- greeting{i, fmt.Sprintf("hello from goroutine #%d ...", i)}
 *     }
 *
 *     func main() {
 *         out := make(chan greeting)
 *         var wg sync.WaitGroup
 *         for i := 0; i < 5; i++ {
 *             wg.Add(1)
 *             go greet(i, out, &wg)
 *         }
 *         var got [5]string
 *         for n := 0; n < 5; n++ {   // collect all five, in whatever order
 *             g := <-out             // they arrive...
 *             got[g.i] = g.text
 *         }
 *         for _, s := range got {    // ...then print them in a fixed order
 *             fmt.Println(s)
 *         }
 *         wg.Wait()
 *     }
 *
 * What to notice:
 *  - GO_MAIN(hello_main) defines C's main(): it starts the runtime and runs
 *    hello_main as goroutine 1. Everything, main included, runs on a
 *    goroutine stack.
 *  - go(fn, arg) takes a function of one void * argument. C has no closures,
 *    so what a Go closure would capture travels in a struct passed as arg.
 *    The struct must outlive the goroutine: here it lives in main's frame,
 *    and main does not return before every goroutine is done (wg below).
 *  - A sync_waitgroup (Go's sync.WaitGroup) tells main when every greeter
 *    is done with the channel, so main can free it: C has no collector.
 *  - The goroutines run in an order nobody promises (and, with GOMAXPROCS=2,
 *    two at a time). Printing straight from them would give a different
 *    output on every run. They send their greeting to main instead; main
 *    files each one under its index and prints them in index order, so the
 *    output is the same at any GOMAXPROCS.
 */
#include <gort.h>

#include <stdio.h>
#include <string.h>

enum { NGOROUTINES = 5 };

/* What travels on the channel: chan_send copies elem_size bytes, so a
 * channel can carry a whole struct by value, as Go's does. */
struct greeting {
    int  index;
    char text[64];
};

/* The goroutine's argument: what a Go closure would have captured. */
struct greeter {
    int             index;
    chan_t         *out;
    sync_waitgroup *wg;
};

static void greet(void *arg)
{
    struct greeter *g = arg;
    struct greeting msg = { .index = g->index };

    snprintf(msg.text, sizeof msg.text, "hello from goroutine #%d (%d squared is %d)",
             g->index, g->index, g->index * g->index);
    chan_send(g->out, &msg);   /* blocks until main receives: unbuffered */
    sync_wg_done(g->wg);       /* Go: defer wg.Done() */
}

static int hello_main(int argc, char **argv)
{
    chan_t *out = chan_make(sizeof(struct greeting), 0);   /* make(chan greeting) */
    struct greeter args[NGOROUTINES];
    char got[NGOROUTINES][64];
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;

    for (int i = 0; i < NGOROUTINES; i++) {
        args[i] = (struct greeter){ .index = i, .out = out, .wg = &wg };
        sync_wg_add(&wg, 1);   /* before go(), never inside the goroutine */
        go(greet, &args[i]);
    }

    /* Receive exactly NGOROUTINES greetings, in arrival order. */
    for (int n = 0; n < NGOROUTINES; n++) {
        struct greeting msg;
        chan_recv(out, &msg);
        memcpy(got[msg.index], msg.text, sizeof msg.text);
    }

    /* Print in index order: the output no longer depends on the schedule. */
    for (int i = 0; i < NGOROUTINES; i++)
        printf("%s\n", got[i]);
    printf("main (goroutine %lld) heard from all %d goroutines\n",
           (long long)goid(), NGOROUTINES);

    /* A greeter whose value main has received may still be on its way out
     * of chan_send. C has no garbage collector to free the channel when the
     * last user drops it, so wait until every greeter is past its send (the
     * WaitGroup) before chan_free. Go would need no such step. */
    sync_wg_wait(&wg);
    chan_free(out);
    return 0;
}

GO_MAIN(hello_main)
