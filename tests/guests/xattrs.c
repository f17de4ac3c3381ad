/* Extended attributes and SEEK_DATA/SEEK_HOLE on files of a writable bind, printed so that a
 * native run and a boxed run can be compared line by line. Run in an empty writable
 * directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%-48s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%-48s = %ld\n", what, r);
}
#define CHECK(expr) show(#expr, (long)(expr))

/* Prints the user.* names of a list (others, such as security.*, depend on the host). */
static void names(const char *what, const char *list, long n) {
    printf("%s:", what);
    for (long i = 0; i < n; i += strlen(list + i) + 1)
        if (!strncmp(list + i, "user.", 5))
            printf(" %s", list + i);
    printf("\n");
}

int main(void) {
    char buf[256], list[4096];
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fd, "hello world\n", 12));
    CHECK(setxattr("f", "user.a", "one", 3, XATTR_CREATE));
    CHECK(setxattr("f", "user.a", "uno", 3, XATTR_CREATE));
    CHECK(setxattr("f", "user.b", "two", 3, XATTR_REPLACE));
    CHECK(setxattr("f", "user.b", "two", 3, 0));
    CHECK(setxattr("f", "user.b", "two", 3, 4));
    CHECK(setxattr("f", "", "x", 1, 0));
    CHECK(setxattr("f", "nonamespace", "x", 1, 0));
    CHECK(setxattr("f", "user.big", buf, 65537, 0));
    CHECK(setxattr("missing", "user.a", "x", 1, 0));
    CHECK(setxattr("f/x", "user.a", "x", 1, 0));
    CHECK(getxattr("f", "user.a", NULL, 0));
    memset(buf, 0, sizeof buf);
    CHECK(getxattr("f", "user.a", buf, sizeof buf));
    printf("user.a = %s\n", buf);
    CHECK(getxattr("f", "user.a", buf, 2));
    CHECK(getxattr("f", "user.none", buf, sizeof buf));
    CHECK(getxattr("f", "user.a", (void *)8, 3));
    long n = listxattr("f", list, sizeof list);
    names("list", list, n);
    CHECK(fsetxattr(fd, "user.c", "three", 5, 0));
    memset(buf, 0, sizeof buf);
    CHECK(fgetxattr(fd, "user.c", buf, sizeof buf));
    printf("user.c = %s\n", buf);
    n = flistxattr(fd, list, sizeof list);
    names("flist", list, n);
    CHECK(fremovexattr(fd, "user.c"));
    CHECK(fremovexattr(fd, "user.c"));
    CHECK(removexattr("f", "user.b"));
    n = listxattr("f", list, sizeof list);
    names("list", list, n);
    CHECK(fgetxattr(99, "user.a", buf, sizeof buf));
    int path = open("f", O_PATH);
    CHECK(fgetxattr(path, "user.a", buf, sizeof buf));
    CHECK(fsetxattr(path, "user.a", "x", 1, 0));

    /* Directories have them; links and pipes may not take user.* ones. */
    CHECK(mkdir("d", 0755));
    CHECK(setxattr("d", "user.dir", "yes", 3, 0));
    CHECK(getxattr("d", "user.dir", buf, sizeof buf));
    CHECK(symlink("f", "l"));
    CHECK(lsetxattr("l", "user.a", "x", 1, 0));
    CHECK(lgetxattr("l", "user.a", buf, sizeof buf));
    CHECK(getxattr("l", "user.a", buf, sizeof buf));
    n = llistxattr("l", list, sizeof list);
    names("llist", list, n);
    int p[2];
    CHECK(pipe(p));
    CHECK(fsetxattr(p[0], "user.a", "x", 1, 0));
    CHECK(fgetxattr(p[0], "user.a", buf, sizeof buf));

    /* A file without read permission: user.* needs it to read, and write permission to set. */
    CHECK(chmod("f", 0200));
    if (geteuid() != 0) {
        CHECK(getxattr("f", "user.a", buf, sizeof buf));
        CHECK(setxattr("f", "user.w", "x", 1, 0));
    }
    CHECK(chmod("f", 0644));

    /* Data and holes: a file is data up to its end, where a hole starts. */
    CHECK(lseek(fd, 0, SEEK_DATA));
    CHECK(lseek(fd, 3, SEEK_DATA));
    CHECK(lseek(fd, 0, SEEK_HOLE));
    CHECK(lseek(fd, 12, SEEK_DATA));
    CHECK(lseek(fd, 100, SEEK_HOLE));
    CHECK(lseek(fd, -1, SEEK_DATA));
    CHECK(lseek(fd, 0, 5));
    int sparse = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(ftruncate(sparse, 1 << 20));
    CHECK(pwrite(sparse, "x", 1, 1 << 19));
    CHECK(lseek(sparse, 0, SEEK_DATA));
    CHECK(lseek(sparse, 1 << 19, SEEK_HOLE));
    int proc = open("/proc/self/status", O_RDONLY);
    CHECK(lseek(proc, 0, SEEK_DATA));
    return 0;
}
