/* statfs, fstatfs and statvfs of each path given: file system type and read-only flag, as
 * test harnesses check their temporary directory's. Then the errors Linux gives. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        struct statfs s;
        struct statvfs v;
        if (statfs(argv[i], &s) || statvfs(argv[i], &v)) {
            printf("%s: %s\n", argv[i], strerror(errno));
            continue;
        }
        int fd = open(argv[i], O_RDONLY);
        struct statfs f;
        int same = fd >= 0 && fstatfs(fd, &f) == 0 && f.f_type == s.f_type;
        printf("%s: type %#lx read-only %d names %lu fstatfs agrees %d\n", argv[i], (long)s.f_type,
               (v.f_flag & ST_RDONLY) != 0, v.f_namemax, same);
    }
    int p[2];
    struct statfs s;
    pipe(p);
    printf("pipe: %#lx\n", fstatfs(p[0], &s) ? 0L : (long)s.f_type);
    printf("bad buffer: %s\n", statfs("/", (void *)8) ? strerror(errno) : "ok");
    printf("bad descriptor: %s\n", fstatfs(999, &s) ? strerror(errno) : "ok");
    return 0;
}
