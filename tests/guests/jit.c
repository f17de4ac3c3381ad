/* Memory a program writes and then executes, as JIT compilers use it: writable and executable
 * at once, toggled with mprotect, and one shared file mapped twice (writable and executable).
 * picobox does not claim W^X (docs/threat-model.md): this runs as on Linux. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const unsigned char ret42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax,42; ret */

static int call(void *code) { return ((int (*)(void))code)(); }

int main(void) {
    void *rwx = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED) { perror("mmap rwx"); return 1; }
    memcpy(rwx, ret42, sizeof ret42);
    printf("rwx mapping: %d\n", call(rwx));

    void *rw = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(rw, ret42, sizeof ret42);
    if (mprotect(rw, 4096, PROT_READ | PROT_EXEC)) { perror("mprotect rx"); return 1; }
    printf("toggled to rx: %d\n", call(rw));
    if (mprotect(rw, 4096, PROT_READ | PROT_WRITE | PROT_EXEC)) { perror("mprotect rwx"); return 1; }
    ((unsigned char *)rw)[1] = 7;
    printf("toggled to rwx: %d\n", call(rw));

    int fd = open("jit-code", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096)) { perror("code file"); return 1; }
    unsigned char *w = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void *x = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (w == MAP_FAILED || x == MAP_FAILED) { perror("double mapping"); return 1; }
    memcpy(w, ret42, sizeof ret42);
    w[1] = 9;
    printf("double mapping: %d\n", call(x));
    unlink("jit-code");
    return 0;
}
