/* Record locks between processes (POSIX, open-file and flock), as sqlite3 and friends rely on:
 * a second writer must be refused or made to wait. Prints what each process saw. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int lock(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static const char *err(int r) { return r == 0 ? "ok" : errno == EAGAIN ? "EAGAIN" : errno == EACCES ? "EACCES" : errno == EWOULDBLOCK ? "EWOULDBLOCK" : strerror(errno); }

int main(void) {
    int fd = open("lockfile", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror("open"); return 1; }
    printf("parent write lock 0..10: %s\n", err(lock(fd, F_SETLK, F_WRLCK, 0, 10)));
    fflush(stdout);
    pid_t parent = getpid();
    if (fork() == 0) {
        int c = open("lockfile", O_RDWR);
        printf("child write lock 0..10: %s\n", err(lock(c, F_SETLK, F_WRLCK, 0, 10)));
        printf("child read lock 5..6: %s\n", err(lock(c, F_SETLK, F_RDLCK, 5, 1)));
        printf("child write lock 10..20: %s\n", err(lock(c, F_SETLK, F_WRLCK, 10, 10)));
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        fcntl(c, F_GETLK, &q);
        printf("child sees: %s held by the parent: %s, range %ld+%ld\n",
               q.l_type == F_WRLCK ? "write lock" : "no lock", q.l_pid == parent ? "yes" : "no",
               (long)q.l_start, (long)q.l_len);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    fflush(stdout);
    if (fork() == 0) {
        int c = open("lockfile", O_RDWR);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int r = lock(c, F_SETLKW, F_WRLCK, 0, 10);
        clock_gettime(CLOCK_MONOTONIC, &b);
        long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        printf("child waited for the lock: %s, %s\n", err(r), ms >= 90 ? "after the parent let go" : "too early");
        fflush(stdout);
        _exit(0);
    }
    usleep(150000);
    lock(fd, F_SETLK, F_UNLCK, 0, 10);
    wait(NULL);
    fflush(stdout);

    printf("parent flock exclusive: %s\n", err(flock(fd, LOCK_EX)));
    fflush(stdout);
    if (fork() == 0) {
        int c = open("lockfile", O_RDWR);
        printf("child flock exclusive, no wait: %s\n", err(flock(c, LOCK_EX | LOCK_NB)));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    flock(fd, LOCK_UN);

    int o1 = open("lockfile", O_RDWR), o2 = open("lockfile", O_RDWR);
    printf("open-file lock on one description: %s\n", err(lock(o1, F_OFD_SETLK, F_WRLCK, 0, 0)));
    printf("the same range on another description: %s\n", err(lock(o2, F_OFD_SETLK, F_WRLCK, 0, 0)));
    int ro = open("lockfile", O_RDONLY);
    printf("write lock on a read-only descriptor: %s\n", lock(ro, F_SETLK, F_WRLCK, 100, 1) < 0 && errno == EBADF ? "EBADF" : "other");
    /* Closing any descriptor of the file, a dup included, releases the process's record
     * locks on it: a child can take the range at once. */
    int held = open("lockfile", O_RDWR);
    lock(held, F_SETLK, F_WRLCK, 200, 10);
    int copy = dup(held);
    close(copy);
    pid_t child = fork();
    if (child == 0) {
        int mine = open("lockfile", O_RDWR);
        _exit(lock(mine, F_SETLK, F_WRLCK, 200, 10) == 0 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    printf("after closing a dup, the range is free: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink("lockfile");
    return 0;
}
