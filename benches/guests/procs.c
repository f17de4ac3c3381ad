/* Process benchmarks, timed inside the program so that start-up is not counted:
 *   forkwait N        fork + _exit + waitpid, ns per round
 *   forkexec N PROG   fork + execve(PROG) + waitpid, ns per round
 *   pipe MIB          MiB/s through a pipe between two processes (64 KiB writes) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    long n = atol(argv[2]);
    double start = now();
    if (!strcmp(argv[1], "forkwait")) {
        for (long i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) _exit(0);
            waitpid(p, NULL, 0);
        }
        printf("%.0f\n", (now() - start) / n);
    } else if (!strcmp(argv[1], "forkexec") && argc > 3) {
        for (long i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                char *av[] = {argv[3], NULL};
                execv(argv[3], av);
                _exit(127);
            }
            int st;
            waitpid(p, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
        }
        printf("%.0f\n", (now() - start) / n);
    } else if (!strcmp(argv[1], "pipe")) {
        static char buf[65536];
        int fds[2];
        pipe(fds);
        long total = n << 20;
        if (fork() == 0) {
            close(fds[0]);
            for (long done = 0; done < total; done += sizeof buf) write(fds[1], buf, sizeof buf);
            _exit(0);
        }
        close(fds[1]);
        long got = 0, r;
        while ((r = read(fds[0], buf, sizeof buf)) > 0) got += r;
        wait(NULL);
        printf("%.0f\n", got / 1048576.0 / ((now() - start) / 1e9));
    } else {
        return 2;
    }
    return 0;
}
