//! The system-call table: number → name, handler, support level. The same data dispatches
//! calls, prints `picobox syscalls`, and is checked by tests.
//!
//! Every handler has one signature, [`Handler`], decodes its own arguments with checked
//! conversions, and returns `Result<u64>`; only [`dispatch`] turns an `Err(errno)` into `-errno`.

pub mod aio;
mod cmsg;
pub mod creds;
pub mod epoll;
pub mod exec;
pub mod files;
pub mod fs;
pub mod handles;
pub mod info;
pub mod inotify;
pub mod kcmp;
pub mod keys;
pub mod mm;
pub mod mqueue;
mod names;
pub mod namespaces;
pub mod net;
pub mod pidfd;
pub mod poll;
pub mod process;
pub mod process_vm;
pub mod ptrace;
pub mod sched;
pub mod signal;
pub(crate) mod signal_queue;
pub mod signalfd;
pub mod splice;
pub mod sysv;
pub mod time;
pub mod timer;
pub(crate) mod unix_names;
pub mod xattr;

use crate::kernel::{host, Kernel, Return};
use picobox_abi::{reg, CpuContext, Errno, Result};

pub use names::LINUX_SYSCALLS;

/// Raw arguments in `rdi, rsi, rdx, r10, r8, r9` order.
pub type Args = [u64; 6];

/// A system-call handler.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Returns a value in `rax` and resumes the caller where it was (nearly every call).
    Plain(fn(&mut Kernel, &Args) -> Result<u64>),
    /// May resume the caller elsewhere (`fork` on a new stack, `execve`).
    Control(fn(&mut Kernel, &Args) -> Result<Return>),
    /// Works on the caller's registers directly (`rt_sigreturn`): on success the handler has
    /// set them all, `rax` included.
    Context(fn(&mut Kernel, &Args, &mut CpuContext) -> Result<()>),
    /// May block: runs without the library OS's lock, taking it only briefly through
    /// `kernel::with`, so that other threads go on meanwhile.
    Blocking(fn(&Args) -> Result<u64>),
    /// May block and works on the caller's registers (`rt_sigsuspend`, `pause`).
    BlockingContext(fn(&Args, &mut CpuContext) -> Result<()>),
}

/// How completely a call is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// As Linux does it.
    Full,
    /// Works for the common cases; the note says what differs.
    Partial(&'static str),
}

/// One implemented system call.
pub struct Entry {
    /// Linux x86-64 number.
    pub nr: u16,
    /// Linux name.
    pub name: &'static str,
    /// Handler.
    pub handler: Handler,
    /// Support level.
    pub support: Support,
}

/// A file-descriptor argument. Linux reads it as a C `int`: the upper 32 bits are ignored,
/// and negative values are `EBADF`.
pub fn fd_arg(v: u64) -> Result<u64> {
    u64::try_from(int_arg(v)).map_err(|_| Errno::EBADF)
}

/// An `int` argument: Linux ignores the upper 32 bits of the register, and so do we.
pub fn int_arg(v: u64) -> i32 {
    (v & 0xffff_ffff) as u32 as i32
}

macro_rules! table {
    ($($nr:literal $name:ident $kind:tt $handler:path $(, $note:literal)?;)*) => {
        /// Every implemented call, by ascending number. The arrow says the handler's kind:
        /// `=>` plain, `>>` may resume the caller elsewhere, `>>=` sets the caller's registers,
        /// `->` may block (runs unlocked), `<<=` may block and sets the caller's registers.
        pub const TABLE: &[Entry] = &[$(Entry {
            nr: $nr,
            name: stringify!($name),
            handler: table!(@handler $kind $handler),
            support: table!(@support $($note)?),
        },)*];
    };
    (@handler => $h:path) => { Handler::Plain($h) };
    (@handler >> $h:path) => { Handler::Control($h) };
    (@handler >>= $h:path) => { Handler::Context($h) };
    (@handler -> $h:path) => { Handler::Blocking($h) };
    (@handler <<= $h:path) => { Handler::BlockingContext($h) };
    (@support) => { Support::Full };
    (@support $note:literal) => { Support::Partial($note) };
}

table! {
    0 read -> fs::sys_read;
    1 write -> fs::sys_write;
    2 open -> fs::sys_open, "as openat";
    3 close => fs::sys_close;
    4 stat => fs::sys_stat;
    5 fstat => fs::sys_fstat;
    6 lstat => fs::sys_lstat;
    7 poll -> poll::sys_poll;
    8 lseek => fs::sys_lseek;
    9 mmap => mm::sys_mmap, "writable MAP_SHARED file mappings: ENODEV";
    10 mprotect => mm::sys_mprotect;
    11 munmap => mm::sys_munmap;
    12 brk => mm::sys_brk;
    13 rt_sigaction => signal::sys_rt_sigaction;
    14 rt_sigprocmask => signal::sys_rt_sigprocmask;
    15 rt_sigreturn >>= signal::sys_rt_sigreturn;
    16 ioctl => fs::sys_ioctl, "terminals (attributes, sizes, pseudo-terminal numbers and locks, TIOCGPTPEER, job control, flush, flow, break, packet and exclusive modes, TIOCSIG), FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC (recorded; SIGIO is never sent); TIOCSTI and others ENOTTY";
    17 pread64 -> fs::sys_pread64;
    18 pwrite64 -> fs::sys_pwrite64;
    19 readv -> fs::sys_readv;
    20 writev -> fs::sys_writev;
    21 access => fs::sys_access;
    22 pipe => fs::sys_pipe;
    23 select -> poll::sys_select;
    24 sched_yield -> info::sys_sched_yield;
    25 mremap => mm::sys_mremap, "a fixed destination must be the program's memory (ENOMEM where the runtime lives)";
    26 msync => mm::sys_msync, "checks as Linux; shared mappings are the host's page cache (fsync makes them durable)";
    27 mincore => mm::sys_mincore, "the host's residency of the pages";
    28 madvise => mm::sys_madvise, "MADV_DONTNEED and MADV_POPULATE_READ/WRITE act; other known advice is accepted and has no effect";
    29 shmget => sysv::sys_shmget, "in the box's own IPC namespace, bounded by --memory";
    30 shmat => sysv::sys_shmat;
    31 shmctl => sysv::sys_shmctl;
    32 dup => fs::sys_dup;
    33 dup2 => fs::sys_dup2;
    34 pause <<= signal::sys_pause;
    35 nanosleep -> time::sys_nanosleep;
    36 getitimer => time::sys_getitimer;
    37 alarm => time::sys_alarm;
    38 setitimer => time::sys_setitimer;
    39 getpid >> process::sys_getpid;
    40 sendfile -> fs::sys_sendfile;
    41 socket => net::sys_socket, "Unix (stream, datagram, seqpacket); TCP and UDP over IPv4 and IPv6 (TCP only on the host's network); no MPTCP, SCTP or ICMP (EPROTONOSUPPORT)";
    42 connect -> net::sys_connect;
    43 accept -> net::sys_accept;
    44 sendto -> net::sys_sendto, "MSG_FASTOPEN connects first (as connect), then sends";
    45 recvfrom -> net::sys_recvfrom;
    46 sendmsg -> net::sys_sendmsg, "ancillary data: SCM_RIGHTS of host-backed descriptors only; MSG_FASTOPEN connects first";
    47 recvmsg -> net::sys_recvmsg, "ancillary data: SCM_RIGHTS only";
    48 shutdown => net::sys_shutdown;
    49 bind => net::sys_bind;
    50 listen => net::sys_listen;
    51 getsockname => net::sys_getsockname;
    52 getpeername => net::sys_getpeername;
    53 socketpair => net::sys_socketpair, "AF_UNIX";
    54 setsockopt => net::sys_setsockopt, "TCP_FASTOPEN_CONNECT accepted and ignored (connect connects at once)";
    55 getsockopt => net::sys_getsockopt;
    56 clone >>= process::sys_clone, "processes, and threads (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND)";
    57 fork >> process::sys_fork;
    58 vfork >> process::sys_vfork, "a copy-on-write fork; the parent is not suspended";
    59 execve <<= exec::sys_execve, "static, static-pie and dynamic ELF (through its PT_INTERP loader) and #! scripts, loaded into the same process";
    60 exit -> info::sys_exit;
    61 wait4 -> process::sys_wait4;
    62 kill => signal::sys_kill;
    63 uname => info::sys_uname;
    64 semget => sysv::sys_semget;
    65 semop -> sysv::sys_semop;
    66 semctl => sysv::sys_semctl;
    67 shmdt => sysv::sys_shmdt;
    68 msgget => sysv::sys_msgget, "at most 64 queues";
    69 msgsnd -> sysv::sys_msgsnd;
    70 msgrcv -> sysv::sys_msgrcv;
    71 msgctl => sysv::sys_msgctl;
    72 fcntl -> fs::sys_fcntl, "F_DUPFD, F_GETFD/SETFD, F_GETFL/SETFL, F_GETPIPE_SZ/SETPIPE_SZ; F_GETOWN/SETOWN, F_GETOWN_EX/SETOWN_EX recorded (SIGIO for readiness is never sent); record and open-file locks, leases (F_SETLEASE/GETLEASE) and directory notices (F_NOTIFY) are the host's, signalled with F_SETSIG's signal; F_CREATED_QUERY; others (seals) EINVAL";
    73 flock -> fs::sys_flock;
    74 fsync => fs::sys_fsync;
    75 fdatasync => fs::sys_fdatasync;
    76 truncate => fs::sys_truncate;
    77 ftruncate => fs::sys_ftruncate;
    78 getdents => fs::sys_getdents;
    79 getcwd => fs::sys_getcwd;
    80 chdir => fs::sys_chdir;
    81 fchdir => fs::sys_fchdir;
    82 rename => fs::sys_rename;
    83 mkdir => fs::sys_mkdir;
    84 rmdir => fs::sys_rmdir;
    85 creat -> fs::sys_creat;
    86 link => fs::sys_link, "within one mount (EXDEV across mounts, as Linux)";
    87 unlink => fs::sys_unlink;
    88 symlink => fs::sys_symlink;
    89 readlink => fs::sys_readlink;
    90 chmod => fs::sys_chmod, "set-user-ID and set-group-ID bits: EPERM";
    91 fchmod => fs::sys_fchmod, "set-user-ID and set-group-ID bits: EPERM";
    92 chown => fs::sys_chown, "the box's root: accepted, not recorded (the host file keeps its owner); others only to the current owner and group";
    93 fchown => fs::sys_fchown, "only to the current owner and group";
    94 lchown => fs::sys_lchown, "only to the current owner and group";
    95 umask => fs::sys_umask;
    96 gettimeofday => time::sys_gettimeofday;
    97 getrlimit => info::sys_getrlimit;
    98 getrusage => info::sys_getrusage, "CPU time as the host counts it, all as user time; RUSAGE_CHILDREN and the other counters: 0";
    99 sysinfo => info::sys_sysinfo;
    100 times => info::sys_times, "the process's CPU time, all as user time; the children's: 0";
    101 ptrace => ptrace::sys_ptrace, "of the caller's children: TRACEME, ATTACH, SEIZE, signal-delivery stops, CONT, DETACH, KILL, PEEK/POKE of memory and struct user, GETREGS, SETREGS, GET/SETSIGINFO; debug registers recorded, never armed; no system-call stops, single steps, options or register sets (EIO)";
    102 getuid => creds::sys_getuid;
    104 getgid => creds::sys_getgid;
    105 setuid => creds::sys_setuid, "the box's own ids (the host sees one user); root is whoever has effective uid 0";
    106 setgid => creds::sys_setgid, "as setuid";
    107 geteuid => creds::sys_geteuid;
    108 getegid => creds::sys_getegid;
    109 setpgid >> process::sys_setpgid;
    110 getppid >> process::sys_getppid;
    111 getpgrp >> process::sys_getpgrp;
    112 setsid >> process::sys_setsid;
    113 setreuid => creds::sys_setreuid, "as setuid";
    114 setregid => creds::sys_setregid, "as setuid";
    115 getgroups => creds::sys_getgroups;
    116 setgroups => creds::sys_setgroups, "as setuid";
    117 setresuid => creds::sys_setresuid, "as setuid";
    118 getresuid => creds::sys_getresuid;
    119 setresgid => creds::sys_setresgid, "as setuid";
    120 getresgid => creds::sys_getresgid;
    121 getpgid >> process::sys_getpgid;
    122 setfsuid => creds::sys_setfsuid, "as setuid";
    123 setfsgid => creds::sys_setfsgid, "as setuid";
    124 getsid >> process::sys_getsid;
    125 capget => creds::sys_capget, "every capability for effective uid 0, none otherwise (the host grants the box none)";
    126 capset => creds::sys_capset, "keeping or dropping is accepted, gaining is EPERM; nothing is recorded";
    127 rt_sigpending => signal::sys_rt_sigpending;
    128 rt_sigtimedwait <<= signal::sys_rt_sigtimedwait;
    129 rt_sigqueueinfo => signal::sys_rt_sigqueueinfo;
    130 rt_sigsuspend <<= signal::sys_rt_sigsuspend;
    131 sigaltstack >>= signal::sys_sigaltstack;
    132 utime => files::sys_utime;
    133 mknod => fs::sys_mknod, "FIFOs, sockets and regular files only";
    135 personality => info::sys_personality, "recorded and reported; the flags (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, UNAME26...) have no effect";
    136 ustat => fs::sys_ustat;
    137 statfs => fs::sys_statfs, "the mount's own file system as the host reports it (tmpfs for --tmpfs, the source's for binds); /proc and /dev made up (proc, tmpfs)";
    138 fstatfs => fs::sys_fstatfs, "as statfs";
    139 sysfs => info::sys_sysfs, "the types of /proc/filesystems";
    140 getpriority => sched::sys_getpriority, "the nice value is recorded, not applied (the host schedules the box); of the caller only";
    141 setpriority => sched::sys_setpriority, "as getpriority";
    142 sched_setparam => sched::sys_sched_setparam, "SCHED_OTHER, SCHED_BATCH, SCHED_IDLE recorded; real time EPERM; of the caller only";
    143 sched_getparam => sched::sys_sched_getparam, "as sched_setparam";
    144 sched_setscheduler => sched::sys_sched_setscheduler, "as sched_setparam";
    145 sched_getscheduler => sched::sys_sched_getscheduler, "as sched_setparam";
    146 sched_get_priority_max => sched::sys_sched_get_priority_max;
    147 sched_get_priority_min => sched::sys_sched_get_priority_min;
    148 sched_rr_get_interval => sched::sys_sched_rr_get_interval, "0 (no round-robin)";
    149 mlock => mm::sys_mlock, "checked; pages are faulted in, not pinned";
    150 munlock => mm::sys_munlock, "as mlock";
    151 mlockall => mm::sys_mlockall, "as mlock";
    152 munlockall => mm::sys_munlockall, "as mlock";
    157 prctl => info::sys_prctl, "PR_SET_NAME, PR_GET_NAME, PR_SET/GET_PDEATHSIG, PR_SET/GET_DUMPABLE, PR_SET_NO_NEW_PRIVS";
    158 arch_prctl => info::sys_arch_prctl, "ARCH_SET_FS and ARCH_GET_FS";
    159 adjtimex => time::sys_adjtimex, "reads a clock no NTP daemon disciplines (TIME_ERROR); changes EPERM";
    160 setrlimit => info::sys_setrlimit, "recorded; NOFILE, SIGPENDING (queued real-time signals), CPU and FSIZE (the host's, with their signals) apply";
    161 chroot => fs::sys_chroot, "path checked, then EPERM: one root per box";
    162 sync => files::sys_sync, "a box's writes reach the host file at once; fsync makes them durable";
    164 settimeofday => time::sys_settimeofday, "arguments checked, then EPERM: the box never sets the host's clock";
    186 gettid >> process::sys_gettid;
    187 readahead => files::sys_readahead, "checked; left to the host's page cache";
    188 setxattr => xattr::sys_setxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    189 lsetxattr => xattr::sys_lsetxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    190 fsetxattr => xattr::sys_fsetxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    191 getxattr => xattr::sys_getxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    192 lgetxattr => xattr::sys_lgetxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    193 fgetxattr => xattr::sys_fgetxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    194 listxattr => xattr::sys_listxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    195 llistxattr => xattr::sys_llistxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    196 flistxattr => xattr::sys_flistxattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    197 removexattr => xattr::sys_removexattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    198 lremovexattr => xattr::sys_lremovexattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    199 fremovexattr => xattr::sys_fremovexattr, "the host file's, through a descriptor of it; /proc and the library OS's devices have none";
    200 tkill => signal::sys_tkill;
    201 time => time::sys_time;
    202 futex -> info::sys_futex;
    203 sched_setaffinity => sched::sys_sched_setaffinity;
    204 sched_getaffinity => info::sys_sched_getaffinity;
    206 io_setup => aio::sys_io_setup, "requests complete inside io_submit (a read of an empty pipe waits there)";
    207 io_destroy => aio::sys_io_destroy;
    208 io_getevents -> aio::sys_io_getevents;
    209 io_submit -> aio::sys_io_submit, "done at submission: buffered reads and writes, fsync, fdatasync; IOCB_CMD_POLL EINVAL";
    210 io_cancel => aio::sys_io_cancel, "nothing is in flight: EINVAL";
    213 epoll_create => epoll::sys_epoll_create;
    216 remap_file_pages => mm::sys_remap_file_pages, "as Linux's emulation: the range maps its shared file again from pgoff on (the host's kernel makes the mapping)";
    217 getdents64 => fs::sys_getdents64;
    218 set_tid_address => info::sys_set_tid_address;
    220 semtimedop -> sysv::sys_semtimedop;
    221 fadvise64 => files::sys_fadvise64, "checked; left to the host's page cache";
    222 timer_create => timer::sys_timer_create;
    223 timer_settime => timer::sys_timer_settime;
    224 timer_gettime => timer::sys_timer_gettime;
    225 timer_getoverrun => timer::sys_timer_getoverrun;
    226 timer_delete => timer::sys_timer_delete;
    227 clock_settime => time::sys_clock_settime, "checked, then EPERM: the box never sets the host's clock";
    228 clock_gettime => time::sys_clock_gettime;
    229 clock_getres => time::sys_clock_getres;
    230 clock_nanosleep -> time::sys_clock_nanosleep;
    231 exit_group => info::sys_exit_group;
    232 epoll_wait -> epoll::sys_epoll_wait, "EPOLLET reported level-triggered";
    233 epoll_ctl => epoll::sys_epoll_ctl;
    234 tgkill => signal::sys_tgkill;
    235 utimes => files::sys_utimes;
    240 mq_open => mqueue::sys_mq_open;
    241 mq_unlink => mqueue::sys_mq_unlink;
    242 mq_timedsend -> mqueue::sys_mq_timedsend;
    243 mq_timedreceive -> mqueue::sys_mq_timedreceive;
    244 mq_notify -> mqueue::sys_mq_notify, "SIGEV_SIGNAL and SIGEV_NONE (SIGEV_THREAD needs netlink)";
    245 mq_getsetattr -> mqueue::sys_mq_getsetattr;
    247 waitid -> process::sys_waitid, "P_ALL, P_PID, P_PGID; WEXITED, WSTOPPED, WCONTINUED (an exit is reported whichever are given); WNOWAIT: EINVAL";
    248 add_key => keys::sys_add_key, "the library OS's own keys (user, logon and keyring types), never the host's; a forked child gets a copy of the session keyring";
    249 request_key => keys::sys_request_key, "no upcall: a key not found becomes a negative key";
    250 keyctl => keys::sys_keyctl, "as add_key; KEYCTL_INSTANTIATE/NEGATE/REJECT EPERM, DH, PKEY, WATCH EOPNOTSUPP";
    251 ioprio_set => sched::sys_ioprio_set, "recorded, not applied";
    252 ioprio_get => sched::sys_ioprio_get, "as ioprio_set";
    253 inotify_init => inotify::sys_inotify_init;
    254 inotify_add_watch => inotify::sys_inotify_add_watch, "the host watches the file the path names; files the library OS makes up (/proc, /dev) EACCES";
    255 inotify_rm_watch => inotify::sys_inotify_rm_watch;
    257 openat -> fs::sys_openat, "/proc/self/fd/N (and /dev/fd/N, /dev/stdin...) gives the descriptor's own open file, as a duplicate";
    258 mkdirat => fs::sys_mkdirat;
    259 mknodat => fs::sys_mknodat, "FIFOs, sockets and regular files only";
    260 fchownat => fs::sys_fchownat, "only to the current owner and group";
    261 futimesat => files::sys_futimesat;
    262 newfstatat => fs::sys_newfstatat;
    263 unlinkat => fs::sys_unlinkat;
    264 renameat => fs::sys_renameat;
    265 linkat => fs::sys_linkat, "within one mount; AT_EMPTY_PATH: ENOENT (needs CAP_DAC_READ_SEARCH)";
    266 symlinkat => fs::sys_symlinkat;
    267 readlinkat => fs::sys_readlinkat;
    268 fchmodat => fs::sys_fchmodat, "set-user-ID and set-group-ID bits: EPERM";
    269 faccessat => fs::sys_faccessat;
    270 pselect6 -> poll::sys_pselect6;
    271 ppoll -> poll::sys_ppoll;
    273 set_robust_list => info::sys_set_robust_list;
    274 get_robust_list => info::sys_get_robust_list;
    275 splice -> splice::sys_splice, "copied through the library OS; at most 64 KiB a call";
    276 tee -> splice::sys_tee;
    277 sync_file_range => files::sys_sync_file_range, "SYNC_FILE_RANGE_WRITE flushes the whole file";
    278 vmsplice -> splice::sys_vmsplice, "as writev (or readv) of the pipe: the pages are copied, never gifted";
    280 utimensat => fs::sys_utimensat;
    281 epoll_pwait -> epoll::sys_epoll_pwait, "EPOLLET reported level-triggered";
    282 signalfd => signalfd::sys_signalfd;
    283 timerfd_create => timer::sys_timerfd_create, "CLOCK_BOOTTIME is the monotonic clock";
    284 eventfd => fs::sys_eventfd;
    285 fallocate => files::sys_fallocate, "mode 0, FALLOC_FL_KEEP_SIZE; FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE write zeros (blocks stay allocated); other modes EOPNOTSUPP";
    286 timerfd_settime => timer::sys_timerfd_settime;
    287 timerfd_gettime => timer::sys_timerfd_gettime;
    288 accept4 -> net::sys_accept4;
    289 signalfd4 => signalfd::sys_signalfd4;
    290 eventfd2 => fs::sys_eventfd2;
    291 epoll_create1 => epoll::sys_epoll_create1;
    292 dup3 => fs::sys_dup3;
    293 pipe2 => fs::sys_pipe2;
    294 inotify_init1 => inotify::sys_inotify_init1;
    295 preadv -> files::sys_preadv;
    296 pwritev -> files::sys_pwritev;
    297 rt_tgsigqueueinfo => signal::sys_rt_tgsigqueueinfo, "to another thread: the instance is its process's";
    299 recvmmsg -> net::sys_recvmmsg;
    302 prlimit64 => info::sys_prlimit64;
    303 name_to_handle_at => handles::sys_name_to_handle_at, "a handle of the inode number (generation 0) and the mount id of /proc/self/mountinfo";
    304 open_by_handle_at => handles::sys_open_by_handle_at, "EPERM: the box lacks CAP_DAC_READ_SEARCH";
    305 clock_adjtime => time::sys_clock_adjtime, "as adjtimex, CLOCK_REALTIME only";
    306 syncfs => files::sys_syncfs, "flushes the descriptor's file";
    307 sendmmsg -> net::sys_sendmmsg;
    308 setns => namespaces::sys_setns, "the box's own namespaces only (it makes none): 0 or Linux's errno, nothing changes";
    309 getcpu => sched::sys_getcpu;
    310 process_vm_readv -> process_vm::sys_process_vm_readv, "of the box's processes, by the host";
    311 process_vm_writev -> process_vm::sys_process_vm_writev, "as process_vm_readv";
    312 kcmp => kcmp::sys_kcmp, "within the caller's process; between processes of the box: nothing shared, and KCMP_FILE, KCMP_IO and KCMP_EPOLL_TFD EOPNOTSUPP";
    314 sched_setattr => sched::sys_sched_setattr, "as sched_setparam";
    315 sched_getattr => sched::sys_sched_getattr, "as sched_setparam";
    316 renameat2 => fs::sys_renameat2;
    318 getrandom => info::sys_getrandom;
    319 memfd_create => files::sys_memfd_create, "a file in the box's /dev/shm, unlinked; seals cannot be added; MFD_HUGETLB EINVAL";
    322 execveat <<= exec::sys_execveat, "as execve; AT_SYMLINK_NOFOLLOW is accepted but not enforced";
    324 membarrier => mm::sys_membarrier, "global and private expedited barriers (by the host) and their registrations; not the rseq ones";
    325 mlock2 => mm::sys_mlock2, "as mlock";
    326 copy_file_range -> files::sys_copy_file_range, "copied through a library-OS buffer";
    327 preadv2 -> files::sys_preadv2, "RWF_* flags are hints the host file decides";
    328 pwritev2 -> files::sys_pwritev2, "as preadv2";
    332 statx => fs::sys_statx, "STATX_BASIC_STATS";
    333 io_pgetevents -> aio::sys_io_pgetevents, "the signal mask is not applied while waiting";
    424 pidfd_send_signal => pidfd::sys_pidfd_send_signal, "to the whole process; PIDFD_SIGNAL_THREAD and PIDFD_SIGNAL_PROCESS_GROUP EINVAL";
    434 pidfd_open => pidfd::sys_pidfd_open, "ioctls of a pidfd (PIDFD_GET_INFO, namespaces) ENOTTY";
    436 close_range => files::sys_close_range, "CLOSE_RANGE_UNSHARE changes nothing (each process has its own table)";
    437 openat2 -> fs::sys_openat2, "RESOLVE_* rules applied by the library OS's walk, then the path it found is opened; RESOLVE_CACHED is always satisfied";
    439 faccessat2 => fs::sys_faccessat2;
    441 epoll_pwait2 -> epoll::sys_epoll_pwait2, "EPOLLET reported level-triggered";
    449 futex_waitv -> info::sys_futex_waitv;
    451 cachestat => files::sys_cachestat, "of host files, by the host (files the box could write or owns); the library OS's own files have no pages";
    452 fchmodat2 => files::sys_fchmodat2, "AT_SYMLINK_NOFOLLOW on a link: EOPNOTSUPP, as Linux";
    462 mseal => mm::sys_mseal, "enforced by the library OS";
}

/// Highest system-call number Linux x86-64 defines, plus one.
const MAX_NR: usize = 512;

/// `INDEX[nr]` is the position in [`TABLE`] plus one, or 0 for an unimplemented number.
const INDEX: [u16; MAX_NR] = {
    let mut index = [0u16; MAX_NR];
    let mut i = 0;
    while i < TABLE.len() {
        index[TABLE[i].nr as usize] = (i + 1) as u16;
        i += 1;
    }
    index
};

/// The table entry for `nr`, if implemented.
pub fn entry(nr: u64) -> Option<&'static Entry> {
    let slot = *INDEX.get(usize::try_from(nr).ok()?)?;
    TABLE.get(usize::from(slot).checked_sub(1)?)
}

/// The Linux name of `nr`, if it has one.
pub fn name_of(nr: u64) -> Option<&'static str> {
    LINUX_SYSCALLS
        .iter()
        .find(|(n, _)| u64::from(*n) == nr)
        .map(|(_, name)| *name)
}

/// For a blocking call that waits with its own deadline: whether the `EINTR` it got from the
/// host is one the program sees (a signal that runs a handler or ends it), or one to wait on
/// after (see [`signal::interrupts`]).
pub(crate) fn interrupted() -> Result<bool> {
    let interrupts = crate::kernel::with(|k| signal::interrupts(k))?;
    if !interrupts {
        // Back to waiting: the sender showed this thread running (see `signal::wake`).
        crate::box_processes::set_state(crate::box_processes::SLEEPING);
    }
    Ok(interrupts)
}

/// Whether a call of the blocking kind may wait, for `/proc` to show the thread sleeping
/// meanwhile: not a futex wake or requeue, which never waits (a parent woken by it reads the
/// state next; harnesses then signal a child they take to be waiting already).
fn may_sleep(nr: u64, args: &Args) -> bool {
    const SYS_FUTEX: u64 = 202;
    const FUTEX_CMD_MASK: u64 = 0x7f;
    // FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2.
    nr != SYS_FUTEX || matches!(args[1] & FUTEX_CMD_MASK, 0 | 6 | 9 | 11 | 13)
}

/// Runs system call `nr` with the caller's registers in `ctx`, then delivers a pending signal.
pub fn dispatch(nr: u64, ctx: &mut CpuContext) {
    let args: Args = [
        ctx.regs[reg::RDI],
        ctx.regs[reg::RSI],
        ctx.regs[reg::RDX],
        ctx.regs[reg::R10],
        ctx.regs[reg::R8],
        ctx.regs[reg::R9],
    ];
    // Blocking calls run unlocked first; everything else, and what follows, under the lock.
    // While one waits, /proc shows the thread sleeping (see `box_processes.rs`).
    let sleeping = |state| {
        if may_sleep(nr, &args) {
            crate::box_processes::set_state(state);
        }
    };
    let unlocked = match entry(nr).map(|e| e.handler) {
        Some(Handler::Blocking(h)) => {
            sleeping(crate::box_processes::SLEEPING);
            let r = h(&args).map(Return::Value);
            sleeping(crate::box_processes::RUNNING);
            Some(r)
        }
        Some(Handler::BlockingContext(h)) => {
            sleeping(crate::box_processes::SLEEPING);
            let r = h(&args, ctx).map(|()| Return::Value(ctx.regs[reg::RAX]));
            sleeping(crate::box_processes::RUNNING);
            Some(r)
        }
        _ => None,
    };
    let mut guard = crate::kernel::lock();
    let Some(k) = guard.as_mut() else {
        ctx.regs[reg::RAX] = Errno::ENOSYS.as_return();
        return;
    };
    k.switch_to(host().thread_id());
    let Some(e) = entry(nr) else {
        report_unsupported(k, nr);
        ctx.regs[reg::RAX] = Errno::ENOSYS.as_return();
        signal::deliver_pending(k, ctx, None, None);
        return;
    };
    let result = match (unlocked, e.handler) {
        (Some(r), _) => r,
        (None, Handler::Plain(h)) => h(k, &args).map(Return::Value),
        (None, Handler::Control(h)) => h(k, &args),
        (None, Handler::Context(h)) => h(k, &args, ctx).map(|()| Return::Value(ctx.regs[reg::RAX])),
        (None, Handler::Blocking(_) | Handler::BlockingContext(_)) => {
            unreachable!("ran unlocked above")
        }
    };
    if k.trace {
        trace_call(e.name, &args, &result);
    }
    if matches!(result, Err(Errno::EINTR)) && !signal::interrupts(k) {
        // Interrupted by a signal the program does not see (blocked, ignored): Linux would not
        // have stopped the call, so it starts again, as after a handler with SA_RESTART.
        ctx.regs[reg::RAX] = nr;
        ctx.regs[reg::RIP] = ctx.regs[reg::RIP].wrapping_sub(2);
        return;
    }
    match result {
        Ok(Return::Value(v)) => ctx.regs[reg::RAX] = v,
        Ok(Return::Switch { rax, pc, sp }) => {
            ctx.regs[reg::RAX] = rax;
            ctx.regs[reg::RSP] = sp;
            if let Some(pc) = pc {
                ctx.regs[reg::RIP] = pc;
            }
        }
        Ok(Return::Fresh(entry)) => {
            // A new program: every general register zero, as after a Linux execve.
            let flags = ctx.regs[reg::EFLAGS];
            ctx.regs = [0; 18];
            ctx.regs[reg::EFLAGS] = flags;
            ctx.regs[reg::RSP] = entry.sp;
            ctx.regs[reg::RIP] = entry.pc;
        }
        Err(e) => ctx.regs[reg::RAX] = e.as_return(),
    }
    if !signal::deliver_after_temporary_mask(k, ctx, nr) {
        signal::deliver_pending(k, ctx, None, Some(nr));
    }
}

fn report_unsupported(k: &mut Kernel, nr: u64) {
    if !k.trace {
        return;
    }
    let (word, bit) = (usize::try_from(nr / 64).unwrap_or(usize::MAX), nr % 64);
    if let Some(w) = k.reported.get_mut(word) {
        if *w & (1 << bit) != 0 {
            return;
        }
        *w |= 1 << bit;
    }
    let mut line = alloc::string::String::new();
    let _ = core::fmt::write(
        &mut line,
        format_args!(
            "unsupported syscall {} ({nr}) = -ENOSYS (reported once)",
            name_of(nr).unwrap_or("?")
        ),
    );
    host().debug_log(&line);
}

fn trace_call(name: &str, a: &Args, r: &Result<Return>) {
    let mut line = alloc::string::String::new();
    let _ = match r {
        Ok(Return::Value(v) | Return::Switch { rax: v, .. }) => core::fmt::write(
            &mut line,
            format_args!(
                "{name}({:#x}, {:#x}, {:#x}, {:#x}) = {v:#x}",
                a[0], a[1], a[2], a[3]
            ),
        ),
        Ok(Return::Fresh(entry)) => core::fmt::write(
            &mut line,
            format_args!("{name}(...) = new program at {:#x}", entry.pc),
        ),
        Err(e) => core::fmt::write(
            &mut line,
            format_args!(
                "{name}({:#x}, {:#x}, {:#x}, {:#x}) = -{}",
                a[0],
                a[1],
                a[2],
                a[3],
                e.name()
            ),
        ),
    };
    host().debug_log(&line);
}

/// One row of the compatibility report: every Linux call with its support level.
pub struct SupportRow {
    /// Number.
    pub nr: u16,
    /// Name.
    pub name: &'static str,
    /// `None` when unimplemented (the call returns `ENOSYS`).
    pub support: Option<Support>,
}

/// The compatibility report, by number.
pub fn support_report() -> impl Iterator<Item = SupportRow> {
    LINUX_SYSCALLS.iter().map(|(nr, name)| SupportRow {
        nr: *nr,
        name,
        support: entry(u64::from(*nr)).map(|e| e.support),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_linux_numbers_and_names() {
        for (i, e) in TABLE.iter().enumerate() {
            assert_eq!(
                name_of(u64::from(e.nr)),
                Some(e.name),
                "number {} is not {}",
                e.nr,
                e.name
            );
            if i > 0 {
                assert!(TABLE[i - 1].nr < e.nr, "{} out of order", e.name);
            }
            assert!(entry(u64::from(e.nr)).is_some_and(|x| x.nr == e.nr));
        }
        assert!(entry(1000).is_none());
        assert!(entry(u64::MAX).is_none());
    }

    #[test]
    fn int_arguments_ignore_the_upper_half() {
        assert_eq!(int_arg(0xffff_ffff_0000_0005), 5);
        assert_eq!(fd_arg(0xffff_ffff), Err(Errno::EBADF));
    }
}
