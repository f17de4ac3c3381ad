/* Timers across a snapshot: a periodic POSIX timer signalling SIGUSR1 with a value, a long
 * one-shot POSIX timer, an armed interval timer (ITIMER_REAL), a periodic and a long timer
 * file. For each input line it waits 100 ms and says whether the periodic ones fired; at
 * the end it says what the long ones have left (rounded into ranges), so that a restored run
 * prints what the same program left running does. It also holds a signal file with a
 * signal pending, read at the end, and a timer file of 40 ms left unread from before "ready"
 * to the end, whose count of expiries is at least the fifteen of the first 600 ms (a restore
 * that lost the count would have some six: those of the 200 ms after it). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks, last_value;

static void on_usr1(int sig, siginfo_t *info, void *uc) {
    (void)sig, (void)uc;
    ticks++;
    last_value = info->si_value.sival_int;
}

static void wait_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000}, left;
    while (nanosleep(&t, &left) != 0 && errno == EINTR) t = left;
}

static const char *range(time_t left, time_t full) {
    if (left > full) return "more than set";
    if (left > full - 100) return "within 100 s of what was set";
    return left > 0 ? "less" : "none";
}

int main(void) {
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGALRM, SIG_IGN);
    timer_t periodic, once;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
                          .sigev_value.sival_int = 7};
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    if (timer_create(CLOCK_MONOTONIC, &ev, &periodic) || timer_create(CLOCK_MONOTONIC, &none, &once))
        return 2;
    struct itimerspec every = {{0, 20000000}, {0, 20000000}}, long_one = {{0, 0}, {1000, 0}};
    if (timer_settime(periodic, 0, &every, NULL) || timer_settime(once, 0, &long_one, NULL)) return 3;
    struct itimerval alarm_in = {{0, 0}, {500, 0}};
    if (setitimer(ITIMER_REAL, &alarm_in, NULL)) return 4;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), tlong = timerfd_create(CLOCK_MONOTONIC, 0);
    if (tfd < 0 || tlong < 0 || timerfd_settime(tfd, 0, &every, NULL) ||
        timerfd_settime(tlong, 0, &long_one, NULL))
        return 5;
    struct itimerspec every_40_ms = {{0, 40000000}, {0, 40000000}};
    int tmany = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (tmany < 0 || timerfd_settime(tmany, 0, &every_40_ms, NULL)) return 7;
    wait_ms(600);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    int sfd = signalfd(-1, &usr2, SFD_NONBLOCK);
    if (sfd < 0 || raise(SIGUSR2)) return 6;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[256];
    unsigned n = 0;
    while (fgets(line, sizeof line, stdin)) {
        sig_atomic_t before = ticks;
        uint64_t expiries = 0;
        wait_ms(100);
        ssize_t got = read(tfd, &expiries, sizeof expiries);
        printf("%u: timer fired %s, value %d, timer file %s\n", ++n, ticks > before ? "yes" : "no",
               (int)last_value, got == 8 && expiries > 0 ? "fired" : "quiet");
    }
    struct itimerspec left;
    struct itimerval alarm_left;
    timer_gettime(once, &left);
    printf("one-shot timer: %s\n", range(left.it_value.tv_sec, 1000));
    timer_gettime(periodic, &left);
    printf("periodic timer: period %ld ns\n", left.it_interval.tv_nsec);
    getitimer(ITIMER_REAL, &alarm_left);
    printf("interval timer: %s\n", range(alarm_left.it_value.tv_sec, 500));
    timerfd_gettime(tlong, &left);
    printf("long timer file: %s\n", range(left.it_value.tv_sec, 1000));
    uint64_t many = 0;
    ssize_t mn = read(tmany, &many, sizeof many);
    printf("unread timer file: %s\n", mn == 8 && many >= 15 ? "fifteen expiries or more" : "fewer");
    struct signalfd_siginfo si;
    ssize_t sn = read(sfd, &si, sizeof si);
    printf("signal file: %s\n", sn == sizeof si && si.ssi_signo == SIGUSR2 ? "SIGUSR2" : strerror(errno));
    printf("timer ids: %ld %ld\n", (long)(intptr_t)periodic, (long)(intptr_t)once);
    return 0;
}
