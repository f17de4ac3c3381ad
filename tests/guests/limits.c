/* Resource-bound probes: "forks" forks until the kernel refuses; "eat N" touches N MiB;
 * "files" opens files until it may not;
 * "fill FILE" writes FILE until the file system is full; "deep DIR LEVELS MIB" makes a tree
 * LEVELS directories deep under DIR with a MIB MiB file at the bottom (then waits if told
 * "wait"); "hold FILE..." writes
 * each FILE and waits to be killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

/* The host's syscall gate, called directly (see escape.c). */
typedef long (*gate_fn)(long, long, long, long, long, long, long);
static long gate(long nr, long a, long b, long c, long d) {
    long r = ((gate_fn)getauxval(0x7062))(nr, a, b, c, d, 0, 0);
    if (r < 0 && r > -4096) { errno = -r; return -1; }
    return r;
}

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
    if (argc > 1 && !strcmp(argv[1], "files")) {
        int n = 0;
        while (open("/dev/null", O_RDONLY) >= 0) n++;
        printf("opened %d errno=%s\n", n, errno == EMFILE ? "EMFILE" : strerror(errno));
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "fill")) {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        static char chunk[1 << 20];
        memset(chunk, 7, sizeof chunk);
        size_t mb = 0;
        for (;;) {
            ssize_t n = write(fd, chunk, sizeof chunk);
            if (n < (ssize_t)sizeof chunk) break;
            mb++;
        }
        printf("filled %zu MiB errno=%s\n", mb, errno == ENOSPC ? "ENOSPC" : strerror(errno));
        return 0;
    }
    if (argc > 4 && !strcmp(argv[1], "deep")) {
        /* Deeper than any path: made at the gate, one directory descriptor at a time, from
         * the host descriptor of DIR's mount (found by its device and inode), as a hostile
         * program would to leave data behind. */
        struct stat want, st;
        if (stat(argv[2], &want)) { perror("stat"); return 1; }
        long cur = -1;
        for (long fd = 0; fd < 1024 && cur < 0; fd++)
            if (gate(SYS_fstat, fd, (long)&st, 0, 0) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) cur = fd;
        if (cur < 0) { printf("no host descriptor for %s\n", argv[2]); return 1; }
        long levels = atol(argv[3]);
        struct open_how dir = {.flags = O_PATH | O_DIRECTORY};
        for (long i = 0; i < levels; i++) {
            if (gate(SYS_mkdirat, cur, (long)"d", 0700, 0) < 0) { printf("level %ld: %s\n", i, strerror(errno)); return 1; }
            long next = gate(SYS_openat2, cur, (long)"d", (long)&dir, sizeof dir);
            if (next < 0) { printf("level %ld: %s\n", i, strerror(errno)); return 1; }
            if (i > 0) gate(SYS_close, cur, 0, 0, 0);
            cur = next;
        }
        struct open_how file = {.flags = O_WRONLY | O_CREAT, .mode = 0600};
        long fd = gate(SYS_openat2, cur, (long)"data", (long)&file, sizeof file);
        static char chunk[1 << 20];
        memset(chunk, 9, sizeof chunk);
        for (long i = 0; i < atol(argv[4]); i++)
            if (gate(SYS_write, fd, (long)chunk, sizeof chunk, 0) != sizeof chunk) { perror("write"); return 1; }
        printf("deep %ld\n", levels);
        fflush(stdout);
        if (argc > 5 && !strcmp(argv[5], "wait"))
            for (;;) pause();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "hold")) {
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_WRONLY | O_CREAT, 0644);
            if (fd < 0 || write(fd, "box secret", 10) != 10) { perror(argv[i]); return 1; }
            close(fd);
        }
        printf("holding\n");
        fflush(stdout);
        for (;;) pause();
    }
    return 2;
}
