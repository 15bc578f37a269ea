/*
 * schedtrace.c: GODEBUG=schedtrace=MS,scheddetail=1 (mirrors Go's
 * schedtrace in src/runtime/proc.go).
 *
 * Every MS milliseconds one line on stderr, in Go's format:
 *
 *   SCHED 1004ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 idlethreads=1 runqueue=0
 *
 * Stage 01 has no P, so an idle M stands for an idle P. With scheddetail=1
 * a line per M and per goroutine follows, as Go prints them. In Go, sysmon
 * prints these lines; stage 01 has no sysmon yet (stage 04 adds it), so a
 * small thread of its own does, and runtime_main joins it at exit.
 */
#include "runtime2.h"

static pthread_t tracer;
static note stopnote;
static bool started;

void schedtrace(bool detailed, FILE *out)
{
    int64_t ms = (nanotime() - sched.starttime) / 1000000;
    lock(&sched.lock);
    int32_t idle = sched.nmidle;
    fprintf(out, "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=0 "
            "idlethreads=%d runqueue=%d", (long long)ms, sched.gomaxprocs, idle,
            sched.mcount + 2, idle, sched.runqsize);
    if (detailed)
        fprintf(out, " gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0\n");
    else
        fputc('\n', out);
    unlock(&sched.lock);
    if (!detailed)
        return;
    for (int32_t i = 0; i < sched.mcount; i++) {
        m *mp = &sched.allm[i];
        g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
        fprintf(out, "  M%lld: p=-1 curg=%lld mallocing=0 throwing=0 preemptoff= locks=0 "
                "dying=0 spinning=false blocked=%s lockedg=-1\n", (long long)mp->id,
                gp ? (long long)__atomic_load_n(&gp->goid, __ATOMIC_RELAXED) : -1LL,
                __atomic_load_n(&mp->idle, __ATOMIC_RELAXED) ? "true" : "false");
    }
    lock(&allglock);
    for (size_t i = 0; i < allglen; i++) {
        g *gp = allgs[i];
        uint32_t st = readgstatus(gp);
        if (st == _Gdead)
            continue;
        m *mp = __atomic_load_n(&gp->m, __ATOMIC_RELAXED);
        const char *reason = __atomic_load_n(&gp->waitreason, __ATOMIC_RELAXED);
        fprintf(out, "  G%lld: status=%u(%s) m=%lld lockedm=-1\n",
                (long long)__atomic_load_n(&gp->goid, __ATOMIC_RELAXED), st,
                st == _Gwaiting && reason ? reason : "",
                mp ? (long long)mp->id : -1LL);
    }
    unlock(&allglock);
}

static void *tracerloop(void *arg)
{
    (void)arg;
    while (!notetsleep(&stopnote, (int64_t)debug.schedtrace * 1000000)) {
        schedtrace(debug.scheddetail != 0, stderr);
        fflush(stderr);
    }
    return NULL;
}

void schedtrace_start(void)
{
    started = false;
    if (debug.schedtrace <= 0)
        return;
    noteclear(&stopnote);
    started = pthread_create(&tracer, NULL, tracerloop, NULL) == 0;
}

void schedtrace_stop(void)
{
    if (!started)
        return;
    notewakeup(&stopnote);
    pthread_join(tracer, NULL);
    started = false;
}
