/* A counter with a 64 MiB heap, for snapshot and restore: each line it reads on standard
 * input changes the heap and prints the counter and a checksum of the whole heap, so a
 * restored run's answers continue those of the run it was taken of. With "pipe" it also
 * holds a pipe with bytes in it, with "eventfd" an eventfd, both read at the end; with
 * "socket" a socket pair with a pipe's end in flight in it (SCM_RIGHTS, which snapshots
 * refuse: only Unix sockets the box holds are taken in flight); with "tcp" a TCP connection to
 * itself, whose state it reports at the end (a restored box finds it reset); with "thread" a
 * second, idle thread; with "pty" a pseudo-terminal of the box's own, both its ends (which
 * snapshots refuse). */
#define _GNU_SOURCE
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAP (64u << 20)

static uint64_t checksum(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i += 64) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    int p[2];
    pthread_t t;
    const char *mode = argc > 1 ? argv[1] : "";
    int efd = -1, sv[2];
    if (strcmp(mode, "pipe") == 0 && (pipe(p) != 0 || write(p[1], "hello", 5) != 5)) return 2;
    if (strcmp(mode, "eventfd") == 0) {
        uint64_t three = 3;
        efd = eventfd(7, 0);
        if (efd < 0 || write(efd, &three, 8) != 8) return 4;
    }
    if (strcmp(mode, "socket") == 0) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec io = {.iov_base = "x", .iov_len = 1};
        struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
                           .msg_controllen = sizeof cbuf};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(p) != 0) return 5;
        memcpy(CMSG_DATA(c), &p[0], sizeof(int));
        if (sendmsg(sv[0], &m, 0) != 1) return 5;
    }
    if (strcmp(mode, "pty") == 0) {
        int master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || grantpt(master) || unlockpt(master)) return 8;
        if (open(ptsname(master), O_RDWR | O_NOCTTY) < 0) return 8;
    }
    int client = -1;
    if (strcmp(mode, "tcp") == 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        socklen_t len = sizeof a;
        int l = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(l, (void *)&a, sizeof a) || listen(l, 1) || getsockname(l, (void *)&a, &len))
            return 6;
        client = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client, (void *)&a, sizeof a) || accept(l, NULL, NULL) < 0) return 7;
    }
    if (argc > 1 && strcmp(argv[1], "thread") == 0 && pthread_create(&t, NULL, idle, NULL) != 0)
        return 3;
    uint8_t *heap = malloc(HEAP);
    if (!heap) return 1;
    for (size_t i = 0; i < HEAP; i++) heap[i] = (uint8_t)(i * 7 + (i >> 12));
    uint64_t counter = 0;
    char line[256];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin)) {
        counter++;
        for (size_t i = counter * 4096; i < HEAP; i += 65536) heap[i] ^= (uint8_t)counter;
        printf("%llu %016llx\n", (unsigned long long)counter,
               (unsigned long long)checksum(heap, HEAP));
    }
    printf("end %llu\n", (unsigned long long)counter);
    if (strcmp(mode, "pipe") == 0) {
        char buf[16] = {0};
        close(p[1]);
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        printf("pipe %zd %s\n", n, buf);
    }
    if (client >= 0) {
        char c;
        fcntl(client, F_SETFL, O_NONBLOCK);
        ssize_t n = read(client, &c, 1);
        printf("tcp %zd %s\n", n, n < 0 ? strerror(errno) : "");
    }
    if (efd >= 0) {
        uint64_t v = 0;
        if (read(efd, &v, 8) == 8) printf("eventfd %llu\n", (unsigned long long)v);
    }
    return 0;
}
