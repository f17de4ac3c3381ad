/* remap_file_pages: a shared mapping of a file (and of a System V segment, and of shared
 * anonymous memory) made to map other pages of the same file, what /proc/self/maps then
 * says, writes reaching the file, and Linux's refusals. Prints what it sees. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 8

static void result(const char *what, long r) {
    int e = errno;
    printf("%s: %s\n", what, r == 0 ? "ok" : strerror(e));
}

/* The first byte of each page of the window. */
static void show(const char *what, const char *window, int pages) {
    printf("%s:", what);
    for (int i = 0; i < pages; i++) printf(" %d", window[i * PAGE]);
    printf("\n");
}

/* The offsets /proc/self/maps gives the window's pages. */
static void offsets(const char *window) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    printf("maps:");
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end, offset;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %lx", &start, &end, perms, &offset) != 4) continue;
        if (start >= (unsigned long)window && end <= (unsigned long)window + PAGES * PAGE)
            printf(" [%lu..%lu) %s @%lu", (start - (unsigned long)window) / PAGE,
                   (end - (unsigned long)window) / PAGE, perms, offset / PAGE);
    }
    printf("\n");
    fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("remap-data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    static char page[PAGE];
    for (int i = 0; i < PAGES; i++) {
        memset(page, 10 + i, PAGE);
        write(fd, page, PAGE);
    }
    char *window = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    show("before", window, PAGES);

    result("remap page 0 to 5", syscall(SYS_remap_file_pages, window, PAGE, 0, 5, 0));
    result("remap pages 2-3 to 6-7", syscall(SYS_remap_file_pages, window + 2 * PAGE + 100,
                                             2 * PAGE, 0, 6, 0));
    show("after", window, PAGES);
    offsets(window);
    window[0] = 99;
    char byte;
    pread(fd, &byte, 1, 5 * PAGE);
    printf("a write through page 0 reaches page 5 of the file: %d\n", byte);

    pid_t child = fork();
    if (child == 0) {
        show("the child's", window, PAGES);
        _exit(0);
    }
    waitpid(child, NULL, 0);

    result("prot", syscall(SYS_remap_file_pages, window, PAGE, PROT_READ, 1, 0));
    result("flags", syscall(SYS_remap_file_pages, window, PAGE, 0, 1, MAP_FIXED));
    result("MAP_NONBLOCK", syscall(SYS_remap_file_pages, window, PAGE, 0, 1, MAP_NONBLOCK));
    result("size 0", syscall(SYS_remap_file_pages, window, 0, 0, 1, 0));
    result("wrapping", syscall(SYS_remap_file_pages, window, -PAGE, 0, 0, 0));
    result("pgoff wraps", syscall(SYS_remap_file_pages, window, 2 * PAGE, 0, -1L, 0));
    result("past the mapping", syscall(SYS_remap_file_pages, window + 7 * PAGE, 2 * PAGE, 0, 0, 0));
    result("unmapped", syscall(SYS_remap_file_pages, (void *)0x10000, PAGE, 0, 0, 0));
    char *private = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    result("private", syscall(SYS_remap_file_pages, private, PAGE, 0, 1, 0));
    char *anon = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++) anon[i * PAGE] = 20 + i;
    result("shared anonymous", syscall(SYS_remap_file_pages, anon, PAGE, 0, 3, 0));
    show("shared anonymous", anon, 4);

    int id = shmget(IPC_PRIVATE, 4 * PAGE, IPC_CREAT | 0600);
    char *segment = shmat(id, NULL, 0);
    for (int i = 0; i < 4; i++) segment[i * PAGE] = 30 + i;
    result("segment", syscall(SYS_remap_file_pages, segment, 2 * PAGE, 0, 2, 0));
    show("segment", segment, 4);
    shmctl(id, IPC_RMID, NULL);
    long r = syscall(SYS_remap_file_pages, segment, PAGE, 0, 0, 0);
    printf("segment once removed: %s\n", r == 0 ? "ok" : (errno == EIDRM || errno == EINVAL) ? "EIDRM or EINVAL" : strerror(errno));
    unlink("remap-data");
    return 0;
}
