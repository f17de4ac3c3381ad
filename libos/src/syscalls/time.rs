//! Clocks and sleeping.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use picobox_abi::{Clock, Errno, Result, Timer, TimerSetting, Timespec};

fn clock_arg(v: u64) -> Result<Clock> {
    match int_arg(v) {
        0 | 8 => Ok(Clock::Realtime),
        1 => Ok(Clock::Monotonic),
        2 => Ok(Clock::ProcessCpu),
        3 => Ok(Clock::ThreadCpu),
        4 => Ok(Clock::MonotonicRaw),
        5 => Ok(Clock::RealtimeCoarse),
        6 => Ok(Clock::MonotonicCoarse),
        7 | 9 => Ok(Clock::Boottime),
        11 => Ok(Clock::Tai),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn write_timespec(addr: u64, t: Timespec) -> Result<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&t.sec.to_le_bytes());
    b[8..].copy_from_slice(&t.nsec.to_le_bytes());
    user::write_bytes(addr, &b)
}

pub(super) fn read_timespec(addr: u64) -> Result<Timespec> {
    let sec = user::read_u64(addr)? as i64;
    let nsec = user::read_u64(addr + 8)? as i64;
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Timespec { sec, nsec })
}

/// `clock_gettime(clock, tp)`.
pub fn sys_clock_gettime(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let t = host().time_query(clock_arg(a[0])?)?;
    write_timespec(a[1], t)?;
    Ok(0)
}

/// `clock_getres(clock, res)`.
pub fn sys_clock_getres(_k: &mut Kernel, a: &Args) -> Result<u64> {
    clock_arg(a[0])?;
    if a[1] != 0 {
        write_timespec(a[1], Timespec { sec: 0, nsec: 1 })?;
    }
    Ok(0)
}

/// `gettimeofday(tv, tz)`.
pub fn sys_gettimeofday(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let t = host().time_query(Clock::Realtime)?;
    if a[0] != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&t.sec.to_le_bytes());
        b[8..].copy_from_slice(&(t.nsec / 1000).to_le_bytes());
        user::write_bytes(a[0], &b)?;
    }
    if a[1] != 0 {
        user::write_bytes(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

/// `time(tloc)`.
pub fn sys_time(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let t = host().time_query(Clock::Realtime)?;
    if a[0] != 0 {
        user::write_u64(a[0], t.sec as u64)?;
    }
    Ok(t.sec as u64)
}

/// Nanoseconds of a time.
fn nanos(t: Timespec) -> i128 {
    i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec)
}

fn timespec_of(n: i128) -> Timespec {
    let n = n.max(0);
    Timespec {
        sec: i64::try_from(n / 1_000_000_000).unwrap_or(i64::MAX),
        nsec: (n % 1_000_000_000) as i64,
    }
}

/// The monotonic deadline `t` from now (for waits that go on after a signal the program
/// does not see).
pub(super) fn deadline_after(t: Timespec) -> Result<i128> {
    Ok(nanos(host().time_query(Clock::Monotonic)?) + nanos(t))
}

/// What is left until `deadline` (zero once it passed).
pub(super) fn time_left(deadline: i128) -> Result<Timespec> {
    Ok(timespec_of(
        deadline - nanos(host().time_query(Clock::Monotonic)?),
    ))
}

/// Sleeps `t` on `clock` (until the time `t` if `absolute`), through signals the program does
/// not see; on a signal it does, `EINTR` with what was left of a relative sleep written to
/// `rem` (if not 0), as Linux's nanosleep.
fn sleep(clock: Clock, t: Timespec, absolute: bool, rem: u64) -> Result<u64> {
    let deadline = if absolute {
        t
    } else {
        timespec_of(nanos(host().time_query(clock)?) + nanos(t))
    };
    loop {
        match host().time_sleep(clock, deadline, true) {
            Err(Errno::EINTR) if !super::interrupted()? => continue,
            Err(Errno::EINTR) => {
                if !absolute && rem != 0 {
                    let now = nanos(host().time_query(clock)?);
                    write_timespec(rem, timespec_of(nanos(deadline) - now))?;
                }
                return Err(Errno::EINTR);
            }
            r => return r.map(|()| 0),
        }
    }
}

/// `nanosleep(req, rem)`.
pub fn sys_nanosleep(a: &Args) -> Result<u64> {
    let t = read_timespec(a[0])?;
    sleep(Clock::Monotonic, t, false, a[1])
}

/// `clock_nanosleep(clock, flags, req, rem)`.
pub fn sys_clock_nanosleep(a: &Args) -> Result<u64> {
    const TIMER_ABSTIME: u64 = 1;
    let clock = clock_arg(a[0])?;
    // No timer runs on these: Linux has no sleep for them (glibc's wrapper says EINVAL for
    // the thread's CPU clock; the call itself says EOPNOTSUPP).
    if matches!(
        clock,
        Clock::ThreadCpu | Clock::MonotonicRaw | Clock::RealtimeCoarse | Clock::MonotonicCoarse
    ) {
        return Err(Errno::EOPNOTSUPP);
    }
    let t = read_timespec(a[2])?;
    sleep(clock, t, a[1] & TIMER_ABSTIME != 0, a[3])
}

fn read_timeval(addr: u64) -> Result<Timespec> {
    let sec = user::read_u64(addr)? as i64;
    let usec = user::read_u64(addr + 8)? as i64;
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Timespec {
        sec,
        nsec: usec * 1000,
    })
}

fn write_timeval(addr: u64, t: Timespec) -> Result<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&t.sec.to_le_bytes());
    b[8..].copy_from_slice(&(t.nsec / 1000).to_le_bytes());
    user::write_bytes(addr, &b)
}

/// Arms the alarm timer (`ITIMER_REAL`); returns the previous (value, interval).
fn alarm_set(value: Timespec, interval: Timespec) -> Result<(Timespec, Timespec)> {
    let new = TimerSetting {
        value,
        interval,
        ..TimerSetting::default()
    };
    let old = host().timer_set(Timer::Alarm, Some(new))?;
    Ok((old.value, old.interval))
}

/// `alarm(seconds)`: `SIGALRM` after `seconds`; returns the seconds left of the previous one.
pub fn sys_alarm(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let secs = i64::from(a[0] as u32);
    let (old, _) = alarm_set(Timespec { sec: secs, nsec: 0 }, Timespec::default())?;
    Ok((old.sec + i64::from(old.nsec > 0)) as u64)
}

/// The interval timer `which` names: `ITIMER_REAL`, `ITIMER_VIRTUAL` or `ITIMER_PROF`.
fn interval_timer(which: u64) -> Result<Timer> {
    match int_arg(which) {
        0 => Ok(Timer::Alarm),
        1 => Ok(Timer::Virtual),
        2 => Ok(Timer::Profile),
        _ => Err(Errno::EINVAL),
    }
}

/// `setitimer(which, new, old)`.
pub fn sys_setitimer(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let timer = interval_timer(a[0])?;
    let (interval, value) = if a[1] == 0 {
        (Timespec::default(), Timespec::default())
    } else {
        (read_timeval(a[1])?, read_timeval(a[1] + 16)?)
    };
    // As Linux: the timer is set, then the old value copied out (EFAULT after the change).
    let new = TimerSetting {
        value,
        interval,
        ..TimerSetting::default()
    };
    let old = host().timer_set(timer, Some(new))?;
    if a[2] != 0 {
        write_timeval(a[2], old.interval)?;
        write_timeval(a[2] + 16, old.value)?;
    }
    Ok(0)
}

/// `getitimer(which, curr)`.
pub fn sys_getitimer(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let now = host().timer_set(interval_timer(a[0])?, None)?;
    write_timeval(a[1], now.interval)?;
    write_timeval(a[1] + 16, now.value)?;
    Ok(0)
}
