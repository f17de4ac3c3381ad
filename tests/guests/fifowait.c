/* Threads waiting in a FIFO's open while the rest of the process goes on. In directory
 * argv[1] it makes FIFO "a", which one thread opens to read (it waits for a writer), and FIFO
 * "b", which another opens to write with openat2 (RESOLVE_NO_MAGICLINKS: the library OS walks
 * the path by the rules, then opens it; it waits for a reader). The main thread prints "ready",
 * then answers each input line: "ping" with "pong N"; "write-a" opens "a" to write, sends
 * "hi", and once the reading thread has printed what it got, "done a"; "read-b" opens "b" to
 * read and prints what the writing thread sent. In a library OS whose open of a FIFO held a
 * lock every call takes, the first "ping" would never be answered. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char a[256], b[256];

static void *reader(void *arg) {
    int fd = open(a, O_RDONLY);
    char buf[16] = {0};
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    printf("reader got %s (%zd)\n", buf, n);
    fflush(stdout);
    return arg;
}

static void *writer(void *arg) {
    struct open_how how = {.flags = O_WRONLY, .resolve = RESOLVE_NO_MAGICLINKS};
    int fd = syscall(SYS_openat2, AT_FDCWD, b, &how, sizeof how);
    if (fd >= 0) {
        (void)!write(fd, "yo", 2);
        close(fd);
    }
    return arg;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(a, sizeof a, "%s/a", argv[1]);
    snprintf(b, sizeof b, "%s/b", argv[1]);
    unlink(a);
    unlink(b);
    if (mkfifo(a, 0600) || mkfifo(b, 0600)) return perror("mkfifo"), 1;
    pthread_t r, w;
    pthread_create(&r, 0, reader, 0);
    pthread_create(&w, 0, writer, 0);
    printf("ready\n");
    fflush(stdout);
    char line[64];
    int pongs = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "ping", 4) == 0) {
            printf("pong %d\n", ++pongs);
        } else if (strncmp(line, "write-a", 7) == 0) {
            int fd = open(a, O_WRONLY);
            (void)!write(fd, "hi", 2);
            close(fd);
            pthread_join(r, 0);
            printf("done a\n");
        } else if (strncmp(line, "read-b", 6) == 0) {
            int fd = open(b, O_RDONLY);
            char buf[16] = {0};
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            pthread_join(w, 0);
            printf("main got %s (%zd)\n", buf, n);
        }
        fflush(stdout);
    }
    return 0;
}
