/* Pseudo-terminals: a master from /dev/ptmx (posix_openpt, grantpt, unlockpt, ptsname) and
 * from openpty (TIOCGPTPEER); a child that makes the peer its controlling terminal (setsid,
 * then an open without O_NOCTTY) and talks through it: line discipline (echo, ONLCR), raw
 * mode, window size with SIGWINCH, ^C as SIGINT to the foreground group, TIOCSIG, and the
 * hangup when the master closes; /dev/tty is the controlling terminal. Prints one line per check; run natively and in a box, the
 * outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t got_int, got_winch;
static void on_int(int sig) { (void)sig; got_int = 1; }
static void on_winch(int sig) { (void)sig; got_winch = 1; }

/* Reads from the master until `want` appears (or 20 s pass); prints what came. The line
 * discipline turns "\n" into "\r\n": the \r are dropped before matching. */
static void expect(int master, const char *want) {
    char buf[512];
    size_t have = 0;
    for (int tries = 0; tries < 2000 && have < sizeof buf - 1; tries++) {
        struct timeval tv = {0, 10000};
        fd_set r;
        FD_ZERO(&r);
        FD_SET(master, &r);
        if (select(master + 1, &r, NULL, NULL, &tv) > 0) {
            char got[256];
            ssize_t n = read(master, got, sizeof got);
            if (n <= 0) break;
            for (ssize_t i = 0; i < n && have < sizeof buf - 1; i++)
                if (got[i] != '\r') buf[have++] = got[i];
            buf[have] = 0;
            if (strstr(buf, want)) break;
        }
    }
    buf[have] = 0;
    printf("master read:");
    for (size_t i = 0; i < have; i++) putchar(buf[i] == '\n' ? '|' : buf[i]);
    printf("\n");
}

static void child(const char *name) {
    setsid();
    int fd = open(name, O_RDWR); /* no O_NOCTTY: the session leader's controlling terminal */
    if (fd < 0) _exit(10);
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2) close(fd);
    signal(SIGINT, on_int);
    signal(SIGWINCH, on_winch);
    printf("child: isatty %d, controlling %d, ttyname matches %d\n", isatty(0),
           tcgetsid(0) == getpid(), ttyname(0) && strcmp(ttyname(0), name) == 0);
    printf("child: foreground is me %d\n", tcgetpgrp(0) == getpgrp());
    int tty = open("/dev/tty", O_RDWR);
    struct stat a, b;
    fstat(tty, &a);
    fstat(0, &b);
    printf("child: /dev/tty is device 5,0 %d, named %s\n", a.st_rdev == makedev(5, 0),
           ttyname(tty));
    fflush(stdout);
    write(tty, "child: through /dev/tty\n", 24);
    close(tty);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) _exit(11);
    line[strcspn(line, "\n")] = 0;
    printf("child: read line [%s]\n", line);
    /* Raw mode: no echo, no line editing, no output processing. */
    struct termios t;
    tcgetattr(0, &t);
    cfmakeraw(&t);
    t.c_lflag |= ISIG; /* keep ^C */
    tcsetattr(0, TCSANOW, &t);
    printf("child: raw\n");
    fflush(stdout);
    char c;
    if (read(0, &c, 1) != 1) _exit(12);
    printf("child: raw byte %d\n", c);
    fflush(stdout);
    while (!got_winch) usleep(1000);
    struct winsize ws;
    ioctl(0, TIOCGWINSZ, &ws);
    printf("child: SIGWINCH, %d rows %d cols\n", ws.ws_row, ws.ws_col);
    fflush(stdout);
    while (!got_int) usleep(1000);
    got_int = 0; /* before saying so: the parent sends the next one once it reads this */
    printf("child: SIGINT from ^C\n");
    fflush(stdout);
    while (!got_int) usleep(1000);
    printf("child: SIGINT from TIOCSIG\n");
    fflush(stdout);
    /* Wait for the hangup when the master goes. */
    signal(SIGHUP, SIG_DFL);
    pause();
    _exit(13);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        printf("posix_openpt: errno %d\n", errno);
        return 1;
    }
    printf("grantpt %d unlockpt %d\n", grantpt(master), unlockpt(master));
    char name[64];
    strcpy(name, ptsname(master));
    printf("ptsname under /dev/pts: %d\n", strncmp(name, "/dev/pts/", 9) == 0);
    int locked = -1;
    ioctl(master, TIOCGPTLCK, &locked);
    printf("locked after unlockpt: %d\n", locked);
    printf("master isatty %d\n", isatty(master));

    pid_t pid = fork();
    if (pid == 0) {
        close(master);
        child(name);
    }
    expect(master, "through /dev/tty\n");
    write(master, "hello\n", 6); /* echoed back, then read by the child */
    expect(master, "raw\n");
    write(master, "x", 1);
    expect(master, "raw byte");
    struct winsize ws = {.ws_row = 33, .ws_col = 101};
    ioctl(master, TIOCSWINSZ, &ws);
    expect(master, "cols\n");
    write(master, "\x03", 1);
    expect(master, "from ^C\n");
    ioctl(master, TIOCSIG, SIGINT);
    expect(master, "TIOCSIG\n");
    close(master);
    int status;
    waitpid(pid, &status, 0);
    printf("child ended by SIGHUP: %d\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP);

    /* openpty: both ends at once (glibc opens the peer with TIOCGPTPEER). */
    int m, s;
    struct winsize size = {.ws_row = 24, .ws_col = 80};
    printf("openpty: %d\n", openpty(&m, &s, NULL, NULL, &size));
    struct winsize back;
    ioctl(s, TIOCGWINSZ, &back);
    printf("peer size %d x %d\n", back.ws_row, back.ws_col);
    write(s, "ping\n", 5);
    /* "ping\r\n" (ONLCR), which the terminal may hand over in pieces: read until all
     * six bytes came, or nothing more does for a second. */
    char buf[16] = {0};
    ssize_t n = 0;
    struct pollfd more = {.fd = m, .events = POLLIN};
    while (n < 6 && poll(&more, 1, 1000) == 1) {
        ssize_t got = read(m, buf + n, sizeof buf - 1 - (size_t)n);
        if (got <= 0) break;
        n += got;
    }
    printf("through the pair: %zd [%.4s]\n", n, buf);
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    printf("TIOCGPTPEER: %d\n", peer >= 0);

    /* The System V forms: struct termio, 16-bit flags and 8 control characters. */
    struct termio old;
    printf("TCGETA: %d\n", ioctl(s, TCGETA, &old));
    struct termios full;
    tcgetattr(s, &full);
    printf("TCGETA agrees: %d\n", old.c_lflag == (full.c_lflag & 0xffff) && old.c_cc[VINTR] == full.c_cc[VINTR]);
    old.c_lflag &= ~ECHO;
    printf("TCSETA: %d\n", ioctl(s, TCSETA, &old));
    tcgetattr(s, &full);
    printf("echo off after TCSETA: %d\n", !(full.c_lflag & ECHO));
    int bad = ioctl(s, TCGETA, (void *)8);
    printf("TCGETA to a bad address: %d errno %d\n", bad, errno);
    return 0;
}
