//! The library OS's state and its three entry points: [`boot`], [`syscall`], [`fault`].

use crate::exec;
use crate::fd::{FdEntry, FdTable, FileObject, HostHandle, OpenFile};
use crate::lock::{Lock, LockGuard};
use crate::path::Components;
use crate::syscalls;
use crate::vfs::Vfs;
use crate::vma::Vmas;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use picobox_abi::boot::BootInfo;
use picobox_abi::{CpuContext, Errno, Handle, Host, OpenFlags};
use picobox_loader::LoadError;
use spin::Once;

static HOST: &Once<&'static dyn Host> = &crate::state::LIBOS.host;
static KERNEL: &Lock<Option<Kernel>> = &crate::state::LIBOS.kernel;

/// Sets the host for the library OS's unit tests (`test_host.rs`), as [`boot`] does.
#[cfg(test)]
pub(crate) fn set_host_for_tests(h: &'static dyn Host) {
    HOST.call_once(|| h);
}

/// Puts the library OS's state in place (or takes it away) for a unit test.
#[cfg(test)]
pub(crate) fn install_for_tests(k: Option<Kernel>) {
    *KERNEL.lock() = k;
}

/// The host, once [`boot`] has set it.
pub(crate) fn host_if_booted() -> Option<&'static dyn Host> {
    HOST.get().copied()
}

/// The host this library OS runs on. Set once by [`boot`].
pub fn host() -> &'static dyn Host {
    *HOST.get().expect("picobox libOS used before boot")
}

/// The Linux personality's whole state for one process.
pub struct Kernel {
    /// Descriptor table.
    pub fds: FdTable,
    /// Mounts and path resolution.
    pub vfs: Vfs,
    /// Working directory (absolute, symlink-free).
    pub cwd: Components,
    /// Program break.
    pub brk: Brk,
    /// Every range mapped for the program.
    pub vmas: Vmas,
    /// The running program's file (for `execve("/proc/self/exe")`).
    pub program: Arc<HostHandle>,
    /// File-mode creation mask.
    pub umask: u32,
    /// The process's user and group ids.
    pub creds: syscalls::creds::Creds,
    /// The uid the box's first program ran as: who made the box's user namespace
    /// (`NS_GET_OWNER_UID`).
    pub owner_uid: u32,
    /// The nice value (`setpriority`), recorded.
    pub nice: i32,
    /// The scheduling policy (`sched_setscheduler`), recorded.
    pub sched_policy: u32,
    /// The I/O priority (`ioprio_set`), recorded.
    pub io_priority: u32,
    /// Host name reported.
    pub hostname: Vec<u8>,
    /// The kernel release reported (`uname`, `/proc/sys/kernel/osrelease`, `/proc/version`).
    pub kernel_release: Vec<u8>,
    /// Signal dispositions and mask.
    pub signals: syscalls::signal::SignalState,
    /// Resource limits reported by `getrlimit` (soft, hard), by `RLIMIT_*` number.
    pub rlimits: [(u64, u64); 16],
    /// Whether `--trace` is on.
    pub trace: bool,
    /// System calls already reported as unsupported (bit per number).
    pub reported: [u64; 8],
    /// The program as started (for `/proc/self/exe`).
    pub program_name: Vec<u8>,
    /// The program's short name (`comm`): the last component of the path it was started by,
    /// before symbolic links, at most 15 bytes.
    pub comm: Vec<u8>,
    /// `PR_SET_PDEATHSIG`'s signal (reported back only).
    pub parent_death_signal: u8,
    /// What `prctl` records and reads back: dumpable (`PR_SET_DUMPABLE`), the timer slack in
    /// nanoseconds (`PR_SET_TIMERSLACK`), transparent huge pages disabled.
    pub prctl: ProcessControls,
    /// Files (device, inode) on which this process took POSIX record locks: closing any of
    /// its descriptors of one releases them all, as Linux does, also when the host's
    /// descriptor stays open for another of the program's (a `dup`).
    pub record_locked: alloc::collections::BTreeSet<(u64, u64)>,
    /// The execution domain `personality` set (recorded and reported back; its flags have
    /// no effect).
    pub personality: u32,
    /// The process's threads, by id.
    pub threads: BTreeMap<u32, ThreadState>,
    /// The thread whose signal mask `signals.mask` holds.
    pub current_tid: u32,
    /// The box's network.
    pub network: picobox_abi::boot::Network,
    /// The running program's arguments, NUL-separated (`/proc/self/cmdline`).
    pub cmdline: Vec<u8>,
    /// Its initial environment, NUL-separated (`/proc/self/environ`).
    pub environ: Vec<u8>,
    /// Its auxiliary vector as bytes (`/proc/self/auxv`).
    pub auxv: Vec<u8>,
    /// TCP addresses the box may bind and connect to, on the host's network.
    pub allow_bind: Vec<picobox_abi::boot::TcpRule>,
    /// See `allow_bind`.
    pub allow_connect: Vec<picobox_abi::boot::TcpRule>,
    /// POSIX timers this process created (see `syscalls/timer.rs`).
    pub timers: BTreeMap<u32, (picobox_abi::Clock, picobox_abi::TimerNotify)>,
    /// System V shared memory attached here: address, length (see `syscalls/sysv.rs`).
    pub shm_attached: BTreeMap<u64, u64>,
    /// The Unix sockets bound to a path name, by their host name in the socket root
    /// (`/<dev>-<ino>`): where their socket file is, for a snapshot to bind them again.
    pub unix_bound: BTreeMap<Vec<u8>, crate::snapshot::BoundName>,
    /// The watches added through each inotify watcher, by its host stream, for
    /// `/proc/PID/fdinfo` (see `syscalls/inotify.rs`).
    pub watches: syscalls::inotify::Watches,
    /// Asynchronous I/O contexts (see `syscalls/aio.rs`).
    pub aio: syscalls::aio::Contexts,
    /// The pid each pidfd names, by its host stream (see `syscalls/pidfd.rs`).
    pub pidfds: syscalls::pidfd::Pidfds,
    /// Whether the process has executed a program since it was forked (its parent may then
    /// no longer change its process group: `EACCES`).
    pub executed: bool,
    /// `mlockall(MCL_FUTURE)`: mappings made from now on are locked too.
    pub lock_future: bool,
    /// The `membarrier` commands the process registered for (`MEMBARRIER_CMD_REGISTER_*`
    /// bits); like Linux's, of the address space: a forked child keeps them, exec drops them.
    pub membarrier_registered: u32,
    /// The children this process traces (`ptrace`), and whether each is in a stop the
    /// tracer has seen (`wait`) or made (see `syscalls/ptrace.rs`).
    pub tracees: alloc::collections::BTreeMap<u32, bool>,
    /// The process's keys and keyrings (see `syscalls/keys.rs`).
    pub keys: syscalls::keys::Keys,
}

/// The short name Linux gives a program started by `path` (`comm`).
pub fn comm_of(path: &[u8]) -> Vec<u8> {
    let name = path.rsplit(|b| *b == b'/').next().unwrap_or(b"");
    name[..name.len().min(15)].to_vec()
}

/// `strings` as `/proc` shows them: each followed by a NUL.
pub fn nul_joined(strings: &[Vec<u8>]) -> Vec<u8> {
    strings
        .iter()
        .flat_map(|s| s.iter().copied().chain(core::iter::once(0)))
        .collect()
}

/// What the library OS keeps per thread (while another thread is current; the current
/// thread's mask and alternate stack live in `Kernel::signals`).
/// A new thread has no alternate signal stack (all zero, as Linux keeps it).
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadState {
    /// Blocked signals.
    pub mask: u64,
    /// The alternate signal stack (`ss_sp`, `ss_flags`, `ss_size`).
    pub altstack: (u64, u32, u64),
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`: zeroed and woken when the thread exits.
    pub clear_child_tid: u64,
    /// `set_robust_list`'s head (the host holds the list; this answers `get_robust_list`).
    pub robust_list: u64,
    /// The mask to put back once the signal that interrupted a wait with a temporary mask
    /// (`ppoll`, `pselect6`, `epoll_pwait`) has its frame.
    pub restore_mask: Option<u64>,
}

impl Kernel {
    /// Makes `tid`'s per-thread state (its signal mask) the current one.
    pub fn switch_to(&mut self, tid: u32) {
        if tid == self.current_tid {
            return;
        }
        let (mask, altstack) = (self.signals.mask, self.signals.altstack);
        // A thread that has exited left the table: it must not come back into it.
        if let Some(old) = self.threads.get_mut(&self.current_tid) {
            old.mask = mask;
            old.altstack = altstack;
        }
        let new = *self.threads.entry(tid).or_insert(ThreadState {
            mask,
            ..ThreadState::default()
        });
        self.signals.mask = new.mask;
        self.signals.altstack = new.altstack;
        self.current_tid = tid;
    }

    /// In a forked child: the calling thread is the only one, under its new id.
    pub fn after_fork(&mut self) {
        let state = self.threads.remove(&self.current_tid).unwrap_or_default();
        self.threads.clear();
        self.current_tid = host().thread_id();
        self.threads.insert(self.current_tid, state);
    }
}

/// The program break: `[start, current)` is the heap, mapped up to `mapped_end`.
#[derive(Clone, Copy, Debug)]
pub struct Brk {
    /// Where the heap starts (just after the image).
    pub start: u64,
    /// The current break.
    pub current: u64,
    /// End of the pages mapped for the heap.
    pub mapped_end: u64,
}

/// Where the program starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// First instruction.
    pub pc: u64,
    /// Initial stack pointer (points at `argc`).
    pub sp: u64,
}

/// Why the program could not be started.
#[derive(Debug)]
pub enum BootError {
    /// The program cannot be found or is not loadable (the line names the file).
    Program(exec::Refusal),
    /// Mapping it failed.
    Map(LoadError),
    /// The stack could not be set up.
    Stack(Errno),
    /// The boot information is inconsistent.
    Config(Errno),
}

impl BootError {
    /// The exit status `picobox run` reports: 127 when the program is not there, else 126.
    pub fn exit_status(&self) -> u8 {
        match self {
            BootError::Program(r) if r.errno == Errno::ENOENT => 127,
            _ => 126,
        }
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Program(r) => write!(f, "{}", r.why),
            BootError::Map(e) => write!(f, "cannot map the program: {}", e.0),
            BootError::Stack(e) => write!(f, "cannot set up the stack: {e}"),
            BootError::Config(e) => write!(f, "bad boot configuration: {e}"),
        }
    }
}

/// Finds the program in the box's view (`argv[0]`, looked up in `PATH` when it has no `/`),
/// loads it, and initialises the library OS. Returns where to jump.
pub fn boot(h: &'static dyn Host, info: BootInfo) -> Result<Entry, BootError> {
    HOST.call_once(|| h);
    let vfs = Vfs::new(&info.mounts).map_err(BootError::Config)?;
    let cwd = crate::path::normalize(&info.cwd).map_err(BootError::Config)?;
    let view = exec::View {
        vfs: &vfs,
        cwd: &cwd,
        current: None,
    };
    let name = info.argv.first().cloned().unwrap_or_default();
    let prepared = exec::find(&view, &name, &info.envp)
        .and_then(|path| exec::prepare(&view, path, info.argv.clone(), info.envp.clone()))
        .map_err(BootError::Program)?;
    let mut vmas = Vmas::default();
    let loaded = exec::load(&prepared, (info.uid, info.gid), &mut vmas)?;

    let mut fds = FdTable::new(
        usize::try_from(info.max_open_files)
            .unwrap_or(1024)
            .clamp(3, 1 << 20),
    );
    for std_fd in 0..3u32 {
        // The monitor passes the caller's standard streams as host handles 0, 1 and 2.
        if host().stream_attr(Handle(std_fd)).is_ok() {
            let access = if std_fd == 0 {
                OpenFlags::READ.0
            } else {
                OpenFlags::WRITE.0
            };
            let file = OpenFile::new(
                FileObject::Host(HostHandle(Handle(std_fd))),
                access,
                Vec::new(),
            );
            fds.replace(
                u64::from(std_fd),
                FdEntry {
                    file,
                    cloexec: false,
                },
            )
            .map_err(BootError::Config)?;
        }
    }
    let mut kernel = Kernel::fresh(&info, vfs, cwd, fds, prepared.file);
    kernel.brk = Brk {
        start: loaded.brk,
        current: loaded.brk,
        mapped_end: loaded.brk,
    };
    kernel.vmas = vmas;
    kernel.program_name = prepared.name;
    kernel.comm = prepared.comm;
    kernel.cmdline = nul_joined(&prepared.argv);
    kernel.environ = nul_joined(&prepared.envp);
    kernel.auxv = loaded.auxv.clone();
    crate::socket_root::set(info.socket_root);
    crate::box_processes::publish(&kernel);
    crate::box_processes::set_state(crate::box_processes::RUNNING);
    if host().process_id(picobox_abi::Whose::Caller) != 1 {
        // picobox's reaper, pid 1, waits for the box's processes all its life.
        crate::box_processes::set_state_of(1, crate::box_processes::SLEEPING);
    }
    *KERNEL.lock() = Some(kernel);
    Ok(loaded.entry)
}

impl Kernel {
    /// The state of a process that has loaded no program yet: `info`'s identity, limits and
    /// network, the mounts `vfs`, working directory `cwd`, descriptors `fds`, its program
    /// file `program`; no memory. [`boot`] fills in the program; the library OS's unit tests
    /// use it as it is, on a test implementation of the host ABI.
    pub fn fresh(
        info: &BootInfo,
        vfs: Vfs,
        cwd: Components,
        fds: FdTable,
        program: Arc<HostHandle>,
    ) -> Kernel {
        let nofile = fds.limit as u64;
        Kernel {
            fds,
            vfs,
            cwd,
            brk: Brk {
                start: 0,
                current: 0,
                mapped_end: 0,
            },
            vmas: Vmas::default(),
            program,
            umask: 0o022,
            creds: syscalls::creds::Creds::new(info.uid, info.gid),
            owner_uid: info.uid,
            nice: 0,
            sched_policy: 0,
            io_priority: 0,
            hostname: info.hostname.clone(),
            kernel_release: info.kernel_release.clone(),
            signals: syscalls::signal::SignalState::default(),
            rlimits: syscalls::info::default_rlimits(nofile, exec::STACK_SIZE as u64),
            trace: info.trace,
            reported: [0; 8],
            program_name: Vec::new(),
            comm: Vec::new(),
            parent_death_signal: 0,
            prctl: ProcessControls::default(),
            record_locked: alloc::collections::BTreeSet::new(),
            personality: 0,
            threads: BTreeMap::from([(host().thread_id(), ThreadState::default())]),
            current_tid: host().thread_id(),
            network: info.network,
            cmdline: Vec::new(),
            environ: Vec::new(),
            auxv: Vec::new(),
            timers: BTreeMap::new(),
            shm_attached: BTreeMap::new(),
            unix_bound: BTreeMap::new(),
            watches: BTreeMap::new(),
            aio: BTreeMap::new(),
            pidfds: BTreeMap::new(),
            executed: false,
            lock_future: false,
            membarrier_registered: 0,
            tracees: alloc::collections::BTreeMap::new(),
            keys: syscalls::keys::Keys::default(),
            allow_bind: info.allow_bind.clone(),
            allow_connect: info.allow_connect.clone(),
        }
    }
}

/// How the program resumes after a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    /// With this value in `rax`, where it was.
    Value(u64),
    /// With `rax` set, on stack `sp`, and at `pc` if given (else where it was).
    Switch {
        /// Value for `rax`.
        rax: u64,
        /// New instruction pointer.
        pc: Option<u64>,
        /// New stack pointer.
        sp: u64,
    },
    /// A new program (`execve`): at `pc` on stack `sp` with every other register zero.
    Fresh(Entry),
}

/// Handles the program's system call `nr`, its arguments and result in `ctx`; a pending signal
/// is then delivered.
pub fn syscall(nr: u64, ctx: &mut CpuContext) {
    syscalls::dispatch(nr, ctx);
}

/// Runs `f` on the library OS's state, locked only for that long (blocking calls use this so
/// that other threads are not held up while they wait). Errors: `ENOSYS` before boot.
pub(crate) fn with<R>(f: impl FnOnce(&mut Kernel) -> R) -> Result<R, Errno> {
    let mut guard = lock();
    let k = guard.as_mut().ok_or(Errno::ENOSYS)?;
    k.switch_to(host().thread_id());
    Ok(f(k))
}

/// A host signal `sig` (with its `siginfo`) arrived; `in_libos` says whether it interrupted the
/// library OS rather than the program.
pub fn signal_arrived(sig: u8, info: &[u8; 128], ctx: &mut CpuContext, in_libos: bool) {
    syscalls::signal::arrived(sig, info, ctx, in_libos);
}

/// What `prctl` keeps per process (see [`Kernel::prctl`]).
#[derive(Clone, Copy, Debug)]
pub struct ProcessControls {
    /// `PR_GET_DUMPABLE`: 1 unless the program said 0.
    pub dumpable: bool,
    /// `PR_GET_TIMERSLACK`, in nanoseconds.
    pub timer_slack: u64,
    /// What `PR_SET_TIMERSLACK` 0 restores: Linux's default, or in a forked child the
    /// parent's slack at the fork.
    pub default_timer_slack: u64,
    /// `PR_GET_THP_DISABLE`.
    pub thp_disabled: bool,
    /// `PR_GET_CHILD_SUBREAPER` (not inherited by a forked child).
    pub subreaper: bool,
}

impl Default for ProcessControls {
    fn default() -> ProcessControls {
        ProcessControls {
            dumpable: true,
            timer_slack: DEFAULT_TIMER_SLACK,
            default_timer_slack: DEFAULT_TIMER_SLACK,
            thp_disabled: false,
            subreaper: false,
        }
    }
}

/// Linux's default timer slack (50 µs).
pub const DEFAULT_TIMER_SLACK: u64 = 50_000;

/// The library OS's state, locked. Every entry into the library OS comes through here, so this
/// is where a thread ends when another is replacing the program (see `syscalls/exec.rs`).
pub(crate) fn lock() -> LockGuard<'static, Option<Kernel>> {
    let mut guard = KERNEL.lock();
    if let Some(k) = guard.as_mut() {
        if syscalls::exec::leave_if_another_execs(k) {
            drop(guard);
            host().thread_exit(0);
        }
    }
    guard
}

/// The library OS's state, if it is not locked already.
pub(crate) fn try_lock() -> Option<LockGuard<'static, Option<Kernel>>> {
    KERNEL.try_lock()
}

/// A synchronous fault of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Access to unmapped or protected memory (`SIGSEGV`).
    Segv,
    /// Access beyond the end of a mapped file (`SIGBUS`).
    Bus,
    /// Arithmetic error (`SIGFPE`).
    Fpe,
    /// Illegal instruction (`SIGILL`).
    Ill,
}

/// Handles a fault of the program (with the host's `siginfo`, which carries `si_addr` and
/// `si_code`): its handler runs if it has one, else the process dies of the signal.
pub fn fault(f: Fault, info: &[u8; 128], ctx: &mut CpuContext) {
    let sig = match f {
        Fault::Segv => syscalls::signal::SIGSEGV,
        Fault::Bus => syscalls::signal::SIGBUS,
        Fault::Fpe => syscalls::signal::SIGFPE,
        Fault::Ill => syscalls::signal::SIGILL,
    };
    syscalls::signal::fault(sig, info, ctx)
}
