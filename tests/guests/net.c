/* Sockets inside a box's own network: TCP over IPv4 and IPv6 between processes, UDP, a Unix
 * socket pair, socket options and names. Printed for comparison with a native run. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void tcp(int family) {
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET) {
        struct sockaddr_in *a = (void *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (void *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    int b = bind(s, (void *)&ss, len);
    getsockname(s, (void *)&ss, &len);
    int l = listen(s, 4);
    printf("%s bind %d listen %d\n", family == AF_INET ? "ipv4" : "ipv6", b, l);
    if (fork() == 0) {
        int c = socket(family, SOCK_STREAM, 0);
        if (connect(c, (void *)&ss, len) != 0) { printf("connect failed: %s\n", strerror(errno)); _exit(1); }
        int nodelay = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
        const char *msg = "request";
        send(c, msg, strlen(msg), 0);
        char buf[32] = {0};
        recv(c, buf, sizeof buf - 1, MSG_WAITALL);
        printf("client got '%s'\n", buf);
        _exit(0);
    }
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int c = accept4(s, (void *)&peer, &plen, SOCK_CLOEXEC);
    char buf[32] = {0};
    ssize_t n = recv(c, buf, 7, MSG_WAITALL);
    printf("server got %zd '%s' from family %d\n", n, buf, peer.ss_family);
    int type = 0;
    socklen_t tl = sizeof type;
    getsockopt(c, SOL_SOCKET, SO_TYPE, &type, &tl);
    printf("accepted socket type %d\n", type);
    send(c, "response", 8, 0);
    shutdown(c, SHUT_WR);
    int status;
    wait(&status);
    close(c);
    close(s);
}

/* The socket requests that read: the loopback interface as SIOCGIF* show it (the other
 * interfaces are the host's or the box's), the urgent mark, and the refusals. */
static void interfaces(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq reqs[32];
    struct ifconf conf = {.ifc_len = sizeof reqs, .ifc_req = reqs};
    int r = ioctl(s, SIOCGIFCONF, &conf);
    int lo = 0;
    for (int i = 0; r == 0 && i < conf.ifc_len / (int)sizeof(struct ifreq); i++)
        if (!strcmp(reqs[i].ifr_name, "lo"))
            lo = ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    printf("SIOCGIFCONF: %d, lists lo at 127.0.0.1: %d\n", r, lo);
    struct ifconf sizing = {.ifc_len = 0, .ifc_buf = NULL};
    r = ioctl(s, SIOCGIFCONF, &sizing);
    printf("SIOCGIFCONF sizing: %d, length a multiple of ifreq: %d\n", r,
           sizing.ifc_len > 0 && sizing.ifc_len % (int)sizeof(struct ifreq) == 0);
    struct ifreq q = {0};
    strcpy(q.ifr_name, "lo");
    r = ioctl(s, SIOCGIFFLAGS, &q);
    printf("SIOCGIFFLAGS lo: %d up %d loopback %d\n", r, !!(q.ifr_flags & IFF_UP), !!(q.ifr_flags & IFF_LOOPBACK));
    r = ioctl(s, SIOCGIFMTU, &q);
    printf("SIOCGIFMTU lo: %d mtu %d\n", r, q.ifr_mtu);
    r = ioctl(s, SIOCGIFINDEX, &q);
    int index = q.ifr_ifindex;
    printf("SIOCGIFINDEX lo: %d index %d\n", r, index);
    memset(&q, 0, sizeof q);
    q.ifr_ifindex = index;
    r = ioctl(s, SIOCGIFNAME, &q);
    printf("SIOCGIFNAME %d: %d name %s\n", index, r, q.ifr_name);
    strcpy(q.ifr_name, "nosuch0");
    errno = 0;
    r = ioctl(s, SIOCGIFFLAGS, &q);
    printf("SIOCGIFFLAGS nosuch0: %d errno %d\n", r, errno);
    errno = 0;
    r = ioctl(s, SIOCGIFFLAGS, (void *)8);
    printf("SIOCGIFFLAGS bad pointer: %d errno %d\n", r, errno);
    errno = 0;
    r = ioctl(s, SIOCSIFFLAGS, (void *)8);
    printf("SIOCSIFFLAGS bad pointer: %d errno %d\n", r, errno);
    int mark = -1;
    errno = 0;
    r = ioctl(s, SIOCATMARK, &mark);
    printf("SIOCATMARK on UDP: %d errno %d\n", r, errno);
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    bind(s, (void *)&a, sizeof a);
    listen(s, 1);
    getsockname(s, (void *)&a, &alen);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (void *)&a, sizeof a);
    r = ioctl(c, SIOCATMARK, &mark);
    printf("SIOCATMARK on TCP: %d mark %d\n", r, mark);
    errno = 0;
    r = ioctl(c, SIOCATMARK, (void *)8);
    printf("SIOCATMARK bad pointer: %d errno %d\n", r, errno);
    close(c);
    close(s);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    interfaces();
    tcp(AF_INET);
    tcp(AF_INET6);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(u, (void *)&ua, sizeof ua);
    socklen_t l = sizeof ua;
    getsockname(u, (void *)&ua, &l);
    int u2 = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(u2, "datagram", 8, 0, (void *)&ua, sizeof ua);
    char b[16] = {0};
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(u, b, sizeof b, 0, (void *)&from, &fl);
    printf("udp %zd '%s' from loopback %d\n", n, b, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

    int sv[2];
    printf("socketpair %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    struct iovec iov[2] = {{"over ", 5}, {"pair", 4}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    sendmsg(sv[0], &m, 0);
    memset(b, 0, sizeof b);
    struct iovec rio = {b, sizeof b - 1};
    struct msghdr rm = {.msg_iov = &rio, .msg_iovlen = 1};
    n = recvmsg(sv[1], &rm, 0);
    printf("recvmsg %zd '%s'\n", n, b);
    return 0;
}
