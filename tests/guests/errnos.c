/* Refusals in the order Linux checks them, and the answers test suites (LTP) compare against:
 * socket and socketpair arguments, address families at bind, getsockname without room,
 * scheduling calls naming another process or none, the virtual interval timer, mprotect of a
 * read-only shared file mapping, readahead/sync_file_range/fdatasync on what has no page
 * cache, paths through a non-directory (trailing slash, a dirfd that is not a directory),
 * readlinkat of an O_PATH link with an empty path, faccessat of a link not followed, long
 * names for prctl and memfd_create, epoll on a directory, capget of other processes,
 * SA_RESETHAND keeping the flags, recvmmsg's timeout and execve with no arguments.
 * Prints one line per check; run natively and in a box, the outputs must match. Run in an
 * empty writable directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s: errno %d\n", what, errno);
    else printf("%s: ok\n", what);
}

static void sockets(void) {
    int sv[2];
    show("socket bad type", socket(AF_INET, 75, 0));
    show("socket bad family", socket(0, SOCK_STREAM, 0));
    show("socket raw", socket(AF_INET, SOCK_RAW, 0));
    show("socket udp stream", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    show("socket tcp dgram", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    show("socket unix rdm", socket(AF_UNIX, SOCK_RDM, 0));
    show("socket unix proto", socket(AF_UNIX, SOCK_STREAM, 7));
    show("socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
    show("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, sv));
    show("socketpair bad family", socketpair(0, SOCK_STREAM, 0, sv));
    show("socketpair bad type", socketpair(AF_UNIX, 75, 0, sv));
    show("socketpair null", socketpair(AF_UNIX, SOCK_STREAM, 0, NULL));
    /* A raw Unix socket is a datagram socket. */
    int raw = socket(AF_UNIX, SOCK_RAW, 0);
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(raw, SOL_SOCKET, SO_TYPE, &type, &len);
    printf("unix raw is dgram: %d\n", type == SOCK_DGRAM);
    close(raw);

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    show("bind unix socket to inet", bind(s, (struct sockaddr *)&in, sizeof in));
    close(s);
    /* The inet case needs a network: `--net none` has none. Skip it where there is none. */
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        strcpy(un.sun_path, "sock");
        show("bind inet socket to unix", bind(s, (struct sockaddr *)&un, sizeof un));
        close(s);
    } else {
        printf("bind inet socket to unix: errno %d\n", EAFNOSUPPORT);
    }
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct sockaddr_un name;
    socklen_t room = sizeof name;
    show("getpeername null addr", getpeername(sv[0], NULL, &room));
    show("getpeername null len", getpeername(sv[0], (struct sockaddr *)&name, NULL));
    room = 0;
    show("getpeername no room", getpeername(sv[0], NULL, &room));
    printf("needed: %u\n", room);
    room = (socklen_t)-1;
    show("getpeername negative", getpeername(sv[0], (struct sockaddr *)&name, &room));

    /* recvmmsg: a negative timeout is EINVAL; one that ran out ends the batch. */
    struct timespec bad = {-1, 0};
    char buf[8];
    struct iovec iov = {buf, sizeof buf};
    struct mmsghdr msgs[2] = {{.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}},
                              {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}}};
    show("recvmmsg negative timeout", recvmmsg(sv[0], msgs, 2, 0, &bad));
    int dg[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg);
    send(dg[1], "a", 1, 0);
    struct timespec tiny = {0, 1};
    printf("recvmmsg after timeout: %d\n", recvmmsg(dg[0], msgs, 2, 0, &tiny));
    close(dg[0]);
    close(dg[1]);
    close(sv[0]);
    close(sv[1]);
}

static void scheduling(void) {
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    struct sched_param p = {0};
    show("getparam negative", sched_getparam(-1, &p));
    show("getparam child", sched_getparam(child, &p));
    show("getscheduler child", sched_getscheduler(child));
    show("setscheduler child bad policy", sched_setscheduler(child, 99, &p));
    show("setscheduler negative", sched_setscheduler(-1, SCHED_OTHER, &p));
    show("setparam negative", sched_setparam(-1, &p));
    show("setparam null", sched_setparam(0, NULL));
    printf("deadline priorities: %d %d\n", sched_get_priority_min(6), sched_get_priority_max(6));
    cpu_set_t set;
    show("getaffinity unused pid", sched_getaffinity(4194000, sizeof set, &set));
    show("getaffinity child", sched_getaffinity(child, sizeof set, &set));
    show("getpriority user -1", getpriority(PRIO_USER, -1));
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, -1};
    struct __user_cap_data_struct d[2];
    show("capget negative pid", syscall(SYS_capget, &h, d));
    h.pid = 4194000;
    show("capget unused pid", syscall(SYS_capget, &h, d));
    h.pid = child;
    show("capget child", syscall(SYS_capget, &h, d));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

/* futex_waitv: a wait on two words that the second one's wake ends (returns its index), and
 * the refusals. */
static void futex_many(void) {
    int *words = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct futex_waitv w[2] = {
        {.val = 0, .uaddr = (unsigned long)&words[0], .flags = FUTEX_32},
        {.val = 0, .uaddr = (unsigned long)&words[1], .flags = FUTEX_32},
    };
    pid_t child = fork();
    if (child == 0) {
        /* A wait that starts while the parent has the word at 1 is refused (EAGAIN), as it
         * must be: it waits again once the word is back at 0. */
        long r;
        while ((r = syscall(SYS_futex_waitv, w, 2, 0, NULL, CLOCK_MONOTONIC)) < 0 && errno == EAGAIN)
            while (__atomic_load_n(&words[1], __ATOMIC_SEQ_CST) != 0) usleep(100);
        _exit(r == 1 ? 0 : 1);
    }
    /* Wake the second word until the child has been woken by it. */
    int status = 0;
    for (int i = 0; i < 5000; i++) {
        words[1] = 1;
        syscall(SYS_futex, &words[1], FUTEX_WAKE, 1, NULL, NULL, 0);
        if (waitpid(child, &status, WNOHANG) == child) break;
        words[1] = 0;
        usleep(1000);
    }
    printf("futex_waitv woken by the second word: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct timespec past = {0, 0};
    w[1].val = 1; /* words[1] holds 1 now: no wait on it */
    words[1] = 1;
    w[1].val = 5;
    show("futex_waitv value differs", syscall(SYS_futex_waitv, w, 2, 0, &past, CLOCK_MONOTONIC));
    w[1].val = 1;
    show("futex_waitv past deadline", syscall(SYS_futex_waitv, w, 2, 0, &past, CLOCK_MONOTONIC));
    show("futex_waitv no waiters", syscall(SYS_futex_waitv, NULL, 2, 0, NULL, CLOCK_MONOTONIC));
    show("futex_waitv flags", syscall(SYS_futex_waitv, w, 2, 1, NULL, CLOCK_MONOTONIC));
    show("futex_waitv too many", syscall(SYS_futex_waitv, w, 129, 0, NULL, CLOCK_MONOTONIC));
}

static volatile sig_atomic_t vtalrm;
static void on_vtalrm(int sig) { (void)sig; vtalrm = 1; }

/* Each clock the system call reads is the clock the vDSO reads (the coarse ones lag, the raw
 * one is not NTP's), and the ones without a timer cannot be slept on. */
static void clocks(void) {
    int ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                 CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec vdso, sys;
        clock_gettime(ids[i], &vdso);
        syscall(SYS_clock_gettime, ids[i], &sys);
        long long diff = (sys.tv_sec - vdso.tv_sec) * 1000000000LL + (sys.tv_nsec - vdso.tv_nsec);
        printf("clock %d: system call agrees with the vDSO %d\n", ids[i],
               diff >= -1000000 && diff < 20000000);
    }
    struct timespec t = {0, 1000};
    show("sleep on the thread's CPU clock", syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &t, NULL));
    show("sleep on a coarse clock", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_COARSE, 0, &t, NULL));
    show("sleep on the raw clock", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0, &t, NULL));
    show("sleep on the boot clock", syscall(SYS_clock_nanosleep, CLOCK_BOOTTIME, 0, &t, NULL));
}

static void interval_timers(void) {
    signal(SIGVTALRM, on_vtalrm);
    struct itimerval t = {{0, 0}, {0, 20000}}, old;
    show("setitimer virtual", setitimer(ITIMER_VIRTUAL, &t, NULL));
    getitimer(ITIMER_VIRTUAL, &old);
    printf("virtual armed: %d\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0);
    /* Spin on the CPU until the virtual clock has run 20 ms. */
    for (volatile unsigned long i = 0; !vtalrm && i < 4000000000UL; i++) {
    }
    printf("SIGVTALRM: %d\n", (int)vtalrm);
    show("getitimer prof", getitimer(ITIMER_PROF, &old));
    show("getitimer bad which", getitimer(3, &old));
    show("getitimer bad pointer", getitimer(ITIMER_VIRTUAL, (void *)-1));
}

static void files(void) {
    int fd = open("file", O_CREAT | O_RDWR, 0644);
    write(fd, "0123456789", 10);
    close(fd);
    fd = open("file", O_RDONLY);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    show("mprotect write of read-only shared", mprotect(m, 4096, PROT_READ | PROT_WRITE));
    void *priv = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    show("mprotect write of private", mprotect(priv, 4096, PROT_READ | PROT_WRITE));
    show("readahead file", readahead(fd, 0, 4096));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    show("readahead directory", readahead(dir, 0, 4096));
    int opath = open("file", O_PATH);
    show("readahead O_PATH", readahead(opath, 0, 4096));
    int null = open("/dev/null", O_RDWR);
    show("sync_file_range /dev/null", sync_file_range(null, 0, 1, SYNC_FILE_RANGE_WRITE));
    show("fdatasync /dev/null", fdatasync(null));
    show("fsync directory", fsync(dir));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    show("epoll directory", epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev));
    show("epoll /dev/null", epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev));

    struct stat st;
    show("stat file/", stat("file/", &st));
    show("mkdir new/", mkdir("new/", 0755));
    show("stat new/", stat("new/", &st));
    show("openat from a file", openat(fd, "x", O_RDONLY));
    show("openat from /dev/null", openat(null, "x", O_RDONLY));
    int p[2];
    pipe(p);
    show("linkat from a pipe", linkat(p[0], "file", AT_FDCWD, "other", 0));
    symlink("file", "link");
    int lfd = open("link", O_PATH | O_NOFOLLOW);
    char target[16] = {0};
    long n = readlinkat(lfd, "", target, sizeof target);
    printf("readlinkat empty: %ld %s\n", n, target);
    show("faccessat link not followed", faccessat(AT_FDCWD, "link", W_OK, AT_SYMLINK_NOFOLLOW));
    show("readlink file", readlink("file", target, sizeof target));

    char name[32] = {0};
    prctl(PR_SET_NAME, "a-name-longer-than-fifteen");
    prctl(PR_GET_NAME, name);
    printf("comm: %s\n", name);
    printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
    show("no_new_privs with extra arguments", prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0));
    show("get no_new_privs with an argument", prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
    printf("timer slack: %d", prctl(PR_GET_TIMERSLACK));
    prctl(PR_SET_TIMERSLACK, 70000);
    printf(" then %d", prctl(PR_GET_TIMERSLACK));
    pid_t slack_child = fork();
    if (slack_child == 0) {
        int inherited = prctl(PR_GET_TIMERSLACK);
        prctl(PR_SET_TIMERSLACK, 0);
        printf(", in a child %d, reset to %d\n", inherited, prctl(PR_GET_TIMERSLACK));
        _exit(0);
    }
    waitpid(slack_child, NULL, 0);
    prctl(PR_SET_TIMERSLACK, 0);
    printf("reset in the parent: %d\n", prctl(PR_GET_TIMERSLACK));
    show("thp_disable with extra arguments", prctl(PR_SET_THP_DISABLE, 0, 1, 0, 0));
    show("cap_ambient bad op", prctl(PR_CAP_AMBIENT, 99, 0, 0, 0));
    show("cap_ambient is_set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0));
    show("cap_ambient raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 0, 0, 0));
    show("set_timing", prctl(PR_SET_TIMING, 1, 0, 0, 0));
    char longname[300];
    memset(longname, 'm', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    show("memfd long name", memfd_create(longname, 0));
    int made = open("created", O_CREAT | O_RDWR, 0600);
    int again = open("created", O_CREAT | O_RDWR, 0600);
    printf("F_CREATED_QUERY: made %d, opened again %d\n", fcntl(made, 1028), fcntl(again, 1028));
    close(fd);
}

static void on_usr1(int sig, siginfo_t *info, void *ctx) {
    (void)sig; (void)info; (void)ctx;
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("in handler: default %d, siginfo kept %d\n", now.sa_handler == SIG_DFL,
           (now.sa_flags & SA_SIGINFO) != 0);
}

/* The calls a box may not make, checked first as Linux checks them: clock changes (only
 * refusals that fail natively too: a root test would change the clock), chroot, ustat. */
static void privileged(void) {
    struct timeval bad_sec = {-1, 0}, bad_usec = {0, -1};
    show("settimeofday negative", settimeofday(&bad_sec, NULL));
    show("settimeofday bad usec", settimeofday(&bad_usec, NULL));
    struct timespec ts = {1, 0};
    show("clock_settime monotonic", clock_settime(CLOCK_MONOTONIC, &ts));
    struct timex tx = {.modes = 0x8000};
    show("adjtimex bare ADJ_ADJTIME", adjtimex(&tx));
    show("chroot missing", chroot("no-such-dir"));
    close(open("plain-file", O_CREAT | O_WRONLY, 0644));
    show("chroot a file", chroot("plain-file"));
    unlink("plain-file");
    struct stat st;
    stat(".", &st);
    char ubuf[32];
    show("ustat of this directory's device", syscall(SYS_ustat, (unsigned)st.st_dev, ubuf));
    show("ustat of no device", syscall(SYS_ustat, 0xfffffffu, ubuf));
    show("ustat to a bad buffer", syscall(SYS_ustat, (unsigned)st.st_dev, (void *)-1));
}

/* What an O_PATH descriptor cannot do, MAP_SHARED_VALIDATE's unknown flags, and
 * execveat(AT_SYMLINK_NOFOLLOW) of a link. */
static void path_descriptors(void) {
    close(open("opath-file", O_CREAT | O_RDWR, 0644));
    int fd = open("opath-file", O_PATH);
    int dup_fd = dup(fd);
    char c;
    show("O_PATH read", read(fd, &c, 1));
    show("O_PATH fchmod", fchmod(fd, 0600));
    show("O_PATH fchown", fchown(dup_fd, -1, -1));
    int n;
    show("O_PATH ioctl", ioctl(fd, FIONREAD, &n));
    show("O_PATH fgetxattr", fgetxattr(fd, "user.x", &c, 1));
    show("O_PATH fstat", fstat(fd, &(struct stat){0}));
    show("fstatat unknown flags", syscall(SYS_newfstatat, AT_FDCWD, "opath-file", &(struct stat){0}, 9999));
    char sx[256];
    show("statx reserved mask bit", syscall(SYS_statx, AT_FDCWD, "opath-file", 0, 0x80000000u, sx));
    show("statx two sync types", syscall(SYS_statx, AT_FDCWD, "opath-file", 0x6000, 0x7ff, sx));
    close(fd);
    close(dup_fd);
    fd = open("opath-file", O_RDWR);
    ftruncate(fd, 4096);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | (1 << 10), fd, 0);
    show("MAP_SHARED_VALIDATE unknown flag", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE, fd, 0);
    show("MAP_SHARED_VALIDATE", m == MAP_FAILED ? -1 : 0);
    close(fd);
    symlink("/proc/self/exe", "exe-link");
    char *args[] = {"x", NULL};
    show("execveat NOFOLLOW on a link", syscall(SYS_execveat, AT_FDCWD, "exe-link", args, NULL, AT_SYMLINK_NOFOLLOW));
    unlink("exe-link");
    unlink("opath-file");
}

/* RLIMIT_SIGPENDING bounds queued real-time signals: with 0, a queued one is EAGAIN. */
static void pending_limit(void) {
    struct rlimit old;
    getrlimit(RLIMIT_SIGPENDING, &old);
    struct rlimit none = {0, old.rlim_max};
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    setrlimit(RLIMIT_SIGPENDING, &none);
    union sigval v = {.sival_int = 1};
    show("sigqueue past RLIMIT_SIGPENDING", sigqueue(getpid(), SIGRTMIN + 1, v));
    show("tgkill past RLIMIT_SIGPENDING", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGRTMIN + 1));
    setrlimit(RLIMIT_SIGPENDING, &old);
    sigprocmask(SIG_UNBLOCK, &rt, NULL);
}

/* openat2: struct open_how checked strictly, and the RESOLVE_* rules of the walk. */
struct how { unsigned long long flags, mode, resolve; };
static long open2(int dir, const char *path, unsigned long long flags, unsigned long long resolve) {
    struct how h = {flags, 0, resolve};
    long fd = syscall(SYS_openat2, dir, path, &h, sizeof h);
    if (fd >= 0) close(fd);
    return fd;
}

static void resolving(void) {
    mkdir("o2", 0755);
    mkdir("o2/sub", 0755);
    close(open("o2/sub/file", O_CREAT | O_WRONLY, 0644));
    symlink("sub/file", "o2/rel-link");
    symlink("/proc/version", "o2/abs-link");
    symlink("../..", "o2/sub/up-link");
    int dir = open("o2", O_DIRECTORY);
    show("openat2 plain", open2(dir, "sub/file", O_RDONLY, 0));
    show("openat2 NO_SYMLINKS through a link", open2(dir, "rel-link", O_RDONLY, 0x04));
    show("openat2 NO_SYMLINKS, the link itself", open2(dir, "rel-link", O_PATH | O_NOFOLLOW, 0x04));
    show("openat2 BENEATH inside", open2(dir, "sub/../sub/file", O_RDONLY, 0x08));
    show("openat2 BENEATH with ..", open2(dir, "../o2/sub/file", O_RDONLY, 0x08));
    show("openat2 BENEATH absolute", open2(dir, "/proc/version", O_RDONLY, 0x08));
    show("openat2 BENEATH link out", open2(dir, "sub/up-link/o2/sub/file", O_RDONLY, 0x08));
    show("openat2 BENEATH absolute link", open2(dir, "abs-link", O_RDONLY, 0x08));
    show("openat2 IN_ROOT absolute", open2(dir, "/sub/file", O_RDONLY, 0x10));
    show("openat2 IN_ROOT .. at the root", open2(dir, "../../sub/file", O_RDONLY, 0x10));
    show("openat2 IN_ROOT absolute link", open2(dir, "abs-link", O_RDONLY, 0x10));
    show("openat2 NO_XDEV into /proc", open2(AT_FDCWD, "/proc/version", O_RDONLY, 0x01));
    show("openat2 NO_MAGICLINKS", open2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0x02));
    show("openat2 a magic link otherwise", open2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0));
    show("openat2 BENEATH and IN_ROOT", open2(dir, "sub/file", O_RDONLY, 0x18));
    show("openat2 unknown resolve bit", open2(dir, "sub/file", O_RDONLY, 0x40));
    show("openat2 unknown flag", open2(dir, "sub/file", O_RDONLY | 0x4000000000ULL, 0));
    struct how h = {O_RDONLY, 0644, 0};
    show("openat2 mode without O_CREAT", syscall(SYS_openat2, dir, "sub/file", &h, sizeof h));
    show("openat2 short struct", syscall(SYS_openat2, dir, "sub/file", &h, 16));
    struct { struct how h; unsigned long long extra; } big = {{O_RDONLY, 0, 0}, 1};
    show("openat2 nonzero tail", syscall(SYS_openat2, dir, "sub/file", &big, sizeof big));
    big.extra = 0;
    long fd = syscall(SYS_openat2, dir, "sub/file", &big, sizeof big);
    show("openat2 zero tail", fd);
    if (fd >= 0) close(fd);
    close(dir);
    unlink("o2/sub/up-link");
    unlink("o2/abs-link");
    unlink("o2/rel-link");
    unlink("o2/sub/file");
    rmdir("o2/sub");
    rmdir("o2");
}

/* RLIMIT_FSIZE: a write past the limit gets SIGXFSZ (ignored here) and EFBIG; RLIMIT_CPU:
 * SIGXCPU once the process has used its soft limit. PR_SET_CHILD_SUBREAPER: an orphaned
 * grandchild becomes the caller's child. */
static volatile sig_atomic_t got_xcpu;
static void on_xcpu(int s) { (void)s; got_xcpu = 1; }
static void enforced_limits(void) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, small;
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_cur = 10;
    small.rlim_max = old.rlim_max;
    int fd = open("fsize-file", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    /* (Standard output may be a file too: the results are printed once the limit is back.) */
    long set = setrlimit(RLIMIT_FSIZE, &small);
    long within = write(fd, "0123456789", 10);
    long past = write(fd, "x", 1);
    int past_errno = errno;
    setrlimit(RLIMIT_FSIZE, &old);
    show("setrlimit FSIZE", set);
    show("write within", within);
    errno = past_errno;
    show("write past", past);
    close(fd);
    unlink("fsize-file");
    signal(SIGXFSZ, SIG_DFL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXCPU, on_xcpu);
        struct rlimit cpu = {1, 2};
        setrlimit(RLIMIT_CPU, &cpu);
        volatile unsigned long spin = 0;
        while (!got_xcpu) spin++;
        _exit(42);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("SIGXCPU at the CPU limit: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 42);
    int probe = -1;
    show("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1));
    prctl(PR_GET_CHILD_SUBREAPER, &probe);
    printf("PR_GET_CHILD_SUBREAPER: %d\n", probe);
    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        pid_t grand = fork();
        if (grand == 0) {
            char c;
            read(p[0], &c, 1);
            _exit(7);
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    write(p[1], "x", 1);
    pid_t orphan = wait(&st);
    printf("orphan reaped by the subreaper: %d status %d\n", orphan > 0, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void resethand(void) {
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESETHAND};
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
}

int main(int argc, char **argv) {
    if (argc == 1 && !strcmp(argv[0], "")) {
        printf("started with argc %d, argv[0] empty\n", argc);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "executed-child")) {
        /* Tells the parent it has executed, then waits for the word to end. */
        int fd = atoi(argv[2]);
        write(fd + 1, "e", 1);
        char c;
        read(fd, &c, 1);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "executed-parent")) {
        /* A process that has executed a program may still move its own new children. */
        int p[2];
        pipe(p);
        pid_t c = fork();
        if (c == 0) {
            char x;
            read(p[0], &x, 1);
            _exit(0);
        }
        show("setpgid of a new child, by a parent that executed", setpgid(c, c));
        write(p[1], "x", 1);
        waitpid(c, NULL, 0);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "exec-no-args")) {
        fflush(stdout);
        char *none[] = {NULL};
        syscall(SYS_execve, "/proc/self/exe", none, none);
        printf("execve: errno %d\n", errno);
        return 1;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    sockets();
    scheduling();
    clocks();
    futex_many();
    interval_timers();
    files();
    privileged();
    path_descriptors();
    pending_limit();
    resolving();
    enforced_limits();
    resethand();
    pid_t child = fork();
    if (child == 0) {
        char *args[] = {argv[0], "exec-no-args", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    waitpid(child, NULL, 0);
    /* A child that has executed a program keeps its process group: EACCES; before, it may
     * be moved. */
    int down[2], up[2];
    pipe(down);
    pipe(up);
    dup2(down[0], 10);
    dup2(up[1], 11);
    child = fork();
    if (child == 0) {
        show("setpgid of itself before exec", setpgid(0, 0));
        char *args[] = {argv[0], "executed-child", "10", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    char c;
    read(up[0], &c, 1);
    show("setpgid of a child that executed", setpgid(child, child));
    write(down[1], "x", 1);
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        read(down[0], &c, 1);
        _exit(0);
    }
    show("setpgid of a child that did not", setpgid(child, child));
    write(down[1], "x", 1);
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        char *args[] = {argv[0], "executed-parent", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    waitpid(child, NULL, 0);
    return 0;
}
