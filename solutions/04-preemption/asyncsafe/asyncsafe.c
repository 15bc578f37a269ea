/*
 * asyncsafe.c: the reference solution of exercise asyncsafe: stage 04's
 * safe-point check, plus no-preempt regions (Go's acquirem/releasem and
 * the m.locks == 0 test at the top of isAsyncSafePoint).
 *
 * A no-preempt region is a stretch of user code that must not be stopped
 * between two instructions: it holds a lock that blocks its thread (a
 * pthread mutex, flockfile), or keeps a thread-local address in a
 * register. preempt_disable/preempt_enable bracket it and nest.
 *
 * The protocol:
 *   1. preempt_disable increments gp->nopreempt (relaxed store), then a
 *      signal fence: the handler runs on this same thread, between two of
 *      its instructions, so only the compiler's order matters, and the
 *      fence keeps the region's code from being moved above the store.
 *   2. asyncsafe refuses while gp->nopreempt > 0 (the handler counts the
 *      refusal, and sysmon asks again at its next tick). gp->preempt stays
 *      set: the request is not lost, only deferred.
 *   3. preempt_enable: a signal fence (the region's code stays above),
 *      then the decrement; the last one (0) checks gp->preempt and, if a
 *      preemption was asked for meanwhile, yields at once (preemptcheck:
 *      counted as cooperative), so a long region delays a preemption by no
 *      more than its own length (Go's releasem sets stackguard0 for the
 *      next prologue; we have no prologue, so we yield here).
 *
 * The rest is the stage's check: the G runs user code of the program
 * itself (not the runtime's gort_text, not libc or the vDSO), on its own
 * stack, with room below sp for the red zone, the trampoline's frame and
 * the XSAVE area.
 */
#include "runtime2.h"

extern const char __start_gort_text[], __stop_gort_text[];

bool asyncsafe(m *mp, g *gp, uintptr_t pc, uintptr_t sp)
{
#if defined(__x86_64__)
    if (readgstatus(gp) != _Grunning || mp->p == NULL)
        return false;
    if (__atomic_load_n(&gp->nopreempt, __ATOMIC_RELAXED) != 0)
        return false;                        /* a no-preempt region: later */
    if (pc >= (uintptr_t)__start_gort_text && pc < (uintptr_t)__stop_gort_text)
        return false;                        /* the runtime (its locks) */
    if (!pcinprogram(pc))
        return false;                        /* libc, libm, the vDSO */
    if ((sp & 7) != 0 || sp > (uintptr_t)gp->stack_hi ||
        sp < (uintptr_t)gp->stack_lo + preemptroom())
        return false;                        /* not on its stack, or too deep */
    return true;
#else
    (void)mp; (void)gp; (void)pc; (void)sp;
    return false;
#endif
}

void preempt_disable(void)
{
    g *gp = getg();
    if (gp == NULL)
        gort_fatal_outside("preempt_disable()");
    __atomic_store_n(&gp->nopreempt, gp->nopreempt + 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void preempt_enable(void)
{
    g *gp = getg();
    if (gp == NULL)
        gort_fatal_outside("preempt_enable()");
    uint32_t n = gp->nopreempt;
    if (n == 0)
        gort_throw("preempt_enable: not in a no-preempt region");
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&gp->nopreempt, n - 1, __ATOMIC_RELAXED);
    if (n == 1)
        preemptcheck(gp);                    /* asked meanwhile: yield now */
}
