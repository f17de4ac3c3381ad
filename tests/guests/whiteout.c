/* A whiteout across a snapshot: in the directory it is given, it moves a file with
 * renameat2(RENAME_WHITEOUT), which leaves a character device numbered 0, 0 in its place,
 * and says what is at both names, before and after one input line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void show(const char *name) {
    struct stat st;
    if (lstat(name, &st) != 0) {
        printf("%s: %s\n", name, strerror(errno));
    } else if (S_ISCHR(st.st_mode)) {
        printf("%s: character device %u:%u, mode %o\n", name, major(st.st_rdev),
               minor(st.st_rdev), st.st_mode & 07777);
    } else {
        printf("%s: %s of %lld bytes\n", name, S_ISREG(st.st_mode) ? "file" : "other",
               (long long)st.st_size);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) return 2;
    int fd = open("moved", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "data", 4) != 4 || close(fd) != 0) return 3;
    if (renameat2(AT_FDCWD, "moved", AT_FDCWD, "kept", RENAME_WHITEOUT) != 0) {
        printf("renameat2: %s\n", strerror(errno));
        return 4;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    show("moved");
    show("kept");
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 5;
    show("moved");
    show("kept");
    return 0;
}
