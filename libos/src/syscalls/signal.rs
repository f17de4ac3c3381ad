//! Signals: dispositions and mask are recorded; signals a process sends itself take their
//! default action. Handler delivery comes with issue 3.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use picobox_abi::{Errno, Result};

/// Highest signal number.
pub const NSIG: usize = 64;
#[allow(missing_docs)]
pub const SIGILL: u8 = 4;
#[allow(missing_docs)]
pub const SIGABRT: u8 = 6;
#[allow(missing_docs)]
pub const SIGBUS: u8 = 7;
#[allow(missing_docs)]
pub const SIGFPE: u8 = 8;
#[allow(missing_docs)]
pub const SIGKILL: u8 = 9;
#[allow(missing_docs)]
pub const SIGSEGV: u8 = 11;
#[allow(missing_docs)]
pub const SIGSTOP: u8 = 19;
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;

/// One `struct sigaction` as the program gave it.
#[derive(Clone, Copy, Default, Debug)]
pub struct SigAction {
    /// Handler address, `SIG_DFL` (0) or `SIG_IGN` (1).
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// `sa_restorer`.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// Dispositions and the blocked mask of the process.
#[derive(Clone, Debug)]
pub struct SignalState {
    /// Disposition per signal (index = number - 1).
    pub actions: [SigAction; NSIG],
    /// Blocked signals (bit `n - 1` for signal `n`).
    pub mask: u64,
    /// The alternate signal stack (`ss_sp`, `ss_flags`, `ss_size`).
    pub altstack: (u64, u32, u64),
}

impl SignalState {
    /// What `execve` keeps: the mask and ignored signals; caught signals return to default and
    /// the alternate stack is gone.
    pub fn reset_for_exec(&mut self) {
        for a in &mut self.actions {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
        self.altstack = (0, 2, 0);
    }
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [SigAction::default(); NSIG],
            mask: 0,
            altstack: (0, 2, 0),
        }
    }
}

/// Ends the process as if killed by `sig`: the host reports status `128 + sig`, as a shell does.
pub fn die_of(sig: u8) -> ! {
    host().process_exit(128u8.wrapping_add(sig))
}

fn signal_arg(v: u64) -> Result<u8> {
    match u8::try_from(int_arg(v)) {
        Ok(s) if (1..=NSIG as u8).contains(&s) => Ok(s),
        _ => Err(Errno::EINVAL),
    }
}

/// Whether the default action of `sig` is to ignore it.
fn ignored_by_default(sig: u8) -> bool {
    // SIGCHLD, SIGCONT, SIGURG, SIGWINCH.
    matches!(sig, 17 | 18 | 23 | 28)
}

/// `rt_sigaction(sig, act, oldact, sigsetsize)`.
pub fn sys_rt_sigaction(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let sig = signal_arg(a[0])?;
    let slot = usize::from(sig - 1);
    let old = k.signals.actions[slot];
    if a[1] != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let raw = user::read_bytes(a[1], 32)?;
        let word =
            |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        k.signals.actions[slot] = SigAction {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3),
        };
    }
    if a[2] != 0 {
        let mut out = [0u8; 32];
        for (i, w) in [old.handler, old.flags, old.restorer, old.mask]
            .iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        user::write_bytes(a[2], &out)?;
    }
    Ok(0)
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`.
pub fn sys_rt_sigprocmask(k: &mut Kernel, a: &Args) -> Result<u64> {
    const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = k.signals.mask;
    if a[1] != 0 {
        let set = user::read_u64(a[1])?;
        k.signals.mask = match int_arg(a[0]) {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
    }
    if a[2] != 0 {
        user::write_u64(a[2], old)?;
    }
    Ok(0)
}

/// `sigaltstack(ss, old_ss)`: recorded for the program.
pub fn sys_sigaltstack(k: &mut Kernel, a: &Args) -> Result<u64> {
    let old = k.signals.altstack;
    if a[0] != 0 {
        let raw = user::read_bytes(a[0], 24)?;
        let sp = u64::from_le_bytes(raw[0..8].try_into().unwrap_or([0; 8]));
        let flags = u32::from_le_bytes(raw[8..12].try_into().unwrap_or([0; 4]));
        let size = u64::from_le_bytes(raw[16..24].try_into().unwrap_or([0; 8]));
        const SS_DISABLE: u32 = 2;
        if flags & !SS_DISABLE != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & SS_DISABLE == 0 && size < 2048 {
            return Err(Errno::ENOMEM);
        }
        k.signals.altstack = (sp, flags, size);
    }
    if a[1] != 0 {
        let mut out = [0u8; 24];
        out[0..8].copy_from_slice(&old.0.to_le_bytes());
        out[8..12].copy_from_slice(&old.1.to_le_bytes());
        out[16..24].copy_from_slice(&old.2.to_le_bytes());
        user::write_bytes(a[1], &out)?;
    }
    Ok(0)
}

/// Sends `sig` to the calling process itself.
fn signal_self(k: &mut Kernel, sig: u8) -> Result<u64> {
    let action = k.signals.actions[usize::from(sig - 1)];
    let blocked = k.signals.mask & (1 << (sig - 1)) != 0 && sig != SIGKILL && sig != SIGSTOP;
    match action.handler {
        _ if blocked => Ok(0),
        SIG_IGN if sig != SIGKILL && sig != SIGSTOP => Ok(0),
        SIG_DFL if ignored_by_default(sig) => Ok(0),
        SIG_DFL | SIG_IGN => die_of(sig),
        // A handler is installed: running it needs signal delivery (issue 3).
        _ => Err(Errno::ENOSYS),
    }
}

/// The box's processes have virtual ids; only the process itself (pid 1) exists so far.
fn is_self(pid: i32) -> bool {
    pid == 1 || pid == 0
}

/// `kill(pid, sig)`.
pub fn sys_kill(k: &mut Kernel, a: &Args) -> Result<u64> {
    let pid = int_arg(a[0]);
    let sig = int_arg(a[1]);
    if sig == 0 {
        return if is_self(pid) || pid == -1 {
            Ok(0)
        } else {
            Err(Errno::ESRCH)
        };
    }
    let sig = signal_arg(a[1])?;
    if is_self(pid) {
        return signal_self(k, sig);
    }
    // `kill(-1)` reaches every other process of the box: there is none.
    Err(Errno::ESRCH)
}

/// `tgkill(tgid, tid, sig)`.
pub fn sys_tgkill(k: &mut Kernel, a: &Args) -> Result<u64> {
    if int_arg(a[0]) <= 0 || int_arg(a[1]) <= 0 {
        return Err(Errno::EINVAL);
    }
    if int_arg(a[0]) != 1 || int_arg(a[1]) != 1 {
        return Err(Errno::ESRCH);
    }
    if int_arg(a[2]) == 0 {
        return Ok(0);
    }
    signal_self(k, signal_arg(a[2])?)
}

/// `tkill(tid, sig)`.
pub fn sys_tkill(k: &mut Kernel, a: &Args) -> Result<u64> {
    sys_tgkill(k, &[1, a[0], a[1], 0, 0, 0])
}
