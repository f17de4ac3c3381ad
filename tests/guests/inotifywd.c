/* inotify watches and their numbers across a snapshot: watches on three files of directory
 * argv[1] (the third one-shot), the second removed, then "ready". For each input line: one
 * write to each file, the events read (number and mask; the one-shot watch fires once, then
 * ends with IN_IGNORED), and a new watch on the second file, whose number is the next the
 * host gives (Linux numbers upwards from the last given, never reusing one).
 * argv[2] "unread": an event is left queued after "ready"; "shared": a child process holds
 * the watcher too (both are refused by a snapshot); "loop": after "ready", adds and removes
 * a watch for ever (each add is made by picobox's monitor, the library OS's lock held). */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static char path[3][4096];

static void touch(int n) {
    int fd = open(path[n], O_WRONLY | O_APPEND);
    if (fd < 0 || write(fd, "x", 1) != 1) perror("write");
    close(fd);
}

/* Prints the events queued now (waits up to 1 s for the first). */
static void drain(int in) {
    char buf[4096] __attribute__((aligned(8)));
    struct pollfd p = {in, POLLIN, 0};
    int timeout = 1000;
    while (poll(&p, 1, timeout) == 1) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0) break;
        for (char *at = buf; at < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)at;
            printf("event wd=%d mask=%#x\n", e->wd, e->mask);
            at += sizeof *e + e->len;
        }
        timeout = 100;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/watched%d", argv[1], i);
        close(open(path[i], O_CREAT | O_WRONLY | O_TRUNC, 0644));
    }
    int in = inotify_init1(IN_CLOEXEC);
    int a = inotify_add_watch(in, path[0], IN_MODIFY);
    int b = inotify_add_watch(in, path[1], IN_MODIFY);
    int c = inotify_add_watch(in, path[2], IN_MODIFY | IN_ONESHOT);
    inotify_rm_watch(in, b);
    printf("watches %d %d %d\n", a, b, c);
    drain(in); /* b's IN_IGNORED */
    if (argc > 2 && strcmp(argv[2], "unread") == 0) {
        touch(0);
    } else if (argc > 2 && strcmp(argv[2], "shared") == 0) {
        /* The child waits for the parent's end of a pipe to close: until the parent ends. */
        int p[2];
        if (pipe(p) != 0) return 1;
        fflush(stdout);
        if (fork() == 0) {
            char c;
            close(p[1]);
            while (read(p[0], &c, 1) > 0) {}
            _exit(0);
        }
        close(p[0]);
    }
    printf("ready\n");
    fflush(stdout);
    if (argc > 2 && strcmp(argv[2], "loop") == 0) {
        /* A new watcher every 1000 watches, so that the numbers stay low. */
        char buf[4096];
        for (int n = 0;; n++) {
            if (n % 1000 == 0) {
                close(in);
                in = inotify_init1(IN_NONBLOCK);
            }
            inotify_rm_watch(in, inotify_add_watch(in, path[1], IN_MODIFY));
            while (read(in, buf, sizeof buf) > 0) {}
        }
    }
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        for (int i = 0; i < 3; i++) touch(i);
        drain(in);
        int again = inotify_add_watch(in, path[1], IN_MODIFY);
        printf("new watch %d\n", again);
        touch(1);
        drain(in);
        fflush(stdout);
    }
    printf("end\n");
    return 0;
}
