/* System V semaphore sets and message queues across a snapshot: a private set of three
 * semaphores, a keyed set, a third set removed again (its id is not reused), a private queue
 * with three messages of different types and a keyed one with a lowered capacity; their ids,
 * then "ready". Each input line: the values of both sets, whether the key still finds the
 * keyed set, two messages taken (by type 1, then the first in order), the keyed queue's
 * capacity and message count. argv[1] "shm": shared memory segments too: one attached
 * (10000 bytes, written at two places), one keyed and not attached, one attached and
 * removed; each line then shows what they hold and their state, and writes into the first.
 * "shm-part": the first segment's second page is unmapped (a snapshot refuses it). */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/mman.h>
#include <sys/shm.h>

struct message {
    long type;
    char text[32];
};

static void send(int q, long type, const char *text) {
    struct message m = {type, {0}};
    strcpy(m.text, text);
    if (msgsnd(q, &m, strlen(text), IPC_NOWAIT) != 0) perror("msgsnd");
}

static void take(int q, long type) {
    struct message m = {0, {0}};
    ssize_t n = msgrcv(q, &m, sizeof m.text, type, IPC_NOWAIT);
    if (n < 0)
        printf("  take %ld: none\n", type);
    else
        printf("  take %ld: type %ld \"%.*s\"\n", type, m.type, (int)n, m.text);
}

int main(int argc, char **argv) {
    int a = semget(IPC_PRIVATE, 3, 0600);
    unsigned short start[3] = {1, 2, 3};
    semctl(a, 0, SETALL, start);
    int gone = semget(IPC_PRIVATE, 1, 0600);
    int b = semget(0x5157, 1, IPC_CREAT | 0640);
    semctl(b, 0, SETVAL, 7);
    semctl(gone, 0, IPC_RMID);
    int q = msgget(IPC_PRIVATE, 0600);
    send(q, 3, "c");
    send(q, 1, "a");
    send(q, 2, "bb");
    int k = msgget(0x5158, IPC_CREAT | 0600);
    struct msqid_ds ds;
    msgctl(k, IPC_STAT, &ds);
    ds.msg_qbytes = 1000;
    msgctl(k, IPC_SET, &ds);
    send(k, 9, "keyed");
    int shm = argc > 1 && strncmp(argv[1], "shm", 3) == 0;
    int s1 = -1, s2 = -1, s3 = -1;
    char *p1 = 0, *p3 = 0;
    if (shm) {
        s1 = shmget(IPC_PRIVATE, 10000, 0600);
        p1 = shmat(s1, 0, 0);
        strcpy(p1, "first page");
        strcpy(p1 + 8192, "third page");
        s2 = shmget(0x5159, 4096, IPC_CREAT | 0640);
        char *p2 = shmat(s2, 0, 0);
        strcpy(p2, "not attached");
        shmdt(p2);
        s3 = shmget(IPC_PRIVATE, 4096, 0600);
        p3 = shmat(s3, 0, 0);
        strcpy(p3, "removed while attached");
        shmctl(s3, IPC_RMID, 0);
        if (strcmp(argv[1], "shm-part") == 0) munmap(p1 + 4096, 4096);
        printf("segments %d %d %d\n", s1, s2, s3);
    }
    printf("ids %d %d %d %d %d\nready\n", a, b, gone, q, k);
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        unsigned short v[3];
        semctl(a, 0, GETALL, v);
        printf("a %u %u %u, b %d, key finds b: %d\n", v[0], v[1], v[2], semctl(b, 0, GETVAL),
               semget(0x5157, 0, 0) == b);
        struct sembuf down = {0, -1, IPC_NOWAIT};
        printf("  semop a: %d\n", semop(a, &down, 1));
        take(q, 1);
        take(q, 0);
        msgctl(k, IPC_STAT, &ds);
        /* New objects (kept) get the ids Linux gives after the box's newest one. */
        int ns = semget(IPC_PRIVATE, 1, 0600), nq = msgget(IPC_PRIVATE, 0600);
        printf("  new set %d, new queue %d\n", ns, nq);
        printf("  keyed queue: capacity %lu, %lu messages, key finds it: %d\n",
               (unsigned long)ds.msg_qbytes, (unsigned long)ds.msg_qnum,
               msgget(0x5158, 0) == k);
        if (shm) {
            struct shmid_ds d1, d3;
            shmctl(s1, IPC_STAT, &d1);
            int st3 = shmctl(s3, IPC_STAT, &d3);
            char *p2 = shmat(s2, 0, SHM_RDONLY);
            printf("  segments: \"%s\" \"%s\" \"%s\" \"%s\"; first: %zu bytes, %lu "
                   "attached, mode %o; removed one: %d, removed %d; key finds the keyed: %d\n",
                   p1, p1 + 8192, p2, p3, (size_t)d1.shm_segsz, (unsigned long)d1.shm_nattch,
                   d1.shm_perm.mode & 0777, st3, st3 == 0 && (d3.shm_perm.mode & 01000) != 0,
                   shmget(0x5159, 0, 0) == s2);
            shmdt(p2);
            strcat(p1, " (written)");
            /* Detached and attached again: the segment is the kernel's, not a copy. */
            shmdt(p1);
            p1 = shmat(s1, 0, 0);
        }
        fflush(stdout);
    }
    printf("end\n");
    return 0;
}
