/* TCP connections of the box's own network across a snapshot: a listener, a client
 * connected to it and the accepted end; before the snapshot the client has written a line
 * the server has not read, and the server has written 4 MiB the client has not read (more
 * than the client's receive buffer and the server's send buffer hold between them, so some
 * are never sent yet). For an input line: each end reads what is waiting, checks the bytes,
 * and they talk on; a second client connects. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG (4 << 20)
static unsigned char out[BIG], in[BIG];

static ssize_t read_all(int fd, unsigned char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0) return r < 0 ? -1 : (ssize_t)got;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001),
                            .sin_port = htons(41990)};
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (void *)&a, sizeof a) || listen(l, 4)) return 2;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (void *)&a, sizeof a)) return 3;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int s = accept(l, NULL, NULL);
    if (s < 0) return 4;
    for (int i = 0; i < BIG; i++) out[i] = (unsigned char)(i * 31 + (i >> 11));
    if (write(c, "hello from the client\n", 22) != 22) return 5;
    /* As much of the 4 MiB as the buffers take without blocking. */
    fcntl(s, F_SETFL, O_NONBLOCK);
    ssize_t sent = 0;
    while (sent < BIG) {
        ssize_t w = write(s, out + sent, BIG - sent);
        if (w <= 0) break;
        sent += w;
    }
    fcntl(s, F_SETFL, 0);
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 6;
    char got[32] = {0};
    printf("server read %zd: %s", read(s, got, 22), got);
    ssize_t n = read_all(c, in, (size_t)sent);
    printf("client read all the server wrote: %s\n",
           n == sent && memcmp(in, out, (size_t)sent) == 0 ? "yes" : "no");
    if (write(s, out + sent, BIG - sent) != BIG - sent) return 7;
    n = read_all(c, in, BIG - (size_t)sent);
    printf("and the rest: %s\n",
           n == BIG - sent && memcmp(in, out + sent, (size_t)n) == 0 ? "yes" : "no");
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
    printf("client TCP_NODELAY %d\n", nodelay);
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c2, (void *)&a, sizeof a)) return 8;
    int s2 = accept(l, NULL, NULL);
    if (s2 < 0 || write(c2, "second\n", 7) != 7) return 9;
    memset(got, 0, sizeof got);
    printf("second connection: %zd: %s", read(s2, got, 7), got);
    close(c);
    printf("server sees the client close: %zd\n", read(s, got, 1));
    return 0;
}
