/*
 * crunch.c: the reference solution of exercise coop-checks.
 *
 * The check. sysmon asks a goroutine to stop by setting g.preempt (after a
 * 10 ms slice, or at once when a timer is due and no P is idle); without
 * signals the request is honoured only where the goroutine enters the
 * runtime at a safe point (mustbeinruntime, at the entry of every blocking
 * call). sync_wg_wait on a WaitGroup whose counter is 0 is such an entry
 * that never blocks: it yields if and only if sysmon asked, and otherwise
 * costs a call and two loads. So the check yields only when someone waits,
 * and a routine alone keeps its thread (test part 1).
 *
 * Where. A check in the innermost loop would cost a call per byte; one per
 * outer iteration may leave milliseconds between checks (a row of a big
 * matrix, the first partition of a big sort). So every loop that can run
 * long counts its own work down from POLL_EVERY units of roughly a
 * nanosecond or two each and checks when the budget runs out: one check
 * every few microseconds, about 0.5% of the work. The budget is a local
 * (or an argument through the recursion), never a global or a __thread:
 * several goroutines may crunch at once, and a preempted goroutine may
 * resume on another thread.
 */
#include "crunch.h"

#include "gort.h"

#define POLL_EVERY 4096

static sync_waitgroup idle;     /* counter 0 for ever: waiting on it never blocks */

static void __attribute__((noinline)) safepoint(void)
{
    sync_wg_wait(&idle);        /* mustbeinruntime: yields if sysmon asked */
}

/* Spends n units of the budget; checks when it runs out. */
static inline void poll(int64_t *budget, int64_t n)
{
    if ((*budget -= n) <= 0) {
        *budget = POLL_EVERY;
        safepoint();
    }
}

uint64_t crunch_hash(const uint8_t *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    int64_t budget = POLL_EVERY;
    for (size_t i = 0; i < len; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
        if ((i & 1023) == 1023)
            poll(&budget, 1024);
    }
    return h;
}

void crunch_matmul(int n, const double *a, const double *b, double *c)
{
    int64_t budget = POLL_EVERY;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += a[(size_t)i * n + k] * b[(size_t)k * n + j];
            c[(size_t)i * n + j] = s;
            poll(&budget, n);    /* one dot product: n multiply-adds */
        }
    }
}

static void sortb(int64_t *v, size_t n, int64_t *budget);

static void insertion(int64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

void crunch_sort(int64_t *v, size_t n)
{
    int64_t budget = POLL_EVERY;
    sortb(v, n, &budget);
}

/* The budget goes down the recursion: small partitions spend it too. */
static void sortb(int64_t *v, size_t n, int64_t *budget)
{
    while (n >= 16) {
        /* median of three as the pivot, Hoare's partition */
        int64_t a = v[0], b = v[n / 2], c = v[n - 1];
        int64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i >= j)
                break;
            int64_t t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
            j--;
            poll(budget, 4);     /* a swap, and the few scans before it */
        }
        poll(budget, 64);
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) {
            sortb(v, j + 1, budget);
            v += j + 1;
            n -= j + 1;
        } else {
            sortb(v + j + 1, n - j - 1, budget);
            n = j + 1;
        }
    }
    insertion(v, n);
    poll(budget, (int64_t)n * 4);
}
