/* An escape attempt made after a restore: once it reads a line, the program (or, with
 * "thread", a second thread made before the snapshot) calls unshare(CLONE_NEWUSER) at the
 * runtime's own syscall gate, as a ROP chain into the PAL would. The filter kills the box for
 * it, in a restored box as in any. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*gate_fn)(long, long, long, long, long, long, long);
static volatile int go;

static long attempt(void) {
    gate_fn g = (gate_fn)getauxval(0x7062);
    if (!g) return -1000;
    return g(SYS_unshare, CLONE_NEWUSER, 0, 0, 0, 0, 0);
}

static void *second(void *arg) {
    (void)arg;
    while (!go) usleep(1000);
    printf("thread: %ld\n", attempt());
    exit(0);
}

int main(int argc, char **argv) {
    pthread_t t;
    int in_thread = argc > 1 && strcmp(argv[1], "thread") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (in_thread) pthread_create(&t, NULL, second, NULL);
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    if (in_thread) {
        go = 1;
        pause();
    }
    printf("main: %ld\n", attempt());
    return 0;
}
