/* The run state /proc/<pid>/stat shows, as test harnesses wait for it (LTP's
 * TST_PROCESS_STATE_WAIT: a child must be sleeping in its call before it is woken): a child
 * blocked in read, in a futex wait, in a System V message receive and in nanosleep is 'S'; a
 * child spinning is 'R'; a thread of the caller blocked in read is 'S' in task/<tid>/stat;
 * the reader itself is 'R'. Prints one line per check; run natively and in a box, the outputs
 * must match. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char state_of(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return '?';
    char c = '?';
    if (fscanf(f, "%*[^)]%*c %c", &c) != 1) c = '?';
    fclose(f);
    return c;
}

/* Waits up to 5 s for `pid` to show `want`; returns what it showed last. */
static char wait_for(pid_t pid, char want) {
    char path[64], c = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    for (int i = 0; i < 5000; i++) {
        c = state_of(path);
        if (c == want) break;
        usleep(1000);
    }
    return c;
}

static void check(const char *what, pid_t child, char want) {
    printf("%s: %c\n", what, wait_for(child, want));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

static int pipe_fds[2];
static void *blocked_reader(void *arg) {
    (void)arg;
    char c;
    read(pipe_fds[0], &c, 1);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(p[0], &c, 1);
        _exit(0);
    }
    check("child in read", child, 'S');

    int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    child = fork();
    if (child == 0) {
        syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(0);
    }
    /* Woken once it sleeps, the wait returns: what the harnesses rely on. */
    printf("child in futex wait: %c\n", wait_for(child, 'S'));
    printf("woken: %ld\n", syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0));
    int status;
    waitpid(child, &status, 0);
    printf("child went on: %d\n", WIFEXITED(status));

    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    child = fork();
    if (child == 0) {
        struct { long type; char text[8]; } m;
        msgrcv(q, &m, sizeof m.text, 0, 0);
        _exit(0);
    }
    check("child in msgrcv", child, 'S');
    msgctl(q, IPC_RMID, NULL);

    child = fork();
    if (child == 0) {
        struct timespec t = {30, 0};
        nanosleep(&t, NULL);
        _exit(0);
    }
    check("child in nanosleep", child, 'S');

    child = fork();
    if (child == 0) {
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    check("child spinning", child, 'R');

    pipe(pipe_fds);
    pthread_t t;
    pthread_create(&t, NULL, blocked_reader, NULL);
    pid_t tid = 0;
    /* The thread's id: the task directory's entry that is not the caller's. */
    for (int i = 0; i < 5000 && tid == 0; i++) {
        char path[64];
        for (pid_t guess = getpid() + 1; guess < getpid() + 64 && tid == 0; guess++) {
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", guess);
            if (state_of(path) == 'S') tid = guess;
        }
        if (tid == 0) usleep(1000);
    }
    printf("thread in read: %c\n", tid ? 'S' : '?');
    write(pipe_fds[1], "x", 1);
    pthread_join(t, NULL);
    printf("self: %c\n", state_of("/proc/self/stat"));
    return 0;
}
