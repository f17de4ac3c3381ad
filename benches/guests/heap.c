/* A program with N MiB of touched heap (pseudo-random bytes, which do not compress), for the
 * snapshot benchmarks: prints "ready", then answers each input line with a sum over one byte
 * of every page ("pause" as second argument: sleeps instead, for peers without a pipe). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t bytes = (argc > 1 ? strtoul(argv[1], 0, 10) : 10) << 20;
    uint64_t *heap = malloc(bytes);
    if (!heap) return 1;
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < bytes / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        heap[i] = x;
    }
    printf("ready\n");
    fflush(stdout);
    if (argc > 2 && strcmp(argv[2], "pause") == 0)
        for (;;) pause();
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        uint64_t sum = 0;
        for (size_t i = 0; i < bytes / 8; i += 512) sum += heap[i];
        printf("ok %llu\n", (unsigned long long)(sum & 0xffff));
        fflush(stdout);
    }
    return 0;
}
