/*
 * crunch.h: three CPU-bound routines of a number-crunching library
 * (exercise coop-checks). Each does a long stretch of work with no call
 * into the runtime; your job (README.md) is to place cooperative
 * preemption checks in them by hand, without changing what they compute.
 */
#ifndef CRUNCH_H
#define CRUNCH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a, 64-bit, over buf[0..len): offset basis 0xcbf29ce484222325,
 * prime 0x100000001b3, one byte at a time. */
uint64_t crunch_hash(const uint8_t *buf, size_t len);

/* c = a * b for n x n matrices of doubles, row-major; c may not alias a or b. */
void crunch_matmul(int n, const double *a, const double *b, double *c);

/* Sorts v[0..n) ascending, in place (quicksort, insertion sort below 16). */
void crunch_sort(int64_t *v, size_t n);

#endif
