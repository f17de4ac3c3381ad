/* execveat: a path relative to a directory descriptor, and a descriptor's own file
 * (fexecve, AT_EMPTY_PATH). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char *envp[] = {NULL};
    if (argc > 1 && !strcmp(argv[1], "relative")) {
        int dir = open("/bin", O_RDONLY | O_DIRECTORY);
        char *av[] = {"busybox", "echo", "execveat relative", NULL};
        syscall(SYS_execveat, dir, "busybox", av, envp, 0);
        perror("execveat");
        return 1;
    }
    int fd = open("/bin/busybox", O_RDONLY);
    char *av[] = {"busybox", "echo", "fexecve", NULL};
    fexecve(fd, av, envp);
    perror("fexecve");
    return 1;
}
