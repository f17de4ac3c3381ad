/* Event files a parent and its child share (inherited across fork) across a snapshot: one
 * eventfd each way and a file opened once, both writing it at its one offset. For its input
 * line the parent writes the file and rings the child, which writes the file and rings back;
 * the parent then writes again and prints the file and its offset. Each wait gives up after
 * 5 s, so that two events made of one say so instead of hanging. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static int wait_for(int efd, const char *who) {
    struct pollfd p = {.fd = efd, .events = POLLIN};
    uint64_t v;
    if (poll(&p, 1, 5000) != 1 || read(efd, &v, 8) != 8) {
        printf("%s: no ring in 5 s\n", who);
        return -1;
    }
    return (int)v;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    int to_child = eventfd(0, 0), to_parent = eventfd(0, 0);
    if (fd < 0 || to_child < 0 || to_parent < 0 || write(fd, "start\n", 6) != 6) return 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t child = fork();
    if (child == 0) {
        int v = wait_for(to_child, "child");
        if (v < 0) _exit(1);
        char line[32];
        int n = snprintf(line, sizeof line, "child %d\n", v);
        uint64_t one = 1;
        if (write(fd, line, (size_t)n) != n || write(to_parent, &one, 8) != 8) _exit(2);
        _exit(0);
    }
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 4;
    uint64_t seven = 7;
    if (write(fd, "parent\n", 7) != 7 || write(to_child, &seven, 8) != 8) return 5;
    if (wait_for(to_parent, "parent") == 1 && write(fd, "end\n", 4) != 4) return 6;
    int status;
    waitpid(child, &status, 0);
    printf("child ended: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    char all[256];
    ssize_t got = pread(fd, all, sizeof all, 0);
    printf("%.*s", (int)(got > 0 ? got : 0), all);
    return 0;
}
