/*
 * bench/malloc.c: stage 06's allocator beside glibc's malloc (and
 * mimalloc and jemalloc when their shared libraries are installed: loaded
 * with dlopen, so that neither replaces malloc in this program).
 *
 * jemalloc needs GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 to be
 * dlopen'd (its TLS model); bench/run.sh sets it.
 *
 * (a) churn: each thread keeps 100,000 objects of one size live and, N
 *     times, frees a random one and allocates its replacement (ns per
 *     free+alloc pair). Sizes 16, 64, 256 bytes; 1 and 2 threads (gort:
 *     goroutines at GOMAXPROCS=1 and 2, one array each).
 * (b) prodcons: a producer allocates 64-byte objects and hands them to a
 *     consumer on another thread, which frees them: every free is a cross-P
 *     free. gort hands them over a channel of capacity 128; the others over
 *     a single-producer single-consumer ring of 128 between two pthreads;
 *     so prodcons_chan.gort, the same pipeline sending a pointer it never
 *     allocates, is printed too: what the channel costs.
 *
 *     build/bench/malloc [N]        "metric value unit" lines (ns per op)
 */
#define _GNU_SOURCE
#include <gort.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE 100000

static long nops = 4000000;

static int64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
    const char *name;
    void *(*alloc)(size_t);
    void (*free)(void *);
} allocator;

static void *je_mallocx_(size_t n);
static void (*je_dallocx)(void *, int);
static void *(*je_mallocx)(size_t, int);
static void *je_mallocx_(size_t n) { return je_mallocx(n, 0); }
static void je_free_(void *p) { je_dallocx(p, 0); }

static allocator allocs[4];
static int nallocs;

static void findallocators(void)
{
    allocs[nallocs++] = (allocator){ "glibc", malloc, free };
    void *h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h && dlsym(h, "mi_malloc") && dlsym(h, "mi_free"))
        allocs[nallocs++] = (allocator){ "mimalloc", (void *(*)(size_t))dlsym(h, "mi_malloc"),
                                         (void (*)(void *))dlsym(h, "mi_free") };
    else
        fprintf(stderr, "malloc: no libmimalloc.so.2 (apt install libmimalloc2.0): skipped\n");
    h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h && dlsym(h, "mallocx") && dlsym(h, "dallocx")) {
        je_mallocx = (void *(*)(size_t, int))dlsym(h, "mallocx");
        je_dallocx = (void (*)(void *, int))dlsym(h, "dallocx");
        allocs[nallocs++] = (allocator){ "jemalloc", je_mallocx_, je_free_ };
    } else {
        /* Debian's jemalloc uses initial-exec TLS: dlopen fails with
         * "cannot allocate memory in static TLS block" unless the loader
         * keeps room (bench/run.sh sets GLIBC_TUNABLES for it). */
        fprintf(stderr, "malloc: jemalloc skipped: %s\n", h ? "no mallocx" : dlerror());
    }
}

/* ---- (a) churn ------------------------------------------------------------- */

typedef struct {
    allocator *a;        /* NULL: gort */
    size_t size;
    long ops;
    void **live;
    sync_waitgroup *wg;  /* gort */
} churnarg;

static void churn(churnarg *c)
{
    uint64_t r = 88172645463325252ULL ^ (uintptr_t)c;
    for (int i = 0; i < LIVE; i++)
        c->live[i] = c->a ? c->a->alloc(c->size) : gc_alloc_noscan(c->size);
    for (long k = 0; k < c->ops; k++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        uint32_t i = (uint32_t)(r % LIVE);
        if (c->a) {
            c->a->free(c->live[i]);
            c->live[i] = c->a->alloc(c->size);
        } else {
            gc_free(c->live[i]);
            c->live[i] = gc_alloc_noscan(c->size);
        }
        *(volatile char *)c->live[i] = 1;
    }
    for (int i = 0; i < LIVE; i++)
        c->a ? c->a->free(c->live[i]) : gc_free(c->live[i]);
}

static void churn_g(void *arg)
{
    churnarg *c = arg;
    churn(c);
    sync_wg_done(c->wg);
}

static void *churn_t(void *arg)
{
    churn(arg);
    return NULL;
}

static void **livearr[2];

static double churn_gort(size_t size, int threads)
{
    runtime_gomaxprocs(threads);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    churnarg c[2];
    int64_t t0 = now();
    sync_wg_add(&wg, threads);
    for (int t = 0; t < threads; t++) {
        c[t] = (churnarg){ NULL, size, nops / threads, livearr[t], &wg };
        go(churn_g, &c[t]);
    }
    sync_wg_wait(&wg);
    return (double)(now() - t0) / (double)(nops / threads) ;
}

static double churn_libc(allocator *a, size_t size, int threads)
{
    pthread_t th[2];
    churnarg c[2];
    int64_t t0 = now();
    for (int t = 0; t < threads; t++) {
        c[t] = (churnarg){ a, size, nops / threads, livearr[t], NULL };
        pthread_create(&th[t], NULL, churn_t, &c[t]);
    }
    runtime_entersyscall();
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    runtime_exitsyscall();
    return (double)(now() - t0) / (double)(nops / threads);
}

/* ---- (b) producer-consumer ------------------------------------------------- */

typedef struct { chan_t *c; long n; bool alloc; sync_waitgroup *wg; } pcarg;

static void prod_g(void *arg)
{
    pcarg *a = arg;
    static char dummy[64];
    for (long i = 0; i < a->n; i++) {
        void *p = a->alloc ? gc_alloc_noscan(64) : dummy;
        chan_send(a->c, &p);
    }
    void *end = NULL;
    chan_send(a->c, &end);
    sync_wg_done(a->wg);
}

static void cons_g(void *arg)
{
    pcarg *a = arg;
    for (;;) {
        void *p;
        chan_recv(a->c, &p);
        if (p == NULL)
            break;
        if (a->alloc)
            gc_free(p);
    }
    sync_wg_done(a->wg);
}

static double prodcons_gort(bool alloc)
{
    runtime_gomaxprocs(2);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    chan_t *c = chan_make(sizeof(void *), 128);
    pcarg a = { c, nops, alloc, &wg };
    int64_t t0 = now();
    sync_wg_add(&wg, 2);
    go(cons_g, &a);
    go(prod_g, &a);
    sync_wg_wait(&wg);
    double ns = (double)(now() - t0) / (double)nops;
    chan_free(c);
    return ns;
}

#define RING 128
static struct {
    void *slot[RING];
    _Alignas(64) unsigned long head;    /* consumer's */
    _Alignas(64) unsigned long tail;    /* producer's */
} ring;
static allocator *ringalloc;

static void *prod_t(void *arg)
{
    for (long i = 0; i <= nops; i++) {
        void *p = i < nops ? ringalloc->alloc(64) : NULL;
        unsigned long t = ring.tail;
        while (t - __atomic_load_n(&ring.head, __ATOMIC_ACQUIRE) == RING)
            __builtin_ia32_pause();
        ring.slot[t % RING] = p;
        __atomic_store_n(&ring.tail, t + 1, __ATOMIC_RELEASE);
    }
    return arg;
}

static void *cons_t(void *arg)
{
    for (;;) {
        unsigned long h = ring.head;
        while (__atomic_load_n(&ring.tail, __ATOMIC_ACQUIRE) == h)
            __builtin_ia32_pause();
        void *p = ring.slot[h % RING];
        __atomic_store_n(&ring.head, h + 1, __ATOMIC_RELEASE);
        if (p == NULL)
            break;
        ringalloc->free(p);
    }
    return arg;
}

static double prodcons_libc(allocator *a)
{
    ringalloc = a;
    ring.head = ring.tail = 0;
    pthread_t p, c;
    int64_t t0 = now();
    pthread_create(&c, NULL, cons_t, NULL);
    pthread_create(&p, NULL, prod_t, NULL);
    runtime_entersyscall();
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    runtime_exitsyscall();
    return (double)(now() - t0) / (double)nops;
}

static int bench(int argc, char **argv)
{
    if (argc > 1)
        nops = atol(argv[1]);
    findallocators();
    for (int t = 0; t < 2; t++)
        livearr[t] = malloc(LIVE * sizeof(void *));
    static const size_t sizes[] = { 16, 64, 256 };
    for (int threads = 1; threads <= 2; threads++) {
        for (int k = 0; k < 3; k++) {
            size_t size = sizes[k];
            printf("malloc_churn_%zuB_t%d.gort %.1f ns\n", size, threads, churn_gort(size, threads));
            fflush(stdout);
            for (int i = 0; i < nallocs; i++) {
                printf("malloc_churn_%zuB_t%d.%s %.1f ns\n", size, threads, allocs[i].name,
                       churn_libc(&allocs[i], size, threads));
                fflush(stdout);
            }
        }
    }
    printf("malloc_prodcons_64B.gort %.1f ns\n", prodcons_gort(true));
    printf("malloc_prodcons_chan.gort %.1f ns\n", prodcons_gort(false));
    for (int i = 0; i < nallocs; i++)
        printf("malloc_prodcons_64B.%s %.1f ns\n", allocs[i].name, prodcons_libc(&allocs[i]));
    for (int t = 0; t < 2; t++)
        free(livearr[t]);
    return 0;
}

GO_MAIN(bench)
