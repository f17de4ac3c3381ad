/* The boundary enumerator: every path-taking call the gate admits, from every descriptor the
 * picoprocess holds, along every route towards a host directory outside the box's mounts.
 *
 *   boundary UNIQ HOSTDIR
 *
 * HOSTDIR (a host path, not mounted in the box) holds `secret-UNIQ` (a file) and `link-UNIQ`
 * (a symbolic link); nothing in the box has a name with UNIQ in it, so any call that succeeds
 * on such a name has reached the host. The writable mount (the working directory, /w) holds
 * `via-abs` -> HOSTDIR and `via-rel` -> ../../../..HOSTDIR. Mutating calls try to change the
 * secret and to create `new-UNIQ`; the test checks afterwards on the host that nothing outside
 * the mounts changed. Prints "REACHED call fd route" per success on a host name and, last,
 * "attempts N descriptors D". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

typedef long (*gate_fn)(long, long, long, long, long, long, long);
static gate_fn g;
static long gate(long nr, long a, long b, long c, long d, long e) {
    long r = g(nr, a, b, c, d, e, 0);
    if (r < 0 && r > -4096) { errno = -r; return -1; }
    return r;
}

static long attempts, reached;
static const char *uniq;

static void note(const char *call, long fd, const char *route, long r) {
    attempts++;
    if (r >= 0 && strstr(route, uniq)) {
        printf("REACHED %s fd=%ld route=%s\n", call, fd, route);
        reached++;
    }
}

#define MAX_ROUTES 64
static char routes[MAX_ROUTES][512];
static int nroutes;
static void add(const char *fmt, const char *a, const char *b) {
    if (nroutes < MAX_ROUTES) snprintf(routes[nroutes++], 512, fmt, a, b);
}

/* Every route towards NAME in HOSTDIR. */
static void make_routes(const char *hostdir, const char *name) {
    char ups[256] = "";
    nroutes = 0;
    add("%s/%s", hostdir, name);
    add("/proc/self/root%s/%s", hostdir, name);
    add("/proc/1/root%s/%s", hostdir, name);
    add("/proc/self/cwd/../../../../../../../..%s/%s", hostdir, name);
    add("via-abs/%s%s", name, "");
    add("via-rel/%s%s", name, "");
    add("/w/via-abs/%s%s", name, "");
    for (int k = 1; k <= 14; k++) {
        strcat(ups, "../");
        add("%s%s", ups, hostdir + 1);
        strcat(routes[nroutes - 1], "/");
        strcat(routes[nroutes - 1], name);
        add("%s%s", ups, name);
    }
    add("/proc/self/fd/3/../../../../../../../../..%s/%s", hostdir, name);
    add("/proc/self/fd/5/../../../../../../../../..%s/%s", hostdir, name);
}

static void path_calls(long fd, const char *hostdir, const char *name, int mutate) {
    make_routes(hostdir, name);
    char newname[512];
    for (int i = 0; i < nroutes; i++) {
        const char *r = routes[i];
        struct open_how how = {0};
        long flags[] = {O_RDONLY, O_PATH, O_PATH | O_NOFOLLOW, O_WRONLY, O_RDONLY | O_DIRECTORY};
        for (unsigned f = 0; f < sizeof flags / sizeof *flags; f++) {
            how.flags = flags[f];
            long o = gate(SYS_openat2, fd, (long)r, (long)&how, sizeof how, 0);
            note("openat2", fd, r, o);
            if (o >= 0) gate(SYS_close, o, 0, 0, 0, 0);
        }
        struct stat st;
        note("newfstatat", fd, r, gate(SYS_newfstatat, fd, (long)r, (long)&st, 0, 0));
        note("newfstatat-nofollow", fd, r, gate(SYS_newfstatat, fd, (long)r, (long)&st, AT_SYMLINK_NOFOLLOW, 0));
        note("faccessat2", fd, r, gate(SYS_faccessat2, fd, (long)r, F_OK, 0, 0));
        note("faccessat2-nofollow", fd, r, gate(SYS_faccessat2, fd, (long)r, F_OK, AT_SYMLINK_NOFOLLOW, 0));
        char buf[256];
        note("readlinkat", fd, r, gate(SYS_readlinkat, fd, (long)r, (long)buf, sizeof buf, 0));
        if (!mutate) continue;
        struct timespec zero[2] = {{0, 0}, {0, 0}};
        note("utimensat", fd, r, gate(SYS_utimensat, fd, (long)r, (long)zero, 0, 0));
        note("utimensat-nofollow", fd, r, gate(SYS_utimensat, fd, (long)r, (long)zero, AT_SYMLINK_NOFOLLOW, 0));
        note("fchmodat2", fd, r, gate(452, fd, (long)r, 0777, 0, 0));
        note("fchmodat2-nofollow", fd, r, gate(452, fd, (long)r, 0777, AT_SYMLINK_NOFOLLOW, 0));
        snprintf(newname, sizeof newname, "%s", r);
        char *slash = strrchr(newname, '/');
        snprintf(slash ? slash + 1 : newname, 64, "new-%s", uniq);
        note("renameat2", fd, r, gate(SYS_renameat2, fd, (long)r, fd, (long)newname, 0));
        note("unlinkat", fd, r, gate(SYS_unlinkat, fd, (long)r, 0, 0, 0));
        note("unlinkat-dir", fd, r, gate(SYS_unlinkat, fd, (long)r, AT_REMOVEDIR, 0, 0));
        /* Creations count as reaching the host only if the host sees them (checked there). */
        attempts += 4;
        gate(SYS_mkdirat, fd, (long)newname, 0755, 0, 0);
        gate(SYS_symlinkat, (long)"/etc/shadow", fd, (long)newname, 0, 0);
        gate(SYS_mknodat, fd, (long)newname, S_IFIFO | 0666, 0, 0);
        how.flags = O_WRONLY | O_CREAT;
        how.mode = 0644;
        long o = gate(SYS_openat2, fd, (long)newname, (long)&how, sizeof how, 0);
        if (o >= 0) gate(SYS_close, o, 0, 0, 0, 0);
    }
}

/* The same through the library OS, as an ordinary program calls. */
static void libos_calls(const char *hostdir, const char *name) {
    make_routes(hostdir, name);
    for (int i = 0; i < nroutes; i++) {
        const char *r = routes[i];
        struct stat st;
        char buf[256];
        note("libos-stat", -1, r, stat(r, &st));
        note("libos-lstat", -1, r, lstat(r, &st));
        note("libos-access", -1, r, access(r, F_OK));
        note("libos-readlink", -1, r, readlink(r, buf, sizeof buf));
        long o = open(r, O_RDONLY);
        note("libos-open", -1, r, o);
        if (o >= 0) close(o);
        note("libos-chmod", -1, r, chmod(r, 04777));
        struct timespec zero[2] = {{0, 0}, {0, 0}};
        note("libos-utimensat", -1, r, utimensat(AT_FDCWD, r, zero, 0));
        note("libos-unlink", -1, r, unlink(r));
    }
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    uniq = argv[1];
    const char *hostdir = argv[2];
    g = (gate_fn)getauxval(0x7062);
    if (!g) { printf("no gate\n"); return 2; }
    char secret[64], link[64], dir[512];
    snprintf(secret, sizeof secret, "secret-%s", uniq);
    snprintf(link, sizeof link, "link-%s", uniq);
    /* The host directory itself, by its last component. */
    const char *last = strrchr(hostdir, '/');
    snprintf(dir, sizeof dir, "%.*s", (int)(last - hostdir), hostdir);

    long fds[1100];
    int nfds = 0;
    fds[nfds++] = AT_FDCWD;
    for (long fd = 0; fd < 1024; fd++) {
        struct stat st;
        if (gate(SYS_fstat, fd, (long)&st, 0, 0, 0) == 0) fds[nfds++] = fd;
    }
    for (int i = 0; i < nfds; i++) {
        path_calls(fds[i], hostdir, secret, 1);
        path_calls(fds[i], hostdir, link, 1);
        path_calls(fds[i], dir, last + 1, 0);
        /* The descriptor itself: its file must keep its mode, times and contents. */
        long fd = fds[i];
        if (fd < 0) continue;
        struct timespec zero[2] = {{0, 0}, {0, 0}};
        attempts += 4;
        gate(452, fd, (long)"", 0777, AT_EMPTY_PATH, 0);
        gate(SYS_utimensat, fd, 0, (long)zero, 0, 0);
        if (fd > 2) {
            gate(SYS_ftruncate, fd, 0, 0, 0, 0);
            gate(SYS_pwrite64, fd, (long)"X", 1, 0, 0);
        }
        char ents[4096];
        if (gate(SYS_getdents64, fd, (long)ents, sizeof ents, 0, 0) > 0 && memmem(ents, sizeof ents, uniq, strlen(uniq))) {
            printf("REACHED getdents64 fd=%ld\n", fd);
            reached++;
        }
    }
    libos_calls(hostdir, secret);
    libos_calls(hostdir, link);
    printf("attempts %ld descriptors %d\n", attempts, nfds);
    return reached ? 1 : 0;
}
