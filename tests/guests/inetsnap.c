/* IPv4 sockets across a snapshot, in a network of the box's own: a UDP server bound to a
 * port and a UDP client connected to it (its own port chosen by the kernel on connect), a
 * TCP socket made but not yet connected, and one bound but not yet listening. Once ready,
 * for an input line: the client sends, the server answers the address it came from, the
 * bound TCP socket listens and the made one connects to it; each step prints what it got. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_of(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    return getsockname(fd, (void *)&a, &len) ? -1 : ntohs(a.sin_port);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    int server = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(41953);
    if (server < 0 || bind(server, (void *)&a, sizeof a)) return 2;
    int client = socket(AF_INET, SOCK_DGRAM, 0);
    if (client < 0 || connect(client, (void *)&a, sizeof a)) return 3;
    int client_port = port_of(client);
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    int later = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    a.sin_port = htons(41980);
    if (fresh < 0 || later < 0 || setsockopt(later, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(later, (void *)&a, sizeof a))
        return 4;
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 5;
    printf("client kept its port: %s\n", port_of(client) == client_port ? "yes" : "no");
    if (send(client, "ping", 4, 0) != 4) return 6;
    char buf[16] = {0};
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(server, buf, sizeof buf - 1, 0, (void *)&from, &len);
    printf("server got %zd: %s, from the client's port: %s\n", n, buf,
           ntohs(from.sin_port) == client_port ? "yes" : "no");
    if (sendto(server, "pong", 4, 0, (void *)&from, len) != 4) return 7;
    memset(buf, 0, sizeof buf);
    printf("client got %zd: %s\n", recv(client, buf, sizeof buf - 1, 0), buf);
    int reuse = 0;
    socklen_t rl = sizeof reuse;
    getsockopt(later, SOL_SOCKET, SO_REUSEADDR, &reuse, &rl);
    printf("bound socket: port %d, SO_REUSEADDR %d\n", port_of(later), reuse);
    if (listen(later, 1)) return 8;
    printf("made socket connects: %s\n", connect(fresh, (void *)&a, sizeof a) ? "no" : "yes");
    int accepted = accept(later, NULL, NULL);
    if (accepted < 0 || write(fresh, "over tcp", 8) != 8) return 9;
    memset(buf, 0, sizeof buf);
    printf("accepted: %zd: %s\n", read(accepted, buf, sizeof buf - 1), buf);
    return 0;
}
