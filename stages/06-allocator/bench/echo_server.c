/*
 * bench/echo_server.c: gort's server in the echo benchmark.
 *
 * Go twin: scripts/go-bench (workload "echoserver"); the two are the same
 * program:
 *
 *     ln := net.Listen("tcp", "127.0.0.1:0"); print "port N"
 *     for { c := ln.Accept(); go func() { for { n := c.Read(buf); c.Write(buf[:n]) } }() }
 *
 * A goroutine per connection, each parked in net_read until the poller
 * finds its socket readable. bench/echo_client.c is the load (the same
 * client for this server, Go's and bench/epoll_echo.c, the floor); it
 * reads this process's CPU time from /proc to price each request.
 *
 * Usage: echo_server   (prints "port N", serves until killed).
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = net_read(fd, buf, sizeof buf);
        if (n <= 0 || net_write(fd, buf, (size_t)n) < 0)
            break;
    }
    net_close(fd);
}

static int echo_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct rlimit rl;           /* as Go 1.19 does: room for 10,000 connections */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ln = net_listen("127.0.0.1:0", 4096);
    if (ln < 0) {
        fprintf(stderr, "echo_server: net_listen: %s\n", strerror(-ln));
        return 1;
    }
    printf("port %d\n", net_local_port(ln));
    fflush(stdout);
    for (;;) {
        int c = net_accept(ln);
        if (c < 0) {
            fprintf(stderr, "echo_server: net_accept: %s\n", strerror(-c));
            return 1;
        }
        go(serve, (void *)(intptr_t)c);
    }
}

GO_MAIN(echo_main)
