/* Files no name reaches, across a snapshot: a memory file (memfd_create) written through its
 * descriptor and through a shared mapping of it, and files of a directory removed while
 * open: a small one held at two open file descriptions, and a large one (100000 bytes).
 * Once ready, for an input line it writes through each view of the memory file and reads
 * through the other, writes the small file on, reads it through its other description, and
 * reads the large one; then lists the directories given (after the first, which holds the
 * files), which must have no name left of them. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char chunk[100000];

static void list(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("left: %s\n", e->d_name), n++;
    printf("names left in a directory: %d\n", n);
    if (d) closedir(d);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1])) return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int m = memfd_create("pool", MFD_CLOEXEC);
    if (m < 0 || ftruncate(m, 8192) || pwrite(m, "from the descriptor", 19, 0) != 19) return 2;
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    if (p == MAP_FAILED) return 3;
    strcpy(p + 4096, "from the mapping");
    lseek(m, 5, SEEK_SET);
    int t = open("scratch", O_RDWR | O_CREAT | O_TRUNC, 0640);
    if (t < 0 || write(t, "removed but open\n", 17) != 17) return 4;
    int t2 = open("scratch", O_RDONLY);
    int big = open("big", O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < (int)sizeof chunk; i++) chunk[i] = (char)('a' + i % 26);
    if (t2 < 0 || big < 0 || write(big, chunk, sizeof chunk) != sizeof chunk) return 5;
    if (unlink("scratch") || unlink("big")) return 6;
    printf("ready\n");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 7;
    p[0] = 'F';
    char b[32] = {0};
    if (pread(m, b, 19, 0) != 19) return 8;
    printf("memory file read: %s\n", b);
    if (pwrite(m, "WRITTEN", 7, 4096) != 7) return 9;
    printf("its mapping sees: %s\n", p + 4096);
    printf("memory file offset %ld\n", (long)lseek(m, 0, SEEK_CUR));
    if (write(t, "more\n", 5) != 5) return 10;
    struct stat st;
    fstat(t, &st);
    printf("removed file: %ld bytes, %ld links, mode %o, offset %ld\n", (long)st.st_size,
           (long)st.st_nlink, st.st_mode & 0777, (long)lseek(t, 0, SEEK_CUR));
    char all[64] = {0};
    printf("its other description reads %zd: %s", read(t2, all, sizeof all - 1), all);
    char c[8] = {0};
    if (pread(big, c, 4, 99990) != 4) return 11;
    printf("large removed file: %ld bytes, at 99990: %s\n", (long)lseek(big, 0, SEEK_END), c);
    for (int i = 1; i < argc; i++) list(argv[i]);
    return 0;
}
