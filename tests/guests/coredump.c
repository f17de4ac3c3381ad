/* A child that crashes with a core limit above 0 leaves "core" in its working directory and
 * its parent sees WCOREDUMP; with the limit at 0 (the default) neither. The child keeps a
 * marker string in its heap, which the core must hold. Run in an empty writable directory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int crash(long core_limit, int how) {
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {core_limit, core_limit};
        setrlimit(RLIMIT_CORE, &r);
        char *marker = malloc(64);
        strcpy(marker, "picobox-core-marker-7f3a");
        FILE *sink = fopen("/dev/null", "w");
        fputs(marker, sink); /* keeps the compiler from dropping the marker */
        if (how == 0) *(volatile int *)0 = 1; /* SIGSEGV by a fault */
        abort();                             /* SIGABRT sent to itself */
    }
    int status;
    waitpid(pid, &status, 0);
    printf("signal %d, core dumped %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0,
           WIFSIGNALED(status) && WCOREDUMP(status));
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    crash(0, 0);
    printf("core file without a limit: %d\n", access("core", F_OK) == 0);
    crash(64 << 20, 0);
    printf("core file: %d\n", access("core", F_OK) == 0);
    rename("core", "core.segv");
    crash(64 << 20, 1);
    printf("core file after abort: %d\n", access("core", F_OK) == 0);
    return 0;
}
