/*
 * echo.c: an echo server and its clients in one program (stage 05).
 *
 * The Go program it rebuilds:
 *
 *     func handle(c net.Conn) {
 *         defer c.Close()
 *         io.Copy(c, c)                       // echo until the client closes
 *     }
 *
 *     func main() {
 *         ln, _ := net.Listen("tcp", "127.0.0.1:0")
 *         go func() {
 *             for {
 *                 c, err := ln.Accept()
 *                 if err != nil {             // the listener was closed
 *                     return
 *                 }
 *                 go handle(c)                // a goroutine per connection
 *             }
 *         }()
 *         var wg sync.WaitGroup
 *         for i := 0; i < clients; i++ {
 *             wg.Add(1)
 *             go client(i, ln.Addr().String(), &wg)   // dial, send lines, read them back
 *         }
 *         wg.Wait()
 *         ln.Close()
 *     }
 *
 * What to notice: every goroutine here blocks, in accept, in read, in
 * write, and none holds a thread while it does. They park in "IO wait" on
 * their socket's pollDesc; one M waits in epoll_wait for all of them and
 * readies whichever sockets the kernel reports. The output is the same at
 * every GOMAXPROCS: the clients store what they saw, and main prints it in
 * order once they are all done.
 */
#include <gort.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLIENTS = 4, LINES = 3 };

static int listener;
static sync_waitgroup served = SYNC_WAITGROUP_INIT;
static long echoed[CLIENTS + 1];          /* bytes each handler echoed */
static char report[CLIENTS][128];

static void handle(void *arg)
{
    int fd = (int)(intptr_t)arg, slot;
    char buf[512];
    ssize_t n = net_read(fd, &slot, sizeof slot);   /* the client says who it is */
    long total = 0;
    if (n == (ssize_t)sizeof slot && slot >= 0 && slot < CLIENTS) {
        while ((n = net_read(fd, buf, sizeof buf)) > 0) {
            if (net_write(fd, buf, (size_t)n) != n)
                break;
            total += n;
        }
        echoed[slot] = total;
    }
    net_close(fd);
    sync_wg_done(&served);
}

static void acceptor(void *unused)
{
    (void)unused;
    for (;;) {
        int fd = net_accept(listener);
        if (fd < 0)                        /* -EBADF: main closed the listener */
            return;
        sync_wg_add(&served, 1);
        go(handle, (void *)(intptr_t)fd);
    }
}

typedef struct {
    int id;
    const char *addr;
    sync_waitgroup *wg;
} client_arg;

static void client(void *arg)
{
    client_arg *c = arg;
    int fd = net_dial(c->addr);
    if (fd < 0) {
        snprintf(report[c->id], sizeof report[c->id], "client %d: dial failed (%d)", c->id, fd);
        sync_wg_done(c->wg);
        return;
    }
    net_write(fd, &c->id, sizeof c->id);
    int ok = 0;
    for (int i = 0; i < LINES; i++) {
        char line[64], back[64];
        int n = snprintf(line, sizeof line, "line %d from client %d\n", i, c->id);
        net_write(fd, line, (size_t)n);
        int got = 0;
        while (got < n) {                  /* TCP is a stream: read until it is all back */
            ssize_t r = net_read(fd, back + got, (size_t)(n - got));
            if (r <= 0)
                break;
            got += (int)r;
        }
        ok += got == n && memcmp(line, back, (size_t)n) == 0;
    }
    net_close(fd);                         /* the handler reads EOF and ends */
    snprintf(report[c->id], sizeof report[c->id], "client %d: %d of %d lines came back",
             c->id, ok, LINES);
    sync_wg_done(c->wg);
}

static int echo_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    listener = net_listen("127.0.0.1:0", 16);
    if (listener < 0) {
        printf("listen failed: %d\n", listener);
        return 1;
    }
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", net_local_port(listener));
    printf("echo server listening on 127.0.0.1 (port chosen by the kernel)\n");
    go(acceptor, NULL);

    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    client_arg args[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        args[i] = (client_arg){ i, addr, &wg };
        sync_wg_add(&wg, 1);
        go(client, &args[i]);
    }
    sync_wg_wait(&wg);
    for (int i = 0; i < CLIENTS; i++)
        printf("%s\n", report[i]);

    net_close(listener);                   /* the acceptor's net_accept returns -EBADF */
    sync_wg_wait(&served);
    long total = 0;
    for (int i = 0; i < CLIENTS; i++)
        total += echoed[i];
    printf("server: %d connections served, %ld bytes echoed\n", CLIENTS, total);
    return 0;
}

GO_MAIN(echo_main)
