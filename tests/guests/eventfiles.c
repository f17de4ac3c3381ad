/* Timer files and signal files, read directly, through poll, select and epoll, across fork,
 * with their errors; each line is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *outcome(long r) { return r < 0 ? strerror(errno) : "ok"; }

static void interval_timer(void) {
    struct itimerval it = {{0, 0}, {5, 0}}, now, old;
    printf("setitimer: %s\n", outcome(setitimer(ITIMER_REAL, &it, NULL)));
    int got = getitimer(ITIMER_REAL, &now);
    printf("getitimer: %s, between 4 and 5 s left: %d\n", outcome(got),
           now.it_value.tv_sec >= 4 && now.it_value.tv_sec <= 5);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &old);
    printf("old value set: %d\n", old.it_value.tv_sec >= 4);
    getitimer(ITIMER_REAL, &now);
    printf("disarmed: %d\n", now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);
    printf("getitimer bad pointer: %s\n", outcome(getitimer(ITIMER_REAL, (void *)8)));
}

static void timer_files(void) {
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    printf("timerfd_create: %s\n", outcome(t));
    struct itimerspec its = {{0, 20000000}, {0, 30000000}}, cur;
    printf("settime: %s\n", outcome(timerfd_settime(t, 0, &its, NULL)));
    timerfd_gettime(t, &cur);
    printf("gettime: interval %ld ns, armed %d\n", cur.it_interval.tv_nsec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0);
    uint64_t n = 0;
    ssize_t r = read(t, &n, sizeof n);
    printf("blocking read: %zd, expiries >= 1: %d\n", r, n >= 1);
    usleep(70000);
    r = read(t, &n, sizeof n);
    printf("read after 70 ms: %zd, expiries >= 2: %d\n", r, n >= 2);
    struct pollfd pf = {t, POLLIN, 0};
    int ready = poll(&pf, 1, 1000);
    printf("poll: %d revents %#x\n", ready, pf.revents);
    read(t, &n, sizeof n);
    /* epoll, then a child reads the shared timer. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    int got = epoll_wait(ep, &out, 1, 1000);
    printf("epoll_wait: %d data %lu\n", got, (unsigned long)out.data.u64);
    if (fork() == 0) {
        ssize_t cr = read(t, &n, sizeof n);
        _exit(cr == 8 && n >= 1 ? 0 : 1);
    }
    int status;
    wait(&status);
    printf("child read the shared timer: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Disarm: a non-blocking read then finds nothing. */
    struct itimerspec zero = {{0, 0}, {0, 0}}, old;
    timerfd_settime(t, 0, &zero, &old);
    printf("old interval %ld ns\n", old.it_interval.tv_nsec);
    int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    r = read(nb, &n, sizeof n);
    printf("non-blocking read of an unarmed timer: %zd %s\n", r, outcome(r));
    /* An absolute deadline on the wall clock, already past: ready at once. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec past = {{0, 0}, {now.tv_sec - 1, 0}};
    timerfd_settime(nb, TFD_TIMER_ABSTIME, &past, NULL);
    r = read(nb, &n, sizeof n);
    printf("absolute deadline in the past: %zd expiries %lu\n", r, (unsigned long)n);
    /* Errors. */
    r = read(t, &n, 4);
    printf("read of 4 bytes: %s\n", outcome(r));
    printf("write: %s\n", outcome(write(t, &n, 8)));
    printf("bad clock: %s\n", outcome(timerfd_create(12345, 0)));
    printf("bad flags: %s\n", outcome(timerfd_create(CLOCK_MONOTONIC, 0x4)));
    printf("settime bad flags: %s\n", outcome(timerfd_settime(t, 0x10, &its, NULL)));
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    printf("settime bad nsec: %s\n", outcome(timerfd_settime(t, 0, &bad, NULL)));
    printf("settime bad pointer: %s\n", outcome(timerfd_settime(t, 0, (void *)8, NULL)));
    printf("settime on a pipe: %s\n", outcome(timerfd_settime(0, 0, &its, NULL)));
    printf("gettime bad fd: %s\n", outcome(timerfd_gettime(999, &cur)));
    char link[64] = {0}, path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", t);
    readlink(path, link, sizeof link - 1);
    printf("link: %s\n", link);
    close(ep);
    close(nb);
    close(t);
}

static void signal_files(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int s = signalfd(-1, &set, SFD_CLOEXEC);
    printf("signalfd: %s\n", outcome(s));
    kill(getpid(), SIGUSR1);
    struct signalfd_siginfo si[2];
    ssize_t r = read(s, si, sizeof si);
    printf("read: %zd signo %u code %d pid is mine %d\n", r, si[0].ssi_signo, si[0].ssi_code,
           si[0].ssi_pid == (uint32_t)getpid());
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, v);
    r = read(s, si, sizeof si);
    printf("sigqueue: %zd code %d int %d\n", r, si[0].ssi_code, si[0].ssi_int);
    /* A child's exit, waited for with poll, select and epoll. */
    pid_t child = fork();
    if (child == 0) {
        usleep(50000);
        _exit(3);
    }
    struct pollfd pf = {s, POLLIN, 0};
    int got = poll(&pf, 1, 5000);
    printf("poll: %d revents %#x\n", got, pf.revents);
    r = read(s, si, sizeof si);
    printf("SIGCHLD: %zd signo %u code %d status %d pid is the child %d\n", r, si[0].ssi_signo,
           si[0].ssi_code, si[0].ssi_status, si[0].ssi_pid == (uint32_t)child);
    waitpid(child, NULL, 0);
    /* From here on only SIGUSR1, one record per read. */
    sigset_t only_usr1;
    sigemptyset(&only_usr1);
    sigaddset(&only_usr1, SIGUSR1);
    int again = signalfd(s, &only_usr1, 0);
    printf("new mask, same fd: %d\n", again == s);
    signal(SIGCHLD, SIG_IGN);
    pid_t parent = getpid();
    if (fork() == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    got = select(s + 1, &rd, NULL, NULL, NULL);
    printf("select: %d set %d\n", got, FD_ISSET(s, &rd));
    read(s, si, sizeof si[0]);
    wait(NULL);
    if (fork() == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 9}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    got = epoll_wait(ep, &out, 1, 5000);
    printf("epoll_wait: %d data %lu\n", got, (unsigned long)out.data.u64);
    r = read(s, si, sizeof si[0]);
    printf("epoll then read: %zd signo %u\n", r, si[0].ssi_signo);
    wait(NULL);
    /* Nothing pending: poll times out, a non-blocking file says EAGAIN. */
    got = poll(&pf, 1, 50);
    printf("poll with nothing pending: %d\n", got);
    int nb = signalfd(-1, &only_usr1, SFD_NONBLOCK);
    r = read(nb, si, sizeof si);
    printf("non-blocking read: %zd %s\n", r, outcome(r));
    /* Errors. */
    r = read(s, si, 64);
    printf("read of 64 bytes: %s\n", outcome(r));
    printf("bad size: %s\n", outcome(syscall(SYS_signalfd4, -1, &set, 4, 0)));
    printf("bad flags: %s\n", outcome(signalfd(-1, &set, 0x1)));
    printf("not a signal file: %s\n", outcome(signalfd(0, &set, 0)));
    printf("bad fd: %s\n", outcome(signalfd(999, &set, 0)));
    printf("bad mask pointer: %s\n", outcome(signalfd(-1, (void *)8, 0)));
    printf("write: %s\n", outcome(write(s, si, sizeof si[0])));
    char link[64] = {0}, path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    readlink(path, link, sizeof link - 1);
    printf("link: %s\n", link);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    interval_timer();
    timer_files();
    signal_files();
    return 0;
}
