//! Scheduling and priorities. The host schedules the box's threads as ordinary `SCHED_OTHER`
//! threads; the library OS keeps each process's nice value and I/O priority so that programs
//! read back what they set (nothing is passed to the host: the box may not change its share).
//! Only `SCHED_OTHER` (and `SCHED_BATCH`, `SCHED_IDLE`, which need no privilege) are accepted.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use picobox_abi::{Errno, Result, Whose};

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;
const SCHED_OTHER: u32 = 0;
const SCHED_FIFO: u32 = 1;
const SCHED_RR: u32 = 2;
const SCHED_BATCH: u32 = 3;
const SCHED_IDLE: u32 = 5;
const SCHED_DEADLINE: u32 = 6;
/// `SCHED_RESET_ON_FORK`, which may be or'ed into a policy.
const RESET_ON_FORK: u32 = 0x4000_0000;

/// Whom a call about scheduling names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The calling process (pid 0, its own pid or one of its threads).
    Caller,
    /// Another live process of the box: its settings are in its own library OS, so the caller
    /// reads the defaults and may not change them.
    Other,
}

/// The process `pid` names (0: the caller); `ESRCH` if it names no process of the box.
fn target(pid: i64) -> Result<Target> {
    if pid < 0 {
        return Err(Errno::ESRCH); // no process has a negative id
    }
    let me = host().process_id(Whose::Caller);
    if pid == 0 || pid as u32 == me || pid as u32 == host().thread_id() {
        return Ok(Target::Caller);
    }
    match i32::try_from(pid) {
        Ok(pid) if host().process_signal(pid, 0, None).is_ok() => Ok(Target::Other),
        _ => Err(Errno::ESRCH),
    }
}

/// As [`target`], for the `sched_*` calls, which refuse a negative pid with `EINVAL`.
fn sched_target(pid: u64) -> Result<Target> {
    let pid = int_arg(pid);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    target(i64::from(pid))
}

/// The caller may change only its own settings (see [`Target::Other`]).
fn may_change(target: Target) -> Result<()> {
    match target {
        Target::Caller => Ok(()),
        Target::Other => Err(Errno::EPERM),
    }
}

/// `getpriority(which, who)`: `20 - nice`, as the system call returns it.
pub fn sys_getpriority(k: &mut Kernel, a: &Args) -> Result<u64> {
    match priority_target(k, a)? {
        Target::Caller => Ok((20 - k.nice) as u64),
        Target::Other => Ok(20),
    }
}

/// Whom `getpriority`/`setpriority(which, who)` name: a process (or, approximated, a process
/// group or user) known to the box.
fn priority_target(k: &Kernel, a: &Args) -> Result<Target> {
    let who = int_arg(a[1]);
    match int_arg(a[0]) {
        PRIO_PROCESS | PRIO_PGRP => target(i64::from(who)),
        PRIO_USER if who == 0 || who as u32 == k.creds.effective_uid() => Ok(Target::Caller),
        PRIO_USER => Err(Errno::ESRCH),
        _ => Err(Errno::EINVAL),
    }
}

/// `setpriority(which, who, prio)`: lowering the nice value needs root, as on Linux.
pub fn sys_setpriority(k: &mut Kernel, a: &Args) -> Result<u64> {
    may_change(priority_target(k, a)?)?;
    let nice = int_arg(a[2]).clamp(-20, 19);
    if nice < k.nice && !k.creds.privileged() {
        return Err(Errno::EACCES);
    }
    k.nice = nice;
    Ok(0)
}

/// Checks a policy and its priority: real-time policies need root and a priority of 1 to 99;
/// the others a priority of 0.
fn check_policy(policy: u32, priority: i32) -> Result<()> {
    match policy & !RESET_ON_FORK {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE if priority == 0 => Ok(()),
        // The host runs every thread of a box as SCHED_OTHER: no real time, even for the
        // box's root (as for root in a container without CAP_SYS_NICE).
        SCHED_FIFO | SCHED_RR if (1..=99).contains(&priority) => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_setscheduler(pid, policy, param)`.
pub fn sys_sched_setscheduler(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[2] == 0 || int_arg(a[0]) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = user::read_u32(a[2])? as i32;
    let whom = sched_target(a[0])?;
    let policy = (a[1] & 0xffff_ffff) as u32;
    check_policy(policy, priority)?;
    may_change(whom)?;
    k.sched_policy = policy & !RESET_ON_FORK;
    Ok(0)
}

/// `sched_getscheduler(pid)`.
pub fn sys_sched_getscheduler(k: &mut Kernel, a: &Args) -> Result<u64> {
    match sched_target(a[0])? {
        Target::Caller => Ok(u64::from(k.sched_policy)),
        Target::Other => Ok(u64::from(SCHED_OTHER)),
    }
}

/// `sched_setparam(pid, param)`.
pub fn sys_sched_setparam(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[1] == 0 || int_arg(a[0]) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = user::read_u32(a[1])? as i32;
    let whom = sched_target(a[0])?;
    let policy = if whom == Target::Caller {
        k.sched_policy
    } else {
        SCHED_OTHER
    };
    check_policy(policy, priority)?;
    may_change(whom).map(|()| 0)
}

/// `sched_getparam(pid, param)`: priority 0.
pub fn sys_sched_getparam(_k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    sched_target(a[0])?;
    user::write_u32(a[1], 0)?;
    Ok(0)
}

/// `sched_get_priority_max(policy)`.
pub fn sys_sched_get_priority_max(_k: &mut Kernel, a: &Args) -> Result<u64> {
    match (a[0] & 0xffff_ffff) as u32 {
        SCHED_FIFO | SCHED_RR => Ok(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_get_priority_min(policy)`.
pub fn sys_sched_get_priority_min(_k: &mut Kernel, a: &Args) -> Result<u64> {
    match (a[0] & 0xffff_ffff) as u32 {
        SCHED_FIFO | SCHED_RR => Ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_rr_get_interval(pid, tp)`: 0 for a policy that is not round-robin.
pub fn sys_sched_rr_get_interval(_k: &mut Kernel, a: &Args) -> Result<u64> {
    sched_target(a[0])?;
    user::write_bytes(a[1], &[0u8; 16])?;
    Ok(0)
}

/// `sched_setattr(pid, attr, flags)`: as `sched_setscheduler` (and the nice value).
pub fn sys_sched_setattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[2] != 0 || a[1] == 0 || int_arg(a[0]) < 0 {
        return Err(Errno::EINVAL);
    }
    let whom = sched_target(a[0])?;
    // struct sched_attr { u32 size, policy; u64 flags; s32 nice; u32 priority; ... }
    let size = user::read_u32(a[1])?;
    if size != 0 && size < 48 {
        user::write_u32(a[1], 56)?;
        return Err(Errno::E2BIG);
    }
    let raw = user::read_bytes(a[1], 24)?;
    let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
    let (policy, nice, priority) = (word(4), word(16) as i32, word(20) as i32);
    check_policy(policy, priority)?;
    may_change(whom)?;
    let nice = nice.clamp(-20, 19);
    if nice < k.nice && !k.creds.privileged() {
        return Err(Errno::EPERM);
    }
    k.sched_policy = policy;
    k.nice = nice;
    Ok(0)
}

/// `sched_getattr(pid, attr, size, flags)`.
pub fn sys_sched_getattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    let size = usize::try_from(a[2] & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
    if a[3] != 0 || a[1] == 0 || !(48..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let whom = sched_target(a[0])?;
    let (policy, nice) = match whom {
        Target::Caller => (k.sched_policy, k.nice),
        Target::Other => (SCHED_OTHER, 0),
    };
    let mut attr = [0u8; 56];
    attr[0..4].copy_from_slice(&56u32.to_le_bytes());
    attr[4..8].copy_from_slice(&policy.to_le_bytes());
    attr[16..20].copy_from_slice(&nice.to_le_bytes());
    let n = size.min(56);
    attr[0..4].copy_from_slice(&(n as u32).to_le_bytes());
    user::write_bytes(a[1], &attr[..n])?;
    Ok(0)
}

/// `sched_setaffinity(pid, size, mask)`: the host restricts that thread of the box to the
/// CPUs of the mask (`EINVAL` if it names none it may use).
pub fn sys_sched_setaffinity(_k: &mut Kernel, a: &Args) -> Result<u64> {
    may_change(target(i64::from(int_arg(a[0])))?)?;
    let tid = u32::try_from(int_arg(a[0])).map_err(|_| Errno::ESRCH)?;
    let size = usize::try_from(a[1]).map_err(|_| Errno::EINVAL)?.min(1024);
    let mask = user::read_bytes(a[2], size)?;
    host().thread_cpus(tid, picobox_abi::CpusOp::Restrict(&mask))
}

/// `getcpu(cpu, node, cache)`: where the host runs the caller now.
pub fn sys_getcpu(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let at = host().thread_cpus(0, picobox_abi::CpusOp::Current)?;
    if a[0] != 0 {
        user::write_u32(a[0], at as u32)?;
    }
    if a[1] != 0 {
        user::write_u32(a[1], (at >> 32) as u32)?;
    }
    Ok(0)
}

/// `ioprio_get(which, who)`: the priority last set (none: `IOPRIO_CLASS_NONE`, 0).
pub fn sys_ioprio_get(k: &mut Kernel, a: &Args) -> Result<u64> {
    if !(1..=3).contains(&int_arg(a[0])) {
        return Err(Errno::EINVAL);
    }
    Ok(u64::from(k.io_priority))
}

/// `ioprio_set(which, who, ioprio)`: recorded; real-time I/O needs root.
pub fn sys_ioprio_set(k: &mut Kernel, a: &Args) -> Result<u64> {
    const IOPRIO_CLASS_RT: u32 = 1;
    const IOPRIO_CLASS_IDLE: u32 = 3;
    if !(1..=3).contains(&int_arg(a[0])) {
        return Err(Errno::EINVAL);
    }
    let prio = (a[2] & 0xffff) as u32;
    let class = prio >> 13;
    if class > IOPRIO_CLASS_IDLE {
        return Err(Errno::EINVAL);
    }
    if class == IOPRIO_CLASS_RT && !k.creds.privileged() {
        return Err(Errno::EPERM);
    }
    k.io_priority = prio;
    Ok(0)
}
