/* Queued real-time signals and the notices the kernel sends with them: real-time signals
 * queue (each with its own value, oldest first) where standard ones merge; directory notices
 * (F_NOTIFY) and lease breaks (F_SETLEASE) arrive with the signal F_SETSIG chose and the
 * program's own descriptor in si_fd. Prints one line per check; run natively and in a box,
 * the outputs must match. Run in an empty writable directory on a disk file system (leases
 * are refused on tmpfs). Also: a SIGSYS sent by kill (not raised by a filter) is the program's
 * signal like any other. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int values[16], seen;
static int notice_fd[4], notices;

static void on_rt(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    if (seen < 16) values[seen++] = si->si_value.sival_int;
}

static void on_notice(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    if (notices < 4) notice_fd[notices++] = si->si_fd;
}

static void queueing(void) {
    int rt = SIGRTMIN + 2;
    struct sigaction sa = {.sa_sigaction = on_rt, .sa_flags = SA_SIGINFO};
    sigaction(rt, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, rt);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i};
        sigqueue(getpid(), rt, v);
        v.sival_int = 10 * i;
        sigqueue(getpid(), SIGUSR1, v);
    }
    sigset_t pending;
    sigpending(&pending);
    printf("pending: rt %d usr1 %d\n", sigismember(&pending, rt), sigismember(&pending, SIGUSR1));
    /* sigtimedwait takes one instance at a time; the rest stay pending. */
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, rt);
    siginfo_t si;
    struct timespec none = {0, 0};
    int got = sigtimedwait(&only, &si, &none);
    printf("sigtimedwait: %d value %d\n", got == rt, si.si_value.sival_int);
    sigpending(&pending);
    printf("still pending: rt %d\n", sigismember(&pending, rt));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("delivered %d:", seen);
    for (int i = 0; i < seen; i++) printf(" %d", values[i]);
    printf("\n");
    sigpending(&pending);
    printf("after: rt %d\n", sigismember(&pending, rt));
}

static volatile sig_atomic_t child_value = -1;
static void on_child_value(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    child_value = si->si_value.sival_int;
}

/* sigqueue to another process and pthread_sigqueue-like delivery to another process's
 * thread: the value travels with the signal. */
static void queued_to_another_process(void) {
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        struct sigaction sa = {.sa_sigaction = on_child_value, .sa_flags = SA_SIGINFO};
        sigaction(SIGUSR2, &sa, NULL);
        write(ready[1], "r", 1);
        while (child_value < 0) usleep(1000);
        _exit(child_value);
    }
    char c;
    read(ready[0], &c, 1);
    union sigval v = {.sival_int = 42};
    printf("sigqueue to a child: %d\n", sigqueue(child, SIGUSR2, v));
    int status;
    waitpid(child, &status, 0);
    printf("child saw value: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    siginfo_t forged = {.si_signo = SIGUSR2, .si_code = SI_KERNEL};
    printf("forged kernel siginfo: %s\n",
           syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR2, &forged) < 0 ? strerror(errno) : "sent");
}

static void directory_notices(void) {
    int sig = SIGRTMIN + 3;
    struct sigaction sa = {.sa_sigaction = on_notice, .sa_flags = SA_SIGINFO};
    sigaction(sig, &sa, NULL);
    mkdir("watched", 0755);
    mkdir("watched/sub", 0755);
    /* Descriptors whose numbers differ from anything the host would pick first. */
    int parent = fcntl(open("watched", O_RDONLY), F_DUPFD, 40);
    int sub = fcntl(open("watched/sub", O_RDONLY), F_DUPFD, 50);
    printf("F_SETSIG: %d\n", fcntl(parent, F_SETSIG, sig));
    printf("F_NOTIFY: %d\n", fcntl(parent, F_NOTIFY, DN_ATTRIB | DN_CREATE | DN_MULTISHOT));
    fcntl(sub, F_SETSIG, sig);
    fcntl(sub, F_NOTIFY, DN_ATTRIB | DN_MULTISHOT);
    chmod("watched/sub", 0700); /* both are told */
    int p = 0, s = 0;
    for (int i = 0; i < notices; i++) {
        p += notice_fd[i] == parent;
        s += notice_fd[i] == sub;
    }
    printf("notices: parent %d sub %d others %d\n", p > 0, s > 0, notices - p - s);
    notices = 0;
    close(open("watched/new", O_CREAT | O_WRONLY, 0644));
    printf("create noticed on parent: %d\n", notices > 0 && notice_fd[0] == parent);
    printf("F_NOTIFY on a file: %d\n",
           fcntl(open("watched/new", O_RDONLY), F_NOTIFY, DN_MODIFY) < 0 ? errno : 0);
}

static void leases(void) {
    int sig = SIGRTMIN + 4;
    struct sigaction sa = {.sa_sigaction = on_notice, .sa_flags = SA_SIGINFO};
    sigaction(sig, &sa, NULL);
    close(open("leased", O_CREAT | O_WRONLY, 0644));
    int rw = open("leased", O_RDWR);
    printf("read lease while writing: %s\n",
           fcntl(rw, F_SETLEASE, F_RDLCK) < 0 ? strerror(errno) : "granted");
    printf("bad lease type: %s\n", fcntl(rw, F_SETLEASE, 7) < 0 ? strerror(errno) : "granted");
    int fd = fcntl(rw, F_DUPFD, 60);
    close(rw);
    fcntl(fd, F_SETSIG, sig);
    printf("write lease: %d\n", fcntl(fd, F_SETLEASE, F_WRLCK));
    printf("F_GETLEASE: %d\n", fcntl(fd, F_GETLEASE) == F_WRLCK);
    notices = 0;
    pid_t child = fork();
    if (child == 0) {
        /* Blocks until the holder gives the lease up. */
        int other = open("leased", O_RDONLY);
        _exit(other < 0 ? 1 : 0);
    }
    /* Wait for the break notice, then give the lease up. */
    for (int i = 0; i < 500 && notices == 0; i++) usleep(10000);
    printf("break noticed on the holder's descriptor: %d\n", notices > 0 && notice_fd[0] == fd);
    printf("lease while breaking: %d\n", fcntl(fd, F_GETLEASE) == F_RDLCK);
    fcntl(fd, F_SETLEASE, F_UNLCK);
    int status;
    waitpid(child, &status, 0);
    printf("the other open went on: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("F_GETLEASE after: %d\n", fcntl(fd, F_GETLEASE) == F_UNLCK);
}

static volatile int sigsys_code = 99;
static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    sigsys_code = si->si_code;
}

/* O_ASYNC: the owner is signalled when a pipe becomes readable, with SIGIO, or with the
 * F_SETSIG signal and the descriptor in si_fd; F_SETOWN of no process is ESRCH. */
static void io_notices(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct timespec wait = {1, 0};
    int p[2];
    pipe(p);
    printf("F_SETOWN self: %d\n", fcntl(p[0], F_SETOWN, getpid()));
    printf("F_GETOWN: %d\n", fcntl(p[0], F_GETOWN) == getpid());
    printf("F_SETFL O_ASYNC: %d\n", fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC));
    write(p[1], "x", 1);
    siginfo_t si;
    int sig = sigtimedwait(&set, &si, &wait);
    printf("ready pipe: signal %d (SIGIO %d)\n", sig, sig == SIGIO);
    char c;
    read(p[0], &c, 1);
    printf("F_SETSIG SIGUSR1: %d\n", fcntl(p[0], F_SETSIG, SIGUSR1));
    write(p[1], "y", 1);
    sig = sigtimedwait(&set, &si, &wait);
    printf("ready pipe: signal %d, si_fd is the pipe %d, code POLL_IN %d\n", sig, si.si_fd == p[0],
           si.si_code == POLL_IN);
    read(p[0], &c, 1);
    printf("O_ASYNC off: %d\n", fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_ASYNC));
    write(p[1], "z", 1);
    struct timespec brief = {0, 100000000};
    printf("not async: %d\n", sigtimedwait(&set, &si, &brief));
    errno = 0;
    int r = fcntl(p[0], F_SETOWN, 999999);
    printf("F_SETOWN no process: %d errno %d\n", r, errno);
    close(p[0]);
    close(p[1]);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    io_notices();
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &sa, NULL);
    kill(getpid(), SIGSYS);
    printf("SIGSYS by kill: handler saw code %d\n", sigsys_code);
    queueing();
    queued_to_another_process();
    directory_notices();
    leases();
    return 0;
}
