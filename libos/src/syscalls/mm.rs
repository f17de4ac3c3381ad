//! Memory: mmap, munmap, mprotect, mremap, madvise, msync, mincore, brk. Arguments are checked
//! in the order Linux checks them, so that a program sees the same errno for the same mistake.

use super::{fd_arg, Args};
use crate::fd::FileObject;
use crate::kernel::{host, Kernel};
use crate::vfs::DevNode;
use crate::vma::{Area, Label};
use picobox_abi::{Errno, Placement, Prot, Remap, Result};

const PAGE: u64 = 4096;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MAP_LOCKED: u64 = 0x2000;
use crate::user::USER_END;

/// `PROT_SEM`: accepted (it means nothing on x86).
const PROT_SEM: u64 = 0x8;
const PROT_GROWS: u64 = 0x0300_0000;

/// `mprotect`'s check: read, write, exec and `PROT_SEM`; `PROT_GROWSDOWN`/`PROT_GROWSUP`
/// (one of them) are accepted and ignored; other bits are `EINVAL`.
fn prot_arg(v: u64) -> Result<Prot> {
    let v = v & 0xffff_ffff;
    if v & PROT_GROWS == PROT_GROWS || v & !(PROT_GROWS | PROT_SEM | 7) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Prot(u32::try_from(v & 7).map_err(|_| Errno::EINVAL)?))
}

/// `mmap`'s: Linux ignores bits it does not know.
fn map_prot(v: u64) -> Prot {
    Prot((v & 7) as u32)
}

/// Whether every page of `[start, end)` belongs to the program's recorded mappings.
fn mapped(k: &Kernel, start: u64, end: u64) -> bool {
    let mut at = start;
    for (s, e, _) in k.vmas.iter() {
        if e <= at {
            continue;
        }
        if s > at {
            return false;
        }
        at = e;
        if at >= end {
            return true;
        }
    }
    at >= end
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
    let (addr, len, flags, offset) = (a[0], a[1], a[3] & 0xffff_ffff, a[5]);
    if !offset.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        k.fds.file(fd_arg(a[4])?)?; // EBADF first, as Linux's
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let prot = map_prot(a[2]);
    let kind = flags & MAP_SHARED_VALIDATE;
    if kind == 0 {
        return Err(Errno::EINVAL);
    }
    // MAP_SHARED_VALIDATE of a file refuses flags Linux does not know (and MAP_SYNC, which
    // only DAX files take) rather than ignoring them.
    const LEGACY_MAP_MASK: u64 = 0x3
        | 0x10
        | 0x20
        | 0x40
        | 0x80
        | 0x100
        | 0x800
        | 0x1000
        | 0x2000
        | 0x4000
        | 0x8000
        | 0x1_0000
        | 0x2_0000
        | 0x4_0000
        | 0x10_0000
        | 0x400_0000
        | 0xfc00_0000;
    if kind == MAP_SHARED_VALIDATE && flags & MAP_ANONYMOUS == 0 && flags & !LEGACY_MAP_MASK != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let (_, len_pages) = page_range(0, len)?;
    if flags & MAP_FIXED != 0
        && k.vmas
            .any_sealed(addr, addr.saturating_add(len_pages as u64))
    {
        return Err(Errno::EPERM);
    }
    let place = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::NoReplace(program_range(addr, len)?.0)
    } else if flags & MAP_FIXED != 0 {
        Placement::Replace(program_range(addr, len)?.0)
    } else {
        Placement::Anywhere(usize::try_from(addr & !(PAGE - 1)).unwrap_or(0))
    };
    let addr = map(k, place, len_pages, prot, flags, a[4], offset, kind)?;
    let file = if flags & MAP_ANONYMOUS == 0 {
        k.fds.file(fd_arg(a[4])?).ok()
    } else {
        None
    };
    let never_writable = kind != MAP_PRIVATE
        && file.as_ref().is_some_and(|f| {
            matches!(
                f.object,
                FileObject::Host(_) | FileObject::Dev(DevNode::Zero)
            ) && !f.status().writable()
        });
    let mapped = file.as_deref().and_then(mapped_file);
    let area = Area {
        prot: prot.0,
        shared: kind != MAP_PRIVATE,
        never_writable,
        locked: k.lock_future || flags & MAP_LOCKED != 0,
        origin: if mapped.is_some() {
            addr.wrapping_sub(offset)
        } else {
            0
        },
        file: mapped.map(|m| k.vmas.file_id(m)),
        ..Area::default()
    };
    k.vmas.insert(addr, addr + len_pages as u64, area);
    // MAP_POPULATE (unless MAP_NONBLOCK) and MAP_LOCKED fault the pages in now.
    const MAP_POPULATE: u64 = 0x8000;
    const MAP_NONBLOCK: u64 = 0x1_0000;
    if (flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE) || area.locked {
        let _ = populate(k, addr, addr + len_pages as u64, true);
    }
    Ok(addr)
}

/// Faults in the pages of `[start, end)` as Linux's `mm_populate` does after `mlock` and
/// `MAP_POPULATE`: for writing in private writable mappings (so that they have their own
/// copies), for reading in readable ones; a shared mapping that is writable only, or one that
/// is executable only, is left to fault on use (Linux forces the read; the host's populate
/// would refuse it, and a write would change the file's times). A page it cannot fault (no
/// access allowed, or a file mapping past the end of its file) is `EFAULT`, which
/// `MAP_POPULATE` and `mlockall` ignore (`ignore_errors`: they go on with the next range) and
/// `mlock` reports.
fn populate(k: &Kernel, start: u64, end: u64, ignore_errors: bool) -> Result<()> {
    for (s, e, area) in k.vmas.iter() {
        let (s, e) = (s.max(start), e.min(end));
        if s >= e {
            continue;
        }
        let write = area.prot & Prot::WRITE.0 != 0 && !area.shared;
        let r = if area.prot == 0 {
            Err(Errno::EFAULT)
        } else if !write && area.prot & Prot::READ.0 == 0 {
            Ok(())
        } else {
            host().vm_pages(
                s as usize,
                (e - s) as usize,
                picobox_abi::PagesOp::Populate { write },
            )
        };
        if !ignore_errors {
            r?;
        }
    }
    Ok(())
}

/// What `/proc/self/maps` names of `file` when it is mapped: a host file's path, device and
/// inode (none for the library OS's devices, such as `/dev/zero`, which map as anonymous
/// memory).
fn mapped_file(file: &crate::fd::OpenFile) -> Option<crate::vma::MappedFile> {
    let attr = host().stream_attr(file.handle()?).ok();
    Some(crate::vma::MappedFile {
        path: crate::path::join(&file.path),
        dev: attr.map_or(0, |a| a.dev),
        ino: attr.map_or(0, |a| a.ino),
    })
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
    if k.vmas.any_sealed(addr as u64, (addr + len) as u64) {
        return Err(Errno::EPERM);
    }
    host().vm_free(addr, len)?;
    k.vmas.remove(addr as u64, (addr + len) as u64);
    Ok(0)
}

/// `mprotect(addr, length, prot)`.
pub fn sys_mprotect(k: &mut Kernel, a: &Args) -> Result<u64> {
    if !a[0].is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    if a[1] == 0 {
        return Ok(0);
    }
    let rounded = a[1].checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? & !(PAGE - 1);
    a[0].checked_add(rounded)
        .filter(|end| *end > a[0])
        .ok_or(Errno::ENOMEM)?;
    let prot = prot_arg(a[2])?;
    let (addr, len) = program_range(a[0], a[1])?;
    if k.vmas.any_sealed(addr as u64, (addr + len) as u64) {
        return Err(Errno::EPERM);
    }
    if prot.contains(Prot::WRITE) && k.vmas.any_never_writable(addr as u64, (addr + len) as u64) {
        return Err(Errno::EACCES);
    }
    host().vm_protect(addr, len, prot)?;
    k.vmas.protect(addr as u64, (addr + len) as u64, prot.0);
    Ok(0)
}

/// `mremap(old, old_len, new_len, flags)`: `MREMAP_MAYMOVE` only.
pub fn sys_mremap(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    const MREMAP_DONTUNMAP: u64 = 4;
    let flags = a[3] & 0xffff_ffff;
    let round = |v: u64| v.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1));
    let (old_round, new_round) = (round(a[1]), round(a[2]).unwrap_or(0));
    let moves_to = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
        || (moves_to && flags & MREMAP_MAYMOVE == 0)
        || (flags & MREMAP_DONTUNMAP != 0 && old_round != Some(new_round))
        || !a[0].is_multiple_of(PAGE)
    {
        return Err(Errno::EINVAL);
    }
    if new_round == 0 || new_round > USER_END {
        return Err(Errno::EINVAL);
    }
    // With a destination, Linux checks it before it looks for the source.
    if moves_to && (!a[4].is_multiple_of(PAGE) || a[4] > USER_END - new_round) {
        return Err(Errno::EINVAL);
    }
    if let Some(old) = old_round {
        if k.vmas.any_sealed(a[0], a[0].saturating_add(old.max(PAGE)))
            || (moves_to && k.vmas.any_sealed(a[4], a[4] + new_round))
        {
            return Err(Errno::EPERM);
        }
    }
    let fixed = flags & MREMAP_FIXED != 0;
    if fixed {
        // The new place must not overlap the old one, and must be the program's.
        let old = old_round.unwrap_or(0).max(PAGE);
        if a[4] < a[0] + old && a[0] < a[4] + new_round {
            return Err(Errno::EINVAL);
        }
        program_range(a[4], new_round)?;
    }
    let (addr, old_len) = program_range(a[0], a[1]).map_err(|_| Errno::EFAULT)?;
    if !mapped(
        k,
        addr as u64,
        addr as u64 + old_len.max(PAGE as usize) as u64,
    ) {
        return Err(Errno::EFAULT);
    }
    let (_, new_len) = page_range(0, a[2])?;
    if a[3] & MREMAP_MAYMOVE == 0 && crate::user::overlaps_runtime(addr, addr + new_len) {
        return Err(Errno::ENOMEM); // growing in place would run into the runtime's memory
    }
    let keep_old = flags & MREMAP_DONTUNMAP != 0;
    let how = if moves_to {
        Remap::MoveTo {
            to: fixed.then_some(a[4] as usize),
            keep_old,
        }
    } else if flags & MREMAP_MAYMOVE != 0 {
        Remap::MayMove
    } else {
        Remap::InPlace
    };
    let new = host().vm_remap(addr, old_len, new_len, how)? as u64;
    let area = k
        .vmas
        .area_at(addr as u64)
        .unwrap_or(Area::private(3))
        .moved(new.wrapping_sub(addr as u64));
    if !keep_old {
        k.vmas.remove(addr as u64, (addr + old_len) as u64);
    }
    k.vmas.insert(new, new + new_len as u64, area);
    Ok(new)
}

/// `remap_file_pages(addr, size, prot, pgoff, flags)`: as Linux since 3.16 emulates it, the
/// range (rounded down to pages) maps its shared file again from page `pgoff` on, with the
/// range's own protection. The host's kernel makes the new mapping (and refuses what is not
/// one shared mapping of one file); the library OS checks what Linux checks first and keeps
/// its record of the file offsets.
pub fn sys_remap_file_pages(k: &mut Kernel, a: &Args) -> Result<u64> {
    // Linux ignores `flags` (`MAP_NONBLOCK` was the only one that meant anything).
    let (start, size, prot, pgoff) = (a[0] & !(PAGE - 1), a[1] & !(PAGE - 1), a[2], a[3]);
    if prot != 0 {
        return Err(Errno::EINVAL);
    }
    let end = start
        .checked_add(size)
        .filter(|end| *end > start)
        .ok_or(Errno::EINVAL)?;
    pgoff.checked_add(size / PAGE).ok_or(Errno::EINVAL)?;
    // Only the program's own shared mappings (the runtime's memory is not the program's).
    let shared = k.vmas.area_at(start).is_some_and(|area| area.shared);
    if !shared || end > USER_END || crate::user::overlaps_runtime(start as usize, end as usize) {
        return Err(Errno::EINVAL);
    }
    if k.vmas.any_sealed(start, end) {
        return Err(Errno::EPERM);
    }
    host().vm_remap(
        start as usize,
        size as usize,
        size as usize,
        Remap::FilePages { page: pgoff },
    )?;
    k.vmas
        .set_origin(start, end, start.wrapping_sub(pgoff.wrapping_mul(PAGE)));
    Ok(0)
}

/// Checks `addr`, `len` as `madvise`, `msync` and `mincore` do: alignment (`EINVAL`), then a
/// length that overflows (`wraps`), then nothing to do (`None`), then pages the program has
/// not mapped (`ENOMEM`).
fn advised_range(k: &Kernel, addr: u64, len: u64, wraps: Errno) -> Result<Option<(u64, u64)>> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let rounded = len.checked_add(PAGE - 1).ok_or(wraps)? & !(PAGE - 1);
    let end = addr.checked_add(rounded).ok_or(wraps)?;
    if end == addr {
        return Ok(None);
    }
    if end > USER_END
        || crate::user::overlaps_runtime(addr as usize, end as usize)
        || !mapped(k, addr, end)
    {
        return Err(Errno::ENOMEM);
    }
    Ok(Some((addr, end)))
}

/// `madvise(addr, length, advice)`: `MADV_DONTNEED` drops pages, `MADV_POPULATE_READ` and
/// `_WRITE` fault them in; other known advice is accepted and has no effect.
pub fn sys_madvise(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MADV_DONTNEED: u64 = 4;
    let advice = a[2] & 0xffff_ffff;
    let known = matches!(advice, 0..=4 | 8..=25 | 102 | 103);
    if !known {
        return Err(Errno::EINVAL);
    }
    let Some((start, end)) = advised_range(k, a[0], a[1], Errno::EINVAL)? else {
        return Ok(0);
    };
    const MADV_REMOVE: u64 = 9;
    const MADV_POPULATE_WRITE: u64 = 23;
    let refused = |(s, e, area): (u64, u64, Area)| {
        s < end
            && start < e
            && match advice {
                // Only shared mappings have pages to punch out.
                MADV_REMOVE => !area.shared,
                // Only writable ones can be populated for writing.
                MADV_POPULATE_WRITE => area.prot & Prot::WRITE.0 == 0,
                _ => false,
            }
    };
    if k.vmas.iter().any(refused) {
        return Err(Errno::EINVAL);
    }
    // A sealed read-only private mapping keeps its contents: no advice may discard them.
    const MADV_FREE: u64 = 8;
    const MADV_DONTNEED_LOCKED: u64 = 24;
    let discards = matches!(
        advice,
        MADV_DONTNEED | MADV_FREE | MADV_REMOVE | MADV_DONTNEED_LOCKED
    );
    let keeps = |(s, e, area): (u64, u64, Area)| {
        s < end && start < e && area.sealed && !area.shared && area.prot & Prot::WRITE.0 == 0
    };
    if discards && k.vmas.iter().any(keeps) {
        return Err(Errno::EPERM);
    }
    // What a forked child gets: wiping applies to private anonymous memory only.
    const MADV_DONTFORK: u64 = 10;
    const MADV_DOFORK: u64 = 11;
    const MADV_WIPEONFORK: u64 = 18;
    const MADV_KEEPONFORK: u64 = 19;
    let on_fork = match advice {
        MADV_DONTFORK => Some(crate::vma::OnFork::Drop),
        MADV_DOFORK | MADV_KEEPONFORK => Some(crate::vma::OnFork::Copy),
        MADV_WIPEONFORK => Some(crate::vma::OnFork::Wipe),
        _ => None,
    };
    if advice == MADV_WIPEONFORK
        && k.vmas
            .iter()
            .any(|(s, e, a)| s < end && start < e && (a.shared || a.file.is_some()))
    {
        return Err(Errno::EINVAL);
    }
    if let Some(on_fork) = on_fork {
        k.vmas.set_on_fork(start, end, on_fork);
    }
    if advice == MADV_DONTNEED {
        host().vm_discard(start as usize, (end - start) as usize)?;
    }
    // Faulting in is the host's; unlike mlock's, its errors are the program's (EFAULT for a
    // page it may not access, ENOMEM).
    const MADV_POPULATE_READ: u64 = 22;
    if advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE {
        host().vm_pages(
            start as usize,
            (end - start) as usize,
            picobox_abi::PagesOp::Populate {
                write: advice == MADV_POPULATE_WRITE,
            },
        )?;
    }
    Ok(0)
}

/// `msync(addr, length, flags)`: the program's shared file mappings are the host's page cache,
/// which readers of the file already see; `fsync` makes them durable.
pub fn sys_msync(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let flags = a[2] & 0xffff_ffff;
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || !a[0].is_multiple_of(PAGE)
        || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
    {
        return Err(Errno::EINVAL);
    }
    // Linux rounds the length up modulo 2^64: a wrapped length of 0 asks for nothing.
    let end = a[0].wrapping_add(a[1].wrapping_add(PAGE - 1) & !(PAGE - 1));
    if end < a[0] {
        return Err(Errno::ENOMEM);
    }
    if let Some((start, end)) = advised_range(k, a[0], end - a[0], Errno::ENOMEM)? {
        // Locked pages cannot be invalidated.
        if flags & MS_INVALIDATE != 0 && k.vmas.any_locked(start, end) {
            return Err(Errno::EBUSY);
        }
    }
    Ok(0)
}

/// `mincore(addr, length, vec)`: which pages are in memory, as the host says.
pub fn sys_mincore(k: &mut Kernel, a: &Args) -> Result<u64> {
    if !a[0].is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let end = a[0]
        .checked_add(a[1])
        .filter(|e| *e <= USER_END)
        .ok_or(Errno::ENOMEM)?;
    let pages = a[1].div_ceil(PAGE);
    // The vector must be user memory even when it is to hold nothing.
    if a[2].checked_add(pages).is_none_or(|e| e > USER_END) {
        return Err(Errno::EFAULT);
    }
    if pages == 0 {
        return Ok(0);
    }
    let out = usize::try_from(pages).map_err(|_| Errno::ENOMEM)?;
    if crate::user::overlaps_runtime(a[0] as usize, end as usize)
        || !mapped(k, a[0], a[0] + pages * PAGE)
    {
        return Err(Errno::ENOMEM);
    }
    let mut vec = alloc::vec![0u8; out];
    host().vm_pages(
        a[0] as usize,
        (pages * PAGE) as usize,
        picobox_abi::PagesOp::Residency(&mut vec),
    )?;
    crate::user::write_bytes(a[2], &vec)?;
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

/// Checks the range of `mlock`, `munlock`, `mlock2` (page-aligned down, every page mapped),
/// then locks or unlocks it; locking faults the pages in unless `on_fault`.
fn lock_range(k: &mut Kernel, addr: u64, len: u64, locked: bool, on_fault: bool) -> Result<()> {
    let start = addr & !(PAGE - 1);
    let end = addr
        .checked_add(len)
        .and_then(|e| e.checked_add(PAGE - 1))
        .ok_or(Errno::ENOMEM)?
        & !(PAGE - 1);
    if end > USER_END || !mapped(k, start, end) {
        return Err(Errno::ENOMEM);
    }
    k.vmas.set_locked(start, end, locked);
    if locked && !on_fault {
        // The range stays locked; the error is Linux's for mlock (EFAULT is ENOMEM, a
        // shortage EAGAIN).
        populate(k, start, end, false).map_err(|e| match e {
            Errno::ENOMEM => Errno::EAGAIN,
            _ => Errno::ENOMEM,
        })?;
    }
    Ok(())
}

/// `mlock(addr, len)`: checked as Linux checks it, recorded, and the pages faulted in; they
/// are not pinned (the host may page them out, and `RLIMIT_MEMLOCK` is not charged).
pub fn sys_mlock(k: &mut Kernel, a: &Args) -> Result<u64> {
    lock_range(k, a[0], a[1], true, false).map(|()| 0)
}

/// `mlock2(addr, len, flags)`: as `mlock`; `MLOCK_ONFAULT` is the only flag.
pub fn sys_mlock2(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MLOCK_ONFAULT: u64 = 1;
    if a[2] & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    lock_range(k, a[0], a[1], true, a[2] & MLOCK_ONFAULT != 0).map(|()| 0)
}

/// `munlock(addr, len)`.
pub fn sys_munlock(k: &mut Kernel, a: &Args) -> Result<u64> {
    lock_range(k, a[0], a[1], false, false).map(|()| 0)
}

/// `mlockall(flags)`: `MCL_CURRENT` (every mapping now), `MCL_FUTURE` (later ones too),
/// `MCL_ONFAULT`, recorded as `mlock`.
pub fn sys_mlockall(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MCL_CURRENT: u64 = 1;
    const MCL_FUTURE: u64 = 2;
    let flags = a[0] & 0xffff_ffff;
    if flags == 0 || flags & !7 != 0 || flags == 4 {
        return Err(Errno::EINVAL);
    }
    const MCL_ONFAULT: u64 = 4;
    if flags & MCL_CURRENT != 0 {
        k.vmas.set_locked(0, USER_END, true);
        if flags & MCL_ONFAULT == 0 {
            let _ = populate(k, 0, USER_END, true);
        }
    }
    k.lock_future = flags & MCL_FUTURE != 0;
    Ok(0)
}

/// `munlockall()`.
pub fn sys_munlockall(k: &mut Kernel, _a: &Args) -> Result<u64> {
    k.vmas.set_locked(0, USER_END, false);
    k.lock_future = false;
    Ok(0)
}

/// `membarrier(cmd, flags, cpu_id)`: the global barriers and the process's expedited ones
/// (with core serialisation, which the host gives both), their registrations and
/// `MEMBARRIER_CMD_GET_REGISTRATIONS`; not the rseq ones (`EINVAL`, and not in the query's
/// answer). Expedited barriers need the registration first (`EPERM`), as on Linux; a global
/// expedited one is a global barrier (which reaches every process, registered or not).
pub fn sys_membarrier(k: &mut Kernel, a: &Args) -> Result<u64> {
    const QUERY: u32 = 0;
    const GLOBAL: u32 = 1;
    const GLOBAL_EXPEDITED: u32 = 1 << 1;
    const REGISTER_GLOBAL_EXPEDITED: u32 = 1 << 2;
    const PRIVATE_EXPEDITED: u32 = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: u32 = 1 << 4;
    const PRIVATE_EXPEDITED_SYNC_CORE: u32 = 1 << 5;
    const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u32 = 1 << 6;
    const GET_REGISTRATIONS: u32 = 1 << 9;
    const SUPPORTED: u32 = GLOBAL
        | GLOBAL_EXPEDITED
        | REGISTER_GLOBAL_EXPEDITED
        | PRIVATE_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED
        | PRIVATE_EXPEDITED_SYNC_CORE
        | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
        | GET_REGISTRATIONS;
    let cmd = a[0] as u32;
    // Only the rseq barrier takes a flag (MEMBARRIER_CMD_FLAG_CPU).
    if a[1] as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    let registered = |k: &Kernel, bit: u32| {
        if k.membarrier_registered & bit != 0 {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    };
    match cmd {
        QUERY => Ok(u64::from(SUPPORTED)),
        GLOBAL | GLOBAL_EXPEDITED => host().vm_barrier(true).map(|()| 0),
        PRIVATE_EXPEDITED => {
            registered(k, REGISTER_PRIVATE_EXPEDITED)?;
            host().vm_barrier(false).map(|()| 0)
        }
        PRIVATE_EXPEDITED_SYNC_CORE => {
            registered(k, REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)?;
            host().vm_barrier(false).map(|()| 0)
        }
        REGISTER_GLOBAL_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => {
            k.membarrier_registered |= cmd;
            Ok(0)
        }
        GET_REGISTRATIONS => Ok(u64::from(k.membarrier_registered)),
        _ => Err(Errno::EINVAL),
    }
}

/// `mseal(addr, len, flags)`: the library OS refuses every later unmapping, move, remap and
/// protection change of the range (`EPERM`), and discarding a read-only private one.
pub fn sys_mseal(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[2] != 0 || !a[0].is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let rounded = a[1].checked_add(PAGE - 1).ok_or(Errno::EINVAL)? & !(PAGE - 1);
    let end = a[0].checked_add(rounded).ok_or(Errno::EINVAL)?;
    if end == a[0] {
        return Ok(0);
    }
    if end > USER_END || !k.vmas.covers(a[0], end) {
        return Err(Errno::ENOMEM);
    }
    k.vmas.seal(a[0], end);
    Ok(0)
}

/// In a forked child: ranges marked `MADV_WIPEONFORK` start zero-filled, and those marked
/// `MADV_DONTFORK` are not there.
pub fn apply_fork_advice(k: &mut Kernel) {
    let ranges: alloc::vec::Vec<(u64, u64, crate::vma::OnFork)> = k
        .vmas
        .iter()
        .filter(|(_, _, a)| a.on_fork != crate::vma::OnFork::Copy)
        .map(|(s, e, a)| (s, e, a.on_fork))
        .collect();
    for (start, end, on_fork) in ranges {
        let len = (end - start) as usize;
        match on_fork {
            crate::vma::OnFork::Wipe => {
                let _ = host().vm_discard(start as usize, len);
            }
            crate::vma::OnFork::Drop => {
                let _ = host().vm_free(start as usize, len);
                k.vmas.remove(start, end);
            }
            crate::vma::OnFork::Copy => {}
        }
    }
}
