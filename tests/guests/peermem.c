/* process_vm_readv and process_vm_writev between a parent and its child: pieces across
 * several iovecs on both sides, a partial copy that runs into an unmapped page, and Linux's
 * refusals. Each line is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *outcome(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long page = sysconf(_SC_PAGESIZE);
    /* Two pages, the second unmapped: the child's copy ends in a hole. */
    char *shared = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(shared + page, page);
    char *text = shared + page - 32;
    strcpy(text, "the child's own bytes, 31 long");
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    pid_t child = fork();
    if (child == 0) {
        /* The child changes its copy, so that what the parent reads is the child's. */
        text[0] = 'T';
        write(ready[1], "r", 1);
        char c;
        read(done[0], &c, 1);
        printf("child sees: %s\n", text);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);

    char a[5] = {0}, b[40] = {0};
    struct iovec local[2] = {{a, 4}, {b, sizeof b - 1}};
    struct iovec remote[2] = {{text, 10}, {text + 12, 19}};
    long r = process_vm_readv(child, local, 2, remote, 2, 0);
    printf("read: %ld [%s][%s]\n", r, a, b);

    /* Past the end of the mapping: what fits before the hole. */
    char big[64] = {0};
    struct iovec whole = {big, sizeof big};
    struct iovec over = {text, 64};
    r = process_vm_readv(child, &whole, 1, &over, 1, 0);
    printf("read into the hole: %ld [%s]\n", r, big);
    struct iovec hole = {shared + page, 8};
    r = process_vm_readv(child, &whole, 1, &hole, 1, 0);
    printf("read of the hole: %s\n", outcome(r));

    struct iovec put = {"WRITTEN", 7};
    struct iovec into = {text + 4, 7};
    r = process_vm_writev(child, &put, 1, &into, 1, 0);
    printf("write: %ld\n", r);

    /* Refusals, in Linux's order. */
    r = process_vm_readv(child, local, 2, remote, 2, 1);
    printf("flags: %s\n", outcome(r));
    r = process_vm_readv(child, local, 1025, remote, 2, 0);
    printf("too many local iovecs: %s\n", outcome(r));
    r = process_vm_readv(child, (struct iovec *)8, 1, remote, 2, 0);
    printf("bad local array: %s\n", outcome(r));
    r = process_vm_readv(child, local, 2, (struct iovec *)8, 1, 0);
    printf("bad remote array: %s\n", outcome(r));
    struct iovec huge[2] = {{a, (size_t)1 << 62}, {b, (size_t)1 << 62}};
    r = process_vm_readv(child, huge, 2, remote, 2, 0);
    printf("lengths past ssize_t: %s\n", outcome(r));
    struct iovec bad_local = {(void *)8, 10};
    r = process_vm_readv(child, &bad_local, 1, remote, 1, 0);
    printf("bad local buffer: %s\n", outcome(r));
    r = process_vm_readv(child, local, 0, remote, 2, 0);
    printf("no local iovecs: %ld\n", r);
    r = process_vm_readv(99999999, local, 2, remote, 2, 0);
    printf("no such process: %s\n", outcome(r));
    r = process_vm_readv(-5, local, 2, remote, 2, 0);
    printf("negative pid: %s\n", outcome(r));
    r = process_vm_readv(getpid(), local, 2, remote, 2, 0);
    printf("itself: %ld [%s]\n", r, a);

    write(done[1], "d", 1);
    int status;
    waitpid(child, &status, 0);
    printf("child ended: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
