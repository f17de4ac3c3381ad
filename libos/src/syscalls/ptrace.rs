//! `ptrace`, between a parent and its children in the box: `PTRACE_TRACEME`, `PTRACE_ATTACH`
//! and `PTRACE_SEIZE` of a child, signal-delivery stops, `PTRACE_CONT` (with the signal to
//! deliver, or none), `PTRACE_DETACH`, `PTRACE_KILL`, the tracee's memory
//! (`PTRACE_PEEK*`/`POKE*`), registers (`PTRACE_GETREGS`, `SETREGS`, `PEEKUSER`, `POKEUSER`)
//! and `siginfo`; not system-call stops, single steps, options or register sets (`EIO`).
//!
//! Each process keeps what a tracer may see of it in [`RECORD`]: who traces it, the signal of
//! its stop, the registers and `siginfo` at the stop, and what the tracer told it to do next.
//! The runtime is at the same address in every process of the box (they are all forked from
//! the first), so a tracer reads and writes its tracee's record, and its memory, through the
//! host (`process_memory`, Linux's `process_vm_readv`). A stop is the host's: the tracee stops
//! itself with SIGSTOP, which its parent's `wait` sees (told as the signal of the stop, from
//! the record); the tracer writes its command into the record, then continues the tracee with
//! SIGCONT, which the tracee takes as the command and not as a signal.
//!
//! The debug registers are recorded and checked as Linux checks them, never armed: no
//! hardware breakpoint or watchpoint fires in a box.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user::{self, USER_END};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use picobox_abi::{reg, CpuContext, Errno, IoBuf, Result, Whose};

const PTRACE_TRACEME: u64 = 0;
const PTRACE_PEEKTEXT: u64 = 1;
const PTRACE_PEEKDATA: u64 = 2;
const PTRACE_PEEKUSER: u64 = 3;
const PTRACE_POKETEXT: u64 = 4;
const PTRACE_POKEDATA: u64 = 5;
const PTRACE_POKEUSER: u64 = 6;
const PTRACE_CONT: u64 = 7;
const PTRACE_KILL: u64 = 8;
const PTRACE_GETREGS: u64 = 12;
const PTRACE_SETREGS: u64 = 13;
const PTRACE_ATTACH: u64 = 16;
const PTRACE_DETACH: u64 = 17;
const PTRACE_SEIZE: u64 = 0x4206;
const PTRACE_GETSIGINFO: u64 = 0x4202;
const PTRACE_SETSIGINFO: u64 = 0x4203;

const SIGKILL: u32 = 9;
const SIGSTOP: u32 = 19;
const SIGCONT: u32 = 18;

/// `sizeof(struct user)` on x86-64, and where its debug registers are.
const USER_SIZE: u64 = 928;
const USER_REGS: u64 = 27 * 8;
const USER_DEBUGREG: u64 = 848;

/// Set in [`TraceRecord::resume`] by the tracer: continue (with the signal in the low byte).
const RESUME: u32 = 1 << 16;
/// Set with [`RESUME`]: and stop being traced.
const DETACH: u32 = 1 << 17;

/// What a tracer sees of a process, and tells it. Every field is a word the tracer may read
/// or write through the host while the process is stopped.
#[repr(C)]
pub struct TraceRecord {
    /// The tracer's pid; 0 while untraced.
    tracer: AtomicU32,
    /// While in a signal-delivery stop, its signal; else 0.
    stop_signal: AtomicU32,
    /// The tracer's command ([`RESUME`], [`DETACH`], the signal to deliver); 0 once taken.
    resume: AtomicU32,
    /// Whether `regs` are the registers of the current stop (not for a stop by SIGSTOP from
    /// another process, which the host carries out alone); 2 once the tracer changed them.
    regs_state: AtomicU32,
    /// `struct user_regs_struct` at the stop.
    regs: [AtomicU64; 27],
    /// The `siginfo` of the stop's signal.
    siginfo: [AtomicU64; 16],
    /// `u_debugreg`: DR0–DR7 as set (never armed).
    debugreg: [AtomicU64; 8],
    /// Set by a child that asked to be traced (`PTRACE_TRACEME`), for this process, its
    /// tracer, to look for it among its children (see [`adopt_announced`]).
    announced: AtomicU32,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

/// This process's record (see the module's comment), in [`crate::state::LibOs`].
pub static RECORD: &TraceRecord = &crate::state::LIBOS.trace;

impl TraceRecord {
    /// Untraced.
    pub(crate) const fn new() -> TraceRecord {
        TraceRecord {
            tracer: AtomicU32::new(0),
            stop_signal: AtomicU32::new(0),
            resume: AtomicU32::new(0),
            regs_state: AtomicU32::new(0),
            regs: [ZERO; 27],
            siginfo: [ZERO; 16],
            debugreg: [ZERO; 8],
            announced: AtomicU32::new(0),
        }
    }
}

/// While this process is in a signal-delivery stop (a SIGCONT then is its tracer's).
static IN_STOP: &AtomicBool = &crate::state::LIBOS.trace_in_stop;

/// Where a field of the record is, in every process of the box.
fn address<T>(field: &T) -> usize {
    field as *const T as usize
}

/// Whether this process is traced.
pub fn traced() -> bool {
    RECORD.tracer.load(SeqCst) != 0
}

/// In a forked child: not traced, whoever traced the parent (Linux's default without
/// `PTRACE_O_TRACEFORK`), and tracing nobody.
pub fn after_fork(k: &mut Kernel) {
    RECORD.tracer.store(0, SeqCst);
    RECORD.stop_signal.store(0, SeqCst);
    RECORD.resume.store(0, SeqCst);
    RECORD.announced.store(0, SeqCst);
    for d in &RECORD.debugreg {
        d.store(0, SeqCst);
    }
    k.tracees.clear();
}

/// `sig` (with `info`) is about to be delivered. A traced process stops first, for its tracer
/// to see, and goes on with the signal the tracer chose: `None` if none (the signal is
/// suppressed). SIGKILL is never stopped for. `syscall` is the call just made, if any.
pub fn signal_stop(
    ctx: &mut CpuContext,
    sig: u8,
    info: [u8; 128],
    syscall: Option<u64>,
) -> Option<(u8, [u8; 128])> {
    if !traced() || u32::from(sig) == SIGKILL {
        return Some((sig, info));
    }
    for (word, bytes) in RECORD.siginfo.iter().zip(info.chunks_exact(8)) {
        word.store(
            u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])),
            SeqCst,
        );
    }
    let fs_base = host().thread_set_tls(None).unwrap_or(0) as u64;
    let orig_rax = syscall.unwrap_or(u64::MAX);
    for (word, value) in RECORD.regs.iter().zip(user_regs(ctx, orig_rax, fs_base)) {
        word.store(value, SeqCst);
    }
    RECORD.regs_state.store(1, SeqCst);
    RECORD.stop_signal.store(u32::from(sig), SeqCst);
    let me = host().process_id(Whose::Caller) as i32;
    IN_STOP.store(true, SeqCst);
    crate::box_processes::set_state(crate::box_processes::TRACED);
    // Stopped until the tracer's command comes (another process's SIGCONT does not end a
    // trace stop).
    let command = loop {
        let _ = host().process_signal(me, SIGSTOP, None);
        let c = RECORD.resume.swap(0, SeqCst);
        if c & RESUME != 0 || !traced() {
            break c;
        }
    };
    crate::box_processes::set_state(crate::box_processes::RUNNING);
    IN_STOP.store(false, SeqCst);
    RECORD.stop_signal.store(0, SeqCst);
    if RECORD.regs_state.swap(0, SeqCst) == 2 {
        set_user_regs(ctx);
    }
    if command & DETACH != 0 {
        RECORD.tracer.store(0, SeqCst);
    }
    let chosen = (command & 0xff) as u8;
    if chosen == 0 {
        return None;
    }
    let mut info = info;
    if chosen == sig {
        for (bytes, word) in info.chunks_exact_mut(8).zip(&RECORD.siginfo) {
            bytes.copy_from_slice(&word.load(SeqCst).to_le_bytes());
        }
    } else {
        info = [0u8; 128];
        info[0..4].copy_from_slice(&i32::from(chosen).to_le_bytes());
    }
    Some((chosen, info))
}

/// A host SIGCONT arrived (with `info`): whether it is the tracer's command, not a signal for
/// the program. A command that comes while the process is not in a signal-delivery stop (it
/// was stopped by SIGSTOP from another process, as `PTRACE_ATTACH` stops it) is carried out
/// here: the signal it names is made pending through `pend`.
pub fn takes_continue(info: &[u8; 128], pend: impl FnOnce(u8)) -> bool {
    let sender = u32::from_le_bytes([info[16], info[17], info[18], info[19]]);
    let tracer = RECORD.tracer.load(SeqCst);
    if tracer == 0 || sender != tracer {
        return false;
    }
    if IN_STOP.load(SeqCst) {
        return true;
    }
    let command = RECORD.resume.swap(0, SeqCst);
    if command & RESUME == 0 {
        return false;
    }
    if command & DETACH != 0 {
        RECORD.tracer.store(0, SeqCst);
    }
    let sig = (command & 0xff) as u8;
    if sig != 0 {
        pend(sig);
    }
    true
}

/// `struct user_regs_struct` of `ctx` (as a tracer and a core file see it): r15, r14, r13,
/// r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, `orig_rax` (the system call, or
/// -1), rip, cs, eflags, rsp, ss, `fs_base`, gs_base, ds, es, fs, gs.
pub(crate) fn user_regs(ctx: &CpuContext, orig_rax: u64, fs_base: u64) -> [u64; 27] {
    let r = &ctx.regs;
    [
        r[reg::R15],
        r[reg::R14],
        r[reg::R13],
        r[reg::R12],
        r[reg::RBP],
        r[reg::RBX],
        r[reg::R11],
        r[reg::R10],
        r[reg::R9],
        r[reg::R8],
        r[reg::RAX],
        r[reg::RCX],
        r[reg::RDX],
        r[reg::RSI],
        r[reg::RDI],
        orig_rax,
        r[reg::RIP],
        0x33,
        r[reg::EFLAGS],
        r[reg::RSP],
        0x2b,
        fs_base,
        0,
        0,
        0,
        0,
        0,
    ]
}

/// Puts the registers the tracer set back into `ctx` (the segment registers stay).
fn set_user_regs(ctx: &mut CpuContext) {
    let v = |i: usize| RECORD.regs[i].load(SeqCst);
    let order = [
        reg::R15,
        reg::R14,
        reg::R13,
        reg::R12,
        reg::RBP,
        reg::RBX,
        reg::R11,
        reg::R10,
        reg::R9,
        reg::R8,
        reg::RAX,
        reg::RCX,
        reg::RDX,
        reg::RSI,
        reg::RDI,
    ];
    for (i, r) in order.iter().enumerate() {
        ctx.regs[*r] = v(i);
    }
    ctx.regs[reg::RIP] = v(16);
    // As Linux: only the flags a program may change.
    const USER_FLAGS: u64 = 0x0025_4dd5;
    ctx.regs[reg::EFLAGS] = (ctx.regs[reg::EFLAGS] & !USER_FLAGS) | (v(18) & USER_FLAGS);
    ctx.regs[reg::RSP] = v(19);
    let fs_base = v(21);
    if fs_base < USER_END {
        let _ = host().thread_set_tls(Some(fs_base as usize));
    }
}

/// Reads `len` bytes of tracee `pid`'s memory at `remote` into `out`: `EIO` if not all of it
/// could be.
fn read_remote(pid: u32, remote: usize, out: &mut [u8]) -> Result<()> {
    match host().process_memory(pid, remote, IoBuf::of_mut(out), false) {
        Ok(n) if n == out.len() => Ok(()),
        _ => Err(Errno::EIO),
    }
}

/// Writes `bytes` into tracee `pid`'s memory at `remote`: `EIO` if not all of it could be.
fn write_remote(pid: u32, remote: usize, bytes: &[u8]) -> Result<()> {
    match host().process_memory(pid, remote, IoBuf::of(bytes), true) {
        Ok(n) if n == bytes.len() => Ok(()),
        _ => Err(Errno::EIO),
    }
}

/// `N` bytes of tracee `pid`'s memory at `remote`.
fn read_array<const N: usize>(pid: u32, remote: usize) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    read_remote(pid, remote, &mut b)?;
    Ok(b)
}

fn read_word(pid: u32, remote: usize) -> Result<u64> {
    read_array(pid, remote).map(u64::from_le_bytes)
}

fn read_u32(pid: u32, remote: usize) -> Result<u32> {
    read_array(pid, remote).map(u32::from_le_bytes)
}

/// For the tracer's `wait`: the signal of tracee `pid`'s stop (SIGSTOP if the host stopped it
/// alone), to report in place of the host's SIGSTOP.
pub fn stop_signal_of(pid: u32) -> u32 {
    match read_u32(pid, address(&RECORD.stop_signal)) {
        Ok(0) | Err(_) => SIGSTOP,
        Ok(sig) => sig,
    }
}

/// Takes as tracees the children that announced they asked to be traced by this process
/// (`PTRACE_TRACEME`) since it last looked.
pub fn adopt_announced(k: &mut Kernel) {
    if RECORD.announced.swap(0, SeqCst) == 0 {
        return;
    }
    let me = host().process_id(Whose::Caller);
    for pid in crate::box_processes::pids() {
        let child = crate::box_processes::read(pid).is_some_and(|n| n.ppid == me);
        if child && read_u32(pid, address(&RECORD.tracer)) == Ok(me) {
            k.tracees.entry(pid).or_insert(false);
        }
    }
}

/// `ptrace(request, pid, addr, data)`.
pub fn sys_ptrace(k: &mut Kernel, a: &Args) -> Result<u64> {
    let request = a[0] & 0xffff_ffff;
    if request == PTRACE_TRACEME {
        if traced() {
            return Err(Errno::EPERM);
        }
        let parent = host().process_id(Whose::Parent);
        RECORD.tracer.store(parent, SeqCst);
        // The parent learns of it when it next waits or asks (its stop will interrupt it).
        let _ = write_remote(parent, address(&RECORD.announced), &1u32.to_le_bytes());
        return Ok(0);
    }
    let pid = u32::try_from(int_arg(a[1])).map_err(|_| Errno::ESRCH)?;
    adopt_announced(k);
    if request == PTRACE_ATTACH || request == PTRACE_SEIZE {
        return attach(k, pid, request == PTRACE_ATTACH);
    }
    let Some(stopped) = k.tracees.get(&pid).copied() else {
        return Err(Errno::ESRCH);
    };
    if request == PTRACE_KILL {
        let _ = host().process_signal(pid as i32, SIGKILL, None);
        return Ok(0);
    }
    // Every other request needs the tracee stopped.
    if !stopped {
        return Err(Errno::ESRCH);
    }
    let (addr, data) = (a[2], a[3]);
    match request {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            let word = read_word(pid, addr as usize)?;
            user::write_u64(data, word)?;
            Ok(0)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            write_remote(pid, addr as usize, &data.to_le_bytes()).map(|()| 0)
        }
        PTRACE_PEEKUSER => {
            let word = peek_user(pid, addr)?;
            user::write_u64(data, word)?;
            Ok(0)
        }
        PTRACE_POKEUSER => poke_user(pid, addr, data).map(|()| 0),
        PTRACE_GETREGS => {
            let regs = registers(pid)?;
            user::write_bytes(data, &regs)?;
            Ok(0)
        }
        PTRACE_SETREGS => {
            registers(pid)?;
            let regs = user::read_bytes(data, 27 * 8)?;
            write_remote(pid, address(&RECORD.regs), &regs)?;
            write_remote(pid, address(&RECORD.regs_state), &2u32.to_le_bytes()).map(|()| 0)
        }
        PTRACE_GETSIGINFO => {
            let mut info = [0u8; 128];
            read_remote(pid, address(&RECORD.siginfo), &mut info)?;
            user::write_bytes(data, &info)?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let info = user::read_bytes(data, 128)?;
            write_remote(pid, address(&RECORD.siginfo), &info).map(|()| 0)
        }
        PTRACE_CONT | PTRACE_DETACH => {
            let sig = u32::try_from(data)
                .ok()
                .filter(|s| *s <= 64)
                .ok_or(Errno::EIO)?;
            let mut command = RESUME | sig;
            if request == PTRACE_DETACH {
                command |= DETACH;
                write_remote(pid, address(&RECORD.tracer), &0u32.to_le_bytes())?;
                k.tracees.remove(&pid);
            } else {
                k.tracees.insert(pid, false);
            }
            write_remote(pid, address(&RECORD.resume), &command.to_le_bytes())?;
            host().process_signal(pid as i32, SIGCONT, None)?;
            Ok(0)
        }
        // System-call stops, single steps, options, register sets, FP registers.
        _ => Err(Errno::EIO),
    }
}

/// `PTRACE_ATTACH` (which stops the tracee with SIGSTOP) or `PTRACE_SEIZE` of `pid`, a child of
/// the caller's (a tracer's tracees are its children here, whose stops its `wait` sees).
fn attach(k: &mut Kernel, pid: u32, stop: bool) -> Result<u64> {
    let me = host().process_id(Whose::Caller);
    if pid == 0 {
        return Err(Errno::ESRCH);
    }
    host().process_signal(pid as i32, 0, None)?;
    let child = crate::box_processes::read(pid).is_some_and(|n| n.ppid == me);
    if pid == me || !child || k.tracees.contains_key(&pid) {
        return Err(Errno::EPERM);
    }
    if read_u32(pid, address(&RECORD.tracer)).map_err(|_| Errno::EPERM)? != 0 {
        return Err(Errno::EPERM);
    }
    write_remote(pid, address(&RECORD.tracer), &me.to_le_bytes()).map_err(|_| Errno::EPERM)?;
    // A child stopped already (by a stop signal) is in a stop its tracer may act on.
    let stopped = crate::box_processes::state_of(pid) == crate::box_processes::STOPPED;
    k.tracees.insert(pid, stopped);
    if stop {
        host().process_signal(pid as i32, SIGSTOP, None)?;
    }
    Ok(0)
}

/// The tracee's registers at its stop: `EIO` if it was stopped by the host alone (SIGSTOP
/// from another process), whose registers the library OS did not see.
fn registers(pid: u32) -> Result<[u8; 27 * 8]> {
    if read_u32(pid, address(&RECORD.regs_state))? == 0 {
        return Err(Errno::EIO);
    }
    let mut regs = [0u8; 27 * 8];
    read_remote(pid, address(&RECORD.regs), &mut regs)?;
    Ok(regs)
}

/// Checks `offset` into `struct user` as Linux does: aligned and inside (`EIO`).
fn user_offset(offset: u64) -> Result<u64> {
    if !offset.is_multiple_of(8) || offset >= USER_SIZE {
        return Err(Errno::EIO);
    }
    Ok(offset)
}

fn peek_user(pid: u32, offset: u64) -> Result<u64> {
    let offset = user_offset(offset)?;
    if offset < USER_REGS {
        let regs = registers(pid)?;
        let at = offset as usize;
        return Ok(u64::from_le_bytes(
            regs[at..at + 8].try_into().unwrap_or([0; 8]),
        ));
    }
    if (USER_DEBUGREG..USER_DEBUGREG + 64).contains(&offset) {
        return read_word(
            pid,
            address(&RECORD.debugreg) + (offset - USER_DEBUGREG) as usize,
        );
    }
    Ok(0)
}

fn poke_user(pid: u32, offset: u64, value: u64) -> Result<()> {
    let offset = user_offset(offset)?;
    if offset < USER_REGS {
        registers(pid)?;
        write_remote(
            pid,
            address(&RECORD.regs) + offset as usize,
            &value.to_le_bytes(),
        )?;
        return write_remote(pid, address(&RECORD.regs_state), &2u32.to_le_bytes());
    }
    if !(USER_DEBUGREG..USER_DEBUGREG + 64).contains(&offset) {
        // The rest of `struct user` is not the tracer's to write.
        return Err(Errno::EIO);
    }
    let n = ((offset - USER_DEBUGREG) / 8) as usize;
    let at = |i: usize| address(&RECORD.debugreg) + i * 8;
    match n {
        // A breakpoint's address must be the program's, enabled or not.
        0..=3 if value >= USER_END => Err(Errno::EINVAL),
        0..=3 | 6 => write_remote(pid, at(n), &value.to_le_bytes()),
        4 | 5 => Err(Errno::EIO),
        _ => {
            // DR7: each enabled breakpoint needs a valid address, length and kind.
            for i in 0..4 {
                if value & (3 << (2 * i)) == 0 {
                    continue;
                }
                let kind = (value >> (16 + 4 * i)) & 3;
                let len = (value >> (18 + 4 * i)) & 3;
                let addr = read_word(pid, at(i))?;
                // Kind 2 is I/O; an instruction breakpoint is one byte long.
                if kind == 2 || (kind == 0 && len != 0) || addr >= USER_END {
                    return Err(Errno::EINVAL);
                }
            }
            write_remote(pid, at(7), &value.to_le_bytes())
        }
    }
}
