/* ptrace between a parent and its children: PTRACE_TRACEME and signal-delivery stops (a
 * handled, an ignored and a changed signal), the tracee's memory, registers and siginfo,
 * PTRACE_ATTACH and DETACH, PTRACE_KILL, debug registers as recorded, and Linux's refusals.
 * Each line is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long value = 1234;
static volatile int handled;

static void on_usr1(int sig) { handled = sig; }

static const char *outcome(long r) { return r < 0 ? strerror(errno) : "ok"; }

static void show_status(const char *what, int st) {
    if (WIFSTOPPED(st)) printf("%s: stopped by %d\n", what, WSTOPSIG(st));
    else if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) _exit(7); /* the program a tracee executes */
    int st;

    /* A handled signal: the tracer sees it first, reads and writes the tracee, and lets
     * the signal through. */
    pid_t c = fork();
    if (c == 0) {
        signal(SIGUSR1, on_usr1);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0)) _exit(90);
        long again = ptrace(PTRACE_TRACEME, 0, 0, 0);
        int again_errno = errno;
        raise(SIGUSR1);
        printf("child: handler ran for %d, value now %ld, second TRACEME %s\n", handled, value,
               again < 0 ? strerror(again_errno) : "ok");
        _exit(3);
    }
    waitpid(c, &st, 0);
    show_status("traced child", st);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long got = ptrace(PTRACE_GETSIGINFO, c, 0, &si);
    printf("GETSIGINFO: %s, signal %d\n", outcome(got), si.si_signo);
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, c, (void *)&value, 0);
    printf("PEEKDATA: %ld %s\n", word, errno ? strerror(errno) : "");
    printf("POKEDATA: %s\n", outcome(ptrace(PTRACE_POKEDATA, c, (void *)&value, (void *)5678)));
    errno = 0;
    ptrace(PTRACE_PEEKDATA, c, (void *)8, 0);
    printf("PEEKDATA of a hole: %s\n", strerror(errno));
    printf("POKEDATA of a hole: %s\n", outcome(ptrace(PTRACE_POKEDATA, c, (void *)8, 0)));
    struct user_regs_struct regs;
    printf("GETREGS: %s\n", outcome(ptrace(PTRACE_GETREGS, c, 0, &regs)));
    errno = 0;
    long rsp = ptrace(PTRACE_PEEKUSER, c, (void *)offsetof(struct user, regs.rsp), 0);
    printf("PEEKUSER rsp is GETREGS's: %d, cs %llx\n", rsp == (long)regs.rsp, regs.cs);
    printf("SETREGS unchanged: %s\n", outcome(ptrace(PTRACE_SETREGS, c, 0, &regs)));
    errno = 0;
    ptrace(PTRACE_PEEKUSER, c, (void *)3, 0);
    printf("PEEKUSER unaligned: %s\n", strerror(errno));
    errno = 0;
    ptrace(PTRACE_PEEKUSER, c, (void *)928, 0); /* the kernel's sizeof(struct user) */
    printf("PEEKUSER past struct user: %s\n", strerror(errno));
    errno = 0;
    ptrace(PTRACE_PEEKUSER, c, (void *)920, 0);
    printf("PEEKUSER of its last word: %s\n", errno ? strerror(errno) : "ok");
    printf("GETREGS to a bad pointer: %s\n", outcome(ptrace(PTRACE_GETREGS, c, 0, (void *)8)));
    long dr0 = offsetof(struct user, u_debugreg[0]), dr7 = offsetof(struct user, u_debugreg[7]);
    printf("POKEUSER DR0 kernel address: %s\n",
           outcome(ptrace(PTRACE_POKEUSER, c, (void *)dr0, (void *)0xffff800000000000ul)));
    printf("POKEUSER DR0: %s\n", outcome(ptrace(PTRACE_POKEUSER, c, (void *)dr0, (void *)&value)));
    printf("POKEUSER DR7: %s\n", outcome(ptrace(PTRACE_POKEUSER, c, (void *)dr7, (void *)0)));
    printf("PEEKUSER DR0 as set: %d\n",
           ptrace(PTRACE_PEEKUSER, c, (void *)dr0, 0) == (long)&value);
    printf("CONT bad signal: %s\n", outcome(ptrace(PTRACE_CONT, c, 0, (void *)100)));
    /* The child prints as soon as it runs again: this line waits for its end. */
    const char *continued = outcome(ptrace(PTRACE_CONT, c, 0, (void *)SIGUSR1));
    waitpid(c, &st, 0);
    printf("CONT with SIGUSR1: %s\n", continued);
    show_status("traced child", st);

    /* An ignored signal stops a tracee too; the tracer suppresses it, or changes it. */
    c = fork();
    if (c == 0) {
        signal(SIGUSR2, SIG_IGN);
        signal(SIGUSR1, on_usr1);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        kill(getpid(), SIGUSR2);
        kill(getpid(), SIGUSR2);
        printf("child: handler ran for %d\n", handled);
        _exit(4);
    }
    waitpid(c, &st, 0);
    show_status("ignoring child", st);
    ptrace(PTRACE_CONT, c, 0, 0);
    waitpid(c, &st, 0);
    show_status("ignoring child, again", st);
    ptrace(PTRACE_CONT, c, 0, (void *)SIGUSR1);
    waitpid(c, &st, 0);
    show_status("ignoring child", st);

    /* Attach to a child, detach, and refusals. */
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        close(p[1]);
        char b;
        read(p[0], &b, 1);
        _exit(5);
    }
    printf("CONT of an untraced child: %s\n", outcome(ptrace(PTRACE_CONT, c, 0, 0)));
    printf("ATTACH itself: %s\n", outcome(ptrace(PTRACE_ATTACH, getpid(), 0, 0)));
    printf("ATTACH no one: %s\n", outcome(ptrace(PTRACE_ATTACH, 99999999, 0, 0)));
    printf("ATTACH: %s\n", outcome(ptrace(PTRACE_ATTACH, c, 0, 0)));
    printf("ATTACH twice: %s\n", outcome(ptrace(PTRACE_ATTACH, c, 0, 0)));
    waitpid(c, &st, 0);
    show_status("attached child", st);
    printf("DETACH: %s\n", outcome(ptrace(PTRACE_DETACH, c, 0, 0)));
    printf("CONT after DETACH: %s\n", outcome(ptrace(PTRACE_CONT, c, 0, 0)));
    write(p[1], "x", 1);
    waitpid(c, &st, 0);
    show_status("detached child", st);

    /* A tracee that executes a program stops with SIGTRAP before the program runs. */
    c = fork();
    if (c == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execl("/proc/self/exe", argv[0], "executed", (char *)NULL);
        _exit(99);
    }
    waitpid(c, &st, 0);
    show_status("executing child", st);
    ptrace(PTRACE_CONT, c, 0, 0);
    waitpid(c, &st, 0);
    show_status("executing child", st);

    /* PTRACE_KILL of a stopped tracee. */
    c = fork();
    if (c == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        _exit(6);
    }
    waitpid(c, &st, 0);
    show_status("child to kill", st);
    printf("KILL: %s\n", outcome(ptrace(PTRACE_KILL, c, 0, 0)));
    waitpid(c, &st, 0);
    show_status("child to kill", st);
    return 0;
}
