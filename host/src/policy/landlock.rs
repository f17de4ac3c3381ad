//! Landlock rules: the box may touch the file system only beneath its mounts (read-only where
//! declared), may bind or connect no TCP port, and may signal no process outside itself.
//!
//! The monitor builds the ruleset; the box's process enforces it on itself right after the
//! fork, before it installs the seccomp filter and long before the program runs.

use crate::gate;
use picobox_abi::Errno;

const SYS_LANDLOCK_CREATE_RULESET: u64 = 444;
const SYS_LANDLOCK_ADD_RULE: u64 = 445;
const SYS_LANDLOCK_RESTRICT_SELF: u64 = 446;
const LANDLOCK_CREATE_RULESET_VERSION: u64 = 1;
const LANDLOCK_RULE_PATH_BENEATH: u64 = 1;
const LANDLOCK_RULE_NET_PORT: u64 = 2;
const NET_BIND_TCP: u64 = 1;
const NET_CONNECT_TCP: u64 = 2;

/// File-system access rights (`LANDLOCK_ACCESS_FS_*`).
pub mod fs {
    // The complete list of the kernel's rights, used or not.
    #![allow(missing_docs, dead_code)]
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

/// Read access, for read-only mounts.
pub const READ_ONLY: u64 = fs::READ_FILE | fs::READ_DIR;
/// Everything but creating device nodes, for writable mounts.
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

/// Why Landlock could not be set up.
#[derive(Debug)]
pub enum LandlockError {
    /// The kernel lacks Landlock: picobox refuses to run unconfined.
    Unavailable(Errno),
    /// The kernel's Landlock is older than ABI 4 (network rules).
    TooOld(u64),
    /// The ruleset could not be created or a rule added.
    Failed(&'static str, Errno),
}

impl core::fmt::Display for LandlockError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LandlockError::Unavailable(e) => write!(
                f,
                "Landlock is not available on this kernel ({e}); picobox needs Linux 6.7 or later with Landlock enabled (lsm=landlock)"
            ),
            LandlockError::TooOld(v) => {
                write!(f, "Landlock ABI {v} is too old; picobox needs ABI 4 (Linux 6.7) for network rules")
            }
            LandlockError::Failed(what, e) => write!(f, "Landlock: cannot {what}: {e}"),
        }
    }
}

/// This kernel's Landlock ABI version, asked once.
fn abi_version() -> Result<u64, Errno> {
    static ABI: spin::Once<Result<u64, Errno>> = spin::Once::new();
    *ABI.call_once(|| {
        Errno::from_raw_return(gate::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            [0, 0, LANDLOCK_CREATE_RULESET_VERSION, 0, 0, 0],
        ))
    })
}

/// Whether this kernel's Landlock scopes abstract Unix sockets and signals (ABI 6).
pub fn scoping_available() -> bool {
    abi_version().is_ok_and(|abi| abi >= 6)
}

/// A ruleset being built; its descriptor is what the box enforces.
pub struct Ruleset {
    /// The ruleset's descriptor.
    pub fd: u64,
    handled_fs: u64,
}

impl Ruleset {
    /// A ruleset handling every file-system right the kernel knows, (ABI 6) signal and
    /// abstract-socket scoping, and, for a box on the host's network, TCP bind and connect
    /// (a box with a network of its own needs no port rules: nothing outside it is reachable).
    pub fn new(confine_tcp: bool) -> Result<Ruleset, LandlockError> {
        let abi = abi_version().map_err(LandlockError::Unavailable)?;
        if abi < 4 {
            return Err(LandlockError::TooOld(abi));
        }
        let mut handled_fs = ((1 << 13) - 1) | fs::REFER | fs::TRUNCATE;
        if abi >= 5 {
            handled_fs |= fs::IOCTL_DEV;
        }
        let handled_net: u64 = if confine_tcp {
            NET_BIND_TCP | NET_CONNECT_TCP
        } else {
            0
        };
        let scoped: u64 = if abi >= 6 { 1 | 2 } else { 0 }; // ABSTRACT_UNIX_SOCKET | SIGNAL
        let attr: [u64; 3] = [handled_fs, handled_net, scoped];
        let size = if abi >= 6 { 24 } else { 16 };
        let fd = Errno::from_raw_return(gate::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            [attr.as_ptr() as u64, size, 0, 0, 0, 0],
        ))
        .map_err(|e| LandlockError::Failed("create the ruleset", e))?;
        Ok(Ruleset { fd, handled_fs })
    }

    /// Allows `access` beneath the directory open as `dir_fd`.
    pub fn allow(&mut self, dir_fd: u64, access: u64) -> Result<(), LandlockError> {
        // struct landlock_path_beneath_attr { u64 allowed_access; s32 parent_fd; } (packed)
        let mut attr = [0u8; 12];
        attr[..8].copy_from_slice(&(access & self.handled_fs).to_ne_bytes());
        attr[8..].copy_from_slice(&(dir_fd as u32).to_ne_bytes());
        Errno::from_raw_return(gate::syscall(
            SYS_LANDLOCK_ADD_RULE,
            [
                self.fd,
                LANDLOCK_RULE_PATH_BENEATH,
                attr.as_ptr() as u64,
                0,
                0,
                0,
            ],
        ))
        .map_err(|e| LandlockError::Failed("add a mount rule", e))?;
        Ok(())
    }

    /// Allows binding (`bind`) or connecting to TCP `port`.
    pub fn allow_port(&mut self, port: u16, bind: bool) -> Result<(), LandlockError> {
        // struct landlock_net_port_attr { u64 allowed_access; u64 port; }
        let attr: [u64; 2] = [
            if bind { NET_BIND_TCP } else { NET_CONNECT_TCP },
            u64::from(port),
        ];
        Errno::from_raw_return(gate::syscall(
            SYS_LANDLOCK_ADD_RULE,
            [
                self.fd,
                LANDLOCK_RULE_NET_PORT,
                attr.as_ptr() as u64,
                0,
                0,
                0,
            ],
        ))
        .map_err(|e| LandlockError::Failed("add a port rule", e))?;
        Ok(())
    }

    /// Enforces the ruleset on the calling thread and those it makes from now on (needs
    /// `no_new_privs`).
    pub fn restrict_self(&self) -> Result<(), Errno> {
        Errno::from_raw_return(gate::syscall(
            SYS_LANDLOCK_RESTRICT_SELF,
            [self.fd, 0, 0, 0, 0, 0],
        ))
        .map(|_| ())
    }
}
