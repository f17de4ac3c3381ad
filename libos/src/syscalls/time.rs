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

/// `settimeofday(tv, tz)`: the arguments are checked as Linux does, then the box, which may
/// never set the host's clock, is refused (`EPERM`, as without `CAP_SYS_TIME`).
pub fn sys_settimeofday(_k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[0] != 0 {
        read_timeval(a[0])?;
    }
    if a[1] != 0 {
        // struct timezone { int tz_minuteswest; int tz_dsttime; }
        let west = user::read_u32(a[1])? as i32;
        user::read_u32(a[1] + 4)?;
        if !(-15 * 60..=15 * 60).contains(&west) {
            return Err(Errno::EINVAL);
        }
    }
    Err(Errno::EPERM)
}

/// `adjtimex(buf)`: reading the clock's discipline (`modes` 0) answers for a clock no NTP
/// daemon in the box disciplines; any change is refused (`EPERM`) after Linux's checks.
pub fn sys_adjtimex(_k: &mut Kernel, a: &Args) -> Result<u64> {
    adjust_time(Clock::Realtime, a[0])
}

/// `clock_adjtime(clock, buf)`: as `adjtimex`, for `CLOCK_REALTIME` only.
pub fn sys_clock_adjtime(_k: &mut Kernel, a: &Args) -> Result<u64> {
    match clock_arg(a[0])? {
        Clock::Realtime => adjust_time(Clock::Realtime, a[1]),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

fn adjust_time(clock: Clock, buf: u64) -> Result<u64> {
    const ADJ_OFFSET_SINGLESHOT: u32 = 0x0001;
    const ADJ_OFFSET_READONLY: u32 = 0x2000;
    const ADJ_ADJTIME: u32 = 0x8000;
    const STA_UNSYNC: u64 = 0x0040;
    const TIME_ERROR: u64 = 5;
    // struct timex: 208 bytes; modes first.
    let mut timex = [0u8; 208];
    user::read_into(buf, &mut timex)?;
    let modes = u32::from_le_bytes([timex[0], timex[1], timex[2], timex[3]]);
    if modes & ADJ_ADJTIME != 0 {
        if modes & ADJ_OFFSET_SINGLESHOT == 0 {
            return Err(Errno::EINVAL);
        }
        if modes & ADJ_OFFSET_READONLY == 0 {
            return Err(Errno::EPERM);
        }
    } else if modes != 0 {
        return Err(Errno::EPERM);
    }
    let now = host().time_query(clock)?;
    let mut put = |at: usize, v: u64| timex[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put(8, 0); // offset
    put(16, 0); // freq
    put(24, 16_000_000); // maxerror, as for a clock never synchronised
    put(32, 16_000_000); // esterror
    put(40, STA_UNSYNC); // status (and the padding after it)
    put(48, 2); // constant
    put(56, 1); // precision
    put(64, 32_768_000); // tolerance
    put(72, now.sec as u64);
    put(80, (now.nsec / 1000) as u64);
    put(88, 10_000); // tick
    for at in (96..208).step_by(8) {
        put(at, 0);
    }
    user::write_bytes(buf, &timex)?;
    Ok(TIME_ERROR)
}

/// `clock_settime(clock, tp)` (also what glibc's `settimeofday` and `stime` make): checked as
/// Linux does (only `CLOCK_REALTIME` can be set), then refused (`EPERM`).
pub fn sys_clock_settime(_k: &mut Kernel, a: &Args) -> Result<u64> {
    if clock_arg(a[0])? != Clock::Realtime || int_arg(a[0]) != 0 {
        return Err(Errno::EINVAL);
    }
    let sec = user::read_u64(a[1])? as i64;
    let nsec = user::read_u64(a[1] + 8)? as i64;
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Err(Errno::EPERM)
}
