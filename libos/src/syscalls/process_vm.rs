//! `process_vm_readv` and `process_vm_writev`: copying between the caller's memory and that of
//! another process of the box. The host copies (`process_memory`), one piece at a time: each
//! piece is where a local and a remote iovec overlap, and the first short piece ends the call,
//! as Linux stops at the first remote page it cannot reach.

use super::fs::UIO_MAXIOV;
use super::Args;
use crate::kernel::host;
use crate::user::{self, USER_END};
use alloc::vec::Vec;
use picobox_abi::{Errno, IoBuf, Result};

/// An iovec array of `count` entries at `addr`, as (base, length) pairs: `EINVAL` for too
/// many entries or a negative length, `EFAULT` for an unreadable array or (`local`) a buffer
/// beyond user memory, as Linux checks them.
fn iovecs(addr: u64, count: u64, local: bool) -> Result<Vec<(u64, u64)>> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let raw = user::read_bytes(addr, (count * 16) as usize)?;
    let mut out = Vec::with_capacity(count as usize);
    for entry in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(entry[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(entry[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        if local && base.checked_add(len).is_none_or(|end| end > USER_END) {
            return Err(Errno::EFAULT);
        }
        if len > 0 {
            out.push((base, len));
        }
    }
    Ok(out)
}

/// `process_vm_readv(pid, local_iov, liovcnt, remote_iov, riovcnt, flags)`.
pub fn sys_process_vm_readv(a: &Args) -> Result<u64> {
    transfer(a, false)
}

/// `process_vm_writev(pid, local_iov, liovcnt, remote_iov, riovcnt, flags)`.
pub fn sys_process_vm_writev(a: &Args) -> Result<u64> {
    transfer(a, true)
}

fn transfer(a: &Args, write: bool) -> Result<u64> {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    // Linux's order: the local array, the remote one, then the process.
    let local = iovecs(a[1], a[2], true)?;
    let remote = iovecs(a[3], a[4], false)?;
    if local.is_empty() || remote.is_empty() {
        return Ok(0);
    }
    let pid = u32::try_from(a[0] as i32).map_err(|_| Errno::ESRCH)?;
    if pid == 0 {
        return Err(Errno::ESRCH);
    }
    let mut done: u64 = 0;
    let (mut li, mut lo) = (0usize, 0u64);
    for (rbase, rlen) in remote {
        let mut ro = 0u64;
        while ro < rlen && li < local.len() {
            let (lbase, llen) = local[li];
            let n = (rlen - ro).min(llen - lo);
            let piece = IoBuf {
                addr: user::checked_range(lbase.wrapping_add(lo), n as usize)?,
                len: n as usize,
            };
            let got =
                match host().process_memory(pid, rbase.wrapping_add(ro) as usize, piece, write) {
                    Ok(got) => got as u64,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => return Ok(done),
                };
            done += got;
            if got < n {
                return Ok(done);
            }
            ro += n;
            lo += n;
            if lo == llen {
                li += 1;
                lo = 0;
            }
        }
    }
    Ok(done)
}
