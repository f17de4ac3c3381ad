/* /proc/self/maps as the program changes its memory: protections (mprotect splits a range),
 * private and shared mappings, the heap and the stack. Prints what it finds in a fixed order
 * (where the ranges lie is the host's choice). File mappings and PROCMAP_QUERY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Linux 6.11's, which Debian 12's headers lack. */
struct procmap_query {
    unsigned long long size, query_flags, query_addr, vma_start, vma_end, vma_flags,
        vma_page_size, vma_offset, inode;
    unsigned dev_major, dev_minor, vma_name_size, build_id_size;
    unsigned long long vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_WRITABLE 0x02

/* A file mapping: its line names the file, its offset, device and inode; the program's own
 * image names the program; PROCMAP_QUERY answers as the file does. */
static void files(void) {
    int fd = open("mapped.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(fd, 3 * 4096);
    char *m = mmap(0, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    struct stat st;
    fstat(fd, &st);
    char exe[256] = "";
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int exe_named = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, off, ino;
        unsigned maj, min;
        char perm[5], name[256] = "";
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %255s", &a, &b, perm, &off, &maj, &min, &ino, name) < 7)
            continue;
        if (a == (unsigned long)m)
            printf("file mapping: %s offset %lx, same device %d, same inode %d, named %d, pages %lu\n",
                   perm, off, maj == major(st.st_dev) && min == minor(st.st_dev), ino == st.st_ino,
                   strlen(name) >= 11 && !strcmp(name + strlen(name) - 11, "/mapped.bin"), (b - a) / 4096);
        if (!strcmp(name, exe)) exe_named = 1;
    }
    fclose(f);
    printf("the program's image is named: %d\n", exe_named);
    int maps = open("/proc/self/maps", O_RDONLY);
    struct procmap_query q = {.size = sizeof q, .query_addr = (unsigned long)m + 4096};
    char name[256];
    q.vma_name_addr = (unsigned long)name;
    q.vma_name_size = sizeof name;
    int r = ioctl(maps, PROCMAP_QUERY, &q);
    printf("PROCMAP_QUERY: %d, start matches %d, flags %llx, offset %llx, same inode %d, name size %u\n",
           r, q.vma_start == (unsigned long)m, (unsigned long long)q.vma_flags,
           (unsigned long long)q.vma_offset, q.inode == st.st_ino, q.vma_name_size == strlen(name) + 1);
    struct procmap_query w = {.size = sizeof w, .query_addr = (unsigned long)m,
                              .query_flags = PROCMAP_QUERY_VMA_WRITABLE};
    errno = 0;
    r = ioctl(maps, PROCMAP_QUERY, &w);
    printf("PROCMAP_QUERY writable over a read-only range: %d errno %d\n", r, errno);
    struct procmap_query z = {.size = 8};
    errno = 0;
    r = ioctl(maps, PROCMAP_QUERY, &z);
    printf("PROCMAP_QUERY too small: %d errno %d\n", r, errno);
    struct procmap_query small = {.size = sizeof small, .query_addr = (unsigned long)m,
                                  .vma_name_addr = (unsigned long)name, .vma_name_size = 2};
    errno = 0;
    r = ioctl(maps, PROCMAP_QUERY, &small);
    printf("PROCMAP_QUERY name too long: %d errno %d\n", r, errno);
    close(maps);
    munmap(m, 2 * 4096);
    close(fd);
}

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
    files();
    return 0;
}
