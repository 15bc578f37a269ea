/*
 * mfixalloc.c: fixed-size allocators for the runtime's own metadata
 * (stage 06; mirrors Go's src/runtime/mfixalloc.go).
 *
 * The allocator cannot allocate its own mspans from the heap it manages,
 * nor from libc's malloc on every span (a lock, and memory it would not
 * count). A fixalloc carves objects of one size from 64 KiB chunks it
 * maps itself and keeps freed ones on a list; chunks are returned only
 * when the heap ends (fixalloc_freeall, at runtime_main's return).
 *
 * Not thread-safe: each fixalloc is guarded by the lock of its user
 * (mheap.lock for spans, arenas and tiny masks and mcaches).
 */
#define _GNU_SOURCE
#include "mheap.h"

#include <string.h>
#include <sys/mman.h>

#define FIXCHUNK (64 << 10)

typedef struct fixchunk { struct fixchunk *next; } fixchunk;

void fixalloc_init(fixalloc *f, size_t size)
{
    memset(f, 0, sizeof *f);
    f->size = (size + 15) & ~(size_t)15;
    if (f->size < sizeof(void *))
        f->size = sizeof(void *);
}

void *fixalloc_alloc(fixalloc *f)
{
    void *v;
    if (f->list != NULL) {
        v = f->list;
        f->list = *(void **)v;
        memset(v, 0, f->size);
    } else {
        if (f->nchunk < f->size) {
            size_t n = f->size + 16 > FIXCHUNK ? (f->size + 16 + 4095) & ~(size_t)4095 : FIXCHUNK;
            void *c = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (c == MAP_FAILED)
                gort_throw("runtime: out of memory (fixalloc)");
            ((fixchunk *)c)->next = f->chunks;
            ((size_t *)c)[1] = n;
            f->chunks = c;
            f->chunk = (char *)c + 16;
            f->nchunk = n - 16;
            __atomic_store_n(&f->sys, f->sys + n, __ATOMIC_RELAXED);   /* MemStats reads it */
        }
        v = f->chunk;                  /* fresh mmap memory is zero */
        f->chunk += f->size;
        f->nchunk -= f->size;
    }
    f->inuse += f->size;
    return v;
}

void fixalloc_free(fixalloc *f, void *p)
{
    *(void **)p = f->list;
    f->list = p;
    f->inuse -= f->size;
}

void fixalloc_freeall(fixalloc *f)
{
    for (fixchunk *c = f->chunks, *next; c; c = next) {
        next = c->next;
        munmap(c, ((size_t *)c)[1]);
    }
    memset(f, 0, sizeof *f);
}
