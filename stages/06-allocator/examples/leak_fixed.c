/*
 * leak_fixed.c: leak.c repaired with a context. Diff the two files.
 *
 * The Go program it rebuilds:
 *
 *     func fetch(ctx context.Context, result chan<- int) {
 *         select {                           // a slow backend that listens
 *         case <-time.After(100 * time.Millisecond):
 *         case <-ctx.Done():
 *             return
 *         }
 *         select {
 *         case result <- 42:                 // the caller is still there
 *         case <-ctx.Done():                 // the caller gave up: just return
 *         }
 *     }
 *
 *     func fetchWithTimeout(parent context.Context, timeout time.Duration) (int, error) {
 *         ctx, cancel := context.WithTimeout(parent, timeout)
 *         defer cancel()                     // whatever happens, fetch is told to stop
 *         result := make(chan int)
 *         go fetch(ctx, result)
 *         select {
 *         case v := <-result:
 *             return v, nil
 *         case <-ctx.Done():
 *             return 0, ctx.Err()
 *         }
 *     }
 *
 * Two changes: every blocking step in fetch also waits on ctx.Done(), and
 * the caller cancels the context on every way out. A goroutine you start
 * needs a way to be told to stop, and someone whose job it is to tell it.
 * The other common fix, `make(chan int, 1)`, lets the late send complete
 * into the buffer instead; it mends this leak, but the backend still works
 * on for nobody.
 *
 * C has one more step that Go does not: no collector will free ctx and the
 * channel once fetch lets go of them, so fetch_with_timeout also waits (a
 * WaitGroup) for fetch to return before freeing them. Cancellation makes
 * that wait short. The caller then owns the goroutine's whole lifetime:
 * when fetch_with_timeout returns, fetch is gone.
 */
#include <gort.h>

#include <stdio.h>

#define MS 1000000LL   /* nanoseconds in a millisecond */

struct request {
    context_t      *ctx;
    chan_t         *result;    /* chan int, unbuffered */
    int64_t         work_ns;   /* how long the backend takes */
    sync_waitgroup  wg;        /* done when fetch has returned */
};

static void fetch(void *arg)
{
    struct request *r = arg;
    chan_t *work = time_after(r->work_ns);
    select_case wait[] = {
        { .c = work,                 .dir = SELECT_RECV },   /* the slow backend */
        { .c = context_done(r->ctx), .dir = SELECT_RECV },   /* <-ctx.Done() */
    };
    int chosen = chan_select(wait, 2, true);
    chan_free(work);

    if (chosen == 0) {
        int answer = 42;
        select_case deliver[] = {
            { .c = r->result,            .dir = SELECT_SEND, .elem = &answer },
            { .c = context_done(r->ctx), .dir = SELECT_RECV },   /* FIX: the caller gave up */
        };
        chan_select(deliver, 2, true);
    }
    sync_wg_done(&r->wg);
}

/* Returns true and sets *out if the answer came within timeout_ns. */
static bool fetch_with_timeout(context_t *parent, int64_t work_ns, int64_t timeout_ns, int *out)
{
    struct request r = {
        .ctx = context_with_timeout(parent, timeout_ns),
        .result = chan_make(sizeof(int), 0),
        .work_ns = work_ns,
        .wg = SYNC_WAITGROUP_INIT,
    };

    sync_wg_add(&r.wg, 1);
    go(fetch, &r);

    select_case cases[] = {
        { .c = r.result,            .dir = SELECT_RECV, .elem = out },   /* v := <-result */
        { .c = context_done(r.ctx), .dir = SELECT_RECV },                /* <-ctx.Done() */
    };
    int chosen = chan_select(cases, 2, true);

    context_cancel(r.ctx);   /* defer cancel(): fetch stops wherever it is */
    sync_wg_wait(&r.wg);     /* C only: fetch is done with r before r goes */
    context_free(r.ctx);
    chan_free(r.result);
    return chosen == 0;
}

static int leak_fixed_main(int argc, char **argv)
{
    int answer;

    printf("asking a backend that needs 100 ms, giving up after 20 ms\n");
    if (fetch_with_timeout(context_background(), 100 * MS, 20 * MS, &answer))
        printf("answer: %d\n", answer);
    else
        printf("fetch_with_timeout: timed out\n");

    /* Where a test would call goleak.VerifyNone(t): */
    printf("checking for leaked goroutines (waiting up to 300 ms)...\n");
    int leaked = runtime_leak_check(300 * MS, stdout);
    printf("runtime_leak_check: %d goroutine(s) leaked\n", leaked);

    if (leaked > 0) {
        printf("FAIL: goroutine leak\n");
        return 1;
    }
    printf("ok: no goroutine outlived its caller\n");
    return 0;
}

GO_MAIN(leak_fixed_main)
