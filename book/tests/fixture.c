/* fixture.c: C that a naive brace counter gets wrong, for tests/selftest.sh.
 * Not compiled; only the book's filter reads it. { unbalanced in a comment */
#define BRACES do { if (x) { y(); } } while (0)
#define NOIPA __attribute__((noinline))

static int helper(int a);          /* a prototype: not a definition */

/* helper: the comment above a definition comes with it. */
static int
helper(int a)
{
    const char *s = "}{ not a brace";   /* nor these: } */
    char c = '}';
    return a + (s[0] == c);
}

NOIPA int one_line(void) { return 1; }

static inline __attribute__((always_inline))
long multi_line_signature(long first,
                          long second)
{
    struct { int x; } v = { 1 };
    // a line comment with a brace {
    return first + second + v.x;
}

typedef struct pair {
    int a, b;
} pair;

struct node {
    struct node *next;
};

#if defined(__x86_64__)
int twice(void) { return 64; }
#else
int twice(void) { return 32; }
#endif

/* plumbed: tracing and metrics around one real line (selftest: elide) */
void plumbed(struct node *n, int x)
{
    if (trace_enabled)
        trace_gostart(n, x);
    n->next = 0;
    if (n->since) {
        metrics_record_latency(x - n->since);
        n->since = 0;
    }
    metrics_add(x,
                1);
}
