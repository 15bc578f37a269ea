/*
 * gort.h: the public API of gort, the Go runtime rebuilt in C.
 *
 * This header is the contract between a stage and every program written
 * against it (examples, labs, exercises, outside tests). Every stage keeps
 * all of it, with the same names and meaning; later stages only add.
 * The authoritative description is the repository's API.md (../../API.md
 * from a stage); the comments below are a reminder, not a replacement.
 * Where both are silent, gort does what Go does.
 *
 * Stage 01 (single global run queue) provides: boot and exit, goroutines,
 * channels and select, sync, time, context, and the observability calls.
 */
#ifndef GORT_H
#define GORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Boot and exit ------------------------------------------------------ */

/* Runs main_fn as goroutine 1 on GOMAXPROCS threads and returns its value
 * once it returns. Every runtime thread is joined and every runtime byte
 * freed before runtime_main returns; it may be called again afterwards. */
int runtime_main(int (*main_fn)(int argc, char **argv), int argc, char **argv);

/* Same, naming main_fn for goroutine dumps ("main(...)" otherwise). */
int runtime_main_named(int (*main_fn)(int argc, char **argv), const char *name,
                       int argc, char **argv);

#define GO_MAIN(fn) \
    int main(int argc, char **argv) { return runtime_main_named((fn), #fn, argc, argv); }

/* ---- Goroutines --------------------------------------------------------- */

/* go(fn, arg) starts fn(arg) as a new goroutine, recording fn's name and the
 * call site (calling function, file, line) for goroutine dumps. */
void    gort_go(void (*fn)(void *arg), void *arg, const char *fn_name,
                const char *caller, const char *file, int line);
#define go(fn, arg) gort_go((fn), (arg), #fn, __func__, __FILE__, __LINE__)

void    gosched(void);                        /* runtime.Gosched */
void    goexit(void);                         /* runtime.Goexit: never returns */
int64_t goid(void);                           /* id of the calling goroutine; main is 1 */
int     runtime_gomaxprocs(int n);            /* n < 1 only queries; returns the previous
                                                 value; n >= 1 stops the world and resizes
                                                 the set of Ps (from a goroutine only), and
                                                 from then on the runtime no longer updates
                                                 it. Unset GOMAXPROCS: the affinity count
                                                 lowered to the cgroup CPU limit, rechecked
                                                 every second (Go 1.25; README) */
int     runtime_num_goroutine(void);          /* the program's: not the runtime's own */
int     runtime_num_cpu(void);                /* CPUs in the affinity mask at the first
                                                 call (Go's NumCPU; no cgroup limit) */
void    runtime_print_goroutines(FILE *out);  /* Go's SIGQUIT-style dump */
int     runtime_leak_check(int64_t timeout_ns, FILE *report);

/* The seed of every random choice the runtime makes (select's order):
 * GODEBUG=schedseed=N, or a random one. Fatal errors and panics print it;
 * at GOMAXPROCS=1 with GODEBUG=fakeclock=1 the same seed replays a run.
 * The current run's seed, or the last run's once runtime_main has returned;
 * 0 before the first run. (gort's addition; Go has no counterpart.) */
uint64_t runtime_schedseed(void);

/* Threads that are not goroutines (a plain pthread) may make the calls that
 * need no goroutine, such as chan_try_send and chan_try_recv, but the
 * runtime cannot see them: when every goroutine waits for one, it reports
 * "all goroutines are asleep - deadlock!". runtime_thread_attach counts one
 * such thread while it may still wake a goroutine: the caller, or a thread
 * the caller is about to create (attach before pthread_create, so that no
 * goroutine can block before the count); runtime_thread_detach ends one
 * count once the thread is done. While any is counted no deadlock is
 * reported (nor, under fakeclock=1, does the clock move); the last detach
 * looks again, and reports one that is there. From any thread while a
 * runtime_main runs; a detach after it has returned does nothing, but
 * must come before the next runtime_main begins. (gort's addition: Go
 * counts a cgo program's extra M, which keeps its detector quiet for the
 * whole run.) */
void    runtime_thread_attach(void);
void    runtime_thread_detach(void);

/* Stage 2+. runtime_lock_os_thread wires the calling goroutine to its thread
 * (nested calls need as many unlocks); a goroutine that exits while locked
 * takes its thread with it (Go 1.10+). */
void    runtime_lock_os_thread(void);
void    runtime_unlock_os_thread(void);
/* Stage 2+: bracket a blocking system call so that its P runs other
 * goroutines meanwhile. Between the two, make no other runtime call. */
void    runtime_entersyscall(void);
void    runtime_exitsyscall(void);

/* ---- Channels and select ------------------------------------------------ */

typedef struct hchan chan_t;
chan_t *chan_make(size_t elem_size, size_t cap);
void    chan_free(chan_t *c);
void    chan_send(chan_t *c, const void *elem);
bool    chan_recv(chan_t *c, void *elem);
void    chan_close(chan_t *c);
bool    chan_try_send(chan_t *c, const void *elem);
bool    chan_try_recv(chan_t *c, void *elem, bool *ok);
size_t  chan_len(chan_t *c);
size_t  chan_cap(chan_t *c);

typedef enum { SELECT_RECV = 1, SELECT_SEND = 2 } select_dir;
typedef struct { chan_t *c; select_dir dir; void *elem; bool ok; } select_case;
int     chan_select(select_case *cases, int ncases, bool block);

/* ---- sync ----------------------------------------------------------------- */

/* Go's sync.Mutex: state holds mutexLocked | mutexWoken | mutexStarving and
 * the waiter count above them; sema is the semaphore waiters park on. */
typedef struct { int32_t state; uint32_t sema; } sync_mutex;
#define SYNC_MUTEX_INIT { 0, 0 }
void sync_mutex_lock(sync_mutex *m);
bool sync_mutex_try_lock(sync_mutex *m);
void sync_mutex_unlock(sync_mutex *m);

/* Go's sync.WaitGroup: state is counter << 32 | waiters. */
typedef struct { uint64_t state; uint32_t sema; } sync_waitgroup;
#define SYNC_WAITGROUP_INIT { 0, 0 }
void sync_wg_add(sync_waitgroup *wg, int delta);
void sync_wg_done(sync_waitgroup *wg);
void sync_wg_wait(sync_waitgroup *wg);

/* ---- time ----------------------------------------------------------------- */

int64_t time_now(void);                 /* monotonic nanoseconds */
void    time_sleep(int64_t ns);
chan_t *time_after(int64_t ns);         /* chan of int64_t; chan_free stops it */

typedef struct time_timer time_timer;
time_timer *time_new_timer(int64_t ns);
chan_t     *time_timer_chan(time_timer *t);
bool        time_timer_stop(time_timer *t);
bool        time_timer_reset(time_timer *t, int64_t ns);
void        time_timer_free(time_timer *t);

typedef struct time_ticker time_ticker;
time_ticker *time_new_ticker(int64_t period_ns);
chan_t      *time_ticker_chan(time_ticker *t);
void         time_ticker_stop(time_ticker *t);
void         time_ticker_free(time_ticker *t);

/* ---- context -------------------------------------------------------------- */

typedef struct context context_t;
enum { CONTEXT_OK = 0, CONTEXT_CANCELED = 1, CONTEXT_DEADLINE_EXCEEDED = 2 };
context_t *context_background(void);
context_t *context_with_cancel(context_t *parent);
context_t *context_with_timeout(context_t *parent, int64_t ns);
void       context_cancel(context_t *ctx);
chan_t    *context_done(context_t *ctx);
int        context_err(context_t *ctx);
void       context_free(context_t *ctx);

/* ---- sockets (stage 5+) --------------------------------------------------- */

/* Each parks the calling goroutine, never its thread, while the socket is
 * not ready. Errors come back as a negative errno value (errno is set too,
 * but read it right after the call: HACKING.md). */
int     net_listen(const char *addr, int backlog);     /* "127.0.0.1:8080", "[::1]:0", ":0" */
int     net_local_port(int fd);
int     net_accept(int listen_fd);
int     net_dial(const char *addr);
ssize_t net_read(int fd, void *buf, size_t n);         /* 0 at end of file */
ssize_t net_write(int fd, const void *buf, size_t n);  /* all of buf, or an error */
int     net_set_deadline(int fd, int64_t deadline_ns); /* an absolute time_now(); 0 clears it;
                                                          for accept, read and write */
int     net_close(int fd);                             /* wakes every goroutine parked on fd
                                                          with -EBADF */

/* ---- Memory (stage 6+) ---------------------------------------------------- */

/* Zeroed memory from the runtime's heap (Go's allocator: size classes,
 * per-P caches). At least 8-byte aligned, 16 for multiples of 16; noscan
 * objects under 16 bytes follow Go's tiny allocator. gc_alloc(0) returns
 * one non-NULL address that must not be dereferenced. */
void   *gc_alloc(size_t size);                 /* may hold pointers to gc objects */
void   *gc_alloc_noscan(size_t size);          /* holds no pointers, never scanned */
/* Stage 6: the only way back. A pointer gc_alloc did not return, one into
 * the middle of an object, or one already freed: a fatal error. NULL and
 * gc_alloc(0)'s address: nothing. */
void    gc_free(void *p);
/* A pointer store into a gc object: plain in stage 6, through the write
 * barrier from stage 7. */
#define GC_STORE(lhs, rhs) ((lhs) = (rhs))
/* Memory outside the gc heap holding gc pointers: recorded in stage 6,
 * scanned by the collector from stage 7. */
void    gc_add_root(void *start, size_t len);
void    gc_remove_root(void *start);

/* ---- Observing the runtime ----------------------------------------------- */

typedef struct {
    uint64_t Alloc, TotalAlloc, Sys, Mallocs, Frees;
    uint64_t HeapAlloc, HeapSys, HeapIdle, HeapInuse, HeapReleased, HeapObjects;
    uint64_t StackInuse, StackSys;
    uint64_t NextGC, LastGC, PauseTotalNs, PauseNs[256], PauseEnd[256];
    uint32_t NumGC, NumForcedGC;
    double   GCCPUFraction;
} runtime_mem_stats;
void runtime_read_mem_stats(runtime_mem_stats *ms);

typedef enum { METRIC_BAD = 0, METRIC_U64, METRIC_F64, METRIC_HIST } metric_kind;
typedef struct { int n; const double *buckets; const uint64_t *counts; } metric_hist;
typedef struct {
    const char *name; metric_kind kind;
    union { uint64_t u64; double f64; metric_hist hist; } value;
} metrics_sample;
void metrics_read(metrics_sample *samples, int n);

#ifdef __cplusplus
}
#endif
#endif /* GORT_H */
