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
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sched.h>
#include <time.h>
#include <linux/netlink.h>
#include <unistd.h>
#include <stdlib.h>

static const char *name(int e) {
    switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EACCES: return "EACCES";
    case EROFS: return "EROFS"; case ENOSYS: return "ENOSYS"; case ESRCH: return "ESRCH";
    case EXDEV: return "EXDEV"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
    case ELOOP: return "ELOOP"; case EPROTONOSUPPORT: return "EPROTONOSUPPORT"; case ECONNREFUSED: return "ECONNREFUSED"; case EAFNOSUPPORT: return "EAFNOSUPPORT"; case ENOTTY: return "ENOTTY"; case ENOKEY: return "ENOKEY"; default: return "OTHER";
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
    if (!strcmp(t, "link")) return report(link(arg, argc > 3 ? argv[3] : "x"));
    if (!strcmp(t, "mkdir")) return report(mkdir(arg, 0755));
    /* The interfaces: a box without a network is told none; at the gate, the request kills. */
    if (!strcmp(t, "ifconf")) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        char buf[4096];
        struct { int len; char *buf; } conf = {sizeof buf, buf};
        long r = ioctl(sv[0], 0x8912 /* SIOCGIFCONF */, &conf);
        if (r < 0) return report(r);
        printf("interfaces %d\n", conf.len);
        return 0;
    }
    if (!strcmp(t, "gate-ifconf")) {
        char buf[4096];
        struct { int len; char *buf; } conf = {sizeof buf, buf};
        return report(gate(SYS_ioctl, 1, 0x8912, (long)&conf, 0));
    }
    if (!strcmp(t, "setxattr")) return report(setxattr(arg, argc > 3 ? argv[3] : "user.x", "v", 1, 0));
    /* fsetxattr at the gate on host file `arg`, opened for reading at the gate beneath the
     * first of the runtime's descriptors that has it. */
    if (!strcmp(t, "gate-fsetxattr")) {
        long how[3] = {O_RDONLY, 0, 0};
        long fd = -1;
        for (long dir = 3; dir < 64 && fd < 0; dir++)
            fd = gate(SYS_openat2, dir, (long)arg, (long)how, 24);
        if (fd < 0) return report(fd);
        return report(gate(SYS_fsetxattr, fd, (long)(argc > 3 ? argv[3] : "user.x"), (long)"v", 1));
    }
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
    /* Implicit connects: TCP Fast Open by flag and by option, through the library OS and at
     * the gate, and transports that Landlock's TCP rules do not cover. */
    if (!strcmp(t, "fastopen") || !strcmp(t, "gate-fastopen") || !strcmp(t, "gate-sendmsg-fastopen")) {
        int at_gate = !strncmp(t, "gate-", 5);
        long fd = at_gate ? gate(SYS_socket, AF_INET, SOCK_STREAM, 0, 0) : socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return report(fd);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET; sa.sin_port = htons(atoi(arg)); sa.sin_addr.s_addr = htonl(0x7f000001);
        if (!at_gate) return report(sendto(fd, "x", 1, MSG_FASTOPEN, (void *)&sa, sizeof sa));
        if (!strcmp(t, "gate-fastopen")) {
            typedef long (*gate6)(long, long, long, long, long, long, long);
            gate6 g = (gate6)getauxval(0x7062);
            return report(g(SYS_sendto, fd, (long)"x", 1, MSG_FASTOPEN, (long)&sa, sizeof sa));
        }
        struct iovec iov = {"x", 1};
        struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1};
        return report(gate(SYS_sendmsg, fd, (long)&mh, MSG_FASTOPEN, 0));
    }
    if (!strcmp(t, "fastopen-connect") || !strcmp(t, "gate-fastopen-connect")) {
        int at_gate = !strncmp(t, "gate-", 5);
        long fd = at_gate ? gate(SYS_socket, AF_INET, SOCK_STREAM, 0, 0) : socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        long r = at_gate ? gate(SYS_setsockopt, fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, (long)&one)
                         : setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one);
        if (r < 0) return report(r);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET; sa.sin_port = htons(atoi(arg)); sa.sin_addr.s_addr = htonl(0x7f000001);
        if (connect(fd, (void *)&sa, sizeof sa) < 0) return report(-1);
        return report(write(fd, "x", 1));
    }
    /* An implicit bind: listen on a socket never bound takes an ephemeral port. */
    if (!strcmp(t, "listen-unbound")) {
        int fd = socket(!strcmp(arg, "6") ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
        return report(listen(fd, 5));
    }
    if (!strcmp(t, "unix-listen")) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, arg, sizeof a.sun_path - 1);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(fd, (void *)&a, sizeof a) < 0) return report(-1);
        return report(listen(fd, 5));
    }
    if (!strcmp(t, "gate-listen-unbound")) {
        long fd = gate(SYS_socket, AF_INET, SOCK_STREAM, 0, 0);
        return report(gate(SYS_listen, fd, 5, 0, 0));
    }
    if (!strcmp(t, "mptcp")) return report(socket(AF_INET, SOCK_STREAM, 262));
    if (!strcmp(t, "sctp")) return report(socket(AF_INET6, SOCK_STREAM, 132));
    if (!strcmp(t, "gate-mptcp")) return report(gate(SYS_socket, AF_INET, SOCK_STREAM, 262, 0));
    if (!strcmp(t, "gate-sctp")) return report(gate(SYS_socket, AF_INET6, SOCK_SEQPACKET, 132, 0));
    if (!strcmp(t, "gate-unix-protocol")) return report(gate(SYS_socket, AF_UNIX, SOCK_STREAM, 1 | (1L << 32), 0));
    /* Each argument-checked rule of the allowlist, with an argument whose low 32 bits (all the
     * kernel reads of an int) are forbidden and whose high bits are set: the kernel must
     * still kill the box. */
    if (!strcmp(t, "gate-high")) {
        const long high = 1L << 32;
        char c = 'x';
        long act[4] = {1, 0, 0, 0};
        struct timespec zero[2] = {{0, 0}, {0, 0}};
        (void)zero;
        if (!strcmp(arg, "sigaction")) return report(gate(SYS_rt_sigaction, high | SIGSYS, (long)act, 0, 8));
        if (!strcmp(arg, "ioctl")) return report(gate(SYS_ioctl, 0, high | TIOCSTI, (long)&c, 0));
        if (!strcmp(arg, "fcntl")) return report(gate(SYS_fcntl, 0, high | F_SETOWN, 1, 0));
        if (!strcmp(arg, "socket-domain")) return report(gate(SYS_socket, high | AF_NETLINK, SOCK_RAW, 0, 0));
        if (!strcmp(arg, "socket-type")) return report(gate(SYS_socket, AF_UNIX, high | SOCK_RAW, 0, 0));
        if (!strcmp(arg, "socket-protocol")) return report(gate(SYS_socket, AF_UNIX, SOCK_STREAM, high | 1, 0));
        if (!strcmp(arg, "socketpair")) return report(gate(SYS_socketpair, high | AF_INET, SOCK_STREAM, 0, 0));
        if (!strcmp(arg, "timer-clock")) {
            long id;
            return report(gate(SYS_timer_create, high | (unsigned)(-6 * 8 + 2), 0, (long)&id, 0));
        }
        if (!strcmp(arg, "arch-prctl")) return report(gate(SYS_arch_prctl, high | 0x1001, 0, 0, 0));
        if (!strcmp(arg, "mknod")) return report(gate(SYS_mknodat, AT_FDCWD, (long)"dev", high | S_IFCHR | 0600, makedev(1, 3)));
        if (!strcmp(arg, "chmod-setuid")) return report(gate(452, 3, (long)"", high | 04755, AT_EMPTY_PATH));
        if (!strcmp(arg, "mkdir-setgid")) return report(gate(SYS_mkdirat, AT_FDCWD, (long)"d", high | 02755, 0));
        if (!strcmp(arg, "sendto-fastopen")) {
            typedef long (*gate6)(long, long, long, long, long, long, long);
            gate6 g = (gate6)getauxval(0x7062);
            long fd = gate(SYS_socket, AF_UNIX, SOCK_DGRAM, 0, 0);
            return report(g(SYS_sendto, fd, (long)"x", 1, high | MSG_FASTOPEN, 0, 0));
        }
        if (!strcmp(arg, "sendmsg-fastopen")) {
            long fd = gate(SYS_socket, AF_UNIX, SOCK_DGRAM, 0, 0);
            struct msghdr mh = {0};
            return report(gate(SYS_sendmsg, fd, (long)&mh, high | MSG_FASTOPEN, 0));
        }
        if (!strcmp(arg, "setsockopt")) {
            long fd = gate(SYS_socket, AF_UNIX, SOCK_STREAM, 0, 0);
            int one = 1;
            typedef long (*gate6)(long, long, long, long, long, long, long);
            gate6 g = (gate6)getauxval(0x7062);
            return report(g(SYS_setsockopt, fd, high | IPPROTO_TCP, high | TCP_FASTOPEN_CONNECT, (long)&one, 4, 0));
        }
        if (!strcmp(arg, "clone")) return report(gate(SYS_clone, high | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID, 0, 0, 0));
        printf("unknown rule %s\n", arg);
        return 2;
    }
    /* The other side: an allowed value with high bits set is what the kernel acts on, so the
     * filter must let it through too (a 64-bit comparison would kill the box). */
    if (!strcmp(t, "gate-high-allowed")) {
        const long high = 1L << 32;
        int p[2];
        if (gate(SYS_pipe2, (long)p, 0, 0, 0) < 0) return report(-1);
        if (!strcmp(arg, "fcntl")) return report(gate(SYS_fcntl, p[0], high | F_SETFL, O_NONBLOCK, 0));
        if (!strcmp(arg, "socket")) return report(gate(SYS_socket, high | AF_UNIX, high | SOCK_STREAM, high, 0));
        if (!strcmp(arg, "ioctl")) { int n; return report(gate(SYS_ioctl, p[0], high | FIONREAD, (long)&n, 0)); }
        printf("unknown rule %s\n", arg);
        return 2;
    }
    if (!strcmp(t, "gate-chmod-setuid")) return report(gate(452, 3, (long)"", 04755, AT_EMPTY_PATH));
    if (!strcmp(t, "chmod-setuid")) { close(open(arg, O_WRONLY | O_CREAT, 0755)); return report(chmod(arg, 04755)); }
    if (!strncmp(t, "tiocsti", 7) || !strncmp(t, "gate-tioc", 9)) {
        /* A pseudo-terminal of the box's own: its peer takes no injected input, and the
         * requests that reach past the terminal are not admitted at all. */
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        if (m < 0 || unlockpt(m) < 0) return report(-1);
        int s = open(ptsname(m), O_RDWR | O_NOCTTY);
        if (s < 0) return report(-1);
        if (!strcmp(t, "tiocsti")) return report(ioctl(s, TIOCSTI, "x"));
        if (!strcmp(t, "gate-tiocsti")) return report(gate(SYS_ioctl, s, TIOCSTI, (long)"x", 0));
        if (!strcmp(t, "gate-tioccons")) return report(gate(SYS_ioctl, s, TIOCCONS, 0, 0));
        if (!strcmp(t, "gate-tiocsetd")) { int d = 0; return report(gate(SYS_ioctl, s, TIOCSETD, (long)&d, 0)); }
        if (!strcmp(t, "gate-tioclinux")) { char c = 3; return report(gate(SYS_ioctl, s, TIOCLINUX, (long)&c, 0)); }
    }
    if (!strcmp(t, "open-rw")) return report(open(arg, O_RDWR | O_NOCTTY));
    /* POSIX message queues: the raw calls, which take the name without its slash. */
    if (!strcmp(t, "watch")) {
        int i = syscall(SYS_inotify_init1, 0);
        return report(syscall(SYS_inotify_add_watch, i, arg, 0xfff));
    }
    if (!strcmp(t, "gate-watch")) {
        /* The path argument of a gate call is taken for a descriptor number: a pointer to a
         * path names none. */
        long i = gate(SYS_inotify_init1, 0, 0, 0, 0);
        if (i < 0) return report(i);
        return report(gate(SYS_inotify_add_watch, i, (long)arg, 0xfff, 0));
    }
    if (!strcmp(t, "gate-watch-not-a-watcher")) {
        long i = gate(SYS_eventfd2, 0, 0, 0, 0);
        if (i < 0) return report(i);
        return report(gate(SYS_inotify_add_watch, i, i, 0xfff, 0));
    }
    if (!strcmp(t, "pidfd-open")) return report(syscall(SYS_pidfd_open, atoi(arg), 0));
    if (!strcmp(t, "gate-pidfd-getfd")) {
        long fd = gate(SYS_pidfd_open, 1, 0, 0, 0);
        if (fd < 0) return report(fd);
        return report(gate(SYS_pidfd_getfd, fd, 0, 0, 0));
    }
    if (!strcmp(t, "gate-pidfd-signal")) {
        long fd = gate(SYS_pidfd_open, 1, 0, 0, 0);
        if (fd < 0) return report(fd);
        return report(gate(SYS_pidfd_send_signal, fd, SIGKILL, 0, 0));
    }
    if (!strcmp(t, "key-describe")) {
        char buf[256];
        return report(syscall(SYS_keyctl, 6, atol(arg), buf, sizeof buf, 0));
    }
    if (!strcmp(t, "key-request")) return report(syscall(SYS_request_key, "user", arg, NULL, 0));
    if (!strcmp(t, "key-search")) return report(syscall(SYS_keyctl, 10, -4, "user", arg, 0));
    if (!strcmp(t, "gate-keyctl")) return report(gate(SYS_keyctl, 0, -4, 0, 0));
    if (!strcmp(t, "mq-open")) return report(syscall(SYS_mq_open, arg, O_RDWR, 0, NULL));
    if (!strcmp(t, "mq-leave")) return report(syscall(SYS_mq_open, arg, O_RDWR | O_CREAT, 0600, NULL));
    if (!strcmp(t, "udp")) return report(socket(AF_INET, SOCK_DGRAM, 0));
    if (!strcmp(t, "raw")) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    if (!strcmp(t, "unix")) return report(socket(AF_UNIX, SOCK_STREAM, 0));
    if (!strcmp(t, "netlink")) return report(socket(AF_NETLINK, SOCK_RAW, 0));
    if (!strcmp(t, "gate-unix")) return report(gate(SYS_socket, AF_UNIX, SOCK_STREAM, 0, 0));
    if (!strcmp(t, "gate-raw")) return report(gate(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP, 0));
    if (!strcmp(t, "gate-netlink")) return report(gate(SYS_socket, AF_NETLINK, SOCK_RAW, 0, 0));
    if (!strcmp(t, "gate-udp")) return report(gate(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0));
    if (!strcmp(t, "ptrace-attach")) return report(syscall(SYS_ptrace, PTRACE_ATTACH, atoi(arg), 0, 0));
    if (!strcmp(t, "mount")) return report(syscall(SYS_mount, "none", "/", "tmpfs", 0, 0));
    if (!strcmp(t, "unshare")) return report(syscall(SYS_unshare, 0x10000000));
    if (!strcmp(t, "chroot")) return report(syscall(SYS_chroot, "/"));
    if (!strcmp(t, "gate-chroot")) return report(gate(SYS_chroot, (long)"/", 0, 0, 0));
    if (!strcmp(t, "setns")) return report(syscall(SYS_setns, 0, 0));
    /* The box's own mount namespace file: the library OS answers (0 for the box's root,
     * EPERM for another user), and the namespace is the one it was. */
    if (!strcmp(t, "setns-own")) {
        char before[64] = "", after[64] = "";
        readlink("/proc/self/ns/mnt", before, sizeof before - 1);
        int fd = open("/proc/self/ns/mnt", O_RDONLY);
        long r = syscall(SYS_setns, fd, CLONE_NEWNS);
        int e = errno;
        readlink("/proc/self/ns/mnt", after, sizeof after - 1);
        if (strcmp(before, after) != 0) { printf("the namespace changed\n"); return 1; }
        errno = e;
        return report(r);
    }
    if (!strcmp(t, "gate-setns")) {
        int fd = open("/proc/self/ns/mnt", O_RDONLY);
        return report(gate(SYS_setns, fd < 0 ? 0 : fd, 0, 0, 0));
    }
    if (!strcmp(t, "kill-host")) return report(kill(atoi(arg), SIGTERM));
    if (!strcmp(t, "kill-all")) return report(kill(-1, SIGKILL));
    if (!strcmp(t, "syslog-twice")) { syscall(SYS_syslog, 3, 0, 0); return report(syscall(SYS_syslog, 3, 0, 0)); }
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
        return report(syscall(SYS_syslog, 3, 0, 0));
    }
    /* Direct calls into the gate: the kernel policy, not the library OS, must refuse. */
    if (!strcmp(t, "gate-execve")) { char *av[] = {(char *)arg, NULL}; return report(gate(SYS_execve, (long)arg, (long)av, 0, 0)); }
    if (!strcmp(t, "gate-ptrace")) return report(gate(SYS_ptrace, 0, 0, 0, 0));
    if (!strcmp(t, "gate-kill")) return report(gate(SYS_kill, atoi(arg), SIGKILL, 0, 0));
    /* Another process's memory: read a page of it (the address is the caller's own stack,
     * which any process of this program has mapped). */
    if (!strcmp(t, "process-vm-read") || !strcmp(t, "gate-process-vm-read")) {
        char buf[16], *there = buf;
        struct iovec local = {buf, sizeof buf}, remote = {there, sizeof buf};
        if (!strcmp(t, "process-vm-read"))
            return report(process_vm_readv(atoi(arg), &local, 1, &remote, 1, 0));
        gate_fn g = (gate_fn)getauxval(0x7062);
        if (!g) { printf("no gate\n"); exit(2); }
        long r = g(SYS_process_vm_readv, atoi(arg), (long)&local, 1, (long)&remote, 1, 0);
        if (r < 0 && r > -4096) { errno = -r; r = -1; }
        return report(r);
    }
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
    if (!strcmp(t, "gate-link-from-descriptors")) {
        /* linkat(fd1, arg, fd2, argv[3], 0) at the gate over every pair of descriptors: any
         * success wins, then any refusal but EXDEV, then EXDEV (across mounts), then ENOENT. */
        const char *to = argc > 3 ? argv[3] : "x";
        long r = -1, worst = 0;
        int seen_exdev = 0, seen_enoent = 0;
        for (long a = 3; a < 64 && r < 0; a++)
            for (long b = 3; b < 64 && r < 0; b++) {
                if (a == b) continue;
                r = gate(SYS_linkat, a, (long)arg, b, (long)to); /* flags: the gate passes 0 */
                if (r >= 0) break;
                if (errno == EXDEV) seen_exdev = 1;
                else if (errno == ENOENT) seen_enoent = 1;
                else if (errno != EBADF && errno != ENOTDIR) worst = errno;
            }
        if (r < 0) errno = worst ? worst : seen_exdev ? EXDEV : seen_enoent ? ENOENT : EBADF;
        return report(r);
    }
    printf("unknown test %s\n", t);
    return 2;
}
