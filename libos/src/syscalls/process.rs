//! Processes: fork, wait, ids, groups and sessions.
//!
//! A box's processes are host processes in the box's own pid namespace, so their ids are the
//! box's virtual ids, stable inside it and meaningless outside. `fork` is the host's
//! copy-on-write fork: the child gets a copy of the whole picoprocess, this library OS's state
//! included, and runs under the same kernel policy.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel, Return, ThreadState};
use crate::user;
use picobox_abi::{reg, CpuContext, Errno, GroupOp, Result};

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_PTRACE: u64 = 0x2000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;
/// Namespace flags and others a box's process may not use (CLONE_DETACHED, 0x400000, is
/// accepted and ignored, as by Linux).
const CLONE_REFUSED: u64 = 0x7e02_0000 | 0x8000 | 0x80_0000 | 0x200_0000 | 0x8000_0000;

/// Forks; returns what each side sees. In the child, `child_stack` (if non-zero) becomes the
/// stack pointer, as `clone` does.
fn fork(k: &mut Kernel, child_stack: u64, settid: Option<(u64, bool)>) -> Result<Return> {
    let pending = super::signal::pending_before_fork();
    match host().process_fork()? {
        Some(child) => {
            crate::box_processes::publish_child(k, child);
            if let Some((addr, true)) = settid {
                user::write_u32(addr, child)?;
            }
            Ok(Return::Value(u64::from(child)))
        }
        None => {
            // The child has one thread, the caller; the host's timers stay with the parent.
            let me = host().thread_id();
            let state = k.threads.get(&k.current_tid).copied().unwrap_or_default();
            k.threads.clear();
            k.threads.insert(me, state);
            super::signal::reset_after_fork(pending);
            k.current_tid = me;
            k.timers.clear();
            k.parent_death_signal = 0;
            k.prctl.default_timer_slack = k.prctl.timer_slack;
            k.prctl.subreaper = false;
            k.record_locked.clear(); // record locks are not inherited
            super::aio::forget_after_fork(k);
            k.keys.after_fork();
            k.executed = false;
            super::ptrace::after_fork(k);
            super::mm::apply_fork_advice(k);
            crate::box_processes::publish(k);
            crate::box_processes::set_state(crate::box_processes::RUNNING);
            if let Some((addr, _)) = settid {
                let me = host().process_id(picobox_abi::Whose::Caller);
                let _ = user::write_u32(addr, me);
            }
            if child_stack != 0 {
                return Ok(Return::Switch {
                    rax: 0,
                    pc: None,
                    sp: child_stack,
                });
            }
            Ok(Return::Value(0))
        }
    }
}

/// `fork()`.
pub fn sys_fork(k: &mut Kernel, _a: &Args) -> Result<Return> {
    fork(k, 0, None)
}

/// `vfork()`: a copy-on-write fork (the parent is not suspended, which POSIX allows).
pub fn sys_vfork(k: &mut Kernel, _a: &Args) -> Result<Return> {
    fork(k, 0, None)
}

/// `clone(flags, stack, parent_tid, child_tid, tls)`: a thread (`CLONE_VM|CLONE_THREAD|
/// CLONE_SIGHAND`), or a process: a fork, also for `CLONE_VM|CLONE_VFORK` (as `posix_spawn`
/// uses), whose child then runs on `stack`.
pub fn sys_clone(k: &mut Kernel, a: &Args, ctx: &mut CpuContext) -> Result<()> {
    let flags = a[0];
    if flags & CLONE_REFUSED != 0 || flags & CLONE_PTRACE != 0 {
        return Err(Errno::EINVAL);
    }
    // CLONE_PIDFD puts the child's pidfd where CLONE_PARENT_SETTID would put its id; for a
    // thread, Linux refuses it.
    if flags & CLONE_PIDFD != 0 && flags & (CLONE_PARENT_SETTID | CLONE_THREAD) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 {
        return clone_thread(k, a, ctx);
    }
    if flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 {
        // Shared memory without a thread: not supported.
        return Err(Errno::ENOSYS);
    }
    if flags & (CLONE_FS | CLONE_FILES | CLONE_SIGHAND) != 0 {
        return Err(Errno::ENOSYS);
    }
    let settid = if flags & CLONE_PARENT_SETTID != 0 {
        Some((a[2], true))
    } else if flags & CLONE_CHILD_SETTID != 0 {
        Some((a[3], false))
    } else {
        None
    };
    if flags & CLONE_PIDFD != 0 {
        user::write_u32(a[2], 0)?; // EFAULT before the child exists, as Linux checks
    }
    let r = fork(k, a[1], settid)?;
    let child = matches!(r, Return::Value(0) | Return::Switch { .. });
    if let (Return::Value(pid), true) = (&r, flags & CLONE_PIDFD != 0) {
        if *pid != 0 {
            let fd = super::pidfd::open(k, *pid as i32, false, false)?;
            user::write_u32(a[2], fd as u32)?;
        }
    }
    if child {
        k.after_fork();
        if flags & CLONE_SETTLS != 0 {
            host().thread_set_tls(Some(usize::try_from(a[4]).map_err(|_| Errno::EINVAL)?))?;
        }
        if flags & CLONE_CHILD_CLEARTID != 0 {
            let me = k.current_tid;
            k.threads.entry(me).or_default().clear_child_tid = a[3];
        }
    }
    match r {
        Return::Value(v) => ctx.regs[reg::RAX] = v,
        Return::Switch { rax, sp, .. } => {
            ctx.regs[reg::RAX] = rax;
            ctx.regs[reg::RSP] = sp;
        }
        Return::Fresh(_) => {}
    }
    Ok(())
}

fn clone_thread(k: &mut Kernel, a: &Args, ctx: &mut CpuContext) -> Result<()> {
    let flags = a[0];
    if flags & (CLONE_VM | CLONE_SIGHAND) != CLONE_VM | CLONE_SIGHAND {
        return Err(Errno::EINVAL);
    }
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    // The new thread resumes right after this `syscall`, on its own stack, with rax = 0.
    let mut child = *ctx;
    child.regs[reg::RAX] = 0;
    child.regs[reg::RSP] = a[1];
    let tls = if flags & CLONE_SETTLS != 0 {
        usize::try_from(a[4]).map_err(|_| Errno::EINVAL)?
    } else {
        host().thread_set_tls(None)?
    };
    let parent_tid = if flags & CLONE_PARENT_SETTID != 0 {
        Some(usize::try_from(a[2]).map_err(|_| Errno::EFAULT)?)
    } else {
        None
    };
    let tid = host().thread_create(&child, tls, parent_tid)?;
    if flags & CLONE_CHILD_SETTID != 0 {
        user::write_u32(a[3], tid)?;
    }
    let mask = k.signals.mask;
    let clear_child_tid = if flags & CLONE_CHILD_CLEARTID != 0 {
        a[3]
    } else {
        0
    };
    k.threads.insert(
        tid,
        ThreadState {
            mask,
            clear_child_tid,
            ..ThreadState::default()
        },
    );
    ctx.regs[reg::RAX] = u64::from(tid);
    Ok(())
}

/// A child reaped (not just stopped or continued) has no note and no run state any more: a
/// killed child could not clear its own.
/// Also: a child killed by a signal that dumped core says so in its status (`WCOREDUMP`),
/// which the host, dumping no core, does not set.
fn forget_reaped(pid: u32, status: &mut i32) {
    if note_core_dump(pid, status) {
        crate::box_processes::forget(pid);
    }
}

/// For a child that ended (true), sets `WCOREDUMP` in its status if it dumped core.
fn note_core_dump(pid: u32, status: &mut i32) -> bool {
    let stopped = *status & 0xff == 0x7f;
    if pid == 0 || stopped || *status == 0xffff {
        return false;
    }
    let killed = *status & 0x7f != 0;
    if killed && crate::box_processes::state_of(pid) == crate::box_processes::DUMPED {
        *status |= 0x80;
    }
    true
}

/// `wait4(pid, status, options, rusage)`.
pub fn sys_wait4(a: &Args) -> Result<u64> {
    const KNOWN: u32 = 1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;
    let options = (a[2] & 0xffff_ffff) as u32;
    if options & !KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let mut ru = [0u8; 144];
    let (pid, status) = wait_child(
        int_arg(a[0]),
        options & 0xb,
        if a[3] != 0 { Some(&mut ru) } else { None },
    )?;
    let mut status = status;
    forget_reaped(pid, &mut status);
    if pid != 0 && a[1] != 0 {
        user::write_u32(a[1], status as u32)?;
    }
    if pid != 0 && a[3] != 0 {
        user::write_bytes(a[3], &ru)?;
    }
    Ok(u64::from(pid))
}

/// The host's wait, as a tracer's too: the stops of its tracees are reported whether or not
/// `options` asks for stops (`WSTOPPED`), each as the signal it stopped for (see
/// `ptrace.rs`); an ended tracee is no longer one.
fn wait_child(pid: i32, options: u32, mut ru: Option<&mut [u8; 144]>) -> Result<(u32, i32)> {
    const WSTOPPED: u32 = 2;
    const WNOWAIT: u32 = 0x0100_0000;
    let tracing = crate::kernel::with(|k| {
        super::ptrace::adopt_announced(k);
        !k.tracees.is_empty()
    })?;
    if !tracing {
        return host().process_wait(pid, options, ru);
    }
    loop {
        let (child, status) = host().process_wait(pid, options | WSTOPPED, ru.as_deref_mut())?;
        let stopped = status & 0xff == 0x7f;
        let traced = crate::kernel::with(|k| {
            // A child that asked to be traced after this wait began is known by now.
            if stopped && !k.tracees.contains_key(&child) {
                super::ptrace::adopt_announced(k);
            }
            let traced = k.tracees.contains_key(&child);
            if traced && stopped {
                k.tracees.insert(child, true);
            } else if traced && status != 0xffff && options & WNOWAIT == 0 {
                k.tracees.remove(&child);
            }
            traced
        })?;
        if child == 0 || !stopped {
            return Ok((child, status));
        }
        if traced {
            let sig = super::ptrace::stop_signal_of(child) as i32;
            return Ok((child, 0x7f | (sig << 8)));
        }
        if options & WSTOPPED != 0 {
            return Ok((child, status));
        }
        // Another child's stop, not asked for: wait on.
    }
}

/// `waitid(idtype, id, infop, options, rusage)`: `P_ALL`, `P_PID`, `P_PGID`, `P_PIDFD`.
pub fn sys_waitid(a: &Args) -> Result<u64> {
    const WNOHANG: u32 = 1;
    const WSTOPPED: u32 = 2;
    const WEXITED: u32 = 4;
    const WCONTINUED: u32 = 8;
    const WNOWAIT: u32 = 0x0100_0000;
    const KNOWN: u32 = WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | 0xe000_0000;
    let options = (a[3] & 0xffff_ffff) as u32;
    if options & (WEXITED | WSTOPPED | WCONTINUED) == 0 || options & !KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let id = int_arg(a[1]);
    let mut options = options;
    let mut nonblocking_pidfd = false;
    let pid = match int_arg(a[0]) {
        0 => -1,
        1 if id > 0 => id,
        2 if id >= 0 => -id,
        // A pidfd's process; with PIDFD_NONBLOCK, one still running is EAGAIN.
        3 => {
            let (pid, nonblocking) =
                crate::kernel::with(|k| super::pidfd::target(k, a[1] & 0xffff_ffff, false))??;
            if nonblocking && options & WNOHANG == 0 {
                options |= WNOHANG;
                nonblocking_pidfd = true;
            }
            pid
        }
        _ => return Err(Errno::EINVAL),
    };
    let mut ru = [0u8; 144];
    // wait4's options: WUNTRACED is WSTOPPED's number, WCONTINUED the same; with WNOWAIT
    // the host takes waitid's, where exits are reported only with WEXITED.
    let keep = options & WNOWAIT != 0;
    let wanted = if keep {
        options & (WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT)
    } else {
        options & (WNOHANG | WSTOPPED | WCONTINUED)
    };
    let (child, status) = wait_child(pid, wanted, if a[4] != 0 { Some(&mut ru) } else { None })?;
    if child == 0 && nonblocking_pidfd {
        return Err(Errno::EAGAIN);
    }
    let mut status = status;
    if keep {
        note_core_dump(child, &mut status);
    } else {
        forget_reaped(child, &mut status);
    }
    if a[2] != 0 {
        // siginfo_t: si_signo, si_errno, si_code, then si_pid, si_uid, si_status.
        let mut info = [0u8; 128];
        if child != 0 {
            let (code, value): (i32, i32) = if status == 0xffff {
                (6, 18) // CLD_CONTINUED by SIGCONT
            } else if status & 0xff == 0x7f {
                (5, (status >> 8) & 0xff) // CLD_STOPPED by that signal
            } else if status & 0x7f == 0 {
                (1, (status >> 8) & 0xff) // CLD_EXITED
            } else if status & 0x80 != 0 {
                (3, status & 0x7f) // CLD_DUMPED
            } else {
                (2, status & 0x7f) // CLD_KILLED
            };
            info[0..4].copy_from_slice(&17i32.to_le_bytes());
            info[8..12].copy_from_slice(&code.to_le_bytes());
            info[16..20].copy_from_slice(&child.to_le_bytes());
            info[24..28].copy_from_slice(&value.to_le_bytes());
        }
        user::write_bytes(a[2], &info)?;
    }
    if child != 0 && a[4] != 0 {
        user::write_bytes(a[4], &ru)?;
    }
    Ok(0)
}

/// `getpid()`.
pub fn sys_getpid(_k: &mut Kernel, _a: &Args) -> Result<Return> {
    Ok(Return::Value(u64::from(
        host().process_id(picobox_abi::Whose::Caller),
    )))
}

/// `gettid()`: one thread per process so far.
pub fn sys_gettid(_k: &mut Kernel, _a: &Args) -> Result<Return> {
    Ok(Return::Value(u64::from(host().thread_id())))
}

/// `getppid()`: 0 for the box's first process (its parent is outside).
pub fn sys_getppid(_k: &mut Kernel, _a: &Args) -> Result<Return> {
    Ok(Return::Value(u64::from(
        host().process_id(picobox_abi::Whose::Parent),
    )))
}

fn pid_arg(v: u64) -> Result<u32> {
    u32::try_from(int_arg(v)).map_err(|_| Errno::EINVAL)
}

/// `setpgid(pid, pgid)`.
pub fn sys_setpgid(_k: &mut Kernel, a: &Args) -> Result<Return> {
    let (pid, pgid) = (pid_arg(a[0])?, pid_arg(a[1])?);
    // A child of the caller that has executed a program keeps its group (EACCES), checked
    // after the session (EPERM), as Linux does; the host cannot tell, since programs are
    // executed within the process.
    let me = host().process_id(picobox_abi::Whose::Caller);
    if pid != 0 && pid != me {
        if let Some(note) = crate::box_processes::read(pid).filter(|n| n.ppid == me) {
            let session_of = |pid| host().process_group(GroupOp::GetSession { pid });
            if session_of(pid)? != session_of(0)? {
                return Err(Errno::EPERM);
            }
            if note.executed {
                return Err(Errno::EACCES);
            }
        }
    }
    host().process_group(GroupOp::SetGroup { pid, pgid })?;
    Ok(Return::Value(0))
}

/// `getpgid(pid)`.
pub fn sys_getpgid(_k: &mut Kernel, a: &Args) -> Result<Return> {
    let pid = u32::try_from(int_arg(a[0])).map_err(|_| Errno::ESRCH)?;
    Ok(Return::Value(u64::from(
        host().process_group(GroupOp::GetGroup { pid })?,
    )))
}

/// `getpgrp()`.
pub fn sys_getpgrp(_k: &mut Kernel, _a: &Args) -> Result<Return> {
    Ok(Return::Value(u64::from(
        host().process_group(GroupOp::GetGroup { pid: 0 })?,
    )))
}

/// `setsid()`.
pub fn sys_setsid(_k: &mut Kernel, _a: &Args) -> Result<Return> {
    Ok(Return::Value(u64::from(
        host().process_group(GroupOp::NewSession)?,
    )))
}

/// `getsid(pid)`.
pub fn sys_getsid(_k: &mut Kernel, a: &Args) -> Result<Return> {
    let pid = u32::try_from(int_arg(a[0])).map_err(|_| Errno::ESRCH)?;
    Ok(Return::Value(u64::from(
        host().process_group(GroupOp::GetSession { pid })?,
    )))
}
