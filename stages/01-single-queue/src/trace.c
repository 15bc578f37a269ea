/*
 * trace.c: GORT_TRACE=FILE, an execution trace in Chrome's Trace Event JSON
 * (the role of Go's src/runtime/trace.go and `go tool trace`; the format is
 * the one Perfetto and chrome://tracing open).
 *
 * Each M records into its own buffer, with no lock:
 *   - a complete event ("ph":"X") per stretch a goroutine ran on that M,
 *     named "g12 worker", on the M's track (tid = M id);
 *   - instant events ("ph":"i") for create, park, ready and exit.
 * A full buffer is appended to the file under tracelock. At exit
 * runtime_main, once every M is joined, writes the rest, a thread_name
 * record per M and the closing brackets. scripts/trace2png draws the file
 * as a timeline.
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

void trace_gostart(m *mp, g *gp)
{
    (void)gp;
    mp->run_start = nanotime();
}

void trace_goend(m *mp, g *gp)
{
    int64_t end = nanotime();
    emit(mp, ",\n{\"name\":\"g%lld %s\",\"cat\":\"goroutine\",\"ph\":\"X\",\"ts\":%.3f,"
         "\"dur\":%.3f,\"pid\":1,\"tid\":%lld,\"args\":{\"goid\":%lld}}",
         (long long)gp->goid, gp->fn_name ? gp->fn_name : "?", us(mp->run_start),
         (double)(end - mp->run_start) / 1000.0, (long long)mp->id, (long long)gp->goid);
}

void trace_instant(m *mp, const char *what, g *gp)
{
    emit(mp, ",\n{\"name\":\"%s\",\"cat\":\"sched\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
         "\"pid\":1,\"tid\":%lld,\"args\":{\"goid\":%lld}}",
         what, us(nanotime()), (long long)mp->id, (long long)gp->goid);
}

/* After every M is joined. */
void trace_stop(void)
{
    if (!trace_enabled)
        return;
    trace_enabled = false;
    for (int32_t i = 0; i < sched.mcount; i++) {
        m *mp = &sched.allm[i];
        if (mp->trace) {
            flushbuf(mp->trace);
            free(mp->trace);
            mp->trace = NULL;
        }
        fprintf(tracef, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%lld,"
                "\"args\":{\"name\":\"M%lld\"}}", (long long)mp->id, (long long)mp->id);
    }
    fputs("\n]}\n", tracef);
    fclose(tracef);
    tracef = NULL;
}
