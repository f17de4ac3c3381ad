/* The namespaces a process sees: /proc/self/ns links that compare equal within the box (and
 * with a child's), the nsfs files they open, the NS_GET_* requests and setns, each printed so
 * that a native run and a boxed one can be compared (no inode numbers: the box's are its own). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSIO 0xb7
#define NS_GET_USERNS _IO(NSIO, 0x1)
#define NS_GET_PARENT _IO(NSIO, 0x2)
#define NS_GET_NSTYPE _IO(NSIO, 0x3)
#define NS_GET_OWNER_UID _IO(NSIO, 0x4)
#define NS_GET_MNTNS_ID _IOR(NSIO, 0x5, unsigned long long)
#define NS_GET_PID_FROM_PIDNS _IOR(NSIO, 0x6, int)
#define NS_GET_TGID_FROM_PIDNS _IOR(NSIO, 0x7, int)
#define NSFS_MAGIC 0x6e736673

static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                              "time", "time_for_children", "user", "uts"};

static void result(const char *what, long r) {
    int e = errno;
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(e));
    else
        printf("%s: ok\n", what);
}

static int open_ns(const char *name) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Whether descriptor fd is the namespace whose link is /proc/self/ns/name. */
static int same_as(int fd, const char *name) {
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    ssize_t n = readlink(path, link, sizeof link - 1);
    struct stat st;
    if (n < 0 || fstat(fd, &st) < 0) return 0;
    link[n] = 0;
    char *open_bracket = strchr(link, '[');
    return open_bracket && strtoull(open_bracket + 1, NULL, 10) == st.st_ino;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char mine[10][64];
    for (int i = 0; i < 10; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(path, mine[i], sizeof mine[i] - 1);
        mine[i][n < 0 ? 0 : n] = 0;
        char *colon = strchr(mine[i], ':');
        struct stat link, target;
        int l = lstat(path, &link), t = stat(path, &target);
        printf("%s: link %.*s, lstat %s, stat %s %o, links %ld, size %ld\n", names[i],
               colon ? (int)(colon - mine[i]) : 0, mine[i],
               l == 0 && S_ISLNK(link.st_mode) ? "symlink" : "other",
               t == 0 && S_ISREG(target.st_mode) ? "regular" : "other", target.st_mode & 07777,
               (long)target.st_nlink, (long)target.st_size);
        int fd = open(path, O_RDONLY);
        printf("  opened %s, same inode %d, nstype %#x\n", fd >= 0 ? "yes" : strerror(errno),
               fd >= 0 && same_as(fd, names[i]), fd >= 0 ? ioctl(fd, NS_GET_NSTYPE) : 0);
        if (fd >= 0) close(fd);
    }
    int fd = open("/proc/self/ns/uts", O_RDONLY | O_NOFOLLOW);
    result("open O_NOFOLLOW", fd);

    int uts = open_ns("uts"), user = open_ns("user"), pid = open_ns("pid"), mnt = open_ns("mnt");
    result("NS_GET_PARENT uts", ioctl(uts, NS_GET_PARENT));
    result("NS_GET_PARENT pid", ioctl(pid, NS_GET_PARENT));
    result("NS_GET_PARENT user", ioctl(user, NS_GET_PARENT));
    result("NS_GET_USERNS user", ioctl(user, NS_GET_USERNS));
    int owner = ioctl(uts, NS_GET_USERNS);
    result("NS_GET_USERNS uts", owner);
    printf("  the user namespace: %d, close-on-exec %d\n", owner >= 0 && same_as(owner, "user"),
           owner >= 0 && (fcntl(owner, F_GETFD) & FD_CLOEXEC));
    {
        char path[64], fd_link[64] = "", ns_link[64] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", uts);
        readlink(path, fd_link, sizeof fd_link - 1);
        readlink("/proc/self/ns/uts", ns_link, sizeof ns_link - 1);
        printf("/proc/self/fd of a namespace file names the namespace: %d\n",
               strcmp(fd_link, ns_link) == 0);
    }
    unsigned uid;
    result("NS_GET_OWNER_UID uts", ioctl(uts, NS_GET_OWNER_UID, &uid));
    result("NS_GET_OWNER_UID user", ioctl(user, NS_GET_OWNER_UID, &uid));
    result("NS_GET_OWNER_UID bad pointer", ioctl(user, NS_GET_OWNER_UID, (void *)8));
    unsigned long long id;
    result("NS_GET_MNTNS_ID mnt", ioctl(mnt, NS_GET_MNTNS_ID, &id));
    result("NS_GET_MNTNS_ID uts", ioctl(uts, NS_GET_MNTNS_ID, &id));
    long me = ioctl(pid, NS_GET_PID_FROM_PIDNS, getpid());
    printf("NS_GET_PID_FROM_PIDNS self: %s\n", me == getpid() ? "self" : strerror(errno));
    me = ioctl(pid, NS_GET_TGID_FROM_PIDNS, getpid());
    printf("NS_GET_TGID_FROM_PIDNS self: %s\n", me == getpid() ? "self" : strerror(errno));
    result("NS_GET_PID_FROM_PIDNS none", ioctl(pid, NS_GET_PID_FROM_PIDNS, 4000000));
    result("NS_GET_PID_FROM_PIDNS uts", ioctl(uts, NS_GET_PID_FROM_PIDNS, getpid()));
    result("unknown request", ioctl(uts, _IO(NSIO, 0x7f)));
    result("NS_GET_NSTYPE of a directory", ioctl(open(".", O_RDONLY), NS_GET_NSTYPE));

    char byte;
    result("read", read(uts, &byte, 1));
    result("write", write(uts, "x", 1));
    result("lseek", lseek(uts, 0, SEEK_SET));
    struct statfs sfs;
    printf("fstatfs: %s\n", fstatfs(uts, &sfs) == 0 && sfs.f_type == NSFS_MAGIC ? "nsfs" : "other");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    result("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, uts, &ev));

    result("setns uts", setns(uts, CLONE_NEWUTS));
    result("setns uts any", setns(uts, 0));
    result("setns uts as pid", setns(uts, CLONE_NEWPID));
    result("setns user", setns(user, 0));
    result("setns file", setns(open("/proc/self/stat", O_RDONLY), 0));
    result("setns bad fd", setns(-1, 0));
    result("setns closed fd", setns(999, CLONE_NEWUTS));

    int done[2];
    pipe(done);
    pid_t child = fork();
    if (child == 0) {
        if (geteuid() == 0 && setuid(65534) < 0) _exit(1);
        result("child setns uts unprivileged", setns(uts, CLONE_NEWUTS));
        write(done[1], "x", 1);
        pause();
        _exit(0);
    }
    read(done[0], &byte, 1);
    int equal = 1;
    for (int i = 0; i < 10; i++) {
        char path[64], link[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", child, names[i]);
        ssize_t n = readlink(path, link, sizeof link - 1);
        link[n < 0 ? 0 : n] = 0;
        equal &= !strcmp(link, mine[i]);
    }
    printf("a child's links are the parent's: %d\n", equal);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
