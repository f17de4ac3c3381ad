//! epoll, kept by the library OS on top of the host's one-shot wait ([`super::poll::wait`]):
//! an instance is a set of (open file, events, data). Registrations hold the open file weakly,
//! so closing its last descriptor removes it, as on Linux.
//!
//! Edge-triggered registrations (`EPOLLET`) are approximated: an event already reported is not
//! reported (nor waited for) again until the program reads or writes the file, after which
//! readiness counts as new; a read or write then wakes a wait that left the file out (through
//! an event counter of the process's own). A program that drains the file, as edge-triggered programs must,
//! sees what it would see on Linux; one that reads only part may be told again.

use super::poll::{wait, Want};
use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, OpenFile};
use crate::kernel::Kernel;
use crate::user;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use picobox_abi::{Errno, FileKind, Result, Timespec};
use spin::Mutex;

const EPOLL_CLOEXEC: u32 = 0o2000000;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// `EPOLLERR | EPOLLHUP`: always reported, as by Linux.
const POLLERR_HUP: u16 = 0x18;
const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;
/// Most events one `epoll_wait` returns (Linux's limit is INT_MAX / 12).
const MAX_EVENTS: usize = 0x0aaa_aaaa;

/// One registration.
#[derive(Debug, Clone)]
struct Registration {
    file: Weak<OpenFile>,
    events: u32,
    data: u64,
    /// Edge-triggered: the events last reported, and the file's I/O count then.
    reported: u16,
    reported_gen: u64,
}

/// The registrations of one epoll instance, by descriptor number.
#[derive(Debug, Default)]
pub struct Interest {
    by_fd: BTreeMap<i32, Registration>,
}

fn create(k: &mut Kernel, flags: u32) -> Result<u64> {
    if flags & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let file = OpenFile::new(
        FileObject::Epoll(Mutex::new(Interest::default())),
        2,
        Vec::new(),
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & EPOLL_CLOEXEC != 0,
    })
}

/// `epoll_create(size)`.
pub fn sys_epoll_create(k: &mut Kernel, a: &Args) -> Result<u64> {
    if int_arg(a[0]) <= 0 {
        return Err(Errno::EINVAL);
    }
    create(k, 0)
}

/// `epoll_create1(flags)`.
pub fn sys_epoll_create1(k: &mut Kernel, a: &Args) -> Result<u64> {
    create(k, u32::try_from(a[0]).map_err(|_| Errno::EINVAL)?)
}

fn interest(file: &OpenFile) -> Result<&Mutex<Interest>> {
    match &file.object {
        FileObject::Epoll(i) => Ok(i),
        _ => Err(Errno::EINVAL),
    }
}

/// How deep epoll sets may nest below the one waited on (Linux's `EP_MAX_NESTS`).
const EP_MAX_NESTS: usize = 4;

/// How many epoll sets deep `set` (at `depth`) goes; `ELOOP` if it reaches `ep`.
fn nesting(set: &Mutex<Interest>, ep: &Arc<OpenFile>, depth: usize) -> Result<usize> {
    if depth > EP_MAX_NESTS + 1 {
        return Ok(depth);
    }
    let members: alloc::vec::Vec<Arc<OpenFile>> = set
        .lock()
        .by_fd
        .values()
        .filter_map(|r| r.file.upgrade())
        .collect();
    let mut deepest = depth;
    for member in members {
        if Arc::ptr_eq(&member, ep) {
            return Err(Errno::ELOOP);
        }
        if let FileObject::Epoll(inner) = &member.object {
            deepest = deepest.max(nesting(inner, ep, depth + 1)?);
        }
    }
    Ok(deepest)
}

/// `epoll_ctl(epfd, op, fd, event)`.
pub fn sys_epoll_ctl(k: &mut Kernel, a: &Args) -> Result<u64> {
    let ep = k.fds.file(fd_arg(a[0])?)?;
    let fd = fd_arg(a[2])?;
    let target = k.fds.file(fd)?;
    if Arc::ptr_eq(&ep, &target) {
        return Err(Errno::EINVAL);
    }
    let set = interest(&ep)?;
    // Regular files and directories are always ready, and /dev/null and /dev/zero have no
    // poll: Linux refuses them.
    let pollable = match &target.object {
        FileObject::Host(h) => !matches!(
            picobox_abi::Host::stream_attr(crate::kernel::host(), h.0)?.kind,
            FileKind::Regular | FileKind::Directory
        ),
        FileObject::Dev(dev) => *dev == crate::vfs::DevNode::Random,
        FileObject::SyntheticDir
        | FileObject::Memory(..)
        | FileObject::MemoryDir(_)
        | FileObject::PageMap(_)
        | FileObject::Namespace(_) => false,
        FileObject::Epoll(_) | FileObject::Signal(_) => true,
    };
    if !pollable {
        return Err(Errno::EPERM);
    }
    let op = int_arg(a[1]);
    if op == EPOLL_CTL_ADD {
        if let FileObject::Epoll(inner) = &target.object {
            // As Linux: adding an epoll set that reaches back to this one is ELOOP, and sets
            // nest at most 5 deep (EP_MAX_NESTS) counting this one, else EINVAL.
            match nesting(inner, &ep, 1) {
                Err(e) => return Err(e),
                Ok(depth) if depth > EP_MAX_NESTS => return Err(Errno::EINVAL),
                Ok(_) => {}
            }
        }
    }
    let event = if op == EPOLL_CTL_DEL {
        None
    } else {
        let raw = user::read_bytes(a[3], 12)?;
        let events = u32::from_le_bytes(raw[0..4].try_into().map_err(|_| Errno::EFAULT)?);
        let data = u64::from_le_bytes(raw[4..12].try_into().map_err(|_| Errno::EFAULT)?);
        Some((events, data))
    };
    let key = fd as i32;
    let mut set = set.lock();
    set.by_fd.retain(|_, r| r.file.strong_count() > 0);
    match (op, event) {
        (EPOLL_CTL_ADD, Some((events, data))) => {
            if set.by_fd.contains_key(&key) {
                return Err(Errno::EEXIST);
            }
            set.by_fd.insert(
                key,
                Registration {
                    file: Arc::downgrade(&target),
                    events,
                    data,
                    reported: 0,
                    reported_gen: 0,
                },
            );
        }
        (EPOLL_CTL_MOD, Some((events, data))) => {
            let r = set.by_fd.get_mut(&key).ok_or(Errno::ENOENT)?;
            r.events = events;
            r.data = data;
            r.reported = 0;
            r.reported = 0;
        }
        (EPOLL_CTL_DEL, None) => {
            set.by_fd.remove(&key).ok_or(Errno::ENOENT)?;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// The process's wake-up counter for edge-triggered waits, created on first use.
static REARM: &spin::Once<Option<Arc<OpenFile>>> = &crate::state::LIBOS.epoll_rearm;

fn rearm_file() -> Option<&'static Arc<OpenFile>> {
    REARM
        .call_once(|| {
            let h = crate::kernel::host()
                .stream_create(
                    picobox_abi::NewStream::Event {
                        initial: 0,
                        semaphore: false,
                    },
                    true,
                )
                .ok()?;
            Some(OpenFile::new(
                FileObject::Host(crate::fd::HostHandle(h)),
                2,
                Vec::new(),
            ))
        })
        .as_ref()
}

/// Wakes epoll waits so that they look again at files the program has read or written.
pub fn rearm() {
    if let Some(f) = rearm_file() {
        if let Some(h) = f.handle() {
            let one = 1u64.to_le_bytes();
            let _ = crate::kernel::host().stream_write(h, picobox_abi::IoBuf::of(&one), None);
        }
    }
}

fn wait_common(epfd: u64, out: u64, max: u64, timeout: Option<Timespec>) -> Result<u64> {
    let max = usize::try_from(int_arg(max)).map_err(|_| Errno::EINVAL)?;
    if max == 0 || max > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let ep = super::fs::file_of(epfd)?;
    let set = interest(&ep)?;
    loop {
        let (bytes, only_rearmed) = wait_once(set, max, timeout)?;
        // A wake-up for re-arming alone is not an event: an infinite wait goes on.
        if bytes.is_empty() && only_rearmed && timeout.is_none() {
            continue;
        }
        user::write_bytes(out, &bytes)?;
        return Ok((bytes.len() / 12) as u64);
    }
}

/// One wait: the encoded events, and whether only the re-arm counter woke it.
fn wait_once(
    set: &Mutex<Interest>,
    max: usize,
    timeout: Option<Timespec>,
) -> Result<(Vec<u8>, bool)> {
    let regs: Vec<(i32, Registration, Arc<OpenFile>)> = {
        let mut set = set.lock();
        set.by_fd.retain(|_, r| r.file.strong_count() > 0);
        set.by_fd
            .iter()
            .filter(|(_, r)| r.events & 0xffff != 0)
            .filter_map(|(fd, r)| Some((*fd, r.clone(), r.file.upgrade()?)))
            .collect()
    };
    // Edge-triggered registrations do not wait again for what was reported, until the program
    // does I/O on the file.
    let already = |r: &Registration, f: &OpenFile| {
        let fresh = f.io_gen.load(Ordering::Relaxed) != r.reported_gen;
        if r.events & EPOLLET != 0 && !fresh {
            r.reported
        } else {
            0
        }
    };
    // The I/O counts as of now: what happens during the wait counts as after the report.
    let gens: Vec<u64> = regs
        .iter()
        .map(|(_, _, f)| f.io_gen.load(Ordering::Relaxed))
        .collect();
    let mut wants: Vec<Want> = regs
        .iter()
        .map(|(_, r, f)| {
            let left_out = already(r, f);
            if left_out != 0 {
                f.et_parked.store(true, Ordering::Release);
            }
            Want {
                file: Some(f.clone()),
                events: ((r.events & 0xffff) as u16 & !left_out) | POLLERR_HUP,
                revents: 0,
            }
        })
        .collect();
    let rearm = rearm_file().cloned();
    if let Some(f) = &rearm {
        wants.push(Want {
            file: Some(f.clone()),
            events: 1,
            revents: 0,
        });
    }
    wait(&mut wants, timeout)?;
    let mut rearmed = false;
    if let (Some(f), Some(w)) = (&rearm, wants.pop()) {
        if w.revents != 0 {
            rearmed = true;
            if let Some(h) = f.handle() {
                let mut buf = [0u8; 8];
                let _ = crate::kernel::host().stream_read(
                    h,
                    picobox_abi::IoBuf::of_mut(&mut buf),
                    None,
                );
            }
        }
    }
    let mut bytes = Vec::new();
    let mut set = set.lock();
    for (((fd, r, f), w), gen) in regs.iter().zip(&wants).zip(gens) {
        let report = w.revents & !(already(r, f) & !POLLERR_HUP);
        if report == 0 || bytes.len() / 12 >= max {
            continue;
        }
        bytes.extend_from_slice(&u32::from(report).to_le_bytes());
        bytes.extend_from_slice(&r.data.to_le_bytes());
        if let Some(reg) = set.by_fd.get_mut(fd) {
            reg.reported = w.revents;
            reg.reported_gen = gen;
            if r.events & EPOLLONESHOT != 0 {
                reg.events &= !0xffff;
            }
        }
    }
    Ok((bytes, rearmed))
}

fn ms(v: u64) -> Option<Timespec> {
    let ms = int_arg(v);
    (ms >= 0).then(|| Timespec {
        sec: i64::from(ms / 1000),
        nsec: i64::from(ms % 1000) * 1_000_000,
    })
}

/// `epoll_wait(epfd, events, maxevents, timeout_ms)`.
pub fn sys_epoll_wait(a: &Args) -> Result<u64> {
    wait_common(a[0], a[1], a[2], ms(a[3]))
}

/// `epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize)`.
pub fn sys_epoll_pwait(a: &Args) -> Result<u64> {
    if a[4] == 0 {
        return wait_common(a[0], a[1], a[2], ms(a[3]));
    }
    if a[5] != 8 {
        return Err(Errno::EINVAL);
    }
    super::signal::with_temporary_mask(user::read_u64(a[4])?, || {
        wait_common(a[0], a[1], a[2], ms(a[3]))
    })
}

/// `epoll_pwait2(epfd, events, maxevents, timeout, sigmask, sigsetsize)`: as `epoll_pwait`
/// with a `struct timespec` timeout (none: wait without end).
pub fn sys_epoll_pwait2(a: &Args) -> Result<u64> {
    let timeout = if a[3] == 0 {
        None
    } else {
        let sec = user::read_u64(a[3])? as i64;
        let nsec = user::read_u64(a[3] + 8)? as i64;
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Some(Timespec { sec, nsec })
    };
    if a[4] == 0 {
        return wait_common(a[0], a[1], a[2], timeout);
    }
    if a[5] != 8 {
        return Err(Errno::EINVAL);
    }
    super::signal::with_temporary_mask(user::read_u64(a[4])?, || {
        wait_common(a[0], a[1], a[2], timeout)
    })
}
