//! Linux's native asynchronous I/O (`io_setup`, `io_submit`, `io_getevents`, `io_cancel`,
//! `io_destroy`), done at submission.
//!
//! Linux runs buffered reads and writes of ordinary files to completion inside `io_submit`
//! too; here every request is, so its event is queued before `io_submit` returns, and
//! `io_cancel` finds nothing in flight (`EINVAL`... as Linux for a finished request). A read
//! of an empty pipe or socket therefore waits inside `io_submit` (Linux would return and
//! complete it later), unless `RWF_NOWAIT` asks for `EAGAIN` in its event.
//!
//! The context's id is the address of a page of the program's, as Linux's is the address of
//! the ring it maps. Its header says it is no ring (the magic number is not Linux's), so libaio
//! asks the kernel for events rather than reading them from it. Contexts are not inherited by
//! a forked child (Linux does not map the ring there either).

use super::fs::{file_of, read_file, vectored, write_file};
use super::{fd_arg, Args};
use crate::fd::OpenFile;
use crate::kernel::{host, with, Kernel};
use crate::user;
use crate::vma::Area;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use picobox_abi::{Clock, Errno, Placement, PollEntry, Prot, Result, Timespec};

const PAGE: usize = 4096;
/// `/proc/sys/fs/aio-max-nr`: Linux's default, the most events all contexts may hold.
pub const AIO_MAX_NR: u64 = 65536;
/// `struct iocb` and `struct io_event` sizes.
const IOCB_SIZE: usize = 64;
const EVENT_SIZE: usize = 32;

const IOCB_CMD_PREAD: u16 = 0;
const IOCB_CMD_PWRITE: u16 = 1;
const IOCB_CMD_FSYNC: u16 = 2;
const IOCB_CMD_FDSYNC: u16 = 3;
const IOCB_CMD_NOOP: u16 = 6;
const IOCB_CMD_PREADV: u16 = 7;
const IOCB_CMD_PWRITEV: u16 = 8;
const IOCB_FLAG_RESFD: u32 = 1;
const IOCB_FLAG_IOPRIO: u32 = 2;
const RWF_NOWAIT: u32 = 0x8;
/// `RWF_HIPRI`, `RWF_DSYNC`, `RWF_SYNC`, `RWF_NOWAIT`, `RWF_APPEND`.
const RWF_KNOWN: u32 = 0x1f;

/// One context: its capacity and the events not yet taken.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Events it can hold (what Linux reserved for it).
    capacity: u64,
    /// Completed requests: `struct io_event` each.
    done: VecDeque<[u64; 4]>,
}

/// A process's contexts, by id.
pub type Contexts = BTreeMap<u64, Context>;

/// Events reserved by all of the process's contexts (`/proc/sys/fs/aio-nr`).
pub fn reserved(k: &Kernel) -> u64 {
    k.aio.values().map(|c| c.capacity).sum()
}

/// In a forked child: the parent's contexts are not the child's, and their pages are gone.
pub fn forget_after_fork(k: &mut Kernel) {
    for ctx in core::mem::take(&mut k.aio).into_keys() {
        let _ = host().vm_free(ctx as usize, PAGE);
        k.vmas.remove(ctx, ctx + PAGE as u64);
    }
}

/// `io_setup(nr_events, ctxp)`.
pub fn sys_io_setup(k: &mut Kernel, a: &Args) -> Result<u64> {
    let nr = a[0] & 0xffff_ffff;
    if user::read_u64(a[1])? != 0 || nr == 0 {
        return Err(Errno::EINVAL);
    }
    // Linux reserves twice the request, at least 4 per CPU, and refuses what its ring could
    // not hold (EINVAL) or what would take all contexts past aio-max-nr (EAGAIN).
    let cpus = u64::from(host().host_info().cpus.max(1));
    if nr.max(cpus * 4) * 2 > 0x1000_0000 / EVENT_SIZE as u64 {
        return Err(Errno::EINVAL);
    }
    if nr + reserved(k) > AIO_MAX_NR {
        return Err(Errno::EAGAIN);
    }
    let page = host().vm_alloc(Placement::Anywhere(0), PAGE, Prot::READ_WRITE, false)? as u64;
    // struct aio_ring { id, nr, head, tail, magic, compat_features, incompat_features,
    // header_length }: no Linux magic, so nobody reads events from it.
    let header: [u32; 8] = [0, nr as u32, 0, 0, 0, 1, 0, 32];
    let bytes: Vec<u8> = header.iter().flat_map(|w| w.to_ne_bytes()).collect();
    if let Err(e) = user::write_bytes(page, &bytes).and_then(|()| user::write_u64(a[1], page)) {
        let _ = host().vm_free(page as usize, PAGE);
        return Err(e);
    }
    k.vmas
        .insert(page, page + PAGE as u64, Area::private(Prot::READ_WRITE.0));
    k.aio.insert(
        page,
        Context {
            capacity: nr,
            done: VecDeque::new(),
        },
    );
    Ok(0)
}

/// `io_destroy(ctx)`.
pub fn sys_io_destroy(k: &mut Kernel, a: &Args) -> Result<u64> {
    k.aio.remove(&a[0]).ok_or(Errno::EINVAL)?;
    let _ = host().vm_free(a[0] as usize, PAGE);
    k.vmas.remove(a[0], a[0] + PAGE as u64);
    Ok(0)
}

/// A request as the program wrote it.
struct Request {
    data: u64,
    rw_flags: u32,
    opcode: u16,
    fd: u32,
    buf: u64,
    nbytes: u64,
    offset: i64,
    flags: u32,
    resfd: u32,
}

impl Request {
    fn read(addr: u64) -> Result<Request> {
        let mut raw = [0u8; IOCB_SIZE];
        user::read_into(addr, &mut raw)?;
        let u64_at = |at: usize| u64::from_ne_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |at: usize| u32::from_ne_bytes(raw[at..at + 4].try_into().unwrap_or([0; 4]));
        if u64_at(48) != 0 {
            return Err(Errno::EINVAL); // aio_reserved2
        }
        Ok(Request {
            data: u64_at(0),
            rw_flags: u32_at(12),
            opcode: u16::from_ne_bytes([raw[16], raw[17]]),
            fd: u32_at(20),
            buf: u64_at(24),
            nbytes: u64_at(32),
            offset: u64_at(40) as i64,
            flags: u32_at(56),
            resfd: u32_at(60),
        })
    }
}

/// `io_submit(ctx, nr, iocbpp)`: returns how many requests were taken; the first refused one
/// ends the batch (its error is the call's when it is the first).
pub fn sys_io_submit(a: &Args) -> Result<u64> {
    let (ctx, nr, list) = (a[0], a[1] as i64, a[2]);
    let capacity = with(|k| k.aio.get(&ctx).map(|c| c.capacity))?.ok_or(Errno::EINVAL)?;
    if nr < 0 {
        return Err(Errno::EINVAL);
    }
    let nr = (nr as u64).min(capacity);
    let mut taken = 0;
    while taken < nr {
        match submit_one(ctx, list.wrapping_add(taken * 8)) {
            Ok(()) => taken += 1,
            Err(e) if taken == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(taken)
}

fn submit_one(ctx: u64, slot: u64) -> Result<()> {
    let at = user::read_u64(slot)?;
    let req = Request::read(at)?;
    // The kernel writes the request's key (0) back.
    user::write_u32(at + 8, 0)?;
    if req.flags & !(IOCB_FLAG_RESFD | IOCB_FLAG_IOPRIO) != 0 {
        return Err(Errno::EINVAL);
    }
    let resfd = if req.flags & IOCB_FLAG_RESFD != 0 {
        let f = file_of(u64::from(req.resfd))?;
        if f.anonymous != Some("[eventfd]") {
            return Err(Errno::EINVAL);
        }
        Some(f)
    } else {
        None
    };
    let file = file_of(u64::from(req.fd))?;
    let status = file.status();
    let result = match req.opcode {
        IOCB_CMD_PREAD | IOCB_CMD_PREADV | IOCB_CMD_PWRITE | IOCB_CMD_PWRITEV => {
            let reading = matches!(req.opcode, IOCB_CMD_PREAD | IOCB_CMD_PREADV);
            if (reading && !status.readable()) || (!reading && !status.writable()) {
                return Err(Errno::EBADF);
            }
            if req.rw_flags & !RWF_KNOWN != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if req.offset < 0 {
                return Err(Errno::EINVAL);
            }
            transfer(&file, &req, reading)
        }
        IOCB_CMD_FSYNC | IOCB_CMD_FDSYNC => {
            let data_only = req.opcode == IOCB_CMD_FDSYNC;
            if req.buf != 0 || req.nbytes != 0 || req.offset != 0 || req.rw_flags != 0 {
                return Err(Errno::EINVAL);
            }
            with(|k| super::fs::flush(k, fd_arg(u64::from(req.fd))?, data_only))?
        }
        IOCB_CMD_NOOP => Err(Errno::EINVAL),
        _ => return Err(Errno::EINVAL),
    };
    let res = match result {
        Ok(n) => n as i64,
        Err(e) => -i64::from(e.0),
    };
    with(|k| {
        if let Some(c) = k.aio.get_mut(&ctx) {
            c.done.push_back([req.data, at, res as u64, 0]);
        }
    })?;
    if let Some(bell) = resfd {
        let one = 1u64.to_ne_bytes();
        if let Some(h) = bell.handle() {
            let _ = host().stream_write(
                h,
                picobox_abi::IoBuf {
                    addr: one.as_ptr() as usize,
                    len: 8,
                },
                None,
            );
        }
    }
    Ok(())
}

/// A read or write request, at its offset (or, on a pipe or socket, where the stream is).
fn transfer(file: &OpenFile, req: &Request, reading: bool) -> Result<u64> {
    if req.rw_flags & RWF_NOWAIT != 0 && reading {
        if let Some(h) = file.handle() {
            let mut ready = [PollEntry {
                handle: h,
                events: 1,
                revents: 0,
            }];
            if host().streams_wait(&mut ready, Some(Timespec { sec: 0, nsec: 0 }))? == 0 {
                return Err(Errno::EAGAIN);
            }
        }
    }
    let once = |offset: Option<u64>| match req.opcode {
        IOCB_CMD_PREAD => read_file(file, req.buf, req.nbytes, offset),
        IOCB_CMD_PWRITE => write_file(file, req.buf, req.nbytes, offset),
        _ => {
            let args: Args = [u64::from(req.fd), req.buf, req.nbytes, 0, 0, 0];
            vectored(&args, offset, if reading { read_file } else { write_file })
        }
    };
    match once(Some(req.offset as u64)) {
        Err(Errno::ESPIPE) => once(None),
        other => other,
    }
}

/// `io_getevents(ctx, min_nr, nr, events, timeout)`.
pub fn sys_io_getevents(a: &Args) -> Result<u64> {
    let timeout = if a[4] == 0 {
        None
    } else {
        Some(super::time::read_timespec(a[4])?)
    };
    get_events(a[0], a[1] as i64, a[2] as i64, a[3], timeout)
}

/// `io_pgetevents(ctx, min_nr, nr, events, timeout, usig)`: as `io_getevents`; the signal
/// mask, when given, is not applied while waiting.
pub fn sys_io_pgetevents(a: &Args) -> Result<u64> {
    sys_io_getevents(a)
}

fn get_events(ctx: u64, min: i64, nr: i64, out: u64, timeout: Option<Timespec>) -> Result<u64> {
    with(|k| k.aio.contains_key(&ctx))?
        .then_some(())
        .ok_or(Errno::EINVAL)?;
    if min < 0 || nr < 0 || min > nr {
        return Err(Errno::EINVAL);
    }
    let want = nr as u64;
    let mut taken = take(ctx, want, out)?;
    if taken >= min as u64 {
        return Ok(taken);
    }
    // Every request completed at submission: more can only come from another thread's
    // io_submit. Wait out the timeout (or for a signal), then take what is there.
    let deadline = timeout.map(|t| {
        let now = host().time_query(Clock::Monotonic).unwrap_or_default();
        add(now, t)
    });
    loop {
        let step = Timespec {
            sec: 0,
            nsec: 10_000_000,
        };
        let now = host().time_query(Clock::Monotonic)?;
        let until = match deadline {
            Some(d) if !before(now, d) => return Ok(taken),
            Some(d) => min_time(d, add(now, step)),
            None => add(now, step),
        };
        match host().time_sleep(Clock::Monotonic, until, true) {
            Err(Errno::EINTR) if super::interrupted()? => {
                return if taken > 0 {
                    Ok(taken)
                } else {
                    Err(Errno::EINTR)
                }
            }
            _ => {}
        }
        taken += take(ctx, want - taken, out + taken * EVENT_SIZE as u64)?;
        if taken >= min as u64 {
            return Ok(taken);
        }
    }
}

/// Moves up to `max` events of `ctx` to the program's array at `out`.
fn take(ctx: u64, max: u64, out: u64) -> Result<u64> {
    with(|k| {
        let c = k.aio.get_mut(&ctx).ok_or(Errno::EINVAL)?;
        let mut n = 0;
        while n < max {
            let Some(event) = c.done.front() else { break };
            let bytes: Vec<u8> = event.iter().flat_map(|w| w.to_ne_bytes()).collect();
            user::write_bytes(out + n * EVENT_SIZE as u64, &bytes)?;
            c.done.pop_front();
            n += 1;
        }
        Ok(n)
    })?
}

/// `io_cancel(ctx, iocb, result)`: nothing is ever in flight.
pub fn sys_io_cancel(k: &mut Kernel, a: &Args) -> Result<u64> {
    // The request's key, which Linux reads first.
    if user::read_u32(a[1].wrapping_add(8))? != 0 {
        return Err(Errno::EINVAL);
    }
    k.aio.get(&a[0]).ok_or(Errno::EINVAL)?;
    Err(Errno::EINVAL)
}

fn add(a: Timespec, b: Timespec) -> Timespec {
    let nsec = a.nsec + b.nsec;
    Timespec {
        sec: a
            .sec
            .saturating_add(b.sec)
            .saturating_add(nsec / 1_000_000_000),
        nsec: nsec % 1_000_000_000,
    }
}

fn before(a: Timespec, b: Timespec) -> bool {
    (a.sec, a.nsec) < (b.sec, b.nsec)
}

fn min_time(a: Timespec, b: Timespec) -> Timespec {
    if before(a, b) {
        a
    } else {
        b
    }
}
