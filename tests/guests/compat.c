/* System calls that test suites and runtimes make in their set-up: credentials, priorities
 * and scheduling, memory locking, vectored I/O at offsets, the old directory and time calls,
 * fallocate, close_range, memfd_create, copy_file_range, sendmmsg/recvmmsg, extended
 * attributes, hard links. Prints one line per check; run natively and in a box, the outputs
 * must match. Run in an empty writable directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/random.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s: errno %d\n", what, errno);
    else printf("%s: %ld\n", what, r);
}

static void credentials(void) {
    uid_t r, e, s;
    show("getresuid", getresuid(&r, &e, &s));
    printf("ids: %u %u %u\n", r, e, s);
    /* Become nobody with root saved, come back, then drop for good (in a child). */
    pid_t child = fork();
    if (child == 0) {
        if (getuid() == 0) {
            show("setresuid keep saved", setresuid(65534, 65534, 0));
            show("geteuid", geteuid());
            show("setuid back", setuid(0));
            show("setgroups", setgroups(0, NULL));
            show("getgroups", getgroups(0, NULL));
            show("setgid", setgid(65534));
            show("setuid drop", setuid(65534));
            show("setuid regain", setuid(0));
            show("getuid", getuid());
            show("setreuid swap", setreuid(-1, 65534));
        } else {
            show("setuid other", setuid(0));
            show("setgroups", setgroups(0, NULL));
        }
        exit(0);
    }
    waitpid(child, NULL, 0);
}

static void scheduling(void) {
    show("getpriority", getpriority(PRIO_PROCESS, 0));
    show("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
    show("getpriority", getpriority(PRIO_PROCESS, 0));
    show("sched_getscheduler", sched_getscheduler(0));
    struct sched_param p = {0};
    show("sched_setscheduler batch", sched_setscheduler(0, SCHED_BATCH, &p));
    show("sched_getscheduler", sched_getscheduler(0));
    show("sched_setscheduler other", sched_setscheduler(0, SCHED_OTHER, &p));
    show("max fifo", sched_get_priority_max(SCHED_FIFO));
    show("min other", sched_get_priority_min(SCHED_OTHER));
    show("bad policy", sched_get_priority_max(42));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    show("sched_setaffinity cpu0", sched_setaffinity(0, sizeof set, &set));
    unsigned int cpu = 99, node = 99;
    show("getcpu", syscall(SYS_getcpu, &cpu, &node, 0));
    printf("pinned to cpu %u node %u\n", cpu, node);
    cpu_set_t got;
    CPU_ZERO(&got);
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof got, &got);
    printf("sched_getaffinity: %ld bytes, only cpu0 %d\n", bytes,
           CPU_COUNT(&got) == 1 && CPU_ISSET(0, &got));
    show("sched_getaffinity of 7 bytes", syscall(SYS_sched_getaffinity, 0, 7, &got));
    CPU_ZERO(&set);
    CPU_SET(1000, &set);
    show("sched_setaffinity to no CPU there is", sched_setaffinity(0, sizeof set, &set));
    show("getpriority of pid -1", getpriority(PRIO_PROCESS, -1));
    show("ARCH_GET_CPUID", syscall(SYS_arch_prctl, 0x1011, 0));
    /* 0 where the CPU can make CPUID fault, ENODEV where it cannot (the box's never can):
     * either is Linux's answer, so only that is compared. */
    long cpuid_set = syscall(SYS_arch_prctl, 0x1012, 1);
    printf("ARCH_SET_CPUID 1: 0 or ENODEV %d\n", cpuid_set == 0 || errno == ENODEV);
    syscall(SYS_arch_prctl, 0x1012, 1);
    unsigned int cap_v1[2] = {0x19980330, 0}, cap_data[6] = {0};
    show("capget version 1", syscall(SYS_capget, cap_v1, cap_data));
    printf("capget version 1 left the second struct alone: %d\n", cap_data[3] == 0 && cap_data[4] == 0);
    show("personality query", personality(0xffffffff));
    show("personality ADDR_NO_RANDOMIZE", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
    show("personality back, old value", personality(PER_LINUX));
    show("personality query after", personality(0xffffffff));
}

static void memory(void) {
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mlock", mlock(m, 8192));
    show("munlock", munlock(m, 8192));
    munmap(m, 8192);
    show("mlock unmapped", mlock(m, 8192));
    {
        /* kcmp within the process, and of the address space against a child's. */
        int kf = open("/proc/self/comm", O_RDONLY), kd = dup(kf), ko = open("/proc/self/comm", O_RDONLY);
        pid_t me = getpid();
        show("kcmp of a dup", syscall(SYS_kcmp, me, me, 0, kf, kd));
        long kr = syscall(SYS_kcmp, me, me, 0, kf, ko);
        printf("kcmp of another open: differ %d\n", kr == 1 || kr == 2);
        show("kcmp bad type", syscall(SYS_kcmp, me, me, 8, kf, kd));
        show("kcmp negative type", syscall(SYS_kcmp, me, me, -1, kf, kd));
        show("kcmp bad descriptor", syscall(SYS_kcmp, me, me, 0, kf, 999));
        show("kcmp no such process", syscall(SYS_kcmp, me, 99999999, 0, kf, kd));
        show("kcmp own address space", syscall(SYS_kcmp, me, me, 1, 0, 0));
        pid_t kc = fork();
        if (kc == 0) {
            pause();
            _exit(0);
        }
        kr = syscall(SYS_kcmp, me, kc, 1, 0, 0);
        printf("kcmp of a child's address space: differ %d\n", kr == 1 || kr == 2);
        kill(kc, SIGKILL);
        waitpid(kc, NULL, 0);
        close(kf);
        close(kd);
        close(ko);
    }
    {
        /* cachestat of a file just written: its pages are in the page cache. */
        char cname[] = "cachestat-XXXXXX";
        int cf = mkstemp(cname);
        unlink(cname);
        static char page[4 * 4096];
        memset(page, 'p', sizeof page);
        write(cf, page, sizeof page);
        unsigned long long range[2] = {0, 0}, cst[5] = {0};
        show("cachestat", syscall(451, cf, range, cst, 0));
        printf("cachestat: %llu cached or evicted of 4\n", cst[0] + cst[3]);
        show("cachestat flags", syscall(451, cf, range, cst, 1));
        show("cachestat bad descriptor", syscall(451, 999, range, cst, 0));
        show("cachestat bad range", syscall(451, cf, (void *)8, cst, 0));
        show("cachestat bad out", syscall(451, cf, range, (void *)8, 0));
        close(cf);
    }
    show("membarrier bad", syscall(SYS_membarrier, 99, 0, 0));
    long q = syscall(SYS_membarrier, 0, 0, 0);
    printf("membarrier query has the barriers and registrations: %d\n", (q & 0x27f) == 0x27f);
    show("membarrier query with a flag", syscall(SYS_membarrier, 0, 1, 0));
    show("membarrier global", syscall(SYS_membarrier, 1, 0, 0));
    show("membarrier private unregistered", syscall(SYS_membarrier, 8, 0, 0));
    show("membarrier register private", syscall(SYS_membarrier, 16, 0, 0));
    show("membarrier private", syscall(SYS_membarrier, 8, 0, 0));
    show("membarrier sync-core unregistered", syscall(SYS_membarrier, 32, 0, 0));
    show("membarrier registrations", syscall(SYS_membarrier, 512, 0, 0));
    if (fork() == 0) {
        show("membarrier private in a forked child", syscall(SYS_membarrier, 8, 0, 0));
        _exit(0);
    }
    wait(NULL);
}

static void files(void) {
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char a[] = "hello ", b[] = "world\n";
    struct iovec w[2] = {{a, 6}, {b, 6}};
    show("pwritev", pwritev(fd, w, 2, 4));
    char x[5] = {0}, y[7] = {0};
    struct iovec rd[2] = {{x, 4}, {y, 6}};
    show("preadv", preadv(fd, rd, 2, 6));
    printf("read: [%s][%s]\n", x, y);
    show("preadv2 at -1", preadv2(fd, rd, 1, -1, 0));
    struct iovec huge[2] = {{x, 4}, {y, (size_t)-1}};
    show("readv negative length", readv(fd, huge, 2));
    show("readv too many", readv(fd, rd, 1025));
    show("utime through a file", utime("data/x", NULL));
    show("lseek", lseek(fd, 0, SEEK_CUR));
    show("fallocate", fallocate(fd, 0, 0, 100));
    struct stat st;
    fstat(fd, &st);
    printf("size after fallocate: %ld\n", (long)st.st_size);
    show("fallocate punch", fallocate(fd, 3, 0, 10));
    show("posix_fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    int out = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);
    loff_t off = 4;
    show("copy_file_range", copy_file_range(fd, &off, out, NULL, 12, 0));
    printf("offset now %ld\n", (long)off);
    char c[13] = {0};
    pread(out, c, 12, 0);
    printf("copied: %s", c);
    struct utimbuf ut = {1000000, 2000000};
    show("utime", utime("data", &ut));
    stat("data", &st);
    printf("mtime %ld atime %ld\n", (long)st.st_mtime, (long)st.st_atime);
    struct timeval tv[2] = {{3000000, 0}, {4000000, 500000}};
    show("utimes", utimes("data", tv));
    stat("data", &st);
    printf("mtime %ld\n", (long)st.st_mtime);
    show("link", link("data", "data-link"));
    stat("data", &st);
    printf("nlink %ld\n", (long)st.st_nlink);
    show("link exists", link("data", "copy"));
    char v[8];
    show("getxattr", getxattr("data", "user.none", v, sizeof v));
    show("listxattr", listxattr("data", v, sizeof v));
    show("getxattr missing file", getxattr("nothing", "user.none", v, sizeof v));
    mkdir("dir", 0755);
    close(open("dir/one", O_CREAT | O_WRONLY, 0644));
    int d = open("dir", O_RDONLY | O_DIRECTORY);
    char buf[1024];
    long n = syscall(SYS_getdents, d, buf, sizeof buf);
    int names = 0;
    for (long at = 0; at < n;) {
        unsigned short reclen = *(unsigned short *)(buf + at + 16);
        char *name = buf + at + 18;
        if (strcmp(name, ".") && strcmp(name, "..")) {
            printf("getdents: %s type %d\n", name, buf[at + reclen - 1]);
        }
        names++;
        at += reclen;
    }
    printf("getdents entries: %d\n", names);
    close(d);
    int m = memfd_create("scratch", MFD_CLOEXEC);
    show("memfd write", write(m, "in memory", 9));
    char back[10] = {0};
    show("memfd pread", pread(m, back, 9, 0));
    printf("memfd: %s\n", back);
    fstat(m, &st);
    printf("memfd size %ld regular %d\n", (long)st.st_size, S_ISREG(st.st_mode));
    int hi = dup2(fd, 60);
    show("close_range", syscall(SYS_close_range, 50, 70, 0));
    show("fcntl closed", fcntl(hi, F_GETFD));
    show("close_range bad", syscall(SYS_close_range, 9, 3, 0));
    close(fd);
    close(out);
    close(m);
}

static void messages(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    char m1[] = "one", m2[] = "two!";
    struct iovec i1 = {m1, 3}, i2 = {m2, 4};
    struct mmsghdr out[2];
    memset(out, 0, sizeof out);
    out[0].msg_hdr.msg_iov = &i1;
    out[0].msg_hdr.msg_iovlen = 1;
    out[1].msg_hdr.msg_iov = &i2;
    out[1].msg_hdr.msg_iovlen = 1;
    show("sendmmsg", sendmmsg(sv[0], out, 2, 0));
    printf("sent lengths %u %u\n", out[0].msg_len, out[1].msg_len);
    char r1[8] = {0}, r2[8] = {0};
    struct iovec j1 = {r1, 8}, j2 = {r2, 8};
    struct mmsghdr in[3];
    memset(in, 0, sizeof in);
    in[0].msg_hdr.msg_iov = &j1;
    in[0].msg_hdr.msg_iovlen = 1;
    in[1].msg_hdr.msg_iov = &j2;
    in[1].msg_hdr.msg_iovlen = 1;
    in[2].msg_hdr.msg_iov = &j2;
    in[2].msg_hdr.msg_iovlen = 1;
    show("recvmmsg", recvmmsg(sv[1], in, 3, MSG_DONTWAIT, NULL));
    printf("received %s(%u) %s(%u)\n", r1, in[0].msg_len, r2, in[1].msg_len);
}

static void accounting(void) {
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 50000000UL; i++) spin += i;
    struct rusage ru;
    show("getrusage", getrusage(RUSAGE_SELF, &ru));
    printf("cpu time counted: %d\n", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec > 0 ||
                                       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec > 1000);
    struct tms t;
    printf("times ticks: %d\n", times(&t) != (clock_t)-1);
    show("getrusage bad", getrusage(7, &ru));
    /* System time: the kernel zeroing pages, some 100 ms of it (more than a tick, however
     * loaded the machine). */
    for (int i = 0; i < 1000; i++) {
        void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        munmap(m, 1 << 20);
    }
    times(&t);
    printf("system time counted: %d\n", t.tms_stime > 0);
    /* A child's time is its parent's once the child is waited for. */
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t pid = fork();
    if (pid == 0) {
        for (unsigned long i = 0; i < 100000000UL; i++) spin += i;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    getrusage(RUSAGE_CHILDREN, &after);
    long grew = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000 +
                (after.ru_utime.tv_usec - before.ru_utime.tv_usec);
    printf("children's user time grew: %d\n", grew > 1000);
    times(&t);
    printf("children's ticks: %d\n", t.tms_cutime > 0);
    printf("peak memory counted: %d\n", after.ru_maxrss > 0);
}

/* The old sysfs(2) and /proc/filesystems: the same list. */
static void filesystem_types(void) {
    long count = syscall(SYS_sysfs, 3);
    printf("sysfs count positive: %d\n", count > 0);
    long proc = syscall(SYS_sysfs, 1, "proc");
    char name[64] = {0};
    show("sysfs name of proc's index", syscall(SYS_sysfs, 2, proc, name));
    printf("name: %s\n", name);
    show("sysfs bad option", syscall(SYS_sysfs, 9));
    show("sysfs unknown type", syscall(SYS_sysfs, 1, "nosuchfs"));
    show("sysfs index past the end", syscall(SYS_sysfs, 2, count, name));
    show("sysfs bad buffer", syscall(SYS_sysfs, 2, 0, (char *)8));
    show("sysfs bad name pointer", syscall(SYS_sysfs, 1, (char *)8));
    FILE *f = fopen("/proc/filesystems", "r");
    char line[128];
    int tmpfs = 0, lines = 0;
    while (f && fgets(line, sizeof line, f)) {
        lines++;
        tmpfs |= strcmp(line, "nodev\ttmpfs\n") == 0;
    }
    printf("/proc/filesystems lists tmpfs: %d, as many as sysfs: %d\n", tmpfs, lines == count);
}

/* mseal: a sealed range can no longer be unmapped, reprotected, moved or replaced. */
static void sealing(void) {
    char *m = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mseal flags", syscall(462, m, 4096, 1L));
    show("mseal unaligned", syscall(462, m + 1, 4096, 0L));
    munmap(m + 3 * 4096, 4096);
    show("mseal over a hole", syscall(462, m, 4 * 4096, 0L));
    show("mseal", syscall(462, m + 4096, 4096, 0L));
    show("munmap sealed", munmap(m, 3 * 4096));
    show("mprotect sealed", mprotect(m + 4096, 4096, PROT_NONE));
    show("madvise sealed", madvise(m + 4096, 4096, MADV_DONTNEED));
    void *r = mmap(m + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    show("map over sealed", r == MAP_FAILED ? -1 : 0);
    r = mremap(m + 4096, 4096, 8192, MREMAP_MAYMOVE);
    show("mremap sealed", r == MAP_FAILED ? -1 : 0);
    show("munmap beside", munmap(m, 4096));
}

/* Locked memory is counted in /proc/self/status, and msync will not invalidate it. */
static long locked_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        sscanf(line, "VmLck: %ld", &kb);
    if (f) fclose(f);
    return kb;
}

/* What a forked child gets: MADV_WIPEONFORK zero-fills (also in a grandchild), MADV_DONTFORK
 * leaves the range out, MADV_KEEPONFORK undoes wiping; wiping a shared mapping is EINVAL. */
static void fork_advice(void) {
    char *wipe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *drop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *keep = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(wipe, 7, 4096); memset(drop, 7, 4096); memset(keep, 7, 4096);
    show("MADV_WIPEONFORK", madvise(wipe, 4096, MADV_WIPEONFORK));
    show("MADV_DONTFORK", madvise(drop, 4096, MADV_DONTFORK));
    show("MADV_WIPEONFORK then KEEPONFORK", madvise(keep, 4096, MADV_WIPEONFORK) | madvise(keep, 4096, MADV_KEEPONFORK));
    show("MADV_WIPEONFORK on a shared mapping", madvise(shared, 4096, MADV_WIPEONFORK));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        unsigned char v;
        printf("child: wiped %d, kept %d, dropped range mapped %d\n", wipe[0] == 0 && wipe[4095] == 0,
               keep[0] == 7, mincore(drop, 4096, &v) == 0);
        fflush(stdout);
        memset(wipe, 9, 4096);
        pid_t grand = fork();
        if (grand == 0) {
            printf("grandchild: wiped %d\n", wipe[0] == 0);
            fflush(stdout);
            _exit(0);
        }
        waitpid(grand, NULL, 0);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("parent keeps its data: %d %d\n", wipe[0] == 7, drop[0] == 7);
}

/* mremap to a fixed place, and MREMAP_DONTUNMAP. */
static void remapping(void) {
    char *a = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *b = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 5, 2 * 4096);
    void *r = mremap(a, 2 * 4096, 2 * 4096, MREMAP_FIXED);
    show("MREMAP_FIXED without MAYMOVE", r == MAP_FAILED ? -1 : 0);
    r = mremap(a, 2 * 4096, 2 * 4096, MREMAP_FIXED | MREMAP_MAYMOVE, a + 4096);
    show("MREMAP_FIXED onto itself", r == MAP_FAILED ? -1 : 0);
    r = mremap(a, 2 * 4096, 3 * 4096, MREMAP_FIXED | MREMAP_MAYMOVE, b);
    printf("MREMAP_FIXED moved to the place asked: %d, data kept %d\n", r == b, b[4095] == 5);
    unsigned char v;
    printf("old place unmapped: %d\n", mincore(a, 4096, &v) != 0);
    char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    c[0] = 5;
    r = mremap(c, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    printf("MREMAP_DONTUNMAP: moved %d, old still mapped %d, old now empty %d, data moved %d\n",
           r != MAP_FAILED && r != c, mincore(c, 4096, &v) == 0, c[0] == 0, r != MAP_FAILED && ((char *)r)[0] == 5);
    r = mremap(b + 4096, 4096, 8192, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    show("MREMAP_DONTUNMAP with a new size", r == MAP_FAILED ? -1 : 0);
}

static void locking(void) {
    printf("VmLck before: %ld\n", locked_kb());
    char *m = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mlock", mlock(m, 2 * 4096));
    printf("VmLck after mlock: %ld\n", locked_kb());
    show("msync invalidate locked", msync(m, 4096, MS_INVALIDATE));
    show("msync invalidate unlocked", msync(m + 4 * 4096, 4096, MS_INVALIDATE));
    show("munlock", munlock(m, 4096));
    printf("VmLck after munlock: %ld\n", locked_kb());
    show("munlockall", munlockall());
    printf("VmLck after munlockall: %ld\n", locked_kb());
    int zero = open("/dev/zero", O_RDONLY);
    char *z = mmap(NULL, 4096, PROT_READ, MAP_SHARED, zero, 0);
    show("mprotect a read-only shared /dev/zero writable", mprotect(z, 4096, PROT_WRITE));
    close(zero);
}

/* File handles: their form and size, the mount id, and the refusals. */
static void handles(void) {
    int fd = open("handle-file", O_RDWR | O_CREAT, 0644);
    struct { unsigned bytes; int type; unsigned char h[128]; } fh = {.bytes = 128}, small = {.bytes = 0};
    int mount = -1, mount2 = -2;
    show("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "handle-file", &fh, &mount, 0));
    printf("handle: %u bytes, type %d\n", fh.bytes, fh.type);
    show("name_to_handle_at too small", syscall(SYS_name_to_handle_at, AT_FDCWD, "handle-file", &small, &mount2, 0));
    printf("needed %u, same mount %d\n", small.bytes, mount == mount2);
    show("name_to_handle_at fid", syscall(SYS_name_to_handle_at, fd, "", &fh, &mount, AT_EMPTY_PATH | 0x200));
    show("name_to_handle_at fid connectable", syscall(SYS_name_to_handle_at, AT_FDCWD, "handle-file", &fh, &mount, 0x202));
    show("name_to_handle_at bad flags", syscall(SYS_name_to_handle_at, AT_FDCWD, "handle-file", &fh, &mount, -1));
    show("name_to_handle_at missing", syscall(SYS_name_to_handle_at, AT_FDCWD, "nothing", &fh, &mount, 0));
    show("name_to_handle_at bad mount id", syscall(SYS_name_to_handle_at, AT_FDCWD, "handle-file", &fh, (void *)8, 0));
    fh.bytes = 129;
    show("name_to_handle_at huge", syscall(SYS_name_to_handle_at, AT_FDCWD, "handle-file", &fh, &mount, 0));
    show("open_by_handle_at huge", syscall(SYS_open_by_handle_at, 99, &fh, O_RDONLY));
    fh.bytes = 8;
    show("open_by_handle_at bad fd", syscall(SYS_open_by_handle_at, 99, &fh, O_RDONLY));
    if (geteuid() != 0) show("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
    close(fd);
}

/* The random devices' requests and /proc/sys/kernel/random. */
static void randomness(void) {
    int fd = open("/dev/urandom", O_RDONLY);
    int n = -1;
    show("RNDGETENTCNT", ioctl(fd, RNDGETENTCNT, &n));
    printf("entropy count: %d\n", n);
    show("RNDGETENTCNT to a bad pointer", ioctl(fd, RNDGETENTCNT, (void *)8));
    if (geteuid() != 0) show("RNDADDTOENTCNT", ioctl(fd, RNDADDTOENTCNT, &n));
    show("FIONREAD of urandom", ioctl(fd, FIONREAD, &n));
    show("isatty of urandom", isatty(fd) ? 1 : -1);
    close(fd);
    char buf[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/entropy_avail", "r");
    printf("entropy_avail: %s", f && fgets(buf, sizeof buf, f) ? buf : "missing\n");
    if (f) fclose(f);
    f = fopen("/proc/sys/kernel/random/uuid", "r");
    char uuid[64] = "";
    if (f && fgets(uuid, sizeof uuid, f))
        printf("uuid: %zu characters, version %c\n", strlen(uuid), uuid[14]);
    if (f) fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    randomness();
    handles();
    sealing();
    locking();
    fork_advice();
    remapping();
    filesystem_types();
    credentials();
    scheduling();
    memory();
    files();
    messages();
    accounting();
    return 0;
}
