//! The box's file-system namespace: declared mounts of host directories, the virtual devices of
//! `/dev`, and synthetic directories that lead to mount points.
//!
//! Paths are resolved here, in the guest's namespace: symbolic links are followed by the
//! library OS (so an absolute link target means the box's `/`, not the host's), and every
//! request that reaches the host names a path beneath one mount's root with no symbolic link
//! left in it. The host opens it with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, and Landlock
//! confines the picoprocess to the mounts whatever the library OS does.

use crate::kernel::host;
use crate::path::{self, Components};
use alloc::vec::Vec;
use picobox_abi::{boot::BootMount, Errno, FileKind, Handle, Result};

/// Most symbolic links followed in one lookup (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// A host directory visible in the box.
#[derive(Clone, Debug)]
pub struct Mount {
    /// Where it appears in the box.
    pub at: Components,
    /// The host directory, opened by the monitor.
    pub root: Handle,
    /// Whether the box may change its contents.
    pub writable: bool,
}

/// A device the library OS implements itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DevNode {
    /// `/dev/null`.
    Null,
    /// `/dev/zero`.
    Zero,
    /// `/dev/urandom` and `/dev/random`.
    Random,
}

impl DevNode {
    const ALL: [(&'static [u8], DevNode); 4] = [
        (b"null", DevNode::Null),
        (b"zero", DevNode::Zero),
        (b"random", DevNode::Random),
        (b"urandom", DevNode::Random),
    ];

    /// The device number Linux gives it (`makedev(1, minor)`).
    pub fn rdev(self) -> u64 {
        let minor = match self {
            DevNode::Null => 3,
            DevNode::Zero => 5,
            DevNode::Random => 9,
        };
        (1 << 8) | minor
    }
}

/// What a resolved guest path names.
#[derive(Clone, Debug)]
pub enum Node {
    /// Something beneath a mount: `rel` is relative to `root` (empty for the root itself).
    Host {
        /// The mount's root directory.
        root: Handle,
        /// Path beneath it.
        rel: Vec<u8>,
        /// Whether the mount is writable.
        writable: bool,
    },
    /// A virtual device.
    Dev(DevNode),
    /// A directory that exists only because mount points (or `/dev`) lie beneath it.
    Synthetic,
}

/// The mount table.
pub struct Vfs {
    mounts: Vec<Mount>,
}

impl Vfs {
    /// Builds the table from the monitor's mounts. Later mounts shadow earlier ones.
    pub fn new(boot_mounts: &[BootMount]) -> Result<Vfs> {
        let mut mounts = Vec::new();
        for m in boot_mounts {
            mounts.push(Mount {
                at: path::normalize(&m.guest_path)?,
                root: m.root,
                writable: m.writable,
            });
        }
        Ok(Vfs { mounts })
    }

    /// Says what an absolute, symlink-free path names, without asking the host.
    pub fn locate(&self, p: &Components) -> Result<Node> {
        if p.len() == 2 && p[0] == b"dev" {
            if let Some((_, dev)) = DevNode::ALL.iter().find(|(n, _)| *n == p[1].as_slice()) {
                return Ok(Node::Dev(*dev));
            }
        }
        let best = self
            .mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| p.starts_with(&m.at))
            .max_by_key(|(i, m)| (m.at.len(), *i));
        if let Some((_, m)) = best {
            return Ok(Node::Host {
                root: m.root,
                rel: path::join_relative(&p[m.at.len()..]),
                writable: m.writable,
            });
        }
        if p.is_empty()
            || p.as_slice() == [b"dev".to_vec()]
            || self.mounts.iter().any(|m| m.at.starts_with(p))
        {
            return Ok(Node::Synthetic);
        }
        Err(Errno::ENOENT)
    }

    /// Names that appear in the synthetic directory `dir` (mount points and `dev`), sorted.
    pub fn synthetic_children(&self, dir: &Components) -> Vec<Vec<u8>> {
        let mut names: Vec<Vec<u8>> = self
            .mounts
            .iter()
            .filter(|m| m.at.len() > dir.len() && m.at.starts_with(dir))
            .map(|m| m.at[dir.len()].clone())
            .collect();
        if dir.is_empty() {
            names.push(b"dev".to_vec());
        }
        if dir.as_slice() == [b"dev".to_vec()] {
            names.extend(DevNode::ALL.iter().map(|(n, _)| n.to_vec()));
        }
        names.sort();
        names.dedup();
        names
    }

    /// Resolves `path` (relative to `base` unless absolute) in the guest's namespace, then runs
    /// `op` on what it names. The common case costs one host call: `op` is tried on the lexical
    /// path first, and only if the host met a symbolic link (`ELOOP`) or the path has `..` is the
    /// path walked component by component.
    pub fn lookup<T>(
        &self,
        base: &Components,
        path: &[u8],
        follow_last: bool,
        mut op: impl FnMut(&Node, &Components) -> Result<T>,
    ) -> Result<T> {
        let absolute = path.first() == Some(&b'/');
        let parts = path::split(path)?;
        if !parts.iter().any(|c| *c == b"..") {
            let mut comps: Components = if absolute { Vec::new() } else { base.clone() };
            comps.extend(parts.iter().filter(|c| **c != b".").map(|c| c.to_vec()));
            match op(&self.locate(&comps)?, &comps) {
                Err(Errno::ELOOP) => {}
                other => return other,
            }
        }
        let comps = self.resolve(base, path, follow_last)?;
        op(&self.locate(&comps)?, &comps)
    }

    /// Walks `path` component by component, following symbolic links as Linux does.
    pub fn resolve(&self, base: &Components, path: &[u8], follow_last: bool) -> Result<Components> {
        let mut done: Components = if path.first() == Some(&b'/') {
            Vec::new()
        } else {
            base.clone()
        };
        let mut pending: Vec<Vec<u8>> = path::split(path)?
            .iter()
            .rev()
            .map(|c| c.to_vec())
            .collect();
        let mut links = 0;
        while let Some(c) = pending.pop() {
            match c.as_slice() {
                b"." => continue,
                b".." => {
                    done.pop();
                    continue;
                }
                _ => done.push(c),
            }
            let is_last = pending.is_empty();
            if is_last && !follow_last {
                break;
            }
            let Node::Host { root, rel, .. } = self.locate(&done)? else {
                continue;
            };
            let attr = match host().stream_attr_at(root, &rel, false) {
                Ok(a) => a,
                Err(Errno::ENOENT) if is_last => break,
                Err(e) => return Err(e),
            };
            match attr.kind {
                FileKind::Symlink => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let mut buf = alloc::vec![0u8; path::PATH_MAX];
                    let n = host().stream_read_link(root, &rel, &mut buf)?;
                    let target = &buf[..n];
                    done.pop();
                    if target.first() == Some(&b'/') {
                        done.clear();
                    }
                    for part in path::split(target)?.iter().rev() {
                        pending.push(part.to_vec());
                    }
                }
                FileKind::Directory => {}
                _ if !is_last => return Err(Errno::ENOTDIR),
                _ => {}
            }
        }
        Ok(done)
    }
}
