//! `splice` and `vmsplice`: moving data to or from a pipe. The library OS copies through its
//! own buffer what Linux moves by page references; what the program sees (counts, offsets,
//! blocking, errors) is Linux's. `tee`, which copies a pipe's contents without consuming them,
//! cannot be built on reads and writes: the host does it (`stream_tee`).

use super::fs::{file_of, offset_arg, vectored};
use super::Args;
use crate::fd::{FileObject, OpenFile};
use crate::kernel::host;
use crate::user;
use crate::vfs::DevNode;
use picobox_abi::{
    Errno, FileKind, Handle, IoBuf, OpenFlags, PollEntry, Result, StreamQuery, Timespec,
};

const SPLICE_F_MOVE: u64 = 1;
const SPLICE_F_NONBLOCK: u64 = 2;
const SPLICE_F_MORE: u64 = 4;
const SPLICE_F_GIFT: u64 = 8;
const SPLICE_F_ALL: u64 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;
/// The most one call moves: a default pipe's capacity, as Linux moves at most a pipe's worth.
const CHUNK: usize = 64 * 1024;

const POLLIN: u16 = 1;
const POLLOUT: u16 = 4;
/// What a pipe that polls writable takes without waiting: one free buffer, a page.
const PIPE_BUF: usize = 4096;

/// Waits until the pipe `h` is ready for `events` (`POLLIN` or `POLLOUT`; a pipe whose other
/// end is gone is ready, and the read or write that follows says so), or with `nonblocking`
/// is `EAGAIN` if it is not ready now.
fn wait_for_pipe(h: Handle, events: u16, nonblocking: bool) -> Result<()> {
    loop {
        let mut entry = [PollEntry {
            handle: h,
            events,
            revents: 0,
        }];
        let timeout = nonblocking.then_some(Timespec::default());
        match host().streams_wait(&mut entry, timeout) {
            Ok(0) => return Err(Errno::EAGAIN),
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) if !super::interrupted()? => continue,
            Err(e) => return Err(e),
        }
    }
}

/// How many buffers (of a page each) the pipe `h` has free now, once it polled writable: its
/// capacity less what it holds, counted in pages, and at least one. Linux fills a buffer per
/// page spliced in (a piece of a page takes a whole one).
fn free_buffers(h: Handle) -> Result<usize> {
    let query = |q| -> Result<usize> {
        let mut out = [0u8; 4];
        host().stream_query(h, q, &mut out)?;
        Ok(u32::from_ne_bytes(out) as usize)
    };
    let capacity = query(StreamQuery::PipeCapacity)? / PIPE_BUF;
    let held = query(StreamQuery::BytesAvailable)?.div_ceil(PIPE_BUF);
    Ok(capacity.saturating_sub(held).max(1))
}

/// Of `len` bytes of memory at `addr`, how many fill no more than `buffers` pipe buffers, a
/// buffer per page or piece of a page (as vmsplice adds the program's pages); lowers
/// `buffers` by those used.
fn fits_in_buffers(addr: u64, len: u64, buffers: &mut usize) -> u64 {
    let page = PIPE_BUF as u64;
    let lead = addr % page;
    let pages = (lead + len).div_ceil(page) as usize;
    if pages <= *buffers {
        *buffers -= pages;
        return len;
    }
    let fits = (page - lead + (*buffers as u64).saturating_sub(1) * page).min(len);
    *buffers = 0;
    fits
}

/// One side of a splice: a host stream (and whether it is a pipe), or a device of the
/// library OS's.
enum Side {
    Host { pipe: bool, h: Handle },
    Dev(DevNode),
}

fn side_of(file: &OpenFile) -> Result<Side> {
    if let FileObject::Dev(d) = &file.object {
        return Ok(Side::Dev(*d));
    }
    let (pipe, h) = pipe_of(file)?;
    Ok(Side::Host { pipe, h })
}

/// Whether `file` is a pipe (or FIFO), and its host stream.
fn pipe_of(file: &OpenFile) -> Result<(bool, Handle)> {
    let h = file.handle().ok_or(Errno::EINVAL)?;
    let attr = host().stream_attr(h)?;
    Ok((attr.kind == FileKind::Fifo, h))
}

/// The offset argument of one side: none for a pipe (`ESPIPE` if given), else the value at
/// `addr` (or the file's position when `addr` is 0).
fn side_offset(is_pipe: bool, addr: u64) -> Result<Option<u64>> {
    match (is_pipe, addr) {
        (_, 0) => Ok(None),
        (true, _) => Err(Errno::ESPIPE),
        (false, _) => Ok(Some(offset_arg(user::read_u64(addr)?)?)),
    }
}

/// `tee(fd_in, fd_out, len, flags)`: the first readable and the second writable (else
/// `EBADF`), both pipes and different ones (else `EINVAL`), as Linux checks.
pub fn sys_tee(a: &Args) -> Result<u64> {
    if a[3] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = file_of(a[0])?;
    let output = file_of(a[1])?;
    if !input.status().readable() || !output.status().writable() {
        return Err(Errno::EBADF);
    }
    let (in_pipe, in_h) = pipe_of(&input)?;
    let (out_pipe, out_h) = pipe_of(&output)?;
    if !in_pipe || !out_pipe || alloc::sync::Arc::ptr_eq(&input, &output) {
        return Err(Errno::EINVAL);
    }
    let len = usize::try_from(a[2]).unwrap_or(usize::MAX);
    if len == 0 {
        return Ok(0);
    }
    output.touched();
    let n = host().stream_tee(in_h, out_h, len, a[3] & SPLICE_F_NONBLOCK != 0)?;
    Ok(n as u64)
}

/// `splice(fd_in, off_in, fd_out, off_out, len, flags)`: one side must be a pipe. Moves what
/// one read of the input gives (at most a pipe's worth), waiting for data as Linux does.
pub fn sys_splice(a: &Args) -> Result<u64> {
    if a[5] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = file_of(a[0])?;
    let output = file_of(a[2])?;
    if !input.status().readable() || !output.status().writable() {
        return Err(Errno::EBADF);
    }
    if output.status().0 & OpenFlags::APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let (in_side, out_side) = (side_of(&input)?, side_of(&output)?);
    let is_pipe = |s: &Side| matches!(s, Side::Host { pipe: true, .. });
    let (in_pipe, out_pipe) = (is_pipe(&in_side), is_pipe(&out_side));
    if !in_pipe && !out_pipe {
        return Err(Errno::EINVAL);
    }
    let mut in_off = side_offset(in_pipe, a[1])?;
    let mut out_off = side_offset(out_pipe, a[3])?;
    if in_pipe && out_pipe && alloc::sync::Arc::ptr_eq(&input, &output) {
        return Err(Errno::EINVAL);
    }
    let mut len = usize::try_from(a[4]).unwrap_or(usize::MAX).min(CHUNK);
    if len == 0 {
        return Ok(0);
    }
    // As Linux, a non-blocking pipe makes the call non-blocking on its side.
    let nonblocking = |file: &OpenFile| {
        a[5] & SPLICE_F_NONBLOCK != 0 || file.status().0 & OpenFlags::NONBLOCK != 0
    };
    if let Side::Host { pipe: true, h } = in_side {
        wait_for_pipe(h, POLLIN, nonblocking(&input))?;
    }
    if let Side::Host { pipe: true, h } = out_side {
        wait_for_pipe(h, POLLOUT, nonblocking(&output))?;
        len = len.min(free_buffers(h)? * PIPE_BUF);
    }
    input.touched();
    output.touched();
    let mut buf = alloc::vec![0u8; len];
    // A device as the input reads as it does (zeros, random bytes, nothing from /dev/null);
    // as the output, it takes all, except /dev/full, which Linux does not splice into.
    let n = match in_side {
        Side::Host { h, .. } => host().stream_read(h, IoBuf::of_mut(&mut buf), in_off)?,
        Side::Dev(DevNode::Null) => 0,
        Side::Dev(DevNode::Random) => {
            host().random_read(&mut buf)?;
            len
        }
        Side::Dev(_) => len,
    };
    let out_h = match out_side {
        Side::Host { h, .. } => h,
        Side::Dev(DevNode::Full) => return Err(Errno::EINVAL),
        Side::Dev(_) => return Ok(n as u64),
    };
    let mut written = 0;
    while written < n {
        match host().stream_write(out_h, IoBuf::of(&buf[written..n]), out_off) {
            Ok(w) => {
                written += w;
                out_off = out_off.map(|o| o + w as u64);
            }
            // What was read from a pipe cannot go back: report it moved, as far as it got.
            Err(e) if written == 0 => return Err(e),
            Err(_) => break,
        }
    }
    in_off = in_off.map(|o| o + written as u64);
    if let Some(o) = in_off {
        user::write_u64(a[1], o)?;
    }
    if let Some(o) = out_off {
        user::write_u64(a[3], o)?;
    }
    Ok(written as u64)
}

/// `vmsplice(fd, iov, nr_segs, flags)`: into a pipe's write end from the program's memory (or,
/// from a read end, out of the pipe into it), as `writev` (of what the pipe has room for) or
/// `readv` of the pipe.
pub fn sys_vmsplice(a: &Args) -> Result<u64> {
    if a[3] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let file = file_of(a[0])?;
    let (is_pipe, h) = pipe_of(&file).map_err(|_| Errno::EBADF)?;
    if !is_pipe {
        return Err(Errno::EBADF);
    }
    let status = file.status();
    let nonblocking = a[3] & SPLICE_F_NONBLOCK != 0 || status.0 & OpenFlags::NONBLOCK != 0;
    if status.writable() {
        // The iovecs are checked (EINVAL, EFAULT) before waiting, as Linux imports them first.
        let total = vectored(a, None, |_, _, len, _| Ok(len))?;
        if total == 0 {
            return Ok(0);
        }
        wait_for_pipe(h, POLLOUT, nonblocking)?;
        let mut buffers = free_buffers(h)?;
        vectored(a, None, |file, addr, len, at| {
            let fits = fits_in_buffers(addr, len, &mut buffers);
            if fits == 0 {
                return Ok(0);
            }
            // Less than `len` ends the call: the pipe's buffers are full.
            super::fs::write_file(file, addr, fits, at)
        })
    } else if status.readable() {
        wait_for_pipe(h, POLLIN, nonblocking)?;
        vectored(a, None, super::fs::read_file)
    } else {
        Err(Errno::EBADF)
    }
}
