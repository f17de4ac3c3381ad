//! The library OS's state and its three entry points: [`boot`], [`syscall`], [`fault`].

use crate::fd::{FdEntry, FdTable, FileObject, HostHandle, OpenFile};
use crate::path::Components;
use crate::syscalls;
use crate::vfs::Vfs;
use alloc::vec::Vec;
use core::fmt;
use picobox_abi::boot::BootInfo;
use picobox_abi::{Errno, Handle, Host, IoBuf, OpenFlags, Placement, Prot};
use picobox_loader::stack::{self, auxv, StackContents};
use picobox_loader::{ElfError, ElfImage, LoadError, HEADER_READ_SIZE};
use spin::{Mutex, Once};

static HOST: Once<&'static dyn Host> = Once::new();
static KERNEL: Mutex<Option<Kernel>> = Mutex::new(None);

/// The host this library OS runs on. Set once by [`boot`].
pub fn host() -> &'static dyn Host {
    *HOST.get().expect("picobox libOS used before boot")
}

/// Size of the program's main stack.
pub const STACK_SIZE: usize = 8 << 20;

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
    /// File-mode creation mask.
    pub umask: u32,
    /// User id reported.
    pub uid: u32,
    /// Group id reported.
    pub gid: u32,
    /// Host name reported.
    pub hostname: Vec<u8>,
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
    /// The program file could not be read.
    Read(Errno),
    /// The program is not a valid executable.
    Elf(ElfError),
    /// Mapping it failed.
    Map(LoadError),
    /// The stack could not be set up.
    Stack(Errno),
    /// The boot information is inconsistent.
    Config(Errno),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Read(e) => write!(f, "cannot read the program: {e}"),
            BootError::Elf(e) => write!(f, "{e}"),
            BootError::Map(e) => write!(f, "cannot map the program: {}", e.0),
            BootError::Stack(e) => write!(f, "cannot set up the stack: {e}"),
            BootError::Config(e) => write!(f, "bad boot configuration: {e}"),
        }
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or fails.
fn read_exact_at(h: Handle, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        let n = host().stream_read(
            h,
            IoBuf::of_mut(&mut buf[done..]),
            Some(offset + done as u64),
        )?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Loads the program and initialises the library OS. Returns where to jump.
pub fn boot(h: &'static dyn Host, info: BootInfo) -> Result<Entry, BootError> {
    HOST.call_once(|| h);
    let program = info.program.ok_or(BootError::Config(Errno::ENOENT))?;
    let size = host().stream_attr(program).map_err(BootError::Read)?.size;
    let mut head = alloc::vec![0u8; HEADER_READ_SIZE];
    let got = read_exact_at(program, 0, &mut head).map_err(BootError::Read)?;
    head.truncate(got);
    let image = ElfImage::parse(&head, size, |off, buf| {
        match read_exact_at(program, off, buf) {
            Ok(n) if n == buf.len() => Ok(()),
            _ => Err(ElfError::Truncated),
        }
    })
    .map_err(BootError::Elf)?;
    let mapped = image.map(host(), program).map_err(BootError::Map)?;

    let hi = host().host_info();
    let stack_bottom = host()
        .vm_alloc(Placement::Anywhere(0), STACK_SIZE, Prot::READ_WRITE)
        .map_err(BootError::Stack)?;
    // A guard page below the stack turns overflow into a fault rather than silent corruption.
    host()
        .vm_protect(stack_bottom, 4096, Prot::NONE)
        .map_err(BootError::Stack)?;
    let top = (stack_bottom + STACK_SIZE) as u64;
    let mut aux: Vec<(u64, u64)> = alloc::vec![
        (auxv::AT_PHDR, mapped.phdr),
        (auxv::AT_PHENT, 56),
        (auxv::AT_PHNUM, u64::from(mapped.phnum)),
        (auxv::AT_PAGESZ, hi.page_size as u64),
        (auxv::AT_BASE, 0),
        (auxv::AT_FLAGS, 0),
        (auxv::AT_ENTRY, mapped.entry),
        (auxv::AT_UID, u64::from(info.uid)),
        (auxv::AT_EUID, u64::from(info.uid)),
        (auxv::AT_GID, u64::from(info.gid)),
        (auxv::AT_EGID, u64::from(info.gid)),
        (auxv::AT_HWCAP, hi.hwcap),
        (auxv::AT_HWCAP2, hi.hwcap2),
        (auxv::AT_CLKTCK, 100),
        (auxv::AT_SECURE, 0),
        (auxv::AT_MINSIGSTKSZ, hi.min_signal_stack as u64),
        (auxv::AT_PICOBOX_GATE, hi.gate as u64),
    ];
    if let Some(vdso) = hi.vdso {
        aux.push((auxv::AT_SYSINFO_EHDR, vdso as u64));
    }
    let mut random = [0u8; 16];
    host().random_read(&mut random).map_err(BootError::Stack)?;
    let contents = StackContents {
        argv: &info.argv,
        envp: &info.envp,
        auxv: &aux,
        execfn: &info.program_name,
        random,
    };
    let (bytes, sp) = stack::build(top, &contents).map_err(BootError::Stack)?;
    host()
        .vm_copy(sp as usize, bytes.as_ptr() as usize, bytes.len())
        .map_err(BootError::Stack)?;

    let mut fds = FdTable::new(
        usize::try_from(info.max_open_files)
            .unwrap_or(1024)
            .clamp(3, 1 << 20),
    );
    for std_fd in 0..3u32 {
        // The monitor passes the caller's standard streams as host handles 0, 1 and 2.
        if let Ok(attr) = host().stream_attr(Handle(std_fd)) {
            let _ = attr;
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
    let cwd = crate::path::normalize(&info.cwd).map_err(BootError::Config)?;
    let nofile = fds.limit as u64;
    let kernel = Kernel {
        fds,
        vfs: Vfs::new(&info.mounts).map_err(BootError::Config)?,
        cwd,
        brk: Brk {
            start: mapped.end,
            current: mapped.end,
            mapped_end: mapped.end,
        },
        umask: 0o022,
        uid: info.uid,
        gid: info.gid,
        hostname: info.hostname.clone(),
        signals: syscalls::signal::SignalState::default(),
        rlimits: syscalls::info::default_rlimits(nofile, STACK_SIZE as u64),
        trace: info.trace,
        reported: [0; 8],
        program_name: info.program_name.clone(),
    };
    *KERNEL.lock() = Some(kernel);
    Ok(Entry {
        pc: mapped.entry,
        sp,
    })
}

/// Handles system call `nr` with arguments `args`; returns the value for `rax`.
pub fn syscall(nr: u64, args: [u64; 6]) -> u64 {
    let mut guard = KERNEL.lock();
    match guard.as_mut() {
        Some(k) => syscalls::dispatch(k, nr, args),
        None => Errno::ENOSYS.as_return(),
    }
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

/// Handles a fault of the program. With no handler support yet (issue 3), the default action
/// applies: the process dies with the signal, which the host reports as status `128 + signal`.
pub fn fault(f: Fault) -> ! {
    let sig = match f {
        Fault::Segv => syscalls::signal::SIGSEGV,
        Fault::Bus => syscalls::signal::SIGBUS,
        Fault::Fpe => syscalls::signal::SIGFPE,
        Fault::Ill => syscalls::signal::SIGILL,
    };
    syscalls::signal::die_of(sig)
}
