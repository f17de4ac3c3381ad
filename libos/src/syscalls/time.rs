//! Clocks and sleeping.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use picobox_abi::{Clock, Errno, Result, Timespec};

fn clock_arg(v: u64) -> Result<Clock> {
    match int_arg(v) {
        0 | 5 | 8 => Ok(Clock::Realtime),
        1 | 4 | 6 | 7 | 9 => Ok(Clock::Monotonic),
        2 => Ok(Clock::ProcessCpu),
        3 => Ok(Clock::ThreadCpu),
        _ => Err(Errno::EINVAL),
    }
}

fn write_timespec(addr: u64, t: Timespec) -> Result<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&t.sec.to_le_bytes());
    b[8..].copy_from_slice(&t.nsec.to_le_bytes());
    user::write_bytes(addr, &b)
}

fn read_timespec(addr: u64) -> Result<Timespec> {
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

/// `nanosleep(req, rem)`.
pub fn sys_nanosleep(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let t = read_timespec(a[0])?;
    host().time_sleep(Clock::Monotonic, t, false)?;
    Ok(0)
}

/// `clock_nanosleep(clock, flags, req, rem)`.
pub fn sys_clock_nanosleep(_k: &mut Kernel, a: &Args) -> Result<u64> {
    const TIMER_ABSTIME: u64 = 1;
    let clock = clock_arg(a[0])?;
    if matches!(clock, Clock::ThreadCpu) {
        return Err(Errno::EINVAL);
    }
    let t = read_timespec(a[2])?;
    host().time_sleep(clock, t, a[1] & TIMER_ABSTIME != 0)?;
    Ok(0)
}
