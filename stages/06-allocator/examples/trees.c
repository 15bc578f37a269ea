/*
 * trees.c: stage 06's allocator at work (and under valgrind, the proof
 * that gc objects are tracked and released).
 *
 * The Go program it rebuilds (binary-trees, the allocation benchmark):
 *
 *     type node struct{ left, right *node }
 *     func build(d int) *node {
 *         if d == 0 { return &node{} }
 *         return &node{build(d - 1), build(d - 1)}
 *     }
 *     func check(n *node) int {
 *         if n.left == nil { return 1 }
 *         return 1 + check(n.left) + check(n.right)
 *     }
 *     func main() {
 *         results := make(chan int)
 *         for i := 0; i < 4; i++ {
 *             go func() { results <- check(build(12)) }()
 *         }
 *         for i := 0; i < 4; i++ { fmt.Println(<-results) }   // 8191 each
 *     }
 *
 * What to notice:
 *  - gc_alloc returns zeroed memory: a leaf's children are NULL with no
 *    store. GC_STORE marks the pointer stores into gc objects (plain in
 *    stage 06, the write barrier from stage 07).
 *  - Stage 06 has no collector, so each worker frees its tree (gc_free)
 *    and each P's cache reuses the slots; the last tree is left for
 *    runtime_main's end to release, and valgrind finds no leak.
 */
#include <gort.h>
#include <stdio.h>

typedef struct node { struct node *left, *right; } node;

static node *build(int d)
{
    node *n = gc_alloc(sizeof *n);
    if (d > 0) {
        GC_STORE(n->left, build(d - 1));
        GC_STORE(n->right, build(d - 1));
    }
    return n;
}

static int check(node *n)
{
    if (n->left == NULL)
        return 1;
    return 1 + check(n->left) + check(n->right);
}

static void release(node *n)
{
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    gc_free(n);
}

static void worker(void *arg)
{
    chan_t *results = arg;
    node *t = build(12);
    int c = check(t);
    release(t);
    chan_send(results, &c);
}

static int trees_main(int argc, char **argv)
{
    chan_t *results = chan_make(sizeof(int), 0);
    for (int i = 0; i < 4; i++)
        go(worker, results);
    for (int i = 0; i < 4; i++) {
        int c;
        chan_recv(results, &c);
        printf("%d\n", c);
    }
    build(10);                 /* never freed: runtime_main's end releases it */
    runtime_mem_stats ms;
    runtime_read_mem_stats(&ms);
    printf("live objects: %llu\n", (unsigned long long)ms.HeapObjects);
    chan_free(results);
    return 0;
}

GO_MAIN(trees_main)
