//! What a box is, as a manifest describes it, and its translation into `picobox run` flags.

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
    /// `--ro-bind-try`: as `ReadOnly`, skipped if the source does not exist.
    ReadOnlyTry,
    /// `--bind-try`: as `ReadWrite`, skipped if the source does not exist.
    ReadWriteTry,
    /// `--symlink`: a symbolic link at the target whose target is the source.
    Symlink,
    /// `--dir`: an empty read-only directory.
    Dir,
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
    /// Size of a tmpfs (`--size`), as written (`64M`).
    pub size: Option<String>,
}

/// Everything a manifest can say about a box.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoxConfig {
    /// The program: a path in the box, or a name looked up in the box's `PATH`.
    pub program: Option<String>,
    /// Arguments after the program (argv[1..]).
    pub args: Vec<String>,
    /// Environment (`KEY`, `VALUE`).
    pub env: Vec<(String, String)>,
    /// Working directory in the box.
    pub cwd: Option<String>,
    /// Mounts, in order.
    pub mounts: Vec<Mount>,
    /// Log system calls (`--trace`).
    pub trace: bool,
    /// `--net`.
    pub net: Option<String>,
    /// `--allow-bind` rules.
    pub allow_bind: Vec<String>,
    /// `--allow-connect` rules.
    pub allow_connect: Vec<String>,
    /// `--pids`.
    pub pids: Option<u64>,
    /// `--memory`, as written.
    pub memory: Option<String>,
    /// `--files`.
    pub files: Option<u64>,
    /// `--root DIR`: a host directory as the whole root.
    pub root: Option<String>,
    /// `--empty-root`.
    pub empty_root: bool,
    /// `--as-pid-1`.
    pub as_pid_1: bool,
    /// `--name`: the box's id.
    pub name: Option<String>,
}

impl BoxConfig {
    /// The `picobox run` flags that say the same, without the program.
    pub fn to_flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(root) = &self.root {
            f.extend(["--root".into(), root.clone()]);
        }
        if self.empty_root {
            f.push("--empty-root".into());
        }
        if self.as_pid_1 {
            f.push("--as-pid-1".into());
        }
        if let Some(name) = &self.name {
            f.extend(["--name".into(), name.clone()]);
        }
        for m in &self.mounts {
            match m.kind {
                MountKind::ReadOnly => f.extend([
                    "--ro-bind".into(),
                    m.source.display().to_string(),
                    m.target.clone(),
                ]),
                MountKind::ReadWrite => f.extend([
                    "--bind".into(),
                    m.source.display().to_string(),
                    m.target.clone(),
                ]),
                MountKind::Tmpfs => {
                    if let Some(size) = &m.size {
                        f.extend(["--size".into(), size.clone()]);
                    }
                    f.extend(["--tmpfs".into(), m.target.clone()])
                }
                MountKind::ReadOnlyTry | MountKind::ReadWriteTry | MountKind::Symlink => {
                    let flag = match m.kind {
                        MountKind::ReadOnlyTry => "--ro-bind-try",
                        MountKind::ReadWriteTry => "--bind-try",
                        _ => "--symlink",
                    };
                    f.extend([
                        flag.into(),
                        m.source.display().to_string(),
                        m.target.clone(),
                    ])
                }
                MountKind::Dir => f.extend(["--dir".into(), m.target.clone()]),
            }
        }
        if let Some(net) = &self.net {
            f.extend(["--net".into(), net.clone()]);
        }
        for rule in &self.allow_bind {
            f.extend(["--allow-bind".into(), rule.clone()]);
        }
        for rule in &self.allow_connect {
            f.extend(["--allow-connect".into(), rule.clone()]);
        }
        if let Some(pids) = self.pids {
            f.extend(["--pids".into(), pids.to_string()]);
        }
        if let Some(memory) = &self.memory {
            f.extend(["--memory".into(), memory.clone()]);
        }
        if let Some(files) = self.files {
            f.extend(["--files".into(), files.to_string()]);
        }
        for (k, v) in &self.env {
            f.extend(["--setenv".into(), k.clone(), v.clone()]);
        }
        if let Some(cwd) = &self.cwd {
            f.extend(["--chdir".into(), cwd.clone()]);
        }
        if self.trace {
            f.push("--trace".into());
        }
        f
    }
}

/// How many values the `picobox run` flag `flag` takes (0 for a switch or an unknown flag,
/// which `picobox run` then refuses). The one list `picobox-manifest` needs to tell flags
/// from the program; `picobox run --help` describes each.
pub fn values_of(flag: &str) -> usize {
    match flag {
        "--ro-bind" | "--bind" | "--ro-bind-try" | "--bind-try" | "--symlink" | "--setenv" => 2,
        "--tmpfs" | "--size" | "--chdir" | "--net" | "--allow-bind" | "--allow-connect"
        | "--pids" | "--memory" | "--files" | "--manifest" | "--root" | "--dir" => 1,
        _ => 0,
    }
}

/// Turns `run` arguments containing `--manifest FILE` into plain flags: the manifest's first,
/// then the command line's, then `--`, the program and its arguments (the command line's if it
/// names a program, else the manifest's).
pub fn flags_with_manifest(args: &[String]) -> Result<Vec<String>, String> {
    let mut manifest = None;
    let mut rest = Vec::new();
    let mut program_at = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--manifest" => {
                manifest = Some(
                    args.get(i + 1)
                        .ok_or("--manifest needs 1 argument")?
                        .clone(),
                );
                i += 2;
                continue;
            }
            "--" => {
                program_at = Some(i + 1);
                break;
            }
            flag if flag.starts_with('-') => {
                // A flag and its values pass through as they are (picobox checks them).
                let n = 1 + crate::config::values_of(flag);
                rest.extend(args[i..(i + n).min(args.len())].iter().cloned());
                i += n;
                continue;
            }
            _ => {
                program_at = Some(i);
                break;
            }
        }
    }
    let path = manifest.ok_or("no --manifest given")?;
    let config = crate::manifest::load(std::path::Path::new(&path)).map_err(|e| e.to_string())?;
    let mut flags = config.to_flags();
    flags.extend(rest);
    flags.push("--".into());
    match program_at.filter(|at| *at < args.len()) {
        Some(at) => flags.extend(args[at..].iter().cloned()),
        None => {
            let program = config
                .program
                .clone()
                .ok_or("no PROGRAM given (neither in the manifest nor on the command line)")?;
            flags.push(program);
            flags.extend(config.args.iter().cloned());
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_flag_combines_with_a_manifest() {
        let dir = std::env::temp_dir().join(format!("picobox-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = dir.join("m.toml");
        std::fs::write(&m, "program = \"/bin/true\"\n").unwrap();
        let args = strings(&[
            "--manifest",
            m.to_str().unwrap(),
            "--pids",
            "9",
            "--memory",
            "64M",
            "--net",
            "loopback",
            "--size",
            "1M",
            "--tmpfs",
            "/t",
            "--trace",
            "--allow-connect",
            "tcp:127.0.0.1:1",
        ]);
        let flags = flags_with_manifest(&args).unwrap();
        assert_eq!(
            flags,
            strings(&[
                "--pids",
                "9",
                "--memory",
                "64M",
                "--net",
                "loopback",
                "--size",
                "1M",
                "--tmpfs",
                "/t",
                "--trace",
                "--allow-connect",
                "tcp:127.0.0.1:1",
                "--",
                "/bin/true"
            ])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
