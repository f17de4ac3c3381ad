//! The whole host ABI in one place: the [`Host`] trait and the [`CALLS`] catalogue.
//!
//! Calls are named noun-verb (`vm_alloc`, `stream_open`). Each doc gives the parameters, the
//! errors, and the host system calls the Linux host uses for it, which are exactly the system
//! calls its seccomp allowlist lets through (see `host/src/policy/seccomp.rs`). A call that the
//! Linux host does not implement yet returns [`crate::Errno::ENOSYS`]; its doc says which issue brings it.
//!
//! Growth rule: add a call only when the library OS cannot build a feature from the calls here.

use crate::types::*;
use crate::Result;
use alloc::vec::Vec;

/// The host ABI. The library OS holds one `&dyn Host` and reaches the host through nothing else.
///
/// Every method may be called from any thread of the picoprocess at any time; implementations
/// keep no per-caller state beyond what the handles name.
pub trait Host: Sync {
    // ---------------------------------------------------------------- memory (7)

    /// Maps `len` bytes of zeroed memory with protection `prot` and returns its address. With
    /// `shared`, a process forked later shares the pages instead of copying them.
    /// Errors: `EINVAL` (zero or unaligned length or address), `ENOMEM`, `EEXIST` for
    /// [`Placement::NoReplace`] over a mapping, `EACCES` for writable+executable.
    /// Linux: `mmap(MAP_PRIVATE or MAP_SHARED | MAP_ANONYMOUS)`.
    fn vm_alloc(&self, place: Placement, len: usize, prot: Prot, shared: bool) -> Result<usize>;

    /// Unmaps `[addr, addr+len)`. Errors: `EINVAL`. Linux: `munmap`.
    fn vm_free(&self, addr: usize, len: usize) -> Result<()>;

    /// Changes the protection of `[addr, addr+len)`. Errors: `EINVAL`, `ENOMEM` (not mapped).
    /// Any protection, writable and executable at once included (JIT compilers need it).
    /// Linux: `mprotect`.
    fn vm_protect(&self, addr: usize, len: usize, prot: Prot) -> Result<()>;

    /// Maps `len` bytes of the stream `handle` from `offset` and returns the address: privately
    /// (copy-on-write), or `shared` (writes reach the file and every other mapping of it).
    /// Errors: `EBADF`, `EACCES` (stream not readable, or not writable for a shared writable
    /// mapping), `ENODEV` (not mappable), `EINVAL`, `ENOMEM`, `EEXIST`.
    /// Linux: `mmap(MAP_PRIVATE or MAP_SHARED)` on the descriptor.
    fn vm_map_stream(
        &self,
        handle: Handle,
        offset: u64,
        place: Placement,
        len: usize,
        prot: Prot,
        shared: bool,
    ) -> Result<usize>;

    /// Grows or shrinks the mapping at `addr`, in place or moved as `how` says. Returns the new
    /// address. Errors: `EINVAL`, `ENOMEM`, `EFAULT`. Linux: `mremap`.
    fn vm_remap(&self, addr: usize, old_len: usize, new_len: usize, how: Remap) -> Result<usize>;

    /// Drops the contents of private pages in the range; they read as zero (anonymous) or as the
    /// file (file-backed) afterwards. Errors: `EINVAL`. Linux: `madvise(MADV_DONTNEED)`.
    fn vm_discard(&self, addr: usize, len: usize) -> Result<()>;

    /// Copies `len` bytes from `src` to `dst`, either of which may be program memory, and
    /// reports `EFAULT` (having copied a prefix) instead of crashing if a page is missing or
    /// lacks the needed access. This is how the library OS reads and writes program memory.
    /// Linux: no system call (a fault handler recovers).
    fn vm_copy(&self, dst: usize, src: usize, len: usize) -> Result<()>;

    /// Asks which pages of `[addr, addr+len)` are in memory, or faults them in, as `op` says.
    /// Errors: `ENOMEM` (a page not mapped), `EINVAL` (unaligned), `EFAULT` (populating a page
    /// its protection does not allow). Linux: `mincore`, `madvise(MADV_POPULATE_*)`.
    fn vm_pages(&self, addr: usize, len: usize, op: PagesOp<'_>) -> Result<()>;

    /// Returns once every running thread of the caller (with `global`, of every process) has
    /// passed a full memory barrier and, for the caller's, serialised its instruction stream.
    /// Errors: `EINVAL` (the host has no such barrier). Linux: `membarrier`
    /// (`MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE` once registered, `MEMBARRIER_CMD_GLOBAL`).
    fn vm_barrier(&self, global: bool) -> Result<()>;

    // ---------------------------------------------------------------- threads and signals (9)

    /// Starts a thread of this process that resumes the program with the registers of `ctx`
    /// (its stack pointer included) and thread pointer `tls`; writes the new thread's id to
    /// `parent_tid` if given. Returns the id. Errors: `EAGAIN` (limit), `ENOMEM`.
    /// Linux: `clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|
    /// CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID)` (the filter admits exactly these
    /// flags), `sigaltstack`, `rt_sigprocmask`.
    fn thread_create(&self, ctx: &CpuContext, tls: usize, parent_tid: Option<usize>)
        -> Result<u32>;

    /// Ends the calling thread (the process ends with its last thread). Linux: `exit`.
    fn thread_exit(&self, code: u8) -> !;

    /// The calling thread's id: [`Host::process_id`] of [`Whose::Thread`] (a convenience, not
    /// a call of its own).
    fn thread_id(&self) -> u32 {
        self.process_id(Whose::Thread)
    }

    /// Sends `signal` to thread `tid` of process `pid` of the box; with `info`, the receiver
    /// sees that `siginfo` (toward another process only with a negative `si_code` other than
    /// `SI_TKILL`: `EPERM`). Errors: `ESRCH`, `EINVAL`, `EPERM`.
    /// Linux: `tgkill`, `rt_tgsigqueueinfo`, confined by the pid namespace and Landlock.
    fn thread_signal(
        &self,
        pid: u32,
        tid: u32,
        signal: u32,
        info: Option<&[u8; 128]>,
    ) -> Result<()>;

    /// Gives up the CPU. Linux: `sched_yield`.
    fn thread_yield(&self);

    /// Registers the calling thread's robust-futex list (`head`, `len` as in
    /// `set_robust_list(2)`; `head` 0 clears it): when the thread ends, the host marks the
    /// futexes on it owner-dead and wakes a waiter. Errors: `EINVAL` (`len`).
    /// Linux: `set_robust_list`.
    fn thread_set_robust_list(&self, head: usize, len: usize) -> Result<()>;

    /// Returns the calling thread's thread pointer (the `fs` base) as it was, and with `base`
    /// sets it. Errors: `EPERM` (non-canonical address). Linux: `arch_prctl(ARCH_GET_FS)`, then
    /// `arch_prctl(ARCH_SET_FS)`.
    fn thread_set_tls(&self, base: Option<usize>) -> Result<usize>;

    /// Where thread `tid` of the box (0: the caller) may run, or where the caller runs now, as
    /// `op` says. Returns the bytes of mask written ([`CpusOp::Allowed`]), 0
    /// ([`CpusOp::Restrict`]), or the caller's CPU and (shifted left 32) node
    /// ([`CpusOp::Current`]). Errors: `EINVAL` (a mask too small, or naming no allowed CPU),
    /// `ESRCH`, `EPERM`. Linux: `sched_getaffinity`, `sched_setaffinity`, `getcpu`, confined by
    /// the box's pid namespace.
    fn thread_cpus(&self, tid: u32, op: CpusOp<'_>) -> Result<u64>;

    /// How many host signals this process has received so far (a counter that only grows).
    /// Linux: no system call.
    fn signals_seen(&self) -> u64;

    /// Sleeps until the counter of [`Host::signals_seen`] differs from `seen`, returning at once
    /// if it already does, or until `timeout` has passed; returns whether the counter moved. A
    /// signal arriving between the caller's check and the sleep is not missed.
    /// Linux: `rt_sigprocmask`, then `rt_sigsuspend` (or `ppoll` of nothing with a timeout).
    fn signals_wait(&self, seen: u64, timeout: Option<Timespec>) -> bool;

    // ---------------------------------------------------------------- synchronisation (2)

    /// A fast user-space mutex operation, exactly as Linux's `futex(addr, op, val, timeout or
    /// val2, addr2, val3)`, with `FUTEX_PRIVATE_FLAG` where the caller puts it (a futex in
    /// memory shared with other processes, and the robust-list and clear-child-tid wake-ups of
    /// the host, need the shared form).
    /// One more operation, [`crate::FUTEX_WAITV`] (a command number Linux leaves unused): a
    /// wait on several futexes at once, as `futex_waitv(addr: the struct futex_waitv array,
    /// val: its length, timeout: an absolute deadline or 0, addr2: flags, val3: the clock)`.
    /// Returns what Linux returns. Errors: `EAGAIN`, `ETIMEDOUT`, `EINTR`, `EFAULT`, `EINVAL`,
    /// `ENOSYS` (an operation the host refuses, such as priority inheritance).
    /// Linux: `futex`, `futex_waitv`.
    fn futex(
        &self,
        addr: usize,
        op: u32,
        val: u32,
        timeout_or_val2: usize,
        addr2: usize,
        val3: u32,
    ) -> Result<u64>;

    /// Waits until one of `entries` is ready or `timeout` passes; fills `revents` and returns
    /// how many are ready. Errors: `EINTR`, `EINVAL`. Linux: `ppoll`.
    fn streams_wait(&self, entries: &mut [PollEntry], timeout: Option<Timespec>) -> Result<usize>;

    // ---------------------------------------------------------------- streams (25)

    /// Opens `path` (relative, no `..` component, resolved as if `dir` were the root: absolute
    /// symbolic links and `..` inside links stay beneath `dir`) with `flags` and, when creating,
    /// permission bits `mode`. Errors: as `open(2)`, plus `EXDEV` for a path leaving `dir` and
    /// `EACCES` for what the box's policy forbids. Linux: `openat2(RESOLVE_IN_ROOT)`, confined by
    /// Landlock to the declared mounts.
    fn stream_open(&self, dir: Handle, path: &[u8], flags: OpenFlags, mode: u32) -> Result<Handle>;

    /// Reads into `buf` from the current position, or from `offset` without moving it.
    /// Returns the byte count (0 at end). Errors: `EBADF`, `EFAULT`, `EISDIR`, `EAGAIN`, `EINTR`.
    /// Linux: `read`, `pread64`.
    fn stream_read(&self, handle: Handle, buf: IoBuf, offset: Option<u64>) -> Result<usize>;

    /// Writes `buf` at the current position, or at `offset`. Returns the byte count.
    /// Errors: `EBADF`, `EFAULT`, `EPIPE`, `ENOSPC`, `EFBIG`, `EAGAIN`. Linux: `write`, `pwrite64`.
    fn stream_write(&self, handle: Handle, buf: IoBuf, offset: Option<u64>) -> Result<usize>;

    /// Moves the position of a seekable stream; returns the new position.
    /// Errors: `ESPIPE`, `EINVAL`. Linux: `lseek`.
    fn stream_seek(&self, handle: Handle, offset: i64, whence: Whence) -> Result<u64>;

    /// Attributes of an open stream. Errors: `EBADF`. Linux: `fstat`.
    fn stream_attr(&self, handle: Handle) -> Result<FileAttr>;

    /// Attributes of `path` under `dir` (see [`Host::stream_open`] for resolution), following a
    /// final symbolic link if `follow`. Errors: as `stat(2)`. Linux: `openat2(O_PATH)` + `fstat`
    /// or `newfstatat(AT_SYMLINK_NOFOLLOW)`.
    fn stream_attr_at(&self, dir: Handle, path: &[u8], follow: bool) -> Result<FileAttr>;

    /// Sets the length of a writable file. Errors: `EBADF`, `EINVAL`, `EFBIG`. Linux: `ftruncate`.
    fn stream_set_length(&self, handle: Handle, len: u64) -> Result<()>;

    /// Writes cached data of the stream to storage. Linux: `fsync`, `fdatasync`.
    fn stream_flush(&self, handle: Handle, data_only: bool) -> Result<()>;

    /// Reads up to `max` entries of an open directory into `out`, continuing where the last
    /// call stopped; returns the number added (0 at the end). Errors: `ENOTDIR`, `EBADF`.
    /// Linux: `getdents64`.
    fn stream_read_dir(&self, handle: Handle, out: &mut Vec<DirEntry>, max: usize)
        -> Result<usize>;

    /// Reads the target of the symbolic link `path` under `dir` into `buf`; returns its length.
    /// Errors: `EINVAL` (not a link), `ENOENT`. Linux: `readlinkat` on the resolved parent.
    fn stream_read_link(&self, dir: Handle, path: &[u8], buf: &mut [u8]) -> Result<usize>;

    /// Creates the directory `path` under `dir`. Errors: `EEXIST`, `ENOENT`, `EROFS`, `EACCES`.
    /// Linux: `mkdirat` on the resolved parent.
    fn stream_make_dir(&self, dir: Handle, path: &[u8], mode: u32) -> Result<()>;

    /// Removes `path` under `dir`: a directory (must be empty) if `is_dir`, else any other entry.
    /// Errors: `ENOENT`, `ENOTEMPTY`, `EISDIR`, `ENOTDIR`, `EACCES`. Linux: `unlinkat`.
    fn stream_delete(&self, dir: Handle, path: &[u8], is_dir: bool) -> Result<()>;

    /// Renames `from` under `from_dir` to `to` under `to_dir` with `renameat2` `flags`.
    /// Errors: as `rename(2)`, `EXDEV` across mounts. Linux: `renameat2` on resolved parents.
    fn stream_rename(
        &self,
        from_dir: Handle,
        from: &[u8],
        to_dir: Handle,
        to: &[u8],
        flags: u32,
    ) -> Result<()>;

    /// Creates a link `path` under `dir`: a symbolic link, or a hard link to an existing file.
    /// Errors: `EEXIST`, `ENOENT`, `EACCES`, `EPERM` (a hard link to a directory, or to a file
    /// the caller may not link), `EXDEV` (a hard link across mounts). Linux: `symlinkat`, or
    /// `linkat` without flags, on the resolved parents.
    fn stream_make_link(&self, dir: Handle, path: &[u8], target: LinkTarget<'_>) -> Result<()>;

    /// Changes the times of an open stream. Errors: `EBADF`, `EPERM`. Linux: `utimensat` on the
    /// descriptor.
    fn stream_set_times(&self, handle: Handle, change: TimesChange) -> Result<()>;

    /// Changes the permission bits of an open stream. Errors: `EBADF`, `EPERM` (also for the
    /// set-user-ID and set-group-ID bits, which a host may refuse: a box's files must not grant
    /// privileges outside it), `EROFS`. Linux: `fchmodat2(AT_EMPTY_PATH)`, set-id bits refused
    /// by the filter.
    fn stream_set_mode(&self, handle: Handle, mode: u32) -> Result<()>;

    /// Checks whether `path` under `dir` allows `mode` (`R_OK` 4, `W_OK` 2, `X_OK` 1, or `F_OK` 0).
    /// Errors: `EACCES`, `ENOENT`, `EROFS`. Linux: `faccessat2` on the resolved parent.
    fn stream_access(&self, dir: Handle, path: &[u8], mode: u32) -> Result<()>;

    /// Answers one [`StreamQuery`] into `out`; returns the byte count written.
    /// Errors: `ENOTTY`, `EINVAL` (`out` too small), `EBADF` (a pipe's capacity of another
    /// stream). Linux: `ioctl` with exactly the requests of the queries (`TCGETS`,
    /// `TIOCGWINSZ`, `FIONREAD`, the [`crate::TerminalQuestion`]s: the filter checks the
    /// request number), `fstatfs` for the file system, `fcntl(F_GETPIPE_SZ, F_GETLEASE)`, `fgetxattr`,
    /// `flistxattr`.
    fn stream_query(&self, handle: Handle, query: StreamQuery<'_>, out: &mut [u8])
        -> Result<usize>;

    /// Changes one [`StreamSetting`] of an open stream; returns the new pipe capacity (for
    /// [`StreamSetting::PipeCapacity`]) or 0. Errors: `EBADF` (not a pipe), `EINVAL`, `EPERM`,
    /// `EBUSY` (less room than the pipe holds), `ENOTTY` (a terminal change of another
    /// stream). Linux: `fcntl(F_SETFL, F_SETPIPE_SZ, F_SETLEASE, F_NOTIFY, F_SETSIG)`, or
    /// `ioctl` with exactly the requests of the [`crate::TerminalChange`]s, `fsetxattr`,
    /// `fremovexattr`.
    fn stream_set(&self, handle: Handle, setting: StreamSetting<'_>) -> Result<u64>;

    /// Takes, releases or asks about a lock on an open stream (see [`LockRequest`]): locks are
    /// the host's, so they hold between the box's processes and against every other user of
    /// the same file. Errors: `EAGAIN`/`EACCES` (held by another, without `wait`), `EINTR`
    /// (a signal came while waiting), `EDEADLK`, `EBADF` (wrong access mode), `EINVAL`,
    /// `ENOLCK`. Linux: `fcntl(F_SETLK, F_SETLKW, F_GETLK, F_OFD_*)` and `flock`.
    fn stream_lock(
        &self,
        handle: Handle,
        request: LockRequest,
        range: &mut RangeLock,
    ) -> Result<()>;

    /// Releases a handle. Errors: `EBADF`. Linux: `close`.
    fn object_close(&self, handle: Handle) -> Result<()>;

    /// Creates a stream of `kind` ([`NewStream`]): an event counter, a timer or a file
    /// watcher; blocking on reads unless `nonblocking`; shared with forked processes.
    /// Errors: `EINVAL` (a timer on another clock), `EMFILE`, `ENFILE`. Linux:
    /// `eventfd2`, `timerfd_create` or `inotify_init1`, each with its `CLOEXEC` flag.
    fn stream_create(&self, kind: NewStream, nonblocking: bool) -> Result<Handle>;

    /// Creates a special file `path` under `dir` with permission bits `mode`: a named pipe
    /// ([`FileKind::Fifo`]) or a socket inode ([`FileKind::Socket`], which the library OS uses
    /// to give a bound Unix socket its name in the box's file system). Errors: `EEXIST`,
    /// `ENOENT`, `EROFS`, `EACCES`, `EINVAL` (another kind). Linux: `mknodat(S_IFIFO or
    /// S_IFSOCK)` on the resolved parent.
    fn stream_make_node(&self, dir: Handle, path: &[u8], kind: FileKind, mode: u32) -> Result<()>;

    /// Creates a pipe; returns (read end, write end). With `packets`, each write is a packet
    /// that a read takes whole (or cut to the read's size, the rest discarded). Errors:
    /// `EMFILE`, `ENFILE`. Linux: `pipe2(O_CLOEXEC [| O_NONBLOCK] [| O_DIRECT])`.
    fn stream_pipe(&self, nonblocking: bool, packets: bool) -> Result<(Handle, Handle)>;

    /// Copies up to `len` bytes queued in pipe `from` into pipe `to` without consuming them
    /// (what reads and writes cannot do: the bytes stay for `from`'s reader); waits for data
    /// unless `nonblocking`. Returns the byte count (0: `from`'s writers are gone). Errors:
    /// `EINVAL` (not two different pipes), `EAGAIN`, `EINTR`. Linux: `tee`.
    fn stream_tee(&self, from: Handle, to: Handle, len: usize, nonblocking: bool) -> Result<usize>;

    // ---------------------------------------------------------------- sockets (11)
    //
    // Addresses are Linux `sockaddr` bytes. What a box may reach is the kernel's to decide: with
    // `--net none` it may create no IP socket at all; with `--net loopback` it has a network
    // namespace of its own (only its loopback); with declared ports it shares the host's, and
    // Landlock allows exactly those TCP ports. The filter admits TCP (and UDP in a network of
    // the box's own) over IPv4 and IPv6, and Unix sockets.
    //
    // Unix socket path names are not the box's paths: the PAL's process has, as its root
    // directory, an empty directory private to the box (the "socket root"), so a path name
    // can only ever name a socket another process of the same box bound there. The library
    // OS chooses those names (see `libos/src/unix_names.rs`). Abstract names are the kernel's
    // (shared with the network namespace); Landlock's scoping lets a box connect only to
    // abstract sockets its own processes created.

    /// Creates a socket (`domain`, `kind` with `SOCK_NONBLOCK`, `protocol` as in `socket(2)`).
    /// Errors: `EAFNOSUPPORT`, `EINVAL`, `EACCES`, `EMFILE`. Linux: `socket`.
    fn socket_create(&self, domain: u32, kind: u32, protocol: u32) -> Result<Handle>;
    /// Creates a connected pair of Unix sockets. Linux: `socketpair(AF_UNIX)`.
    fn socket_pair(&self, kind: u32) -> Result<(Handle, Handle)>;
    /// Binds a socket to `addr`. Errors: `EADDRINUSE`, `EACCES` (policy). Linux: `bind`.
    fn socket_bind(&self, handle: Handle, addr: &[u8]) -> Result<()>;
    /// Marks a socket as accepting connections. Linux: `listen`.
    fn socket_listen(&self, handle: Handle, backlog: u32) -> Result<()>;
    /// Accepts a connection, writing the peer address into `peer`; returns the new handle and the
    /// address length. Errors: `EAGAIN`, `EINTR`. Linux: `accept4`.
    fn socket_accept(
        &self,
        handle: Handle,
        peer: &mut [u8],
        nonblocking: bool,
    ) -> Result<(Handle, usize)>;
    /// Connects to `addr`. Errors: `ECONNREFUSED`, `EINPROGRESS`, `EACCES` (policy).
    /// Linux: `connect`.
    fn socket_connect(&self, handle: Handle, addr: &[u8]) -> Result<()>;
    /// Sends `buf`, to `addr` if given, with `MSG_*` `flags`, passing copies of `handles`
    /// along (Unix sockets only; at most 253). Errors: `EBADF`, `EINVAL`, `EPIPE`, `EAGAIN`.
    /// Linux: `sendto`, or `sendmsg` with `SCM_RIGHTS`.
    fn socket_send(
        &self,
        handle: Handle,
        buf: IoBuf,
        addr: Option<&[u8]>,
        flags: u32,
        handles: &[Handle],
    ) -> Result<usize>;
    /// Receives into `buf`, the sender's address into `from`, and the handles passed along
    /// into `handles` (now the caller's). Returns (bytes, address length, `MSG_*` flags of the
    /// message, e.g. `MSG_TRUNC`). Linux: `recvmsg` with `MSG_CMSG_CLOEXEC`.
    fn socket_recv(
        &self,
        handle: Handle,
        buf: IoBuf,
        from: &mut [u8],
        flags: u32,
        handles: &mut Vec<Handle>,
    ) -> Result<(usize, usize, u32)>;
    /// Shuts down reading (0), writing (1) or both (2). Linux: `shutdown`.
    fn socket_shutdown(&self, handle: Handle, how: u32) -> Result<()>;
    /// The socket's own address, or its peer's; returns the length. Linux: `getsockname`,
    /// `getpeername`.
    fn socket_name(&self, handle: Handle, peer: bool, out: &mut [u8]) -> Result<usize>;
    /// Reads (`set` false) or writes (`set` true) option `name` at `level` through `value`;
    /// returns the length read. Linux: `getsockopt`, `setsockopt`.
    fn socket_option(
        &self,
        handle: Handle,
        level: u32,
        name: u32,
        value: &mut [u8],
        set: bool,
    ) -> Result<usize>;

    // ---------------------------------------------------------------- processes (10)

    /// Duplicates the calling picoprocess, copy-on-write: memory, handles and the library OS's
    /// state. Returns `Some(child id)` in the parent and `None` in the child. The child runs
    /// under the same kernel policy. Errors: `EAGAIN` (process limit), `ENOMEM`.
    /// Linux: `fork` (the filter admits no other way to create a process).
    fn process_fork(&self) -> Result<Option<u32>>;

    /// Waits for a child to end, as `wait4(pid, options)`: `pid` > 0 that child, -1 any,
    /// 0 or < -1 a process group; `options` `WNOHANG` (1), `WUNTRACED` (2), `WCONTINUED` (8);
    /// with `WNOWAIT` (0x01000000) the child stays waitable, and the options are waitid's:
    /// exits are reported only with `WEXITED` (4).
    /// Returns the child's id (0 with `WNOHANG` if none ended) and its raw wait status, and
    /// fills `rusage` (144 bytes) if given. Errors: `ECHILD`, `EINTR`, `EINVAL`.
    /// Linux: `wait4`.
    fn process_wait(
        &self,
        pid: i32,
        options: u32,
        rusage: Option<&mut [u8; 144]>,
    ) -> Result<(u32, i32)>;

    /// The caller's id, its parent's, or the calling thread's, in the box's own numbering
    /// (the parent of the box's first process is outside: 0; a process's first thread has
    /// the process's id). Linux: `getpid`, `getppid`, `gettid` in the box's pid namespace.
    fn process_id(&self, whose: Whose) -> u32;

    /// The resources (CPU time in user and system mode, memory peaks, faults, I/O, context
    /// switches) the calling process, thread, or its reaped children used, as Linux's
    /// `struct rusage` (144 bytes). Linux: `getrusage`.
    fn process_usage(&self, of: UsageOf) -> Result<[u8; 144]>;

    /// Sends `signal` (0 only checks) to processes of the box, `pid` as in `kill(2)`; with
    /// `info` (one process only), the receiver sees that `siginfo` (toward another process
    /// only with a negative `si_code` other than `SI_TKILL`). Processes outside the box cannot
    /// be named. A stop signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) the caller sends itself
    /// without `info` takes its default action: the process stops, and the call returns once
    /// it is continued (the library OS sends one only when that is the program's disposition).
    /// Errors: `ESRCH`, `EPERM`, `EINVAL`.
    /// Linux: `kill`, `rt_sigqueueinfo`, confined by the pid namespace and Landlock's signal
    /// scoping.
    fn process_signal(&self, pid: i32, signal: u32, info: Option<&[u8; 128]>) -> Result<()>;

    /// A stream that names process `pid` of the box (with `thread`, thread `pid` of any of
    /// its processes): it becomes ready for reading once that process (or thread) has ended.
    /// Reading or writing it is `EINVAL`. Errors: `ESRCH`, `ENOENT` (without `thread`, a
    /// thread that leads no process), `EMFILE`. Linux: `pidfd_open(pid [, PIDFD_THREAD])`.
    fn process_handle(&self, pid: u32, thread: bool) -> Result<Handle>;

    /// Copies `local.len` bytes between the caller's memory at `local` and the memory of
    /// process `pid` of the box at `remote`: out of that process, or into it (`write`). Returns
    /// the bytes copied, fewer if one of its pages is missing or lacks the access. Errors:
    /// `ESRCH`, `EPERM` (picobox's own reaper), `EFAULT` (nothing copied).
    /// Linux: `process_vm_readv`, `process_vm_writev`, confined by the box's pid namespace and
    /// its own host uid.
    fn process_memory(&self, pid: u32, remote: usize, local: IoBuf, write: bool) -> Result<usize>;

    /// Process groups and sessions, and the few process attributes the kernel acts on itself
    /// (signalling resource limits, subreaping): see [`GroupOp`]. Returns the group or session id asked
    /// for (0 for `SetGroup`). Errors: `ESRCH`, `EPERM`, `EINVAL`.
    /// Linux: `setpgid`, `getpgid`, `setsid`, `getsid`.
    fn process_group(&self, op: GroupOp) -> Result<u32>;

    /// Ends the whole picoprocess: with an exit status (0..=255), or as if killed by a signal,
    /// so that its parent's wait sees the signal (the box's first process, which the kernel
    /// protects from its own signals, ends with exit status `128 + signal` instead).
    /// Linux: `exit_group`; for a signal, `rt_sigaction` (to the default action),
    /// `rt_sigprocmask`, `kill` of itself, then `exit_group`.
    fn process_exit(&self, end: ProcessEnd) -> !;

    /// Creates a per-process timer on `clock` that notifies as `notify` says; returns its id.
    /// Timers belong to the calling process alone: a forked child has none. Errors: `EINVAL`,
    /// `EAGAIN` (too many). Linux: `timer_create`.
    fn timer_create(&self, clock: Clock, notify: TimerNotify) -> Result<u32>;

    /// With `new`, arms `timer` to expire at its value (relative, or on the timer's clock if
    /// absolute), then every interval; a zero value disarms it. Returns what was set before
    /// (time left, interval); without `new`, returns the timer's state, `overruns` included
    /// (expiries merged into a POSIX timer's last signal). Errors: `EINVAL` (no such timer,
    /// not a timer stream, bad time, `absolute` or `cancel_on_set` for the alarm timer),
    /// `EBADF`. Linux: `timer_settime`, or `timer_gettime` and `timer_getoverrun`;
    /// `timerfd_settime` or `timerfd_gettime`; `setitimer` or `getitimer` (the three interval timers).
    fn timer_set(&self, timer: Timer, new: Option<TimerSetting>) -> Result<TimerSetting>;

    /// Deletes timer `id`. Errors: `EINVAL`. Linux: `timer_delete`.
    fn timer_delete(&self, id: u32) -> Result<()>;

    // ---------------------------------------------------------------- System V IPC (1)

    /// One System V IPC operation ([`IpcOp`]) on the box's own IPC namespace, which no process
    /// outside the box shares, with the namespace's limits set to the box's memory. Returns
    /// what the Linux call returns. Owners in `struct ipc_perm` are the box's ids, as in
    /// [`Host::stream_attr`]. Errors: as the Linux call (`EACCES`, `EEXIST`, `ENOENT`,
    /// `EINVAL`, `ENOMEM`, `ENOSPC`, `EIDRM`, `EAGAIN`, `E2BIG`, `ENOMSG`, `EINTR`,
    /// `ETIMEDOUT`, `EMSGSIZE`, `EBUSY`...). POSIX message queues live in the same
    /// namespace (`MqOpen` and friends).
    /// Linux: `shmget`, `shmat`, `shmdt`, `shmctl`, `semget`, `semtimedop`, `semctl`,
    /// `msgget`, `msgsnd`, `msgrcv`, `msgctl`, `mq_open`, `mq_unlink`, `mq_timedsend`,
    /// `mq_timedreceive`, `mq_notify`, `mq_getsetattr`, in an IPC namespace of the box's own.
    fn ipc(&self, op: IpcOp<'_>) -> Result<u64>;

    // ---------------------------------------------------------------- time and misc (5)

    /// Reads a clock. Linux: `clock_gettime` (through the vDSO when there is one).
    fn time_query(&self, clock: Clock) -> Result<Timespec>;

    /// Sleeps for `duration`, or until the absolute time `duration` on `clock` if `absolute`.
    /// Errors: `EINTR` (then the remaining time is returned), `EINVAL`. Linux: `clock_nanosleep`.
    fn time_sleep(&self, clock: Clock, duration: Timespec, absolute: bool) -> Result<()>;

    /// Fills `buf` with cryptographically strong random bytes. Linux: `getrandom`.
    fn random_read(&self, buf: &mut [u8]) -> Result<()>;

    /// Writes a diagnostic line to the box's log (the monitor's standard error).
    /// Linux: `write` on the log descriptor.
    fn debug_log(&self, message: &str);

    /// Facts about the host (page size, CPUs, vDSO, limits).
    fn host_info(&self) -> HostInfo;
}

/// One entry of the ABI catalogue, for documentation and `picobox abi`.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo {
    /// Name of the [`Host`] method.
    pub name: &'static str,
    /// Group it belongs to.
    pub group: &'static str,
}

macro_rules! catalogue {
    ($($group:literal: [$($name:ident),* $(,)?])*) => {
        /// Every call of [`Host`], by group, in declaration order.
        pub const CALLS: &[CallInfo] = &[$($(CallInfo { name: stringify!($name), group: $group },)*)*];
    };
}

catalogue! {
    "memory": [vm_alloc, vm_free, vm_protect, vm_map_stream, vm_remap, vm_discard, vm_copy,
        vm_pages, vm_barrier]
    "threads": [thread_create, thread_exit, thread_signal, thread_yield,
        thread_set_robust_list, thread_set_tls, thread_cpus, signals_seen, signals_wait]
    "synchronisation": [futex, streams_wait]
    "streams": [stream_open, stream_read, stream_write, stream_seek, stream_attr, stream_attr_at,
        stream_set_length, stream_flush, stream_read_dir, stream_read_link, stream_make_dir,
        stream_delete, stream_rename, stream_make_link, stream_set_times, stream_set_mode,
        stream_access, stream_query, stream_set, stream_lock, object_close, stream_pipe, stream_tee,
        stream_create, stream_make_node]
    "sockets": [socket_create, socket_pair, socket_bind, socket_listen, socket_accept,
        socket_connect, socket_send, socket_recv, socket_shutdown, socket_name, socket_option]
    "processes": [process_fork, process_wait, process_id, process_usage, process_signal, process_handle, process_memory, process_group,
        process_exit, timer_create, timer_set, timer_delete]
    "System V IPC": [ipc]
    "time and misc": [time_query, time_sleep, random_read, debug_log, host_info]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique() {
        for (i, a) in CALLS.iter().enumerate() {
            assert!(
                CALLS[i + 1..].iter().all(|b| b.name != a.name),
                "{} twice",
                a.name
            );
        }
        // 74: vm_pages, vm_barrier, process_memory and thread_cpus came with issue 9, each
        // for what the library OS cannot build from the others (residency, cross-CPU
        // barriers, another process's memory, placement on CPUs). Fold before adding more.
        assert!(
            (40..=74).contains(&CALLS.len()),
            "{} calls: keep the ABI small",
            CALLS.len()
        );
    }
}
