/* Linux native asynchronous I/O across a snapshot: a context with a write to a file of
 * directory argv[1] submitted and its event not yet collected, then "ready". Each input
 * line: the events waiting (the write's first), a read of the file submitted and collected,
 * and the context's id unchanged. */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long io_setup(unsigned n, aio_context_t *ctx) { return syscall(SYS_io_setup, n, ctx); }
static long io_submit(aio_context_t ctx, long n, struct iocb **cbs) {
    return syscall(SYS_io_submit, ctx, n, cbs);
}
static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev) {
    struct timespec t = {1, 0};
    return syscall(SYS_io_getevents, ctx, min, max, ev, &t);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-file", argv[1]);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    aio_context_t ctx = 0, first;
    if (io_setup(8, &ctx) != 0) return 1;
    first = ctx;
    static char text[] = "written asynchronously";
    struct iocb w = {0};
    w.aio_lio_opcode = IOCB_CMD_PWRITE;
    w.aio_fildes = fd;
    w.aio_buf = (unsigned long)text;
    w.aio_nbytes = strlen(text);
    w.aio_data = 0x1234;
    struct iocb *list[1] = {&w};
    printf("submitted %ld\nready\n", io_submit(ctx, 1, list));
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        struct io_event ev[4];
        long n = io_getevents(ctx, 0, 4, ev);
        printf("events %ld", n);
        for (long i = 0; i < n; i++) printf(" (data %#llx res %lld)", ev[i].data, ev[i].res);
        char back[64] = {0};
        struct iocb r = {0};
        r.aio_lio_opcode = IOCB_CMD_PREAD;
        r.aio_fildes = fd;
        r.aio_buf = (unsigned long)back;
        r.aio_nbytes = sizeof back - 1;
        r.aio_data = 0x5678;
        list[0] = &r;
        io_submit(ctx, 1, list);
        n = io_getevents(ctx, 1, 4, ev);
        printf("; read %ld (data %#llx res %lld) \"%s\"; same context %d\n", n, ev[0].data,
               ev[0].res, back, ctx == first);
        fflush(stdout);
    }
    printf("end\n");
    return 0;
}
