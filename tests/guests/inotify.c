/* inotify: watches on files and directories of the working directory, the events their
 * changes queue (with names, cookies that pair a rename, IN_IGNORED when a watch ends),
 * IN_ONESHOT, IN_MASK_ADD/IN_MASK_CREATE, IN_ONLYDIR, IN_DONT_FOLLOW, the flags of
 * inotify_init1, poll, FIONREAD, a watcher shared with a child, and Linux's refusals. Prints
 * one line per event or check; run natively and in a box in an empty writable directory, the
 * outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int wd_file, wd_dir;

static const char *wd_name(int wd) {
    if (wd == wd_file) return "file";
    if (wd == wd_dir) return "dir";
    return "other";
}

/* Prints every queued event, without blocking. Cookies print as "pair" when two events
 * share one (a rename), so that their values, which differ between runs, do not. */
static void drain(int fd, const char *what) {
    char buf[4096] __attribute__((aligned(8)));
    unsigned last_cookie = 0;
    printf("%s:", what);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno != EAGAIN) printf(" read:%s", strerror(errno));
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf(" %s:%#x", wd_name(e->wd), e->mask);
            if (e->len) printf(":%s", e->name);
            if (e->cookie) {
                printf(last_cookie == e->cookie ? ":pair" : ":cookie");
                last_cookie = e->cookie;
            }
            p += sizeof *e + e->len;
        }
    }
    printf("\n");
}

/* Prints a call's result, and its error when it failed (evaluated after the call). */
static void show(const char *what, int r) {
    printf("%s: %d %s\n", what, r < 0 ? -1 : r, r < 0 ? strerror(errno) : "");
}

static void refusals(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    show("init1 bad flags", inotify_init1(0x1));
    errno = 0;
    show("add no bits", inotify_add_watch(fd, ".", 0));
    errno = 0;
    show("add and create", inotify_add_watch(fd, ".", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    errno = 0;
    show("bad fd", inotify_add_watch(-1, ".", IN_MODIFY));
    errno = 0;
    show("not a watcher", inotify_add_watch(1, ".", IN_MODIFY));
    errno = 0;
    show("missing", inotify_add_watch(fd, "nothing-here", IN_MODIFY));
    errno = 0;
    show("bad pointer", inotify_add_watch(fd, (char *)8, IN_MODIFY));
    errno = 0;
    close(open("plain", O_CREAT | O_WRONLY, 0644));
    show("onlydir on a file", inotify_add_watch(fd, "plain", IN_MODIFY | IN_ONLYDIR));
    errno = 0;
    show("rm unknown", inotify_rm_watch(fd, 12345));
    errno = 0;
    show("rm not a watcher", inotify_rm_watch(1, 1));
    chmod("plain", 0);
    errno = 0;
    int r = inotify_add_watch(fd, "plain", IN_MODIFY);
    /* root reads anything: the check is only visible to others */
    printf("unreadable: %s\n", getuid() == 0 ? "root" : r < 0 ? strerror(errno) : "watched");
    unlink("plain");
    int wd = inotify_add_watch(fd, ".", IN_MODIFY);
    errno = 0;
    show("create twice", inotify_add_watch(fd, ".", IN_MODIFY | IN_MASK_CREATE));
    printf("same again: %s\n", inotify_add_watch(fd, ".", IN_MODIFY) == wd ? "same wd" : "new wd");
    close(fd);
}

int main(void) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        perror("inotify_init1");
        return 1;
    }
    printf("flags: cloexec %d nonblock %d\n", !!(fcntl(fd, F_GETFD) & FD_CLOEXEC),
           !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    mkdir("d", 0755);
    int f = open("d/f", O_CREAT | O_RDWR, 0644);
    wd_dir = inotify_add_watch(fd, "d", IN_ALL_EVENTS);
    wd_file = inotify_add_watch(fd, "d/f", IN_MODIFY | IN_ACCESS | IN_CLOSE | IN_ATTRIB);
    printf("watches: %s %s\n", wd_dir > 0 ? "ok" : strerror(errno), wd_file > 0 ? "ok" : strerror(errno));

    struct pollfd p = {.fd = fd, .events = POLLIN};
    printf("poll before: %d\n", poll(&p, 1, 0));
    write(f, "hello", 5);
    int ready = poll(&p, 1, 0);
    printf("poll after: %d %#x\n", ready, p.revents);
    int queued = 0;
    ioctl(fd, FIONREAD, &queued);
    printf("fionread: %d\n", queued);
    drain(fd, "write");

    char c;
    pread(f, &c, 1, 0);
    fchmod(f, 0600);
    close(f);
    drain(fd, "read chmod close");

    close(open("d/g", O_CREAT | O_WRONLY, 0644));
    rename("d/g", "d/h");
    unlink("d/h");
    mkdir("d/sub", 0755);
    rmdir("d/sub");
    drain(fd, "create rename unlink mkdir rmdir");

    printf("rm file watch: %d\n", inotify_rm_watch(fd, wd_file));
    drain(fd, "after rm");

    /* IN_ONESHOT: one event, then the watch ends by itself. */
    int one = inotify_add_watch(fd, "d", IN_CREATE | IN_ONESHOT);
    wd_dir = one;
    close(open("d/x", O_CREAT | O_WRONLY, 0644));
    close(open("d/y", O_CREAT | O_WRONLY, 0644));
    drain(fd, "oneshot");

    /* IN_MASK_ADD adds to a watch's mask; without it, the mask is replaced. */
    wd_dir = inotify_add_watch(fd, "d", IN_DELETE);
    printf("mask add same wd: %d\n", inotify_add_watch(fd, "d", IN_CREATE | IN_MASK_ADD) == wd_dir);
    close(open("d/z", O_CREAT | O_WRONLY, 0644));
    unlink("d/z");
    drain(fd, "mask add");

    /* IN_DONT_FOLLOW watches the link, not its target. */
    symlink("d/x", "link");
    int l = inotify_add_watch(fd, "link", IN_ATTRIB | IN_DONT_FOLLOW);
    int t = inotify_add_watch(fd, "link", IN_ATTRIB);
    printf("link and target differ: %d\n", l != t && l > 0 && t > 0);

    /* A child shares the watcher. */
    wd_dir = inotify_add_watch(fd, "d", IN_CREATE);
    pid_t pid = fork();
    if (pid == 0) {
        close(open("d/from-child", O_CREAT | O_WRONLY, 0644));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    drain(fd, "child");

    /* The watched directory goes: IN_DELETE_SELF, then IN_IGNORED. */
    unlink("d/x");
    unlink("d/y");
    unlink("d/f");
    unlink("d/from-child");
    drain(fd, "emptied");
    rmdir("d");
    drain(fd, "rmdir");
    unlink("link");
    close(fd);

    /* A blocking read waits for the event. */
    fd = inotify_init();
    mkdir("e", 0755);
    wd_dir = inotify_add_watch(fd, "e", IN_CREATE);
    pid = fork();
    if (pid == 0) {
        usleep(100000);
        close(open("e/late", O_CREAT | O_WRONLY, 0644));
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(fd, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("blocking read: %zd %s %#x %s\n", n > 0 ? (ssize_t)1 : n, wd_name(e->wd), e->mask, e->name);
    waitpid(pid, NULL, 0);
    unlink("e/late");
    rmdir("e");
    close(fd);

    refusals();
    return 0;
}
