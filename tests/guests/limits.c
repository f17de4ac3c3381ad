/* Resource-bound probes: "forks" forks until the kernel refuses; "eat N" touches N MiB. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

static void *forever(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "forks")) {
        int n = 0;
        for (;;) {
            pid_t p = fork();
            if (p == 0) { pause(); _exit(0); }
            if (p < 0) break;
            n++;
        }
        printf("forks=%d errno=%s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
        return 0; /* the box's first process ends: the kernel ends the rest */
    }
    if (argc > 1 && !strcmp(argv[1], "threads")) {
        int n = 0;
        pthread_t t;
        while (pthread_create(&t, NULL, forever, NULL) == 0) n++;
        printf("threads=%d\n", n);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "eat")) {
        size_t mb = strtoul(argv[2], 0, 10);
        for (size_t i = 0; i < mb; i++) {
            char *p = malloc(1 << 20);
            if (!p) { printf("malloc failed at %zu MiB\n", i); return 1; }
            memset(p, 1, 1 << 20);
        }
        printf("ate %zu MiB\n", mb);
        return 0;
    }
    return 2;
}
