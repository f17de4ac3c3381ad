//! The file-system boundary, by enumeration: every path-taking call the gate admits, from
//! every descriptor the picoprocess holds, along every route (absolute, `..` chains, symbolic
//! links into the host, `/proc` magic links) towards a host directory outside the box's mounts
//! (`tests/guests/boundary.c`). Nothing there may be stat'ed, read, listed, changed or
//! created; the program's own file and the read-only mount keep their modes and times. Run
//! with picobox started by root and by an unprivileged user.

use crate::support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// What must not change about a host file: mode, owner, size, times, contents.
#[derive(Debug, PartialEq)]
struct Fingerprint {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: (i64, i64),
    atime: (i64, i64),
    contents: Vec<u8>,
}

fn fingerprint(path: &Path) -> Fingerprint {
    // Read first, then stat: reading sets the access time once (relatime), and only a later
    // access by the box could change it again.
    let m = std::fs::symlink_metadata(path).unwrap();
    let contents = if m.file_type().is_symlink() {
        std::fs::read_link(path)
            .unwrap()
            .into_os_string()
            .into_encoded_bytes()
    } else if m.is_file() {
        std::fs::read(path).unwrap()
    } else {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_encoded_bytes())
            .collect();
        names.sort();
        names.concat()
    };
    let m = std::fs::symlink_metadata(path).unwrap();
    Fingerprint {
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        atime: (m.atime(), m.atime_nsec()),
        contents,
    }
}

struct Layout {
    root: PathBuf,
    uniq: String,
    outside: PathBuf,
    program: PathBuf,
    picobox: PathBuf,
}

impl Drop for Layout {
    /// Nothing of the test stays in /tmp, whether it passed or not.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `/tmp/picobox-boundary-NAME-PID/`: `outside-UNIQ/` (secret and link, not mounted), `w/`
/// (writable mount, with links into `outside-UNIQ`), `ro/file` (read-only mount), and copies
/// of the guest and of picobox (reachable by an unprivileged user wherever the checkout is).
fn layout(name: &str, owner: Option<u32>) -> Layout {
    let uniq = format!("u{}{}", std::process::id(), name.len());
    let root = PathBuf::from(format!(
        "/tmp/picobox-boundary-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    let outside = root.join(format!("outside-{uniq}"));
    for d in [&outside, &root.join("w"), &root.join("ro")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(outside.join(format!("secret-{uniq}")), "host secret").unwrap();
    std::fs::set_permissions(
        outside.join(format!("secret-{uniq}")),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", outside.join(format!("link-{uniq}"))).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("w/via-abs")).unwrap();
    std::os::unix::fs::symlink(
        format!("../../../../../../../../../..{}", outside.display()),
        root.join("w/via-rel"),
    )
    .unwrap();
    std::fs::write(root.join("ro/file"), "read-only").unwrap();
    let program = root.join("boundary");
    std::fs::copy(guest("boundary"), &program).unwrap();
    let picobox = root.join("picobox");
    std::fs::copy(env!("CARGO_BIN_EXE_picobox"), &picobox).unwrap();
    if let Some(id) = owner {
        for entry in walk(&root) {
            std::os::unix::fs::lchown(&entry, Some(id), Some(id)).unwrap();
        }
    }
    Layout {
        root,
        uniq,
        outside,
        program,
        picobox,
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            all.extend(walk(&p));
        } else {
            all.push(p);
        }
    }
    all
}

fn enumerate_from_every_descriptor(name: &str, as_user: Option<u32>) {
    let l = layout(name, as_user);
    let watched: Vec<PathBuf> = vec![
        l.outside.clone(),
        l.outside.join(format!("secret-{}", l.uniq)),
        l.outside.join(format!("link-{}", l.uniq)),
        l.program.clone(),
        l.root.join("ro"),
        l.root.join("ro/file"),
        l.root.clone(),
    ];
    let before: Vec<Fingerprint> = watched.iter().map(|p| fingerprint(p)).collect();
    let host_root_before = fingerprint(Path::new("/"));
    let mut cmd = std::process::Command::new(&l.picobox);
    cmd.args(["run", "--ro-bind"])
        .arg(l.root.join("ro"))
        .arg("/ro")
        .arg("--bind")
        .arg(l.root.join("w"))
        .args(["/w", "--chdir", "/w"])
        .args(show(&l.program))
        .arg("--")
        .arg(&l.program)
        .arg(&l.uniq)
        .arg(&l.outside)
        .current_dir(&l.root);
    if let Some(id) = as_user {
        cmd.uid(id).gid(id); // std drops the supplementary groups too
    }
    let out = cmd.output().unwrap();
    let report = text(&out.stdout);
    assert!(
        !report.contains("REACHED"),
        "the box reached the host:\n{report}\nstderr: {}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    // "attempts N descriptors D": the enumeration ran, over the runtime's descriptors
    // (the program, two mounts, /dev/shm, the socket root, standard streams) and AT_FDCWD.
    let words: Vec<&str> = report.split_whitespace().collect();
    let attempts: u64 = words[1].parse().unwrap();
    let descriptors: u64 = words[3].parse().unwrap();
    assert!(attempts > 10_000, "{report}");
    assert!(descriptors >= 8, "{report}");
    for (path, before) in watched.iter().zip(&before) {
        assert_eq!(&fingerprint(path), before, "{} changed", path.display());
    }
    assert_eq!(fingerprint(Path::new("/")), host_root_before, "/ changed");
}

#[test]
fn host_files_are_unreachable_from_every_descriptor_when_started_by_root() {
    assert!(
        is_root(),
        "the boundary tests run as root (as CI does) and also drop to an ordinary user"
    );
    enumerate_from_every_descriptor("root", None);
}

#[test]
fn host_files_are_unreachable_from_every_descriptor_when_started_by_a_user() {
    enumerate_from_every_descriptor("user", Some(65534));
}

/// Runs `script` with busybox's sh as uid and gid 65534 (nobody); returns (status, output).
fn as_nobody(script: &str) -> (i32, String) {
    let out = std::process::Command::new(busybox())
        .args(["sh", "-c", script])
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout) + &text(&out.stderr),
    )
}

#[test]
fn other_host_users_cannot_read_what_a_running_box_writes() {
    let mut cmd = picobox();
    let prog = guest_with("limits", &["-pthread"]);
    cmd.args(["run", "--tmpfs", "/t"])
        .args(show(&prog))
        .arg("--")
        .arg(&prog)
        .args(["hold", "/dev/shm/secret", "/t/secret"]);
    let monitor = Running::start(cmd, "holding\n");
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", monitor.id())).unwrap();
    let boxed: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // The box's files are reachable from the host only through its descriptors' magic links
    // (the tmpfs mounts are detached): root can follow them...
    let mut found = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{boxed}/fd")).unwrap() {
        let secret = fd.unwrap().path().join("secret");
        found.push((secret.clone(), std::fs::read_to_string(&secret).ok()));
    }
    let readable = found
        .iter()
        .filter(|(_, s)| s.as_deref() == Some("box secret"));
    assert_eq!(
        readable.count(),
        2,
        "root should see the box's /dev/shm and /t: {found:?}"
    );
    // ...no other user can, nor list the box's descriptors or its root.
    for script in [
        format!("ls /proc/{boxed}/fd/"),
        format!("cat /proc/{boxed}/fd/*/secret"),
        format!("ls /proc/{boxed}/root/"),
        format!("cat /proc/{boxed}/root/secret"),
    ] {
        let (status, output) = as_nobody(&script);
        assert_ne!(status, 0, "{script}: {output}");
        assert!(
            output.contains("Permission denied") || output.contains("No such file"),
            "{script}: {output}"
        );
        assert!(!output.contains("box secret"), "{script}: {output}");
    }
    // Nor is anything of it in the host's /dev/shm (where earlier versions kept it, 0755).
    let (_, listing) = as_nobody("ls -a /dev/shm");
    assert!(
        !listing.contains(&format!("picobox-{}-", monitor.id())),
        "{listing}"
    );
    drop(monitor);
}

#[test]
fn a_bind_of_the_host_root_gives_no_way_into_host_processes() {
    // `--ro-bind / /` shows the host's /proc (binds are recursive, as bubblewrap's): what the
    // kernel guards with ptrace checks stays shut to the box (Landlock's domain), at the gate.
    let escape = |path: &str| {
        picobox()
            .args(["run", "--ro-bind", "/", "/"])
            .args(show(&guest("escape")))
            .arg("--")
            .arg(guest("escape"))
            .args(["gate-open-from-descriptors", path])
            .output()
            .unwrap()
    };
    for path in ["proc/1/environ", "proc/1/root/etc/hostname", "proc/1/cwd/"] {
        let out = escape(path);
        assert_eq!(
            text(&out.stdout),
            "errno=EACCES\n",
            "{path}: {}",
            text(&out.stderr)
        );
    }
    // The box's own root, seen through the host's /proc, is the box's empty root.
    let out = escape("proc/self/root/etc/hostname");
    assert_eq!(text(&out.stdout), "errno=ENOENT\n", "{}", text(&out.stderr));
}

#[test]
fn a_directory_as_a_standard_stream_is_refused() {
    // Regression: `picobox run ... < /tmp` gave the box a host directory as descriptor 0,
    // from which every path call reached the host.
    for fd in 0..3 {
        let dir = std::fs::File::open("/tmp").unwrap();
        let mut cmd = picobox();
        cmd.args(["run", "--", busybox(), "true"]);
        match fd {
            0 => cmd.stdin(dir),
            1 => cmd.stdout(dir),
            _ => cmd.stderr(dir),
        };
        if fd != 2 {
            cmd.stderr(std::process::Stdio::piped());
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(125), "descriptor {fd}");
        if fd != 2 {
            assert!(
                text(&out.stderr).contains("is a directory"),
                "{}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn a_box_started_by_root_writes_its_binds_as_root_and_no_other_user() {
    // Its writable bind is idmapped: root's files are the box's (it writes them, its new files
    // are root's on the host), another user's stay that user's (shown as theirs, not writable).
    assert!(is_root(), "this test needs root, as CI runs it");
    let dir = scratch("idmapped-bind");
    std::fs::write(dir.join("roots"), "r").unwrap();
    std::fs::write(dir.join("alices"), "a").unwrap();
    std::os::unix::fs::chown(dir.join("alices"), Some(1000), Some(1000)).unwrap();
    let out = picobox()
        .args(["run", "--bind", dir.to_str().unwrap(), "/w", "--"])
        .args([busybox(), "sh", "-c"])
        .arg(
            "ls -ln /w/alices /w/roots | while read m l u g rest; do echo $u:$g; done; \
             echo more >> /w/roots && echo wrote-roots; \
             echo more >> /w/alices || echo refused-alices; \
             echo new > /w/made",
        )
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "1000:1000\n0:0\nwrote-roots\nrefused-alices\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("roots")).unwrap(),
        "rmore\n"
    );
    assert_eq!(std::fs::read_to_string(dir.join("alices")).unwrap(), "a");
    let made = std::fs::metadata(dir.join("made")).unwrap();
    assert_eq!((made.uid(), made.gid()), (0, 0));
}

#[test]
fn root_inside_a_user_namespace_runs_boxes_as_itself() {
    // A rootless container's root is an ordinary host user: the box keeps its id (the box's
    // own id range is not mapped there).
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user"])
        .arg(env!("CARGO_BIN_EXE_picobox"))
        .args([
            "run",
            "--tmpfs",
            "/t",
            "--",
            busybox(),
            "sh",
            "-c",
            "echo ok > /t/f && cat /t/f",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "ok\n", "{}", text(&out.stderr));
}
