/*
 * wsdeque.c: Chase-Lev's work-stealing deque with a fixed ring (exercise
 * wsdeque, reference solution).
 *
 * The problem: the owner's push and pop must cost no lock and no atomic
 * read-modify-write in the common case, as stage 03's runqput and runqget
 * do, but here the owner takes its NEWEST task (depth-first: a fork-join
 * task's child is hot in cache, and the deque stays short), so owner and
 * thieves work at opposite ends and meet only at the last task.
 *
 * The protocol:
 *   1. push (owner): write the slot at bottom, then store bottom + 1
 *      (release): a thief that reads the new bottom sees the task.
 *   2. pop (owner): store bottom - 1 FIRST (seq_cst), then read top
 *      (seq_cst). This StoreLoad order is the heart of the algorithm: a
 *      thief that already claimed that slot has moved top past it, and the
 *      owner sees so; a thief that has not yet read bottom will see the
 *      smaller one. If more than one task is left the slot is the owner's
 *      with no CAS; if exactly one is left, owner and thieves race for it
 *      with a CAS on top, and the owner restores bottom either way.
 *   3. steal (thief): read top (seq_cst), then bottom (seq_cst); if
 *      non-empty, read the slot and CAS top to top + 1. Only the CAS's
 *      winner has the task; a loser retries from the start.
 * Slots are relaxed atomics: a thief may read a slot the owner is
 * rewriting after a pop; its CAS then fails and the value is dropped
 * (runq.c's reason, the same benign race).
 *
 * Rejected: fences with relaxed operations (the paper's form; TSan does
 * not model fences and would report the tasks' contents as races), a
 * growable ring (the paper's; a full deque here makes push fail, and the
 * caller runs the task itself, which a fork-join pool can always do).
 */
#include "wsdeque.h"

#define LD(x, o)    __atomic_load_n(&(x), o)
#define ST(x, v, o) __atomic_store_n(&(x), (v), o)
#define SC __ATOMIC_SEQ_CST
#define SLOT(d, i)  ((d)->buf[(uint64_t)(i) & (WSDEQUE_CAP - 1)])

void wsdeque_init(wsdeque *d)
{
    ST(d->top, 0, SC);
    ST(d->bottom, 0, SC);
}

bool wsdeque_push(wsdeque *d, void *task)
{
    int64_t b = LD(d->bottom, __ATOMIC_RELAXED);  /* only we write it */
    int64_t t = LD(d->top, __ATOMIC_ACQUIRE);
    if (b - t >= WSDEQUE_CAP)
        return false;
    ST(SLOT(d, b), task, __ATOMIC_RELAXED);
    ST(d->bottom, b + 1, __ATOMIC_RELEASE);
    return true;
}

void *wsdeque_pop(wsdeque *d)
{
    int64_t b = LD(d->bottom, __ATOMIC_RELAXED) - 1;
    ST(d->bottom, b, SC);                /* step 2: before reading top */
    int64_t t = LD(d->top, SC);
    if (t > b) {                         /* empty */
        ST(d->bottom, b + 1, __ATOMIC_RELAXED);
        return NULL;
    }
    void *task = LD(SLOT(d, b), __ATOMIC_RELAXED);
    if (t == b) {                        /* the last one: race the thieves for it */
        if (!__atomic_compare_exchange_n(&d->top, &t, t + 1, false, SC, __ATOMIC_RELAXED))
            task = NULL;
        ST(d->bottom, b + 1, __ATOMIC_RELAXED);
    }
    return task;
}

void *wsdeque_steal(wsdeque *d)
{
    for (;;) {
        int64_t t = LD(d->top, SC);
        int64_t b = LD(d->bottom, SC);
        if (t >= b)
            return NULL;
        void *task = LD(SLOT(d, t), __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&d->top, &t, t + 1, false, SC, __ATOMIC_RELAXED))
            return task;
    }
}

int64_t wsdeque_size(wsdeque *d)
{
    int64_t t = LD(d->top, SC);
    int64_t b = LD(d->bottom, SC);
    return b - t < 0 ? 0 : b - t > WSDEQUE_CAP ? WSDEQUE_CAP : b - t;
}
