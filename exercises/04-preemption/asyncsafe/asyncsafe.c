/*
 * asyncsafe.c: your safe-point check and no-preempt regions (exercise
 * asyncsafe). Read README.md first. This file replaces the stage's
 * src/asyncsafe.c, which seam.patch carves out of preempt.c: see it in
 * ../../build/stages/04-preemption+asyncsafe/tree/src/asyncsafe.c after a
 * first `make`.
 *
 * asyncsafe runs in a signal handler, on the M's sigaltstack, in the
 * middle of whatever the goroutine was doing: it may not lock, allocate,
 * print or call anything that is not async-signal-safe. preempt_disable
 * and preempt_enable run on the goroutine, in user code's place.
 *
 * What you may use (src/runtime2.h): gp->stack_lo, gp->stack_hi,
 * gp->preempt, gp->nopreempt, readgstatus, mp->p, getg, preemptroom(),
 * pcinprogram(pc), preemptcheck(gp), the section bounds below.
 */
#include "runtime2.h"

extern const char __start_gort_text[], __stop_gort_text[];

/* As it stands nothing is ever safe: a goroutine that spins without calls
 * is asked to stop again and again, and never stops. */
bool asyncsafe(m *mp, g *gp, uintptr_t pc, uintptr_t sp)
{
    (void)mp; (void)gp; (void)pc; (void)sp;
    return false;                /* TODO */
}

void preempt_disable(void)
{
    /* TODO */
}

void preempt_enable(void)
{
    /* TODO */
}
