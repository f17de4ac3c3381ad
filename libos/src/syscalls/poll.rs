//! Waiting for descriptors: poll, ppoll, select, pselect6. Host streams are waited on by the
//! host in one call, with the doorbells of signal files; the library OS's other objects
//! (devices, synthetic directories) are always ready.

use super::{fd_arg, int_arg, Args};
use crate::fd::{FileObject, OpenFile};
use crate::kernel::{host, with};
use crate::user;
use alloc::sync::Arc;
use alloc::vec::Vec;
use picobox_abi::{Errno, PollEntry, Result, Timespec};

const POLLIN: u16 = 0x1;
const POLLOUT: u16 = 0x4;
const POLLERR: u16 = 0x8;
const POLLHUP: u16 = 0x10;
const POLLNVAL: u16 = 0x20;

/// One open file to wait for (`None`: a descriptor that is not open).
pub(super) struct Want {
    pub file: Option<Arc<OpenFile>>,
    pub events: u16,
    pub revents: u16,
}

/// Waits until one of `wants` is ready or `timeout` passes; fills `revents`, returns how many
/// are ready. Host streams are waited on by the host; a signal file by its doorbell, which
/// only hints (the signal may have been taken meanwhile: then the wait goes on).
pub(super) fn wait(wants: &mut [Want], timeout: Option<Timespec>) -> Result<usize> {
    // A signal the program does not see interrupts the host's wait too: wait again for what
    // is left of the time (`super::interrupted`).
    let deadline = timeout.map(super::time::deadline_after).transpose()?;
    loop {
        let mut host_entries = Vec::new();
        let mut host_index = Vec::new();
        let mut ready_now = false;
        for (i, w) in wants.iter_mut().enumerate() {
            w.revents = 0;
            let Some(file) = &w.file else {
                w.revents = POLLNVAL;
                ready_now = true;
                continue;
            };
            let handle = match &file.object {
                FileObject::Host(h) => h.0,
                FileObject::Signal(s) if !s.ready() => {
                    s.quiet();
                    if s.ready() {
                        w.revents = w.events & POLLIN;
                        ready_now |= w.revents != 0;
                        continue;
                    }
                    s.doorbell()
                }
                FileObject::Signal(_) => {
                    w.revents = w.events & POLLIN;
                    ready_now |= w.revents != 0;
                    continue;
                }
                _ => {
                    w.revents = w.events & (POLLIN | POLLOUT);
                    ready_now |= w.revents != 0;
                    continue;
                }
            };
            host_entries.push(PollEntry {
                handle,
                events: w.events,
                revents: 0,
            });
            host_index.push(i);
        }
        let left = if ready_now {
            Some(Timespec::default())
        } else {
            deadline.map(super::time::time_left).transpose()?
        };
        let r = if !host_entries.is_empty() {
            host().streams_wait(&mut host_entries, left).map(|_| ())
        } else if ready_now {
            Ok(())
        } else {
            // Nothing to wait for but time (poll(NULL, 0, ms) is a sleep).
            match left {
                Some(t) => host().time_sleep(picobox_abi::Clock::Monotonic, t, false),
                None => {
                    let seen = host().signals_seen();
                    host().signals_wait(seen, None);
                    Err(Errno::EINTR)
                }
            }
        };
        match r {
            Err(Errno::EINTR) if !super::interrupted()? => continue,
            r => r?,
        }
        let mut rang = false;
        for (entry, i) in host_entries.iter().zip(host_index) {
            let w = &mut wants[i];
            match w.file.as_ref().map(|f| &f.object) {
                Some(FileObject::Signal(s)) => {
                    rang |= entry.revents != 0;
                    if entry.revents != 0 && s.ready() {
                        w.revents = w.events & POLLIN;
                    }
                }
                _ => w.revents = entry.revents,
            }
        }
        let ready = wants.iter().filter(|w| w.revents != 0).count();
        let time_is_up = left.is_some_and(|t| t == Timespec::default());
        if ready == 0 && rang && !time_is_up {
            continue;
        }
        return Ok(ready);
    }
}

fn ms_timeout(ms: i32) -> Option<Timespec> {
    (ms >= 0).then(|| Timespec {
        sec: i64::from(ms / 1000),
        nsec: i64::from(ms % 1000) * 1_000_000,
    })
}

fn read_timespec(addr: u64) -> Result<Option<Timespec>> {
    if addr == 0 {
        return Ok(None);
    }
    let sec = user::read_u64(addr)? as i64;
    let nsec = user::read_u64(addr + 8)? as i64;
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Timespec { sec, nsec }))
}

fn poll_common(addr: u64, nfds: u64, timeout: Option<Timespec>) -> Result<u64> {
    let n = usize::try_from(nfds).map_err(|_| Errno::EINVAL)?;
    if n > with(|k| k.fds.limit)? {
        return Err(Errno::EINVAL);
    }
    let raw = user::read_bytes(addr, n * 8)?;
    let fds: Vec<i32> = raw
        .chunks_exact(8)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // Negative descriptors are skipped (their revents stay 0).
    let mut wants: Vec<Want> = Vec::new();
    let mut slots = Vec::new();
    for (i, c) in raw.chunks_exact(8).enumerate() {
        if fds[i] < 0 {
            continue;
        }
        wants.push(Want {
            file: with(|k| k.fds.file(fds[i] as u64).ok())?,
            events: u16::from_le_bytes([c[4], c[5]]) | POLLERR | POLLHUP,
            revents: 0,
        });
        slots.push(i);
    }
    let ready = wait(&mut wants, timeout)?;
    let mut out = raw;
    for (c, _) in out.chunks_exact_mut(8).zip(&fds) {
        c[6..8].copy_from_slice(&0u16.to_le_bytes());
    }
    for (w, i) in wants.iter().zip(slots) {
        out[i * 8 + 6..i * 8 + 8].copy_from_slice(&w.revents.to_le_bytes());
    }
    user::write_bytes(addr, &out)?;
    Ok(ready as u64)
}

/// `poll(fds, nfds, timeout_ms)`.
pub fn sys_poll(a: &Args) -> Result<u64> {
    poll_common(a[0], a[1], ms_timeout(int_arg(a[2])))
}

/// `ppoll(fds, nfds, timeout, sigmask, sigsetsize)`: the mask applies while waiting.
pub fn sys_ppoll(a: &Args) -> Result<u64> {
    let timeout = read_timespec(a[2])?;
    with_mask(a[3], a[4], || poll_common(a[0], a[1], timeout))
}

/// Runs `f` with the signal mask at `mask_addr` (if any), then restores the old mask.
fn with_mask(mask_addr: u64, size: u64, f: impl FnOnce() -> Result<u64>) -> Result<u64> {
    if mask_addr == 0 {
        return f();
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    super::signal::with_temporary_mask(user::read_u64(mask_addr)?, f)
}

fn select_common(nfds: u64, sets: [u64; 3], timeout: Option<Timespec>) -> Result<u64> {
    let n = usize::try_from(int_arg(nfds)).map_err(|_| Errno::EINVAL)?;
    if n > with(|k| k.fds.limit)? {
        return Err(Errno::EINVAL);
    }
    let words = n.div_ceil(64);
    let mut bits: [Vec<u64>; 3] = Default::default();
    for (set, addr) in bits.iter_mut().zip(sets) {
        *set = if addr == 0 {
            alloc::vec![0; words]
        } else {
            user::read_bytes(addr, words * 8)?
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect()
        };
    }
    let is_set = |set: &Vec<u64>, fd: usize| set[fd / 64] & (1 << (fd % 64)) != 0;
    let mut wants = Vec::new();
    let mut fds = Vec::new();
    for fd in 0..n {
        let mut events = 0;
        if is_set(&bits[0], fd) {
            events |= POLLIN;
        }
        if is_set(&bits[1], fd) {
            events |= POLLOUT;
        }
        if is_set(&bits[2], fd) {
            events |= 0x2; // POLLPRI
        }
        if events != 0 {
            let file = with(|k| k.fds.file(fd_arg(fd as u64)?))??;
            wants.push(Want {
                file: Some(file),
                events,
                revents: 0,
            });
            fds.push(fd);
        }
    }
    wait(&mut wants, timeout)?;
    let mut out: [Vec<u64>; 3] = [
        alloc::vec![0; words],
        alloc::vec![0; words],
        alloc::vec![0; words],
    ];
    let mut count = 0;
    for (w, fd) in wants.iter().zip(fds) {
        let hits = [
            w.revents & (POLLIN | POLLHUP | POLLERR) != 0 && w.events & POLLIN != 0,
            w.revents & (POLLOUT | POLLERR) != 0 && w.events & POLLOUT != 0,
            w.revents & 0x2 != 0,
        ];
        for (set, hit) in out.iter_mut().zip(hits) {
            if hit {
                set[fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
        }
    }
    for (set, addr) in out.iter().zip(sets) {
        if addr != 0 {
            let bytes: Vec<u8> = set.iter().flat_map(|w| w.to_le_bytes()).collect();
            user::write_bytes(addr, &bytes)?;
        }
    }
    Ok(count)
}

/// `select(nfds, readfds, writefds, exceptfds, timeout)`.
pub fn sys_select(a: &Args) -> Result<u64> {
    let timeout = if a[4] == 0 {
        None
    } else {
        let sec = user::read_u64(a[4])? as i64;
        let usec = user::read_u64(a[4] + 8)? as i64;
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Some(Timespec {
            sec,
            nsec: usec * 1000,
        })
    };
    select_common(a[0], [a[1], a[2], a[3]], timeout)
}

/// `pselect6(nfds, readfds, writefds, exceptfds, timeout, {sigmask, size})`.
pub fn sys_pselect6(a: &Args) -> Result<u64> {
    let timeout = read_timespec(a[4])?;
    let (mask_addr, size) = if a[5] == 0 {
        (0, 8)
    } else {
        (user::read_u64(a[5])?, user::read_u64(a[5] + 8)?)
    };
    with_mask(mask_addr, size, || {
        select_common(a[0], [a[1], a[2], a[3]], timeout)
    })
}
