/*
 * pingpong.c: two goroutines bounce a counter over unbuffered channels.
 *
 * The Go program it rebuilds:
 *
 *     func player(name string, in <-chan int, out chan<- int, wg *sync.WaitGroup) {
 *         defer wg.Done()
 *         for ball := range in {        // ends when the other player closes in
 *             ball++
 *             fmt.Println(name, ball)
 *             if ball == rounds {
 *                 fmt.Println(name, "wins the last point")
 *                 close(out)            // game over: tell the other player
 *                 return
 *             }
 *             out <- ball
 *         }
 *         fmt.Println(name, "sees the table closed and leaves")
 *     }
 *
 *     func main() {
 *         toPing, toPong := make(chan int), make(chan int)
 *         var wg sync.WaitGroup
 *         wg.Add(2)
 *         go player("ping", toPing, toPong, &wg)
 *         go player("pong", toPong, toPing, &wg)
 *         toPing <- 0                   // serve
 *         wg.Wait()
 *     }
 *
 * What to notice:
 *  - An unbuffered channel is a rendezvous: chan_send returns only once a
 *    receiver has taken the value. So at any moment exactly one player holds
 *    the ball, and the prints come out in a fixed order even with two threads
 *    (GOMAXPROCS=2): each print happens before the send that hands the ball
 *    over, and the other player prints only after its receive.
 *  - Every hit is a goroutine switch: the sender parks (or the receiver was
 *    already parked and is made ready). bench/pingpong.c times exactly this.
 *  - chan_recv returns false once the channel is closed and drained: that is
 *    how Go's `for v := range ch` ends, and how the player who did not make
 *    the last hit learns that the game is over.
 */
#include <gort.h>

#include <stdio.h>

enum { ROUNDS = 10 };

struct player {
    const char     *name;
    chan_t         *in;     /* the ball arrives here */
    chan_t         *out;    /* and leaves here */
    sync_waitgroup *wg;
};

static void player(void *arg)
{
    struct player *p = arg;
    int ball;

    while (chan_recv(p->in, &ball)) {   /* for ball := range in */
        ball++;
        printf("%s %2d\n", p->name, ball);
        if (ball == ROUNDS) {
            /* Print before closing: after chan_close the other player runs
             * on, and a print from us here would race with its print. */
            printf("%s wins the last point\n", p->name);
            chan_close(p->out);         /* the other player's range loop ends */
            sync_wg_done(p->wg);
            return;
        }
        chan_send(p->out, &ball);
    }
    printf("%s sees the table closed and leaves\n", p->name);
    sync_wg_done(p->wg);
}

static int pingpong_main(int argc, char **argv)
{
    chan_t *to_ping = chan_make(sizeof(int), 0);
    chan_t *to_pong = chan_make(sizeof(int), 0);
    sync_waitgroup wg = SYNC_WAITGROUP_INIT;
    struct player ping = { "ping", to_ping, to_pong, &wg };
    struct player pong = { "pong", to_pong, to_ping, &wg };

    sync_wg_add(&wg, 2);
    go(player, &ping);
    go(player, &pong);

    int serve = 0;
    chan_send(to_ping, &serve);         /* ping gets the first hit */
    sync_wg_wait(&wg);                  /* both players have left */

    printf("game over after %d hits\n", ROUNDS);
    chan_free(to_ping);
    chan_free(to_pong);
    return 0;
}

GO_MAIN(pingpong_main)
