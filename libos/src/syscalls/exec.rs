//! `execve`: a new program in the same process. The library OS unmaps what it mapped for the
//! old program, closes close-on-exec descriptors, resets caught signals, and loads the new
//! program with the same loader as at start. There is never a host `execve`.
//!
//! In a process with several threads, the others end first, as on Linux: once the new program
//! is known to be loadable, the calling thread becomes the *exec leader*, signals the others
//! (`SIGURG`, which interrupts whatever host call they wait in), and waits, without the
//! library OS's lock, until each has left the thread table. A thread notices when it next
//! takes the library OS's lock ([`leave_if_another_execs`]) or, if it was running program
//! code, in the signal's handler.

use super::Args;
use crate::exec;
use crate::kernel::{host, Brk, Kernel};
use crate::user;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use picobox_abi::{reg, Clock, CpuContext, Timespec};
use picobox_abi::{Errno, Result};

pub use crate::exec::PROC_SELF_EXE;
/// Most arguments plus environment entries accepted.
const MAX_STRINGS: usize = 1 << 17;

/// The thread that is replacing the program while other threads end (0: none).
static EXEC_LEADER: &AtomicU32 = &crate::state::LIBOS.exec_leader;
/// The signal that interrupts the other threads.
pub const SIGURG: u8 = 23;

/// Whether another thread is replacing the program, so that the calling thread must end.
pub fn another_thread_execs() -> bool {
    let leader = EXEC_LEADER.load(Ordering::Acquire);
    leader != 0 && leader != host().thread_id()
}

/// Ends the calling thread if another is replacing the program: it leaves the thread table
/// (its clear-child-tid word is left alone: that memory is about to go).
pub fn leave_if_another_execs(k: &mut Kernel) -> bool {
    if !another_thread_execs() {
        return false;
    }
    k.threads.remove(&host().thread_id());
    true
}

/// `execve(path, argv, envp)`.
pub fn sys_execve(a: &Args, ctx: &mut CpuContext) -> Result<()> {
    let path = user::read_path(a[0])?;
    exec_path(path, a[1], a[2], ctx)
}

/// `execveat(dirfd, path, argv, envp, flags)`: a path relative to a directory descriptor, or
/// with `AT_EMPTY_PATH` the descriptor's own file (`fexecve`).
pub fn sys_execveat(a: &Args, ctx: &mut CpuContext) -> Result<()> {
    const AT_FDCWD: i32 = -100;
    const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    const AT_EMPTY_PATH: u64 = 0x1000;
    let flags = a[4] & 0xffff_ffff;
    let path = user::read_cstr(a[1], crate::path::PATH_MAX)?;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let dirfd = super::int_arg(a[0]);
    let full = if path.first() == Some(&b'/') || (dirfd == AT_FDCWD && !path.is_empty()) {
        path
    } else if path.is_empty() && flags & AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    } else {
        let base = crate::kernel::with(|k| {
            if dirfd == AT_FDCWD {
                Ok(k.cwd.clone())
            } else {
                k.fds.file(super::fd_arg(a[0])?).map(|f| f.path.clone())
            }
        })??;
        let mut full = crate::path::join(&base);
        if !path.is_empty() {
            if full.last() != Some(&b'/') {
                full.push(b'/');
            }
            full.extend_from_slice(&path);
        }
        full
    };
    // AT_SYMLINK_NOFOLLOW: a symbolic link at the end is ELOOP, as for open(O_NOFOLLOW).
    if flags & AT_SYMLINK_NOFOLLOW != 0 && flags & AT_EMPTY_PATH == 0 {
        crate::kernel::with(|k| {
            let comps = k.vfs.resolve(&k.cwd, &full, false)?;
            let node = k.vfs.locate(&comps)?;
            match super::fs::node_attr(k, &node, &comps, false) {
                Ok(attr) if attr.kind == picobox_abi::FileKind::Symlink => Err(Errno::ELOOP),
                _ => Ok(()),
            }
        })??;
    }
    exec_path(full, a[2], a[3], ctx)
}

fn exec_path(path: Vec<u8>, argv_ptr: u64, envp_ptr: u64, ctx: &mut CpuContext) -> Result<()> {
    let mut argv = user::read_cstr_array(argv_ptr, MAX_STRINGS)?;
    let envp = user::read_cstr_array(envp_ptr, MAX_STRINGS)?;
    if argv.is_empty() {
        // As Linux since 5.18: a program is never started with argc 0 (CVE-2021-4034).
        argv.push(Vec::new());
    }
    let program = crate::kernel::with(|k| {
        let view = exec::View {
            vfs: &k.vfs,
            cwd: &k.cwd,
            current: Some((&k.program, &k.program_name)),
        };
        exec::prepare(&view, path, argv, envp).map_err(|r| r.errno)
    })??;
    if crate::kernel::with(|k| k.threads.len() > 1)? {
        end_other_threads()?;
    }
    let result = crate::kernel::with(|k| commit(k, program));
    EXEC_LEADER.store(0, Ordering::Release);
    let entry = result??;
    // A new program: every general register zero, as after a Linux execve.
    let flags = ctx.regs[reg::EFLAGS];
    ctx.regs = [0; 18];
    ctx.regs[reg::EFLAGS] = flags;
    ctx.regs[reg::RSP] = entry.sp;
    ctx.regs[reg::RIP] = entry.pc;
    Ok(())
}

/// Makes the calling thread the exec leader and waits until it is the process's only thread.
fn end_other_threads() -> Result<()> {
    let me = host().thread_id();
    if EXEC_LEADER
        .compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Another thread's execve came first: this thread ends (in the lock), its call with it.
        drop(crate::kernel::lock());
    }
    loop {
        let others: Vec<u32> =
            crate::kernel::with(|k| k.threads.keys().copied().filter(|t| *t != me).collect())?;
        if others.is_empty() {
            return Ok(());
        }
        let mut waiting = false;
        for tid in others {
            if host().thread_signal(
                host().process_id(picobox_abi::Whose::Caller),
                tid,
                u32::from(SIGURG),
                None,
            ) == Err(Errno::ESRCH)
            {
                // Gone without a word (it cannot be, but waiting for it would never end).
                crate::kernel::with(|k| k.threads.remove(&tid))?;
            } else {
                waiting = true;
            }
        }
        if !waiting {
            continue;
        }
        // Signalled again each round: one may have been between its check and its wait.
        let _ = host().time_sleep(
            Clock::Monotonic,
            Timespec {
                sec: 0,
                nsec: 1_000_000,
            },
            false,
        );
    }
}

/// The point of no return: the old program goes and the new one is loaded.
fn commit(k: &mut Kernel, p: exec::Prepared) -> Result<crate::kernel::Entry> {
    for (start, end) in k.vmas.take_all() {
        let _ = host().vm_free(start as usize, (end - start) as usize);
    }
    k.fds.close_on_exec();
    k.signals.reset_for_exec();
    super::timer::delete_all(k);
    // The robust list lived in the old program's memory (Linux drops it at exec too).
    let _ = host().thread_set_robust_list(0, 24);
    if let Some(t) = k.threads.get_mut(&k.current_tid) {
        t.robust_list = 0;
    }
    let loaded = match exec::load(&p, (k.creds.real_uid(), k.creds.real_gid()), &mut k.vmas) {
        Ok(l) => l,
        Err(e) => {
            let mut line = alloc::string::String::new();
            let _ = core::fmt::write(
                &mut line,
                format_args!(
                    "picobox: execve of {}: {e}",
                    alloc::string::String::from_utf8_lossy(&p.name)
                ),
            );
            host().debug_log(&line);
            super::signal::die_of(super::signal::SIGKILL)
        }
    };
    k.brk = Brk {
        start: loaded.brk,
        current: loaded.brk,
        mapped_end: loaded.brk,
    };
    // The old program's mappings, attached segments among them, are gone.
    k.shm_attached.clear();
    k.cmdline = crate::kernel::nul_joined(&p.argv);
    k.environ = crate::kernel::nul_joined(&p.envp);
    k.program = p.file;
    k.program_name = p.name;
    k.comm = p.comm;
    k.auxv = loaded.auxv;
    k.executed = true;
    k.membarrier_registered = 0;
    // The process and thread keyrings do not survive execve.
    k.keys.after_fork();
    crate::box_processes::publish(k);
    super::signal::trap_after_exec();
    Ok(loaded.entry)
}
