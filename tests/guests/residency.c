/* Which pages are in memory: mincore after touching, mlock, mlock2(MLOCK_ONFAULT),
 * MAP_POPULATE, MADV_POPULATE_* and MADV_DONTNEED; /proc/self/smaps's sizes of a mapping and
 * /proc/self/pagemap's present bits. Each line is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 16
static long page;

static void residency(const char *what, char *p) {
    unsigned char vec[PAGES];
    if (mincore(p, PAGES * page, vec)) {
        printf("%s: mincore %s\n", what, strerror(errno));
        return;
    }
    printf("%s: ", what);
    for (int i = 0; i < PAGES; i++) putchar(vec[i] & 1 ? '1' : '0');
    putchar('\n');
}

/* The smaps fields of the mapping at p that a native run reproduces. */
static void smaps(const char *what, char *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) {
        printf("%s: smaps %s\n", what, strerror(errno));
        return;
    }
    char line[256];
    int in = 0;
    printf("%s:", what);
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
            if (in) break;
            in = start == (unsigned long)p;
            continue;
        }
        if (!in) continue;
        const char *keep[] = {"Size:", "Rss:", "Pss:", "Private_Dirty:", "Anonymous:", "Locked:"};
        for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
            if (strncmp(line, keep[i], strlen(keep[i])) == 0) {
                unsigned long kb;
                sscanf(line + strlen(keep[i]), "%lu", &kb);
                printf(" %s%lu", keep[i], kb);
            }
        }
        if (strncmp(line, "VmFlags:", 8) == 0) printf(" locked:%d", strstr(line, " lo") != NULL);
    }
    putchar('\n');
    fclose(f);
}

static void pagemap(const char *what, char *p) {
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) {
        printf("%s: pagemap %s\n", what, strerror(errno));
        return;
    }
    uint64_t e[PAGES];
    off_t at = (uintptr_t)p / page * 8;
    ssize_t n = pread(fd, e, sizeof e, at);
    printf("%s: read %zd, present ", what, n);
    for (int i = 0; i < PAGES && n == sizeof e; i++) putchar(e[i] >> 63 ? '1' : '0');
    printf(", file-or-shared ");
    for (int i = 0; i < PAGES && n == sizeof e; i++) putchar(e[i] >> 61 & 1 ? '1' : '0');
    putchar('\n');
    n = pread(fd, e, 8, at + 1);
    printf("unaligned offset: %s\n", n < 0 ? strerror(errno) : "read");
    n = pread(fd, e, 7, at);
    printf("unaligned count: %s\n", n < 0 ? strerror(errno) : "read");
    printf("seek to it: %d\n", lseek(fd, at, SEEK_SET) == at);
    n = read(fd, e, 8);
    printf("read at the position: %zd, present %d\n", n, (int)(e[0] >> 63));
    printf("past user memory: %zd\n", pread(fd, e, 8, 0x800000000000ULL / page * 8));
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    page = sysconf(_SC_PAGESIZE);
    size_t len = PAGES * page;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    residency("untouched", p);
    p[0] = 1;
    p[3 * page] = 1;
    residency("two written", p);
    smaps("smaps of two written", p);
    pagemap("pagemap of two written", p);
    printf("mlock: %d\n", mlock(p, len));
    residency("locked", p);
    smaps("smaps locked", p);
    munlock(p, len);
    madvise(p, len, MADV_DONTNEED);
    residency("after MADV_DONTNEED", p);
    printf("mlock2 on fault: %d\n", mlock2(p, len, MLOCK_ONFAULT));
    residency("locked on fault", p);
    munlock(p, len);
    printf("MADV_POPULATE_WRITE: %d\n", madvise(p, len / 2, MADV_POPULATE_WRITE));
    residency("half populated", p);
    munmap(p, len);

    char *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    residency("MAP_POPULATE", q);
    munmap(q, len);
    q = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    residency("MAP_LOCKED shared", q);
    pagemap("pagemap of shared", q);
    int r = madvise(q, len, MADV_POPULATE_WRITE);
    printf("MADV_POPULATE_WRITE of a read-only mapping: %s\n", r ? strerror(errno) : "ok");
    munmap(q, len);
    q = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r = mlock(q, len);
    printf("mlock of PROT_NONE: %s\n", r ? strerror(errno) : "ok");
    residency("PROT_NONE locked", q);
    r = madvise(q, len, MADV_POPULATE_READ);
    printf("MADV_POPULATE_READ of PROT_NONE: %s\n", r ? strerror(errno) : "ok");
    munmap(q, len);
    unsigned char vec[PAGES];
    r = mincore(q, len, vec);
    printf("mincore unmapped: %s\n", r ? strerror(errno) : "ok");
    return 0;
}
