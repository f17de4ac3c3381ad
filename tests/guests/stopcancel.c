/* Thread cancellation (in a blocking read and asynchronous), pthread_kill of a live thread,
 * SS_ONSTACK inside a handler on the alternate stack, epoll's loop and self checks, and a
 * process that stops itself with SIGSTOP, seen stopped and continued by its parent; each line
 * is compared with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
static int pfd[2];
static void *blocker(void *a) { char c; read(pfd[0], &c, 1); return (void*)1; }
static void *spinner(void *a) { pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, 0); for(;;){} return 0; }
static volatile int onstack = -1;
static void h(int s){ stack_t ss; sigaltstack(0,&ss); onstack = ss.ss_flags & SS_ONSTACK; }
/* SIGTSTP, SIGTTIN, SIGTTOU are the program's: handled, blocked (then pending), or by
 * default a stop that the parent's wait reports with that signal; SIGCONT runs a handler
 * too. */
static volatile sig_atomic_t got_tstp, got_cont;
static void on_tstp(int s){ (void)s; got_tstp++; }
static void on_cont(int s){ (void)s; got_cont++; }
static void stop_signals(void){
  int ready[2], go[2]; pipe(ready); pipe(go);
  pid_t c=fork();
  if(c==0){
    signal(SIGTSTP,on_tstp); signal(SIGCONT,on_cont);
    sigset_t ttin; sigemptyset(&ttin); sigaddset(&ttin,SIGTTIN); sigprocmask(SIG_BLOCK,&ttin,0);
    write(ready[1],"r",1);
    char b; read(go[0],&b,1);
    sigset_t p; sigpending(&p);
    printf("child: SIGTSTP handled %d, SIGCONT handled %d, blocked SIGTTIN pending %d\n", got_tstp, got_cont, sigismember(&p,SIGTTIN));
    _exit(0);
  }
  char b; read(ready[0],&b,1);
  /* (A SIGCONT discards pending stop signals: it goes before the blocked SIGTTIN.) */
  kill(c,SIGTSTP); usleep(100000); kill(c,SIGCONT); usleep(100000); kill(c,SIGTTIN);
  usleep(100000);
  int st; pid_t w=waitpid(c,&st,WUNTRACED|WNOHANG); printf("handled SIGTSTP stopped nobody: %d\n", w==0);
  write(go[1],"g",1); waitpid(c,&st,0); printf("exit: %d\n", WIFEXITED(st)?WEXITSTATUS(st):-1);
  /* (A default SIGTTOU stop is not checked: Linux discards it in an orphaned process group,
   * which a test harness may well run in.) */
  /* SIGCONT discards pending stop signals; a stop signal, a pending SIGCONT. */
  sigset_t s2; sigemptyset(&s2); sigaddset(&s2,SIGTSTP); sigaddset(&s2,SIGCONT); sigaddset(&s2,SIGTTIN);
  sigset_t before; sigprocmask(SIG_BLOCK,&s2,&before);
  signal(SIGCONT, SIG_DFL);
  kill(getpid(),SIGTSTP); sigset_t p; sigpending(&p); printf("SIGTSTP pending %d\n", sigismember(&p,SIGTSTP));
  kill(getpid(),SIGCONT); sigpending(&p); printf("after SIGCONT: SIGTSTP %d SIGCONT %d\n", sigismember(&p,SIGTSTP), sigismember(&p,SIGCONT));
  kill(getpid(),SIGTTIN); sigpending(&p); printf("after SIGTTIN: SIGCONT %d SIGTTIN %d\n", sigismember(&p,SIGCONT), sigismember(&p,SIGTTIN));
  signal(SIGTTIN, SIG_IGN);
  sigprocmask(SIG_SETMASK,&before,0);
}

int main(void){
  setvbuf(stdout,0,_IONBF,0);
  pipe(pfd);
  pthread_t t; pthread_create(&t,0,blocker,0); usleep(100000);
  /* (If the thread is not yet in read, the cancel waits for it there.) */
  printf("pthread_kill live: %d\n", pthread_kill(t, 0));
  pthread_cancel(t); void *r; pthread_join(t,&r);
  printf("cancel blocked read: %s\n", r==PTHREAD_CANCELED?"canceled":"not");
  pthread_create(&t,0,spinner,0); usleep(100000); pthread_cancel(t); pthread_join(t,&r);
  printf("cancel async spinner: %s\n", r==PTHREAD_CANCELED?"canceled":"not");
  stack_t ss={.ss_sp=malloc(65536),.ss_size=65536,.ss_flags=0}; sigaltstack(&ss,0);
  struct sigaction sa={0}; sa.sa_handler=h; sa.sa_flags=SA_ONSTACK; sigaction(SIGUSR1,&sa,0);
  raise(SIGUSR1); printf("SS_ONSTACK in handler: %d\n", onstack);
  int e=epoll_create1(0); struct epoll_event ev={.events=EPOLLIN};
  int x=epoll_ctl(e,EPOLL_CTL_ADD,e,&ev); printf("epoll add itself: %d %s\n",x,x?strerror(errno):"");
  int e2=epoll_create1(0); epoll_ctl(e,EPOLL_CTL_ADD,e2,&ev); x=epoll_ctl(e2,EPOLL_CTL_ADD,e,&ev);
  printf("epoll loop: %d %s\n",x,x?strerror(errno):"");
  /* The child stops itself, and once continued waits for a word from the parent. */
  int go[2]; pipe(go);
  pid_t c=fork(); if(c==0){ char b; raise(SIGSTOP); read(go[0],&b,1); _exit(7);} int st;
  waitpid(c,&st,WUNTRACED); printf("stopped: %d sig %d\n", WIFSTOPPED(st), WIFSTOPPED(st)?WSTOPSIG(st):-1);
  kill(c,SIGCONT); waitpid(c,&st,WCONTINUED); printf("continued: %d\n", WIFCONTINUED(st));
  write(go[1],"x",1);
  waitpid(c,&st,0); printf("exit: %d\n", WIFEXITED(st)?WEXITSTATUS(st):-1);
  /* The same seen through waitid's siginfo. */
  int go2[2]; pipe(go2);
  c=fork(); if(c==0){ char b; raise(SIGSTOP); read(go2[0],&b,1); _exit(9);}
  siginfo_t si; memset(&si,0,sizeof si);
  waitid(P_PID,c,&si,WSTOPPED); printf("waitid stopped: code %d status %d pid ok %d\n", si.si_code, si.si_status, si.si_pid==c);
  kill(c,SIGCONT); memset(&si,0,sizeof si);
  waitid(P_PID,c,&si,WCONTINUED); printf("waitid continued: code %d status %d\n", si.si_code, si.si_status);
  write(go2[1],"x",1); memset(&si,0,sizeof si);
  waitid(P_PID,c,&si,WEXITED); printf("waitid exited: code %d status %d\n", si.si_code, si.si_status);
  int bad=waitid(P_PID,c,&si,0); printf("waitid no event kind: %d %s\n", bad, strerror(errno));
  stop_signals();
  /* WNOWAIT: the child is reported and stays waitable. */
  c=fork(); if(c==0) _exit(5);
  memset(&si,0,sizeof si);
  waitid(P_PID,c,&si,WEXITED|WNOWAIT); printf("WNOWAIT exited: code %d status %d\n", si.si_code, si.si_status);
  memset(&si,0,sizeof si);
  waitid(P_PID,c,&si,WEXITED|WNOWAIT); printf("WNOWAIT again: code %d status %d\n", si.si_code, si.si_status);
  waitpid(c,&st,0); printf("then reaped: %d\n", WIFEXITED(st)?WEXITSTATUS(st):-1);
  bad=waitid(P_PID,c,&si,WEXITED|WNOWAIT); printf("after reaping: %d %s\n", bad, strerror(errno));
  c=fork(); if(c==0){ raise(SIGSTOP); _exit(6);}
  memset(&si,0,sizeof si);
  waitid(P_PID,c,&si,WSTOPPED|WNOWAIT); printf("WNOWAIT stopped: code %d status %d\n", si.si_code, si.si_status);
  waitpid(c,&st,WUNTRACED); printf("still reported stopped: %d\n", WIFSTOPPED(st));
  kill(c,SIGCONT); waitpid(c,&st,0);
  return 0;
}
