/* pthreads under load: mutexes, condition variables, barriers, thread-local storage, joins,
 * signals to threads, and threads that outlive their creator. Printed for comparison. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static long counter;
static int queue[64], head, tail, produced, consumed;
static __thread long mine;
static volatile int usr1_hits;

static void *adder(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        mine++;
    }
    pthread_barrier_wait(&barrier);
    return (void *)mine;
}

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= 5000; i++) {
        pthread_mutex_lock(&lock);
        while ((tail + 1) % 64 == head) pthread_cond_wait(&cond, &lock);
        queue[tail] = i;
        tail = (tail + 1) % 64;
        produced += i;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&lock);
        while (head == tail) pthread_cond_wait(&cond, &lock);
        consumed += queue[head];
        head = (head + 1) % 64;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void on_usr1(int sig) { (void)sig; usr1_hits++; }

static void *sleeper(void *arg) {
    (void)arg;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    while (!usr1_hits) usleep(1000);
    return (void *)(long)syscall(SYS_gettid);
}

/* Whether /proc/PID/stat says Z within a second. */
static int zombie_seen(pid_t pid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            char *close = strrchr(buf, ')');
            if (close && close[1] == ' ' && close[2] == 'Z') return 1;
        }
        usleep(10000);
    }
    return 0;
}

static void *faulter(void *arg) {
    (void)arg;
    *(volatile int *)8 = 1;
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, adder, NULL);
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter %ld tls sum %ld main tls %ld\n", counter, sum, mine);

    pthread_t p, c;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("produced %d consumed %d\n", produced, consumed);

    /* Many short-lived threads. */
    int made = 0;
    for (int i = 0; i < 300; i++) {
        pthread_t x;
        if (pthread_create(&x, NULL, adder, NULL) == 0) {
            made++;
            pthread_detach(x);
        }
        if (i % 8 == 7) usleep(1000);
    }
    printf("short-lived threads %d\n", made);

    /* A signal to one thread runs its handler. */
    signal(SIGUSR1, on_usr1);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    pthread_t s;
    pthread_create(&s, NULL, sleeper, NULL);
    usleep(20000);
    pthread_kill(s, SIGUSR1);
    void *tid;
    pthread_join(s, &tid);
    printf("thread signal handled %d, thread id differs from pid %d\n", usr1_hits > 0, (long)tid != getpid());
    /* A joined thread is gone from /proc/self/task. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld", (long)tid);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = access(path, F_OK) != 0;
        if (!gone) usleep(10000);
    }
    printf("joined thread's task directory gone: %d\n", gone);

    /* A fault in a thread other than the first kills the process by that signal (while the
     * first thread waits in a join). */
    pid_t child = fork();
    if (child == 0) {
        pthread_t f;
        pthread_create(&f, NULL, faulter, NULL);
        pthread_join(f, NULL);
        _exit(0);
    }
    /* Until it is reaped, /proc shows it as a zombie. */
    printf("faulted child shown as a zombie: %d\n", zombie_seen(child));
    int status;
    waitpid(child, &status, 0);
    printf("faulting thread: signaled %d by %d, exited %d\n", WIFSIGNALED(status),
           WIFSIGNALED(status) ? WTERMSIG(status) : 0, WIFEXITED(status));
    char reaped[64];
    snprintf(reaped, sizeof reaped, "/proc/%d", child);
    printf("reaped child's /proc directory gone: %d\n", access(reaped, F_OK) != 0);
    child = fork();
    if (child == 0) _exit(3);
    printf("exited child shown as a zombie: %d\n", zombie_seen(child));
    waitpid(child, &status, 0);
    return 0;
}
