//! The command line of `picobox`: which command, and for `run`, the box's flags.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::boot::TcpRule;

/// Help text (`picobox --help`).
pub const HELP: &str = "\
picobox: run an untrusted Linux x86-64 program in a library-OS picoprocess

USAGE:
    picobox run [OPTIONS] [--] PROGRAM [ARGS...]   run PROGRAM in a box (picobox run --help)
    picobox ps [--json]     list the running boxes (picobox ps --help)
    picobox snapshot ID -o PATH [--leave-running]
                            freeze box ID to a file (picobox snapshot --help)
    picobox snapshot inspect PATH [--json]
                            describe a snapshot file
    picobox restore PATH [--name ID] [--bind SRC DST]... [--trust-snapshot]
                            run a box again from a snapshot (picobox restore --help)
    picobox syscalls        print which Linux system calls the library OS implements
    picobox abi             print the host ABI calls
    picobox --help | --version

EXIT STATUS (run):
    the program's exit status, or 128+N if it died of signal N;
    125  picobox itself failed (bad flag, manifest or mount);
    126  the program is not a runnable executable;
    127  the program was not found in the box;
    159  the box made a forbidden host system call and the kernel killed it.
";

/// Help text of `picobox run --help`.
pub const RUN_HELP: &str = "\
picobox run: run PROGRAM in a box

USAGE:
    picobox run [OPTIONS] [--] PROGRAM [ARGS...]

PROGRAM is found in the box's own view of the file system, as bubblewrap and runsc find it:
an absolute path in the box, or a name looked up in the box's PATH. Static, static-pie and
dynamically linked x86-64 programs run (a dynamic one through the box's own
/lib64/ld-linux-x86-64.so.2), and #! scripts.

THE BOX'S ROOT:
    With no --root and no mount at /, a box gets a safe default root: the host's /usr
    read-only with its /bin, /sbin, /lib, /lib64 links, a curated read-only /etc (no
    secrets), an empty /tmp and a home directory (both memory-backed, 256M), its own /dev
    and /proc. Nothing of /root, /home, /var or /run of the host. --show-root lists it.
    --root DIR           use host directory DIR read-only as the whole root instead
    --empty-root         start from an empty root: only /dev, /proc and the mounts given

MOUNTS (as bubblewrap's; later ones go over earlier ones):
    --ro-bind SRC DST    show host file or directory SRC read-only at DST
    --bind SRC DST       show host file or directory SRC writable at DST (changes reach the host)
    --ro-bind-try SRC DST, --bind-try SRC DST   the same, skipped if SRC does not exist
    --tmpfs DST          a fresh, empty, memory-backed writable directory at DST (256M)
    --size SIZE          the size of the next --tmpfs (K, M, G suffixes)
    --symlink TARGET DST a symbolic link at DST pointing to TARGET (in the box's view)
    --dir DST            an empty read-only directory at DST
    --show-root          print what the box's file system will hold, and exit

PROCESS:
    --name ID            the box's id, which `picobox ps` shows (default: 12 random hex
                         digits); 1 to 64 letters, digits, '_', '.', '-'; unique among the
                         user's running boxes (where no record can be kept, an unnamed box
                         still runs, unlisted; a named one is refused)
    --as-pid-1           the program is the box's pid 1 (by default picobox's own reaper is,
                         as bubblewrap's: the program is pid 2 and orphans are reaped)
    --setenv KEY VALUE   set an environment variable (the box starts with only PATH, and
                         HOME with the default root)
    --chdir DIR          working directory in the box (default /)
    --manifest FILE      read the box from a TOML manifest; flags add to it
    --trace              log unimplemented system calls (each once, by name) to standard error

NETWORK:
    --net none           no network: only Unix sockets inside the box (the default, and the fastest)
    --net loopback       a network namespace of the box's own: TCP and UDP over its loopback
    --allow-bind tcp:ADDR:PORT     let the box listen on this TCP port of the host's network
    --allow-connect tcp:ADDR:PORT  let the box connect to this TCP port of the host's network
                         (either puts the box on the host's network, TCP only; the kernel
                         confines the ports, the library OS the addresses)

LIMITS:
    --pids N             at most N processes and threads in the box (default 512)
    --memory SIZE        at most SIZE bytes of memory, tmpfs included (default 1G)
    --files N            at most N open files per process (default 1024)

The host's file system is not in the box's mount tree: each mount is a detached clone
(read-only ones read-only by the kernel, all nodev and nosuid). A box started by root runs as
a host user of its own (its --bind mounts are idmapped so that it is root there).

EXIT STATUS:
    the program's exit status, or 128+N if it died of signal N;
    125  picobox itself failed (bad flag, manifest or mount);
    126  the program is not a runnable executable;
    127  the program was not found in the box;
    159  the box made a forbidden host system call and the kernel killed it.
";

/// Help text of `picobox ps --help`.
pub const PS_HELP: &str = "\
picobox ps: list the running boxes

USAGE:
    picobox ps [--json]

One line per box the calling user runs: its id (picobox run --name), state, the host pid of
its first process, the memory it uses (its cgroup's count where it has one, else its
processes' resident memory), when it started (UTC) and its program. --json prints the same
as a JSON array of objects (id, state, pid, monitor_pid, memory, memory_limit, started in
seconds since the epoch, program). Boxes are recorded in /run/picobox (root) or
/tmp/picobox-UID; a record whose monitor died is dropped.
";

/// Help text of `picobox snapshot --help`.
pub const SNAPSHOT_HELP: &str = "\
picobox snapshot: freeze a running box to a file

USAGE:
    picobox snapshot ID -o PATH [--leave-running]
    picobox snapshot inspect PATH [--json]

Freezes box ID (picobox run --name ID; picobox ps lists them) at a point where each of its
threads holds nothing half done, and writes its state to PATH (-: standard output, to pipe
it to `picobox restore -` here or on another machine). The box then ends, or with
--leave-running goes on as if nothing happened. Its registers, memory (non-zero pages only),
descriptors with their offsets, and the library OS's whole state are captured; files of its
writable mounts are not copied (restore is told where they are). A progress line is shown
for snapshots above 64 MiB.

Every process and thread of the box is captured, with its pid, parent, process group and
session; pipes between them (with their bytes), eventfds, shared memory and listening TCP
sockets (bound again on restore); a connected TCP socket is found reset (ECONNRESET) after
a restore. Not captured yet, and refused with the process and object named (the box keeps
running): Unix sockets, event files other than eventfd, POSIX and interval timers, shared mappings of
writable files, processes the reaper adopted, ended processes not yet waited for. See
docs/snapshot.md.

inspect prints what a snapshot holds (processes, threads, memory by kind, descriptors,
sizes), as JSON with --json; the file is checked whole first.
";

/// Help text of `picobox restore --help`.
pub const RESTORE_HELP: &str = "\
picobox restore: run a box again from a snapshot

USAGE:
    picobox restore PATH [--name ID] [--bind SRC DST]...

Starts a new box from snapshot PATH (-: read it from standard input), confined by the same
flags as the box it was taken of, and lets its program go on where it was frozen. Its
standard input, output and error are this command's. --name gives it an id (default: a
generated one). --bind SRC DST says that the box's mount at DST is now host path SRC (its
files are not in the snapshot); a file the program had open that no longer exists fails the
restore with its name. A file that is truncated, corrupted, of another format version or
written by another build of picobox is refused before anything runs (a file your picobox
snapshot wrote or restored before, unchanged since, is not read whole again: a restore of a
fresh snapshot, a second restore or a clone starts at once; a copy is checked). A snapshot
that does
not bear your seal (picobox seals the snapshots it writes with a key of yours) does not
choose its own access to the host: its box's mounts of host paths, --root and host ports
are refused unless each mount is given with --bind, or --trust-snapshot takes them as
recorded. Exit status as for picobox run.
";

/// Help text of `picobox syscalls --help`.
pub const SYSCALLS_HELP: &str = "\
picobox syscalls: print the Linux system calls the library OS implements

USAGE:
    picobox syscalls

One line per system call number: the number, the name, and how the library OS serves it
(full; partial, with what differs; or the errno a program gets, such as ENOSYS).
";

/// Help text of `picobox abi --help`.
pub const ABI_HELP: &str = "\
picobox abi: print the host ABI calls

USAGE:
    picobox abi

One line per call of the host ABI, the only interface between the library OS and the host.
";

/// What appears at a path of the box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// `--ro-bind`.
    ReadOnly,
    /// `--bind`.
    ReadWrite,
    /// `--tmpfs`.
    Tmpfs,
    /// `--symlink`.
    Symlink,
    /// `--dir`.
    Dir,
}

impl MountKind {
    /// The flag that declares it.
    pub fn flag(self) -> &'static str {
        match self {
            MountKind::ReadOnly => "--ro-bind",
            MountKind::ReadWrite => "--bind",
            MountKind::Tmpfs => "--tmpfs",
            MountKind::Symlink => "--symlink",
            MountKind::Dir => "--dir",
        }
    }
}

/// Where the box's root comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RootChoice {
    /// The safe default root (`monitor/root_plan.rs`), unless a mount is made at `/`.
    #[default]
    Default,
    /// `--empty-root`: only the mounts given.
    Empty,
    /// `--root DIR`: a host directory, read-only.
    Dir(Vec<u8>),
}

/// One declared mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    /// Kind.
    pub kind: MountKind,
    /// Host file or directory (empty for tmpfs and dir); the link's target for a symlink.
    pub source: Vec<u8>,
    /// Absolute path in the box.
    pub target: Vec<u8>,
    /// Most bytes a tmpfs may hold (`--size` before `--tmpfs`); the default if not given.
    pub size: Option<u64>,
    /// `--ro-bind-try`, `--bind-try`: skipped if the source does not exist.
    pub optional: bool,
}

/// Bytes a `--tmpfs` may hold when no `--size` is given.
pub const DEFAULT_TMPFS_SIZE: u64 = 256 << 20;
/// Bytes the box's own `/dev/shm` may hold (as Docker's default).
pub const DEFAULT_SHM_SIZE: u64 = 64 << 20;
/// Memory a box may use when no `--memory` is given.
pub const DEFAULT_MEMORY: u64 = 1 << 30;
/// Open files a process of a box may have when no `--files` is given.
pub const DEFAULT_FILES: u64 = 1024;
/// The most `--files` accepts (Linux's default `fs.nr_open`).
pub const MAX_FILES: u64 = 1 << 20;

/// A box to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// The program as given.
    pub program: Vec<u8>,
    /// Its arguments.
    pub args: Vec<Vec<u8>>,
    /// Environment entries `(KEY, VALUE)`.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// Working directory in the box.
    pub cwd: Option<Vec<u8>>,
    /// Mounts in order.
    pub mounts: Vec<MountSpec>,
    /// `--trace`.
    pub trace: bool,
    /// `--pids`: most processes in the box.
    pub pids: u64,
    /// `--memory`: most bytes of memory.
    pub memory: u64,
    /// `--files`: most open files per process.
    pub files: u64,
    /// `--allow-bind`: (address, port) the box may listen on.
    pub allow_bind: Vec<TcpRule>,
    /// `--allow-connect`: (address, port) the box may connect to.
    pub allow_connect: Vec<TcpRule>,
    /// `--net loopback`.
    pub loopback: bool,
    /// Where the root comes from.
    pub root: RootChoice,
    /// `--show-root`: print the box's file system and exit.
    pub show_root: bool,
    /// `--as-pid-1`: the program is the box's init (pid 1) rather than picobox's reaper.
    pub as_pid_1: bool,
    /// `--name`: the box's id (a generated one if `None`).
    pub name: Option<Vec<u8>>,
    /// The arguments as given after `run` (a snapshot records them: its restore is confined
    /// by the same flags).
    pub raw_args: Vec<Vec<u8>>,
}

impl RunConfig {
    /// Whether the box is on the host's network (some port is allowed).
    pub fn host_network(&self) -> bool {
        !self.allow_bind.is_empty() || !self.allow_connect.is_empty()
    }

    /// The box's network.
    pub fn network(&self) -> picobox_abi::boot::Network {
        use picobox_abi::boot::Network;
        if self.host_network() {
            Network::Host
        } else if self.loopback {
            Network::Loopback
        } else {
            Network::None
        }
    }
}

/// Parses `tcp:ADDR:PORT` (ADDR may be an IPv6 address in brackets).
fn parse_port_rule(flag: &[u8], v: &[u8]) -> Result<TcpRule, String> {
    let bad = |why: &str| {
        format!(
            "{} '{}': {why} (expected tcp:ADDR:PORT, e.g. tcp:127.0.0.1:8080)",
            text(flag),
            text(v)
        )
    };
    let rest = v.strip_prefix(b"tcp:").ok_or_else(|| {
        if v.starts_with(b"udp:") {
            bad("only TCP ports can be allowed; UDP works inside a box's own network (--net loopback)")
        } else {
            bad("not a TCP rule")
        }
    })?;
    let colon = rest
        .iter()
        .rposition(|b| *b == b':')
        .ok_or_else(|| bad("no port"))?;
    let (addr, port) = (&rest[..colon], &rest[colon + 1..]);
    let port = core::str::from_utf8(port)
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| bad("bad port"))?;
    let addr = addr
        .strip_prefix(b"[")
        .and_then(|a| a.strip_suffix(b"]"))
        .unwrap_or(addr);
    if addr.is_empty() {
        return Err(bad("no address"));
    }
    let addr = core::str::from_utf8(addr)
        .ok()
        .and_then(|a| a.parse::<core::net::IpAddr>().ok())
        .ok_or_else(|| bad("not an IP address (use 0.0.0.0 or [::] for any)"))?;
    Ok(TcpRule { addr, port })
}

/// Processes a box may have when `--pids` is not given.
pub const DEFAULT_PIDS: u64 = 512;

/// Parses `64M`, `1G`, `4096`.
fn parse_size(v: &[u8]) -> Option<u64> {
    let (digits, unit) = match v.last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&v[..v.len() - 1], 1 << 20),
        b'g' | b'G' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    core::str::from_utf8(digits)
        .ok()?
        .parse::<u64>()
        .ok()?
        .checked_mul(unit)
        .filter(|n| *n > 0)
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Print help (exit 0 if asked for, 125 if no command was given): this text.
    Help {
        /// Whether it was asked for.
        asked: bool,
        /// The text.
        text: &'static str,
    },
    /// Print the version.
    Version,
    /// Print the system-call table.
    Syscalls,
    /// Print the ABI calls.
    Abi,
    /// Run a box.
    Run(alloc::boxed::Box<RunConfig>),
    /// List the running boxes (`--json`: as JSON).
    Ps {
        /// `--json`.
        json: bool,
    },
    /// Run a box described by a manifest: hand these `run` arguments to `picobox-manifest`.
    Manifest(Vec<Vec<u8>>),
    /// `snapshot ID -o PATH [--leave-running]`.
    Snapshot {
        /// The box's id.
        id: Vec<u8>,
        /// Where to (`-`: standard output).
        output: Vec<u8>,
        /// `--leave-running`.
        leave_running: bool,
    },
    /// `snapshot inspect PATH [--json]`.
    Inspect {
        /// The file.
        path: Vec<u8>,
        /// `--json`.
        json: bool,
    },
    /// `restore PATH [--name ID] [--bind SRC DST]...`.
    Restore(RestoreArgs),
}

/// What `picobox restore` was given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreArgs {
    /// The snapshot (`-`: standard input).
    pub path: Vec<u8>,
    /// `--name`.
    pub name: Option<Vec<u8>>,
    /// `--bind SRC DST`: the mount at DST is now SRC.
    pub binds: Vec<(Vec<u8>, Vec<u8>)>,
    /// `--trust-snapshot`: take the box's recorded access to the host from a snapshot that
    /// does not bear the user's seal.
    pub trust: bool,
}

fn parse_snapshot(args: &[Vec<u8>]) -> Result<Command, String> {
    if args.first().map(Vec::as_slice) == Some(b"inspect") {
        return match &args[1..] {
            [path] => Ok(Command::Inspect {
                path: path.clone(),
                json: false,
            }),
            [path, json] | [json, path] if json == b"--json" => Ok(Command::Inspect {
                path: path.clone(),
                json: true,
            }),
            _ => Err("usage: picobox snapshot inspect PATH [--json]".into()),
        };
    }
    let (mut id, mut output, mut leave_running) = (None, None, false);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_slice() {
            b"-o" | b"--output" => {
                output = Some(
                    args.get(i + 1)
                        .ok_or("snapshot: -o needs a path (or - for standard output)")?
                        .clone(),
                );
                i += 1;
            }
            b"--leave-running" => leave_running = true,
            a if a.starts_with(b"-") => {
                return Err(format!(
                    "snapshot: unknown option '{}' (see picobox snapshot --help)",
                    text(a)
                ))
            }
            a if id.is_none() => id = Some(a.to_vec()),
            a => return Err(format!("snapshot: unexpected argument '{}'", text(a))),
        }
        i += 1;
    }
    let id = id.ok_or("snapshot: which box? (picobox snapshot ID -o PATH)")?;
    check_box_id(&id).map_err(|e| format!("snapshot: {e}"))?;
    let output = output.ok_or("snapshot: -o PATH is needed (- for standard output)")?;
    Ok(Command::Snapshot {
        id,
        output,
        leave_running,
    })
}

fn parse_restore(args: &[Vec<u8>]) -> Result<Command, String> {
    let mut r = RestoreArgs::default();
    let mut path = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_slice() {
            b"--name" => {
                let id = args.get(i + 1).ok_or("restore: --name needs an id")?;
                check_box_id(id).map_err(|e| format!("restore: {e}"))?;
                r.name = Some(id.clone());
                i += 1;
            }
            b"--bind" => {
                let (Some(src), Some(dst)) = (args.get(i + 1), args.get(i + 2)) else {
                    return Err("restore: --bind needs SRC and DST".into());
                };
                r.binds.push((src.clone(), dst.clone()));
                i += 2;
            }
            b"--trust-snapshot" => r.trust = true,
            b"-" if path.is_none() => path = Some(b"-".to_vec()),
            a if a.starts_with(b"-") => {
                return Err(format!(
                    "restore: unknown option '{}' (see picobox restore --help)",
                    text(a)
                ))
            }
            a if path.is_none() => path = Some(a.to_vec()),
            a => return Err(format!("restore: unexpected argument '{}'", text(a))),
        }
        i += 1;
    }
    r.path =
        path.ok_or("restore: which snapshot? (picobox restore PATH, or - for standard input)")?;
    Ok(Command::Restore(r))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses the arguments after the program name.
pub fn parse(args: &[Vec<u8>]) -> Result<Command, String> {
    match args.first().map(Vec::as_slice) {
        None => Ok(Command::Help {
            asked: false,
            text: HELP,
        }),
        Some(b"-h" | b"--help" | b"help") => Ok(Command::Help {
            asked: true,
            text: HELP,
        }),
        Some(b"-V" | b"--version") => Ok(Command::Version),
        Some(command @ (b"run" | b"syscalls" | b"abi" | b"ps" | b"snapshot" | b"restore"))
            if matches!(args.get(1).map(Vec::as_slice), Some(b"-h" | b"--help")) =>
        {
            Ok(Command::Help {
                asked: true,
                text: match command {
                    b"run" => RUN_HELP,
                    b"syscalls" => SYSCALLS_HELP,
                    b"ps" => PS_HELP,
                    b"snapshot" => SNAPSHOT_HELP,
                    b"restore" => RESTORE_HELP,
                    _ => ABI_HELP,
                },
            })
        }
        Some(command @ (b"syscalls" | b"abi")) if args.len() > 1 => Err(format!(
            "'{}' takes no arguments (see picobox {} --help)",
            text(command),
            text(command)
        )),
        Some(b"syscalls") => Ok(Command::Syscalls),
        Some(b"ps") => match &args[1..] {
            [] => Ok(Command::Ps { json: false }),
            [json] if json == b"--json" => Ok(Command::Ps { json: true }),
            [other, ..] => Err(format!(
                "ps: unknown option '{}' (see picobox ps --help)",
                text(other)
            )),
        },
        Some(b"abi") => Ok(Command::Abi),
        Some(b"snapshot") => parse_snapshot(&args[1..]),
        Some(b"restore") => parse_restore(&args[1..]),
        Some(b"run") => {
            let rest = &args[1..];
            let options_end = rest.iter().position(|a| a == b"--").unwrap_or(rest.len());
            if rest[..options_end].iter().any(|a| a == b"--manifest") {
                return Ok(Command::Manifest(rest.to_vec()));
            }
            parse_run(rest).map(|c| Command::Run(alloc::boxed::Box::new(c)))
        }
        Some(other) => Err(format!("unknown command '{}'", text(other))),
    }
}

/// Parses the options of `picobox run`.
pub fn parse_run(args: &[Vec<u8>]) -> Result<RunConfig, String> {
    let mut c = RunConfig {
        pids: DEFAULT_PIDS,
        memory: DEFAULT_MEMORY,
        files: DEFAULT_FILES,
        raw_args: args.to_vec(),
        ..RunConfig::default()
    };
    let mut next_size = None;
    let mut i = 0;
    let value = |i: usize, n: usize, flag: &[u8]| -> Result<&[Vec<u8>], String> {
        args.get(i + 1..i + 1 + n).ok_or_else(|| {
            format!(
                "{} needs {n} argument{}",
                text(flag),
                if n == 1 { "" } else { "s" }
            )
        })
    };
    while i < args.len() {
        let a = args[i].as_slice();
        let taken = match a {
            b"--" => {
                i += 1;
                break;
            }
            b"--ro-bind" | b"--bind" | b"--ro-bind-try" | b"--bind-try" | b"--symlink" => {
                let v = value(i, 2, a)?;
                let kind = match a {
                    b"--bind" | b"--bind-try" => MountKind::ReadWrite,
                    b"--symlink" => MountKind::Symlink,
                    _ => MountKind::ReadOnly,
                };
                if v[0].is_empty() || v[0].contains(&0) {
                    return Err(format!("{}: an empty source or target", text(a)));
                }
                c.mounts.push(MountSpec {
                    kind,
                    source: v[0].clone(),
                    target: v[1].clone(),
                    size: None,
                    optional: a.ends_with(b"-try"),
                });
                2
            }
            b"--tmpfs" | b"--dir" => {
                let v = value(i, 1, a)?;
                c.mounts.push(MountSpec {
                    kind: if a == b"--dir" {
                        MountKind::Dir
                    } else {
                        MountKind::Tmpfs
                    },
                    source: Vec::new(),
                    target: v[0].clone(),
                    size: if a == b"--dir" {
                        None
                    } else {
                        next_size.take()
                    },
                    optional: false,
                });
                1
            }
            b"--root" => {
                let v = &value(i, 1, a)?[0];
                if v.first() != Some(&b'/') {
                    return Err(format!("--root '{}' must be an absolute path", text(v)));
                }
                c.root = RootChoice::Dir(v.clone());
                1
            }
            b"--empty-root" => {
                c.root = RootChoice::Empty;
                0
            }
            b"--show-root" => {
                c.show_root = true;
                0
            }
            b"--as-pid-1" => {
                c.as_pid_1 = true;
                0
            }
            b"--name" => {
                let v = &value(i, 1, a)?[0];
                check_box_id(v)?;
                c.name = Some(v.clone());
                1
            }
            b"--size" => {
                let v = &value(i, 1, a)?[0];
                next_size = Some(parse_size(v).ok_or_else(|| {
                    format!("--size: '{}' is not a size such as 64M or 1G", text(v))
                })?);
                1
            }
            b"--setenv" => {
                let v = value(i, 2, a)?;
                if v[0].is_empty() || v[0].contains(&b'=') || v[0].contains(&0) {
                    return Err(format!("--setenv: invalid variable name '{}'", text(&v[0])));
                }
                c.env.push((v[0].clone(), v[1].clone()));
                2
            }
            b"--chdir" => {
                c.cwd = Some(value(i, 1, a)?[0].clone());
                1
            }
            b"--pids" => {
                let v = &value(i, 1, a)?[0];
                c.pids = core::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--pids: '{}' is not a positive number", text(v)))?;
                1
            }
            b"--memory" => {
                let v = &value(i, 1, a)?[0];
                c.memory = parse_size(v).ok_or_else(|| {
                    format!("--memory: '{}' is not a size such as 512M or 2G", text(v))
                })?;
                1
            }
            b"--files" => {
                let v = &value(i, 1, a)?[0];
                c.files = core::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| (3..=MAX_FILES).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "--files: '{}' is not a number from 3 to {MAX_FILES}",
                            text(v)
                        )
                    })?;
                1
            }
            b"--net" => {
                let v = &value(i, 1, a)?[0];
                match v.as_slice() {
                    b"none" => c.loopback = false,
                    b"loopback" => c.loopback = true,
                    _ => {
                        return Err(format!(
                            "--net '{}': use 'none' or 'loopback' (--allow-bind/--allow-connect give host ports)",
                            text(v)
                        ))
                    }
                }
                1
            }
            b"--allow-bind" | b"--allow-connect" => {
                let rule = parse_port_rule(a, &value(i, 1, a)?[0])?;
                if a == b"--allow-bind" {
                    c.allow_bind.push(rule)
                } else {
                    c.allow_connect.push(rule)
                }
                1
            }
            b"--trace" => {
                c.trace = true;
                0
            }
            _ if a.first() == Some(&b'-') && a.len() > 1 => {
                return Err(format!("unknown option '{}'", text(a)))
            }
            _ => break,
        };
        i += 1 + taken;
    }
    if next_size.is_some() {
        return Err("--size applies to the --tmpfs that follows it; none does".into());
    }
    match args.get(i) {
        Some(program) => {
            c.program = program.clone();
            c.args = args[i + 1..].to_vec();
        }
        None if c.show_root => {}
        None => return Err("no PROGRAM given (see picobox run --help)".into()),
    }
    for m in &c.mounts {
        if m.target.first() != Some(&b'/') {
            return Err(format!(
                "{} target '{}' must be an absolute path in the box",
                m.kind.flag(),
                text(&m.target)
            ));
        }
    }
    if c.loopback && c.host_network() {
        return Err("--net loopback and --allow-bind/--allow-connect exclude each other".into());
    }
    if let Some(cwd) = &c.cwd {
        if cwd.first() != Some(&b'/') {
            return Err(format!("--chdir '{}' must be an absolute path", text(cwd)));
        }
    }
    Ok(c)
}

/// Whether `id` may name a box (`--name`): 1 to 64 letters, digits, `_`, `.` and `-`,
/// starting with a letter or digit, so that it is a file name and a word on a command line.
pub fn check_box_id(id: &[u8]) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id[0].is_ascii_alphanumeric()
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--name '{}': a box id is 1 to 64 letters, digits, '_', '.' or '-', starting with \
             a letter or digit",
            text(id)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn flags_and_program_are_split() {
        let c = parse_run(&args(&[
            "--ro-bind",
            "/usr",
            "/usr",
            "--tmpfs",
            "/tmp",
            "--setenv",
            "A",
            "b",
            "--",
            "prog",
            "--x",
        ]))
        .unwrap();
        assert_eq!(c.program, b"prog");
        assert_eq!(c.args, args(&["--x"]));
        assert_eq!(c.mounts.len(), 2);
        assert_eq!(c.env, [(b"A".to_vec(), b"b".to_vec())]);
    }

    #[test]
    fn bad_flags_are_reported() {
        assert!(parse_run(&args(&["--bind", "/x"]))
            .unwrap_err()
            .contains("needs 2 arguments"));
        assert!(parse_run(&args(&["--frobnicate"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse_run(&args(&[])).unwrap_err().contains("no PROGRAM"));
        assert!(parse_run(&args(&["--tmpfs", "rel", "p"]))
            .unwrap_err()
            .contains("absolute"));
        assert!(parse_run(&args(&["--setenv", "A=B", "c", "p"]))
            .unwrap_err()
            .contains("invalid variable"));
    }

    #[test]
    fn limits_are_parsed() {
        let c = parse_run(&args(&["--pids", "20", "--memory", "64M", "p"])).unwrap();
        assert_eq!((c.pids, c.memory), (20, 64 << 20));
        assert_eq!(parse_run(&args(&["p"])).unwrap().memory, DEFAULT_MEMORY);
        assert_eq!(
            parse_run(&args(&["--files", "9000", "p"])).unwrap().files,
            9000
        );
        assert!(parse_run(&args(&["--files", "2", "p"]))
            .unwrap_err()
            .contains("from 3"));
        let t = parse_run(&args(&[
            "--size", "8M", "--tmpfs", "/t", "--tmpfs", "/u", "p",
        ]))
        .unwrap();
        assert_eq!(t.mounts[0].size, Some(8 << 20));
        assert_eq!(t.mounts[1].size, None);
        assert!(parse_run(&args(&["--size", "8M", "p"]))
            .unwrap_err()
            .contains("--size applies"));
        assert_eq!(parse_run(&args(&["p"])).unwrap().pids, DEFAULT_PIDS);
        assert!(parse_run(&args(&["--memory", "lots", "p"]))
            .unwrap_err()
            .contains("not a size"));
        assert!(parse_run(&args(&["--pids", "0", "p"]))
            .unwrap_err()
            .contains("positive"));
    }

    #[test]
    fn port_rules_are_parsed() {
        let c = parse_run(&args(&[
            "--allow-bind",
            "tcp:127.0.0.1:8080",
            "--allow-connect",
            "tcp:[::1]:6379",
            "p",
        ]))
        .unwrap();
        assert_eq!(
            c.allow_bind,
            [TcpRule {
                addr: "127.0.0.1".parse().unwrap(),
                port: 8080
            }]
        );
        assert_eq!(
            c.allow_connect,
            [TcpRule {
                addr: "::1".parse().unwrap(),
                port: 6379
            }]
        );
        assert!(parse_run(&args(&["--allow-bind", "tcp:localhost:80", "p"]))
            .unwrap_err()
            .contains("not an IP address"));
        assert!(c.host_network());
        assert!(!parse_run(&args(&["p"])).unwrap().host_network());
        assert!(parse_run(&args(&["--allow-bind", "udp:1.2.3.4:53", "p"]))
            .unwrap_err()
            .contains("only TCP"));
        assert!(parse_run(&args(&["--allow-bind", "tcp:1.2.3.4:x", "p"]))
            .unwrap_err()
            .contains("bad port"));
        assert!(parse_run(&args(&["--net", "host", "p"]))
            .unwrap_err()
            .contains("'none' or 'loopback'"));
        assert!(
            parse_run(&args(&["--net", "loopback", "p"]))
                .unwrap()
                .loopback
        );
    }

    #[test]
    fn manifest_runs_are_handed_over() {
        let c = parse(&args(&["run", "--manifest", "m.toml", "--", "prog"])).unwrap();
        assert_eq!(
            c,
            Command::Manifest(args(&["--manifest", "m.toml", "--", "prog"]))
        );
        // After `--`, "--manifest" is an argument of the program.
        assert!(matches!(
            parse(&args(&["run", "--", "prog", "--manifest"])).unwrap(),
            Command::Run(_)
        ));
    }
}
