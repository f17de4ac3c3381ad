//! Memory: mmap, munmap, mprotect, mremap, madvise, brk.

use super::{fd_arg, Args};
use crate::fd::FileObject;
use crate::kernel::{host, Kernel};
use crate::vfs::DevNode;
use crate::vma::{Area, Label};
use picobox_abi::{Errno, Placement, Prot, Result};

const PAGE: u64 = 4096;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
/// Highest user address (exclusive).
const USER_END: u64 = 0x7fff_ffff_f000;

fn prot_arg(v: u64) -> Result<Prot> {
    // PROT_GROWSDOWN/PROT_GROWSUP are accepted and ignored; other bits are EINVAL.
    if v & !0x0300_0007 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Prot(u32::try_from(v & 7).map_err(|_| Errno::EINVAL)?))
}

fn page_range(addr: u64, len: u64) -> Result<(usize, usize)> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? & !(PAGE - 1);
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    if end > USER_END {
        return Err(Errno::ENOMEM);
    }
    Ok((
        usize::try_from(addr).map_err(|_| Errno::ENOMEM)?,
        usize::try_from(len).map_err(|_| Errno::ENOMEM)?,
    ))
}

/// As [`page_range`], for a range the program names to change: never the runtime's own memory,
/// which Linux programs meet as the kernel's addresses (`ENOMEM`: nothing of theirs is there).
fn program_range(addr: u64, len: u64) -> Result<(usize, usize)> {
    let (start, len) = page_range(addr, len)?;
    if crate::user::overlaps_runtime(start, start + len) {
        return Err(Errno::ENOMEM);
    }
    Ok((start, len))
}

/// `mmap(addr, length, prot, flags, fd, offset)`.
pub fn sys_mmap(k: &mut Kernel, a: &Args) -> Result<u64> {
    let (addr, len, flags, offset) = (a[0], a[1], a[3], a[5]);
    if len == 0 || offset % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let prot = prot_arg(a[2])?;
    let kind = flags & MAP_SHARED_VALIDATE;
    if kind == 0 {
        return Err(Errno::EINVAL);
    }
    let (_, len_pages) = page_range(0, len)?;
    let place = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::NoReplace(program_range(addr, len)?.0)
    } else if flags & MAP_FIXED != 0 {
        Placement::Replace(program_range(addr, len)?.0)
    } else {
        Placement::Anywhere(usize::try_from(addr & !(PAGE - 1)).unwrap_or(0))
    };
    let addr = map(k, place, len_pages, prot, flags, a[4], offset, kind)?;
    let area = Area {
        prot: prot.0,
        shared: kind != MAP_PRIVATE,
        label: Label::None,
    };
    k.vmas.insert(addr, addr + len_pages as u64, area);
    Ok(addr)
}

#[allow(clippy::too_many_arguments)]
fn map(
    k: &mut Kernel,
    place: Placement,
    len_pages: usize,
    prot: Prot,
    flags: u64,
    fd: u64,
    offset: u64,
    kind: u64,
) -> Result<u64> {
    if flags & MAP_ANONYMOUS != 0 {
        return Ok(host().vm_alloc(place, len_pages, prot, kind != MAP_PRIVATE)? as u64);
    }
    let file = k.fds.file(fd_arg(fd)?)?;
    match &file.object {
        FileObject::Dev(DevNode::Zero) => {
            Ok(host().vm_alloc(place, len_pages, prot, kind != MAP_PRIVATE)? as u64)
        }
        FileObject::Host(h) => {
            let status = file.status();
            if !status.readable() {
                return Err(Errno::EACCES);
            }
            let shared = kind != MAP_PRIVATE;
            if shared && prot.contains(Prot::WRITE) && !status.writable() {
                return Err(Errno::EACCES);
            }
            Ok(host().vm_map_stream(h.0, offset, place, len_pages, prot, shared)? as u64)
        }
        _ => Err(Errno::ENODEV),
    }
}

/// `munmap(addr, length)`.
pub fn sys_munmap(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    let (addr, len) = program_range(a[0], a[1]).map_err(|_| Errno::EINVAL)?;
    host().vm_free(addr, len)?;
    k.vmas.remove(addr as u64, (addr + len) as u64);
    Ok(0)
}

/// `mprotect(addr, length, prot)`.
pub fn sys_mprotect(k: &mut Kernel, a: &Args) -> Result<u64> {
    let prot = prot_arg(a[2])?;
    let (addr, len) = program_range(a[0], a[1])?;
    if len == 0 {
        return Ok(0);
    }
    host().vm_protect(addr, len, prot)?;
    k.vmas.protect(addr as u64, (addr + len) as u64, prot.0);
    Ok(0)
}

/// `mremap(old, old_len, new_len, flags)`: `MREMAP_MAYMOVE` only.
pub fn sys_mremap(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MREMAP_MAYMOVE: u64 = 1;
    if a[3] & !MREMAP_MAYMOVE != 0 || a[2] == 0 {
        return Err(Errno::EINVAL);
    }
    let (addr, old_len) = program_range(a[0], a[1]).map_err(|_| Errno::EFAULT)?;
    let (_, new_len) = page_range(0, a[2])?;
    if a[3] & MREMAP_MAYMOVE == 0 && crate::user::overlaps_runtime(addr, addr + new_len) {
        return Err(Errno::ENOMEM); // growing in place would run into the runtime's memory
    }
    let new = host().vm_remap(addr, old_len, new_len, a[3] & MREMAP_MAYMOVE != 0)? as u64;
    let area = k.vmas.area_at(addr as u64).unwrap_or(Area::private(3));
    k.vmas.remove(addr as u64, (addr + old_len) as u64);
    k.vmas.insert(new, new + new_len as u64, area);
    Ok(new)
}

/// `madvise(addr, length, advice)`: `MADV_DONTNEED` drops pages; other advice is accepted.
pub fn sys_madvise(_k: &mut Kernel, a: &Args) -> Result<u64> {
    const MADV_DONTNEED: u64 = 4;
    let (addr, len) = program_range(a[0], a[1])?;
    if a[2] == MADV_DONTNEED && len > 0 {
        host().vm_discard(addr, len)?;
    }
    Ok(0)
}

/// `brk(addr)`: grows or shrinks the heap after the image; returns the new (or unchanged) break.
pub fn sys_brk(k: &mut Kernel, a: &Args) -> Result<u64> {
    let want = a[0];
    let (start, current, mapped_end) = (k.brk.start, k.brk.current, k.brk.mapped_end);
    if want < start || want >= USER_END {
        return Ok(current);
    }
    let want_end = (want + PAGE - 1) & !(PAGE - 1);
    if want_end > mapped_end {
        let Ok((from, len)) = program_range(mapped_end, want_end - mapped_end) else {
            return Ok(current);
        };
        if host()
            .vm_alloc(Placement::NoReplace(from), len, Prot::READ_WRITE, false)
            .is_err()
        {
            return Ok(current);
        }
        let heap = Area {
            label: Label::Heap,
            ..Area::private(Prot::READ_WRITE.0)
        };
        k.vmas.insert(mapped_end, want_end, heap);
        k.brk.mapped_end = want_end;
    } else if want_end < mapped_end {
        let (from, len) = page_range(want_end, mapped_end - want_end)?;
        host().vm_free(from, len)?;
        k.vmas.remove(want_end, mapped_end);
        k.brk.mapped_end = want_end;
    }
    k.brk.current = want;
    Ok(want)
}
