/* The box's clocks across a snapshot: prints "ready"; for an input line, says whether
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME went on from where they were when it printed "ready"
 * (not back) and by less than the given number of milliseconds (the time the box spent
 * not running is not counted). Read through the vDSO (clock_gettime) and the system call. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c, int direct) {
    struct timespec t;
    if (direct) syscall(SYS_clock_gettime, c, &t);
    else clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    long long most = (argc > 1 ? atoll(argv[1]) : 1000) * 1000000LL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    long long before[2] = {ns(CLOCK_MONOTONIC, 0), ns(CLOCK_BOOTTIME, 0)};
    printf("ready\n");
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    const char *names[2] = {"monotonic", "boot time"};
    clockid_t ids[2] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    for (int i = 0; i < 2; i++)
        for (int direct = 0; direct < 2; direct++) {
            long long d = ns(ids[i], direct) - before[i];
            printf("%s (%s) went on: %s, by less than %lld ms: %s\n", names[i],
                   direct ? "system call" : "vDSO", d >= 0 ? "yes" : "no", most / 1000000,
                   d < most ? "yes" : "no");
        }
    return 0;
}
