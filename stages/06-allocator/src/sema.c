/*
 * sema.c: semaphores that park goroutines (mirrors Go's src/runtime/sema.go:
 * semacquire1, semrelease1).
 *
 * sync_mutex and sync_waitgroup keep a uint32 counter in user memory and
 * call these when they must wait. A semaphore is just that address: the
 * waiters live in a fixed table of SEMTABSZ roots, hashed by address, each
 * with a lock, a count of waiters and a list of sudogs. (Go keeps a treap
 * of addresses per root, so one root with many busy addresses stays fast;
 * gort keeps one list per root and searches it, which is simpler and fine
 * for a teaching runtime until a lab shows otherwise.)
 *
 * semacquire1(addr):
 *   1. If *addr > 0, decrement it and return (no lock, no park).
 *   2. Lock the root, count ourselves in nwait, try step 1 again (a
 *      release may have happened meanwhile), else queue a sudog and park.
 *   3. Woken: if the releaser handed the count to us directly (ticket),
 *      we are done; otherwise go back to 1.
 * semrelease1(addr, handoff): increment *addr; if nwait says someone may
 * wait, dequeue the first waiter on addr and ready it. With handoff (a
 * starving sync_mutex), take the count for the waiter ourselves and give
 * it the ticket, then yield so it runs soon.
 *
 * The nwait count lets a release skip the lock when nobody waits. The
 * order "increment *addr, then read nwait" in release and "increment
 * nwait, then re-check *addr" in acquire, each a store then a load, all
 * four sequentially consistent (Go's atomic.Xadd and atomic.Load are),
 * means a waiter cannot miss a release (Go's comment on semaRoot): in the
 * single order of seq_cst operations, either the re-check follows the
 * release's increment and sees it, or the release's read of nwait
 * follows the waiter's increment and sees the waiter. An acquire load
 * would be enough for the data but not for this: it may read a value
 * older than a seq_cst store that precedes it in that order.
 *
 * Invariant, under root->lock: nwait >= number of sudogs queued.
 */
#include "runtime2.h"

#include <string.h>

#define SEMTABSZ 251

typedef struct semaroot {
    mutex    lock;
    sudog   *head, *tail;       /* waiters on any address of this root */
    uint32_t nwait;             /* atomic */
    char     pad[64 - sizeof(mutex) - 2 * sizeof(void *) - sizeof(uint32_t)];
} semaroot;

static semaroot semtable[SEMTABSZ];

/* At runtime_main's start: goroutines abandoned by the previous run may
 * have left sudogs (on stacks since unmapped) in the table. */
void semainit(void)
{
    memset(semtable, 0, sizeof semtable);
}

static semaroot *semroot(uint32_t *addr)
{
    return &semtable[((uintptr_t)addr >> 3) % SEMTABSZ];
}

/* Takes one count from *addr if there is one. The load is seq_cst: it is
 * semacquire1's re-check after its nwait increment (above). */
static bool cansemacquire(uint32_t *addr)
{
    for (;;) {
        uint32_t v = __atomic_load_n(addr, __ATOMIC_SEQ_CST);
        if (v == 0)
            return false;
        if (__atomic_compare_exchange_n(addr, &v, v - 1, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
}

static void queue(semaroot *root, sudog *s, bool lifo)
{
    s->next = s->prev = NULL;
    if (lifo && root->head) {
        s->next = root->head;
        root->head->prev = s;
        root->head = s;
    } else {
        s->prev = root->tail;
        if (root->tail)
            root->tail->next = s;
        else
            root->head = s;
        root->tail = s;
    }
}

static sudog *dequeue(semaroot *root, uint32_t *addr)
{
    for (sudog *s = root->head; s; s = s->next) {
        if (s->addr != addr)
            continue;
        if (s->prev)
            s->prev->next = s->next;
        else
            root->head = s->next;
        if (s->next)
            s->next->prev = s->prev;
        else
            root->tail = s->prev;
        s->next = s->prev = NULL;
        return s;
    }
    return NULL;
}

void semacquire1(uint32_t *addr, bool lifo, const char *reason)
{
    if (cansemacquire(addr))
        return;
    semaroot *root = semroot(addr);
    sudog s = { .g = getg(), .addr = addr };
    for (;;) {
        lock(&root->lock);
        __atomic_add_fetch(&root->nwait, 1, __ATOMIC_SEQ_CST);
        if (cansemacquire(addr)) {
            __atomic_sub_fetch(&root->nwait, 1, __ATOMIC_SEQ_CST);
            unlock(&root->lock);
            return;
        }
        s.ticket = 0;
        queue(root, &s, lifo);
        gopark(parkunlock_c, &root->lock, reason);
        if (s.ticket != 0 || cansemacquire(addr))
            return;
    }
}

void semrelease1(uint32_t *addr, bool handoff)
{
    semaroot *root = semroot(addr);
    __atomic_add_fetch(addr, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&root->nwait, __ATOMIC_SEQ_CST) == 0)
        return;
    lock(&root->lock);
    if (__atomic_load_n(&root->nwait, __ATOMIC_SEQ_CST) == 0) {
        unlock(&root->lock);
        return;
    }
    sudog *s = dequeue(root, addr);
    if (s)
        __atomic_sub_fetch(&root->nwait, 1, __ATOMIC_SEQ_CST);
    unlock(&root->lock);
    if (s == NULL)
        return;
    /* s lives on the waiter's stack: once it is readied it may run, return
     * and reuse that memory, so nothing of s is read after goready. */
    bool handed = handoff && cansemacquire(addr);
    if (handed)
        s->ticket = 1;
    goready(s->g);
    if (handed && getg() != NULL) {
        /* Direct hand-off: let the waiter run now rather than racing it
         * for the lock we just gave away. Go calls goyield, which puts the
         * caller on its P's local queue; gort yields through gosched, to
         * the global queue's tail, behind everything waiting. */
        gosched();
    }
}
