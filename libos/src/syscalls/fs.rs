//! Files and directories: open/close, read/write, stat, directories, links, permissions.

use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::path::{self, Components};
use crate::procfs::{self, Proc};
use crate::user;
use crate::vfs::{DevNode, Node};

use alloc::sync::Arc;
use alloc::vec::Vec;
use picobox_abi::{
    DirEntry, Errno, FileAttr, FileKind, Handle, IoBuf, LinkTarget, LockRequest, OpenFlags,
    RangeLock, Result, StreamQuery, StreamSetting, TerminalChange, TerminalQuestion, TimesChange,
    Timespec, Whence,
};

/// `AT_FDCWD`.
pub(super) const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
const AT_REMOVEDIR: u32 = 0x200;
const AT_EMPTY_PATH: u32 = 0x1000;
/// `O_ASYNC`: for a host stream, the host signals the owner (`F_SETOWN`) when it is ready.
const O_ASYNC: u32 = 0o20000;
/// Linux caps one read or write at this many bytes.
const MAX_RW_COUNT: usize = 0x7fff_f000;
/// Most entries of one `readv`/`writev` (`UIO_MAXIOV`).
pub(super) const UIO_MAXIOV: u64 = 1024;

// ------------------------------------------------------------------ helpers

/// The directory a `*at` call starts from.
pub(super) fn base_dir(k: &Kernel, dirfd: u64, path: &[u8]) -> Result<Components> {
    if path.first() == Some(&b'/') || int_arg(dirfd) == AT_FDCWD {
        return Ok(k.cwd.clone());
    }
    let file = k.fds.file(fd_arg(dirfd)?)?;
    let directory = match &file.object {
        FileObject::SyntheticDir | FileObject::MemoryDir(_) => true,
        // Opened by a path: if that is not a directory, the host meets the file on the way
        // and says ENOTDIR.
        FileObject::Host(_) if !file.path.is_empty() => true,
        // A pipe, socket or inherited descriptor has no path to start from.
        FileObject::Host(h) => host().stream_attr(h.0)?.kind == FileKind::Directory,
        _ => false,
    };
    if !directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(file.path.clone())
}

/// The device number of what the library OS makes up (its directories and devices).
const VIRTUAL_DEV: u64 = 0x7062;

/// Attributes of a synthetic directory or a virtual device.
pub(super) fn virtual_attr(kind: FileKind, perm: u32, rdev: u64, ino: u64) -> FileAttr {
    let zero = Timespec::default();
    FileAttr {
        kind,
        perm,
        size: 0,
        blocks: 0,
        block_size: 4096,
        nlink: if kind == FileKind::Directory { 2 } else { 1 },
        uid: 0,
        gid: 0,
        dev: VIRTUAL_DEV,
        ino,
        rdev,
        atime: zero,
        mtime: zero,
        ctime: zero,
    }
}

fn path_ino(p: &Components) -> u64 {
    // FNV-1a of the path: stable, distinct enough for synthetic directories.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in p {
        for b in c.iter().chain(b"/") {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

pub(super) fn node_attr(
    k: &Kernel,
    node: &Node,
    comps: &Components,
    follow: bool,
) -> Result<FileAttr> {
    match node {
        Node::Host { root, rel, .. } => host().stream_attr_at(*root, rel, follow),
        Node::Dev(d) => Ok(virtual_attr(
            FileKind::CharDevice,
            0o666,
            d.rdev(),
            d.rdev(),
        )),
        Node::Synthetic => Ok(virtual_attr(FileKind::Directory, 0o755, 0, path_ino(comps))),
        Node::Proc(p) => Ok(match procfs::render(k, p)? {
            Proc::File(data) => {
                let mut a = virtual_attr(FileKind::Regular, 0o444, 0, path_ino(comps));
                a.size = data.len() as u64;
                a
            }
            Proc::PageMap => virtual_attr(FileKind::Regular, 0o400, 0, path_ino(comps)),
            Proc::Dir(_) => virtual_attr(FileKind::Directory, 0o555, 0, path_ino(comps)),
            Proc::Link(target) if follow => {
                // /proc/self points at the process's directory; other links at box paths.
                if target.iter().all(u8::is_ascii_digit) {
                    virtual_attr(FileKind::Directory, 0o555, 0, path_ino(comps))
                } else {
                    k.vfs.lookup(&k.cwd, &target, true, |n, c| match n {
                        Node::Proc(_) => Err(Errno::ELOOP),
                        n => node_attr(k, n, c, true),
                    })?
                }
            }
            Proc::Namespace(ns) if follow => ns.attr(),
            Proc::Link(_) | Proc::Namespace(_) => {
                virtual_attr(FileKind::Symlink, 0o777, 0, path_ino(comps))
            }
        }),
    }
}

pub(super) fn file_attr(file: &OpenFile) -> Result<FileAttr> {
    match &file.object {
        // A terminal opened as /dev/tty is that device node to fstat, as on Linux.
        FileObject::Host(_)
            if file.path.len() == 2 && file.path[0] == b"dev" && file.path[1] == b"tty" =>
        {
            let tty = DevNode::Tty.rdev();
            Ok(virtual_attr(FileKind::CharDevice, 0o666, tty, tty))
        }
        FileObject::Host(h) => host().stream_attr(h.0),
        FileObject::Dev(d) => Ok(virtual_attr(
            FileKind::CharDevice,
            0o666,
            d.rdev(),
            d.rdev(),
        )),
        FileObject::Epoll(_) | FileObject::Signal(_) => {
            Ok(virtual_attr(FileKind::Regular, 0o600, 0, 0))
        }
        FileObject::Memory(data, _) => {
            let mut a = virtual_attr(FileKind::Regular, 0o444, 0, path_ino(&file.path));
            a.size = data.len() as u64;
            Ok(a)
        }
        FileObject::PageMap(_) => Ok(virtual_attr(
            FileKind::Regular,
            0o400,
            0,
            path_ino(&file.path),
        )),
        FileObject::MemoryDir(_) => Ok(virtual_attr(
            FileKind::Directory,
            0o555,
            0,
            path_ino(&file.path),
        )),
        FileObject::SyntheticDir => Ok(virtual_attr(
            FileKind::Directory,
            0o755,
            0,
            path_ino(&file.path),
        )),
        FileObject::Namespace(ns) => Ok(ns.attr()),
    }
}

/// The host mount and relative path a modifying call acts on. Errors: `EROFS` for a read-only
/// mount or a virtual object, `EBUSY` for a mount point itself.
pub(super) fn writable_host(node: &Node) -> Result<(Handle, &[u8])> {
    match node {
        Node::Host {
            writable: false, ..
        }
        | Node::Dev(_) => Err(Errno::EROFS),
        Node::Host { rel, .. } if rel.is_empty() => Err(Errno::EBUSY),
        Node::Host { root, rel, .. } => Ok((*root, rel)),
        Node::Synthetic => Err(Errno::EROFS),
        Node::Proc(_) => Err(Errno::EACCES),
    }
}

fn kind_bits(kind: FileKind) -> u32 {
    match kind {
        FileKind::Regular => 0o100000,
        FileKind::Directory => 0o040000,
        FileKind::Symlink => 0o120000,
        FileKind::CharDevice => 0o020000,
        FileKind::BlockDevice => 0o060000,
        FileKind::Fifo => 0o010000,
        FileKind::Socket => 0o140000,
        FileKind::Anonymous => 0,
    }
}

fn dirent_type(kind: Option<FileKind>) -> u8 {
    match kind {
        None | Some(FileKind::Anonymous) => 0,
        Some(FileKind::Fifo) => 1,
        Some(FileKind::CharDevice) => 2,
        Some(FileKind::Directory) => 4,
        Some(FileKind::BlockDevice) => 6,
        Some(FileKind::Regular) => 8,
        Some(FileKind::Symlink) => 10,
        Some(FileKind::Socket) => 12,
    }
}

/// Encodes `struct stat` of x86-64 Linux (144 bytes).
fn encode_stat(a: &FileAttr) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &a.dev.to_le_bytes());
    put(8, &a.ino.to_le_bytes());
    put(16, &a.nlink.to_le_bytes());
    put(24, &(kind_bits(a.kind) | (a.perm & 0o7777)).to_le_bytes());
    put(28, &a.uid.to_le_bytes());
    put(32, &a.gid.to_le_bytes());
    put(40, &a.rdev.to_le_bytes());
    put(48, &a.size.to_le_bytes());
    put(56, &u64::from(a.block_size).to_le_bytes());
    put(64, &a.blocks.to_le_bytes());
    for (off, t) in [(72, a.atime), (88, a.mtime), (104, a.ctime)] {
        put(off, &t.sec.to_le_bytes());
        put(off + 8, &t.nsec.to_le_bytes());
    }
    b
}

/// Encodes `struct statx` (256 bytes) with the basic fields.
fn encode_statx(a: &FileAttr) -> [u8; 256] {
    let mut b = [0u8; 256];
    let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &0x7ffu32.to_le_bytes()); // STATX_BASIC_STATS
    put(4, &a.block_size.to_le_bytes());
    put(
        16,
        &u32::try_from(a.nlink).unwrap_or(u32::MAX).to_le_bytes(),
    );
    put(20, &a.uid.to_le_bytes());
    put(24, &a.gid.to_le_bytes());
    let mode = u16::try_from(kind_bits(a.kind) | (a.perm & 0o7777)).unwrap_or(0);
    put(28, &mode.to_le_bytes());
    put(32, &a.ino.to_le_bytes());
    put(40, &a.size.to_le_bytes());
    put(48, &a.blocks.to_le_bytes());
    for (off, t) in [(64, a.atime), (96, a.ctime), (112, a.mtime)] {
        put(off, &t.sec.to_le_bytes());
        put(off + 8, &u32::try_from(t.nsec).unwrap_or(0).to_le_bytes());
    }
    put(128, &dev_major(a.rdev).to_le_bytes());
    put(132, &dev_minor(a.rdev).to_le_bytes());
    put(136, &dev_major(a.dev).to_le_bytes());
    put(140, &dev_minor(a.dev).to_le_bytes());
    b
}

// ------------------------------------------------------------------ open and close

/// The flags of an `open` call: its low 32 bits, with an access mode Linux has.
fn open_flags(flags: u64) -> Result<u32> {
    let flags = u32::try_from(flags & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
    if flags & OpenFlags::ACCESS_MASK == 3 {
        return Err(Errno::EINVAL);
    }
    Ok(flags)
}

fn open_at(k: &mut Kernel, dirfd: u64, path_ptr: u64, flags: u64, mode: u64) -> Result<u64> {
    let flags = open_flags(flags)?;
    open_path(k, dirfd, user::read_path(path_ptr)?, flags, mode)
}

/// `openat2(dirfd, path, how, size)`: `struct open_how { flags, mode, resolve }`, checked
/// strictly (unknown flags, a mode without `O_CREAT`, unknown `RESOLVE_*` bits are `EINVAL`;
/// a larger struct must be zero beyond what is known, else `E2BIG`), and the `RESOLVE_*`
/// rules applied while the path is walked.
pub fn sys_openat2(a: &Args) -> Result<u64> {
    const OPEN_HOW_SIZE: u64 = 24;
    const VALID_OPEN_FLAGS: u64 = 0o3
        | 0o100
        | 0o200
        | 0o400
        | 0o1000
        | 0o2000
        | 0o4000
        | 0o4010000
        | 0o10000
        | 0o20000
        | 0o40000
        | 0o100000
        | 0o200000
        | 0o400000
        | 0o1000000
        | 0o2000000
        | 0o10000000
        | 0o20000000;
    const O_TMPFILE: u64 = 0o20000000;
    const O_PATH_ALLOWED: u64 = 0o200000 | 0o400000 | 0o2000000 | 0o10000000;
    const RESOLVE_NO_XDEV: u64 = 0x01;
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_NO_SYMLINKS: u64 = 0x04;
    const RESOLVE_BENEATH: u64 = 0x08;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    const RESOLVE_CACHED: u64 = 0x20;
    let size = a[3];
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let raw = user::read_bytes(a[2], size as usize)?;
    if raw[OPEN_HOW_SIZE as usize..].iter().any(|b| *b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    let (flags, mode, resolve) = (field(0), field(8), field(16));
    if flags & !VALID_OPEN_FLAGS != 0
        || flags & u64::from(OpenFlags::ACCESS_MASK) == 3
        || (flags & u64::from(OpenFlags::PATH) != 0 && flags & !O_PATH_ALLOWED != 0)
    {
        return Err(Errno::EINVAL);
    }
    let creates = flags & (u64::from(OpenFlags::CREATE) | O_TMPFILE) != 0;
    if mode & !0o7777 != 0 || (mode != 0 && !creates) {
        return Err(Errno::EINVAL);
    }
    if resolve & !0x3f != 0
        || resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) == RESOLVE_BENEATH | RESOLVE_IN_ROOT
    {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_CACHED != 0 && (creates || flags & u64::from(OpenFlags::TRUNCATE) != 0) {
        return Err(Errno::EAGAIN);
    }
    let flags = flags as u32;
    let path = user::read_path(a[1])?;
    let rules = crate::vfs::ResolveRules {
        no_xdev: resolve & RESOLVE_NO_XDEV != 0,
        no_magic_links: resolve & RESOLVE_NO_MAGICLINKS != 0,
        no_symlinks: resolve & RESOLVE_NO_SYMLINKS != 0,
        beneath: resolve & RESOLVE_BENEATH != 0,
        in_root: resolve & RESOLVE_IN_ROOT != 0,
    };
    if resolve & !RESOLVE_CACHED == 0 {
        return open_path_unlocked(a[0], path, flags, mode);
    }
    // The rules decide the walk; the file is then opened by the path the walk found. The
    // starting directory is the descriptor's even for an absolute path (RESOLVE_IN_ROOT).
    let found = crate::kernel::with(|k| {
        let base = base_dir(k, a[0], b"relative")?;
        let follow = flags & OpenFlags::NOFOLLOW == 0;
        k.vfs.resolve_restricted(&base, &path, follow, rules)
    })??;
    open_path_unlocked(AT_FDCWD as u64, path::join(&found), flags, mode)
}

/// Opens `/dev/tty`: the calling process's controlling terminal, found among its descriptors
/// (a terminal whose session is the caller's). One of the box's pseudo-terminals is opened
/// anew by its name; the terminal the box was started on, which has no name in the box, is
/// shared (a duplicate of the descriptor). `ENXIO` if the process has no controlling
/// terminal it holds a descriptor of, as Linux says for none.
fn open_controlling_terminal(k: &mut Kernel, flags: u32) -> Result<u64> {
    let session = host()
        .process_group(picobox_abi::GroupOp::GetSession { pid: 0 })
        .unwrap_or(0);
    let pts = [b"dev".to_vec(), b"pts".to_vec()];
    let found = k.fds.numbers().into_iter().find_map(|fd| {
        let file = k.fds.file(fd).ok()?;
        let h = file.handle()?;
        // A master's session is its peer's: never the master itself.
        let is_master = file.path.last().is_some_and(|c| c == b"ptmx");
        let named = file.path.len() == 3 && file.path.starts_with(&pts);
        if is_master || !(named || file.path.is_empty()) {
            return None;
        }
        let mut sid = [0u8; 4];
        host()
            .stream_query(
                h,
                StreamQuery::Terminal(TerminalQuestion::Session),
                &mut sid,
            )
            .ok()?;
        (u32::from_ne_bytes(sid) == session).then_some((fd, file))
    });
    let Some((fd, file)) = found else {
        return Err(Errno::ENXIO);
    };
    let cloexec = flags & OpenFlags::CLOEXEC != 0;
    if let Node::Host { root, rel, .. } = k.vfs.locate(&file.path)? {
        if !file.path.is_empty() {
            // A new open of the same terminal, named /dev/tty as on Linux.
            let host_flags = OpenFlags(flags & !OpenFlags::CLOEXEC);
            let h = host().stream_open(root, &rel, host_flags, 0)?;
            let tty = alloc::vec![b"dev".to_vec(), b"tty".to_vec()];
            let opened = OpenFile::new(
                FileObject::Host(HostHandle(h)),
                flags & !OpenFlags::CLOEXEC,
                tty,
            );
            return k.fds.insert(FdEntry {
                file: opened,
                cloexec,
            });
        }
    }
    k.fds.insert(FdEntry {
        file: k.fds.file(fd)?,
        cloexec,
    })
}

/// An open of a file of a host mount, looked up but not yet opened on the host: the host's
/// open may block (a FIFO waits for its other end), so it is made without the library OS's
/// lock ([`open_unlocked`]), and the descriptor installed with it again ([`Self::finish`]).
struct HostOpen {
    root: picobox_abi::Handle,
    rel: Vec<u8>,
    writable: bool,
    host_flags: OpenFlags,
    mode: u32,
    follow: bool,
    flags: u32,
    comps: Components,
    base: Components,
    path: Vec<u8>,
}

/// What a lookup for `open` came to: a descriptor, or a host file still to open.
enum Opened {
    Fd(u64),
    Host(HostOpen),
}

impl HostOpen {
    /// The host's open (may block; takes no lock).
    fn open_on_host(&self) -> Result<picobox_abi::Handle> {
        let creates = self.flags & OpenFlags::CREATE != 0;
        match host().stream_open(self.root, &self.rel, self.host_flags, self.mode) {
            Err(Errno::EACCES) if !self.writable && creates => {
                // Linux says EROFS when a read-only mount refuses to create.
                let exists = host()
                    .stream_attr_at(self.root, &self.rel, self.follow)
                    .is_ok();
                Err(if exists { Errno::EACCES } else { Errno::EROFS })
            }
            r => r,
        }
    }

    /// Installs the descriptor for the host's answer `opened`.
    fn finish(self, k: &mut Kernel, opened: Result<picobox_abi::Handle>) -> Result<u64> {
        let object = opened.map(|h| FileObject::Host(HostHandle(h)));
        install_opened(
            k,
            object.map(|o| (o, self.comps)),
            self.flags,
            &self.base,
            &self.path,
        )
    }
}

/// `open`, `openat` and `creat`, without the library OS's lock while the host opens the file.
fn open_unlocked(dirfd: u64, path_ptr: u64, flags: u64, mode: u64) -> Result<u64> {
    let flags = open_flags(flags)?;
    open_path_unlocked(dirfd, user::read_path(path_ptr)?, flags, mode)
}

/// Opens `path` as `openat` does, without the library OS's lock while the host opens it.
fn open_path_unlocked(dirfd: u64, path: Vec<u8>, flags: u32, mode: u64) -> Result<u64> {
    // The literal path first; if the host finds a link on it, resolved by the library OS.
    for literal_first in [true, false] {
        let looked_up = crate::kernel::with(|k| {
            open_path_or_defer(k, dirfd, path.clone(), flags, mode, literal_first)
        })??;
        match looked_up {
            Opened::Fd(fd) => return Ok(fd),
            Opened::Host(open) => match open.open_on_host() {
                Err(Errno::ELOOP) if literal_first => continue,
                opened => return crate::kernel::with(|k| open.finish(k, opened))?,
            },
        }
    }
    unreachable!("the second lookup resolves every link")
}

/// Opens `path` (relative to `dirfd` unless absolute) with `flags` as `openat` does, the
/// lock held all through (for calls whose open cannot wait: a new regular file, a terminal).
fn open_path(k: &mut Kernel, dirfd: u64, path: Vec<u8>, flags: u32, mode: u64) -> Result<u64> {
    for literal_first in [true, false] {
        match open_path_or_defer(k, dirfd, path.clone(), flags, mode, literal_first)? {
            Opened::Fd(fd) => return Ok(fd),
            Opened::Host(open) => match open.open_on_host() {
                Err(Errno::ELOOP) if literal_first => continue,
                opened => return open.finish(k, opened),
            },
        }
    }
    unreachable!("the second lookup resolves every link")
}

/// Installs the descriptor for what a lookup for `open` found (`Err` made `EROFS` where
/// Linux says so for a creation).
fn install_opened(
    k: &mut Kernel,
    looked_up: Result<(FileObject, Components)>,
    flags: u32,
    base: &Components,
    path: &[u8],
) -> Result<u64> {
    let creates = flags & OpenFlags::CREATE != 0;
    let (object, comps) = looked_up.map_err(|e| {
        if creates {
            creation_error(k, base, path, e)
        } else {
            e
        }
    })?;
    let file = OpenFile::new(
        object,
        flags
            & !(OpenFlags::CREATE
                | OpenFlags::EXCLUSIVE
                | OpenFlags::TRUNCATE
                | OpenFlags::CLOEXEC),
        comps,
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & OpenFlags::CLOEXEC != 0,
    })
}

fn open_path_or_defer(
    k: &mut Kernel,
    dirfd: u64,
    path: Vec<u8>,
    flags: u32,
    mode: u64,
    literal_first: bool,
) -> Result<Opened> {
    let access = flags & OpenFlags::ACCESS_MASK;
    let base = base_dir(k, dirfd, &path)?;
    let follow = flags & OpenFlags::NOFOLLOW == 0;
    let creates = flags & OpenFlags::CREATE != 0;
    let modifies = access != 0 || flags & OpenFlags::TRUNCATE != 0;
    let mode_arg = mode;
    let mode = (u32::try_from(mode & 0o7777).unwrap_or(0)) & !k.umask;
    let host_flags = OpenFlags(flags & !OpenFlags::CLOEXEC);
    let mut descriptor_link = None;
    let mut process_link = None;
    let mut on_host = None;
    let mut wants_controlling_terminal = false;
    let looked_up = k
        .vfs
        .lookup_with(&base, &path, follow, literal_first, |node, comps| {
            if let (Node::Proc(p), true) = (node, follow) {
                if let Some(fd) = own_descriptor_link(p) {
                    descriptor_link = Some(fd);
                    return Err(Errno::EAGAIN);
                }
            }
            let object = match node {
                Node::Host {
                    root,
                    rel,
                    writable,
                } => {
                    if !writable && modifies {
                        return Err(Errno::EROFS);
                    }
                    on_host = Some((*root, rel.clone(), *writable, comps.clone()));
                    return Err(Errno::EAGAIN);
                }
                Node::Dev(d) if flags & OpenFlags::DIRECTORY != 0 => {
                    let _ = d;
                    return Err(Errno::ENOTDIR);
                }
                Node::Dev(DevNode::Tty) => {
                    wants_controlling_terminal = true;
                    return Err(Errno::EAGAIN);
                }
                Node::Dev(d) => FileObject::Dev(*d),
                Node::Synthetic if modifies => return Err(Errno::EISDIR),
                Node::Synthetic if creates && flags & OpenFlags::EXCLUSIVE != 0 => {
                    return Err(Errno::EEXIST)
                }
                Node::Synthetic => FileObject::SyntheticDir,
                Node::Proc(_) if modifies => return Err(Errno::EACCES),
                Node::Proc(p) => match procfs::render(k, p)? {
                    Proc::File(data) => FileObject::Memory(data, spin::Mutex::new(0)),
                    Proc::PageMap => FileObject::PageMap(spin::Mutex::new(0)),
                    Proc::Dir(entries) => FileObject::MemoryDir(entries),
                    // `exe`, `cwd`, `root`: the file or directory the link names, opened by its
                    // path in the box.
                    Proc::Link(target) if follow && target.first() == Some(&b'/') => {
                        process_link = Some(target);
                        return Err(Errno::EAGAIN);
                    }
                    Proc::Namespace(ns) if follow => FileObject::Namespace(ns),
                    // Not following (O_NOFOLLOW|O_PATH), or a link to no path: Linux says ELOOP.
                    Proc::Link(_) | Proc::Namespace(_) => return Err(Errno::ELOOP),
                },
            };
            Ok((object, comps.clone()))
        });
    if let Some((root, rel, writable, comps)) = on_host {
        return Ok(Opened::Host(HostOpen {
            root,
            rel,
            writable,
            host_flags,
            mode,
            follow,
            flags,
            comps,
            base,
            path,
        }));
    }
    if wants_controlling_terminal {
        return open_controlling_terminal(k, flags).map(Opened::Fd);
    }
    if let Some(target) = process_link {
        return open_path_or_defer(k, AT_FDCWD as u64, target, flags, mode_arg, true);
    }
    if let Some(fd) = descriptor_link {
        // `/proc/self/fd/N` (and so `/dev/fd/N`, `/dev/stdin`): the descriptor's own open file,
        // as a duplicate (Linux opens the file anew; for pipes and sockets, the same object).
        if modifies && !k.fds.file(fd)?.status().writable() && access != 0 {
            return Err(Errno::EACCES);
        }
        let file = k.fds.file(fd).map_err(|_| Errno::ENOENT)?;
        return k
            .fds
            .insert(FdEntry {
                file,
                cloexec: flags & OpenFlags::CLOEXEC != 0,
            })
            .map(Opened::Fd);
    }
    install_opened(k, looked_up, flags, &base, &path).map(Opened::Fd)
}

/// The path of the file that `path` names when it is `/proc/self/fd/N` (or leads there, as
/// `/dev/fd/N` does) and descriptor N has one.
fn descriptor_file_path(k: &Kernel, base: &Components, path: &[u8]) -> Option<Vec<u8>> {
    if !(path.starts_with(b"/proc/") || path.starts_with(b"/dev/")) {
        return None;
    }
    let comps = k.vfs.resolve(base, path, true).ok()?;
    let mut below = procfs::below_proc(&comps)?.to_vec();
    if below.first().map(Vec::as_slice) == Some(b"self") {
        below[0] = alloc::format!("{}", host().process_id(picobox_abi::Whose::Caller)).into_bytes();
    }
    let file = k.fds.file(own_descriptor_link(&below)?).ok()?;
    (!file.path.is_empty()).then(|| path::join(&file.path))
}

/// The descriptor that `/proc/<pid>/fd/N` of the calling process names (`p` is below `/proc`).
fn own_descriptor_link(p: &[Vec<u8>]) -> Option<u64> {
    let [pid, fd_dir, n] = p else {
        return None;
    };
    let me = alloc::format!("{}", host().process_id(picobox_abi::Whose::Caller));
    if fd_dir.as_slice() != b"fd" || pid.as_slice() != me.as_bytes() {
        return None;
    }
    core::str::from_utf8(n).ok()?.parse().ok()
}

/// What creating `path` answers when the lookup found nothing (`ENOENT`): `EROFS` if its
/// parent is one of the box's own read-only directories (`/`, `/etc`, mount-point parents),
/// as Linux answers for a read-only file system.
fn creation_error(k: &Kernel, base: &Components, path: &[u8], e: Errno) -> Errno {
    if e != Errno::ENOENT {
        return e;
    }
    let Ok(mut comps) = k.vfs.resolve(base, path, false) else {
        return e;
    };
    comps.pop();
    match k.vfs.locate(&comps) {
        Ok(Node::Synthetic) => Errno::EROFS,
        _ => e,
    }
}

/// `open(path, flags, mode)` (may block: a FIFO's open waits for its other end).
pub fn sys_open(a: &Args) -> Result<u64> {
    open_unlocked(AT_FDCWD as u64, a[0], a[1], a[2])
}

/// `openat(dirfd, path, flags, mode)`.
pub fn sys_openat(a: &Args) -> Result<u64> {
    open_unlocked(a[0], a[1], a[2], a[3])
}

/// `creat(path, mode)`.
pub fn sys_creat(a: &Args) -> Result<u64> {
    let flags = u64::from(OpenFlags::WRITE.0 | OpenFlags::CREATE | OpenFlags::TRUNCATE);
    open_unlocked(AT_FDCWD as u64, a[0], flags, a[1])
}

/// `close(fd)`.
pub fn sys_close(k: &mut Kernel, a: &Args) -> Result<u64> {
    let entry = k.fds.remove(fd_arg(a[0])?)?;
    release_record_locks(k, &entry.file);
    Ok(0)
}

/// A descriptor of a file the process holds record locks on is closing: the locks go, as on
/// Linux. The host releases them itself when its own descriptor closes; while another of the
/// program's descriptors keeps it open (a `dup`), the library OS unlocks the whole file.
fn release_record_locks(k: &mut Kernel, file: &alloc::sync::Arc<OpenFile>) {
    const F_UNLCK: u16 = 2;
    if k.record_locked.is_empty() {
        return;
    }
    let Some(h) = file.handle() else { return };
    let Ok(attr) = host().stream_attr(h) else {
        return;
    };
    if !k.record_locked.remove(&(attr.dev, attr.ino)) {
        return;
    }
    if alloc::sync::Arc::strong_count(file) > 1 {
        let mut all = RangeLock {
            kind: F_UNLCK,
            ..RangeLock::default()
        };
        let _ = host().stream_lock(h, LockRequest::Process { wait: false }, &mut all);
    }
}

// ------------------------------------------------------------------ read and write

/// The error for an access the open file's mode does not allow: `EBADF`, but `ESPIPE` for
/// one at an offset of a pipe or socket, which Linux checks first.
fn wrong_mode(file: &OpenFile, offset: Option<u64>) -> Errno {
    let unseekable = offset.is_some()
        && file.handle().is_some_and(|h| {
            host()
                .stream_attr(h)
                .is_ok_and(|a| matches!(a.kind, FileKind::Fifo | FileKind::Socket))
        });
    if unseekable {
        Errno::ESPIPE
    } else {
        Errno::EBADF
    }
}

pub(super) fn read_file(file: &OpenFile, addr: u64, len: u64, offset: Option<u64>) -> Result<u64> {
    file.touched();
    if !file.status().readable() {
        return Err(wrong_mode(file, offset));
    }
    let len = usize::try_from(len)
        .unwrap_or(MAX_RW_COUNT)
        .min(MAX_RW_COUNT);
    if len == 0 {
        return Ok(0);
    }
    let n = match &file.object {
        FileObject::Memory(data, pos) => {
            let mut pos = pos.lock();
            let start = usize::try_from(offset.unwrap_or(*pos))
                .unwrap_or(usize::MAX)
                .min(data.len());
            let n = len.min(data.len() - start);
            user::write_bytes(addr, &data[start..start + n])?;
            if offset.is_none() {
                *pos = (start + n) as u64;
            }
            n
        }
        FileObject::PageMap(pos) => {
            let mut pos = pos.lock();
            let at = offset.unwrap_or(*pos);
            let mut out = Vec::new();
            crate::kernel::with(|k| crate::memory_views::pagemap_read(k, at, &mut out, len))??;
            user::write_bytes(addr, &out)?;
            if offset.is_none() {
                *pos = at + out.len() as u64;
            }
            out.len()
        }
        FileObject::MemoryDir(_) => return Err(Errno::EISDIR),
        FileObject::Host(h) => host().stream_read(
            h.0,
            IoBuf {
                addr: user::checked_range(addr, len)?,
                len,
            },
            offset,
        )?,
        FileObject::Dev(DevNode::Null) => 0,
        FileObject::Dev(dev) => {
            let mut chunk = alloc::vec![0u8; len.min(64 * 1024)];
            let mut done = 0;
            while done < len {
                let n = chunk.len().min(len - done);
                if *dev == DevNode::Random {
                    host().random_read(&mut chunk[..n])?;
                }
                user::write_bytes(addr + done as u64, &chunk[..n])?;
                done += n;
            }
            len
        }
        FileObject::SyntheticDir => return Err(Errno::EISDIR),
        FileObject::Epoll(_) | FileObject::Namespace(_) => return Err(Errno::EINVAL),
        FileObject::Signal(s) => super::signalfd::read(file, s, addr, len)?,
    };
    Ok(n as u64)
}

pub(super) fn write_file(file: &OpenFile, addr: u64, len: u64, offset: Option<u64>) -> Result<u64> {
    file.touched();
    if !file.status().writable() {
        return Err(wrong_mode(file, offset));
    }
    let len = usize::try_from(len)
        .unwrap_or(MAX_RW_COUNT)
        .min(MAX_RW_COUNT);
    match &file.object {
        FileObject::Memory(..) | FileObject::MemoryDir(_) | FileObject::PageMap(_) => {
            Err(Errno::EBADF)
        }
        FileObject::Host(h) => {
            if len == 0 {
                return Ok(0);
            }
            let buf = IoBuf {
                addr: user::checked_range(addr, len)?,
                len,
            };
            Ok(host().stream_write(h.0, buf, offset)? as u64)
        }
        FileObject::Dev(DevNode::Full) if len > 0 => Err(Errno::ENOSPC),
        FileObject::Dev(_) => Ok(len as u64),
        FileObject::SyntheticDir => Err(Errno::EBADF),
        FileObject::Epoll(_) | FileObject::Signal(_) | FileObject::Namespace(_) => {
            Err(Errno::EINVAL)
        }
    }
}

pub(super) fn offset_arg(v: u64) -> Result<u64> {
    i64::try_from(v).map(|_| v).map_err(|_| Errno::EINVAL)
}

fn seekable_offset(file: &OpenFile, offset: u64) -> Result<Option<u64>> {
    match &file.object {
        FileObject::Host(_) | FileObject::Memory(..) | FileObject::PageMap(_) => {
            Ok(Some(offset_arg(offset)?))
        }
        FileObject::Dev(_) => Ok(None),
        FileObject::MemoryDir(_) => Err(Errno::EISDIR),
        FileObject::SyntheticDir => Err(Errno::EISDIR),
        FileObject::Epoll(_) | FileObject::Signal(_) | FileObject::Namespace(_) => {
            Err(Errno::ESPIPE)
        }
    }
}

/// The open file behind descriptor argument `fd`, looked up under the lock, which is released
/// before the caller blocks on it.
pub(super) fn file_of(fd: u64) -> Result<Arc<OpenFile>> {
    crate::kernel::with(|k| k.fds.file(fd_arg(fd)?))?
}

/// `read(fd, buf, count)`.
pub fn sys_read(a: &Args) -> Result<u64> {
    read_file(&*file_of(a[0])?, a[1], a[2], None)
}

/// `write(fd, buf, count)`.
pub fn sys_write(a: &Args) -> Result<u64> {
    write_file(&*file_of(a[0])?, a[1], a[2], None)
}

/// `pread64(fd, buf, count, offset)`.
pub fn sys_pread64(a: &Args) -> Result<u64> {
    let file = file_of(a[0])?;
    let off = seekable_offset(&file, a[3])?;
    read_file(&file, a[1], a[2], off)
}

/// `pwrite64(fd, buf, count, offset)`.
pub fn sys_pwrite64(a: &Args) -> Result<u64> {
    let file = file_of(a[0])?;
    let off = seekable_offset(&file, a[3])?;
    write_file(&file, a[1], a[2], off)
}

/// `readv`/`writev` at the file's position, or with `at`, at that offset (`preadv`/`pwritev`).
pub(super) fn vectored(
    a: &Args,
    at: Option<u64>,
    mut op: impl FnMut(&OpenFile, u64, u64, Option<u64>) -> Result<u64>,
) -> Result<u64> {
    let file = file_of(a[0])?;
    let mut offset = match at {
        Some(off) => seekable_offset(&file, off)?,
        None => None,
    };
    if a[2] > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let iov = user::read_bytes(a[1], usize::try_from(a[2] * 16).map_err(|_| Errno::EINVAL)?)?;
    // As Linux, before any I/O: a length that is negative as an ssize_t, or a total that
    // overflows one, is EINVAL.
    let mut sum: u64 = 0;
    for entry in iov.chunks_exact(16) {
        let len = u64::from_le_bytes(entry[8..].try_into().map_err(|_| Errno::EFAULT)?);
        sum = sum
            .checked_add(len)
            .filter(|s| *s <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
    }
    let mut total: u64 = 0;
    for entry in iov.chunks_exact(16) {
        let base = u64::from_le_bytes(entry[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(entry[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if len == 0 {
            continue;
        }
        match op(&file, base, len, offset) {
            Ok(n) => {
                total += n;
                offset = offset.map(|o| o + n);
                if n < len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

/// `readv(fd, iov, iovcnt)`.
pub fn sys_readv(a: &Args) -> Result<u64> {
    vectored(a, None, read_file)
}

/// `writev(fd, iov, iovcnt)`.
pub fn sys_writev(a: &Args) -> Result<u64> {
    vectored(a, None, write_file)
}

/// `lseek(fd, offset, whence)`.
pub fn sys_lseek(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let whence = match int_arg(a[2]) {
        0 => Whence::Start,
        1 => Whence::Current,
        2 => Whence::End,
        3 => Whence::Data,
        4 => Whence::Hole,
        _ => return Err(Errno::EINVAL),
    };
    let offset = a[1] as i64; // Linux reads off_t as a signed 64-bit value.
    match &file.object {
        FileObject::Host(h) => {
            let pos = host().stream_seek(h.0, offset, whence)?;
            if pos == 0 {
                *file.dir.lock() = Default::default();
            }
            Ok(pos)
        }
        FileObject::Dev(_) => Ok(0),
        FileObject::SyntheticDir if offset == 0 && whence == Whence::Start => {
            *file.dir.lock() = Default::default();
            Ok(0)
        }
        FileObject::Memory(data, pos) => {
            let mut pos = pos.lock();
            let base = match whence {
                Whence::Start => 0,
                Whence::Current => *pos as i64,
                Whence::End => data.len() as i64,
                // As Linux's seq files, which most of /proc is.
                Whence::Data | Whence::Hole => return Err(Errno::EINVAL),
            };
            let new = base
                .checked_add(offset)
                .filter(|n| *n >= 0)
                .ok_or(Errno::EINVAL)?;
            *pos = new as u64;
            Ok(new as u64)
        }
        // As Linux's: from the start or the current position, to any offset (no end).
        FileObject::PageMap(pos) => {
            let mut pos = pos.lock();
            let base = match whence {
                Whence::Start => 0,
                Whence::Current => *pos as i64,
                Whence::End | Whence::Data | Whence::Hole => return Err(Errno::EINVAL),
            };
            let new = base
                .checked_add(offset)
                .filter(|n| *n >= 0)
                .ok_or(Errno::EINVAL)?;
            *pos = new as u64;
            Ok(new as u64)
        }
        FileObject::MemoryDir(_) if offset == 0 && whence == Whence::Start => {
            *file.dir.lock() = Default::default();
            Ok(0)
        }
        FileObject::SyntheticDir
        | FileObject::Epoll(_)
        | FileObject::Signal(_)
        | FileObject::MemoryDir(_) => Err(Errno::EINVAL),
        // nsfs files cannot be sought in.
        FileObject::Namespace(_) => Err(Errno::ESPIPE),
    }
}

/// Copies up to `count` bytes from `input` to `output` through a library-OS buffer, each at
/// its offset if given (advanced in place) or at the stream's position. Returns the bytes
/// copied; an error only if nothing was.
pub(super) fn copy_streams(
    input: Handle,
    in_offset: &mut Option<u64>,
    output: Handle,
    out_offset: &mut Option<u64>,
    count: u64,
) -> Result<u64> {
    let count = usize::try_from(count)
        .unwrap_or(MAX_RW_COUNT)
        .min(MAX_RW_COUNT);
    let mut buf = alloc::vec![0u8; count.min(128 * 1024)];
    let mut total = 0usize;
    while total < count {
        let want = buf.len().min(count - total);
        let n = match host().stream_read(input, IoBuf::of_mut(&mut buf[..want]), *in_offset) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        let mut written = 0;
        while written < n {
            match host().stream_write(output, IoBuf::of(&buf[written..n]), *out_offset) {
                Ok(w) => {
                    written += w;
                    *out_offset = out_offset.map(|o| o + w as u64);
                }
                Err(e) if total + written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        total += written;
        *in_offset = in_offset.map(|o| o + written as u64);
        if written < n {
            break;
        }
    }
    Ok(total as u64)
}

/// `sendfile(out_fd, in_fd, offset, count)`: copied through a library-OS buffer.
pub fn sys_sendfile(a: &Args) -> Result<u64> {
    let out = file_of(a[0])?;
    let input = file_of(a[1])?;
    let (Some(out_h), Some(in_h)) = (out.handle(), input.handle()) else {
        return Err(Errno::EINVAL);
    };
    if !out.status().writable() || !input.status().readable() {
        return Err(Errno::EBADF);
    }
    let mut offset = if a[2] == 0 {
        None
    } else {
        Some(offset_arg(user::read_u64(a[2])?)?)
    };
    let total = copy_streams(in_h, &mut offset, out_h, &mut None, a[3])?;
    if let Some(o) = offset {
        user::write_u64(a[2], o)?;
    }
    Ok(total)
}

// ------------------------------------------------------------------ descriptors

/// `dup(fd)`.
pub fn sys_dup(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    k.fds.insert(FdEntry {
        file,
        cloexec: false,
    })
}

fn dup_to(k: &mut Kernel, old: u64, new: u64, cloexec: bool) -> Result<u64> {
    let file = k.fds.file(fd_arg(old)?)?;
    let new = fd_arg(new)?;
    k.fds.replace(new, FdEntry { file, cloexec })?;
    Ok(new)
}

/// `dup2(old, new)`.
pub fn sys_dup2(k: &mut Kernel, a: &Args) -> Result<u64> {
    if fd_arg(a[0])? == fd_arg(a[1])? {
        k.fds.get(fd_arg(a[0])?)?;
        return fd_arg(a[1]);
    }
    dup_to(k, a[0], a[1], false)
}

/// `dup3(old, new, flags)`.
pub fn sys_dup3(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = u32::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
    if flags & !OpenFlags::CLOEXEC != 0 || fd_arg(a[0])? == fd_arg(a[1])? {
        return Err(Errno::EINVAL);
    }
    dup_to(k, a[0], a[1], flags != 0)
}

fn make_pipe(k: &mut Kernel, fds_addr: u64, flags: u64) -> Result<u64> {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    if flags & !(OpenFlags::CLOEXEC | OpenFlags::NONBLOCK | OpenFlags::DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = host().stream_pipe(
        flags & OpenFlags::NONBLOCK != 0,
        flags & OpenFlags::DIRECT != 0,
    )?;
    // As Linux's, F_GETFL of a packet pipe does not show O_DIRECT.
    let status = flags & OpenFlags::NONBLOCK;
    let cloexec = flags & OpenFlags::CLOEXEC != 0;
    let read_end = OpenFile::new(
        FileObject::Host(HostHandle(r)),
        OpenFlags::READ.0 | status,
        Vec::new(),
    );
    let write_end = OpenFile::new(
        FileObject::Host(HostHandle(w)),
        OpenFlags::WRITE.0 | status,
        Vec::new(),
    );
    let rfd = k.fds.insert(FdEntry {
        file: read_end,
        cloexec,
    })?;
    let wfd = match k.fds.insert(FdEntry {
        file: write_end,
        cloexec,
    }) {
        Ok(fd) => fd,
        Err(e) => {
            k.fds.remove(rfd)?;
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(rfd as u32).to_le_bytes());
    out[4..].copy_from_slice(&(wfd as u32).to_le_bytes());
    if let Err(e) = user::write_bytes(fds_addr, &out) {
        k.fds.remove(rfd)?;
        k.fds.remove(wfd)?;
        return Err(e);
    }
    Ok(0)
}

fn eventfd(k: &mut Kernel, initial: u64, flags: u64) -> Result<u64> {
    const EFD_SEMAPHORE: u32 = 1;
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    if flags & !(OpenFlags::CLOEXEC | OpenFlags::NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let nonblocking = flags & OpenFlags::NONBLOCK != 0;
    let h = host().stream_create(
        picobox_abi::NewStream::Event {
            initial: (initial & 0xffff_ffff) as u32,
            semaphore: flags & EFD_SEMAPHORE != 0,
        },
        nonblocking,
    )?;
    let file = OpenFile::anonymous(
        FileObject::Host(HostHandle(h)),
        OpenFlags::READ_WRITE.0 | (flags & OpenFlags::NONBLOCK),
        "[eventfd]",
    );
    k.fds.insert(FdEntry {
        file,
        cloexec: flags & OpenFlags::CLOEXEC != 0,
    })
}

/// `eventfd(initval)`.
pub fn sys_eventfd(k: &mut Kernel, a: &Args) -> Result<u64> {
    eventfd(k, a[0], 0)
}

/// `eventfd2(initval, flags)`.
pub fn sys_eventfd2(k: &mut Kernel, a: &Args) -> Result<u64> {
    eventfd(k, a[0], a[1])
}

fn mknod_at(k: &mut Kernel, dirfd: u64, path_ptr: u64, mode: u64) -> Result<u64> {
    const S_IFMT: u32 = 0o170000;
    const S_IFIFO: u32 = 0o010000;
    const S_IFSOCK: u32 = 0o140000;
    const S_IFREG: u32 = 0o100000;
    let mode = (mode & 0xffff_ffff) as u32;
    match mode & S_IFMT {
        kind @ (S_IFIFO | S_IFSOCK) => {
            let path = user::read_path(path_ptr)?;
            let base = base_dir(k, dirfd, &path)?;
            let perm = mode & 0o7777 & !k.umask;
            let kind = if kind == S_IFIFO {
                FileKind::Fifo
            } else {
                FileKind::Socket
            };
            k.vfs.lookup(&base, &path, false, |node, _| {
                let (root, rel) = writable_host(node)?;
                host().stream_make_node(root, rel, kind, perm)
            })?;
            Ok(0)
        }
        0 | S_IFREG => {
            let flags = u64::from(
                OpenFlags::WRITE.0 | OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::CLOEXEC,
            );
            let fd = open_at(k, dirfd, path_ptr, flags, u64::from(mode & 0o7777))?;
            k.fds.remove(fd)?;
            Ok(0)
        }
        // Device nodes: the box may not create them (as an unprivileged Linux user).
        _ => Err(Errno::EPERM),
    }
}

/// `mknod(path, mode, dev)`.
pub fn sys_mknod(k: &mut Kernel, a: &Args) -> Result<u64> {
    mknod_at(k, AT_FDCWD as u64, a[0], a[1])
}

/// `mknodat(dirfd, path, mode, dev)`.
pub fn sys_mknodat(k: &mut Kernel, a: &Args) -> Result<u64> {
    mknod_at(k, a[0], a[1], a[2])
}

/// `pipe(fds)`.
pub fn sys_pipe(k: &mut Kernel, a: &Args) -> Result<u64> {
    make_pipe(k, a[0], 0)
}

/// `pipe2(fds, flags)`.
pub fn sys_pipe2(k: &mut Kernel, a: &Args) -> Result<u64> {
    make_pipe(k, a[0], a[1])
}

/// `fcntl(fd, cmd, arg)`. Locks are the host's (they may wait, so the library OS is not held
/// meanwhile); the rest is the library OS's own.
pub fn sys_fcntl(a: &Args) -> Result<u64> {
    const F_GETLK: i32 = 5;
    const F_SETLK: i32 = 6;
    const F_SETLKW: i32 = 7;
    const F_OFD_GETLK: i32 = 36;
    const F_OFD_SETLK: i32 = 37;
    const F_OFD_SETLKW: i32 = 38;
    let request = match int_arg(a[1]) {
        F_GETLK => LockRequest::ProcessQuery,
        F_SETLK => LockRequest::Process { wait: false },
        F_SETLKW => LockRequest::Process { wait: true },
        F_OFD_GETLK => LockRequest::OpenFileQuery,
        F_OFD_SETLK => LockRequest::OpenFile { wait: false },
        F_OFD_SETLKW => LockRequest::OpenFile { wait: true },
        _ => return crate::kernel::with(|k| fcntl_descriptor(k, a))?,
    };
    let file = file_of(a[0])?;
    // struct flock { short l_type, l_whence; off_t l_start, l_len; pid_t l_pid; }
    let raw = user::read_bytes(a[2], 32)?;
    let i64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[at..at + 8]);
        i64::from_le_bytes(b)
    };
    let mut range = RangeLock {
        kind: u16::from_le_bytes([raw[0], raw[1]]),
        whence: u16::from_le_bytes([raw[2], raw[3]]),
        start: i64_at(8),
        len: i64_at(16),
        pid: i32::from_le_bytes([raw[24], raw[25], raw[26], raw[27]]),
    };
    let Some(h) = file.handle() else {
        return Err(Errno::EBADF); // nothing the host can lock (a library OS object)
    };
    host().stream_lock(h, request, &mut range)?;
    const F_UNLCK: u16 = 2;
    if matches!(request, LockRequest::Process { .. }) && range.kind != F_UNLCK {
        if let Ok(attr) = host().stream_attr(h) {
            crate::kernel::with(|k| k.record_locked.insert((attr.dev, attr.ino)))?;
        }
    }
    if matches!(
        request,
        LockRequest::ProcessQuery | LockRequest::OpenFileQuery
    ) {
        let mut out = raw.clone();
        out[0..2].copy_from_slice(&range.kind.to_le_bytes());
        out[2..4].copy_from_slice(&range.whence.to_le_bytes());
        out[8..16].copy_from_slice(&range.start.to_le_bytes());
        out[16..24].copy_from_slice(&range.len.to_le_bytes());
        out[24..28].copy_from_slice(&range.pid.to_le_bytes());
        user::write_bytes(a[2], &out)?;
    }
    Ok(0)
}

/// `flock(fd, operation)`: the host's whole-file lock.
pub fn sys_flock(a: &Args) -> Result<u64> {
    const LOCK_SH: u32 = 1;
    const LOCK_EX: u32 = 2;
    const LOCK_NB: u32 = 4;
    const LOCK_UN: u32 = 8;
    let op = u32::try_from(a[1] & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
    if !matches!(op & !LOCK_NB, LOCK_SH | LOCK_EX | LOCK_UN) {
        return Err(Errno::EINVAL);
    }
    let file = file_of(a[0])?;
    let h = file.handle().ok_or(Errno::EBADF)?;
    host().stream_lock(h, LockRequest::WholeFile(op), &mut RangeLock::default())?;
    Ok(0)
}

/// The `fcntl` commands about descriptors and status flags.
fn fcntl_descriptor(k: &mut Kernel, a: &Args) -> Result<u64> {
    const F_DUPFD: i32 = 0;
    const F_GETFD: i32 = 1;
    const F_SETFD: i32 = 2;
    const F_GETFL: i32 = 3;
    const F_SETFL: i32 = 4;
    const F_DUPFD_CLOEXEC: i32 = 1030;
    const F_SETOWN: i32 = 8;
    const F_GETOWN: i32 = 9;
    const F_SETSIG: i32 = 10;
    const F_GETSIG: i32 = 11;
    const F_SETOWN_EX: i32 = 15;
    const F_GETOWN_EX: i32 = 16;
    const F_SETPIPE_SZ: i32 = 1031;
    const F_GETPIPE_SZ: i32 = 1032;
    const F_SETLEASE: i32 = 1024;
    const F_GETLEASE: i32 = 1025;
    const F_NOTIFY: i32 = 1026;
    const F_CREATED_QUERY: i32 = 1028;
    const F_UNLCK: u32 = 2;
    const F_OWNER_TID: i32 = 0;
    const F_OWNER_PID: i32 = 1;
    const F_OWNER_PGRP: i32 = 2;
    use core::sync::atomic::Ordering::Relaxed;
    let fd = fd_arg(a[0])?;
    let entry = k.fds.get(fd)?.clone();
    match int_arg(a[1]) {
        cmd @ (F_DUPFD | F_DUPFD_CLOEXEC) => {
            let min = usize::try_from(int_arg(a[2])).map_err(|_| Errno::EINVAL)?;
            k.fds.insert_from(
                min,
                FdEntry {
                    file: entry.file,
                    cloexec: cmd == F_DUPFD_CLOEXEC,
                },
            )
        }
        F_GETFD => Ok(u64::from(entry.cloexec)),
        F_SETFD => {
            k.fds.set_cloexec(fd, a[2] & 1 != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(u64::from(*entry.file.flags.lock())),
        F_SETFL => {
            let want = u32::try_from(a[2] & 0xffff_ffff).unwrap_or(0);
            let settable = OpenFlags::APPEND | OpenFlags::NONBLOCK;
            if let Some(h) = entry.file.handle() {
                host().stream_set(
                    h,
                    StreamSetting::Flags {
                        nonblocking: want & OpenFlags::NONBLOCK != 0,
                        append: want & OpenFlags::APPEND != 0,
                        notices: want & O_ASYNC != 0,
                    },
                )?;
            }
            let mut flags = entry.file.flags.lock();
            let recorded = settable | O_ASYNC;
            *flags = (*flags & !recorded) | (want & recorded);
            Ok(0)
        }
        F_SETOWN => {
            let owner = int_arg(a[2]);
            // A negative owner is a process group.
            let kind = if owner < 0 { F_OWNER_PGRP } else { F_OWNER_PID };
            set_owner(&entry.file, kind, owner.unsigned_abs())?;
            entry.file.owner.store(owner, Relaxed);
            entry.file.owner_kind.store(kind, Relaxed);
            Ok(0)
        }
        F_GETOWN => {
            let owner = entry.file.owner.load(Relaxed);
            Ok(match entry.file.owner_kind.load(Relaxed) {
                F_OWNER_PGRP => -owner.abs(),
                _ => owner,
            } as i64 as u64)
        }
        F_SETOWN_EX => {
            // struct f_owner_ex { int type; pid_t pid; }
            let raw = user::read_bytes(a[2], 8)?;
            let kind = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let pid = i32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
            if !matches!(kind, F_OWNER_TID | F_OWNER_PID | F_OWNER_PGRP) || pid < 0 {
                return Err(Errno::EINVAL);
            }
            set_owner(&entry.file, kind, pid.unsigned_abs())?;
            entry.file.owner.store(pid, Relaxed);
            entry.file.owner_kind.store(kind, Relaxed);
            Ok(0)
        }
        F_GETOWN_EX => {
            let mut raw = [0u8; 8];
            let owner = entry.file.owner.load(Relaxed);
            raw[..4].copy_from_slice(&entry.file.owner_kind.load(Relaxed).to_le_bytes());
            raw[4..].copy_from_slice(&owner.abs().to_le_bytes());
            user::write_bytes(a[2], &raw)?;
            Ok(0)
        }
        F_SETSIG => {
            let sig = int_arg(a[2]);
            if !(0..=super::signal::NSIG as i32).contains(&sig) {
                return Err(Errno::EINVAL);
            }
            entry.file.io_signal.store(sig, Relaxed);
            // Lease breaks and directory notices come from the host, with this signal.
            if let Some(h) = entry.file.handle() {
                host().stream_set(h, StreamSetting::NotifySignal(sig as u32))?;
            }
            Ok(0)
        }
        F_SETLEASE => {
            let kind = u32::try_from(a[2] & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
            if kind > F_UNLCK {
                return Err(Errno::EINVAL);
            }
            let h = entry.file.handle().ok_or(Errno::EINVAL)?;
            host().stream_set(h, StreamSetting::Lease(kind))?;
            entry.file.notice_fd.store(fd as i32, Relaxed);
            Ok(0)
        }
        F_CREATED_QUERY => {
            // Only an open of the host's can have created a file.
            let Some(h) = entry.file.handle() else {
                return Ok(0);
            };
            let mut out = [0u8; 4];
            host().stream_query(h, StreamQuery::Created, &mut out)?;
            Ok(u64::from(u32::from_ne_bytes(out)))
        }
        F_GETLEASE => {
            let h = entry.file.handle().ok_or(Errno::EINVAL)?;
            let mut out = [0u8; 4];
            host().stream_query(h, StreamQuery::Lease, &mut out)?;
            Ok(u64::from(u32::from_ne_bytes(out)))
        }
        F_NOTIFY => {
            let mask = u32::try_from(a[2] & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
            match (entry.file.handle(), &entry.file.object) {
                (Some(h), _) => {
                    host().stream_set(h, StreamSetting::DirectoryNotify(mask))?;
                    entry.file.notice_fd.store(fd as i32, Relaxed);
                    Ok(0)
                }
                // The library OS's own directories (/, /dev, /proc) never change that way.
                (None, FileObject::SyntheticDir | FileObject::MemoryDir(_)) => Ok(0),
                (None, _) => Err(Errno::ENOTDIR),
            }
        }
        F_GETSIG => Ok(entry.file.io_signal.load(Relaxed) as u64),
        F_GETPIPE_SZ => {
            let h = entry.file.handle().ok_or(Errno::EBADF)?;
            let mut out = [0u8; 4];
            host().stream_query(h, StreamQuery::PipeCapacity, &mut out)?;
            Ok(u64::from(u32::from_ne_bytes(out)))
        }
        F_SETPIPE_SZ => {
            let h = entry.file.handle().ok_or(Errno::EBADF)?;
            // Linux takes the argument as an unsigned int (so 1 << 40 asks for 0: one page).
            host().stream_set(h, StreamSetting::PipeCapacity(a[2] as u32))
        }
        _ => Err(Errno::EINVAL),
    }
}

// ------------------------------------------------------------------ attributes

pub(super) fn stat_path(k: &Kernel, dirfd: u64, path_ptr: u64, flags: u32) -> Result<FileAttr> {
    if flags & AT_EMPTY_PATH != 0 {
        let p = user::read_cstr(path_ptr, path::PATH_MAX)?;
        if p.is_empty() {
            if int_arg(dirfd) == AT_FDCWD {
                return node_attr(k, &k.vfs.locate(&k.cwd)?, &k.cwd, true);
            }
            return file_attr(&*k.fds.file(fd_arg(dirfd)?)?);
        }
    }
    let path = user::read_path(path_ptr)?;
    let base = base_dir(k, dirfd, &path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    k.vfs.lookup(&base, &path, follow, |node, comps| {
        node_attr(k, node, comps, follow)
    })
}

/// `stat(path, buf)`.
pub fn sys_stat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let attr = stat_path(k, AT_FDCWD as u64, a[0], 0)?;
    user::write_bytes(a[1], &encode_stat(&attr))?;
    Ok(0)
}

/// `lstat(path, buf)`.
pub fn sys_lstat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let attr = stat_path(k, AT_FDCWD as u64, a[0], AT_SYMLINK_NOFOLLOW)?;
    user::write_bytes(a[1], &encode_stat(&attr))?;
    Ok(0)
}

/// `fstat(fd, buf)`.
pub fn sys_fstat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let attr = file_attr(&*k.fds.file(fd_arg(a[0])?)?)?;
    user::write_bytes(a[1], &encode_stat(&attr))?;
    Ok(0)
}

/// `newfstatat(dirfd, path, buf, flags)`.
pub fn sys_newfstatat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = u32::try_from(a[3] & 0xffff_ffff).unwrap_or(0);
    check_stat_flags(flags)?;
    let attr = stat_path(k, a[0], a[1], flags)?;
    user::write_bytes(a[2], &encode_stat(&attr))?;
    Ok(0)
}

/// The flags `fstatat` and `statx` take: `AT_SYMLINK_NOFOLLOW`, `AT_NO_AUTOMOUNT`,
/// `AT_EMPTY_PATH` and one `AT_STATX_*` synchronisation type.
fn check_stat_flags(flags: u32) -> Result<()> {
    const AT_NO_AUTOMOUNT: u32 = 0x800;
    const AT_STATX_SYNC_TYPE: u32 = 0x6000;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `statx(dirfd, path, flags, mask, buf)`.
pub fn sys_statx(k: &mut Kernel, a: &Args) -> Result<u64> {
    const STATX_RESERVED: u64 = 0x8000_0000;
    let flags = u32::try_from(a[2] & 0xffff_ffff).unwrap_or(0);
    check_stat_flags(flags)?;
    if a[3] & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    let attr = stat_path(k, a[0], a[1], flags)?;
    user::write_bytes(a[4], &encode_statx(&attr))?;
    Ok(0)
}

fn access_at(k: &Kernel, dirfd: u64, path_ptr: u64, mode: u64, flags: u32) -> Result<u64> {
    let mode = u32::try_from(mode).map_err(|_| Errno::EINVAL)?;
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user::read_path(path_ptr)?;
    let base = base_dir(k, dirfd, &path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    k.vfs
        .lookup(&base, &path, follow, |node, comps| match node {
            Node::Host {
                writable: false, ..
            } if mode & 2 != 0 => {
                node_attr(k, node, comps, follow)?;
                Err(Errno::EROFS)
            }
            // Not followed, a link is checked by its own permissions, which are everyone's.
            Node::Host { root, rel, .. }
                if !follow
                    && host().stream_attr_at(*root, rel, false)?.kind == FileKind::Symlink =>
            {
                Ok(())
            }
            Node::Host { root, rel, .. } => host().stream_access(*root, rel, mode),
            Node::Dev(_) if mode & 1 != 0 => Err(Errno::EACCES),
            Node::Dev(_) => Ok(()),
            Node::Synthetic if mode & 2 != 0 => Err(Errno::EROFS),
            Node::Synthetic => Ok(()),
            Node::Proc(_) if mode & 2 != 0 => Err(Errno::EACCES),
            Node::Proc(p) => procfs::render(k, p).map(|_| ()),
        })?;
    Ok(0)
}

/// `access(path, mode)`.
pub fn sys_access(k: &mut Kernel, a: &Args) -> Result<u64> {
    access_at(k, AT_FDCWD as u64, a[0], a[1], 0)
}

/// `faccessat(dirfd, path, mode)`.
pub fn sys_faccessat(k: &mut Kernel, a: &Args) -> Result<u64> {
    access_at(k, a[0], a[1], a[2], 0)
}

/// `faccessat2(dirfd, path, mode, flags)`.
pub fn sys_faccessat2(k: &mut Kernel, a: &Args) -> Result<u64> {
    access_at(
        k,
        a[0],
        a[1],
        a[2],
        u32::try_from(a[3] & 0xffff_ffff).unwrap_or(0),
    )
}

// ------------------------------------------------------------------ directories

pub(super) fn next_entries(k: &Kernel, file: &OpenFile) -> Result<()> {
    let mut cursor = file.dir.lock();
    if !cursor.pending.is_empty() || cursor.exhausted {
        return Ok(());
    }
    match &file.object {
        FileObject::Host(h) => {
            let mut batch = Vec::new();
            if host().stream_read_dir(h.0, &mut batch, 128)? == 0 {
                cursor.exhausted = true;
                // Mounts beneath this directory that the host's directory does not hold (a
                // bind at /usr/bin/tool), listed last, as Linux lists mount points.
                let dir = &file.path;
                for name in k.vfs.synthetic_children(dir) {
                    if host().stream_attr_at(h.0, &name, false) != Err(Errno::ENOENT) {
                        continue;
                    }
                    let mut child = dir.clone();
                    child.push(name.clone());
                    let kind = match k.vfs.locate(&child) {
                        Ok(Node::Dev(_)) => FileKind::CharDevice,
                        Ok(Node::Host { root, rel, .. }) => host()
                            .stream_attr_at(root, &rel, false)
                            .map_or(FileKind::Directory, |a| a.kind),
                        _ => FileKind::Directory,
                    };
                    batch.push(DirEntry {
                        ino: path_ino(&child),
                        kind: Some(kind),
                        name,
                    });
                }
            }
            cursor.pending.extend(batch);
        }
        FileObject::SyntheticDir => {
            let dir = &file.path;
            let mut parent = dir.clone();
            parent.pop();
            cursor.pending.push_back(DirEntry {
                ino: path_ino(dir),
                kind: Some(FileKind::Directory),
                name: b".".to_vec(),
            });
            cursor.pending.push_back(DirEntry {
                ino: path_ino(&parent),
                kind: Some(FileKind::Directory),
                name: b"..".to_vec(),
            });
            for name in k.vfs.synthetic_children(dir) {
                let mut child = dir.clone();
                child.push(name.clone());
                let kind = match k.vfs.locate(&child) {
                    Ok(Node::Dev(_)) => FileKind::CharDevice,
                    Ok(Node::Host { root, rel, .. }) if !rel.is_empty() => host()
                        .stream_attr_at(root, &rel, false)
                        .map_or(FileKind::Directory, |a| a.kind),
                    _ => FileKind::Directory,
                };
                cursor.pending.push_back(DirEntry {
                    ino: path_ino(&child),
                    kind: Some(kind),
                    name,
                });
            }
            cursor.exhausted = true;
        }
        FileObject::MemoryDir(entries) => {
            cursor.pending.push_back(DirEntry {
                ino: 1,
                kind: Some(FileKind::Directory),
                name: b".".to_vec(),
            });
            cursor.pending.push_back(DirEntry {
                ino: 2,
                kind: Some(FileKind::Directory),
                name: b"..".to_vec(),
            });
            for (i, (name, kind)) in entries.iter().enumerate() {
                cursor.pending.push_back(DirEntry {
                    ino: 3 + i as u64,
                    kind: Some(*kind),
                    name: name.clone(),
                });
            }
            cursor.exhausted = true;
        }
        FileObject::Dev(_)
        | FileObject::Epoll(_)
        | FileObject::Signal(_)
        | FileObject::Memory(..)
        | FileObject::PageMap(_)
        | FileObject::Namespace(_) => return Err(Errno::ENOTDIR),
    }
    Ok(())
}

/// `getdents64(fd, dirp, count)`.
pub fn sys_getdents64(k: &mut Kernel, a: &Args) -> Result<u64> {
    directory_entries(k, a, false)
}

/// `getdents(fd, dirp, count)`: the old layout, `d_type` in the record's last byte.
pub fn sys_getdents(k: &mut Kernel, a: &Args) -> Result<u64> {
    directory_entries(k, a, true)
}

fn directory_entries(k: &mut Kernel, a: &Args, legacy: bool) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let count = usize::try_from(a[2]).unwrap_or(usize::MAX).min(1 << 20);
    let mut out: Vec<u8> = Vec::new();
    loop {
        next_entries(k, &file)?;
        let mut cursor = file.dir.lock();
        let Some(entry) = cursor.pending.front() else {
            break;
        };
        // ino, off, reclen, then d_type and the name (or the name, a NUL and d_type last).
        let reclen = (19 + entry.name.len() + 1 + usize::from(legacy)).next_multiple_of(8);
        if out.len() + reclen > count {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let off = cursor.position + 1;
        let start = out.len();
        out.extend_from_slice(&entry.ino.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&u16::try_from(reclen).unwrap_or(0).to_le_bytes());
        if legacy {
            out.extend_from_slice(&entry.name);
            out.resize(start + reclen, 0);
            out[start + reclen - 1] = dirent_type(entry.kind);
        } else {
            out.push(dirent_type(entry.kind));
            out.extend_from_slice(&entry.name);
            out.resize(start + reclen, 0);
        }
        cursor.pending.pop_front();
        cursor.position = off;
    }
    user::write_bytes(a[1], &out)?;
    Ok(out.len() as u64)
}

/// `getcwd(buf, size)`.
pub fn sys_getcwd(k: &mut Kernel, a: &Args) -> Result<u64> {
    let mut p = path::join(&k.cwd);
    p.push(0);
    if (p.len() as u64) > a[1] {
        return Err(Errno::ERANGE);
    }
    user::write_bytes(a[0], &p)?;
    Ok(p.len() as u64)
}

fn change_dir(k: &mut Kernel, to: Components, attr: FileAttr) -> Result<u64> {
    if attr.kind != FileKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    k.cwd = to;
    Ok(0)
}

/// `chdir(path)`.
pub fn sys_chdir(k: &mut Kernel, a: &Args) -> Result<u64> {
    let path = user::read_path(a[0])?;
    let comps = k.vfs.resolve(&k.cwd, &path, true)?;
    let attr = node_attr(k, &k.vfs.locate(&comps)?, &comps, true)?;
    change_dir(k, comps, attr)
}

/// `chroot(path)`: the path is resolved and must be a directory, as Linux checks first; then
/// the change is refused (`EPERM`, as without `CAP_SYS_CHROOT`): the library OS keeps one root.
pub fn sys_chroot(k: &mut Kernel, a: &Args) -> Result<u64> {
    let path = user::read_path(a[0])?;
    let comps = k.vfs.resolve(&k.cwd, &path, true)?;
    let attr = node_attr(k, &k.vfs.locate(&comps)?, &comps, true)?;
    if attr.kind != FileKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    Err(Errno::EPERM)
}

/// `fchdir(fd)`.
pub fn sys_fchdir(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let attr = file_attr(&file)?;
    change_dir(k, file.path.clone(), attr)
}

fn mkdir_at(k: &mut Kernel, dirfd: u64, path_ptr: u64, mode: u64) -> Result<u64> {
    let path = user::read_path(path_ptr)?;
    let base = base_dir(k, dirfd, &path)?;
    let mode = u32::try_from(mode & 0o7777).unwrap_or(0) & !k.umask;
    k.vfs
        .lookup(&base, &path, false, |node, _| match node {
            Node::Synthetic | Node::Dev(_) => Err(Errno::EEXIST),
            Node::Host { rel, .. } if rel.is_empty() => Err(Errno::EEXIST),
            node => {
                let (root, rel) = writable_host(node)?;
                host().stream_make_dir(root, rel, mode)
            }
        })
        .map_err(|e| creation_error(k, &base, &path, e))?;
    Ok(0)
}

/// `mkdir(path, mode)`.
pub fn sys_mkdir(k: &mut Kernel, a: &Args) -> Result<u64> {
    mkdir_at(k, AT_FDCWD as u64, a[0], a[1])
}

/// `mkdirat(dirfd, path, mode)`.
pub fn sys_mkdirat(k: &mut Kernel, a: &Args) -> Result<u64> {
    mkdir_at(k, a[0], a[1], a[2])
}

fn unlink_at(k: &mut Kernel, dirfd: u64, path_ptr: u64, flags: u32) -> Result<u64> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user::read_path(path_ptr)?;
    let base = base_dir(k, dirfd, &path)?;
    let is_dir = flags & AT_REMOVEDIR != 0;
    k.vfs.lookup(&base, &path, false, |node, _| match node {
        Node::Synthetic => Err(if is_dir { Errno::EBUSY } else { Errno::EISDIR }),
        node => {
            let (root, rel) = writable_host(node)?;
            host().stream_delete(root, rel, is_dir)
        }
    })?;
    Ok(0)
}

/// `unlink(path)`.
pub fn sys_unlink(k: &mut Kernel, a: &Args) -> Result<u64> {
    unlink_at(k, AT_FDCWD as u64, a[0], 0)
}

/// `rmdir(path)`.
pub fn sys_rmdir(k: &mut Kernel, a: &Args) -> Result<u64> {
    unlink_at(k, AT_FDCWD as u64, a[0], AT_REMOVEDIR)
}

/// `unlinkat(dirfd, path, flags)`.
pub fn sys_unlinkat(k: &mut Kernel, a: &Args) -> Result<u64> {
    unlink_at(
        k,
        a[0],
        a[1],
        u32::try_from(a[2] & 0xffff_ffff).unwrap_or(u32::MAX),
    )
}

fn rename_at(
    k: &mut Kernel,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
    flags: u64,
) -> Result<u64> {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    let old = user::read_path(old)?;
    let new = user::read_path(new)?;
    let old_base = base_dir(k, olddir, &old)?;
    let new_base = base_dir(k, newdir, &new)?;
    let mut from_comps = Components::new();
    let from = k.vfs.lookup(&old_base, &old, false, |node, comps| {
        let (root, rel) = writable_host(node)?;
        from_comps = comps.clone();
        Ok((root, rel.to_vec()))
    })?;
    // The parent of the destination must exist; resolve it through the namespace.
    let to_comps = k.vfs.resolve(&new_base, &new, false)?;
    let to = match k.vfs.locate(&to_comps)? {
        node @ Node::Host { .. } => {
            let (root, rel) = writable_host(&node)?;
            (root, rel.to_vec())
        }
        _ => return Err(Errno::EBUSY),
    };
    if from.0 != to.0 {
        return Err(Errno::EXDEV);
    }
    let result = host().stream_rename(from.0, &from.1, to.0, &to.1, flags);
    match result {
        Err(Errno::ELOOP) => {
            let walked = k.vfs.resolve(&old_base, &old, false)?;
            let Node::Host { root, rel, .. } = k.vfs.locate(&walked)? else {
                return Err(Errno::EBUSY);
            };
            host().stream_rename(root, &rel, to.0, &to.1, flags)?;
            from_comps = walked;
        }
        r => r?,
    }
    // A working directory moved with its directory (Linux's is the directory, wherever it
    // goes; ours is a path). Other processes of the box keep the old path.
    const RENAME_EXCHANGE: u32 = 2;
    if flags & RENAME_EXCHANGE == 0 && !from_comps.is_empty() && k.cwd.starts_with(&from_comps) {
        let mut moved = to_comps.clone();
        moved.extend(k.cwd[from_comps.len()..].iter().cloned());
        k.cwd = moved;
    }
    Ok(0)
}

/// `rename(old, new)`.
pub fn sys_rename(k: &mut Kernel, a: &Args) -> Result<u64> {
    rename_at(k, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

/// `renameat(olddir, old, newdir, new)`.
pub fn sys_renameat(k: &mut Kernel, a: &Args) -> Result<u64> {
    rename_at(k, a[0], a[1], a[2], a[3], 0)
}

/// `renameat2(olddir, old, newdir, new, flags)`.
pub fn sys_renameat2(k: &mut Kernel, a: &Args) -> Result<u64> {
    rename_at(k, a[0], a[1], a[2], a[3], a[4])
}

fn symlink_at(k: &mut Kernel, target: u64, dirfd: u64, path_ptr: u64) -> Result<u64> {
    let target = user::read_path(target)?;
    let path = user::read_path(path_ptr)?;
    let base = base_dir(k, dirfd, &path)?;
    k.vfs
        .lookup(&base, &path, false, |node, _| {
            let (root, rel) = writable_host(node)?;
            host().stream_make_link(root, rel, LinkTarget::Symbolic(&target))
        })
        .map_err(|e| creation_error(k, &base, &path, e))?;
    Ok(0)
}

/// `linkat(olddirfd, old, newdirfd, new, flags)`: a hard link, within one mount.
fn link_at(
    k: &mut Kernel,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
    flags: u64,
) -> Result<u64> {
    const AT_SYMLINK_FOLLOW: u64 = 0x400;
    let flags = flags & 0xffff_ffff;
    if flags & !(AT_SYMLINK_FOLLOW | u64::from(AT_EMPTY_PATH)) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & u64::from(AT_EMPTY_PATH) != 0 {
        // Linking a descriptor's file needs CAP_DAC_READ_SEARCH, which a box never has.
        return Err(Errno::ENOENT);
    }
    let old = user::read_path(old)?;
    let new = user::read_path(new)?;
    let old_base = base_dir(k, olddir, &old)?;
    let new_base = base_dir(k, newdir, &new)?;
    let from_comps = k
        .vfs
        .resolve(&old_base, &old, flags & AT_SYMLINK_FOLLOW != 0)?;
    let (from_root, from_rel) = match k.vfs.locate(&from_comps)? {
        Node::Host { root, rel, .. } if !rel.is_empty() => (root, rel),
        Node::Host { .. } | Node::Synthetic => return Err(Errno::EPERM),
        _ => return Err(Errno::EXDEV),
    };
    let to_comps = k.vfs.resolve(&new_base, &new, false)?;
    let node = k.vfs.locate(&to_comps)?;
    let (to_root, to_rel) = match &node {
        Node::Host { .. } => writable_host(&node)?,
        _ => return Err(Errno::EEXIST),
    };
    if from_root != to_root {
        return Err(Errno::EXDEV);
    }
    host().stream_make_link(
        to_root,
        to_rel,
        LinkTarget::Hard {
            dir: from_root,
            path: &from_rel,
        },
    )?;
    Ok(0)
}

/// `link(old, new)`.
pub fn sys_link(k: &mut Kernel, a: &Args) -> Result<u64> {
    link_at(k, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

/// `linkat(olddirfd, old, newdirfd, new, flags)`.
pub fn sys_linkat(k: &mut Kernel, a: &Args) -> Result<u64> {
    link_at(k, a[0], a[1], a[2], a[3], a[4])
}

/// `symlink(target, path)`.
pub fn sys_symlink(k: &mut Kernel, a: &Args) -> Result<u64> {
    symlink_at(k, a[0], AT_FDCWD as u64, a[1])
}

/// `symlinkat(target, dirfd, path)`.
pub fn sys_symlinkat(k: &mut Kernel, a: &Args) -> Result<u64> {
    symlink_at(k, a[0], a[1], a[2])
}

fn readlink_at(k: &mut Kernel, dirfd: u64, path_ptr: u64, buf: u64, size: u64) -> Result<u64> {
    let size = usize::try_from(int_arg(size)).map_err(|_| Errno::EINVAL)?;
    if size == 0 {
        return Err(Errno::EINVAL);
    }
    let mut path = user::read_cstr(path_ptr, path::PATH_MAX - 1)?;
    if path == super::exec::PROC_SELF_EXE {
        let n = k.program_name.len().min(size);
        user::write_bytes(buf, &k.program_name[..n])?;
        return Ok(n as u64);
    }
    // An empty path reads the link `dirfd` itself stands for (opened with O_PATH|O_NOFOLLOW).
    let base = if path.is_empty() {
        if int_arg(dirfd) == AT_FDCWD {
            return Err(Errno::ENOENT);
        }
        path = path::join(&k.fds.file(fd_arg(dirfd)?)?.path);
        Vec::new()
    } else {
        base_dir(k, dirfd, &path)?
    };
    let mut out = alloc::vec![0u8; path::PATH_MAX];
    let n = k.vfs.lookup(&base, &path, false, |node, _| match node {
        // A mount's root is a directory, never a link (regression: EBUSY broke realpath).
        Node::Host { rel, .. } if rel.is_empty() => Err(Errno::EINVAL),
        Node::Host { root, rel, .. } => host().stream_read_link(*root, rel, &mut out),
        Node::Proc(p) => {
            let target = match procfs::render(k, p)? {
                Proc::Link(target) => target,
                Proc::Namespace(ns) => ns.link_target(),
                _ => return Err(Errno::EINVAL),
            };
            let n = target.len().min(out.len());
            out[..n].copy_from_slice(&target[..n]);
            Ok(n)
        }
        _ => Err(Errno::EINVAL),
    })?;
    let n = n.min(size);
    user::write_bytes(buf, &out[..n])?;
    Ok(n as u64)
}

/// `readlink(path, buf, size)`.
pub fn sys_readlink(k: &mut Kernel, a: &Args) -> Result<u64> {
    readlink_at(k, AT_FDCWD as u64, a[0], a[1], a[2])
}

/// `readlinkat(dirfd, path, buf, size)`.
pub fn sys_readlinkat(k: &mut Kernel, a: &Args) -> Result<u64> {
    readlink_at(k, a[0], a[1], a[2], a[3])
}

// ------------------------------------------------------------------ contents and metadata

/// `ftruncate(fd, length)`.
pub fn sys_ftruncate(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let len = offset_arg(a[1])?;
    if !file.status().writable() {
        return Err(Errno::EINVAL);
    }
    host().stream_set_length(file.handle().ok_or(Errno::EINVAL)?, len)?;
    Ok(0)
}

/// Opens `path` through the namespace for a metadata change; `O_PATH` unless `flags` say more.
pub(super) fn open_for_change(
    k: &Kernel,
    dirfd: u64,
    path_ptr: u64,
    follow: bool,
    flags: u32,
) -> Result<HostHandle> {
    let path = user::read_path(path_ptr)?;
    let base = base_dir(k, dirfd, &path)?;
    let flags = if follow {
        flags
    } else {
        flags | OpenFlags::NOFOLLOW
    };
    // glibc changes a file it holds by `O_PATH` through `/proc/self/fd/N` (fchmodat with
    // AT_SYMLINK_NOFOLLOW): that names the descriptor's file.
    let path = match follow
        .then(|| descriptor_file_path(k, &base, &path))
        .flatten()
    {
        Some(p) => p,
        None => path,
    };
    k.vfs.lookup(&base, &path, follow, |node, _| match node {
        Node::Host {
            writable: false, ..
        } => {
            node_attr(k, node, &Vec::new(), follow)?;
            Err(Errno::EROFS)
        }
        Node::Host { root, rel, .. } => Ok(HostHandle(host().stream_open(
            *root,
            rel,
            OpenFlags(flags),
            0,
        )?)),
        _ => Err(Errno::EPERM),
    })
}

/// The major number of device number `d` (glibc's `major`).
pub(crate) fn dev_major(d: u64) -> u32 {
    ((d >> 8) & 0xfff | ((d >> 32) & !0xfff)) as u32
}

/// The minor number of device number `d` (glibc's `minor`).
pub(crate) fn dev_minor(d: u64) -> u32 {
    ((d & 0xff) | ((d >> 12) & !0xff)) as u32
}

/// `truncate(path, length)`.
pub fn sys_truncate(k: &mut Kernel, a: &Args) -> Result<u64> {
    let len = offset_arg(a[1])?;
    let h = open_for_change(k, AT_FDCWD as u64, a[0], true, OpenFlags::WRITE.0)?;
    host().stream_set_length(h.0, len)?;
    Ok(0)
}

/// `fsync(fd)`.
pub fn sys_fsync(k: &mut Kernel, a: &Args) -> Result<u64> {
    flush(k, a[0], false)
}

/// `fdatasync(fd)`.
pub fn sys_fdatasync(k: &mut Kernel, a: &Args) -> Result<u64> {
    flush(k, a[0], true)
}

/// `fsync` and `fdatasync`: the host flushes its streams; of the library OS's own files only
/// a directory of the namespace can be synced, the others (devices, `/proc`, epoll and signal
/// files) have nothing to sync: `EINVAL`, as Linux for a file without an `fsync`.
pub(super) fn flush(k: &Kernel, fd: u64, data_only: bool) -> Result<u64> {
    let file = k.fds.file(fd_arg(fd)?)?;
    match (file.handle(), &file.object) {
        (Some(h), _) => host().stream_flush(h, data_only).map(|()| 0),
        (None, FileObject::SyntheticDir) => Ok(0),
        (None, _) => Err(Errno::EINVAL),
    }
}

/// `umask(mask)`.
pub fn sys_umask(k: &mut Kernel, a: &Args) -> Result<u64> {
    let old = k.umask;
    k.umask = u32::try_from(a[0] & 0o777).unwrap_or(0);
    Ok(u64::from(old))
}

fn decode_time(addr: u64) -> Result<Option<Option<Timespec>>> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let sec = user::read_u64(addr)? as i64;
    let nsec = user::read_u64(addr + 8)? as i64;
    match nsec {
        UTIME_OMIT => Ok(None),
        UTIME_NOW => Ok(Some(None)),
        0..=999_999_999 => Ok(Some(Some(Timespec { sec, nsec }))),
        _ => Err(Errno::EINVAL),
    }
}

/// `utimensat(dirfd, path, times, flags)`.
pub fn sys_utimensat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = u32::try_from(a[3] & 0xffff_ffff).unwrap_or(u32::MAX);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let change = if a[2] == 0 {
        TimesChange {
            atime: Some(None),
            mtime: Some(None),
        }
    } else {
        TimesChange {
            atime: decode_time(a[2])?,
            mtime: decode_time(a[2] + 16)?,
        }
    };
    if a[1] == 0 {
        let file = k.fds.file(fd_arg(a[0])?)?;
        host().stream_set_times(file.handle().ok_or(Errno::EPERM)?, change)?;
    } else {
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        let h = open_for_change(k, a[0], a[1], follow, OpenFlags::PATH)?;
        host().stream_set_times(h.0, change)?;
    }
    Ok(0)
}

pub(super) fn chmod_at(k: &mut Kernel, dirfd: u64, path_ptr: u64, mode: u64) -> Result<u64> {
    let mode = u32::try_from(mode & 0o7777).unwrap_or(0);
    let h = open_for_change(k, dirfd, path_ptr, true, OpenFlags::PATH)?;
    host().stream_set_mode(h.0, mode)?;
    Ok(0)
}

/// `chmod(path, mode)`.
pub fn sys_chmod(k: &mut Kernel, a: &Args) -> Result<u64> {
    chmod_at(k, AT_FDCWD as u64, a[0], a[1])
}

/// `fchmodat(dirfd, path, mode)`.
pub fn sys_fchmodat(k: &mut Kernel, a: &Args) -> Result<u64> {
    chmod_at(k, a[0], a[1], a[2])
}

/// `fchmod(fd, mode)`.
pub fn sys_fchmod(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.usable_file(fd_arg(a[0])?)?;
    host().stream_set_mode(
        file.handle().ok_or(Errno::EPERM)?,
        u32::try_from(a[1] & 0o7777).unwrap_or(0),
    )?;
    Ok(0)
}

/// Ownership changes. The host gives a box no way to give files away: the box's root (an
/// effective uid of 0) is answered success and nothing changes (the host file keeps the box's
/// owner, as under Gramine); another user may only "change" to the owner and group a file
/// already has, as on Linux; anything else is `EPERM`.
fn chown_check(k: &Kernel, attr: FileAttr, uid: u64, gid: u64) -> Result<u64> {
    let same = |want: u64, have: u32| int_arg(want) == -1 || want == u64::from(have);
    if k.creds.privileged() || (same(uid, attr.uid) && same(gid, attr.gid)) {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// `chown(path, uid, gid)`.
pub fn sys_chown(k: &mut Kernel, a: &Args) -> Result<u64> {
    chown_check(k, stat_path(k, AT_FDCWD as u64, a[0], 0)?, a[1], a[2])
}

/// `lchown(path, uid, gid)`.
pub fn sys_lchown(k: &mut Kernel, a: &Args) -> Result<u64> {
    chown_check(
        k,
        stat_path(k, AT_FDCWD as u64, a[0], AT_SYMLINK_NOFOLLOW)?,
        a[1],
        a[2],
    )
}

/// `fchown(fd, uid, gid)`.
pub fn sys_fchown(k: &mut Kernel, a: &Args) -> Result<u64> {
    chown_check(
        k,
        file_attr(&*k.fds.usable_file(fd_arg(a[0])?)?)?,
        a[1],
        a[2],
    )
}

/// `fchownat(dirfd, path, uid, gid, flags)`.
pub fn sys_fchownat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = u32::try_from(a[4] & 0xffff_ffff).unwrap_or(0);
    chown_check(k, stat_path(k, a[0], a[1], flags)?, a[2], a[3])
}

/// `ioctl(fd, request, arg)`: terminal attributes, window size and `FIONREAD` only.
pub fn sys_ioctl(k: &mut Kernel, a: &Args) -> Result<u64> {
    const TCGETS: u32 = 0x5401;
    const TIOCGWINSZ: u32 = 0x5413;
    const FIONREAD: u32 = 0x541b;
    const FIONBIO: u32 = 0x5421;
    const FIONCLEX: u32 = 0x5450;
    const FIOCLEX: u32 = 0x5451;
    const FIOASYNC: u32 = 0x5452;
    let file = k.fds.usable_file(fd_arg(a[0])?)?;
    let request = u32::try_from(a[1] & 0xffff_ffff).unwrap_or(0);
    match request {
        FIONBIO => {
            let raw = user::read_bytes(a[2], 4)?;
            let on = raw.iter().any(|b| *b != 0);
            let current = *file.flags.lock();
            let want = if on {
                current | OpenFlags::NONBLOCK
            } else {
                current & !OpenFlags::NONBLOCK
            };
            const F_SETFL: u64 = 4;
            return fcntl_descriptor(k, &[a[0], F_SETFL, u64::from(want), 0, 0, 0]);
        }
        FIOASYNC => {
            let on = user::read_bytes(a[2], 4)?.iter().any(|b| *b != 0);
            let current = *file.flags.lock();
            let want = if on {
                current | O_ASYNC
            } else {
                current & !O_ASYNC
            };
            const F_SETFL: u64 = 4;
            return fcntl_descriptor(k, &[a[0], F_SETFL, u64::from(want), 0, 0, 0]);
        }
        FIOCLEX | FIONCLEX => {
            k.fds.set_cloexec(fd_arg(a[0])?, request == FIOCLEX)?;
            return Ok(0);
        }
        _ => {}
    }
    if let FileObject::Dev(DevNode::Random) = file.object {
        return random_request(request, a[2]);
    }
    if let FileObject::Namespace(ns) = file.object {
        return super::namespaces::request(k, ns, request, a[2]);
    }
    if let Some(result) = socket_request(k, &file, request, a[2]) {
        return result;
    }
    const PROCMAP_QUERY: u32 = 0xc068_6611; // _IOWR('f', 17, struct procmap_query)
    if let (FileObject::Memory(..), PROCMAP_QUERY) = (&file.object, request) {
        if let Some(result) = crate::procfs::maps_query(k, &file.path, a[2]) {
            return result;
        }
    }
    if let Some(result) = terminal_request(k, &file, request, a) {
        return result;
    }
    if let Some(result) = old_terminal_request(&file, request, a[2]) {
        return result;
    }
    let query = match request {
        TCGETS => StreamQuery::TerminalAttributes,
        TIOCGWINSZ => StreamQuery::WindowSize,
        FIONREAD => StreamQuery::BytesAvailable,
        _ => return Err(Errno::ENOTTY),
    };
    let h = match (&file.object, query) {
        (FileObject::Host(h), _) => h.0,
        (FileObject::Dev(_), StreamQuery::BytesAvailable) => {
            user::write_u32(a[2], 0)?;
            return Ok(0);
        }
        _ => return Err(Errno::ENOTTY),
    };
    let mut out = [0u8; 64];
    let n = host().stream_query(h, query, &mut out)?;
    user::write_bytes(a[2], &out[..n])?;
    Ok(0)
}

/// Tells the host who is signalled about `file` (`F_SETOWN`, `F_SETOWN_EX`): a box process,
/// thread or group; the library OS's own files only record it.
fn set_owner(file: &OpenFile, kind: i32, id: u32) -> Result<()> {
    match file.handle() {
        Some(h) => host()
            .stream_set(
                h,
                StreamSetting::Owner {
                    kind: kind as u32,
                    id,
                },
            )
            .map(|_| ()),
        None => Ok(()),
    }
}

/// The socket requests that read (`SIOCATMARK`, `SIOCGIFCONF`, `SIOCGIF*`) and those that
/// change an interface (`SIOCSIF*`: `EPERM`, the box has no `CAP_NET_ADMIN`), on any host
/// stream (the host answers `ENOTTY` for what is not a socket). A box without a network has
/// no interfaces: `SIOCGIFCONF` lists none, and a named one is `ENODEV`. `None` if `request`
/// is none of them.
fn socket_request(k: &Kernel, file: &OpenFile, request: u32, arg: u64) -> Option<Result<u64>> {
    const SIOCATMARK: u32 = 0x8905;
    const SIOCGIFCONF: u32 = 0x8912;
    const INTERFACE_QUESTIONS: [u32; 8] = [
        0x8910, 0x8913, 0x8915, 0x8917, 0x8919, 0x891b, 0x8921, 0x8933,
    ];
    const INTERFACE_CHANGES: [u32; 8] = [
        0x8914, 0x8916, 0x8918, 0x891a, 0x891c, 0x8922, 0x8923, 0x8924,
    ];
    let networked = k.network != picobox_abi::boot::Network::None;
    let h = file.handle();
    Some(match request {
        SIOCATMARK => (|| {
            let h = h.filter(|_| networked).ok_or(Errno::ENOTTY)?;
            let mut out = [0u8; 4];
            host().stream_query(h, StreamQuery::AtMark, &mut out)?;
            user::write_bytes(arg, &out).map(|()| 0)
        })(),
        SIOCGIFCONF => (|| {
            // struct ifconf { int ifc_len; char *ifc_buf; }: with no buffer, the length needed.
            let len = user::read_u32(arg)? as i32;
            let buf = user::read_u64(arg + 8)?;
            let h = h.ok_or(Errno::ENOTTY)?;
            let room = if buf == 0 {
                4096
            } else {
                usize::try_from(len.max(0)).unwrap_or(0)
            };
            let mut out = alloc::vec![0u8; room.min(4096) / 40 * 40];
            let n = if networked {
                host().stream_query(h, StreamQuery::Interfaces, &mut out)?
            } else {
                0
            };
            if buf != 0 {
                user::write_bytes(buf, &out[..n])?;
            }
            user::write_u32(arg, n as u32).map(|()| 0)
        })(),
        r if INTERFACE_QUESTIONS.contains(&r) => (|| {
            let mut ifreq = user::read_bytes(arg, 40)?;
            let h = h.ok_or(Errno::ENOTTY)?;
            if !networked {
                return Err(Errno::ENODEV);
            }
            host().stream_query(h, StreamQuery::Interface(r), &mut ifreq)?;
            user::write_bytes(arg, &ifreq).map(|()| 0)
        })(),
        r if INTERFACE_CHANGES.contains(&r) => user::read_bytes(arg, 40)
            .and_then(|_| h.ok_or(Errno::ENOTTY))
            .and(Err(Errno::EPERM)),
        _ => return None,
    })
}

/// The `RND*` requests of `/dev/random` and `/dev/urandom`: the entropy count (always full,
/// as Linux's since 5.18); changing the pool needs `CAP_SYS_ADMIN`, which no box has.
fn random_request(request: u32, arg: u64) -> Result<u64> {
    const RNDGETENTCNT: u32 = 0x8004_5200;
    const RNDADDTOENTCNT: u32 = 0x4004_5201;
    const RNDADDENTROPY: u32 = 0x4008_5203;
    const RNDZAPENTCNT: u32 = 0x5204;
    const RNDCLEARPOOL: u32 = 0x5206;
    const RNDRESEEDCRNG: u32 = 0x5207;
    match request {
        RNDGETENTCNT => user::write_u32(arg, crate::procfs::ENTROPY_BITS).map(|()| 0),
        RNDADDTOENTCNT | RNDADDENTROPY | RNDZAPENTCNT | RNDCLEARPOOL | RNDRESEEDCRNG => {
            Err(Errno::EPERM)
        }
        // The driver answers every other request (RNDGETPOOL is gone since 2.6.9, and
        // terminal requests) with EINVAL.
        _ => Err(Errno::EINVAL),
    }
}

/// The terminal requests beyond `TCGETS` and `TIOCGWINSZ` (see [`TerminalQuestion`] and
/// [`TerminalChange`]), on the host's terminals: the box's pseudo-terminals and the terminal
/// it was started on. `None` if `request` is none of them.
fn terminal_request(
    k: &mut Kernel,
    file: &OpenFile,
    request: u32,
    a: &Args,
) -> Option<Result<u64>> {
    use TerminalChange as Change;
    use TerminalQuestion as Question;
    const TCSETS: u32 = 0x5402;
    const TCSETSW: u32 = 0x5403;
    const TCSETSF: u32 = 0x5404;
    const TCSBRK: u32 = 0x5409;
    const TCXONC: u32 = 0x540a;
    const TCFLSH: u32 = 0x540b;
    const TIOCEXCL: u32 = 0x540c;
    const TIOCNXCL: u32 = 0x540d;
    const TIOCSCTTY: u32 = 0x540e;
    const TIOCGPGRP: u32 = 0x540f;
    const TIOCSPGRP: u32 = 0x5410;
    const TIOCOUTQ: u32 = 0x5411;
    const TIOCSWINSZ: u32 = 0x5414;
    const TIOCPKT: u32 = 0x5420;
    const TIOCNOTTY: u32 = 0x5422;
    const TIOCGETD: u32 = 0x5424;
    const TIOCGSID: u32 = 0x5429;
    const TIOCGPTN: u32 = 0x8004_5430;
    const TIOCSPTLCK: u32 = 0x4004_5431;
    const TIOCSIG: u32 = 0x4004_5436;
    const TIOCGPKT: u32 = 0x8004_5438;
    const TIOCGPTLCK: u32 = 0x8004_5439;
    const TIOCGEXCL: u32 = 0x8004_5440;
    const TIOCGPTPEER: u32 = 0x5441;
    let int_at = |addr: u64| user::read_u32(addr).map(|v| v as i32);
    let question = match request {
        TIOCGPTN => Some(Question::PtyNumber),
        TIOCGPTLCK => Some(Question::PtyLocked),
        TIOCGPGRP => Some(Question::ForegroundGroup),
        TIOCGSID => Some(Question::Session),
        TIOCOUTQ => Some(Question::OutputPending),
        TIOCGPKT => Some(Question::PacketMode),
        TIOCGEXCL => Some(Question::Exclusive),
        TIOCGETD => Some(Question::LineDiscipline),
        _ => None,
    };
    let change: Option<Result<Change>> = match request {
        TCSETS | TCSETSW | TCSETSF => Some(user::read_bytes(a[2], 36).map(|raw| {
            let mut termios = [0u8; 36];
            termios.copy_from_slice(&raw);
            Change::Attributes {
                when: (request - TCSETS) as u8,
                termios,
            }
        })),
        TIOCSWINSZ => Some(user::read_bytes(a[2], 8).map(|raw| {
            let mut size = [0u8; 8];
            size.copy_from_slice(&raw);
            Change::WindowSize(size)
        })),
        TIOCSPTLCK => Some(int_at(a[2]).map(|v| Change::PtyLock(v != 0))),
        TIOCSPGRP => Some(int_at(a[2]).and_then(|v| {
            u32::try_from(v)
                .map(Change::ForegroundGroup)
                .map_err(|_| Errno::EINVAL)
        })),
        TIOCSCTTY => Some(Ok(Change::BecomeControlling {
            steal: int_arg(a[2]) == 1,
        })),
        TIOCNOTTY => Some(Ok(Change::GiveUpControlling)),
        TCFLSH => Some(Ok(Change::Flush((a[2] & 0xffff_ffff) as u32))),
        TCXONC => Some(Ok(Change::Flow((a[2] & 0xffff_ffff) as u32))),
        TCSBRK => Some(Ok(Change::Break((a[2] & 0xffff_ffff) as u32))),
        TIOCPKT => Some(int_at(a[2]).map(|v| Change::PacketMode(v != 0))),
        TIOCEXCL => Some(Ok(Change::Exclusive(true))),
        TIOCNXCL => Some(Ok(Change::Exclusive(false))),
        TIOCSIG => Some(Ok(Change::Signal((a[2] & 0xffff_ffff) as u32))),
        _ => None,
    };
    if question.is_none() && change.is_none() && request != TIOCGPTPEER {
        return None;
    }
    let Some(h) = file.handle() else {
        return Some(Err(Errno::ENOTTY));
    };
    Some((|| {
        if let Some(q) = question {
            let mut out = [0u8; 4];
            host().stream_query(h, StreamQuery::Terminal(q), &mut out)?;
            user::write_bytes(a[2], &out)?;
            return Ok(0);
        }
        if let Some(c) = change {
            return host().stream_set(h, StreamSetting::Terminal(c?));
        }
        // TIOCGPTPEER: the master's peer, opened by its name with the flags given.
        let mut n = [0u8; 4];
        host().stream_query(h, StreamQuery::Terminal(Question::PtyNumber), &mut n)?;
        let path = alloc::format!("/dev/pts/{}", u32::from_ne_bytes(n)).into_bytes();
        let flags = u32::try_from(a[2] & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
        open_path(k, AT_FDCWD as u64, path, flags, 0)
    })())
}

/// The System V forms of the terminal attribute requests (`TCGETA`, `TCSETA`, `TCSETAW`,
/// `TCSETAF`), whose `struct termio` has 16-bit flags and 8 control characters: translated to
/// and from `struct termios`. `None` if `request` is none of them.
fn old_terminal_request(file: &OpenFile, request: u32, arg: u64) -> Option<Result<u64>> {
    const TCGETA: u32 = 0x5405;
    const TCSETA: u32 = 0x5406;
    const TCSETAF: u32 = 0x5408;
    if !(TCGETA..=TCSETAF).contains(&request) {
        return None;
    }
    Some((|| {
        let h = file.handle().ok_or(Errno::ENOTTY)?;
        let mut termios = [0u8; 64];
        host().stream_query(h, StreamQuery::TerminalAttributes, &mut termios)?;
        // struct termios { u32 iflag, oflag, cflag, lflag; u8 line; u8 cc[19]; ... }
        // struct termio { u16 iflag, oflag, cflag, lflag; u8 line; u8 cc[8]; }
        if request == TCGETA {
            let mut termio = [0u8; 18];
            for i in 0..4 {
                termio[i * 2..i * 2 + 2].copy_from_slice(&termios[i * 4..i * 4 + 2]);
            }
            termio[8..17].copy_from_slice(&termios[16..25]);
            user::write_bytes(arg, &termio)?;
            return Ok(0);
        }
        let termio = user::read_bytes(arg, 18)?;
        let mut new = [0u8; 36];
        new.copy_from_slice(&termios[..36]);
        for i in 0..4 {
            new[i * 4..i * 4 + 2].copy_from_slice(&termio[i * 2..i * 2 + 2]);
        }
        new[16..25].copy_from_slice(&termio[8..17]);
        host().stream_set(
            h,
            StreamSetting::Terminal(TerminalChange::Attributes {
                when: (request - TCSETA) as u8,
                termios: new,
            }),
        )
    })())
}

// ------------------------------------------------------------------ file systems

/// `struct statfs` of a file system the library OS makes up: its magic number and mount flags.
fn made_up_statfs(magic: u64, flags: u64) -> [u8; 120] {
    let mut out = [0u8; 120];
    out[0..8].copy_from_slice(&magic.to_le_bytes());
    out[8..16].copy_from_slice(&4096u64.to_le_bytes()); // f_bsize
    out[64..72].copy_from_slice(&255u64.to_le_bytes()); // f_namelen
    out[72..80].copy_from_slice(&4096u64.to_le_bytes()); // f_frsize
    out[80..88].copy_from_slice(&flags.to_le_bytes());
    out
}

const TMPFS_MAGIC: u64 = 0x0102_1994;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;
const ANON_INODE_FS_MAGIC: u64 = 0x0904_1934;
/// `ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RELATIME`.
const PROC_FLAGS: u64 = 0x2 | 0x4 | 0x8 | 0x400;
/// `ST_NOSUID | ST_RELATIME` (the box's `/dev` and the directories above its mounts).
const DEV_FLAGS: u64 = 0x2 | 0x400;

/// The file system of an open stream of the host, as the host's kernel reports it (the
/// mount's own: tmpfs for `--tmpfs`, the source's file system for a bind, read-only where
/// the mount is).
fn host_statfs(h: Handle) -> Result<[u8; 120]> {
    let mut out = [0u8; 120];
    host().stream_query(h, StreamQuery::FileSystem, &mut out)?;
    Ok(out)
}

/// `statfs(path, buf)`.
pub fn sys_statfs(k: &mut Kernel, a: &Args) -> Result<u64> {
    let path = user::read_path(a[0])?;
    let base = base_dir(k, AT_FDCWD as u64, &path)?;
    let info = k.vfs.lookup(&base, &path, true, |node, _| match node {
        Node::Host { root, rel, .. } => {
            let h = HostHandle(host().stream_open(*root, rel, OpenFlags(OpenFlags::PATH), 0)?);
            host_statfs(h.0)
        }
        Node::Proc(_) => Ok(made_up_statfs(PROC_SUPER_MAGIC, PROC_FLAGS)),
        Node::Dev(_) | Node::Synthetic => Ok(made_up_statfs(TMPFS_MAGIC, DEV_FLAGS)),
    })?;
    user::write_bytes(a[1], &info)?;
    Ok(0)
}

/// `ustat(dev, ubuf)`: the free blocks and inodes of the mounted file system with device
/// number `dev` (as `stat` shows it). Errors: `EINVAL` (no such file system), `EFAULT`.
pub fn sys_ustat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let dev = a[0] & 0xffff_ffff;
    let found = k.vfs.mounts().iter().find_map(|m| {
        let attr = host().stream_attr(m.root).ok()?;
        (attr.dev & 0xffff_ffff == dev).then_some(m.root)
    });
    let info = match found {
        Some(root) => host_statfs(root)?,
        None if dev == VIRTUAL_DEV => made_up_statfs(TMPFS_MAGIC, DEV_FLAGS),
        None => return Err(Errno::EINVAL),
    };
    let field = |at: usize| u64::from_le_bytes(info[at..at + 8].try_into().unwrap_or([0; 8]));
    // struct ustat { daddr_t f_tfree; ino_t f_tinode; char f_fname[6], f_fpack[6]; }
    let mut out = [0u8; 32];
    out[0..4].copy_from_slice(&(field(24) as u32).to_le_bytes());
    out[8..16].copy_from_slice(&field(48).to_le_bytes());
    user::write_bytes(a[1], &out)?;
    Ok(0)
}

/// `fstatfs(fd, buf)`.
pub fn sys_fstatfs(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let info = match &file.object {
        FileObject::Host(h) => host_statfs(h.0)?,
        FileObject::Memory(..) | FileObject::MemoryDir(_) | FileObject::PageMap(_) => {
            made_up_statfs(PROC_SUPER_MAGIC, PROC_FLAGS)
        }
        FileObject::Dev(_) | FileObject::SyntheticDir => made_up_statfs(TMPFS_MAGIC, DEV_FLAGS),
        FileObject::Epoll(_) | FileObject::Signal(_) => made_up_statfs(ANON_INODE_FS_MAGIC, 0),
        FileObject::Namespace(_) => made_up_statfs(super::namespaces::NSFS_MAGIC, 0),
    };
    user::write_bytes(a[1], &info)?;
    Ok(0)
}
