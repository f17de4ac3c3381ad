/* execve from a process with several threads: the others end (wherever they were: waiting on
 * a condition variable, sleeping, reading a pipe, computing) and the new program runs alone.
 * A failed execve leaves every thread running. Prints what it sees. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int pipefd[2];
static volatile unsigned long spins;
static volatile int started;

static void *waits(void *a) { (void)a; __sync_fetch_and_add(&started, 1); pthread_mutex_lock(&lock); pthread_cond_wait(&never, &lock); return NULL; }
static void *sleeps(void *a) { (void)a; __sync_fetch_and_add(&started, 1); sleep(1000); return NULL; }
static void *reads(void *a) { (void)a; char c; __sync_fetch_and_add(&started, 1); read(pipefd[0], &c, 1); return NULL; }
static void *computes(void *a) { (void)a; __sync_fetch_and_add(&started, 1); for (;;) spins++; return NULL; }

static char *self;
static void *execs(void *a) {
    (void)a;
    char *argv[] = {self, "replaced", "by a thread", NULL};
    execv(self, argv);
    printf("execv failed: %s\n", strerror(errno));
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    self = argv[0];
    if (argc > 1 && !strcmp(argv[1], "replaced")) {
        printf("the new program runs (%s)\n", argc > 2 ? argv[2] : "by the main thread");
        return 0;
    }
    pipe(pipefd);
    pthread_t t;
    pthread_create(&t, NULL, waits, NULL);
    pthread_create(&t, NULL, sleeps, NULL);
    pthread_create(&t, NULL, reads, NULL);
    pthread_create(&t, NULL, computes, NULL);
    while (started < 4) usleep(1000);
    usleep(20000);
    char *missing[] = {"/no/such/program", NULL};
    execv(missing[0], missing);
    printf("a failed execve: %s\n", strerror(errno));
    unsigned long before = spins;
    for (int i = 0; i < 2000 && spins == before; i++) usleep(1000); /* a busy machine is slow */
    printf("the other threads still run: %d\n", spins != before);
    if (argc > 1 && !strcmp(argv[1], "from-a-thread")) {
        pthread_create(&t, NULL, execs, NULL);
        pthread_join(t, NULL);
        printf("not reached\n");
        return 1;
    }
    char *again[] = {self, "replaced", NULL};
    execv(self, again);
    printf("execv failed: %s\n", strerror(errno));
    return 1;
}
