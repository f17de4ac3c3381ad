//! The TOML manifest: the same content as the command-line flags.
//!
//! ```toml
//! program = "/bin/busybox"
//! args = ["sh", "-c", "echo hi"]
//! cwd = "/work"
//! trace = false
//! env = { LANG = "C.UTF-8" }
//!
//! net = "none"           # or "loopback"
//! allow_bind = ["tcp:127.0.0.1:8080"]
//! allow_connect = ["tcp:127.0.0.1:6379"]
//! pids = 512
//! memory = "1G"
//! files = 1024
//!
//! root = "/srv/rootfs"   # a whole root (read-only); or empty_root = true
//! as_pid_1 = false        # true: the program is the box's pid 1 (else picobox's reaper is)
//! name = "web-1"          # the box's id (picobox ps); default: a generated one
//!
//! [[mount]]
//! type = "ro-bind"        # or "bind", "ro-bind-try", "bind-try", "tmpfs", "symlink", "dir"
//! source = "/usr"         # not for tmpfs and dir; the link's target for symlink
//! target = "/usr"
//! size = "64M"            # tmpfs only
//! ```
//! Unknown keys are errors, so a misspelling never silently changes the policy.

use crate::config::{BoxConfig, Mount, MountKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    Read {
        /// The manifest.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or schema error (unknown key, wrong type).
    #[error("invalid manifest {path}: {message}")]
    Parse {
        /// The manifest.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A mount entry is inconsistent.
    #[error("invalid manifest {path}: mount {index}: {why}")]
    Mount {
        /// The manifest.
        path: PathBuf,
        /// Index of the mount (from 0).
        index: usize,
        /// Why.
        why: &'static str,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    program: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    cwd: Option<String>,
    #[serde(default)]
    trace: bool,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    mount: Vec<ManifestMount>,
    net: Option<String>,
    #[serde(default)]
    allow_bind: Vec<String>,
    #[serde(default)]
    allow_connect: Vec<String>,
    pids: Option<u64>,
    memory: Option<String>,
    files: Option<u64>,
    root: Option<String>,
    #[serde(default)]
    empty_root: bool,
    #[serde(default)]
    as_pid_1: bool,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestMount {
    #[serde(rename = "type")]
    kind: String,
    source: Option<PathBuf>,
    target: String,
    size: Option<String>,
}

/// Reads a manifest file into a configuration.
pub fn load(path: &Path) -> Result<BoxConfig, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses manifest text (`path` is only for messages).
pub fn parse(text: &str, path: &Path) -> Result<BoxConfig, ManifestError> {
    let m: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim_end().replace('\n', " "),
    })?;
    let mut mounts = Vec::new();
    for (index, mm) in m.mount.into_iter().enumerate() {
        let err = |why| ManifestError::Mount {
            path: path.to_owned(),
            index,
            why,
        };
        let kind = match mm.kind.as_str() {
            "ro-bind" => MountKind::ReadOnly,
            "bind" => MountKind::ReadWrite,
            "tmpfs" => MountKind::Tmpfs,
            "ro-bind-try" => MountKind::ReadOnlyTry,
            "bind-try" => MountKind::ReadWriteTry,
            "symlink" => MountKind::Symlink,
            "dir" => MountKind::Dir,
            _ => {
                return Err(err(
                    "type must be \"ro-bind\", \"bind\", \"ro-bind-try\", \"bind-try\", \
                     \"tmpfs\", \"symlink\" or \"dir\"",
                ))
            }
        };
        let source = match (&kind, mm.source) {
            (MountKind::Tmpfs | MountKind::Dir, None) => PathBuf::new(),
            (MountKind::Tmpfs | MountKind::Dir, Some(_)) => {
                return Err(err("a tmpfs or dir mount has no source"))
            }
            (_, Some(s)) => s,
            (MountKind::Symlink, None) => {
                return Err(err("a symlink needs a source (the link's target)"))
            }
            (_, None) => return Err(err("a bind mount needs a source")),
        };
        if mm.size.is_some() && kind != MountKind::Tmpfs {
            return Err(err("only a tmpfs mount has a size"));
        }
        mounts.push(Mount {
            kind,
            source,
            target: mm.target,
            size: mm.size,
        });
    }
    Ok(BoxConfig {
        program: m.program,
        args: m.args,
        env: m.env.into_iter().collect(),
        cwd: m.cwd,
        mounts,
        trace: m.trace,
        net: m.net,
        allow_bind: m.allow_bind,
        allow_connect: m.allow_connect,
        pids: m.pids,
        memory: m.memory,
        files: m.files,
        root: m.root,
        empty_root: m.empty_root,
        as_pid_1: m.as_pid_1,
        name: m.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest_parses() {
        let c = parse(
            "program = \"/bin/busybox\"\nargs = [\"echo\", \"hi\"]\nenv = { A = \"1\" }\n\
             [[mount]]\ntype = \"ro-bind\"\nsource = \"/usr\"\ntarget = \"/usr\"\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(c.program.as_deref(), Some("/bin/busybox"));
        assert_eq!(c.mounts.len(), 2);
        assert_eq!(c.mounts[1].kind, MountKind::Tmpfs);
    }

    #[test]
    fn root_and_made_entries_have_keys() {
        let c = parse(
            "program = \"p\"\nroot = \"/srv/root\"\nas_pid_1 = true\n\
             [[mount]]\ntype = \"ro-bind-try\"\nsource = \"/a\"\ntarget = \"/a\"\n\
             [[mount]]\ntype = \"symlink\"\nsource = \"usr/bin\"\ntarget = \"/bin\"\n\
             [[mount]]\ntype = \"dir\"\ntarget = \"/d\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(
            c.to_flags(),
            [
                "--root",
                "/srv/root",
                "--as-pid-1",
                "--ro-bind-try",
                "/a",
                "/a",
                "--symlink",
                "usr/bin",
                "/bin",
                "--dir",
                "/d"
            ]
        );
        let e = parse(
            "[[mount]]\ntype = \"dir\"\nsource = \"/a\"\ntarget = \"/x\"",
            Path::new("m.toml"),
        );
        assert!(e.unwrap_err().to_string().contains("no source"));
    }

    #[test]
    fn every_flag_has_a_key() {
        let c = parse(
            "program = \"p\"\nnet = \"loopback\"\npids = 7\nmemory = \"64M\"\nfiles = 99\n\
             allow_bind = [\"tcp:127.0.0.1:80\"]\nallow_connect = [\"tcp:[::1]:6379\"]\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\nsize = \"8M\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(
            c.to_flags(),
            [
                "--size",
                "8M",
                "--tmpfs",
                "/t",
                "--net",
                "loopback",
                "--allow-bind",
                "tcp:127.0.0.1:80",
                "--allow-connect",
                "tcp:[::1]:6379",
                "--pids",
                "7",
                "--memory",
                "64M",
                "--files",
                "99"
            ]
        );
        let e = parse(
            "[[mount]]\ntype = \"bind\"\nsource = \"/a\"\ntarget = \"/x\"\nsize = \"1M\"",
            Path::new("m.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("only a tmpfs"));
    }

    #[test]
    fn unknown_keys_and_bad_mounts_are_errors() {
        let e = parse("progam = \"x\"", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `progam`"), "{e}");
        let e = parse(
            "[[mount]]\ntype = \"bind\"\ntarget = \"/x\"",
            Path::new("m.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a source"));
        let e = parse(
            "[[mount]]\ntype = \"overlay\"\ntarget = \"/x\"",
            Path::new("m.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("type must be"));
    }
}
