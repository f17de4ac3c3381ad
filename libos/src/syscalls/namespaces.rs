//! The box's namespaces as its processes see them: one of each kind, shared by every process
//! of the box, with the box's user namespace at the top (its parent and its owner lie outside
//! the box, as a container's do). `/proc/PID/ns/NAME` links to them; opened, each is a file of
//! Linux's nsfs that `fstat` (inode numbers compare equal within the box), the `NS_GET_*`
//! requests of `ioctl` and `setns` understand.
//!
//! The box has no namespaces of its own to make (`unshare`, `clone`'s `CLONE_NEW*`), so
//! `setns` can only join the namespace the caller is in already: what Linux allows of that is
//! allowed (and changes nothing), what it refuses is refused with its errno.

use super::{fd_arg, int_arg, Args};
use crate::fd::{FdEntry, FileObject, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use alloc::format;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileAttr, FileKind, OpenFlags, Result};

/// A kind of namespace (each kind has one namespace in the box).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// Control groups (`cgroup`).
    Cgroup,
    /// System V IPC and POSIX message queues (`ipc`).
    Ipc,
    /// Mounts (`mnt`).
    Mount,
    /// Network devices, addresses and ports (`net`).
    Net,
    /// Process ids (`pid`).
    Pid,
    /// Clock offsets (`time`).
    Time,
    /// User and group ids and capabilities (`user`).
    User,
    /// Host and domain names (`uts`).
    Uts,
}

/// The entries of `/proc/PID/ns`, in Linux's order; the `_for_children` ones name the same
/// namespace as the caller's own, since the box makes no new ones.
pub const ENTRIES: [(&str, Namespace); 10] = [
    ("cgroup", Namespace::Cgroup),
    ("ipc", Namespace::Ipc),
    ("mnt", Namespace::Mount),
    ("net", Namespace::Net),
    ("pid", Namespace::Pid),
    ("pid_for_children", Namespace::Pid),
    ("time", Namespace::Time),
    ("time_for_children", Namespace::Time),
    ("user", Namespace::User),
    ("uts", Namespace::Uts),
];

/// The device of Linux's nsfs (0:4, where a Linux booted as this one mounts it).
const NSFS_DEV: u64 = 4;
/// `NSFS_MAGIC`, what `fstatfs` of a namespace file says.
pub const NSFS_MAGIC: u64 = 0x6e73_6673;
/// Namespace flags (`CLONE_NEW*`) that `setns` of a pidfd may combine.
const ALL_KINDS: u32 = 0x7e02_0080;

impl Namespace {
    /// The namespace `/proc/PID/ns/NAME` names.
    pub fn by_entry(name: &[u8]) -> Option<Namespace> {
        ENTRIES
            .iter()
            .find(|(entry, _)| entry.as_bytes() == name)
            .map(|(_, ns)| *ns)
    }

    /// Its name in a link target (`uts:[4026531838]`).
    fn name(self) -> &'static str {
        match self {
            Namespace::Cgroup => "cgroup",
            Namespace::Ipc => "ipc",
            Namespace::Mount => "mnt",
            Namespace::Net => "net",
            Namespace::Pid => "pid",
            Namespace::Time => "time",
            Namespace::User => "user",
            Namespace::Uts => "uts",
        }
    }

    /// Its inode number (Linux's numbers for the first namespaces of each kind).
    pub fn inode(self) -> u64 {
        match self {
            Namespace::Cgroup => 4026531835,
            Namespace::Ipc => 4026531839,
            Namespace::Mount => 4026531841,
            Namespace::Net => 4026531840,
            Namespace::Pid => 4026531836,
            Namespace::Time => 4026531834,
            Namespace::User => 4026531837,
            Namespace::Uts => 4026531838,
        }
    }

    /// Its `CLONE_NEW*` flag (`NS_GET_NSTYPE`, `setns`'s `nstype`).
    fn clone_flag(self) -> u32 {
        match self {
            Namespace::Cgroup => 0x0200_0000,
            Namespace::Ipc => 0x0800_0000,
            Namespace::Mount => 0x0002_0000,
            Namespace::Net => 0x4000_0000,
            Namespace::Pid => 0x2000_0000,
            Namespace::Time => 0x0000_0080,
            Namespace::User => 0x1000_0000,
            Namespace::Uts => 0x0400_0000,
        }
    }

    /// What `readlink` of its `/proc/PID/ns` entry gives.
    pub fn link_target(self) -> Vec<u8> {
        format!("{}:[{}]", self.name(), self.inode()).into_bytes()
    }

    /// What `stat` of its file gives: a read-only regular file of nsfs, root's.
    pub fn attr(self) -> FileAttr {
        FileAttr {
            dev: NSFS_DEV,
            ..super::fs::virtual_attr(FileKind::Regular, 0o444, 0, self.inode())
        }
    }

    /// Whether Linux keeps this kind in a hierarchy (`NS_GET_PARENT` has a meaning).
    fn hierarchical(self) -> bool {
        matches!(self, Namespace::Pid | Namespace::User)
    }
}

/// The requests of nsfs (`_IO(0xb7, N)` and `_IOR(0xb7, N, ...)`).
const NS_GET_USERNS: u32 = 0xb701;
const NS_GET_PARENT: u32 = 0xb702;
const NS_GET_NSTYPE: u32 = 0xb703;
const NS_GET_OWNER_UID: u32 = 0xb704;
const NS_GET_MNTNS_ID: u32 = 0x8008_b705;
const NS_GET_PID_FROM_PIDNS: u32 = 0x8004_b706;
const NS_GET_TGID_FROM_PIDNS: u32 = 0x8004_b707;
const NS_GET_PID_IN_PIDNS: u32 = 0x8004_b708;
const NS_GET_TGID_IN_PIDNS: u32 = 0x8004_b709;
const NS_MNT_GET_INFO: u32 = 0x8010_b70a;
const NS_MNT_GET_NEXT: u32 = 0x8010_b70b;
const NS_MNT_GET_PREV: u32 = 0x8010_b70c;

/// The id of the box's mount namespace (`NS_GET_MNTNS_ID`, `NS_MNT_GET_INFO`).
const MOUNT_NAMESPACE_ID: u64 = 1;

/// `ioctl(fd, request, arg)` of a namespace file `ns`, as Linux's nsfs answers; `ENOTTY`
/// for requests it does not know.
pub fn request(k: &mut Kernel, ns: Namespace, request: u32, arg: u64) -> Result<u64> {
    match request {
        // The owner of the box's namespaces is its user namespace; that one's owner is
        // outside the box, as are the parents of its pid and user namespaces.
        NS_GET_USERNS if ns == Namespace::User => Err(Errno::EPERM),
        NS_GET_USERNS => open(k, Namespace::User),
        NS_GET_PARENT if ns.hierarchical() => Err(Errno::EPERM),
        NS_GET_PARENT => Err(Errno::EINVAL),
        NS_GET_NSTYPE => Ok(u64::from(ns.clone_flag())),
        // Who made the box's user namespace: the user the box's first program ran as.
        NS_GET_OWNER_UID if ns == Namespace::User => user::write_u32(arg, k.owner_uid).map(|()| 0),
        NS_GET_MNTNS_ID if ns == Namespace::Mount => {
            user::write_bytes(arg, &MOUNT_NAMESPACE_ID.to_le_bytes()).map(|()| 0)
        }
        NS_MNT_GET_INFO if ns == Namespace::Mount => {
            // struct mnt_ns_info { __u32 size; __u32 nr_mounts; __u64 mnt_ns_id; }
            let mut info = [0u8; 16];
            info[0..4].copy_from_slice(&16u32.to_le_bytes());
            let mounts = crate::procfs::mount_count(k) as u32;
            info[4..8].copy_from_slice(&mounts.to_le_bytes());
            info[8..16].copy_from_slice(&MOUNT_NAMESPACE_ID.to_le_bytes());
            user::write_bytes(arg, &info).map(|()| 0)
        }
        // The box has one mount namespace: none comes before or after it.
        NS_MNT_GET_NEXT | NS_MNT_GET_PREV if ns == Namespace::Mount => Err(Errno::ENOENT),
        // The box has one pid namespace, so a pid means the same in it as in the caller's:
        // the call checks that it names a live thread (the `TGID` requests, a process).
        NS_GET_PID_FROM_PIDNS
        | NS_GET_TGID_FROM_PIDNS
        | NS_GET_PID_IN_PIDNS
        | NS_GET_TGID_IN_PIDNS
            if ns == Namespace::Pid =>
        {
            let pid = i32::try_from(arg & 0xffff_ffff).unwrap_or(-1) as u32;
            let thread_group = matches!(request, NS_GET_TGID_FROM_PIDNS | NS_GET_TGID_IN_PIDNS);
            pid_in_box(k, pid, thread_group).map(u64::from)
        }
        NS_GET_OWNER_UID
        | NS_GET_MNTNS_ID
        | NS_MNT_GET_INFO
        | NS_MNT_GET_NEXT
        | NS_MNT_GET_PREV
        | NS_GET_PID_FROM_PIDNS
        | NS_GET_TGID_FROM_PIDNS
        | NS_GET_PID_IN_PIDNS
        | NS_GET_TGID_IN_PIDNS => Err(Errno::EINVAL),
        _ => Err(Errno::ENOTTY),
    }
}

/// The thread `pid` of the box, or with `thread_group` the process it belongs to; `ESRCH` if
/// there is none.
fn pid_in_box(k: &Kernel, pid: u32, thread_group: bool) -> Result<u32> {
    let me = host().process_id(picobox_abi::Whose::Caller);
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(Errno::ESRCH);
    }
    if k.threads.contains_key(&pid) {
        return Ok(if thread_group { me } else { pid });
    }
    // Another process of the box (its threads are its own to know).
    match host().process_signal(pid as i32, 0, None) {
        Ok(_) | Err(Errno::EPERM) => Ok(pid),
        Err(_) => Err(Errno::ESRCH),
    }
}

/// A new descriptor (close-on-exec, read-only, as Linux's `open_related_ns`) for `ns`.
fn open(k: &mut Kernel, ns: Namespace) -> Result<u64> {
    k.fds.insert(FdEntry {
        file: OpenFile::new(FileObject::Namespace(ns), OpenFlags::READ.0, Vec::new()),
        cloexec: true,
    })
}

/// `setns(fd, nstype)`: `fd` a namespace file or a pidfd. Each names the box's own namespaces,
/// so there is nothing to change: Linux's checks decide between 0 and its errno. Joining
/// one's own user namespace is `EINVAL` (also as one of a pidfd's); the others need
/// `CAP_SYS_ADMIN` (the box's root).
pub fn sys_setns(k: &mut Kernel, a: &Args) -> Result<u64> {
    let file = k.fds.file(fd_arg(a[0])?)?;
    let nstype = int_arg(a[1]) as u32;
    let kinds = match &file.object {
        FileObject::Namespace(ns) => {
            if nstype != 0 && nstype != ns.clone_flag() {
                return Err(Errno::EINVAL);
            }
            ns.clone_flag()
        }
        _ if file.anonymous == Some(super::pidfd::PIDFD) => {
            if nstype == 0 || nstype & !ALL_KINDS != 0 {
                return Err(Errno::EINVAL);
            }
            // The target is still there (`ESRCH` once it has been reaped).
            super::pidfd::target(k, fd_arg(a[0])?, false)?;
            nstype
        }
        _ => return Err(Errno::EINVAL),
    };
    if kinds & Namespace::User.clone_flag() != 0 {
        return Err(Errno::EINVAL);
    }
    if !k.creds.privileged() {
        return Err(Errno::EPERM);
    }
    Ok(0)
}
