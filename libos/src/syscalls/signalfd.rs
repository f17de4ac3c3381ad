//! Signal files (`signalfd`, `signalfd4`): reading one takes the process's pending signals of
//! its mask, as `struct signalfd_siginfo` records.
//!
//! Signals are the library OS's (see `signal.rs`), so a signal file is too. To be waited on with
//! host streams (`poll`, `select`, epoll) without a race, each has a doorbell: a host event
//! counter that [`ring`] bumps whenever a signal of its mask becomes pending (from a host signal
//! handler too: a write to an eventfd is safe there). Waits treat the doorbell as a hint and ask
//! [`SignalFile::ready`] for the truth, since another thread may have taken the signal since.

use super::signal::{self, NSIG};
use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use picobox_abi::{Errno, IoBuf, OpenFlags, Result};

/// What `/proc/PID/fd` shows for a signal file.
pub const SIGNALFD: &str = "[signalfd]";
/// Signal files one process may have open at once (each takes a doorbell slot).
const MAX_SIGNAL_FILES: usize = 64;
/// `sizeof(struct signalfd_siginfo)`.
const RECORD: usize = 128;
const SFD_NONBLOCK: u32 = OpenFlags::NONBLOCK;
const SFD_CLOEXEC: u32 = OpenFlags::CLOEXEC;

// The doorbells, readable from a signal handler without the library OS's lock: each slot's
// mask (0: free) and its host event counter's handle plus one.
static SLOT_MASK: &[AtomicU64; MAX_SIGNAL_FILES] = &crate::state::LIBOS.signal_files.mask;
static SLOT_BELL: &[AtomicU32; MAX_SIGNAL_FILES] = &crate::state::LIBOS.signal_files.bell;

/// The signal files' doorbells. Part of [`crate::state::LibOs`].
pub struct Doorbells {
    mask: [AtomicU64; MAX_SIGNAL_FILES],
    bell: [AtomicU32; MAX_SIGNAL_FILES],
}

impl Doorbells {
    /// None in use.
    pub(crate) const fn new() -> Doorbells {
        Doorbells {
            mask: [const { AtomicU64::new(0) }; MAX_SIGNAL_FILES],
            bell: [const { AtomicU32::new(0) }; MAX_SIGNAL_FILES],
        }
    }
}

/// Rings the doorbell of every signal file whose mask holds `sig`, which just became pending.
pub fn ring(sig: u8) {
    let bit = 1u64 << (sig - 1);
    for (mask, bell) in SLOT_MASK.iter().zip(SLOT_BELL) {
        if mask.load(Ordering::Acquire) & bit == 0 {
            continue;
        }
        let handle = bell.load(Ordering::Acquire);
        if handle != 0 {
            let one = 1u64.to_ne_bytes();
            let _ = host().stream_write(picobox_abi::Handle(handle - 1), IoBuf::of(&one), None);
        }
    }
}

/// One signal file: its mask and doorbell.
#[derive(Debug)]
pub struct SignalFile {
    slot: usize,
    doorbell: HostHandle,
}

impl SignalFile {
    /// The signals it reports.
    pub fn mask(&self) -> u64 {
        SLOT_MASK[self.slot].load(Ordering::Acquire)
    }

    fn set_mask(&self, mask: u64) {
        SLOT_MASK[self.slot].store(mask, Ordering::Release);
    }

    /// Whether a signal of its mask is pending (a read would not wait).
    pub fn ready(&self) -> bool {
        signal::pending() & self.mask() != 0
    }

    /// The doorbell's host stream, to wait on with other streams.
    pub fn doorbell(&self) -> picobox_abi::Handle {
        self.doorbell.0
    }

    /// Empties the doorbell before a wait, so that only a signal from now on rings it.
    pub fn quiet(&self) {
        let mut count = [0u8; 8];
        let _ = host().stream_read(self.doorbell.0, IoBuf::of_mut(&mut count), None);
    }
}

impl Drop for SignalFile {
    fn drop(&mut self) {
        SLOT_BELL[self.slot].store(0, Ordering::Release);
        SLOT_MASK[self.slot].store(0, Ordering::Release);
    }
}

/// The mask argument: a `sigset_t` of `size` bytes (8), without SIGKILL and SIGSTOP, which
/// Linux leaves out silently.
fn read_mask(addr: u64, size: u64) -> Result<u64> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let unblockable = (1u64 << (signal::SIGKILL - 1)) | (1u64 << (signal::SIGSTOP - 1));
    Ok(user::read_u64(addr)? & !unblockable)
}

fn signalfd(k: &mut Kernel, fd: u64, mask_addr: u64, size: u64, flags: u64) -> Result<u64> {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    if flags & !(SFD_NONBLOCK | SFD_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask = read_mask(mask_addr, size)?;
    if int_arg(fd) != -1 {
        // A new mask for an existing signal file.
        let file = k.fds.file(fd_arg(fd)?)?;
        return match &file.object {
            FileObject::Signal(s) => {
                s.set_mask(mask);
                Ok(fd)
            }
            _ => Err(Errno::EINVAL),
        };
    }
    let slot = SLOT_BELL
        .iter()
        .position(|b| b.load(Ordering::Acquire) == 0)
        .ok_or(Errno::EMFILE)?;
    let bell = host().stream_create(
        picobox_abi::NewStream::Event {
            initial: 0,
            semaphore: false,
        },
        true,
    )?;
    SLOT_MASK[slot].store(mask, Ordering::Release);
    SLOT_BELL[slot].store(bell.0 + 1, Ordering::Release);
    let object = FileObject::Signal(SignalFile {
        slot,
        doorbell: HostHandle(bell),
    });
    let file = OpenFile::anonymous(
        object,
        OpenFlags::READ_WRITE.0 | (flags & SFD_NONBLOCK),
        SIGNALFD,
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & SFD_CLOEXEC != 0,
    })
}

/// `signalfd(fd, mask, sizemask)`.
pub fn sys_signalfd(k: &mut Kernel, a: &Args) -> Result<u64> {
    signalfd(k, a[0], a[1], a[2], 0)
}

/// `signalfd4(fd, mask, sizemask, flags)`: `SFD_NONBLOCK`, `SFD_CLOEXEC`.
pub fn sys_signalfd4(k: &mut Kernel, a: &Args) -> Result<u64> {
    signalfd(k, a[0], a[1], a[2], a[3])
}

/// A `struct signalfd_siginfo` from a `siginfo_t`, with the fields Linux fills for the
/// signal's kind of `siginfo` (its "layout": sent by kill, by sigqueue or tgkill, a timer, a
/// child's change, a fault, an I/O event).
fn record_of(sig: u8, info: &[u8; 128]) -> [u8; RECORD] {
    const SI_USER: i32 = 0;
    const SI_KERNEL: i32 = 0x80;
    const SI_TIMER: i32 = -2;
    const SI_SIGIO: i32 = -5;
    const SIGTRAP: u8 = 5;
    const SIGCHLD: u8 = 17;
    const SIGIO: u8 = 29;
    let word = |at: usize| u32::from_le_bytes(info[at..at + 4].try_into().unwrap_or([0; 4]));
    let quad = |at: usize| u64::from_le_bytes(info[at..at + 8].try_into().unwrap_or([0; 8]));
    let code = word(8) as i32;
    let mut r = [0u8; RECORD];
    fn put32(r: &mut [u8; RECORD], at: usize, v: u32) {
        r[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put64(r: &mut [u8; RECORD], at: usize, v: u64) {
        r[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    put32(&mut r, 0, u32::from(sig)); // ssi_signo
    put32(&mut r, 4, word(4)); // ssi_errno
    put32(&mut r, 8, word(8)); // ssi_code
    enum Layout {
        Kill,
        Rt,
        Timer,
        Child,
        Fault,
        Poll,
    }
    let layout = if code > SI_USER && code < SI_KERNEL {
        match sig {
            signal::SIGILL | signal::SIGFPE | signal::SIGSEGV | signal::SIGBUS | SIGTRAP => {
                Layout::Fault
            }
            SIGCHLD => Layout::Child,
            SIGIO => Layout::Poll,
            _ => Layout::Kill,
        }
    } else if code == SI_TIMER {
        Layout::Timer
    } else if code == SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    };
    match layout {
        Layout::Kill | Layout::Rt | Layout::Child => {
            put32(&mut r, 12, word(16)); // ssi_pid
            put32(&mut r, 16, word(20)); // ssi_uid
        }
        _ => {}
    }
    match layout {
        Layout::Rt => {
            put32(&mut r, 44, word(24)); // ssi_int
            put64(&mut r, 48, quad(24)); // ssi_ptr
        }
        Layout::Timer => {
            put32(&mut r, 24, word(16)); // ssi_tid
            put32(&mut r, 32, word(20)); // ssi_overrun
            put32(&mut r, 44, word(24));
            put64(&mut r, 48, quad(24));
        }
        Layout::Child => {
            put32(&mut r, 40, word(24)); // ssi_status
            put64(&mut r, 56, quad(32)); // ssi_utime
            put64(&mut r, 64, quad(40)); // ssi_stime
        }
        Layout::Fault => put64(&mut r, 72, quad(16)), // ssi_addr
        Layout::Poll => {
            put32(&mut r, 28, word(16)); // ssi_band
            put32(&mut r, 20, word(24)); // ssi_fd
        }
        Layout::Kill => {}
    }
    r
}

/// `read` of a signal file: as many pending signals of its mask as fit, waiting for one
/// unless the file is non-blocking. Errors: `EINVAL` (room for less than one record),
/// `EAGAIN`, `EINTR` (a signal with a handler arrived).
pub fn read(file: &OpenFile, s: &SignalFile, addr: u64, len: usize) -> Result<usize> {
    if len < RECORD {
        return Err(Errno::EINVAL);
    }
    let room = len / RECORD;
    loop {
        let seen = host().signals_seen();
        let mut records = alloc::vec::Vec::new();
        while records.len() < room * RECORD {
            let Some((sig, info)) = signal::take_pending_of(s.mask()) else {
                break;
            };
            records.extend_from_slice(&record_of(sig, &info));
        }
        if !records.is_empty() {
            user::write_bytes(addr, &records)?;
            return Ok(records.len());
        }
        if file.status().0 & OpenFlags::NONBLOCK != 0 {
            return Err(Errno::EAGAIN);
        }
        if super::interrupted()? {
            return Err(Errno::EINTR);
        }
        host().signals_wait(seen, None);
    }
}

/// Signal numbers are 1 to 64.
const _: () = assert!(NSIG == 64);
