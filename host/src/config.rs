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

/// Everything a manifest can say about a box.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoxConfig {
    /// The program, as a host path or a name looked up in the host's `PATH`.
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
}

impl BoxConfig {
    /// The `picobox run` flags that say the same, without the program.
    pub fn to_flags(&self) -> Vec<String> {
        let mut f = Vec::new();
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
                MountKind::Tmpfs => f.extend(["--tmpfs".into(), m.target.clone()]),
            }
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
            "--ro-bind" | "--bind" | "--setenv" => {
                rest.extend(args[i..(i + 3).min(args.len())].iter().cloned());
                i += 3;
                continue;
            }
            "--tmpfs" | "--chdir" => {
                rest.extend(args[i..(i + 2).min(args.len())].iter().cloned());
                i += 2;
                continue;
            }
            a if a.starts_with('-') => rest.push(a.to_string()),
            _ => {
                program_at = Some(i);
                break;
            }
        }
        i += 1;
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
