/* An escape attempt made after a restore: once it reads a line, the program (or, with
 * "thread", a second thread made before the snapshot) calls unshare(CLONE_NEWUSER) at the
 * runtime's own syscall gate, as a ROP chain into the PAL would. The filter kills the box for
 * it, in a restored box as in any. With "bind" (or "bind-thread") the attempt is instead to
 * bind a TCP port the box was not given, at the gate: Landlock refuses it (EACCES), in a
 * restored box as in any, on every thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*gate_fn)(long, long, long, long, long, long, long);
static volatile int go;
static int binding;

static long attempt(void) {
    gate_fn g = (gate_fn)getauxval(0x7062);
    if (!g) return -1000;
    if (!binding) return g(SYS_unshare, CLONE_NEWUSER, 0, 0, 0, 0, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(47211),
                            .sin_addr.s_addr = htonl(0x7f000001)};
    long s = g(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
    if (s < 0) return -2000 + s;
    return g(SYS_bind, s, (long)&a, sizeof a, 0, 0, 0);
}

static void *second(void *arg) {
    (void)arg;
    while (!go) usleep(1000);
    printf("thread: %ld\n", attempt());
    exit(0);
}

int main(int argc, char **argv) {
    pthread_t t;
    const char *mode = argc > 1 ? argv[1] : "";
    int in_thread = strcmp(mode, "thread") == 0 || strcmp(mode, "bind-thread") == 0;
    binding = strncmp(mode, "bind", 4) == 0;
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
