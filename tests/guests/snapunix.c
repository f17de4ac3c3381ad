/* Unix sockets across a snapshot: sets up socket pairs of each type with messages queued
 * both ways, a shut-down pair, a pair whose peer was closed, a named listener with an
 * accepted connection and one still waiting, named datagram sockets with messages from a
 * named and an unnamed sender, a child process answering on a pair, an unbound socket, and
 * a pair carrying one end of another pair in flight (SCM_RIGHTS) between two writes, a pair
 * whose reader has peeked part of its queue with SO_PEEK_OFF on;
 * then answers one line per input line, and at the end reads, accepts and uses all of them,
 * printing what it found. Its argument is the directory for the socket files. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <ctype.h>
#include <unistd.h>

static const char *dir;

static socklen_t address(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
    return sizeof *a;
}

static int named(int type, const char *name) {
    struct sockaddr_un a;
    int s = socket(AF_UNIX, type, 0);
    if (s < 0 || bind(s, (void *)&a, address(&a, name)) != 0) exit(10);
    return s;
}

static int connected(const char *name) {
    struct sockaddr_un a;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (void *)&a, address(&a, name)) != 0) exit(11);
    return s;
}

/* Reads what is there (up to 64 bytes) and prints it as `what: N 'bytes'`. */
static void show(const char *what, int s) {
    char buf[64];
    ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) printf("%s: %s\n", what, strerror(errno));
    else printf("%s: %zd '%.*s'\n", what, n, (int)n, buf);
}

/* The path of a Unix address, with the directory left out. */
static const char *shown(struct sockaddr_un *a, socklen_t len) {
    size_t skip = strlen(dir) + 1;
    if (len <= sizeof(sa_family_t) || a->sun_path[0] == 0) return "(unnamed)";
    return strncmp(a->sun_path, dir, skip - 1) == 0 ? a->sun_path + skip : a->sun_path;
}

/* Sends `bytes` with the descriptor `fd` (SCM_RIGHTS) on `s`. */
static int send_descriptor(int s, const char *bytes, int fd) {
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec io = {.iov_base = (void *)bytes, .iov_len = strlen(bytes)};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(s, &m, 0) == (ssize_t)io.iov_len ? 0 : -1;
}

/* Receives what is there on `s` and prints it with the descriptors it carried; returns the
 * last descriptor (or -1). */
static int receive_descriptor(const char *what, int s) {
    char buf[64], cbuf[CMSG_SPACE(4 * sizeof(int))];
    struct iovec io = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(s, &m, MSG_DONTWAIT);
    int fd = -1, count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            count += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(&fd, CMSG_DATA(c), sizeof(int));
        }
    }
    if (n < 0) printf("%s: %s\n", what, strerror(errno));
    else printf("%s: %zd '%.*s' with %d descriptor(s)\n", what, n, (int)n, buf, count);
    return fd;
}

int main(int argc, char **argv) {
    int sp[2], sh[2], sq[2], dg[2], gone[2], cp[2], carry[2], passed[2], pk[2];
    dir = argc > 1 ? argv[1] : "/tmp";
    signal(SIGPIPE, SIG_IGN);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || socketpair(AF_UNIX, SOCK_STREAM, 0, sh) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, gone) || socketpair(AF_UNIX, SOCK_STREAM, 0, cp) ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, carry) || socketpair(AF_UNIX, SOCK_DGRAM, 0, passed) ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, pk))
        return 2;
    int peek_from = 0;
    char peeked[8] = {0};
    if (write(pk[0], "abcdef", 6) != 6 ||
        setsockopt(pk[1], SOL_SOCKET, SO_PEEK_OFF, &peek_from, sizeof peek_from) ||
        recv(pk[1], peeked, 2, MSG_PEEK) != 2)
        return 3;
    if (write(carry[0], "before ", 7) != 7 || send_descriptor(carry[0], "carrying", passed[0]) ||
        write(carry[0], " after", 6) != 6)
        return 3;
    if (write(sp[0], "to-one", 6) != 6 || write(sp[1], "to-zero", 7) != 7) return 3;
    if (write(sh[0], "last", 4) != 4 || shutdown(sh[0], SHUT_WR)) return 3;
    if (send(sq[0], "m1", 2, 0) != 2 || send(sq[0], "msg2", 4, 0) != 4) return 3;
    if (send(dg[1], "d1", 2, 0) != 2 || send(dg[1], "dd2", 3, 0) != 3) return 3;
    if (write(gone[1], "bye", 3) != 3) return 3;
    close(gone[1]);
    int listener = named(SOCK_STREAM, "s");
    if (listen(listener, 4)) return 4;
    int client = connected("s");
    int accepted = accept(listener, NULL, NULL);
    if (accepted < 0 || write(client, "hello server", 12) != 12) return 4;
    int waiting = connected("s");
    int d = named(SOCK_DGRAM, "d"), e = named(SOCK_DGRAM, "e");
    int anonymous = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un to;
    socklen_t to_len = address(&to, "d");
    if (sendto(e, "from e", 6, 0, (void *)&to, to_len) != 6 ||
        sendto(anonymous, "from anonymous", 14, 0, (void *)&to, to_len) != 14)
        return 5;
    close(anonymous);
    int unbound = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(cp[0]);
        while (read(cp[1], &c, 1) == 1) {
            c = (char)toupper((unsigned char)c);
            if (write(cp[1], &c, 1) != 1) break;
        }
        _exit(0);
    }
    close(cp[1]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[256];
    unsigned counter = 0;
    while (fgets(line, sizeof line, stdin)) printf("%u\n", ++counter);
    printf("end %u\n", counter);

    int peek_at = -1;
    socklen_t peek_len = sizeof peek_at;
    getsockopt(pk[1], SOL_SOCKET, SO_PEEK_OFF, &peek_at, &peek_len);
    ssize_t pn = recv(pk[1], peeked, 2, MSG_PEEK | MSG_DONTWAIT);
    printf("peek offset %d, peeked next: %.*s\n", peek_at, (int)(pn > 0 ? pn : 0), peeked);
    show("peeked pair", pk[1]);
    show("pair to one", sp[1]);
    show("pair to zero", sp[0]);
    show("shut down", sh[1]);
    show("shut down, then", sh[1]);
    show("seqpacket", sq[1]);
    show("seqpacket", sq[1]);
    show("datagram", dg[0]);
    show("datagram", dg[0]);
    show("peer closed", gone[0]);
    show("peer closed, then", gone[0]);
    printf("peer closed, write: %s\n", send(gone[0], "x", 1, MSG_NOSIGNAL) < 0 ? strerror(errno) : "sent");
    int got = receive_descriptor("carried", carry[1]);
    show("carried, then", carry[1]);
    if (got >= 0 && send(got, "through the passed end", 22, 0) == 22) show("passed pair", passed[1]);
    if (send(passed[0], "through the kept end", 20, 0) == 20) show("passed pair", passed[1]);
    show("accepted", accepted);
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    getsockname(listener, (void *)&a, &len);
    printf("listener name: %s\n", shown(&a, len));
    int late = accept(listener, NULL, NULL);
    if (late < 0 || write(late, "hi waiting", 10) != 10) printf("accept: %s\n", strerror(errno));
    show("waiting client", waiting);
    for (int i = 0; i < 2; i++) {
        char buf[64];
        len = sizeof a;
        ssize_t n = recvfrom(d, buf, sizeof buf, MSG_DONTWAIT, (void *)&a, &len);
        if (n < 0) printf("named datagram: %s\n", strerror(errno));
        else printf("named datagram: '%.*s' from %s\n", (int)n, buf, shown(&a, len));
    }
    char reply[5] = {0};
    if (write(cp[0], "ping", 4) != 4) return 6;
    for (int got = 0; got < 4;) {
        ssize_t n = read(cp[0], reply + got, 4 - got);
        if (n <= 0) break;
        got += (int)n;
    }
    printf("child answered: %s\n", reply);
    close(cp[0]);
    int status;
    waitpid(child, &status, 0);
    printf("child ended: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    struct sockaddr_un late_a;
    if (bind(unbound, (void *)&late_a, address(&late_a, "late")) || listen(unbound, 1)) {
        printf("late bind: %s\n", strerror(errno));
    } else {
        int c = connected("late");
        printf("late listener: %s\n", accept(unbound, NULL, NULL) >= 0 ? "accepted" : strerror(errno));
        close(c);
    }
    int again = connected("s");
    printf("listener again: %s\n", accept(listener, NULL, NULL) >= 0 ? "accepted" : strerror(errno));
    close(again);
    return 0;
}
