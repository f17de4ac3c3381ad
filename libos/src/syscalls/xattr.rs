//! Extended attributes. The library OS keeps none and passes none to the host: a file has no
//! extended attributes (`ENODATA` for any name, an empty list), and setting one is
//! `EOPNOTSUPP`, as on a file system without them. The path or descriptor is checked first,
//! so a missing file is still `ENOENT` and a bad descriptor `EBADF`.

use super::{fd_arg, Args};
use crate::kernel::Kernel;
use crate::user;
use picobox_abi::{Errno, Result};

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// Longest attribute name Linux accepts (`XATTR_NAME_MAX`).
const XATTR_NAME_MAX: usize = 255;
/// `XATTR_CREATE | XATTR_REPLACE`.
const XATTR_FLAGS: u64 = 0x3;

/// Checks that the file named by `a[0]` exists (following a last link unless `lstat`-like).
fn path_exists(k: &Kernel, a: &Args, follow: bool) -> Result<()> {
    let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
    super::fs::stat_path(k, AT_FDCWD, a[0], flags).map(|_| ())
}

fn fd_exists(k: &Kernel, a: &Args) -> Result<()> {
    k.fds.usable_file(fd_arg(a[0])?).map(|_| ())
}

/// Reads the attribute name at `addr`, checked as Linux checks it.
fn name_arg(addr: u64) -> Result<()> {
    let name = user::read_cstr(addr, XATTR_NAME_MAX + 1)?;
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

fn get(checked: Result<()>, name: u64) -> Result<u64> {
    checked?;
    name_arg(name)?;
    Err(Errno::ENODATA)
}

fn set(checked: Result<()>, name: u64, flags: u64) -> Result<u64> {
    checked?;
    if flags & !XATTR_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    name_arg(name)?;
    Err(Errno::EOPNOTSUPP)
}

/// `getxattr(path, name, value, size)`.
pub fn sys_getxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(path_exists(k, a, true), a[1])
}

/// `lgetxattr(path, name, value, size)`.
pub fn sys_lgetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(path_exists(k, a, false), a[1])
}

/// `fgetxattr(fd, name, value, size)`.
pub fn sys_fgetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(fd_exists(k, a), a[1])
}

/// `listxattr(path, list, size)`: an empty list.
pub fn sys_listxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    path_exists(k, a, true).map(|()| 0)
}

/// `llistxattr(path, list, size)`.
pub fn sys_llistxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    path_exists(k, a, false).map(|()| 0)
}

/// `flistxattr(fd, list, size)`.
pub fn sys_flistxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    fd_exists(k, a).map(|()| 0)
}

/// `setxattr(path, name, value, size, flags)`.
pub fn sys_setxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    set(path_exists(k, a, true), a[1], a[4])
}

/// `lsetxattr(path, name, value, size, flags)`.
pub fn sys_lsetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    set(path_exists(k, a, false), a[1], a[4])
}

/// `fsetxattr(fd, name, value, size, flags)`.
pub fn sys_fsetxattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    set(fd_exists(k, a), a[1], a[4])
}

/// `removexattr(path, name)`: there is nothing to remove.
pub fn sys_removexattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(path_exists(k, a, true), a[1])
}

/// `lremovexattr(path, name)`.
pub fn sys_lremovexattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(path_exists(k, a, false), a[1])
}

/// `fremovexattr(fd, name)`.
pub fn sys_fremovexattr(k: &mut Kernel, a: &Args) -> Result<u64> {
    get(fd_exists(k, a), a[1])
}
