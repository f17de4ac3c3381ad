//! `kcmp(pid1, pid2, type, idx1, idx2)`: whether two processes (or threads) of the box share
//! a kernel object. Within the caller's own process the library OS knows: its threads share
//! everything, and two descriptors are the same open file or not. Between two processes of the
//! box nothing is shared here (no `clone` shares memory or tables across processes), which it
//! answers for the address space, tables, file system information, signal handlers and
//! semaphore undo lists; whether another process's descriptor is a given open file, and the
//! I/O context and epoll comparisons, it cannot tell (`EOPNOTSUPP`).

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use alloc::sync::Arc;
use picobox_abi::{Errno, Result, Whose};

const KCMP_FILE: i32 = 0;
const KCMP_IO: i32 = 5;
const KCMP_EPOLL_TFD: i32 = 7;
const KCMP_TYPES: i32 = 8;

/// Whether `pid` names the caller's own process (it or one of its threads), another process
/// of the box, or nothing (`ESRCH`).
fn is_own(k: &Kernel, pid: i32) -> Result<bool> {
    let me = host().process_id(Whose::Caller);
    let pid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    if pid == 0 {
        return Err(Errno::ESRCH);
    }
    if pid == me || k.threads.contains_key(&pid) {
        return Ok(true);
    }
    host().process_signal(pid as i32, 0, None)?;
    Ok(false)
}

/// Linux's answer for two different objects, ordered (1: the first is less, 2: greater).
fn ordered<T: Ord>(a: T, b: T) -> u64 {
    match a.cmp(&b) {
        core::cmp::Ordering::Equal => 0,
        core::cmp::Ordering::Less => 1,
        core::cmp::Ordering::Greater => 2,
    }
}

/// `kcmp(pid1, pid2, type, idx1, idx2)`, checked in Linux's order: the processes (`ESRCH`),
/// then the type (`EINVAL`), then the descriptors (`EBADF`).
pub fn sys_kcmp(k: &mut Kernel, a: &Args) -> Result<u64> {
    let (pid1, pid2, kind) = (int_arg(a[0]), int_arg(a[1]), int_arg(a[2]));
    let own1 = is_own(k, pid1)?;
    let own2 = is_own(k, pid2)?;
    if !(0..KCMP_TYPES).contains(&kind) {
        return Err(Errno::EINVAL);
    }
    let same_process = own1 && own2 || pid1 == pid2;
    match kind {
        KCMP_FILE if own1 && own2 => {
            let f1 = k.fds.file(a[3] & 0xffff_ffff)?;
            let f2 = k.fds.file(a[4] & 0xffff_ffff)?;
            Ok(ordered(
                Arc::as_ptr(&f1) as usize,
                Arc::as_ptr(&f2) as usize,
            ))
        }
        KCMP_FILE | KCMP_IO | KCMP_EPOLL_TFD => Err(Errno::EOPNOTSUPP),
        // The address space, descriptor table, file system information, signal handlers and
        // semaphore undo list: a process's own, shared by its threads only.
        _ if same_process => Ok(0),
        _ => Ok(ordered(pid1, pid2)),
    }
}
