//! The box's own tmpfs mounts (its `/tmp`, `/dev/shm` and each `--tmpfs`) across a snapshot:
//! they end with the box, so a snapshot carries their files, and a restore makes them again in
//! the new box's mounts before any of its processes runs (docs/snapshot.md, "Files").
//!
//! Taking them (the monitor, box frozen): each mount is walked from a copy of its root
//! descriptor (`pidfd_getfd` of the program's mount-root handle): directories, regular files
//! with their bytes, symbolic links, FIFOs, socket files and whiteouts, hard links as such, with their
//! permissions and modification times. Files up to 64 KiB are carried in the metadata, at
//! most [`LIMIT`] bytes of them in all; larger ones, and small ones past that budget, are
//! stored as page runs of their own ([`write_stored`], after every process's memory), their
//! zero pages left out.
//!
//! A regular file of these mounts that no name reaches any more but that a process holds
//! open (removed while open, or a memory file, `memfd_create`) is carried the same way, as an
//! entry without a name ([`DETACHED`]); the restore makes it under a passing name, opens
//! what the box held of it, and removes the name before the program runs
//! (`restore::build_tree`).
//!
//! Also here: the check that every open file of the box is still the file at its path, so
//! that a restore never opens another file in its place (a file removed, or replaced, while
//! open is refused, named).
//!
//! Making them again: every entry is made in the descriptor of its own directory, by one
//! validated name component (the metadata's decoder checks names and parents), never by a
//! path, so nothing outside the mount can be reached; files belong to the box's user.

use crate::hostio::{
    self, close, sys, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
    O_NOFOLLOW, O_RDONLY, O_WRONLY, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
};
use crate::snapshot_meta::{
    FileEntry, FileKindRecord, HandleKind, HandleRecord, MountFiles, DETACHED,
};
use crate::special_files::{give_to, make_node};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

/// Most bytes of small files a snapshot carries in its metadata from the box's tmpfs mounts;
/// the rest are stored.
pub const LIMIT: usize = 48 << 20;
/// Files larger than this are stored as page runs of their own ([`FileKindRecord::Stored`],
/// written by [`write_stored`]), not in the metadata.
const STORED_ABOVE: u64 = 64 << 10;
const ROOT: u32 = u32::MAX;

/// `struct stat` as words: dev 0, ino 1, nlink 2, mode (low half of) 3, rdev 5, size 6,
/// mtime 11/12.
type Stat = [u64; 18];

fn stat_at(dir: u64, name: &[u8], flags: u64) -> Result<Stat, Errno> {
    let c = hostio::c_str(name);
    let mut st: Stat = [0; 18];
    sys(
        262,
        [dir, c.as_ptr() as u64, st.as_mut_ptr() as u64, flags, 0, 0],
    )?;
    Ok(st)
}

/// `openat(dir, name, flags | O_CLOEXEC, mode)`.
pub fn open_at(dir: u64, name: &[u8], flags: u64, mode: u32) -> Result<u64, Errno> {
    let c = hostio::c_str(name);
    sys(
        257,
        [
            dir,
            c.as_ptr() as u64,
            flags | O_CLOEXEC,
            u64::from(mode),
            0,
            0,
        ],
    )
}

/// The names in directory `dir` (without `.` and `..`).
pub fn names(dir: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    let mut buf = alloc::vec![0u8; 16384];
    loop {
        let n = sys(
            217,
            [dir, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0],
        )? as usize;
        if n == 0 {
            return Ok(out);
        }
        out.extend(
            crate::limits::dirent_names(&buf[..n])
                .filter(|name| *name != b"." && *name != b"..")
                .map(<[u8]>::to_vec),
        );
    }
}

/// The program process's copy of the root of boot mount `mount`, through its handle.
fn mount_root(pidfd: u64, handles: &[HandleRecord], mount: u32) -> Option<u64> {
    let fd = handles
        .iter()
        .find(|h| h.kind == HandleKind::BootMount(mount))?
        .fd;
    sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]).ok()
}

/// A regular file no name reaches that a process of the box holds: where it is held (host
/// pid, descriptor), what it is (device, inode) and, once [`capture`] has found its mount,
/// which entry of that mount's files carries it.
#[derive(Clone, Debug)]
pub struct DetachedSource {
    /// The host pid of a process holding it.
    pub host: u64,
    /// Its descriptor there.
    pub fd: u32,
    /// The file's device (`st_dev`).
    pub dev: u64,
    /// The file's inode number.
    pub ino: u64,
    /// Its mount's boot index.
    pub mount: u32,
    /// Its entry among the mount's files.
    pub entry: u32,
}

impl DetachedSource {
    /// The file's device as `/proc/PID/maps` writes it (`major:minor`, hexadecimal).
    pub fn maps_device(&self) -> Vec<u8> {
        let major = ((self.dev >> 8) & 0xfff) | ((self.dev >> 32) & !0xfff);
        let minor = (self.dev & 0xff) | ((self.dev >> 12) & !0xff);
        format!("{major:02x}:{minor:02x}").into_bytes()
    }

    /// A descriptor of the monitor's own on the file, read-only (a description of its own:
    /// reading it moves no offset of the box's).
    fn open(&self) -> Result<u64, Errno> {
        hostio::open(
            format!("/proc/{}/fd/{}", self.host, self.fd).as_bytes(),
            O_RDONLY,
            0,
        )
    }
}

/// Whether host process `pid`'s descriptor `fd` is a regular file that no name reaches any
/// more (`st_nlink` 0).
pub fn is_detached(pid: u64, fd: u32) -> bool {
    let path = hostio::c_str(format!("/proc/{pid}/fd/{fd}").as_bytes());
    let mut st: Stat = [0; 18];
    sys(
        4,
        [path.as_ptr() as u64, st.as_mut_ptr() as u64, 0, 0, 0, 0],
    )
    .is_ok()
        && st[3] as u32 & S_IFMT == S_IFREG
        && st[2] == 0
}

/// The files of the box's tmpfs mounts `mounts` (boot indexes), read through the program
/// process (host pid `pid`, the first of `hosts`, whose descriptors are `all[0]`); with them
/// the files no name reaches that the processes of `all` (host pids `hosts`) hold
/// ([`HandleKind::Detached`], each then given its mount and entry). Refuses such a file of
/// a mount of host files.
pub fn capture(
    pid: u64,
    hosts: &[u64],
    all: &mut [(u32, Vec<HandleRecord>)],
    mounts: &[u32],
) -> Result<(Vec<MountFiles>, Vec<DetachedSource>), String> {
    let mut sources = detached_sources(hosts, all)?;
    let files = capture_mounts(pid, &all[0].1, mounts, &mut sources)?;
    for (p, (box_pid, handles)) in all.iter_mut().enumerate() {
        for h in handles.iter_mut() {
            if !matches!(h.kind, HandleKind::Detached { .. }) {
                continue;
            }
            let source = sources
                .iter()
                .find(|s| s.host == hosts[p] && s.fd == h.fd)
                .filter(|s| s.mount != u32::MAX);
            let Some(s) = source else {
                return Err(format!(
                    "process {box_pid} holds host descriptor {} open on a file removed since \
                     ({}), of a mount of host files, which snapshots do not capture",
                    h.fd,
                    String::from_utf8_lossy(&target_of(hosts[p], h.fd))
                ));
            };
            h.kind = HandleKind::Detached {
                mount: s.mount,
                entry: s.entry,
            };
        }
    }
    Ok((files, sources))
}

/// Where host process `pid`'s descriptor `fd` leads (`/proc/PID/fd/FD`).
fn target_of(pid: u64, fd: u32) -> Vec<u8> {
    let path = hostio::c_str(format!("/proc/{pid}/fd/{fd}").as_bytes());
    let mut target = alloc::vec![0u8; 4096];
    let n = sys(
        89,
        [
            path.as_ptr() as u64,
            target.as_mut_ptr() as u64,
            4096,
            0,
            0,
            0,
        ],
    )
    .unwrap_or(0);
    target.truncate(n as usize);
    target
}

/// The descriptors of `all` that hold a file no name reaches, not yet placed.
fn detached_sources(
    hosts: &[u64],
    all: &[(u32, Vec<HandleRecord>)],
) -> Result<Vec<DetachedSource>, String> {
    let mut out = Vec::new();
    for ((_, handles), host) in all.iter().zip(hosts) {
        for h in handles {
            if !matches!(h.kind, HandleKind::Detached { .. }) {
                continue;
            }
            let path = hostio::c_str(format!("/proc/{host}/fd/{}", h.fd).as_bytes());
            let mut st: Stat = [0; 18];
            sys(
                4,
                [path.as_ptr() as u64, st.as_mut_ptr() as u64, 0, 0, 0, 0],
            )
            .map_err(|e| format!("cannot read a removed file of the box's: {e}"))?;
            out.push(DetachedSource {
                host: *host,
                fd: h.fd,
                dev: st[0],
                ino: st[1],
                mount: u32::MAX,
                entry: u32::MAX,
            });
        }
    }
    Ok(out)
}

fn capture_mounts(
    pid: u64,
    handles: &[HandleRecord],
    mounts: &[u32],
    sources: &mut [DetachedSource],
) -> Result<Vec<MountFiles>, String> {
    let pidfd = sys(434, [pid, 0, 0, 0, 0, 0])
        .map_err(|e| format!("cannot reach the box's mounts: {e}"))?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut stored_end = 0u64;
    let mut result = Ok(());
    for &mount in mounts {
        let Some(handle) = mount_root(pidfd, handles, mount) else {
            continue;
        };
        // The handle may be an O_PATH one: the directory is opened through it to be listed.
        let root = open_at(handle, b".", O_RDONLY | O_DIRECTORY, 0);
        close(handle);
        let Ok(root) = root else {
            continue;
        };
        let mut files = MountFiles {
            mount,
            root_mode: stat_at(root, b"", AT_EMPTY_PATH).map_or(0o1777, |st| st[3] as u32 & 0o7777),
            entries: Vec::new(),
        };
        let walked = walk(
            root,
            ROOT,
            &mut files.entries,
            &mut Vec::new(),
            (&mut bytes, &mut stored_end),
        );
        let root_dev = stat_at(root, b"", AT_EMPTY_PATH).map(|st| st[0]);
        close(root);
        let walked = walked.and_then(|()| match root_dev {
            Ok(dev) => add_detached(&mut files, dev, sources, (&mut bytes, &mut stored_end)),
            Err(e) => Err(format!("cannot read the box's files: {e}")),
        });
        if let Err(e) = walked {
            result = Err(e);
            break;
        }
        out.push(files);
    }
    close(pidfd);
    result.map(|()| out)
}

/// Adds to `files` (of the mount on device `dev`) an entry for each file of `sources` on
/// that device, one per file, and places those sources there.
fn add_detached(
    files: &mut MountFiles,
    dev: u64,
    sources: &mut [DetachedSource],
    (bytes, stored_end): (&mut usize, &mut u64),
) -> Result<(), String> {
    let fail = |e: Errno| format!("cannot read a removed file of the box's: {e}");
    for i in 0..sources.len() {
        if sources[i].dev != dev {
            continue;
        }
        let same = sources[..i]
            .iter()
            .find(|o| (o.dev, o.ino) == (dev, sources[i].ino));
        if let Some(o) = same {
            (sources[i].mount, sources[i].entry) = (o.mount, o.entry);
            continue;
        }
        let fd = sources[i].open().map_err(fail)?;
        let mut st: Stat = [0; 18];
        let read = sys(5, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0]).and_then(|_| {
            if st[6] > STORED_ABOVE || *bytes + st[6] as usize > LIMIT {
                match place_stored(stored_end, st[6]) {
                    Some(base) => Ok(FileKindRecord::Stored { size: st[6], base }),
                    None => Err(Errno::EFBIG),
                }
            } else {
                *bytes += st[6] as usize;
                hostio::read_all(fd, LIMIT).map(FileKindRecord::Regular)
            }
        });
        close(fd);
        (sources[i].mount, sources[i].entry) = (files.mount, files.entries.len() as u32);
        files.entries.push(FileEntry {
            parent: DETACHED,
            name: Vec::new(),
            kind: read.map_err(fail)?,
            mode: st[3] as u32 & 0o7777,
            modified: (st[11], st[12] as u32),
        });
    }
    Ok(())
}

/// The place in the stored files' space (`FileKindRecord::Stored`) of a file of `size`
/// bytes after those up to `stored_end`, which it moves on; none past the space's end (a
/// sparse file of terabytes: its pages would not fit the snapshot's addresses).
fn place_stored(stored_end: &mut u64, size: u64) -> Option<u64> {
    let base = *stored_end;
    let end = base.checked_add(size.checked_next_multiple_of(4096)?)?;
    if end > crate::snapshot_meta::USER_END {
        return None;
    }
    *stored_end = end;
    Some(base)
}

fn too_long(name: &str, size: u64) -> String {
    format!(
        "the box's file {name} is {size} bytes long, more than a snapshot carries (its files' \
         lengths add up to at most 128 TiB)"
    )
}

/// Adds the entries of directory `dir` (entry `index`) and below to `entries`; `inodes`
/// maps the inodes of regular files with several names to their first entry.
fn walk(
    dir: u64,
    index: u32,
    entries: &mut Vec<FileEntry>,
    inodes: &mut Vec<(u64, u32)>,
    (bytes, stored_end): (&mut usize, &mut u64),
) -> Result<(), String> {
    let fail = |e: Errno| format!("cannot read the box's files: {e}");
    let mut list = names(dir).map_err(fail)?;
    list.sort_unstable();
    for name in list {
        let st = stat_at(dir, &name, AT_SYMLINK_NOFOLLOW).map_err(fail)?;
        let mode = st[3] as u32;
        let me = entries.len() as u32;
        let kind = match mode & S_IFMT {
            S_IFDIR => FileKindRecord::Directory,
            S_IFREG => match inodes.iter().find(|(ino, _)| *ino == st[1]) {
                Some((_, first)) => FileKindRecord::HardLink(*first),
                // Small files go in the metadata while they fit in its budget; larger ones,
                // and every one past the budget, as page runs of their own.
                None if st[6] > STORED_ABOVE || *bytes + st[6] as usize > LIMIT => {
                    if st[2] > 1 {
                        inodes.push((st[1], me));
                    }
                    let base = place_stored(stored_end, st[6])
                        .ok_or_else(|| too_long(&String::from_utf8_lossy(&name), st[6]))?;
                    FileKindRecord::Stored { size: st[6], base }
                }
                None => {
                    *bytes += st[6] as usize;
                    let fd = open_at(dir, &name, O_RDONLY | O_NOFOLLOW, 0).map_err(fail)?;
                    let data = hostio::read_all(fd, LIMIT);
                    close(fd);
                    if st[2] > 1 {
                        inodes.push((st[1], me));
                    }
                    FileKindRecord::Regular(data.map_err(fail)?)
                }
            },
            S_IFLNK => {
                let c = hostio::c_str(&name);
                let mut target = alloc::vec![0u8; 4096];
                let n = sys(
                    267,
                    [
                        dir,
                        c.as_ptr() as u64,
                        target.as_mut_ptr() as u64,
                        4096,
                        0,
                        0,
                    ],
                )
                .map_err(fail)? as usize;
                target.truncate(n);
                FileKindRecord::Symlink(target)
            }
            S_IFIFO => FileKindRecord::Fifo,
            S_IFSOCK => FileKindRecord::Socket,
            S_IFCHR if st[5] == 0 => FileKindRecord::Whiteout,
            _ => {
                return Err(format!(
                    "the box's file {} is a device, which snapshots do not carry",
                    String::from_utf8_lossy(&name)
                ))
            }
        };
        let is_dir = kind == FileKindRecord::Directory;
        entries.push(FileEntry {
            parent: index,
            name: name.clone(),
            kind,
            mode: mode & 0o7777,
            modified: (st[11], st[12] as u32),
        });
        if is_dir {
            let sub = open_at(dir, &name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0).map_err(fail)?;
            let r = walk(sub, me, entries, inodes, (bytes, stored_end));
            close(sub);
            r?;
        }
    }
    Ok(())
}

/// Whether `st` is a pseudo-terminal's: a master (`/dev/ptmx`, or `ptmx` of a devpts, both
/// device 5, 2) or a terminal of a devpts (majors 136 to 143, Linux's Unix98 pty slaves).
fn is_pseudo_terminal(st: &Stat) -> bool {
    let rdev = st[5];
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    st[3] as u32 & S_IFMT == S_IFCHR && ((major, minor) == (5, 2) || (136..=143).contains(&major))
}

/// Refuses a process's open file that is no longer the file at its path (removed, or
/// replaced by another): a restore would open the other one, or fail; and one on a
/// pseudo-terminal of the box's (which a restore cannot make again as it was).
pub fn check_open_files(pid: u64, box_pid: u32, handles: &[HandleRecord]) -> Result<(), String> {
    let pidfd =
        sys(434, [pid, 0, 0, 0, 0, 0]).map_err(|e| format!("cannot reach the box's files: {e}"))?;
    let mut result = Ok(());
    for h in handles {
        let HandleKind::File { root, rel } = &h.kind else {
            continue;
        };
        let open = hostio::c_str(format!("/proc/{pid}/fd/{}", h.fd).as_bytes());
        let mut held: Stat = [0; 18];
        if sys(
            4,
            [open.as_ptr() as u64, held.as_mut_ptr() as u64, 0, 0, 0, 0],
        )
        .is_err()
        {
            continue;
        }
        if is_pseudo_terminal(&held) {
            result = Err(format!(
                "process {box_pid} holds descriptor {} open on a pseudo-terminal of the box's \
                 own, which snapshots do not capture yet: a restore could not make it again \
                 with its number, settings and queued bytes",
                h.fd
            ));
            break;
        }
        let Ok(root_copy) = sys(438, [pidfd, u64::from(*root), 0, 0, 0, 0]) else {
            continue;
        };
        let at_path = if rel.is_empty() {
            stat_at(root_copy, b"", AT_EMPTY_PATH)
        } else {
            stat_at(root_copy, rel, AT_SYMLINK_NOFOLLOW)
        };
        close(root_copy);
        let same = at_path.is_ok_and(|st| (st[0], st[1]) == (held[0], held[1]));
        if !same {
            result = Err(format!(
                "process {box_pid} holds descriptor {} open on a file that was removed or \
                 replaced since ({}), which snapshots do not capture",
                h.fd,
                String::from_utf8_lossy(rel)
            ));
            break;
        }
    }
    close(pidfd);
    result
}

/// Makes the files of `files` again in the restored box's mount whose root is `root`, owned
/// by `owner` (the box's user, where the restore runs as another). Returns the passing name
/// in the mount's root that each file no name reached is made under, by entry: the caller
/// opens what the box held of it, then removes the name ([`remove_passing_name`]).
pub fn restore(
    files: &MountFiles,
    root: u64,
    owner: Option<(u32, u32)>,
    data: StoredData<'_>,
) -> Result<PassingNames, String> {
    // Only into a fresh tmpfs of the box's own: never into a mount of host files.
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    let mut fs = [0u64; 15];
    let tmpfs =
        sys(138, [root, fs.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok() && fs[0] == TMPFS_MAGIC;
    let dir = open_at(root, b".", O_RDONLY | O_DIRECTORY, 0);
    let empty = dir.is_ok_and(|d| {
        let list = names(d);
        close(d);
        list.is_ok_and(|l| l.is_empty())
    });
    if !tmpfs || !empty {
        return Err(format!(
            "the snapshot carries files for mount {}, which is not an empty tmpfs of the box's own",
            files.mount
        ));
    }
    let mut dirs: Vec<(u32, u64)> = Vec::new();
    let mut passing = Vec::new();
    let result = restore_into(files, root, owner, (&mut dirs, &mut passing), data);
    for (_, fd) in dirs {
        close(fd);
    }
    result.map(|()| passing)
}

/// Removes the passing name `name` a file no name reached was made under in the mount whose
/// root is `root` (see [`restore`]).
pub fn remove_passing_name(root: u64, name: &[u8]) {
    let c = hostio::c_str(name);
    let _ = sys(263, [root, c.as_ptr() as u64, 0, 0, 0, 0]);
}

/// The passing name each file no name reached was made under, by entry.
type PassingNames = Vec<(u32, Vec<u8>)>;

/// A name for file `index` no name reached, in directory `dir`, that it does not have yet.
fn passing_name(dir: u64, index: u32) -> Result<Vec<u8>, Errno> {
    for n in 0..64u32 {
        let name = format!(".picobox-removed-{index}-{n}").into_bytes();
        match stat_at(dir, &name, AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => return Ok(name),
            Err(e) => return Err(e),
            Ok(_) => continue,
        }
    }
    Err(Errno::EEXIST)
}

fn restore_into(
    files: &MountFiles,
    root: u64,
    owner: Option<(u32, u32)>,
    (dirs, passing): (&mut Vec<(u32, u64)>, &mut PassingNames),
    data: StoredData<'_>,
) -> Result<(), String> {
    let dir_of = |dirs: &Vec<(u32, u64)>, index: u32| {
        if index == ROOT {
            Some(root)
        } else {
            dirs.iter().find(|(i, _)| *i == index).map(|(_, fd)| *fd)
        }
    };
    for (index, e) in files.entries.iter().enumerate() {
        let index = index as u32;
        let fail = |e2: Errno| {
            format!(
                "cannot make the box's file {} again: {e2}",
                String::from_utf8_lossy(&e.name)
            )
        };
        // A file no name reached: made in the root under a passing name, after the others
        // (so that the name is none of theirs).
        if e.parent == DETACHED {
            continue;
        }
        let dir = dir_of(dirs, e.parent).ok_or_else(|| fail(Errno::ENOENT))?;
        let name = hostio::c_str(&e.name);
        match &e.kind {
            FileKindRecord::Directory => {
                sys(258, [dir, name.as_ptr() as u64, 0o700, 0, 0, 0]).map_err(fail)?;
                let fd =
                    open_at(dir, &e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0).map_err(fail)?;
                dirs.push((index, fd));
            }
            FileKindRecord::Regular(_) | FileKindRecord::Stored { .. } => {
                let fd = open_at(
                    dir,
                    &e.name,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                    0o600,
                )
                .map_err(fail)?;
                let written = match &e.kind {
                    FileKindRecord::Regular(bytes) => hostio::write_all(fd, bytes),
                    FileKindRecord::Stored { size, base } => {
                        write_stored_back(fd, *size, *base, data)
                    }
                    _ => Ok(()),
                };
                close(fd);
                written.map_err(fail)?;
            }
            FileKindRecord::Symlink(target) => {
                let t = hostio::c_str(target);
                sys(266, [t.as_ptr() as u64, dir, name.as_ptr() as u64, 0, 0, 0]).map_err(fail)?;
            }
            FileKindRecord::Whiteout => make_whiteout(dir, &e.name).map_err(fail)?,
            FileKindRecord::Fifo | FileKindRecord::Socket => {
                let kind = if e.kind == FileKindRecord::Fifo {
                    S_IFIFO
                } else {
                    S_IFSOCK
                };
                make_node(dir, &name, kind | (e.mode & 0o7777)).map_err(fail)?;
            }
            FileKindRecord::HardLink(to) => {
                let first = &files.entries[*to as usize];
                let from_dir = dir_of(dirs, first.parent).ok_or_else(|| fail(Errno::ENOENT))?;
                let from = hostio::c_str(&first.name);
                sys(
                    265,
                    [
                        from_dir,
                        from.as_ptr() as u64,
                        dir,
                        name.as_ptr() as u64,
                        0,
                        0,
                    ],
                )
                .map_err(fail)?;
                continue;
            }
        }
        give_to(dir, &name, owner);
        if !matches!(e.kind, FileKindRecord::Symlink(_)) {
            let _ = sys(268, [dir, name.as_ptr() as u64, u64::from(e.mode), 0, 0, 0]);
        }
    }
    for (index, e) in files.entries.iter().enumerate() {
        if e.parent != DETACHED {
            continue;
        }
        let fail = |e2: Errno| format!("cannot make a removed file of the box's again: {e2}");
        let name = passing_name(root, index as u32).map_err(fail)?;
        let fd =
            open_at(root, &name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600).map_err(fail)?;
        passing.push((index as u32, name.clone()));
        let written = match &e.kind {
            FileKindRecord::Regular(bytes) => hostio::write_all(fd, bytes),
            FileKindRecord::Stored { size, base } => write_stored_back(fd, *size, *base, data),
            _ => Err(Errno::EINVAL),
        };
        // struct timespec[2]: access time left as it is (UTIME_OMIT), modification time.
        let times: [u64; 4] = [0, (1 << 30) - 2, e.modified.0, u64::from(e.modified.1)];
        let _ = sys(280, [fd, 0, times.as_ptr() as u64, 0, 0, 0]);
        close(fd);
        written.map_err(fail)?;
        let c = hostio::c_str(&name);
        give_to(root, &c, owner);
        let _ = sys(268, [root, c.as_ptr() as u64, u64::from(e.mode), 0, 0, 0]);
    }
    // Modification times last (making a directory's entries changes its own), deepest first.
    for e in files.entries.iter().rev() {
        let Some(dir) = dir_of(dirs, e.parent) else {
            continue;
        };
        let name = hostio::c_str(&e.name);
        // struct timespec[2]: access time left as it is (UTIME_OMIT), modification time.
        let times: [u64; 4] = [0, (1 << 30) - 2, e.modified.0, u64::from(e.modified.1)];
        let _ = sys(
            280,
            [
                dir,
                name.as_ptr() as u64,
                times.as_ptr() as u64,
                AT_SYMLINK_NOFOLLOW,
                0,
                0,
            ],
        );
    }
    // The root as it was (fchmodat2 with AT_EMPTY_PATH: the root may be an O_PATH handle).
    let empty = hostio::c_str(b"");
    let _ = sys(
        452,
        [
            root,
            empty.as_ptr() as u64,
            u64::from(files.root_mode),
            AT_EMPTY_PATH,
            0,
            0,
        ],
    );
    Ok(())
}

/// Makes a whiteout named `name` in directory `dir` as the box made it: a file of that name
/// moved away with `renameat2(RENAME_WHITEOUT)`, then removed. (Making it with `mknodat`
/// would need the right to make character devices, which the box's Landlock rules, on by
/// now, rightly do not give.)
fn make_whiteout(dir: u64, name: &[u8]) -> Result<(), Errno> {
    const RENAME_NOREPLACE: u64 = 1;
    const RENAME_WHITEOUT: u64 = 4;
    close(open_at(
        dir,
        name,
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
        0o600,
    )?);
    let from = hostio::c_str(name);
    // A name the directory does not have yet: the file is moved there, then removed.
    for n in 0..64u32 {
        let aside = hostio::c_str(format!(".picobox-whiteout-{n}").as_bytes());
        let flags = RENAME_NOREPLACE | RENAME_WHITEOUT;
        let args = [
            dir,
            from.as_ptr() as u64,
            dir,
            aside.as_ptr() as u64,
            flags,
            0,
        ];
        match sys(316, args) {
            Ok(_) => return sys(263, [dir, aside.as_ptr() as u64, 0, 0, 0, 0]).map(|_| ()),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EEXIST)
}

/// Where stored files' bytes are in a snapshot: its descriptor, and the page runs of
/// [`crate::snapshot_meta::FILE_DATA`] as (address, file offset, bytes).
#[derive(Clone, Copy)]
pub struct StoredData<'a> {
    /// The snapshot file.
    pub file: u64,
    /// The runs, ascending.
    pub runs: &'a [(u64, u64, u64)],
}

/// Writes stored file `fd` of `size` bytes again from the runs of `data` in its range from
/// `base` (the rest stays a hole, as the zero pages were).
fn write_stored_back(fd: u64, size: u64, base: u64, data: StoredData<'_>) -> Result<(), Errno> {
    sys(77, [fd, size, 0, 0, 0, 0])?; // ftruncate
    let end = base + size;
    let mut buf = alloc::vec![0u8; 1 << 20];
    for (address, offset, len) in data.runs {
        if *address + len <= base || *address >= end {
            continue;
        }
        let mut done = 0u64;
        // The last page's bytes past the file's end are not the file's.
        let len = (*len).min(end - address);
        while done < len {
            let n = (len - done).min(buf.len() as u64);
            let got = sys(
                17,
                [data.file, buf.as_mut_ptr() as u64, n, offset + done, 0, 0],
            )?;
            if got != n {
                return Err(Errno::EIO);
            }
            let at = address + done - base;
            let put = sys(18, [fd, buf.as_ptr() as u64, n, at, 0, 0])?;
            if put != n {
                return Err(Errno::EIO);
            }
            done += n;
        }
    }
    Ok(())
}

/// Takes one run of a stored file's pages: its address among the stored files' runs, and
/// its bytes.
pub type PageRunSink<'a> = &'a mut dyn FnMut(u64, &[u8]) -> Result<(), String>;

/// The path of entry `index` of `files` beneath its mount root.
fn path_of(files: &MountFiles, index: usize) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut at = index as u32;
    while at != ROOT && at != DETACHED {
        let e = &files.entries[at as usize];
        parts.push(&e.name);
        at = e.parent;
    }
    parts.reverse();
    parts.join(&b'/')
}

/// Writes the non-zero pages of the box's stored files (`files`, read through the program
/// process, host pid `pid`, whose descriptors are `handles`) with `chunk(address, bytes)`,
/// in the order of their ranges. The box is frozen, so the files are as `capture` found them.
pub fn write_stored(
    pid: u64,
    handles: &[HandleRecord],
    files: &[MountFiles],
    detached: &[DetachedSource],
    chunk: PageRunSink<'_>,
) -> Result<(), String> {
    let stored = |m: &MountFiles| {
        m.entries
            .iter()
            .any(|e| matches!(e.kind, FileKindRecord::Stored { .. }))
    };
    if !files.iter().any(stored) {
        return Ok(());
    }
    let pidfd = sys(434, [pid, 0, 0, 0, 0, 0])
        .map_err(|e| format!("cannot reach the box's mounts: {e}"))?;
    let mut buf = alloc::vec![0u8; 1 << 20];
    let mut result = Ok(());
    for m in files.iter().filter(|m| stored(m)) {
        let Some(root) = mount_root(pidfd, handles, m.mount) else {
            result = Err(format!("cannot reach the box's mount {}", m.mount));
            break;
        };
        for (index, e) in m.entries.iter().enumerate() {
            if let FileKindRecord::Stored { size, base } = e.kind {
                let path = path_of(m, index);
                let opened = if e.parent == DETACHED {
                    detached
                        .iter()
                        .find(|d| (d.mount, d.entry) == (m.mount, index as u32))
                        .map_or(Err(Errno::ENOENT), DetachedSource::open)
                } else {
                    open_beneath(root, &path)
                };
                result = opened
                    .map_err(|e| format!("{e}"))
                    .and_then(|fd| {
                        let r = write_one_stored(fd, (size, base), &mut buf, chunk);
                        close(fd);
                        r
                    })
                    .map_err(|e| {
                        format!(
                            "cannot read the box's file {}: {e}",
                            String::from_utf8_lossy(&path)
                        )
                    });
                if result.is_err() {
                    break;
                }
            }
        }
        close(root);
        if result.is_err() {
            break;
        }
    }
    close(pidfd);
    result
}

/// File `path` beneath mount root `root`, read-only, reached by no link.
fn open_beneath(root: u64, path: &[u8]) -> Result<u64, Errno> {
    // struct open_how: O_RDONLY | O_NOFOLLOW | O_CLOEXEC, beneath the mount, no link.
    let how: [u64; 3] = [O_NOFOLLOW | O_CLOEXEC, 0, 0x08 | 0x04 | 0x02];
    let c = hostio::c_str(path);
    sys(
        437,
        [root, c.as_ptr() as u64, how.as_ptr() as u64, 24, 0, 0],
    )
}

/// The non-zero pages of stored file `fd`, of `size` bytes from `base`, read in pieces of
/// `buf`, each run given to `chunk`.
fn write_one_stored(
    fd: u64,
    (size, base): (u64, u64),
    buf: &mut [u8],
    chunk: PageRunSink<'_>,
) -> Result<(), String> {
    const SEEK_DATA: u64 = 3;
    const SEEK_HOLE: u64 = 4;
    let mut result = Ok(());
    let mut at = 0u64;
    // Only where the file has data (a sparse file's holes are not read through).
    let mut data_end = 0u64;
    while at < size && result.is_ok() {
        if at >= data_end {
            let Ok(data) = sys(8, [fd, at, SEEK_DATA, 0, 0, 0]) else {
                break; // ENXIO: no data past `at`
            };
            data_end = sys(8, [fd, data, SEEK_HOLE, 0, 0, 0]).unwrap_or(size);
            at = data & !4095;
        }
        let want = (size - at).min(data_end - at).min(buf.len() as u64);
        let got = match sys(17, [fd, buf.as_mut_ptr() as u64, want, at, 0, 0]) {
            Ok(0) => break,
            Ok(n) => n as usize,
            Err(e) => {
                result = Err(format!("{e}"));
                break;
            }
        };
        // Whole pages, the last one padded with zeros; runs of non-zero ones.
        let padded = got.div_ceil(4096) * 4096;
        buf[got..padded].fill(0);
        let zero = |p: usize| buf[p..p + 4096].iter().all(|b| *b == 0);
        let mut page = 0;
        while page < padded && result.is_ok() {
            if zero(page) {
                page += 4096;
                continue;
            }
            let mut end = page;
            while end < padded && !zero(end) {
                end += 4096;
            }
            result = chunk(base + at + page as u64, &buf[page..end]);
            page = end;
        }
        at += got as u64;
    }
    result
}
