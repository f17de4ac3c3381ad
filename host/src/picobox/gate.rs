//! The syscall gate: the runtime's only `syscall` instruction, and the seccomp filter that
//! lets system calls through only when they are made there.
//!
//! The filter the runtime installs is a short prefix followed by the monitor's allowlist:
//!
//! ```text
//! arch != x86-64                          → kill the process
//! instruction pointer != gate return      → SECCOMP_RET_TRAP (SIGSYS: the library OS emulates it)
//! inotify_add_watch                       → SECCOMP_RET_USER_NOTIF (the monitor makes the
//! listen, on the host's network             call, or refuses it: `monitor/broker.rs`)
//! otherwise                               → the monitor's argument-checked allowlist
//!                                           (allow, or kill the process)
//! ```
//!
//! Anything in the picoprocess can jump to the gate, so the allowlist, not the gate, is the
//! boundary: a call made at the gate has exactly the authority the allowlist grants.
#![allow(unsafe_code)]

use core::arch::global_asm;

global_asm!(
    ".pushsection .text.picobox_gate,\"ax\",@progbits",
    ".p2align 6",
    ".globl picobox_gate",
    "picobox_gate:",
    "    mov rax, rdi",
    "    mov rdi, rsi",
    "    mov rsi, rdx",
    "    mov rdx, rcx",
    "    mov r10, r8",
    "    mov r8, r9",
    "    mov r9, [rsp + 8]",
    ".globl picobox_gate_syscall",
    "picobox_gate_syscall:",
    "    syscall",
    ".globl picobox_gate_return",
    "picobox_gate_return:",
    "    ret",
    // Signal restorer: rt_sigreturn through the same instruction.
    ".globl picobox_sigreturn",
    "picobox_sigreturn:",
    "    mov eax, 15",
    "    jmp picobox_gate_syscall",
    // A wait: the gate, but `EINTR` at once if a signal arrived since the thread last saw
    // `EINTR` (the word at [rsp + 16] differs from [rsp + 24]). From its first instruction to
    // the gate's `syscall`, a signal's handler makes it return `EINTR` instead
    // (`in_wait_window`).
    ".globl picobox_gate_wait",
    "picobox_gate_wait:",
    "    mov rax, [rsp + 16]",
    "    mov eax, dword ptr [rax]",
    "    cmp eax, dword ptr [rsp + 24]",
    "    jne 2f",
    "    jmp picobox_gate",
    "2:",
    "    mov rax, -4",
    "    ret",
    ".globl picobox_gate_wait_end",
    "picobox_gate_wait_end:",
    ".popsection",
);

unsafe extern "C" {
    fn picobox_gate(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> u64;
    #[allow(clippy::too_many_arguments)]
    fn picobox_gate_wait(
        nr: u64,
        a0: u64,
        a1: u64,
        a2: u64,
        a3: u64,
        a4: u64,
        a5: u64,
        arrived: *const u32,
        seen: u64,
    ) -> u64;
    static picobox_gate_syscall: u8;
    static picobox_gate_return: u8;
    static picobox_gate_wait_end: u8;
    static picobox_sigreturn: u8;
}

/// Makes system call `nr` through the gate; returns the raw kernel result (`-errno` on error).
#[inline]
pub fn syscall(nr: u64, a: [u64; 6]) -> u64 {
    // SAFETY: the gate is a plain `syscall` with the Linux register convention. System calls
    // that change memory or control flow are made only by the PAL functions that wrap them,
    // each of which states what it changes.
    unsafe { picobox_gate(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

/// Makes the waiting system call `nr` through the gate, unless the word at `arrived` is no
/// longer `seen` (a signal came): then, and if a signal comes before the call starts (see
/// [`in_wait_window`]), returns `-EINTR` without making it.
#[inline]
pub fn wait_syscall(
    nr: u64,
    a: [u64; 6],
    arrived: &core::sync::atomic::AtomicU32,
    seen: u32,
) -> u64 {
    // SAFETY: as for `syscall`; `arrived` is a live word the gate only reads.
    unsafe {
        picobox_gate_wait(
            nr,
            a[0],
            a[1],
            a[2],
            a[3],
            a[4],
            a[5],
            arrived.as_ptr(),
            u64::from(seen),
        )
    }
}

/// Whether `rip`, interrupted in a thread that is in [`wait_syscall`], is before its host
/// call started: in the wait's check, or in the gate up to its `syscall` instruction, not yet
/// executed (the thread is in no other call at the gate meanwhile).
pub fn in_wait_window(rip: u64) -> bool {
    let check = picobox_gate_wait as *const () as u64..&raw const picobox_gate_wait_end as u64;
    let gate = picobox_gate as *const () as u64..=&raw const picobox_gate_syscall as u64;
    check.contains(&rip) || gate.contains(&rip)
}

/// Address of the gate's entry (what `AT_PICOBOX_GATE` tells the program).
pub fn entry_address() -> usize {
    picobox_gate as *const () as usize
}

/// Address just after the gate's `syscall` instruction: what seccomp sees as the instruction
/// pointer of a call made there.
pub fn return_address() -> u64 {
    &raw const picobox_gate_return as u64
}

/// Address of the signal restorer.
pub fn sigreturn_address() -> u64 {
    &raw const picobox_sigreturn as u64
}

/// Closes descriptors `first..=last`.
pub fn close_range(first: u32, last: u32) {
    const SYS_CLOSE_RANGE: u64 = 436;
    syscall(
        SYS_CLOSE_RANGE,
        [u64::from(first), u64::from(last), 0, 0, 0, 0],
    );
}

// Classic BPF opcodes used by the prefix.
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SYS_LISTEN: u32 = 50;
const SYS_INOTIFY_ADD_WATCH: u32 = 254;
const OFFSET_NR: u32 = 0;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const OFFSET_ARCH: u32 = 4;
const OFFSET_IP_LOW: u32 = 8;
const OFFSET_IP_HIGH: u32 = 12;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> u64 {
    u64::from(code) | (u64::from(jt) << 16) | (u64::from(jf) << 24) | (u64::from(k) << 32)
}

/// Which calls made at the gate [`install_filter`] hands to the monitor.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Brokered {
    /// None (the reaper, which makes none of them).
    Nothing,
    /// `inotify_add_watch`: no path reaches the box's mounts, so the monitor makes the watch
    /// on the descriptor the call names, with the box's credentials.
    Watches,
    /// Watches, and `listen` (a box on the host's network: the kernel would bind an unbound
    /// socket to a port no Landlock rule sees).
    WatchesAndListen,
}

/// Installs the filter: the gate prefix, then `allowlist` (the monitor's compiled rules, one
/// `struct sock_filter` per `u64`). Also sets `no_new_privs`, which seccomp requires. The
/// calls `brokered` names go to the monitor; the returned descriptor is then the notification
/// listener, for the monitor.
pub fn install_filter(
    allowlist: &[u64],
    brokered: Brokered,
) -> Result<Option<u64>, picobox_abi::Errno> {
    install_filter_on(allowlist, brokered, false)
}

/// As [`install_filter`]; with `all_threads`, on every thread of the process at once
/// (`SECCOMP_FILTER_FLAG_TSYNC`), for a restored process whose threads were made before it.
pub fn install_filter_on(
    allowlist: &[u64],
    brokered: Brokered,
    all_threads: bool,
) -> Result<Option<u64>, picobox_abi::Errno> {
    install_filter_for(allowlist, brokered, all_threads, return_address())
}

/// As [`install_filter_on`], for the gate whose `syscall` instruction returns to `ip`: a
/// restore installs the filter of the *saved* runtime's gate before anything of the saved
/// runtime runs, then makes its last calls there.
pub fn install_filter_for(
    allowlist: &[u64],
    brokered: Brokered,
    all_threads: bool,
    ip: u64,
) -> Result<Option<u64>, picobox_abi::Errno> {
    if allowlist.is_empty() {
        return Err(picobox_abi::Errno::EINVAL);
    }
    let mut prog: alloc::vec::Vec<u64> = alloc::vec![
        insn(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
        insn(BPF_JMP_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        insn(BPF_LD_W_ABS, 0, 0, OFFSET_IP_LOW),
        insn(BPF_JMP_JEQ_K, 1, 0, (ip & 0xffff_ffff) as u32),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_TRAP),
        insn(BPF_LD_W_ABS, 0, 0, OFFSET_IP_HIGH),
        insn(BPF_JMP_JEQ_K, 1, 0, (ip >> 32) as u32),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_TRAP),
    ];
    if brokered != Brokered::Nothing {
        prog.extend([
            insn(BPF_LD_W_ABS, 0, 0, OFFSET_NR),
            insn(BPF_JMP_JEQ_K, 0, 1, SYS_INOTIFY_ADD_WATCH),
            insn(BPF_RET_K, 0, 0, SECCOMP_RET_USER_NOTIF),
        ]);
    }
    if brokered == Brokered::WatchesAndListen {
        prog.extend([
            insn(BPF_JMP_JEQ_K, 0, 1, SYS_LISTEN),
            insn(BPF_RET_K, 0, 0, SECCOMP_RET_USER_NOTIF),
        ]);
    }
    prog.extend_from_slice(allowlist);
    let len = u16::try_from(prog.len()).map_err(|_| picobox_abi::Errno::E2BIG)?;
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    let fprog: [u64; 2] = [u64::from(len), prog.as_ptr() as u64];
    const SYS_PRCTL: u64 = 157;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const SYS_SECCOMP: u64 = 317;
    const SECCOMP_SET_MODE_FILTER: u64 = 1;
    const SECCOMP_FILTER_FLAG_NEW_LISTENER: u64 = 1 << 3;
    picobox_abi::Errno::from_raw_return(syscall(SYS_PRCTL, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]))?;
    // TSYNC_ESRCH: a thread that cannot be synchronised fails the call with ESRCH rather than
    // with its id, which lets TSYNC go with NEW_LISTENER.
    const SECCOMP_FILTER_FLAG_TSYNC: u64 = 1;
    const SECCOMP_FILTER_FLAG_TSYNC_ESRCH: u64 = 1 << 4;
    let mut flags = if brokered != Brokered::Nothing {
        SECCOMP_FILTER_FLAG_NEW_LISTENER
    } else {
        0
    };
    if all_threads {
        flags |= SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    let r = picobox_abi::Errno::from_raw_return(syscall(
        SYS_SECCOMP,
        [
            SECCOMP_SET_MODE_FILTER,
            flags,
            fprog.as_ptr() as u64,
            0,
            0,
            0,
        ],
    ))?;
    Ok((brokered != Brokered::Nothing).then_some(r))
}
