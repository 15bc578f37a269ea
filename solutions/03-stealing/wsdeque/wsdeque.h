/*
 * wsdeque.h: a work-stealing deque of tasks (exercise wsdeque, reference
 * solution): Chase and Lev's deque (SPAA 2005) with a fixed ring, in the
 * C11 form of Le, Pop, Cohen and Zappa Nardelli (PPoPP 2013).
 *
 * One owner pushes and pops at the bottom, newest first (LIFO); any number
 * of thieves steal at the top, oldest first (FIFO).
 */
#ifndef WSDEQUE_H
#define WSDEQUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSDEQUE_CAP 1024                 /* tasks held at most; a power of two */

/* Invariant: 0 <= bottom - top <= WSDEQUE_CAP between operations; the
 * tasks are buf[i % CAP] for top <= i < bottom. top only grows (by CAS:
 * the thieves' and the owner's claim of the last task); bottom is written
 * only by the owner. */
typedef struct wsdeque {
    int64_t top;                         /* atomic; next task a thief takes */
    char    pad_[56];                    /* top and bottom on separate cache lines */
    int64_t bottom;                      /* atomic; written by the owner only */
    void   *buf[WSDEQUE_CAP];            /* atomic (relaxed) slots */
} wsdeque;

void  wsdeque_init(wsdeque *d);          /* empty; before any other call */
bool  wsdeque_push(wsdeque *d, void *task);   /* owner: at the bottom; false when full */
void *wsdeque_pop(wsdeque *d);           /* owner: the newest task, or NULL when empty */
void *wsdeque_steal(wsdeque *d);         /* anyone: the oldest task, or NULL when empty */
int64_t wsdeque_size(wsdeque *d);        /* a snapshot, from any thread: 0..WSDEQUE_CAP */

#endif
