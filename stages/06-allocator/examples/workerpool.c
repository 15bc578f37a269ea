/*
 * workerpool.c: a bounded worker pool with first-error-wins and cancellation.
 *
 * `for _, u := range users { go sendEmail(u) }` starts one goroutine per user:
 * no limit on how many run at once, no error comes back, nothing can stop
 * them, and nobody waits for them. The usual repair, NotifyAll, is the Go
 * function below; this file rebuilds it line by line in C.
 *
 *     func NotifyAll(ctx context.Context, sender EmailSender, users []User, workers int) error {
 *         jobs := make(chan User)           // unbuffered: a job is handed to an idle worker
 *         errs := make(chan error, 1)       // room for exactly one error: the first wins
 *
 *         var wg sync.WaitGroup
 *         for i := 0; i < workers; i++ {    // bounded: `workers` goroutines, not len(users)
 *             wg.Add(1)
 *             go func() {
 *                 defer wg.Done()
 *                 for user := range jobs {
 *                     if err := sender.Send(ctx, user); err != nil {
 *                         select {
 *                         case errs <- err: // the first error is kept,
 *                         default:          // later ones are dropped
 *                         }
 *                         return
 *                     }
 *                 }
 *             }()
 *         }
 *
 *         for _, user := range users {
 *             select {
 *             case <-ctx.Done():            // cancelled or timed out: stop handing out jobs
 *                 close(jobs)
 *                 wg.Wait()
 *                 return ctx.Err()
 *             case err := <-errs:           // a worker failed: stop too
 *                 close(jobs)
 *                 wg.Wait()
 *                 return err
 *             case jobs <- user:            // an idle worker took the job
 *             }
 *         }
 *
 *         close(jobs)                       // no more jobs: the workers' range loops end
 *         wg.Wait()                         // every worker has returned: no goroutine leaks
 *
 *         select {                          // an error raised by the last jobs
 *         case err := <-errs:
 *             return err
 *         default:
 *             return nil
 *         }
 *     }
 *
 * It is run three times: every send succeeds; one user's mailbox bounces
 * (that error comes back, the workers stop, nothing is left running); and
 * sending is slow, so the 25 ms deadline of a context_with_timeout cuts it
 * short ("context deadline exceeded").
 *
 * What to notice:
 *  - chan_select is Go's select: cases on several channels, one chosen at
 *    random among the ready ones. chan_try_send is the two-case select with
 *    a default, the idiom for "keep the first error, drop the rest".
 *  - context_done(ctx) returns NULL for context_background(); a select case
 *    on a NULL channel never fires, exactly like a nil channel in Go.
 *  - Only what does not depend on the schedule is printed: which users got
 *    their email before the pool stopped changes from run to run; the error
 *    returned, and that no goroutine is left behind, do not.
 */
#include <gort.h>

#include <stdatomic.h>
#include <stdio.h>

#define MS 1000000LL   /* nanoseconds in a millisecond */

/* Go's `error` in this file: a message, or NULL for nil. All of them are
 * string literals, so dropping one (select-default) frees nothing. */
typedef const char *error;

static error ctx_error(context_t *ctx)   /* ctx.Err() */
{
    switch (context_err(ctx)) {
    case CONTEXT_CANCELED:          return "context canceled";
    case CONTEXT_DEADLINE_EXCEEDED: return "context deadline exceeded";
    default:                        return NULL;
    }
}

struct user {
    const char *email;
    error       bounce;   /* non-NULL: the mail server refuses this address */
};

/* ---- The EmailSender: a fake that takes `latency` per mail ----------------- */

struct sender {
    int64_t     latency_ns;
    atomic_int  sent;      /* workers run in parallel at GOMAXPROCS > 1 */
};

/* sender.Send(ctx, user): wait latency_ns, or until ctx is done. */
static error sender_send(struct sender *s, context_t *ctx, const struct user *u)
{
    chan_t *delivered = time_after(s->latency_ns);
    select_case cases[] = {
        { .c = context_done(ctx), .dir = SELECT_RECV },   /* <-ctx.Done() */
        { .c = delivered,         .dir = SELECT_RECV },   /* <-time.After(latency) */
    };
    int chosen = chan_select(cases, 2, true);
    chan_free(delivered);   /* stops the timer if it has not fired */

    if (chosen == 0)
        return ctx_error(ctx);
    if (u->bounce != NULL)
        return u->bounce;
    atomic_fetch_add(&s->sent, 1);
    return NULL;
}

/* ---- NotifyAll ----------------------------------------------------------------- */

/* What the Go closure captures, shared by all workers. */
struct pool {
    context_t      *ctx;
    struct sender  *sender;
    chan_t         *jobs;   /* chan *user, unbuffered */
    chan_t         *errs;   /* chan error, capacity 1 */
    sync_waitgroup  wg;
};

static void worker(void *arg)
{
    struct pool *p = arg;
    const struct user *u;

    while (chan_recv(p->jobs, &u)) {            /* for user := range jobs */
        error err = sender_send(p->sender, p->ctx, u);
        if (err != NULL) {
            chan_try_send(p->errs, &err);       /* select { case errs <- err: default: } */
            break;                              /* return */
        }
    }
    sync_wg_done(&p->wg);                       /* defer wg.Done() */
}

static error notify_all(context_t *ctx, struct sender *s,
                        const struct user *users, int nusers, int workers)
{
    struct pool p = {
        .ctx = ctx, .sender = s,
        .jobs = chan_make(sizeof(const struct user *), 0),
        .errs = chan_make(sizeof(error), 1),
        .wg = SYNC_WAITGROUP_INIT,
    };
    error err = NULL;

    for (int i = 0; i < workers; i++) {
        sync_wg_add(&p.wg, 1);
        go(worker, &p);
    }

    for (int i = 0; i < nusers; i++) {
        const struct user *u = &users[i];
        select_case cases[] = {
            { .c = context_done(ctx), .dir = SELECT_RECV },               /* <-ctx.Done() */
            { .c = p.errs,            .dir = SELECT_RECV, .elem = &err }, /* err := <-errs */
            { .c = p.jobs,            .dir = SELECT_SEND, .elem = &u },   /* jobs <- user */
        };
        int chosen = chan_select(cases, 3, true);
        if (chosen == 0) {
            err = ctx_error(ctx);
            goto stop;
        }
        if (chosen == 1)
            goto stop;
    }

    chan_close(p.jobs);
    sync_wg_wait(&p.wg);
    if (!chan_try_recv(p.errs, &err, NULL))     /* select { case err := <-errs: default: } */
        err = NULL;
    goto out;

stop:
    chan_close(p.jobs);
    sync_wg_wait(&p.wg);
out:
    /* Every worker has called wg.Done after its last call on jobs and errs,
     * so no goroutine is inside a call on them any more. */
    chan_free(p.jobs);
    chan_free(p.errs);
    return err;
}

/* ---- Three runs ---------------------------------------------------------------- */

static const struct user team[] = {
    { "ada@example.org",     NULL },
    { "brian@example.org",   NULL },
    { "grace@example.org",   NULL },
    { "ken@example.org",     NULL },
    { "barbara@example.org", NULL },
    { "dennis@example.org",  NULL },
    { "rob@example.org",     NULL },
    { "linus@example.org",   NULL },
};

static const struct user with_bounce[] = {
    { "ada@example.org",        NULL },
    { "brian@example.org",      NULL },
    { "grace@example.org",      NULL },
    { "mallory@example.invalid",
      "send to mallory@example.invalid: 550 mailbox unavailable" },
    { "ken@example.org",        NULL },
    { "barbara@example.org",    NULL },
    { "dennis@example.org",     NULL },
    { "rob@example.org",        NULL },
    { "linus@example.org",      NULL },
    { "ritchie@example.org",    NULL },
};

enum { NMANY = 40 };
static struct user many[NMANY];

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Every worker has returned (wg), but may still be on its way out of the
 * goroutine: give them up to a second to be gone, then count the rest. */
static void report_leftovers(void)
{
    int left = runtime_leak_check(1000 * MS, stdout);
    printf("  goroutines left running: %d\n", left);
}

static int workerpool_main(int argc, char **argv)
{
    enum { WORKERS = 3 };

    /* Run 1: every mail goes out. */
    {
        struct sender s = { .latency_ns = 1 * MS };
        error err = notify_all(context_background(), &s, team, LEN(team), WORKERS);
        printf("run 1: %d users, %d workers, nothing fails\n", LEN(team), WORKERS);
        printf("  NotifyAll returned: %s\n", err ? err : "<nil>");
        printf("  mails sent: %d of %d\n", atomic_load(&s.sent), LEN(team));
        report_leftovers();
    }

    /* Run 2: mallory's address bounces. The first (and only) error comes
     * back; the pool stops handing out jobs, so some users may get no mail. */
    {
        struct sender s = { .latency_ns = 1 * MS };
        context_t *ctx = context_with_cancel(context_background());
        error err = notify_all(ctx, &s, with_bounce, LEN(with_bounce), WORKERS);
        printf("run 2: %d users, %d workers, one address bounces\n",
               LEN(with_bounce), WORKERS);
        printf("  NotifyAll returned: %s\n", err ? err : "<nil>");
        printf("  mails sent: %s %d\n",
               atomic_load(&s.sent) < LEN(with_bounce) ? "fewer than" : "NOT fewer than",
               LEN(with_bounce));
        report_leftovers();
        context_free(ctx);   /* Go: defer cancel() */
    }

    /* Run 3: each mail takes 10 ms, 40 mails on 3 workers need >= 130 ms,
     * the context gives up after 25 ms. */
    {
        for (int i = 0; i < NMANY; i++)
            many[i] = (struct user){ "someone@example.org", NULL };
        struct sender s = { .latency_ns = 10 * MS };
        context_t *ctx = context_with_timeout(context_background(), 25 * MS);
        error err = notify_all(ctx, &s, many, NMANY, WORKERS);
        printf("run 3: %d users, %d workers, 10 ms per mail, 25 ms deadline\n",
               NMANY, WORKERS);
        printf("  NotifyAll returned: %s\n", err ? err : "<nil>");
        printf("  mails sent: %s %d\n",
               atomic_load(&s.sent) < NMANY ? "fewer than" : "NOT fewer than", NMANY);
        report_leftovers();
        context_free(ctx);
    }
    return 0;
}

GO_MAIN(workerpool_main)
