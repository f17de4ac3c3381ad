//! `picobox restore` and `picobox snapshot inspect` (docs/snapshot.md).
//!
//! A restore is `picobox run` with a different last step. The snapshot is read and checked
//! whole first (format, checksums, this build of picobox, the metadata's ranges), before any
//! box exists. The box is then made from the flags recorded in the snapshot (its mounts as the
//! restore's `--bind` remaps them), and its program process, confined as any box's, does
//! instead of loading a program:
//! 1. makes its host descriptors again at their numbers: the restore's standard streams, the
//!    box's mount roots and socket root, the snapshot channel, and each file the program had
//!    open, opened again beneath its mount root (never above it) at its offset;
//! 2. maps the saved memory at its addresses: private and shared ranges filled with the saved
//!    pages, the runtime's code from the `picobox` binary, the kernel's vDSO moved to where
//!    it was;
//! 3. installs the saved runtime's handlers and its seccomp filter (for the saved gate, on
//!    every thread) before any of the saved runtime runs, since the saved runtime's data is
//!    the snapshot's, written by the box; then calls the saved runtime's
//!    `freeze::restored_entry`, which resumes the thread where it parked.
//!
//! This runtime (the restoring one) sits elsewhere in memory; if the saved memory overlaps
//! it, the restore is refused and can be run again (the kernel places each run elsewhere).
#![allow(unsafe_code)]

use crate::cli::{RestoreArgs, RunConfig};
use crate::hostio::{self, close, sys};
use crate::snapshot_format::{self, Limits};
use crate::snapshot_meta::{HandleKind, MapKind, Mapping, Metadata};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::boot::BootInfo;
use picobox_abi::Errno;

const PROT_READ: u64 = 1;
const PROT_RW: u64 = 3;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_NORESERVE: u64 = 0x4000;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MADV_DONTNEED: u64 = 4;
const PAGE: u64 = 4096;
/// Most metadata a snapshot may have.
const METADATA_LIMIT: u64 = 64 << 20;

/// A run of saved pages: its address, its offset in the snapshot file, its length.
pub type PageRun = (u64, u64, u64);
/// One of the kernel's vDSO ranges: kind, start, end.
pub type Special = (MapKind, u64, u64);

/// A snapshot file checked whole: its metadata, each process's page runs, the build that
/// wrote it, whether it bears this user's seal (`seal.rs`), and the page runs whose checksums
/// are still to be checked ([`Pages::Later`]).
type Checked = (Metadata, Vec<Vec<PageRun>>, [u8; 20], bool, Vec<Unverified>);

/// A page run whose checksum is still to be checked: its address, its offset in the file,
/// its length, and the checksum its head gives.
#[derive(Clone, Copy)]
pub struct Unverified {
    address: u64,
    offset: u64,
    len: u64,
    sum: u64,
}

/// When a snapshot's pages are checked against their checksums.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pages {
    /// With the rest of the file, before anything else is done (`snapshot inspect`).
    Now,
    /// By the monitor while the box is built, before anything of the program runs
    /// ([`verify_then_release`]): the reading of every page is then on another processor
    /// than the making of the box.
    Later,
}

/// A checked snapshot, ready to be restored in a box's process.
pub struct Plan {
    /// The snapshot file (or its copy from standard input), open for reading.
    pub file: u64,
    /// The `picobox` binary, open for reading (its code is mapped from it).
    pub exe: u64,
    /// The metadata.
    pub metadata: Metadata,
    /// Page runs of each process: address, offset in the file, length.
    pub chunks: Vec<Vec<PageRun>>,
    /// The process this one restores (its index in the metadata), once forked.
    pub me: usize,
    /// The box's pipes, made before the processes were forked: id, read end, write end.
    pub pipe_ends: Vec<(u64, u64, u64)>,
    /// This process's vDSO ranges, by kind, to move where the snapshot's were.
    pub own_specials: Vec<Special>,
    /// Reset TCP sockets made for the box's connected ones, by process (its index) and
    /// descriptor ([`make_reset_sockets`]).
    pub reset_sockets: Vec<(usize, u32, u64)>,
    /// The box's Unix sockets, made before the processes were forked: id, descriptor.
    pub unix_made: Vec<(u64, u64)>,
    /// The box's FIFOs, opened before the processes were forked.
    pub fifo_ends: Vec<crate::fifos::Ends>,
    /// The open file descriptions several processes hold, made before the processes were
    /// forked (`descriptions.rs`): number, descriptor.
    pub shared_made: Vec<(u32, u64)>,
    /// The files no name reached (`box_files.rs`), made under passing names, until the
    /// names are removed: mount, entry, mount root, name.
    pub detached_names: Vec<(u32, u32, u64, Vec<u8>)>,
    /// A descriptor on each file no name reached that the box maps, to map it from: mount,
    /// entry, descriptor.
    pub detached_made: Vec<(u32, u32, u64)>,
    /// The listening sockets bound again before the box's TCP connections were made (their
    /// ports may be those of connections they accepted), by id.
    pub listeners_made: Vec<(u64, u64)>,
    /// The channels on which the first process holding a listening TCP socket passes it, once
    /// it is bound again, to the others that hold it.
    pub listener_links: Vec<ListenerLink>,
    /// The saved mount-root descriptor numbers and this box's roots of the same mounts.
    pub roots: Vec<(u32, u64)>,
    /// A page the monitor and all the box's processes share while they are restored: the
    /// count of the processes confined, and one for the monitor once it has checked the
    /// snapshot's pages, which each process waits on ([`wait_for_box`]).
    pub barrier: u64,
    /// The page runs the monitor checks while the box is built ([`verify_then_release`]).
    pub unverified: Vec<Unverified>,
    /// The helper process checking the runs from this index on, if there is one.
    pub helper: Option<(u64, usize)>,
    /// The file's identity, to remember once its pages are checked (`verified.rs`); none
    /// for standard input's copy, or for a file already known.
    pub identity: Option<crate::verified::Identity>,
}

/// Reads a snapshot file whole (at most `limit` bytes), or standard input's bytes into a
/// memory file; returns the descriptor and the bytes, mapped.
fn load(path: &[u8]) -> Result<(u64, &'static [u8]), String> {
    let fd = if path == b"-" {
        let memfd = sys(319, [c"picobox-restore".as_ptr() as u64, 1, 0, 0, 0, 0])
            .map_err(|e| format!("cannot make a memory file: {e}"))?;
        let mut buf = alloc::vec![0u8; 1 << 20];
        loop {
            match sys(0, [0, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0]) {
                Ok(0) => break,
                Ok(n) => hostio::write_all(memfd, &buf[..n as usize])
                    .map_err(|e| format!("cannot keep the snapshot: {e}"))?,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(format!("cannot read standard input: {e}")),
            }
        }
        memfd
    } else {
        hostio::open(path, hostio::O_RDONLY, 0)
            .map_err(|e| format!("cannot open {}: {e}", String::from_utf8_lossy(path)))?
    };
    let len = sys(8, [fd, 0, 2, 0, 0, 0]).map_err(|e| format!("cannot size the snapshot: {e}"))?;
    if len == 0 {
        return Err("the snapshot is empty".into());
    }
    let addr = sys(9, [0, len, PROT_READ, MAP_PRIVATE, fd, 0])
        .map_err(|e| format!("cannot map the snapshot: {e}"))?;
    // SAFETY: a private read-only mapping of `len` bytes that is never unmapped while the
    // process lives (the restored process unmaps it only once the slice is no longer used).
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) };
    Ok((fd, bytes))
}

/// Checks a snapshot's container and metadata (and its pages, or leaves them for later);
/// returns the metadata and page runs.
fn check(bytes: &'static [u8], build: Option<[u8; 20]>, pages: Pages) -> Result<Checked, String> {
    let limits = Limits {
        metadata: METADATA_LIMIT,
        memory: u64::MAX,
    };
    let s = match pages {
        Pages::Now => snapshot_format::read(bytes, build, limits),
        Pages::Later => snapshot_format::read_all_but_pages(bytes, build, limits),
    }
    .map_err(|e| format!("{e}"))?;
    let metadata = Metadata::decode(s.metadata).map_err(|e| format!("bad metadata: {e}"))?;
    let base = bytes.as_ptr() as u64;
    // One list per process, then one of the stored files' runs (`FILE_DATA`).
    let processes = metadata.processes.len();
    let mut chunks: Vec<Vec<PageRun>> = alloc::vec![Vec::new(); processes + 1];
    for c in &s.chunks {
        let index = if c.process == crate::snapshot_meta::FILE_DATA {
            processes
        } else {
            c.process as usize
        };
        let runs = chunks
            .get_mut(index)
            .filter(|_| index < processes || c.process == crate::snapshot_meta::FILE_DATA)
            .ok_or("the snapshot has pages of a process it does not describe")?;
        runs.push((
            c.address,
            c.pages.as_ptr() as u64 - base,
            c.pages.len() as u64,
        ));
    }
    let sealed = crate::seal_key::existing().is_some_and(|key| {
        crate::seal::same(
            &crate::seal_key::seal(&key, &s.build_id, s.metadata),
            &s.seal,
        )
    });
    let unverified = match pages {
        Pages::Now => Vec::new(),
        Pages::Later => s
            .chunks
            .iter()
            .map(|c| Unverified {
                address: c.address,
                offset: c.pages.as_ptr() as u64 - base,
                len: c.pages.len() as u64,
                sum: c.sum,
            })
            .collect(),
    };
    Ok((metadata, chunks, s.build_id, sealed, unverified))
}

/// Whether every page run lies inside a private or shared range of the map.
fn chunks_inside(chunks: &[PageRun], mappings: &[Mapping]) -> bool {
    chunks.iter().all(|(address, _, len)| {
        mappings.iter().any(|m| {
            matches!(m.kind, MapKind::Private | MapKind::Shared)
                && m.start <= *address
                && address + len <= m.end
        })
    })
}

/// The page runs of the box's stored files (the last list of a check's runs).
pub fn stored_runs(chunks: &[Vec<PageRun>]) -> &[PageRun] {
    chunks.last().map_or(&[], Vec::as_slice)
}

/// Whether every run of stored bytes lies inside one stored file's or System V segment's
/// range.
fn stored_runs_inside(runs: &[PageRun], m: &Metadata) -> bool {
    let segments = m
        .ipc
        .segments
        .iter()
        .filter_map(|g| g.stored.map(|base| (base, base + g.span())));
    let ranges: Vec<(u64, u64)> = m
        .box_files
        .iter()
        .flat_map(|m| &m.entries)
        .filter_map(|e| match e.kind {
            crate::snapshot_meta::FileKindRecord::Stored { size, base } => {
                Some((base, base + size.div_ceil(4096) * 4096))
            }
            _ => None,
        })
        .chain(segments)
        .collect();
    runs.iter().all(|(address, _, len)| {
        ranges
            .iter()
            .any(|(start, end)| start <= address && address + len <= *end)
    })
}

/// Checks the process tree: the program first, each other process after its parent, each
/// with a first thread, pids distinct and in the box's range.
fn check_tree(m: &Metadata) -> Result<(), String> {
    let Some(first) = m.processes.first() else {
        return Err("the snapshot holds no process".into());
    };
    if first.parent != 0 {
        return Err("the snapshot's first process is not the box's program".into());
    }
    for (i, p) in m.processes.iter().enumerate() {
        if p.pid == 0 || m.processes[..i].iter().any(|q| q.pid == p.pid) {
            return Err(format!("the snapshot's process {} is listed twice", p.pid));
        }
        // Parent 1 outside the snapshot: picobox's reaper adopted the process.
        let adopted = p.parent == 1 && first.pid != 1;
        if i > 0 && !adopted && !m.processes[..i].iter().any(|q| q.pid == p.parent) {
            return Err(format!(
                "the snapshot's process {} comes before its parent",
                p.pid
            ));
        }
        if !p.threads.iter().any(|t| t.tid == p.pid) {
            return Err(format!(
                "the snapshot's process {} has no first thread",
                p.pid
            ));
        }
        // Each thread's block is read before the saved runtime runs: it must be private,
        // writable memory of the process, whole and aligned as blocks are.
        let block = crate::threads::BLOCK_SIZE as u64;
        for t in &p.threads {
            let writable_at = |a: u64| {
                p.mappings.iter().any(|m| {
                    m.kind == MapKind::Private && m.prot & 3 == 3 && m.start <= a && a < m.end
                })
            };
            let inside = t
                .block
                .checked_add(block - 1)
                .is_some_and(|last| writable_at(t.block) && writable_at(last));
            if !inside || t.block % block != 0 {
                return Err(format!(
                    "the snapshot's thread {} has its block outside its memory",
                    t.tid
                ));
            }
        }
    }
    Ok(())
}

/// This process's own memory ranges (`/proc/self/maps`), and its vDSO ones by kind.
fn own_ranges() -> (Vec<(u64, u64)>, Vec<Special>) {
    let maps = hostio::read_file(b"/proc/self/maps", 16 << 20).unwrap_or_default();
    let mut ranges = Vec::new();
    let mut specials = Vec::new();
    for line in maps.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let range = line.split(|b| *b == b' ').next().unwrap_or(b"");
        let Some(dash) = range.iter().position(|b| *b == b'-') else {
            continue;
        };
        let (Some(start), Some(end)) =
            (hostio::hex(&range[..dash]), hostio::hex(&range[dash + 1..]))
        else {
            continue;
        };
        let kind = if line.ends_with(b"[vdso]") {
            Some(MapKind::Vdso)
        } else if line.ends_with(b"[vvar]") {
            Some(MapKind::Vvar)
        } else if line.ends_with(b"[vvar_vclock]") {
            Some(MapKind::VvarVclock)
        } else {
            None
        };
        match kind {
            Some(k) => specials.push((k, start, end)),
            None if !line.ends_with(b"[vsyscall]") => ranges.push((start, end)),
            None => {}
        }
    }
    (ranges, specials)
}

/// Why a restore could not go on here: an error, or this process's own memory lies where
/// the snapshot's must go (then it runs itself again, placed elsewhere by the kernel).
enum NotHere {
    Error(String),
    Overlap { file: u64, message: String },
}

impl From<String> for NotHere {
    fn from(s: String) -> NotHere {
        NotHere::Error(s)
    }
}

impl From<&str> for NotHere {
    fn from(s: &str) -> NotHere {
        NotHere::Error(s.into())
    }
}

/// Times `picobox restore` runs itself again when its own memory is in the way.
const ATTEMPTS: u32 = 8;
const ATTEMPT_VARIABLE: &[u8] = b"PICOBOX_RESTORE_ATTEMPT=";
/// The stack limit `picobox restore` had before it ran itself again with the bottom-up
/// layout (`run_again`), given back at once.
const STACK_VARIABLE: &[u8] = b"PICOBOX_RESTORE_STACK=";
const RLIMIT_STACK: u64 = 3;

/// `picobox restore`: returns the exit status.
pub fn run(args: &RestoreArgs, env: &[Vec<u8>]) -> u8 {
    if let Some(soft) = env
        .iter()
        .find_map(|e| e.strip_prefix(STACK_VARIABLE))
        .and_then(hostio::decimal)
    {
        let mut limit = [0u64; 2];
        let _ = sys(97, [RLIMIT_STACK, limit.as_mut_ptr() as u64, 0, 0, 0, 0]);
        limit[0] = soft;
        let _ = sys(160, [RLIMIT_STACK, limit.as_ptr() as u64, 0, 0, 0, 0]);
    }
    match prepare(args) {
        Ok((config, plan)) => crate::launch::run_restored(&config, plan),
        Err(NotHere::Overlap { file, message }) => {
            let attempt = env
                .iter()
                .find_map(|e| e.strip_prefix(ATTEMPT_VARIABLE))
                .and_then(hostio::decimal)
                .unwrap_or(0) as u32;
            if attempt + 1 < ATTEMPTS {
                run_again(args, env, file, attempt + 1);
            }
            crate::out::error(format_args!("restore: {message}"));
            crate::launch::EXIT_INTERNAL
        }
        Err(NotHere::Error(msg)) => {
            crate::out::error(format_args!("restore: {msg}"));
            crate::launch::EXIT_INTERNAL
        }
    }
}

/// Executes `picobox restore` again, with the snapshot open at `file` (a copy of standard
/// input is read there), for a new placement of this binary's memory: every other attempt
/// with Linux's bottom-up layout (a stack without limit: its memory then starts low, not
/// beneath the stack), which misses a box that reserved much of the top of its address
/// space. Returns if it cannot.
fn run_again(args: &RestoreArgs, env: &[Vec<u8>], file: u64, attempt: u32) {
    let _ = sys(72, [file, 2, 0, 0, 0, 0]); // F_SETFD 0: the snapshot stays open
    let mut argv: Vec<Vec<u8>> = alloc::vec![b"picobox".to_vec(), b"restore".to_vec()];
    argv.push(format!("/proc/self/fd/{file}").into_bytes());
    if let Some(name) = &args.name {
        argv.extend([b"--name".to_vec(), name.clone()]);
    }
    for (src, dst) in &args.binds {
        argv.extend([b"--bind".to_vec(), src.clone(), dst.clone()]);
    }
    let mut envs: Vec<Vec<u8>> = env
        .iter()
        .filter(|e| !e.starts_with(ATTEMPT_VARIABLE) && !e.starts_with(STACK_VARIABLE))
        .cloned()
        .collect();
    envs.push([ATTEMPT_VARIABLE, format!("{attempt}").as_bytes()].concat());
    let mut limit = [0u64; 2];
    if attempt % 2 == 1 && sys(97, [RLIMIT_STACK, limit.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok() {
        let soft = limit[0];
        limit[0] = u64::MAX; // RLIM_INFINITY
        if sys(160, [RLIMIT_STACK, limit.as_ptr() as u64, 0, 0, 0, 0]).is_ok() {
            envs.push([STACK_VARIABLE, format!("{soft}").as_bytes()].concat());
        }
    }
    let argv: Vec<Vec<u8>> = argv.iter().map(|a| hostio::c_str(a)).collect();
    let envs: Vec<Vec<u8>> = envs.iter().map(|e| hostio::c_str(e)).collect();
    let mut argv_p: Vec<u64> = argv.iter().map(|a| a.as_ptr() as u64).collect();
    argv_p.push(0);
    let mut env_p: Vec<u64> = envs.iter().map(|e| e.as_ptr() as u64).collect();
    env_p.push(0);
    let _ = sys(
        59,
        [
            c"/proc/self/exe".as_ptr() as u64,
            argv_p.as_ptr() as u64,
            env_p.as_ptr() as u64,
            0,
            0,
            0,
        ],
    );
}

/// A snapshot that does not bear this user's seal (made elsewhere, or changed) may name any
/// host file as its box's mount: what its recorded flags give the box of the host (mounts of
/// host paths, the host as root, host ports) is refused unless the restore's own command
/// gives it (`--bind` for a mount) or `--trust-snapshot` takes the recorded flags as they are.
fn refuse_foreign_grants(config: &RunConfig, binds: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
    use crate::cli::{MountKind, RootChoice};
    let mut grants: Vec<String> = Vec::new();
    for m in &config.mounts {
        let given = binds.iter().any(|(_, target)| *target == m.target);
        if matches!(m.kind, MountKind::ReadOnly | MountKind::ReadWrite) && !given {
            grants.push(format!(
                "{} {} {}",
                m.kind.flag(),
                String::from_utf8_lossy(&m.source),
                String::from_utf8_lossy(&m.target)
            ));
        }
    }
    if let RootChoice::Dir(dir) = &config.root {
        grants.push(format!("--root {}", String::from_utf8_lossy(dir)));
    }
    for (flag, rules) in [
        ("--allow-bind", &config.allow_bind),
        ("--allow-connect", &config.allow_connect),
    ] {
        if !rules.is_empty() {
            grants.push(format!("{flag} ({} rules)", rules.len()));
        }
    }
    if grants.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this snapshot does not bear your seal (it was made by another user or machine, or \
         changed since), so its box's access to the host is not taken from it: {}. Give each \
         mount with --bind SRC DST, or, having checked it (picobox snapshot inspect), pass \
         --trust-snapshot",
        grants.join(", ")
    ))
}

fn prepare(args: &RestoreArgs) -> Result<(RunConfig, Plan), NotHere> {
    let (file, bytes) = load(&args.path)?;
    let (metadata, chunks, _, sealed, unverified) =
        check(bytes, Some(crate::start::build_id()), Pages::Later)?;
    check_tree(&metadata)?;
    for (process, runs) in metadata.processes.iter().zip(&chunks) {
        if !chunks_inside(runs, &process.mappings) {
            return Err("the snapshot has pages outside its memory map".into());
        }
    }
    if !stored_runs_inside(stored_runs(&chunks), &metadata) {
        return Err("the snapshot has file pages outside its stored files".into());
    }
    let (own, own_specials) = own_ranges();
    for m in metadata.processes.iter().flat_map(|p| &p.mappings) {
        if matches!(m.kind, MapKind::Vdso | MapKind::Vvar | MapKind::VvarVclock) {
            let size = own_specials
                .iter()
                .find(|(k, _, _)| *k == m.kind)
                .map(|(_, s, e)| e - s);
            if size != Some(m.end - m.start) {
                return Err(
                    "the snapshot was taken on another kernel (its vDSO differs): restore it \
                     on the machine and kernel it was taken on"
                        .into(),
                );
            }
            continue;
        }
        if let Some((s, e)) = own.iter().find(|(s, e)| *s < m.end && m.start < *e) {
            return Err(NotHere::Overlap {
                file,
                message: format!(
                    "the snapshot's memory at {:#x} overlaps this picobox's own \
                     ({s:#x}-{e:#x}) in {ATTEMPTS} placements",
                    m.start
                ),
            });
        }
    }
    let mut config = crate::cli::parse_run(&metadata.run_args)
        .map_err(|e| format!("its recorded flags: {e}"))?;
    config.name = args.name.clone();
    for (source, target) in &args.binds {
        let Some(m) = config.mounts.iter_mut().find(|m| {
            m.target == *target
                && matches!(
                    m.kind,
                    crate::cli::MountKind::ReadOnly | crate::cli::MountKind::ReadWrite
                )
        }) else {
            return Err(NotHere::Error(format!(
                "--bind {} {}: the snapshot's box has no bind mount at {}",
                String::from_utf8_lossy(source),
                String::from_utf8_lossy(target),
                String::from_utf8_lossy(target)
            )));
        };
        m.source = source.clone();
    }
    if !sealed && !args.trust {
        refuse_foreign_grants(&config, &args.binds)?;
    }
    let exe = hostio::open(b"/proc/self/exe", hostio::O_RDONLY, 0)
        .map_err(|e| format!("cannot open picobox's own binary: {e}"))?;
    // Made here, in the monitor, which the box's processes are forked from: it takes part.
    let barrier = make_barrier(&metadata)?;
    // A file checked whole before, unchanged since, is not read again (`verified.rs`).
    let identity = crate::verified::identity(file).filter(|_| args.path != b"-");
    let (unverified, identity) = match identity {
        Some(id) if crate::verified::checked_before(id) => (Vec::new(), None),
        id => (unverified, id),
    };
    let helper = start_helper(file, &unverified);
    // The pages of the file the check touched (heads, metadata) are no longer this process's
    // to keep mapped: the restore reads the file through `file` from here on. (A read of
    // `bytes` after this would map them again from the file.)
    let _ = sys(
        28,
        [
            bytes.as_ptr() as u64,
            bytes.len() as u64,
            MADV_DONTNEED,
            0,
            0,
            0,
        ],
    );
    Ok((
        config,
        Plan {
            file,
            exe,
            metadata,
            chunks,
            own_specials,
            reset_sockets: Vec::new(),
            unix_made: Vec::new(),
            fifo_ends: Vec::new(),
            shared_made: Vec::new(),
            detached_names: Vec::new(),
            detached_made: Vec::new(),
            listeners_made: Vec::new(),
            barrier,
            unverified,
            helper,
            identity,
            roots: Vec::new(),
            listener_links: Vec::new(),
            me: 0,
            pipe_ends: Vec::new(),
        },
    ))
}

impl Plan {
    /// The descriptors made for the restored process before it was confined (pipes, reset
    /// sockets, Unix sockets, FIFOs), which the confinement must not close.
    pub fn made_descriptors(&self) -> Vec<u32> {
        let pipes = self.pipe_ends.iter().flat_map(|(_, r, w)| [*r, *w]);
        let sockets = self.reset_sockets.iter().map(|(_, _, s)| *s);
        let unix = self.unix_made.iter().map(|(_, s)| *s);
        let links = self
            .listener_links
            .iter()
            .flat_map(|l| [l.send_end, l.receive_end])
            .filter(|fd| *fd != u64::MAX);
        let fifos = self
            .fifo_ends
            .iter()
            .flat_map(|(_, r, w, rw)| [*r, *w, *rw]);
        let shared = self
            .shared_made
            .iter()
            .map(|(_, fd)| *fd)
            .chain(self.detached_made.iter().map(|(_, _, fd)| *fd))
            .chain(self.listeners_made.iter().map(|(_, fd)| *fd));
        pipes
            .chain(sockets)
            .chain(unix)
            .chain(fifos)
            .chain(shared)
            .chain(links)
            .map(|fd| fd as u32)
            .collect()
    }
}

/// A channel for one listening TCP socket (by id) from the first process holding it (by
/// index) to another (`u64::MAX`: an end this process does not keep).
pub struct ListenerLink {
    /// The socket.
    pub id: u64,
    /// The process that binds it again.
    pub sender: usize,
    /// A process that takes it from the sender.
    pub receiver: usize,
    /// The sender's end.
    pub send_end: u64,
    /// The receiver's end.
    pub receive_end: u64,
}

/// Where one descriptor of the restored process comes from.
enum Source {
    /// A descriptor this process holds now.
    Held(u64),
    /// A file opened again beneath the mount root placed at descriptor `root`.
    Open { root: u32, rel: Vec<u8> },
}

/// In the box's process, confined: makes the snapshot's descriptors at their numbers, and
/// moves `keep` (the restore's own: status pipe, channels, snapshot, binary) above them.
/// Everything else is closed.
pub fn arrange_descriptors(
    plan: &mut Plan,
    boot: &BootInfo,
    channel: u64,
    keep: &mut [&mut u64],
) -> Result<(), String> {
    let process = &plan.metadata.processes[plan.me];
    // The box's pipes were made before the processes were forked (`build_tree`); eventfds
    // are made here.
    let mut made: Vec<u64> = plan
        .pipe_ends
        .iter()
        .flat_map(|(_, r, w)| [*r, *w])
        .chain(plan.unix_made.iter().map(|(_, fd)| *fd))
        .chain(
            plan.fifo_ends
                .iter()
                .flat_map(|(_, r, w, rw)| [*r, *w, *rw]),
        )
        .chain(plan.shared_made.iter().map(|(_, fd)| *fd))
        .chain(plan.detached_made.iter().map(|(_, _, fd)| *fd))
        .chain(plan.listeners_made.iter().map(|(_, fd)| *fd))
        .collect();
    let pipe_ends = plan.pipe_ends.clone();
    // Listening sockets made or taken, by id (a process may hold one at several numbers).
    let mut listening: Vec<(u64, u64)> = Vec::new();
    made.extend(
        plan.listener_links
            .iter()
            .flat_map(|l| [l.send_end, l.receive_end])
            .filter(|fd| *fd != u64::MAX),
    );
    let mut wanted: Vec<(u32, Source, u32, u64)> = Vec::new();
    for h in &process.handles {
        if h.description != 0 {
            let fd = plan
                .shared_made
                .iter()
                .find(|(n, _)| *n == h.description)
                .map(|(_, fd)| *fd)
                .ok_or_else(|| format!("descriptor {}: no such shared description", h.fd))?;
            wanted.push((h.fd, Source::Held(fd), h.flags, h.pos));
            continue;
        }
        let source = match &h.kind {
            HandleKind::Pipe { id, write } => {
                let (_, r, w) = pipe_ends
                    .iter()
                    .find(|(i, _, _)| i == id)
                    .ok_or_else(|| format!("descriptor {}: no such pipe", h.fd))?;
                Source::Held(if *write { *w } else { *r })
            }
            HandleKind::Listening {
                id,
                domain,
                address,
                options,
            } => {
                let fd = match listening.iter().find(|(i, _)| i == id) {
                    Some((_, fd)) => *fd,
                    None => {
                        let fd = listening_socket(plan, *id, *domain, address, *options).map_err(
                            |e| {
                                format!(
                                    "the program's listening socket (descriptor {}) cannot \
                                     listen again: {e}",
                                    h.fd
                                )
                            },
                        )?;
                        listening.push((*id, fd));
                        // (One bound before the connections is closed with the others.)
                        if !plan.listeners_made.iter().any(|(i, _)| i == id) {
                            made.push(fd);
                        }
                        fd
                    }
                };
                Source::Held(fd)
            }
            HandleKind::Unix { id } => Source::Held(
                plan.unix_made
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, fd)| *fd)
                    .ok_or_else(|| format!("descriptor {}: no such Unix socket", h.fd))?,
            ),
            HandleKind::UnixName(_) => {
                return Err(format!("descriptor {}: a report's kind", h.fd));
            }
            HandleKind::Fifo { id } => Source::Held(
                plan.fifo_ends
                    .iter()
                    .find(|e| e.0 == *id)
                    .map(|e| crate::fifos::end_for(e, h.flags))
                    .ok_or_else(|| format!("descriptor {}: no such FIFO", h.fd))?,
            ),
            HandleKind::ResetTcp { .. } | HandleKind::Established(_) => Source::Held(
                plan.reset_sockets
                    .iter()
                    .find(|(p, fd, _)| *p == plan.me && *fd == h.fd)
                    .map(|(_, _, s)| *s)
                    .ok_or_else(|| format!("descriptor {}: no reset socket made", h.fd))?,
            ),
            HandleKind::Detached { .. } => {
                return Err(format!(
                    "descriptor {}: a removed file without its description",
                    h.fd
                ))
            }
            HandleKind::Pidfd { pid, thread } => {
                let fd = open_pidfd(*pid, *thread).map_err(|e| {
                    format!(
                        "descriptor {}: cannot open a pidfd of {pid} again: {e}",
                        h.fd
                    )
                })?;
                made.push(fd);
                Source::Held(fd)
            }
            HandleKind::TimerFd { .. }
            | HandleKind::EventFd { .. }
            | HandleKind::InetSocket { .. }
            | HandleKind::PosixQueue { .. } => {
                let fd =
                    make_anew(&h.kind, h.flags).map_err(|e| format!("descriptor {}: {e}", h.fd))?;
                made.push(fd);
                Source::Held(fd)
            }
            HandleKind::Watcher { .. } => {
                let fd = crate::watchers::new_watcher()?;
                made.push(fd);
                Source::Held(fd)
            }
            HandleKind::Stdio(n) => Source::Held(u64::from(*n)),
            HandleKind::BootMount(i) => Source::Held(u64::from(
                boot.mounts
                    .get(*i as usize)
                    .ok_or_else(|| format!("descriptor {}: the box has no mount {i}", h.fd))?
                    .root
                    .0,
            )),
            HandleKind::SocketRoot => Source::Held(u64::from(
                boot.socket_root
                    .map(|h| h.0)
                    .ok_or("the box has no socket root")?,
            )),
            HandleKind::Channel => Source::Held(channel),
            HandleKind::File { root, rel } => Source::Open {
                root: *root,
                rel: rel.clone(),
            },
        };
        wanted.push((h.fd, source, h.flags, h.pos));
    }
    let high = wanted
        .iter()
        .map(|w| u64::from(w.0) + 1)
        .max()
        .unwrap_or(3)
        .max(3);
    const F_DUPFD_CLOEXEC: u64 = 1030;
    let lift = |fd: u64| -> Result<u64, String> {
        sys(72, [fd, F_DUPFD_CLOEXEC, high, 0, 0, 0])
            .map_err(|e| format!("cannot move descriptor {fd}: {e}"))
    };
    // Everything kept is lifted above the snapshot's numbers first, then all below is closed.
    let mut lifted: Vec<(u32, Option<u64>, Source, u32, u64)> = Vec::new();
    for (fd, source, flags, pos) in wanted {
        let held = match &source {
            Source::Held(from) => Some(lift(*from)?),
            Source::Open { .. } => None,
        };
        lifted.push((fd, held, source, flags, pos));
    }
    for k in keep.iter_mut() {
        **k = lift(**k)?;
    }
    for fd in made {
        close(fd);
    }
    for (_, _, fd) in plan.reset_sockets.drain(..) {
        close(fd);
    }
    plan.file = lift(plan.file)?;
    plan.exe = lift(plan.exe)?;
    crate::gate::close_range(0, (high - 1) as u32);
    for (fd, held, _, flags, _) in &lifted {
        if let Some(from) = held {
            sys(292, [*from, u64::from(*fd), 0, 0, 0, 0])
                .map_err(|e| format!("cannot place descriptor {fd}: {e}"))?;
            close(*from);
            // Status flags (O_NONBLOCK, O_APPEND) as they were; of a stream this command was
            // given, as it has them.
            if !matches!(
                process
                    .handles
                    .iter()
                    .find(|h| h.fd == *fd)
                    .map(|h| &h.kind),
                Some(HandleKind::Stdio(_))
            ) {
                let _ = sys(72, [u64::from(*fd), 4, u64::from(*flags), 0, 0, 0]);
                // F_SETFL
            }
        }
    }
    for (fd, _, source, flags, pos) in &lifted {
        let Source::Open { root, rel } = source else {
            continue;
        };
        let opened =
            open_again(u64::from(*root), rel, *flags).map_err(|e| open_failed(*fd, rel, e))?;
        if opened != u64::from(*fd) {
            sys(292, [opened, u64::from(*fd), 0, 0, 0, 0])
                .map_err(|e| format!("cannot place descriptor {fd}: {e}"))?;
            close(opened);
        }
        let _ = sys(8, [u64::from(*fd), *pos, 0, 0, 0, 0]);
    }
    // Watches, once every mount root is at its number.
    let roots: Vec<u32> = process
        .handles
        .iter()
        .filter(|h| matches!(h.kind, HandleKind::BootMount(_)))
        .map(|h| h.fd)
        .collect();
    for h in &process.handles {
        if let HandleKind::Watcher { watches, last_wd } = &h.kind {
            crate::watchers::make_again(h.fd, watches, *last_wd, &roots)?;
        }
    }
    // Whatever else this process holds above the snapshot's numbers (its own mount roots,
    // numbered after the saved ones) goes: the restored box holds what it held, and a
    // snapshot of it names every descriptor.
    let mut kept: Vec<u32> = keep
        .iter()
        .map(|k| **k)
        .chain([plan.file, plan.exe])
        .filter(|fd| *fd >= high)
        .map(|fd| fd as u32)
        .collect();
    kept.sort_unstable();
    let mut from = high as u32;
    for fd in kept {
        if fd > from {
            crate::gate::close_range(from, fd - 1);
        }
        from = from.max(fd + 1);
    }
    crate::gate::close_range(from, u32::MAX);
    Ok(())
}

/// A pidfd of the box's process (or thread) `pid`, which the restore may be still making:
/// asked again for up to 2 s while it does not exist yet (a process forks its own
/// children, after its parent has gone on to its descriptors).
fn open_pidfd(pid: u32, thread: bool) -> Result<u64, Errno> {
    const SYS_PIDFD_OPEN: u64 = 434;
    const PIDFD_THREAD: u64 = 0o200;
    let flags = if thread { PIDFD_THREAD } else { 0 };
    let deadline = hostio::now_ms() + 2000;
    loop {
        match sys(SYS_PIDFD_OPEN, [u64::from(pid), flags, 0, 0, 0, 0]) {
            Err(Errno::ESRCH) if hostio::now_ms() < deadline => {
                // nanosleep(1 ms)
                let ts: [u64; 2] = [0, 1_000_000];
                let _ = sys(35, [ts.as_ptr() as u64, 0, 0, 0, 0, 0]);
            }
            result => return result,
        }
    }
}

/// Opens file `rel` (empty: the root itself) beneath mount root descriptor `root` again, with
/// status flags `flags` but never made or cut (no `O_CREAT`, `O_EXCL`, `O_NOCTTY`,
/// `O_TRUNC`), nor reached through a link out of the mount or a `/proc` magic link.
fn open_again(root: u64, rel: &[u8], flags: u32) -> Result<u64, Errno> {
    let flags = u64::from(flags) & !(0o100 | 0o200 | 0o400 | 0o1000);
    // struct open_how { flags, mode, resolve }: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS.
    let how: [u64; 3] = [flags, 0, 0x08 | 0x02];
    let path = hostio::c_str(if rel.is_empty() { b"." } else { rel });
    sys(
        437,
        [root, path.as_ptr() as u64, how.as_ptr() as u64, 24, 0, 0],
    )
}

fn open_failed(fd: u32, rel: &[u8], e: Errno) -> String {
    let name: &[u8] = if rel.is_empty() { b"." } else { rel };
    format!(
        "the program's descriptor {fd} ({}) cannot be opened again: {e}",
        String::from_utf8_lossy(name)
    )
}

/// Makes an eventfd, a timer file, a POSIX message queue's descriptor (with the access mode
/// of `flags`) or an IPv4 or IPv6 socket as `kind` records it: an
/// eventfd with its count, a timer file armed with its time left and period, with the
/// expiries not read yet; a socket with its options, bound and connected as it was (in the
/// box's network, its Landlock rules on, as the program's own calls were; which sockets the
/// box may have at all is checked before, by [`check_network`]).
fn make_anew(kind: &HandleKind, flags: u32) -> Result<u64, String> {
    match kind {
        HandleKind::PosixQueue { name } => {
            // Opened again by name in the box's IPC namespace (made again by its monitor,
            // `mqueues::make_again`), with its access mode.
            const SYS_MQ_OPEN: u64 = 240;
            let c = hostio::c_str(name);
            let access = u64::from(flags & 3) | 0o2000000;
            sys(SYS_MQ_OPEN, [c.as_ptr() as u64, access, 0, 0, 0, 0]).map_err(|e| {
                format!(
                    "cannot open POSIX message queue {} again: {e}",
                    String::from_utf8_lossy(name)
                )
            })
        }
        HandleKind::InetSocket {
            domain,
            udp,
            local,
            peer,
            options,
        } => make_inet_socket(*domain, *udp, (local, peer), *options).map_err(|e| {
            format!(
                "cannot make the program's {} socket again: {e}",
                if *udp { "UDP" } else { "TCP" }
            )
        }),
        HandleKind::TimerFd {
            clock,
            ticks,
            value,
            interval,
        } => {
            let fd = sys(283, [u64::from(*clock), 0o2000000, 0, 0, 0, 0])
                .map_err(|e| format!("cannot make a timer file: {e}"))?;
            let spec: [u64; 4] = [
                interval.0,
                u64::from(interval.1),
                value.0,
                u64::from(value.1),
            ];
            let armed = if *value != (0, 0) {
                sys(286, [fd, 0, spec.as_ptr() as u64, 0, 0, 0])
                    .map_err(|e| format!("cannot arm a timer file: {e}"))
            } else {
                Ok(0)
            };
            // The expiries not read yet, as their count (Linux's checkpoint/restore
            // interface for timer files).
            const TFD_IOC_SET_TICKS: u64 = 0x4008_5400;
            let given = armed.and_then(|_| match *ticks {
                0 => Ok(0),
                _ => sys(
                    16,
                    [fd, TFD_IOC_SET_TICKS, ticks as *const u64 as u64, 0, 0, 0],
                )
                .map_err(|e| format!("cannot give a timer file its expiries: {e}")),
            });
            match given {
                Ok(_) => Ok(fd),
                Err(e) => {
                    close(fd);
                    Err(e)
                }
            }
        }
        HandleKind::EventFd { count, semaphore } => {
            let initial =
                u32::try_from(*count).map_err(|_| String::from("an eventfd count too large"))?;
            let flags = 0o2000000 | if *semaphore { 1 } else { 0 };
            let fd = sys(290, [u64::from(initial), flags, 0, 0, 0, 0])
                .map_err(|e| format!("cannot make an eventfd: {e}"))?;
            // eventfd2 takes a 32-bit start: the rest is written in.
            let rest = count - u64::from(initial);
            if rest > 0 {
                let _ = sys(1, [fd, &raw const rest as u64, 8, 0, 0, 0]);
            }
            Ok(fd)
        }
        _ => Err(String::from("not an event file")),
    }
}

/// A socket of family `domain`, UDP or TCP, with `options` (`HandleKind::InetSocket`), bound
/// to `local` and connected to `peer` where they are not empty.
fn make_inet_socket(
    domain: u32,
    udp: bool,
    (local, peer): (&[u8], &[u8]),
    options: u8,
) -> Result<u64, Errno> {
    let kind = if udp { 2 } else { 1 };
    let fd = sys(41, [u64::from(domain), kind | 0o2000000, 0, 0, 0, 0])?;
    let on: u32 = 1;
    let set = |level: u64, name: u64| {
        let _ = sys(54, [fd, level, name, &raw const on as u64, 4, 0]);
    };
    for (bit, level, name) in [(1, 1, 2), (2, 1, 15), (4, 41, 26), (8, 1, 6)] {
        if options & bit != 0 {
            set(level, name);
        }
    }
    let address = |call: u64, a: &[u8]| match a.is_empty() {
        true => Ok(0),
        false => sys(call, [fd, a.as_ptr() as u64, a.len() as u64, 0, 0, 0]),
    };
    match address(49, local).and_then(|_| address(42, peer)) {
        Ok(_) => Ok(fd),
        Err(e) => {
            close(fd);
            Err(e)
        }
    }
}

/// Runs `f` with the file system identity of the box's user `owner` (its uid and gid, no
/// supplementary groups, and so without the capabilities that pass over permissions), as
/// each process's own files are opened again once it has become that user; then as before.
/// Without `owner` the box's user is this process's.
fn as_box_user<T>(owner: Option<(u32, u32)>, f: impl FnOnce() -> T) -> Result<T, String> {
    const SYS_GETGROUPS: u64 = 115;
    const SYS_SETGROUPS: u64 = 116;
    const SYS_SETFSUID: u64 = 122;
    const SYS_SETFSGID: u64 = 123;
    let Some((uid, gid)) = owner else {
        return Ok(f());
    };
    let fail = |e: Errno| format!("cannot read this process's groups: {e}");
    // As many as there are (a buffer for Linux's 65536 would be 256 KiB of this process's
    // memory, kept by every restored box).
    let count = sys(SYS_GETGROUPS, [0, 0, 0, 0, 0, 0]).map_err(fail)?;
    let mut groups = alloc::vec![0u32; count as usize];
    let n = sys(
        SYS_GETGROUPS,
        [count, groups.as_mut_ptr() as u64, 0, 0, 0, 0],
    )
    .map_err(fail)?;
    sys(SYS_SETGROUPS, [0, 0, 0, 0, 0, 0])
        .map_err(|e| format!("cannot take the box's user's groups: {e}"))?;
    // Each returns the identity before it (and sets nothing it may not).
    let old_gid = sys(SYS_SETFSGID, [u64::from(gid), 0, 0, 0, 0, 0]).unwrap_or(0);
    let old_uid = sys(SYS_SETFSUID, [u64::from(uid), 0, 0, 0, 0, 0]).unwrap_or(0);
    let taken = sys(SYS_SETFSUID, [u64::MAX, 0, 0, 0, 0, 0]) == Ok(u64::from(uid))
        && sys(SYS_SETFSGID, [u64::MAX, 0, 0, 0, 0, 0]) == Ok(u64::from(gid));
    let out = taken.then(f);
    let _ = sys(SYS_SETFSUID, [old_uid, 0, 0, 0, 0, 0]);
    let _ = sys(SYS_SETFSGID, [old_gid, 0, 0, 0, 0, 0]);
    sys(SYS_SETGROUPS, [n, groups.as_ptr() as u64, 0, 0, 0, 0])
        .map_err(|e| format!("cannot take this process's groups back: {e}"))?;
    out.ok_or_else(|| String::from("cannot take the box's user's identity for its files"))
}

/// Makes each open file description several processes hold once (`descriptions.rs`), from
/// its first holder's record: a file opened again at its offset beneath the mount root that
/// is now at `root_now(saved)`, or an event file. Run before the processes are forked, so
/// that each holder inherits it.
fn make_shared_descriptions(
    plan: &mut Plan,
    root_now: &dyn Fn(u32) -> Option<u64>,
) -> Result<(), String> {
    // (Connections are made already, before the box's Landlock rules: `make_connections`.)
    let mut made: Vec<(u32, u64)> = core::mem::take(&mut plan.shared_made);
    for h in plan.metadata.processes.iter().flat_map(|p| &p.handles) {
        if h.description == 0 || made.iter().any(|(n, _)| *n == h.description) {
            continue;
        }
        let fd = match &h.kind {
            HandleKind::File { root, rel } => {
                let root = root_now(*root)
                    .ok_or_else(|| format!("descriptor {}: no such mount root", h.fd))?;
                let fd = open_again(root, rel, h.flags).map_err(|e| open_failed(h.fd, rel, e))?;
                let _ = sys(8, [fd, h.pos, 0, 0, 0, 0]);
                fd
            }
            HandleKind::Detached { mount, entry } => {
                let (root, name) = plan
                    .detached_names
                    .iter()
                    .find(|(m, e, _, _)| (*m, *e) == (*mount, *entry))
                    .map(|(_, _, root, name)| (*root, name))
                    .ok_or_else(|| format!("descriptor {}: no such removed file", h.fd))?;
                let fd = open_again(root, name, h.flags)
                    .map_err(|e| format!("descriptor {}: cannot open a removed file: {e}", h.fd))?;
                let _ = sys(8, [fd, h.pos, 0, 0, 0, 0]);
                fd
            }
            kind => make_anew(kind, h.flags).map_err(|e| format!("descriptor {}: {e}", h.fd))?,
        };
        made.push((h.description, fd));
    }
    plan.shared_made = made;
    Ok(())
}

/// Opens each file no name reached that a process of the box maps (`MapKind::DetachedFile`),
/// read and write, to map it from (`map_memory`), before the processes are forked.
fn open_mapped_detached(plan: &mut Plan) -> Result<(), String> {
    let mut made: Vec<(u32, u32, u64)> = Vec::new();
    for m in plan.metadata.processes.iter().flat_map(|p| &p.mappings) {
        let MapKind::DetachedFile { mount, entry, .. } = m.kind else {
            continue;
        };
        if made.iter().any(|(a, b, _)| (*a, *b) == (mount, entry)) {
            continue;
        }
        let (root, name) = plan
            .detached_names
            .iter()
            .find(|(a, b, _, _)| (*a, *b) == (mount, entry))
            .map(|(_, _, root, name)| (*root, name))
            .ok_or("a mapped removed file is missing")?;
        let fd = open_again(root, name, 2)
            .map_err(|e| format!("cannot open a mapped removed file again: {e}"))?;
        made.push((mount, entry, fd));
    }
    plan.detached_made = made;
    Ok(())
}

/// A TCP socket of family `domain` whose connection has been reset: connected to a listener
/// of its own on the loopback interface, whose end is then closed with `SO_LINGER` 0.
fn reset_socket(domain: u32) -> Result<u64, Errno> {
    // struct sockaddr_in 127.0.0.1:0, or struct sockaddr_in6 [::1]:0.
    let mut address = [0u8; 28];
    address[..2].copy_from_slice(&(domain as u16).to_ne_bytes());
    let len: u32 = if domain == 10 {
        address[23] = 1;
        28
    } else {
        address[4..8].copy_from_slice(&[127, 0, 0, 1]);
        16
    };
    let listener = sys(41, [u64::from(domain), 1 | 0o2000000, 0, 0, 0, 0])?;
    let made = (|| {
        sys(
            49,
            [listener, address.as_ptr() as u64, u64::from(len), 0, 0, 0],
        )?;
        sys(50, [listener, 1, 0, 0, 0, 0])?;
        let mut bound = [0u8; 28];
        let mut bound_len: u32 = 28;
        sys(
            51,
            [
                listener,
                bound.as_mut_ptr() as u64,
                &raw mut bound_len as u64,
                0,
                0,
                0,
            ],
        )?;
        let socket = sys(41, [u64::from(domain), 1 | 0o2000000, 0, 0, 0, 0])?;
        let reset = (|| {
            sys(
                42,
                [socket, bound.as_ptr() as u64, u64::from(bound_len), 0, 0, 0],
            )?;
            let accepted = sys(288, [listener, 0, 0, 0o2000000, 0, 0])?;
            let linger: [i32; 2] = [1, 0];
            let _ = sys(54, [accepted, 1, 13, linger.as_ptr() as u64, 8, 0]);
            close(accepted);
            Ok(socket)
        })();
        if reset.is_err() {
            close(socket);
        }
        reset
    })();
    close(listener);
    made
}

/// In the box's process, before its Landlock rules are on (they would refuse the loopback
/// listener a box without a network may not have) and before any process of the box is
/// made: a reset socket for each connected TCP socket of each process.
pub fn make_reset_sockets(plan: &mut Plan) -> Result<(), String> {
    let wanted: Vec<(usize, u32, u32)> = plan
        .metadata
        .processes
        .iter()
        .enumerate()
        .flat_map(|(p, process)| {
            process.handles.iter().filter_map(move |h| match h.kind {
                HandleKind::ResetTcp { domain } => Some((p, h.fd, domain)),
                _ => None,
            })
        })
        .collect();
    for (process, fd, domain) in wanted {
        let socket = reset_socket(domain)
            .or_else(|_| reset_socket(2))
            .map_err(|e| format!("cannot make descriptor {fd} a reset connection: {e}"))?;
        plan.reset_sockets.push((process, fd, socket));
    }
    make_connections(plan)
}

/// The TCP connections of the box's own network (`tcp_repair.rs`), each made once (a
/// description several processes hold, once for all of them), all of them before any is
/// taken out of repair mode, so that neither end of one sends to an end not made yet.
fn make_connections(plan: &mut Plan) -> Result<(), String> {
    let processes = &plan.metadata.processes;
    let handles = || processes.iter().flat_map(|p| &p.handles);
    if !handles().any(|h| matches!(h.kind, HandleKind::Established(_))) {
        return Ok(());
    }

    // The listeners first: an accepted connection's port is its listener's, which the
    // listener could not be bound to once the connection holds it. (In the box's own
    // network, the one where connections are made again, its Landlock rules leave TCP
    // alone: binding here is as binding once they are on.)
    for h in handles() {
        if let HandleKind::Listening {
            id,
            domain,
            address,
            options,
        } = &h.kind
        {
            if plan.listeners_made.iter().any(|(i, _)| i == id) {
                continue;
            }
            let fd = listen_again(*domain, address, *options).map_err(|e| {
                format!(
                    "the program's listening socket (descriptor {}) cannot listen again: {e}",
                    h.fd
                )
            })?;
            plan.listeners_made.push((*id, fd));
        }
    }
    let mut made: Vec<(u64, &crate::snapshot_meta::TcpConnection)> = Vec::new();
    for (p, process) in plan.metadata.processes.iter().enumerate() {
        for h in &process.handles {
            let HandleKind::Established(c) = &h.kind else {
                continue;
            };
            let shared = h.description != 0;
            if shared && plan.shared_made.iter().any(|(n, _)| *n == h.description) {
                continue;
            }
            let socket = crate::tcp_repair::make(c).map_err(|e| {
                format!(
                    "the program's TCP connection (descriptor {}) cannot be made again: {e}",
                    h.fd
                )
            })?;
            if shared {
                plan.shared_made.push((h.description, socket));
            } else {
                plan.reset_sockets.push((p, h.fd, socket));
            }
            made.push((socket, c));
        }
    }
    for (socket, c) in made {
        crate::tcp_repair::resume(socket, c)
            .map_err(|e| format!("a TCP connection cannot go on: {e}"))?;
    }
    Ok(())
}

/// Refuses a snapshot whose sockets the restored box could not have made itself (a forged
/// one's): an IPv4 or IPv6 socket in a box without a network (`has_network`: one of its own
/// or the host's), a UDP socket or a TCP connection but in a network of the box's own
/// (`own_network`). Landlock does not mediate UDP, and connections are made before the
/// box's Landlock rules are on: these sockets would reach the host's network.
pub fn check_network(plan: &Plan, has_network: bool, own_network: bool) -> Result<(), String> {
    for h in plan.metadata.processes.iter().flat_map(|p| &p.handles) {
        let allowed = match &h.kind {
            HandleKind::InetSocket { udp: true, .. } | HandleKind::Established(_) => own_network,
            HandleKind::InetSocket { .. } | HandleKind::Listening { .. } => has_network,
            _ => true,
        };
        if !allowed {
            return Err(format!(
                "the snapshot gives descriptor {} {}, which this box's network does not allow \
                 (the snapshot is not of a box run with these flags)",
                h.fd,
                handle_text(&plan.metadata, &h.kind)
            ));
        }
    }
    Ok(())
}

/// This process's listening socket `id`: taken from the first process of the box that holds
/// it, or (this is that process) bound and listening again and passed to the others.
fn listening_socket(
    plan: &Plan,
    id: u64,
    domain: u32,
    address: &[u8],
    options: u8,
) -> Result<u64, Errno> {
    if let Some((_, fd)) = plan.listeners_made.iter().find(|(i, _)| *i == id) {
        return Ok(*fd);
    }
    if let Some(l) = plan
        .listener_links
        .iter()
        .find(|l| l.id == id && l.receiver == plan.me)
    {
        return crate::broker::receive_descriptor(l.receive_end).ok_or(Errno::EPIPE);
    }
    let fd = listen_again(domain, address, options)?;
    for l in plan
        .listener_links
        .iter()
        .filter(|l| l.id == id && l.sender == plan.me)
    {
        crate::broker::send_descriptor_with(l.send_end, fd, &crate::gate::syscall)?;
    }
    Ok(fd)
}

/// Channels for the listening TCP sockets that several processes hold (made before the
/// processes are forked).
fn make_listener_links(plan: &mut Plan) -> Result<(), String> {
    let mut ids: Vec<u64> = Vec::new();
    for p in &plan.metadata.processes {
        for h in &p.handles {
            if let HandleKind::Listening { id, .. } = h.kind {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    // Those bound already (`make_connections`) every process has.
    ids.retain(|id| !plan.listeners_made.iter().any(|(i, _)| i == id));
    for id in ids {
        let holders: Vec<usize> = plan
            .metadata
            .processes
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.handles
                    .iter()
                    .any(|h| matches!(h.kind, HandleKind::Listening { id: i, .. } if i == id))
            })
            .map(|(i, _)| i)
            .collect();
        for &receiver in &holders[1..] {
            let mut fds = [0i32; 2];
            // AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC
            sys(53, [1, 5 | 0o2000000, 0, fds.as_mut_ptr() as u64, 0, 0])
                .map_err(|e| format!("cannot make a channel for a listening socket: {e}"))?;
            plan.listener_links.push(ListenerLink {
                id,
                sender: holders[0],
                receiver,
                send_end: fds[0] as u64,
                receive_end: fds[1] as u64,
            });
        }
    }
    Ok(())
}

/// After the fork: this process keeps only its own ends of the listener channels.
fn keep_own_links(plan: &mut Plan) {
    let me = plan.me;
    for l in &mut plan.listener_links {
        if l.sender != me {
            close(l.send_end);
            l.send_end = u64::MAX;
        }
        if l.receiver != me {
            close(l.receive_end);
            l.receive_end = u64::MAX;
        }
    }
    plan.listener_links
        .retain(|l| l.send_end != u64::MAX || l.receive_end != u64::MAX);
}

/// A TCP socket bound to `address` and listening, with the options it had. Made after the
/// box's Landlock rules are on, so the bind is checked as the program's own was.
fn listen_again(domain: u32, address: &[u8], options: u8) -> Result<u64, Errno> {
    let fd = sys(41, [u64::from(domain), 1 | 0o2000000, 0, 0, 0, 0])?;
    let on: u32 = 1;
    let set = |level: u64, name: u64| {
        let _ = sys(54, [fd, level, name, &raw const on as u64, 4, 0]);
    };
    if options & 1 != 0 {
        set(1, 2);
    }
    if options & 2 != 0 {
        set(1, 15);
    }
    if options & 4 != 0 {
        set(41, 26);
    }
    let r = sys(
        49,
        [fd, address.as_ptr() as u64, address.len() as u64, 0, 0, 0],
    )
    .and_then(|_| sys(50, [fd, 4096, 0, 0, 0, 0]));
    if let Err(e) = r {
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// How the restored process is confined at its last step.
pub struct Jump {
    /// The allowlist for the box's network.
    pub filter: &'static [u64],
    /// Whether `listen` is brokered.
    pub broker_listen: bool,
    /// The box's end of the broker channel.
    pub broker_end: u64,
}

/// Maps range `m` shared from file `fd` at `offset`, where nothing is mapped yet.
fn map_shared(m: &Mapping, fd: u64, offset: u64) -> Result<u64, Errno> {
    let flags = MAP_SHARED | MAP_FIXED_NOREPLACE;
    let len = m.end - m.start;
    sys(9, [m.start, len, u64::from(m.prot), flags, fd, offset])
}

/// In the box's program process, before it is confined: maps the saved memory back.
pub fn map_memory(plan: &Plan) -> Result<(), String> {
    map_memory_inner(plan).map_or(Ok(()), Err)
}

fn map_memory_inner(plan: &Plan) -> Option<String> {
    let process = &plan.metadata.processes[plan.me];
    for m in &process.mappings {
        let len = m.end - m.start;
        let made = match m.kind {
            // Made once for the box, before its processes were forked (`build_tree`).
            MapKind::Shared => continue,
            MapKind::Private => {
                let share = MAP_PRIVATE;
                sys(
                    9,
                    [
                        m.start,
                        len,
                        PROT_RW,
                        share | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                        u64::MAX,
                        0,
                    ],
                )
            }
            MapKind::Runtime { offset } => sys(
                9,
                [
                    m.start,
                    len,
                    u64::from(m.prot),
                    MAP_PRIVATE | MAP_FIXED_NOREPLACE,
                    plan.exe,
                    offset,
                ],
            ),
            MapKind::SharedFile { file, offset } => {
                let Some(f) = process.mapped_files.get(file as usize) else {
                    return Some("a mapped file is missing".into());
                };
                let gone = |why: String| {
                    format!(
                        "the program's shared mapping of {} cannot be made again: {why}",
                        String::from_utf8_lossy(&f.rel)
                    )
                };
                let Some(root) = plan.roots.iter().find(|(s, _)| *s == f.root).map(|r| r.1) else {
                    return Some(gone("its mount is not the box's".into()));
                };
                let access = if m.prot & 2 != 0 { 2 } else { 0 };
                let fd = match crate::special_files::open_beneath(root, &f.rel, access) {
                    Ok(fd) => fd,
                    Err(e) => return Some(gone(e)),
                };
                let r = map_shared(m, fd, offset);
                close(fd);
                r
            }
            MapKind::DetachedFile {
                mount,
                entry,
                offset,
            } => {
                let Some(fd) = plan
                    .detached_made
                    .iter()
                    .find(|(a, b, _)| (*a, *b) == (mount, entry))
                    .map(|(_, _, fd)| *fd)
                else {
                    return Some("a mapped removed file is missing".into());
                };
                map_shared(m, fd, offset)
            }
            // Made by the restore's monitor, with its pages (`sysv::make_again`).
            MapKind::SysvSegment { id } => {
                const SHM_RDONLY: u64 = 0o10000;
                const SHM_EXEC: u64 = 0o100000;
                let mut flags = 0;
                if m.prot & 2 == 0 {
                    flags |= SHM_RDONLY;
                }
                if m.prot & 4 != 0 {
                    flags |= SHM_EXEC;
                }
                sys(30, [u64::from(id), m.start, flags, 0, 0, 0]).and_then(|at| {
                    if m.prot & 1 == 0 {
                        sys(10, [at, len, u64::from(m.prot), 0, 0, 0]).map(|_| at)
                    } else {
                        Ok(at)
                    }
                })
            }
            kind => {
                let Some((_, start, end)) = plan.own_specials.iter().find(|(k, _, _)| *k == kind)
                else {
                    return Some("the kernel's vDSO is missing".into());
                };
                // MREMAP_MAYMOVE | MREMAP_FIXED
                sys(25, [*start, end - start, len, 1 | 2, m.start, 0])
            }
        };
        match made {
            Ok(at) if at == m.start => {}
            Ok(_) | Err(Errno::EEXIST) => {
                return Some(format!(
                    "the snapshot's memory at {:#x} overlaps this process's own; run the \
                     restore again",
                    m.start
                ))
            }
            Err(e) => {
                return Some(format!(
                    "cannot map the snapshot's memory at {:#x}: {e}",
                    m.start
                ))
            }
        }
    }
    // Private pages are mapped from the file, copy-on-write: nothing is copied now, and boxes
    // restored from one file share every page none of them has changed.
    for (address, offset, len) in &plan.chunks[plan.me] {
        let shared = process
            .mappings
            .iter()
            .any(|m| m.kind == MapKind::Shared && m.start <= *address && *address < m.end);
        if shared {
            continue;
        }
        const MAP_FIXED: u64 = 0x10;
        let r = sys(
            9,
            [
                *address,
                *len,
                PROT_RW,
                MAP_PRIVATE | MAP_FIXED,
                plan.file,
                *offset,
            ],
        );
        if let Err(e) = r {
            return Some(format!(
                "cannot read the snapshot's memory at {address:#x}: {e}"
            ));
        }
    }
    for m in &process.mappings {
        if m.kind == MapKind::Private && u64::from(m.prot) != PROT_RW {
            if let Err(e) = sys(10, [m.start, m.end - m.start, u64::from(m.prot), 0, 0, 0]) {
                return Some(format!(
                    "cannot protect the snapshot's memory at {:#x}: {e}",
                    m.start
                ));
            }
        }
    }
    None
}

/// In the box's program process, privileged and before anything else of the restore: makes
/// the box's shared memory (each set once, filled from the process that stored it) and its
/// pipes (with their bytes), then forks the snapshot's other processes in tree order, each
/// with its saved pid (`clone3` with `set_tid`) and its process group and session. Returns
/// in every process, with `plan.me` saying which one it restores; each then unmaps the
/// shared memory it does not hold.
pub fn build_tree(
    plan: &mut Plan,
    boot: &BootInfo,
    owner: Option<(u32, u32)>,
) -> Result<(), String> {
    // The files of the box's own tmpfs mounts first: open files and special files are found
    // there below.
    for files in &plan.metadata.box_files {
        let root = boot
            .mounts
            .get(files.mount as usize)
            .ok_or_else(|| {
                format!(
                    "the snapshot names a mount ({}) the box has not",
                    files.mount
                )
            })?
            .root;
        let data = crate::box_files::StoredData {
            file: plan.file,
            runs: stored_runs(&plan.chunks),
        };
        let passing = crate::box_files::restore(files, u64::from(root.0), owner, data)?;
        for (entry, name) in passing {
            plan.detached_names
                .push((files.mount, entry, u64::from(root.0), name));
        }
    }
    let processes = &plan.metadata.processes;
    let mut made_sets: Vec<(u64, u64, u64)> = Vec::new();
    for (index, p) in processes.iter().enumerate() {
        for m in p.mappings.iter().filter(|m| m.kind == MapKind::Shared) {
            if made_sets.iter().any(|(set, _, _)| *set == m.set) {
                continue;
            }
            let len = m.end - m.start;
            match sys(
                9,
                [
                    m.start,
                    len,
                    PROT_RW,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                    u64::MAX,
                    0,
                ],
            ) {
                Ok(at) if at == m.start => {}
                _ => {
                    return Err(format!(
                        "the snapshot's shared memory at {:#x} overlaps this process's own; \
                         run the restore again",
                        m.start
                    ))
                }
            }
            for (address, offset, run) in &plan.chunks[index] {
                if m.start <= *address && *address < m.end {
                    match sys(17, [plan.file, *address, *run, *offset, 0, 0]) {
                        Ok(n) if n == *run => {}
                        _ => return Err("cannot read the snapshot's shared memory".into()),
                    }
                }
            }
            made_sets.push((m.set, m.start, len));
        }
    }
    for pipe in processes.iter().flat_map(|p| &p.pipes) {
        let mut fds = [0i32; 2];
        // Non-blocking until the ends get their own flags: a pipe that cannot take its bytes
        // (a capacity above this host's limit) fails the restore rather than hanging it.
        sys(
            293,
            [fds.as_mut_ptr() as u64, 0o2000000 | 0o4000, 0, 0, 0, 0],
        )
        .map_err(|e| format!("cannot make a pipe: {e}"))?;
        let (r, w) = (fds[0] as u64, fds[1] as u64);
        let _ = sys(72, [w, 1031, u64::from(pipe.capacity), 0, 0, 0]); // F_SETPIPE_SZ
        hostio::write_all(w, &pipe.data)
            .map_err(|e| format!("cannot fill the program's pipe again: {e}"))?;
        plan.pipe_ends.push((pipe.id, r, w));
    }
    // The saved mount-root descriptors (those a file's path is beneath) and this box's.
    plan.roots = processes
        .iter()
        .flat_map(|p| &p.handles)
        .filter_map(|h| match h.kind {
            HandleKind::BootMount(i) => boot.mounts.get(i as usize).map(|m| (h.fd, m)),
            _ => None,
        })
        .map(|(fd, m)| (fd, u64::from(m.root.0)))
        .collect();
    let roots = plan.roots.clone();
    let root_now = |saved: u32| roots.iter().find(|(s, _)| *s == saved).map(|(_, r)| *r);
    let fifos: Vec<&crate::snapshot_meta::FifoRecord> =
        processes.iter().flat_map(|p| &p.fifos).collect();
    plan.fifo_ends = crate::fifos::make_all(&fifos, &root_now, owner)?;
    let sockets: Vec<&crate::snapshot_meta::UnixSocket> =
        processes.iter().flat_map(|p| &p.sockets).collect();
    plan.unix_made = crate::unix_sockets::make_all(&sockets, &root_now, owner)?;
    if plan
        .metadata
        .processes
        .iter()
        .flat_map(|p| &p.handles)
        .any(|h| h.description != 0)
    {
        as_box_user(owner, || make_shared_descriptions(plan, &root_now))??;
    }
    open_mapped_detached(plan)?;
    // Every description of the files no name reached is open: their names go (no process
    // of the box has run yet).
    for (_, _, root, name) in plan.detached_names.drain(..) {
        crate::box_files::remove_passing_name(root, &name);
    }
    make_listener_links(plan)?;
    let processes = &plan.metadata.processes;
    // Each process forks its children; a child goes on to fork its own.
    let mut me = 0usize;
    'tree: loop {
        let pid = processes[me].pid;
        let (pgid, sid) = (processes[me].pgid, processes[me].sid);
        if sid == pid {
            let _ = sys(112, [0; 6]);
        } else if pgid == pid {
            let _ = sys(109, [0, 0, 0, 0, 0, 0]);
        } else if pgid != 0 && sys(121, [0; 6]).ok() != Some(u64::from(pgid)) {
            let _ = sys(109, [0, u64::from(pgid), 0, 0, 0, 0]);
        }
        // The program makes the processes picobox's reaper had adopted, each through a
        // process of its own that ends at once, as their parents had.
        if me == 0 && pid != 1 {
            for (c, child) in processes.iter().enumerate() {
                if c == 0 || child.parent != 1 {
                    continue;
                }
                if fork_adopted(processes, child.pid)? {
                    me = c;
                    continue 'tree;
                }
            }
        }
        for (c, child) in processes.iter().enumerate() {
            if child.parent != pid || c == 0 {
                continue;
            }
            let tid = u64::from(child.pid);
            // struct clone_args: flags 0, exit_signal SIGCHLD, set_tid.
            let args: [u64; 11] = [0, 0, 0, 0, 17, 0, 0, 0, &raw const tid as u64, 1, 0];
            match sys(435, [args.as_ptr() as u64, 88, 0, 0, 0, 0]) {
                Ok(0) => {
                    me = c;
                    continue 'tree;
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(format!(
                        "cannot make process {} again with its id: {e}",
                        child.pid
                    ))
                }
            }
        }
        break;
    }
    plan.me = me;
    keep_own_links(plan);
    let processes = &plan.metadata.processes;
    let mine = &processes[me].mappings;
    for (set, start, len) in made_sets {
        if !mine
            .iter()
            .any(|m| m.kind == MapKind::Shared && m.set == set)
        {
            let _ = sys(11, [start, len, 0, 0, 0, 0]);
        }
    }
    Ok(())
}

/// A shared page for [`wait_for_box`], at an address none of the snapshot's processes uses
/// (and this process does not: `MAP_FIXED_NOREPLACE`).
fn make_barrier(m: &Metadata) -> Result<u64, String> {
    let used = |a: u64| {
        m.processes
            .iter()
            .flat_map(|p| &p.mappings)
            .any(|r| r.start <= a && a < r.end)
    };
    // Every 4 GiB from 64 GiB up, past whatever the box reserved (a program may reserve
    // tens of terabytes).
    let mut at: u64 = 0x10_0000_0000;
    while at < 0x7fff_0000_0000 {
        if !used(at) {
            let flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
            if let Ok(got) = sys(9, [at, PAGE, PROT_RW, flags, u64::MAX, 0]) {
                if got == at {
                    return Ok(at);
                }
                let _ = sys(11, [got, PAGE, 0, 0, 0, 0]);
            }
        }
        at += 0x1_0000_0000;
    }
    Err("cannot place the restore's shared page".into())
}

/// The barrier's word and its full count (the box's processes and the monitor).
fn barrier(plan: &Plan) -> (&core::sync::atomic::AtomicU32, u32) {
    let word = plan.barrier as *const core::sync::atomic::AtomicU32;
    let all = plan.metadata.processes.len() as u32 + 1;
    // SAFETY: `barrier` is a page of shared memory the monitor made before it forked the box,
    // which this process maps until [`wait_for_box`] drops it (the monitor never does); an
    // atomic u32 at its start.
    (unsafe { &*word }, all)
}

/// Counts one more of the barrier's parties (the box's processes and the monitor), and wakes
/// the processes waiting if it is the last. Returns the barrier's word and its full count.
fn arrive(plan: &Plan) -> (&core::sync::atomic::AtomicU32, u32) {
    let (word, all) = barrier(plan);
    let now = word.fetch_add(1, core::sync::atomic::Ordering::AcqRel) + 1;
    if now >= all {
        let _ = sys(202, [plan.barrier, 1, i32::MAX as u64, 0, 0, 0]); // FUTEX_WAKE
    }
    (word, all)
}

/// In the monitor, once the box's first process is forked: checks every page run against its
/// checksum (with the helper [`start_helper`] made, if any), then lets the box's processes go
/// on (they wait, confined, before anything of the program runs). Fails naming the first run
/// that does not match; the box must then be ended, since its processes wait for ever.
/// A file known to be checked already has no runs left to check (`verified.rs`).
pub fn verify_then_release(plan: &Plan) -> Result<(), String> {
    let (own, theirs) = plan
        .unverified
        .split_at(plan.helper.map_or(plan.unverified.len(), |(_, from)| from));
    let checked = verify_in_order(plan.file, own);
    if let Some((pid, _)) = plan.helper {
        let mut status: u32 = 0;
        while sys(61, [pid, &raw mut status as u64, 0, 0, 0, 0]) == Err(Errno::EINTR) {}
        if checked.is_ok() && status != 0 {
            // A mismatch, or a helper that could not finish: checked here, for the run's name.
            verify_in_order(plan.file, theirs)?;
        }
    }
    checked?;
    if plan.metadata.ipc.segments.iter().any(|g| g.removed) {
        // Segments removed while attached are removed again once every process has attached
        // them, before anything of the program runs: when all the box's processes have
        // arrived, and the monitor has not (for at most 10 s; a box that fails ends anyway).
        let (word, all) = barrier(plan);
        let deadline = crate::hostio::now_ms() + 10_000;
        loop {
            let now = word.load(core::sync::atomic::Ordering::Acquire);
            if now + 1 >= all || crate::hostio::now_ms() > deadline {
                break;
            }
            let wait: [u64; 2] = [0, 1_000_000];
            let _ = sys(
                202,
                [plan.barrier, 0, u64::from(now), wait.as_ptr() as u64, 0, 0],
            ); // FUTEX_WAIT
        }
        crate::sysv::remove_removed(&plan.metadata.ipc);
    }
    arrive(plan);
    if let Some(id) = plan.identity {
        // Only if the file was the same all through the check.
        if crate::verified::identity(plan.file) == Some(id) {
            crate::verified::remember(id);
        }
    }
    Ok(())
}

/// Above this many bytes of pages, a helper process checks half of them on the other
/// processor while the box is made.
const CHECK_IN_TWO_ABOVE: u64 = 16 << 20;

/// For many pages: forks a helper (now, in the monitor's own pid namespace, before the box's
/// is made: a process forked after would be one of the box's) that checks the second half
/// of the bytes and ends with 0 if they match. Returns its pid and the index of its first
/// run.
fn start_helper(file: u64, runs: &[Unverified]) -> Option<(u64, usize)> {
    let total: u64 = runs.iter().map(|r| r.len).sum();
    if total <= CHECK_IN_TWO_ABOVE {
        return None;
    }
    let mut seen = 0;
    let from = runs
        .iter()
        .position(|r| {
            seen += r.len;
            seen >= total / 2
        })
        .map_or(runs.len(), |i| i + 1);
    match sys(57, [0; 6]) {
        Ok(0) => {
            let failed = verify_in_order(file, &runs[from..]).is_err();
            let _ = sys(231, [u64::from(failed), 0, 0, 0, 0, 0]);
            unreachable!()
        }
        Ok(pid) => Some((pid, from)),
        Err(_) => None,
    }
}

/// Checks page runs one after another, read into one small buffer (not through the
/// monitor's mapping of the file, whose page tables would cost about as much again to make
/// and to drop).
fn verify_in_order(file: u64, runs: &[Unverified]) -> Result<(), String> {
    if runs.is_empty() {
        return Ok(());
    }
    // A mapping of its own, unmapped at the end: a clone's monitor keeps none of it.
    const LEN: u64 = 256 << 10;
    let at = sys(
        9,
        [0, LEN, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, u64::MAX, 0],
    )
    .map_err(|e| format!("cannot map a buffer to check the snapshot: {e}"))?;
    // SAFETY: a private mapping of LEN bytes, this function's alone, unmapped below once
    // the slice is no longer used.
    let buf = unsafe { core::slice::from_raw_parts_mut(at as *mut u8, LEN as usize) };
    let r = verify_with(file, runs, buf);
    let _ = sys(11, [at, LEN, 0, 0, 0, 0]);
    r
}

fn verify_with(file: u64, runs: &[Unverified], buf: &mut [u8]) -> Result<(), String> {
    for run in runs {
        let mut sum = snapshot_format::Checksum::default();
        let (mut at, end) = (run.offset, run.offset + run.len);
        while at < end {
            let want = buf.len().min((end - at) as usize);
            let got = match sys(17, [file, buf.as_mut_ptr() as u64, want as u64, at, 0, 0]) {
                Err(Errno::EINTR) => continue,
                Ok(0) | Err(_) => return Err("the snapshot cannot be read to its end".into()),
                Ok(n) => n,
            };
            sum.update(&buf[..got as usize]);
            at += got;
        }
        if sum.finish() != run.sum {
            let what = format!("pages at {:#x}", run.address);
            return Err(format!("{}", snapshot_format::FormatError::Corrupted(what)));
        }
    }
    Ok(())
}

/// In each restored process, confined, just before the saved runtime runs: waits until every
/// process of the box is confined too (before that one may still be privileged, or of
/// another user, and the program's first signal to it refused) and the monitor has checked
/// the snapshot's pages, then drops the shared page.
pub fn wait_for_box(plan: &Plan) {
    let (word, all) = arrive(plan);
    loop {
        let seen = word.load(core::sync::atomic::Ordering::Acquire);
        if seen >= all {
            break;
        }
        let _ = sys(202, [plan.barrier, 0, u64::from(seen), 0, 0, 0]); // FUTEX_WAIT
    }
    let _ = sys(11, [plan.barrier, PAGE, 0, 0, 0, 0]);
}

/// Makes process `pid` a child of the box's pid 1 (picobox's reaper): forks a go-between
/// (with an id no process of the snapshot has), which forks `pid` and ends, and waits for
/// it. Returns true in the new process.
fn fork_adopted(processes: &[crate::snapshot_meta::Process], pid: u32) -> Result<bool, String> {
    let fork_with = |tid: u64| {
        // struct clone_args: flags 0, exit_signal SIGCHLD, set_tid.
        let args: [u64; 11] = [0, 0, 0, 0, 17, 0, 0, 0, &raw const tid as u64, 1, 0];
        sys(435, [args.as_ptr() as u64, 88, 0, 0, 0, 0])
    };
    let highest = processes.iter().map(|p| p.pid).max().unwrap_or(2);
    let mut between = None;
    for candidate in u64::from(highest) + 1..u64::from(highest) + 64 {
        match fork_with(candidate) {
            Err(Errno::EEXIST) => continue,
            r => {
                between = Some(r);
                break;
            }
        }
    }
    match between {
        Some(Ok(0)) => match fork_with(u64::from(pid)) {
            Ok(0) => Ok(true),
            Ok(_) => crate::pal::HOST.exit_now(0),
            Err(_) => crate::pal::HOST.exit_now(crate::EXIT_INTERNAL),
        },
        Some(Ok(child)) => {
            let mut status: i32 = 0;
            let _ = sys(61, [child, &raw mut status as u64, 0, 0, 0, 0]);
            if status != 0 {
                return Err(format!("cannot make process {pid} again with its id"));
            }
            Ok(false)
        }
        Some(Err(e)) => Err(format!("cannot make process {pid} again: {e}")),
        None => Err(format!("cannot make process {pid} again: no free id")),
    }
}

/// The process's first thread (its id is the process's).
fn leader(plan: &Plan) -> crate::snapshot_meta::Thread {
    let process = &plan.metadata.processes[plan.me];
    process
        .threads
        .iter()
        .copied()
        .find(|t| t.tid == process.pid)
        .unwrap_or(process.threads[0])
}

/// Where the restored threads other than the first wait, and how many have confined
/// themselves.
static THREADS_GO: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
static THREADS_CONFINED: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// What a restored thread needs to confine itself and resume.
struct ThreadStart {
    /// Its block in the restored memory.
    block: u64,
    /// `freeze::resume_thread_entry` in the saved runtime.
    resume: u64,
    /// The saved runtime's gate (`gate::entry_address` there): once the filter may be on,
    /// this thread's calls must be made there.
    gate: u64,
    /// The box's own user, if the box switches to one: (uid, gid).
    user: Option<(u32, u32)>,
}

core::arch::global_asm!(
    // A restored thread's first instruction after `clone3` returns through the gate's `ret`:
    // its argument lies above the popped address.
    ".globl picobox_restored_thread_start",
    "picobox_restored_thread_start:",
    "    mov rdi, [rsp]",
    "    and rsp, -16",
    "    call {main}",
    "    ud2",
    main = sym restored_thread_main,
);

unsafe extern "C" {
    static picobox_restored_thread_start: u8;
}

/// A restored thread, before it runs anything of the box: confines itself as the first thread
/// did (its user, no_new_privs, no capability: each is the calling thread's; Landlock it
/// inherited), says
/// so, waits until the saved runtime has put the filter on every thread, then resumes.
extern "C" fn restored_thread_main(start: *const ThreadStart) -> ! {
    let all: u64 = !0;
    let _ = sys(14, [2, &raw const all as u64, 0, 8, 0, 0]);
    // SAFETY: `create_threads` leaked the start for this thread.
    let start = unsafe { &*start };
    let mut ok = true;
    if let Some((uid, gid)) = start.user {
        ok &= sys(116, [0, 0, 0, 0, 0, 0]).is_ok()
            && sys(119, [u64::from(gid); 6]).is_ok()
            && sys(117, [u64::from(uid); 6]).is_ok();
    }
    // Landlock: the thread is in the box's one domain already (the process restricted
    // itself before it made any thread or process, so that they may signal each other).
    ok &= sys(157, [38, 1, 0, 0, 0, 0]).is_ok();
    let header: [u32; 2] = [0x2008_0522, 0];
    let data = [0u32; 6];
    ok &= sys(
        126,
        [header.as_ptr() as u64, data.as_ptr() as u64, 0, 0, 0, 0],
    )
    .is_ok();
    if !ok {
        // An unconfined thread must not go on: the whole process ends.
        loop {
            crate::gate::syscall(231, [crate::EXIT_INTERNAL.into(), 0, 0, 0, 0, 0]);
        }
    }
    // From here the first thread may put the filter on this thread at any moment: calls are
    // made at the saved runtime's gate, which the filter lets through.
    // SAFETY: `gate` is the saved runtime's `picobox_gate` (this binary's, at the saved base),
    // a plain `syscall` with the C calling convention.
    let saved_gate: unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64) -> u64 =
        unsafe { core::mem::transmute(start.gate as usize) };
    THREADS_CONFINED.fetch_add(1, core::sync::atomic::Ordering::AcqRel);
    // SAFETY: futex calls on a word of this process's own memory.
    unsafe {
        saved_gate(202, THREADS_CONFINED.as_ptr() as u64, 1 | 128, 1, 0, 0, 0);
        while THREADS_GO.load(core::sync::atomic::Ordering::Acquire) == 0 {
            saved_gate(202, THREADS_GO.as_ptr() as u64, 128, 0, 0, 0, 0);
        }
    }
    // SAFETY: `resume` is `freeze::resume_thread_entry` of the saved runtime (this binary,
    // mapped at the saved base) and `block` this thread's block in the restored memory.
    unsafe {
        let f: unsafe extern "C" fn(u64) -> ! = core::mem::transmute(start.resume as usize);
        f(start.block)
    }
}

/// In the box's program process, its memory mapped and still privileged: makes every thread
/// but the first with its saved id (`clone3` with `set_tid`, which needs the privilege the
/// confinement then drops), its `fs` base and its exit futex. Each confines itself and waits.
pub fn create_threads(plan: &Plan, user: Option<(u32, u32)>) -> Result<(), String> {
    const FLAGS: u64 = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x20_0000;
    const STACK: usize = 64 * 1024;
    let process = &plan.metadata.processes[plan.me];
    let first = leader(plan);
    let delta = plan
        .metadata
        .runtime_base
        .wrapping_sub(crate::start::image_range().0 as u64);
    let resume = (crate::freeze::resume_thread_entry as *const () as u64).wrapping_add(delta);
    for t in process.threads.iter().filter(|t| t.tid != first.tid) {
        // SAFETY: the thread's block is in the restored memory (mapped above); its data's
        // `park.fs_base` and `alive` fields are read and addressed where the saved runtime
        // wrote them (this same binary's layout).
        let (fs_base, alive) = unsafe {
            let data = &*(t.block as *const crate::threads::ThreadData);
            (data.park.fs_base, &raw const data.alive as u64)
        };
        let start = alloc::boxed::Box::leak(alloc::boxed::Box::new(ThreadStart {
            block: t.block,
            resume,
            gate: (crate::gate::entry_address() as u64).wrapping_add(delta),
            user,
        }));
        let stack = alloc::boxed::Box::leak(alloc::vec![0u64; STACK / 8].into_boxed_slice());
        let top = stack.as_mut_ptr() as u64 + STACK as u64 - 16;
        let slots = (top - stack.as_ptr() as u64) as usize / 8;
        stack[slots] = &raw const picobox_restored_thread_start as u64;
        stack[slots + 1] = start as *const ThreadStart as u64;
        let tid = u64::from(t.tid);
        // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        // stack_size, tls, set_tid, set_tid_size, cgroup.
        let args: [u64; 11] = [
            FLAGS,
            0,
            alive,
            0,
            0,
            stack.as_ptr() as u64,
            top - stack.as_ptr() as u64,
            fs_base,
            &raw const tid as u64,
            1,
            0,
        ];
        sys(435, [args.as_ptr() as u64, 88, 0, 0, 0, 0])
            .map_err(|e| format!("cannot make thread {} again with its id: {e}", t.tid))?;
    }
    Ok(())
}

/// In the program process, confined itself: waits until every other restored thread has
/// confined itself too.
pub fn wait_for_threads(plan: &Plan) {
    let others = plan.metadata.processes[plan.me].threads.len() as u32 - 1;
    loop {
        let now = THREADS_CONFINED.load(core::sync::atomic::Ordering::Acquire);
        if now >= others {
            return;
        }
        crate::gate::syscall(
            202,
            [
                THREADS_CONFINED.as_ptr() as u64,
                128,
                u64::from(now),
                0,
                0,
                0,
            ],
        );
    }
}

/// In the box's program process, confined and its descriptors made: resumes the saved
/// runtime. Returns only with why it could not.
pub fn enter(plan: Plan, jump: Jump) -> String {
    let process = &plan.metadata.processes[plan.me];
    close(plan.file);
    close(plan.exe);
    let delta = plan
        .metadata
        .runtime_base
        .wrapping_sub(crate::start::image_range().0 as u64);
    let moved = |address: u64| address.wrapping_add(delta);
    let threads = process.threads.len() > 1;
    let leader_block = leader(&plan).block;
    // The box's host user, for the saved runtime to know its files by (its own is the
    // snapshot's box's).
    let host_owner = crate::pal::own_host_owner();
    let fail = |what: &str, e: Errno| format!("cannot confine the restored box: {what}: {e}");
    // Every signal blocked until the saved runtime's thread returns from its park (the
    // handlers installed now are the saved runtime's).
    let all: u64 = !0;
    sys(14, [2, &raw const all as u64, 0, 8, 0, 0]).ok();
    if let Err(e) = crate::signals::install_handlers_moved(delta) {
        return fail("signal handlers", e);
    }
    // The timers now, their signals blocked and taken by the saved runtime's handlers.
    if let Err(why) = make_timers(&process.timers) {
        return why;
    }
    // The filter before anything of the saved runtime runs: its code is this binary's, but
    // its data is the snapshot's, which the box wrote. From here on calls are made at the
    // saved runtime's gate, the one the filter lets through.
    let brokered = if jump.broker_listen {
        crate::gate::Brokered::WatchesAndListen
    } else {
        crate::gate::Brokered::Watches
    };
    let saved_gate_ip = moved(crate::gate::return_address());
    let listener =
        match crate::gate::install_filter_for(jump.filter, brokered, threads, saved_gate_ip) {
            Ok(l) => l,
            Err(e) => return fail("seccomp filter", e),
        };
    // SAFETY: the saved runtime's `picobox_gate` (this binary's, at the saved base) is a plain
    // `syscall` with the C calling convention.
    let saved_gate: unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64) -> u64 =
        unsafe { core::mem::transmute(moved(crate::gate::entry_address() as u64) as usize) };
    // SAFETY: as above; the calls take only this process's descriptors and buffers.
    let call = |nr: u64, a: [u64; 6]| unsafe { saved_gate(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if let Some(listener) = listener {
        if crate::broker::hand_over_with(jump.broker_end, listener, &call).is_err() {
            call(231, [u64::from(crate::EXIT_INTERNAL), 0, 0, 0, 0, 0]);
        }
    }
    if threads {
        THREADS_GO.store(1, core::sync::atomic::Ordering::Release);
        call(
            202,
            [
                THREADS_GO.as_ptr() as u64,
                1 | 128,
                i32::MAX as u64,
                0,
                0,
                0,
            ],
        );
    }
    let entry = moved(crate::freeze::restored_entry as *const () as u64);
    // SAFETY: `entry` is `freeze::restored_entry` of the saved runtime, which is this same
    // binary (the build id was checked) mapped at the saved base; its memory, including the
    // first thread's block, is the snapshot's, mapped back above.
    unsafe {
        let f: unsafe extern "C" fn(u64, u64) -> ! = core::mem::transmute(entry as usize);
        f(leader_block, host_owner)
    }
}

/// Makes the process's host timers again: POSIX timers with their ids
/// (`PR_TIMER_CREATE_RESTORE_IDS`), then every timer armed with its time left and period.
fn make_timers(timers: &[crate::snapshot_meta::HostTimer]) -> Result<(), String> {
    use crate::snapshot_meta::TimerWhich;
    const PR_TIMER_CREATE_RESTORE_IDS: u64 = 77;
    let posix = timers
        .iter()
        .any(|t| matches!(t.which, TimerWhich::Posix { .. }));
    if posix {
        sys(157, [PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0, 0]).map_err(|e| {
            format!("this kernel cannot make POSIX timers with their ids (Linux 6.17): {e}")
        })?;
    }
    let made = timers.iter().try_for_each(|t| {
        let (sec, nsec) = t.value;
        let (isec, insec) = t.interval;
        match &t.which {
            TimerWhich::Posix { id, clock, event } => {
                let mut sigevent = [0u8; 64];
                sigevent[..event.len()].copy_from_slice(event);
                let event_ptr = if event.is_empty() {
                    0
                } else {
                    sigevent.as_ptr() as u64
                };
                let mut made_id: u32 = *id;
                sys(
                    222,
                    [
                        u64::from(*clock),
                        event_ptr,
                        &raw mut made_id as u64,
                        0,
                        0,
                        0,
                    ],
                )
                .map_err(|e| format!("cannot make POSIX timer {id} again: {e}"))?;
                // struct itimerspec { interval, value }
                let spec: [u64; 4] = [isec, u64::from(insec), sec, u64::from(nsec)];
                if sec != 0 || nsec != 0 {
                    sys(223, [u64::from(made_id), 0, spec.as_ptr() as u64, 0, 0, 0])
                        .map_err(|e| format!("cannot arm POSIX timer {id} again: {e}"))?;
                }
            }
            TimerWhich::Interval(which) => {
                // struct itimerval { interval, value }, in microseconds; at least 1 µs left.
                let usec = |s: u64, n: u32| [s, u64::from(n / 1000)];
                let mut value = usec(sec, nsec);
                if value == [0, 0] {
                    value[1] = 1;
                }
                let spec = [usec(isec, insec), value];
                sys(38, [u64::from(*which), spec.as_ptr() as u64, 0, 0, 0, 0])
                    .map_err(|e| format!("cannot arm interval timer {which} again: {e}"))?;
            }
        }
        Ok(())
    });
    if posix {
        let _ = sys(157, [PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0, 0]);
    }
    made
}

/// `picobox snapshot inspect PATH [--json]`: returns the exit status.
pub fn inspect(path: &[u8], json: bool) -> u8 {
    let (fd, bytes) = match load(path) {
        Ok(l) => l,
        Err(msg) => {
            crate::out::error(format_args!("inspect: {msg}"));
            return crate::launch::EXIT_INTERNAL;
        }
    };
    close(fd);
    let (metadata, chunks, build, sealed, _) = match check(bytes, None, Pages::Now) {
        Ok(c) => c,
        Err(msg) => {
            crate::out::error(format_args!("inspect: {msg}"));
            return crate::launch::EXIT_INTERNAL;
        }
    };
    // Checked once: whose build wrote it is in the header.
    let same_build = build == crate::start::build_id();
    crate::out::stdout(&describe(
        &metadata,
        &chunks,
        bytes.len() as u64,
        (same_build, sealed),
        json,
    ));
    0
}

fn kind_name(k: MapKind) -> &'static str {
    match k {
        MapKind::Private => "private",
        MapKind::Shared => "shared",
        MapKind::Runtime { .. } => "runtime",
        MapKind::SharedFile { .. } | MapKind::DetachedFile { .. } => "file",
        MapKind::SysvSegment { .. } => "sysv",
        MapKind::Vdso | MapKind::Vvar | MapKind::VvarVclock => "vdso",
    }
}

fn json_string(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for c in String::from_utf8_lossy(b).chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Bytes of process `p`'s ranges of kind `kind` (`kind_name`), mapped and stored.
fn memory_of_kind(p: &crate::snapshot_meta::Process, chunks: &[PageRun], kind: &str) -> (u64, u64) {
    let of_kind = |x: &&Mapping| kind_name(x.kind) == kind;
    let mapped = p
        .mappings
        .iter()
        .filter(of_kind)
        .map(|x| x.end - x.start)
        .sum();
    let stored = chunks
        .iter()
        .filter(|c| {
            p.mappings
                .iter()
                .filter(of_kind)
                .any(|x| x.start <= c.0 && c.0 < x.end)
        })
        .map(|c| c.2)
        .sum();
    (mapped, stored)
}

/// The text `inspect` prints.
fn describe(
    m: &Metadata,
    per_process: &[Vec<PageRun>],
    file_size: u64,
    (same_build, sealed): (bool, bool),
    json: bool,
) -> String {
    let chunks: Vec<PageRun> = per_process.iter().flatten().copied().collect();
    let stored: u64 = chunks.iter().map(|c| c.2).sum();
    let mut out = String::new();
    let kinds = ["private", "shared", "file", "sysv", "runtime", "vdso"];
    if json {
        out.push_str(&format!(
            "{{\"file_bytes\":{file_size},\"memory_stored_bytes\":{stored},\"chunks\":{},\
             \"restorable_by_this_build\":{same_build},\"sealed_by_you\":{sealed},\
             \"run_args\":[",
            chunks.len()
        ));
        for (i, a) in m.run_args.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json_string(a));
        }
        out.push_str("],\"box_files\":[");
        for (i, f) in m.box_files.iter().enumerate() {
            out.push_str(&format!(
                "{}{{\"mount\":{},\"entries\":{},\"bytes\":{}}}",
                if i > 0 { "," } else { "" },
                f.mount,
                f.entries.len(),
                box_file_bytes(f)
            ));
        }
        out.push_str("],\"system_v\":[");
        let ipc: Vec<String> = crate::sysv::describe(&m.ipc)
            .iter()
            .map(|d| json_string(d.as_bytes()))
            .collect();
        out.push_str(&ipc.join(","));
        out.push_str("],\"processes\":[");
        for (i, p) in m.processes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let chunks = &per_process[i];
            out.push_str(&format!(
                "{{\"pid\":{},\"parent\":{},\"threads\":[",
                p.pid, p.parent
            ));
            for (j, t) in p.threads.iter().enumerate() {
                out.push_str(&format!("{}{}", if j > 0 { "," } else { "" }, t.tid));
            }
            out.push_str("],\"memory\":{");
            for (j, k) in kinds.iter().enumerate() {
                let (mapped, saved) = memory_of_kind(p, chunks, k);
                out.push_str(&format!(
                    "{}\"{k}\":{{\"mapped\":{mapped},\"stored\":{saved}}}",
                    if j > 0 { "," } else { "" }
                ));
            }
            out.push_str("},\"descriptors\":[");
            for (j, h) in p.handles.iter().enumerate() {
                out.push_str(&format!(
                    "{}{{\"fd\":{},\"kind\":{},\"pos\":{}}}",
                    if j > 0 { "," } else { "" },
                    h.fd,
                    json_string(handle_text(m, &h.kind).as_bytes()),
                    h.pos
                ));
            }
            out.push_str("],\"sockets\":[");
            let sockets: Vec<String> = p
                .handles
                .iter()
                .filter(|h| {
                    matches!(
                        h.kind,
                        HandleKind::Listening { .. } | HandleKind::Unix { .. }
                    )
                })
                .map(|h| json_string(handle_text(m, &h.kind).as_bytes()))
                .collect();
            out.push_str(&sockets.join(","));
            out.push_str("]}");
        }
        out.push_str("]}\n");
        return out;
    }
    out.push_str(&format!(
        "file      {file_size} bytes ({} page runs, {stored} bytes of memory stored){}\n",
        chunks.len(),
        if same_build {
            ""
        } else {
            "; written by another build of picobox: this one cannot restore it"
        }
    ));
    out.push_str(if sealed {
        "seal      yours: a restore gives the box the access to the host recorded below\n"
    } else {
        "seal      not yours: a restore gives the box none of the host access recorded below \
         unless told (--bind, --trust-snapshot)\n"
    });
    let args: Vec<String> = m
        .run_args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    out.push_str(&format!("box       picobox run {}\n", args.join(" ")));
    out.push_str(&format!("runtime   at {:#x}\n", m.runtime_base));
    for f in &m.box_files {
        out.push_str(&format!(
            "files     {} in the box's tmpfs mount {} ({} bytes)\n",
            f.entries.len(),
            f.mount,
            box_file_bytes(f)
        ));
    }
    for d in crate::sysv::describe(&m.ipc) {
        out.push_str(&format!("ipc       {d}\n"));
    }
    for (p, chunks) in m.processes.iter().zip(per_process) {
        let tids: Vec<String> = p.threads.iter().map(|t| format!("{}", t.tid)).collect();
        out.push_str(&format!(
            "process   pid {} (parent {}) threads {}\n",
            p.pid,
            p.parent,
            tids.join(",")
        ));
        for k in kinds {
            let (mapped, saved) = memory_of_kind(p, chunks, k);
            out.push_str(&format!(
                "memory    {k:<8} mapped {:>10} KiB  stored {:>10} KiB\n",
                mapped >> 10,
                saved >> 10
            ));
        }
        for h in &p.handles {
            out.push_str(&format!(
                "fd {:<6} {} (offset {})\n",
                h.fd,
                handle_text(m, &h.kind),
                h.pos
            ));
        }
        for t in &p.timers {
            out.push_str(&format!("timer     {}\n", timer_text(t)));
        }
        let sockets: Vec<String> = p
            .handles
            .iter()
            .filter(|h| {
                matches!(
                    h.kind,
                    HandleKind::Listening { .. } | HandleKind::Unix { .. }
                )
            })
            .map(|h| format!("fd {} {}", h.fd, handle_text(m, &h.kind)))
            .collect();
        out.push_str(&format!(
            "sockets   {}\n",
            if sockets.is_empty() {
                String::from("none")
            } else {
                sockets.join("; ")
            }
        ));
    }
    out
}

/// The bytes of regular files a snapshot carries for one tmpfs mount.
fn box_file_bytes(f: &crate::snapshot_meta::MountFiles) -> usize {
    f.entries
        .iter()
        .map(|e| match &e.kind {
            crate::snapshot_meta::FileKindRecord::Regular(d) => d.len(),
            crate::snapshot_meta::FileKindRecord::Stored { size, .. } => *size as usize,
            _ => 0,
        })
        .sum()
}

fn timer_text(t: &crate::snapshot_meta::HostTimer) -> String {
    use crate::snapshot_meta::TimerWhich;
    let which = match &t.which {
        TimerWhich::Interval(0) => String::from("interval timer ITIMER_REAL"),
        TimerWhich::Interval(1) => String::from("interval timer ITIMER_VIRTUAL"),
        TimerWhich::Interval(_) => String::from("interval timer ITIMER_PROF"),
        TimerWhich::Posix { id, clock, .. } => format!("POSIX timer {id} (clock {clock})"),
    };
    format!(
        "{which}, {}.{:09} s left, period {}.{:09} s",
        t.value.0, t.value.1, t.interval.0, t.interval.1
    )
}

fn handle_text(m: &Metadata, k: &HandleKind) -> String {
    match k {
        HandleKind::Stdio(n) => format!("standard stream {n}"),
        HandleKind::BootMount(i) => format!("root of mount {i}"),
        HandleKind::SocketRoot => "the box's socket root".into(),
        HandleKind::Unix { id } => match m.socket(*id) {
            Some(s) => crate::unix_sockets::describe(s),
            None => format!("Unix socket {id}"),
        },
        HandleKind::UnixName(f) => {
            format!("Unix socket bound to {}", String::from_utf8_lossy(&f.given))
        }
        HandleKind::Channel => "picobox's snapshot channel".into(),
        HandleKind::Detached { mount, .. } => {
            format!("a file removed while open (or a memory file) of mount {mount}")
        }
        HandleKind::PosixQueue { name } => {
            format!("POSIX message queue /{}", String::from_utf8_lossy(name))
        }
        HandleKind::Pidfd { pid, thread } => {
            format!(
                "pidfd of {} {pid}",
                if *thread { "thread" } else { "process" }
            )
        }
        HandleKind::Fifo { id } => {
            let fifo = m
                .processes
                .iter()
                .flat_map(|p| &p.fifos)
                .find(|f| f.id == *id);
            match fifo {
                Some(f) => format!(
                    "FIFO {} beneath descriptor {}, {} bytes in it",
                    String::from_utf8_lossy(&f.rel),
                    f.root,
                    f.data.len()
                ),
                None => format!("FIFO {id}"),
            }
        }
        HandleKind::TimerFd {
            value, interval, ..
        } => format!(
            "timer file, {}.{:09} s left, period {}.{:09} s",
            value.0, value.1, interval.0, interval.1
        ),
        HandleKind::Pipe { id, write } => {
            format!("{} end of pipe {id}", if *write { "write" } else { "read" })
        }
        HandleKind::Listening {
            domain, address, ..
        } => {
            let port = address
                .get(2..4)
                .map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
            format!(
                "listening TCP socket ({}, port {port})",
                if *domain == 10 { "IPv6" } else { "IPv4" }
            )
        }
        HandleKind::InetSocket {
            domain,
            udp,
            local,
            peer,
            ..
        } => {
            let port = |a: &[u8]| a.get(2..4).map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
            let mut text = format!(
                "{} socket ({})",
                if *udp { "UDP" } else { "TCP" },
                if *domain == 10 { "IPv6" } else { "IPv4" }
            );
            if !local.is_empty() {
                text.push_str(&format!(", bound to port {}", port(local)));
            }
            if !peer.is_empty() {
                text.push_str(&format!(", connected to port {}", port(peer)));
            }
            text
        }
        HandleKind::Established(c) => {
            let port = |a: &[u8]| a.get(2..4).map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
            format!(
                "TCP connection ({}, port {} to port {}), {} bytes to send, {} to read",
                if c.domain == 10 { "IPv6" } else { "IPv4" },
                port(&c.local),
                port(&c.peer),
                c.send_queue.len(),
                c.recv_queue.len()
            )
        }
        HandleKind::ResetTcp { domain } => format!(
            "connected TCP socket ({}), reset on restore",
            if *domain == 10 { "IPv6" } else { "IPv4" }
        ),
        HandleKind::EventFd { count, semaphore } => format!(
            "eventfd, count {count}{}",
            if *semaphore { ", semaphore" } else { "" }
        ),
        HandleKind::File { root, rel } => {
            format!(
                "file {} beneath descriptor {root}",
                String::from_utf8_lossy(rel)
            )
        }
        HandleKind::Watcher { watches, last_wd } => {
            let list: Vec<String> = watches
                .iter()
                .map(|w| {
                    format!(
                        "{} on {} beneath descriptor {}",
                        w.wd,
                        String::from_utf8_lossy(&w.rel),
                        w.root
                    )
                })
                .collect();
            format!(
                "inotify watcher, watches [{}], numbers used up to {last_wd}",
                list.join(", ")
            )
        }
    }
}
