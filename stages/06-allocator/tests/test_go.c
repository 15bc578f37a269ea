/*
 * test_go.c: goroutines and boot. go(), goid(), gosched(), goexit(),
 * runtime_num_goroutine(), runtime_gomaxprocs(), runtime_num_cpu(), and
 * runtime_main(): main_fn's value and arguments, goroutine 1, repeated calls
 * in one process, abandoning goroutines that are still alive.
 */
#include "harness.h"

#include <sched.h>

/* ---- go() ---------------------------------------------------------------- */

static void send_42(void *arg) { h_send_int(arg, 42); }

GTEST(go, runs_the_function)
{
    chan_t *c = h_chan_int(0);
    go(send_42, c);
    CHECK_EQ(h_recv_int(c), 42);
    chan_free(c);
}

struct cell { int value; chan_t *done; };

static void write_cell(void *arg)
{
    struct cell *cl = arg;
    cl->value = 7;
    h_send_int(cl->done, 1);
}

GTEST(go, passes_its_argument)
{
    struct cell cl = { .value = 0, .done = h_chan_int(0) };
    go(write_cell, &cl);
    CHECK_EQ(h_recv_int(cl.done), 1);
    CHECK_EQ(cl.value, 7);
    chan_free(cl.done);
}

static atomic_int null_arg_seen;
static void expect_null(void *arg)
{
    atomic_store(&null_arg_seen, arg == NULL ? 1 : 2);
}

GTEST(go, null_argument)
{
    atomic_store(&null_arg_seen, 0);
    go(expect_null, NULL);
    CHECK(WAIT_UNTIL(atomic_load(&null_arg_seen) != 0, 2000), "the goroutine never ran");
    CHECK_EQ(atomic_load(&null_arg_seen), 1);
}

#define MANY 200
static atomic_int ran_flags[MANY];
static sync_waitgroup many_wg;

static void set_flag(void *arg)
{
    atomic_fetch_add(&ran_flags[(intptr_t)arg], 1);
    sync_wg_done(&many_wg);
}

GTEST(go, every_goroutine_runs_exactly_once)
{
    memset(&many_wg, 0, sizeof many_wg);
    for (int i = 0; i < MANY; i++)
        atomic_store(&ran_flags[i], 0);
    sync_wg_add(&many_wg, MANY);
    for (intptr_t i = 0; i < MANY; i++)
        go(set_flag, (void *)i);
    sync_wg_wait(&many_wg);
    int bad = 0;
    for (int i = 0; i < MANY; i++)
        bad += atomic_load(&ran_flags[i]) != 1;
    CHECK_EQ(bad, 0);
}

/* A chain: each goroutine starts the next; the last one answers. */
struct chain { int left; chan_t *out; };
static void chain_link(void *arg)
{
    struct chain *ch = arg;
    if (ch->left == 0) {
        h_send_int(ch->out, 99);
        return;
    }
    ch->left--;
    go(chain_link, ch);
}

GTEST(go, goroutines_start_goroutines)
{
    struct chain ch = { .left = 300, .out = h_chan_int(0) };
    go(chain_link, &ch);
    CHECK_EQ(h_recv_int(ch.out), 99);
    CHECK_EQ(ch.left, 0);
    chan_free(ch.out);
}

/* Every goroutine has at least 64 KiB of usable stack. */
static int __attribute__((noinline)) use_stack(size_t n)
{
    volatile char buf[56 * 1024];
    size_t len = n < sizeof buf ? n : sizeof buf;
    for (size_t i = 0; i < len; i += 512)
        buf[i] = (char)i;
    buf[len - 1] = 1;
    int sum = 0;
    for (size_t i = 0; i < len; i += 512)
        sum += buf[i];
    return sum + buf[len - 1];
}

static void big_frame(void *arg)
{
    int r = use_stack(56 * 1024);
    h_send_int(arg, r != 0);
}

GTEST(go, stack_holds_56_KiB_frame)
{
    CHECK(use_stack(56 * 1024) != 0);   /* on main's goroutine stack */
    chan_t *c = h_chan_int(0);
    go(big_frame, c);
    CHECK_EQ(h_recv_int(c), 1);
    chan_free(c);
}

/* ---- goid() -------------------------------------------------------------- */

#define NIDS 100
static int64_t ids[NIDS];
static sync_waitgroup ids_wg;

static void record_id(void *arg)
{
    intptr_t i = (intptr_t)arg;
    int64_t a = goid();
    gosched();
    int64_t b = goid();
    CHECK_EQ(a, b);            /* stable across a yield (and maybe a thread change) */
    ids[i] = a;
    sync_wg_done(&ids_wg);
}

GTEST(goid, main_is_1_and_ids_are_unique)
{
    CHECK_EQ(goid(), 1);
    memset(&ids_wg, 0, sizeof ids_wg);
    sync_wg_add(&ids_wg, NIDS);
    for (intptr_t i = 0; i < NIDS; i++)
        go(record_id, (void *)i);
    sync_wg_wait(&ids_wg);
    int dup = 0, small = 0;
    for (int i = 0; i < NIDS; i++) {
        small += ids[i] <= 1;
        for (int j = 0; j < i; j++)
            dup += ids[i] == ids[j];
    }
    CHECK_EQ(small, 0);
    CHECK_EQ(dup, 0);
    CHECK_EQ(goid(), 1);
}

/* ---- gosched() ------------------------------------------------------------- */

static atomic_int yield_flag;
static void set_yield_flag(void *arg) { atomic_store(&yield_flag, 1); }

GTEST(gosched, lets_another_goroutine_run)
{
    /* At GOMAXPROCS=1 with no preemption, the flag can only be set if gosched
     * really gives the thread away. */
    atomic_store(&yield_flag, 0);
    go(set_yield_flag, NULL);
    int64_t deadline = h_now() + H_SEC(5);
    while (!atomic_load(&yield_flag) && h_now() < deadline)
        gosched();
    CHECK(atomic_load(&yield_flag), "the other goroutine never ran while main called gosched");
}

GTEST(gosched, alone_returns)
{
    for (int i = 0; i < 1000; i++)
        gosched();
    CHECK_EQ(goid(), 1);
}

/* Two goroutines that each count and yield; both must make progress while the
 * other is still running. */
static atomic_int pp_count[2];
static atomic_int pp_stop;
static void yielder(void *arg)
{
    intptr_t me = (intptr_t)arg;
    while (!atomic_load(&pp_stop)) {
        atomic_fetch_add(&pp_count[me], 1);
        gosched();
    }
    atomic_fetch_add(&pp_count[me], 1000000);
}

GTEST(gosched, two_yielders_share_the_cpu)
{
    atomic_store(&pp_stop, 0);
    atomic_store(&pp_count[0], 0);
    atomic_store(&pp_count[1], 0);
    go(yielder, (void *)0);
    go(yielder, (void *)1);
    CHECK(WAIT_UNTIL(atomic_load(&pp_count[0]) > 100 && atomic_load(&pp_count[1]) > 100, 5000),
          "counts %d and %d", atomic_load(&pp_count[0]), atomic_load(&pp_count[1]));
    atomic_store(&pp_stop, 1);
    CHECK(WAIT_UNTIL(atomic_load(&pp_count[0]) >= 1000000 && atomic_load(&pp_count[1]) >= 1000000, 5000),
          "the yielders did not stop");
}

/* ---- goexit() ------------------------------------------------------------- */

static atomic_int after_goexit;
static void __attribute__((noinline)) deep_exit(int depth)
{
    if (depth > 0)
        deep_exit(depth - 1);
    else
        goexit();
    atomic_store(&after_goexit, 1);   /* never reached */
}

static void exiter(void *arg)
{
    h_send_int(arg, 1);
    deep_exit(10);
    atomic_store(&after_goexit, 2);   /* never reached */
}

GTEST(goexit, ends_the_goroutine_from_a_nested_call)
{
    atomic_store(&after_goexit, 0);
    int before = runtime_num_goroutine();
    chan_t *c = h_chan_int(0);
    go(exiter, c);
    CHECK_EQ(h_recv_int(c), 1);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == before, 2000),
          "num_goroutine %d, expected %d after goexit", runtime_num_goroutine(), before);
    time_sleep(H_MS(5));
    CHECK_EQ(atomic_load(&after_goexit), 0);
    chan_free(c);
}

static void exit_many(void *arg)
{
    sync_wg_done(arg);
    goexit();
}

GTEST(goexit, many_goroutines_exit_and_the_runtime_goes_on)
{
    static sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    memset(&wg, 0, sizeof wg);
    sync_wg_add(&wg, 100);
    for (int i = 0; i < 100; i++)
        go(exit_many, &wg);
    sync_wg_wait(&wg);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000), "num_goroutine %d", runtime_num_goroutine());
    /* the runtime still works */
    chan_t *c = h_chan_int(0);
    go(send_42, c);
    CHECK_EQ(h_recv_int(c), 42);
    chan_free(c);
}

/* ---- runtime_num_goroutine() ------------------------------------------------ */

static void park_on(void *arg)
{
    int v;
    chan_recv(arg, &v);
}

GTEST(num_goroutine, counts_live_goroutines)
{
    CHECK_EQ(runtime_num_goroutine(), 1);
    chan_t *c = h_chan_int(0);
    for (int i = 0; i < 10; i++)
        go(park_on, c);
    CHECK_EQ(runtime_num_goroutine(), 11);   /* runnable or parked, all count */
    chan_close(c);                           /* wakes all ten; they return */
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 1, 2000),
          "num_goroutine %d after all exited", runtime_num_goroutine());
    chan_free(c);
}

/* ---- runtime_gomaxprocs() / runtime_num_cpu() ------------------------------ */

static int expected_procs(void)
{
    const char *s = getenv("GOMAXPROCS");
    if (s != NULL && *s != '\0') {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000)
            return (int)v;
    }
    return runtime_num_cpu();
}

GTEST(gomaxprocs, query_matches_the_environment)
{
    int want = expected_procs();
    CHECK_EQ(runtime_gomaxprocs(0), want);
    CHECK_EQ(runtime_gomaxprocs(-1), want);
    CHECK_EQ(runtime_gomaxprocs(0), want);   /* a query changes nothing */
}

GTEST(gomaxprocs, set_returns_the_previous_value)
{
    int prev = runtime_gomaxprocs(0);
    CHECK_EQ(runtime_gomaxprocs(prev), prev);
    CHECK_EQ(runtime_gomaxprocs(prev + 1), prev);
    /* stage 1 may keep reporting prev or report prev+1; either way the value
     * handed back when restoring is one of the two */
    int r = runtime_gomaxprocs(prev);
    CHECK(r == prev || r == prev + 1, "restoring returned %d (prev %d)", r, prev);
    CHECK_EQ(runtime_gomaxprocs(0), prev);
}

GTEST(num_cpu, counts_the_cpus_available)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = runtime_num_cpu();
    CHECK_GE(n, 1);
    CHECK_LE(n, sysconf(_SC_NPROCESSORS_CONF));
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        CHECK_EQ(n, CPU_COUNT(&set));   /* Go's NumCPU: the affinity mask */
}

/* ---- runtime_main() ---------------------------------------------------------- */

static int return_42(int argc, char **argv)
{
    CHECK_EQ(goid(), 1);
    return 42;
}

static int return_argc_plus(int argc, char **argv)
{
    CHECK_EQ(goid(), 1);
    return argc + 3;
}

Test(runtime_main, returns_main_fn_value, .timeout = H_TIMEOUT)
{
    h_reset();
    cr_assert_eq(runtime_main(return_42, 0, NULL), 42);
    cr_assert_eq(runtime_main(return_argc_plus, 4, NULL), 7);
    h_assert_checks("returns_main_fn_value");
}

static int check_args(int argc, char **argv)
{
    CHECK_EQ(argc, 3);
    if (argc == 3 && argv != NULL) {
        CHECK(strcmp(argv[0], "prog") == 0, "argv[0] = %s", argv[0]);
        CHECK(strcmp(argv[1], "-x") == 0, "argv[1] = %s", argv[1]);
        CHECK(strcmp(argv[2], "hello world") == 0, "argv[2] = %s", argv[2]);
        CHECK(argv[3] == NULL);
    } else {
        CHECK(argv != NULL);
    }
    return h_failures() ? 1 : 5;
}

Test(runtime_main, passes_argc_and_argv, .timeout = H_TIMEOUT)
{
    char a0[] = "prog", a1[] = "-x", a2[] = "hello world";
    char *argv[] = { a0, a1, a2, NULL };
    h_reset();
    int rc = runtime_main(check_args, 3, argv);
    h_assert_checks("passes_argc_and_argv");
    cr_assert_eq(rc, 5);
}

/* One run: a few goroutines, a channel, a mutex, a timer; returns a value
 * that depends on the round so that a stale result is caught. */
static int round_no;
static void add_round(void *arg)
{
    chan_t *c = arg;
    h_send_int(c, round_no);
}

static int one_round(int argc, char **argv)
{
    CHECK_EQ(goid(), 1);
    CHECK_EQ(runtime_num_goroutine(), 1);
    chan_t *c = h_chan_int(4);
    for (int i = 0; i < 4; i++)
        go(add_round, c);
    int sum = 0;
    for (int i = 0; i < 4; i++)
        sum += h_recv_int(c);
    CHECK_EQ(sum, 4 * round_no);
    time_sleep(H_MS(1));
    chan_free(c);
    return round_no;
}

Test(runtime_main, runs_again_in_the_same_process, .timeout = H_TIMEOUT)
{
    h_reset();
    for (round_no = 1; round_no <= 10; round_no++)
        cr_assert_eq(runtime_main(one_round, 0, NULL), round_no, "round %d", round_no);
    h_assert_checks("runs_again_in_the_same_process");
}

/* Goroutines alive when main_fn returns are abandoned: runtime_main returns
 * anyway, promptly, and the next run starts with goroutine 1 alone. */
static chan_t *abandoned_chan;
static atomic_int spin_stop;

static void spin_yielding(void *arg)
{
    while (!atomic_load(&spin_stop))
        gosched();
}

static void long_sleeper(void *arg) { time_sleep(H_SEC(20)); }

static int abandon(int argc, char **argv)
{
    abandoned_chan = h_keep(h_chan_int(0));   /* never freed: goroutines stay inside */
    for (int i = 0; i < 5; i++)
        go(park_on, abandoned_chan);
    go(spin_yielding, NULL);
    go(long_sleeper, NULL);
    CHECK(WAIT_UNTIL(runtime_num_goroutine() == 8, 2000), "%d goroutines", runtime_num_goroutine());
    gosched();
    return 3;
}

static int fresh_start(int argc, char **argv)
{
    CHECK_EQ(runtime_num_goroutine(), 1);
    CHECK_EQ(goid(), 1);
    return 4;
}

Test(runtime_main, abandons_live_goroutines, .timeout = H_TIMEOUT)
{
    h_reset();
    atomic_store(&spin_stop, 0);
    int64_t t0 = h_now();
    cr_assert_eq(runtime_main(abandon, 0, NULL), 3);
    int64_t took = h_now() - t0;
    cr_assert(took < H_SEC(5) * H_SLOW,
              "runtime_main took %.2f s to return with a 20 s sleeper and a yielding spinner alive",
              took / 1e9);
    cr_assert_eq(runtime_main(fresh_start, 0, NULL), 4);
    h_assert_checks("abandons_live_goroutines");
}

/* Every runtime thread is stopped and joined before runtime_main returns. */
static void sleep_1ms(void *arg) { time_sleep(H_MS(1)); sync_wg_done(arg); }

static int busy_run(int argc, char **argv)
{
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 50);
    for (int i = 0; i < 50; i++)
        go(sleep_1ms, &wg);
    sync_wg_wait(&wg);
    chan_t *t = time_after(H_MS(1));
    int64_t v;
    CHECK(chan_recv(t, &v));
    chan_free(t);
    CHECK_GE(h_count_threads(), 2);   /* an M besides the caller's thread (Ms start on demand) */
    return 0;
}

Test(runtime_main, joins_every_thread_it_started, .timeout = H_TIMEOUT)
{
    h_reset();
    int before = h_threads_before();
    cr_assert(before >= 1);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(runtime_main(busy_run, 0, NULL), 0);
        int after = h_threads_after(before);
        cr_assert(after <= before, "run %d: %d threads before runtime_main, still %d 2 s after",
                  i, before, after);
    }
    h_assert_checks("joins_every_thread_it_started");
}

/* All user code runs on goroutine stacks, main_fn included: not on the
 * stack of the thread that called runtime_main. */
static char *caller_lo, *caller_hi;

static bool on_caller_stack(const void *p)
{
    return (const char *)p >= caller_lo && (const char *)p < caller_hi;
}

static void where_am_i(void *arg)
{
    int local = 0;
    CHECK(!on_caller_stack(&local), "a goroutine runs on the caller's thread stack");
    h_send_int(arg, local + 1);
}

static int stack_check_main(int argc, char **argv)
{
    int local = 0;
    CHECK(!on_caller_stack(&local), "main_fn runs on the caller's thread stack (%p in [%p, %p))",
          (void *)&local, (void *)caller_lo, (void *)caller_hi);
    chan_t *c = h_chan_int(0);
    go(where_am_i, c);
    CHECK_EQ(h_recv_int(c), 1);
    chan_free(c);
    return 0;
}

Test(runtime_main, main_fn_runs_on_a_goroutine_stack, .timeout = H_TIMEOUT)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;
    cr_assert_eq(pthread_getattr_np(pthread_self(), &attr), 0);
    cr_assert_eq(pthread_attr_getstack(&attr, &lo, &size), 0);
    pthread_attr_destroy(&attr);
    caller_lo = lo;
    caller_hi = (char *)lo + size;
    int here = 0;
    cr_assert(on_caller_stack(&here), "the stack bounds are wrong");
    h_reset();
    cr_assert_eq(runtime_main(stack_check_main, 0, NULL), 0);
    h_assert_checks("main_fn_runs_on_a_goroutine_stack");
}

/* GO_MAIN-style naming: runtime_main_named runs and returns like runtime_main. */
static int named_main(int argc, char **argv)
{
    CHECK_EQ(goid(), 1);
    char *d = h_dump();
    CHECK(strstr(d, "named_main(") != NULL, "dump lacks named_main(:\n%s", d);
    free(d);
    return 9;
}

Test(runtime_main, named_variant, .timeout = H_TIMEOUT)
{
    h_reset();
    cr_assert_eq(runtime_main_named(named_main, "named_main", 0, NULL), 9);
    h_assert_checks("named_variant");
}
