/* A System V shared memory segment of N MiB (the first argument), one byte in each MiB
 * written, and a word at 4096; answers each input line with the word and how many of the
 * bytes are still written. For the snapshot of a segment larger than the monitor's own
 * memory, and of more pages than the snapshot's metadata carries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 16;
    int id = shmget(IPC_PRIVATE, mib << 20, IPC_CREAT | 0600);
    char *p = id < 0 ? (void *)-1 : shmat(id, 0, 0);
    if (p == (void *)-1) return 1;
    /* Removed while attached: it goes with the process (natively too). */
    shmctl(id, IPC_RMID, NULL);
    for (size_t i = 0; i < (mib << 20); i += 1 << 20) p[i] = 1;
    strcpy(p + 4096, "kept");
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[16];
    while (fgets(line, sizeof line, stdin)) {
        size_t marks = 0;
        for (size_t i = 0; i < (mib << 20); i += 1 << 20) marks += p[i] == 1;
        printf("segment says %s, %zu of %zu MiB marked\n", p + 4096, marks, mib);
    }
    return 0;
}
