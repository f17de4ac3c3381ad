/* Pipe capacities, splice, vmsplice and tee, and the fcntl commands that record I/O signal
 * owners; each line is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *outcome(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    if (pipe(p)) return 1;
    printf("F_GETPIPE_SZ: %d\n", fcntl(p[0], F_GETPIPE_SZ));
    printf("F_SETPIPE_SZ 100000: %d\n", fcntl(p[1], F_SETPIPE_SZ, 100000));
    printf("F_GETPIPE_SZ after: %d\n", fcntl(p[0], F_GETPIPE_SZ));
    printf("F_SETPIPE_SZ 4096: %d\n", fcntl(p[1], F_SETPIPE_SZ, 4096));
    long r = fcntl(p[1], F_SETPIPE_SZ, 1L << 40);
    printf("F_SETPIPE_SZ huge: %s\n", outcome(r));
    r = fcntl(p[1], F_SETPIPE_SZ, 64 << 20);
    printf("F_SETPIPE_SZ above pipe-max-size: %s\n", outcome(r));
    r = fcntl(0, F_GETPIPE_SZ);
    printf("F_GETPIPE_SZ of a file: %s\n", outcome(r));
    fcntl(p[1], F_SETPIPE_SZ, 65536);

    /* A file into the pipe at an offset, and out of the pipe into another file. */
    char name[] = "splice-in-XXXXXX";
    int in = mkstemp(name);
    unlink(name);
    const char *text = "0123456789abcdefghij";
    if (write(in, text, strlen(text)) != (ssize_t)strlen(text)) return 1;
    loff_t off = 5;
    r = splice(in, &off, p[1], NULL, 10, 0);
    printf("splice file->pipe: %ld, offset now %lld, file position %ld\n", r, (long long)off,
           (long)lseek(in, 0, SEEK_CUR));
    char out_name[] = "splice-out-XXXXXX";
    int out = mkstemp(out_name);
    unlink(out_name);
    loff_t out_off = 3;
    r = splice(p[0], NULL, out, &out_off, 100, SPLICE_F_MOVE);
    char buf[64] = {0};
    pread(out, buf, sizeof buf - 1, 3);
    printf("splice pipe->file: %ld, offset now %lld, wrote \"%s\"\n", r, (long long)out_off, buf);
    /* Without offsets: the file positions move. */
    lseek(in, 0, SEEK_SET);
    r = splice(in, NULL, p[1], NULL, 4, 0);
    printf("splice at the position: %ld, position %ld\n", r, (long)lseek(in, 0, SEEK_CUR));
    r = read(p[0], buf, sizeof buf);
    printf("read back: %.*s\n", (int)r, buf);
    /* Errors. */
    r = splice(in, &off, out, NULL, 4, 0);
    printf("neither is a pipe: %s\n", outcome(r));
    r = splice(p[0], &off, out, NULL, 4, 0);
    printf("offset for a pipe: %s\n", outcome(r));
    r = splice(999, NULL, p[1], NULL, 4, 0);
    printf("bad descriptor: %s\n", outcome(r));
    r = splice(p[1], NULL, out, NULL, 4, 0);
    printf("from a write end: %s\n", outcome(r));
    r = splice(in, NULL, p[1], NULL, 4, 0x100);
    printf("bad flags: %s\n", outcome(r));
    r = splice(in, (loff_t *)8, p[1], NULL, 4, 0);
    printf("bad offset pointer: %s\n", outcome(r));
    r = splice(in, NULL, p[1], NULL, 0, 0);
    printf("zero length: %ld\n", r);
    int q[2];
    pipe2(q, O_NONBLOCK);
    r = splice(q[0], NULL, p[1], NULL, 4, 0);
    printf("from an empty non-blocking pipe: %s\n", outcome(r));

    /* vmsplice into the write end. */
    struct iovec iov[2] = {{"hello ", 6}, {"world", 5}};
    r = vmsplice(p[1], iov, 2, 0);
    printf("vmsplice: %ld\n", r);
    r = read(p[0], buf, sizeof buf);
    printf("read back: %.*s\n", (int)r, buf);
    r = vmsplice(in, iov, 2, 0);
    printf("vmsplice of a file: %s\n", outcome(r));
    r = vmsplice(p[1], iov, 2, 0x100);
    printf("vmsplice bad flags: %s\n", outcome(r));
    /* More than the pipe holds: Linux moves what fits and returns; then a full pipe is
     * EAGAIN with SPLICE_F_NONBLOCK (the descriptor blocks), also for splice and tee. */
    static char big[100000];
    struct iovec large = {big, sizeof big};
    r = vmsplice(p[1], &large, 1, 0);
    printf("vmsplice of 100000 bytes into 65536: %ld\n", r);
    r = vmsplice(p[1], &large, 1, SPLICE_F_NONBLOCK);
    printf("vmsplice into a full pipe, nonblocking: %s\n", outcome(r));
    lseek(in, 0, SEEK_SET);
    r = splice(in, NULL, p[1], NULL, 4, SPLICE_F_NONBLOCK);
    printf("splice into a full pipe, nonblocking: %s, position %ld\n", outcome(r),
           (long)lseek(in, 0, SEEK_CUR));
    int e[2];
    pipe(e);
    r = splice(p[0], NULL, e[1], NULL, 100000, 0);
    printf("splice pipe->pipe of 100000 bytes: %ld\n", r);
    r = splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK);
    printf("splice from an empty pipe, nonblocking: %s\n", outcome(r));
    struct iovec back = {big, sizeof big};
    r = vmsplice(e[0], &back, 1, 0);
    printf("vmsplice out of a pipe: %ld\n", r);
    r = vmsplice(e[0], &back, 1, SPLICE_F_NONBLOCK);
    printf("vmsplice out of an empty pipe, nonblocking: %s\n", outcome(r));
    struct iovec bad = {(void *)8, 10};
    r = vmsplice(p[1], &bad, 1, 0);
    printf("vmsplice of a bad buffer: %s\n", outcome(r));
    close(e[0]);
    close(e[1]);

    /* At an offset, a pipe is ESPIPE before the wrong end is EBADF (as Linux checks). */
    char two[2] = "ab";
    struct iovec one = {two, 2};
    r = pwrite(p[0], two, 2, 0);
    printf("pwrite of the read end: %s\n", outcome(r));
    r = pread(p[1], two, 2, 0);
    printf("pread of the write end: %s\n", outcome(r));
    r = pwritev2(p[0], &one, 1, 0, 0);
    printf("pwritev2 of the read end: %s\n", outcome(r));
    r = pwritev2(p[0], &one, 1, -1, 0);
    printf("pwritev2 of the read end at the position: %s\n", outcome(r));
    r = write(p[0], two, 2);
    printf("write of the read end: %s\n", outcome(r));

    /* The I/O signal and its owner, as recorded. */
    printf("F_GETSIG: %d\n", fcntl(p[0], F_GETSIG));
    int set = fcntl(p[0], F_SETSIG, SIGUSR1);
    printf("F_SETSIG SIGUSR1: %d, then %d\n", set, fcntl(p[0], F_GETSIG));
    r = fcntl(p[0], F_SETSIG, 65);
    printf("F_SETSIG 65: %s\n", outcome(r));
    struct f_owner_ex ex = {F_OWNER_TID, getpid()}, got;
    printf("F_SETOWN_EX: %d\n", fcntl(p[0], F_SETOWN_EX, &ex));
    fcntl(p[0], F_GETOWN_EX, &got);
    printf("F_GETOWN_EX: type %d pid is mine %d\n", got.type, got.pid == getpid());
    setpgid(0, 0); /* lead a group of our own, natively and in the box */
    fcntl(p[0], F_SETOWN, -getpgrp());
    fcntl(p[0], F_GETOWN_EX, &got);
    int owner = fcntl(p[0], F_GETOWN);
    printf("after F_SETOWN of a group: type %d, F_GETOWN is minus the group %d\n", got.type,
           owner == -getpgrp() && owner < 0);
    /* tee: the bytes reach the second pipe and stay in the first. */
    int a2[2], b2[2];
    pipe(a2);
    pipe(b2);
    write(a2[1], "teeing", 6);
    printf("tee: %zd\n", tee(a2[0], b2[1], 100, 0));
    char got1[8] = {0}, got2[8] = {0};
    read(b2[0], got2, sizeof got2 - 1);
    read(a2[0], got1, sizeof got1 - 1);
    printf("tee copied [%s], left [%s]\n", got2, got1);
    printf("tee of an empty pipe, nonblocking: %s\n", outcome(tee(a2[0], b2[1], 10, SPLICE_F_NONBLOCK)));
    printf("tee within one pipe: %s\n", outcome(tee(a2[0], a2[1], 10, 0)));
    printf("tee from a write end: %s\n", outcome(tee(a2[1], b2[1], 10, 0)));
    printf("tee bad flags: %s\n", outcome(tee(a2[0], b2[1], 10, 0x100)));
    int file = open("/proc/self/stat", O_RDONLY);
    printf("tee from a file: %s\n", outcome(tee(file, b2[1], 10, 0)));
    ex.type = 7;
    r = fcntl(p[0], F_SETOWN_EX, &ex);
    printf("F_SETOWN_EX bad type: %s\n", outcome(r));
    r = fcntl(p[0], F_GETOWN_EX, (void *)8);
    printf("F_GETOWN_EX bad pointer: %s\n", outcome(r));

    /* Packet mode (O_DIRECT): each write is one read's worth. */
    int pk[2];
    printf("pipe2 O_DIRECT: %s\n", outcome(pipe2(pk, O_DIRECT)));
    printf("F_GETFL shows O_DIRECT: %d\n", !!(fcntl(pk[0], F_GETFL) & O_DIRECT));
    write(pk[1], "first", 5);
    write(pk[1], "second", 6);
    char pb[32] = {0};
    ssize_t taken = read(pk[0], pb, sizeof pb);
    printf("one packet a read: %zd [%.*s]\n", taken, (int)taken, pb);
    taken = read(pk[0], pb, 3);
    printf("a short read cuts the packet: %zd [%.*s]\n", taken, (int)taken, pb);
    printf("pipe2 unknown flag: %s\n", outcome(pipe2(pk, O_DIRECT | 0x1)));

    /* /dev/full, and splice between pipes and the devices. */
    int full = open("/dev/full", O_RDWR);
    char zero[4] = {1, 1, 1, 1};
    printf("/dev/full write: %s\n", outcome(write(full, "x", 1)));
    ssize_t got_full = read(full, zero, 4);
    printf("/dev/full read: %s, zeros %d\n", outcome(got_full), zero[0] == 0 && zero[3] == 0);
    int sp[2];
    char z_drain[64];
    pipe(sp);
    write(sp[1], "abcdef", 6);
    printf("splice pipe to /dev/full: %s\n", outcome(splice(sp[0], NULL, full, NULL, 6, 0)));
    int null = open("/dev/null", O_WRONLY);
    /* (Whether the failed splice took the bytes is the kernel's business: empty the pipe.) */
    fcntl(sp[0], F_SETFL, O_NONBLOCK);
    while (read(sp[0], z_drain, sizeof z_drain) > 0) {}
    fcntl(sp[0], F_SETFL, 0);
    write(sp[1], "abcdef", 6);
    printf("splice pipe to /dev/null: %s\n", outcome(splice(sp[0], NULL, null, NULL, 6, 0)));
    int zfd = open("/dev/zero", O_RDONLY);
    printf("splice /dev/zero to a pipe: %s\n", outcome(splice(zfd, NULL, sp[1], NULL, 100, 0)));
    char z[100];
    printf("what came: %s\n", outcome(read(sp[0], z, sizeof z)));
    return 0;
}
