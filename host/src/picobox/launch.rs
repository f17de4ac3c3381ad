//! `picobox run`: open what the box may use, build its policy, fork, confine the child, and let
//! the library OS load the program there. The parent stays behind as the box's monitor: it
//! waits, reports how the program ended, and removes the box's tmpfs directories.
//!
//! The child never executes another file: it is already the runtime (this binary holds the
//! PAL, the library OS and the loader), so a box costs one fork and no `execve`.

use crate::cli::{MountKind, MountSpec, RunConfig};
use crate::landlock::{self, Ruleset};
use crate::limits::Limits;
use crate::{gate, out, pal, signals};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::boot::{BootInfo, BootMount, Network};
use picobox_abi::{Errno, Handle, Host, IoBuf};
use picobox_loader::{ElfImage, HEADER_READ_SIZE};

/// Exit status: picobox failed.
pub const EXIT_INTERNAL: u8 = 125;
/// Exit status: the program cannot be executed.
pub const EXIT_CANNOT_EXECUTE: u8 = 126;
/// Exit status: the program was not found.
pub const EXIT_NOT_FOUND: u8 = 127;
/// Exit status: the kernel killed the box for a forbidden host system call.
pub const EXIT_POLICY_KILL: u8 = 159;

const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
const AT_FDCWD: u64 = -100i64 as u64;
const O_RDONLY: u64 = 0;
const O_DIRECTORY: u64 = 0o200000;
const O_PATH: u64 = 0o10000000;
const O_CLOEXEC: u64 = 0o2000000;
const SIGKILL: u64 = 9;
const SIGSYS: u32 = 31;

/// A failure before the program started: exit status and message.
struct Failure(u8, String);

fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn c_str(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.push(0);
    v
}

fn open(path: &[u8], flags: u64) -> Result<u64, Errno> {
    let p = c_str(path);
    sys(
        257,
        [AT_FDCWD, p.as_ptr() as u64, flags | O_CLOEXEC, 0, 0, 0],
    )
}

fn close(fd: u64) {
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
}

/// Whether `path` names a regular file.
fn is_file(path: &[u8]) -> bool {
    let p = c_str(path);
    let mut st = [0u64; 18];
    sys(
        262,
        [AT_FDCWD, p.as_ptr() as u64, st.as_mut_ptr() as u64, 0, 0, 0],
    )
    .is_ok()
        && (st[3] & 0o170000) == 0o100000
}

/// The program on the host: a path if it has a `/`, else a name looked up in `PATH`.
fn find_program(name: &[u8], env: &[Vec<u8>]) -> Result<Vec<u8>, Failure> {
    if name.contains(&b'/') {
        return Ok(name.to_vec());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(|b| *b == b':').filter(|d| !d.is_empty()) {
        let mut candidate = dir.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(name);
        if is_file(&candidate) {
            return Ok(candidate);
        }
    }
    Err(Failure(
        EXIT_NOT_FOUND,
        format!("{}: command not found in PATH", text(name)),
    ))
}

/// `path` made absolute against the working directory (as `/proc/self/exe` must be).
fn absolute(path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    let mut cwd = alloc::vec![0u8; 4096];
    let n = match sys(79, [cwd.as_mut_ptr() as u64, cwd.len() as u64, 0, 0, 0, 0]) {
        Ok(n) => n as usize,
        Err(_) => return path.to_vec(),
    };
    cwd.truncate(n.saturating_sub(1)); // without the NUL
    cwd.push(b'/');
    cwd.extend_from_slice(path.strip_prefix(b"./").unwrap_or(path));
    cwd
}

/// Opens and validates the program before anything else happens. Returns it and its
/// absolute path.
fn open_program(name: &[u8], env: &[Vec<u8>]) -> Result<(Handle, Vec<u8>), Failure> {
    let shown = text(name);
    let path = find_program(name, env)?;
    let fd = match open(&path, O_RDONLY) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => {
            return Err(Failure(EXIT_NOT_FOUND, format!("{shown}: no such file")))
        }
        Err(e) => return Err(Failure(EXIT_CANNOT_EXECUTE, format!("{shown}: {e}"))),
    };
    let h = Handle(
        u32::try_from(fd).map_err(|_| Failure(EXIT_INTERNAL, "descriptor out of range".into()))?,
    );
    let host = &pal::HOST;
    let attr = host
        .stream_attr(h)
        .map_err(|e| Failure(EXIT_CANNOT_EXECUTE, format!("{shown}: {e}")))?;
    if attr.kind == picobox_abi::FileKind::Directory {
        return Err(Failure(
            EXIT_CANNOT_EXECUTE,
            format!("{shown}: is a directory"),
        ));
    }
    let mut head = alloc::vec![0u8; HEADER_READ_SIZE];
    let mut got = 0;
    while got < head.len() {
        match host.stream_read(h, IoBuf::of_mut(&mut head[got..]), Some(got as u64)) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(Failure(EXIT_CANNOT_EXECUTE, format!("{shown}: {e}"))),
        }
    }
    head.truncate(got);
    ElfImage::parse(&head, attr.size, |off, buf| {
        match host.stream_read(h, IoBuf::of_mut(buf), Some(off)) {
            Ok(n) if n == buf.len() => Ok(()),
            _ => Err(picobox_loader::ElfError::Truncated),
        }
    })
    .map_err(|e| Failure(EXIT_CANNOT_EXECUTE, format!("{shown}: {e}")))?;
    Ok((h, absolute(&path)))
}

/// Creates a private, memory-backed directory for a `--tmpfs` mount.
fn make_tmpfs_dir(index: usize) -> Result<Vec<u8>, Failure> {
    let dir = format!("/dev/shm/picobox-{}-{index}", box_tag()).into_bytes();
    let p = c_str(&dir);
    sys(83, [p.as_ptr() as u64, 0o755, 0, 0, 0, 0]).map_err(|e| {
        Failure(
            EXIT_INTERNAL,
            format!("--tmpfs: cannot create {}: {e}", text(&dir)),
        )
    })?;
    Ok(dir)
}

/// Creates the box's socket root: the empty directory its processes get as their root
/// directory, where the library OS binds Unix sockets (see `libos/src/syscalls/unix_names.rs`)
/// and its processes leave notes for each other's `/proc` (`libos/src/box_processes.rs`).
fn make_socket_root(ruleset: &mut Ruleset) -> Result<(Vec<u8>, Handle), Failure> {
    let dir = format!("/dev/shm/picobox-{}-sockets", box_tag()).into_bytes();
    let p = c_str(&dir);
    let fail = |e: Errno| {
        Failure(
            EXIT_INTERNAL,
            format!(
                "cannot create the box's socket directory {}: {e}",
                text(&dir)
            ),
        )
    };
    sys(83, [p.as_ptr() as u64, 0o700, 0, 0, 0, 0]).map_err(fail)?;
    let fd = open(&dir, O_PATH | O_DIRECTORY).map_err(fail)?;
    ruleset
        .allow(
            fd,
            landlock::fs::MAKE_SOCK
                | landlock::fs::MAKE_SYM
                | landlock::fs::REMOVE_FILE
                | landlock::fs::READ_DIR,
        )
        .map_err(|e| Failure(EXIT_INTERNAL, format!("{e}")))?;
    let handle = Handle(u32::try_from(fd).unwrap_or(u32::MAX));
    Ok((dir, handle))
}

/// A name for this box's host objects (tmpfs directories, cgroups) that no other box, nor a
/// leftover of a box whose monitor was killed, can have: the monitor's pid and random bits.
pub fn box_tag() -> &'static str {
    static TAG: spin::Once<String> = spin::Once::new();
    TAG.call_once(|| {
        let mut r = [0u8; 4];
        let _ = pal::HOST.random_read(&mut r);
        format!(
            "{}-{:08x}",
            gate::syscall(39, [0; 6]),
            u32::from_le_bytes(r)
        )
    })
}

/// Removes everything beneath the directory open as `dir_fd` (no symbolic link is followed).
fn remove_children(dir_fd: u64) {
    let mut buf = alloc::vec![0u8; 16 * 1024];
    loop {
        let n = match sys(
            217,
            [dir_fd, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0],
        ) {
            Ok(0) | Err(_) => return,
            Ok(n) => n as usize,
        };
        let mut at = 0;
        while at + 19 < n {
            let reclen = usize::from(u16::from_le_bytes([buf[at + 16], buf[at + 17]]));
            if reclen == 0 {
                return;
            }
            let name_area = &buf[at + 19..at + reclen];
            let len = name_area
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(name_area.len());
            let name = c_str(&name_area[..len]);
            if &name[..len] != b"." && &name[..len] != b".." {
                if buf[at + 18] == 4 {
                    if let Ok(sub) = sys(
                        257,
                        [
                            dir_fd,
                            name.as_ptr() as u64,
                            O_DIRECTORY | O_CLOEXEC | 0o400000,
                            0,
                            0,
                            0,
                        ],
                    ) {
                        remove_children(sub);
                        close(sub);
                    }
                    let _ = sys(263, [dir_fd, name.as_ptr() as u64, 0x200, 0, 0, 0]);
                } else {
                    let _ = sys(263, [dir_fd, name.as_ptr() as u64, 0, 0, 0, 0]);
                }
            }
            at += reclen;
        }
    }
}

fn remove_tree(path: &[u8]) {
    if let Ok(fd) = open(path, O_DIRECTORY) {
        remove_children(fd);
        close(fd);
    }
    let p = c_str(path);
    let _ = sys(263, [AT_FDCWD, p.as_ptr() as u64, 0x200, 0, 0, 0]);
}

fn normalize_target(target: &[u8]) -> Vec<u8> {
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

/// Everything the child needs, prepared by the parent.
struct Prepared {
    boot: BootInfo,
    ruleset: Ruleset,
    limits: Limits,
    network: Network,
    socket_root: Vec<u8>,
}

fn prepare(
    c: &RunConfig,
    env: &[Vec<u8>],
    tmpfs_dirs: &mut Vec<Vec<u8>>,
) -> Result<Prepared, Failure> {
    let (program, program_path) = open_program(&c.program, env)?;
    let network = c.network();
    let mut ruleset = Ruleset::new(network != Network::Loopback)
        .map_err(|e| Failure(EXIT_INTERNAL, format!("{e}")))?;
    for (rules, bind) in [(&c.allow_bind, true), (&c.allow_connect, false)] {
        for rule in rules {
            ruleset
                .allow_port(rule.port, bind)
                .map_err(|e| Failure(EXIT_INTERNAL, format!("{e}")))?;
        }
    }
    let (socket_root, socket_root_handle) = make_socket_root(&mut ruleset)?;
    tmpfs_dirs.push(socket_root.clone());
    let mut mounts = Vec::new();
    // Every box gets a private /dev/shm (for shm_open), unless it declares its own.
    let mut declared = c.mounts.clone();
    if !declared
        .iter()
        .any(|m| normalize_target(&m.target) == b"/dev/shm")
    {
        declared.insert(
            0,
            MountSpec {
                kind: MountKind::Tmpfs,
                source: Vec::new(),
                target: b"/dev/shm".to_vec(),
            },
        );
    }
    for m in &declared {
        let (source, access) = match m.kind {
            MountKind::Tmpfs => {
                let dir = make_tmpfs_dir(tmpfs_dirs.len())?;
                tmpfs_dirs.push(dir.clone());
                (dir, landlock::READ_WRITE)
            }
            MountKind::ReadOnly => (m.source.clone(), landlock::READ_ONLY),
            MountKind::ReadWrite => (m.source.clone(), landlock::READ_WRITE),
        };
        let fd = match open(&source, O_PATH | O_DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::ENOTDIR) => {
                return Err(Failure(
                    EXIT_INTERNAL,
                    format!(
                        "{} {}: not a directory (only directories can be mounted so far)",
                        m.kind.flag(),
                        text(&source)
                    ),
                ))
            }
            Err(e) => {
                return Err(Failure(
                    EXIT_INTERNAL,
                    format!("{} {}: {e}", m.kind.flag(), text(&source)),
                ))
            }
        };
        ruleset.allow(fd, access).map_err(|e| {
            Failure(
                EXIT_INTERNAL,
                format!("{} {}: {e}", m.kind.flag(), text(&source)),
            )
        })?;
        mounts.push(BootMount {
            guest_path: normalize_target(&m.target),
            root: Handle(u32::try_from(fd).unwrap_or(u32::MAX)),
            writable: m.kind != MountKind::ReadOnly,
        });
    }
    let mut envp: Vec<Vec<u8>> = Vec::new();
    if !c.env.iter().any(|(k, _)| k == b"PATH") {
        let mut p = b"PATH=".to_vec();
        p.extend_from_slice(DEFAULT_PATH);
        envp.push(p);
    }
    for (k, v) in &c.env {
        let mut e = k.clone();
        e.push(b'=');
        e.extend_from_slice(v);
        envp.push(e);
    }
    let mut argv = alloc::vec![c.program.clone()];
    argv.extend(c.args.iter().cloned());
    let boot = BootInfo {
        argv,
        envp,
        cwd: c.cwd.clone().unwrap_or_else(|| b"/".to_vec()),
        program: Some(program),
        program_name: program_path,
        mounts,
        uid: gate::syscall(102, [0; 6]) as u32,
        gid: gate::syscall(104, [0; 6]) as u32,
        hostname: b"picobox".to_vec(),
        trace: c.trace,
        network,
        max_open_files: 1024,
        socket_root: Some(socket_root_handle),
        allow_bind: c.allow_bind.clone(),
        allow_connect: c.allow_connect.clone(),
    };
    let limits = Limits::prepare(c.pids, c.memory);
    Ok(Prepared {
        boot,
        ruleset,
        limits,
        network,
        socket_root,
    })
}

/// Runs a box to completion; returns the exit status for `picobox run`.
pub fn run(c: &RunConfig, env: &[Vec<u8>]) -> u8 {
    let mut tmpfs_dirs = Vec::new();
    let code = match prepare(c, env, &mut tmpfs_dirs) {
        Ok(p) => {
            let limits = p.limits.clone();
            let r = start_and_wait(p);
            limits.remove();
            r
        }
        Err(e) => Err(e),
    };
    let code = match code {
        Ok(code) => code,
        Err(Failure(code, msg)) => {
            out::error(format_args!("{msg}"));
            code
        }
    };
    for dir in &tmpfs_dirs {
        remove_tree(dir);
    }
    code
}

/// The box's first process, for [`forward`].
static BOX_PID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The monitor's handler for SIGTERM and SIGHUP: the box gets the signal.
extern "C" fn forward(sig: i32) {
    let pid = BOX_PID.load(core::sync::atomic::Ordering::Relaxed);
    if pid != 0 {
        gate::syscall(62, [pid, sig as u64, 0, 0, 0, 0]);
    }
}

/// Gives the box its own pid namespace: its first process is pid 1, its processes see only
/// each other, and they all die with the first one. A non-root caller gets a user namespace
/// mapping only its own uid and gid, which unprivileged pid namespaces need.
fn enter_pid_namespace() -> Result<(), Failure> {
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWPID: u64 = 0x2000_0000;
    let fail = |e: Errno| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot create the box's pid namespace: {e}"),
        )
    };
    let uid = gate::syscall(102, [0; 6]);
    let gid = gate::syscall(104, [0; 6]);
    if uid == 0 {
        return sys(272, [CLONE_NEWPID, 0, 0, 0, 0, 0])
            .map(|_| ())
            .map_err(fail);
    }
    sys(272, [CLONE_NEWUSER | CLONE_NEWPID, 0, 0, 0, 0, 0]).map_err(fail)?;
    let write_file = |path: &[u8], text: &[u8]| -> Result<(), Errno> {
        let fd = open(path, 1)?;
        let r = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
        close(fd);
        r.map(|_| ())
    };
    write_file(b"/proc/self/setgroups", b"deny").map_err(fail)?;
    write_file(b"/proc/self/uid_map", format!("{uid} {uid} 1").as_bytes()).map_err(fail)?;
    write_file(b"/proc/self/gid_map", format!("{gid} {gid} 1").as_bytes()).map_err(fail)?;
    Ok(())
}

/// Drops every capability of the box's process: even a box started by root may not do what
/// root may (read others' files, bind low ports, open raw sockets).
fn drop_capabilities() {
    // struct __user_cap_header_struct { u32 version; int pid; } and two zeroed data words.
    let header: [u32; 2] = [0x2008_0522, 0];
    let data = [0u32; 6];
    let _ = sys(
        126,
        [header.as_ptr() as u64, data.as_ptr() as u64, 0, 0, 0, 0],
    );
}

/// Gives the box a network namespace of its own, with its loopback up.
fn enter_net_namespace() -> Result<(), Failure> {
    const CLONE_NEWNET: u64 = 0x4000_0000;
    const SIOCSIFFLAGS: u64 = 0x8914;
    const IFF_UP_RUNNING: u16 = 0x1 | 0x40;
    let fail = |e: Errno| {
        Failure(
            EXIT_INTERNAL,
            format!("cannot create the box's network namespace: {e}"),
        )
    };
    sys(272, [CLONE_NEWNET, 0, 0, 0, 0, 0]).map_err(fail)?;
    let s = sys(41, [2, 2 | 0o2000000, 0, 0, 0, 0]).map_err(fail)?;
    // struct ifreq { char name[16]; short flags; ... }
    let mut ifreq = [0u8; 40];
    ifreq[..2].copy_from_slice(b"lo");
    ifreq[16..18].copy_from_slice(&IFF_UP_RUNNING.to_ne_bytes());
    let r = sys(16, [s, SIOCSIFFLAGS, ifreq.as_mut_ptr() as u64, 0, 0, 0]);
    close(s);
    r.map(|_| ()).map_err(fail)
}

fn start_and_wait(p: Prepared) -> Result<u8, Failure> {
    enter_pid_namespace()?;
    // Without Landlock's scoping (before Linux 6.12) only a network namespace keeps abstract
    // Unix sockets to the box.
    if p.network == Network::Loopback || (p.network == Network::None && !p.ruleset.scoped) {
        enter_net_namespace()?;
    }
    let pid = sys(57, [0; 6])
        .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot start the picoprocess: {e}")))?;
    if pid == 0 {
        become_the_box(p);
    }
    // The monitor: let a terminal's ^C or ^\ reach only the box, whose death we then report;
    // pass SIGTERM and SIGHUP on to the box, so that it ends and the monitor cleans up.
    BOX_PID.store(pid, core::sync::atomic::Ordering::Relaxed);
    for (sig, handler) in [
        (2u64, 1u64),
        (3, 1),
        (15, forward as *const () as u64),
        (1, forward as *const () as u64),
    ] {
        let act: [u64; 4] = [handler, 0x0400_0000, gate::sigreturn_address(), 0];
        let _ = sys(13, [sig, act.as_ptr() as u64, 0, 8, 0, 0]);
    }
    let mut status: u32 = 0;
    loop {
        match sys(61, [pid, &raw mut status as u64, 0, 0, 0, 0]) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Failure(EXIT_INTERNAL, format!("waiting for the box: {e}"))),
            Ok(_) => break,
        }
    }
    let signal = status & 0x7f;
    if signal == 0 {
        return Ok(((status >> 8) & 0xff) as u8);
    }
    if signal == SIGSYS {
        return Err(Failure(
            EXIT_POLICY_KILL,
            "the box attempted a forbidden host system call and was killed by the seccomp policy"
                .into(),
        ));
    }
    Ok(128u8.wrapping_add(signal as u8))
}

/// In the forked child: confine this process, then load and start the program. Never returns.
fn become_the_box(p: Prepared) -> ! {
    let fail = |what: &str, e: Errno| -> ! {
        out::error(format_args!("cannot confine the box: {what}: {e}"));
        pal::HOST.process_exit(EXIT_INTERNAL)
    };
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    if let Err(e) = sys(157, [PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0]) {
        fail("parent-death signal", e);
    }
    gate::syscall(95, [0, 0, 0, 0, 0, 0]); // umask(0): the library OS applies the program's own
    let no_core: [u64; 2] = [0, 0];
    let _ = sys(302, [0, 4, no_core.as_ptr() as u64, 0, 0, 0]); // RLIMIT_CORE
    let files: [u64; 2] = [4096, 4096];
    let _ = sys(302, [0, 7, files.as_ptr() as u64, 0, 0, 0]); // RLIMIT_NOFILE
    if let Err(msg) = p.limits.apply() {
        out::error(format_args!("cannot confine the box: {msg}"));
        pal::HOST.process_exit(EXIT_INTERNAL);
    }
    // The socket root becomes this process's root directory, and its working directory, which
    // the box cannot change (no chdir, fchdir or chroot at the gate): Unix socket path names
    // resolve there and nowhere else.
    let root = c_str(&p.socket_root);
    if let Err(e) = sys(161, [root.as_ptr() as u64, 0, 0, 0, 0, 0]) {
        fail("socket root", e);
    }
    if let Err(e) = sys(80, [c"/".as_ptr() as u64, 0, 0, 0, 0, 0]) {
        fail("socket root", e);
    }
    if let Err(e) = sys(157, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]) {
        fail("no_new_privs", e);
    }
    if let Err(e) = p.ruleset.restrict_self() {
        fail("Landlock", e);
    }
    crate::close_stray_descriptors(&p.boot);
    if let Err(e) = signals::install() {
        fail("signal handlers", e);
    }
    drop_capabilities();
    let filter: &[u64] = match p.network {
        Network::None => &crate::ALLOWLIST_NO_NET,
        Network::Loopback => &crate::ALLOWLIST_LOOPBACK,
        Network::Host => &crate::ALLOWLIST_HOST_NET,
    };
    if let Err(e) = gate::install_filter(filter) {
        fail("seccomp filter", e);
    }
    let name = p.boot.program_name.clone();
    match picobox_libos::boot(&pal::HOST, p.boot) {
        Ok(entry) => crate::start::enter(entry.pc, entry.sp),
        Err(e) => {
            out::error(format_args!("{}: {e}", text(&name)));
            pal::HOST.process_exit(EXIT_CANNOT_EXECUTE)
        }
    }
}
