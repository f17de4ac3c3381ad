//! inotify: file watchers of the host, with watches the library OS resolves.
//!
//! A watcher is the host's own (`stream_create(NewStream::Watcher)`), so its events, their
//! order, coalescing and overflow are Linux's, and reading, polling and fork need nothing
//! here. Only the watch's path is the library OS's to resolve, through the box's namespace:
//! the file is opened with `O_PATH` and the host watches that object
//! (`StreamSetting::Watch`), which works for files of the box's host mounts. Files the
//! library OS makes up (`/proc`, `/dev`) change only as the library OS says, so they have no
//! events and a watch on them is refused with `EACCES`.
//!
//! The library OS also notes each watch it added (`Kernel::watches`), for the watcher's
//! `/proc/PID/fdinfo`: a watch the host ended by itself (`IN_ONESHOT`, a deleted file) stays
//! listed there until the watcher is closed. A snapshot takes the file of each watch from
//! there (`snapshot::snapshot_handles`), and which watches are still in place from the host;
//! a restore makes the watches again with the same numbers (`monitor/watchers.rs`).

use super::fs::{base_dir, AT_FDCWD};
use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use crate::vfs::Node;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use picobox_abi::{Errno, Handle, NewStream, OpenFlags, Result, StreamSetting};

/// One watch, as `/proc/PID/fdinfo` shows it, and where its file is (for a snapshot).
#[derive(Clone, Debug)]
pub struct Watch {
    /// Its number.
    pub wd: i32,
    /// The watched file's inode and device.
    pub ino: u64,
    /// See `ino`.
    pub dev: u64,
    /// The events and flags asked for, as Linux reports them back.
    pub mask: u32,
    /// The root handle of the mount the file is in.
    pub root: Handle,
    /// The file's path beneath that root, as the library OS resolved it.
    pub rel: Vec<u8>,
    /// Whether the path's last component was not followed (`IN_DONT_FOLLOW`).
    pub nofollow: bool,
}

/// What the library OS knows of one watcher.
#[derive(Clone, Debug, Default)]
pub struct Watcher {
    /// The watches it added, in the order they were added.
    pub watches: Vec<Watch>,
    /// The highest watch number the host gave it: the host numbers new watches upwards
    /// from the last one, so a restore makes the numbers used up to it again.
    pub last_wd: i32,
}

/// Watchers by host stream.
pub type Watches = BTreeMap<Handle, Watcher>;

/// The bits of a watch's mask that fdinfo shows (`inotify_mark_user_mask`).
const SHOWN_BITS: u32 = IN_ALL_EVENTS | IN_EXCL_UNLINK | IN_ONESHOT;

/// What `/proc/PID/fd` shows for a watcher.
pub const INOTIFY: &str = "inotify";

const IN_ALL_EVENTS: u32 = 0x0000_0fff;
const IN_ONLYDIR: u32 = 0x0100_0000;
const IN_DONT_FOLLOW: u32 = 0x0200_0000;
const IN_EXCL_UNLINK: u32 = 0x0400_0000;
const IN_MASK_CREATE: u32 = 0x1000_0000;
const IN_MASK_ADD: u32 = 0x2000_0000;
const IN_ONESHOT: u32 = 0x8000_0000;
/// Every bit `inotify_add_watch` accepts.
const ALL_INOTIFY_BITS: u32 = IN_ALL_EVENTS
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ONESHOT;

/// `inotify_init()`.
pub fn sys_inotify_init(k: &mut Kernel, _a: &Args) -> Result<u64> {
    make_watcher(k, 0)
}

/// `inotify_init1(flags)`: `IN_NONBLOCK`, `IN_CLOEXEC`.
pub fn sys_inotify_init1(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = int_arg(a[0]) as u32;
    if flags & !(OpenFlags::CLOEXEC | OpenFlags::NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    make_watcher(k, flags)
}

fn make_watcher(k: &mut Kernel, flags: u32) -> Result<u64> {
    let nonblocking = flags & OpenFlags::NONBLOCK != 0;
    let h = host().stream_create(NewStream::Watcher, nonblocking)?;
    // A stream number of a closed watcher, now this one's.
    k.watches.remove(&h);
    let file = OpenFile::anonymous(
        FileObject::Host(HostHandle(h)),
        OpenFlags::READ.0 | (flags & OpenFlags::NONBLOCK),
        INOTIFY,
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & OpenFlags::CLOEXEC != 0,
    })
}

/// The host stream of watcher `fd`. Errors: `EBADF`, `EINVAL` (another kind of file).
fn watcher(k: &Kernel, fd: u64) -> Result<picobox_abi::Handle> {
    k.fds.anonymous_stream(fd_arg(fd)?, INOTIFY)
}

/// `inotify_add_watch(fd, path, mask)`.
pub fn sys_inotify_add_watch(k: &mut Kernel, a: &Args) -> Result<u64> {
    let mask = int_arg(a[2]) as u32;
    // Linux's order: the mask, the descriptor, then the path.
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    if mask & ALL_INOTIFY_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    let watcher = watcher(k, a[0])?;
    let path = user::read_path(a[1])?;
    let follow = mask & IN_DONT_FOLLOW == 0;
    let mut flags = OpenFlags::PATH;
    if !follow {
        flags |= OpenFlags::NOFOLLOW;
    }
    if mask & IN_ONLYDIR != 0 {
        flags |= OpenFlags::DIRECTORY;
    }
    let base = base_dir(k, AT_FDCWD as u64, &path)?;
    let (target, root, rel) = k.vfs.lookup(&base, &path, follow, |node, _| match node {
        Node::Host { root, rel, .. } => Ok((
            HostHandle(host().stream_open(*root, rel, OpenFlags(flags), 0)?),
            *root,
            rel.clone(),
        )),
        _ => Err(Errno::EACCES),
    })?;
    // `target` is closed when it drops: the watch holds the file, not the descriptor.
    let wd = host().stream_set(
        watcher,
        StreamSetting::Watch {
            target: target.0,
            mask,
        },
    )?;
    let attr = host().stream_attr(target.0).ok();
    let state = k.watches.entry(watcher).or_default();
    let wd_number = wd as i32;
    state.last_wd = state.last_wd.max(wd_number);
    match state.watches.iter_mut().find(|w| w.wd == wd_number) {
        Some(w) if mask & IN_MASK_ADD != 0 => w.mask |= mask & SHOWN_BITS,
        Some(w) => w.mask = mask & SHOWN_BITS,
        None => state.watches.push(Watch {
            wd: wd_number,
            ino: attr.map_or(0, |a| a.ino),
            dev: attr.map_or(0, |a| a.dev),
            mask: mask & SHOWN_BITS,
            root,
            rel,
            nofollow: !follow,
        }),
    }
    Ok(wd)
}

/// The lines `/proc/PID/fdinfo` shows for watcher stream `h` after the common ones.
pub fn fdinfo_lines(k: &Kernel, h: Handle) -> alloc::string::String {
    let mut s = alloc::string::String::new();
    for w in k.watches.get(&h).into_iter().flat_map(|s| &s.watches) {
        // Linux's s_dev is (major << 20 | minor); the host's st_dev is glibc's encoding.
        let (major, minor) = (super::fs::dev_major(w.dev), super::fs::dev_minor(w.dev));
        s.push_str(&alloc::format!(
            "inotify wd:{:x} ino:{:x} sdev:{:x} mask:{:x} ignored_mask:0\n",
            w.wd,
            w.ino,
            (major << 20) | minor,
            w.mask
        ));
    }
    s
}

/// `inotify_rm_watch(fd, wd)`.
pub fn sys_inotify_rm_watch(k: &mut Kernel, a: &Args) -> Result<u64> {
    let watcher = watcher(k, a[0])?;
    let wd = int_arg(a[1]);
    host().stream_set(watcher, StreamSetting::Unwatch(wd))?;
    if let Some(state) = k.watches.get_mut(&watcher) {
        state.watches.retain(|w| w.wd != wd);
    }
    Ok(0)
}
