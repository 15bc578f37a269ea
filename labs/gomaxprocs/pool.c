/*
 * pool.c: the gomaxprocs lab's workload: a bounded worker pool fed by one
 * producer, as a service's request handlers are.
 *
 *   pool cpu WORKERS TASKS ITERS     each task: ITERS steps of a dependent
 *                                    multiply-add chain (pure CPU, ~1.5 ns a step)
 *   pool io  WORKERS TASKS USEC      each task: a blocking nanosleep(USEC), the
 *                                    stand-in for a blocking system call (a
 *                                    disk read, a DNS lookup through libc)
 *   pool dynamic WORKERS MS ITERS P1,P2,...
 *                                    cpu tasks for MS milliseconds; the run is
 *                                    cut into equal phases and each phase starts
 *                                    with runtime_gomaxprocs(Pi)
 *
 * The producer (goroutine 1) stamps each task with time_now() and sends it
 * on a channel with room for WORKERS tasks; a worker takes it, does it, and
 * records its latency: completion minus submission, so queueing counts, as
 * a client would see it. Output, one tab-separated line:
 *     tasks_per_s  p50_us  p99_us  wall_s
 * dynamic prints one line per bin of at least 25 ms instead:
 *     t_ms  gomaxprocs  tasks_per_s
 * (tasks_per_s over the time since the previous line, which is longer than
 * 25 ms when the sampling goroutine wakes late)
 *
 * What the stages change (the lab's README explains the plots):
 * - stage 01: every hand-off goes through sched.lock; the io tasks block
 *   their M (thread), so at most GOMAXPROCS of them sleep at once;
 *   runtime_gomaxprocs(n) only reports.
 * - stage 02+: runtime_entersyscall hands the P to another M while a task
 *   sleeps in the kernel (LAB_HAVE_SYSCALL, set by labs/lib.sh when the
 *   library has it); runtime_gomaxprocs(n) resizes at run time.
 * The Go twin is go/main.go: same chain, syscall.Nanosleep, same channel.
 */
#include <gort.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct task { int64_t submitted; };

static chan_t *jobs;                 /* chan *struct task, cap WORKERS */
static sync_waitgroup wg = SYNC_WAITGROUP_INIT;
static int kind;                     /* 'c' cpu, 'i' io */
static long work;                    /* ITERS or USEC */
static int64_t *lat;                 /* latency of task i, ns */
static atomic_long done_count;
static volatile uint64_t sink;       /* keeps the chain's result alive */

static uint64_t cpu_chain(long iters, uint64_t x)
{
    for (long i = 0; i < iters; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

static void block_in_kernel(long usec)
{
    struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };
#ifdef LAB_HAVE_SYSCALL
    runtime_entersyscall();          /* stage 2+: let the P go meanwhile */
#endif
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
#ifdef LAB_HAVE_SYSCALL
    runtime_exitsyscall();
#endif
}

static void worker(void *arg)
{
    struct task *t;
    uint64_t x = (uint64_t)(uintptr_t)arg;
    while (chan_recv(jobs, &t)) {
        if (kind == 'c')
            x = cpu_chain(work, x);
        else
            block_in_kernel(work);
        int64_t now = time_now();
        long i = atomic_fetch_add(&done_count, 1);
        if (lat)
            lat[i] = now - t->submitted;
        free(t);
    }
    sink += x;
    sync_wg_done(&wg);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static long arg_long(const char *name, const char *s, long lo)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo) {
        fprintf(stderr, "pool: %s=%s: expected an integer >= %ld\n", name, s, lo);
        exit(2);
    }
    return v;
}

static void submit(void)
{
    struct task *t = malloc(sizeof *t);
    if (t == NULL) { perror("pool: malloc"); exit(1); }
    t->submitted = time_now();
    chan_send(jobs, &t);
}

static void start_workers(long workers)
{
    jobs = chan_make(sizeof(struct task *), (size_t)workers);
    sync_wg_add(&wg, (int)workers);
    for (long i = 0; i < workers; i++)
        go(worker, (void *)(uintptr_t)(i + 1));
}

static void stop_workers(void)
{
    chan_close(jobs);
    sync_wg_wait(&wg);
    chan_free(jobs);
}

/* The producer for dynamic mode: submits until told to stop. */
static atomic_int producing = 1;
static sync_waitgroup prod_wg = SYNC_WAITGROUP_INIT;
static void producer(void *arg)
{
    while (atomic_load(&producing))
        submit();
    sync_wg_done(&prod_wg);
}

static int run_dynamic(long workers, long ms, char *sched)
{
    int procs[16], nph = 0;
    for (char *tok = strtok(sched, ","); tok; tok = strtok(NULL, ",")) {
        if (nph == 16) { fprintf(stderr, "pool: at most 16 phases\n"); return 2; }
        procs[nph++] = (int)arg_long("P", tok, 1);
    }
    if (nph == 0) { fprintf(stderr, "pool: empty GOMAXPROCS schedule\n"); return 2; }
    const int64_t bin = 25 * 1000000LL;
    int64_t total = ms * 1000000LL, t0 = time_now(), tlast = t0;
    int phase = -1;
    long last = 0;
    start_workers(workers);
    sync_wg_add(&prod_wg, 1);
    go(producer, NULL);
    /* One line per bin. A bin lasts at least 25 ms: the sampler sleeps a
     * whole bin after the previous line, and a late wake-up (its P busy
     * with another goroutine's time slice) only makes the bin longer; the
     * rate is over the time that really passed. The phase is chosen from
     * the time elapsed when the bin starts. */
    for (int64_t now = t0; now - t0 < total; ) {
        int want = (int)((now - t0) * nph / total);
        if (want != phase) {
            phase = want;
            runtime_gomaxprocs(procs[phase]);
        }
        time_sleep(bin);
        now = time_now();
        long d = atomic_load(&done_count);
        printf("%.1f\t%d\t%.0f\n", (double)(now - t0) / 1e6, runtime_gomaxprocs(0),
               (double)(d - last) * 1e9 / (double)(now - tlast));
        last = d;
        tlast = now;
    }
    atomic_store(&producing, 0);
    sync_wg_wait(&prod_wg);
    stop_workers();
    return 0;
}

static int pool_main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "cpu") && strcmp(argv[1], "io") &&
                     strcmp(argv[1], "dynamic"))) {
        fprintf(stderr, "usage: pool cpu|io WORKERS TASKS WORK\n"
                        "       pool dynamic WORKERS MS ITERS P1,P2,...\n");
        return 2;
    }
    long workers = arg_long("WORKERS", argv[2], 1);
    if (strcmp(argv[1], "dynamic") == 0) {
        if (argc < 6) { fprintf(stderr, "pool dynamic: needs the P1,P2,... schedule\n"); return 2; }
        kind = 'c';
        work = arg_long("ITERS", argv[4], 1);
        return run_dynamic(workers, arg_long("MS", argv[3], 100), argv[5]);
    }
    kind = argv[1][0];
    long tasks = arg_long("TASKS", argv[3], 1);
    work = arg_long(kind == 'c' ? "ITERS" : "USEC", argv[4], 1);
    lat = calloc((size_t)tasks, sizeof *lat);
    if (lat == NULL) { perror("pool: calloc"); return 1; }

    int64_t t0 = time_now();
    start_workers(workers);
    for (long i = 0; i < tasks; i++)
        submit();
    stop_workers();
    double wall = (double)(time_now() - t0) / 1e9;

    qsort(lat, (size_t)tasks, sizeof *lat, cmp64);
    printf("%.0f\t%.1f\t%.1f\t%.3f\n", (double)tasks / wall,
           (double)lat[(tasks - 1) / 2] / 1e3, (double)lat[(tasks * 99 - 1) / 100] / 1e3, wall);
    free(lat);
    return 0;
}

GO_MAIN(pool_main)
