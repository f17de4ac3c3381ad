/* Unix sockets named in the file system and in the abstract namespace, between processes:
 * stream, datagram and seqpacket; names as getsockname/getpeername/accept/recvfrom report
 * them; the socket file's life (stat, rename, symlink, unlink); Linux's errors. Prints what
 * it sees, to be compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static socklen_t addr_of(struct sockaddr_un *a, const char *path, int abstract) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(path);
    memcpy(a->sun_path + (abstract ? 1 : 0), path, n);
    return offsetof(struct sockaddr_un, sun_path) + n + 1;
}

static void show(const char *what, struct sockaddr_un *a, socklen_t len) {
    if (len <= offsetof(struct sockaddr_un, sun_path)) {
        printf("%s: unnamed (len %u)\n", what, (unsigned)len);
    } else if (a->sun_path[0] == 0) {
        printf("%s: @%.*s\n", what, (int)(len - offsetof(struct sockaddr_un, sun_path) - 1),
               a->sun_path + 1);
    } else {
        printf("%s: %s\n", what, a->sun_path);
    }
}

static const char *err(int r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case ENOENT: return "ENOENT"; case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE"; case EINVAL: return "EINVAL";
    case EACCES: return "EACCES"; case ENOTSOCK: return "ENOTSOCK";
    default: return strerror(errno);
    }
}

static int connect_to(int type, const char *path, int abstract) {
    int fd = socket(AF_UNIX, type, 0);
    struct sockaddr_un a;
    socklen_t len = addr_of(&a, path, abstract);
    if (connect(fd, (void *)&a, len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int listener(int type, const char *path, int abstract) {
    int fd = socket(AF_UNIX, type, 0);
    struct sockaddr_un a;
    socklen_t len = addr_of(&a, path, abstract);
    if (bind(fd, (void *)&a, len) < 0) { perror("bind"); exit(1); }
    if (type != SOCK_DGRAM && listen(fd, 8) < 0) { perror("listen"); exit(1); }
    return fd;
}

/* One request and answer over a connection-oriented socket: the child asks, we answer. */
static void round_trip(int type, const char *path, int abstract) {
    int srv = listener(type, path, abstract);
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    getsockname(srv, (void *)&a, &len);
    show("  bound", &a, len);
    pid_t child = fork();
    if (child == 0) {
        int c = connect_to(type, path, abstract);
        if (c < 0) { printf("  child connect: %s\n", err(-1)); _exit(1); }
        len = sizeof a;
        getpeername(c, (void *)&a, &len);
        show("  child's peer", &a, len);
        write(c, "ping", 4);
        write(c, "PING", 4);
        char buf[16] = {0};
        ssize_t n = read(c, buf, sizeof buf);
        printf("  child got %zd: %.*s\n", n, (int)n, buf);
        _exit(0);
    }
    len = sizeof a;
    int conn = accept(srv, (void *)&a, &len);
    char buf[16] = {0};
    usleep(20000); /* both messages are there: a stream merges them, seqpacket does not */
    ssize_t n = read(conn, buf, sizeof buf);
    write(conn, "pong", 4);
    int status;
    waitpid(child, &status, 0);
    /* The server reports once the child is done, so that the output has one order. */
    show("  accepted peer", &a, len);
    printf("  server got %zd: %.*s\n", n, (int)n, buf);
    printf("  child exit %d\n", WEXITSTATUS(status));
    close(conn);
    close(srv);
}

int main(void) {
    umask(022);
    setvbuf(stdout, NULL, _IONBF, 0);

    printf("stream, named by a relative path\n");
    round_trip(SOCK_STREAM, "srv.sock", 0);
    struct stat st;
    stat("srv.sock", &st);
    printf("  the name is a socket: %d, mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
    printf("  bind again: %s\n", err(bind(socket(AF_UNIX, SOCK_STREAM, 0),
                                         (void *)&(struct sockaddr_un){AF_UNIX, "srv.sock"},
                                         sizeof(struct sockaddr_un))));
    printf("  connect after the listener closed: %s\n",
           err(connect_to(SOCK_STREAM, "srv.sock", 0)));
    unlink("srv.sock");

    printf("stream, through a symbolic link and after a rename\n");
    int srv = listener(SOCK_STREAM, "first.sock", 0);
    symlink("first.sock", "link.sock");
    int c = connect_to(SOCK_STREAM, "link.sock", 0);
    printf("  via the link: %s\n", err(c));
    close(c);
    rename("first.sock", "moved.sock");
    c = connect_to(SOCK_STREAM, "moved.sock", 0);
    printf("  renamed: %s\n", err(c));
    close(c);
    printf("  old name: %s\n", err(connect_to(SOCK_STREAM, "first.sock", 0)));
    unlink("moved.sock");
    printf("  unlinked: %s\n", err(connect_to(SOCK_STREAM, "moved.sock", 0)));
    close(srv);
    unlink("link.sock");

    printf("a name reused after unlink\n");
    srv = listener(SOCK_STREAM, "again.sock", 0);
    close(srv);
    unlink("again.sock");
    srv = listener(SOCK_STREAM, "again.sock", 0);
    c = connect_to(SOCK_STREAM, "again.sock", 0);
    printf("  connect: %s\n", err(c));
    close(c);
    close(srv);
    unlink("again.sock");

    printf("errors\n");
    close(open("plain", O_CREAT | O_WRONLY, 0644));
    printf("  regular file: %s\n", err(connect_to(SOCK_STREAM, "plain", 0)));
    mkdir("dir", 0755);
    printf("  directory: %s\n", err(connect_to(SOCK_STREAM, "dir", 0)));
    printf("  missing: %s\n", err(connect_to(SOCK_STREAM, "nothing-here", 0)));
    printf("  bind over a file: %s\n", err(bind(socket(AF_UNIX, SOCK_STREAM, 0),
                                               (void *)&(struct sockaddr_un){AF_UNIX, "plain"},
                                               sizeof(struct sockaddr_un))));
    printf("  bind in a missing directory: %s\n",
           err(bind(socket(AF_UNIX, SOCK_STREAM, 0),
                    (void *)&(struct sockaddr_un){AF_UNIX, "no/such/dir/s"},
                    sizeof(struct sockaddr_un))));

    printf("seqpacket keeps message boundaries\n");
    round_trip(SOCK_SEQPACKET, "seq.sock", 0);
    unlink("seq.sock");

    printf("datagrams between named sockets\n");
    int d = listener(SOCK_DGRAM, "d.sock", 0);
    pid_t child = fork();
    if (child == 0) {
        int me = listener(SOCK_DGRAM, "c.sock", 0);
        struct sockaddr_un to;
        socklen_t tolen = addr_of(&to, "d.sock", 0);
        sendto(me, "hello", 5, 0, (void *)&to, tolen);
        char buf[16];
        struct sockaddr_un from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(me, buf, sizeof buf, 0, (void *)&from, &fromlen);
        printf("  child got %.*s\n", (int)n, buf);
        show("  from", &from, fromlen);
        _exit(0);
    }
    char buf[16];
    struct sockaddr_un from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(d, buf, sizeof buf, 0, (void *)&from, &fromlen);
    int replied = sendto(d, "world", 5, 0, (void *)&from, fromlen);
    int status;
    waitpid(child, &status, 0);
    printf("  server got %.*s\n", (int)n, buf);
    show("  from", &from, fromlen);
    printf("  reply: %s\n", err(replied));
    unlink("d.sock");
    unlink("c.sock");

    printf("descriptors passed between processes (SCM_RIGHTS)\n");
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    child = fork();
    if (child == 0) {
        /* Opens a file and a pipe, and hands the parent the file and the pipe's read end. */
        int file = open("passed.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
        write(file, "written by the child", 20);
        lseek(file, 0, SEEK_SET);
        int p[2];
        pipe(p);
        char cbuf[CMSG_SPACE(2 * sizeof(int))] = {0};
        struct iovec iov = {"fds", 3};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                           .msg_controllen = sizeof cbuf};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(2 * sizeof(int));
        memcpy(CMSG_DATA(h), (int[]){file, p[0]}, 2 * sizeof(int));
        printf("  sent: %s\n", err(sendmsg(pair[0], &m, 0)));
        close(file);
        close(p[0]);
        write(p[1], "through the passed pipe", 23);
        close(p[1]);
        /* A second message offers two descriptors to a buffer with room for one. */
        int q = open("passed.txt", O_RDONLY);
        memcpy(CMSG_DATA(h), (int[]){q, q}, 2 * sizeof(int));
        sendmsg(pair[0], &m, 0);
        _exit(0);
    }
    waitpid(child, &status, 0);
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    char got[8] = {0};
    struct iovec iov = {got, sizeof got - 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    n = recvmsg(pair[1], &m, MSG_CMSG_CLOEXEC);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    int fds[2] = {-1, -1};
    if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(fds, CMSG_DATA(cm), sizeof fds);
    printf("  received %zd bytes (%s) and %d descriptors\n", n, got,
           cm ? (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0);
    char text[64] = {0};
    read(fds[0], text, sizeof text - 1);
    printf("  the file reads: %s\n", text);
    memset(text, 0, sizeof text);
    read(fds[1], text, sizeof text - 1);
    printf("  the pipe reads: %s\n", text);
    printf("  close-on-exec as asked: %d\n", (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0);
    char small[CMSG_SPACE(sizeof(int))];
    m.msg_control = small;
    m.msg_controllen = sizeof small;
    recvmsg(pair[1], &m, 0);
    cm = CMSG_FIRSTHDR(&m);
    printf("  with room for one: %d descriptor, truncated %d\n",
           cm ? (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0, (m.msg_flags & MSG_CTRUNC) != 0);
    unlink("passed.txt");

    printf("stream, abstract name\n");
    round_trip(SOCK_STREAM, "picobox-unixsock-test", 1);
    return 0;
}
