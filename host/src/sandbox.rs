//! Starting a box: open what the box may use, build its policy, start the runtime under it,
//! and report how the program ended.

use crate::config::{BoxConfig, MountKind, DEFAULT_PATH};
use crate::policy::landlock::{self, Ruleset};
use crate::policy::seccomp;
use picobox_abi::boot::{BootInfo, BootMount};
use picobox_abi::Handle;
use picobox_loader::{ElfImage, HEADER_READ_SIZE};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit status: picobox failed.
pub const EXIT_INTERNAL: i32 = 125;
/// Exit status: the program cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit status: the program was not found.
pub const EXIT_NOT_FOUND: i32 = 127;
/// Exit status: the kernel killed the box for a forbidden host system call.
pub const EXIT_POLICY_KILL: i32 = 159;

/// A failure before the program started, with the exit status to report.
struct Failure(i32, String);

fn fail<T>(code: i32, msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(code, msg.into()))
}

/// Runs a box to completion; returns the exit status for `picobox run`.
pub fn run_box(config: &BoxConfig) -> i32 {
    let mut tmpfs_dirs = Vec::new();
    let code = match start_and_wait(config, &mut tmpfs_dirs) {
        Ok(code) => code,
        Err(Failure(code, msg)) => {
            eprintln!("picobox: {msg}");
            code
        }
    };
    for dir in tmpfs_dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    code
}

/// Finds the program on the host: a path if it has a `/`, else a name looked up in `PATH`.
fn find_program(name: &str) -> Result<PathBuf, Failure> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Failure(EXIT_NOT_FOUND, format!("{name}: command not found in PATH")))
}

/// Opens and validates the program before anything else happens.
fn open_program(name: &str) -> Result<File, Failure> {
    let path = find_program(name)?;
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return fail(EXIT_NOT_FOUND, format!("{name}: no such file"))
        }
        Err(e) => return fail(EXIT_CANNOT_EXECUTE, format!("{name}: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| Failure(EXIT_CANNOT_EXECUTE, format!("{name}: {e}")))?;
    if meta.is_dir() {
        return fail(EXIT_CANNOT_EXECUTE, format!("{name}: is a directory"));
    }
    let mut head = vec![0u8; HEADER_READ_SIZE];
    let n = read_at_most(&file, &mut head, 0)
        .map_err(|e| Failure(EXIT_CANNOT_EXECUTE, format!("{name}: {e}")))?;
    head.truncate(n);
    ElfImage::parse(&head, meta.len(), |off, buf| {
        file.read_exact_at(buf, off)
            .map_err(|_| picobox_loader::ElfError::Truncated)
    })
    .map_err(|e| Failure(EXIT_CANNOT_EXECUTE, format!("{name}: {e}")))?;
    Ok(file)
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

/// Moves a descriptor to 10 or above, so that the runtime's fixed descriptor 3 is free.
fn high_fd(fd: OwnedFd) -> Result<OwnedFd, Failure> {
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor returns a new one that we then own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return fail(
            EXIT_INTERNAL,
            format!(
                "cannot duplicate a descriptor: {}",
                io::Error::last_os_error()
            ),
        );
    }
    // SAFETY: `new` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid C string; the flags ask for a directory handle only.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn normalize_target(target: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn make_tmpfs_dir(index: usize) -> Result<PathBuf, Failure> {
    // /dev/shm is memory-backed on Linux; fall back to the temp directory if it is missing.
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("picobox-{}-{index}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| {
        Failure(
            EXIT_INTERNAL,
            format!("--tmpfs: cannot create {}: {e}", dir.display()),
        )
    })?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
    Ok(dir)
}

fn runtime_path() -> Result<PathBuf, Failure> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot find picobox itself: {e}")))?;
    let runtime = exe.with_file_name("picobox-runtime");
    if !runtime.is_file() {
        return fail(
            EXIT_INTERNAL,
            format!(
                "the runtime {} is missing; reinstall picobox",
                runtime.display()
            ),
        );
    }
    Ok(runtime)
}

fn memfd_with(bytes: &[u8]) -> Result<OwnedFd, Failure> {
    // SAFETY: a valid C string name and flags.
    let fd = unsafe { libc::memfd_create(c"picobox-boot".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return fail(
            EXIT_INTERNAL,
            format!("memfd_create: {}", io::Error::last_os_error()),
        );
    }
    // SAFETY: fresh descriptor.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = File::from(owned);
    file.write_all(bytes)
        .map_err(|e| Failure(EXIT_INTERNAL, format!("writing boot information: {e}")))?;
    high_fd(OwnedFd::from(file))
}

fn start_and_wait(config: &BoxConfig, tmpfs_dirs: &mut Vec<PathBuf>) -> Result<i32, Failure> {
    let name = config.program.as_deref().unwrap_or_default();
    let program = high_fd(OwnedFd::from(open_program(name)?))?;
    let runtime = runtime_path()?;

    let mut ruleset = Ruleset::new().map_err(|e| Failure(EXIT_INTERNAL, e.to_string()))?;
    let mut mount_fds = Vec::new();
    let mut mounts = Vec::new();
    for m in &config.mounts {
        let (source, access) = match m.kind {
            MountKind::Tmpfs => {
                let dir = make_tmpfs_dir(tmpfs_dirs.len())?;
                tmpfs_dirs.push(dir.clone());
                (dir, landlock::READ_WRITE)
            }
            MountKind::ReadOnly => (m.source.clone(), landlock::READ_ONLY),
            MountKind::ReadWrite => (m.source.clone(), landlock::READ_WRITE),
        };
        let flag = match m.kind {
            MountKind::ReadOnly => "--ro-bind",
            MountKind::ReadWrite => "--bind",
            MountKind::Tmpfs => "--tmpfs",
        };
        let fd = match open_dir_path(&source) {
            Ok(fd) => high_fd(fd)?,
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return fail(
                    EXIT_INTERNAL,
                    format!(
                        "{flag} {}: not a directory (only directories can be mounted so far)",
                        source.display()
                    ),
                )
            }
            Err(e) => return fail(EXIT_INTERNAL, format!("{flag} {}: {e}", source.display())),
        };
        ruleset
            .allow(&fd, access, &source.display().to_string())
            .map_err(|e| Failure(EXIT_INTERNAL, e.to_string()))?;
        mounts.push(BootMount {
            guest_path: normalize_target(&m.target).into_bytes(),
            root: Handle(u32::try_from(fd.as_raw_fd()).unwrap_or(0)),
            writable: m.kind != MountKind::ReadOnly,
        });
        mount_fds.push(fd);
    }
    let runtime_file = File::open(&runtime)
        .map_err(|e| Failure(EXIT_INTERNAL, format!("{}: {e}", runtime.display())))?;
    ruleset
        .allow(
            &OwnedFd::from(runtime_file),
            landlock::fs::EXECUTE | landlock::fs::READ_FILE,
            "the runtime",
        )
        .map_err(|e| Failure(EXIT_INTERNAL, e.to_string()))?;

    let mut env: Vec<Vec<u8>> = Vec::new();
    if !config.env.iter().any(|(k, _)| k == "PATH") {
        env.push(format!("PATH={DEFAULT_PATH}").into_bytes());
    }
    env.extend(
        config
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}").into_bytes()),
    );
    let mut argv = vec![name.as_bytes().to_vec()];
    argv.extend(config.args.iter().map(|a| a.as_bytes().to_vec()));
    let filter = seccomp::allowlist().map_err(|e| Failure(EXIT_INTERNAL, e.to_string()))?;
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let boot = BootInfo {
        argv,
        envp: env,
        cwd: config
            .cwd
            .clone()
            .unwrap_or_else(|| "/".into())
            .into_bytes(),
        program: Some(Handle(u32::try_from(program.as_raw_fd()).unwrap_or(0))),
        program_name: name.as_bytes().to_vec(),
        mounts,
        uid,
        gid,
        hostname: b"picobox".to_vec(),
        trace: config.trace,
        max_open_files: 1024,
        seccomp_filter: filter,
    };
    let boot_fd = memfd_with(&boot.encode())?;

    let keep: Vec<i32> = std::iter::once(program.as_raw_fd())
        .chain(mount_fds.iter().map(AsRawFd::as_raw_fd))
        .collect();
    let boot_raw = boot_fd.as_raw_fd();
    let ruleset_fd = ruleset.raw_fd();
    let mut cmd = Command::new(&runtime);
    cmd.arg0("picobox-runtime").env_clear();
    // SAFETY: the closure runs in the child between fork and exec and makes only
    // async-signal-safe system calls on descriptors that stay open in the child.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::dup2(boot_raw, 3) != 3
                || libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            {
                return Err(io::Error::last_os_error());
            }
            for fd in &keep {
                if libc::fcntl(*fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            libc::umask(0);
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            landlock::restrict_self(ruleset_fd)
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot start the picoprocess: {e}")))?;
    drop((program, mount_fds, boot_fd, ruleset));
    let status = child
        .wait()
        .map_err(|e| Failure(EXIT_INTERNAL, format!("waiting for the box: {e}")))?;
    if let Some(code) = status.code() {
        return Ok(code);
    }
    match status.signal() {
        Some(libc::SIGSYS) => fail(
            EXIT_POLICY_KILL,
            "the box attempted a forbidden host system call and was killed by the seccomp policy",
        ),
        Some(sig) => Ok(128 + sig),
        None => Ok(EXIT_INTERNAL),
    }
}
