//! POSIX per-process timers (`timer_create` and friends): kernel timers of the host, made and
//! read through the ABI. The ids are the host's; the library OS remembers which exist so that
//! `execve` can delete them (a forked child starts with none, as the host's timers are not
//! inherited).
//!
//! Timer files (`timerfd_create` and friends) are the host's timer streams: reads, `poll` and
//! epoll treat them as any host stream, and a forked child shares them, as on Linux.

use super::time::{read_timespec, write_timespec};
use super::{int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use picobox_abi::{Clock, Errno, OpenFlags, Result, Timer, TimerNotify, TimerSetting, Timespec};

const SIGEV_SIGNAL: u32 = 0;
const SIGEV_NONE: u32 = 1;
const SIGEV_THREAD_ID: u32 = 4;
const TIMER_ABSTIME: u64 = 1;
/// Most timers one process may have (Linux's default `RLIMIT_SIGPENDING` is far above; this
/// keeps a box from filling the host's memory with them).
const MAX_TIMERS: usize = 4096;

fn timer_clock(v: u64) -> Result<Clock> {
    match int_arg(v) {
        0 => Ok(Clock::Realtime),
        1 => Ok(Clock::Monotonic),
        7 => Ok(Clock::Boottime),
        2 => Ok(Clock::ProcessCpu),
        3 => Ok(Clock::ThreadCpu),
        8 | 9 => Err(Errno::EPERM), // the *_ALARM clocks need CAP_WAKE_ALARM
        _ => Err(Errno::EINVAL),
    }
}

/// Reads a `struct sigevent`.
fn read_sigevent(addr: u64) -> Result<TimerNotify> {
    let raw = user::read_bytes(addr, 20)?;
    let word = |i: usize| u32::from_le_bytes(raw[i..i + 4].try_into().unwrap_or([0; 4]));
    let value = u64::from_le_bytes(raw[0..8].try_into().unwrap_or([0; 8]));
    let signal = || match u8::try_from(word(8)) {
        Ok(s) if (1..=64).contains(&s) => Ok(s),
        _ => Err(Errno::EINVAL),
    };
    match word(12) {
        SIGEV_NONE => Ok(TimerNotify::None),
        SIGEV_SIGNAL => Ok(TimerNotify::Signal {
            signal: signal()?,
            value: Some(value),
            thread: None,
        }),
        n if n == SIGEV_SIGNAL | SIGEV_THREAD_ID => Ok(TimerNotify::Signal {
            signal: signal()?,
            value: Some(value),
            thread: Some(word(16)),
        }),
        // SIGEV_THREAD is the C library's business: Linux refuses it too.
        _ => Err(Errno::EINVAL),
    }
}

fn timer_id(k: &Kernel, v: u64) -> Result<u32> {
    u32::try_from(int_arg(v))
        .ok()
        .filter(|id| k.timers.contains_key(id))
        .ok_or(Errno::EINVAL)
}

/// Writes a `struct itimerspec` (interval, then value).
fn write_itimerspec(addr: u64, value: Timespec, interval: Timespec) -> Result<()> {
    write_timespec(addr, interval)?;
    write_timespec(addr + 16, value)
}

/// `timer_create(clock, sevp, timerid)`.
pub fn sys_timer_create(k: &mut Kernel, a: &Args) -> Result<u64> {
    let clock = timer_clock(a[0])?;
    let notify = if a[1] == 0 {
        TimerNotify::Signal {
            signal: super::signal::SIGALRM,
            value: None,
            thread: None,
        }
    } else {
        read_sigevent(a[1])?
    };
    // Check the destination before the timer exists, so a bad pointer leaks nothing.
    user::write_u32(a[2], 0)?;
    if k.timers.len() >= MAX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    let id = host().timer_create(clock, notify)?;
    k.timers.insert(id, (clock, notify));
    user::write_u32(a[2], id)?;
    Ok(0)
}

/// Arms `timer` with the `struct itimerspec` at `new`; writes what was set before to `old`
/// (if not 0) after the change, as Linux does.
fn arm(timer: Timer, absolute: bool, cancel_on_set: bool, new: u64, old: u64) -> Result<u64> {
    let setting = TimerSetting {
        interval: read_timespec(new)?,
        value: read_timespec(new + 16)?,
        absolute,
        cancel_on_set,
        overruns: 0,
    };
    let before = host().timer_set(timer, Some(setting))?;
    if old != 0 {
        write_itimerspec(old, before.value, before.interval)?;
    }
    Ok(0)
}

/// Writes `timer`'s state (time left, interval) to the `struct itimerspec` at `addr`.
fn report(timer: Timer, addr: u64) -> Result<u64> {
    let now = host().timer_set(timer, None)?;
    write_itimerspec(addr, now.value, now.interval)?;
    Ok(0)
}

/// `timer_settime(timerid, flags, new, old)`.
pub fn sys_timer_settime(k: &mut Kernel, a: &Args) -> Result<u64> {
    let id = timer_id(k, a[0])?;
    if a[1] & !TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    arm(
        Timer::Posix(id),
        a[1] & TIMER_ABSTIME != 0,
        false,
        a[2],
        a[3],
    )
}

/// `timer_gettime(timerid, curr)`.
pub fn sys_timer_gettime(k: &mut Kernel, a: &Args) -> Result<u64> {
    report(Timer::Posix(timer_id(k, a[0])?), a[1])
}

/// `timer_getoverrun(timerid)`.
pub fn sys_timer_getoverrun(k: &mut Kernel, a: &Args) -> Result<u64> {
    let id = timer_id(k, a[0])?;
    Ok(u64::from(
        host().timer_set(Timer::Posix(id), None)?.overruns,
    ))
}

/// `timer_delete(timerid)`.
pub fn sys_timer_delete(k: &mut Kernel, a: &Args) -> Result<u64> {
    let id = timer_id(k, a[0])?;
    host().timer_delete(id)?;
    k.timers.remove(&id);
    Ok(0)
}

/// Deletes every timer of the process (`execve`).
pub fn delete_all(k: &mut Kernel) {
    for id in core::mem::take(&mut k.timers).into_keys() {
        let _ = host().timer_delete(id);
    }
}

/// What `/proc/PID/fd` shows for a timer file.
const TIMERFD: &str = "[timerfd]";
const TFD_TIMER_ABSTIME: u64 = 1;
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;

/// `timerfd_create(clock, flags)`: `TFD_NONBLOCK`, `TFD_CLOEXEC`.
pub fn sys_timerfd_create(k: &mut Kernel, a: &Args) -> Result<u64> {
    let clock = match timer_clock(a[0])? {
        c @ (Clock::Realtime | Clock::Monotonic | Clock::Boottime) => c,
        _ => return Err(Errno::EINVAL),
    };
    let flags = u32::try_from(int_arg(a[1])).map_err(|_| Errno::EINVAL)?;
    if flags & !(OpenFlags::CLOEXEC | OpenFlags::NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let h = host().stream_create(
        picobox_abi::NewStream::Timer(clock),
        flags & OpenFlags::NONBLOCK != 0,
    )?;
    let file = OpenFile::anonymous(
        FileObject::Host(HostHandle(h)),
        OpenFlags::READ_WRITE.0 | (flags & OpenFlags::NONBLOCK),
        TIMERFD,
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & OpenFlags::CLOEXEC != 0,
    })
}

/// The host stream of timer file `fd`. Errors: `EBADF`, `EINVAL` (another kind of file).
fn timer_file(k: &Kernel, fd: u64) -> Result<picobox_abi::Handle> {
    k.fds.anonymous_stream(super::fd_arg(fd)?, TIMERFD)
}

/// `timerfd_settime(fd, flags, new, old)`: `TFD_TIMER_ABSTIME`, `TFD_TIMER_CANCEL_ON_SET`.
pub fn sys_timerfd_settime(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = u64::from(int_arg(a[1]) as u32);
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let h = timer_file(k, a[0])?;
    arm(
        Timer::Stream(h),
        flags & TFD_TIMER_ABSTIME != 0,
        flags & TFD_TIMER_CANCEL_ON_SET != 0,
        a[2],
        a[3],
    )
}

/// `timerfd_gettime(fd, curr)`.
pub fn sys_timerfd_gettime(k: &mut Kernel, a: &Args) -> Result<u64> {
    report(Timer::Stream(timer_file(k, a[0])?), a[1])
}
