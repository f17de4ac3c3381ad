/* A program that reserves 64 TiB of address space it never touches (as sanitizers and some
 * language runtimes reserve their heaps or shadows), and a written page beside it; answers
 * each input line with the page's byte. */
#include <stdio.h>
#include <sys/mman.h>

int main(void) {
    void *reserved = mmap(0, (size_t)64 << 40, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *page = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED || page == MAP_FAILED) return 1;
    page[0] = 'k';
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[16];
    while (fgets(line, sizeof line, stdin)) printf("still %c\n", page[0]);
    return 0;
}
