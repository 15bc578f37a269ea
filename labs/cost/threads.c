/*
 * threads.c: the cost lab's OS-thread and ucontext baselines (no runtime).
 *
 *   threads spawn N      creates N pthreads (64 KiB stacks, as a gort
 *                        goroutine's) that each block on one condition
 *                        variable; prints ns per thread created and started,
 *                        and resident bytes per blocked thread, as
 *                        goroutines.c prints them
 *   threads yield N      two threads pinned to CPU 0 call sched_yield N
 *                        times each: the kernel switches between them;
 *                        prints ns per switch
 *   threads futex N      two threads hand a token back and forth N times
 *                        through a mutex and two condition variables (the
 *                        wake-up a blocked thread needs); ns per hand-off
 *   threads ucontext N   two ucontexts swapcontext to each other N times:
 *                        a user-space switch, but glibc's saves and restores
 *                        the signal mask with a system call each time
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2) { perror("statm"); exit(1); }
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, cv2 = PTHREAD_COND_INITIALIZER;
static long started, release, turn;
static long rounds;

static void *blocker(void *arg)
{
    pthread_mutex_lock(&mu);
    started++;
    pthread_cond_broadcast(&cv2);
    while (!release)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void pin0(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *yielder(void *arg)
{
    pin0();
    for (long i = 0; i < rounds; i++)
        sched_yield();
    return NULL;
}

static void *handoff(void *arg)
{
    long me = (long)(intptr_t)arg;
    pthread_mutex_lock(&mu);
    for (long i = 0; i < rounds; i++) {
        while (turn != me)
            pthread_cond_wait(me ? &cv2 : &cv, &mu);
        turn = !me;
        pthread_cond_signal(me ? &cv : &cv2);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static ucontext_t uc_main, uc_other;
static void other(void)
{
    for (;;)
        swapcontext(&uc_other, &uc_main);
}

int main(int argc, char **argv)
{
    long n = argc == 3 ? atol(argv[2]) : 0;
    if (argc != 3 || n < 1 || n > 100000000) {
        fprintf(stderr, "usage: threads spawn|yield|futex|ucontext N   (N in 1..100000000)\n");
        return 2;
    }
    rounds = n;
    if (strcmp(argv[1], "spawn") == 0) {
        pthread_t *t = malloc(sizeof *t * (size_t)n);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        long rss0 = rss_bytes();
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            int e = pthread_create(&t[i], &attr, blocker, NULL);
            if (e) { fprintf(stderr, "threads: pthread_create #%ld: %s\n", i, strerror(e)); return 1; }
        }
        pthread_mutex_lock(&mu);
        while (started < n)
            pthread_cond_wait(&cv2, &mu);
        pthread_mutex_unlock(&mu);
        int64_t t1 = now_ns();
        usleep(20000);
        long rss1 = rss_bytes();
        printf("%.1f\t%.0f\n", (double)(t1 - t0) / (double)n, (double)(rss1 - rss0) / (double)n);
        pthread_mutex_lock(&mu);
        release = 1;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        for (long i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        free(t);
    } else if (strcmp(argv[1], "yield") == 0 || strcmp(argv[1], "futex") == 0) {
        int y = argv[1][0] == 'y';
        pthread_t a, b;
        int64_t t0 = now_ns();
        pthread_create(&a, NULL, y ? yielder : handoff, (void *)0);
        pthread_create(&b, NULL, y ? yielder : handoff, (void *)1);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        printf("%.1f\n", (double)(now_ns() - t0) / (2.0 * (double)n));
    } else if (strcmp(argv[1], "ucontext") == 0) {
        static char stack[64 * 1024];
        getcontext(&uc_other);
        uc_other.uc_stack.ss_sp = stack;
        uc_other.uc_stack.ss_size = sizeof stack;
        uc_other.uc_link = NULL;
        makecontext(&uc_other, other, 0);
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            swapcontext(&uc_main, &uc_other);
        printf("%.1f\n", (double)(now_ns() - t0) / (2.0 * (double)n));
    } else {
        fprintf(stderr, "threads: MODE=%s: expected spawn, yield, futex or ucontext\n", argv[1]);
        return 2;
    }
    return 0;
}
