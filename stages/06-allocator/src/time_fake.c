/*
 * time_fake.c: GODEBUG=fakeclock=1, a clock that moves only when every
 * goroutine waits (mirrors Go's src/runtime/time_fake.go, the faketime of
 * the Go playground, and the clock of testing/synctest's bubbles, Go 1.25,
 * src/runtime/synctest.go).
 *
 * The problem. A program that sleeps for an hour takes an hour to test,
 * and the order in which timers wake goroutines depends on how fast the
 * machine is: a busy grader's machine fires a 10 ms timer late, after a
 * 11 ms one was already due. Neither is acceptable for a test that must
 * replay (rand.c) or a grader that must not fail a correct answer by bad
 * luck.
 *
 * The design (Go's playground and synctest share it):
 *   1. nanotime(), hence time_now(), every timer's `when`, trace
 *      timestamps and dump durations, reads `faketime` when it is set.
 *      It starts at Go's playground instant, 2009-11-10 23:00:00 UTC in
 *      Unix nanoseconds, and does not move while any goroutine runs: a run
 *      of goroutines takes no time at all.
 *   2. When the last M goes idle (checkdead, proc.c: no runnable G, every
 *      M idle, so every goroutine is blocked) and a timer is pending, no
 *      goroutine can run before that timer fires. faketime_jump sets the
 *      clock to the earliest timer's `when`, and checkdead wakes the M
 *      that called it (the head of the idle list), which runs the timer
 *      at once (findrunnable's checktimers; stage 05: the timer may sit on
 *      another P's heap, and the M's steal loop runs it there, since
 *      timer0when is the earliest of every P's). Timers due at the same
 *      instant all fire in that one step.
 *   3. With no timer pending, checkdead reports the deadlock as it always
 *      does, at the fake instant it was reached.
 *   4. Idle Ms never sleep with a timeout under the fake clock
 *      (findrunnable): a real-time sleep until a fake `when` means
 *      nothing. An M sleeps until it is woken; the last one to go idle
 *      moves the clock (step 2).
 * The runtime's own real-time waits (notetsleep: the schedtrace period,
 * stopallm's grace period) read nanotime1(), the real clock.
 *
 * Consequences, as in Go's synctest: a goroutine that spins on
 * time_now() or on gosched() waiting for time to pass spins forever, since
 * it never lets every goroutine block; a goroutine blocked in a system call
 * (a read, a C sleep) holds its M, so the clock waits for it; and a ticker
 * nobody reads keeps a program whose goroutines are otherwise all blocked
 * jumping from tick to tick forever, where the real clock would wait
 * forever. Deadlines are exact: time_sleep(d) called at t wakes at
 * exactly t + d, and time_now() read then says so.
 *
 * Invariant: faketime is 0 (real clock) or only grows during a run; it is
 * written by runtime_main before the Ms start and by faketime_jump under
 * sched.lock while every M is idle, and read with acquire loads.
 */
#include "runtime2.h"

/* Go's playground clock, src/runtime/time_fake.go. */
#define FAKETIME_START 1257894000000000000LL

static int64_t faketime;        /* atomic; 0: the real clock */

int64_t nanotime(void)
{
    int64_t t = __atomic_load_n(&faketime, __ATOMIC_ACQUIRE);
    return t != 0 ? t : nanotime1();
}

bool faketime_enabled(void)
{
    return __atomic_load_n(&faketime, __ATOMIC_RELAXED) != 0;
}

/* runtime_main: at the start of a run (on or off), and off again at its end. */
void faketimeinit(bool on)
{
    __atomic_store_n(&faketime, on ? FAKETIME_START : 0, __ATOMIC_RELEASE);
}

/* checkdead, under sched.lock, with every M idle and the run queue empty:
 * under the fake clock, moves it to the earliest pending timer. True when
 * a timer is now due and the caller must wake an M to run it. */
bool faketime_jump(void)
{
    int64_t now = __atomic_load_n(&faketime, __ATOMIC_ACQUIRE);
    int64_t when = timer0when();
    if (now == 0 || when == 0)
        return false;
    if (when > now)
        __atomic_store_n(&faketime, when, __ATOMIC_RELEASE);
    return true;
}
