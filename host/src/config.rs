//! What a box is: the program, its arguments and environment, and what it may see.

use std::path::PathBuf;

/// How a host directory appears in the box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// Read-only view of a host directory (`--ro-bind`).
    ReadOnly,
    /// Writable view of a host directory (`--bind`): changes land on the host.
    ReadWrite,
    /// A fresh, empty, writable, memory-backed directory, gone when the box ends (`--tmpfs`).
    Tmpfs,
}

/// One mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Kind.
    pub kind: MountKind,
    /// Host directory (unused for tmpfs).
    pub source: PathBuf,
    /// Absolute path in the box.
    pub target: String,
}

/// Everything the monitor needs to start a box.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoxConfig {
    /// The program, as a host path or a name looked up in the host's `PATH`.
    pub program: Option<String>,
    /// Arguments after the program (argv[1..]).
    pub args: Vec<String>,
    /// Environment (`KEY`, `VALUE`); the box starts with only these.
    pub env: Vec<(String, String)>,
    /// Working directory in the box.
    pub cwd: Option<String>,
    /// Mounts, in order.
    pub mounts: Vec<Mount>,
    /// Log system calls (`--trace`).
    pub trace: bool,
}

/// The environment a box starts with when nothing is set.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
