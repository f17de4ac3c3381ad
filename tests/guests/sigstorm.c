/* Many SIGCHLDs arriving while the process makes system calls: regression test for a signal
 * that lands at the very start or end of a trapped call being delivered as if it had
 * interrupted the program (the handler then ran with SIGSYS blocked and the box was killed). */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int seen;
static void on_chld(int sig) { (void)sig; seen++; }

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    int reaped = 0;
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < 10; i++) {
            if (fork() == 0) _exit(0);
        }
        for (int i = 0; i < 2000; i++) syscall(SYS_getppid);
        while (waitpid(-1, NULL, 0) > 0) reaped++;
    }
    printf("reaped %d, handler ran %s\n", reaped, seen > 0 ? "yes" : "no");
    return 0;
}
