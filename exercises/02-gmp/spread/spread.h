/*
 * spread.h: starting goroutines that idle Ps can pick up (exercise spread,
 * stage 02). This header is the specification; implement it in spread.c.
 *
 * In stage 02 a goroutine started with go() waits on the LOCAL run queue
 * of its creator's P, and no other P ever looks there (stealing comes in
 * stage 03): main starting 8 CPU-bound goroutines at GOMAXPROCS=4 runs them
 * all on one P while three sit idle. These calls spread work using only the
 * public API (gort.h): the global run queue is what idle Ps see.
 */
#ifndef SPREAD_H
#define SPREAD_H

/* Like go(fn, arg), but the new goroutine's body may run on any P: an idle
 * P can pick it up even while the creator's P is busy. fn must not be NULL
 * (the same panic as go()). */
void go_spread(void (*fn)(void *arg), void *arg);

/* Calls fn(i, arg) once for every i in [0, n), each on a goroutine started
 * with go_spread, and returns when all have returned. n <= 0 returns at
 * once. Callable from any goroutine, nested included. */
void parallel_for(int n, void (*fn)(int i, void *arg), void *arg);

#endif /* SPREAD_H */
