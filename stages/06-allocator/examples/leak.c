/*
 * leak.c: a goroutine leak, and how runtime_leak_check finds it.
 * (leak_fixed.c is the repaired program: diff the two files.)
 *
 * The Go program it rebuilds, a classic "forgotten sender":
 *
 *     func fetch(result chan<- int) {
 *         time.Sleep(100 * time.Millisecond) // a slow backend
 *         result <- 42                       // blocks until someone receives
 *     }
 *
 *     func fetchWithTimeout(timeout time.Duration) (int, error) {
 *         result := make(chan int)           // unbuffered
 *         go fetch(result)
 *         select {
 *         case v := <-result:
 *             return v, nil
 *         case <-time.After(timeout):
 *             return 0, errors.New("timed out")  // ...and nobody will ever
 *         }                                      // receive from result again
 *     }
 *
 * The caller gives up after 20 ms. The fetch goroutine wakes at 100 ms and
 * blocks for ever in its send: nobody is left to receive. Nothing crashes
 * and no error is printed; the goroutine, its stack and whatever it holds
 * just stay, one more on every timed-out request, until the process runs
 * out of memory. Go's runtime cannot see it either: a goroutine blocked on
 * a channel that is still reachable is not a deadlock.
 *
 * runtime_leak_check(timeout, report) is goleak.VerifyNone(t): called where
 * every goroutine this code started should be gone, it waits up to timeout
 * for them to exit and prints each one still there, as a goroutine dump
 * prints it: id, what it is blocked on, the function, and the go() call that
 * created it, with file and line. That last line points at the culprit.
 *
 * This program exits with status 1, as a test that finds a leak fails.
 */
#include <gort.h>

#include <stdio.h>

#define MS 1000000LL   /* nanoseconds in a millisecond */

struct request {
    chan_t *result;    /* chan int, unbuffered */
    int64_t work_ns;   /* how long the backend takes */
};

static void fetch(void *arg)
{
    struct request *r = arg;

    time_sleep(r->work_ns);          /* the slow backend */
    int answer = 42;
    chan_send(r->result, &answer);   /* BUG: blocks for ever once the caller gave up */
}

/* Returns true and sets *out if the answer came within timeout_ns. */
static bool fetch_with_timeout(struct request *r, int64_t timeout_ns, int *out)
{
    go(fetch, r);

    chan_t *timer = time_after(timeout_ns);
    select_case cases[] = {
        { .c = r->result, .dir = SELECT_RECV, .elem = out },   /* v := <-result */
        { .c = timer,     .dir = SELECT_RECV },                /* <-time.After(timeout) */
    };
    int chosen = chan_select(cases, 2, true);
    chan_free(timer);
    return chosen == 0;
}

static int leak_main(int argc, char **argv)
{
    /* In Go the garbage collector keeps `result` alive as long as the leaked
     * goroutine can reach it. In C somebody must own it: main does. */
    struct request req = { .result = chan_make(sizeof(int), 0), .work_ns = 100 * MS };
    int answer;

    printf("asking a backend that needs 100 ms, giving up after 20 ms\n");
    if (fetch_with_timeout(&req, 20 * MS, &answer))
        printf("answer: %d\n", answer);
    else
        printf("fetch_with_timeout: timed out\n");

    /* Where a test would call goleak.VerifyNone(t): */
    printf("checking for leaked goroutines (waiting up to 300 ms)...\n");
    int leaked = runtime_leak_check(300 * MS, stdout);
    printf("runtime_leak_check: %d goroutine(s) leaked\n", leaked);

    /* Only so that the process ends clean (valgrind): take the answer the
     * leaked goroutine is still trying to hand over, so it can return; wait
     * until it has; then free the channel. */
    chan_recv(req.result, NULL);
    runtime_leak_check(1000 * MS, NULL);
    chan_free(req.result);

    if (leaked > 0) {
        printf("FAIL: goroutine leak\n");
        return 1;
    }
    return 0;
}

GO_MAIN(leak_main)
