/* Threads frozen mid-work, for snapshot and restore: two compute a long hash, one sleeps in
 * steps (nanosleep), one waits on a condition variable. Each input line is a command: "go"
 * wakes the waiting thread, "result" joins them all and prints what each computed, so the
 * output is the same however the work was cut by a snapshot. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int released;
static __thread uint64_t tls_seed;
static uint64_t results[4];

static void *compute(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    tls_seed = 1469598103934665603ull + id;
    for (uint64_t k = 0; k < 400000000ull; k++) tls_seed = (tls_seed ^ k) * 1099511628211ull;
    results[id] = tls_seed;
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    struct timespec ts = {0, 5 * 1000 * 1000};
    uint64_t n = 0;
    for (int i = 0; i < 100; i++) {
        nanosleep(&ts, NULL);
        n += (uint64_t)i;
    }
    results[2] = n;
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!released) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    results[3] = 42;
    return NULL;
}

int main(void) {
    pthread_t t[4];
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_create(&t[0], NULL, compute, (void *)0);
    pthread_create(&t[1], NULL, compute, (void *)1);
    pthread_create(&t[2], NULL, sleeper, NULL);
    pthread_create(&t[3], NULL, waiter, NULL);
    printf("ready\n");
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "go", 2) == 0) {
            pthread_mutex_lock(&lock);
            released = 1;
            pthread_cond_signal(&cond);
            pthread_mutex_unlock(&lock);
            printf("released\n");
        } else if (strncmp(line, "result", 6) == 0) {
            for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
            for (int i = 0; i < 4; i++) printf("%d %016llx\n", i, (unsigned long long)results[i]);
        }
    }
    return 0;
}
