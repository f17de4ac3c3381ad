/* Thread and network benchmarks, timed inside the program:
 *   spawn N         pthread_create + pthread_join, ns per thread
 *   pingpong N      futex ping-pong between two threads, ns per round trip
 *   tcp N           TCP loopback request/response (64 bytes each way), ns per round trip
 *   tcpbulk MIB     TCP loopback throughput, MiB/s (64 KiB writes) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *nothing(void *a) { return a; }

static atomic_int turn;
static long rounds;
static void wait_for(int v) {
    while (atomic_load(&turn) != v) syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, !v, NULL, NULL, 0);
}
static void *ponger(void *a) {
    (void)a;
    for (long i = 0; i < rounds; i++) {
        wait_for(1);
        atomic_store(&turn, 0);
        syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

static int listener(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = 0;
    bind(s, (void *)a, sizeof *a);
    socklen_t l = sizeof *a;
    getsockname(s, (void *)a, &l);
    listen(s, 1);
    return s;
}

static struct sockaddr_in srv;
static long n_arg;
static void *echo_server(void *arg) {
    int s = *(int *)arg;
    int c = accept(s, NULL, NULL);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[65536];
    ssize_t r;
    while ((r = read(c, buf, sizeof buf)) > 0)
        if (n_arg >= 0) write(c, buf, r);
    close(c);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    long n = atol(argv[2]);
    double start;
    if (!strcmp(argv[1], "spawn")) {
        start = now();
        for (long i = 0; i < n; i++) {
            pthread_t t;
            pthread_create(&t, NULL, nothing, NULL);
            pthread_join(t, NULL);
        }
        printf("%.0f\n", (now() - start) / n);
    } else if (!strcmp(argv[1], "pingpong")) {
        rounds = n;
        pthread_t t;
        pthread_create(&t, NULL, ponger, NULL);
        start = now();
        for (long i = 0; i < n; i++) {
            atomic_store(&turn, 1);
            syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
            wait_for(0);
        }
        printf("%.0f\n", (now() - start) / n);
        pthread_join(t, NULL);
    } else if (!strcmp(argv[1], "tcp") || !strcmp(argv[1], "tcpbulk")) {
        int bulk = !strcmp(argv[1], "tcpbulk");
        n_arg = bulk ? -1 : n;
        int s = listener(&srv);
        pthread_t t;
        pthread_create(&t, NULL, echo_server, &s);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (void *)&srv, sizeof srv) != 0) { perror("connect"); return 1; }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        static char buf[65536];
        start = now();
        if (bulk) {
            long total = n << 20;
            for (long done = 0; done < total; done += sizeof buf) write(c, buf, sizeof buf);
            shutdown(c, SHUT_WR);
            pthread_join(t, NULL);
            printf("%.0f\n", total / 1048576.0 / ((now() - start) / 1e9));
        } else {
            for (long i = 0; i < n; i++) {
                write(c, buf, 64);
                for (int got = 0; got < 64;) {
                    ssize_t r = read(c, buf, 64 - got);
                    if (r <= 0) return 1;
                    got += r;
                }
            }
            printf("%.0f\n", (now() - start) / n);
            shutdown(c, SHUT_WR);
            pthread_join(t, NULL);
        }
    } else {
        return 2;
    }
    return 0;
}
