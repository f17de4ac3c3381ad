/* /proc/<pid> of a child exists as soon as fork() returns in the parent. */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int missing = 0;
    for (int i = 0; i < 50; i++) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d/stat", p);
        if (stat(path, &st) != 0) missing++;
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
    }
    printf("children missing from /proc right after fork: %d of 50\n", missing);
    return 0;
}
