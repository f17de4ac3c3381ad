/* Fault signals sent by processes (kill, sigqueue, tgkill) are ordinary signals: a handler
 * sees who sent them, and the default action ends the process by that signal. A signal
 * frame that cannot be written turns into SIGSEGV, as Linux's force_sigsegv. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    char line[80];
    int n = snprintf(line, sizeof line, "handled %d code %d from self %d\n", sig, si->si_code,
                     si->si_pid == getpid());
    write(1, line, (size_t)n);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
    for (int i = 0; i < 4; i++) sigaction(sigs[i], &sa, NULL);
    kill(getpid(), SIGSEGV);
    union sigval v = {.sival_int = 7};
    sigqueue(getpid(), SIGILL, v);
    syscall(SYS_tgkill, getpid(), gettid(), SIGBUS);
    fflush(stdout);
    for (int i = 0; i < 4; i++) {
        pid_t p = fork();
        if (p == 0) {
            signal(sigs[i], SIG_DFL);
            kill(getpid(), sigs[i]);
            _exit(0);
        }
        int status;
        waitpid(p, &status, 0);
        printf("child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }

    /* A signal whose frame cannot be written (its alternate stack is read-only) becomes a
     * SIGSEGV for its handler; without one, the process dies of SIGSEGV. */
    static char altstack[4096 * 10] __attribute__((aligned(4096)));
    stack_t st = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&st, NULL);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGHUP, &sa, NULL);
    mprotect(altstack, sizeof altstack, PROT_READ);
    kill(getpid(), SIGHUP);
    mprotect(altstack, sizeof altstack, PROT_READ | PROT_WRITE);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        signal(SIGSEGV, SIG_DFL);
        mprotect(altstack, sizeof altstack, PROT_READ);
        kill(getpid(), SIGHUP);
        _exit(0);
    }
    int status;
    waitpid(p, &status, 0);
    printf("unwritable frame without a SIGSEGV handler: ended by signal %d\n",
           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
