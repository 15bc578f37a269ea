/*
 * wsdeque.h: a work-stealing deque of tasks (exercise wsdeque). Read the
 * README first. You may add fields to struct wsdeque; keep the functions'
 * names and meaning: the graded tests and their fork-join pool use them.
 *
 * One owner (the goroutine that uses the deque as its own, on whatever
 * thread it runs) pushes and pops at the bottom, newest first (LIFO);
 * any number of thieves, on other threads, steal at the top, oldest first
 * (FIFO). No locks: every operation finishes in a bounded number of its
 * own steps unless another thread's operation succeeded meanwhile.
 */
#ifndef WSDEQUE_H
#define WSDEQUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSDEQUE_CAP 1024                 /* tasks held at most; a power of two */

typedef struct wsdeque {
    int64_t top;                         /* TODO: what you need */
    int64_t bottom;
    void   *buf[WSDEQUE_CAP];
} wsdeque;

void  wsdeque_init(wsdeque *d);          /* empty; before any other call */
bool  wsdeque_push(wsdeque *d, void *task);   /* owner: at the bottom; false when full */
void *wsdeque_pop(wsdeque *d);           /* owner: the newest task, or NULL when empty */
void *wsdeque_steal(wsdeque *d);         /* anyone: the oldest task, or NULL when empty */
int64_t wsdeque_size(wsdeque *d);        /* a snapshot, from any thread: 0..WSDEQUE_CAP */

#endif
