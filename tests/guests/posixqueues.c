/* POSIX message queues across a snapshot: one with three messages of two priorities and a
 * descriptor of it opened write-only and non-blocking, and an empty one of other bounds.
 * Once ready, for an input line: both queues' attributes as each descriptor sees them, the
 * messages in the order they come, a message sent through the write-only descriptor, and
 * the queues removed. With "notify", a process asks to be told of the first queue's
 * messages (mq_notify, which snapshots refuse). */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void show(const char *what, mqd_t q) {
    struct mq_attr a;
    if (mq_getattr(q, &a)) {
        printf("%s: no attributes\n", what);
        return;
    }
    printf("%s: %ld of %ld messages of at most %ld bytes, %s\n", what, a.mq_curmsgs,
           a.mq_maxmsg, a.mq_msgsize, a.mq_flags & O_NONBLOCK ? "non-blocking" : "blocking");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    mq_unlink("/picobox-snap-a");
    mq_unlink("/picobox-snap-b");
    struct mq_attr a = {.mq_maxmsg = 5, .mq_msgsize = 64};
    struct mq_attr b = {.mq_maxmsg = 2, .mq_msgsize = 1000};
    mqd_t q = mq_open("/picobox-snap-a", O_CREAT | O_EXCL | O_RDWR, 0640, &a);
    mqd_t e = mq_open("/picobox-snap-b", O_CREAT | O_EXCL | O_RDONLY, 0600, &b);
    mqd_t w = mq_open("/picobox-snap-a", O_WRONLY | O_NONBLOCK);
    if (q == (mqd_t)-1 || e == (mqd_t)-1 || w == (mqd_t)-1) return 1;
    if (mq_send(q, "low one", 7, 1) || mq_send(q, "high", 4, 9) || mq_send(q, "low two", 7, 1))
        return 2;
    if (argc > 1 && strcmp(argv[1], "notify") == 0) {
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
        signal(SIGUSR1, SIG_IGN);
        mqd_t n = mq_open("/picobox-snap-b", O_RDONLY);
        if (mq_notify(n, &ev)) return 3;
    }
    printf("ready\n");
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 4;
    show("first", q);
    show("first, write-only", w);
    show("second", e);
    char buf[64];
    unsigned prio;
    ssize_t n;
    while ((n = mq_timedreceive(q, buf, sizeof buf, &prio, &(struct timespec){0, 0})) >= 0)
        printf("got %.*s, priority %u\n", (int)n, buf, prio);
    if (mq_send(w, "through the other", 17, 4)) return 5;
    n = mq_receive(q, buf, sizeof buf, &prio);
    printf("then %.*s, priority %u\n", (int)n, buf, prio);
    printf("removed: %d %d\n", mq_unlink("/picobox-snap-a"), mq_unlink("/picobox-snap-b"));
    return 0;
}
