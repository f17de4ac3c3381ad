//! What the host hands the library OS at start: the box's configuration, already decided by the
//! monitor (argv, environment, mounts as handles, identity, limits).
//!
//! The Linux host builds it in the monitor and hands it over in memory: the picoprocess is a
//! fork of the monitor, so no serialisation is needed.

use crate::types::Handle;
use alloc::vec::Vec;

/// Which network a box has.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Network {
    /// None: only Unix sockets (`--net none`, the default).
    #[default]
    None,
    /// A network namespace of its own with only loopback: TCP and UDP (`--net loopback`).
    Loopback,
    /// The host's network, TCP only, on the ports Landlock allows (`--allow-bind/-connect`).
    Host,
}

/// A TCP address a box on the host's network may bind or connect to (`--allow-bind`,
/// `--allow-connect`). The kernel (Landlock) enforces the port; the library OS also keeps a
/// program to the address, which an unspecified address (`0.0.0.0`, `::`) leaves open.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TcpRule {
    /// The address.
    pub addr: core::net::IpAddr,
    /// The port.
    pub port: u16,
}

/// A directory of the host visible in the box at `guest_path`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BootMount {
    /// Absolute, normalised path inside the box, e.g. `b"/usr"`.
    pub guest_path: Vec<u8>,
    /// The directory, opened by the monitor; everything under the mount is reached through it.
    pub root: Handle,
    /// Whether the box may change what is inside.
    pub writable: bool,
}

/// The library OS's initial state as decided by the monitor.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BootInfo {
    /// Arguments, `argv[0]` first.
    pub argv: Vec<Vec<u8>>,
    /// Environment entries `KEY=VALUE`.
    pub envp: Vec<Vec<u8>>,
    /// Initial working directory inside the box (absolute).
    pub cwd: Vec<u8>,
    /// The program's ELF file, opened by the monitor.
    pub program: Option<Handle>,
    /// The name under which the program was started (for `AT_EXECFN` and `/proc/self/exe`).
    pub program_name: Vec<u8>,
    /// Mounts, in the order declared (later ones shadow earlier ones at the same path).
    pub mounts: Vec<BootMount>,
    /// User id the box's processes report.
    pub uid: u32,
    /// Group id the box's processes report.
    pub gid: u32,
    /// Host name the box reports.
    pub hostname: Vec<u8>,
    /// The kernel release the box reports (`uname -r`): the host's, whose system calls the
    /// library OS passes on or follows.
    pub kernel_release: Vec<u8>,
    /// Whether to log unimplemented system calls and other events (`--trace`).
    pub trace: bool,
    /// The box's network.
    pub network: Network,
    /// Limit on open descriptors reported by `getrlimit(RLIMIT_NOFILE)`.
    pub max_open_files: u64,
    /// What a box on the host's network may bind to.
    pub allow_bind: Vec<TcpRule>,
    /// What a box on the host's network may connect to.
    pub allow_connect: Vec<TcpRule>,
    /// The box's socket root, where Unix socket path names live (see the sockets part of
    /// [`crate::Host`]), open so the library OS can keep notes there beside the sockets.
    pub socket_root: Option<Handle>,
}
