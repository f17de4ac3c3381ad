//! Signal entry: how the program's system calls and faults reach the library OS.
//!
//! - `SIGSYS` (from the seccomp filter's `SECCOMP_RET_TRAP`): the trapped system call's number
//!   and arguments are read from the signal context, [`picobox_libos::syscall`] runs it, and
//!   the result is written back to `rax`; returning resumes the program after its `syscall`.
//! - `SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`: a fault in [`copy_checked`] is turned into a
//!   failed copy (`EFAULT` for the library OS); any other fault is the program's, handed to
//!   [`picobox_libos::fault`].
//!
//! All handlers run on one alternate stack owned by the runtime, so the program's own stack
//! pointer is never trusted.
#![allow(unsafe_code)]

use crate::gate;
use core::arch::global_asm;
use picobox_abi::Errno;

// Offsets into `ucontext_t` on x86-64: `uc_mcontext.gregs` starts at byte 40.
const GREGS: usize = 40;
const REG_R8: usize = 0;
const REG_R9: usize = 1;
const REG_R10: usize = 2;
const REG_RDI: usize = 8;
const REG_RSI: usize = 9;
const REG_RDX: usize = 12;
const REG_RAX: usize = 13;
const REG_RSP: usize = 15;
const REG_RIP: usize = 16;
// `siginfo_t` for SIGSYS: `si_syscall` at byte 24.
const SI_SYSCALL: usize = 24;

const SIGILL: u64 = 4;
const SIGBUS: u64 = 7;
const SIGFPE: u64 = 8;
const SIGSEGV: u64 = 11;
const SIGSYS: u64 = 31;

/// Size of the runtime's signal stack.
const ALT_STACK_SIZE: usize = 512 * 1024;

global_asm!(
    ".pushsection .text.picobox_copy,\"ax\",@progbits",
    ".globl picobox_copy",
    "picobox_copy:",
    "    mov rcx, rdx",
    ".globl picobox_copy_insn",
    "picobox_copy_insn:",
    "    rep movsb",
    "    xor eax, eax",
    "    ret",
    ".globl picobox_copy_fixup",
    "picobox_copy_fixup:",
    "    mov eax, 1",
    "    ret",
    ".popsection",
);

unsafe extern "C" {
    fn picobox_copy(dst: usize, src: usize, len: usize) -> u64;
    static picobox_copy_insn: u8;
    static picobox_copy_fixup: u8;
}

/// Copies `len` bytes; returns `EFAULT` instead of crashing if either side faults.
pub fn copy_checked(dst: usize, src: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the copy is a `rep movsb` whose faults the fault handler turns into a return of
    // 1 (see `on_fault`); callers pass program addresses or buffers they own, and the library
    // OS never holds Rust references into program memory, so no aliasing rule is broken.
    match unsafe { picobox_copy(dst, src, len) } {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

fn gregs(uc: *mut u8) -> *mut u64 {
    uc.wrapping_add(GREGS) as *mut u64
}

extern "C" fn on_sigsys(_sig: i32, info: *mut u8, uc: *mut u8) {
    let g = gregs(uc);
    // SAFETY: the kernel passes a valid siginfo and ucontext for an SA_SIGINFO handler; the
    // offsets are those of the x86-64 ABI.
    unsafe {
        let nr = u64::from((info.add(SI_SYSCALL) as *const u32).read());
        let args = [
            g.add(REG_RDI).read(),
            g.add(REG_RSI).read(),
            g.add(REG_RDX).read(),
            g.add(REG_R10).read(),
            g.add(REG_R8).read(),
            g.add(REG_R9).read(),
        ];
        match picobox_libos::syscall(nr, args) {
            picobox_libos::Return::Value(v) => g.add(REG_RAX).write(v),
            picobox_libos::Return::Fresh(entry) => {
                // A new program: every general register zero, as after a Linux execve.
                for reg in 0..=REG_RIP {
                    g.add(reg).write(0);
                }
                g.add(REG_RSP).write(entry.sp);
                g.add(REG_RIP).write(entry.pc);
            }
            picobox_libos::Return::Switch { rax, pc, sp } => {
                g.add(REG_RAX).write(rax);
                g.add(REG_RSP).write(sp);
                if let Some(pc) = pc {
                    g.add(REG_RIP).write(pc);
                }
            }
        }
    }
}

extern "C" fn on_fault(sig: i32, _info: *mut u8, uc: *mut u8) {
    let g = gregs(uc);
    // SAFETY: valid ucontext from the kernel (see on_sigsys); only the saved rip is read and,
    // for a fault inside the checked copy, redirected to its fix-up path.
    unsafe {
        let rip = g.add(REG_RIP).read();
        if rip == &raw const picobox_copy_insn as u64 {
            g.add(REG_RIP).write(&raw const picobox_copy_fixup as u64);
            return;
        }
    }
    let fault = match u64::try_from(sig).unwrap_or(0) {
        SIGBUS => picobox_libos::Fault::Bus,
        SIGFPE => picobox_libos::Fault::Fpe,
        SIGILL => picobox_libos::Fault::Ill,
        _ => picobox_libos::Fault::Segv,
    };
    picobox_libos::fault(fault)
}

/// Sets up the alternate stack and the handlers. Runs before the filter is installed.
pub fn install() -> Result<(), Errno> {
    const SYS_MMAP: u64 = 9;
    const SYS_RT_SIGACTION: u64 = 13;
    const SYS_SIGALTSTACK: u64 = 131;
    const SA_SIGINFO: u64 = 4;
    const SA_ONSTACK: u64 = 0x0800_0000;
    const SA_RESTORER: u64 = 0x0400_0000;
    const SA_NODEFER: u64 = 0x4000_0000;
    let stack = Errno::from_raw_return(gate::syscall(
        SYS_MMAP,
        [0, ALT_STACK_SIZE as u64, 3, 0x22 | 0x20000, u64::MAX, 0],
    ))?;
    // stack_t { void *ss_sp; int ss_flags; size_t ss_size; }
    let ss: [u64; 3] = [stack, 0, ALT_STACK_SIZE as u64];
    Errno::from_raw_return(gate::syscall(
        SYS_SIGALTSTACK,
        [ss.as_ptr() as u64, 0, 0, 0, 0, 0],
    ))?;
    let handlers: [(u64, u64, u64); 5] = [
        (SIGSYS, on_sigsys as *const () as u64, 0),
        // A fault inside the library OS while it serves a trapped call must still reach
        // `on_fault` (for the copy fix-up), hence NODEFER on the fault signals.
        (SIGSEGV, on_fault as *const () as u64, SA_NODEFER),
        (SIGBUS, on_fault as *const () as u64, SA_NODEFER),
        (SIGFPE, on_fault as *const () as u64, 0),
        (SIGILL, on_fault as *const () as u64, 0),
    ];
    for (sig, handler, extra) in handlers {
        // struct kernel_sigaction { handler, flags, restorer, mask }
        let act: [u64; 4] = [
            handler,
            SA_SIGINFO | SA_ONSTACK | SA_RESTORER | extra,
            gate::sigreturn_address(),
            0,
        ];
        Errno::from_raw_return(gate::syscall(
            SYS_RT_SIGACTION,
            [sig, act.as_ptr() as u64, 0, 8, 0, 0],
        ))?;
    }
    Ok(())
}
