//! Identity, system information, limits, process exit and the per-thread bookkeeping calls a
//! C runtime makes at start.

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use picobox_abi::{Clock, Errno, Result, UsageOf};

const RLIM_INFINITY: u64 = u64::MAX;
const RLIMIT_STACK: usize = 3;
const RLIMIT_NOFILE: usize = 7;

/// Limits reported before the program changes them.
pub fn default_rlimits(nofile: u64, stack: u64) -> [(u64, u64); 16] {
    let mut l = [(RLIM_INFINITY, RLIM_INFINITY); 16];
    l[RLIMIT_STACK] = (stack, RLIM_INFINITY);
    l[RLIMIT_NOFILE] = (nofile, nofile);
    l[4] = (0, RLIM_INFINITY); // RLIMIT_CORE: no core file unless the program raises it.
    l
}

/// `uname(buf)`.
pub fn sys_uname(k: &mut Kernel, a: &Args) -> Result<u64> {
    let fields: [&[u8]; 6] = [
        b"Linux",
        &k.hostname,
        &k.kernel_release,
        crate::procfs::KERNEL_VERSION.as_bytes(),
        b"x86_64",
        b"(none)",
    ];
    let mut out = alloc::vec![0u8; 65 * 6];
    for (i, f) in fields.iter().enumerate() {
        let n = f.len().min(64);
        out[i * 65..i * 65 + n].copy_from_slice(&f[..n]);
    }
    user::write_bytes(a[0], &out)?;
    Ok(0)
}

/// `sysinfo(info)`.
pub fn sys_sysinfo(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let uptime = host().time_query(Clock::Monotonic)?.sec;
    let mem = host().host_info().memory_limit;
    let mut b = [0u8; 112];
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    b[32..40].copy_from_slice(&mem.to_le_bytes()); // totalram
    b[40..48].copy_from_slice(&mem.to_le_bytes()); // freeram (the box's view: all of its limit)
    b[80..82].copy_from_slice(&1u16.to_le_bytes()); // procs
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    user::write_bytes(a[0], &b)?;
    Ok(0)
}

fn resource_arg(v: u64) -> Result<usize> {
    usize::try_from(int_arg(v))
        .ok()
        .filter(|r| *r < 16)
        .ok_or(Errno::EINVAL)
}

fn write_rlimit(addr: u64, l: (u64, u64)) -> Result<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&l.0.to_le_bytes());
    b[8..].copy_from_slice(&l.1.to_le_bytes());
    user::write_bytes(addr, &b)
}

fn set_rlimit(k: &mut Kernel, resource: usize, addr: u64) -> Result<()> {
    let soft = user::read_u64(addr)?;
    let hard = user::read_u64(addr + 8)?;
    let (_, old_hard) = k.rlimits[resource];
    if soft > hard || hard > old_hard {
        return Err(if soft > hard {
            Errno::EINVAL
        } else {
            Errno::EPERM
        });
    }
    if resource == RLIMIT_NOFILE {
        k.fds.limit = usize::try_from(soft)
            .unwrap_or(usize::MAX)
            .clamp(3, 1 << 20);
    }
    // The kernel enforces these two with signals (SIGXCPU, SIGXFSZ): the host's limits.
    const RLIMIT_CPU: usize = 0;
    const RLIMIT_FSIZE: usize = 1;
    if resource == RLIMIT_CPU || resource == RLIMIT_FSIZE {
        host().process_group(picobox_abi::GroupOp::SetLimit {
            resource: resource as u32,
            soft,
            hard,
        })?;
    }
    k.rlimits[resource] = (soft, hard);
    Ok(())
}

/// `getrlimit(resource, rlim)`.
pub fn sys_getrlimit(k: &mut Kernel, a: &Args) -> Result<u64> {
    write_rlimit(a[1], k.rlimits[resource_arg(a[0])?])?;
    Ok(0)
}

/// `setrlimit(resource, rlim)`: limits can only be lowered.
pub fn sys_setrlimit(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_rlimit(k, resource_arg(a[0])?, a[1])?;
    Ok(0)
}

/// `prlimit64(pid, resource, new, old)` on the calling process.
pub fn sys_prlimit64(k: &mut Kernel, a: &Args) -> Result<u64> {
    if !matches!(int_arg(a[0]), 0 | 1) {
        return Err(Errno::ESRCH);
    }
    let resource = resource_arg(a[1])?;
    let old = k.rlimits[resource];
    if a[2] != 0 {
        set_rlimit(k, resource, a[2])?;
    }
    if a[3] != 0 {
        write_rlimit(a[3], old)?;
    }
    Ok(0)
}

/// `exit(status)`: with one thread per process so far, the same as `exit_group`.
pub fn sys_exit(a: &Args) -> Result<u64> {
    let code = (a[0] & 0xff) as u8;
    let me = host().thread_id();
    // The thread leaves the table; if it was the last, the process ends.
    let (others, clear_tid) = crate::kernel::with(|k| {
        let clear = k.threads.remove(&me).map_or(0, |t| t.clear_child_tid);
        (!k.threads.is_empty(), clear)
    })?;
    if !others {
        crate::box_processes::mark_ended();
        host().process_exit(picobox_abi::ProcessEnd::Status(code))
    }
    super::signal::thread_gone();
    if clear_tid != 0 {
        // What CLONE_CHILD_CLEARTID promises: pthread_join waits on this word. Linux wakes
        // with a shared (not private) futex operation, which C libraries wait for.
        const FUTEX_WAKE: u32 = 1;
        let _ = user::write_u32(clear_tid, 0);
        let _ = host().futex(clear_tid as usize, FUTEX_WAKE, 1, 0, 0, 0);
    }
    host().thread_exit(code)
}

/// `exit_group(status)`.
pub fn sys_exit_group(_k: &mut Kernel, a: &Args) -> Result<u64> {
    crate::box_processes::mark_ended();
    host().process_exit(picobox_abi::ProcessEnd::Status((a[0] & 0xff) as u8))
}

/// `prctl(option, ...)`: the process's name, and the options that only report (the box is
/// always no-new-privileges and never dumps core).
pub fn sys_prctl(k: &mut Kernel, a: &Args) -> Result<u64> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_GET_TIMING: u64 = 13;
    const PR_SET_TIMING: u64 = 14;
    const PR_CAPBSET_READ: u64 = 23;
    const PR_CAPBSET_DROP: u64 = 24;
    const PR_GET_SECUREBITS: u64 = 27;
    const PR_SET_SECUREBITS: u64 = 28;
    const PR_SET_TIMERSLACK: u64 = 29;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_SET_THP_DISABLE: u64 = 41;
    const PR_GET_THP_DISABLE: u64 = 42;
    const PR_CAP_AMBIENT: u64 = 47;
    const PR_CAP_AMBIENT_IS_SET: u64 = 1;
    const PR_CAP_AMBIENT_RAISE: u64 = 2;
    const PR_CAP_AMBIENT_LOWER: u64 = 3;
    const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;
    /// `CAP_LAST_CAP`.
    const LAST_CAPABILITY: u64 = 40;
    // Options that take fewer arguments want the rest 0: `rest_zero(n)`, arguments n to 4.
    let rest_zero = |n: usize| a[n..5].iter().all(|v| *v == 0);
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    match a[0] & 0xffff_ffff {
        // The host reparents orphans among the caller's descendants to it.
        PR_SET_CHILD_SUBREAPER => {
            let on = a[1] != 0;
            host().process_group(picobox_abi::GroupOp::Subreaper(on))?;
            k.prctl.subreaper = on;
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            user::write_u32(a[1], u32::from(k.prctl.subreaper))?;
            Ok(0)
        }
        PR_SET_NAME => {
            // Linux keeps the first 15 bytes of a longer name.
            k.comm = user::read_cstr_prefix(a[1], 15)?;
            crate::box_processes::publish(k);
            Ok(0)
        }
        PR_GET_NAME => {
            let mut name = k.comm.clone();
            name.resize(16, 0);
            user::write_bytes(a[1], &name)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG => {
            // Recorded only: the box's processes die with the box anyway.
            signal_number(a[1])?;
            k.parent_death_signal = (a[1] & 0xff) as u8;
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            user::write_u32(a[1], u32::from(k.parent_death_signal))?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(u64::from(k.prctl.dumpable)),
        PR_SET_DUMPABLE if a[1] <= 1 => {
            k.prctl.dumpable = a[1] == 1;
            Ok(0)
        }
        // Always on in a box (the runtime set it); the other arguments must be 0.
        PR_SET_NO_NEW_PRIVS if a[1] == 1 && rest_zero(2) => Ok(0),
        PR_GET_NO_NEW_PRIVS if rest_zero(1) => Ok(1),
        PR_SET_TIMERSLACK => {
            // 0 restores the default; the host's timers are not slowed or hurried by it.
            k.prctl.timer_slack = if a[1] == 0 {
                k.prctl.default_timer_slack
            } else {
                a[1]
            };
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(k.prctl.timer_slack),
        PR_SET_THP_DISABLE if rest_zero(2) => {
            k.prctl.thp_disabled = a[1] != 0;
            Ok(0)
        }
        PR_GET_THP_DISABLE if rest_zero(1) => Ok(u64::from(k.prctl.thp_disabled)),
        // Only statistical process timing exists.
        PR_GET_TIMING => Ok(0),
        PR_SET_TIMING if a[1] == 0 => Ok(0),
        PR_GET_SECUREBITS => Ok(0),
        PR_SET_SECUREBITS | PR_CAPBSET_DROP if !k.creds.privileged() => Err(Errno::EPERM),
        PR_SET_SECUREBITS | PR_CAPBSET_DROP => Err(Errno::EINVAL),
        PR_CAPBSET_READ if a[1] <= LAST_CAPABILITY => Ok(u64::from(k.creds.privileged())),
        PR_CAP_AMBIENT => match a[1] {
            PR_CAP_AMBIENT_IS_SET if a[2] <= LAST_CAPABILITY && rest_zero(3) => Ok(0),
            PR_CAP_AMBIENT_CLEAR_ALL if rest_zero(2) => Ok(0),
            // Raising needs the capability to be permitted and inheritable: a box has none.
            PR_CAP_AMBIENT_RAISE if a[2] <= LAST_CAPABILITY && rest_zero(3) => Err(Errno::EPERM),
            PR_CAP_AMBIENT_LOWER if a[2] <= LAST_CAPABILITY && rest_zero(3) => Ok(0),
            _ => Err(Errno::EINVAL),
        },
        _ => Err(Errno::EINVAL),
    }
}

/// A signal number for `prctl` (0 allowed: none).
fn signal_number(v: u64) -> Result<u8> {
    u8::try_from(v)
        .ok()
        .filter(|s| *s <= 64)
        .ok_or(Errno::EINVAL)
}

/// `arch_prctl(code, addr)`: the thread pointer (`ARCH_SET_FS`, `ARCH_GET_FS`).
pub fn sys_arch_prctl(_k: &mut Kernel, a: &Args) -> Result<u64> {
    const ARCH_SET_GS: i32 = 0x1001;
    const ARCH_SET_FS: i32 = 0x1002;
    const ARCH_GET_FS: i32 = 0x1003;
    const ARCH_GET_GS: i32 = 0x1004;
    const ARCH_GET_CPUID: i32 = 0x1011;
    const ARCH_SET_CPUID: i32 = 0x1012;
    match int_arg(a[0]) {
        ARCH_SET_FS => {
            let base = usize::try_from(a[1]).map_err(|_| Errno::EPERM)?;
            host().thread_set_tls(Some(base))?;
            Ok(0)
        }
        ARCH_GET_FS => {
            user::write_u64(a[1], host().thread_set_tls(None)? as u64)?;
            Ok(0)
        }
        ARCH_GET_GS => {
            user::write_u64(a[1], 0)?;
            Ok(0)
        }
        ARCH_SET_GS => Err(Errno::EPERM),
        // CPUID stays enabled: the box offers no CPUID faulting (as a host without it).
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

/// `set_tid_address(tidptr)`: returns the caller's thread id.
pub fn sys_set_tid_address(k: &mut Kernel, a: &Args) -> Result<u64> {
    let me = host().thread_id();
    k.threads.entry(me).or_default().clear_child_tid = a[0];
    Ok(u64::from(me))
}

/// `struct robust_list_head`'s size, the only length Linux accepts.
const ROBUST_LIST_HEAD_LEN: u64 = 24;

/// `set_robust_list(head, len)`: the host walks the list when the thread ends.
pub fn sys_set_robust_list(k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[1] != ROBUST_LIST_HEAD_LEN {
        return Err(Errno::EINVAL);
    }
    host().thread_set_robust_list(a[0] as usize, a[1] as usize)?;
    k.threads.entry(k.current_tid).or_default().robust_list = a[0];
    Ok(0)
}

/// `get_robust_list(tid, head_ptr, len_ptr)`: the calling thread's or another's of this
/// process.
pub fn sys_get_robust_list(k: &mut Kernel, a: &Args) -> Result<u64> {
    let tid = match int_arg(a[0]) {
        0 => k.current_tid,
        t => u32::try_from(t).map_err(|_| Errno::ESRCH)?,
    };
    let head = k.threads.get(&tid).ok_or(Errno::ESRCH)?.robust_list;
    user::write_u64(a[1], head)?;
    user::write_u64(a[2], ROBUST_LIST_HEAD_LEN)?;
    Ok(0)
}

/// `getrandom(buf, len, flags)`.
pub fn sys_getrandom(_k: &mut Kernel, a: &Args) -> Result<u64> {
    if a[2] & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = usize::try_from(a[1]).unwrap_or(usize::MAX).min(32 << 20);
    let mut chunk = alloc::vec![0u8; len.min(64 * 1024)];
    let mut done = 0;
    while done < len {
        let n = chunk.len().min(len - done);
        host().random_read(&mut chunk[..n])?;
        user::write_bytes(a[0] + done as u64, &chunk[..n])?;
        done += n;
    }
    Ok(len as u64)
}

/// `sched_yield()`.
pub fn sys_sched_yield(_a: &Args) -> Result<u64> {
    host().thread_yield();
    Ok(0)
}

/// `sched_getaffinity(pid, size, mask)`: the host's answer for that thread of the box (a
/// size too small for the host's CPUs, or not a multiple of 8, is `EINVAL`).
pub fn sys_sched_getaffinity(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let size = usize::try_from(a[1]).map_err(|_| Errno::EINVAL)?;
    let tid = u32::try_from(super::int_arg(a[0])).map_err(|_| Errno::ESRCH)?;
    // As Linux, the mask is at most the kernel's own size (8192 CPUs).
    let mut mask = alloc::vec![0u8; size.min(1024)];
    if size % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let n = host().thread_cpus(tid, picobox_abi::CpusOp::Allowed(&mut mask))? as usize;
    user::write_bytes(a[2], &mask[..n.min(mask.len())])?;
    Ok(n as u64)
}

/// `futex_waitv(waiters, count, flags, timeout, clock)`: a wait on up to 128 futexes, by the
/// host. The array must be the program's memory; the deadline is absolute on `clock`
/// (`CLOCK_MONOTONIC` or `CLOCK_REALTIME`).
pub fn sys_futex_waitv(a: &Args) -> Result<u64> {
    const FUTEX_WAITV_MAX: u64 = 128;
    const WAITV_SIZE: usize = 24; // struct futex_waitv { u64 val, uaddr; u32 flags, reserved; }
    let count = a[1];
    if a[2] != 0 || count == 0 || count > FUTEX_WAITV_MAX || a[0] == 0 {
        return Err(Errno::EINVAL);
    }
    let waiters = user::checked_range(a[0], count as usize * WAITV_SIZE)?;
    if a[3] != 0 {
        user::checked_range(a[3], 16)?;
    }
    host().futex(
        waiters,
        picobox_abi::FUTEX_WAITV,
        count as u32,
        a[3] as usize,
        a[2] as usize,
        (a[4] & 0xffff_ffff) as u32,
    )
}

/// `futex(addr, op, val, timeout, addr2, val3)`: every operation, by the host, on the
/// program's own memory.
pub fn sys_futex(a: &Args) -> Result<u64> {
    let addr = usize::try_from(a[0]).map_err(|_| Errno::EFAULT)?;
    let op = (a[1] & 0xffff_ffff) as u32;
    let addr2 = usize::try_from(a[4]).map_err(|_| Errno::EFAULT)?;
    host().futex(
        addr,
        op,
        (a[2] & 0xffff_ffff) as u32,
        a[3] as usize,
        addr2,
        (a[5] & 0xffff_ffff) as u32,
    )
}

/// `getrusage(who, usage)`: what the host counted for the process (with the library OS's
/// own work in it, which is the process's), the thread, or the reaped children.
pub fn sys_getrusage(_k: &mut Kernel, a: &Args) -> Result<u64> {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let of = match int_arg(a[0]) {
        RUSAGE_SELF => UsageOf::Process,
        RUSAGE_THREAD => UsageOf::Thread,
        RUSAGE_CHILDREN => UsageOf::Children,
        _ => return Err(Errno::EINVAL),
    };
    user::write_bytes(a[1], &host().process_usage(of)?)?;
    Ok(0)
}

/// `times(buf)`: user and system CPU time of the process and of its reaped children, in clock
/// ticks (100 a second), and the ticks since an arbitrary start (the monotonic clock).
pub fn sys_times(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let ticks = |micros: i64| (micros / 10_000) as u64;
    if a[0] != 0 {
        // struct rusage begins with ru_utime and ru_stime, two timevals.
        let times_of = |usage: [u8; 144]| {
            let field =
                |at: usize| i64::from_le_bytes(usage[at..at + 8].try_into().unwrap_or([0; 8]));
            [
                ticks(field(0) * 1_000_000 + field(8)),
                ticks(field(16) * 1_000_000 + field(24)),
            ]
        };
        let [utime, stime] = times_of(host().process_usage(UsageOf::Process)?);
        let [cutime, cstime] = times_of(host().process_usage(UsageOf::Children)?);
        let mut tms = [0u8; 32];
        for (i, v) in [utime, stime, cutime, cstime].iter().enumerate() {
            tms[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        user::write_bytes(a[0], &tms)?;
    }
    let now = host().time_query(Clock::Monotonic)?;
    Ok(ticks(now.sec * 1_000_000 + now.nsec / 1000))
}

/// `personality(persona)`: recorded and returned, as Linux; `0xffffffff` asks.
pub fn sys_personality(k: &mut Kernel, a: &Args) -> Result<u64> {
    const QUERY: u32 = 0xffff_ffff;
    // As Linux: any other value is taken, and the old one returned.
    let old = k.personality;
    let want = (a[0] & 0xffff_ffff) as u32;
    if want != QUERY {
        k.personality = want;
    }
    Ok(u64::from(old))
}

/// `sysfs(option, ...)`, the old call that names file system types by index: 1 gives the
/// index of a name, 2 the name at an index (into a buffer), 3 how many there are; the list
/// is `/proc/filesystems`'s.
pub fn sys_sysfs(_k: &mut Kernel, a: &Args) -> Result<u64> {
    use crate::procfs::FILESYSTEMS;
    match int_arg(a[0]) {
        1 => {
            let name = user::read_cstr(a[1], 256)?;
            FILESYSTEMS
                .iter()
                .position(|(n, _)| n.as_bytes() == name.as_slice())
                .map(|i| i as u64)
                .ok_or(Errno::EINVAL)
        }
        2 => {
            let (name, _) = usize::try_from(a[1])
                .ok()
                .and_then(|i| FILESYSTEMS.get(i))
                .ok_or(Errno::EINVAL)?;
            let mut bytes = name.as_bytes().to_vec();
            bytes.push(0);
            user::write_bytes(a[2], &bytes)?;
            Ok(0)
        }
        3 => Ok(FILESYSTEMS.len() as u64),
        _ => Err(Errno::EINVAL),
    }
}
