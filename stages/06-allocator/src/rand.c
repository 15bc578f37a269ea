/*
 * rand.c: the runtime's one source of random choices, and the seed that
 * replays them (mirrors Go's src/runtime/rand.go: randinit, mrandinit and
 * cheaprandn, called fastrandn before Go 1.22).
 *
 * The problem. A scheduler makes random choices on purpose: select picks
 * among ready cases at random so that no case can starve the others, and
 * later stages pick steal victims in a random order. A test that fails
 * once in a thousand runs because of one such choice must fail every time
 * a student replays it, and a chapter's trace must be the same on every
 * reader's machine. So every random choice comes from one seeded
 * generator, and the seed is printed where a failure can be replayed.
 *
 * The design:
 *   1. Each run of runtime_main has one seed, `schedseed`: the value of
 *      GODEBUG=schedseed=N, or else 64 bits from getrandom(2). A program
 *      reads it with runtime_schedseed(); a fatal error or a panic prints
 *      it with the line that replays the run (printschedseed, panic.c).
 *   2. Each M draws from its own state (m.fastrand, no lock, no atomics),
 *      derived from (schedseed, M id) by splitmix64 before the M starts.
 *      M ids are 0..GOMAXPROCS-1 on every run, so the same seed gives every
 *      M the same stream.
 *   3. fastrandn(n) is one wyrand step (an add and a 64x64->128 multiply)
 *      reduced to [0, n) by Lemire's multiply-shift. Code that needs a
 *      random choice calls fastrandn and nothing else: a rand() or a clock
 *      read slipped into a policy would escape the seed.
 *   4. A thread that is no M (runtime_main's caller, a plain C thread
 *      calling a non-blocking chan_select) draws from one shared atomic
 *      state, also derived from the seed. Such threads run in real time,
 *      so what they draw cannot replay; nothing in the schedule of the Ms
 *      depends on it.
 * Rejected: Go's per-M ChaCha8 (Go 1.22 rand.go) is a cryptographic
 * generator that Go's user-visible math/rand shares; the runtime's own
 * choices need speed and a seed, not secrecy. libc's rand() has hidden
 * global state behind a lock and cannot be seeded per M.
 *
 * What one seed reproduces. At GOMAXPROCS=1 one M runs every goroutine,
 * and the runtime_main thread only sleeps until main returns, so given the
 * same seed and the same program the schedule is a function of the
 * program's own actions, with two exceptions:
 *   - timers fire when the real clock says so, unless GODEBUG=fakeclock=1
 *     (time_fake.c), under which time moves only when every goroutine
 *     waits, so timers fire at the same point of the schedule on every run;
 *   - the program's own nondeterminism: its threads, system calls that
 *     block for a varying time, its use of time_now() in decisions, reading
 *     addresses or files.
 * So with GOMAXPROCS=1 and fakeclock=1 a seed replays the run: the same
 * schedule, the same output and the same GORT_TRACE file, byte for byte
 * (trace timestamps come from the fake clock). With GOMAXPROCS>1 the seed
 * still fixes every M's sequence of draws, but the Ms race for sched.lock
 * in real time, so which G each M runs, and therefore which draw serves
 * which select, differs between runs: the interleaving is not reproducible.
 * GODEBUG=schedtrace lines come from a thread sampling in real time and are
 * not reproducible either.
 *
 * Addresses. Channel and semaphore addresses change between runs (ASLR),
 * and two places use them: select locks its channels in address order,
 * and sema.c hashes an address to a wait-list root. Neither reaches the
 * schedule. The lock order decides only the order of lock calls and the
 * order in which one select's sudogs are queued on *different* channels'
 * queues, where order does not matter; on the same channel (named twice)
 * the insertion sort keeps the cases in poll order, which the seed fixes.
 * A semaphore root keeps each address's waiters in FIFO order whatever
 * other addresses share the root.
 */
#include "runtime2.h"

#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

static uint64_t schedseed;      /* set by randinit before the Ms start */
static bool     seeded;         /* a run has chosen its seed */
static uint64_t offm_state;     /* atomic: draws by threads that are no M */

/* splitmix64: spreads a seed over 64 bits; the usual way to derive
 * independent streams from one seed. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t randomseed(void)
{
    uint64_t s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
        return s;
    /* No entropy yet (early boot): the clock and the pid differ per run. */
    return splitmix64((uint64_t)nanotime1() ^ ((uint64_t)getpid() << 32));
}

/* At runtime_main's start, after parseenv. */
void randinit(void)
{
    schedseed = debug.schedseedset ? debug.schedseed : randomseed();
    seeded = true;
    __atomic_store_n(&offm_state, splitmix64(schedseed ^ 0x6f66666dULL), __ATOMIC_RELAXED);
}

/* Before mp's thread starts. */
void mrandinit(m *mp)
{
    mp->fastrand = splitmix64(schedseed + 0x9e3779b97f4a7c15ULL * (uint64_t)(mp->id + 1));
}

uint64_t runtime_schedseed(void)
{
    return schedseed;
}

/* wyrand (Wang Yi): one add, one 64x64->128 multiply; passes BigCrush. */
static uint32_t wyrand(uint64_t s)
{
    __uint128_t t = (__uint128_t)s * (s ^ 0xe7037ed1a0b428dbULL);
    return (uint32_t)((uint64_t)(t >> 64) ^ (uint64_t)t);
}

/* A uniform draw from [0, n) (n > 0). Go's cheaprandn. */
uint32_t fastrandn(uint32_t n)
{
    m *mp = getm();
    uint64_t s;
    if (mp != NULL)
        s = mp->fastrand += 0xa0761d6478bd642fULL;
    else
        s = __atomic_add_fetch(&offm_state, 0xa0761d6478bd642fULL, __ATOMIC_RELAXED);
    return (uint32_t)(((uint64_t)wyrand(s) * n) >> 32);
}

/* The replay line of a fatal error or panic (panic.c), after the dump. */
void printschedseed(FILE *out)
{
    if (!seeded)
        return;
    unsigned long long s = (unsigned long long)schedseed;
    const char *fake = debug.fakeclock ? ",fakeclock=1" : "";
    if (sched.gomaxprocs == 1 && debug.fakeclock)
        fprintf(out, "gort: schedseed=%llu: replay this run with "
                "GOMAXPROCS=1 GODEBUG=schedseed=%llu%s\n", s, s, fake);
    else
        fprintf(out, "gort: schedseed=%llu: GOMAXPROCS=%d GODEBUG=schedseed=%llu%s repeats "
                "this run's random choices; GOMAXPROCS=1 with fakeclock=1 replays a run "
                "exactly\n", s, sched.gomaxprocs, s, fake);
}
