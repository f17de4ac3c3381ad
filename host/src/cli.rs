//! The command line: `picobox run`, `picobox syscalls`, `picobox abi`.

use crate::config::{BoxConfig, Mount, MountKind};
use std::ffi::OsString;
use std::path::PathBuf;

const HELP: &str = "\
picobox: run an untrusted Linux x86-64 program in a library-OS picoprocess

USAGE:
    picobox run [OPTIONS] [--] PROGRAM [ARGS...]
    picobox syscalls        print which Linux system calls the library OS implements
    picobox abi             print the host ABI calls
    picobox --help | --version

RUN OPTIONS (as bubblewrap's):
    --ro-bind SRC DST    show host directory SRC read-only at DST in the box
    --bind SRC DST       show host directory SRC writable at DST (changes reach the host)
    --tmpfs DST          a fresh, empty, memory-backed writable directory at DST
    --setenv KEY VALUE   set an environment variable (the box starts with only PATH)
    --chdir DIR          working directory in the box (default /)
    --manifest FILE      read the box from a TOML manifest; flags add to it
    --trace              log the program's system calls to standard error

PROGRAM is a static x86-64 Linux executable on the host (a path, or a name looked up in
PATH). The box sees only its mounts and /dev/{null,zero,random,urandom}.

EXIT STATUS:
    the program's exit status, or 128+N if it died of signal N;
    125  picobox itself failed (bad flag, manifest or mount);
    126  the program is not a runnable executable;
    127  the program was not found;
    159  the box made a forbidden host system call and the kernel killed it.
";

/// Exit status for usage errors and failures of picobox itself.
pub const EXIT_USAGE: i32 = 125;

/// Runs the command line; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = match args.into_iter().map(OsString::into_string).collect() {
        Ok(a) => a,
        Err(bad) => {
            eprintln!("picobox: argument {bad:?} is not valid UTF-8");
            return EXIT_USAGE;
        }
    };
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            print!("{HELP}");
            if args.is_empty() {
                EXIT_USAGE
            } else {
                0
            }
        }
        Some("-V" | "--version") => {
            println!(
                "picobox {} (host ABI {}.{})",
                env!("CARGO_PKG_VERSION"),
                picobox_abi::ABI_VERSION.0,
                picobox_abi::ABI_VERSION.1
            );
            0
        }
        Some("syscalls") => {
            print_syscalls();
            0
        }
        Some("abi") => {
            for c in picobox_abi::CALLS {
                println!("{:<16} {}", c.group, c.name);
            }
            0
        }
        Some("run") => match parse_run(&args[1..]) {
            Ok(config) => crate::sandbox::run_box(&config),
            Err(msg) => {
                eprintln!("picobox: {msg}\nTry 'picobox --help'.");
                EXIT_USAGE
            }
        },
        Some(other) => {
            eprintln!("picobox: unknown command '{other}'\nTry 'picobox --help'.");
            EXIT_USAGE
        }
    }
}

fn print_syscalls() {
    use picobox_libos::syscalls::{support_report, Support};
    let (mut full, mut partial, mut missing) = (0, 0, 0);
    for row in support_report() {
        let status = match row.support {
            Some(Support::Full) => {
                full += 1;
                "full".to_string()
            }
            Some(Support::Partial(note)) => {
                partial += 1;
                format!("partial: {note}")
            }
            None => {
                missing += 1;
                "ENOSYS".to_string()
            }
        };
        println!("{:>3}  {:<24} {status}", row.nr, row.name);
    }
    println!("# {full} full, {partial} partial, {missing} not implemented (ENOSYS)");
}

/// Parses the options of `picobox run`.
pub fn parse_run(args: &[String]) -> Result<BoxConfig, String> {
    let mut config = BoxConfig::default();
    let mut flags = BoxConfig::default();
    let mut manifest = None;
    let mut i = 0;
    let value = |i: usize, n: usize, flag: &str| -> Result<Vec<String>, String> {
        args.get(i + 1..i + 1 + n)
            .map(<[String]>::to_vec)
            .ok_or_else(|| format!("{flag} needs {n} argument{}", if n == 1 { "" } else { "s" }))
    };
    while i < args.len() {
        let a = args[i].as_str();
        let taken = match a {
            "--" => {
                i += 1;
                break;
            }
            "--ro-bind" | "--bind" => {
                let v = value(i, 2, a)?;
                let kind = if a == "--bind" {
                    MountKind::ReadWrite
                } else {
                    MountKind::ReadOnly
                };
                flags.mounts.push(Mount {
                    kind,
                    source: PathBuf::from(&v[0]),
                    target: v[1].clone(),
                });
                2
            }
            "--tmpfs" => {
                let v = value(i, 1, a)?;
                flags.mounts.push(Mount {
                    kind: MountKind::Tmpfs,
                    source: PathBuf::new(),
                    target: v[0].clone(),
                });
                1
            }
            "--setenv" => {
                let v = value(i, 2, a)?;
                if v[0].is_empty() || v[0].contains('=') {
                    return Err(format!("--setenv: invalid variable name '{}'", v[0]));
                }
                flags.env.push((v[0].clone(), v[1].clone()));
                2
            }
            "--chdir" => {
                flags.cwd = Some(value(i, 1, a)?[0].clone());
                1
            }
            "--manifest" => {
                manifest = Some(PathBuf::from(&value(i, 1, a)?[0]));
                1
            }
            "--trace" => {
                flags.trace = true;
                0
            }
            _ if a.starts_with('-') && a.len() > 1 => return Err(format!("unknown option '{a}'")),
            _ => break,
        };
        i += 1 + taken;
    }
    if let Some(path) = manifest {
        config = crate::manifest::load(&path).map_err(|e| e.to_string())?;
    }
    config.mounts.extend(flags.mounts);
    config.env.extend(flags.env);
    config.cwd = flags.cwd.or(config.cwd);
    config.trace |= flags.trace;
    if let Some(program) = args.get(i) {
        config.program = Some(program.clone());
        config.args = args[i + 1..].to_vec();
    }
    if config.program.is_none() {
        return Err("no PROGRAM given".to_string());
    }
    for m in &config.mounts {
        if !m.target.starts_with('/') {
            return Err(format!(
                "mount target '{}' must be an absolute path",
                m.target
            ));
        }
    }
    if let Some(cwd) = &config.cwd {
        if !cwd.starts_with('/') {
            return Err(format!("--chdir '{cwd}' must be an absolute path"));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_and_program_are_split() {
        let c = parse_run(&strings(&[
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
        assert_eq!(c.program.as_deref(), Some("prog"));
        assert_eq!(c.args, ["--x"]);
        assert_eq!(c.mounts.len(), 2);
        assert_eq!(c.env, [("A".to_string(), "b".to_string())]);
    }

    #[test]
    fn bad_flags_are_reported() {
        assert!(parse_run(&strings(&["--bind", "/x"]))
            .unwrap_err()
            .contains("needs 2 arguments"));
        assert!(parse_run(&strings(&["--frobnicate"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse_run(&strings(&[])).unwrap_err().contains("no PROGRAM"));
        assert!(parse_run(&strings(&["--tmpfs", "rel", "p"]))
            .unwrap_err()
            .contains("absolute"));
        assert!(parse_run(&strings(&["--setenv", "A=B", "c", "p"]))
            .unwrap_err()
            .contains("invalid variable"));
    }
}
