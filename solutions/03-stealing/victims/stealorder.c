/*
 * stealorder.c: the victim order of stealwork as a uniformly random
 * permutation (exercise victims, reference solution).
 *
 * The problem. Go's randomOrder (the stage's order) starts at a random P
 * and steps by a random stride coprime with the number of Ps: O(1) per
 * step, but it can produce only count * phi(count) of the count! orders
 * (8 of 24 at four Ps), and after the first victim the rest follow at a
 * fixed stride, so two thieves that drew the same stride and neighbouring
 * starts meet at every step.
 *
 * The design: Fisher-Yates, one swap per step. stealorder_start lays out
 * the identity in e->perm and seeds a generator in e->state from r;
 * each step picks j uniformly in [i, count), swaps perm[i] and perm[j],
 * and visits perm[i]. With a uniform generator every order has the same
 * chance, and the first k victims cost k draws. The O(count) identity is
 * written once per round, a round that visits count Ps anyway.
 *
 * The order is a function of (count, r) alone: stealwork's draw comes from
 * the per-M seeded generator (rand.c), so GODEBUG=schedseed=N still fixes
 * each thread's victims. No lock, no allocation, no global state but the
 * count: every thief owns its randomenum.
 */
#include "runtime2.h"

static uint32_t nprocs;          /* written with the world stopped */

void stealorder_reset(uint32_t count)
{
    if (count == 0 || count > MAXGOMAXPROCS)
        gort_throw("stealorder_reset: count out of range");
    nprocs = count;
}

/* splitmix64: a full-period generator whose outputs pass BigCrush; one
 * add and a few multiplies per draw. */
static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-50). */
static uint32_t below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((unsigned __int128)next64(s) * n) >> 64);
}

/* perm[i] becomes a uniform choice among perm[i .. count). */
static void pick(randomenum *e)
{
    uint32_t j = e->i + below(&e->state, e->count - e->i);
    uint16_t t = e->perm[j];
    e->perm[j] = e->perm[e->i];
    e->perm[e->i] = t;
    e->pos = t;
}

void stealorder_start(randomenum *e, uint32_t r)
{
    e->i = 0;
    e->count = nprocs;
    e->state = r;
    for (uint32_t k = 0; k < e->count; k++)
        e->perm[k] = (uint16_t)k;
    pick(e);
}

void randomenum_next(randomenum *e)
{
    if (++e->i < e->count)
        pick(e);
}
