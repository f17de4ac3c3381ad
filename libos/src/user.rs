//! Reading and writing program memory. Every access goes through the host's fault-checked
//! [`picobox_abi::Host::vm_copy`], so a bad pointer from the program yields `EFAULT`, never a
//! crash of the library OS, and no Rust reference into program memory is ever formed (other
//! program threads may change it at any time).

use crate::kernel::host;
use crate::path::PATH_MAX;
use alloc::vec::Vec;
use picobox_abi::{Errno, Result};

/// Where user address space ends, exclusive (Linux's `TASK_SIZE` on x86-64).
pub const USER_END: u64 = 0x7fff_ffff_f000;

/// Copies `len` bytes of program memory at `addr` into a new vector.
pub fn read_bytes(addr: u64, len: usize) -> Result<Vec<u8>> {
    let mut out = alloc::vec![0u8; len];
    read_into(addr, &mut out)?;
    Ok(out)
}

/// Fills `out` from program memory at `addr`.
pub fn read_into(addr: u64, out: &mut [u8]) -> Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let src = checked_range(addr, out.len())?;
    host().vm_copy(out.as_mut_ptr() as usize, src, out.len())
}

/// Writes `bytes` to program memory at `addr`.
pub fn write_bytes(addr: u64, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let dst = checked_range(addr, bytes.len())?;
    host().vm_copy(dst, bytes.as_ptr() as usize, bytes.len())
}

/// Reads a little-endian `u64`.
pub fn read_u64(addr: u64) -> Result<u64> {
    let mut b = [0u8; 8];
    read_into(addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a little-endian `u32`.
pub fn read_u32(addr: u64) -> Result<u32> {
    let mut b = [0u8; 4];
    read_into(addr, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Writes a little-endian `u64`.
pub fn write_u64(addr: u64, v: u64) -> Result<()> {
    write_bytes(addr, &v.to_le_bytes())
}

/// Writes a little-endian `u32`.
pub fn write_u32(addr: u64, v: u32) -> Result<()> {
    write_bytes(addr, &v.to_le_bytes())
}

/// Reads a NUL-terminated string of at most `max` bytes (NUL excluded).
/// Errors: `EFAULT`, `ENAMETOOLONG` when no NUL comes within `max` bytes.
pub fn read_cstr(addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        // Read up to the end of the page so that a string ending before an unmapped page works.
        let to_page_end = 4096 - (at % 4096) as usize;
        let chunk = to_page_end.min(256);
        let mut buf = [0u8; 256];
        read_into(at, &mut buf[..chunk])?;
        if let Some(nul) = buf[..chunk].iter().position(|b| *b == 0) {
            out.extend_from_slice(&buf[..nul]);
            return if out.len() > max {
                Err(Errno::ENAMETOOLONG)
            } else {
                Ok(out)
            };
        }
        out.extend_from_slice(&buf[..chunk]);
        if out.len() > max {
            return Err(Errno::ENAMETOOLONG);
        }
        at = at.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
    }
}

/// Reads a path argument (at most `PATH_MAX - 1` bytes). An empty path is `ENOENT`.
pub fn read_path(addr: u64) -> Result<Vec<u8>> {
    let p = read_cstr(addr, PATH_MAX - 1)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// Reads a NUL-terminated string, cut at `max` bytes if longer (as `strncpy_from_user`):
/// bytes past the cut are never read.
pub fn read_cstr_prefix(addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while out.len() < max {
        let mut b = [0u8; 1];
        read_into(
            addr.checked_add(out.len() as u64).ok_or(Errno::EFAULT)?,
            &mut b,
        )?;
        if b[0] == 0 {
            break;
        }
        out.push(b[0]);
    }
    Ok(out)
}

/// Reads a NULL-terminated array of string pointers (argv, envp), at most `max_items`.
pub fn read_cstr_array(addr: u64, max_items: usize) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    for i in 0..=max_items {
        let ptr = read_u64(addr.checked_add(8 * i as u64).ok_or(Errno::EFAULT)?)?;
        if ptr == 0 {
            return Ok(out);
        }
        out.push(read_cstr(ptr, 128 * 1024)?);
    }
    Err(Errno::E2BIG)
}

/// Converts a program address range into host terms, refusing null and wrapping ranges and
/// the runtime's own memory (`EFAULT`, as Linux answers for kernel addresses).
pub fn checked_range(addr: u64, len: usize) -> Result<usize> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let start = usize::try_from(addr).map_err(|_| Errno::EFAULT)?;
    let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
    if overlaps_runtime(start, end) {
        return Err(Errno::EFAULT);
    }
    Ok(start)
}

/// Whether `[start, end)` touches the host's own memory in the picoprocess (its code, heap
/// and thread blocks: [`picobox_abi::HostInfo::runtime_ranges`]), which no program operation
/// may map over, unmap, protect, discard or fill.
pub fn overlaps_runtime(start: usize, end: usize) -> bool {
    // Asked on every access to program memory: the ranges are fixed, so asked of the host once.
    static RANGES: spin::Once<[(usize, usize); 3]> = spin::Once::new();
    RANGES
        .call_once(|| host().host_info().runtime_ranges)
        .iter()
        .any(|&(s, e)| s < e && start < e && s < end)
}
