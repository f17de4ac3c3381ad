//! Credentials: the box's processes have user and group ids of their own, kept by the library
//! OS (the host sees one host user for the whole box). They change as Linux's do, with
//! "privileged" meaning an effective uid of 0, as for root in a user namespace: root may set
//! any id, another user only to its real, effective or saved id. Files keep the host's owner;
//! an ownership change by the box's root is accepted and not recorded (see `fs::sys_chown`).

use super::Args;
use crate::kernel::Kernel;
use crate::user;
use alloc::vec::Vec;
use picobox_abi::{Errno, Result};

/// Most supplementary groups (Linux's `NGROUPS_MAX`).
const NGROUPS_MAX: usize = 65536;
/// `_LINUX_CAPABILITY_VERSION_3`, the version glibc and libcap use.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// Every capability Linux 6.x defines (0 to 40).
const ALL_CAPABILITIES: u64 = (1 << 41) - 1;

/// One process's ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    /// Real, effective, saved and file-system user ids.
    pub uid: [u32; 4],
    /// Real, effective, saved and file-system group ids.
    pub gid: [u32; 4],
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

const REAL: usize = 0;
const EFFECTIVE: usize = 1;
const SAVED: usize = 2;
const FS: usize = 3;

impl Creds {
    /// A process started with `uid` and `gid` for every id.
    pub fn new(uid: u32, gid: u32) -> Creds {
        Creds {
            uid: [uid; 4],
            gid: [gid; 4],
            groups: Vec::new(),
        }
    }

    /// Whether the process may signal a process of root's (Linux: its real or effective uid
    /// is root's, or it is privileged).
    pub fn may_signal_root(&self) -> bool {
        self.uid[REAL] == 0 || self.uid[EFFECTIVE] == 0
    }

    /// Whether the process may change ids at will (its effective uid is 0).
    pub fn privileged(&self) -> bool {
        self.uid[EFFECTIVE] == 0
    }

    /// The real user id.
    pub fn real_uid(&self) -> u32 {
        self.uid[REAL]
    }

    /// The real group id.
    pub fn real_gid(&self) -> u32 {
        self.gid[REAL]
    }

    /// The effective user id.
    pub fn effective_uid(&self) -> u32 {
        self.uid[EFFECTIVE]
    }

    /// The effective group id.
    pub fn effective_gid(&self) -> u32 {
        self.gid[EFFECTIVE]
    }
}

/// An id argument: `-1` (as a 32-bit value) leaves the id as it is.
fn id_arg(v: u64) -> Option<u32> {
    let v = (v & 0xffff_ffff) as u32;
    (v != u32::MAX).then_some(v)
}

/// Which of the ids a process changes: user or group ids.
#[derive(Clone, Copy)]
enum Which {
    User,
    Group,
}

fn ids(k: &mut Kernel, which: Which) -> (&mut [u32; 4], bool) {
    let privileged = k.creds.privileged();
    match which {
        Which::User => (&mut k.creds.uid, privileged),
        Which::Group => (&mut k.creds.gid, privileged),
    }
}

/// `setuid`/`setgid`.
fn set_one(k: &mut Kernel, which: Which, v: u64) -> Result<u64> {
    let want = id_arg(v).ok_or(Errno::EINVAL)?;
    let (ids, privileged) = ids(k, which);
    if privileged {
        *ids = [want; 4];
    } else if want == ids[REAL] || want == ids[SAVED] {
        ids[EFFECTIVE] = want;
        ids[FS] = want;
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// `setreuid`/`setregid`.
fn set_real_effective(k: &mut Kernel, which: Which, r: u64, e: u64) -> Result<u64> {
    let (r, e) = (id_arg(r), id_arg(e));
    let (ids, privileged) = ids(k, which);
    let old = *ids;
    if !privileged {
        if r.is_some_and(|r| r != old[REAL] && r != old[EFFECTIVE]) {
            return Err(Errno::EPERM);
        }
        if e.is_some_and(|e| e != old[REAL] && e != old[EFFECTIVE] && e != old[SAVED]) {
            return Err(Errno::EPERM);
        }
    }
    let new_real = r.unwrap_or(old[REAL]);
    let new_effective = e.unwrap_or(old[EFFECTIVE]);
    ids[REAL] = new_real;
    ids[EFFECTIVE] = new_effective;
    if r.is_some() || e.is_some_and(|e| e != old[REAL]) {
        ids[SAVED] = new_effective;
    }
    ids[FS] = new_effective;
    Ok(0)
}

/// `setresuid`/`setresgid`.
fn set_all(k: &mut Kernel, which: Which, a: &Args) -> Result<u64> {
    let want = [id_arg(a[0]), id_arg(a[1]), id_arg(a[2])];
    let (ids, privileged) = ids(k, which);
    let old = *ids;
    let allowed = |v: u32| old[..3].contains(&v);
    if !privileged && want.iter().flatten().any(|v| !allowed(*v)) {
        return Err(Errno::EPERM);
    }
    for (slot, v) in want.iter().enumerate() {
        if let Some(v) = v {
            ids[slot] = *v;
        }
    }
    ids[FS] = ids[EFFECTIVE];
    Ok(0)
}

/// `getresuid`/`getresgid`: three ids written to three pointers.
fn get_all(k: &Kernel, which: Which, a: &Args) -> Result<u64> {
    let ids = match which {
        Which::User => k.creds.uid,
        Which::Group => k.creds.gid,
    };
    for (slot, ptr) in a[..3].iter().enumerate() {
        user::write_u32(*ptr, ids[slot])?;
    }
    Ok(0)
}

/// `setfsuid`/`setfsgid`: returns the old id whether or not it changed.
fn set_fs(k: &mut Kernel, which: Which, v: u64) -> Result<u64> {
    let (ids, privileged) = ids(k, which);
    let old = ids[FS];
    if let Some(want) = id_arg(v) {
        if privileged || ids.contains(&want) {
            ids[FS] = want;
        }
    }
    Ok(u64::from(old))
}

/// `getuid()`.
pub fn sys_getuid(k: &mut Kernel, _a: &Args) -> Result<u64> {
    Ok(u64::from(k.creds.uid[REAL]))
}

/// `geteuid()`.
pub fn sys_geteuid(k: &mut Kernel, _a: &Args) -> Result<u64> {
    Ok(u64::from(k.creds.uid[EFFECTIVE]))
}

/// `getgid()`.
pub fn sys_getgid(k: &mut Kernel, _a: &Args) -> Result<u64> {
    Ok(u64::from(k.creds.gid[REAL]))
}

/// `getegid()`.
pub fn sys_getegid(k: &mut Kernel, _a: &Args) -> Result<u64> {
    Ok(u64::from(k.creds.gid[EFFECTIVE]))
}

/// `setuid(uid)`.
pub fn sys_setuid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_one(k, Which::User, a[0])
}

/// `setgid(gid)`.
pub fn sys_setgid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_one(k, Which::Group, a[0])
}

/// `setreuid(ruid, euid)`.
pub fn sys_setreuid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_real_effective(k, Which::User, a[0], a[1])
}

/// `setregid(rgid, egid)`.
pub fn sys_setregid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_real_effective(k, Which::Group, a[0], a[1])
}

/// `setresuid(ruid, euid, suid)`.
pub fn sys_setresuid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_all(k, Which::User, a)
}

/// `setresgid(rgid, egid, sgid)`.
pub fn sys_setresgid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_all(k, Which::Group, a)
}

/// `getresuid(ruid, euid, suid)`.
pub fn sys_getresuid(k: &mut Kernel, a: &Args) -> Result<u64> {
    get_all(k, Which::User, a)
}

/// `getresgid(rgid, egid, sgid)`.
pub fn sys_getresgid(k: &mut Kernel, a: &Args) -> Result<u64> {
    get_all(k, Which::Group, a)
}

/// `setfsuid(fsuid)`.
pub fn sys_setfsuid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_fs(k, Which::User, a[0])
}

/// `setfsgid(fsgid)`.
pub fn sys_setfsgid(k: &mut Kernel, a: &Args) -> Result<u64> {
    set_fs(k, Which::Group, a[0])
}

/// `getgroups(size, list)`.
pub fn sys_getgroups(k: &mut Kernel, a: &Args) -> Result<u64> {
    let size = usize::try_from(super::int_arg(a[0])).map_err(|_| Errno::EINVAL)?;
    let groups = &k.creds.groups;
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if size < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    user::write_bytes(a[1], &bytes)?;
    Ok(groups.len() as u64)
}

/// `setgroups(size, list)`: root only.
pub fn sys_setgroups(k: &mut Kernel, a: &Args) -> Result<u64> {
    let size = usize::try_from(a[0] & 0xffff_ffff).map_err(|_| Errno::EINVAL)?;
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !k.creds.privileged() {
        return Err(Errno::EPERM);
    }
    let bytes = if size == 0 {
        Vec::new()
    } else {
        user::read_bytes(a[1], size * 4)?
    };
    k.creds.groups = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(0)
}

/// The capability sets a process reports: all of them for root, none for others.
fn capabilities(k: &Kernel) -> u64 {
    if k.creds.privileged() {
        ALL_CAPABILITIES
    } else {
        0
    }
}

/// Checks `capget`/`capset`'s header: version 3 (or 2, which has the same layout) and this
/// process (pid 0 or its own). An unknown version is answered with the preferred one.
/// Checks a `struct __user_cap_header_struct`; returns how many 32-bit data structs its
/// version has (1 for `_LINUX_CAPABILITY_VERSION_1`, 2 for versions 2 and 3).
fn cap_header(a: &Args, set: bool) -> Result<usize> {
    const CAPABILITY_VERSION_1: u32 = 0x1998_0330;
    const CAPABILITY_VERSION_2: u32 = 0x2007_1026;
    let header = user::read_bytes(a[0], 8)?;
    let version = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let pid = i32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let structs = match version {
        CAPABILITY_VERSION_1 => 1,
        CAPABILITY_VERSION_2 | CAPABILITY_VERSION_3 => 2,
        _ => {
            user::write_u32(a[0], CAPABILITY_VERSION_3)?;
            return Err(Errno::EINVAL);
        }
    };
    let me = crate::kernel::host().process_id(picobox_abi::Whose::Caller);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid as u32 != me {
        if crate::kernel::host().process_signal(pid, 0, None).is_err() {
            return Err(Errno::ESRCH);
        }
        // Another process's sets are its library OS's: it may not be changed, and it is read
        // as the caller's own (the box's processes share one credential model).
        if set {
            return Err(Errno::EPERM);
        }
    }
    Ok(structs)
}

/// `capget(header, data)`: effective, permitted and inheritable sets as two 32-bit halves.
pub fn sys_capget(k: &mut Kernel, a: &Args) -> Result<u64> {
    let structs = cap_header(a, false)?;
    if a[1] == 0 {
        return Ok(0);
    }
    let caps = capabilities(k);
    let (low, high) = (caps as u32, (caps >> 32) as u32);
    let mut data = [0u8; 24];
    for (i, word) in [low, low, 0, high, high, 0].iter().enumerate() {
        data[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    user::write_bytes(a[1], &data[..structs * 12])?;
    Ok(0)
}

/// `capset(header, data)`: a process may keep or drop what it has, never gain.
pub fn sys_capset(k: &mut Kernel, a: &Args) -> Result<u64> {
    let structs = cap_header(a, true)?;
    let mut data = user::read_bytes(a[1], structs * 12)?;
    data.resize(24, 0);
    let word = |i: usize| {
        u64::from(u32::from_le_bytes([
            data[i * 4],
            data[i * 4 + 1],
            data[i * 4 + 2],
            data[i * 4 + 3],
        ]))
    };
    let wanted = (word(0) | word(1) | word(2)) | ((word(3) | word(4) | word(5)) << 32);
    if wanted & !capabilities(k) != 0 {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_arguments_read_minus_one_as_unchanged() {
        assert_eq!(id_arg(u64::MAX), None);
        assert_eq!(id_arg(0xffff_ffff), None);
        assert_eq!(id_arg(65534), Some(65534));
        assert_eq!(id_arg(0x1_0000_0005), Some(5));
    }
}
