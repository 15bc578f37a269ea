/*
 * leakdetect.c: a goroutine-leak detector on stage 01's internals
 * (reference solution). Go's nearest relatives: the goroutine profile
 * (runtime/pprof, "goroutine" with debug=1 groups identical stacks) and
 * go.uber.org/goleak; gort has creation sites instead of stacks.
 *
 * The protocol:
 *   1. Read the clock and the caller's G first (nothing below parks).
 *   2. Under allglock, walk allgs. allgs only grows during a run, and a G's
 *      creation fields (fn_name, creator_*) are written before it first
 *      becomes runnable and never while it is live, so under allglock they
 *      are safe to read. atomicstatus, waitreason and waitsince change
 *      without that lock, so they are read with __atomic loads; a G that
 *      wakes between the status load and the reason load is reported with
 *      the reason it just had, which is as good as a snapshot can be.
 *   3. Keep a G if it is _Gwaiting, not the caller, and parked for longer
 *      than min_ns (waitsince is a coarse clock, a few ms; fine for leaks).
 *      Add it to its group (reason, fn, creator fn, file, line): the
 *      strings are static (go() records literals), so pointers may be
 *      kept after unlocking.
 *   4. Unlock, then sort and print: printing under allglock would hold up
 *      every go() in the program for the time of a write(2).
 */
#include "leakdetect.h"
#include "runtime2.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *reason, *fn, *creator, *file;
    int line, n;
} group;

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int bycount(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    if (a->n != b->n)
        return b->n - a->n;
    int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
    if (c != 0)
        return c;
    if (a->line != b->line)
        return a->line - b->line;
    return strcmp(a->reason, b->reason);
}

int leak_report(int64_t min_ns, FILE *out)
{
    g *self = getg();
    int64_t now = nanotime();
    group *groups = NULL;
    int ngroups = 0, cap = 0, total = 0;

    lock(&allglock);
    for (size_t i = 0; i < allglen; i++) {
        g *gp = allgs[i];
        if (gp == self || readgstatus(gp) != _Gwaiting)
            continue;
        int64_t since = __atomic_load_n(&gp->waitsince, __ATOMIC_RELAXED);
        if (since == 0 || now - since <= min_ns)
            continue;
        const char *reason = __atomic_load_n(&gp->waitreason, __ATOMIC_RELAXED);
        group key = { reason ? reason : "waiting", gp->fn_name ? gp->fn_name : "?",
                      gp->creator_fn, gp->creator_file, gp->creator_line, 1 };
        int k;
        for (k = 0; k < ngroups; k++) {
            group *x = &groups[k];
            if (same(x->reason, key.reason) && same(x->fn, key.fn) &&
                same(x->creator, key.creator) && same(x->file, key.file) && x->line == key.line)
                break;
        }
        if (k < ngroups) {
            groups[k].n++;
        } else {
            if (ngroups == cap) {
                cap = cap ? 2 * cap : 16;
                group *ng = realloc(groups, (size_t)cap * sizeof *ng);
                if (ng == NULL) {
                    unlock(&allglock);
                    gort_throw("leak_report: out of memory");
                }
                groups = ng;
            }
            groups[ngroups++] = key;
        }
        total++;
    }
    unlock(&allglock);

    qsort(groups, (size_t)ngroups, sizeof *groups, bycount);
    fprintf(out, "leak report: %d goroutine%s parked longer than %lld ms\n", total,
            total == 1 ? "" : "s", (long long)(min_ns / 1000000));
    for (int k = 0; k < ngroups; k++) {
        group *x = &groups[k];
        fprintf(out, "  %d x [%s] %s(...)", x->n, x->reason, x->fn);
        if (x->file)
            fprintf(out, " created by %s at %s:%d", x->creator ? x->creator : "?", x->file,
                    x->line);
        fputc('\n', out);
    }
    fflush(out);
    free(groups);
    return total;
}
