/*
 * test_context.c: context_background, context_with_cancel, context_with_timeout,
 * context_cancel (idempotent, cancels children, wakes waiters on done),
 * context_done, context_err (CANCELED, DEADLINE_EXCEEDED, first cause kept),
 * and context_free (children first or alone; a freed timeout context's timer
 * never fires into freed memory).
 */
#include "harness.h"

static bool is_closed(chan_t *c)
{
    bool ok = true;
    return c != NULL && chan_try_recv(c, NULL, &ok) && !ok;
}

GTEST(background, never_done)
{
    context_t *bg = context_background();
    CHECK(bg != NULL);
    CHECK(context_done(bg) == NULL, "background's done channel is not NULL");
    CHECK_EQ(context_err(bg), CONTEXT_OK);
    CHECK(context_background() == bg, "background is not a single context");
}

GTEST(cancel, closes_done_and_sets_err)
{
    context_t *ctx = context_with_cancel(context_background());
    CHECK(ctx != NULL);
    chan_t *done = context_done(ctx);
    CHECK(done != NULL);
    CHECK(context_done(ctx) == done, "done changes between calls");
    CHECK_EQ(context_err(ctx), CONTEXT_OK);
    CHECK(!chan_try_recv(done, NULL, NULL), "done is ready before cancel");
    context_cancel(ctx);
    CHECK(is_closed(done), "done is not closed after cancel");
    CHECK(!chan_recv(done, NULL));
    CHECK_EQ(context_err(ctx), CONTEXT_CANCELED);
    context_cancel(ctx);                   /* idempotent */
    context_cancel(ctx);
    CHECK_EQ(context_err(ctx), CONTEXT_CANCELED);
    CHECK(is_closed(done));
    context_free(ctx);
}

static atomic_int woken;
static void wait_done(void *arg)
{
    CHECK(!chan_recv(context_done(arg), NULL));
    CHECK_NE(context_err(arg), CONTEXT_OK);
    atomic_fetch_add(&woken, 1);
}

GTEST(cancel, wakes_every_waiter)
{
    atomic_store(&woken, 0);
    context_t *ctx = context_with_cancel(context_background());
    for (int i = 0; i < 10; i++)
        go(wait_done, ctx);
    time_sleep(H_MS(10));
    CHECK_EQ(atomic_load(&woken), 0);
    context_cancel(ctx);
    CHECK(WAIT_UNTIL(atomic_load(&woken) == 10, 2000), "%d of 10 woken", atomic_load(&woken));
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    context_free(ctx);
}

GTEST(cancel, parent_cancels_children_and_grandchildren)
{
    context_t *parent = context_with_cancel(context_background());
    context_t *child = context_with_cancel(parent);
    context_t *sibling = context_with_timeout(parent, H_SEC(30));
    context_t *grandchild = context_with_timeout(child, H_SEC(30));
    context_cancel(parent);
    context_t *all[] = { parent, child, sibling, grandchild };
    for (int i = 0; i < 4; i++) {
        CHECK(is_closed(context_done(all[i])), "context %d not done", i);
        CHECK_EQ(context_err(all[i]), CONTEXT_CANCELED);
    }
    context_free(grandchild);
    context_free(sibling);
    context_free(child);
    context_free(parent);
}

GTEST(cancel, child_does_not_cancel_parent)
{
    context_t *parent = context_with_cancel(context_background());
    context_t *child = context_with_cancel(parent);
    context_t *sibling = context_with_cancel(parent);
    context_cancel(child);
    CHECK_EQ(context_err(child), CONTEXT_CANCELED);
    CHECK_EQ(context_err(parent), CONTEXT_OK);
    CHECK_EQ(context_err(sibling), CONTEXT_OK);
    CHECK(!chan_try_recv(context_done(parent), NULL, NULL));
    CHECK(!chan_try_recv(context_done(sibling), NULL, NULL));
    context_free(child);
    context_free(sibling);
    context_free(parent);
}

GTEST(cancel, child_of_a_cancelled_parent_starts_cancelled)
{
    context_t *parent = context_with_cancel(context_background());
    context_cancel(parent);
    context_t *child = context_with_cancel(parent);
    context_t *tchild = context_with_timeout(parent, H_SEC(30));
    CHECK_EQ(context_err(child), CONTEXT_CANCELED);
    CHECK_EQ(context_err(tchild), CONTEXT_CANCELED);
    CHECK(is_closed(context_done(child)));
    CHECK(is_closed(context_done(tchild)));
    context_free(tchild);
    context_free(child);
    context_free(parent);
}

GTEST(timeout, expires_with_deadline_exceeded)
{
    int64_t t0 = time_now();
    context_t *ctx = context_with_timeout(context_background(), H_MS(20));
    CHECK_EQ(context_err(ctx), CONTEXT_OK);
    chan_t *done = context_done(ctx);
    CHECK(done != NULL);
    CHECK(!chan_recv(done, NULL));         /* blocks until the deadline */
    CHECK_GE(time_now() - t0, H_MS(20));
    CHECK_EQ(context_err(ctx), CONTEXT_DEADLINE_EXCEEDED);
    context_cancel(ctx);                   /* cancel after expiry keeps the first cause */
    CHECK_EQ(context_err(ctx), CONTEXT_DEADLINE_EXCEEDED);
    context_free(ctx);
}

GTEST(timeout, cancel_before_deadline_keeps_canceled)
{
    context_t *ctx = context_with_timeout(context_background(), H_MS(20));
    context_cancel(ctx);
    CHECK_EQ(context_err(ctx), CONTEXT_CANCELED);
    time_sleep(H_MS(40));
    CHECK_EQ(context_err(ctx), CONTEXT_CANCELED);
    CHECK(is_closed(context_done(ctx)));
    context_free(ctx);
}

GTEST(timeout, parent_deadline_reaches_the_child)
{
    context_t *parent = context_with_timeout(context_background(), H_MS(15));
    context_t *child = context_with_timeout(parent, H_SEC(30));
    context_t *cchild = context_with_cancel(parent);
    int64_t t0 = h_now();
    CHECK(!chan_recv(context_done(child), NULL));
    CHECK_LT(h_now() - t0, H_SEC(5) * H_SLOW);
    CHECK_EQ(context_err(child), CONTEXT_DEADLINE_EXCEEDED);
    CHECK_EQ(context_err(cchild), CONTEXT_DEADLINE_EXCEEDED);
    CHECK_EQ(context_err(parent), CONTEXT_DEADLINE_EXCEEDED);
    context_free(cchild);
    context_free(child);
    context_free(parent);
}

GTEST(timeout, shorter_child_deadline_leaves_parent_alone)
{
    context_t *parent = context_with_cancel(context_background());
    context_t *child = context_with_timeout(parent, H_MS(10));
    CHECK(!chan_recv(context_done(child), NULL));
    CHECK_EQ(context_err(child), CONTEXT_DEADLINE_EXCEEDED);
    CHECK_EQ(context_err(parent), CONTEXT_OK);
    context_free(child);
    context_free(parent);
}

GTEST(timeout, zero_or_negative_is_already_expired)
{
    context_t *a = context_with_timeout(context_background(), 0);
    context_t *b = context_with_timeout(context_background(), -H_SEC(1));
    CHECK(WAIT_UNTIL(context_err(a) == CONTEXT_DEADLINE_EXCEEDED, 1000), "err %d", context_err(a));
    CHECK(WAIT_UNTIL(context_err(b) == CONTEXT_DEADLINE_EXCEEDED, 1000), "err %d", context_err(b));
    CHECK(!chan_recv(context_done(a), NULL));
    CHECK(!chan_recv(context_done(b), NULL));
    context_free(a);
    context_free(b);
}

static void select_on_ctx(void *arg)
{
    context_t *ctx = arg;
    chan_t *work = h_chan_int(0);
    select_case cs[2] = {
        { .c = work, .dir = SELECT_RECV, .elem = NULL },
        { .c = context_done(ctx), .dir = SELECT_RECV, .elem = NULL },
    };
    int i = chan_select(cs, 2, true);
    CHECK_EQ(i, 1);
    CHECK(!cs[1].ok);
    chan_free(work);
    atomic_fetch_add(&woken, 1);
}

GTEST(timeout, wakes_goroutines_selecting_on_done)
{
    atomic_store(&woken, 0);
    context_t *ctx = context_with_timeout(context_background(), H_MS(20));
    for (int i = 0; i < 5; i++)
        go(select_on_ctx, ctx);
    CHECK(WAIT_UNTIL(atomic_load(&woken) == 5, 3000), "%d of 5 woken", atomic_load(&woken));
    CHECK_EQ(context_err(ctx), CONTEXT_DEADLINE_EXCEEDED);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000));
    context_free(ctx);
}

/* ---- context_free ------------------------------------------------------------- */

GTEST(free, uncancelled_contexts_and_their_timers)
{
    /* freeing a pending timeout context stops its timer: nothing fires into
     * freed memory later (ASan would catch it) */
    for (int i = 0; i < 20; i++) {
        context_t *ctx = context_with_timeout(context_background(), H_MS(2 + i % 5));
        context_free(ctx);
    }
    context_t *c = context_with_cancel(context_background());
    context_free(c);
    time_sleep(H_MS(30));
    context_t *ok = context_with_timeout(context_background(), H_MS(1));
    CHECK(!chan_recv(context_done(ok), NULL));
    context_free(ok);
}

GTEST(free, freed_child_is_forgotten_by_its_parent)
{
    context_t *parent = context_with_cancel(context_background());
    for (int i = 0; i < 10; i++) {
        context_t *child = context_with_cancel(parent);
        context_t *tchild = context_with_timeout(parent, H_SEC(30));
        context_free(tchild);
        context_free(child);
    }
    context_t *kept = context_with_cancel(parent);
    context_cancel(parent);     /* must not touch the freed children */
    CHECK_EQ(context_err(kept), CONTEXT_CANCELED);
    CHECK_EQ(context_err(parent), CONTEXT_CANCELED);
    context_free(kept);
    context_free(parent);
}

GTEST(free, many_contexts)
{
    context_t *ctx[200];
    ctx[0] = context_with_cancel(context_background());
    for (int i = 1; i < 200; i++)
        ctx[i] = i % 2 ? context_with_cancel(ctx[(i - 1) / 2])
                       : context_with_timeout(ctx[(i - 1) / 2], H_SEC(60));
    context_cancel(ctx[0]);
    int not_cancelled = 0;
    for (int i = 0; i < 200; i++)
        not_cancelled += context_err(ctx[i]) != CONTEXT_CANCELED;
    CHECK_EQ(not_cancelled, 0);
    for (int i = 199; i >= 0; i--)
        context_free(ctx[i]);
}
