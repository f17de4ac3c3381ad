//! Process descriptors: `pidfd_open`, `pidfd_send_signal`, `CLONE_PIDFD`, and the
//! `P_PIDFD` of `waitid`.
//!
//! A pidfd is the host's (`process_handle`), so polling it tells when the process ended, as
//! Linux's. What it names is noted here (`Kernel::pidfds`): signals and waits go to that pid
//! through the calls that already reach the box's processes. `pidfd_send_signal` also takes a
//! `/proc/PID` directory, as Linux does.

use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use alloc::collections::BTreeMap;
use picobox_abi::{Errno, Handle, OpenFlags, Result};

/// What `/proc/PID/fd` shows for a pidfd.
pub const PIDFD: &str = "[pidfd]";
/// `PIDFD_THREAD` (`O_EXCL`): the descriptor names a thread.
const PIDFD_THREAD: u32 = 0o200;

/// The pid each pidfd stream names.
pub type Pidfds = BTreeMap<Handle, i32>;

/// Opens a pidfd for `pid` (a thread's with `thread`) and gives it a descriptor.
pub fn open(k: &mut Kernel, pid: i32, thread: bool, nonblocking: bool) -> Result<u64> {
    let h = host().process_handle(u32::try_from(pid).map_err(|_| Errno::EINVAL)?, thread)?;
    k.pidfds.insert(h, pid);
    let file = OpenFile::anonymous(
        FileObject::Host(HostHandle(h)),
        OpenFlags::READ_WRITE.0 | if nonblocking { OpenFlags::NONBLOCK } else { 0 },
        PIDFD,
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: true,
    })
}

/// `pidfd_open(pid, flags)`: `PIDFD_NONBLOCK`, `PIDFD_THREAD`.
pub fn sys_pidfd_open(k: &mut Kernel, a: &Args) -> Result<u64> {
    let pid = int_arg(a[0]);
    let flags = u32::try_from(a[1]).map_err(|_| Errno::EINVAL)?;
    if flags & !(OpenFlags::NONBLOCK | PIDFD_THREAD) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    open(
        k,
        pid,
        flags & PIDFD_THREAD != 0,
        flags & OpenFlags::NONBLOCK != 0,
    )
}

/// The pid descriptor `fd` names, and whether it is non-blocking: a pidfd, or (with
/// `proc_dirs`) a `/proc/PID` directory. Errors: `EBADF`.
pub fn target(k: &Kernel, fd: u64, proc_dirs: bool) -> Result<(i32, bool)> {
    let file = k.fds.file(fd_arg(fd)?)?;
    let nonblocking = file.status().0 & OpenFlags::NONBLOCK != 0;
    if let (Some(PIDFD), Some(h)) = (file.anonymous, file.handle()) {
        return k
            .pidfds
            .get(&h)
            .map(|pid| (*pid, nonblocking))
            .ok_or(Errno::EBADF);
    }
    match file.path.as_slice() {
        [proc, n] if proc_dirs && proc.as_slice() == b"proc" => {
            let pid = if n.as_slice() == b"self" {
                host().process_id(picobox_abi::Whose::Caller) as i32
            } else {
                core::str::from_utf8(n)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(Errno::EBADF)?
            };
            Ok((pid, nonblocking))
        }
        _ => Err(Errno::EBADF),
    }
}

/// `pidfd_send_signal(pidfd, sig, info, flags)`: to the whole process (the default and
/// `PIDFD_SIGNAL_THREAD_GROUP`); the thread and process-group scopes are `EINVAL`.
pub fn sys_pidfd_send_signal(k: &mut Kernel, a: &Args) -> Result<u64> {
    const PIDFD_SIGNAL_THREAD_GROUP: u64 = 2;
    if a[3] != 0 && a[3] != PIDFD_SIGNAL_THREAD_GROUP {
        return Err(Errno::EINVAL);
    }
    let (pid, _) = target(k, a[0], true)?;
    let sig = int_arg(a[1]);
    if sig != 0 {
        super::signal::signal_arg(a[1])?;
    }
    if a[2] == 0 {
        return super::signal::sys_kill(k, &[pid as u64, a[1], 0, 0, 0, 0]);
    }
    let signo = user::read_u32(a[2])? as i32;
    if signo != sig {
        return Err(Errno::EINVAL);
    }
    super::signal::sys_rt_sigqueueinfo(k, &[pid as u64, a[1], a[2], 0, 0, 0])
}

/// The `/proc/PID/fdinfo` lines of pidfd stream `h`.
pub fn fdinfo_lines(k: &Kernel, h: Handle) -> alloc::string::String {
    match k.pidfds.get(&h) {
        Some(pid) => alloc::format!("Pid:\t{pid}\nNSpid:\t{pid}\n"),
        None => alloc::string::String::new(),
    }
}
