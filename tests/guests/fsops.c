/* File-system and process-state behaviour, printed so that a native run and a boxed run can
 * be compared line by line. Run in an empty writable directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define CHECK(expr) do { long r_ = (long)(expr); printf("%-40s = %ld%s%s\n", #expr, r_ < 0 ? -1L : r_, r_ < 0 ? " errno=" : "", r_ < 0 ? strerror(errno) : ""); } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
    char buf[256];
    int fd = open("f.txt", O_RDWR | O_CREAT | O_TRUNC, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello world\n", 12));
    CHECK(pwrite(fd, "HELLO", 5, 0));
    CHECK(lseek(fd, 0, SEEK_CUR));
    CHECK(lseek(fd, 6, SEEK_SET));
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, 100));
    printf("read: %s", buf);
    CHECK(pread(fd, buf, 5, 0));
    printf("pread: %.5s\n", buf);
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    CHECK(writev(fd, iov, 2));
    struct stat st;
    CHECK(fstat(fd, &st));
    printf("size=%ld mode=%o nlink=%ld\n", (long)st.st_size, st.st_mode, (long)st.st_nlink);
    CHECK(ftruncate(fd, 3));
    CHECK(fstat(fd, &st));
    printf("size after truncate=%ld\n", (long)st.st_size);
    int fd2 = dup(fd);
    CHECK(fd2 > fd);
    CHECK(dup2(fd, 20));
    CHECK(fcntl(20, F_GETFD));
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC));
    CHECK(fcntl(fd, F_GETFD));
    CHECK(fcntl(fd, F_GETFL) & O_ACCMODE);
    CHECK(close(20));
    CHECK(close(20));
    CHECK(read(999, buf, 1));
    CHECK(write(fd, (void *)1, 10));
    void *m = mmap(0, 3, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED);
    printf("mapped: %.3s\n", (char *)m);
    CHECK(munmap(m, 3));
    CHECK(mkdir("dir", 0755));
    CHECK(mkdir("dir", 0755));
    CHECK(mkdir("dir/sub", 0700));
    CHECK(rename("f.txt", "dir/g.txt"));
    CHECK(stat("f.txt", &st));
    CHECK(stat("dir/g.txt", &st));
    CHECK(symlink("dir/g.txt", "link"));
    CHECK(lstat("link", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat("link", &st) == 0 && S_ISREG(st.st_mode));
    memset(buf, 0, sizeof buf);
    CHECK(readlink("link", buf, sizeof buf));
    printf("link -> %s\n", buf);
    CHECK(symlink("/nonexistent/x", "dangling"));
    CHECK(open("dangling", O_RDONLY));
    CHECK(open("link", O_RDONLY | O_NOFOLLOW));
    CHECK(access("dir/g.txt", R_OK | W_OK));
    CHECK(access("missing", F_OK));
    CHECK(chdir("dir/sub"));
    char *cwd = getcwd(buf, sizeof buf);
    printf("cwd ends with dir/sub: %d\n", cwd && strlen(cwd) >= 7 && !strcmp(cwd + strlen(cwd) - 7, "dir/sub"));
    CHECK(open("../g.txt", O_RDONLY) >= 0);
    CHECK(chdir("../.."));
    DIR *d = opendir("dir");
    char *names[16]; int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 16) names[n++] = strdup(e->d_name);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);
    CHECK(unlink("dir/g.txt"));
    CHECK(rmdir("dir"));
    CHECK(rmdir("dir/sub"));
    CHECK(rmdir("dir"));
    CHECK(umask(077));
    CHECK(umask(022));
    int z = open("/dev/zero", O_RDONLY);
    CHECK(read(z, buf, 8));
    printf("zero bytes: %d\n", buf[0] + buf[7]);
    int nul = open("/dev/null", O_WRONLY);
    CHECK(write(nul, "x", 1));
    struct utsname u;
    CHECK(uname(&u));
    printf("sysname=%s machine=%s\n", u.sysname, u.machine);
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts));
    void *b1 = sbrk(0);
    CHECK(sbrk(1 << 20) == b1);
    memset(b1, 1, 1 << 20);
    char *big = malloc(10 << 20);
    memset(big, 2, 10 << 20);
    printf("malloc ok: %d\n", big[(10 << 20) - 1]);
    return 0;
}
