/*
 * metrics.c: runtime_read_mem_stats and metrics_read (mirrors Go's
 * src/runtime/mstats.go and src/runtime/metrics.go).
 *
 * Stage 01 has no heap of its own, so of MemStats it fills what it owns:
 * the goroutine stacks (StackInuse, StackSys) and Sys, the address space it
 * holds. The heap and GC fields stay zero until stages 06-08 fill them.
 *
 * Metrics, by Go's names where Go has one:
 *   /sched/goroutines:goroutines      goroutines alive
 *   /sched/gomaxprocs:threads         GOMAXPROCS
 *   /sched/latencies:seconds          histogram: time from ready to running,
 *                                     one transition in eight sampled (Go
 *                                     samples likewise)
 *   /sched/context-switches:events    goroutines put on a P (summed over Ps)
 *   /sched/steals:events              successful steals (runqsteal), summed
 *                                     over Ps; gort's name, Go has none
 *   /sched/stolen:goroutines          goroutines taken in them; gort's
 *   /sched/spinning:seconds           time Ms spent spinning (looking for
 *                                     work to steal), in total; gort's
 *   /sched/preemptions:events         goroutines preempted, both ways (stage 04)
 * and gort's own, for the stage-04 tests and labs (Go has no such split):
 *   /gort/preemptions/cooperative:events  honoured at a safe point
 *   /gort/preemptions/async:events        taken by the SIGURG trampoline
 *   /gort/preemptions/refused:events      a signal that found no safe point
 *   /gort/netpoll/waits:events            stage 05: parks on a pollDesc ("IO wait")
 *   /gort/netpoll/ready:events            stage 05: goroutines the poll returned
 *   /memory/classes/total:bytes       Sys
 * Any other name gives METRIC_BAD, as an unknown name does in Go.
 *
 * A histogram's buckets and counts point into the runtime's own snapshot,
 * valid until the next metrics_read call.
 */
#include "runtime2.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Bucket i counts latencies in [bounds[i], bounds[i+1]): 0, then powers
 * of two nanoseconds from 1 ns to 2^36 ns (69 s), then +Inf. */
#define NLATBUCKETS 38
static uint64_t latcounts[NLATBUCKETS];
static double   latbounds[NLATBUCKETS + 1];
static uint64_t latsnapshot[NLATBUCKETS];

void metrics_reset(void)
{
    memset(latcounts, 0, sizeof latcounts);
    latbounds[0] = 0;
    for (int i = 1; i < NLATBUCKETS; i++)
        latbounds[i] = ldexp(1.0, i - 1) * 1e-9;
    latbounds[NLATBUCKETS] = INFINITY;
}

void metrics_record_latency(int64_t ns)
{
    int b = 0;
    if (ns > 0) {
        b = 64 - __builtin_clzll((uint64_t)ns);   /* 2^(b-1) <= ns < 2^b */
        if (b > NLATBUCKETS - 1)
            b = NLATBUCKETS - 1;
    }
    __atomic_add_fetch(&latcounts[b], 1, __ATOMIC_RELAXED);
}

/* Summed over every P ever made: a P beyond GOMAXPROCS keeps its count. */
static uint64_t sumps(size_t offset)
{
    uint64_t n = 0;
    int32_t np = __atomic_load_n(&sched.allplen, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; sched.allp && i < np; i++) {
        p *pp = __atomic_load_n(&sched.allp[i], __ATOMIC_ACQUIRE);
        n += __atomic_load_n((uint64_t *)((char *)pp + offset), __ATOMIC_RELAXED);
    }
    return n;
}

void runtime_read_mem_stats(runtime_mem_stats *ms)
{
    memset(ms, 0, sizeof *ms);
    stackstats(&ms->StackInuse, &ms->StackSys);
    ms->Sys = ms->StackSys;
}

void metrics_read(metrics_sample *samples, int n)
{
    for (int i = 0; i < n; i++) {
        metrics_sample *s = &samples[i];
        const char *name = s->name ? s->name : "";
        s->kind = METRIC_U64;
        if (strcmp(name, "/sched/goroutines:goroutines") == 0) {
            s->value.u64 = (uint64_t)runtime_num_goroutine();
        } else if (strcmp(name, "/sched/gomaxprocs:threads") == 0) {
            s->value.u64 = (uint64_t)runtime_gomaxprocs(0);
        } else if (strcmp(name, "/sched/context-switches:events") == 0) {
            s->value.u64 = sumps(offsetof(p, nswitch));
        } else if (strcmp(name, "/sched/steals:events") == 0) {
            s->value.u64 = sumps(offsetof(p, nsteal));
        } else if (strcmp(name, "/sched/stolen:goroutines") == 0) {
            s->value.u64 = sumps(offsetof(p, nstolen));
        } else if (strcmp(name, "/sched/spinning:seconds") == 0) {
            s->kind = METRIC_F64;
            s->value.f64 = (double)__atomic_load_n(&sched.spinningns, __ATOMIC_RELAXED) * 1e-9;
        } else if (strcmp(name, "/sched/preemptions:events") == 0) {
            s->value.u64 = __atomic_load_n(&sched.npreemptcoop, __ATOMIC_RELAXED) +
                           __atomic_load_n(&sched.npreemptasync, __ATOMIC_RELAXED);
        } else if (strcmp(name, "/gort/preemptions/cooperative:events") == 0) {
            s->value.u64 = __atomic_load_n(&sched.npreemptcoop, __ATOMIC_RELAXED);
        } else if (strcmp(name, "/gort/preemptions/async:events") == 0) {
            s->value.u64 = __atomic_load_n(&sched.npreemptasync, __ATOMIC_RELAXED);
        } else if (strcmp(name, "/gort/preemptions/refused:events") == 0) {
            s->value.u64 = __atomic_load_n(&sched.npreemptrefused, __ATOMIC_RELAXED);
        } else if (strcmp(name, "/gort/netpoll/waits:events") == 0) {
            uint64_t w, r;       /* stage 05: parks on a pollDesc */
            netpollstats(&w, &r);
            samples[i].kind = METRIC_U64;
            samples[i].value.u64 = w;
        } else if (strcmp(name, "/gort/netpoll/ready:events") == 0) {
            uint64_t w, r;       /* stage 05: Gs the poll returned */
            netpollstats(&w, &r);
            samples[i].kind = METRIC_U64;
            samples[i].value.u64 = r;
        } else if (strcmp(name, "/memory/classes/total:bytes") == 0) {
            uint64_t inuse, sys;
            stackstats(&inuse, &sys);
            s->value.u64 = sys;
        } else if (strcmp(name, "/sched/latencies:seconds") == 0) {
            for (int b = 0; b < NLATBUCKETS; b++)
                latsnapshot[b] = __atomic_load_n(&latcounts[b], __ATOMIC_RELAXED);
            s->kind = METRIC_HIST;
            s->value.hist.n = NLATBUCKETS;
            s->value.hist.buckets = latbounds;
            s->value.hist.counts = latsnapshot;
        } else {
            s->kind = METRIC_BAD;
        }
    }
}
