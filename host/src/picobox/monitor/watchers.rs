//! The box's inotify watchers across a snapshot.
//!
//! Taking them (the monitor, box frozen): the library OS names each watcher with the file of
//! every watch it added, beneath a mount root (`HandleKind::Watcher` in its report). Which of
//! those watches are still in place, and their masks, the host says
//! (`/proc/PID/fdinfo/N`): a watch ended by `IN_ONESHOT` or by its file's removal is gone.
//! Events not read yet cannot be put back into a watcher, so a watcher with events queued is
//! refused until the program has read them; so is a watcher two processes share (a restore
//! makes one per process) and a watch whose file the library OS did not record.
//!
//! Making them again (each restored process, once its descriptors are in place): a new
//! watcher at the descriptor's number, and each watch added again on its file, found beneath
//! its mount root as an open file is (`openat2` with `RESOLVE_BENEATH`). The host numbers a
//! watcher's watches upwards from the last number it gave, so the numbers are made the same
//! by using up each number below a watch's with a passing watch on a mount root, removed
//! again at once, and likewise up to the highest number the watcher had given; the
//! `IN_IGNORED` events of those passing watches are read away before the program runs.

use crate::hostio::{self, close, sys, O_DIRECTORY, O_PATH};
use crate::snapshot_meta::{HandleKind, HandleRecord, WatchRecord, WATCH_MASK_BITS};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const FIONREAD: u64 = 0x541b;
const SYS_INOTIFY_ADD_WATCH: u64 = 254;
const SYS_INOTIFY_RM_WATCH: u64 = 255;
const IN_DONT_FOLLOW: u32 = 0x0200_0000;
const IN_MASK_CREATE: u32 = 0x1000_0000;
/// Any event, for a passing watch (it is removed before anything could happen to it).
const IN_ACCESS: u32 = 0x1;

/// The watches in place on watcher descriptor `fd` of process `pid`, with their masks, as
/// the host lists them (`inotify wd:<hex> ... mask:<hex> ...`).
fn watches_in_place(pid: u64, fd: u32) -> Result<Vec<(u32, u32)>, String> {
    let text = hostio::read_file(format!("/proc/{pid}/fdinfo/{fd}").as_bytes(), 1 << 22)
        .map_err(|e| format!("cannot read the watches of descriptor {fd}: {e}"))?;
    let hex_field = |line: &[u8], name: &[u8]| -> Option<u32> {
        let word = line
            .split(|b| *b == b' ')
            .find_map(|w| w.strip_prefix(name))?;
        u32::from_str_radix(core::str::from_utf8(word).ok()?, 16).ok()
    };
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        let Some(rest) = line.strip_prefix(b"inotify ") else {
            continue;
        };
        match (hex_field(rest, b"wd:"), hex_field(rest, b"mask:")) {
            (Some(wd), Some(mask)) => out.push((wd, mask & WATCH_MASK_BITS)),
            _ => return Err(format!("descriptor {fd}'s watches are not as expected")),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Bytes of events queued on the watcher at descriptor `fd` of the process `pidfd` is of.
fn queued_bytes(pidfd: u64, fd: u32) -> Result<u32, String> {
    let copy = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0])
        .map_err(|e| format!("cannot reach descriptor {fd}: {e}"))?;
    let mut n: u32 = 0;
    let asked = sys(16, [copy, FIONREAD, &raw mut n as u64, 0, 0, 0]);
    close(copy);
    asked.map_err(|e| format!("cannot ask descriptor {fd} for its events: {e}"))?;
    Ok(n)
}

/// Completes the watchers the processes of `all` (by host pid in `hosts`) named: the
/// watches the host still has, with their masks. Refuses what a restore could not make
/// again as it is (see the module's notes).
pub fn capture(hosts: &[u64], all: &mut [(u32, Vec<HandleRecord>)]) -> Result<(), String> {
    let mut seen: Vec<(u64, u32, u32)> = Vec::new();
    for ((pid, handles), host) in all.iter_mut().zip(hosts) {
        for h in handles.iter_mut() {
            let HandleKind::Watcher { watches, last_wd } = &mut h.kind else {
                continue;
            };
            for (other_host, other_fd, other_pid) in &seen {
                if crate::descriptions::same_description(*host, h.fd, *other_host, *other_fd) {
                    return Err(format!(
                        "the program (pid {pid}) shares an inotify watcher (descriptor {}) \
                         with process {other_pid}, which snapshots do not capture yet",
                        h.fd
                    ));
                }
            }
            seen.push((*host, h.fd, *pid));
            let pidfd = sys(434, [*host, 0, 0, 0, 0, 0])
                .map_err(|e| format!("cannot reach the program's descriptors: {e}"))?;
            let queued = queued_bytes(pidfd, h.fd);
            close(pidfd);
            if queued? > 0 {
                return Err(format!(
                    "the program (pid {pid}) has inotify events it has not read yet \
                     (descriptor {}) {}",
                    h.fd,
                    crate::snapshot::PASSING
                ));
            }
            let mut kept = Vec::new();
            for (wd, mask) in watches_in_place(*host, h.fd)? {
                let Some(file) = watches.iter().find(|w| w.wd == wd) else {
                    return Err(format!(
                        "the program (pid {pid}) holds inotify watch {wd} (descriptor {}) whose \
                         file picobox does not know, which snapshots do not capture",
                        h.fd
                    ));
                };
                kept.push(WatchRecord {
                    mask,
                    ..file.clone()
                });
            }
            *last_wd = (*last_wd).max(kept.last().map_or(0, |w| w.wd));
            if *last_wd > crate::snapshot_meta::LAST_WATCH_NUMBER_KEPT {
                return Err(format!(
                    "the program (pid {pid}) has used {last_wd} inotify watch numbers \
                     (descriptor {}); snapshots keep at most {}",
                    h.fd,
                    crate::snapshot_meta::LAST_WATCH_NUMBER_KEPT
                ));
            }
            *watches = kept;
        }
    }
    Ok(())
}

/// Watch `name` of the directory open at `dir`, as `inotify_add_watch` relative to it (the
/// call takes no directory descriptor: the working directory is moved there and back).
fn add_watch_in(watcher: u64, dir: u64, name: &[u8], mask: u32) -> Result<u64, Errno> {
    let back = sys(
        257,
        [hostio::AT_FDCWD, c".".as_ptr() as u64, 0o10000000, 0, 0, 0],
    )?;
    let result = sys(81, [dir, 0, 0, 0, 0, 0]).and_then(|_| {
        let name = hostio::c_str(name);
        sys(
            SYS_INOTIFY_ADD_WATCH,
            [watcher, name.as_ptr() as u64, u64::from(mask), 0, 0, 0],
        )
    });
    let _ = sys(81, [back, 0, 0, 0, 0, 0]);
    close(back);
    result
}

/// Opens directory `rel` beneath mount root descriptor `root`, as a path only.
fn open_beneath(root: u32, rel: &[u8]) -> Result<u64, String> {
    crate::special_files::open_beneath(u64::from(root), rel, O_PATH | O_DIRECTORY)
}

/// Makes watch `w` on `watcher` again; the number the host gives it.
fn watch_again(watcher: u64, w: &WatchRecord) -> Result<u64, String> {
    let failed = |e: &dyn core::fmt::Display| {
        format!(
            "the program's inotify watch {} on {} cannot be made again: {e}",
            w.wd,
            String::from_utf8_lossy(&w.rel)
        )
    };
    // The file's directory, then the file as one name in it, not followed if it is a link:
    // the library OS resolved every link of the path when the watch was added.
    let (parent, name) = match w.rel.iter().rposition(|b| *b == b'/') {
        Some(at) => (&w.rel[..at], &w.rel[at + 1..]),
        None if w.rel.is_empty() => (&w.rel[..], &b"."[..]),
        None => (&w.rel[..0], &w.rel[..]),
    };
    if name == b".." || name.is_empty() {
        return Err(failed(&Errno::EINVAL));
    }
    let dir = open_beneath(w.root, parent).map_err(|e| failed(&e))?;
    let made = add_watch_in(watcher, dir, name, w.mask | IN_DONT_FOLLOW | IN_MASK_CREATE);
    close(dir);
    made.map_err(|e| failed(&e))
}

/// Uses up watch number `wd` on `watcher` with a passing watch on one of `roots` that the
/// watcher does not watch. Errors when the host gives another number.
fn use_up(watcher: u64, wd: u32, roots: &[u32]) -> Result<(), String> {
    for root in roots {
        let Ok(dir) = open_beneath(*root, b"") else {
            continue;
        };
        let made = add_watch_in(watcher, dir, b".", IN_ACCESS | IN_MASK_CREATE);
        close(dir);
        // An error (EEXIST: watched for the program already): another root.
        if let Ok(n) = made {
            let _ = sys(SYS_INOTIFY_RM_WATCH, [watcher, n, 0, 0, 0, 0]);
            if n != u64::from(wd) {
                break;
            }
            return Ok(());
        }
    }
    Err(format!(
        "an inotify watcher's watch number {wd} cannot be made again"
    ))
}

/// A new watcher with no watches, for a restored process's descriptor to be placed on; then
/// [`make_again`].
pub fn new_watcher() -> Result<u64, String> {
    sys(294, [0o2000000, 0, 0, 0, 0, 0]).map_err(|e| format!("cannot make an inotify watcher: {e}"))
}

/// Adds `watches` again to the new watcher at descriptor `fd` of a restored process, with
/// their numbers and the numbers up to `last_wd` used; `roots` are the process's mount root
/// descriptors, for passing watches.
pub fn make_again(
    fd: u32,
    watches: &[WatchRecord],
    last_wd: u32,
    roots: &[u32],
) -> Result<(), String> {
    let watcher = u64::from(fd);
    if let Some(w) = watches.iter().find(|w| !roots.contains(&w.root)) {
        return Err(format!(
            "the program's inotify watch {} names descriptor {}, which is no mount root",
            w.wd, w.root
        ));
    }
    let mut next = 1u32;
    let mut passing = false;
    for w in watches {
        while next < w.wd {
            use_up(watcher, next, roots)?;
            passing = true;
            next += 1;
        }
        let got = watch_again(watcher, w)?;
        if got != u64::from(w.wd) {
            return Err(format!(
                "the program's inotify watch {} on {} came back as number {got}",
                w.wd,
                String::from_utf8_lossy(&w.rel)
            ));
        }
        next = w.wd + 1;
    }
    while next <= last_wd {
        use_up(watcher, next, roots)?;
        passing = true;
        next += 1;
    }
    if passing {
        // The passing watches' IN_IGNORED events, read without waiting.
        const F_GETFL: u64 = 3;
        const F_SETFL: u64 = 4;
        let flags = sys(72, [watcher, F_GETFL, 0, 0, 0, 0]).unwrap_or(0);
        let _ = sys(72, [watcher, F_SETFL, flags | hostio::O_NONBLOCK, 0, 0, 0]);
        let mut buf = [0u8; 4096];
        while sys(0, [watcher, buf.as_mut_ptr() as u64, 4096, 0, 0, 0]).is_ok_and(|n| n > 0) {}
        let _ = sys(72, [watcher, F_SETFL, flags, 0, 0, 0]);
    }
    Ok(())
}
