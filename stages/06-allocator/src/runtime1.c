/*
 * runtime1.c: reading the environment (mirrors Go's
 * src/runtime/runtime1.go: parsedebugvars, and proc.go's reading of
 * GOMAXPROCS in schedinit).
 *
 *   GOMAXPROCS=N                      number of threads running goroutines;
 *                                     unset: defaultgomaxprocs (os_linux.c),
 *                                     kept up to date (maxprocs.c); set: fixed
 *   GODEBUG=schedtrace=MS,scheddetail=1,asyncpreemptoff=1
 *   GODEBUG=updatemaxprocs=0          no updates of the default (Go 1.25)
 *   GODEBUG=containermaxprocs=0       the default leaves the cgroup CPU
 *                                     limit out (Go 1.25)
 *   GODEBUG=preemptslice=MS           time slice before sysmon preempts a G
 *                                     (stage 04; Go's forcePreemptNS, 10 ms;
 *                                     Go has no knob for it)
 *   GODEBUG=schedseed=N               seed of every random choice (rand.c)
 *   GODEBUG=fakeclock=1               the fake clock (time_fake.c)
 *   GORT_TRACE=FILE                   Chrome Trace Event JSON
 *   GORT_CGROUP_ROOT=DIR              a fake cgroup tree (os_linux.c; tests)
 *
 * A malformed value is never taken silently: gort names the variable, the
 * value and what it expected on stderr, and goes on with the default. (Go
 * itself ignores a bad GOMAXPROCS without a word; a course runtime should
 * say so.) Unknown GODEBUG keys are ignored, as in Go, since they may be
 * meant for a later stage or for Go itself.
 */
#include "runtime2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAXGOMAXPROCS 1024      /* Go's _MaxGomaxprocs */

debugvars debug;

static bool parseint(const char *s, size_t len, long lo, long hi, long *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A decimal uint64 (a seed may be any of the 2^64 values). */
static bool parseu64(const char *s, size_t len, uint64_t *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf || s[0] < '0' || s[0] > '9')
        return false;             /* strtoull would take "-1" and " 1" */
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

static void godebugvar(const char *kv, size_t len)
{
    const char *eq = memchr(kv, '=', len);
    if (eq == NULL) {
        fprintf(stderr, "gort: GODEBUG: \"%.*s\": expected key=value; ignored\n", (int)len, kv);
        return;
    }
    size_t klen = (size_t)(eq - kv), vlen = len - klen - 1;
    const char *val = eq + 1;
    if (klen == 9 && memcmp(kv, "schedseed", 9) == 0) {
        if (parseu64(val, vlen, &debug.schedseed))
            debug.schedseedset = true;
        else
            fprintf(stderr, "gort: GODEBUG: schedseed=%.*s: expected an unsigned decimal "
                    "integer below 2^64; using a random seed\n", (int)vlen, val);
        return;
    }
    struct { const char *name; int32_t *dst; long min, max; const char *want; } vars[] = {
        { "schedtrace", &debug.schedtrace, 0, 3600000, "a period in milliseconds" },
        { "scheddetail", &debug.scheddetail, 0, 1, "0 or 1" },
        { "asyncpreemptoff", &debug.asyncpreemptoff, 0, 1, "0 or 1" },
        { "fakeclock", &debug.fakeclock, 0, 1, "0 or 1" },
        { "updatemaxprocs", &debug.updatemaxprocs, 0, 1, "0 or 1" },
        { "containermaxprocs", &debug.containermaxprocs, 0, 1, "0 or 1" },
        { "preemptslice", &debug.preemptslice, 1, 60000,
          "a time slice in milliseconds from 1 to 60000" },
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strlen(vars[i].name) != klen || memcmp(vars[i].name, kv, klen) != 0)
            continue;
        long v;
        if (parseint(val, vlen, vars[i].min, vars[i].max, &v))
            *vars[i].dst = (int32_t)v;
        else
            fprintf(stderr, "gort: GODEBUG: %s=%.*s: expected %s; ignored\n",
                    vars[i].name, (int)vlen, val, vars[i].want);
        return;
    }
}

/* Reads GODEBUG, GORT_TRACE and GORT_CGROUP_ROOT into debug; returns
 * GOMAXPROCS: the environment's, or the default for ncpu CPUs (Go's
 * schedinit: defaultGOMAXPROCS, then GOMAXPROCS; debug.gomaxprocsenv is
 * Go's sched.customGOMAXPROCS at startup). */
int parseenv(int ncpu)
{
    memset(&debug, 0, sizeof debug);
    debug.updatemaxprocs = 1;           /* Go 1.25's defaults */
    debug.containermaxprocs = 1;
    debug.preemptslice = 10;            /* Go's forcePreemptNS: 10 ms */
    const char *s = getenv("GODEBUG");
    while (s && *s) {
        size_t len = strcspn(s, ",");
        if (len > 0)
            godebugvar(s, len);
        s += len;
        if (*s == ',')
            s++;
    }
    s = getenv("GORT_TRACE");
    if (s && *s)
        debug.tracefile = s;
    s = getenv("GORT_CGROUP_ROOT");
    if (s && *s)
        debug.cgrouproot = s;

    int def = defaultgomaxprocs(ncpu);
    if (def > MAXGOMAXPROCS)
        def = MAXGOMAXPROCS;
    int procs = def;
    s = getenv("GOMAXPROCS");
    long v;
    if (s && *s) {
        if (parseint(s, strlen(s), 1, MAXGOMAXPROCS, &v)) {
            procs = (int)v;
            debug.gomaxprocsenv = true;
        } else {
            fprintf(stderr, "gort: GOMAXPROCS=%s: expected an integer from 1 to %d; "
                    "using %d (the default: the CPUs available)\n", s, MAXGOMAXPROCS, def);
        }
    }
    return procs;
}
