/* Hostile arguments to the library OS: tens of thousands of system calls with garbage pointers
 * (unmapped, read-only, misaligned, kernel-half), huge lengths, bad descriptors and random
 * flags. Linux answers each with an errno; the library OS must too, and never crash. At the
 * end the process checks that it still works and prints a summary.
 *
 * The calls chosen cannot end or block the process by design (no exit, exec, kill, sleep,
 * waits on descriptors or signals, signal dispositions, memory unmapping, resource limits,
 * prctl or thread pointers); descriptors mostly come from a set that holds no pipe or socket,
 * and every descriptor is made non-blocking.
 * Usage: sysfuzz SEED ROUNDS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static const long calls[] = {
    SYS_read, SYS_write, SYS_open, SYS_stat, SYS_fstat, SYS_lstat, SYS_lseek, SYS_ioctl,
    SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev, SYS_access, SYS_pipe, SYS_sched_yield,
    SYS_dup, SYS_getpid, SYS_sendfile, SYS_socket, SYS_connect, SYS_sendto, SYS_sendmsg,
    SYS_shutdown, SYS_bind, SYS_listen, SYS_getsockname, SYS_getpeername, SYS_socketpair,
    SYS_setsockopt, SYS_getsockopt, SYS_uname, SYS_fsync, SYS_fdatasync,
    SYS_truncate, SYS_ftruncate, SYS_getdents64, SYS_getcwd, SYS_chdir, SYS_fchdir, SYS_rename,
    SYS_mkdir, SYS_rmdir, SYS_creat, SYS_link, SYS_unlink, SYS_symlink, SYS_readlink,
    SYS_chmod, SYS_fchmod, SYS_umask, SYS_gettimeofday, SYS_getrlimit, SYS_getrusage,
    SYS_sysinfo, SYS_getuid, SYS_getgid, SYS_geteuid, SYS_getegid, SYS_setpgid, SYS_getppid,
    SYS_getpgrp, SYS_getpgid, SYS_getsid, SYS_rt_sigpending, SYS_sigaltstack, SYS_mknod,
    SYS_statfs, SYS_fstatfs, SYS_gettid, SYS_time,
    SYS_sched_getaffinity, SYS_set_tid_address, SYS_clock_gettime, SYS_clock_getres,
    SYS_openat, SYS_mkdirat, SYS_mknodat, SYS_newfstatat, SYS_unlinkat, SYS_renameat,
    SYS_symlinkat, SYS_readlinkat, SYS_fchmodat, SYS_faccessat, SYS_set_robust_list,
    SYS_get_robust_list, SYS_utimensat, SYS_eventfd, SYS_eventfd2, SYS_epoll_create1,
    SYS_epoll_ctl, SYS_dup3, SYS_pipe2, SYS_getrandom, SYS_statx,
    SYS_timer_create, SYS_timer_gettime, SYS_timer_getoverrun, SYS_timer_delete,
};

static char *readonly, *unmapped, *buffer;

/* An argument of one of the shapes that break naive code. */
static long argument(void) {
    switch (next() % 14) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(next() % 8);
    case 3: return (long)next();
    case 4: return (long)(1ul << (next() % 64));
    case 5: return (long)unmapped + (long)(next() % 4096);
    case 6: return (long)readonly + (long)(next() % 4096);
    case 7: return (long)buffer + (long)(next() % 4096); /* random bytes, maybe misaligned */
    case 8: return (long)(0xffff800000000000ul + next() % 4096);
    case 9: return -100; /* AT_FDCWD */
    case 10: return 999; /* a closed descriptor */
    case 11: return (long)buffer + 4096 - 1; /* straddles into the unmapped page */
    case 12: return (long)(next() & 0xffffffff);
    default: return 0x7fffffff;
    }
}

/* Descriptors the calls get: none of them a pipe or socket that could block. */
static long descriptor(void) {
    static const long fds[] = {0, -1, -100, 999, 1l << 40, 0x7fffffff};
    return fds[next() % 6];
}

int main(int argc, char **argv) {
    state = argc > 1 ? strtoull(argv[1], 0, 0) | 1 : 88172645463325252ull;
    /* Garbage written to a standard descriptor must go nowhere: the report gets a copy of
     * stdout far from the descriptors the calls name, and 0, 1, 2 become /dev/null. */
    dup2(1, 900);
    int null = open("/dev/null", O_RDWR);
    for (int s = 0; s < 3; s++) dup2(null, s);
    close(null);
    /* A write to a socket shut down by an earlier call fails with EPIPE, not death. */
    signal(SIGPIPE, SIG_IGN);
    /* Every descriptor the calls can make is below 64, where the loop below reaches it. */
    struct rlimit few = {64, 64};
    setrlimit(RLIMIT_NOFILE, &few);
    long rounds = argc > 2 ? atol(argv[2]) : 20000;
    readonly = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    buffer = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unmapped = buffer + 4096;
    munmap(unmapped, 4096);
    char home[4096];
    getcwd(home, sizeof home);
    long failed = 0;
    for (long i = 0; i < rounds; i++) {
        for (int j = 0; j < 4096; j += 8) *(uint64_t *)(buffer + j) = next();
        buffer[next() % 4096] = 0; /* a string ends somewhere, sometimes */
        long nr = calls[next() % (sizeof calls / sizeof calls[0])];
        long a[6];
        for (int k = 0; k < 6; k++) a[k] = argument();
        /* The first argument of most calls is a descriptor or a path. */
        if (next() % 2) a[0] = descriptor();
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r < 0) failed++;
        /* A new pipe, eventfd or socket must not block a later read: make every descriptor
         * non-blocking (the calls cannot undo it: fcntl is not among them). */
        for (int fd = 3; fd < 64; fd++) fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    /* Still a working process? (In its own directory, with a sane umask: the calls may have
     * changed both.) */
    umask(022);
    chdir(home);
    for (int fd = 3; fd < 64; fd++) close(fd);
    int fd = open("sysfuzz-alive", O_CREAT | O_RDWR | O_TRUNC, 0600);
    int ok = fd >= 0 && write(fd, "alive", 5) == 5 && lseek(fd, 0, SEEK_SET) == 0;
    char back[6] = {0};
    ok = ok && read(fd, back, 5) == 5 && !strcmp(back, "alive");
    if (!ok) dprintf(900, "final check: %s\n", strerror(errno));
    dprintf(900, "survived %ld calls (%s refused), still working: %d\n", rounds,
            failed > rounds / 2 ? "most" : "few", ok);
    return ok ? 0 : 1;
}
