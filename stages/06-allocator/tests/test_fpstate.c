/*
 * test_fpstate.c: the floating-point control state is part of a goroutine's
 * context. The ABI makes MXCSR and the x87 control word (x86-64) and FPCR
 * (arm64) callee-saved, so the switch saves and restores them
 * (src/asm_*.S): a goroutine that sets a rounding mode keeps it across
 * thousands of switches, on whatever thread it resumes, and no other
 * goroutine ever sees it.
 */
#include "harness.h"

#include <fenv.h>

/* 1/3 rounded by the current mode: the mode is visible in the result.
 * volatile keeps the compiler from folding the division at build time. */
static double third(void)
{
    volatile double one = 1.0, three = 3.0;
    return one / three;
}

static double third_down, third_up;
static atomic_int wrong_up, wrong_default;
static sync_waitgroup fp_wg;

static void rounds_up(void *arg)
{
    (void)arg;
    fesetround(FE_UPWARD);
    for (int i = 0; i < 5000; i++) {
        gosched();
        if (fegetround() != FE_UPWARD || third() != third_up)
            atomic_fetch_add(&wrong_up, 1);
    }
    fesetround(FE_TONEAREST);
    sync_wg_done(&fp_wg);
}

static void rounds_default(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5000; i++) {
        gosched();
        if (fegetround() != FE_TONEAREST || third() != third_down)
            atomic_fetch_add(&wrong_default, 1);
    }
    sync_wg_done(&fp_wg);
}

GTEST(fpstate, rounding_mode_is_per_goroutine)
{
    third_down = third();                   /* round to nearest: 0.333...33 */
    fesetround(FE_UPWARD);
    third_up = third();                     /* one ulp above */
    fesetround(FE_TONEAREST);
    CHECK(third_up != third_down, "rounding modes should give different results");
    atomic_store(&wrong_up, 0);
    atomic_store(&wrong_default, 0);
    sync_wg_add(&fp_wg, 6);
    for (int i = 0; i < 3; i++) {
        go(rounds_up, NULL);
        go(rounds_default, NULL);
    }
    sync_wg_wait(&fp_wg);
    CHECK_EQ(atomic_load(&wrong_up), 0);       /* kept its own mode */
    CHECK_EQ(atomic_load(&wrong_default), 0);  /* never saw another's */
    CHECK_EQ(fegetround(), FE_TONEAREST);
}
