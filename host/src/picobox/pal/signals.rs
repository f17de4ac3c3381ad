//! Signal entry: how the program's system calls and faults reach the library OS.
//!
//! - `SIGSYS` (from the seccomp filter's `SECCOMP_RET_TRAP`): the trapped system call's number
//!   and arguments are read from the signal context, [`picobox_libos::syscall`] runs it, and
//!   the result is written back to `rax`; returning resumes the program after its `syscall`.
//! - `SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`: a fault in [`copy_checked`] is turned into a
//!   failed copy (`EFAULT` for the library OS); any other fault is the program's, handed to
//!   [`picobox_libos::fault`]; the same signals sent by a process (`kill`) are ordinary
//!   signals of the program.
//!
//! All handlers run on the calling thread's alternate stack, owned by the runtime (one per
//! thread, see `threads.rs`), so the program's own stack pointer is never trusted.
#![allow(unsafe_code)]

use crate::{freeze, gate, pal, threads};
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use picobox_abi::{CpuContext, Errno};

// Offsets into `ucontext_t` on x86-64: `uc_mcontext.gregs` starts at byte 40.
const GREGS: usize = 40;
const REG_RIP: usize = 16;
/// Offset of `uc_sigmask` in the kernel's ucontext (flags, link, stack, machine context).
const UC_SIGMASK: usize = 8 + 8 + 24 + 256;
/// Marks an XSAVE-format floating-point state in a signal frame.
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
// `siginfo_t` for SIGSYS: `si_syscall` at byte 24.
const SI_SYSCALL: usize = 24;

const SIGILL: u64 = 4;
const SIGBUS: u64 = 7;
const SIGFPE: u64 = 8;
const SIGSEGV: u64 = 11;
const SIGSYS: u64 = 31;

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

/// Host signals received so far (for `signals_seen`/`signals_wait`).
pub static SIGNALS_SEEN: AtomicU64 = AtomicU64::new(0);

/// Copies the registers of the signal context into a [`CpuContext`].
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
unsafe fn read_context(uc: *mut u8) -> CpuContext {
    let g = gregs(uc);
    let mut ctx = CpuContext::default();
    for (i, r) in ctx.regs.iter_mut().enumerate() {
        // SAFETY: `gregs` holds 23 registers; the first 18 are those of CpuContext.
        *r = unsafe { g.add(i).read() };
    }
    // SAFETY: `fpregs` follows the 23 registers; the kernel points it at the saved state.
    let fp = unsafe { g.add(23).read() } as usize;
    ctx.fpstate = fp;
    ctx.fpstate_len = if fp == 0 {
        0
    } else {
        // The software-reserved bytes of the FXSAVE area say how large the XSAVE state is.
        // SAFETY: the kernel's fpstate is at least the 512-byte FXSAVE area.
        let (magic, size) = unsafe {
            (
                (fp as *const u32).add(116).read(),
                (fp as *const u32).add(117).read(),
            )
        };
        if magic == FP_XSTATE_MAGIC1 {
            size as usize
        } else {
            512
        }
    };
    ctx
}

/// Writes the registers back into the signal context.
///
/// # Safety
/// As for [`read_context`].
unsafe fn write_context(uc: *mut u8, ctx: &CpuContext) {
    let g = gregs(uc);
    for (i, r) in ctx.regs.iter().enumerate() {
        // SAFETY: as in read_context.
        unsafe { g.add(i).write(*r) };
    }
}

fn siginfo(info: *const u8) -> [u8; 128] {
    let mut out = [0u8; 128];
    // SAFETY: the kernel passes a 128-byte siginfo to an SA_SIGINFO handler.
    unsafe { core::ptr::copy_nonoverlapping(info, out.as_mut_ptr(), 128) };
    out
}

extern "C" fn on_sigsys(sig: i32, info: *mut u8, uc: *mut u8) {
    const SYS_SECCOMP: i32 = 1;
    // A SIGSYS that the filter did not raise (sent by a process, or chosen by F_SETSIG for a
    // notice) is an ordinary signal of the program, not a system call to run.
    // SAFETY: `si_code` is the third int of the siginfo the kernel passes.
    if unsafe { (info.add(8) as *const i32).read() } != SYS_SECCOMP {
        on_async(sig, info, uc);
        return;
    }
    // SAFETY: the kernel passes a valid siginfo and ucontext for an SA_SIGINFO handler; for
    // SIGSYS, `si_syscall` is at byte 24.
    let nr = u64::from(unsafe { (info.add(SI_SYSCALL) as *const u32).read() });
    // SAFETY: as above.
    let mut ctx = unsafe { read_context(uc) };
    let me = threads::current();
    me.in_libos.store(true, Ordering::Relaxed);
    picobox_libos::syscall(nr, &mut ctx);
    me.in_libos.store(false, Ordering::Relaxed);
    // SAFETY: as above.
    unsafe { write_context(uc, &ctx) };
    // A freeze that arrived while the call was served parks the thread here, where it holds
    // nothing of the library OS and its registers are all in the frame.
    freeze::park_if_pending(me);
}

extern "C" fn on_async(sig: i32, info: *mut u8, uc: *mut u8) {
    // Taken for the time of this handler, so that a handler nested in it never takes the
    // calls this one makes at the gate for the interrupted wait's.
    let me = threads::current();
    let waiting = me.waiting.swap(false, Ordering::SeqCst);
    on_async_in(sig, info, uc, waiting);
    me.waiting.store(waiting, Ordering::SeqCst);
}

fn on_async_in(sig: i32, info: *mut u8, uc: *mut u8, waiting: bool) {
    if let Some(request) = freeze::request_of(sig, info) {
        freeze::requested(request, can_park(uc));
        return;
    }
    let info = siginfo(info);
    // SAFETY: valid ucontext from the kernel.
    let mut ctx = unsafe { read_context(uc) };
    // The program was interrupted only if the PAL was not: inside the SIGSYS handler (even in
    // its first or last instructions, around the IN_LIBOS flag) SIGSYS itself is blocked.
    // SAFETY: `uc_sigmask` follows the machine context in the kernel's ucontext.
    let interrupted_mask = unsafe { (uc.add(UC_SIGMASK) as *const u64).read() };
    let me = threads::current();
    let in_libos =
        me.in_libos.load(Ordering::Relaxed) || interrupted_mask & (1 << (SIGSYS - 1)) != 0;
    picobox_libos::signal_arrived(u8::try_from(sig).unwrap_or(0), &info, &mut ctx, in_libos);
    SIGNALS_SEEN.fetch_add(1, Ordering::Release);
    if !in_libos {
        // SAFETY: as above.
        unsafe { write_context(uc, &ctx) };
        return;
    }
    // Made pending for the library OS: a wait of this thread that has not started yet must
    // not start (it would sleep through the signal), one about to start ends with EINTR now.
    me.arrived.fetch_add(1, Ordering::SeqCst);
    let g = gregs(uc);
    // SAFETY: valid ucontext from the kernel.
    let rip = unsafe { g.add(REG_RIP).read() };
    if waiting && gate::in_wait_window(rip) {
        const REG_RAX: usize = 13;
        const EINTR: u64 = (-4i64) as u64;
        // SAFETY: as above; the gate's return is a `ret` to the wait's caller, whose return
        // address is on top of the stack anywhere in the window (it pushes nothing).
        unsafe {
            g.add(REG_RAX).write(EINTR);
            g.add(REG_RIP).write(gate::return_address());
        }
    }
}

/// Whether the thread that `uc` interrupted holds no lock of the library OS: it was running
/// the program, or the library OS was waiting in a host call (which the signal ended with
/// `EINTR`; the library OS then waits again, as for any host signal).
fn can_park(uc: *mut u8) -> bool {
    const REG_RAX: usize = 13;
    const EINTR: u64 = (-4i64) as u64;
    let g = gregs(uc);
    // SAFETY: valid ucontext from the kernel.
    let (rip, rax, mask) = unsafe {
        (
            g.add(REG_RIP).read(),
            g.add(REG_RAX).read(),
            (uc.add(UC_SIGMASK) as *const u64).read(),
        )
    };
    let in_libos =
        threads::current().in_libos.load(Ordering::Relaxed) || mask & (1 << (SIGSYS - 1)) != 0;
    !in_libos || (rip == gate::return_address() && rax == EINTR)
}

extern "C" fn on_fault(sig: i32, info: *mut u8, uc: *mut u8) {
    // A fault signal sent by a process (kill, tgkill, sigqueue: si_code <= 0) is no fault:
    // it is the program's signal like any other.
    // SAFETY: `si_code` is the third int of the siginfo the kernel passes.
    if unsafe { (info.add(8) as *const i32).read() } <= 0 {
        on_async(sig, info, uc);
        return;
    }
    let g = gregs(uc);
    // SAFETY: valid ucontext from the kernel (see on_sigsys); for a fault inside the checked
    // copy, the saved rip is redirected to its fix-up path.
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
    if threads::current().in_libos.load(Ordering::Relaxed) {
        // Not the program's fault: the library OS itself crashed.
        crate::out::error(format_args!(
            "internal error (a bug): signal {sig} in the library OS"
        ));
        pal::HOST.exit_now(crate::EXIT_INTERNAL);
    }
    let info = siginfo(info);
    // SAFETY: valid ucontext from the kernel.
    let mut ctx = unsafe { read_context(uc) };
    picobox_libos::fault(fault, &info, &mut ctx);
    // SAFETY: as above.
    unsafe { write_context(uc, &ctx) };
}

/// Host signals that reach the library OS as the program's signals: all but those the PAL
/// uses itself (SIGSYS, the fault signals), the uncatchable ones, and job control (left to the
/// host's defaults for now).
fn is_async(sig: u64) -> bool {
    // The stop signals other than SIGSTOP, and SIGCONT, are the program's too: it may handle,
    // block or ignore them, so the library OS decides what they do (see `stop_by_default`).
    !matches!(sig, 4 | 7 | 8 | 9 | 11 | 19 | 31)
}

/// The default action of stop signal `sig` (SIGTSTP, SIGTTIN, SIGTTOU), which the host would
/// take if the runtime did not handle the signal: for this call the host's default is put
/// back and the signal let through, so the kernel stops the whole process with that signal
/// (its parent's wait reports it). Returns once the process is continued.
pub fn stop_by_default(sig: u64, pid: u64) {
    const SYS_RT_SIGACTION: u64 = 13;
    const SYS_RT_SIGPROCMASK: u64 = 14;
    const SYS_KILL: u64 = 62;
    const SA_RESTORER: u64 = 0x0400_0000;
    let default: [u64; 4] = [0, SA_RESTORER, gate::sigreturn_address(), 0];
    let mut handled = [0u64; 4];
    gate::syscall(
        SYS_RT_SIGACTION,
        [
            sig,
            default.as_ptr() as u64,
            handled.as_mut_ptr() as u64,
            8,
            0,
            0,
        ],
    );
    let this_one: u64 = 1 << (sig - 1);
    let mut old_mask: u64 = 0;
    gate::syscall(
        SYS_RT_SIGPROCMASK,
        [
            1,
            &raw const this_one as u64,
            &raw mut old_mask as u64,
            8,
            0,
            0,
        ],
    );
    gate::syscall(SYS_KILL, [pid, sig, 0, 0, 0, 0]);
    gate::syscall(
        SYS_RT_SIGPROCMASK,
        [2, &raw const old_mask as u64, 0, 8, 0, 0],
    );
    gate::syscall(SYS_RT_SIGACTION, [sig, handled.as_ptr() as u64, 0, 8, 0, 0]);
}

/// Blocks every signal a process can send this one (all but SIGKILL and SIGSTOP, which
/// cannot be blocked): the asynchronous ones and also the fault signals and SIGSYS, which a
/// process may send with `kill` (they then reach the library OS as `on_async` does). The
/// code that runs while they are blocked makes no trapped call and cannot fault. Returns the
/// previous mask.
fn block_catchable() -> u64 {
    let all: u64 = (1..=64u64)
        .filter(|s| *s != 9 && *s != 19)
        .fold(0, |m, s| m | (1 << (s - 1)));
    let mut old: u64 = 0;
    gate::syscall(14, [0, &raw const all as u64, &raw mut old as u64, 8, 0, 0]);
    old
}

/// `Host::signals_wait`: race-free sleep until another host signal arrives or `timeout`
/// passes; returns whether one arrived.
pub fn wait_for_signal(seen: u64, timeout: Option<picobox_abi::Timespec>) -> bool {
    let old = block_catchable();
    if SIGNALS_SEEN.load(Ordering::Acquire) == seen {
        // Each atomically unblocks and sleeps: a signal pending since the check wakes it at
        // once.
        match timeout {
            None => {
                gate::syscall(130, [&raw const old as u64, 8, 0, 0, 0, 0]);
            }
            Some(t) => {
                let ts: [i64; 2] = [t.sec, t.nsec];
                gate::syscall(271, [0, 0, ts.as_ptr() as u64, &raw const old as u64, 8, 0]);
            }
        }
    }
    gate::syscall(14, [2, &raw const old as u64, 0, 8, 0, 0]);
    SIGNALS_SEEN.load(Ordering::Acquire) != seen
}

/// Sets up the alternate stack and the handlers. Runs before the filter is installed.
pub fn install() -> Result<(), Errno> {
    // The first thread's block: its signal stack and its PAL data.
    let block = threads::new_block()?;
    threads::use_block(block)?;
    // SAFETY: the block was just initialised; its thread is this one.
    unsafe { &*(block as *const threads::ThreadData) }
        .tid
        .store(gate::syscall(186, [0; 6]) as u32, Ordering::Relaxed);
    install_handlers()
}

/// The handlers, for the first thread of a process that runs (or, restored, runs again) this
/// runtime. Runs before the filter is installed.
pub fn install_handlers() -> Result<(), Errno> {
    install_handlers_moved(0)
}

/// As [`install_handlers`], with every address moved by `delta`: a restore installs the
/// *saved* runtime's handlers (this binary, loaded `delta` bytes away).
pub fn install_handlers_moved(delta: u64) -> Result<(), Errno> {
    const SYS_RT_SIGACTION: u64 = 13;
    const SA_SIGINFO: u64 = 4;
    const SA_ONSTACK: u64 = 0x0800_0000;
    const SA_RESTORER: u64 = 0x0400_0000;
    const SA_NODEFER: u64 = 0x4000_0000;
    let mut handlers: alloc::vec::Vec<(u64, u64, u64)> = alloc::vec![
        (SIGSYS, on_sigsys as *const () as u64, 0),
        // A fault inside the library OS while it serves a trapped call must still reach
        // `on_fault` (for the copy fix-up), hence NODEFER on the fault signals.
        (SIGSEGV, on_fault as *const () as u64, SA_NODEFER),
        (SIGBUS, on_fault as *const () as u64, SA_NODEFER),
        (SIGFPE, on_fault as *const () as u64, 0),
        (SIGILL, on_fault as *const () as u64, 0),
    ];
    // No SA_RESTART: a host call the library OS is blocked in returns EINTR, so the program's
    // signal is seen promptly.
    handlers.extend(
        (1..=64u64)
            .filter(|s| is_async(*s))
            .map(|s| (s, on_async as *const () as u64, 0)),
    );
    for (sig, handler, extra) in handlers {
        // struct kernel_sigaction { handler, flags, restorer, mask }
        let act: [u64; 4] = [
            handler.wrapping_add(delta),
            SA_SIGINFO | SA_ONSTACK | SA_RESTORER | extra,
            gate::sigreturn_address().wrapping_add(delta),
            0,
        ];
        Errno::from_raw_return(gate::syscall(
            SYS_RT_SIGACTION,
            [sig, act.as_ptr() as u64, 0, 8, 0, 0],
        ))?;
    }
    Ok(())
}
