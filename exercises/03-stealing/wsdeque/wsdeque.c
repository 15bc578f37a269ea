/*
 * wsdeque.c: your work-stealing deque (exercise wsdeque). Read the README
 * and wsdeque.h first.
 */
#include "wsdeque.h"

/* As it stands the deque holds nothing: every push fails. */

void wsdeque_init(wsdeque *d)
{
    d->top = d->bottom = 0;      /* TODO */
}

bool wsdeque_push(wsdeque *d, void *task)
{
    (void)d, (void)task;         /* TODO */
    return false;
}

void *wsdeque_pop(wsdeque *d)
{
    (void)d;                     /* TODO */
    return NULL;
}

void *wsdeque_steal(wsdeque *d)
{
    (void)d;                     /* TODO */
    return NULL;
}

int64_t wsdeque_size(wsdeque *d)
{
    (void)d;                     /* TODO */
    return 0;
}
