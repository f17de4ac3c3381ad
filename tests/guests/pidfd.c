/* Process descriptors: pidfd_open of the caller and of a child, poll telling when the child
 * ended, waitid(P_PIDFD) (blocking, and PIDFD_NONBLOCK's EAGAIN), pidfd_send_signal with and
 * without a siginfo, a /proc/PID directory taken as a pidfd, clone(CLONE_PIDFD), what
 * /proc/self/fd and fdinfo show, and Linux's refusals. Prints one line per check; run
 * natively and in a box, the outputs must match (pids are printed relative to the caller). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r < 0 ? -1L : r < 3 ? r : 3, r < 0 ? strerror(errno) : "");
}

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int send(int fd, int sig, siginfo_t *info, unsigned flags) {
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static volatile int got_sig, got_value;
static void on_usr1(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    got_sig = sig;
    got_value = si->si_value.sival_int;
}

static int ready(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    return n > 0 && (p.revents & POLLIN);
}

int main(void) {
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);

    int self = pidfd_open(getpid(), 0);
    show("open self", self >= 0 ? 0 : -1);
    printf("cloexec: %d\n", !!(fcntl(self, F_GETFD) & FD_CLOEXEC));
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", self);
    readlink(path, link, sizeof link - 1);
    printf("link: %s\n", link);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", self);
    FILE *f = fopen(path, "r");
    char line[128];
    int pid_line = 0;
    while (f && fgets(line, sizeof line, f)) {
        int p;
        if (sscanf(line, "Pid: %d", &p) == 1) pid_line = p == getpid();
    }
    if (f) fclose(f);
    printf("fdinfo names the caller: %d\n", pid_line);
    printf("self ready: %d\n", ready(self));
    errno = 0;
    show("waitid on self", waitid(P_PIDFD, self, NULL, WEXITED | WNOHANG));
    show("signal 0 to self", send(self, 0, NULL, 0));
    show("SIGUSR1 to self", send(self, SIGUSR1, NULL, 0));
    printf("handled: %d\n", got_sig == SIGUSR1);

    /* Refusals. */
    show("open pid 0", pidfd_open(0, 0));
    show("open pid -1", pidfd_open(-1, 0));
    show("open bad flags", pidfd_open(getpid(), 1));
    show("open gone", pidfd_open(4000000, 0));
    show("send bad flags", send(self, SIGUSR1, NULL, 99));
    show("send on a file", send(1, SIGUSR1, NULL, 0));
    show("send bad fd", send(-1, SIGUSR1, NULL, 0));
    show("send bad signal", send(self, 99, NULL, 0));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR2;
    info.si_code = SI_QUEUE;
    show("send signo mismatch", send(self, SIGUSR1, &info, 0));
    show("waitid on a file", waitid(P_PIDFD, 1, NULL, WEXITED));

    /* A child: poll until it ends, then wait for it through the pidfd. */
    int go[2];
    pipe(go);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(7);
    }
    int fd = pidfd_open(child, PIDFD_NONBLOCK);
    printf("child ready before: %d\n", ready(fd));
    show("nonblocking waitid", waitid(P_PIDFD, fd, NULL, WEXITED));
    write(go[1], "x", 1);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    printf("poll: %d\n", poll(&p, 1, 5000));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    show("waitid", waitid(P_PIDFD, fd, &si, WEXITED));
    printf("child status: code %d status %d pid ok %d\n", si.si_code, si.si_status, si.si_pid == child);
    show("send to the reaped child", send(fd, SIGUSR1, NULL, 0));
    close(fd);

    /* A siginfo to another process: a queued value; a kernel si_code is EPERM. The child
     * waits for the signal (got_sig still holds the one sent to self above). */
    got_sig = got_value = 0;
    child = fork();
    if (child == 0) {
        sigset_t s;
        sigemptyset(&s);
        for (int i = 0; i < 500 && !got_sig; i++) usleep(10000);
        _exit(got_sig == SIGUSR1 && got_value == 42 ? 0 : 1);
    }
    fd = pidfd_open(child, 0);
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_USER;
    show("kernel si_code to another", send(fd, SIGUSR1, &info, 0));
    info.si_code = SI_QUEUE;
    info.si_value.sival_int = 42;
    show("queued value to another", send(fd, SIGUSR1, &info, 0));
    int status;
    waitpid(child, &status, 0);
    printf("child saw the value: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);

    /* /proc/PID as a pidfd. */
    int dir = open("/proc/self", O_DIRECTORY);
    got_sig = 0;
    show("send through /proc/self", send(dir, SIGUSR1, NULL, 0));
    printf("handled: %d\n", got_sig == SIGUSR1);
    show("waitid through /proc/self", waitid(P_PIDFD, dir, NULL, WEXITED | WNOHANG));

    /* clone(CLONE_PIDFD): the descriptor lands where the parent tid would. */
    int cfd = -1;
    fflush(stdout);
    long c = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
    if (c == 0) _exit(3);
    show("clone with CLONE_PIDFD", c > 0 ? 0 : -1);
    printf("pidfd given: %d\n", cfd > 2);
    memset(&si, 0, sizeof si);
    show("waitid on it", waitid(P_PIDFD, cfd, &si, WEXITED));
    printf("clone child status: %d\n", si.si_status);
    show("CLONE_PIDFD with CLONE_PARENT_SETTID",
         syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0));
    return 0;
}
