//! File calls built from the common ones: vectored I/O at an offset, old and new forms of the
//! time and mode calls, hints the host page cache does not need, `fallocate`, `close_range`,
//! `copy_file_range` and `memfd_create`.

use super::fs::{self, file_of, offset_arg, open_for_change, read_file, vectored, write_file};
use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use crate::vfs::Node;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileKind, IoBuf, OpenFlags, Result, TimesChange, Timespec};

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_EMPTY_PATH: u64 = 0x1000;

/// The offset of `preadv`/`pwritev`, passed as two halves (`pos_l`, `pos_h`); on x86-64 the
/// low half holds it all.
fn split_offset(low: u64, _high: u64) -> u64 {
    low
}

/// The `RWF_*` flags `preadv2`/`pwritev2` accept: `RWF_HIPRI`, `RWF_DSYNC`, `RWF_SYNC`,
/// `RWF_NOWAIT`, `RWF_APPEND` (hints, or what the host file's own flags already decide).
const RWF_KNOWN: u64 = 0x1f;

/// `preadv(fd, iov, iovcnt, pos_l, pos_h)`.
pub fn sys_preadv(a: &Args) -> Result<u64> {
    vectored(a, Some(split_offset(a[3], a[4])), read_file)
}

/// `pwritev(fd, iov, iovcnt, pos_l, pos_h)`.
pub fn sys_pwritev(a: &Args) -> Result<u64> {
    vectored(a, Some(split_offset(a[3], a[4])), write_file)
}

/// `preadv2(fd, iov, iovcnt, pos_l, pos_h, flags)`: offset -1 means the file's position.
pub fn sys_preadv2(a: &Args) -> Result<u64> {
    if a[5] & !RWF_KNOWN != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let at = Some(split_offset(a[3], a[4])).filter(|o| *o != u64::MAX);
    vectored(a, at, read_file)
}

/// `pwritev2(fd, iov, iovcnt, pos_l, pos_h, flags)`.
pub fn sys_pwritev2(a: &Args) -> Result<u64> {
    if a[5] & !RWF_KNOWN != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let at = Some(split_offset(a[3], a[4])).filter(|o| *o != u64::MAX);
    vectored(a, at, write_file)
}

/// `copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)`: copied through a library-OS
/// buffer, at the given offsets (which are then advanced) or the files' positions.
pub fn sys_copy_file_range(a: &Args) -> Result<u64> {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let input = file_of(a[0])?;
    let output = file_of(a[2])?;
    if !input.status().readable() || !output.status().writable() {
        return Err(Errno::EBADF);
    }
    if output.status().0 & OpenFlags::APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (Some(in_h), Some(out_h)) = (input.handle(), output.handle()) else {
        return Err(Errno::EINVAL);
    };
    let read_offset = |ptr: u64| -> Result<Option<u64>> {
        if ptr == 0 {
            Ok(None)
        } else {
            offset_arg(user::read_u64(ptr)?).map(Some)
        }
    };
    let (mut off_in, mut off_out) = (read_offset(a[1])?, read_offset(a[3])?);
    let total = fs::copy_streams(in_h, &mut off_in, out_h, &mut off_out, a[4])?;
    if let Some(o) = off_in {
        user::write_u64(a[1], o)?;
    }
    if let Some(o) = off_out {
        user::write_u64(a[3], o)?;
    }
    Ok(total)
}

/// The open file behind `fd` for a hint: it must exist; pipes and sockets are `ESPIPE`.
fn hinted_file(k: &Kernel, fd: u64) -> Result<alloc::sync::Arc<OpenFile>> {
    let file = k.fds.file(fd_arg(fd)?)?;
    if let Some(h) = file.handle() {
        if matches!(
            host().stream_attr(h)?.kind,
            FileKind::Fifo | FileKind::Socket
        ) {
            return Err(Errno::ESPIPE);
        }
    }
    Ok(file)
}

/// `fadvise64(fd, offset, len, advice)`: checked, then left to the host's page cache.
pub fn sys_fadvise64(k: &mut Kernel, a: &Args) -> Result<u64> {
    hinted_file(k, a[0])?;
    if int_arg(a[2]) < 0 || a[2] > i64::MAX as u64 || !(0..=5).contains(&int_arg(a[3])) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `readahead(fd, offset, count)`: checked, then left to the host's page cache.
pub fn sys_readahead(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let status = file.status();
    if !status.readable() || status.0 & OpenFlags::PATH != 0 {
        return Err(Errno::EBADF);
    }
    // Only a regular file has a page cache to read ahead into.
    match file.handle() {
        Some(h) if host().stream_attr(h)?.kind == FileKind::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    offset_arg(a[1])?;
    Ok(0)
}

/// `sync_file_range(fd, offset, nbytes, flags)`: with `SYNC_FILE_RANGE_WRITE`, the whole file
/// is flushed (a superset of the range).
pub fn sys_sync_file_range(k: &mut Kernel, a: &Args) -> Result<u64> {
    const KNOWN: u64 = 0x7;
    let file = hinted_file(k, a[0])?;
    if a[3] & !KNOWN != 0 || (a[1] as i64) < 0 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    // Linux syncs the ranges of files, directories and links; a device is ESPIPE.
    let syncable = match file.handle() {
        Some(h) => matches!(
            host().stream_attr(h)?.kind,
            FileKind::Regular | FileKind::Directory | FileKind::Symlink | FileKind::BlockDevice
        ),
        None => matches!(file.object, FileObject::SyntheticDir),
    };
    if !syncable {
        return Err(Errno::ESPIPE);
    }
    if let (Some(h), true) = (file.handle(), a[3] & 0x2 != 0) {
        host().stream_flush(h, true)?;
    }
    Ok(0)
}

/// `fallocate(fd, mode, offset, len)`: mode 0 (and `FALLOC_FL_KEEP_SIZE`) make sure the file
/// reaches `offset + len` (the host allocates as it writes); `FALLOC_FL_PUNCH_HOLE` and
/// `FALLOC_FL_ZERO_RANGE` write zeros over the range (its blocks stay allocated); the other
/// modes are `EOPNOTSUPP`.
pub fn sys_fallocate(k: &mut Kernel, a: &Args) -> Result<u64> {
    const KEEP_SIZE: u64 = 0x1;
    const PUNCH_HOLE: u64 = 0x2;
    const ZERO_RANGE: u64 = 0x10;
    let file = k.fds.file(fd_arg(a[0])?)?;
    let mode = a[1] & 0xffff_ffff;
    let (offset, len) = (a[2] as i64, a[3] as i64);
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !file.status().writable() {
        return Err(Errno::EBADF);
    }
    let h = file.handle().ok_or(Errno::ENODEV)?;
    let attr = host().stream_attr(h)?;
    match attr.kind {
        FileKind::Regular => {}
        FileKind::Directory => return Err(Errno::EISDIR),
        FileKind::Fifo => return Err(Errno::ESPIPE),
        _ => return Err(Errno::ENODEV),
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    let zero = |from: u64, to: u64| -> Result<()> {
        let zeros = [0u8; 4096];
        let mut at = from;
        while at < to {
            let n = (to - at).min(zeros.len() as u64) as usize;
            at += host().stream_write(h, IoBuf::of(&zeros[..n]), Some(at))? as u64;
        }
        Ok(())
    };
    match mode {
        0 if end > attr.size => host().stream_set_length(h, end)?,
        0 | KEEP_SIZE => {}
        m if m == PUNCH_HOLE | KEEP_SIZE => zero(offset as u64, end.min(attr.size))?,
        PUNCH_HOLE => return Err(Errno::EOPNOTSUPP),
        m if m & !KEEP_SIZE == ZERO_RANGE => {
            zero(offset as u64, end.min(attr.size))?;
            if m & KEEP_SIZE == 0 && end > attr.size {
                host().stream_set_length(h, end)?;
            }
        }
        _ => return Err(Errno::EOPNOTSUPP),
    }
    Ok(0)
}

/// `sync()`: every file the box wrote is flushed by its own `fsync`; the host writes the rest
/// back in its own time, as Linux does for data no one synced.
pub fn sys_sync(_k: &mut Kernel, _a: &Args) -> Result<u64> {
    Ok(0)
}

/// `syncfs(fd)`: the file behind `fd` is flushed.
pub fn sys_syncfs(k: &mut Kernel, a: &Args) -> Result<u64> {
    if let Some(h) = k.fds.file(fd_arg(a[0])?)?.handle() {
        host().stream_flush(h, false)?;
    }
    Ok(0)
}

/// Seconds and microseconds (`struct timeval`) as a time to set.
fn timeval_at(addr: u64) -> Result<Option<Option<Timespec>>> {
    let sec = user::read_u64(addr)? as i64;
    let usec = user::read_u64(addr + 8)? as i64;
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Some(Timespec {
        sec,
        nsec: usec * 1000,
    })))
}

/// Sets the times of `path` (relative to `dirfd`), following a last link.
fn set_times(k: &Kernel, dirfd: u64, path: u64, change: TimesChange) -> Result<u64> {
    let h = open_for_change(k, dirfd, path, true, OpenFlags::PATH)?;
    host().stream_set_times(h.0, change)?;
    Ok(0)
}

const NOW: TimesChange = TimesChange {
    atime: Some(None),
    mtime: Some(None),
};

/// `utime(path, times)`: `struct utimbuf { time_t actime, modtime; }`, or now.
pub fn sys_utime(k: &mut Kernel, a: &Args) -> Result<u64> {
    let change = if a[1] == 0 {
        NOW
    } else {
        let at = |off: u64| -> Result<Option<Option<Timespec>>> {
            Ok(Some(Some(Timespec {
                sec: user::read_u64(a[1] + off)? as i64,
                nsec: 0,
            })))
        };
        TimesChange {
            atime: at(0)?,
            mtime: at(8)?,
        }
    };
    set_times(k, AT_FDCWD, a[0], change)
}

fn timevals(ptr: u64) -> Result<TimesChange> {
    if ptr == 0 {
        return Ok(NOW);
    }
    Ok(TimesChange {
        atime: timeval_at(ptr)?,
        mtime: timeval_at(ptr + 16)?,
    })
}

/// `utimes(path, times[2])`: `struct timeval`s, or now.
pub fn sys_utimes(k: &mut Kernel, a: &Args) -> Result<u64> {
    let change = timevals(a[1])?;
    set_times(k, AT_FDCWD, a[0], change)
}

/// `futimesat(dirfd, path, times[2])`.
pub fn sys_futimesat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let change = timevals(a[2])?;
    set_times(k, a[0], a[1], change)
}

/// `fchmodat2(dirfd, path, mode, flags)`: with `AT_SYMLINK_NOFOLLOW`, a link itself cannot be
/// changed (`EOPNOTSUPP`, as on Linux); with `AT_EMPTY_PATH`, the descriptor's file.
pub fn sys_fchmodat2(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = a[3] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & AT_EMPTY_PATH != 0 && user::read_cstr(a[1], 1)?.is_empty() {
        return fs::sys_fchmod(k, &[a[0], a[2], 0, 0, 0, 0]);
    }
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        let attr = fs::stat_path(k, a[0], a[1], AT_SYMLINK_NOFOLLOW as u32)?;
        if attr.kind == FileKind::Symlink {
            return Err(Errno::EOPNOTSUPP);
        }
    }
    fs::chmod_at(k, a[0], a[1], a[2])
}

/// `close_range(first, last, flags)`: closes (or with `CLOSE_RANGE_CLOEXEC` marks
/// close-on-exec) every open descriptor from `first` to `last`. `CLOSE_RANGE_UNSHARE` changes
/// nothing: each process has a table of its own.
pub fn sys_close_range(k: &mut Kernel, a: &Args) -> Result<u64> {
    const CLOSE_RANGE_UNSHARE: u64 = 2;
    const CLOSE_RANGE_CLOEXEC: u64 = 4;
    let (first, last, flags) = (a[0] & 0xffff_ffff, a[1] & 0xffff_ffff, a[2] & 0xffff_ffff);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let targets: Vec<u64> = k
        .fds
        .numbers()
        .into_iter()
        .filter(|fd| (first..=last).contains(fd))
        .collect();
    for fd in targets {
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            k.fds.set_cloexec(fd, true)?;
        } else {
            let _ = k.fds.remove(fd);
        }
    }
    Ok(0)
}

/// `memfd_create(name, flags)`: an unnamed file in the box's `/dev/shm` (memory the box's
/// limits count), made and unlinked at once. `MFD_ALLOW_SEALING` is accepted, but seals
/// cannot be added (`F_ADD_SEALS` is `EINVAL`); `MFD_HUGETLB` is `EINVAL`.
pub fn sys_memfd_create(k: &mut Kernel, a: &Args) -> Result<u64> {
    const MFD_CLOEXEC: u64 = 1;
    const MFD_ALLOW_SEALING: u64 = 2;
    const MFD_NOEXEC_SEAL: u64 = 8;
    const MFD_EXEC: u64 = 0x10;
    /// `MFD_NAME_MAX`: 249 bytes.
    const NAME_MAX: usize = 249;
    let flags = a[1] & 0xffff_ffff;
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = user::read_cstr(a[0], NAME_MAX).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::EINVAL,
        e => e,
    })?;
    let shm = alloc::vec![b"dev".to_vec(), b"shm".to_vec()];
    let Node::Host { root, rel, .. } = k.vfs.locate(&shm)? else {
        return Err(Errno::ENOSYS);
    };
    let mut rand = [0u8; 8];
    host().random_read(&mut rand)?;
    let mut entry = rel.clone();
    if !entry.is_empty() {
        entry.push(b'/');
    }
    entry.extend_from_slice(alloc::format!(".memfd-{:016x}", u64::from_le_bytes(rand)).as_bytes());
    let flags_rw = OpenFlags(
        OpenFlags::READ_WRITE.0 | OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::CLOEXEC,
    );
    let h = host().stream_open(root, &entry, flags_rw, 0o600)?;
    let _ = host().stream_delete(root, &entry, false);
    let mut shown = b"memfd:".to_vec();
    shown.extend_from_slice(&name);
    shown.extend_from_slice(b" (deleted)");
    let file = OpenFile::new(
        FileObject::Host(HostHandle(h)),
        OpenFlags::READ_WRITE.0,
        alloc::vec![shown],
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & MFD_CLOEXEC != 0,
    })
}

/// `cachestat(fd, range, cstat, flags)`: the page cache's pages of the range (`struct
/// cachestat_range { off, len }`) of a host file, as the host counts them; a file of the
/// library OS's own has none. Checked in Linux's order: the descriptor, the flags, the range.
pub fn sys_cachestat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(a[0] & 0xffff_ffff)?;
    if a[3] & 0xffff_ffff != 0 {
        return Err(Errno::EINVAL);
    }
    let range = crate::user::read_bytes(a[1], 16)?;
    let word = |i: usize| u64::from_le_bytes(range[i..i + 8].try_into().unwrap_or([0; 8]));
    let mut stat = [0u8; 40];
    if let Some(h) = file.handle() {
        host().stream_query(
            h,
            picobox_abi::StreamQuery::PageCache {
                offset: word(0),
                len: word(8),
            },
            &mut stat,
        )?;
    }
    crate::user::write_bytes(a[2], &stat)?;
    Ok(0)
}
