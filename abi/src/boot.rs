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

/// Something visible in the box at `guest_path`: a directory (everything beneath it is reached
/// through `root`), or, when `entry` is given, the single entry of that name in `root` (a
/// mounted file, or a symbolic link or empty directory the monitor made for the box).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BootMount {
    /// Absolute, normalised path inside the box, e.g. `b"/usr"`.
    pub guest_path: Vec<u8>,
    /// The directory, opened by the monitor.
    pub root: Handle,
    /// The entry of `root` shown at `guest_path`, if not `root` itself.
    pub entry: Option<Vec<u8>>,
    /// Whether the box may change what is inside.
    pub writable: bool,
    /// Whether it is a mount of its own (`/proc/self/mounts` lists it); the symbolic links and
    /// directories the monitor makes are not. With no `entry`, a mount that is not one is an
    /// empty read-only directory the monitor made (`--dir`): the library OS shows it as a
    /// directory of its own that lists the mounts beneath it.
    pub is_mount: bool,
}

/// The library OS's initial state as decided by the monitor.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BootInfo {
    /// Arguments, `argv[0]` first: the program, which the library OS finds in the box's own
    /// view (a path, or a name looked up in `PATH`).
    pub argv: Vec<Vec<u8>>,
    /// Environment entries `KEY=VALUE`.
    pub envp: Vec<Vec<u8>>,
    /// Initial working directory inside the box (absolute).
    pub cwd: Vec<u8>,
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
