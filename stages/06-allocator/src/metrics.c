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
 * and, stage 06, the heap's (Go's names; "objects" counts tiny objects
 * one by one, and bytes are slot bytes: a size class's, a tiny block's 16
 * once, a large object's pages):
 *   /gc/heap/allocs:bytes             TotalAlloc
 *   /gc/heap/allocs:objects           Mallocs
 *   /gc/heap/frees:bytes              slot bytes freed
 *   /gc/heap/frees:objects            Frees
 *   /gc/heap/objects:objects          HeapObjects
 *   /memory/classes/heap/objects:bytes HeapAlloc
 *   /gc/heap/allocs-by-size:bytes     histogram: objects by size class
 *                                     (Go's buckets: [1, 9), [9, 17) ...
 *                                     [32769, +Inf) for large objects)
 * Any other name gives METRIC_BAD, as an unknown name does in Go.
 *
 * Stage 06: how MemStats is read. Go stops the world; gort sums the per-P
 * counters (mcache.st, each written by its P's M only) and the heap's
 * (under its lock) without stopping anything, so it may be called from
 * any thread. The figures are exact whenever nothing allocates or frees
 * meanwhile (the tests' case); while other Ps run, each counter is one
 * that was true at some moment of the read, and HeapAlloc is computed
 * from the same sums as Mallocs and Frees, never from a second read.
 *
 * A histogram's buckets and counts point into the runtime's own snapshot,
 * valid until the next metrics_read call.
 */
#include "runtime2.h"
#include "mheap.h"

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
    /* Stage 06: the heap. */
    mstatslocal st;
    uint64_t heapsys, heapinuse, meta;
    mallocstats(&st);
    mheap_stats(&heapsys, &heapinuse, &meta);
    ms->HeapAlloc = ms->Alloc = st.allocbytes - st.freebytes;
    ms->TotalAlloc = st.allocbytes;
    ms->Mallocs = st.nmalloc;
    ms->Frees = st.nfree;
    ms->HeapObjects = st.nmalloc - st.nfree;
    ms->HeapSys = heapsys;
    ms->HeapInuse = heapinuse;
    ms->HeapIdle = heapsys - heapinuse;
    ms->Sys = ms->StackSys + heapsys + meta;
}

/* Stage 06: /gc/heap/allocs-by-size:bytes, Go's buckets. */
static double   sizebounds[_NumSizeClasses + 1];
static uint64_t sizesnapshot[_NumSizeClasses];

static uint64_t memstat(const char *name)
{
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    if (strcmp(name, "/gc/heap/allocs:bytes") == 0) return ms.TotalAlloc;
    if (strcmp(name, "/gc/heap/allocs:objects") == 0) return ms.Mallocs;
    if (strcmp(name, "/gc/heap/frees:bytes") == 0) return ms.TotalAlloc - ms.HeapAlloc;
    if (strcmp(name, "/gc/heap/frees:objects") == 0) return ms.Frees;
    if (strcmp(name, "/gc/heap/objects:objects") == 0) return ms.HeapObjects;
    if (strcmp(name, "/memory/classes/heap/objects:bytes") == 0) return ms.HeapAlloc;
    return ms.Sys;                                   /* /memory/classes/total:bytes */
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
        } else if (strcmp(name, "/memory/classes/total:bytes") == 0 ||     /* stage 06 */
                   strcmp(name, "/gc/heap/allocs:bytes") == 0 ||
                   strcmp(name, "/gc/heap/allocs:objects") == 0 ||
                   strcmp(name, "/gc/heap/frees:bytes") == 0 ||
                   strcmp(name, "/gc/heap/frees:objects") == 0 ||
                   strcmp(name, "/gc/heap/objects:objects") == 0 ||
                   strcmp(name, "/memory/classes/heap/objects:bytes") == 0) {
            s->value.u64 = memstat(name);
        } else if (strcmp(name, "/gc/heap/allocs-by-size:bytes") == 0) {  /* stage 06 */
            mstatslocal st;
            mallocstats(&st);
            sizebounds[0] = 1;
            for (int c = 1; c < _NumSizeClasses; c++) {
                sizebounds[c] = class_to_size[c] + 1;
                sizesnapshot[c - 1] = st.bysize[c];
            }
            sizebounds[_NumSizeClasses] = INFINITY;
            sizesnapshot[_NumSizeClasses - 1] = st.bysize[0];
            s->kind = METRIC_HIST;
            s->value.hist.n = _NumSizeClasses;
            s->value.hist.buckets = sizebounds;
            s->value.hist.counts = sizesnapshot;
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
