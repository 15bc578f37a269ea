/*
 * fanout.c: the timeline lab's workload: fan-out/fan-in, as a request that
 * queries many shards and merges their answers.
 *
 *   fanout ROUNDS TASKS UNIT_ITERS
 *
 * Each round, goroutine 1 starts TASKS goroutines (go shard(i)); shard i
 * does (1 + i % 4) * UNIT_ITERS steps of CPU work (uneven on purpose: one
 * shard in four is four times the smallest) and sends its result on one
 * results channel; goroutine 1 receives all TASKS (fan-in) before the next
 * round. Run with GORT_TRACE=FILE: the trace shows, lane by lane, which
 * goroutine ran when. On stage 01 every go() and every wake-up goes
 * through the one global queue; from stage 02 the new goroutines go to the
 * creating P's local queue, and from stage 03 idle Ps steal from it, which
 * is what the timelines of 01 and 03 put side by side.
 * Prints one line: "wall_ms<TAB>tasks".
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>

static chan_t *results;
static long unit;

static void shard(void *arg)
{
    long i = (long)(intptr_t)arg;
    uint64_t x = (uint64_t)i + 1;
    for (long k = 0; k < (1 + i % 4) * unit; k++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    chan_send(results, &x);
}

static int fanout_main(int argc, char **argv)
{
    long rounds = argc == 4 ? atol(argv[1]) : 0, tasks = argc == 4 ? atol(argv[2]) : 0;
    unit = argc == 4 ? atol(argv[3]) : 0;
    if (rounds < 1 || tasks < 1 || unit < 1) {
        fprintf(stderr, "usage: fanout ROUNDS TASKS UNIT_ITERS (each an integer >= 1)\n");
        return 2;
    }
    results = chan_make(sizeof(uint64_t), 0);
    uint64_t sum = 0, v;
    int64_t t0 = time_now();
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < tasks; i++)
            go(shard, (void *)(intptr_t)i);          /* fan out */
        for (long i = 0; i < tasks; i++) {
            chan_recv(results, &v);                  /* fan in */
            sum += v;
        }
    }
    printf("%.3f\t%ld\n", (double)(time_now() - t0) / 1e6, rounds * tasks);
    chan_free(results);
    return sum == 42;   /* never: keeps sum alive */
}

GO_MAIN(fanout_main)
