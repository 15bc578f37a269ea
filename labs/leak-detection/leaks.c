/*
 * leaks.c: the leak-detection lab's service: four goroutine leaks the way
 * they happen in real services, each with its fix.
 *
 *   leaks PATTERN leaky|fixed MS OUTDIR [HOLD_MS]
 *
 * The main goroutine plays a server: every 5 ms it handles one request,
 * and every 20 ms it prints "t_ms<TAB>goroutines" (runtime_num_goroutine,
 * Go's runtime.NumGoroutine). Requests stop after MS milliseconds; sampling
 * goes on HOLD_MS more (default 200), so a leak shows as a count that climbs
 * and never comes back down. Then it writes, for the lab to read:
 *   OUTDIR/leakcheck-PATTERN-VARIANT.txt   runtime_leak_check's report: every
 *                                           goroutine still alive, with the go()
 *                                           call that created it
 *   OUTDIR/dump-PATTERN-VARIANT.txt        runtime_print_goroutines: Go's
 *                                           SIGQUIT dump, wait reasons and (after
 *                                           a minute) how long each has waited
 *
 * The patterns (PATTERN "all" runs the four together):
 *   recv    a goroutine waits for a reply that the handler's early-return
 *           path never sends                     -> [chan receive] for ever
 *   ticker  a heartbeat goroutine ranges over a ticker nobody stops
 *                                                -> wakes every 10 ms, for ever
 *   worker  a worker loops on a jobs channel that is never closed and has
 *           no way to be told to stop           -> [chan receive] for ever
 *   sender  a backend call's goroutine sends its late answer on an unbuffered
 *           channel after the caller timed out   -> [chan send] for ever
 * The fix is the same in all four: the handler owns a context, cancels it on
 * every way out, and every blocking step in the goroutine also waits on
 * context_done (ctx.Done()). In C the handler then waits (a WaitGroup) for
 * the goroutine to return before freeing what they shared; Go's collector
 * makes that step unnecessary there (go/main.go is the Go twin).
 * A leaked goroutine's channels, tickers and contexts leak with it: in the
 * leaky variants nobody frees them, as nobody could.
 */
#include <gort.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL

struct req {
    context_t *ctx;          /* NULL in the leaky variants */
    chan_t *ch;              /* the channel the pattern blocks on */
    time_ticker *ticker;
    sync_waitgroup wg;       /* fixed variants: done when the goroutine returned */
};

static bool fixed;
static int sunk;

/* recv: waits for a reply. */
static void await_reply(void *arg)
{
    struct req *r = arg;
    int v;
    if (!fixed) {
        chan_recv(r->ch, &v);                        /* BUG: nobody sends */
        return;
    }
    select_case cs[] = { { .c = r->ch, .dir = SELECT_RECV, .elem = &v },
                         { .c = context_done(r->ctx), .dir = SELECT_RECV } };
    chan_select(cs, 2, true);                        /* FIX: or ctx.Done() */
    sync_wg_done(&r->wg);
}

/* ticker: a heartbeat every 10 ms for as long as the request lives. */
static void heartbeat(void *arg)
{
    struct req *r = arg;
    int64_t tick;
    if (!fixed) {
        while (chan_recv(time_ticker_chan(r->ticker), &tick))   /* BUG: never stopped */
            sunk++;
        return;
    }
    for (;;) {
        select_case cs[] = { { .c = time_ticker_chan(r->ticker), .dir = SELECT_RECV, .elem = &tick },
                             { .c = context_done(r->ctx), .dir = SELECT_RECV } };
        if (chan_select(cs, 2, true) == 1)
            break;                                   /* FIX: stop with the request */
        sunk++;
    }
    sync_wg_done(&r->wg);
}

/* worker: processes jobs until... */
static void job_worker(void *arg)
{
    struct req *r = arg;
    int job;
    if (!fixed) {
        while (chan_recv(r->ch, &job))               /* BUG: jobs is never closed */
            sunk += job;
        return;
    }
    for (;;) {
        select_case cs[] = { { .c = r->ch, .dir = SELECT_RECV, .elem = &job },
                             { .c = context_done(r->ctx), .dir = SELECT_RECV } };
        if (chan_select(cs, 2, true) == 1)
            break;                                   /* FIX: a cancellation path */
        sunk += job;
    }
    sync_wg_done(&r->wg);
}

/* sender: a backend call that answers after 30 ms. */
static void backend_call(void *arg)
{
    struct req *r = arg;
    int answer = 42;
    if (!fixed) {
        time_sleep(30 * MS);
        chan_send(r->ch, &answer);                   /* BUG: the caller left at 5 ms */
        return;
    }
    chan_t *slow = time_after(30 * MS);
    select_case wait[] = { { .c = slow, .dir = SELECT_RECV },
                           { .c = context_done(r->ctx), .dir = SELECT_RECV } };
    if (chan_select(wait, 2, true) == 0) {
        select_case give[] = { { .c = r->ch, .dir = SELECT_SEND, .elem = &answer },
                               { .c = context_done(r->ctx), .dir = SELECT_RECV } };
        chan_select(give, 2, true);                  /* FIX: or the caller gave up */
    }
    chan_free(slow);
    sync_wg_done(&r->wg);
}

/* One request of one pattern, as a handler would serve it. */
static void handle(const char *pattern)
{
    struct req *r = calloc(1, sizeof *r);
    if (r == NULL) { perror("leaks: calloc"); exit(1); }
    if (fixed) {
        r->ctx = context_with_cancel(context_background());
        sync_wg_add(&r->wg, 1);
    }
    if (strcmp(pattern, "recv") == 0) {
        r->ch = chan_make(sizeof(int), 0);
        go(await_reply, r);
        /* ... validation fails: return early, the reply is never sent */
    } else if (strcmp(pattern, "ticker") == 0) {
        r->ticker = time_new_ticker(10 * MS);
        go(heartbeat, r);
        /* ... the request's work; the handler returns and forgets the ticker */
    } else if (strcmp(pattern, "worker") == 0) {
        r->ch = chan_make(sizeof(int), 0);
        go(job_worker, r);
        for (int j = 1; j <= 3; j++)
            chan_send(r->ch, &j);
        /* ... and returns without close(jobs) */
    } else {
        r->ch = chan_make(sizeof(int), 0);
        go(backend_call, r);
        chan_t *timeout = time_after(5 * MS);
        int v;
        select_case cs[] = { { .c = r->ch, .dir = SELECT_RECV, .elem = &v },
                             { .c = timeout, .dir = SELECT_RECV } };
        chan_select(cs, 2, true);                    /* gives up after 5 ms */
        chan_free(timeout);
    }
    if (!fixed)
        return;                                      /* r leaks with its goroutine */
    context_cancel(r->ctx);                          /* defer cancel() */
    sync_wg_wait(&r->wg);                            /* C only: then free what we shared */
    context_free(r->ctx);
    if (r->ch) chan_free(r->ch);
    if (r->ticker) time_ticker_free(r->ticker);
    free(r);
}

static FILE *open_out(const char *dir, const char *what, const char *pattern, const char *variant)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%s-%s.txt", dir, what, pattern, variant);
    FILE *f = fopen(path, "w");
    if (f == NULL) { fprintf(stderr, "leaks: %s: %s\n", path, strerror(errno)); exit(1); }
    return f;
}

static int leaks_main(int argc, char **argv)
{
    static const char *all[] = { "recv", "ticker", "worker", "sender" };
    if ((argc != 5 && argc != 6) || (strcmp(argv[2], "leaky") && strcmp(argv[2], "fixed"))) {
        fprintf(stderr, "usage: leaks recv|ticker|worker|sender|all leaky|fixed MS OUTDIR [HOLD_MS]\n");
        return 2;
    }
    const char *pattern = argv[1];
    bool known = strcmp(pattern, "all") == 0;
    for (int i = 0; i < 4; i++)
        known |= strcmp(pattern, all[i]) == 0;
    if (!known) {
        fprintf(stderr, "leaks: PATTERN=%s: expected recv, ticker, worker, sender or all\n", pattern);
        return 2;
    }
    char *end;
    long ms = strtol(argv[3], &end, 10);
    if (*end || ms < 20) {
        fprintf(stderr, "leaks: MS=%s: expected an integer >= 20\n", argv[3]);
        return 2;
    }
    long hold = 200;
    if (argc == 6) {
        hold = strtol(argv[5], &end, 10);
        if (*end || hold < 0) {
            fprintf(stderr, "leaks: HOLD_MS=%s: expected an integer >= 0\n", argv[5]);
            return 2;
        }
    }
    fixed = strcmp(argv[2], "fixed") == 0;

    int64_t t0 = time_now(), next_sample = t0;
    for (int64_t next = t0; ; next += 5 * MS) {
        int64_t now = time_now();
        if (now >= next_sample) {
            printf("%.0f\t%d\n", (double)(now - t0) / 1e6, runtime_num_goroutine());
            next_sample += 20 * MS;
        }
        if (now - t0 >= (ms + hold) * MS)
            break;
        if (now - t0 < ms * MS) {
            if (strcmp(pattern, "all") == 0)
                for (int i = 0; i < 4; i++)
                    handle(all[i]);
            else
                handle(pattern);
        }
        now = time_now();
        if (next + 5 * MS > now)
            time_sleep(next + 5 * MS - now);
    }
    fflush(stdout);

    FILE *f = open_out(argv[4], "leakcheck", pattern, argv[2]);
    int left = runtime_leak_check(100 * MS, f);
    fprintf(f, "runtime_leak_check: %d goroutine(s) leaked\n", left);
    fclose(f);
    f = open_out(argv[4], "dump", pattern, argv[2]);
    runtime_print_goroutines(f);
    fclose(f);
    return 0;
}

GO_MAIN(leaks_main)
