/*
 * test_malloc.c: stage 06's allocator (gc_alloc, gc_alloc_noscan, gc_free).
 *
 *   sizes        every class boundary and a sample of large sizes up to
 *                1 MiB: usable size (TotalAlloc's step), alignment, zeroed
 *   reuse        freed slots and pages come back zeroed (needzero)
 *   tiny         Go's tiny allocator: alignment, packing, frees
 *   random       many random allocs and frees, contents checked
 *   cross_p      producers allocate, consumers on other Ps free (over
 *                channels): contents intact, and the heap stays bounded,
 *                so the frees really come back to the producers' spans
 *   empty spans  spans emptied by another goroutine go back to the heap
 *                (mcentral's pending stack)
 *   no_p         a thread with no P allocates; a goroutine frees
 *   resize       GOMAXPROCS down and up: a dead P's spans are released
 *   memstats     MemStats and the heap metrics against a known sequence
 *   sizeclasses  the table is Go's, and is the generator's output
 *   death        gc_free of a stack, static or malloc address, of an
 *                interior pointer, twice (small, large, tiny): Go's
 *                "fatal error: gc_free: ..." naming the address and
 *                goroutine, exit status 2; under ASan a use after
 *                gc_free is reported
 *   roots        gc_add_root/gc_remove_root (recorded for stage 07),
 *                GC_STORE (a plain store in stage 06)
 *   twice        runtime_main twice in one process, each with its heap
 */
#include "harness.h"

#include <libgen.h>
#include <sys/stat.h>

#include "../src/sizeclasses.h"

static uint64_t expected_usable(size_t n)
{
    if (n == 0)
        return 0;
    if (n > _MaxSmallSize)
        return (n + _PageSize - 1) / _PageSize * _PageSize;
    for (int c = 1; c < _NumSizeClasses; c++)
        if (class_to_size[c] >= n)
            return class_to_size[c];
    return 0;
}

static bool allzero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* ---- sizes ------------------------------------------------------------------ */

static size_t sizes[512];
static int nsizes;

static void makesizes(void)
{
    nsizes = 0;
    sizes[nsizes++] = 0;
    for (int c = 1; c < _NumSizeClasses; c++) {
        sizes[nsizes++] = class_to_size[c] - 1;
        sizes[nsizes++] = class_to_size[c];
        sizes[nsizes++] = class_to_size[c] + 1;
    }
    static const size_t large[] = { 40000, 65535, 65536, 65537, 100000, 123457,
                                    262144, 500001, (1 << 20) - 1, 1 << 20 };
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++)
        sizes[nsizes++] = large[i];
}

static void check_sizes(bool noscan, bool dirty)
{
    makesizes();
    for (int i = 0; i < nsizes; i++) {
        size_t n = sizes[i];
        if (noscan && n < 16)
            continue;                         /* the tiny allocator: below */
        runtime_mem_stats a, b, c;
        runtime_read_mem_stats(&a);
        unsigned char *p = noscan ? gc_alloc_noscan(n) : gc_alloc(n);
        runtime_read_mem_stats(&b);
        CHECK(p != NULL, "gc_alloc(%zu) returned NULL", n);
        if (p == NULL)
            continue;
        CHECK_EQ(b.TotalAlloc - a.TotalAlloc, expected_usable(n));
        CHECK_EQ(b.Mallocs - a.Mallocs, (uint64_t)(n > 0));
        CHECK_EQ((uintptr_t)p % 8, 0u);
        if (n % 16 == 0)
            CHECK((uintptr_t)p % 16 == 0, "gc_alloc(%zu) = %p: not 16-aligned", n, (void *)p);
        CHECK(allzero(p, n), "gc_alloc(%zu) = %p: not zeroed", n, (void *)p);
        if (dirty && n > 0)
            memset(p, 0xA5, n);
        gc_free(p);
        runtime_read_mem_stats(&c);
        CHECK_EQ(c.HeapAlloc, a.HeapAlloc);
        CHECK_EQ(c.Frees - a.Frees, (uint64_t)(n > 0));
    }
}

GTEST(malloc, every_class_boundary_and_large_sizes_round_trip)
{
    for (int round = 0; round < 2; round++) {   /* the second meets dirty slots */
        check_sizes(false, true);
        check_sizes(true, true);
    }
}

/* ---- reuse: dirty memory comes back zeroed ---------------------------------- */

GTEST(malloc, freed_slots_and_pages_come_back_zeroed)
{
    static const size_t sz[] = { 8, 24, 100, 1000, 5000, 20000, 40000, 300000 };
    enum { N = 1500 };
    static unsigned char *ps[N];
    for (size_t k = 0; k < sizeof sz / sizeof sz[0]; k++) {
        size_t n = sz[k];
        int cnt = n > 32768 ? 40 : N;
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < cnt; i++) {
                ps[i] = gc_alloc(n);
                if (!allzero(ps[i], n)) {
                    CHECK(false, "round %d: gc_alloc(%zu) #%d = %p not zeroed",
                          round, n, i, (void *)ps[i]);
                    break;
                }
                memset(ps[i], 0xC3, n);
            }
            for (int i = 0; i < cnt; i++)
                gc_free(ps[i]);
        }
    }
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    CHECK_EQ(ms.HeapObjects, 0u);
    CHECK_EQ(ms.HeapAlloc, 0u);
}

/* ---- tiny ---------------------------------------------------------------------- */

GTEST(malloc, tiny_objects_are_packed_aligned_and_freed)
{
    enum { N = 3000 };
    static unsigned char *ps[N];
    static size_t ns[N];
    runtime_mem_stats a, b;
    runtime_read_mem_stats(&a);
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 7 % 15);
        ns[i] = n;
        ps[i] = gc_alloc_noscan(n);
        size_t align = n % 8 == 0 ? 8 : n % 4 == 0 ? 4 : n % 2 == 0 ? 2 : 1;
        CHECK((uintptr_t)ps[i] % align == 0, "tiny %zu at %p: not %zu-aligned",
              n, (void *)ps[i], align);
        CHECK(allzero(ps[i], n), "tiny %zu at %p: not zeroed", n, (void *)ps[i]);
        memset(ps[i], (int)(i & 0xff), n);
    }
    runtime_read_mem_stats(&b);
    CHECK_EQ(b.Mallocs - a.Mallocs, (uint64_t)N);
    /* Packed: 3000 objects of 8 bytes on average fit in far fewer than
     * 3000 blocks of 16 bytes. */
    CHECK_LT(b.TotalAlloc - a.TotalAlloc, (uint64_t)N * 16 * 3 / 4);
    int bad = 0;
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < ns[i]; k++)
            if (ps[i][k] != (unsigned char)(i & 0xff))
                bad++;
    CHECK_EQ(bad, 0);
    for (int i = 0; i < N; i += 2)     /* every other one, then the rest */
        gc_free(ps[i]);
    for (int i = 1; i < N; i += 2)
        gc_free(ps[i]);
    runtime_read_mem_stats(&b);
    CHECK_EQ(b.HeapObjects, a.HeapObjects);
    /* Every block but the one this P still carves is back. */
    CHECK_LE(b.HeapAlloc, a.HeapAlloc + 16);
}

/* ---- random ---------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

typedef struct { unsigned char *p; size_t n; uint8_t tag; } slot;

static int checkslot(slot *s)
{
    int bad = 0;
    for (size_t k = 0; k < s->n; k++)
        bad += s->p[k] != s->tag;
    return bad;
}

static void randomwork(uint64_t seed, long ops, int nslots, int *badout)
{
    slot *t = calloc((size_t)nslots, sizeof *t);
    int bad = 0;
    for (long i = 0; i < ops; i++) {
        slot *s = &t[rnd(&seed) % (uint64_t)nslots];
        if (s->p) {
            bad += checkslot(s);
            gc_free(s->p);
            s->p = NULL;
            continue;
        }
        uint64_t r = rnd(&seed);
        size_t n = r % 100 < 90 ? r % 64 + 1 : r % 100 < 99 ? r % 4096 : r % 70000;
        s->p = (r >> 32) & 1 ? gc_alloc_noscan(n) : gc_alloc(n);
        s->n = n;
        s->tag = (uint8_t)(r >> 40);
        if (!allzero(s->p, n))
            bad++;
        memset(s->p, s->tag, n);
    }
    for (int i = 0; i < nslots; i++)
        if (t[i].p) {
            bad += checkslot(&t[i]);
            gc_free(t[i].p);
        }
    free(t);
    *badout = bad;
}

typedef struct { uint64_t seed; long ops; int bad; sync_waitgroup *wg; } rarg;
static void randomworker(void *arg)
{
    rarg *a = arg;
    randomwork(a->seed, a->ops, 2000, &a->bad);
    sync_wg_done(a->wg);
}

GTEST(malloc, random_allocs_and_frees_keep_contents)
{
    long ops = (H_SANITIZED ? 200000L : 2000000L) * h_scale();
    enum { W = 4 };
    rarg args[W];
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, W);
    for (int i = 0; i < W; i++) {
        args[i] = (rarg){ .seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1), .ops = ops / W, .wg = &wg };
        go(randomworker, &args[i]);
    }
    sync_wg_wait(&wg);
    for (int i = 0; i < W; i++)
        CHECK_EQ(args[i].bad, 0);
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    CHECK_EQ(ms.HeapObjects, 0u);
    /* What stays: the tiny block each P still carves. */
    CHECK_LE(ms.HeapAlloc, 16u * (uint64_t)runtime_gomaxprocs(0));
    CHECK_EQ(ms.HeapInuse + ms.HeapIdle, ms.HeapSys);
}

/* ---- cross-P frees ----------------------------------------------------------- */

typedef struct {
    chan_t *c;
    long n;
    size_t size;
    int bad;
    sync_waitgroup *wg;
} pcarg;

static void producer(void *arg)
{
    pcarg *a = arg;
    for (long i = 0; i < a->n; i++) {
        long *p = gc_alloc(a->size);
        if (p[0] != 0 || p[a->size / sizeof(long) - 1] != 0)
            a->bad++;
        p[0] = i;
        p[a->size / sizeof(long) - 1] = ~i;
        chan_send(a->c, &p);
    }
    long *end = NULL;
    chan_send(a->c, &end);
    sync_wg_done(a->wg);
}

static void consumer(void *arg)
{
    pcarg *a = arg;
    for (long i = 0;; i++) {
        long *p;
        chan_recv(a->c, &p);
        if (p == NULL)
            break;
        if (p[0] != i || p[a->size / sizeof(long) - 1] != ~i)
            a->bad++;
        gc_free(p);
    }
    sync_wg_done(a->wg);
}

GTEST(malloc, cross_p_frees_come_back_to_the_producer)
{
    enum { PAIRS = 3 };
    long n = (H_SANITIZED ? 40000L : 300000L) * h_scale();
    static const size_t size[PAIRS] = { 16, 64, 256 };
    pcarg prod[PAIRS], cons[PAIRS];
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 2 * PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        chan_t *c = chan_make(sizeof(long *), 64);
        prod[i] = (pcarg){ .c = c, .n = n, .size = size[i], .wg = &wg };
        cons[i] = (pcarg){ .c = c, .n = n, .size = size[i], .wg = &wg };
        go(consumer, &cons[i]);
        go(producer, &prod[i]);
    }
    sync_wg_wait(&wg);
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(prod[i].bad, 0);
        CHECK_EQ(cons[i].bad, 0);
        chan_free(prod[i].c);
    }
    CHECK_EQ(ms.HeapObjects, 0u);
    CHECK_EQ(ms.Mallocs, (uint64_t)(PAIRS * n));
    /* 300,000 objects of 16 + 64 + 256 bytes went through (100 MB), at most
     * 3 * 65 live at a time: freed slots must be reused, so the heap stays
     * a few MiB. Frees that never came back would need all of it. */
    CHECK_LT(ms.HeapSys, (uint64_t)16 << 20);
    CHECK_GE(ms.TotalAlloc, (uint64_t)n * (16 + 64 + 256));
}

/* ---- empty spans go back to the heap ---------------------------------------------- */

/* Class 51 (8192 bytes) holds one object a span. main allocates N, so N - 1
 * spans go to mcentral's full list; another goroutine frees them all (each
 * free pushes its span onto the pending stack); the next refill from
 * mcentral drains the stack, finds the spans empty and gives their pages
 * back to the heap. Without the pending stack they would stay on the full
 * list (cacheSpan's scan of `full` takes back only what it needs). */
typedef struct { void **objs; int n; sync_waitgroup *wg; } freeall_arg;
static void freeall(void *arg)
{
    freeall_arg *a = arg;
    for (int i = 0; i < a->n; i++)
        gc_free(a->objs[i]);
    sync_wg_done(a->wg);
}

GTEST(malloc, empty_spans_freed_elsewhere_go_back_to_the_heap)
{
    enum { N = 1000 };
    static void *objs[N];
    for (int i = 0; i < N; i++)
        objs[i] = gc_alloc(8192);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    sync_wg_add(&wg, 1);
    freeall_arg a = { objs, N, &wg };
    go(freeall, &a);
    sync_wg_wait(&wg);
    runtime_mem_stats before, after;
    runtime_read_mem_stats(&before);
    void *x = gc_alloc(8192), *y = gc_alloc(8192);
    runtime_read_mem_stats(&after);
    CHECK_GE(before.HeapInuse, (uint64_t)N * 8192 / 2);
    CHECK_LT(after.HeapInuse, before.HeapInuse / 4);
    gc_free(x);
    gc_free(y);
}

/* ---- a thread with no P --------------------------------------------------------- */

static void *nopthread(void *arg)
{
    chan_t *c = arg;
    for (int i = 0; i < 1000; i++) {
        int *p = gc_alloc((size_t)(i % 300) + 4);
        *p = i;
        if (!chan_try_send(c, &p))   /* room for all: no goroutine needed */
            abort();
    }
    runtime_thread_detach();
    return NULL;
}

GTEST(malloc, a_thread_with_no_p_allocates)
{
    chan_t *c = chan_make(sizeof(int *), 1000);
    runtime_thread_attach();
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, nopthread, c), 0);
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        int *p;
        chan_recv(c, &p);
        bad += *p != i;
        gc_free(p);
    }
    runtime_entersyscall();
    pthread_join(t, NULL);
    runtime_exitsyscall();
    CHECK_EQ(bad, 0);
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    CHECK_EQ(ms.HeapObjects, 0u);
    chan_free(c);
}

/* ---- GOMAXPROCS changes ------------------------------------------------------------ */

typedef struct { void **ps; sync_waitgroup *wg; } somearg;
static void allocsome(void *arg)
{
    somearg *a = arg;
    for (int i = 0; i < 100; i++)
        a->ps[i] = gc_alloc(48);
    sync_wg_done(a->wg);
}

GTEST(malloc, a_dead_ps_spans_are_released)
{
    static void *ps[4][100];
    int old = runtime_gomaxprocs(4);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    somearg args[4];
    sync_wg_add(&wg, 4);
    for (int k = 0; k < 4; k++) {
        args[k] = (somearg){ ps[k], &wg };
        go(allocsome, &args[k]);
    }
    sync_wg_wait(&wg);
    runtime_gomaxprocs(1);              /* Ps 1-3 die: their spans go back */
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 100; i++)
            gc_free(ps[k][i]);
    for (int i = 0; i < 20000; i++)
        gc_free(gc_alloc(48));
    runtime_gomaxprocs(4);              /* and come back, with empty mcaches */
    for (int i = 0; i < 20000; i++)
        gc_free(gc_alloc(48));
    runtime_gomaxprocs(old);
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    CHECK_EQ(ms.HeapObjects, 0u);
    CHECK_LT(ms.HeapInuse, (uint64_t)1 << 20);
}

/* ---- MemStats and metrics ---------------------------------------------------------- */

static uint64_t metric(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    CHECK(s.kind == METRIC_U64, "%s: kind %d", name, (int)s.kind);
    return s.value.u64;
}

GTEST(malloc, memstats_follow_a_known_sequence)
{
    runtime_mem_stats a, b, c;
    metrics_sample h0 = { .name = "/gc/heap/allocs-by-size:bytes" };
    metrics_read(&h0, 1);
    CHECK(h0.kind == METRIC_HIST, "allocs-by-size: kind %d", (int)h0.kind);
    CHECK_EQ(h0.value.hist.n, _NumSizeClasses);
    uint64_t c9 = h0.value.hist.counts[8], clarge = h0.value.hist.counts[_NumSizeClasses - 1];
    CHECK(h0.value.hist.buckets[8] == 97.0 && h0.value.hist.buckets[9] == 113.0,
          "bucket 8 is [%g, %g), not [97, 113)", h0.value.hist.buckets[8], h0.value.hist.buckets[9]);

    runtime_read_mem_stats(&a);
    void *x = gc_alloc(100);            /* class 9: 112 */
    void *y = gc_alloc(5000);           /* class 46: 5376 */
    void *z = gc_alloc(100000);         /* 13 pages: 106496 */
    void *t1 = gc_alloc_noscan(3);      /* a new tiny block: 16 */
    void *t2 = gc_alloc_noscan(5);      /* the same block */
    runtime_read_mem_stats(&b);
    CHECK_EQ(b.Mallocs - a.Mallocs, 5u);
    CHECK_EQ(b.HeapObjects - a.HeapObjects, 5u);
    CHECK_EQ(b.TotalAlloc - a.TotalAlloc, 112u + 5376 + 106496 + 16);
    CHECK_EQ(b.HeapAlloc - a.HeapAlloc, 112u + 5376 + 106496 + 16);
    CHECK_EQ(b.Alloc, b.HeapAlloc);
    CHECK_EQ(b.HeapInuse + b.HeapIdle, b.HeapSys);
    CHECK_GE(b.HeapInuse, b.HeapAlloc);
    CHECK_GE(b.Sys, b.HeapSys + b.StackSys);
    CHECK_EQ(metric("/gc/heap/allocs:objects"), b.Mallocs);
    CHECK_EQ(metric("/gc/heap/allocs:bytes"), b.TotalAlloc);
    CHECK_EQ(metric("/gc/heap/objects:objects"), b.HeapObjects);
    CHECK_EQ(metric("/memory/classes/heap/objects:bytes"), b.HeapAlloc);
    CHECK_EQ(metric("/memory/classes/total:bytes"), b.Sys);
    metrics_sample h1 = { .name = "/gc/heap/allocs-by-size:bytes" };
    metrics_read(&h1, 1);
    CHECK_EQ(h1.value.hist.counts[8] - c9, 1u);
    CHECK_EQ(h1.value.hist.counts[_NumSizeClasses - 1] - clarge, 1u);

    gc_free(x);
    gc_free(z);
    gc_free(t1);                        /* the block stays: t2 lives, the P carves it */
    runtime_read_mem_stats(&c);
    CHECK_EQ(c.Frees - b.Frees, 3u);
    CHECK_EQ(b.HeapAlloc - c.HeapAlloc, 112u + 106496);
    CHECK_EQ(c.HeapObjects, b.HeapObjects - 3);
    CHECK_EQ(metric("/gc/heap/frees:objects"), c.Frees);
    CHECK_EQ(metric("/gc/heap/frees:bytes"), c.TotalAlloc - c.HeapAlloc);
    CHECK_LT(c.HeapInuse, b.HeapInuse);  /* the large span went back */
    gc_free(y);
    gc_free(t2);
    runtime_read_mem_stats(&c);
    CHECK_EQ(c.HeapObjects, a.HeapObjects);
    CHECK_GT(c.StackInuse, 0u);
}

/* ---- the size classes ----------------------------------------------------------------- */

Test(malloc, sizeclasses_are_gos_and_the_generators_output, .timeout = H_TIMEOUT)
{
    static const uint16_t go[68] = {
        0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
        256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024,
        1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864,
        5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568,
        14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768 };
    cr_assert_eq(_NumSizeClasses, 68);
    for (int c = 0; c < 68; c++)
        cr_assert_eq(class_to_size[c], go[c], "class %d: %d, Go's %d", c, class_to_size[c], go[c]);
    for (int c = 1; c < 68; c++) {
        uint32_t span = class_to_allocnpages[c] * _PageSize;
        cr_assert(span % class_to_size[c] <= span / 8, "class %d wastes over 1/8", c);
        for (uint32_t off = 0; off <= span; off++)
            if ((uint32_t)(((uint64_t)off * class_to_divmagic[c]) >> 32) != off / class_to_size[c])
                cr_assert_fail("class %d: divmagic wrong at offset %u", c, off);
    }
    for (size_t n = 1; n <= _MaxSmallSize; n++) {
        int c = n <= smallSizeMax - 8 ? size_to_class8[(n + 7) / 8]
                                      : size_to_class128[(n - smallSizeMax + 127) / 128];
        cr_assert(class_to_size[c] >= n && class_to_size[c - 1] < n,
                  "size %zu maps to class %d (%d bytes)", n, c, class_to_size[c]);
    }
    /* The checked-in header is what the generator writes (needs python3). */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *d = dirname(dir);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "%s/../src/mksizeclasses.py", d);
    struct stat st;
    if (stat(cmd, &st) != 0 || system("python3 -c '' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "sizeclasses: no python3 or no %s here: generator not compared\n", cmd);
        return;
    }
    snprintf(cmd, sizeof cmd, "python3 %s/../src/mksizeclasses.py --check %s/../src/sizeclasses.h", d, d);
    cr_assert_eq(system(cmd), 0, "%s: the header is not the generator's output", cmd);
}

/* ---- misuse ----------------------------------------------------------------------------- */

static int free_stack(int argc, char **argv)
{
    char buf[64];
    gc_free(h_keep(buf));
    return 0;
}

static int free_static(int argc, char **argv)
{
    static long x;
    gc_free(&x);
    return 0;
}

static int free_malloced(int argc, char **argv)
{
    gc_free(h_keep(malloc(32)));
    return 0;
}

static int free_interior(int argc, char **argv)
{
    char *p = gc_alloc(64);
    gc_free(p + 8);
    return 0;
}

static int free_interior_large(int argc, char **argv)
{
    char *p = gc_alloc(100000);
    gc_free(p + 9000);
    return 0;
}

static int free_twice(int argc, char **argv)
{
    void *p = gc_alloc(64);
    gc_free(p);
    gc_free(p);
    return 0;
}

/* A double free after the span was collected: the slot's freebit is gone,
 * so only allocBits and freeindex tell (mspan_isfree). Class 57 (13568
 * bytes) holds 3 objects a span: a0..a2 fill a fresh span S, b0..b2 the
 * next; a0 and a1 are freed (S is pushed onto pending at the first free,
 * pushat being 1), and the refill after b2 drains pending, collects S
 * (two free slots) and takes it: c gets slot 0, a0's, and a1's slot is
 * free and not its freebit. */
static int free_twice_after_collect(int argc, char **argv)
{
    void *a0 = gc_alloc(13568), *a1 = gc_alloc(13568), *a2 = gc_alloc(13568);
    void *b0 = gc_alloc(13568), *b1 = gc_alloc(13568);
    gc_free(a0);
    gc_free(a1);
    void *b2 = gc_alloc(13568);
    void *c = gc_alloc(13568);
    h_keep(a2); h_keep(b0); h_keep(b1); h_keep(b2);
    if (c != a0)
        return 42;                     /* not the layout this test expects */
    gc_free(a1);
    return 0;
}

static int free_twice_large(int argc, char **argv)
{
    void *p = gc_alloc(200000);
    gc_free(p);
    gc_free(p);
    return 0;
}

static int free_twice_tiny(int argc, char **argv)
{
    void *a = gc_alloc_noscan(3);
    void *b = gc_alloc_noscan(5);
    gc_free(b);
    gc_free(b);
    h_keep(a);
    return 0;
}

static int alloc_outside(void)
{
    gc_alloc(8);
    return 0;
}

static void expect_free_death(int (*fn)(int, char **), const char *want)
{
    h_child r;
    h_expect_death_in(&r, fn, "fatal error: gc_free: 0x", 1);
    cr_assert(strstr(r.err, want) != NULL, "stderr lacks \"%s\":\n%s", want, r.err);
    cr_assert(strstr(r.err, "goroutine 1)") != NULL, "the message names no goroutine:\n%s", r.err);
    h_child_free(&r);
}

Test(malloc, free_of_a_stack_address_is_fatal, .timeout = H_TIMEOUT)
{
    expect_free_death(free_stack, "is not a pointer returned by gc_alloc");
}
Test(malloc, free_of_a_static_address_is_fatal, .timeout = H_TIMEOUT)
{
    expect_free_death(free_static, "is not a pointer returned by gc_alloc");
}
Test(malloc, free_of_a_malloc_address_is_fatal, .timeout = H_TIMEOUT)
{
    expect_free_death(free_malloced, "is not a pointer returned by gc_alloc");
}
Test(malloc, free_of_an_interior_pointer_is_fatal, .timeout = H_TIMEOUT)
{
    expect_free_death(free_interior, "points into the middle of an object");
    expect_free_death(free_interior_large, "points into the middle of an object");
}
Test(malloc, double_free_is_fatal, .timeout = H_TIMEOUT)
{
    expect_free_death(free_twice, "was already freed (double free)");
    expect_free_death(free_twice_large, "already freed");
    expect_free_death(free_twice_tiny, "is not a live tiny object");
}
Test(malloc, double_free_after_the_span_was_collected_is_fatal, .timeout = H_TIMEOUT)
{
    expect_free_death(free_twice_after_collect, "was already freed (double free)");
}
Test(malloc, gc_alloc_outside_runtime_main_is_refused, .timeout = H_TIMEOUT)
{
    h_child r;
    h_child_run(&r, alloc_outside, NULL, 20);
    cr_assert(h_exited_with(&r, 2), "exit status");
    cr_assert(strstr(r.err, "gort: gc_alloc called outside runtime_main"), "stderr:\n%s", r.err);
    h_child_free(&r);
}

/* ---- roots (recorded for stage 07) and GC_STORE -------------------------------------------- */

static void *rootslot[4];

GTEST(malloc, roots_are_recorded_and_removed_and_gc_store_stores)
{
    gc_add_root(rootslot, sizeof rootslot);
    void **box = gc_alloc(2 * sizeof(void *));
    GC_STORE(box[1], gc_alloc(8));
    GC_STORE(rootslot[0], box);
    CHECK(box[1] != NULL && ((void **)rootslot[0])[1] == box[1], "GC_STORE stored nothing");
    gc_remove_root(rootslot);
    gc_add_root(rootslot, sizeof rootslot);   /* again: it was removed */
    gc_remove_root(rootslot);
    gc_free(box[1]);
    gc_free(box);
}

static int remove_unknown_root(int argc, char **argv)
{
    gc_remove_root(rootslot);
    return 0;
}

Test(malloc, removing_a_root_never_added_is_fatal, .timeout = H_TIMEOUT)
{
    h_expect_death(remove_unknown_root, "fatal error: gc_remove_root: ", 1);
}

/* ---- runtime_main twice ------------------------------------------------------------------ */

static void *kept;
static void twice_body(void)
{
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    CHECK_EQ(ms.Mallocs, 0u);        /* a fresh heap */
    CHECK_EQ(ms.HeapSys, 0u);
    kept = gc_alloc(1000);           /* never freed: runtime_main frees it */
    memset(kept, 1, 1000);
    void *big = gc_alloc(1 << 20);
    gc_free(big);
}

Test(malloc, runtime_main_twice_each_with_a_fresh_heap, .timeout = H_TIMEOUT)
{
    RUN(twice_body);
    RUN(twice_body);
}

/* ---- ASan: a use after gc_free is reported ------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
static int use_after_free(int argc, char **argv)
{
    volatile char *p = gc_alloc(64);
    p[0] = 1;
    gc_free((void *)p);
    p[1] = 2;                          /* freed: poisoned */
    return 0;
}

Test(malloc, asan_reports_a_use_after_gc_free, .timeout = H_TIMEOUT)
{
    h_child r;
    h_death_main = use_after_free;
    h_child_run(&r, h_death_child, NULL, 60);
    cr_assert(!h_exited_with(&r, 100), "the write after gc_free went unnoticed");
    cr_assert(strstr(r.err, "use-after-poison") != NULL, "no ASan report; stderr:\n%s", r.err);
    h_child_free(&r);
}
#endif
