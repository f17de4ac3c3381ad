//! Extended attributes. A file of the host's (beneath a mount, or an open host stream) has the
//! host's: the calls go to the host on a descriptor of that file (`stream_query(Attribute)`,
//! `stream_set(Attribute)`), so the kernel checks permissions, namespaces and sizes, and a
//! read-only mount is `EROFS`. The library OS's own files (`/proc`, its devices, epoll and
//! signal files) have none: `ENODATA` for any name, an empty list, and `EOPNOTSUPP` to set one.
//!
//! Arguments are checked in Linux's order: flags, the name (`ERANGE`), the value's size
//! (`E2BIG`), then the file.

use super::{fd_arg, Args};
use crate::fd::{FileObject, HostHandle};
use crate::kernel::{host, Kernel};
use crate::user;
use crate::vfs::Node;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use picobox_abi::{Errno, OpenFlags, Result, StreamQuery, StreamSetting};

const AT_FDCWD: u64 = -100i64 as u64;
/// Longest attribute name Linux accepts (`XATTR_NAME_MAX`).
const XATTR_NAME_MAX: usize = 255;
/// Largest value (`XATTR_SIZE_MAX`) and name list (`XATTR_LIST_MAX`) Linux handles.
const XATTR_SIZE_MAX: usize = 65536;
/// `XATTR_CREATE | XATTR_REPLACE`.
const XATTR_FLAGS: u64 = 0x3;

/// The file a call works on.
enum Target {
    /// A host file: a descriptor the call opened, or the open file's own stream.
    Opened(HostHandle),
    Open(Arc<crate::fd::OpenFile>),
    /// A file of the library OS's, which has no attributes.
    Own,
    /// A host link or socket: no attributes the box may read or change (Linux keeps `user.*`
    /// to regular files and directories: `ENODATA` to read, `EPERM` to change).
    Special,
}

impl Target {
    fn handle(&self) -> Option<picobox_abi::Handle> {
        match self {
            Target::Opened(h) => Some(h.0),
            Target::Open(file) => file.handle(),
            Target::Own | Target::Special => None,
        }
    }

    /// What a change of an attribute of a file without a host descriptor gets: `own` for the
    /// library OS's files, `EPERM` for links and sockets.
    fn refusal(&self, own: Errno) -> Errno {
        match self {
            Target::Special => Errno::EPERM,
            _ => own,
        }
    }
}

/// The file named by the path at `a[0]` (its last link followed if `follow`), opened
/// without blocking for the call. A host file that cannot be opened for reading is tried for
/// writing when `writing`; a link or socket that cannot be opened at all has no attributes
/// the box may touch (Linux refuses `user.*` on them).
fn path_target(k: &Kernel, a: &Args, follow: bool, writing: bool) -> Result<Target> {
    let path = user::read_path(a[0])?;
    let base = super::fs::base_dir(k, AT_FDCWD, &path)?;
    k.vfs.lookup(&base, &path, follow, |node, _| match node {
        Node::Host { root, rel, .. } => {
            let mut flags = OpenFlags::NONBLOCK;
            if !follow {
                flags |= OpenFlags::NOFOLLOW;
            }
            let open = |access: u32| host().stream_open(*root, rel, OpenFlags(flags | access), 0);
            match open(0) {
                Ok(h) => Ok(Target::Opened(HostHandle(h))),
                Err(Errno::EACCES) if writing => open(OpenFlags::WRITE.0)
                    .map(|h| Target::Opened(HostHandle(h)))
                    .map_err(|_| Errno::EACCES),
                Err(Errno::ELOOP) if !follow => Ok(Target::Special),
                Err(Errno::ENXIO) => Ok(Target::Special),
                Err(e) => Err(e),
            }
        }
        _ => Ok(Target::Own),
    })
}

/// The open file at descriptor `a[0]` (not an `O_PATH` one: `EBADF`, as Linux).
fn fd_target(k: &Kernel, a: &Args) -> Result<Target> {
    let file = k.fds.usable_file(fd_arg(a[0])?)?;
    Ok(match &file.object {
        FileObject::Host(_) => Target::Open(file),
        _ => Target::Own,
    })
}

/// Reads the attribute name at `addr`, checked as Linux checks it.
fn name_arg(addr: u64) -> Result<Vec<u8>> {
    let name = user::read_cstr(addr, XATTR_NAME_MAX + 1)?;
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// `*getxattr`: the value, into `value` (`a[2]`, `a[3]` bytes; 0 asks only for its length).
fn get(k: &Kernel, a: &Args, target: impl FnOnce(&Kernel, &Args) -> Result<Target>) -> Result<u64> {
    let name = name_arg(a[1])?;
    let target = target(k, a)?; // held open until the call is made
    let Some(h) = target.handle() else {
        return Err(Errno::ENODATA);
    };
    let mut buf = vec![0u8; (a[3] as usize).min(XATTR_SIZE_MAX)];
    let n = host().stream_query(h, StreamQuery::Attribute(&name), &mut buf)?;
    if !buf.is_empty() {
        user::write_bytes(a[2], &buf[..n])?;
    }
    Ok(n as u64)
}

/// `*listxattr`: the names, into `list` (`a[1]`, `a[2]` bytes; 0 asks only for the length).
fn list(
    k: &Kernel,
    a: &Args,
    target: impl FnOnce(&Kernel, &Args) -> Result<Target>,
) -> Result<u64> {
    let target = target(k, a)?; // held open until the call is made
    let Some(h) = target.handle() else {
        return Ok(0);
    };
    let mut buf = vec![0u8; (a[2] as usize).min(XATTR_SIZE_MAX)];
    let n = host().stream_query(h, StreamQuery::AttributeNames, &mut buf)?;
    if !buf.is_empty() {
        user::write_bytes(a[1], &buf[..n])?;
    }
    Ok(n as u64)
}

/// `*setxattr`: `a[3]` bytes at `a[2]` as the value of name `a[1]`, with flags `a[4]`.
fn set(k: &Kernel, a: &Args, target: impl FnOnce(&Kernel, &Args) -> Result<Target>) -> Result<u64> {
    if a[4] & !XATTR_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let name = name_arg(a[1])?;
    let len = a[3] as usize;
    if len > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = if len == 0 {
        Vec::new()
    } else {
        user::read_bytes(a[2], len)?
    };
    let target = target(k, a)?; // held open until the call is made
    let Some(h) = target.handle() else {
        return Err(target.refusal(Errno::EOPNOTSUPP));
    };
    host().stream_set(
        h,
        StreamSetting::Attribute {
            name: &name,
            value: Some(&value),
            flags: a[4] as u32,
        },
    )?;
    Ok(0)
}

/// `*removexattr`: removes name `a[1]`.
fn remove(
    k: &Kernel,
    a: &Args,
    target: impl FnOnce(&Kernel, &Args) -> Result<Target>,
) -> Result<u64> {
    let name = name_arg(a[1])?;
    let target = target(k, a)?; // held open until the call is made
    let Some(h) = target.handle() else {
        return Err(target.refusal(Errno::ENODATA));
    };
    host().stream_set(
        h,
        StreamSetting::Attribute {
            name: &name,
            value: None,
            flags: 0,
        },
    )?;
    Ok(0)
}

fn reading(follow: bool) -> impl FnOnce(&Kernel, &Args) -> Result<Target> {
    move |k, a| path_target(k, a, follow, false)
}

fn writing(follow: bool) -> impl FnOnce(&Kernel, &Args) -> Result<Target> {
    move |k, a| path_target(k, a, follow, true)
}

/// `getxattr(path, name, value, size)`.
pub fn sys_getxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(k, a, reading(true))
}

/// `lgetxattr(path, name, value, size)`.
pub fn sys_lgetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(k, a, reading(false))
}

/// `fgetxattr(fd, name, value, size)`.
pub fn sys_fgetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(k, a, fd_target)
}

/// `listxattr(path, list, size)`.
pub fn sys_listxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    list(k, a, reading(true))
}

/// `llistxattr(path, list, size)`.
pub fn sys_llistxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    list(k, a, reading(false))
}

/// `flistxattr(fd, list, size)`.
pub fn sys_flistxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    list(k, a, fd_target)
}

/// `setxattr(path, name, value, size, flags)`.
pub fn sys_setxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    set(k, a, writing(true))
}

/// `lsetxattr(path, name, value, size, flags)`.
pub fn sys_lsetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    set(k, a, writing(false))
}

/// `fsetxattr(fd, name, value, size, flags)`.
pub fn sys_fsetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    set(k, a, fd_target)
}

/// `removexattr(path, name)`.
pub fn sys_removexattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    remove(k, a, writing(true))
}

/// `lremovexattr(path, name)`.
pub fn sys_lremovexattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    remove(k, a, writing(false))
}

/// `fremovexattr(fd, name)`.
pub fn sys_fremovexattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    remove(k, a, fd_target)
}
