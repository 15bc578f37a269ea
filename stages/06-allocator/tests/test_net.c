/*
 * test_net.c: the network poller and the socket API (stage 05).
 *
 *   echo       1,000 client goroutines against an echo server, every byte
 *              checked; IPv6, and ":0" reached over both families
 *   bulk       a 4 MiB write against a slow reader (partial writes park)
 *   many       10,000 connections open at once, each held by a goroutine
 *              (the server side in a second gort process: one process
 *              would need 20,000 descriptors)
 *   deadline   fired, passed (at once, even with data), extended and
 *              shortened while blocked, cleared, racing with data, on
 *              writes, on accept
 *   close      goroutines parked on the descriptor (readers, a writer, an
 *              acceptor) get -EBADF; calls after close, unknown descriptors
 *   errors     a closed port (-ECONNREFUSED), bad addresses (-EINVAL),
 *              an address in use
 *   reuse      a closed descriptor's number reused: the old deadline and
 *              waiter never touch the new socket
 *   dead       goroutines that all wait on sockets are not deadlocked; all
 *              waiting on a channel with an idle listener open still are
 *   observe    "IO wait" in the dump, the /gort/netpoll metrics
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* ---- helpers --------------------------------------------------------------- */

/* Reads exactly n bytes: n, or what net_read returned that ended it early. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = net_read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return r;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* A connected pair: *a dialled, *b accepted, through a listener closed after. */
static void tcp_pair(int *a, int *b)
{
    int l = net_listen("127.0.0.1:0", 16);
    CHECK_GE(l, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", net_local_port(l));
    *a = net_dial(addr);
    *b = net_accept(l);
    CHECK_GE(*a, 0);
    CHECK_GE(*b, 0);
    CHECK_EQ(net_close(l), 0);
}

static void setbufs(int fd, int snd, int rcv)
{
    if (snd)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    if (rcv)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
}

static uint64_t metric(const char *name)
{
    metrics_sample s = { .name = name };
    metrics_read(&s, 1);
    CHECK_EQ(s.kind, METRIC_U64);
    return s.value.u64;
}

/* A goroutine that reads once from fd and reports what it got. */
typedef struct {
    int fd;
    ssize_t r;
    char buf[64];
    int64_t id, took;
    chan_t *done;
} reader;

static void reader_fn(void *arg)
{
    reader *rd = arg;
    __atomic_store_n(&rd->id, goid(), __ATOMIC_RELEASE);
    int64_t t0 = time_now();
    rd->r = net_read(rd->fd, rd->buf, sizeof rd->buf);
    rd->took = time_now() - t0;
    h_send_int(rd->done, 1);
}

static void start_reader(reader *rd, int fd)
{
    memset(rd, 0, sizeof *rd);
    rd->fd = fd;
    rd->done = h_chan_int(1);
    go(reader_fn, rd);
    CHECK(WAIT_UNTIL(__atomic_load_n(&rd->id, __ATOMIC_ACQUIRE) != 0, 5000));
    CHECK(h_wait_parked(rd->id, "IO wait", 5000), "the reader never parked in IO wait");
}

static void wait_reader(reader *rd)
{
    h_recv_int(rd->done);
    chan_free(rd->done);
}

/* ---- echo -------------------------------------------------------------------- */

#define ECHO_CLIENTS 1000
#define ECHO_ROUNDS 8

typedef struct {
    int lfd;
    sync_waitgroup handlers;
    atomic_int accepted;
} echo_server;

static void echo_handler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t r = net_read(fd, buf, sizeof buf);
        if (r <= 0) {
            CHECK_EQ(r, 0);              /* the client closed: EOF, not an error */
            break;
        }
        CHECK_EQ(net_write(fd, buf, (size_t)r), r);
    }
    CHECK_EQ(net_close(fd), 0);
}

static void echo_acceptor(void *arg)
{
    echo_server *s = arg;
    for (;;) {
        int fd = net_accept(s->lfd);
        if (fd < 0) {
            CHECK_EQ(fd, -EBADF);        /* the listener was closed: done */
            break;
        }
        atomic_fetch_add(&s->accepted, 1);
        go(echo_handler, (void *)(intptr_t)fd);
    }
    sync_wg_done(&s->handlers);
}

typedef struct {
    const char *addr;
    int id;
    sync_waitgroup *wg;
    atomic_long *bytes;
} echo_client_arg;

static void echo_client(void *arg)
{
    echo_client_arg *c = arg;
    int fd = net_dial(c->addr);
    CHECK((fd) >= (0), "client %d: dial %s", c->id, c->addr);
    if (fd >= 0) {
        char out[3000], in[3000];
        for (int k = 0; k < ECHO_ROUNDS; k++) {
            size_t n = (size_t)((c->id * 37 + k * 101) % 2999) + 1;
            for (size_t j = 0; j < n; j++)
                out[j] = (char)(c->id * 31 + k * 7 + (int)j);
            CHECK_EQ(net_write(fd, out, n), (ssize_t)n);
            memset(in, 0, n);
            ssize_t r = read_full(fd, in, n);
            CHECK((r) == ((ssize_t)n), "client %d round %d", c->id, k);
            CHECK(r == (ssize_t)n && memcmp(in, out, n) == 0,
                  "client %d round %d: the echo differs", c->id, k);
            atomic_fetch_add(c->bytes, (long)n);
        }
        CHECK_EQ(net_close(fd), 0);
    }
    sync_wg_done(c->wg);
}

/* Runs nclients echo clients against a server listening on laddr, each
 * dialling daddr(port) in turn. */
static void echo_run(const char *laddr, const char *const *dialfmts, int nfmts, int nclients)
{
    echo_server s = { .handlers = SYNC_WAITGROUP_INIT };
    s.lfd = net_listen(laddr, 0);
    REQUIRE(s.lfd >= 0, "listen %s: %d", laddr, s.lfd);
    int port = net_local_port(s.lfd);
    CHECK_GT(port, 0);
    sync_wg_add(&s.handlers, 1);
    go(echo_acceptor, &s);

    char (*addrs)[64] = calloc((size_t)nfmts, 64);
    for (int i = 0; i < nfmts; i++)
        snprintf(addrs[i], 64, dialfmts[i], port);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    atomic_long bytes = 0;
    echo_client_arg *args = calloc((size_t)nclients, sizeof *args);
    sync_wg_add(&wg, nclients);
    for (int i = 0; i < nclients; i++) {
        args[i] = (echo_client_arg){ addrs[i % nfmts], i, &wg, &bytes };
        go(echo_client, &args[i]);
    }
    sync_wg_wait(&wg);
    long want = 0;
    for (int i = 0; i < nclients; i++)
        for (int k = 0; k < ECHO_ROUNDS; k++)
            want += (i * 37 + k * 101) % 2999 + 1;
    CHECK_EQ(atomic_load(&bytes), want);
    CHECK_EQ(atomic_load(&s.accepted), nclients);
    CHECK_EQ(net_close(s.lfd), 0);       /* ends the acceptor with -EBADF */
    sync_wg_wait(&s.handlers);
    free(args);
    free(addrs);
}

GTEST(echo, thousand_clients_every_byte_checked)
{
    uint64_t waits0 = metric("/gort/netpoll/waits:events");
    uint64_t ready0 = metric("/gort/netpoll/ready:events");
    const char *fmts[] = { "127.0.0.1:%d" };
    echo_run("127.0.0.1:0", fmts, 1, ECHO_CLIENTS);
    /* Some goroutine parked on a socket, and the poll woke some. */
    CHECK_GT(metric("/gort/netpoll/waits:events"), waits0);
    CHECK_GT(metric("/gort/netpoll/ready:events"), ready0);
}

GTEST(echo, ipv6_loopback)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool v6 = probe >= 0 && bind(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (probe >= 0)
        close(probe);
    if (!v6) {
        fprintf(stderr, "echo/ipv6_loopback: skipped: no IPv6 loopback (::1) here\n");
        CHECK(!v6);
        return;
    }
    const char *fmts[] = { "[::1]:%d" };
    echo_run("[::1]:0", fmts, 1, 50);
    /* ":0" listens on every address: reached over IPv4, IPv6 and ":port". */
    const char *any[] = { "127.0.0.1:%d", "[::1]:%d", ":%d" };
    echo_run(":0", any, 3, 60);
}

/* ---- bulk ------------------------------------------------------------------- */

#define BULK (4 << 20)

static uint8_t bulkbyte(size_t i) { return (uint8_t)(i * 7 + (i >> 12)); }

typedef struct {
    int fd;
    ssize_t r;
    chan_t *done;
} bulk_writer;

static void bulk_write_fn(void *arg)
{
    bulk_writer *w = arg;
    uint8_t *buf = malloc(BULK);
    for (size_t i = 0; i < BULK; i++)
        buf[i] = bulkbyte(i);
    w->r = net_write(w->fd, buf, BULK);
    free(buf);
    h_send_int(w->done, 1);
}

GTEST(bulk, four_mib_write_against_a_slow_reader)
{
    int a, b;
    tcp_pair(&a, &b);
    setbufs(a, 32 << 10, 0);             /* small buffers: the write must park */
    setbufs(b, 0, 32 << 10);
    uint64_t waits0 = metric("/gort/netpoll/waits:events");
    bulk_writer w = { .fd = a, .done = h_chan_int(1) };
    go(bulk_write_fn, &w);
    static uint8_t buf[16 << 10];
    size_t got = 0, bad = 0;
    int reads = 0;
    while (got < BULK) {
        ssize_t r = net_read(b, buf, sizeof buf);
        if (r <= 0) {
            CHECK((r) > (0), "read at %zu", got);
            break;
        }
        for (ssize_t j = 0; j < r; j++)
            bad += buf[j] != bulkbyte(got + (size_t)j);
        got += (size_t)r;
        if (++reads % 16 == 0)
            time_sleep(H_MS(1));         /* the slow reader */
    }
    h_recv_int(w.done);
    CHECK_EQ(w.r, BULK);                 /* all of it, in one call */
    CHECK_EQ(got, BULK);
    CHECK_EQ(bad, 0);
    CHECK_GT(metric("/gort/netpoll/waits:events"), waits0);   /* it parked */
    CHECK_EQ(net_close(a), 0);
    CHECK_EQ(net_read(b, buf, sizeof buf), 0);   /* then EOF */
    CHECK_EQ(net_close(b), 0);
    chan_free(w.done);
}

/* ---- many connections --------------------------------------------------------- */

/* 10,000 connections (2,000 under TSan, whose goroutine limit is lower).
 * The server side runs in a forked child, a second gort process, so that
 * each process needs one descriptor per connection. */
#define MANY (H_TSAN ? 2000 : 10000)

static int many_pipe[2];

static void many_handler(void *arg)
{
    void **a = arg;
    int fd = (int)(intptr_t)a[0];
    sync_waitgroup *wg = a[1];
    free(a);
    uint8_t c;
    if (net_read(fd, &c, 1) == 1) {
        c++;
        CHECK_EQ(net_write(fd, &c, 1), 1);
        uint8_t rest;
        CHECK_EQ(net_read(fd, &rest, 1), 0);   /* the client closes */
    } else {
        CHECK(false, "server: no byte from the client");
    }
    net_close(fd);
    sync_wg_done(wg);
}

static int many_server(int argc, char **argv)
{
    (void)argc; (void)argv;
    int l = net_listen("127.0.0.1:0", 4096);
    if (l < 0)
        return 10;
    int port = net_local_port(l);
    if (write(many_pipe[1], &port, sizeof port) != sizeof port)
        return 11;
    net_set_deadline(l, time_now() + H_SEC(120) * H_SLOW);   /* a lost client ends it */
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    for (int i = 0; i < MANY; i++) {
        int fd = net_accept(l);
        if (fd < 0)
            return 12;
        void **a = malloc(2 * sizeof *a);
        a[0] = (void *)(intptr_t)fd;
        a[1] = &wg;
        sync_wg_add(&wg, 1);
        go(many_handler, a);
    }
    sync_wg_wait(&wg);
    net_close(l);
    return h_failures() ? 13 : 0;
}

static int many_server_child(void)
{
    static char arg0[] = "gort-many-server";
    static char *argv[] = { arg0, NULL };
    close(many_pipe[0]);
    h_reset();
    int rc = runtime_main(many_server, 1, argv);
    if (rc != 0)
        h_child_dump_failures();
    return rc;
}

static int many_port;
static chan_t *many_gate, *many_go;
static sync_waitgroup many_connected, many_done;
static atomic_int many_open, many_max_open, many_ok;

static void many_client(void *arg)
{
    int i = (int)(intptr_t)arg;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", many_port);
    h_send_int(many_gate, 1);            /* at most 256 dials in flight */
    int fd = net_dial(addr);
    h_recv_int(many_gate);
    CHECK((fd) >= (0), "client %d: dial", i);
    int open = atomic_fetch_add(&many_open, 1) + 1, max = atomic_load(&many_max_open);
    while (open > max && !atomic_compare_exchange_weak(&many_max_open, &max, open))
        ;
    sync_wg_done(&many_connected);
    int dummy;
    chan_recv(many_go, &dummy);          /* closed once all are connected */
    if (fd >= 0) {
        uint8_t c = (uint8_t)i, back = 0;
        if (net_write(fd, &c, 1) == 1 && net_read(fd, &back, 1) == 1 && back == (uint8_t)(c + 1))
            atomic_fetch_add(&many_ok, 1);
        atomic_fetch_sub(&many_open, 1);
        CHECK_EQ(net_close(fd), 0);
    }
    sync_wg_done(&many_done);
}

static void many_body(void)
{
    many_gate = h_chan_int(256);
    many_go = h_chan_int(0);
    many_connected = (sync_waitgroup)SYNC_WAITGROUP_INIT;
    many_done = (sync_waitgroup)SYNC_WAITGROUP_INIT;
    sync_wg_add(&many_connected, MANY);
    sync_wg_add(&many_done, MANY);
    for (int i = 0; i < MANY; i++)
        go(many_client, (void *)(intptr_t)i);
    sync_wg_wait(&many_connected);
    CHECK_EQ(atomic_load(&many_max_open), MANY);   /* all open at once */
    CHECK_EQ(runtime_num_goroutine(), MANY + 1);
    chan_close(many_go);
    sync_wg_wait(&many_done);
    CHECK_EQ(atomic_load(&many_ok), MANY);
    chan_free(many_gate);
    chan_free(many_go);
}

Test(many, ten_thousand_connections_each_held_by_a_goroutine, .timeout = H_TIMEOUT)
{
    struct rlimit rl;
    cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    rlim_t need = MANY + 64;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        fprintf(stderr, "many/ten_thousand_connections: skipped: RLIMIT_NOFILE is %llu "
                "(hard %llu), %llu descriptors are needed\n", (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max, (unsigned long long)need);
        cr_assert(rl.rlim_cur < need);
        return;
    }
    cr_assert(pipe(many_pipe) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
        _exit(many_server_child());
    close(many_pipe[1]);
    int port = 0;
    ssize_t n = read(many_pipe[0], &port, sizeof port);
    close(many_pipe[0]);
    if (n != sizeof port) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("the server child did not start");
    }
    many_port = port;
    h_reset();
    h.body = many_body;
    static char arg0[] = "gort-test";
    static char *argv[] = { arg0, NULL };
    int rc = runtime_main(h_main, 1, argv);
    int st = 0;
    int64_t deadline = h_now() + H_SEC(60) * H_SLOW;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (h_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(1000);
    }
    h_report("many/ten_thousand_connections_each_held_by_a_goroutine", rc);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the server child ended with status %#x (exit code 13: a check failed there)", st);
}

/* ---- deadlines ------------------------------------------------------------------ */

GTEST(deadline, fires_and_a_passed_one_fails_at_once)
{
    int a, b;
    tcp_pair(&a, &b);
    char c;
    int64_t t0 = time_now();
    CHECK_EQ(net_set_deadline(b, t0 + H_MS(50)), 0);
    CHECK_EQ(net_read(b, &c, 1), -ETIMEDOUT);
    int64_t took = time_now() - t0;
    CHECK_GE(took, H_MS(50));
    CHECK_LT(took, H_SEC(5) * H_SLOW);
    /* Passed: fails at once, even with data waiting (as Go). */
    CHECK_EQ(net_write(a, "x", 1), 1);
    time_sleep(H_MS(10));
    CHECK_EQ(net_read(b, &c, 1), -ETIMEDOUT);
    CHECK_EQ(net_set_deadline(b, time_now() - 1), 0);   /* in the past: same */
    CHECK_EQ(net_read(b, &c, 1), -ETIMEDOUT);
    /* Cleared: the data is there. */
    CHECK_EQ(net_set_deadline(b, 0), 0);
    CHECK_EQ(net_read(b, &c, 1), 1);
    CHECK_EQ(c, 'x');
    net_close(a);
    net_close(b);
}

GTEST(deadline, extended_and_shortened_while_blocked)
{
    int a, b;
    tcp_pair(&a, &b);
    reader rd;
    /* Extended: the reader waits; a deadline 100 ms away is set, then
     * moved to 400 ms (both while it waits: no race with its parking). */
    start_reader(&rd, b);
    int64_t t0 = time_now();
    CHECK_EQ(net_set_deadline(b, t0 + H_MS(100) * H_SLOW), 0);
    CHECK_EQ(net_set_deadline(b, t0 + H_MS(400) * H_SLOW), 0);
    /* A stall of 100 ms between the two calls (a loaded machine) lets the
     * first deadline pass first: then only the result is checked. */
    bool intime = time_now() < t0 + H_MS(100) * H_SLOW;
    wait_reader(&rd);
    CHECK_EQ(rd.r, -ETIMEDOUT);
    if (intime)
        CHECK_GE(time_now() - t0, H_MS(400) * H_SLOW);
    /* Shortened: 60 s, moved to now while it waits. */
    CHECK_EQ(net_set_deadline(b, time_now() + H_SEC(60)), 0);
    start_reader(&rd, b);
    t0 = time_now();
    CHECK_EQ(net_set_deadline(b, time_now() + H_MS(20)), 0);
    wait_reader(&rd);
    CHECK_EQ(rd.r, -ETIMEDOUT);
    CHECK_LT(time_now() - t0, H_SEC(5) * H_SLOW);
    net_close(a);
    net_close(b);
}

GTEST(deadline, cleared_while_blocked)
{
    int a, b;
    tcp_pair(&a, &b);
    reader rd;
    start_reader(&rd, b);
    int64_t old = time_now() + H_MS(300) * H_SLOW;
    CHECK_EQ(net_set_deadline(b, old), 0);
    CHECK_EQ(net_set_deadline(b, 0), 0);
    bool intime = time_now() < old;      /* else a stall let it fire first */
    time_sleep(old + H_MS(150) - time_now());   /* well past the old deadline */
    if (intime)
        CHECK((chan_len(rd.done)) == (0), "the reader woke though its deadline was cleared");
    CHECK_EQ(net_write(a, "hello", 5), 5);
    wait_reader(&rd);
    if (intime) {
        CHECK_EQ(rd.r, 5);
        CHECK(memcmp(rd.buf, "hello", 5) == 0);
    } else {
        CHECK(rd.r == 5 || rd.r == -ETIMEDOUT, "read returned %zd", rd.r);
    }
    net_close(a);
    net_close(b);
}

typedef struct {
    int fd;
    int64_t at;
} delayed_write;

static void delayed_write_fn(void *arg)
{
    delayed_write *w = arg;
    while (time_now() < w->at)
        gosched();
    CHECK_EQ(net_write(w->fd, "abcd", 4), 4);
}

GTEST(deadline, racing_with_data)
{
    int a, b;
    tcp_pair(&a, &b);
    int data = 0, timeouts = 0;
    for (int i = 0; i < 200; i++) {
        int64_t at = time_now() + H_MS(2);
        delayed_write w = { a, at + (i % 5 - 2) * 200000 };
        CHECK_EQ(net_set_deadline(b, at), 0);
        go(delayed_write_fn, &w);
        char buf[4];
        ssize_t r = read_full(b, buf, 4);
        if (r == 4) {
            data++;
            CHECK(memcmp(buf, "abcd", 4) == 0);
        } else {
            /* Timed out: never anything else, and the data is not lost. */
            CHECK((r) == (-ETIMEDOUT), "round %d", i);
            timeouts++;
            CHECK_EQ(net_set_deadline(b, 0), 0);
            CHECK(read_full(b, buf, 4) == 4, "round %d: the data after a timeout", i);
            CHECK(memcmp(buf, "abcd", 4) == 0);
        }
    }
    CHECK_EQ(data + timeouts, 200);
    net_close(a);
    net_close(b);
}

GTEST(deadline, on_a_blocked_write)
{
    int a, b;
    tcp_pair(&a, &b);
    setbufs(a, 16 << 10, 0);
    setbufs(b, 0, 16 << 10);
    size_t n = 8 << 20;
    char *buf = calloc(1, n);
    int64_t t0 = time_now();
    CHECK_EQ(net_set_deadline(a, t0 + H_MS(100)), 0);
    CHECK_EQ(net_write(a, buf, n), -ETIMEDOUT);     /* nobody reads b */
    CHECK_GE(time_now() - t0, H_MS(100));
    free(buf);
    net_close(a);
    net_close(b);
}

static void dial_later(void *arg)
{
    time_sleep(H_MS(20));
    int fd = net_dial(arg);
    CHECK_GE(fd, 0);
    time_sleep(H_MS(50));
    net_close(fd);
}

GTEST(deadline, on_accept)
{
    int l = net_listen("127.0.0.1:0", 4);
    REQUIRE(l >= 0);
    int64_t t0 = time_now();
    CHECK_EQ(net_set_deadline(l, t0 + H_MS(50)), 0);
    CHECK_EQ(net_accept(l), -ETIMEDOUT);
    CHECK_GE(time_now() - t0, H_MS(50));
    CHECK_EQ(net_set_deadline(l, 0), 0);
    static char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", net_local_port(l));
    go(dial_later, addr);
    int fd = net_accept(l);
    CHECK_GE(fd, 0);
    net_close(fd);
    net_close(l);
}

/* ---- close ------------------------------------------------------------------------ */

typedef struct {
    int fd;
    ssize_t r;
    int64_t id;
    chan_t *done;
} blocked_op;

static void blocked_writer(void *arg)
{
    blocked_op *w = arg;
    __atomic_store_n(&w->id, goid(), __ATOMIC_RELEASE);
    size_t n = 8 << 20;
    char *buf = calloc(1, n);
    w->r = net_write(w->fd, buf, n);
    free(buf);
    h_send_int(w->done, 1);
}

static void blocked_acceptor(void *arg)
{
    blocked_op *w = arg;
    __atomic_store_n(&w->id, goid(), __ATOMIC_RELEASE);
    w->r = net_accept(w->fd);
    h_send_int(w->done, 1);
}

GTEST(close, wakes_every_goroutine_parked_on_the_descriptor)
{
    int a, b;
    tcp_pair(&a, &b);
    setbufs(a, 16 << 10, 0);
    setbufs(b, 0, 16 << 10);
    /* Three readers (one parks in IO wait, two queue behind it), a writer
     * with a full buffer, all on a; an acceptor on a listener. */
    reader rd[3];
    start_reader(&rd[0], a);
    for (int i = 1; i < 3; i++) {
        memset(&rd[i], 0, sizeof rd[i]);
        rd[i].fd = a;
        rd[i].done = h_chan_int(1);
        go(reader_fn, &rd[i]);
    }
    blocked_op w = { .fd = a, .done = h_chan_int(1) };
    go(blocked_writer, &w);
    CHECK(WAIT_UNTIL(__atomic_load_n(&w.id, __ATOMIC_ACQUIRE) != 0, 5000));
    CHECK(h_wait_parked(w.id, "IO wait", 5000), "the writer never parked");
    int l = net_listen("127.0.0.1:0", 4);
    blocked_op ac = { .fd = l, .done = h_chan_int(1) };
    go(blocked_acceptor, &ac);
    CHECK(WAIT_UNTIL(__atomic_load_n(&ac.id, __ATOMIC_ACQUIRE) != 0, 5000));
    CHECK(h_wait_parked(ac.id, "IO wait", 5000), "the acceptor never parked");
    time_sleep(H_MS(20));

    CHECK_EQ(net_close(a), 0);
    CHECK_EQ(net_close(l), 0);
    for (int i = 0; i < 3; i++) {
        wait_reader(&rd[i]);
        CHECK((rd[i].r) == (-EBADF), "reader %d", i);
    }
    h_recv_int(w.done);
    CHECK_EQ(w.r, -EBADF);
    h_recv_int(ac.done);
    CHECK_EQ(ac.r, -EBADF);
    chan_free(w.done);
    chan_free(ac.done);
    /* The peer sees the close, after what the writer got in. */
    static char sink[1 << 16];
    ssize_t r;
    while ((r = net_read(b, sink, sizeof sink)) > 0)
        ;
    CHECK_EQ(r, 0);
    CHECK_EQ(net_close(b), 0);
}

GTEST(close, calls_after_close_and_on_unknown_descriptors)
{
    int a, b;
    tcp_pair(&a, &b);
    CHECK_EQ(net_close(a), 0);
    char c = 0;
    CHECK_EQ(net_close(a), -EBADF);
    CHECK_EQ(net_read(a, &c, 1), -EBADF);
    CHECK_EQ(net_write(a, &c, 1), -EBADF);
    CHECK_EQ(net_set_deadline(a, 1), -EBADF);
    CHECK_EQ(net_accept(a), -EBADF);
    CHECK_EQ(net_local_port(a), -EBADF);
    /* Descriptors the API never opened, or none at all. */
    int fds[] = { -1, 0, 2, 1 << 20 };
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
        CHECK_EQ(net_read(fds[i], &c, 1), -EBADF);
        CHECK_EQ(net_write(fds[i], &c, 1), -EBADF);
        CHECK_EQ(net_close(fds[i]), -EBADF);
        CHECK_EQ(net_set_deadline(fds[i], 0), -EBADF);
    }
    int e = net_read(-1, &c, 1);
    int saved = errno;                   /* right after the call: HACKING.md */
    CHECK_EQ(e, -EBADF);
    CHECK_EQ(saved, EBADF);
    /* Writing to a closed peer: an error, never SIGPIPE. */
    ssize_t r = 0;
    static char big[1 << 16];
    for (int i = 0; i < 64 && r >= 0; i++)
        r = net_write(b, big, sizeof big);
    CHECK(r == -EPIPE || r == -ECONNRESET, "write to a closed peer: %zd", r);
    CHECK_EQ(net_close(b), 0);
}

/* ---- errors --------------------------------------------------------------------- */

GTEST(errors, dial_to_a_closed_port_is_refused)
{
    int l = net_listen("127.0.0.1:0", 1);
    REQUIRE(l >= 0);
    int port = net_local_port(l);
    CHECK_EQ(net_close(l), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(net_dial(addr), -ECONNREFUSED);
}

GTEST(errors, bad_addresses_are_einval)
{
    const char *bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "1.2.3:80",
                          "::1:80", "[::1", "[::1]", "localhost:80", "127.0.0.1:8x",
                          "[127.0.0.1]:80", "127.0.0.1:-1", "127.0.0.1:123456",
                          "999.1.1.1:80" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK((net_dial(bad[i])) == (-EINVAL), "dial \"%s\"", bad[i]);
        CHECK(net_listen(bad[i], 1) == -EINVAL, "listen \"%s\"", bad[i]);
    }
    CHECK_EQ(net_dial(NULL), -EINVAL);
    CHECK_EQ(net_listen(NULL, 1), -EINVAL);
    /* An address in use. */
    int l = net_listen("127.0.0.1:0", 1);
    REQUIRE(l >= 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", net_local_port(l));
    CHECK_EQ(net_listen(addr, 1), -EADDRINUSE);
    net_close(l);
}

/* ---- reuse ----------------------------------------------------------------------- */

GTEST(reuse, a_closed_descriptors_deadline_and_waiter_never_touch_the_new_one)
{
    for (int round = 0; round < 5; round++) {
        int a, b;
        tcp_pair(&a, &b);
        /* A reader parked on b, a deadline 300 ms away; close b. */
        reader old;
        start_reader(&old, b);
        int64_t olddl = time_now() + H_MS(300) * H_SLOW;
        CHECK_EQ(net_set_deadline(b, olddl), 0);
        int oldfd = b;
        CHECK_EQ(net_close(b), 0);
        bool intime = time_now() < olddl;    /* else a stall let it fire first */
        wait_reader(&old);
        if (intime)
            CHECK_EQ(old.r, -EBADF);     /* the close, not the deadline */
        else
            CHECK(old.r == -EBADF || old.r == -ETIMEDOUT, "read returned %zd", old.r);
        /* The kernel hands out the lowest free number: b's, now. */
        int c, d;
        tcp_pair(&c, &d);
        int newfd = c == oldfd ? c : d == oldfd ? d : -1;
        CHECK(newfd >= 0, "round %d: descriptor %d was not reused (%d, %d)", round, oldfd, c, d);
        if (newfd < 0)
            newfd = d;
        int peer = newfd == c ? d : c;
        /* Its reader waits past the old deadline, untouched. */
        reader fresh;
        start_reader(&fresh, newfd);
        time_sleep(olddl + H_MS(150) - time_now());   /* past the old deadline */
        CHECK((chan_len(fresh.done)) == (0), "round %d: a stale deadline woke the new socket's reader", round);
        /* Data on the old connection's peer wakes nobody here either. */
        net_write(a, "zz", 2);
        time_sleep(H_MS(20));
        CHECK((chan_len(fresh.done)) == (0), "round %d: the old peer's data woke the new reader", round);
        CHECK_EQ(net_write(peer, "new", 3), 3);
        wait_reader(&fresh);
        CHECK_EQ(fresh.r, 3);
        CHECK(memcmp(fresh.buf, "new", 3) == 0);
        net_close(a);
        net_close(c);
        net_close(d);
    }
}

/* Misuse: a socket closed with close(2), not net_close, while a goroutine
 * waits on it. When the kernel reuses the number for the next socket the
 * API opens, the old waiter gets -EBADF and the new socket works. */
GTEST(reuse, a_descriptor_closed_behind_the_runtimes_back)
{
    int a, b;
    tcp_pair(&a, &b);
    reader old;
    start_reader(&old, b);
    int oldfd = b;
    CHECK_EQ(close(b), 0);               /* misuse */
    int c, d;
    tcp_pair(&c, &d);
    CHECK(c == oldfd || d == oldfd, "descriptor %d was not reused (%d, %d)", oldfd, c, d);
    wait_reader(&old);
    CHECK_EQ(old.r, -EBADF);
    CHECK_EQ(net_write(c, "ok", 2), 2);
    char buf[2];
    CHECK_EQ(read_full(d, buf, 2), 2);
    CHECK(memcmp(buf, "ok", 2) == 0);
    CHECK_EQ(net_close(c), 0);
    CHECK_EQ(net_close(d), 0);
    CHECK_EQ(net_close(a), 0);
    CHECK_EQ(net_close(oldfd), -EBADF);  /* both numbers are free again */
}

/* ---- deadlock detection --------------------------------------------------------- */

static void *raw_client(void *arg)
{
    int port = (int)(intptr_t)arg;
    usleep(200 * 1000);                  /* main is in net_accept by now */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        usleep(100 * 1000);              /* main is in net_read */
        ssize_t w = write(fd, "hi", 2);
        (void)w;
    }
    close(fd);
    return NULL;
}

/* Every goroutine waits on a socket that only a thread the runtime does
 * not know about (not attached) will make ready: not a deadlock, as in Go,
 * where goroutines in IO wait keep an M in netpoll. */
GTEST(dead, goroutines_all_waiting_on_sockets_are_not_deadlocked)
{
    int l = net_listen("127.0.0.1:0", 4);
    REQUIRE(l >= 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, raw_client, (void *)(intptr_t)net_local_port(l)), 0);
    int fd = net_accept(l);
    CHECK_GE(fd, 0);
    char buf[2];
    CHECK_EQ(read_full(fd, buf, 2), 2);
    CHECK(memcmp(buf, "hi", 2) == 0);
    CHECK_EQ(net_read(fd, buf, 1), 0);
    pthread_join(t, NULL);
    net_close(fd);
    net_close(l);
}

/* A listener nobody accepts on is no reason to wait: goroutines blocked on
 * a channel are still deadlocked (Go: no goroutine waits in netpoll, so
 * findrunnable does not block there and checkdead runs). */
static int deadlock_with_idle_listener(int argc, char **argv)
{
    (void)argc; (void)argv;
    int l = net_listen("127.0.0.1:0", 4);
    if (l < 0)
        return 3;
    chan_t *c = h_chan_int(0);
    h_recv_int(c);
    return 0;
}

Test(dead, waiting_on_a_channel_with_an_idle_listener_open_is_deadlocked, .timeout = H_TIMEOUT)
{
    h_child r;
    h_expect_death_in(&r, deadlock_with_idle_listener,
                      "fatal error: all goroutines are asleep - deadlock!", 1);
    cr_assert(strstr(r.err, "goroutine 1 [chan receive") != NULL, "stderr:\n%s", r.err);
    h_child_free(&r);
}

/* ---- the poller in the scheduler ---------------------------------------------- */

static atomic_int busy_stop;
static atomic_long busy_spins;
__attribute__((noinline, noipa)) static void busy_step(void) { atomic_fetch_add(&busy_spins, 1); }

static void busy_spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&busy_stop))
        busy_step();                     /* a call: a safe point under PREEMPT=coop too */
}

static void *late_writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    usleep(50 * 1000);
    ssize_t w = write(fd, "!", 1);       /* a plain write: the runtime does not see it */
    (void)w;
    return NULL;
}

/* Every P runs a goroutine that never blocks, so no M looks for work and
 * none waits in netpoll: sysmon's poll (nobody polled for 10 ms) finds
 * the socket ready, and the reader runs within a few time slices. */
GTEST(sched, a_ready_socket_is_noticed_while_every_p_is_busy)
{
    int a, b;
    tcp_pair(&a, &b);
    atomic_store(&busy_stop, 0);
    int procs = runtime_gomaxprocs(0);
    for (int i = 0; i < procs; i++)
        go(busy_spinner, NULL);
    reader rd;
    start_reader(&rd, b);
    long spins0 = atomic_load(&busy_spins);
    time_sleep(H_MS(20));                /* the spinners hold every P */
    CHECK_GT(atomic_load(&busy_spins), spins0);
    pthread_t t;
    int64_t t0 = time_now();
    CHECK_EQ(pthread_create(&t, NULL, late_writer, (void *)(intptr_t)a), 0);
    h_recv_int(rd.done);
    int64_t took = time_now() - t0;
    atomic_store(&busy_stop, 1);
    pthread_join(t, NULL);
    chan_free(rd.done);
    CHECK_EQ(rd.r, 1);
    CHECK(took < H_SEC(1) * H_SLOW, "the reader ran %.1f ms after the write",
          (double)(took - H_MS(50)) / 1e6);
    net_close(a);
    net_close(b);
}

/* ---- observe ------------------------------------------------------------------------ */

GTEST(observe, io_wait_in_the_dump)
{
    int a, b;
    tcp_pair(&a, &b);
    reader rd;
    start_reader(&rd, b);                /* checks "[IO wait" itself */
    char *d = h_dump();
    char *blk = h_dump_block(d, rd.id);
    CHECK(blk != NULL && strstr(blk, "reader_fn") != NULL, "dump:\n%s", d);
    free(blk);
    free(d);
    CHECK_EQ(net_write(a, "q", 1), 1);
    wait_reader(&rd);
    CHECK_EQ(rd.r, 1);
    net_close(a);
    net_close(b);
}
