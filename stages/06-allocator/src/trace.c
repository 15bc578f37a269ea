/*
 * trace.c: GORT_TRACE=FILE, an execution trace in Chrome's Trace Event JSON
 * (the role of Go's src/runtime/trace.go and `go tool trace`; the format is
 * the one Perfetto and chrome://tracing open).
 *
 * Each M records into its own buffer, with no lock:
 *   - a complete event ("ph":"X") per stretch a goroutine ran, named
 *     "g12 worker", on the track of the P the M held (tid = P id, named
 *     "P0"...), as Go's trace viewer shows one row per P. A goroutine in a
 *     system call runs on an M without a P: that stretch goes on the M's
 *     own track (tid = 1000 + M id, named "M3 (no P)");
 *   - instant events ("ph":"i") for create, park, ready, syscall and exit.
 * A full buffer is appended to the file under tracelock. At exit
 * runtime_main, once every M is joined, writes the rest, a thread_name
 * record per track and the closing brackets. scripts/trace2png draws the
 * file as a timeline.
 *
 * Invariant: an M's buffer is touched only by that M's thread, until the M
 * is joined.
 */
#include "runtime2.h"

#include <stdarg.h>
#include <stdlib.h>

#define TRACEBUF (64 << 10)

struct tracebuf {
    size_t len;
    char   data[TRACEBUF];
};

bool trace_enabled;
static FILE   *tracef;
static mutex   tracelock;
static int64_t trace_t0;

void trace_start(const char *path)
{
    tracef = fopen(path, "w");
    if (tracef == NULL) {
        fprintf(stderr, "gort: GORT_TRACE=%s: cannot open for writing; no trace\n", path);
        return;
    }
    trace_t0 = nanotime();
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
          "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"gort\"}}", tracef);
    trace_enabled = true;
}

static void flushbuf(struct tracebuf *b)
{
    lock(&tracelock);
    fwrite(b->data, 1, b->len, tracef);
    unlock(&tracelock);
    b->len = 0;
}

static void emit(m *mp, const char *fmt, ...)
{
    if (mp->trace == NULL) {
        mp->trace = malloc(sizeof *mp->trace);
        if (mp->trace == NULL)
            return;
        mp->trace->len = 0;
    }
    struct tracebuf *b = mp->trace;
    if (TRACEBUF - b->len < 512)
        flushbuf(b);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, TRACEBUF - b->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < TRACEBUF - b->len)
        b->len += (size_t)n;
}

static double us(int64_t t) { return (double)(t - trace_t0) / 1000.0; }

enum { MTRACK = 1000 };

static int64_t track(m *mp)
{
    if (mp->p)
        return mp->p->id;
    mp->traced_nop = true;
    return MTRACK + mp->id;
}

void trace_gostart(m *mp, g *gp)
{
    (void)gp;
    mp->run_start = nanotime();
    mp->run_track = track(mp);
}

void trace_goend(m *mp, g *gp)
{
    int64_t end = nanotime();
    emit(mp, ",\n{\"name\":\"g%lld %s\",\"cat\":\"goroutine\",\"ph\":\"X\",\"ts\":%.3f,"
         "\"dur\":%.3f,\"pid\":1,\"tid\":%lld,\"args\":{\"goid\":%lld}}",
         (long long)gp->goid, gp->fn_name ? gp->fn_name : "?", us(mp->run_start),
         (double)(end - mp->run_start) / 1000.0, (long long)mp->run_track, (long long)gp->goid);
}

void trace_instant(m *mp, const char *what, g *gp)
{
    emit(mp, ",\n{\"name\":\"%s\",\"cat\":\"sched\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
         "\"pid\":1,\"tid\":%lld,\"args\":{\"goid\":%lld}}",
         what, us(nanotime()), (long long)track(mp), (long long)gp->goid);
}

static void trackname(int64_t tid, const char *fmt, long long id)
{
    char name[32];
    snprintf(name, sizeof name, fmt, id);
    fprintf(tracef, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%lld,"
            "\"args\":{\"name\":\"%s\"}}", (long long)tid, name);
}

/* After every M is joined. */
void trace_stop(void)
{
    if (!trace_enabled)
        return;
    trace_enabled = false;
    for (m *mp = sched.allm; mp; mp = mp->alllink) {
        if (mp->trace) {
            flushbuf(mp->trace);
            free(mp->trace);
            mp->trace = NULL;
        }
        if (mp->traced_nop)
            trackname(MTRACK + mp->id, "M%lld (no P)", (long long)mp->id);
    }
    for (int32_t i = 0; i < sched.allplen; i++)
        trackname(i, "P%lld", i);
    fputs("\n]}\n", tracef);
    fclose(tracef);
    tracef = NULL;
}
