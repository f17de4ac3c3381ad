/* The library OS's own memory, as a program might hit it: mapping over it, unmapping,
 * protecting, discarding it, and reading into it. Linux keeps programs out of the kernel's
 * addresses the same way: each call fails, and the process keeps working. The runtime's code
 * is found through the gate's address (auxv 0x7062). Prints each answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *e(long r) {
    if (r >= 0) return "SUCCEEDED";
    switch (errno) {
    case EINVAL: return "EINVAL"; case ENOMEM: return "ENOMEM"; case EFAULT: return "EFAULT";
    default: return strerror(errno);
    }
}

int main(void) {
    uintptr_t gate = getauxval(0x7062);
    if (!gate) { printf("no gate\n"); return 2; }
    void *page = (void *)(gate & ~(uintptr_t)4095);
    void *m = mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("mmap MAP_FIXED over it: %s\n", e(m == MAP_FAILED ? -1 : 0));
    printf("munmap: %s\n", e(munmap(page, 4096)));
    printf("mprotect: %s\n", e(mprotect(page, 4096, PROT_NONE)));
    printf("madvise DONTNEED: %s\n", e(madvise(page, 4096, MADV_DONTNEED)));
    void *r = mremap(page, 4096, 8192, MREMAP_MAYMOVE);
    printf("mremap: %s\n", e(r == MAP_FAILED ? -1 : 0));
    int fd = open("/dev/zero", O_RDONLY);
    printf("read into it: %s\n", e(read(fd, page, 64)));
    struct iovec iov = {page, 64};
    printf("readv into it: %s\n", e(readv(fd, &iov, 1)));
    int p[2];
    pipe(p);
    write(p[1], "12345678", 8);
    printf("pipe read into it: %s\n", e(read(p[0], page, 8)));
    /* A range that ends inside the runtime's memory. */
    printf("a range running into it: %s\n", e(mprotect((char *)page - 16 * 4096, 17 * 4096, PROT_READ)));
    printf("still working: %s\n", write(1, "", 0) == 0 && getpid() > 0 ? "yes" : "no");
    return 0;
}
