//! File handles (`name_to_handle_at`, `open_by_handle_at`). A handle the library OS makes
//! names a file by its inode number, in the form `FILEID_INO32_GEN` or `FILEID_INO64_GEN`
//! (generation 0), with the mount id `/proc/self/mountinfo` shows. Opening by handle needs
//! `CAP_DAC_READ_SEARCH`, which no box holds: `EPERM` after Linux's argument checks.

use super::fs::{base_dir, node_attr};
use super::{fd_arg, int_arg, Args};
use crate::kernel::Kernel;
use crate::user;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileAttr, Result};

const AT_HANDLE_MNT_ID_UNIQUE: u32 = 0x001;
const AT_HANDLE_CONNECTABLE: u32 = 0x002;
const AT_HANDLE_FID: u32 = 0x200;
const AT_SYMLINK_FOLLOW: u32 = 0x400;
const AT_EMPTY_PATH: u32 = 0x1000;
/// `MAX_HANDLE_SZ`.
const MAX_HANDLE_SZ: u32 = 128;
/// `FILEID_INO32_GEN`, `FILEID_INO64_GEN`.
const FILEID_INO32_GEN: i32 = 1;
const FILEID_INO64_GEN: i32 = 0x81;

/// The file `a[0]`/`a[1]` names, as `name_to_handle_at` resolves it, with its mount's id.
fn resolve(k: &Kernel, a: &Args, flags: u32) -> Result<(FileAttr, u32)> {
    if flags & AT_EMPTY_PATH != 0 && user::read_cstr(a[1], crate::path::PATH_MAX)?.is_empty() {
        let (attr, path) = if int_arg(a[0]) == -100 {
            let node = k.vfs.locate(&k.cwd)?;
            (node_attr(k, &node, &k.cwd, true)?, k.cwd.clone())
        } else {
            let file = k.fds.file(fd_arg(a[0])?)?;
            (super::fs::file_attr(&file)?, file.path.clone())
        };
        return Ok((attr, crate::procfs::mount_id(k, &path)));
    }
    let path = user::read_path(a[1])?;
    let base = base_dir(k, a[0], &path)?;
    let follow = flags & AT_SYMLINK_FOLLOW != 0;
    k.vfs.lookup(&base, &path, follow, |node, comps| {
        Ok((
            node_attr(k, node, comps, follow)?,
            crate::procfs::mount_id(k, comps),
        ))
    })
}

/// `name_to_handle_at(dirfd, path, handle, mount_id, flags)`.
pub fn sys_name_to_handle_at(k: &mut Kernel, a: &Args) -> Result<u64> {
    let flags = a[4] as u32;
    let known = AT_SYMLINK_FOLLOW
        | AT_EMPTY_PATH
        | AT_HANDLE_FID
        | AT_HANDLE_MNT_ID_UNIQUE
        | AT_HANDLE_CONNECTABLE;
    if int_arg(a[4]) < 0 || flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    // A handle for identification only cannot also be one to reconnect a path from.
    if flags & (AT_HANDLE_FID | AT_HANDLE_CONNECTABLE) == AT_HANDLE_FID | AT_HANDLE_CONNECTABLE {
        return Err(Errno::EINVAL);
    }
    let (attr, mount) = resolve(k, a, flags)?;
    // struct file_handle { u32 handle_bytes; int handle_type; unsigned char f_handle[]; }
    let room = user::read_u32(a[2])?;
    if room > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    let (kind, mut bytes): (i32, Vec<u8>) = match u32::try_from(attr.ino) {
        Ok(ino) => (FILEID_INO32_GEN, ino.to_ne_bytes().to_vec()),
        Err(_) => (FILEID_INO64_GEN, attr.ino.to_ne_bytes().to_vec()),
    };
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // the generation
    let needed = bytes.len() as u32;
    // As Linux: the mount id is written even when the handle does not fit, then the handle's
    // header (with the size it needs), and its bytes if they fit; a bad pointer wins.
    let mount_written = if flags & AT_HANDLE_MNT_ID_UNIQUE != 0 {
        user::write_u64(a[3], u64::from(mount))
    } else {
        user::write_u32(a[3], mount)
    };
    let fits = room >= needed;
    let mut out = Vec::with_capacity(8 + bytes.len());
    out.extend_from_slice(&needed.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    if fits {
        out.extend_from_slice(&bytes);
    }
    mount_written?;
    user::write_bytes(a[2], &out)?;
    if !fits {
        return Err(Errno::EOVERFLOW);
    }
    Ok(0)
}

/// `open_by_handle_at(mount_fd, handle, flags)`: `EPERM` (the box lacks
/// `CAP_DAC_READ_SEARCH`) once the handle's size and the descriptor are checked.
pub fn sys_open_by_handle_at(k: &mut Kernel, a: &Args) -> Result<u64> {
    let size = user::read_u32(a[1])?;
    if size == 0 || size > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    if int_arg(a[0]) != -100 {
        k.fds.file(fd_arg(a[0])?)?;
    }
    Err(Errno::EPERM)
}
