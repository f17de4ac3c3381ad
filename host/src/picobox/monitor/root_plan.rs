//! What the box's file system will hold, decided before the box exists: the safe default root
//! (or `--root DIR`, or nothing with `--empty-root`), the box's `/dev/shm`, then the mounts the
//! user declared, in order (later ones go over earlier ones, as in bubblewrap). `--show-root`
//! prints this plan; `launch.rs` makes it (`policy/box_root.rs` holds the kernel side).
//!
//! The default root is what a program needs and nothing a box must not see:
//! - the host's `/usr`, read-only, and its merged-usr links `/bin`, `/sbin`, `/lib`, `/lib64`
//!   (`/lib32`, `/libx32`) as they are on the host (links stay links; real directories are
//!   bound read-only);
//! - an `/etc` of its own, read-only, holding only [`ETC_ENTRIES`] of the host's (the loader's
//!   cache and configuration, name service and time zone settings, certificates, MIME types,
//!   alternatives, shell start-up files) and a `passwd` and `group` that describe the box's own
//!   users; never `shadow`, `gshadow`, `sudoers`, ssh host keys or `machine-id`;
//! - an empty memory-backed `/tmp` and home directory (`/root` for root, else `/home/user`);
//! - the library OS's own `/dev` and `/proc`.
//!
//! Nothing under the host's `/root`, `/home`, `/var`, `/run`, `/srv`, `/opt` or `/mnt` is there
//! unless mounted.

use crate::cli::{MountKind, RootChoice, RunConfig, DEFAULT_SHM_SIZE, DEFAULT_TMPFS_SIZE};
use crate::gate;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

/// What appears at one path of the box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A host file or directory, cloned as a detached mount.
    Bind {
        /// The host path.
        source: Vec<u8>,
        /// Whether the box may change it.
        writable: bool,
    },
    /// A fresh tmpfs of at most `size` bytes.
    Tmpfs {
        /// Bytes.
        size: u64,
        /// Whether everyone may make files there, as in Linux's `/tmp` (mode 1777 rather than
        /// 0700).
        shared: bool,
    },
    /// A symbolic link (its target is followed in the box's view).
    Symlink {
        /// The link's target.
        target: Vec<u8>,
    },
    /// An empty read-only directory.
    Dir,
    /// A read-only directory picobox fills (the default root's `/etc`): copies of small host
    /// files, links, and read-only binds of host directories, by relative path, parents first.
    Populated {
        /// What it holds.
        entries: Vec<(Vec<u8>, Leaf)>,
    },
}

/// One entry of a [`What::Populated`] directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// A file with these bytes (a copy of a small host file, or made by picobox).
    File(Vec<u8>),
    /// A symbolic link with this target.
    Link(Vec<u8>),
    /// A read-only bind of this host file or directory.
    Bind(Vec<u8>),
}

/// Host files up to this size are copied into a populated directory rather than mounted
/// (a copy costs a read; a mount costs the kernel's mount lock several times).
const COPY_AT_MOST: u64 = 256 << 10;

/// One entry of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedMount {
    /// Where the box sees it (absolute, normalised).
    pub guest_path: Vec<u8>,
    /// What it is.
    pub what: What,
    /// The flag that declared it (or `default root`), for messages.
    pub flag: &'static str,
}

/// The box's file system, and the home directory the default root gives (for `HOME`).
pub struct Plan {
    /// In order: later entries go over earlier ones.
    pub mounts: Vec<PlannedMount>,
    /// The home directory, with the default root.
    pub home: Option<Vec<u8>>,
}

/// The entries of the host's `/etc` that the default root shows (those the host has): the
/// dynamic loader's cache and configuration, name service and resolver settings, the time
/// zone, certificates, MIME types, alternatives, shell start-up files and the release. Each
/// costs every box start (a copy, or a mount for a directory), so the list is short.
pub const ETC_ENTRIES: &[&str] = &[
    "alternatives",
    "bash.bashrc",
    "debian_version",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "locale.alias",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "profile",
    "protocols",
    "resolv.conf",
    "services",
    "shells",
    "ssl/certs",
    "ssl/openssl.cnf",
    "timezone",
];

/// The merged-usr names at the top of the root.
const TOP_LINKS: &[&str] = &["bin", "sbin", "lib", "lib64", "lib32", "libx32"];

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const S_IFMT: u64 = 0o170000;
const S_IFLNK: u64 = 0o120000;

/// What the host has at `path`, without following a last symbolic link.
enum HostEntry {
    Missing,
    Link(Vec<u8>),
    Other,
}

fn host_entry(path: &[u8]) -> HostEntry {
    let mut p = path.to_vec();
    p.push(0);
    let mut st = [0u64; 18];
    let r = gate::syscall(
        262,
        [
            AT_FDCWD,
            p.as_ptr() as u64,
            st.as_mut_ptr() as u64,
            AT_SYMLINK_NOFOLLOW,
            0,
            0,
        ],
    );
    if Errno::from_raw_return(r).is_err() {
        return HostEntry::Missing;
    }
    if (st[3] & S_IFMT) != S_IFLNK {
        return HostEntry::Other;
    }
    let mut buf = alloc::vec![0u8; 4096];
    let r = gate::syscall(
        267,
        [
            AT_FDCWD,
            p.as_ptr() as u64,
            buf.as_mut_ptr() as u64,
            buf.len() as u64,
            0,
            0,
        ],
    );
    match Errno::from_raw_return(r) {
        Ok(n) => {
            buf.truncate(n as usize);
            HostEntry::Link(buf)
        }
        Err(_) => HostEntry::Missing,
    }
}

/// Whether `path` exists on the host (following links).
fn host_exists(path: &[u8]) -> bool {
    let mut p = path.to_vec();
    p.push(0);
    let mut st = [0u64; 18];
    Errno::from_raw_return(gate::syscall(
        262,
        [AT_FDCWD, p.as_ptr() as u64, st.as_mut_ptr() as u64, 0, 0, 0],
    ))
    .is_ok()
}

/// The bytes of the host's regular file `path` (following links) if it has at most `max`.
fn read_small_file(path: &[u8], max: u64) -> Option<Vec<u8>> {
    const O_RDONLY_CLOEXEC: u64 = 0o2000000;
    let mut p = path.to_vec();
    p.push(0);
    let fd = Errno::from_raw_return(gate::syscall(
        257,
        [AT_FDCWD, p.as_ptr() as u64, O_RDONLY_CLOEXEC, 0, 0, 0],
    ))
    .ok()?;
    let mut st = [0u64; 18];
    let mut out = None;
    if Errno::from_raw_return(gate::syscall(5, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0])).is_ok()
        && (st[3] & S_IFMT) == 0o100000
        && st[6] <= max
    {
        let mut buf = alloc::vec![0u8; st[6] as usize];
        let mut got = 0;
        while got < buf.len() {
            match Errno::from_raw_return(gate::syscall(
                0,
                [
                    fd,
                    buf[got..].as_mut_ptr() as u64,
                    (buf.len() - got) as u64,
                    0,
                    0,
                    0,
                ],
            )) {
                Ok(0) => break,
                Ok(n) => got += n as usize,
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        buf.truncate(got);
        out = Some(buf);
    }
    gate::syscall(3, [fd, 0, 0, 0, 0, 0]);
    out
}

/// The default root's `/etc` entry `name`: links that lead into what the box sees stay
/// links, small files are copied, directories and large files are bound read-only.
fn etc_leaf(name: &str) -> Option<Leaf> {
    let host = format!("/etc/{name}");
    let p = host.as_bytes();
    let follows = match host_entry(p) {
        HostEntry::Missing => return None,
        HostEntry::Link(target) => {
            let dest = link_destination(p, &target);
            if dest.starts_with(b"/usr/") || dest.starts_with(b"/etc/") {
                return Some(Leaf::Link(target));
            }
            true
        }
        HostEntry::Other => false,
    };
    if follows && !host_exists(p) {
        return None;
    }
    match read_small_file(p, COPY_AT_MOST) {
        Some(bytes) => Some(Leaf::File(bytes)),
        None => Some(Leaf::Bind(p.to_vec())),
    }
}

/// `target` made absolute and normalised, as a link at `link` would resolve it lexically.
fn link_destination(link: &[u8], target: &[u8]) -> Vec<u8> {
    let mut full = Vec::new();
    if target.first() != Some(&b'/') {
        let parent = &link[..link.iter().rposition(|b| *b == b'/').unwrap_or(0)];
        full.extend_from_slice(parent);
        full.push(b'/');
    }
    full.extend_from_slice(target);
    normalize(&full)
}

/// An absolute path with `.`, `..` and repeated slashes resolved lexically.
pub fn normalize(target: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in target.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::new();
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

fn entry(guest_path: &[u8], what: What, flag: &'static str) -> PlannedMount {
    PlannedMount {
        guest_path: normalize(guest_path),
        what,
        flag,
    }
}

/// The host's `path` shown at the same place: links stay links when they lead into what the
/// box sees (`/usr`, `/etc`); other links are followed and their target bound read-only.
fn mirror(path: &str, out: &mut Vec<PlannedMount>) {
    const FLAG: &str = "default root";
    let p = path.as_bytes();
    match host_entry(p) {
        HostEntry::Missing => {}
        HostEntry::Link(target) => {
            let dest = link_destination(p, &target);
            if dest.starts_with(b"/usr/") || dest.starts_with(b"/etc/") {
                out.push(entry(p, What::Symlink { target }, FLAG));
            } else if host_exists(p) {
                out.push(entry(
                    p,
                    What::Bind {
                        source: p.to_vec(),
                        writable: false,
                    },
                    FLAG,
                ));
            }
        }
        HostEntry::Other => out.push(entry(
            p,
            What::Bind {
                source: p.to_vec(),
                writable: false,
            },
            FLAG,
        )),
    }
}

/// The `passwd` and `group` of a box whose user is `(uid, gid)`, home `home`.
fn user_database(uid: u32, gid: u32, home: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let home = String::from_utf8_lossy(home);
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    let mut group = String::from("root:x:0:\n");
    if uid != 0 {
        passwd.push_str(&format!("user:x:{uid}:{gid}:box user:{home}:/bin/sh\n"));
    }
    if gid != 0 {
        group.push_str(&format!("user:x:{gid}:\n"));
    }
    passwd.push_str("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    group.push_str("nogroup:x:65534:\n");
    (passwd.into_bytes(), group.into_bytes())
}

/// The safe default root for a box whose processes report `(uid, gid)`.
fn default_root(uid: u32, gid: u32) -> (Vec<PlannedMount>, Vec<u8>) {
    const FLAG: &str = "default root";
    let mut out = Vec::new();
    mirror("/usr", &mut out);
    for name in TOP_LINKS {
        mirror(&format!("/{name}"), &mut out);
    }
    let home: Vec<u8> = if uid == 0 {
        b"/root".to_vec()
    } else {
        b"/home/user".to_vec()
    };
    let mut etc: Vec<(Vec<u8>, Leaf)> = ETC_ENTRIES
        .iter()
        .filter_map(|name| etc_leaf(name).map(|leaf| (name.as_bytes().to_vec(), leaf)))
        .collect();
    let (passwd, group) = user_database(uid, gid, &home);
    etc.push((b"passwd".to_vec(), Leaf::File(passwd)));
    etc.push((b"group".to_vec(), Leaf::File(group)));
    out.push(entry(b"/etc", What::Populated { entries: etc }, FLAG));
    for (at, shared) in [(&b"/tmp"[..], true), (&home, false)] {
        out.push(entry(
            at,
            What::Tmpfs {
                size: DEFAULT_TMPFS_SIZE,
                shared,
            },
            FLAG,
        ));
    }
    (out, home)
}

/// The plan for `c`, whose processes report `(uid, gid)`.
pub fn plan(c: &RunConfig, uid: u32, gid: u32) -> Plan {
    let mut mounts = Vec::new();
    let mut home = None;
    let declares_root = c.mounts.iter().any(|m| normalize(&m.target) == b"/");
    match &c.root {
        RootChoice::Default if !declares_root => {
            let (root, h) = default_root(uid, gid);
            mounts.extend(root);
            home = Some(h);
        }
        RootChoice::Dir(dir) => mounts.push(entry(
            b"/",
            What::Bind {
                source: dir.clone(),
                writable: false,
            },
            "--root",
        )),
        _ => {}
    }
    // Every box gets a private /dev/shm (for shm_open), unless it declares its own: over the
    // root, under the other mounts (a declared root would hide it otherwise).
    let shm_at = c
        .mounts
        .iter()
        .rposition(|m| normalize(&m.target) == b"/")
        .map_or(0, |i| i + 1);
    let declares_shm = c.mounts.iter().any(|m| normalize(&m.target) == b"/dev/shm");
    for (i, m) in c.mounts.iter().enumerate() {
        if i == shm_at && !declares_shm {
            push_shm(&mut mounts);
        }
        let what = match m.kind {
            MountKind::ReadOnly | MountKind::ReadWrite => {
                if m.optional && !host_exists(&m.source) {
                    continue;
                }
                What::Bind {
                    source: m.source.clone(),
                    writable: m.kind == MountKind::ReadWrite,
                }
            }
            MountKind::Tmpfs => What::Tmpfs {
                size: m.size.unwrap_or(DEFAULT_TMPFS_SIZE),
                shared: false,
            },
            MountKind::Symlink => What::Symlink {
                target: m.source.clone(),
            },
            MountKind::Dir => What::Dir,
        };
        let flag = match (m.kind, m.optional) {
            (MountKind::ReadOnly, true) => "--ro-bind-try",
            (MountKind::ReadWrite, true) => "--bind-try",
            (kind, _) => kind.flag(),
        };
        // As bubblewrap, a destination is resolved in the root built so far: a mount at
        // /bin/tool lands at /usr/bin/tool when /bin is a link to usr/bin.
        let at = through_links(&normalize(&m.target), &mounts);
        mounts.push(entry(&at, what, flag));
    }
    if shm_at == c.mounts.len() && !declares_shm {
        push_shm(&mut mounts);
    }
    Plan { mounts, home }
}

/// The box's `/dev/shm`, and the links of `/dev` that name descriptors (`/dev/fd`, which
/// shells use for process substitution, and `/dev/stdin`, `/dev/stdout`, `/dev/stderr`).
/// `path` with every leading component that an earlier entry makes a symbolic link replaced
/// by the link's target (the last component stays: a mount there replaces the link), up to
/// 40 links as Linux follows.
fn through_links(path: &[u8], earlier: &[PlannedMount]) -> Vec<u8> {
    let mut path = path.to_vec();
    for _ in 0..40 {
        let parts: Vec<&[u8]> = path
            .split(|b| *b == b'/')
            .filter(|p| !p.is_empty())
            .collect();
        let mut replaced = None;
        for depth in 1..parts.len() {
            let mut prefix = Vec::new();
            for p in &parts[..depth] {
                prefix.push(b'/');
                prefix.extend_from_slice(p);
            }
            let link = earlier.iter().rev().find(|m| m.guest_path == prefix);
            if let Some(What::Symlink { target }) = link.map(|m| &m.what) {
                let mut rest = link_destination(&prefix, target);
                for p in &parts[depth..] {
                    rest.push(b'/');
                    rest.extend_from_slice(p);
                }
                replaced = Some(normalize(&rest));
                break;
            }
        }
        match replaced {
            Some(p) => path = p,
            None => break,
        }
    }
    path
}

fn push_shm(mounts: &mut Vec<PlannedMount>) {
    mounts.push(entry(
        b"/dev/shm",
        What::Tmpfs {
            size: DEFAULT_SHM_SIZE,
            shared: true,
        },
        "default",
    ));
    for (at, target) in [
        (&b"/dev/fd"[..], &b"/proc/self/fd"[..]),
        (b"/dev/stdin", b"/proc/self/fd/0"),
        (b"/dev/stdout", b"/proc/self/fd/1"),
        (b"/dev/stderr", b"/proc/self/fd/2"),
    ] {
        let target = target.to_vec();
        mounts.push(entry(at, What::Symlink { target }, "default"));
    }
}

/// The plan as `--show-root` prints it: one line per entry, in order.
pub fn describe(plan: &Plan) -> String {
    let mut s = String::from("# what the box's file system holds, in order (later over earlier)\n");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for m in &plan.mounts {
        let at = text(&m.guest_path);
        let line = match &m.what {
            What::Bind { source, writable } => format!(
                "{:<9} {:<34} {at}\n",
                if *writable { "bind" } else { "ro-bind" },
                text(source)
            ),
            What::Tmpfs { size, shared } => format!(
                "{:<9} {:<34} {at}\n",
                "tmpfs",
                format!(
                    "{} mode {}",
                    size_text(*size),
                    if *shared { "1777" } else { "0700" }
                )
            ),
            What::Symlink { target } => format!("{:<9} {:<34} {at}\n", "symlink", text(target)),
            What::Dir => format!("{:<9} {:<34} {at}\n", "dir", "(empty, read-only)"),
            What::Populated { entries } => {
                let mut lines = format!("{:<9} {:<34} {at}\n", "dir", "(read-only, holding:)");
                for (name, leaf) in entries {
                    let inner = format!("{at}/{}", text(name));
                    lines.push_str(&match leaf {
                        Leaf::File(bytes) => format!(
                            "{:<9} {:<34} {inner}\n",
                            "file",
                            format!("(a copy, {} bytes)", bytes.len())
                        ),
                        Leaf::Link(target) => {
                            format!("{:<9} {:<34} {inner}\n", "symlink", text(target))
                        }
                        Leaf::Bind(source) => {
                            format!("{:<9} {:<34} {inner}\n", "ro-bind", text(source))
                        }
                    });
                }
                lines
            }
        };
        s.push_str(&line);
    }
    s.push_str("proc      (the library OS's)                 /proc\n");
    s.push_str("dev       (the library OS's: null zero random urandom) /dev\n");
    s
}

fn size_text(n: u64) -> String {
    match n {
        n if n % (1 << 30) == 0 => format!("{}G", n >> 30),
        n if n % (1 << 20) == 0 => format!("{}M", n >> 20),
        n if n % (1 << 10) == 0 => format!("{}K", n >> 10),
        n => format!("{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_lexically() {
        assert_eq!(link_destination(b"/bin", b"usr/bin"), b"/usr/bin");
        assert_eq!(
            link_destination(b"/etc/os-release", b"../usr/lib/os-release"),
            b"/usr/lib/os-release"
        );
        assert_eq!(link_destination(b"/etc/x", b"/run/y"), b"/run/y");
        assert_eq!(normalize(b"//a/./b/../c/"), b"/a/c");
    }

    #[test]
    fn destinations_follow_earlier_links() {
        let link = |at: &[u8], target: &[u8]| PlannedMount {
            guest_path: at.to_vec(),
            what: What::Symlink {
                target: target.to_vec(),
            },
            flag: "--symlink",
        };
        let plan = [link(b"/bin", b"usr/bin"), link(b"/opt", b"/srv/opt")];
        assert_eq!(through_links(b"/bin/tool", &plan), b"/usr/bin/tool");
        assert_eq!(through_links(b"/opt/a/b", &plan), b"/srv/opt/a/b");
        assert_eq!(through_links(b"/bin", &plan), b"/bin");
        assert_eq!(through_links(b"/usr/bin/x", &plan), b"/usr/bin/x");
    }

    #[test]
    fn the_user_database_names_the_box_users() {
        let (p, g) = user_database(1000, 1000, b"/home/user");
        let p = String::from_utf8(p).unwrap();
        assert!(p.contains("user:x:1000:1000:box user:/home/user:/bin/sh\n"));
        assert!(p.starts_with("root:x:0:0:"));
        assert!(String::from_utf8(g).unwrap().contains("user:x:1000:\n"));
        let (p, _) = user_database(0, 0, b"/root");
        assert_eq!(String::from_utf8(p).unwrap().lines().count(), 2);
    }
}
