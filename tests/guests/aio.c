/* Linux's native asynchronous I/O through the raw calls (as libaio and LTP make them):
 * writes, reads, vectored requests, fsync, completion through an eventfd, RWF_NOWAIT on an
 * empty pipe, io_getevents' timeout, the refusals, and a forked child without the parent's
 * contexts. Prints one line per check; run natively and in a box in a writable directory on
 * a disk file system, the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r < 0 ? -1L : r, r < 0 ? strerror(errno) : "");
}

static long setup(unsigned n, aio_context_t *ctx) { return syscall(SYS_io_setup, n, ctx); }
static long submit(aio_context_t ctx, long n, struct iocb **l) { return syscall(SYS_io_submit, ctx, n, l); }
static long getevents(aio_context_t ctx, long min, long n, struct io_event *e, struct timespec *t) {
    return syscall(SYS_io_getevents, ctx, min, n, e, t);
}

static struct iocb request(int op, int fd, void *buf, size_t n, long long off, unsigned long data) {
    struct iocb cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_lio_opcode = op;
    cb.aio_fildes = fd;
    cb.aio_buf = (unsigned long)buf;
    cb.aio_nbytes = n;
    cb.aio_offset = off;
    cb.aio_data = data;
    return cb;
}

static void print_events(struct io_event *e, long n) {
    for (long i = 0; i < n; i++)
        printf("  event data %llu res %lld\n", (unsigned long long)e[i].data, (long long)e[i].res);
}

int main(void) {
    aio_context_t ctx = 0;
    show("setup", setup(8, &ctx));
    aio_context_t again = ctx;
    show("setup on a used ctx", setup(8, &again));
    aio_context_t zero = 0;
    show("setup of 0 events", setup(0, &zero));
    show("setup of -1 events", setup(-1, &zero));
    show("setup to a bad pointer", setup(1, (aio_context_t *)8));

    int fd = open("aio-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    int bell = eventfd(0, 0);
    char out[] = "asynchronous!";
    struct iocb w = request(IOCB_CMD_PWRITE, fd, out, 13, 100, 1);
    w.aio_flags = IOCB_FLAG_RESFD;
    w.aio_resfd = bell;
    struct iocb *list[3] = {&w};
    show("submit write", submit(ctx, 1, list));
    uint64_t rung = 0;
    read(bell, &rung, 8);
    printf("eventfd rung: %llu\n", (unsigned long long)rung);
    struct io_event ev[8];
    struct timespec now = {0, 0};
    long n = getevents(ctx, 1, 8, ev, &now);
    show("events", n);
    print_events(ev, n);
    printf("obj is the request: %d\n", ev[0].obj == (unsigned long)&w);

    char in[32] = {0}, a[4] = {0}, b[8] = {0};
    struct iovec iov[2] = {{a, 3}, {b, 5}};
    struct iocb r = request(IOCB_CMD_PREAD, fd, in, 32, 100, 2);
    struct iocb rv = request(IOCB_CMD_PREADV, fd, iov, 2, 102, 3);
    struct iocb s = request(IOCB_CMD_FSYNC, fd, NULL, 0, 0, 4);
    list[0] = &r;
    list[1] = &rv;
    list[2] = &s;
    show("submit read, readv, fsync", submit(ctx, 3, list));
    n = getevents(ctx, 3, 8, ev, NULL);
    show("events", n);
    print_events(ev, n);
    printf("read: %s; readv: %s|%s\n", in, a, b);

    /* Nothing in flight: the timeout runs out with no event. */
    struct timespec tenth = {0, 100000000};
    show("wait with nothing in flight", getevents(ctx, 1, 8, ev, &tenth));

    /* RWF_NOWAIT on an empty pipe completes with EAGAIN. */
    int p[2];
    pipe(p);
    char c;
    struct iocb nw = request(IOCB_CMD_PREAD, p[0], &c, 1, 0, 5);
    nw.aio_rw_flags = RWF_NOWAIT;
    list[0] = &nw;
    show("submit nowait read", submit(ctx, 1, list));
    n = getevents(ctx, 1, 1, ev, NULL);
    print_events(ev, n);
    write(p[1], "x", 1);
    show("submit nowait read with data", submit(ctx, 1, list));
    n = getevents(ctx, 1, 1, ev, NULL);
    print_events(ev, n);

    /* Refusals. */
    show("submit to a bad ctx", submit(12345, 1, list));
    show("submit -1", submit(ctx, -1, list));
    show("submit a bad list", submit(ctx, 1, (struct iocb **)-1));
    struct iocb *none[1] = {NULL};
    show("submit a null request", submit(ctx, 1, none));
    struct iocb bad = request(IOCB_CMD_PREAD, 999, in, 1, 0, 6);
    list[0] = &bad;
    show("submit on a bad fd", submit(ctx, 1, list));
    bad = request(IOCB_CMD_PWRITE, p[0], in, 1, 0, 6);
    show("write to a read end", submit(ctx, 1, list));
    bad = request(IOCB_CMD_PREAD, fd, in, 1, 0, 6);
    bad.aio_reserved2 = 1;
    show("reserved field set", submit(ctx, 1, list));
    bad = request(99, fd, in, 1, 0, 6);
    show("unknown opcode", submit(ctx, 1, list));
    list[0] = &r;
    list[1] = &bad;
    show("second of two refused", submit(ctx, 2, list));
    n = getevents(ctx, 1, 8, ev, NULL);
    show("events", n);
    show("getevents min > nr", getevents(ctx, 2, 1, ev, NULL));
    show("getevents bad ctx", getevents(777, 0, 1, ev, NULL));
    show("cancel a null request", syscall(SYS_io_cancel, ctx, NULL, ev));
    show("cancel a finished request", syscall(SYS_io_cancel, ctx, &r, ev));

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        list[0] = &r;
        show("child submit on the parent's ctx", submit(ctx, 1, list));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("destroy", syscall(SYS_io_destroy, ctx));
    show("destroy again", syscall(SYS_io_destroy, ctx));
    unlink("aio-file");
    return 0;
}
