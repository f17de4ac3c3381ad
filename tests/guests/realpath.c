/* readlink and realpath of each path given (realpath is built on readlink). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char buf[256];
        ssize_t n = readlink(argv[i], buf, sizeof buf);
        char *real = realpath(argv[i], NULL);
        printf("%s: readlink %s, realpath %s\n", argv[i], n < 0 ? strerror(errno) : "a link",
               real ? real : strerror(errno));
    }
    return 0;
}
