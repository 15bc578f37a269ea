/*
 * bench/echo_client.c: the load generator of the echo benchmark. Plain C
 * and epoll, no gort: the same client drives gort's server
 * (bench/echo_server.c), Go's (`gobench echoserver`) and the bare epoll
 * floor (bench/epoll_echo.c), so that only the server differs.
 *
 *   echo_client rr   PORT PID [CONNS [SECONDS [THREADS]]]
 *       CONNS connections (100), each a closed loop: a 64-byte request,
 *       then wait for the 64-byte reply, for SECONDS (5) after a 0.5 s
 *       warm-up, on THREADS client threads (2). Prints
 *           echo_rps VALUE req/s          requests answered per second
 *           echo_cpu_per_req VALUE us     server CPU (user + system, from
 *                                         /proc/PID/stat) per request
 *   echo_client idle PORT PID [CONNS]
 *       opens CONNS connections (10000), sends one request on each and
 *       waits for every reply (so the server holds a goroutine or an
 *       entry per connection), then prints the server's resident memory
 *       growth per connection:
 *           echo_idle_rss VALUE bytes
 *
 * Every reply is checked byte for byte; a short or wrong reply, a closed
 * connection or an error exits with status 1. The client raises its own
 * RLIMIT_NOFILE; the server must raise its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static int port;
static int server_pid;
static atomic_long answered;           /* replies counted while measuring */
static atomic_int  measuring, stop;

static void die(const char *what)
{
    fprintf(stderr, "echo_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The server's CPU time so far in seconds: fields 14 and 15 of
 * /proc/PID/stat (utime, stime), in clock ticks. */
static double server_cpu(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die(path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');       /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &ut, &st) != 2) {
        fprintf(stderr, "echo_client: cannot parse %s\n", path);
        exit(1);
    }
    return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

static long server_rss(void)
{
    char path[64];
    long size, resident;
    snprintf(path, sizeof path, "/proc/%d/statm", server_pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2)
        die(path);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void fill(unsigned char *msg, int conn, long seq)
{
    for (int i = 0; i < MSG; i++)
        msg[i] = (unsigned char)(conn * 31 + seq * 7 + i);
}

/* Send one request; a 64-byte write to a socket with room never splits. */
static void request(int fd, int conn, long seq)
{
    unsigned char msg[MSG];
    fill(msg, conn, seq);
    if (write(fd, msg, MSG) != MSG)
        die("write");
}

typedef struct {
    int  fd, conn;
    long seq;
    int  got;                      /* bytes of the current reply so far */
    unsigned char buf[MSG];
} conn_t;

/* Read what has arrived on c; returns 1 when a whole reply is in, checked. */
static int reply(conn_t *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->got, MSG - c->got);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (r < 0)
            die("read");
        if (r == 0) {
            fprintf(stderr, "echo_client: server closed connection %d\n", c->conn);
            exit(1);
        }
        c->got += (int)r;
        if (c->got < MSG)
            continue;
        unsigned char want[MSG];
        fill(want, c->conn, c->seq);
        if (memcmp(want, c->buf, MSG) != 0) {
            fprintf(stderr, "echo_client: wrong reply on connection %d\n", c->conn);
            exit(1);
        }
        c->got = 0;
        return 1;
    }
}

typedef struct { int first, n; } slice_t;

static void *rr_thread(void *arg)
{
    slice_t *s = arg;
    int ep = epoll_create1(0);
    conn_t *cs = calloc(s->n, sizeof *cs);
    if (ep < 0 || cs == NULL)
        die("epoll_create1");
    for (int i = 0; i < s->n; i++) {
        cs[i].fd = dial();
        cs[i].conn = s->first + i;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            die("epoll_ctl");
        request(cs[i].fd, cs[i].conn, 0);
    }
    struct epoll_event evs[128];
    while (!atomic_load(&stop)) {
        int n = epoll_wait(ep, evs, 128, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        long done = 0;
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (reply(c)) {
                done++;
                request(c->fd, c->conn, ++c->seq);
            }
        }
        if (done && atomic_load_explicit(&measuring, memory_order_relaxed))
            atomic_fetch_add_explicit(&answered, done, memory_order_relaxed);
    }
    for (int i = 0; i < s->n; i++)
        close(cs[i].fd);
    free(cs);
    close(ep);
    return NULL;
}

static void rr(int conns, double seconds, int threads)
{
    pthread_t tid[64];
    slice_t sl[64];
    if (threads > conns)
        threads = conns;
    for (int t = 0; t < threads; t++) {
        sl[t].first = t * conns / threads;
        sl[t].n = (t + 1) * conns / threads - sl[t].first;
        pthread_create(&tid[t], NULL, rr_thread, &sl[t]);
    }
    usleep(500000);                                    /* warm-up */
    double cpu0 = server_cpu(), t0 = now_s();
    atomic_store(&measuring, 1);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&measuring, 0);
    double cpu1 = server_cpu(), t1 = now_s();
    long n = atomic_load(&answered);
    atomic_store(&stop, 1);
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    if (n == 0) {
        fprintf(stderr, "echo_client: no replies in %.1f s\n", seconds);
        exit(1);
    }
    printf("echo_rps %.0f req/s\n", n / (t1 - t0));
    printf("echo_cpu_per_req %.2f us\n", (cpu1 - cpu0) * 1e6 / n);
}

static void idle(int conns)
{
    long rss0 = server_rss();
    conn_t *cs = calloc(conns, sizeof *cs);
    for (int i = 0; i < conns; i++) {
        cs[i].fd = dial();
        cs[i].conn = i;
        request(cs[i].fd, i, 0);
    }
    for (int i = 0; i < conns; i++) {      /* blocking reads: every reply in */
        while (cs[i].got < MSG) {
            ssize_t r = read(cs[i].fd, cs[i].buf + cs[i].got, MSG - cs[i].got);
            if (r <= 0)
                die("read");
            cs[i].got += (int)r;
        }
    }
    usleep(200000);
    long rss1 = server_rss();
    printf("echo_idle_rss %.0f bytes\n", (double)(rss1 - rss0) / conns);
    for (int i = 0; i < conns; i++)
        close(cs[i].fd);
    free(cs);
}

static int arg(int argc, char **argv, int i, int def)
{
    return argc > i ? atoi(argv[i]) : def;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "rr") != 0 && strcmp(argv[1], "idle") != 0)) {
        fprintf(stderr, "usage: echo_client rr PORT PID [CONNS [SECONDS [THREADS]]]\n"
                        "       echo_client idle PORT PID [CONNS]\n");
        return 2;
    }
    port = atoi(argv[2]);
    server_pid = atoi(argv[3]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (strcmp(argv[1], "rr") == 0) {
        int conns = arg(argc, argv, 4, 100), threads = arg(argc, argv, 6, 2);
        double secs = argc > 5 ? atof(argv[5]) : 5.0;
        if (conns < 1 || threads < 1 || threads > 64 || secs <= 0) {
            fprintf(stderr, "echo_client: bad CONNS, SECONDS or THREADS\n");
            return 2;
        }
        rr(conns, secs, threads);
    } else {
        int conns = arg(argc, argv, 4, 10000);
        if (conns < 1) {
            fprintf(stderr, "echo_client: bad CONNS\n");
            return 2;
        }
        idle(conns);
    }
    return 0;
}
