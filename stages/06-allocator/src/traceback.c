/*
 * traceback.c: goroutine dumps and leak checks (mirrors Go's
 * src/runtime/traceback.go: goroutineheader, tracebackothers; and the idea
 * of go.uber.org/goleak's VerifyNone).
 *
 * A dump prints one block per live goroutine, as Go's SIGQUIT dump does:
 *
 *     goroutine 7 [chan receive, 2 minutes]:
 *     worker(...)
 *     created by app in goroutine 1
 *     	lab.c:42
 *
 * The status is the wait reason of a parked goroutine (Go's words), with
 * the time it has waited once that reaches a minute, as Go prints it. Go
 * can print every frame of every stack because its compiler records frame
 * layouts; gort knows each goroutine's function and where go() was called,
 * which is what finding a leak needs.
 *
 * The runtime's own goroutines (g.system: maxprocs.c's updater) are left
 * out of dumps and leak checks, as Go leaves out its system goroutines
 * unless GOTRACEBACK=system.
 *
 * Invariant: allgs only grows during a run, and a G's creation fields are
 * written before it becomes runnable, so a dump under allglock reads them
 * safely.
 */
#include "runtime2.h"

static const char *statusname(g *gp, uint32_t st)
{
    switch (st) {
    case _Grunnable: return "runnable";
    case _Grunning:  return "running";
    case _Gsyscall:  return "syscall";
    case _Gwaiting: {
        const char *r = __atomic_load_n(&gp->waitreason, __ATOMIC_RELAXED);
        return r ? r : "waiting";
    }
    case _Gdead:     return "dead";
    default:         return "idle";
    }
}

static void printone(FILE *out, g *gp, bool current)
{
    uint32_t st = readgstatus(gp);
    if (current)
        fprintf(out, "goroutine %lld [running]:\n", (long long)gp->goid);
    else if (st == _Gwaiting) {
        int64_t since = __atomic_load_n(&gp->waitsince, __ATOMIC_RELAXED);
        int64_t mins = (nanotime() - since) / 60000000000LL;
        if (since != 0 && mins >= 1)
            fprintf(out, "goroutine %lld [%s, %lld minute%s]:\n", (long long)gp->goid,
                    statusname(gp, st), (long long)mins, mins == 1 ? "" : "s");
        else
            fprintf(out, "goroutine %lld [%s]:\n", (long long)gp->goid, statusname(gp, st));
    } else
        fprintf(out, "goroutine %lld [%s]:\n", (long long)gp->goid, statusname(gp, st));
    fprintf(out, "%s(...)\n", gp->fn_name ? gp->fn_name : "?");
    if (gp->parent_goid != 0 || gp->creator_file) {
        fprintf(out, "created by %s in goroutine %lld\n",
                gp->creator_fn ? gp->creator_fn : "?", (long long)gp->parent_goid);
        fprintf(out, "\t%s:%d\n", gp->creator_file ? gp->creator_file : "?", gp->creator_line);
    }
}

/* Prints `first` (if any) as the running goroutine, then every other
 * goroutine that is not dead. Used by the death path: takes no lock. */
void dumpgoroutines(FILE *out, g *first)
{
    bool printed = first != NULL;
    if (first)
        printone(out, first, true);
    for (size_t i = 0; i < allglen; i++) {
        g *gp = allgs[i];
        if (gp == first || gp->system || readgstatus(gp) == _Gdead)
            continue;
        if (printed)
            fputc('\n', out);
        printone(out, gp, false);
        printed = true;
    }
}

void runtime_print_goroutines(FILE *out)
{
    if (out == NULL)
        out = stderr;
    g *self = getg();
    lock(&allglock);
    dumpgoroutines(out, self);
    unlock(&allglock);
    fflush(out);
}

int runtime_leak_check(int64_t timeout_ns, FILE *report)
{
    g *self = getg();
    if (self == NULL)
        gort_fatal_outside("runtime_leak_check()");
    int64_t deadline = deadline_after(timeout_ns);
    int64_t step = 100000;      /* 100 us, doubling up to 10 ms */
    while (runtime_num_goroutine() > 1) {
        int64_t left = deadline - nanotime();
        if (left <= 0)
            break;
        time_sleep(step < left ? step : left);
        if (step < 10000000)
            step *= 2;
    }
    lock(&allglock);
    int n = 0;
    for (size_t i = 0; i < allglen; i++)
        if (allgs[i] != self && !allgs[i]->system && readgstatus(allgs[i]) != _Gdead)
            n++;
    if (n > 0 && report) {
        fprintf(report, "found %d leaked goroutine%s:\n", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < allglen; i++) {
            g *gp = allgs[i];
            if (gp == self || gp->system || readgstatus(gp) == _Gdead)
                continue;
            fputc('\n', report);
            printone(report, gp, false);
        }
        fflush(report);
    }
    unlock(&allglock);
    return n;
}
