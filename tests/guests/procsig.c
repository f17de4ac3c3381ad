/* Processes and signals, printed so that a native run and a boxed run can be compared. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_code, last_signo, same_pid, nodefer_ok, mask_ok, on_alt;
static volatile uintptr_t fault_addr;
static sigjmp_buf jump;
static char altstack[65536];

static void info_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_signo = si->si_signo;
    last_code = si->si_code;
    same_pid = si->si_pid == getpid();
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    nodefer_ok = !sigismember(&cur, sig);
    mask_ok = sigismember(&cur, SIGUSR2);
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
    /* Clobber floating-point registers: the interrupted code must not notice. */
    volatile double x = 1.0;
    for (int i = 0; i < 100; i++) x = x * 1.5 + 0.25;
}

static void fault_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_signo = sig;
    last_code = si->si_code;
    fault_addr = (uintptr_t)si->si_addr;
    siglongjmp(jump, 1);
}

static volatile int chld;
static void chld_handler(int sig) { (void)sig; chld++; }
static volatile int usr1;
static void usr1_handler(int sig) { (void)sig; usr1++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};

    /* SA_SIGINFO, SA_NODEFER, sa_mask, SA_ONSTACK, FPU state preserved. */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    printf("sigaltstack %d\n", sigaltstack(&ss, NULL));
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    volatile double before = 3.14159;
    raise(SIGUSR1);
    printf("handler ran %d signo %d code %d same_pid %d nodefer %d mask %d altstack %d fpu %d\n",
           hits, last_signo, last_code, same_pid, nodefer_ok, mask_ok, on_alt, before == 3.14159);

    /* SA_RESETHAND: the disposition returns to default after one delivery. */
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    printf("resethand: default now %d\n", now.sa_handler == SIG_DFL);

    /* Blocked signals stay pending until unblocked. */
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t block, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    int before_hits = hits;
    raise(SIGUSR2);
    sigpending(&pending);
    printf("pending %d ran %d\n", sigismember(&pending, SIGUSR2), hits - before_hits);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("after unblock ran %d\n", hits - before_hits);

    /* Synchronous faults with si_addr and si_code. */
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    if (!sigsetjmp(jump, 1)) *(volatile int *)0x10 = 1;
    printf("segv signo %d code %d addr %#lx\n", last_signo, last_code, (unsigned long)fault_addr);
    char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!sigsetjmp(jump, 1)) ro[8] = 1;
    printf("segv on read-only page: code %d addr matches %d\n", last_code, fault_addr == (uintptr_t)(ro + 8));
    volatile int zero = 0;
    if (!sigsetjmp(jump, 1)) printf("%d\n", 1 / zero);
    printf("fpe signo %d code %d\n", last_signo, last_code);
    if (!sigsetjmp(jump, 1)) __asm__ volatile("ud2");
    printf("ill signo %d code %d\n", last_signo, last_code);

    /* fork, exit status, SIGCHLD, wait4. */
    signal(SIGCHLD, chld_handler);
    pid_t child = fork();
    if (child == 0) _exit(7);
    int status;
    pid_t got = waitpid(child, &status, 0);
    printf("waitpid same %d exited %d code %d sigchld %d\n", got == child, WIFEXITED(status), WEXITSTATUS(status), chld);
    child = fork();
    if (child == 0) { raise(SIGTERM); _exit(0); }
    waitpid(child, &status, 0);
    printf("child signaled %d sig %d\n", WIFSIGNALED(status), WTERMSIG(status));
    child = fork();
    if (child == 0) { pause(); _exit(0); }
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    printf("killed child sig %d\n", WTERMSIG(status));
    printf("no more children: %d %s\n", waitpid(-1, &status, WNOHANG), strerror(errno));
    printf("parent of child is me: ");
    int fds[2];
    pipe(fds);
    child = fork();
    if (child == 0) { pid_t pp = getppid(); write(fds[1], &pp, sizeof pp); _exit(0); }
    pid_t pp;
    read(fds[0], &pp, sizeof pp);
    waitpid(child, NULL, 0);
    printf("%d\n", pp == getpid());

    /* SA_RESTART: a read interrupted by a handler continues; without it, EINTR. */
    for (int restart = 0; restart < 2; restart++) {
        sa.sa_handler = usr1_handler;
        sa.sa_flags = restart ? SA_RESTART : 0;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        pipe(fds);
        pid_t parent = getpid();
        child = fork();
        if (child == 0) {
            usleep(100000);
            kill(parent, SIGUSR1);
            usleep(100000);
            write(fds[1], "x", 1);
            _exit(0);
        }
        char c;
        ssize_t n = read(fds[0], &c, 1);
        printf("restart=%d read %zd errno %s usr1 %d\n", restart, n, n < 0 ? strerror(errno) : "-", usr1);
        waitpid(child, NULL, 0);
        close(fds[0]);
        close(fds[1]);
    }

    /* sigsuspend waits for a blocked signal and runs its handler. */
    sigprocmask(SIG_BLOCK, &(sigset_t){{1UL << (SIGUSR1 - 1)}}, NULL);
    pid_t parent = getpid();
    child = fork();
    if (child == 0) { kill(parent, SIGUSR1); _exit(0); }
    int before_usr1 = usr1;
    sigset_t empty;
    sigemptyset(&empty);
    int r = sigsuspend(&empty);
    printf("sigsuspend %d %s ran %d\n", r, strerror(errno), usr1 - before_usr1);
    waitpid(child, NULL, 0);

    /* alarm delivers SIGALRM. */
    signal(SIGALRM, usr1_handler);
    before_usr1 = usr1;
    alarm(1);
    pause();
    printf("alarm ran %d\n", usr1 - before_usr1);

    /* Default action of an unhandled signal ends the process (checked by the caller). */
    signal(SIGUSR2, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    raise(SIGUSR2);
    printf("not reached\n");
    return 0;
}
