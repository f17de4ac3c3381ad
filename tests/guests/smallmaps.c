/* Many one-page mappings placed by the kernel (no address asked for), of a file and
 * anonymous, each then protected and unmapped: every one is the program's, wherever the host
 * put it (a hole between the runtime's segments must not be offered). Prints how many of
 * each call failed. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define COUNT 512

int main(int argc, char **argv) {
    int fd = open(argv[0], O_RDONLY);
    if (fd < 0) return 2;
    static void *maps[COUNT];
    int map_failed = 0, protect_failed = 0, unmap_failed = 0;
    for (int i = 0; i < COUNT; i++) {
        int anonymous = i % 2;
        maps[i] = mmap(NULL, 3, PROT_READ, MAP_PRIVATE | (anonymous ? MAP_ANONYMOUS : 0),
                       anonymous ? -1 : fd, 0);
        if (maps[i] == MAP_FAILED) map_failed++;
    }
    for (int i = 0; i < COUNT; i++) {
        if (maps[i] == MAP_FAILED) continue;
        if (mprotect(maps[i], 4096, PROT_READ | PROT_WRITE) != 0) protect_failed++;
        if (munmap(maps[i], 3) != 0) unmap_failed++;
    }
    printf("mapped %d: map failed %d, protect failed %d, unmap failed %d\n", COUNT, map_failed,
           protect_failed, unmap_failed);
    (void)argc;
    return 0;
}
