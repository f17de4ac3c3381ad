//! Unix socket path names: how a name in the box's file system becomes a name the kernel can
//! reach, and back.
//!
//! The box's paths are the library OS's, not the kernel's, so a program's `bind("/tmp/s")`
//! cannot be handed to the host as it is. Instead:
//!
//! - `bind` creates a socket inode at the program's path (through the box's mounts, so
//!   `ls -l`, `stat`, `unlink` and `rename` see it as on Linux), then binds the host socket to a
//!   name derived from that inode, `/<dev>-<ino>` in hexadecimal, in the box's *socket root*:
//!   the empty, box-private directory the PAL's process has as its root directory.
//! - `connect` and `sendto` look the program's path up, and if it is a socket, use the same
//!   derived name. Whichever process of the box bound it, the inode gives the same name.
//! - Addresses coming back (`getsockname`, `getpeername`, `accept`, `recvfrom`) are translated
//!   back through a note `bind` leaves beside the socket (`<dev>-<ino>.path`, see
//!   `socket_root.rs`) holding the path as the program gave it (Linux reports it so).
//!
//! Security does not rest on this module: whatever name a (compromised) library OS passes, the
//! kernel resolves it inside the socket root, where only the box's own sockets exist.
//! Abstract names and unnamed addresses pass through untouched.

use super::fs::{base_dir, node_attr, writable_host};
use crate::kernel::{host, with, Kernel};
use crate::socket_root;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileKind, Handle, Result};

const AF_UNIX: u16 = 1;
/// `offsetof(struct sockaddr_un, sun_path)`.
const PATH_OFFSET: usize = 2;
/// `sizeof(sun_path)`.
const PATH_MAX: usize = 108;

/// The path name in a Unix address, if it is one (not another family, unnamed or abstract).
pub(crate) fn path_name(addr: &[u8]) -> Option<&[u8]> {
    let family = u16::from_le_bytes([*addr.first()?, *addr.get(1)?]);
    if family != AF_UNIX {
        return None;
    }
    let path = addr.get(PATH_OFFSET..)?;
    let path = &path[..path.len().min(PATH_MAX)];
    let path = &path[..path.iter().position(|b| *b == 0).unwrap_or(path.len())];
    (!path.is_empty()).then_some(path)
}

/// A Unix address naming `path`, as the kernel returns them (NUL-terminated).
fn address_of(path: &[u8]) -> Vec<u8> {
    let mut a = AF_UNIX.to_le_bytes().to_vec();
    a.extend_from_slice(path);
    a.push(0);
    a
}

/// The name in the socket root for the socket inode `(dev, ino)`.
fn root_name(dev: u64, ino: u64) -> Vec<u8> {
    alloc::format!("/{dev:x}-{ino:x}").into_bytes()
}

/// A bind in progress: the socket inode made for it, to be removed if the bind fails.
pub(super) struct PendingBind {
    /// The address to pass to the host.
    pub host_addr: Vec<u8>,
    inode: Option<(Handle, Vec<u8>)>,
    /// What a snapshot needs to bind the socket again: its file and the path as given.
    bound: Option<crate::snapshot::BoundName>,
}

impl PendingBind {
    /// Records a bind that succeeded, for a snapshot.
    pub fn done(self, k: &mut Kernel) {
        if let (Some(bound), Some(name)) = (self.bound, path_name(&self.host_addr)) {
            k.unix_bound.insert(name.to_vec(), bound);
        }
    }

    /// Takes the socket inode back after a failed bind.
    pub fn undo(self) {
        if let Some((root, rel)) = self.inode {
            let _ = host().stream_delete(root, &rel, false);
        }
    }
}

/// Prepares `bind(addr)`: for a path name, creates the socket inode (Linux's `EADDRINUSE` if
/// the path exists), leaves the note for the way back, and returns the name in the socket root
/// to bind.
pub(super) fn prepare_bind(k: &mut Kernel, addr: Vec<u8>) -> Result<PendingBind> {
    let Some(path) = path_name(&addr).map(<[u8]>::to_vec) else {
        return Ok(PendingBind {
            host_addr: addr,
            inode: None,
            bound: None,
        });
    };
    let base = base_dir(k, super::fs::AT_FDCWD as u64, &path)?;
    let perm = 0o777 & !k.umask;
    let (root, rel, attr) = k.vfs.lookup(&base, &path, false, |node, _| {
        let (root, rel) = writable_host(node)?;
        host()
            .stream_make_node(root, rel, FileKind::Socket, perm)
            .map_err(|e| {
                if e == Errno::EEXIST {
                    Errno::EADDRINUSE
                } else {
                    e
                }
            })?;
        let attr = host().stream_attr_at(root, rel, false)?;
        Ok((root, rel.to_vec(), attr))
    })?;
    let name = root_name(attr.dev, attr.ino);
    // The inode is new, so a host name already made from it is a leftover of a socket whose
    // file is gone (the inode number was reused): it goes, and the note is rewritten.
    socket_root::remove(entry_name(&name));
    socket_root::write_note(&note_name(&name), &path)?;
    Ok(PendingBind {
        host_addr: address_of(&name),
        bound: Some(crate::snapshot::BoundName {
            root: root.0,
            rel: rel.clone(),
            given: path,
            mode: perm,
        }),
        inode: Some((root, rel)),
    })
}

/// Where `connect` or `sendto` goes, as the host must be told.
pub(super) struct Destination {
    /// The address to pass to the host.
    pub host_addr: Vec<u8>,
    named: bool,
}

impl Destination {
    /// The error Linux gives for the host's `err`: a socket file whose name is missing from
    /// the socket root has no socket bound to it (a leftover, or a host socket): refused.
    pub fn error(&self, err: Errno) -> Errno {
        if self.named && err == Errno::ENOENT {
            Errno::ECONNREFUSED
        } else {
            err
        }
    }
}

/// The destination of `connect(addr)` or `sendto(addr)`: for a path name, the socket root's
/// name for the socket file found there. Errors as Linux: `ENOENT` (no such path),
/// `ECONNREFUSED` (not a socket). Takes the library OS's lock.
pub(super) fn destination(addr: Vec<u8>) -> Result<Destination> {
    let Some(path) = path_name(&addr).map(<[u8]>::to_vec) else {
        return Ok(Destination {
            host_addr: addr,
            named: false,
        });
    };
    with(|k| {
        let base = base_dir(k, super::fs::AT_FDCWD as u64, &path)?;
        let attr = k.vfs.lookup(&base, &path, true, |node, comps| {
            node_attr(k, node, comps, true)
        })?;
        if attr.kind != FileKind::Socket {
            return Err(Errno::ECONNREFUSED);
        }
        Ok(Destination {
            host_addr: address_of(&root_name(attr.dev, attr.ino)),
            named: true,
        })
    })?
}

/// An address from the host as the program should see it: a socket-root name becomes the
/// box path it was bound by (from the note), or unnamed if there is no note.
pub(super) fn guest_address(addr: &[u8]) -> Vec<u8> {
    let Some(name) = path_name(addr) else {
        return addr.to_vec();
    };
    let mut path = [0u8; PATH_MAX];
    match socket_root::read_note(&note_name(name), &mut path) {
        Ok(n) => address_of(&path[..n.min(PATH_MAX)]),
        Err(_) => AF_UNIX.to_le_bytes().to_vec(),
    }
}

/// The entry of socket-root name `name` (`/<dev>-<ino>`), without the root's slash.
fn entry_name(name: &[u8]) -> &[u8] {
    name.strip_prefix(b"/").unwrap_or(name)
}

/// The note beside socket-root name `name`: `<dev>-<ino>.path`.
fn note_name(name: &[u8]) -> Vec<u8> {
    let mut note = entry_name(name).to_vec();
    note.extend_from_slice(b".path");
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_are_told_apart_from_abstract_and_unnamed() {
        assert_eq!(path_name(b"\x01\x00/tmp/s\x00junk"), Some(&b"/tmp/s"[..]));
        assert_eq!(path_name(b"\x01\x00\x00abstract"), None);
        assert_eq!(path_name(b"\x01\x00"), None);
        assert_eq!(path_name(b"\x02\x00/tmp/s"), None);
        assert_eq!(path_name(b"\x01"), None);
        let long = [b'a'; 200];
        let mut addr = b"\x01\x00".to_vec();
        addr.extend_from_slice(&long);
        assert_eq!(path_name(&addr).map(<[u8]>::len), Some(PATH_MAX));
    }

    #[test]
    fn root_names_fit_in_sun_path() {
        let n = root_name(u64::MAX, u64::MAX);
        assert!(n.len() < PATH_MAX, "{}", n.len());
        assert_eq!(address_of(b"/x"), b"\x01\x00/x\x00");
    }
}
