/* /proc/self/maps as the program changes its memory: protections (mprotect splits a range),
 * private and shared mappings, the heap and the stack. Prints what it finds in a fixed order
 * (where the ranges lie is the host's choice). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    char *p = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + 4096, 4096, PROT_READ);
    char *s = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *n = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *grow = malloc(100000);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    char out[8][64] = {{0}};
    int executable = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perm[5];
        if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) != 3) continue;
        unsigned long base = (unsigned long)p;
        if (a >= base && a < base + 3 * 4096 && (a - base) / 4096 < 3)
            snprintf(out[(a - base) / 4096], 64, "private +%lu..+%lu: %s", (a - base) / 4096,
                     (b - base) / 4096, perm);
        if (a == (unsigned long)s) snprintf(out[3], 64, "shared: %s", perm);
        if (a == (unsigned long)n) snprintf(out[4], 64, "no access: %s", perm);
        if (strstr(line, "[heap]")) snprintf(out[5], 64, "heap: %s", perm);
        if (strstr(line, "[stack]")) snprintf(out[6], 64, "stack: %s", perm);
        if (perm[2] == 'x') executable++;
    }
    for (int i = 0; i < 7; i++)
        if (out[i][0]) printf("%s\n", out[i]);
    printf("executable ranges: %d\n", executable > 0);
    free(grow);
    return 0;
}
