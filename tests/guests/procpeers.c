/* /proc/<pid> of another process of the box: listed in /proc, with its command line, name,
 * parent, group and program; gone once it has been reaped. Prints what it sees. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int slurp(const char *path, char *buf, size_t len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    return n;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && !strcmp(argv[1], "peer")) {
        int fd = atoi(argv[2]);
        write(fd, "x", 1);
        pause();
        return 0;
    }
    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        char *av[] = {"procpeers", "peer", fd, "with spaces", NULL};
        execv("/proc/self/exe", av);
        _exit(127);
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", child);
    int n = slurp(path, buf, sizeof buf);
    printf("cmdline:");
    for (int i = 0; i < n; i++) putchar(buf[i] ? buf[i] : '|');
    printf("\n");
    snprintf(path, sizeof path, "/proc/%d/comm", child);
    slurp(path, buf, sizeof buf);
    printf("comm: %s", buf);
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    slurp(path, buf, sizeof buf);
    int pid, ppid, pgrp;
    char state;
    sscanf(buf, "%d %*s %c %d %d", &pid, &state, &ppid, &pgrp);
    printf("stat: pid matches %d, parent is me %d, group is mine %d\n", pid == child,
           ppid == getpid(), pgrp == getpgrp());
    snprintf(path, sizeof path, "/proc/%d/status", child);
    slurp(path, buf, sizeof buf);
    char *pp = strstr(buf, "PPid:");
    printf("status: PPid is me %d\n", pp && atoi(pp + 5) == getpid());
    snprintf(path, sizeof path, "/proc/%d/exe", child);
    char self[256], other[256];
    ssize_t a = readlink("/proc/self/exe", self, sizeof self - 1);
    ssize_t b = readlink(path, other, sizeof other - 1);
    printf("exe is the same program: %d\n", a > 0 && a == b && !memcmp(self, other, a));
    int listed = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while ((e = readdir(d)))
        if (atoi(e->d_name) == child) listed = 1;
    closedir(d);
    printf("listed in /proc: %d\n", listed);
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    printf("ended by SIGTERM: %d\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    snprintf(path, sizeof path, "/proc/%d/cmdline", child);
    printf("after reaping: %s\n", slurp(path, buf, sizeof buf) < 0 ? "gone" : "still there");
    printf("a pid that never was: %s\n", slurp("/proc/99999/cmdline", buf, sizeof buf) < 0 ? "absent" : "present");
    return 0;
}
