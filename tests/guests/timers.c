/* POSIX timers, waiting for signals (sigtimedwait, sigwaitinfo) and robust mutexes. Prints
 * what it sees, to be compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EINTR: return "EINTR";
    case EPERM: return "EPERM"; default: return strerror(errno);
    }
}

static volatile int thread_fired;
static void on_expiry(union sigval v) {
    thread_fired += v.sival_int;
}

static pthread_mutex_t robust;
static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL; /* ends without unlocking */
}

static void *robust_head(void *arg) {
    (void)arg;
    void *head;
    size_t len;
    long r = syscall(SYS_get_robust_list, 0, &head, &len);
    return (void *)(long)(r == 0 && head != NULL && len == 24);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);

    printf("a periodic timer with a value, taken by sigwaitinfo\n");
    timer_t t;
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 42;
    printf("  create: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t)));
    struct itimerspec its = {{0, 20000000}, {0, 20000000}};
    printf("  arm: %s\n", err(timer_settime(t, 0, &its, NULL)));
    struct itimerspec now;
    timer_gettime(t, &now);
    printf("  interval %ld ns, running %d\n", now.it_interval.tv_nsec,
           now.it_value.tv_sec == 0 && now.it_value.tv_nsec > 0);
    for (int i = 0; i < 3; i++) {
        siginfo_t si;
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, SIGRTMIN);
        int sig = sigwaitinfo(&only, &si);
        printf("  expiry %d: signal is SIGRTMIN %d, SI_TIMER %d, value %d\n", i, sig == SIGRTMIN,
               si.si_code == SI_TIMER, si.si_value.sival_int);
    }
    printf("  overrun: %d\n", timer_getoverrun(t) >= 0);
    struct itimerspec off = {{0, 0}, {0, 0}}, old;
    timer_settime(t, 0, &off, &old);
    printf("  disarmed; it was periodic: %d\n", old.it_interval.tv_nsec == 20000000);
    printf("  delete: %s\n", err(timer_delete(t)));
    printf("  delete again: %s\n", err(timer_delete(t)));
    printf("  arm a deleted timer: %s\n", err(timer_settime(t, 0, &its, NULL)));

    printf("the default event (no sigevent): SIGALRM\n");
    timer_t d;
    timer_create(CLOCK_REALTIME, NULL, &d);
    struct itimerspec once = {{0, 0}, {0, 5000000}};
    timer_settime(d, 0, &once, NULL);
    siginfo_t si;
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    int sig = sigwaitinfo(&alrm, &si);
    printf("  SIGALRM %d, SI_TIMER %d\n", sig == SIGALRM, si.si_code == SI_TIMER);
    timer_delete(d);

    printf("an absolute deadline and SIGEV_NONE\n");
    timer_t n;
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_MONOTONIC, &ev, &n);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct itimerspec at = {{0, 0}, {start.tv_sec + 10, start.tv_nsec}};
    timer_settime(n, TIMER_ABSTIME, &at, NULL);
    timer_gettime(n, &now);
    printf("  about 10 s left: %d\n", now.it_value.tv_sec == 9 || now.it_value.tv_sec == 10);
    timer_delete(n);

    printf("bad arguments\n");
    printf("  bad clock: %s\n", err(timer_create(1234, NULL, &n)));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 99;
    printf("  bad signal: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &n)));

    printf("SIGEV_THREAD (the C library's helper thread)\n");
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_expiry;
    ev.sigev_value.sival_int = 1;
    timer_t th;
    printf("  create: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &th)));
    struct itimerspec tick = {{0, 5000000}, {0, 5000000}};
    timer_settime(th, 0, &tick, NULL);
    for (int i = 0; i < 400 && thread_fired < 3; i++) usleep(5000);
    printf("  fired at least 3 times: %d\n", thread_fired >= 3);
    timer_delete(th);

    printf("sigtimedwait\n");
    struct timespec brief = {0, 30000000};
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    printf("  nothing pending: %s\n", err(sigtimedwait(&usr1, &si, &brief)));
    kill(getpid(), SIGUSR1);
    sig = sigtimedwait(&usr1, &si, &brief);
    printf("  SIGUSR1 from self: %d, SI_USER %d, my pid %d\n", sig == SIGUSR1, si.si_code == SI_USER,
           si.si_pid == getpid());
    struct timespec bad = {0, 2000000000};
    printf("  bad timeout: %s\n", err(sigtimedwait(&usr1, &si, &bad)));

    printf("a blocked SIGCHLD stays pending and can be waited for\n");
    pid_t child = fork();
    if (child == 0) _exit(7);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sig = sigwaitinfo(&chld, &si);
    printf("  SIGCHLD %d, from the child %d, CLD_EXITED %d, status %d\n", sig == SIGCHLD,
           si.si_pid == child, si.si_code == CLD_EXITED, si.si_status);
    waitpid(child, NULL, 0);

    printf("robust mutexes\n");
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    pthread_t holder;
    pthread_create(&holder, NULL, die_holding, NULL);
    pthread_join(holder, NULL);
    int r = pthread_mutex_lock(&robust);
    printf("  lock after the owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
    printf("  made consistent: %d\n", pthread_mutex_consistent(&robust) == 0);
    pthread_mutex_unlock(&robust);
    pthread_t reader;
    void *has_head;
    pthread_create(&reader, NULL, robust_head, NULL);
    pthread_join(reader, &has_head);
    printf("  a new thread registered its list: %ld\n", (long)has_head);
    return 0;
}
