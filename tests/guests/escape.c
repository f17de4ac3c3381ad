/* Escape attempts: each subcommand tries one way out of the box and prints what happened.
 * "errno=NAME" means the call failed with that errno; "SUCCEEDED" means it got out. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <unistd.h>
#include <stdlib.h>

static const char *name(int e) {
    switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EACCES: return "EACCES";
    case EROFS: return "EROFS"; case ENOSYS: return "ENOSYS"; case ESRCH: return "ESRCH";
    case EXDEV: return "EXDEV"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
    case ELOOP: return "ELOOP"; case ECONNREFUSED: return "ECONNREFUSED"; case EAFNOSUPPORT: return "EAFNOSUPPORT"; case ENOTTY: return "ENOTTY"; default: return "OTHER";
    }
}

static int report(long r) {
    if (r < 0) { printf("errno=%s\n", name(errno)); return 0; }
    printf("SUCCEEDED\n");
    return 1;
}

/* Calls the host's syscall gate directly, as a ROP chain into the PAL would. */
typedef long (*gate_fn)(long, long, long, long, long, long, long);
static long gate(long nr, long a, long b, long c, long d) {
    gate_fn g = (gate_fn)getauxval(0x7062);
    if (!g) { printf("no gate\n"); exit(2); }
    long r = g(nr, a, b, c, d, 0, 0);
    if (r < 0 && r > -4096) { errno = -r; return -1; }
    return r;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *t = argv[1];
    const char *arg = argc > 2 ? argv[2] : "";
    if (!strcmp(t, "open")) return report(open(arg, O_RDONLY));
    if (!strcmp(t, "open-write")) return report(open(arg, O_WRONLY));
    if (!strcmp(t, "create")) return report(open(arg, O_WRONLY | O_CREAT, 0644));
    if (!strcmp(t, "unlink")) return report(unlink(arg));
    if (!strcmp(t, "mkdir")) return report(mkdir(arg, 0755));
    if (!strcmp(t, "execve")) { char *av[] = {(char *)arg, NULL}; return report(execve(arg, av, NULL)); }
    if (!strcmp(t, "connect") || !strcmp(t, "bind")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return report(fd);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET; sa.sin_port = htons(atoi(arg)); sa.sin_addr.s_addr = htonl(0x7f000001);
        return report(!strcmp(t, "connect") ? connect(fd, (void *)&sa, sizeof sa) : bind(fd, (void *)&sa, sizeof sa));
    }
    if (!strcmp(t, "bind-any")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET; sa.sin_port = htons(atoi(arg)); sa.sin_addr.s_addr = htonl(INADDR_ANY);
        return report(bind(fd, (void *)&sa, sizeof sa));
    }
    if (!strcmp(t, "gate-connect")) {
        long fd = gate(SYS_socket, AF_INET, SOCK_STREAM, 0, 0);
        if (fd < 0) return report(fd);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET; sa.sin_port = htons(atoi(arg)); sa.sin_addr.s_addr = htonl(0x7f000001);
        return report(gate(SYS_connect, fd, (long)&sa, sizeof sa, 0));
    }
    if (!strcmp(t, "udp")) return report(socket(AF_INET, SOCK_DGRAM, 0));
    if (!strcmp(t, "raw")) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    if (!strcmp(t, "unix")) return report(socket(AF_UNIX, SOCK_STREAM, 0));
    if (!strcmp(t, "netlink")) return report(socket(AF_NETLINK, SOCK_RAW, 0));
    if (!strcmp(t, "gate-unix")) return report(gate(SYS_socket, AF_UNIX, SOCK_STREAM, 0, 0));
    if (!strcmp(t, "gate-raw")) return report(gate(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP, 0));
    if (!strcmp(t, "gate-netlink")) return report(gate(SYS_socket, AF_NETLINK, SOCK_RAW, 0, 0));
    if (!strcmp(t, "gate-udp")) return report(gate(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0));
    if (!strcmp(t, "ptrace")) return report(syscall(SYS_ptrace, 0, 0, 0, 0));
    if (!strcmp(t, "mount")) return report(syscall(SYS_mount, "none", "/", "tmpfs", 0, 0));
    if (!strcmp(t, "unshare")) return report(syscall(SYS_unshare, 0x10000000));
    if (!strcmp(t, "chroot")) return report(syscall(SYS_chroot, "/"));
    if (!strcmp(t, "setns")) return report(syscall(SYS_setns, 0, 0));
    if (!strcmp(t, "kill-host")) return report(kill(atoi(arg), SIGTERM));
    if (!strcmp(t, "kill-all")) return report(kill(-1, SIGKILL));
    if (!strcmp(t, "ptrace-twice")) { syscall(SYS_ptrace, 0, 0, 0, 0); return report(syscall(SYS_ptrace, 0, 0, 0, 0)); }
    if (!strcmp(t, "tiocsti")) { char c = 'x'; return report(ioctl(0, TIOCSTI, &c)); }
    if (!strcmp(t, "gate-tiocsti")) { char c = 'x'; return report(gate(SYS_ioctl, 0, TIOCSTI, (long)&c, 0)); }
    if (!strcmp(t, "sigreturn-garbage")) __asm__ volatile("mov $0x10, %%rsp; mov $15, %%eax; syscall" ::: "memory");
    if (!strcmp(t, "sigreturn-zero-frame")) {
        static char frame[4096];
        __asm__ volatile("mov %0, %%rsp; mov $15, %%eax; syscall" :: "r"(frame + 2048) : "memory");
    }
    if (!strcmp(t, "bpf")) return report(syscall(SYS_bpf, 0, 0, 0));
    if (!strcmp(t, "perf")) return report(syscall(SYS_perf_event_open, 0, 0, -1, -1, 0));
    if (!strcmp(t, "io_uring")) return report(syscall(SYS_io_uring_setup, 8, 0));
    if (!strcmp(t, "sigsys-overwrite")) {
        /* Replace the SIGSYS disposition, then try a forbidden call again. */
        signal(SIGSYS, SIG_IGN);
        return report(syscall(SYS_ptrace, 0, 0, 0, 0));
    }
    /* Direct calls into the gate: the kernel policy, not the library OS, must refuse. */
    if (!strcmp(t, "gate-execve")) { char *av[] = {(char *)arg, NULL}; return report(gate(SYS_execve, (long)arg, (long)av, 0, 0)); }
    if (!strcmp(t, "gate-ptrace")) return report(gate(SYS_ptrace, 0, 0, 0, 0));
    if (!strcmp(t, "gate-kill")) return report(gate(SYS_kill, atoi(arg), SIGKILL, 0, 0));
    if (!strcmp(t, "gate-sigaction")) {
        long act[4] = {1, 0, 0, 0};
        return report(gate(SYS_rt_sigaction, SIGSYS, (long)act, 0, 8));
    }
    if (!strcmp(t, "gate-mprotect-wx")) {
        void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return report(gate(SYS_mprotect, (long)p, 4096, 7, 0));
    }
    if (!strcmp(t, "gate-open")) {
        long how[3] = {O_RDONLY, 0, 0};
        return report(gate(SYS_openat2, AT_FDCWD, (long)arg, (long)how, 24));
    }
    if (!strcmp(t, "gate-open-write")) {
        long how[3] = {O_WRONLY, 0, 0};
        return report(gate(SYS_openat2, AT_FDCWD, (long)arg, (long)how, 24));
    }
    /* Unix sockets: host path names and host abstract names are out of reach. */
    if (!strcmp(t, "unix-connect") || !strcmp(t, "gate-unix-connect") ||
        !strcmp(t, "unix-abstract") || !strcmp(t, "gate-unix-abstract") ||
        !strcmp(t, "gate-unix-bind")) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        int abstract = strstr(t, "abstract") != NULL;
        strncpy(a.sun_path + abstract, arg, sizeof a.sun_path - 2);
        socklen_t len = offsetof(struct sockaddr_un, sun_path) + abstract + strlen(arg) + !abstract;
        if (!strncmp(t, "gate-", 5)) {
            long s = gate(SYS_socket, AF_UNIX, SOCK_STREAM, 0, 0);
            if (s < 0) return report(s);
            return report(gate(strstr(t, "bind") ? SYS_bind : SYS_connect, s, (long)&a, len, 0));
        }
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) return report(s);
        return report(connect(s, (void *)&a, len));
    }
    /* A timer on another process's CPU clock (clock id ((~pid) << 3) | CPUCLOCK_SCHED). */
    if (!strcmp(t, "gate-timer-foreign-clock")) {
        int id;
        return report(gate(SYS_timer_create, (long)(int)((~1u) << 3 | 2), 0, (long)&id, 0));
    }
    if (!strcmp(t, "gate-mknod-dev"))
        return report(gate(SYS_mknodat, AT_FDCWD, (long)"null", S_IFCHR | 0666, makedev(1, 3)));
    /* Every descriptor the runtime holds, as a starting point for a climb out. */
    if (!strcmp(t, "gate-open-from-descriptors") || !strcmp(t, "gate-open-write-from-descriptors")) {
        long how[3] = {strstr(t, "write") ? O_WRONLY : O_RDONLY, 0, 0};
        /* The most telling answer over every descriptor: success, then any refusal, then
         * ENOENT (the path named nothing), then EBADF/ENOTDIR (not a directory). */
        long r = -1;
        int seen_enoent = 0;
        for (long fd = 3; fd < 64; fd++) {
            r = gate(SYS_openat2, fd, (long)arg, (long)how, 24);
            if (r >= 0 || (errno != EBADF && errno != ENOTDIR && errno != ENOENT)) break;
            if (errno == ENOENT) seen_enoent = 1;
        }
        if (r < 0 && seen_enoent && (errno == EBADF || errno == ENOTDIR)) errno = ENOENT;
        return report(r);
    }
    printf("unknown test %s\n", t);
    return 2;
}
