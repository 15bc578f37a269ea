/*
 * schedtrace.c: GODEBUG=schedtrace=MS,scheddetail=1 (mirrors Go's
 * schedtrace in src/runtime/proc.go).
 *
 * Every MS milliseconds one line on stderr, in Go 1.19's format, ending
 * with the length of each P's local run queue:
 *
 *   SCHED 1004ms: gomaxprocs=2 idleprocs=1 threads=4 spinningthreads=0 idlethreads=1 runqueue=0 [3 0]
 *
 * With scheddetail=1 the header gains gcwaiting, nmidlelocked, stopwait and
 * sysmonwait, and a line per P, per M and per goroutine follows, as Go
 * prints them. In Go, sysmon prints these lines; this stage has no sysmon
 * yet (stage 04 adds it), so a small thread of its own does, and
 * runtime_main joins it at exit. threads= counts the Ms, runtime_main's
 * thread and this one. The Ps' queues are read without stopping their
 * owners, so a line is a snapshot that may be a few Gs off, as in Go.
 */
#include "runtime2.h"

static pthread_t tracer;
static note stopnote;
static bool started;

static long long mid(m *mp) { return mp ? (long long)mp->id : -1LL; }

void schedtrace(bool detailed, FILE *out)
{
    int64_t ms = (nanotime() - sched.starttime) / 1000000;
    lock(&sched.lock);
    fprintf(out, "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
            "idlethreads=%d runqueue=%d", (long long)ms, sched.gomaxprocs, sched.npidle,
            sched.mcount + 2, __atomic_load_n(&sched.nmspinning, __ATOMIC_RELAXED),
            sched.nmidle, sched.runqsize);
    if (detailed)
        fprintf(out, " gcwaiting=%u nmidlelocked=%d stopwait=%d sysmonwait=0\n",
                sched.gcwaiting, sched.nmidlelocked, sched.stopwait);
    for (int32_t i = 0; i < sched.gomaxprocs; i++) {
        p *pp = sched.allp[i];
        uint32_t n = runqlen(pp);
        if (detailed) {
            fprintf(out, "  P%d: status=%u schedtick=%u syscalltick=%u m=", i,
                    __atomic_load_n(&pp->status, __ATOMIC_RELAXED),
                    __atomic_load_n(&pp->schedtick, __ATOMIC_RELAXED),
                    __atomic_load_n(&pp->syscalltick, __ATOMIC_RELAXED));
            if (pp->m)
                fprintf(out, "%lld", (long long)pp->m->id);
            else
                fputs("nil", out);
            fprintf(out, " runqsize=%u gfreecnt=0 timerslen=%d\n", n,
                    __atomic_load_n(&pp->numtimers, __ATOMIC_RELAXED));   /* stage 05 */
        } else {
            fprintf(out, "%s%u%s", i == 0 ? " [" : " ", n,
                    i == sched.gomaxprocs - 1 ? "]\n" : "");
        }
    }
    if (!detailed) {
        unlock(&sched.lock);
        return;
    }
    for (m *mp = sched.allm; mp; mp = mp->alllink) {
        g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
        p *mpp = __atomic_load_n(&mp->p, __ATOMIC_RELAXED);  /* stage 04: exitsyscall sets it unlocked */
        fprintf(out, "  M%lld: p=%d curg=%lld mallocing=0 throwing=0 preemptoff= locks=0 "
                "dying=0 spinning=%s blocked=%s lockedg=%lld\n", (long long)mp->id,
                mpp ? mpp->id : -1, gp ? (long long)__atomic_load_n(&gp->goid, __ATOMIC_RELAXED) : -1LL,
                __atomic_load_n(&mp->spinning, __ATOMIC_RELAXED) ? "true" : "false",
                __atomic_load_n(&mp->blocked, __ATOMIC_RELAXED) ? "true" : "false",
                mp->lockedg ? (long long)__atomic_load_n(&mp->lockedg->goid, __ATOMIC_RELAXED) : -1LL);
    }
    unlock(&sched.lock);
    lock(&allglock);
    for (size_t i = 0; i < allglen; i++) {
        g *gp = allgs[i];
        uint32_t st = readgstatus(gp);
        if (st == _Gdead)
            continue;
        const char *reason = __atomic_load_n(&gp->waitreason, __ATOMIC_RELAXED);
        fprintf(out, "  G%lld: status=%u(%s) m=%lld lockedm=%lld\n",
                (long long)__atomic_load_n(&gp->goid, __ATOMIC_RELAXED), st,
                st == _Gwaiting && reason ? reason : "",
                mid(__atomic_load_n(&gp->m, __ATOMIC_RELAXED)),
                mid(__atomic_load_n(&gp->lockedm, __ATOMIC_RELAXED)));
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
