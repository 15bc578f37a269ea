/*
 * spinheap.c: goroutines that never yield, beside one that works the heap.
 *
 * Stage 04's example of preemption: three goroutines spin in a loop with no
 * call into the runtime, and main allocates blocks, fills them, sleeps
 * 1 ms, checks them and frees them, 150 times. At GOMAXPROCS=1 or 2 the
 * spinners hold every P, so each of main's wake-ups needs a spinner
 * preempted (sysmon's timer rule, src/preempt.c): some 150 preemptions in a
 * run, each saving and restoring a spinner's registers on its own stack.
 *
 * The Go program it rebuilds:
 *
 *     func spin(stop *atomic.Bool, wg *sync.WaitGroup) {
 *         for x := uint64(1); !stop.Load(); x = x*6364136223846793005 + 1 {
 *         }
 *         wg.Done()
 *     }
 *
 *     func main() {
 *         var stop atomic.Bool
 *         var wg sync.WaitGroup
 *         wg.Add(3)
 *         for i := 0; i < 3; i++ {
 *             go spin(&stop, &wg)
 *         }
 *         for r := 0; r < 150; r++ {
 *             blocks := fill(16, r)           // make([]byte, n), a pattern
 *             time.Sleep(time.Millisecond)
 *             check(blocks, r)
 *         }
 *         stop.Store(true)
 *         wg.Wait()
 *     }
 *
 * What to notice:
 *  - `make valgrind` runs it under valgrind's memcheck: the trampoline's
 *    frame lies below the interrupted stack pointer, where memcheck sees no
 *    live stack, so the stage tells it (src/preempt.c: pushcall). Any
 *    memory error there fails the check.
 *  - In a PREEMPT=coop build the spinners' call to step() is the safe
 *    point; with asynchronous preemption any instruction of theirs is.
 *  - The output does not depend on GOMAXPROCS or on when the spinners were
 *    stopped: only the counts are printed.
 */
#include <gort.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { NSPINNERS = 3, ROUNDS = 150, BLOCKS = 16 };

static uint32_t stop;                  /* atomic: main tells the spinners */

/* A call in the loop: the safe point of a PREEMPT=coop build (its
 * prologue hook); with signals it needs none. */
__attribute__((noinline)) static uint64_t step(uint64_t x)
{
    return x * 6364136223846793005ULL + 1;
}

static void spin(void *arg)
{
    uint64_t x = 1;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        x = step(x);
    if (x == 0)                        /* keeps x alive; never true */
        puts("x");
    sync_wg_done(arg);
}

static unsigned char pattern(int round, int block, size_t i)
{
    return (unsigned char)(round * 31 + block * 7 + i);
}

int app(int argc, char **argv)
{
    (void)argc; (void)argv;
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, NSPINNERS);
    for (int i = 0; i < NSPINNERS; i++)
        go(spin, &wg);

    long checked = 0, bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        unsigned char *b[BLOCKS];
        size_t n[BLOCKS];
        for (int k = 0; k < BLOCKS; k++) {
            n[k] = 16 + (size_t)((r * BLOCKS + k) * 97 % 2000);
            b[k] = malloc(n[k]);
            if (b[k] == NULL) {
                puts("out of memory");
                return 1;
            }
            for (size_t i = 0; i < n[k]; i++)
                b[k][i] = pattern(r, k, i);
        }
        time_sleep(1000 * 1000);       /* 1 ms: a spinner is preempted for it */
        for (int k = 0; k < BLOCKS; k++) {
            for (size_t i = 0; i < n[k]; i++)
                if (b[k][i] != pattern(r, k, i)) {
                    bad++;
                    break;
                }
            checked++;
            free(b[k]);
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    sync_wg_wait(&wg);

    printf("spinners: %d, stopped\n", NSPINNERS);
    printf("rounds: %d\n", ROUNDS);
    printf("blocks checked: %ld, intact: %s\n", checked, bad == 0 ? "all" : "NOT ALL");
    return bad == 0 ? 0 : 1;
}

GO_MAIN(app)
