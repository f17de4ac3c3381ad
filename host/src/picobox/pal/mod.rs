//! The PAL: the Linux implementation of the host ABI, inside the picoprocess.
//!
//! Each call is a handful of raw system calls made through the [`gate`]; the seccomp allowlist
//! (`host/src/policy/seccomp.rs`) admits exactly these, and Landlock confines the paths. Paths
//! given to stream calls are resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
//! beneath a mount's root handle: they can neither climb out of it nor follow a link.

use crate::gate;
use crate::start::Auxv;
use crate::tty;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use picobox_abi::*;
use spin::Once;

/// The one host instance.
pub static HOST: LinuxHost = LinuxHost;
/// This process's id in the box's pid namespace (0 until first asked; reset by fork).
static OWN_PID: AtomicU32 = AtomicU32::new(0);
static INFO: Once<HostInfo> = Once::new();

/// This process's id in the box's pid namespace.
pub fn own_pid() -> u32 {
    HOST.process_id(Whose::Caller)
}

/// In a restored process: its id is asked of the kernel again.
pub fn forget_own_pid() {
    OWN_PID.store(0, Ordering::Relaxed);
}

/// The Linux host. Stateless: all state lives in the kernel (descriptors, mappings).
pub struct LinuxHost;

impl LinuxHost {
    /// Ends the whole process with exit status `code` (`process_exit(ProcessEnd::Status)`),
    /// for the monitor's own paths.
    pub fn exit_now(&self, code: u8) -> ! {
        loop {
            gate::syscall(nr::EXIT_GROUP, [u64::from(code), 0, 0, 0, 0, 0]);
        }
    }
}

mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const CLOSE: u64 = 3;
    pub const FSTAT: u64 = 5;
    pub const FSTATFS: u64 = 138;
    pub const FSETXATTR: u64 = 190;
    pub const FGETXATTR: u64 = 193;
    pub const FLISTXATTR: u64 = 196;
    pub const FREMOVEXATTR: u64 = 199;
    pub const LSEEK: u64 = 8;
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    pub const MUNMAP: u64 = 11;
    pub const IOCTL: u64 = 16;
    pub const PREAD64: u64 = 17;
    pub const PWRITE64: u64 = 18;
    pub const SCHED_YIELD: u64 = 24;
    pub const MREMAP: u64 = 25;
    pub const REMAP_FILE_PAGES: u64 = 216;
    pub const MADVISE: u64 = 28;
    pub const MINCORE: u64 = 27;
    pub const MEMBARRIER: u64 = 324;
    pub const CACHESTAT: u64 = 451;
    pub const SCHED_SETAFFINITY: u64 = 203;
    pub const GETCPU: u64 = 309;
    pub const PROCESS_VM_READV: u64 = 310;
    pub const PROCESS_VM_WRITEV: u64 = 311;
    pub const FCNTL: u64 = 72;
    pub const FLOCK: u64 = 73;
    pub const FSYNC: u64 = 74;
    pub const FDATASYNC: u64 = 75;
    pub const FTRUNCATE: u64 = 77;
    pub const ARCH_PRCTL: u64 = 158;
    pub const FUTEX: u64 = 202;
    pub const SCHED_GETAFFINITY: u64 = 204;
    pub const GETDENTS64: u64 = 217;
    pub const CLOCK_GETTIME: u64 = 228;
    pub const CLOCK_NANOSLEEP: u64 = 230;
    pub const EXIT_GROUP: u64 = 231;
    pub const PIPE2: u64 = 293;
    pub const SOCKET: u64 = 41;
    pub const CONNECT: u64 = 42;
    pub const ACCEPT4: u64 = 288;
    pub const SENDTO: u64 = 44;
    pub const SENDMSG: u64 = 46;
    pub const RECVMSG: u64 = 47;
    pub const SHUTDOWN: u64 = 48;
    pub const BIND: u64 = 49;
    pub const LISTEN: u64 = 50;
    pub const GETSOCKNAME: u64 = 51;
    pub const GETPEERNAME: u64 = 52;
    pub const SOCKETPAIR: u64 = 53;
    pub const SETSOCKOPT: u64 = 54;
    pub const GETSOCKOPT: u64 = 55;
    pub const EXIT: u64 = 60;
    pub const GETTID: u64 = 186;
    pub const TGKILL: u64 = 234;
    pub const RT_SIGQUEUEINFO: u64 = 129;
    pub const TEE: u64 = 276;
    pub const MQ_OPEN: u64 = 240;
    pub const MQ_UNLINK: u64 = 241;
    pub const MQ_TIMEDSEND: u64 = 242;
    pub const MQ_TIMEDRECEIVE: u64 = 243;
    pub const MQ_NOTIFY: u64 = 244;
    pub const MQ_GETSETATTR: u64 = 245;
    pub const FUTEX_WAITV: u64 = 449;
    pub const RT_TGSIGQUEUEINFO: u64 = 297;
    pub const EVENTFD2: u64 = 290;
    pub const TIMERFD_CREATE: u64 = 283;
    pub const INOTIFY_INIT1: u64 = 294;
    pub const PIDFD_OPEN: u64 = 434;
    pub const GETRUSAGE: u64 = 98;
    pub const WAITID: u64 = 247;
    pub const PRLIMIT64: u64 = 302;
    pub const PRCTL: u64 = 157;
    pub const INOTIFY_ADD_WATCH: u64 = 254;
    pub const INOTIFY_RM_WATCH: u64 = 255;
    pub const SHMGET: u64 = 29;
    pub const SHMAT: u64 = 30;
    pub const SHMCTL: u64 = 31;
    pub const SEMGET: u64 = 64;
    pub const SEMCTL: u64 = 66;
    pub const SHMDT: u64 = 67;
    pub const MSGGET: u64 = 68;
    pub const MSGSND: u64 = 69;
    pub const MSGRCV: u64 = 70;
    pub const MSGCTL: u64 = 71;
    pub const SEMTIMEDOP: u64 = 220;
    pub const GETITIMER: u64 = 36;
    pub const TIMERFD_SETTIME: u64 = 286;
    pub const TIMERFD_GETTIME: u64 = 287;
    pub const MKNODAT: u64 = 259;
    pub const RT_SIGACTION: u64 = 13;
    pub const RT_SIGPROCMASK: u64 = 14;
    pub const SETITIMER: u64 = 38;
    pub const FORK: u64 = 57;
    pub const WAIT4: u64 = 61;
    pub const KILL: u64 = 62;
    pub const GETPID: u64 = 39;
    pub const GETPPID: u64 = 110;
    pub const SETPGID: u64 = 109;
    pub const GETPGID: u64 = 121;
    pub const SETSID: u64 = 112;
    pub const GETSID: u64 = 124;
    pub const MKDIRAT: u64 = 258;
    pub const NEWFSTATAT: u64 = 262;
    pub const UNLINKAT: u64 = 263;
    pub const SYMLINKAT: u64 = 266;
    pub const READLINKAT: u64 = 267;
    pub const PPOLL: u64 = 271;
    pub const UTIMENSAT: u64 = 280;
    pub const RENAMEAT2: u64 = 316;
    pub const LINKAT: u64 = 265;
    pub const GETRANDOM: u64 = 318;
    pub const OPENAT2: u64 = 437;
    pub const FACCESSAT2: u64 = 439;
    pub const FCHMODAT2: u64 = 452;
    pub const SET_ROBUST_LIST: u64 = 273;
    pub const TIMER_CREATE: u64 = 222;
    pub const TIMER_SETTIME: u64 = 223;
    pub const TIMER_GETTIME: u64 = 224;
    pub const TIMER_GETOVERRUN: u64 = 225;
    pub const TIMER_DELETE: u64 = 226;
}

const O_PATH: u64 = 0o10000000;
const O_DIRECTORY: u64 = 0o200000;
const O_CLOEXEC: u64 = 0o2000000;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_EMPTY_PATH: u64 = 0x1000;
/// Most descriptors one message can pass (Linux's `SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

pub(crate) fn sys(n: u64, a: [u64; 6]) -> Result<u64> {
    Errno::from_raw_return(gate::syscall(n, a))
}

/// A host call that waits: as [`sys`], but `EINTR` instead of a wait that would sleep through a
/// signal that came while the library OS served this call (made pending, not yet seen by it).
/// The library OS takes `EINTR` from any wait as a signal's: it delivers it, or waits again.
pub(crate) fn sys_wait(n: u64, a: [u64; 6]) -> Result<u64> {
    let Some(me) = crate::threads::serving() else {
        return sys(n, a);
    };
    let seen = me.seen.load(Ordering::SeqCst);
    me.waiting.store(true, Ordering::SeqCst);
    let r = gate::wait_syscall(n, a, &me.arrived, seen);
    me.waiting.store(false, Ordering::SeqCst);
    let r = Errno::from_raw_return(r);
    if r == Err(Errno::EINTR) {
        me.seen
            .store(me.arrived.load(Ordering::SeqCst), Ordering::SeqCst);
    }
    r
}

fn fd(h: Handle) -> u64 {
    u64::from(h.0)
}

fn handle_of(v: u64) -> Result<Handle> {
    u32::try_from(v).map(Handle).map_err(|_| Errno::EBADF)
}

/// Sets up the host: remembers what the runtime's auxiliary vector said.
pub fn init(aux: Auxv) -> &'static LinuxHost {
    let mut mask = [0u64; 16];
    let cpus = match sys(
        nr::SCHED_GETAFFINITY,
        [0, 128, mask.as_mut_ptr() as u64, 0, 0, 0],
    ) {
        Ok(_) => mask.iter().map(|w| w.count_ones()).sum::<u32>().max(1),
        Err(_) => 1,
    };
    INFO.call_once(|| HostInfo {
        page_size: 4096,
        cpus,
        memory_limit: 1 << 34,
        hwcap: aux.hwcap,
        hwcap2: aux.hwcap2,
        vdso: aux.vdso,
        min_signal_stack: aux.min_signal_stack.max(2048),
        gate: gate::entry_address(),
        runtime_ranges: [
            crate::start::image_range(),
            crate::heap::range(),
            crate::threads::arena(),
        ],
        box_shared: crate::heap::box_shared(),
    });
    &HOST
}

/// A NUL-terminated copy of `bytes` (a queue name).
fn nul_terminated(bytes: &[u8]) -> Vec<u8> {
    let mut c = bytes.to_vec();
    c.push(0);
    c
}

/// The address of an optional argument the kernel reads, 0 for none.
fn optional_ptr<T>(value: &Option<T>) -> u64 {
    value.as_ref().map_or(0, |v| core::ptr::from_ref(v) as u64)
}

/// A NUL-terminated copy of a relative path; `"."` for the root itself.
fn c_path(path: &[u8]) -> Result<Vec<u8>> {
    if path.contains(&0) || path.first() == Some(&b'/') {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(path.len() + 2);
    v.extend_from_slice(if path.is_empty() { b"." } else { path });
    v.push(0);
    Ok(v)
}

/// The socket requests a box with a network may make (shared with the filter).
#[allow(dead_code, missing_docs)]
mod socket {
    include!("../../policy/socket_requests.rs");
}

/// A NUL-terminated copy of an extended attribute's name (at most 255 bytes, as Linux).
fn attribute_name(name: &[u8]) -> Result<Vec<u8>> {
    if name.is_empty() || name.len() > 255 || name.contains(&0) {
        return Err(Errno::ERANGE);
    }
    let mut v = Vec::with_capacity(name.len() + 1);
    v.extend_from_slice(name);
    v.push(0);
    Ok(v)
}

/// A descriptor closed on drop.
struct Fd(u64);

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = sys(nr::CLOSE, [self.0, 0, 0, 0, 0, 0]);
    }
}

fn open_beneath(dir: Handle, path: &[u8], flags: u64, mode: u64) -> Result<u64> {
    let p = c_path(path)?;
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    let how: [u64; 3] = [
        flags | O_CLOEXEC,
        mode,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    ];
    sys(
        nr::OPENAT2,
        [fd(dir), p.as_ptr() as u64, how.as_ptr() as u64, 24, 0, 0],
    )
}

/// Opens the parent directory of `path` beneath `dir` and returns it with the last component.
/// A `struct itimerspec` (interval, then value) as a relative setting.
fn setting_of(t: [i64; 4]) -> TimerSetting {
    TimerSetting {
        value: Timespec {
            sec: t[2],
            nsec: t[3],
        },
        interval: Timespec {
            sec: t[0],
            nsec: t[1],
        },
        ..TimerSetting::default()
    }
}

/// The directory a path's last component is in: the handle itself for a one-component path
/// (no lookup needed), else a descriptor opened beneath it and closed when dropped.
enum Parent {
    Itself(Handle),
    Opened(Fd),
}

impl Parent {
    fn raw(&self) -> u64 {
        match self {
            Parent::Itself(h) => fd(*h),
            Parent::Opened(f) => f.0,
        }
    }
}

fn open_parent(dir: Handle, path: &[u8]) -> Result<(Parent, Vec<u8>)> {
    if path.is_empty() {
        return Err(Errno::EBUSY);
    }
    let (parent, name) = match path.iter().rposition(|b| *b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    if name.is_empty() || name == b"." || name == b".." || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    let pfd = if parent.is_empty() {
        Parent::Itself(dir)
    } else {
        Parent::Opened(Fd(open_beneath(dir, parent, O_PATH | O_DIRECTORY, 0)?))
    };
    let mut n = name.to_vec();
    n.push(0);
    Ok((pfd, n))
}

/// The box's host user and group (uid in the low half), and the ids the box reports instead
/// (see [`set_box_owner`]); `u64::MAX` until set.
static BOX_HOST_OWNER: AtomicU64 = AtomicU64::new(u64::MAX);
static BOX_OWNER_SHOWN: AtomicU64 = AtomicU64::new(u64::MAX);

fn pair(uid: u32, gid: u32) -> u64 {
    u64::from(uid) | u64::from(gid) << 32
}

/// The box's owner: host uid and gid, and the uid and gid reported instead.
fn box_owner() -> Option<[u32; 4]> {
    let host = BOX_HOST_OWNER.load(Ordering::Acquire);
    let shown = BOX_OWNER_SHOWN.load(Ordering::Acquire);
    (host != u64::MAX && shown != u64::MAX).then_some([
        host as u32,
        (host >> 32) as u32,
        shown as u32,
        (shown >> 32) as u32,
    ])
}

/// Tells the PAL that files the host says belong to `host_uid`/`host_gid` (the box's own host
/// user: what it created, and what its idmapped mounts map to it) are the box's, `box_uid` and
/// `box_gid`, as the library OS reports its own identity.
pub fn set_box_owner(host_uid: u32, host_gid: u32, box_uid: u32, box_gid: u32) {
    BOX_OWNER_SHOWN.store(pair(box_uid, box_gid), Ordering::Release);
    BOX_HOST_OWNER.store(pair(host_uid, host_gid), Ordering::Release);
}

/// This process's host user and group, as [`box_owner_moved_to`] takes them (asked before
/// the box's filter is on: it refuses `getuid`).
pub fn own_host_owner() -> u64 {
    pair(
        crate::gate::syscall(102, [0; 6]) as u32,
        crate::gate::syscall(104, [0; 6]) as u32,
    )
}

/// In a restored process: the box's host user is now `owner` ([`own_host_owner`]; a restored
/// box has a host user of its own), while the box goes on reporting the ids it did.
pub fn box_owner_moved_to(owner: u64) {
    if BOX_HOST_OWNER.load(Ordering::Acquire) != u64::MAX {
        BOX_HOST_OWNER.store(owner, Ordering::Release);
    }
}

/// An owner as the box sees it.
fn owner_in_box(uid: u32, gid: u32) -> (u32, u32) {
    match box_owner() {
        Some([hu, hg, bu, bg]) => (
            if uid == hu { bu } else { uid },
            if gid == hg { bg } else { gid },
        ),
        None => (uid, gid),
    }
}

/// Permission bits without set-user-ID and set-group-ID, which the filter refuses: nothing a
/// box makes may grant privileges on the host (for directories Linux ignores them anyway).
const PERMISSIONS_NO_SET_ID: u32 = 0o1777;

fn decode_stat(st: &[u64; 18]) -> FileAttr {
    let mode = (st[3] & 0xffff_ffff) as u32;
    let kind = match mode & 0o170000 {
        0o040000 => FileKind::Directory,
        0o120000 => FileKind::Symlink,
        0o020000 => FileKind::CharDevice,
        0o060000 => FileKind::BlockDevice,
        0o010000 => FileKind::Fifo,
        0o140000 => FileKind::Socket,
        0 => FileKind::Anonymous,
        _ => FileKind::Regular,
    };
    let ts = |i: usize| Timespec {
        sec: st[i] as i64,
        nsec: st[i + 1] as i64,
    };
    FileAttr {
        kind,
        perm: mode & 0o7777,
        size: st[6],
        blocks: st[8],
        block_size: u32::try_from(st[7]).unwrap_or(4096),
        nlink: st[2],
        uid: owner_in_box((st[3] >> 32) as u32, (st[4] & 0xffff_ffff) as u32).0,
        gid: owner_in_box((st[3] >> 32) as u32, (st[4] & 0xffff_ffff) as u32).1,
        dev: st[0],
        ino: st[1],
        rdev: st[5],
        atime: ts(9),
        mtime: ts(11),
        ctime: ts(13),
    }
}

fn place_args(place: Placement) -> (u64, u64) {
    const MAP_FIXED: u64 = 0x10;
    const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
    match place {
        Placement::Anywhere(hint) => (hint as u64, 0),
        Placement::Replace(a) => (a as u64, MAP_FIXED),
        Placement::NoReplace(a) => (a as u64, MAP_FIXED_NOREPLACE),
    }
}

/// `MAP_SHARED` or `MAP_PRIVATE`.
fn share_flag(shared: bool) -> u64 {
    if shared {
        0x01
    } else {
        0x02
    }
}

pub fn clock_id(c: Clock) -> u64 {
    match c {
        Clock::Realtime => 0,
        Clock::Monotonic => 1,
        Clock::ProcessCpu => 2,
        Clock::ThreadCpu => 3,
        Clock::MonotonicRaw => 4,
        Clock::RealtimeCoarse => 5,
        Clock::MonotonicCoarse => 6,
        Clock::Boottime => 7,
        Clock::Tai => 11,
    }
}

/// `struct itimerspec { timespec interval; timespec value; }` of a setting.
fn itimerspec_of(t: &TimerSetting) -> [i64; 4] {
    [t.interval.sec, t.interval.nsec, t.value.sec, t.value.nsec]
}

/// The `struct sigevent` (64 bytes: value, signal, how, thread, padding) the host is given
/// for `notify`; none for Linux's default event (a signal without a value, which carries
/// the timer's id).
pub fn sigevent_of(notify: TimerNotify) -> Option<[u8; 64]> {
    const SIGEV_SIGNAL: u32 = 0;
    const SIGEV_NONE: u32 = 1;
    const SIGEV_THREAD_ID: u32 = 4;
    let mut event = [0u8; 64];
    let (value, signo, how, tid) = match notify {
        TimerNotify::None => (0, 0, SIGEV_NONE, 0),
        TimerNotify::Signal { value: None, .. } => return None,
        TimerNotify::Signal {
            signal,
            value: Some(value),
            thread,
        } => (
            value,
            u32::from(signal),
            if thread.is_some() {
                SIGEV_THREAD_ID
            } else {
                SIGEV_SIGNAL
            },
            thread.unwrap_or(0),
        ),
    };
    event[0..8].copy_from_slice(&value.to_ne_bytes());
    event[8..12].copy_from_slice(&signo.to_ne_bytes());
    event[12..16].copy_from_slice(&how.to_ne_bytes());
    event[16..20].copy_from_slice(&tid.to_ne_bytes());
    Some(event)
}

fn posix_timer_set(id: u32, new: Option<TimerSetting>) -> Result<TimerSetting> {
    let mut old = [0i64; 4];
    let Some(new) = new else {
        sys(
            nr::TIMER_GETTIME,
            [u64::from(id), old.as_mut_ptr() as u64, 0, 0, 0, 0],
        )?;
        let overruns = sys(nr::TIMER_GETOVERRUN, [u64::from(id), 0, 0, 0, 0, 0])?;
        return Ok(TimerSetting {
            overruns: overruns as u32,
            ..setting_of(old)
        });
    };
    if new.cancel_on_set {
        return Err(Errno::EINVAL);
    }
    let spec = itimerspec_of(&new);
    sys(
        nr::TIMER_SETTIME,
        [
            u64::from(id),
            u64::from(new.absolute),
            spec.as_ptr() as u64,
            old.as_mut_ptr() as u64,
            0,
            0,
        ],
    )?;
    Ok(setting_of(old))
}

/// `process_wait` with `WNOWAIT`: waitid, whose siginfo is turned into a wait status.
fn wait_leaving_waitable(pid: i32, options: u32, rusage: u64) -> Result<(u32, i32)> {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    let (idtype, id) = match pid {
        -1 => (P_ALL, 0),
        0 => (P_PGID, 0),
        p if p < 0 => (P_PGID, u64::from(p.unsigned_abs())),
        p => (P_PID, p as u64),
    };
    let mut info = [0u8; 128];
    sys(
        nr::WAITID,
        [
            idtype,
            id,
            info.as_mut_ptr() as u64,
            u64::from(options),
            rusage,
            0,
        ],
    )?;
    let int_at =
        |at: usize| i32::from_ne_bytes([info[at], info[at + 1], info[at + 2], info[at + 3]]);
    let (code, child, value) = (int_at(8), int_at(16), int_at(24));
    let status = match code {
        1 => (value & 0xff) << 8,              // CLD_EXITED
        2 => value & 0x7f,                     // CLD_KILLED
        3 => (value & 0x7f) | 0x80,            // CLD_DUMPED
        4 | 5 => ((value & 0xff) << 8) | 0x7f, // CLD_TRAPPED, CLD_STOPPED
        6 => 0xffff,                           // CLD_CONTINUED
        _ => 0,
    };
    Ok((u32::try_from(child).unwrap_or(0), status))
}

fn stream_timer_set(h: Handle, new: Option<TimerSetting>) -> Result<TimerSetting> {
    const TFD_TIMER_ABSTIME: u64 = 1;
    const TFD_TIMER_CANCEL_ON_SET: u64 = 2;
    let mut old = [0i64; 4];
    let Some(new) = new else {
        sys(
            nr::TIMERFD_GETTIME,
            [fd(h), old.as_mut_ptr() as u64, 0, 0, 0, 0],
        )?;
        return Ok(setting_of(old));
    };
    let spec = itimerspec_of(&new);
    let mut flags = 0;
    if new.absolute {
        flags |= TFD_TIMER_ABSTIME;
    }
    if new.cancel_on_set {
        flags |= TFD_TIMER_CANCEL_ON_SET;
    }
    sys(
        nr::TIMERFD_SETTIME,
        [
            fd(h),
            flags,
            spec.as_ptr() as u64,
            old.as_mut_ptr() as u64,
            0,
            0,
        ],
    )?;
    Ok(setting_of(old))
}

const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

/// Sets or reads interval timer `which` of the calling process.
fn interval_timer_set(which: u64, new: Option<TimerSetting>) -> Result<TimerSetting> {
    // struct itimerval { timeval it_interval; timeval it_value; }
    let usec = |t: Timespec| [t.sec as u64, (t.nsec / 1000) as u64];
    let mut old = [[0u64; 2]; 2];
    match new {
        None => {
            sys(nr::GETITIMER, [which, old.as_mut_ptr() as u64, 0, 0, 0, 0])?;
        }
        Some(new) => {
            if new.absolute || new.cancel_on_set {
                return Err(Errno::EINVAL);
            }
            let spec: [[u64; 2]; 2] = [usec(new.interval), usec(new.value)];
            sys(
                nr::SETITIMER,
                [
                    which,
                    spec.as_ptr() as u64,
                    old.as_mut_ptr() as u64,
                    0,
                    0,
                    0,
                ],
            )?;
        }
    }
    let ts = |t: [u64; 2]| Timespec {
        sec: t[0] as i64,
        nsec: (t[1] * 1000) as i64,
    };
    Ok(TimerSetting {
        value: ts(old[1]),
        interval: ts(old[0]),
        ..TimerSetting::default()
    })
}

/// An owner as the host knows it (the reverse of [`owner_in_box`]).
fn owner_on_host(uid: u32, gid: u32) -> (u32, u32) {
    match box_owner() {
        Some([hu, hg, bu, bg]) => (
            if uid == bu { hu } else { uid },
            if gid == bg { hg } else { gid },
        ),
        None => (uid, gid),
    }
}

/// The owner and creator ids of a `struct ipc64_perm` at the start of `buf` (uid, gid, cuid,
/// cgid at bytes 4 to 20), mapped with `map`.
fn map_ipc_owners(buf: &mut [u8], map: fn(u32, u32) -> (u32, u32)) {
    if buf.len() < 20 {
        return;
    }
    let word = |b: &[u8], at: usize| u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    for (uid_at, gid_at) in [(4, 8), (12, 16)] {
        let (uid, gid) = map(word(buf, uid_at), word(buf, gid_at));
        buf[uid_at..uid_at + 4].copy_from_slice(&uid.to_ne_bytes());
        buf[gid_at..gid_at + 4].copy_from_slice(&gid.to_ne_bytes());
    }
}

/// `shmctl` or `msgctl(id, cmd, buf)`: `IPC_SET` takes the box's owners to the host's, the
/// stat commands (`stats`) bring them back.
fn ipc_control(nr: u64, id: i32, cmd: i32, stats: &[i32], buf: &mut [u8]) -> Result<u64> {
    const IPC_SET: i32 = 1;
    if cmd == IPC_SET {
        map_ipc_owners(buf, owner_on_host);
    }
    let ptr = if buf.is_empty() {
        0
    } else {
        buf.as_mut_ptr() as u64
    };
    let r = sys(nr, [id as i64 as u64, cmd as i64 as u64, ptr, 0, 0, 0])?;
    if stats.contains(&cmd) {
        map_ipc_owners(buf, owner_in_box);
    }
    Ok(r)
}

impl Host for LinuxHost {
    fn vm_alloc(&self, place: Placement, len: usize, prot: Prot, shared: bool) -> Result<usize> {
        let (addr, fixed) = place_args(place);
        let flags = share_flag(shared) | 0x20 | fixed; // MAP_ANONYMOUS
        let got = sys(
            nr::MMAP,
            [addr, len as u64, u64::from(prot.0), flags, u64::MAX, 0],
        )?;
        Ok(got as usize)
    }

    fn vm_free(&self, addr: usize, len: usize) -> Result<()> {
        sys(nr::MUNMAP, [addr as u64, len as u64, 0, 0, 0, 0]).map(|_| ())
    }

    fn vm_protect(&self, addr: usize, len: usize, prot: Prot) -> Result<()> {
        sys(
            nr::MPROTECT,
            [addr as u64, len as u64, u64::from(prot.0), 0, 0, 0],
        )
        .map(|_| ())
    }

    fn vm_map_stream(
        &self,
        h: Handle,
        offset: u64,
        place: Placement,
        len: usize,
        prot: Prot,
        shared: bool,
    ) -> Result<usize> {
        let (addr, fixed) = place_args(place);
        let got = sys(
            nr::MMAP,
            [
                addr,
                len as u64,
                u64::from(prot.0),
                share_flag(shared) | fixed,
                fd(h),
                offset,
            ],
        )?;
        Ok(got as usize)
    }

    fn vm_remap(&self, addr: usize, old_len: usize, new_len: usize, how: Remap) -> Result<usize> {
        const MREMAP_MAYMOVE: u64 = 1;
        const MREMAP_FIXED: u64 = 2;
        const MREMAP_DONTUNMAP: u64 = 4;
        if let Remap::FilePages { page } = how {
            if old_len != new_len {
                return Err(Errno::EINVAL);
            }
            return sys(
                nr::REMAP_FILE_PAGES,
                [addr as u64, old_len as u64, 0, page, 0, 0],
            )
            .map(|_| addr);
        }
        let (flags, to) = match how {
            Remap::InPlace | Remap::FilePages { .. } => (0, 0),
            Remap::MayMove => (MREMAP_MAYMOVE, 0),
            Remap::MoveTo { to, keep_old } => (
                MREMAP_MAYMOVE
                    | if to.is_some() { MREMAP_FIXED } else { 0 }
                    | if keep_old { MREMAP_DONTUNMAP } else { 0 },
                to.unwrap_or(0) as u64,
            ),
        };
        let got = sys(
            nr::MREMAP,
            [addr as u64, old_len as u64, new_len as u64, flags, to, 0],
        )?;
        Ok(got as usize)
    }

    fn vm_discard(&self, addr: usize, len: usize) -> Result<()> {
        sys(nr::MADVISE, [addr as u64, len as u64, 4, 0, 0, 0]).map(|_| ())
    }

    fn vm_copy(&self, dst: usize, src: usize, len: usize) -> Result<()> {
        crate::signals::copy_checked(dst, src, len)
    }

    fn vm_barrier(&self, global: bool) -> Result<()> {
        const MEMBARRIER_CMD_GLOBAL: u64 = 1;
        const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 32;
        const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 64;
        if global {
            return sys(nr::MEMBARRIER, [MEMBARRIER_CMD_GLOBAL, 0, 0, 0, 0, 0]).map(|_| ());
        }
        // The registration is the address space's: a forked child registers its own.
        static REGISTERED_FOR: AtomicU32 = AtomicU32::new(0);
        let me = self.process_id(Whose::Caller);
        if REGISTERED_FOR.load(Ordering::Relaxed) != me {
            sys(
                nr::MEMBARRIER,
                [
                    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
                    0,
                    0,
                    0,
                    0,
                    0,
                ],
            )?;
            REGISTERED_FOR.store(me, Ordering::Relaxed);
        }
        sys(
            nr::MEMBARRIER,
            [MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0, 0, 0, 0],
        )
        .map(|_| ())
    }

    fn vm_pages(&self, addr: usize, len: usize, op: PagesOp<'_>) -> Result<()> {
        const MADV_POPULATE_READ: u64 = 22;
        const MADV_POPULATE_WRITE: u64 = 23;
        match op {
            PagesOp::Residency(out) => {
                if out.len() < len.div_ceil(4096) {
                    return Err(Errno::EINVAL);
                }
                let out = out.as_mut_ptr() as u64;
                sys(nr::MINCORE, [addr as u64, len as u64, out, 0, 0, 0]).map(|_| ())
            }
            PagesOp::Populate { write } => {
                let advice = if write {
                    MADV_POPULATE_WRITE
                } else {
                    MADV_POPULATE_READ
                };
                sys(nr::MADVISE, [addr as u64, len as u64, advice, 0, 0, 0]).map(|_| ())
            }
        }
    }

    fn thread_create(
        &self,
        ctx: &CpuContext,
        tls: usize,
        parent_tid: Option<usize>,
    ) -> Result<u32> {
        crate::threads::create(ctx, tls, parent_tid)
    }

    fn thread_exit(&self, code: u8) -> ! {
        loop {
            gate::syscall(nr::EXIT, [u64::from(code), 0, 0, 0, 0, 0]);
        }
    }

    fn thread_signal(
        &self,
        pid: u32,
        tid: u32,
        signal: u32,
        info: Option<&[u8; 128]>,
    ) -> Result<()> {
        let (pid, tid, signal) = (u64::from(pid), u64::from(tid), u64::from(signal));
        match info {
            None => sys(nr::TGKILL, [pid, tid, signal, 0, 0, 0]),
            Some(info) => sys(
                nr::RT_TGSIGQUEUEINFO,
                [pid, tid, signal, info.as_ptr() as u64, 0, 0],
            ),
        }
        .map(|_| ())
    }

    fn thread_yield(&self) {
        let _ = sys(nr::SCHED_YIELD, [0; 6]);
    }

    fn thread_set_robust_list(&self, head: usize, len: usize) -> Result<()> {
        sys(nr::SET_ROBUST_LIST, [head as u64, len as u64, 0, 0, 0, 0])?;
        // A restored thread sets it again (`freeze.rs`).
        let me = crate::threads::current();
        me.park.robust_head.store(head as u64, Ordering::Relaxed);
        me.park.robust_len.store(len as u64, Ordering::Relaxed);
        Ok(())
    }

    fn thread_cpus(&self, tid: u32, op: CpusOp<'_>) -> Result<u64> {
        let tid = u64::from(tid);
        match op {
            CpusOp::Allowed(out) => sys(
                nr::SCHED_GETAFFINITY,
                [tid, out.len() as u64, out.as_mut_ptr() as u64, 0, 0, 0],
            ),
            CpusOp::Restrict(mask) => sys(
                nr::SCHED_SETAFFINITY,
                [tid, mask.len() as u64, mask.as_ptr() as u64, 0, 0, 0],
            ),
            CpusOp::Current => {
                let (mut cpu, mut node) = (0u32, 0u32);
                sys(
                    nr::GETCPU,
                    [&raw mut cpu as u64, &raw mut node as u64, 0, 0, 0, 0],
                )?;
                Ok(u64::from(cpu) | u64::from(node) << 32)
            }
        }
    }

    fn thread_set_tls(&self, base: Option<usize>) -> Result<usize> {
        let mut old: u64 = 0;
        sys(nr::ARCH_PRCTL, [0x1003, &raw mut old as u64, 0, 0, 0, 0])?;
        if let Some(base) = base {
            sys(nr::ARCH_PRCTL, [0x1002, base as u64, 0, 0, 0, 0])?;
        }
        Ok(old as usize)
    }

    fn signals_seen(&self) -> u64 {
        crate::signals::SIGNALS_SEEN.load(core::sync::atomic::Ordering::Acquire)
    }

    fn signals_wait(&self, seen: u64, timeout: Option<Timespec>) -> bool {
        crate::signals::wait_for_signal(seen, timeout)
    }

    fn futex(
        &self,
        addr: usize,
        op: u32,
        val: u32,
        timeout_or_val2: usize,
        addr2: usize,
        val3: u32,
    ) -> Result<u64> {
        if op == FUTEX_WAITV {
            return sys_wait(
                nr::FUTEX_WAITV,
                [
                    addr as u64,
                    u64::from(val),
                    addr2 as u64,
                    timeout_or_val2 as u64,
                    u64::from(val3),
                    0,
                ],
            );
        }
        // FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2.
        let waits = matches!(op & 0x7f, 0 | 6 | 9 | 11 | 13);
        (if waits { sys_wait } else { sys })(
            nr::FUTEX,
            [
                addr as u64,
                u64::from(op),
                u64::from(val),
                timeout_or_val2 as u64,
                addr2 as u64,
                u64::from(val3),
            ],
        )
    }

    fn streams_wait(&self, entries: &mut [PollEntry], timeout: Option<Timespec>) -> Result<usize> {
        // struct pollfd { int fd; short events; short revents; }
        let mut fds: Vec<u64> = entries
            .iter()
            .map(|e| u64::from(e.handle.0) | (u64::from(e.events) << 32))
            .collect();
        let ts = timeout.map(|t| [t.sec as u64, t.nsec as u64]);
        let tsp = ts.as_ref().map_or(0, |t| t.as_ptr() as u64);
        let waits = timeout.is_none_or(|t| t.sec != 0 || t.nsec != 0);
        let n = (if waits { sys_wait } else { sys })(
            nr::PPOLL,
            [fds.as_mut_ptr() as u64, fds.len() as u64, tsp, 0, 8, 0],
        )?;
        for (e, raw) in entries.iter_mut().zip(&fds) {
            e.revents = (raw >> 48) as u16;
        }
        Ok(n as usize)
    }

    fn stream_open(&self, dir: Handle, path: &[u8], flags: OpenFlags, mode: u32) -> Result<Handle> {
        let creates = flags.0 & (OpenFlags::CREATE | OpenFlags::TMPFILE) != 0;
        let mode = if creates { u64::from(mode & 0o7777) } else { 0 };
        handle_of(open_beneath(
            dir,
            path,
            u64::from(flags.0 & !OpenFlags::CLOEXEC),
            mode,
        )?)
    }

    fn stream_read(&self, h: Handle, buf: IoBuf, offset: Option<u64>) -> Result<usize> {
        let n = match offset {
            None => sys(nr::READ, [fd(h), buf.addr as u64, buf.len as u64, 0, 0, 0])?,
            Some(o) => sys(
                nr::PREAD64,
                [fd(h), buf.addr as u64, buf.len as u64, o, 0, 0],
            )?,
        };
        Ok(n as usize)
    }

    fn stream_write(&self, h: Handle, buf: IoBuf, offset: Option<u64>) -> Result<usize> {
        let n = match offset {
            None => sys(nr::WRITE, [fd(h), buf.addr as u64, buf.len as u64, 0, 0, 0])?,
            Some(o) => sys(
                nr::PWRITE64,
                [fd(h), buf.addr as u64, buf.len as u64, o, 0, 0],
            )?,
        };
        Ok(n as usize)
    }

    fn stream_seek(&self, h: Handle, offset: i64, whence: Whence) -> Result<u64> {
        let w = match whence {
            Whence::Start => 0,
            Whence::Current => 1,
            Whence::End => 2,
            Whence::Data => 3,
            Whence::Hole => 4,
        };
        sys(nr::LSEEK, [fd(h), offset as u64, w, 0, 0, 0])
    }

    fn stream_attr(&self, h: Handle) -> Result<FileAttr> {
        let mut st = [0u64; 18];
        sys(nr::FSTAT, [fd(h), st.as_mut_ptr() as u64, 0, 0, 0, 0])?;
        Ok(decode_stat(&st))
    }

    fn stream_attr_at(&self, dir: Handle, path: &[u8], follow: bool) -> Result<FileAttr> {
        let mut st = [0u64; 18];
        if follow || path.is_empty() {
            let f = Fd(open_beneath(dir, path, O_PATH, 0)?);
            sys(nr::FSTAT, [f.0, st.as_mut_ptr() as u64, 0, 0, 0, 0])?;
        } else {
            let (pfd, name) = open_parent(dir, path)?;
            sys(
                nr::NEWFSTATAT,
                [
                    pfd.raw(),
                    name.as_ptr() as u64,
                    st.as_mut_ptr() as u64,
                    AT_SYMLINK_NOFOLLOW,
                    0,
                    0,
                ],
            )?;
        }
        Ok(decode_stat(&st))
    }

    fn stream_set_length(&self, h: Handle, len: u64) -> Result<()> {
        sys(nr::FTRUNCATE, [fd(h), len, 0, 0, 0, 0]).map(|_| ())
    }

    fn stream_flush(&self, h: Handle, data_only: bool) -> Result<()> {
        let n = if data_only { nr::FDATASYNC } else { nr::FSYNC };
        sys(n, [fd(h), 0, 0, 0, 0, 0]).map(|_| ())
    }

    fn stream_read_dir(&self, h: Handle, out: &mut Vec<DirEntry>, _max: usize) -> Result<usize> {
        let mut buf = alloc::vec![0u8; 32 * 1024];
        let n = sys(
            nr::GETDENTS64,
            [fd(h), buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0],
        )? as usize;
        let mut at = 0;
        let before = out.len();
        while at + 19 <= n {
            let ino = u64::from_le_bytes(buf[at..at + 8].try_into().map_err(|_| Errno::EIO)?);
            let reclen = usize::from(u16::from_le_bytes([buf[at + 16], buf[at + 17]]));
            if reclen < 20 || at + reclen > n {
                return Err(Errno::EIO);
            }
            let kind = match buf[at + 18] {
                1 => Some(FileKind::Fifo),
                2 => Some(FileKind::CharDevice),
                4 => Some(FileKind::Directory),
                6 => Some(FileKind::BlockDevice),
                8 => Some(FileKind::Regular),
                10 => Some(FileKind::Symlink),
                12 => Some(FileKind::Socket),
                _ => None,
            };
            let name_area = &buf[at + 19..at + reclen];
            let len = name_area
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(name_area.len());
            out.push(DirEntry {
                ino,
                kind,
                name: name_area[..len].to_vec(),
            });
            at += reclen;
        }
        Ok(out.len() - before)
    }

    fn stream_read_link(&self, dir: Handle, path: &[u8], buf: &mut [u8]) -> Result<usize> {
        let (pfd, name) = open_parent(dir, path)?;
        let n = sys(
            nr::READLINKAT,
            [
                pfd.raw(),
                name.as_ptr() as u64,
                buf.as_mut_ptr() as u64,
                buf.len() as u64,
                0,
                0,
            ],
        )?;
        Ok(n as usize)
    }

    fn stream_make_dir(&self, dir: Handle, path: &[u8], mode: u32) -> Result<()> {
        let (pfd, name) = open_parent(dir, path)?;
        sys(
            nr::MKDIRAT,
            [
                pfd.raw(),
                name.as_ptr() as u64,
                u64::from(mode & PERMISSIONS_NO_SET_ID),
                0,
                0,
                0,
            ],
        )
        .map(|_| ())
    }

    fn stream_delete(&self, dir: Handle, path: &[u8], is_dir: bool) -> Result<()> {
        let (pfd, name) = open_parent(dir, path)?;
        let flags = if is_dir { AT_REMOVEDIR } else { 0 };
        sys(
            nr::UNLINKAT,
            [pfd.raw(), name.as_ptr() as u64, flags, 0, 0, 0],
        )
        .map(|_| ())
    }

    fn stream_rename(
        &self,
        from_dir: Handle,
        from: &[u8],
        to_dir: Handle,
        to: &[u8],
        flags: u32,
    ) -> Result<()> {
        let (ffd, fname) = open_parent(from_dir, from)?;
        let (tfd, tname) = open_parent(to_dir, to)?;
        sys(
            nr::RENAMEAT2,
            [
                ffd.raw(),
                fname.as_ptr() as u64,
                tfd.raw(),
                tname.as_ptr() as u64,
                u64::from(flags),
                0,
            ],
        )
        .map(|_| ())
    }

    fn stream_make_link(&self, dir: Handle, path: &[u8], target: LinkTarget<'_>) -> Result<()> {
        let (pfd, name) = open_parent(dir, path)?;
        match target {
            LinkTarget::Symbolic(target) => {
                let mut t = target.to_vec();
                t.push(0);
                sys(
                    nr::SYMLINKAT,
                    [t.as_ptr() as u64, pfd.raw(), name.as_ptr() as u64, 0, 0, 0],
                )
            }
            LinkTarget::Hard { dir, path } => {
                let (ofd, oname) = open_parent(dir, path)?;
                sys(
                    nr::LINKAT,
                    [
                        ofd.raw(),
                        oname.as_ptr() as u64,
                        pfd.raw(),
                        name.as_ptr() as u64,
                        0,
                        0,
                    ],
                )
            }
        }
        .map(|_| ())
    }

    fn stream_set_times(&self, h: Handle, change: TimesChange) -> Result<()> {
        const UTIME_NOW: u64 = (1 << 30) - 1;
        const UTIME_OMIT: u64 = (1 << 30) - 2;
        let enc = |c: Option<Option<Timespec>>| match c {
            None => [0, UTIME_OMIT],
            Some(None) => [0, UTIME_NOW],
            Some(Some(t)) => [t.sec as u64, t.nsec as u64],
        };
        let times: [[u64; 2]; 2] = [enc(change.atime), enc(change.mtime)];
        sys(
            nr::UTIMENSAT,
            [
                fd(h),
                c"".as_ptr() as u64,
                times.as_ptr() as u64,
                AT_EMPTY_PATH,
                0,
                0,
            ],
        )
        .map(|_| ())
    }

    fn stream_set_mode(&self, h: Handle, mode: u32) -> Result<()> {
        if mode & 0o6000 != 0 {
            return Err(Errno::EPERM); // the filter refuses set-id bits (policy/seccomp.rs)
        }
        sys(
            nr::FCHMODAT2,
            [
                fd(h),
                c"".as_ptr() as u64,
                u64::from(mode & 0o7777),
                AT_EMPTY_PATH,
                0,
                0,
            ],
        )
        .map(|_| ())
    }

    fn stream_access(&self, dir: Handle, path: &[u8], mode: u32) -> Result<()> {
        let f = Fd(open_beneath(dir, path, O_PATH, 0)?);
        sys(
            nr::FACCESSAT2,
            [
                f.0,
                c"".as_ptr() as u64,
                u64::from(mode),
                AT_EMPTY_PATH,
                0,
                0,
            ],
        )
        .map(|_| ())
    }

    fn stream_query(&self, h: Handle, query: StreamQuery<'_>, out: &mut [u8]) -> Result<usize> {
        const F_GETLEASE: u64 = 1025;
        let (request, len) = match query {
            StreamQuery::Attribute(name) => {
                let name = attribute_name(name)?;
                let n = sys(
                    nr::FGETXATTR,
                    [
                        fd(h),
                        name.as_ptr() as u64,
                        out.as_mut_ptr() as u64,
                        out.len() as u64,
                        0,
                        0,
                    ],
                )?;
                return Ok(n as usize);
            }
            StreamQuery::AtMark => (socket::SIOCATMARK, 4),
            StreamQuery::Interface(request) => {
                if !socket::INTERFACE_QUESTIONS.contains(&u64::from(request)) {
                    return Err(Errno::EINVAL); // the filter admits no other
                }
                (u64::from(request), 40)
            }
            StreamQuery::Interfaces => {
                // struct ifconf { int ifc_len; (padding) char *ifc_buf; }
                let mut conf = [0u64; 2];
                conf[0] = u64::try_from(out.len().min(i32::MAX as usize)).unwrap_or(0);
                conf[1] = out.as_mut_ptr() as u64;
                sys(
                    nr::IOCTL,
                    [
                        fd(h),
                        socket::SIOCGIFCONF,
                        conf.as_mut_ptr() as u64,
                        0,
                        0,
                        0,
                    ],
                )?;
                return Ok((conf[0] & 0xffff_ffff) as usize);
            }
            StreamQuery::AttributeNames => {
                let n = sys(
                    nr::FLISTXATTR,
                    [fd(h), out.as_mut_ptr() as u64, out.len() as u64, 0, 0, 0],
                )?;
                return Ok(n as usize);
            }
            StreamQuery::TerminalAttributes => (tty::TCGETS, 36),
            StreamQuery::WindowSize => (tty::TIOCGWINSZ, 8),
            StreamQuery::BytesAvailable => (tty::FIONREAD, 4),
            StreamQuery::Terminal(q) => (tty::question(q), 4),
            StreamQuery::PageCache { offset, len } => {
                if out.len() < 40 {
                    return Err(Errno::EINVAL);
                }
                let range: [u64; 2] = [offset, len];
                sys(
                    nr::CACHESTAT,
                    [
                        fd(h),
                        range.as_ptr() as u64,
                        out.as_mut_ptr() as u64,
                        0,
                        0,
                        0,
                    ],
                )?;
                return Ok(40);
            }
            StreamQuery::FileSystem => {
                if out.len() < 120 {
                    return Err(Errno::EINVAL);
                }
                sys(nr::FSTATFS, [fd(h), out.as_mut_ptr() as u64, 0, 0, 0, 0])?;
                return Ok(120);
            }
            StreamQuery::PipeCapacity | StreamQuery::Lease | StreamQuery::Created => {
                const F_GETPIPE_SZ: u64 = 1032;
                const F_CREATED_QUERY: u64 = 1028;
                if out.len() < 4 {
                    return Err(Errno::EINVAL);
                }
                let cmd = match query {
                    StreamQuery::Lease => F_GETLEASE,
                    StreamQuery::Created => F_CREATED_QUERY,
                    _ => F_GETPIPE_SZ,
                };
                let n = sys(nr::FCNTL, [fd(h), cmd, 0, 0, 0, 0])?;
                out[..4].copy_from_slice(&(n as u32).to_ne_bytes());
                return Ok(4);
            }
        };
        if out.len() < len {
            return Err(Errno::EINVAL);
        }
        sys(
            nr::IOCTL,
            [fd(h), request, out.as_mut_ptr() as u64, 0, 0, 0],
        )?;
        Ok(len)
    }

    fn stream_set(&self, h: Handle, setting: StreamSetting<'_>) -> Result<u64> {
        const F_SETFL: u64 = 4;
        const F_SETPIPE_SZ: u64 = 1031;
        const F_SETSIG: u64 = 10;
        const F_SETLEASE: u64 = 1024;
        const F_NOTIFY: u64 = 1026;
        match setting {
            StreamSetting::Flags {
                nonblocking,
                append,
                notices,
            } => {
                const O_ASYNC: u64 = 0o20000;
                let mut flags = 0;
                if nonblocking {
                    flags |= u64::from(OpenFlags::NONBLOCK);
                }
                if append {
                    flags |= u64::from(OpenFlags::APPEND);
                }
                if notices {
                    flags |= O_ASYNC;
                }
                sys(nr::FCNTL, [fd(h), F_SETFL, flags, 0, 0, 0]).map(|_| 0)
            }
            StreamSetting::Owner { kind, id } => {
                const F_SETOWN_EX: u64 = 15;
                // struct f_owner_ex { int type; pid_t pid; }
                let owner: [u32; 2] = [kind, id];
                sys(
                    nr::FCNTL,
                    [fd(h), F_SETOWN_EX, owner.as_ptr() as u64, 0, 0, 0],
                )
                .map(|_| 0)
            }
            StreamSetting::PipeCapacity(bytes) => {
                sys(nr::FCNTL, [fd(h), F_SETPIPE_SZ, u64::from(bytes), 0, 0, 0])
            }
            StreamSetting::Lease(kind) => {
                sys(nr::FCNTL, [fd(h), F_SETLEASE, u64::from(kind), 0, 0, 0]).map(|_| 0)
            }
            StreamSetting::DirectoryNotify(mask) => {
                sys(nr::FCNTL, [fd(h), F_NOTIFY, u64::from(mask), 0, 0, 0]).map(|_| 0)
            }
            StreamSetting::NotifySignal(sig) => {
                sys(nr::FCNTL, [fd(h), F_SETSIG, u64::from(sig), 0, 0, 0]).map(|_| 0)
            }
            StreamSetting::Terminal(change) => tty::change(fd(h), change),
            // The monitor makes the watch (`monitor/broker.rs`): the target is named by its
            // descriptor, in the second argument, since no path reaches the box's mounts.
            StreamSetting::Watch { target, mask } => sys(
                nr::INOTIFY_ADD_WATCH,
                [fd(h), fd(target), u64::from(mask), 0, 0, 0],
            ),
            StreamSetting::Unwatch(n) => {
                sys(nr::INOTIFY_RM_WATCH, [fd(h), n as u32 as u64, 0, 0, 0, 0]).map(|_| 0)
            }
            StreamSetting::Attribute { name, value, flags } => {
                let name = attribute_name(name)?;
                match value {
                    Some(v) => sys(
                        nr::FSETXATTR,
                        [
                            fd(h),
                            name.as_ptr() as u64,
                            v.as_ptr() as u64,
                            v.len() as u64,
                            u64::from(flags),
                            0,
                        ],
                    ),
                    None => sys(nr::FREMOVEXATTR, [fd(h), name.as_ptr() as u64, 0, 0, 0, 0]),
                }
                .map(|_| 0)
            }
        }
    }

    fn stream_lock(&self, h: Handle, request: LockRequest, range: &mut RangeLock) -> Result<()> {
        let cmd: u64 = match request {
            LockRequest::WholeFile(op) => {
                return sys(nr::FLOCK, [fd(h), u64::from(op), 0, 0, 0, 0]).map(|_| ());
            }
            LockRequest::ProcessQuery => 5,
            LockRequest::Process { wait } => 6 + u64::from(wait),
            LockRequest::OpenFileQuery => 36,
            LockRequest::OpenFile { wait } => 37 + u64::from(wait),
        };
        // struct flock { short l_type, l_whence; off_t l_start, l_len; pid_t l_pid; }
        let mut raw = [0u8; 32];
        raw[0..2].copy_from_slice(&range.kind.to_ne_bytes());
        raw[2..4].copy_from_slice(&range.whence.to_ne_bytes());
        raw[8..16].copy_from_slice(&range.start.to_ne_bytes());
        raw[16..24].copy_from_slice(&range.len.to_ne_bytes());
        raw[24..28].copy_from_slice(&range.pid.to_ne_bytes());
        sys(nr::FCNTL, [fd(h), cmd, raw.as_mut_ptr() as u64, 0, 0, 0])?;
        let field = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[at..at + 8]);
            i64::from_ne_bytes(b)
        };
        *range = RangeLock {
            kind: u16::from_ne_bytes([raw[0], raw[1]]),
            whence: u16::from_ne_bytes([raw[2], raw[3]]),
            start: field(8),
            len: field(16),
            pid: i32::from_ne_bytes([raw[24], raw[25], raw[26], raw[27]]),
        };
        Ok(())
    }

    fn object_close(&self, h: Handle) -> Result<()> {
        sys(nr::CLOSE, [fd(h), 0, 0, 0, 0, 0]).map(|_| ())
    }

    fn stream_tee(&self, from: Handle, to: Handle, len: usize, nonblocking: bool) -> Result<usize> {
        const SPLICE_F_NONBLOCK: u64 = 2;
        let flags = if nonblocking { SPLICE_F_NONBLOCK } else { 0 };
        sys(nr::TEE, [fd(from), fd(to), len as u64, flags, 0, 0]).map(|n| n as usize)
    }

    fn stream_create(&self, kind: NewStream, nonblocking: bool) -> Result<Handle> {
        let nonblocking = if nonblocking {
            u64::from(OpenFlags::NONBLOCK)
        } else {
            0
        };
        let made = match kind {
            NewStream::Event { initial, semaphore } => {
                const EFD_SEMAPHORE: u64 = 1;
                let semaphore = if semaphore { EFD_SEMAPHORE } else { 0 };
                sys(
                    nr::EVENTFD2,
                    [
                        u64::from(initial),
                        O_CLOEXEC | semaphore | nonblocking,
                        0,
                        0,
                        0,
                        0,
                    ],
                )
            }
            NewStream::Timer(clock) => {
                if !matches!(clock, Clock::Realtime | Clock::Monotonic | Clock::Boottime) {
                    return Err(Errno::EINVAL);
                }
                sys(
                    nr::TIMERFD_CREATE,
                    [clock_id(clock), O_CLOEXEC | nonblocking, 0, 0, 0, 0],
                )
            }
            NewStream::Watcher => sys(nr::INOTIFY_INIT1, [O_CLOEXEC | nonblocking, 0, 0, 0, 0, 0]),
        };
        handle_of(made?)
    }

    fn stream_make_node(&self, dir: Handle, path: &[u8], kind: FileKind, mode: u32) -> Result<()> {
        let kind_bits: u64 = match kind {
            FileKind::Fifo => 0o010000,
            FileKind::Socket => 0o140000,
            _ => return Err(Errno::EINVAL),
        };
        let (pfd, name) = open_parent(dir, path)?;
        sys(
            nr::MKNODAT,
            [
                pfd.raw(),
                name.as_ptr() as u64,
                kind_bits | u64::from(mode & PERMISSIONS_NO_SET_ID),
                0,
                0,
                0,
            ],
        )
        .map(|_| ())
    }

    fn stream_pipe(&self, nonblocking: bool, packets: bool) -> Result<(Handle, Handle)> {
        let mut fds = [0i32; 2];
        let mut flags = O_CLOEXEC;
        if nonblocking {
            flags |= u64::from(OpenFlags::NONBLOCK);
        }
        if packets {
            flags |= u64::from(OpenFlags::DIRECT);
        }
        sys(nr::PIPE2, [fds.as_mut_ptr() as u64, flags, 0, 0, 0, 0])?;
        Ok((handle_of(fds[0] as u64)?, handle_of(fds[1] as u64)?))
    }

    fn socket_create(&self, domain: u32, kind: u32, protocol: u32) -> Result<Handle> {
        let kind = u64::from(kind) | O_CLOEXEC;
        handle_of(sys(
            nr::SOCKET,
            [u64::from(domain), kind, u64::from(protocol), 0, 0, 0],
        )?)
    }

    fn socket_pair(&self, kind: u32) -> Result<(Handle, Handle)> {
        const AF_UNIX: u64 = 1;
        let mut fds = [0i32; 2];
        sys(
            nr::SOCKETPAIR,
            [
                AF_UNIX,
                u64::from(kind) | O_CLOEXEC,
                0,
                fds.as_mut_ptr() as u64,
                0,
                0,
            ],
        )?;
        Ok((handle_of(fds[0] as u64)?, handle_of(fds[1] as u64)?))
    }

    fn socket_bind(&self, h: Handle, addr: &[u8]) -> Result<()> {
        sys(
            nr::BIND,
            [fd(h), addr.as_ptr() as u64, addr.len() as u64, 0, 0, 0],
        )
        .map(|_| ())
    }

    fn socket_listen(&self, h: Handle, backlog: u32) -> Result<()> {
        sys(nr::LISTEN, [fd(h), u64::from(backlog), 0, 0, 0, 0]).map(|_| ())
    }

    fn socket_accept(
        &self,
        h: Handle,
        peer: &mut [u8],
        nonblocking: bool,
    ) -> Result<(Handle, usize)> {
        let mut len = u32::try_from(peer.len()).unwrap_or(u32::MAX);
        let flags = O_CLOEXEC
            | if nonblocking {
                u64::from(OpenFlags::NONBLOCK)
            } else {
                0
            };
        let new = sys(
            nr::ACCEPT4,
            [
                fd(h),
                peer.as_mut_ptr() as u64,
                &raw mut len as u64,
                flags,
                0,
                0,
            ],
        )?;
        Ok((handle_of(new)?, len as usize))
    }

    fn socket_connect(&self, h: Handle, addr: &[u8]) -> Result<()> {
        sys(
            nr::CONNECT,
            [fd(h), addr.as_ptr() as u64, addr.len() as u64, 0, 0, 0],
        )
        .map(|_| ())
    }

    fn socket_send(
        &self,
        h: Handle,
        buf: IoBuf,
        addr: Option<&[u8]>,
        flags: u32,
        handles: &[Handle],
    ) -> Result<usize> {
        let (a, alen) = addr.map_or((0, 0), |a| (a.as_ptr() as u64, a.len() as u64));
        if handles.is_empty() {
            let n = sys(
                nr::SENDTO,
                [
                    fd(h),
                    buf.addr as u64,
                    buf.len as u64,
                    u64::from(flags),
                    a,
                    alen,
                ],
            )?;
            return Ok(n as usize);
        }
        if handles.len() > SCM_MAX_FD {
            return Err(Errno::EINVAL);
        }
        // One SOL_SOCKET/SCM_RIGHTS control message: struct cmsghdr { u64 len; i32 level;
        // i32 type; } and the descriptors.
        let mut control: Vec<u64> = alloc::vec![0; 2 + (handles.len() * 4).div_ceil(8)];
        control[0] = 16 + 4 * handles.len() as u64;
        control[1] = 1 | (1 << 32); // SOL_SOCKET, SCM_RIGHTS
        for (i, h) in handles.iter().enumerate() {
            let word = 2 + i / 2;
            control[word] |= u64::from(h.0) << (32 * (i % 2));
        }
        let iov: [u64; 2] = [buf.addr as u64, buf.len as u64];
        // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }
        let msg: [u64; 7] = [
            a,
            alen,
            iov.as_ptr() as u64,
            1,
            control.as_ptr() as u64,
            control[0].next_multiple_of(8),
            0,
        ];
        let n = sys(
            nr::SENDMSG,
            [fd(h), msg.as_ptr() as u64, u64::from(flags), 0, 0, 0],
        )?;
        Ok(n as usize)
    }

    fn socket_recv(
        &self,
        h: Handle,
        buf: IoBuf,
        from: &mut [u8],
        flags: u32,
        handles: &mut Vec<Handle>,
    ) -> Result<(usize, usize, u32)> {
        const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
        // Room for one SCM_RIGHTS message of the most descriptors Linux passes at once.
        let mut control = [0u8; 16 + 4 * SCM_MAX_FD + 4];
        let iov: [u64; 2] = [buf.addr as u64, buf.len as u64];
        let mut msg: [u64; 7] = [
            from.as_mut_ptr() as u64,
            from.len() as u64,
            iov.as_ptr() as u64,
            1,
            control.as_mut_ptr() as u64,
            control.len() as u64,
            0,
        ];
        let n = sys(
            nr::RECVMSG,
            [
                fd(h),
                msg.as_mut_ptr() as u64,
                u64::from(flags) | MSG_CMSG_CLOEXEC,
                0,
                0,
                0,
            ],
        )?;
        // Walk the control messages the kernel wrote; keep the descriptors of SCM_RIGHTS.
        let written = usize::try_from(msg[5]).unwrap_or(0).min(control.len());
        let bytes = &control[..written];
        let mut at = 0;
        while at + 16 <= written {
            let len = usize::try_from(u64::from_ne_bytes(
                bytes[at..at + 8].try_into().unwrap_or([0; 8]),
            ))
            .unwrap_or(0);
            if len < 16 || at + len > written {
                break;
            }
            let kind = u64::from_ne_bytes(bytes[at + 8..at + 16].try_into().unwrap_or([0; 8]));
            if kind == 1 | (1 << 32) {
                for fd_bytes in bytes[at + 16..at + len].chunks_exact(4) {
                    let raw = u32::from_ne_bytes(fd_bytes.try_into().unwrap_or([0; 4]));
                    handles.push(Handle(raw));
                }
            }
            at += len.next_multiple_of(8);
        }
        let from_len = if from.is_empty() { 0 } else { msg[1] as usize };
        Ok((n as usize, from_len, (msg[6] & 0xffff_ffff) as u32))
    }

    fn socket_shutdown(&self, h: Handle, how: u32) -> Result<()> {
        sys(nr::SHUTDOWN, [fd(h), u64::from(how), 0, 0, 0, 0]).map(|_| ())
    }

    fn socket_name(&self, h: Handle, peer: bool, out: &mut [u8]) -> Result<usize> {
        let mut len = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let n = if peer {
            nr::GETPEERNAME
        } else {
            nr::GETSOCKNAME
        };
        sys(
            n,
            [fd(h), out.as_mut_ptr() as u64, &raw mut len as u64, 0, 0, 0],
        )?;
        Ok(len as usize)
    }

    fn socket_option(
        &self,
        h: Handle,
        level: u32,
        name: u32,
        value: &mut [u8],
        set: bool,
    ) -> Result<usize> {
        if set {
            sys(
                nr::SETSOCKOPT,
                [
                    fd(h),
                    u64::from(level),
                    u64::from(name),
                    value.as_ptr() as u64,
                    value.len() as u64,
                    0,
                ],
            )?;
            return Ok(value.len());
        }
        let mut len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        sys(
            nr::GETSOCKOPT,
            [
                fd(h),
                u64::from(level),
                u64::from(name),
                value.as_mut_ptr() as u64,
                &raw mut len as u64,
                0,
            ],
        )?;
        Ok(len as usize)
    }

    fn process_fork(&self) -> Result<Option<u32>> {
        match sys(nr::FORK, [0; 6])? {
            0 => {
                let pid = gate::syscall(nr::GETPID, [0; 6]) as u32;
                OWN_PID.store(pid, Ordering::Relaxed);
                // The child's only thread is this one, with a new id.
                crate::threads::current().tid.store(pid, Ordering::Relaxed);
                crate::threads::after_fork();
                Ok(None)
            }
            pid => Ok(Some(u32::try_from(pid).map_err(|_| Errno::EIO)?)),
        }
    }

    fn process_wait(
        &self,
        pid: i32,
        options: u32,
        rusage: Option<&mut [u8; 144]>,
    ) -> Result<(u32, i32)> {
        let mut status: i32 = 0;
        let ru = rusage.map_or(0, |r| r.as_mut_ptr() as u64);
        const WNOWAIT: u32 = 0x0100_0000;
        if options & WNOWAIT != 0 {
            return wait_leaving_waitable(pid, options, ru);
        }
        const WNOHANG: u32 = 1;
        let waits = options & WNOHANG == 0;
        let got = (if waits { sys_wait } else { sys })(
            nr::WAIT4,
            [
                pid as i64 as u64,
                &raw mut status as u64,
                u64::from(options),
                ru,
                0,
                0,
            ],
        )?;
        Ok((u32::try_from(got).unwrap_or(0), status))
    }

    fn process_usage(&self, of: UsageOf) -> Result<[u8; 144]> {
        let who: i64 = match of {
            UsageOf::Process => 0,
            UsageOf::Thread => 1,
            UsageOf::Children => -1,
        };
        let mut usage = [0u8; 144];
        sys(
            nr::GETRUSAGE,
            [who as u64, usage.as_mut_ptr() as u64, 0, 0, 0, 0],
        )?;
        Ok(usage)
    }

    fn process_handle(&self, pid: u32, thread: bool) -> Result<Handle> {
        const PIDFD_THREAD: u64 = 0o200;
        let flags = if thread { PIDFD_THREAD } else { 0 };
        handle_of(sys(nr::PIDFD_OPEN, [u64::from(pid), flags, 0, 0, 0, 0])?)
    }

    fn process_id(&self, whose: Whose) -> u32 {
        if whose == Whose::Parent {
            return u32::try_from(gate::syscall(nr::GETPPID, [0; 6])).unwrap_or(0);
        }
        if whose == Whose::Thread {
            let me = crate::threads::current();
            let mut tid = me.tid.load(Ordering::Relaxed);
            if tid == 0 {
                tid = gate::syscall(nr::GETTID, [0; 6]) as u32;
                me.tid.store(tid, Ordering::Relaxed);
            }
            return tid;
        }
        let mut pid = OWN_PID.load(Ordering::Relaxed);
        if pid == 0 {
            pid = gate::syscall(nr::GETPID, [0; 6]) as u32;
            OWN_PID.store(pid, Ordering::Relaxed);
        }
        pid
    }

    fn process_memory(&self, pid: u32, remote: usize, local: IoBuf, write: bool) -> Result<usize> {
        let local_iov = [local.addr as u64, local.len as u64];
        let remote_iov = [remote as u64, local.len as u64];
        let call = if write {
            nr::PROCESS_VM_WRITEV
        } else {
            nr::PROCESS_VM_READV
        };
        let got = sys(
            call,
            [
                u64::from(pid),
                local_iov.as_ptr() as u64,
                1,
                remote_iov.as_ptr() as u64,
                1,
                0,
            ],
        )?;
        Ok(got as usize)
    }

    fn process_signal(&self, pid: i32, signal: u32, info: Option<&[u8; 128]>) -> Result<()> {
        const SIGTSTP: u32 = 20;
        const SIGTTOU: u32 = 22;
        if (SIGTSTP..=SIGTTOU).contains(&signal)
            && info.is_none()
            && pid > 0
            && pid as u32 == self.process_id(Whose::Caller)
        {
            crate::signals::stop_by_default(u64::from(signal), pid as u64);
            return Ok(());
        }
        let (pid, signal) = (pid as i64 as u64, u64::from(signal));
        match info {
            None => sys(nr::KILL, [pid, signal, 0, 0, 0, 0]),
            Some(info) => sys(
                nr::RT_SIGQUEUEINFO,
                [pid, signal, info.as_ptr() as u64, 0, 0, 0],
            ),
        }
        .map(|_| ())
    }

    fn process_group(&self, op: GroupOp) -> Result<u32> {
        let r = match op {
            GroupOp::SetGroup { pid, pgid } => {
                sys(nr::SETPGID, [u64::from(pid), u64::from(pgid), 0, 0, 0, 0])?
            }
            GroupOp::GetGroup { pid } => sys(nr::GETPGID, [u64::from(pid), 0, 0, 0, 0, 0])?,
            GroupOp::NewSession => sys(nr::SETSID, [0; 6])?,
            GroupOp::GetSession { pid } => sys(nr::GETSID, [u64::from(pid), 0, 0, 0, 0, 0])?,
            GroupOp::SetLimit {
                resource,
                soft,
                hard,
            } => {
                if resource > 1 {
                    return Err(Errno::EINVAL);
                }
                let limit = [soft, hard];
                sys(
                    nr::PRLIMIT64,
                    [0, u64::from(resource), limit.as_ptr() as u64, 0, 0, 0],
                )?
            }
            GroupOp::Subreaper(on) => {
                const PR_SET_CHILD_SUBREAPER: u64 = 36;
                sys(
                    nr::PRCTL,
                    [PR_SET_CHILD_SUBREAPER, u64::from(on), 0, 0, 0, 0],
                )?
            }
        };
        Ok(u32::try_from(r).unwrap_or(0))
    }

    fn process_exit(&self, end: ProcessEnd) -> ! {
        let signal = match end {
            ProcessEnd::Status(code) => self.exit_now(code),
            ProcessEnd::Signal(signal) => signal,
        };
        let sig = u64::from(signal);
        let default: [u64; 4] = [0, 0x0400_0000, gate::sigreturn_address(), 0];
        let _ = sys(nr::RT_SIGACTION, [sig, default.as_ptr() as u64, 0, 8, 0, 0]);
        let unblock: u64 = 1 << (sig.saturating_sub(1) & 63);
        let _ = sys(
            nr::RT_SIGPROCMASK,
            [1, &raw const unblock as u64, 0, 8, 0, 0],
        );
        // To this thread, which then takes the default action on its way back from the call:
        // sent to the process, another thread could be the one to take it, and this one
        // could reach the exit below first.
        let me = self.process_id(picobox_abi::Whose::Caller);
        let _ = sys(
            nr::TGKILL,
            [u64::from(me), u64::from(self.thread_id()), sig, 0, 0, 0],
        );
        // Still here: the box's pid 1, or a signal whose default is not to terminate.
        self.exit_now(128u8.wrapping_add(signal))
    }

    fn timer_create(&self, clock: Clock, notify: TimerNotify) -> Result<u32> {
        let event = sigevent_of(notify);
        let event_ptr = event.as_ref().map_or(0, |e| e.as_ptr() as u64);
        let mut id: u32 = 0;
        sys(
            nr::TIMER_CREATE,
            [clock_id(clock), event_ptr, &raw mut id as u64, 0, 0, 0],
        )?;
        Ok(id)
    }

    fn timer_set(&self, timer: Timer, new: Option<TimerSetting>) -> Result<TimerSetting> {
        match timer {
            Timer::Posix(id) => posix_timer_set(id, new),
            Timer::Stream(h) => stream_timer_set(h, new),
            Timer::Alarm => interval_timer_set(ITIMER_REAL, new),
            Timer::Virtual => interval_timer_set(ITIMER_VIRTUAL, new),
            Timer::Profile => interval_timer_set(ITIMER_PROF, new),
        }
    }

    fn timer_delete(&self, id: u32) -> Result<()> {
        sys(nr::TIMER_DELETE, [u64::from(id), 0, 0, 0, 0, 0]).map(|_| ())
    }

    fn ipc(&self, op: IpcOp<'_>) -> Result<u64> {
        const IPC_STAT: i32 = 2;
        let w = |v: i32| v as i64 as u64;
        match op {
            IpcOp::ShmGet { key, size, flags } => {
                sys(nr::SHMGET, [w(key), size as u64, w(flags), 0, 0, 0])
            }
            IpcOp::ShmAttach { id, addr, flags } => {
                sys(nr::SHMAT, [w(id), addr as u64, w(flags), 0, 0, 0])
            }
            IpcOp::ShmDetach { addr } => sys(nr::SHMDT, [addr as u64, 0, 0, 0, 0, 0]),
            IpcOp::ShmControl { id, cmd, buf } => {
                ipc_control(nr::SHMCTL, id, cmd, &[IPC_STAT, 13, 15], buf)
            }
            IpcOp::SemGet { key, count, flags } => {
                sys(nr::SEMGET, [w(key), w(count), w(flags), 0, 0, 0])
            }
            IpcOp::SemOp { id, ops, timeout } => {
                let ts = timeout.map(|t| [t.sec as u64, t.nsec as u64]);
                let tsp = ts.as_ref().map_or(0, |t| t.as_ptr() as u64);
                sys(
                    nr::SEMTIMEDOP,
                    [
                        w(id),
                        ops.as_ptr() as u64,
                        (ops.len() / 6) as u64,
                        tsp,
                        0,
                        0,
                    ],
                )
            }
            IpcOp::SemControl {
                id,
                num,
                cmd,
                value,
                buf,
            } => {
                // semctl(id, num, cmd, arg): the argument is the buffer, or the value.
                const IPC_SET: i32 = 1;
                if cmd == IPC_SET {
                    map_ipc_owners(buf, owner_on_host);
                }
                let arg = if buf.is_empty() {
                    w(value)
                } else {
                    buf.as_mut_ptr() as u64
                };
                let r = sys(nr::SEMCTL, [w(id), w(num), w(cmd), arg, 0, 0])?;
                if [IPC_STAT, 18, 20].contains(&cmd) {
                    map_ipc_owners(buf, owner_in_box);
                }
                Ok(r)
            }
            IpcOp::MsgGet { key, flags } => sys(nr::MSGGET, [w(key), w(flags), 0, 0, 0, 0]),
            IpcOp::MsgSend { id, msg, flags } => sys(
                nr::MSGSND,
                [
                    w(id),
                    msg.as_ptr() as u64,
                    msg.len().saturating_sub(8) as u64,
                    w(flags),
                    0,
                    0,
                ],
            ),
            IpcOp::MsgReceive {
                id,
                msg,
                kind,
                flags,
            } => sys(
                nr::MSGRCV,
                [
                    w(id),
                    msg.as_mut_ptr() as u64,
                    msg.len().saturating_sub(8) as u64,
                    kind as u64,
                    w(flags),
                    0,
                ],
            ),
            IpcOp::MsgControl { id, cmd, buf } => {
                ipc_control(nr::MSGCTL, id, cmd, &[IPC_STAT, 11, 13], buf)
            }
            IpcOp::MqOpen {
                name,
                flags,
                mode,
                attr,
            } => {
                let c = nul_terminated(name);
                let attr = attr.map_or(0, |a| a.as_ptr() as u64);
                // Like every handle, closed on exec of the host (the box never execs it).
                let flags = w(flags) | O_CLOEXEC;
                sys(
                    nr::MQ_OPEN,
                    [c.as_ptr() as u64, flags, u64::from(mode), attr, 0, 0],
                )
            }
            IpcOp::MqUnlink { name } => {
                let c = nul_terminated(name);
                sys(nr::MQ_UNLINK, [c.as_ptr() as u64, 0, 0, 0, 0, 0])
            }
            IpcOp::MqSend {
                queue,
                msg,
                priority,
                deadline,
            } => {
                let ts = deadline.map(|t| [t.sec as u64, t.nsec as u64]);
                sys(
                    nr::MQ_TIMEDSEND,
                    [
                        fd(queue),
                        msg.as_ptr() as u64,
                        msg.len() as u64,
                        u64::from(priority),
                        optional_ptr(&ts),
                        0,
                    ],
                )
            }
            IpcOp::MqReceive {
                queue,
                msg,
                priority,
                deadline,
            } => {
                let ts = deadline.map(|t| [t.sec as u64, t.nsec as u64]);
                sys(
                    nr::MQ_TIMEDRECEIVE,
                    [
                        fd(queue),
                        msg.as_mut_ptr() as u64,
                        msg.len() as u64,
                        core::ptr::from_mut(priority) as u64,
                        optional_ptr(&ts),
                        0,
                    ],
                )
            }
            IpcOp::MqNotify { queue, event } => {
                let ev = event.map_or(0, |e| e.as_ptr() as u64);
                sys(nr::MQ_NOTIFY, [fd(queue), ev, 0, 0, 0, 0])
            }
            IpcOp::MqAttributes { queue, new, old } => {
                let new = new.map_or(0, |a| a.as_ptr() as u64);
                let old = old.map_or(0, |a| a.as_mut_ptr() as u64);
                sys(nr::MQ_GETSETATTR, [fd(queue), new, old, 0, 0, 0])
            }
        }
    }

    fn time_query(&self, clock: Clock) -> Result<Timespec> {
        let mut ts = [0u64; 2];
        sys(
            nr::CLOCK_GETTIME,
            [clock_id(clock), ts.as_mut_ptr() as u64, 0, 0, 0, 0],
        )?;
        Ok(Timespec {
            sec: ts[0] as i64,
            nsec: ts[1] as i64,
        })
    }

    fn time_sleep(&self, clock: Clock, duration: Timespec, absolute: bool) -> Result<()> {
        let ts = [duration.sec as u64, duration.nsec as u64];
        let flags = u64::from(absolute);
        sys_wait(
            nr::CLOCK_NANOSLEEP,
            [clock_id(clock), flags, ts.as_ptr() as u64, 0, 0, 0],
        )
        .map(|_| ())
    }

    fn random_read(&self, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            done += sys(
                nr::GETRANDOM,
                [rest.as_mut_ptr() as u64, rest.len() as u64, 0, 0, 0, 0],
            )? as usize;
        }
        Ok(())
    }

    fn debug_log(&self, message: &str) {
        let mut line = Vec::with_capacity(message.len() + 1);
        line.extend_from_slice(message.as_bytes());
        line.push(b'\n');
        let _ = sys(
            nr::WRITE,
            [2, line.as_ptr() as u64, line.len() as u64, 0, 0, 0],
        );
    }

    fn host_info(&self) -> HostInfo {
        *INFO.get().expect("host_info before init")
    }
}
