/* System V shared memory, semaphores and message queues between a process and its child,
 * with their errors; each line is compared with a native run. With "probe" it looks for the
 * host's objects, with "leave" it leaves one behind, with "big" it asks for more than a box of 256 MiB may have
 * (the escape and limit tests). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>
static const char *outcome(long r) { return r < 0 ? strerror(errno) : "ok"; }
union semun { int val; struct semid_ds *buf; unsigned short *array; };
int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "probe") == 0) { /* a key the host uses, seen from here */
    int r = shmget(0x5eed, 0, 0); printf("host's segment: %s\n", outcome(r));
    r = msgget(0x5eed, 0); printf("host's queue: %s\n", outcome(r)); return 0; }
  if (argc > 1 && strcmp(argv[1], "big") == 0) { /* a segment above the box's memory */
    int r = shmget(IPC_PRIVATE, 1UL << 30, IPC_CREAT | 0600); printf("1 GiB: %s\n", outcome(r)); return 0; }
  if (argc > 1 && strcmp(argv[1], "leave") == 0) { /* objects left behind when the box ends */
    int r = shmget(0x5eee, 4096, IPC_CREAT | 0600); printf("left: %s\n", outcome(r)); return 0; }
  int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
  printf("shmget: %s\n", outcome(id));
  char *p = shmat(id, NULL, 0);
  printf("shmat: %s\n", p == (void *)-1 ? strerror(errno) : "ok");
  strcpy(p, "from the parent");
  if (fork() == 0) { char *q = shmat(id, NULL, 0); printf("child sees: %s\n", q); strcpy(q, "from the child"); shmdt(q); _exit(0); }
  wait(NULL);
  printf("parent sees: %s\n", p);
  struct shmid_ds ds; shmctl(id, IPC_STAT, &ds);
  printf("segsz %zu nattch %lu owner is me %d mode %o\n", ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.uid == getuid() && ds.shm_perm.cuid == getuid(), ds.shm_perm.mode & 0777);
  printf("shmdt: %s\n", outcome(shmdt(p)));
  printf("shmdt again: %s\n", outcome(shmdt(p)));
  printf("rmid: %s\n", outcome(shmctl(id, IPC_RMID, NULL)));
  printf("stat after rmid: %s\n", outcome(shmctl(id, IPC_STAT, &ds)));
  int k1 = shmget(0x1234, 4096, IPC_CREAT | IPC_EXCL | 0600);
  int k2 = shmget(0x1234, 4096, IPC_CREAT | IPC_EXCL | 0600);
  printf("exclusive key twice: %s then %s\n", outcome(k1), outcome(k2));
  shmctl(k1, IPC_RMID, NULL);
  printf("bad attach address: %s\n", shmat(k1, (void *)1, 0) == (void *)-1 ? strerror(errno) : "ok");
  printf("bad stat buffer: %s\n", outcome(shmctl(k1, IPC_STAT, (void *)8)));
  /* Semaphores between two processes. */
  int s = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  printf("semget: %s\n", outcome(s));
  union semun arg = {.val = 0}; semctl(s, 0, SETVAL, arg);
  if (fork() == 0) { usleep(50000); struct sembuf up = {0, 1, 0}; semop(s, &up, 1); _exit(0); }
  struct sembuf down = {0, -1, 0};
  printf("semop waits for the child: %s\n", outcome(semop(s, &down, 1)));
  wait(NULL);
  unsigned short vals[2] = {3, 4}; arg.array = vals; semctl(s, 0, SETALL, arg);
  unsigned short got[2] = {0}; arg.array = got; semctl(s, 0, GETALL, arg);
  printf("getall: %u %u, getval: %d\n", got[0], got[1], semctl(s, 1, GETVAL));
  struct sembuf nowait = {0, -10, IPC_NOWAIT};
  printf("semop would block: %s\n", outcome(semop(s, &nowait, 1)));
  struct timespec ts = {0, 50000000};
  arg.val = 0; semctl(s, 0, SETVAL, arg);
  printf("semtimedop times out: %s\n", outcome(semtimedop(s, &down, 1, &ts)));
  struct semid_ds sds; arg.buf = &sds; semctl(s, 0, IPC_STAT, arg);
  printf("nsems %lu owner is me %d\n", (unsigned long)sds.sem_nsems, sds.sem_perm.uid == getuid());
  semctl(s, 0, IPC_RMID);
  printf("semop after rmid: %s\n", outcome(semop(s, &down, 1)));
  /* A message queue. */
  int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  struct { long type; char text[32]; } m = {2, "second kind"}, r;
  msgsnd(q, &m, sizeof m.text, 0);
  m.type = 1; strcpy(m.text, "first kind"); msgsnd(q, &m, sizeof m.text, 0);
  ssize_t n = msgrcv(q, &r, sizeof r.text, 2, 0);
  printf("msgrcv type 2: %zd %ld %s\n", n, r.type, r.text);
  n = msgrcv(q, &r, sizeof r.text, 0, 0);
  printf("msgrcv any: %zd %ld %s\n", n, r.type, r.text);
  n = msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT);
  printf("msgrcv empty: %s\n", outcome(n));
  n = msgrcv(q, &r, 4, 0, IPC_NOWAIT);
  msgsnd(q, &m, sizeof m.text, 0);
  n = msgrcv(q, &r, 4, 0, IPC_NOWAIT);
  printf("msgrcv too small: %s\n", outcome(n));
  n = msgrcv(q, &r, 4, 0, IPC_NOWAIT | MSG_NOERROR);
  printf("msgrcv truncated: %zd %.4s\n", n, r.text);
  struct msqid_ds qs; msgctl(q, IPC_STAT, &qs);
  printf("qnum %lu owner is me %d\n", (unsigned long)qs.msg_qnum, qs.msg_perm.uid == getuid());
  printf("msgsnd huge: %s\n", outcome(msgsnd(q, &m, 1 << 20, 0)));
  msgctl(q, IPC_RMID, NULL);
  printf("msgsnd after rmid: %s\n", outcome(msgsnd(q, &m, 4, 0)));
  return 0;
}
