/*
 * san.h: telling the sanitizers about goroutine switches (the role of Go's
 * race.go, for ASan and TSan instead of Go's race detector).
 *
 * ASan and TSan track one stack per thread. gort runs many stacks on each
 * thread, so each switch must be announced or they report nonsense:
 *
 *  - ASan: __sanitizer_start_switch_fiber(&fake, bottom, size) just before
 *    the switch names the stack being entered; the code that runs after the
 *    switch calls __sanitizer_finish_switch_fiber(fake, ...). A goroutine
 *    that will never run again passes NULL for `fake`, so ASan frees its
 *    fake-stack frames.
 *  - TSan: each G has a fiber (__tsan_create_fiber); __tsan_switch_to_fiber
 *    is called just before the switch. The M's g0 is the thread's own fiber.
 *
 * Without sanitizers every hook compiles to nothing.
 */
#ifndef GORT_SAN_H
#define GORT_SAN_H

#include "runtime2.h"

#if defined(__SANITIZE_ADDRESS__)
#define GORT_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
#define GORT_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

/* Switch from the running context to `to`, saving into `from`, with sw
 * (gort_gogo_g0 or gort_gogo_g). to_lo/to_size: the stack being entered;
 * to_fiber: its TSan fiber; dying: the context left will never resume. */
static inline void san_swap(void (*sw)(gobuf *, gobuf *), gobuf *from, gobuf *to,
                            void *to_lo, size_t to_size, void *to_fiber, bool dying)
{
#ifdef GORT_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(dying ? NULL : &fake, to_lo, to_size);
#else
    (void)to_lo; (void)to_size; (void)dying;
#endif
#ifdef GORT_TSAN
    __tsan_switch_to_fiber(to_fiber, 0);
#else
    (void)to_fiber;
#endif
    sw(from, to);
#ifdef GORT_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* First thing a new goroutine does: finish the switch that started it. */
static inline void san_goroutine_start(void)
{
#ifdef GORT_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

static inline void *san_fiber_create(void)
{
#ifdef GORT_TSAN
    return __tsan_create_fiber(0);
#else
    return NULL;
#endif
}

static inline void san_fiber_destroy(void *fiber)
{
#ifdef GORT_TSAN
    if (fiber)
        __tsan_destroy_fiber(fiber);
#else
    (void)fiber;
#endif
}

static inline void *san_current_fiber(void)
{
#ifdef GORT_TSAN
    return __tsan_get_current_fiber();
#else
    return NULL;
#endif
}

#endif /* GORT_SAN_H */
