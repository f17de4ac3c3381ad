/* Guest values at the edges of the address space, where the library OS computes addresses:
 * a signal frame that cannot fit must end the process with SIGSEGV, as on Linux, never crash
 * the library OS. Usage: edges altstack-top | tiny-rsp | altstack-wrap */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void handler(int sig) { (void)sig; write(1, "handled\n", 8); }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    if (!strcmp(argv[1], "altstack-top") || !strcmp(argv[1], "altstack-wrap")) {
        /* An alternate stack whose end lies beyond the address space. */
        stack_t ss = {.ss_sp = (void *)(uintptr_t)0xfffffffffffff000ull,
                      .ss_size = !strcmp(argv[1], "altstack-wrap") ? 0x100000 : 0x1000};
        if (sigaltstack(&ss, NULL)) { perror("sigaltstack"); return 1; }
        sa.sa_flags = SA_ONSTACK;
        sigaction(SIGUSR1, &sa, NULL);
        printf("raising\n");
        fflush(stdout);
        raise(SIGUSR1);
        printf("survived\n");
        return 0;
    }
    if (!strcmp(argv[1], "tiny-rsp")) {
        /* A signal arrives while the stack pointer is near zero. */
        sigaction(SIGUSR1, &sa, NULL);
        printf("raising\n");
        fflush(stdout);
        long pid = getpid();
        __asm__ volatile(
            "mov %%rsp, %%r12\n"
            "mov $0x40, %%rsp\n"
            "mov %0, %%rdi\n"
            "mov %1, %%rsi\n"
            "mov %2, %%eax\n"
            "syscall\n"
            "mov %%r12, %%rsp\n"
            :: "r"(pid), "r"((long)SIGUSR1), "i"(SYS_kill) : "rax", "rdi", "rsi", "rcx", "r11", "r12", "memory");
        printf("survived\n");
        return 0;
    }
    return 2;
}
