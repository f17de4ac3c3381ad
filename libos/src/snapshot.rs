//! What the library OS tells a snapshot about its host handles (docs/snapshot.md, "What lives
//! where"): for each handle it can name, whether it is a standard stream the box was started
//! with or a file or directory of a mount, with the mount's root handle and the path beneath
//! it, so that a restore can open it again through the restore's own mounts. What it cannot
//! name is left out; the monitor refuses a process that holds a host descriptor nobody named.

use crate::kernel::Kernel;
use crate::vfs::Node;
use alloc::string::String;
use alloc::vec::Vec;

/// What one host handle is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandleWhat {
    /// Standard stream `n` of the box (host handles 0, 1 and 2 as the monitor passed them).
    Stdio(u8),
    /// A file or directory: `rel` beneath the mount whose root is host handle `root`.
    File {
        /// The mount root's handle.
        root: u32,
        /// The path beneath it.
        rel: Vec<u8>,
    },
    /// A Unix socket bound to a path name: its socket file, `rel` beneath the mount whose
    /// root is host handle `root`, and the path as the program gave it.
    UnixName(BoundName),
    /// An inotify watcher: where the file of each watch the library OS added is (the host
    /// says which of them are still in place), and the highest watch number used.
    Watcher {
        /// The watches, by number.
        watches: Vec<WatchedFile>,
        /// The highest watch number the host has given the watcher.
        last_wd: u32,
    },
}

/// The file of one inotify watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedFile {
    /// The watch's number.
    pub wd: u32,
    /// The root handle of the file's mount.
    pub root: u32,
    /// The file's path beneath it.
    pub rel: Vec<u8>,
    /// Whether the path's last component is a link watched as itself (`IN_DONT_FOLLOW`).
    pub nofollow: bool,
}

/// Where a Unix socket bound to a path name has its socket file (recorded by `bind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundName {
    /// The mount root's handle.
    pub root: u32,
    /// The socket file's path beneath it.
    pub rel: Vec<u8>,
    /// The path as the program gave it (what `getsockname` reports).
    pub given: Vec<u8>,
    /// The socket file's permissions as made.
    pub mode: u32,
}

/// One named host handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedHandle {
    /// The host handle's number.
    pub handle: u32,
    /// What it is.
    pub what: HandleWhat,
}

/// The handles of this process that the library OS can name, ascending and without repeats;
/// or why the process cannot be captured (state of the library OS that lives in the host and
/// that a snapshot does not carry yet). Called by a frozen process's last parked thread, so
/// the state is taken only if no other thread holds it.
pub fn snapshot_handles() -> Result<Vec<NamedHandle>, String> {
    let guard = crate::kernel::try_lock()
        .ok_or_else(|| String::from("the library OS was busy (try again)"))?;
    let k = guard
        .as_ref()
        .ok_or_else(|| String::from("the program has not started"))?;
    refusal(k)?;
    let mut named: Vec<NamedHandle> = Vec::new();
    for fd in k.fds.numbers() {
        let Ok(file) = k.fds.file(fd) else { continue };
        let Some(handle) = file.handle() else {
            continue;
        };
        if file.anonymous == Some(crate::syscalls::inotify::INOTIFY) {
            named.push(NamedHandle {
                handle: handle.0,
                what: watcher_of(k, handle),
            });
            continue;
        }
        if file.path.is_empty() {
            if handle.0 < 3 {
                named.push(NamedHandle {
                    handle: handle.0,
                    what: HandleWhat::Stdio(handle.0 as u8),
                });
            } else if let Some(bound) = bound_name(k, handle) {
                named.push(NamedHandle {
                    handle: handle.0,
                    what: HandleWhat::UnixName(bound),
                });
            }
            continue;
        }
        if let Some(what) = file_of(k, &file.path) {
            named.push(NamedHandle {
                handle: handle.0,
                what,
            });
        }
    }
    if let Ok(path) = crate::path::normalize(&k.program_name) {
        if let Some(what) = file_of(k, &path) {
            named.push(NamedHandle {
                handle: k.program.0 .0,
                what,
            });
        }
    }
    named.sort_by_key(|n| n.handle);
    named.dedup_by_key(|n| n.handle);
    Ok(named)
}

/// What a snapshot keeps of watcher `handle`.
fn watcher_of(k: &Kernel, handle: picobox_abi::Handle) -> HandleWhat {
    let state = k.watches.get(&handle).cloned().unwrap_or_default();
    let mut watches: Vec<WatchedFile> = state
        .watches
        .into_iter()
        .map(|w| WatchedFile {
            wd: w.wd as u32,
            root: w.root.0,
            rel: w.rel,
            nofollow: w.nofollow,
        })
        .collect();
    watches.sort_by_key(|w| w.wd);
    HandleWhat::Watcher {
        watches,
        last_wd: state.last_wd as u32,
    }
}

/// Where the socket file of a Unix socket bound to a path name is.
fn bound_name(k: &Kernel, handle: picobox_abi::Handle) -> Option<BoundName> {
    let mut address = [0u8; 128];
    let n = crate::kernel::host()
        .socket_name(handle, false, &mut address)
        .ok()?;
    let name = crate::syscalls::unix_names::path_name(address.get(..n)?)?;
    k.unix_bound.get(name).cloned()
}

fn file_of(k: &Kernel, path: &crate::path::Components) -> Option<HandleWhat> {
    match k.vfs.locate(path).ok()? {
        Node::Host { root, rel, .. } => Some(HandleWhat::File { root: root.0, rel }),
        _ => None,
    }
}

/// The process state a snapshot cannot carry yet, named.
fn refusal(k: &Kernel) -> Result<(), String> {
    // Asynchronous I/O contexts are the library OS's own (every request is done at
    // submission, so none is in flight): their events and pages are memory.
    let what = if !k.tracees.is_empty() {
        "a ptrace relation"
    } else {
        return Ok(());
    };
    Err(alloc::format!(
        "the program holds {what}, which snapshots do not capture yet"
    ))
}

/// A shared mapping of a file of a mount, which a restore maps again from the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedFileMap {
    /// Its range.
    pub start: u64,
    /// See `start`.
    pub end: u64,
    /// The file's offset at `start`.
    pub offset: u64,
    /// The root handle of the file's mount.
    pub root: u32,
    /// The file's path beneath it.
    pub rel: Vec<u8>,
}

/// The process's shared mappings of files (each range with its file as mount root and path
/// beneath it, and its offset), read by a frozen process's last parked thread.
pub fn snapshot_shared_files() -> Vec<SharedFileMap> {
    let Some(guard) = crate::kernel::try_lock() else {
        return Vec::new();
    };
    let Some(k) = guard.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (start, end, area) in k.vmas.iter() {
        let Some(file) = area
            .file
            .filter(|_| area.shared)
            .and_then(|id| k.vmas.file(id))
        else {
            continue;
        };
        let Ok(path) = crate::path::normalize(&file.path) else {
            continue;
        };
        if let Some(HandleWhat::File { root, rel }) = file_of(k, &path) {
            out.push(SharedFileMap {
                start,
                end,
                offset: area.offset_at(start),
                root,
                rel,
            });
        }
    }
    out
}

/// One of the process's host timers, as a snapshot records it: an interval timer, or a POSIX
/// timer with how it was made; with its time left and its period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerState {
    /// Which timer (`Timer::Posix(id)` with the host's id).
    pub timer: picobox_abi::Timer,
    /// A POSIX timer's clock and notification, as given to the host.
    pub made: Option<(picobox_abi::Clock, picobox_abi::TimerNotify)>,
    /// Time left and period.
    pub setting: picobox_abi::TimerSetting,
}

/// The process's armed interval timers and all its POSIX timers (which the host keeps), read
/// by a frozen process's last parked thread: a restore makes them again with their ids and
/// time left.
pub fn snapshot_timers() -> Vec<TimerState> {
    use picobox_abi::Timer;
    let host = crate::kernel::host();
    let mut out: Vec<TimerState> = [Timer::Alarm, Timer::Virtual, Timer::Profile]
        .into_iter()
        .filter_map(|timer| {
            let setting = host.timer_set(timer, None).ok()?;
            let armed = setting.value.sec != 0 || setting.value.nsec != 0;
            armed.then_some(TimerState {
                timer,
                made: None,
                setting,
            })
        })
        .collect();
    let Some(guard) = crate::kernel::try_lock() else {
        return out;
    };
    if let Some(k) = guard.as_ref() {
        for (id, made) in &k.timers {
            if let Ok(setting) = host.timer_set(Timer::Posix(*id), None) {
                out.push(TimerState {
                    timer: Timer::Posix(*id),
                    made: Some(*made),
                    setting,
                });
            }
        }
    }
    out
}
