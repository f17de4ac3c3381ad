//! `picobox`: the command, and the picoprocess runtime.
//!
//! This is a `no_std` static-pie executable, so that starting a box pays for no C library's
//! start-up. It holds the trusted monitor (`monitor/`: [`cli`], [`launch`]), the kernel policy
//! it builds (`../policy/`: [`box_root`], [`landlock`], [`limits`]) and everything that runs
//! inside a picoprocess: the PAL (`pal/`: the Linux implementation of the host ABI, [`pal`],
//! [`signals`], [`threads`], [`mem`]), the library OS and the loader. `picobox run` forks;
//! the child builds its root, confines itself (mount namespace, its own host user, Landlock,
//! no_new_privs, rlimits, the seccomp filter) and lets the library OS load the program, whose
//! system calls then arrive as `SIGSYS`. The runtime's own system calls all pass through one
//! [`gate`].
//!
//! Everything in the child is untrusted once the program runs; the kernel (its mount tree, the
//! filter, Landlock, namespaces, cgroups) is the boundary.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

// The binary's base, used on both sides of the boundary: start-up, allocator, output, and the
// one syscall instruction.
mod gate;
mod heap;
mod out;
mod start;

// The trusted monitor (`monitor/`): the command line and the start of a box, up to the moment
// the box is confined; then the box's parent, which waits and reports.
#[path = "monitor/box_files.rs"]
mod box_files;
#[path = "monitor/broker.rs"]
mod broker;
#[path = "monitor/cli.rs"]
mod cli;
#[path = "monitor/descriptions.rs"]
mod descriptions;
#[path = "monitor/fifos.rs"]
mod fifos;
#[path = "monitor/hostio.rs"]
mod hostio;
#[path = "monitor/launch.rs"]
mod launch;
#[path = "monitor/mqueues.rs"]
mod mqueues;
#[path = "monitor/reaper.rs"]
mod reaper;
#[path = "monitor/registry.rs"]
mod registry;
#[path = "monitor/restore.rs"]
mod restore;
#[path = "monitor/root_plan.rs"]
mod root_plan;
#[path = "monitor/seal_key.rs"]
mod seal_key;
#[path = "monitor/snapshot.rs"]
mod snapshot;
#[path = "monitor/special_files.rs"]
mod special_files;
#[path = "monitor/sysv.rs"]
mod sysv;
#[path = "monitor/tcp_repair.rs"]
mod tcp_repair;
#[path = "monitor/timens.rs"]
mod timens;
#[path = "monitor/unix_sockets.rs"]
mod unix_sockets;
#[path = "monitor/verified.rs"]
mod verified;
#[path = "monitor/watchers.rs"]
mod watchers;
// The snapshot file and its metadata, shared with the std-side tools (`host/src/lib.rs`).
#[path = "../seal.rs"]
mod seal;
#[allow(dead_code)] // the std-side tests use all of it
#[path = "../snapshot_format.rs"]
mod snapshot_format;
#[path = "../snapshot_meta.rs"]
mod snapshot_meta;

// Kernel policy (`host/src/policy/`): everything that becomes a rule the kernel enforces on a
// box — the box's root and namespaces, Landlock, resource limits (the seccomp allowlist there is
// compiled by build.rs).
#[path = "../policy/box_root.rs"]
mod box_root;
#[path = "../policy/landlock.rs"]
mod landlock;
#[path = "../policy/limits.rs"]
mod limits;

// The PAL (`pal/`): untrusted, runs inside the picoprocess once it is confined.
#[path = "pal/freeze.rs"]
mod freeze;
#[path = "pal/mem.rs"]
mod mem;
#[path = "pal/mod.rs"]
mod pal;
#[path = "pal/signals.rs"]
mod signals;
#[path = "pal/threads.rs"]
mod threads;
#[path = "pal/tty.rs"]
mod tty;

include!(concat!(env!("OUT_DIR"), "/allowlist.rs"));

use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::boot::BootInfo;
use picobox_abi::Host;

/// Exit status for failures of picobox itself (as `docker run` uses 125).
pub(crate) const EXIT_INTERNAL: u8 = 125;

/// Called from `_start` after relocation, with the arguments, environment and auxiliary vector.
fn main(args: Vec<Vec<u8>>, env: Vec<Vec<u8>>, auxv: start::Auxv) -> ! {
    seal_key::remember(&env);
    let host = pal::init(auxv);
    let code = match cli::parse(args.get(1..).unwrap_or(&[])) {
        Ok(cli::Command::Help { asked, text }) => {
            out::stdout(text);
            if asked {
                0
            } else {
                EXIT_INTERNAL
            }
        }
        Ok(cli::Command::Version) => {
            let (major, minor) = picobox_abi::ABI_VERSION;
            let mut s = String::new();
            let _ = core::fmt::write(
                &mut s,
                format_args!(
                    "picobox {} (host ABI {major}.{minor})\n",
                    env!("CARGO_PKG_VERSION")
                ),
            );
            out::stdout(&s);
            0
        }
        Ok(cli::Command::Syscalls) => {
            out::stdout(&syscall_table());
            0
        }
        Ok(cli::Command::Abi) => {
            let mut s = String::new();
            for c in picobox_abi::CALLS {
                let _ = core::fmt::write(&mut s, format_args!("{:<16} {}\n", c.group, c.name));
            }
            out::stdout(&s);
            0
        }
        Ok(cli::Command::Run(config)) => launch::run(&config),
        Ok(cli::Command::Ps { json }) => match registry::ps(json) {
            Ok(text) => {
                out::stdout(&text);
                0
            }
            Err(msg) => {
                out::error(format_args!("{msg}"));
                EXIT_INTERNAL
            }
        },
        Ok(cli::Command::Manifest(rest)) => exec_manifest_helper(&rest, &env),
        Ok(cli::Command::Snapshot {
            id,
            output,
            leave_running,
        }) => snapshot::client(&id, &output, leave_running),
        Ok(cli::Command::Inspect { path, json }) => restore::inspect(&path, json),
        Ok(cli::Command::Restore(restore_args)) => restore::run(&restore_args, &env),
        Err(msg) => {
            out::error(format_args!("{msg}\nTry 'picobox --help'."));
            EXIT_INTERNAL
        }
    };
    host.exit_now(code)
}

/// The compatibility report printed by `picobox syscalls`.
fn syscall_table() -> String {
    use picobox_libos::syscalls::{support_report, Support};
    let (mut full, mut partial, mut missing) = (0, 0, 0);
    let mut s = String::new();
    for row in support_report() {
        let _ = match row.support {
            Some(Support::Full) => {
                full += 1;
                core::fmt::write(
                    &mut s,
                    format_args!("{:>3}  {:<24} full\n", row.nr, row.name),
                )
            }
            Some(Support::Partial(note)) => {
                partial += 1;
                core::fmt::write(
                    &mut s,
                    format_args!("{:>3}  {:<24} partial: {note}\n", row.nr, row.name),
                )
            }
            None => {
                missing += 1;
                core::fmt::write(
                    &mut s,
                    format_args!("{:>3}  {:<24} ENOSYS\n", row.nr, row.name),
                )
            }
        };
    }
    let _ = core::fmt::write(
        &mut s,
        format_args!("# {full} full, {partial} partial, {missing} not implemented (ENOSYS)\n"),
    );
    s
}

/// `picobox run --manifest ...`: TOML needs std, so `picobox-manifest` (next to this binary)
/// reads it and runs `picobox run` again with plain flags.
fn exec_manifest_helper(rest: &[Vec<u8>], env: &[Vec<u8>]) -> u8 {
    let mut exe = alloc::vec![0u8; 4096];
    let n = gate::syscall(
        89,
        [
            c"/proc/self/exe".as_ptr() as u64,
            exe.as_mut_ptr() as u64,
            4095,
            0,
            0,
            0,
        ],
    );
    let Ok(n) = picobox_abi::Errno::from_raw_return(n) else {
        out::error(format_args!("cannot find the picobox executable"));
        return EXIT_INTERNAL;
    };
    exe.truncate(n as usize);
    let dir_end = exe.iter().rposition(|b| *b == b'/').map_or(0, |i| i + 1);
    exe.truncate(dir_end);
    exe.extend_from_slice(b"picobox-manifest\0");
    let mut strings: Vec<Vec<u8>> = alloc::vec![b"picobox-manifest\0".to_vec()];
    strings.extend(rest.iter().map(|a| [a.as_slice(), b"\0"].concat()));
    let envs: Vec<Vec<u8>> = env.iter().map(|e| [e.as_slice(), b"\0"].concat()).collect();
    let mut argv: Vec<u64> = strings.iter().map(|s| s.as_ptr() as u64).collect();
    argv.push(0);
    let mut envp: Vec<u64> = envs.iter().map(|s| s.as_ptr() as u64).collect();
    envp.push(0);
    let r = gate::syscall(
        59,
        [
            exe.as_ptr() as u64,
            argv.as_ptr() as u64,
            envp.as_ptr() as u64,
            0,
            0,
            0,
        ],
    );
    out::error(format_args!(
        "cannot run {}: {}",
        String::from_utf8_lossy(&exe[..exe.len() - 1]),
        picobox_abi::Errno::from_raw_return(r)
            .err()
            .unwrap_or(picobox_abi::Errno::EIO)
    ));
    EXIT_INTERNAL
}

/// Closes every inherited descriptor that the boot information does not name, so that nothing
/// the caller leaked reaches the program.
fn close_stray_descriptors(boot: &BootInfo, also: &[u32]) {
    let mut keep: Vec<u32> = alloc::vec![0, 1, 2];
    keep.extend_from_slice(also);
    keep.extend(boot.socket_root.map(|h| h.0));
    keep.extend(boot.mounts.iter().map(|m| m.root.0));
    keep.sort_unstable();
    keep.dedup();
    let mut next = 0u32;
    for fd in keep {
        if fd > next {
            gate::close_range(next, fd - 1);
        }
        next = fd + 1;
    }
    gate::close_range(next, u32::MAX);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = String::new();
    let _ = core::fmt::write(
        &mut line,
        format_args!("picobox: internal error (a bug): {info}"),
    );
    pal::HOST.debug_log(&line);
    pal::HOST.exit_now(EXIT_INTERNAL)
}

/// Unwinding is never used (`panic = "abort"`), but dependencies built for the host target may
/// still name the personality routine.
#[allow(unsafe_code)] // SAFETY: defines a symbol no other object file of this binary defines.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// See [`rust_eh_personality`].
#[allow(non_snake_case, unsafe_code)] // SAFETY: as for rust_eh_personality.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    pal::HOST.exit_now(EXIT_INTERNAL)
}
