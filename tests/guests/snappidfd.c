/* A pidfd across a snapshot: the parent holds one of its child (pidfd_open, non-blocking)
 * and waits for an input line; then it polls it (the child lives: not readable), signals
 * the child through it, polls it until the child has ended, and waits for it through it
 * (waitid P_PIDFD, at once: the descriptor is non-blocking). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t child = fork();
    if (child == 0) {
        for (;;) pause();
    }
    int fd = (int)syscall(SYS_pidfd_open, child, PIDFD_NONBLOCK);
    if (fd < 0) return 1;
    printf("ready\n");
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 2;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    printf("readable while the child lives: %d\n", poll(&p, 1, 100));
    printf("signalled: %ld\n", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
    printf("readable once it ended: %d\n", poll(&p, 1, 5000));
    /* Non-blocking, and the child has ended: waited at once. */
    siginfo_t info = {0};
    int r = waitid(P_PIDFD, (id_t)fd, &info, WEXITED);
    printf("waited: %d, killed by signal %d, the child's pid: %s\n", r, info.si_status,
           info.si_pid == child ? "yes" : "no");
    return 0;
}
