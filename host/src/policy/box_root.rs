//! The box's file system as the kernel holds it: a mount namespace whose only attached file
//! system is the box's own small tmpfs (its root directory, which is also the socket root),
//! with every declared mount held as a **detached** mount the box reaches only through its
//! root descriptor.
//!
//! Landlock does not mediate chmod, chown, utimes, stat, access, readlink or `O_PATH` opens, so
//! confinement cannot rest on it: what a box must not touch must not be in its mount tree at
//! all. After [`enter`]:
//! - the host's root is detached (`pivot_root` then `umount2(MNT_DETACH)`): no path, absolute
//!   or relative, names a host object, and `..` stops at the box's root;
//! - each `--bind`/`--ro-bind` is a recursive clone of the source (`open_tree`), made
//!   `nodev,nosuid` and, for `--ro-bind`, read-only **by the kernel** (`mount_setattr` with
//!   `AT_RECURSIVE`); it is attached nowhere, so `..` at its root stays at its root;
//! - each `--tmpfs` (and the box's `/dev/shm` and `/tmp`, mode 1777) is a fresh tmpfs with a
//!   size, mode 0700, owned
//!   by the box's user: the kernel frees it when the box's last process closes it, however
//!   deep the tree, even if the monitor is killed; no other host user can reach it;
//! - the program file, when the box's user owns it, is reopened through a read-only detached
//!   clone of itself, so the descriptor the runtime holds cannot change it (`fchmod`,
//!   `futimens` give `EROFS`); a box started by root owns no host file.
//!
//! A box started by root then becomes a host user of its own ([`BoxUser`]): it never holds
//! host-root ownership. Its writable binds are *idmapped* so that what the box owns there is
//! what root owns on the host (files it creates are root's, as with bubblewrap run by root),
//! while everything outside its mounts belongs to somebody else.

use crate::gate;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const AT_FDCWD: u64 = -100i64 as u64;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_RECURSIVE: u64 = 0x8000;
const OPEN_TREE_CLONE: u64 = 1;
const OPEN_TREE_CLOEXEC: u64 = 0o2000000;
const O_RDONLY: u64 = 0;
const O_WRONLY: u64 = 1;
const O_CLOEXEC: u64 = 0o2000000;
const O_PATH: u64 = 0o10000000;
const O_DIRECTORY: u64 = 0o200000;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
const MOUNT_ATTR_IDMAP: u64 = 0x10_0000;
const MS_PRIVATE: u64 = 1 << 18;
const MS_REC: u64 = 16384;
const MNT_DETACH: u64 = 2;
const MOVE_MOUNT_F_EMPTY_PATH: u64 = 4;
const FSOPEN_CLOEXEC: u64 = 1;
const FSMOUNT_CLOEXEC: u64 = 1;
const FSCONFIG_SET_STRING: u64 = 1;
const FSCONFIG_CMD_CREATE: u64 = 6;
const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWNS: u64 = 0x0002_0000;
const SIGCHLD: u64 = 17;

mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const CLOSE: u64 = 3;
    pub const PIPE2: u64 = 293;
    pub const FSTAT: u64 = 5;
    pub const CLONE: u64 = 56;
    pub const EXIT: u64 = 60;
    pub const WAIT4: u64 = 61;
    pub const CHDIR: u64 = 80;
    pub const FCHDIR: u64 = 81;
    pub const PIVOT_ROOT: u64 = 155;
    pub const MOUNT: u64 = 165;
    pub const UMOUNT2: u64 = 166;
    pub const OPENAT: u64 = 257;
    pub const SETRESUID: u64 = 117;
    pub const SETRESGID: u64 = 119;
    pub const SETGROUPS: u64 = 116;
    pub const OPEN_TREE: u64 = 428;
    pub const MOVE_MOUNT: u64 = 429;
    pub const FSOPEN: u64 = 430;
    pub const FSCONFIG: u64 = 431;
    pub const FSMOUNT: u64 = 432;
    pub const MOUNT_SETATTR: u64 = 442;
    pub const UNSHARE: u64 = 272;
}

fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

fn c_str(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

/// An `O_PATH` descriptor of the directory at the NUL-terminated `path`.
fn open_directory<T>(path: *const T) -> Result<u64, Errno> {
    sys(
        nr::OPENAT,
        [
            AT_FDCWD,
            path as u64,
            O_PATH | O_DIRECTORY | O_CLOEXEC,
            0,
            0,
            0,
        ],
    )
}

fn close(fd: u64) {
    let _ = sys(nr::CLOSE, [fd, 0, 0, 0, 0, 0]);
}

/// Bytes of the tmpfs that is the box's root (and socket root): sockets and notes only.
const ROOT_TMPFS_SIZE: u64 = 4 << 20;
/// Inodes of the box's root tmpfs (one socket or note each).
const ROOT_TMPFS_INODES: u64 = 65536;

/// The host identity a box runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoxUser {
    /// Host uid of the box's processes.
    pub uid: u32,
    /// Host gid of the box's processes.
    pub gid: u32,
    /// Whether the box must switch to it (started by root) or already is it (started by an
    /// ordinary user, whose own uid it keeps inside a user namespace).
    pub switch: bool,
}

/// First host uid (and gid) of boxes started by root; each box takes one at random from
/// `BOX_IDS_START..BOX_IDS_START + BOX_IDS_COUNT`, a range systemd leaves unused
/// (0x70000000–0x7fffffff), so that no host account and no other box shares it.
pub const BOX_IDS_START: u32 = 0x7000_0000;
/// How many ids the range has.
pub const BOX_IDS_COUNT: u32 = 0x0fff_fffe;

impl BoxUser {
    /// The identity for a box started by `(uid, gid)`, with `random` bits to choose an id.
    /// Only the host's real root switches: root inside a user namespace (a rootless
    /// container) is already an ordinary host user, and the box's range is not mapped there.
    pub fn for_caller(uid: u32, gid: u32, random: u32) -> BoxUser {
        if uid == 0 && in_initial_user_namespace() {
            let id = BOX_IDS_START + random % BOX_IDS_COUNT;
            BoxUser {
                uid: id,
                gid: id,
                switch: true,
            }
        } else {
            BoxUser {
                uid,
                gid,
                switch: false,
            }
        }
    }

    /// In the box's first process, after [`enter`]: becomes the box's user. Without
    /// capabilities afterwards (the kernel clears them when every uid leaves 0).
    pub fn become_it(&self) -> Result<(), Errno> {
        if !self.switch {
            return Ok(());
        }
        let (u, g) = (u64::from(self.uid), u64::from(self.gid));
        sys(nr::SETGROUPS, [0, 0, 0, 0, 0, 0])?;
        sys(nr::SETRESGID, [g, g, g, 0, 0, 0])?;
        sys(nr::SETRESUID, [u, u, u, 0, 0, 0])?;
        Ok(())
    }
}

/// Whether this process's user namespace is the host's own (its uid map is the identity over
/// every id).
fn in_initial_user_namespace() -> bool {
    let path = c"/proc/self/uid_map";
    let Ok(fd) = sys(
        nr::OPENAT,
        [
            AT_FDCWD,
            path.as_ptr() as u64,
            O_RDONLY | O_CLOEXEC,
            0,
            0,
            0,
        ],
    ) else {
        return true; // no /proc: nothing says otherwise
    };
    let mut buf = [0u8; 128];
    let n = sys(nr::READ, [fd, buf.as_mut_ptr() as u64, 128, 0, 0, 0]).unwrap_or(0) as usize;
    close(fd);
    let mut fields = buf[..n.min(128)]
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let line: [Option<&[u8]>; 4] = core::array::from_fn(|_| fields.next());
    let identity: [Option<&[u8]>; 4] = [Some(b"0"), Some(b"0"), Some(b"4294967295"), None];
    line == identity
}

/// A user namespace mapping id 0 to the box's user, to idmap the writable binds of a box
/// started by root. Made by a short-lived child (a process cannot write a privileged mapping
/// for its own namespace), in the monitor, before the box's pid namespace exists, so that the
/// child's pid names it in `/proc`. Returns the namespace's descriptor.
pub fn idmap_namespace(user: BoxUser) -> Result<u64, String> {
    let fail = |what: &str, e: Errno| format!("cannot make the id mapping for --bind: {what}: {e}");
    let mut pipe = [0i32; 2];
    sys(nr::PIPE2, [pipe.as_mut_ptr() as u64, O_CLOEXEC, 0, 0, 0, 0])
        .map_err(|e| fail("pipe", e))?;
    let (read_end, write_end) = (pipe[0] as u64, pipe[1] as u64);
    // A fork into a new user namespace: the child waits for the pipe to close, then exits.
    let child = match sys(nr::CLONE, [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, 0]) {
        Ok(0) => {
            close(write_end);
            let mut b = [0u8; 1];
            let _ = sys(nr::READ, [read_end, b.as_mut_ptr() as u64, 1, 0, 0, 0]);
            loop {
                let _ = sys(nr::EXIT, [0; 6]);
            }
        }
        Ok(pid) => pid,
        Err(e) => {
            close(read_end);
            close(write_end);
            return Err(fail("user namespace", e));
        }
    };
    close(read_end);
    // 0 is the box's user; every other id below it stays itself, so that files of other
    // users show their owners (and stay theirs).
    let map = format!("0 {0} 1\n1 1 {1}\n", user.uid, user.uid - 1);
    let gmap = format!("0 {0} 1\n1 1 {1}\n", user.gid, user.gid - 1);
    let result = (|| {
        write_file(format!("/proc/{child}/uid_map").as_bytes(), map.as_bytes())
            .map_err(|e| fail("uid_map", e))?;
        write_file(format!("/proc/{child}/gid_map").as_bytes(), gmap.as_bytes())
            .map_err(|e| fail("gid_map", e))?;
        let path = c_str(format!("/proc/{child}/ns/user").as_bytes());
        sys(
            nr::OPENAT,
            [
                AT_FDCWD,
                path.as_ptr() as u64,
                O_RDONLY | O_CLOEXEC,
                0,
                0,
                0,
            ],
        )
        .map_err(|e| fail("namespace", e))
    })();
    close(write_end);
    let mut status = 0u32;
    while sys(nr::WAIT4, [child, &raw mut status as u64, 0, 0, 0, 0]) == Err(Errno::EINTR) {}
    result
}

fn write_file(path: &[u8], text: &[u8]) -> Result<(), Errno> {
    let p = c_str(path);
    let fd = sys(
        nr::OPENAT,
        [AT_FDCWD, p.as_ptr() as u64, O_WRONLY | O_CLOEXEC, 0, 0, 0],
    )?;
    let r = sys(
        nr::WRITE,
        [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0],
    );
    close(fd);
    r.map(|_| ())
}

/// One mount the box is to have.
pub enum Source<'a> {
    /// A host file or directory, shown read-only or writable.
    Bind {
        /// The host path.
        path: &'a [u8],
        /// Whether the box may change it.
        writable: bool,
    },
    /// A fresh tmpfs of at most this many bytes.
    Tmpfs {
        /// Size in bytes.
        size: u64,
        /// Mode 1777 (everyone's, sticky: `/tmp`, `/dev/shm`) rather than 0700.
        shared: bool,
    },
}

/// Why a mount could not be made: which step, and the kernel's answer.
pub struct MountError {
    /// What failed, in words a user can act on.
    pub what: String,
    /// The kernel's error.
    pub errno: Errno,
}

fn mount_attr(fd: u64, set: u64, recursive: bool, userns: Option<u64>) -> Result<(), Errno> {
    // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
    let attr: [u64; 4] = [
        set,
        0,
        if userns.is_some() { 0 } else { MS_PRIVATE },
        userns.unwrap_or(0),
    ];
    let flags = AT_EMPTY_PATH | if recursive { AT_RECURSIVE } else { 0 };
    sys(
        nr::MOUNT_SETATTR,
        [fd, c"".as_ptr() as u64, flags, attr.as_ptr() as u64, 32, 0],
    )
    .map(|_| ())
}

/// Makes one detached mount; returns its root (a directory, or for a bind of a file the file)
/// as a descriptor.
/// `idmap` is the namespace from [`idmap_namespace`] for the writable binds of a box started
/// by root.
pub fn make_mount(
    source: &Source<'_>,
    user: BoxUser,
    idmap: Option<u64>,
) -> Result<u64, MountError> {
    match source {
        Source::Bind { path, writable } => {
            let p = c_str(path);
            let fd = sys(
                nr::OPEN_TREE,
                [
                    AT_FDCWD,
                    p.as_ptr() as u64,
                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE,
                    0,
                    0,
                    0,
                ],
            )
            .map_err(|errno| MountError {
                what: String::new(),
                errno,
            })?;
            let fail = |what: &str, errno: Errno| {
                close(fd);
                MountError {
                    what: what.into(),
                    errno,
                }
            };
            let ro = if *writable { 0 } else { MOUNT_ATTR_RDONLY };
            mount_attr(fd, ro | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, true, None)
                .map_err(|e| fail("cannot make the mount read-only, nodev and nosuid", e))?;
            if let (true, Some(ns)) = (*writable, idmap) {
                mount_attr(fd, MOUNT_ATTR_IDMAP, false, Some(ns)).map_err(|e| {
                    fail(
                        "its file system cannot be idmapped, which a box started by root needs \
                         to write there as root without being host root (ext4, xfs, btrfs and \
                         tmpfs can; or run picobox as an ordinary user)",
                        e,
                    )
                })?;
            }
            Ok(fd)
        }
        Source::Tmpfs { size, shared } => {
            let mode = if *shared { "1777" } else { "0700" };
            tmpfs(*size, *size / 4096 + 1024, user, mode)
        }
    }
}

/// Whether `fd` is a directory.
pub fn is_directory(fd: u64) -> bool {
    let mut st = [0u64; 18];
    sys(nr::FSTAT, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok()
        && (st[3] & 0o170000) == 0o040000
}

/// A fresh, detached instance of file system `fstype` with `options` (NUL-terminated keys),
/// mounted with the attributes `attrs`; errors name `fstype` and the step that failed.
fn fresh_mount(
    fstype: &core::ffi::CStr,
    options: &[(&[u8], String)],
    attrs: u64,
) -> Result<u64, MountError> {
    let name = fstype.to_string_lossy().into_owned();
    let fail = |what: &'static str| {
        let name = name.clone();
        move |errno| MountError {
            what: format!("{name}: {what}"),
            errno,
        }
    };
    let fs = sys(
        nr::FSOPEN,
        [fstype.as_ptr() as u64, FSOPEN_CLOEXEC, 0, 0, 0, 0],
    )
    .map_err(fail("fsopen"))?;
    let configured = options.iter().try_for_each(|(key, value)| {
        let v = c_str(value.as_bytes());
        sys(
            nr::FSCONFIG,
            [
                fs,
                FSCONFIG_SET_STRING,
                key.as_ptr() as u64,
                v.as_ptr() as u64,
                0,
                0,
            ],
        )
        .map(|_| ())
    });
    let made = configured
        .and_then(|()| sys(nr::FSCONFIG, [fs, FSCONFIG_CMD_CREATE, 0, 0, 0, 0]))
        .and_then(|_| sys(nr::FSMOUNT, [fs, FSMOUNT_CLOEXEC, attrs, 0, 0, 0]));
    close(fs);
    made.map_err(fail("create"))
}

/// A fresh detached tmpfs with `mode`, owned by the box's user.
fn tmpfs(size: u64, inodes: u64, user: BoxUser, mode: &str) -> Result<u64, MountError> {
    let options = [
        (&b"size\0"[..], format!("{size}")),
        (b"nr_inodes\0", format!("{inodes}")),
        (b"mode\0", String::from(mode)),
        (b"uid\0", format!("{}", user.uid)),
        (b"gid\0", format!("{}", user.gid)),
    ];
    fresh_mount(c"tmpfs", &options, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)
}

/// A fresh, detached devpts instance for the box's `/dev/pts`: pseudo-terminals of the box's
/// own, which no process outside sees (each devpts mount is a new instance), with a `ptmx`
/// anyone in the box may open. Not `nodev`: its terminals are device nodes; `nosuid`, `noexec`.
pub fn devpts() -> Result<u64, MountError> {
    let options = [
        (&b"ptmxmode\0"[..], String::from("0666")),
        (b"mode\0", String::from("0620")),
    ];
    fresh_mount(c"devpts", &options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)
}

/// The POSIX message queue file system of the calling process's IPC namespace (the box's own),
/// as a detached mount: Landlock's rules name files by their place in a mount, and queues
/// live in this file system, which the box never sees as a path.
pub fn mqueue() -> Result<u64, MountError> {
    fresh_mount(
        c"mqueue",
        &[],
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    )
}

/// Where the box's root is attached for the moment of `pivot_root`: a directory every Linux
/// system has, in the box's private copy of the mount tree (the host never sees it).
const PIVOT_POINT: &core::ffi::CStr = c"/proc";

fn step(what: &'static str) -> impl Fn(Errno) -> MountError {
    move |errno| MountError {
        what: what.into(),
        errno,
    }
}

/// In the box's first process, first of all: a mount namespace of its own (a private copy of
/// the host's tree, where it may make mounts), from which nothing propagates to the host.
pub fn unshare_mounts() -> Result<(), MountError> {
    sys(nr::UNSHARE, [CLONE_NEWNS, 0, 0, 0, 0, 0]).map_err(step("unshare(CLONE_NEWNS)"))?;
    sys(
        nr::MOUNT,
        [0, c"/".as_ptr() as u64, 0, MS_REC | MS_PRIVATE, 0, 0],
    )
    .map_err(step("make the mount tree private"))?;
    Ok(())
}

/// In the box's first process, once its detached mounts are made (after [`unshare_mounts`]):
/// makes a fresh tmpfs (the socket root: mode 0700, owned by the box's user) the root of the
/// box's mount namespace and detaches the host's root. Returns the root as an `O_PATH`
/// descriptor.
pub fn enter(user: BoxUser) -> Result<u64, MountError> {
    let root = tmpfs(ROOT_TMPFS_SIZE, ROOT_TMPFS_INODES, user, "0700")?;
    sys(
        nr::MOVE_MOUNT,
        [
            root,
            c"".as_ptr() as u64,
            AT_FDCWD,
            PIVOT_POINT.as_ptr() as u64,
            MOVE_MOUNT_F_EMPTY_PATH,
            0,
        ],
    )
    .map_err(step("attach the box's root"))?;
    sys(nr::FCHDIR, [root, 0, 0, 0, 0, 0]).map_err(step("enter the box's root"))?;
    // pivot_root(".", "."): the box's root becomes the root, the host's is stacked on it...
    sys(
        nr::PIVOT_ROOT,
        [c".".as_ptr() as u64, c".".as_ptr() as u64, 0, 0, 0, 0],
    )
    .map_err(step("pivot_root"))?;
    // ...and is detached, with every mount beneath it.
    sys(nr::UMOUNT2, [c".".as_ptr() as u64, MNT_DETACH, 0, 0, 0, 0])
        .map_err(step("detach the host's root"))?;
    sys(nr::CHDIR, [c"/".as_ptr() as u64, 0, 0, 0, 0, 0]).map_err(step("chdir"))?;
    close(root);
    let p = c"/";
    open_directory(p.as_ptr()).map_err(step("open the box's root"))
}

/// What [`place_entry`] puts in the box's root for one path of the box that is not a
/// directory mount of its own.
pub enum Entry<'a> {
    /// A detached mount of a host file (from [`make_mount`]), mounted on an empty file.
    MountedFile(u64),
    /// A symbolic link with this target.
    Symlink(&'a [u8]),
    /// An empty directory.
    Dir,
    /// A directory holding these entries (relative paths, parents first).
    Populated(Vec<(&'a [u8], Leaf<'a>)>),
}

/// One entry of an [`Entry::Populated`] directory.
pub enum Leaf<'a> {
    /// A read-only file with these bytes.
    File(&'a [u8]),
    /// A symbolic link with this target.
    Link(&'a [u8]),
    /// A detached mount (from [`make_mount`]) of a host file or directory.
    Mounted(u64),
}

/// Where the entries live in the box's root: a directory of their own, one subdirectory each.
const ENTRIES: &core::ffi::CStr = c"/.entries";
/// The name of the entry inside its directory (none for [`Entry::Dir`] and
/// [`Entry::Populated`], which are the directory itself).
pub const ENTRY_NAME: &[u8] = b"e";

const MKDIRAT: u64 = 258;
const SYMLINKAT: u64 = 266;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;

/// Makes the file `path` (absolute, in the box's root) with `mode`, holding `text`.
fn make_file(path: &[u8], mode: u64, text: &[u8]) -> Result<(), Errno> {
    let p = c_str(path);
    let fd = sys(
        nr::OPENAT,
        [
            AT_FDCWD,
            p.as_ptr() as u64,
            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
            mode,
            0,
            0,
        ],
    )?;
    let mut done = 0;
    while done < text.len() {
        match sys(
            nr::WRITE,
            [
                fd,
                text[done..].as_ptr() as u64,
                (text.len() - done) as u64,
                0,
                0,
                0,
            ],
        ) {
            Ok(n) => done += n as usize,
            Err(Errno::EINTR) => {}
            Err(e) => {
                close(fd);
                return Err(e);
            }
        }
    }
    close(fd);
    Ok(())
}

/// Mounts the detached mount `fd` at `path` (absolute, in the box's root), on a directory
/// or an empty file made for it; closes `fd`.
fn mount_at(fd: u64, path: &[u8]) -> Result<(), Errno> {
    let p = c_str(path);
    let made = if is_directory(fd) {
        sys(MKDIRAT, [AT_FDCWD, p.as_ptr() as u64, 0o755, 0, 0, 0]).map(|_| ())
    } else {
        make_file(path, 0o444, b"")
    };
    let moved = made.and_then(|()| {
        sys(
            nr::MOVE_MOUNT,
            [
                fd,
                c"".as_ptr() as u64,
                AT_FDCWD,
                p.as_ptr() as u64,
                MOVE_MOUNT_F_EMPTY_PATH,
                0,
            ],
        )
    });
    close(fd);
    moved.map(|_| ())
}

/// The entries made in the box's root (after [`enter`], before the box's user is taken),
/// owned by the caller: a box started by root cannot change them. Links and read-only mounted
/// files share one directory (one name each); a writable file, and each directory picobox makes
/// or fills, has a directory of its own.
#[derive(Default)]
pub struct Entries {
    /// The shared directory, once made: its `O_PATH` descriptor.
    shared: Option<u64>,
}

const SHARED: &[u8] = b"/.entries/shared";

impl Entries {
    /// Makes entry number `index`; returns an `O_PATH` descriptor of the directory that holds
    /// it, and its name there (none when the directory is the entry).
    pub fn place(
        &mut self,
        index: usize,
        entry: Entry<'_>,
        writable: bool,
    ) -> Result<(u64, Option<Vec<u8>>), MountError> {
        if self.shared.is_none() {
            match sys(MKDIRAT, [AT_FDCWD, ENTRIES.as_ptr() as u64, 0o755, 0, 0, 0]) {
                Ok(_) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(step("make the box's entries")(e)),
            }
        }
        let single = matches!(entry, Entry::Symlink(_))
            || (matches!(entry, Entry::MountedFile(_)) && !writable);
        if !single {
            let name = (!entry_kind_is_dir(&entry)).then(|| ENTRY_NAME.to_vec());
            return place_entry(index, entry).map(|fd| (fd, name));
        }
        let shared = match self.shared {
            Some(fd) => fd,
            None => {
                let p = c_str(SHARED);
                sys(MKDIRAT, [AT_FDCWD, p.as_ptr() as u64, 0o755, 0, 0, 0])
                    .map_err(step("make the box's shared entries"))?;
                let fd =
                    open_directory(p.as_ptr()).map_err(step("open the box's shared entries"))?;
                self.shared = Some(fd);
                fd
            }
        };
        let name = format!("{index}").into_bytes();
        let mut path = SHARED.to_vec();
        path.push(b'/');
        path.extend_from_slice(&name);
        match entry {
            Entry::MountedFile(fd) => mount_at(fd, &path).map_err(step("mount a file"))?,
            Entry::Symlink(target) => make_link(target, &path)?,
            _ => {}
        }
        Ok((shared, Some(name)))
    }
}

fn entry_kind_is_dir(entry: &Entry<'_>) -> bool {
    matches!(entry, Entry::Dir | Entry::Populated(_))
}

fn make_link(target: &[u8], path: &[u8]) -> Result<(), MountError> {
    let (t, n) = (c_str(target), c_str(path));
    sys(
        SYMLINKAT,
        [t.as_ptr() as u64, AT_FDCWD, n.as_ptr() as u64, 0, 0, 0],
    )
    .map(|_| ())
    .map_err(step("make a symbolic link"))
}

/// Makes entry number `index` in a directory of its own; returns the directory's `O_PATH`
/// descriptor (the entry is the directory itself, or [`ENTRY_NAME`] in it).
fn place_entry(index: usize, entry: Entry<'_>) -> Result<u64, MountError> {
    let dir = format!("/.entries/{index}");
    let dir_c = c_str(dir.as_bytes());
    sys(MKDIRAT, [AT_FDCWD, dir_c.as_ptr() as u64, 0o755, 0, 0, 0])
        .map_err(step("make an entry's directory"))?;
    let name = format!("{dir}/{}", String::from_utf8_lossy(ENTRY_NAME)).into_bytes();
    match entry {
        Entry::MountedFile(fd) => mount_at(fd, &name).map_err(step("mount a file"))?,
        Entry::Symlink(target) => make_link(target, &name)?,
        Entry::Dir => {}
        Entry::Populated(leaves) => {
            for (rel, leaf) in leaves {
                let mut path = dir.as_bytes().to_vec();
                // Parents first: make the directories a nested name needs.
                for part in rel.split(|b| *b == b'/') {
                    if path.len() > dir.len() {
                        let parent = c_str(&path);
                        let _ = sys(MKDIRAT, [AT_FDCWD, parent.as_ptr() as u64, 0o755, 0, 0, 0]);
                    }
                    path.push(b'/');
                    path.extend_from_slice(part);
                }
                match leaf {
                    Leaf::File(text) => {
                        make_file(&path, 0o444, text).map_err(step("copy a file"))?
                    }
                    Leaf::Link(target) => make_link(target, &path)?,
                    Leaf::Mounted(fd) => mount_at(fd, &path).map_err(step("mount"))?,
                }
            }
        }
    }
    open_directory(dir_c.as_ptr()).map_err(step("open an entry's directory"))
}
