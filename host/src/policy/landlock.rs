//! Landlock rules: the box may touch the file system only beneath its mounts (read-only where
//! declared), may bind or connect no TCP port, and may signal no process outside itself.
//!
//! The ruleset is built in the monitor and enforced on the child just before it executes the
//! runtime (`restrict_self` is inherited across `execve`), so it binds everything that runs in
//! the picoprocess.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
const SYS_LANDLOCK_ADD_RULE: libc::c_long = 445;
const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;
const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
const LANDLOCK_RULE_PATH_BENEATH: u32 = 1;

/// File-system access rights (`LANDLOCK_ACCESS_FS_*`).
pub mod fs {
    #![allow(missing_docs)]
    pub const EXECUTE: u64 = 1 << 0;
    pub const WRITE_FILE: u64 = 1 << 1;
    pub const READ_FILE: u64 = 1 << 2;
    pub const READ_DIR: u64 = 1 << 3;
    pub const REMOVE_DIR: u64 = 1 << 4;
    pub const REMOVE_FILE: u64 = 1 << 5;
    pub const MAKE_CHAR: u64 = 1 << 6;
    pub const MAKE_DIR: u64 = 1 << 7;
    pub const MAKE_REG: u64 = 1 << 8;
    pub const MAKE_SOCK: u64 = 1 << 9;
    pub const MAKE_FIFO: u64 = 1 << 10;
    pub const MAKE_BLOCK: u64 = 1 << 11;
    pub const MAKE_SYM: u64 = 1 << 12;
    pub const REFER: u64 = 1 << 13;
    pub const TRUNCATE: u64 = 1 << 14;
    pub const IOCTL_DEV: u64 = 1 << 15;
}

/// Why Landlock could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    /// The kernel lacks Landlock: picobox refuses to run unconfined.
    #[error("Landlock is not available on this kernel ({0}); picobox needs Linux 6.7 or later with Landlock enabled (lsm=landlock)")]
    Unavailable(io::Error),
    /// The kernel's Landlock is too old for the rules picobox needs.
    #[error("Landlock ABI {0} is too old; picobox needs ABI 4 (Linux 6.7) for network rules")]
    TooOld(i64),
    /// A rule could not be added.
    #[error("cannot add a Landlock rule for {path}: {source}")]
    Rule {
        /// The path.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The ruleset could not be created.
    #[error("cannot create the Landlock ruleset: {0}")]
    Create(io::Error),
}

/// A ruleset under construction, then ready to enforce.
pub struct Ruleset {
    fd: OwnedFd,
    handled_fs: u64,
}

/// The Landlock ABI version of the running kernel.
pub fn abi_version() -> Result<i64, LandlockError> {
    // SAFETY: querying the version takes no pointers.
    let v = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        return Err(LandlockError::Unavailable(io::Error::last_os_error()));
    }
    Ok(v)
}

impl Ruleset {
    /// A ruleset that handles every file-system right the kernel knows, TCP bind and connect,
    /// and (ABI 6) signal and abstract-socket scoping.
    pub fn new() -> Result<Ruleset, LandlockError> {
        let abi = abi_version()?;
        if abi < 4 {
            return Err(LandlockError::TooOld(abi));
        }
        let mut handled_fs = (1 << 13) - 1; // ABI 1: EXECUTE ..= MAKE_SYM
        handled_fs |= fs::REFER | fs::TRUNCATE;
        if abi >= 5 {
            handled_fs |= fs::IOCTL_DEV;
        }
        let handled_net: u64 = 1 | 2; // BIND_TCP | CONNECT_TCP
        let scoped: u64 = if abi >= 6 { 1 | 2 } else { 0 }; // ABSTRACT_UNIX_SOCKET | SIGNAL
        let attr: [u64; 3] = [handled_fs, handled_net, scoped];
        let size = if abi >= 6 { 24 } else { 16 };
        // SAFETY: `attr` is a valid landlock_ruleset_attr of `size` bytes.
        let fd = unsafe {
            libc::syscall(
                SYS_LANDLOCK_CREATE_RULESET,
                attr.as_ptr(),
                size as usize,
                0u32,
            )
        };
        if fd < 0 {
            return Err(LandlockError::Create(io::Error::last_os_error()));
        }
        // Keep the descriptor away from the low numbers the runtime's boot protocol uses.
        // SAFETY: F_DUPFD_CLOEXEC on the descriptor the kernel just returned; both are then
        // owned here and the original is closed.
        let fd = unsafe {
            let high = libc::fcntl(fd as i32, libc::F_DUPFD_CLOEXEC, 10);
            libc::close(fd as i32);
            if high < 0 {
                return Err(LandlockError::Create(io::Error::last_os_error()));
            }
            OwnedFd::from_raw_fd(high)
        };
        Ok(Ruleset { fd, handled_fs })
    }

    /// Allows `access` beneath the directory (or on the file) open as `target`.
    pub fn allow(
        &mut self,
        target: &OwnedFd,
        access: u64,
        what: &str,
    ) -> Result<(), LandlockError> {
        // struct landlock_path_beneath_attr { u64 allowed_access; s32 parent_fd; } (packed)
        let mut attr = [0u8; 12];
        attr[..8].copy_from_slice(&(access & self.handled_fs).to_ne_bytes());
        attr[8..].copy_from_slice(&target.as_raw_fd().to_ne_bytes());
        // SAFETY: `attr` is a packed landlock_path_beneath_attr; both descriptors are open.
        let r = unsafe {
            libc::syscall(
                SYS_LANDLOCK_ADD_RULE,
                self.fd.as_raw_fd(),
                LANDLOCK_RULE_PATH_BENEATH,
                attr.as_ptr(),
                0u32,
            )
        };
        if r < 0 {
            return Err(LandlockError::Rule {
                path: what.to_string(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The ruleset's descriptor, for [`restrict_self`] in the child.
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// Read access for a read-only mount.
pub const READ_ONLY: u64 = fs::READ_FILE | fs::READ_DIR;
/// Everything but device creation, for writable mounts.
pub const READ_WRITE: u64 = READ_ONLY
    | fs::WRITE_FILE
    | fs::REMOVE_DIR
    | fs::REMOVE_FILE
    | fs::MAKE_DIR
    | fs::MAKE_REG
    | fs::MAKE_SOCK
    | fs::MAKE_FIFO
    | fs::MAKE_SYM
    | fs::REFER
    | fs::TRUNCATE;

/// Enforces the ruleset on the calling thread. Async-signal-safe: called between fork and exec.
/// Requires `no_new_privs`.
pub fn restrict_self(ruleset_fd: i32) -> io::Result<()> {
    // SAFETY: a plain system call on an open descriptor.
    let r = unsafe { libc::syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset_fd, 0u32) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
