/* Hostile arguments to the library OS: tens of thousands of system calls with garbage pointers
 * (unmapped, read-only, misaligned, kernel-half), huge lengths, bad descriptors and random
 * flags. Linux answers each with an errno; the library OS must too, and never crash. At the
 * end the process checks that it still works and prints a summary.
 *
 * The calls chosen cannot end or block the process by design (no exit, exec, kill, sleep,
 * waits on descriptors or signals, signal dispositions, memory unmapping, resource limits,
 * prctl or thread pointers); descriptors mostly come from a set that holds no pipe or socket,
 * and every descriptor is made non-blocking.
 * Usage: sysfuzz SEED ROUNDS
 *
 * "sysfuzz edges SEED ROUNDS" aims at memory, signal and exec calls instead, with addresses
 * only of the shapes whose answer does not depend on where things are mapped (the process's
 * own hole, its read-only page, kernel-half and non-canonical addresses) and lengths that
 * cannot reach the process's own memory. It prints, per call, how often each errno came
 * back: the same seed must give the same table natively and in a box. */
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
#include <sys/stat.h>
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
    SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime, SYS_signalfd, SYS_signalfd4,
    /* Not System V IPC: natively it would reach the host's objects (tests/guests/sysv.c). */
    SYS_splice, SYS_vmsplice, SYS_getitimer, SYS_sysfs,
    SYS_sched_getparam, SYS_sched_getscheduler, SYS_sched_get_priority_max,
    SYS_sched_get_priority_min, SYS_getpriority, SYS_capget, SYS_readahead,
    SYS_sync_file_range, SYS_recvmmsg, SYS_io_setup, SYS_io_destroy, SYS_io_submit,
    SYS_io_getevents, SYS_io_cancel, SYS_inotify_init1, SYS_inotify_add_watch,
    SYS_inotify_rm_watch, SYS_pidfd_open, SYS_openat2, SYS_ustat, 462 /* mseal */,
    SYS_name_to_handle_at, SYS_open_by_handle_at, SYS_fgetxattr, SYS_flistxattr,
    SYS_membarrier, SYS_getcpu, SYS_process_vm_readv, SYS_kcmp, 451 /* cachestat */,
    SYS_setns, SYS_remap_file_pages,
    /* Not pidfd_send_signal: natively it could signal other processes of the user; nor
     * ptrace, sched_setaffinity or process_vm_writev, which could stop, move or change them. */
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

static const long edge_calls[] = {
    SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_msync, SYS_mincore,
    SYS_brk, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_rt_sigpending,
    SYS_execve, SYS_execveat,
};

/* An address and a length whose answer does not depend on the layout: small lengths from the
 * process's own hole, its read-only page and the null page; any length from kernel-half and
 * non-canonical addresses, which no length can bring back to the process's memory. */
static void edge_range(long *addr, long *len) {
    static const long small[] = {0, 1, 4095, 4096};
    static const long any[] = {0, 1, 4096, -1, 1l << 47, 1l << 62};
    switch (next() % 7) {
    case 0: *addr = 0; *len = small[next() % 4]; return;
    case 1: *addr = (long)unmapped; *len = small[next() % 4]; return;
    case 2: *addr = (long)unmapped + 1 + (long)(next() % 4095); *len = small[next() % 4]; return;
    case 3: *addr = (long)readonly; *len = small[next() % 4]; return;
    case 4: *addr = (long)(0xffff800000000000ul + (next() % 16) * 4096); break;
    case 5: *addr = (long)(0x0000800000000000ul + (next() % 16) * 4096); break;
    default: *addr = next() % 2 ? -4096 : (long)(1ul << 63); break;
    }
    *len = any[next() % 6];
}

/* An address only (a pointer argument). */
static long edge_address(void) {
    long a, l;
    edge_range(&a, &l);
    return a;
}

/* A length only. */
static long edge_length(void) {
    static const long lens[] = {0, 1, 4095, 4096, -1, 1l << 47, 1l << 62};
    return lens[next() % 7];
}

/* An argument as printed by the verbose mode: addresses by their shape, so that native and
 * boxed runs print the same. */
static void show(long v) {
    if (v == (long)unmapped) dprintf(900, " HOLE");
    else if (v > (long)unmapped && v < (long)unmapped + 4096) dprintf(900, " HOLE+%ld", v - (long)unmapped);
    else if (v == (long)readonly) dprintf(900, " RO");
    else if (v > (long)unmapped + 4096 && v < (long)unmapped + 65536 + 4096) dprintf(900, " HOLE+%ld", v - (long)unmapped);
    else dprintf(900, " %#lx", v);
}

static int verbose;

static int edges(long rounds) {
    enum { CALLS = sizeof edge_calls / sizeof edge_calls[0] };
    static long counts[CALLS][134];
    for (long i = 0; i < rounds; i++) {
        int c = (int)(next() % CALLS);
        long nr = edge_calls[c];
        long a[6] = {0, 0, (long)(next() % 16), (long)(next() % 64), edge_address(), edge_length()};
        edge_range(&a[0], &a[1]);
        /* The same state before every call: the read-only page there, the hole empty. */
        mmap(readonly, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        munmap(unmapped, 4096);
        switch (nr) {
        case SYS_mmap: /* prot, flags (MAP_FIXED only at the hole), fd, offset */
            a[2] = (long)(next() % 16);
            a[3] = (long)((next() % 2 ? MAP_PRIVATE : MAP_SHARED) | (next() % 2 ? MAP_ANONYMOUS : 0) |
                          (next() % 2 ? MAP_FIXED_NOREPLACE : 0) | (next() % 8 == 0 ? 0x80000000ul : 0));
            a[4] = next() % 2 ? -1 : 999;
            a[5] = (long)(next() % 3) * 2048;
            if (a[0] != (long)unmapped) a[3] &= ~MAP_FIXED_NOREPLACE;
            break;
        case SYS_mremap:
            a[2] = a[0] == (long)unmapped || a[0] == (long)readonly || a[0] == 0
                       ? (long)(next() % 2) * 4096 : edge_length();
            /* MREMAP_MAYMOVE and an unknown bit (MREMAP_FIXED and MREMAP_DONTUNMAP are not
             * offered by the library OS: see the support table). */
            a[3] = (long)(next() % 2) | (next() % 4 == 0 ? 8 : 0);
            break;
        case SYS_madvise:
            a[2] = (long)(next() % 2 ? next() % 24 : 4);
            break;
        case SYS_msync:
            a[2] = (long)(next() % 8);
            break;
        case SYS_mincore:
            a[2] = edge_address();
            break;
        case SYS_brk:
            break;
        case SYS_rt_sigaction: {
            /* Any signal but those this process could receive (SIGPIPE is ignored below;
             * SIGSYS is the library OS's); handlers and masks from garbage addresses. */
            long sig = (long)(next() % 70);
            if (sig == SIGPIPE || sig == SIGSYS || sig == SIGSEGV || sig == SIGBUS) sig = 0;
            a[0] = sig;
            a[1] = next() % 2 ? 0 : edge_address();
            a[2] = next() % 2 ? 0 : edge_address();
            a[3] = next() % 2 ? 8 : (long)(next() % 32);
            break;
        }
        case SYS_rt_sigprocmask:
            a[0] = (long)(next() % 4);
            a[1] = next() % 2 ? 0 : edge_address();
            a[2] = next() % 2 ? 0 : edge_address();
            a[3] = next() % 2 ? 8 : (long)(next() % 32);
            break;
        case SYS_sigaltstack:
        case SYS_rt_sigpending:
            a[1] = next() % 2 ? 0 : edge_address();
            break;
        case SYS_execve:
            a[1] = next() % 2 ? 0 : edge_address();
            a[2] = next() % 2 ? 0 : edge_address();
            break;
        case SYS_execveat:
            a[0] = next() % 2 ? -100 : 999;
            a[2] = next() % 2 ? 0 : edge_address();
            a[3] = next() % 2 ? 0 : edge_address();
            a[4] = (long)((next() % 2) * 0x1000); /* AT_EMPTY_PATH */
            break;
        }
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        int e = r < 0 && r > -4096 ? errno : 0;
        if (verbose) {
            dprintf(900, "%ld %ld", i, nr);
            for (int k = 0; k < 6; k++) show(a[k]);
            dprintf(900, " -> %s\n", e ? strerrorname_np(e) : "ok");
        }
        /* mmap and mremap succeed at layout-dependent addresses: count them as successes and
         * give the memory back. */
        if ((nr == SYS_mmap || nr == SYS_mremap) && r >= 0 && r != (long)unmapped) {
            long len = nr == SYS_mmap ? a[1] : a[2];
            if (len > 0 && len < (1l << 40)) munmap((void *)r, (size_t)len);
        }
        if (nr == SYS_mmap && r == (long)unmapped) munmap(unmapped, 4096);
        if (nr == SYS_brk) e = 0; /* brk answers with an address, never an errno */
        counts[c][e < 134 ? e : 133]++;
    }
    static const char *names[] = {"mmap", "munmap", "mprotect", "mremap", "madvise", "msync",
                                  "mincore", "brk", "rt_sigaction", "rt_sigprocmask",
                                  "sigaltstack", "rt_sigpending", "execve", "execveat"};
    for (int c = 0; c < CALLS; c++) {
        dprintf(900, "%s:", names[c]);
        for (int e = 0; e < 134; e++)
            if (counts[c][e]) dprintf(900, " %s=%ld", e ? strerrorname_np(e) : "ok", counts[c][e]);
        dprintf(900, "\n");
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 3 && !strcmp(argv[1], "edges")) {
        state = strtoull(argv[2], 0, 0) | 1;
        dup2(1, 900);
        signal(SIGPIPE, SIG_IGN);
        readonly = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        buffer = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        unmapped = buffer + 4096;
        munmap(unmapped, 4096);
        verbose = argc > 4;
        return edges(atol(argv[3]));
    }
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
