/* Which signals interrupt a blocked system call: only one that runs a handler (or ends the
 * process). A signal that is blocked, ignored, or ignored by default (SIGCHLD) must not; a
 * handler with SA_RESTART restarts read but not nanosleep or poll; nanosleep reports what
 * was left. Each line is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr(int sig) { (void)sig; }

/* A child that sends `sig` to the parent after `ms` milliseconds, and one that writes a byte
 * into `fd` after `write_ms`. */
static void later(int sig, int ms, int fd, int write_ms) {
    pid_t parent = getpid();
    if (fork() == 0) {
        usleep(ms * 1000);
        if (sig) kill(parent, sig);
        _exit(0);
    }
    if (fd >= 0 && fork() == 0) {
        usleep(write_ms * 1000);
        if (write(fd, "x", 1) != 1) _exit(1);
        _exit(0);
    }
}

/* A child that sends `sig` to the parent every `ms` milliseconds, so that one arrives while
 * the parent blocks, however slowly it gets there; `count` times, then writes a byte into
 * `fd` (if not -1), or until stopped. */
static pid_t pester(int sig, int ms, int count, int fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; count == 0 || i < count; i++) {
            usleep(ms * 1000);
            kill(parent, sig);
        }
        if (fd >= 0 && write(fd, "x", 1) != 1) _exit(1);
        _exit(0);
    }
    return pid;
}

static void stop(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void reap(void) {
    while (wait(NULL) > 0) {
    }
}

static const char *outcome(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    char c;
    if (pipe(p)) return 1;

    /* A child's exit (SIGCHLD, ignored by default) during a blocking read. */
    later(0, 50, p[1], 200);
    long r = read(p[0], &c, 1);
    printf("read across SIGCHLD: %ld %s\n", r, outcome(r));
    reap();

    /* An ignored signal during a read. */
    signal(SIGUSR1, SIG_IGN);
    later(SIGUSR1, 50, p[1], 200);
    r = read(p[0], &c, 1);
    printf("read across ignored SIGUSR1: %ld %s\n", r, outcome(r));
    reap();

    /* A blocked signal during poll, select and nanosleep; then it is still pending. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    signal(SIGUSR2, on_usr);
    later(SIGUSR2, 50, -1, 0);
    struct pollfd pf = {p[0], POLLIN, 0};
    r = poll(&pf, 1, 300);
    printf("poll across blocked SIGUSR2: %ld %s\n", r, outcome(r));
    reap();
    later(SIGUSR2, 50, -1, 0);
    fd_set set;
    FD_ZERO(&set);
    FD_SET(p[0], &set);
    struct timeval tv = {0, 300000};
    r = select(p[0] + 1, &set, NULL, NULL, &tv);
    printf("select across blocked SIGUSR2: %ld %s\n", r, outcome(r));
    reap();
    later(SIGUSR2, 50, -1, 0);
    struct timespec nap = {0, 300000000}, left = {0, 0};
    r = nanosleep(&nap, &left);
    printf("nanosleep across blocked SIGUSR2: %ld %s\n", r, outcome(r));
    reap();
    sigset_t pending;
    sigpending(&pending);
    printf("SIGUSR2 pending: %d\n", sigismember(&pending, SIGUSR2));
    /* Unblocking runs the handler. */
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);

    /* A handler without SA_RESTART: read and poll fail with EINTR; nanosleep too, with the
     * time left in rem. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t pid = pester(SIGUSR1, 50, 0, -1);
    r = read(p[0], &c, 1);
    printf("read across a handler: %ld %s\n", r, outcome(r));
    stop(pid);
    pid = pester(SIGUSR1, 50, 0, -1);
    nap.tv_sec = 2;
    nap.tv_nsec = 0;
    r = nanosleep(&nap, &left);
    /* Some time left, less than asked (the first signal comes after 50 ms; on a loaded
     * machine, maybe much later). */
    printf("nanosleep across a handler: %ld %s, some of the 2 s left: %d\n", r, outcome(r),
           left.tv_sec < 2 && (left.tv_sec > 0 || left.tv_nsec > 0));
    stop(pid);

    /* With SA_RESTART: read goes on; poll does not. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pid = pester(SIGUSR1, 20, 10, p[1]);
    r = read(p[0], &c, 1);
    printf("read across an SA_RESTART handler: %ld %s\n", r, outcome(r));
    waitpid(pid, NULL, 0);
    pid = pester(SIGUSR1, 50, 0, -1);
    r = poll(&pf, 1, 5000);
    printf("poll across an SA_RESTART handler: %ld %s\n", r, outcome(r));
    stop(pid);

    /* A signal blocked and pending before ppoll, pselect or epoll_pwait, which their mask lets
     * through: the call ends at once with EINTR (even with SA_RESTART), the handler runs under
     * the call's mask, and the caller's mask is back after it. */
    sigset_t block, none, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigemptyset(&none);
    struct sigaction sa2 = {.sa_handler = on_usr, .sa_flags = SA_RESTART};
    sigaction(SIGUSR2, &sa2, NULL);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct timespec two = {2, 0};
    raise(SIGUSR2);
    errno = 0;
    r = ppoll(&pf, 1, &two, &none);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("ppoll with a pending signal its mask lets through: %ld %s, still blocked after: %d\n",
           r, outcome(r), sigismember(&now, SIGUSR2));
    raise(SIGUSR2);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    r = pselect(p[0] + 1, &rd, NULL, NULL, &two, &none);
    printf("pselect likewise: %ld %s\n", r, outcome(r));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    raise(SIGUSR2);
    r = epoll_pwait(ep, &ev, 1, 2000, &none);
    printf("epoll_pwait likewise: %ld %s\n", r, outcome(r));
    /* Without a pending signal the mask only applies during the wait. */
    struct timespec short_wait = {0, 10000000};
    r = ppoll(&pf, 1, &short_wait, &none);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("ppoll timing out: %ld, still blocked after: %d\n", r, sigismember(&now, SIGUSR2));
    return 0;
}
