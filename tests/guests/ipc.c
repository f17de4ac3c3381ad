/* Shared memory, eventfd, FIFOs and readiness across processes, printed for comparison with a
 * native run. Run in an empty writable directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* MAP_SHARED anonymous memory stays shared after fork; MAP_PRIVATE does not. */
    int *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *private = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *private = 1;
    if (fork() == 0) { *shared = 42; *private = 42; _exit(0); }
    wait(NULL);
    printf("shared %d private %d\n", *shared, *private);

    /* shm_open in /dev/shm. */
    int shm = shm_open("/picobox-test", O_CREAT | O_RDWR | O_EXCL, 0600);
    printf("shm_open %s\n", shm >= 0 ? "ok" : strerror(errno));
    ftruncate(shm, 4096);
    char *s = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
    if (fork() == 0) { strcpy(s, "from child"); _exit(0); }
    wait(NULL);
    printf("shm says '%s'\n", s);
    printf("shm_unlink %d\n", shm_unlink("/picobox-test"));

    /* A shared file mapping writes through to the file. */
    int f = open("mapped.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(f, 16);
    char *m = mmap(0, 16, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    memcpy(m, "written by mmap", 15);
    msync(m, 16, MS_SYNC);
    char buf[32] = {0};
    pread(f, buf, 15, 0);
    printf("file says '%s'\n", buf);

    /* eventfd between processes. */
    int ev = eventfd(0, 0);
    if (fork() == 0) { uint64_t one = 5; write(ev, &one, 8); _exit(0); }
    uint64_t got = 0;
    read(ev, &got, 8);
    wait(NULL);
    printf("eventfd got %llu\n", (unsigned long long)got);

    /* A FIFO between processes. */
    printf("mkfifo %d\n", mkfifo("fifo", 0600));
    struct stat st;
    stat("fifo", &st);
    printf("is fifo %d\n", S_ISFIFO(st.st_mode));
    if (fork() == 0) { int w = open("fifo", O_WRONLY); write(w, "through fifo", 12); _exit(0); }
    int r = open("fifo", O_RDONLY);
    memset(buf, 0, sizeof buf);
    read(r, buf, sizeof buf - 1);
    wait(NULL);
    printf("fifo says '%s'\n", buf);

    /* epoll and select on a pipe and an eventfd. */
    int p[2];
    pipe(p);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    e.data.u64 = 9;
    int ev2 = eventfd(0, EFD_NONBLOCK);
    epoll_ctl(ep, EPOLL_CTL_ADD, ev2, &e);
    struct epoll_event out[4];
    printf("epoll idle %d\n", epoll_wait(ep, out, 4, 50));
    write(p[1], "x", 1);
    int n = epoll_wait(ep, out, 4, 1000);
    printf("epoll ready %d data %llu\n", n, (unsigned long long)out[0].data.u64);
    int rc = epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    printf("epoll add twice: %d %s\n", rc, strerror(errno));
    rc = epoll_ctl(ep, EPOLL_CTL_ADD, f, &e);
    printf("epoll on a regular file: %d %s\n", rc, strerror(errno));
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    FD_SET(ev2, &rd);
    struct timeval tv = {1, 0};
    rc = select(ev2 + 1, &rd, NULL, NULL, &tv);
    printf("select %d pipe %d event %d\n", rc, FD_ISSET(p[0], &rd), FD_ISSET(ev2, &rd));
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    rc = poll(pf, 2, 0);
    printf("poll %d revents %d %d\n", rc, pf[0].revents, pf[1].revents);
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    pf[0].revents = 0;
    rc = poll(pf, 1, 0);
    printf("poll after close %d hup %d\n", rc, (pf[0].revents & POLLHUP) != 0);
    return 0;
}
