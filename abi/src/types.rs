//! Argument and result types of the ABI calls. All are plain data, independent of any host.

/// An object the host holds for the library OS: a file, directory, pipe, socket or terminal.
/// The value is opaque to the library OS (on the Linux host it is a descriptor number).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub struct Handle(pub u32);

/// A range of memory in the picoprocess given to the host by address, for the kernel to fill or
/// drain. The host never dereferences it itself; a bad range yields `EFAULT`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IoBuf {
    /// First byte.
    pub addr: usize,
    /// Length in bytes.
    pub len: usize,
}

impl IoBuf {
    /// The range covering a slice owned by the caller.
    pub fn of(bytes: &[u8]) -> IoBuf {
        IoBuf {
            addr: bytes.as_ptr() as usize,
            len: bytes.len(),
        }
    }
    /// The range covering a mutable slice owned by the caller.
    pub fn of_mut(bytes: &mut [u8]) -> IoBuf {
        IoBuf {
            addr: bytes.as_mut_ptr() as usize,
            len: bytes.len(),
        }
    }
}

/// Memory protection, as the `PROT_*` bits of Linux.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Prot(pub u32);

impl Prot {
    /// No access.
    pub const NONE: Prot = Prot(0);
    /// Readable.
    pub const READ: Prot = Prot(1);
    /// Writable.
    pub const WRITE: Prot = Prot(2);
    /// Executable.
    pub const EXEC: Prot = Prot(4);
    /// Readable and writable.
    pub const READ_WRITE: Prot = Prot(3);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether the protection is both writable and executable, which every host refuses.
    pub fn is_write_exec(self) -> bool {
        self.contains(Prot(Prot::WRITE.0 | Prot::EXEC.0))
    }
}

impl core::ops::BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

/// Where a mapping goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Placement {
    /// Wherever the host finds room (the address is a hint only when non-zero).
    Anywhere(usize),
    /// Exactly here, replacing what is mapped there (`MAP_FIXED`).
    Replace(usize),
    /// Exactly here, failing with `EEXIST` if anything is mapped there (`MAP_FIXED_NOREPLACE`).
    NoReplace(usize),
}

/// How a stream is opened: the `O_*` bits of Linux that the host acts on.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct OpenFlags(pub u32);

#[allow(missing_docs)]
impl OpenFlags {
    pub const READ: OpenFlags = OpenFlags(0);
    pub const WRITE: OpenFlags = OpenFlags(1);
    pub const READ_WRITE: OpenFlags = OpenFlags(2);
    pub const ACCESS_MASK: u32 = 3;
    pub const CREATE: u32 = 0o100;
    pub const EXCLUSIVE: u32 = 0o200;
    pub const NO_CTTY: u32 = 0o400;
    pub const TRUNCATE: u32 = 0o1000;
    pub const APPEND: u32 = 0o2000;
    pub const NONBLOCK: u32 = 0o4000;
    pub const DSYNC: u32 = 0o10000;
    pub const DIRECT: u32 = 0o40000;
    pub const LARGEFILE: u32 = 0o100000;
    pub const DIRECTORY: u32 = 0o200000;
    pub const NOFOLLOW: u32 = 0o400000;
    pub const NOATIME: u32 = 0o1000000;
    pub const CLOEXEC: u32 = 0o2000000;
    pub const SYNC: u32 = 0o4010000;
    pub const PATH: u32 = 0o10000000;
    pub const TMPFILE: u32 = 0o20200000;

    /// Whether the stream may be written.
    pub fn writable(self) -> bool {
        matches!(self.0 & Self::ACCESS_MASK, 1 | 2)
    }
    /// Whether the stream may be read.
    pub fn readable(self) -> bool {
        matches!(self.0 & Self::ACCESS_MASK, 0 | 2)
    }
}

/// A point in time or a duration, as Linux's `struct timespec`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nsec: i64,
}

/// A clock the host can read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Clock {
    /// Wall-clock time (`CLOCK_REALTIME`).
    Realtime,
    /// Time since an arbitrary start, never going backwards (`CLOCK_MONOTONIC`).
    Monotonic,
    /// CPU time consumed by the whole picoprocess.
    ProcessCpu,
    /// CPU time consumed by the calling thread.
    ThreadCpu,
    /// Wall-clock time as of the last tick: cheaper, coarser (`CLOCK_REALTIME_COARSE`).
    RealtimeCoarse,
    /// Monotonic time as of the last tick (`CLOCK_MONOTONIC_COARSE`).
    MonotonicCoarse,
    /// Monotonic time without NTP's rate adjustment (`CLOCK_MONOTONIC_RAW`).
    MonotonicRaw,
    /// Monotonic time that counts suspends too (`CLOCK_BOOTTIME`).
    Boottime,
    /// International atomic time (`CLOCK_TAI`).
    Tai,
}

/// The kind of object behind a stream or path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device (terminals, `/dev/null`).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A pipe or FIFO.
    Fifo,
    /// A socket.
    Socket,
    /// An object without a file type (an anonymous inode: eventfd, epoll, timerfd).
    Anonymous,
}

/// How a timer tells of its expiry (`struct sigevent`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimerNotify {
    /// Not at all (`SIGEV_NONE`): the program asks with `timer_gettime`.
    None,
    /// With `signal` to the process, or to its thread `thread`, carrying `value` in
    /// `si_value`. Without a value: Linux's default for no `sigevent` (`SIGALRM` to the
    /// process, carrying the timer's id); `signal` and `thread` are then not used.
    Signal {
        /// The signal number.
        signal: u8,
        /// `sigev_value`.
        value: Option<u64>,
        /// A thread of the calling process (`SIGEV_THREAD_ID`).
        thread: Option<u32>,
    },
}

/// A timer's setting, or its state when read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TimerSetting {
    /// Time until the next expiry (relative), or its deadline (`absolute`); zero: disarmed.
    pub value: Timespec,
    /// Period after the first expiry; zero: once.
    pub interval: Timespec,
    /// Whether `value` is a deadline on the timer's clock (setting only).
    pub absolute: bool,
    /// Expiries merged into the last signal (state only).
    pub overruns: u32,
    /// For an absolute Realtime deadline of a timer stream: reads fail with `ECANCELED` once
    /// the wall clock is set (setting only).
    pub cancel_on_set: bool,
}

/// Which timer [`crate::Host::timer_set`] arms or reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Timer {
    /// A per-process timer made by `timer_create`, by id.
    Posix(u32),
    /// A timer stream made by `stream_create(NewStream::Timer)`.
    Stream(Handle),
    /// The process's real-time interval timer (`ITIMER_REAL`), which sends `SIGALRM`; its
    /// times are kept to the microsecond.
    Alarm,
    /// The process's virtual interval timer (`ITIMER_VIRTUAL`): counts the process's user CPU
    /// time and sends `SIGVTALRM`; to the microsecond.
    Virtual,
    /// The process's profiling interval timer (`ITIMER_PROF`): counts its user and system CPU
    /// time and sends `SIGPROF`; to the microsecond.
    Profile,
}

/// Attributes of a stream, the host's `stat` reduced to what the library OS reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FileAttr {
    /// Kind of object.
    pub kind: FileKind,
    /// Permission bits (`0o7777`).
    pub perm: u32,
    /// Size in bytes.
    pub size: u64,
    /// Number of 512-byte blocks allocated.
    pub blocks: u64,
    /// Preferred I/O size.
    pub block_size: u32,
    /// Hard links.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device the object lives on.
    pub dev: u64,
    /// Inode number on that device.
    pub ino: u64,
    /// Device number, for device files.
    pub rdev: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

/// One entry of a directory.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// Kind, when the host knows it without a further call.
    pub kind: Option<FileKind>,
    /// Name, without a terminating NUL.
    pub name: alloc::vec::Vec<u8>,
}

/// A change of file times: each field is left alone when `None`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TimesChange {
    /// New access time; `Some(None)` means "now".
    pub atime: Option<Option<Timespec>>,
    /// New modification time; `Some(None)` means "now".
    pub mtime: Option<Option<Timespec>>,
}

/// Where a seek starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Whence {
    /// From the start.
    Start,
    /// From the current position.
    Current,
    /// From the end.
    End,
    /// The first byte of data at or after the offset (`SEEK_DATA`).
    Data,
    /// The first hole at or after the offset (`SEEK_HOLE`; the end of a file is a hole).
    Hole,
}

/// A question about a terminal or stream that Linux answers with `ioctl`. The set is closed:
/// the ABI has no general device-control call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StreamQuery<'a> {
    /// The terminal attributes (`TCGETS`): 36 bytes of `struct termios`.
    TerminalAttributes,
    /// The terminal size (`TIOCGWINSZ`): 8 bytes of `struct winsize`.
    WindowSize,
    /// How many bytes a read would return at once (`FIONREAD`): a 4-byte count.
    BytesAvailable,
    /// The file system holding the stream (`fstatfs`): 120 bytes of Linux's `struct statfs`
    /// (type, block size, block and file counts, id, name length, mount flags).
    FileSystem,
    /// A pipe's capacity in bytes (`F_GETPIPE_SZ`): a 4-byte count.
    PipeCapacity,
    /// The lease held on the file through this stream (`F_GETLEASE`): a 4-byte `F_RDLCK`
    /// (0), `F_WRLCK` (1) or `F_UNLCK` (2).
    Lease,
    /// Of a terminal, a 4-byte answer to the `ioctl` [`TerminalQuestion`] names.
    Terminal(TerminalQuestion),
    /// Whether the open that made this stream created its file (`F_CREATED_QUERY`): a
    /// 4-byte 1 or 0.
    Created,
    /// The value of the file's extended attribute of this name (`fgetxattr`); with an empty
    /// `out`, only its length. Errors: `ENODATA`, `ERANGE` (`out` too small), `EACCES`.
    Attribute(&'a [u8]),
    /// The names of the file's extended attributes, each followed by a NUL (`flistxattr`);
    /// with an empty `out`, only their length. Errors: `ERANGE`.
    AttributeNames,
    /// Of a TCP socket, whether the urgent mark is next (`SIOCATMARK`): a 4-byte 1 or 0.
    /// Errors: `ENOTTY` (another kind of socket).
    AtMark,
    /// The interfaces of the box's network that have an address (`SIOCGIFCONF`): `struct
    /// ifreq`s (40 bytes each) into `out`; returns their length. Only with a network.
    Interfaces,
    /// One `SIOCGIF*` request about one interface: `out` holds a 40-byte `struct ifreq` naming
    /// it (by name, or by index for `SIOCGIFNAME`) and receives the answer. The requests:
    /// name (0x8910), flags, address, point-to-point and broadcast addresses, netmask, MTU,
    /// index (0x8933). Only with a network. Errors: `ENODEV`, `EADDRNOTAVAIL`, `EINVAL`.
    Interface(u32),
    /// Of a file, its pages in the page cache from `offset`, `len` bytes (0: to the end), as
    /// `cachestat`: 40 bytes of `struct cachestat` (cached, dirty, under writeback, evicted,
    /// recently evicted). The kernel answers only for files the caller could write, or owns.
    /// Errors: `EOPNOTSUPP` (hugetlbfs), `EPERM`.
    PageCache {
        /// First byte.
        offset: u64,
        /// Bytes.
        len: u64,
    },
}

/// What [`StreamQuery::Terminal`] asks of a terminal or pseudo-terminal; each answer is a
/// 4-byte integer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TerminalQuestion {
    /// The number `N` of a pseudo-terminal master's `/dev/pts/N` (`TIOCGPTN`).
    PtyNumber,
    /// Whether a master's peer is still locked (`TIOCGPTLCK`).
    PtyLocked,
    /// The foreground process group (`TIOCGPGRP`).
    ForegroundGroup,
    /// The session the terminal controls (`TIOCGSID`).
    Session,
    /// Bytes written but not yet sent (`TIOCOUTQ`).
    OutputPending,
    /// Whether a master is in packet mode (`TIOCGPKT`).
    PacketMode,
    /// Whether the terminal is in exclusive mode (`TIOCGEXCL`).
    Exclusive,
    /// The line discipline (`TIOCGETD`).
    LineDiscipline,
}

/// A change [`StreamSetting::Terminal`] makes to a terminal or pseudo-terminal. Never one that
/// reaches past the terminal itself: no input injection (`TIOCSTI`), console redirection
/// (`TIOCCONS`), line discipline change or virtual-console control.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TerminalChange {
    /// New attributes, 36 bytes of `struct termios`: at once, after output drains, or after
    /// it drains with pending input discarded (`TCSETS`, `TCSETSW`, `TCSETSF`).
    Attributes {
        /// 0 now, 1 after draining, 2 after draining and flushing input.
        when: u8,
        /// `struct termios`.
        termios: [u8; 36],
    },
    /// The window size, 8 bytes of `struct winsize` (`TIOCSWINSZ`); the foreground group gets
    /// `SIGWINCH`.
    WindowSize([u8; 8]),
    /// Locks or unlocks a master's peer (`TIOCSPTLCK`).
    PtyLock(bool),
    /// Makes group `pgid` of the terminal's session the foreground group (`TIOCSPGRP`).
    ForegroundGroup(u32),
    /// Makes the terminal the calling session leader's controlling terminal (`TIOCSCTTY`);
    /// `steal` takes it from another session (privileged).
    BecomeControlling {
        /// Take it from the session that has it.
        steal: bool,
    },
    /// Gives up the caller's controlling terminal (`TIOCNOTTY`).
    GiveUpControlling,
    /// Discards queued input (0), output (1) or both (2) (`TCFLSH`).
    Flush(u32),
    /// Suspends (0) or restarts (1) output, or sends STOP (2) or START (3) (`TCXONC`).
    Flow(u32),
    /// Drains output, then sends a break if `0` (`TCSBRK`).
    Break(u32),
    /// Switches a master's packet mode (`TIOCPKT`).
    PacketMode(bool),
    /// Switches exclusive mode (`TIOCEXCL`, `TIOCNXCL`).
    Exclusive(bool),
    /// From a master: sends signal `n` to the peer's foreground group (`TIOCSIG`).
    Signal(u32),
}

/// What [`crate::Host::stream_set`] changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StreamSetting<'a> {
    /// Non-blocking mode, append mode and I/O notices.
    Flags {
        /// `O_NONBLOCK`.
        nonblocking: bool,
        /// `O_APPEND`.
        append: bool,
        /// `O_ASYNC`: the host signals the stream's owner ([`StreamSetting::Owner`]) when it
        /// becomes readable or writable, with `SIGIO` or the [`StreamSetting::NotifySignal`].
        notices: bool,
    },
    /// Who the host signals about the stream (I/O notices, lease breaks): thread (0), process
    /// (1) or process group (2) `id` of the box, or nobody (`id` 0). Linux: `F_SETOWN_EX`.
    /// Errors: `ESRCH`, `EINVAL`.
    Owner {
        /// `F_OWNER_TID`, `F_OWNER_PID`, `F_OWNER_PGRP`.
        kind: u32,
        /// Its id.
        id: u32,
    },
    /// A pipe's capacity, at least this many bytes (rounded up to a power-of-two number of
    /// pages; above `/proc/sys/fs/pipe-max-size` only with privileges the box lacks).
    PipeCapacity(u32),
    /// Takes (`F_RDLCK` 0, `F_WRLCK` 1) or gives up (`F_UNLCK` 2) a lease on the stream's
    /// file; the host then signals the calling process when another opener breaks it
    /// (`F_SETLEASE`). Errors: `EAGAIN` (conflicting opens), `EACCES` (not the file's owner),
    /// `EINVAL`.
    Lease(u32),
    /// Asks to be signalled when the directory, or an entry of it, changes as `mask` says
    /// (`DN_ACCESS` ... `DN_MULTISHOT`; `F_NOTIFY`). Errors: `ENOTDIR`, `EINVAL`.
    DirectoryNotify(u32),
    /// A change to a terminal ([`TerminalChange`]).
    Terminal(TerminalChange),
    /// The signal the host sends for the stream's lease breaks and directory changes (0:
    /// `SIGIO` without details; another number: that signal, with `si_code` `POLL_MSG` and
    /// `si_fd` the stream's handle; `F_SETSIG`).
    NotifySignal(u32),
    /// For a watcher ([`NewStream::Watcher`]): watch the file or directory `target` (a handle
    /// opened with [`OpenFlags::PATH`]) for the changes `mask` names (`IN_ACCESS` ...,
    /// `IN_ONESHOT`, `IN_MASK_ADD`, `IN_EXCL_UNLINK`, `IN_ONLYDIR`); returns the watch's number.
    /// The host checks the box's read permission on `target`. Errors: `EACCES`, `EBADF`,
    /// `EEXIST` (`IN_MASK_CREATE` on a watched file), `EINVAL`, `ENOSPC` (too many watches),
    /// `ENOTDIR` (`IN_ONLYDIR`). Linux: `inotify_add_watch`.
    Watch {
        /// What to watch.
        target: Handle,
        /// Which changes.
        mask: u32,
    },
    /// For a watcher: ends watch number `n`, which queues its `IN_IGNORED` event. Errors:
    /// `EINVAL` (no such watch). Linux: `inotify_rm_watch`.
    Unwatch(i32),
    /// Sets (`value` given; `flags` `XATTR_CREATE` 1, `XATTR_REPLACE` 2) or removes the file's
    /// extended attribute `name` (`fsetxattr`, `fremovexattr`). The kernel checks the box's
    /// permission on the file; a read-only mount is `EROFS`. Errors: `EEXIST`, `ENODATA`,
    /// `EPERM`, `EACCES`, `ENOSPC`, `E2BIG`, `EOPNOTSUPP`.
    Attribute {
        /// The attribute's full name (`user.comment`), without a NUL.
        name: &'a [u8],
        /// The new value, or `None` to remove it.
        value: Option<&'a [u8]>,
        /// `XATTR_CREATE`, `XATTR_REPLACE`.
        flags: u32,
    },
}

/// What [`crate::Host::stream_create`] makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NewStream {
    /// An event counter starting at `initial`: reads take the count (or 1 with `semaphore`),
    /// writes add to it, and it is ready for reading while non-zero (`eventfd2`).
    Event {
        /// The first count.
        initial: u32,
        /// Reads take 1 at a time.
        semaphore: bool,
    },
    /// A timer on a clock (Realtime, Monotonic or Boottime), armed with
    /// [`crate::Host::timer_set`]: a read takes the number of expiries since the last read (8
    /// bytes), and it is ready for reading once it has expired (`timerfd_create`).
    Timer(Clock),
    /// A file watcher: reads take Linux's `struct inotify_event` records for the watches
    /// [`StreamSetting::Watch`] adds (`inotify_init1`).
    Watcher,
}

/// Readiness a caller waits for or was told about, as `poll` events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PollEntry {
    /// The stream.
    pub handle: Handle,
    /// Events wanted (`POLLIN` = 1, `POLLOUT` = 4).
    pub events: u16,
    /// Events that happened, filled by the host.
    pub revents: u16,
}

/// Facts about the host that the library OS needs at start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HostInfo {
    /// Page size in bytes.
    pub page_size: usize,
    /// CPUs this picoprocess may run on.
    pub cpus: u32,
    /// Total memory the box may use, in bytes.
    pub memory_limit: u64,
    /// Hardware capability bits to report in `AT_HWCAP`.
    pub hwcap: u64,
    /// Further capability bits for `AT_HWCAP2`.
    pub hwcap2: u64,
    /// Address of a vDSO image the program may use, if the host offers one.
    pub vdso: Option<usize>,
    /// Minimum signal stack size the hardware needs (`AT_MINSIGSTKSZ`).
    pub min_signal_stack: usize,
    /// Address of the host's syscall gate, given to the program in the auxiliary vector so
    /// that tests can show that calling it directly grants nothing.
    pub gate: usize,
    /// The host's own memory in the picoprocess, `[start, end)` each (its code and data, its
    /// heap, its threads' blocks): the library OS keeps the program's memory calls and buffers
    /// out of it, as Linux keeps programs out of the kernel's addresses.
    pub runtime_ranges: [(usize, usize); 3],
    /// Memory every process of the box shares, `[start, end)` inside the runtime's ranges: zero
    /// when the box starts, inherited by every process it forks, kept across exec. The library
    /// OS keeps tables there that its processes read of each other (their run states). Any
    /// process of the box may write it, so nothing read from it is trusted.
    pub box_shared: (usize, usize),
}

/// The [`crate::Host::futex`] operation that waits on several futexes (`futex_waitv`): the
/// last command number of Linux's mask (`FUTEX_CMD_MASK`), which Linux does not use.
pub const FUTEX_WAITV: u32 = 127;

/// How [`crate::Host::process_exit`] ends a process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProcessEnd {
    /// With this exit status.
    Status(u8),
    /// As if killed by this signal.
    Signal(u8),
}

/// A process-group or session operation (see [`crate::Host::process_group`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GroupOp {
    /// `setpgid(pid, pgid)` (0 means the caller / the pid).
    SetGroup {
        /// Process.
        pid: u32,
        /// New group.
        pgid: u32,
    },
    /// `getpgid(pid)`.
    GetGroup {
        /// Process (0: the caller).
        pid: u32,
    },
    /// `setsid()`.
    NewSession,
    /// `getsid(pid)`.
    GetSession {
        /// Process (0: the caller).
        pid: u32,
    },
    /// A resource limit of the caller's that the kernel enforces with signals: `RLIMIT_CPU`
    /// (0: SIGXCPU, then SIGKILL) or `RLIMIT_FSIZE` (1: SIGXFSZ and `EFBIG`); other
    /// resources are `EINVAL` (the library OS keeps them). `prlimit64(0, resource, ...)`.
    SetLimit {
        /// `RLIMIT_CPU` or `RLIMIT_FSIZE`.
        resource: u32,
        /// Soft limit.
        soft: u64,
        /// Hard limit.
        hard: u64,
    },
    /// Makes the caller a subreaper of its descendants, or not: orphans among them become
    /// its children (`prctl(PR_SET_CHILD_SUBREAPER)`).
    Subreaper(bool),
}

/// The program's registers at an upcall (a trapped system call, a signal, a fault), in the
/// order of Linux's `struct sigcontext`; see [`reg`] for indices. The library OS may change
/// them: the program resumes with what they hold when the upcall returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CpuContext {
    /// General registers, instruction pointer and flags.
    pub regs: [u64; 18],
    /// Address of the saved floating-point state (XSAVE layout), 0 if none.
    pub fpstate: usize,
    /// Its size in bytes.
    pub fpstate_len: usize,
}

/// Indices into [`CpuContext::regs`].
#[allow(missing_docs)]
pub mod reg {
    pub const R8: usize = 0;
    pub const R9: usize = 1;
    pub const R10: usize = 2;
    pub const R11: usize = 3;
    pub const R12: usize = 4;
    pub const R13: usize = 5;
    pub const R14: usize = 6;
    pub const R15: usize = 7;
    pub const RDI: usize = 8;
    pub const RSI: usize = 9;
    pub const RBP: usize = 10;
    pub const RBX: usize = 11;
    pub const RDX: usize = 12;
    pub const RAX: usize = 13;
    pub const RCX: usize = 14;
    pub const RSP: usize = 15;
    pub const RIP: usize = 16;
    pub const EFLAGS: usize = 17;
}

/// Whose process id [`crate::Host::process_id`] gives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Whose {
    /// The calling process's (remembered after the first call, until a fork).
    Caller,
    /// Its parent's.
    Parent,
    /// The calling thread's (remembered per thread).
    Thread,
}

/// What [`crate::Host::thread_cpus`] asks or does.
#[derive(PartialEq, Eq, Debug)]
pub enum CpusOp<'a> {
    /// The mask of CPUs the thread may run on, into the buffer (a multiple of 8 bytes).
    Allowed(&'a mut [u8]),
    /// Let the thread run only on the CPUs of this mask.
    Restrict(&'a [u8]),
    /// The CPU (and node) the caller runs on now.
    Current,
}

/// What [`crate::Host::vm_pages`] asks about or does to a range of the caller's pages.
#[derive(PartialEq, Eq, Debug)]
pub enum PagesOp<'a> {
    /// One byte per page, bit 0 set if the page is in memory now (`mincore`).
    Residency(&'a mut [u8]),
    /// Fault every page in, for writing (breaking copy-on-write sharing) or only for reading,
    /// as `mlock` and `MAP_POPULATE` do (`madvise(MADV_POPULATE_WRITE or _READ)`).
    Populate {
        /// For writing.
        write: bool,
    },
}

/// Where [`crate::Host::vm_remap`] may put the mapping.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Remap {
    /// Where it is (`ENOMEM` if it cannot grow there).
    InPlace,
    /// Anywhere (`MREMAP_MAYMOVE`).
    MayMove,
    /// At `to` (anywhere if `None`), replacing what is mapped there (`MREMAP_FIXED`); with
    /// `keep_old`, the old range stays mapped, empty (`MREMAP_DONTUNMAP`).
    MoveTo {
        /// The new address.
        to: Option<usize>,
        /// `MREMAP_DONTUNMAP`.
        keep_old: bool,
    },
    /// Where it is, the same lengths, now mapping the pages of the range's own shared file
    /// (or System V segment) from page `page` on (Linux's `remap_file_pages`): `EINVAL` for
    /// a range that is not one shared file mapping, `EIDRM`/`EINVAL` once its segment is gone.
    FilePages {
        /// The first page of the file the range maps from now on.
        page: u64,
    },
}

/// Whose resource usage [`crate::Host::process_usage`] reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UsageOf {
    /// The calling process, all its threads.
    Process,
    /// The calling thread.
    Thread,
    /// The caller's children that ended and were waited for, and theirs.
    Children,
}

/// A lock request on an open stream, as Linux's three lock families ask it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LockRequest {
    /// POSIX record lock of the calling process (`F_SETLK`; `wait`: `F_SETLKW`).
    Process {
        /// Wait for a conflicting lock to go.
        wait: bool,
    },
    /// Which lock would conflict with this one (`F_GETLK`): the range is rewritten.
    ProcessQuery,
    /// Lock of the open file description (`F_OFD_SETLK`, `F_OFD_SETLKW`).
    OpenFile {
        /// Wait for a conflicting lock to go.
        wait: bool,
    },
    /// `F_OFD_GETLK`.
    OpenFileQuery,
    /// Whole-file lock (`flock`): `LOCK_SH`, `LOCK_EX` or `LOCK_UN`, with `LOCK_NB`; the range
    /// is not used.
    WholeFile(u32),
}

/// A byte range and the kind of lock on it: Linux's `struct flock`, field for field.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RangeLock {
    /// `F_RDLCK` (0), `F_WRLCK` (1) or `F_UNLCK` (2).
    pub kind: u16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`: where `start` counts from.
    pub whence: u16,
    /// First byte.
    pub start: i64,
    /// Length (0: to the end, and beyond).
    pub len: i64,
    /// For a query, the process holding the conflicting lock (-1 for an open-file lock).
    pub pid: i32,
}

/// What a new link names (`Host::stream_make_link`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkTarget<'a> {
    /// A symbolic link with this target (followed by the library OS, never by the host).
    Symbolic(&'a [u8]),
    /// A hard link to the existing entry `path` under `dir` (same mount only).
    Hard {
        /// The directory `path` is under.
        dir: Handle,
        /// The existing file, as resolved by the library OS.
        path: &'a [u8],
    },
}

/// One System V IPC operation ([`crate::Host::ipc`]), on the box's own IPC namespace. Ids,
/// keys, flags and commands are Linux's; buffers are the library OS's, of the exact size of
/// the structure the command reads or writes (Linux's x86-64 layouts), or empty.
#[derive(Debug)]
pub enum IpcOp<'a> {
    /// `shmget(key, size, flags)`: a segment's id.
    ShmGet {
        /// `IPC_PRIVATE` (0) or a key.
        key: i32,
        /// Bytes.
        size: usize,
        /// `IPC_CREAT`, `IPC_EXCL`, `SHM_HUGETLB`... and permission bits.
        flags: i32,
    },
    /// `shmat(id, addr, flags)`: the address it is attached at. The library OS checks a given
    /// address against its own memory first.
    ShmAttach {
        /// The segment.
        id: i32,
        /// Where (0: where the host finds room).
        addr: usize,
        /// `SHM_RDONLY`, `SHM_RND`, `SHM_REMAP`, `SHM_EXEC`.
        flags: i32,
    },
    /// `shmdt(addr)`.
    ShmDetach {
        /// An address a segment was attached at.
        addr: usize,
    },
    /// `shmctl(id, cmd, buf)`.
    ShmControl {
        /// The segment (or an index, for `SHM_STAT`).
        id: i32,
        /// `IPC_STAT`, `IPC_SET`, `IPC_RMID`, `IPC_INFO`, `SHM_INFO`, `SHM_STAT`...
        cmd: i32,
        /// `struct shmid_ds`, `shminfo` or `shm_info` as `cmd` needs, or empty.
        buf: &'a mut [u8],
    },
    /// `semget(key, count, flags)`.
    SemGet {
        /// `IPC_PRIVATE` (0) or a key.
        key: i32,
        /// Semaphores in the set.
        count: i32,
        /// `IPC_CREAT`, `IPC_EXCL` and permission bits.
        flags: i32,
    },
    /// `semtimedop(id, ops, timeout)`.
    SemOp {
        /// The set.
        id: i32,
        /// `struct sembuf` records (6 bytes each).
        ops: &'a [u8],
        /// How long to wait at most (none: as long as it takes).
        timeout: Option<Timespec>,
    },
    /// `semctl(id, num, cmd, arg)`: `arg` is `value` for `SETVAL`, else `buf`.
    SemControl {
        /// The set (or an index, for `SEM_STAT`).
        id: i32,
        /// The semaphore, for the commands about one.
        num: i32,
        /// `IPC_STAT`, `IPC_SET`, `IPC_RMID`, `GETVAL`, `SETVAL`, `GETALL`, `SETALL`...
        cmd: i32,
        /// `SETVAL`'s value.
        value: i32,
        /// `struct semid_ds`, `seminfo`, or the values (`u16` each) as `cmd` needs, or empty.
        buf: &'a mut [u8],
    },
    /// `msgget(key, flags)`.
    MsgGet {
        /// `IPC_PRIVATE` (0) or a key.
        key: i32,
        /// `IPC_CREAT`, `IPC_EXCL` and permission bits.
        flags: i32,
    },
    /// `msgsnd(id, msg, size, flags)`: `msg` is the type (8 bytes) then the text.
    MsgSend {
        /// The queue.
        id: i32,
        /// Type and text.
        msg: &'a [u8],
        /// `IPC_NOWAIT`.
        flags: i32,
    },
    /// `msgrcv(id, msg, size, kind, flags)`: the text's length.
    MsgReceive {
        /// The queue.
        id: i32,
        /// Room for the type (8 bytes) and the text.
        msg: &'a mut [u8],
        /// Which message: 0 the first, > 0 the first of that type, < 0 the lowest type up to it.
        kind: i64,
        /// `IPC_NOWAIT`, `MSG_NOERROR`, `MSG_EXCEPT`, `MSG_COPY`.
        flags: i32,
    },
    /// `msgctl(id, cmd, buf)`.
    MsgControl {
        /// The queue (or an index, for `MSG_STAT`).
        id: i32,
        /// `IPC_STAT`, `IPC_SET`, `IPC_RMID`, `IPC_INFO`, `MSG_INFO`, `MSG_STAT`...
        cmd: i32,
        /// `struct msqid_ds`, `msginfo` as `cmd` needs, or empty.
        buf: &'a mut [u8],
    },
    /// `mq_open(name, flags, mode, attr)`: a POSIX message queue of the box's IPC namespace
    /// (its names are the namespace's, not paths); returns the queue's handle.
    MqOpen {
        /// The name, without the leading `/`.
        name: &'a [u8],
        /// `O_RDONLY`, `O_WRONLY`, `O_RDWR`, `O_CREAT`, `O_EXCL`, `O_NONBLOCK`.
        flags: i32,
        /// Permission bits for a new queue.
        mode: u32,
        /// `struct mq_attr` (64 bytes) for a new queue, or none for the defaults.
        attr: Option<&'a [u8; 64]>,
    },
    /// `mq_unlink(name)`.
    MqUnlink {
        /// The name, without the leading `/`.
        name: &'a [u8],
    },
    /// `mq_timedsend(queue, msg, priority, deadline)`.
    MqSend {
        /// The queue's handle.
        queue: Handle,
        /// The message.
        msg: &'a [u8],
        /// Its priority.
        priority: u32,
        /// An absolute `CLOCK_REALTIME` deadline, or none to wait as long as it takes.
        deadline: Option<Timespec>,
    },
    /// `mq_timedreceive(queue, msg, priority, deadline)`: the message's length; its priority
    /// into `priority`.
    MqReceive {
        /// The queue's handle.
        queue: Handle,
        /// Room for the message (at least the queue's `mq_msgsize`).
        msg: &'a mut [u8],
        /// The received message's priority.
        priority: &'a mut u32,
        /// As for `MqSend`.
        deadline: Option<Timespec>,
    },
    /// `mq_notify(queue, sigevent)`: a signal to the caller (`SIGEV_SIGNAL`) or nothing
    /// (`SIGEV_NONE`) when a message arrives in the empty queue; none removes the request.
    MqNotify {
        /// The queue's handle.
        queue: Handle,
        /// `struct sigevent` (64 bytes).
        event: Option<&'a [u8; 64]>,
    },
    /// `mq_getsetattr(queue, new, old)`: sets `O_NONBLOCK` from `new`'s flags, and fills
    /// `old` with the attributes before.
    MqAttributes {
        /// The queue's handle.
        queue: Handle,
        /// `struct mq_attr` whose `mq_flags` to set, or none.
        new: Option<&'a [u8; 64]>,
        /// `struct mq_attr` to fill, or none.
        old: Option<&'a mut [u8; 64]>,
    },
}
