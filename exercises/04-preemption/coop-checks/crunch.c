/*
 * crunch.c: your cooperative checks (exercise coop-checks). Read README.md
 * first.
 *
 * These routines are correct, and as they stand they never give their
 * thread back: with GODEBUG=asyncpreemptoff=1 (no signals) at GOMAXPROCS=1,
 * a goroutine that sleeps 1 ms beside one of them wakes only when it
 * returns. Add checks so that it wakes on time, and so that a routine
 * running alone does not yield for nothing. Do not change what the
 * routines compute, nor their loop structure beyond adding the checks.
 */
#include "crunch.h"

#include "gort.h"

/* TODO: a cheap check, and calls to it in the loops below. */

uint64_t crunch_hash(const uint8_t *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void crunch_matmul(int n, const double *a, const double *b, double *c)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += a[(size_t)i * n + k] * b[(size_t)k * n + j];
            c[(size_t)i * n + j] = s;
        }
    }
}

static void insertion(int64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

void crunch_sort(int64_t *v, size_t n)
{
    while (n >= 16) {
        /* median of three as the pivot, Hoare's partition */
        int64_t a = v[0], b = v[n / 2], c = v[n - 1];
        int64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i >= j)
                break;
            int64_t t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
            j--;
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) {
            crunch_sort(v, j + 1);
            v += j + 1;
            n -= j + 1;
        } else {
            crunch_sort(v + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion(v, n);
}
