//! Escape attempts, each in its own box, each asserting the exact refusal: the errno the
//! program sees, or the documented exit status 159 when the kernel kills the box.

use crate::support::*;
use std::path::Path;
use std::process::Output;

/// Exit status of a box killed by the seccomp policy (see `picobox --help`).
const POLICY_KILL: i32 = 159;

/// Runs the escape program with `args`; the box sees only `/ro` (read-only) and `/w`.
fn attempt(args: &[&str]) -> Output {
    // Tests may make the same attempt at once: each gets a directory of its own.
    static ATTEMPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch(&format!("escape-{n}-{}", args.join("-").replace('/', "_")));
    std::fs::create_dir_all(dir.join("ro")).unwrap();
    std::fs::create_dir_all(dir.join("w")).unwrap();
    std::fs::write(dir.join("ro/file"), "read-only").unwrap();
    std::fs::write(dir.join("w/wfile"), "writable").unwrap();
    // A file the box may not read: mode 0, owned by the host user who runs the tests (root's,
    // for a box started by root, is another user's to the box).
    std::fs::write(dir.join("ro/secret"), "secret").unwrap();
    std::fs::set_permissions(
        dir.join("ro/secret"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("w/abs-link")).unwrap();
    std::os::unix::fs::symlink("../../../../../../etc/passwd", dir.join("w/rel-link")).unwrap();
    let ro = dir.join("ro");
    let w = dir.join("w");
    // "@ro/NAME" names the read-only mount's file by its host path.
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix("@ro/") {
            Some(rest) => ro.join(rest).to_str().unwrap().to_string(),
            None => a.to_string(),
        })
        .collect();
    picobox()
        .args([
            "run",
            "--empty-root",
            "--ro-bind",
            ro.to_str().unwrap(),
            "/ro",
            "--bind",
            w.to_str().unwrap(),
            "/w",
            "--chdir",
            "/w",
        ])
        .args(show(&guest("escape")))
        .arg("--")
        .arg(guest("escape"))
        .args(&args)
        .output()
        .unwrap()
}

/// Runs the escape program in a box made with `flags` (and the program shown at its own path).
fn escape_with(flags: &[&str], args: &[&str]) -> Output {
    picobox()
        .arg("run")
        .args(flags)
        .args(show(&guest("escape")))
        .arg("--")
        .arg(guest("escape"))
        .args(args)
        .output()
        .unwrap()
}

fn refused_with(args: &[&str], expected: &str) {
    let out = attempt(args);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("errno={expected}"),
        "{args:?}: stderr {}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{args:?}");
}

/// Asserts that the escape program reported `expected` (an `errno=` line or `SUCCEEDED`).
fn answered(out: &Output, expected: &str) {
    assert_eq!(
        text(&out.stdout).trim(),
        expected,
        "stderr: {}",
        text(&out.stderr)
    );
}

fn killed(args: &[&str]) {
    let out = attempt(args);
    assert_eq!(
        out.status.code(),
        Some(POLICY_KILL),
        "{args:?}: stdout {} stderr {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).is_empty(),
        "{args:?} printed {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("forbidden host system call"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn host_file_outside_every_mount_is_invisible() {
    refused_with(&["open", "/etc/passwd"], "ENOENT");
}

#[test]
fn dotdot_cannot_climb_out_of_a_mount() {
    refused_with(&["open", "/w/../../../../etc/passwd"], "ENOENT");
    refused_with(&["open", "../../../etc/hostname"], "ENOENT");
}

#[test]
fn absolute_symlink_resolves_inside_the_box() {
    refused_with(&["open", "/w/abs-link"], "ENOENT");
}

#[test]
fn relative_symlink_cannot_climb_out() {
    refused_with(&["open", "/w/rel-link"], "ENOENT");
}

#[test]
fn read_only_mount_refuses_writes() {
    refused_with(&["open-write", "/ro/file"], "EROFS");
    refused_with(&["create", "/ro/new"], "EROFS");
    refused_with(&["unlink", "/ro/file"], "EROFS");
    refused_with(&["mkdir", "/ro/d"], "EROFS");
    // Extended attributes, which Landlock does not mediate: the kernel's read-only mount
    // refuses them, through the library OS and straight at the gate.
    refused_with(&["setxattr", "/ro/file"], "EROFS");
    refused_with(&["gate-fsetxattr", "file"], "EROFS");
}

#[test]
fn a_box_without_a_network_is_told_no_interface() {
    // Without a network the box shares the host's namespace (Linux 6.12 and later): its
    // interfaces are not the box's to list, through the library OS or at the gate.
    answered(&attempt(&["ifconf"]), "interfaces 0");
    killed(&["gate-ifconf"]);
}

#[test]
fn a_writable_file_takes_no_privileged_attribute() {
    // trusted.* needs the host's CAP_SYS_ADMIN, which no box holds.
    refused_with(&["setxattr", "/w/wfile", "trusted.x"], "EPERM");
    refused_with(&["gate-fsetxattr", "wfile", "trusted.x"], "EPERM");
}

#[test]
fn host_binary_cannot_be_executed() {
    refused_with(&["execve", "/bin/sh"], "ENOENT");
}

#[test]
fn by_default_a_box_has_no_network() {
    // Even a listening host service is out of reach: no socket can be made.
    let host_service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host_service.local_addr().unwrap().port().to_string();
    refused_with(&["connect", &port], "EACCES");
    refused_with(&["udp"], "EACCES");
    killed(&["gate-udp"]);
}

#[test]
fn a_loopback_box_has_its_own_network() {
    // A host service on loopback is not there for a box with a network of its own.
    let host_service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host_service.local_addr().unwrap().port().to_string();
    let out = escape_with(&["--net", "loopback"], &["connect", &port]);
    answered(&out, "errno=ECONNREFUSED");
}

#[test]
fn only_tcp_udp_and_unix_sockets_exist() {
    // A raw socket needs CAP_NET_RAW, which no box has: EPERM, as for an unprivileged process.
    refused_with(&["raw"], "EPERM");
    refused_with(&["netlink"], "EAFNOSUPPORT");
    killed(&["gate-raw"]);
    killed(&["gate-netlink"]);
}

/// A Unix socket listening on the host, in a directory of its own; returned with its path.
fn host_unix_listener(name: &str) -> (std::os::unix::net::UnixListener, String) {
    let dir = scratch(&format!("host-socket-{name}"));
    let path = dir.join("host.sock");
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    (listener, path.to_str().unwrap().to_string())
}

#[test]
fn host_unix_sockets_are_out_of_reach() {
    let (_listener, path) = host_unix_listener("by-path");
    // Through the library OS: the host path is not in the box.
    refused_with(&["unix-connect", &path], "ENOENT");
    // At the gate: the kernel resolves the name in the box's empty socket root.
    refused_with(&["gate-unix-connect", &path], "ENOENT");
    let climb = format!("../../../../../../../..{path}");
    refused_with(&["gate-unix-connect", &climb], "ENOENT");
    // Nor can a socket be bound anywhere on the host.
    let bind_at = format!(
        "{}/planted.sock",
        scratch("host-socket-bind").to_str().unwrap()
    );
    refused_with(&["gate-unix-bind", &bind_at], "ENOENT");
    assert!(!std::path::Path::new(&bind_at).exists());
}

#[test]
fn a_host_socket_inside_a_mount_is_not_connectable() {
    // The socket file is visible (the box may read the directory), but the kernel object
    // behind it is not the box's: connecting is refused.
    let dir = scratch("host-socket-mounted");
    let path = dir.join("service.sock");
    let _ = std::fs::remove_file(&path);
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let out = escape_with(
        &["--ro-bind", dir.to_str().unwrap(), "/srv"],
        &["unix-connect", "/srv/service.sock"],
    );
    answered(&out, "errno=ECONNREFUSED");
}

#[test]
fn host_abstract_sockets_are_out_of_reach() {
    let name = format!("picobox-escape-test-{}", std::process::id());
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    // Landlock's scoping: abstract sockets made outside the box do not exist for it.
    refused_with(&["unix-abstract", &name], "EPERM");
    refused_with(&["gate-unix-abstract", &name], "EPERM");
}

#[test]
fn device_nodes_cannot_be_made_at_the_gate() {
    killed(&["gate-mknod-dev"]);
}

#[test]
fn timers_cannot_watch_another_process_s_clock() {
    killed(&["gate-timer-foreign-clock"]);
}

/// Runs the escape program on the host's network with `policy` flags.
fn on_host_network(policy: &[&str], args: &[&str]) -> Output {
    escape_with(policy, args)
}

#[test]
fn host_network_ports_are_confined_by_the_kernel() {
    let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_port = allowed.local_addr().unwrap().port().to_string();
    let other_port = other.local_addr().unwrap().port().to_string();
    let policy = ["--allow-connect", &format!("tcp:127.0.0.1:{allowed_port}")];
    let out = on_host_network(&policy, &["connect", &allowed_port]);
    answered(&out, "SUCCEEDED");
    let out = on_host_network(&policy, &["connect", &other_port]);
    answered(&out, "errno=EACCES");
    let out = on_host_network(&policy, &["bind", &other_port]);
    answered(&out, "errno=EACCES");
    // Bypassing the library OS changes nothing: Landlock refuses the undeclared port.
    let out = on_host_network(&policy, &["gate-connect", &other_port]);
    answered(&out, "errno=EACCES");
    // A port declared for one address is not open on every interface (the library OS keeps
    // the program to the declared address; the kernel can only see ports).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let loopback_only = ["--allow-bind", &format!("tcp:127.0.0.1:{free_port}")];
    let out = on_host_network(&loopback_only, &["bind-any", &free_port]);
    answered(&out, "errno=EACCES");
    let any = ["--allow-bind", &format!("tcp:0.0.0.0:{free_port}")];
    let out = on_host_network(&any, &["bind-any", &free_port]);
    answered(&out, "SUCCEEDED");
    // Landlock cannot see UDP: on the host's network there is none.
    let out = on_host_network(&policy, &["udp"]);
    answered(&out, "errno=EACCES");
    let out = on_host_network(&policy, &["gate-udp"]);
    assert_eq!(
        out.status.code(),
        Some(POLICY_KILL),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn terminal_requests_stop_at_the_terminal() {
    // The box's pseudo-terminals take no injected input (TIOCSTI: another reader of the
    // terminal would run what the box typed), and the requests that reach past a terminal
    // (input injection, console redirection, line disciplines, virtual consoles) are not
    // admitted by the filter at all.
    refused_with(&["tiocsti"], "ENOTTY");
    for request in [
        "gate-tiocsti",
        "gate-tioccons",
        "gate-tiocsetd",
        "gate-tioclinux",
    ] {
        killed(&[request]);
    }
}

#[test]
fn the_box_s_pseudo_terminals_are_its_own() {
    // A pseudo-terminal of the host, opened while the box runs, is not in the box's /dev/pts
    // (each box has a devpts instance of its own).
    // SAFETY: posix_openpt, unlockpt and ptsname take and return plain values.
    let (master, name) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0, "no pseudo-terminal on the host");
        libc::unlockpt(m);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(m))
            .to_string_lossy()
            .into_owned();
        (m, name)
    };
    refused_with(&["open-rw", &name], "ENOENT");
    let out = picobox()
        .args(["run", "--", "/bin/ls", "/dev/pts"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "ptmx\n", "{}", text(&out.stderr));
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(master) };
}

#[test]
fn ptrace_reaches_only_the_box_s_own_children() {
    // The library OS's ptrace attaches only to the caller's children in the box: not to
    // picobox's reaper (pid 1), nor to a host process, which the box cannot even name.
    refused_with(&["ptrace-attach", "1"], "EPERM");
    let me = std::process::id().to_string();
    refused_with(&["ptrace-attach", &me], "ESRCH");
}

#[test]
fn no_mount_unshare_chroot_setns() {
    refused_with(&["mount"], "ENOSYS");
    refused_with(&["unshare"], "ENOSYS");
    // chroot's path is checked as Linux checks it, then refused as without CAP_SYS_CHROOT;
    // the host's chroot is not allowed at the gate.
    refused_with(&["chroot"], "EPERM");
    killed(&["gate-chroot"]);
    // setns is the library OS's: fd 0 is no namespace (EINVAL); the box's own namespace file
    // joins the namespace the box is in already; at the gate, the kernel kills the box.
    refused_with(&["setns"], "EINVAL");
    let own = attempt(&["setns-own"]);
    answered(
        &own,
        if is_root() {
            "SUCCEEDED"
        } else {
            "errno=EPERM"
        },
    );
    killed(&["gate-setns"]);
}

#[test]
fn host_processes_cannot_be_signalled() {
    let me = std::process::id().to_string();
    refused_with(&["kill-host", &me], "ESRCH");
    refused_with(&["kill-all"], "ESRCH");
}

#[test]
fn no_bpf_perf_or_io_uring() {
    refused_with(&["bpf"], "ENOSYS");
    refused_with(&["perf"], "ENOSYS");
    refused_with(&["io_uring"], "ENOSYS");
}

#[test]
fn replacing_the_sigsys_handler_changes_nothing() {
    refused_with(&["sigsys-overwrite"], "ENOSYS");
}

#[test]
fn host_proc_is_invisible() {
    // /proc in a box is the library OS's: its pid 2 is the program (pid 1 is picobox's
    // reaper), whose environment is the box's (PATH and HOME), not the host init's.
    let out = picobox()
        .args(["run", "--", busybox(), "cat", "/proc/2/environ"])
        .output()
        .unwrap();
    let home = if is_root() { "/root" } else { "/home/user" };
    assert_eq!(
        text(&out.stdout),
        format!("PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin\0HOME={home}\0"),
        "{}",
        text(&out.stderr)
    );
    refused_with(&["open", "/proc/3/environ"], "ENOENT");
    refused_with(&["open-write", "/proc/self/status"], "EACCES");
}

// Calls made directly at the PAL's gate, bypassing the library OS: the kernel decides.

#[test]
fn gate_execve_kills_the_box() {
    killed(&["gate-execve", "/bin/sh"]);
}

#[test]
fn gate_ptrace_kills_the_box() {
    killed(&["gate-ptrace"]);
}

#[test]
fn another_process_s_memory_is_only_the_box_s() {
    // The box's processes share one host uid of their own and a pid namespace, so
    // process_vm_readv names and passes the kernel's check only for them: not picobox's
    // reaper (pid 1, not dumpable), nor a host process, through the library OS or at the gate.
    refused_with(&["process-vm-read", "1"], "EPERM");
    refused_with(&["gate-process-vm-read", "1"], "EPERM");
    let me = std::process::id().to_string();
    refused_with(&["gate-process-vm-read", &me], "ESRCH");
    refused_with(&["process-vm-read", &me], "ESRCH");
}

#[test]
fn gate_kill_cannot_reach_host_processes() {
    // `kill` is allowed at the gate, but the box's pid namespace has no name for a host
    // process (and Landlock's signal scoping would refuse it anyway).
    let me = std::process::id().to_string();
    refused_with(&["gate-kill", &me], "ESRCH");
    refused_with(&["gate-kill", "-1"], "ESRCH");
}

#[test]
fn gate_sigaction_kills_the_box() {
    killed(&["gate-sigaction"]);
}

#[test]
fn gate_writable_executable_memory_is_no_escape() {
    // W+X at the gate is allowed (JITs need it; docs/threat-model.md says why it is not part
    // of the boundary): the program's own code already runs with the allowlist's authority.
    answered(&attempt(&["gate-mprotect-wx"]), "SUCCEEDED");
}

#[test]
fn gate_open_of_a_host_file_is_refused() {
    assert!(Path::new("/etc/passwd").exists());
    // By absolute name: the process's root is the box's empty socket root.
    refused_with(&["gate-open", "/etc/passwd"], "ENOENT");
    // Climbing out of a mount's directory (no RESOLVE_BENEATH): `..` stops at the root of
    // each detached mount, so the path names nothing.
    refused_with(
        &[
            "gate-open-from-descriptors",
            "../../../../../../../../../../etc/passwd",
        ],
        "ENOENT",
    );
}

#[test]
fn gate_write_into_a_read_only_mount_is_refused_by_landlock() {
    // The read-only mount's file, opened for writing at the gate beneath the mount's own
    // descriptor, and a host file climbed to from every descriptor.
    refused_with(&["gate-open-write-from-descriptors", "file"], "EACCES");
    refused_with(
        &[
            "gate-open-write-from-descriptors",
            "../../../../../../../../../../etc/hostname",
        ],
        "ENOENT",
    );
    // By host path: the process's root is the empty socket root.
    refused_with(&["gate-open-write", "@ro/file"], "ENOENT");
}

#[test]
fn terminal_input_cannot_be_injected() {
    // TIOCSTI would push keystrokes into the caller's terminal (bubblewrap's CVE-2017-5226).
    refused_with(&["tiocsti"], "ENOTTY");
    killed(&["gate-tiocsti"]);
}

/// Asserts that nothing connected to `listener` (the refused route left no trace there).
fn saw_no_connection(listener: &std::net::TcpListener, route: &str) {
    listener.set_nonblocking(true).unwrap();
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("{route}: the undeclared listener saw a connection: {other:?}"),
    }
}

#[test]
fn implicit_connects_cannot_pass_the_port_rules() {
    let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let undeclared = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_port = allowed.local_addr().unwrap().port().to_string();
    let port = undeclared.local_addr().unwrap().port().to_string();
    let policy = ["--allow-connect", &format!("tcp:127.0.0.1:{allowed_port}")];
    // TCP Fast Open through the library OS: it connects first, as connect() does, so the
    // declared port works and an undeclared one is refused.
    answered(
        &on_host_network(&policy, &["fastopen", &port]),
        "errno=EACCES",
    );
    answered(
        &on_host_network(&policy, &["fastopen-connect", &port]),
        "errno=EACCES",
    );
    saw_no_connection(&undeclared, "fastopen (library OS)");
    answered(
        &on_host_network(&policy, &["fastopen", &allowed_port]),
        "SUCCEEDED",
    );
    answered(
        &on_host_network(&policy, &["fastopen-connect", &allowed_port]),
        "SUCCEEDED",
    );
    // At the gate, the flag and the option kill the box before anything is sent.
    for route in [
        "gate-fastopen",
        "gate-sendmsg-fastopen",
        "gate-fastopen-connect",
    ] {
        let out = on_host_network(&policy, &[route, &port]);
        assert_eq!(out.status.code(), Some(POLICY_KILL), "{route}");
        saw_no_connection(&undeclared, route);
    }
}

#[test]
fn implicit_binds_cannot_pass_the_port_rules() {
    // listen() on a socket never bound makes the kernel bind an ephemeral port, which
    // Landlock's bind rule never sees: the monitor refuses it (policy/.., monitor/broker.rs).
    let policy = ["--allow-connect", "tcp:127.0.0.1:9"];
    answered(
        &on_host_network(&policy, &["listen-unbound", "4"]),
        "errno=EACCES",
    );
    answered(
        &on_host_network(&policy, &["listen-unbound", "6"]),
        "errno=EACCES",
    );
    answered(
        &on_host_network(&policy, &["gate-listen-unbound"]),
        "errno=EACCES",
    );
    // Unix sockets still listen on the host's network (the monitor makes the call).
    let flags: Vec<&str> = ["--tmpfs", "/s"]
        .into_iter()
        .chain(policy.iter().copied())
        .collect();
    let out = escape_with(&flags, &["unix-listen", "/s/server"]);
    answered(&out, "SUCCEEDED");
}

#[test]
fn transports_beside_tcp_are_refused() {
    // MPTCP and SCTP are not seen by Landlock's TCP rules: the protocol argument is pinned.
    let policy = ["--allow-connect", "tcp:127.0.0.1:9"];
    answered(
        &on_host_network(&policy, &["mptcp"]),
        "errno=EPROTONOSUPPORT",
    );
    answered(
        &on_host_network(&policy, &["sctp"]),
        "errno=EPROTONOSUPPORT",
    );
    // Nor UDP, nor any other kind: Landlock would not see them on the host's network.
    answered(&on_host_network(&policy, &["udp"]), "errno=EACCES");
    answered(&on_host_network(&policy, &["raw"]), "errno=EPERM");
    for route in [
        "gate-mptcp",
        "gate-sctp",
        "gate-unix-protocol",
        "gate-udp",
        "gate-raw",
        "gate-netlink",
    ] {
        let out = on_host_network(&policy, &[route]);
        assert_eq!(out.status.code(), Some(POLICY_KILL), "{route}");
    }
    let out = escape_with(&["--net", "loopback"], &["gate-mptcp"]);
    assert_eq!(out.status.code(), Some(POLICY_KILL), "loopback gate-mptcp");
}

#[test]
fn argument_checks_read_int_arguments_as_the_kernel_does() {
    // High bits set above a forbidden value: the kernel reads the low 32 bits, so must the
    // filter (a 64-bit comparison would let `0x1_0000_001f` pass the "never SIGSYS" rule).
    for rule in [
        "sigaction",
        "ioctl",
        "fcntl",
        "socket-domain",
        "socket-type",
        "socket-protocol",
        "socketpair",
        "timer-clock",
        "arch-prctl",
        "mknod",
        "chmod-setuid",
        "mkdir-setgid",
        "sendto-fastopen",
        "sendmsg-fastopen",
        "setsockopt",
        "clone",
    ] {
        let out = attempt(&["gate-high", rule]);
        assert_eq!(
            out.status.code(),
            Some(POLICY_KILL),
            "{rule}: stdout {} stderr {}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

#[test]
fn allowed_int_arguments_with_high_bits_pass_as_the_kernel_reads_them() {
    // The other half of the check above: a 64-bit comparison would also kill these.
    for rule in ["fcntl", "socket", "ioctl"] {
        answered(&attempt(&["gate-high-allowed", rule]), "SUCCEEDED");
    }
}

#[test]
fn set_id_bits_are_never_granted() {
    // In a writable bind of a box started by root, the box's files are root's on the host: a
    // set-user-ID file there would be a root shell for every local user.
    refused_with(&["chmod-setuid", "/w/tool"], "EPERM");
    killed(&["gate-chmod-setuid"]);
}

/// Runs the escape program in a box with the default root.
fn in_default_root(args: &[&str]) -> Output {
    escape_with(&[], args)
}

#[test]
fn the_default_root_holds_no_host_secrets_and_no_home() {
    // Through the library OS...
    for path in [
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/sudoers",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/machine-id",
        "/etc/ssl/private",
        "/root/.bashrc",
        "/home",
        "/var/log",
        "/run",
        "/srv",
        "/opt",
    ] {
        answered(&in_default_root(&["open", path]), "errno=ENOENT");
    }
    // ...and at the gate, from every descriptor the box holds, with and without `..`.
    for path in [
        "etc/shadow",
        "../etc/shadow",
        "../../../etc/gshadow",
        "root/.bashrc",
    ] {
        answered(
            &in_default_root(&["gate-open-from-descriptors", path]),
            "errno=ENOENT",
        );
    }
    // The system directories are there, read-only by the kernel.
    answered(&in_default_root(&["open", "/usr/bin/env"]), "SUCCEEDED");
    answered(
        &in_default_root(&["open-write", "/usr/bin/env"]),
        "errno=EROFS",
    );
    // At the gate Landlock answers first (the mount is read-only for the kernel too).
    answered(
        &in_default_root(&["gate-open-write-from-descriptors", "bin/env"]),
        "errno=EACCES",
    );
    answered(&in_default_root(&["create", "/etc/new"]), "errno=EROFS");
    // Its passwd describes the box's users, not the host's.
    let out = picobox()
        .args(["run", "--", "cat", "/etc/passwd"])
        .output()
        .unwrap();
    let passwd = text(&out.stdout);
    assert!(passwd.starts_with("root:x:0:0:root:/root:"), "{passwd}");
    let host_users = std::fs::read_to_string("/etc/passwd").unwrap();
    let host_only = host_users
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|name| !["root", "nobody"].contains(name))
        .find(|name| passwd.contains(&format!("{name}:")));
    assert_eq!(host_only, None, "{passwd}");
}

#[test]
fn hard_links_stay_inside_one_writable_mount() {
    // link() reaches the host as linkat without flags: the kernel refuses links across
    // mounts, and a read-only mount cannot receive one.
    refused_with(&["link", "/ro/file", "/w/stolen"], "EXDEV");
    refused_with(&["link", "/w/abs-link", "/ro/new"], "EROFS");
    refused_with(&["gate-link-from-descriptors", "file", "stolen"], "EXDEV");
}

#[test]
fn system_v_ipc_of_the_host_is_out_of_reach_and_a_box_leaves_none_behind() {
    // The box has an IPC namespace of its own: a segment and a queue the host made under a
    // key are not found from the box, and what a box leaves is gone with it.
    const HOST_KEY: i32 = 0x5eed;
    const LEFT_KEY: i32 = 0x5eee;
    // SAFETY: shmget and msgget take plain integers; the objects are removed below.
    let (shm, queue) = unsafe {
        (
            libc::shmget(HOST_KEY, 4096, libc::IPC_CREAT | 0o600),
            libc::msgget(HOST_KEY, libc::IPC_CREAT | 0o600),
        )
    };
    assert!(shm >= 0 && queue >= 0, "the host's objects");
    let prog = guest("sysv");
    let dir = scratch("sysv-escape");
    let probe = boxed(&dir, &prog, &["probe"]);
    let left = boxed(&dir, &prog, &["leave"]);
    // SAFETY: as above; IPC_RMID with no buffer, and a lookup of a key.
    let after = unsafe {
        libc::shmctl(shm, libc::IPC_RMID, std::ptr::null_mut());
        libc::msgctl(queue, libc::IPC_RMID, std::ptr::null_mut());
        libc::shmget(LEFT_KEY, 0, 0)
    };
    assert_eq!(
        text(&probe.stdout),
        "host's segment: No such file or directory\nhost's queue: No such file or directory\n",
        "{}",
        text(&probe.stderr)
    );
    assert_eq!(text(&left.stdout), "left: ok\n", "{}", text(&left.stderr));
    assert_eq!(after, -1, "the box's segment outlived the box on the host");
}

#[test]
fn a_watch_needs_the_box_s_own_read_permission_and_a_gate_call_names_no_path() {
    // The monitor makes each inotify watch (no path reaches the box's mounts); it must make it
    // as the box, not with its own identity or capabilities.
    refused_with(&["open", "/ro/secret"], "EACCES");
    refused_with(&["watch", "/ro/secret"], "EACCES");
    refused_with(&["watch", "/etc/passwd"], "ENOENT");
    // At the gate, the path argument is a descriptor number: a pointer to a path is none.
    refused_with(&["gate-watch", "/ro/file"], "EBADF");
    refused_with(&["gate-watch-not-a-watcher"], "EINVAL");
}

#[test]
fn a_pidfd_names_only_the_box_s_processes_and_grants_nothing_at_the_gate() {
    // This test's own process is outside the box's pid namespace: no pid names it there.
    let me = std::process::id().to_string();
    refused_with(&["pidfd-open", &me], "ESRCH");
    // At the gate a pidfd may be opened (of the box's own processes, even its reaper), but
    // neither taking a descriptor through it nor signalling through it is allowed.
    killed(&["gate-pidfd-getfd"]);
    killed(&["gate-pidfd-signal"]);
}

#[test]
fn the_host_s_keys_are_out_of_reach() {
    // A key in this user's keyring on the host: the box has keyrings of its own, and the
    // host's keyctl is not allowed at the gate.
    let description = c"picobox-escape-host-key";
    // SAFETY: add_key takes C strings, a payload of the given length and a keyring id.
    let serial = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            c"user".as_ptr(),
            description.as_ptr(),
            c"secret".as_ptr(),
            6usize,
            -4i64, // KEY_SPEC_USER_KEYRING
        )
    };
    assert!(serial > 0, "the host's key");
    let describe = attempt(&["key-describe", &serial.to_string()]);
    let request = attempt(&["key-request", "picobox-escape-host-key"]);
    let search = attempt(&["key-search", "picobox-escape-host-key"]);
    // SAFETY: keyctl(KEYCTL_INVALIDATE, serial) takes integers.
    unsafe { libc::syscall(libc::SYS_keyctl, 21i64, serial) };
    answered(&describe, "errno=ENOKEY");
    answered(&request, "errno=ENOKEY");
    answered(&search, "errno=ENOKEY");
    killed(&["gate-keyctl"]);
}

#[test]
fn posix_message_queues_of_the_host_are_out_of_reach_and_a_box_leaves_none_behind() {
    // Queue names belong to the IPC namespace: the box's own.
    let host_name = c"/picobox-escape-host-queue";
    let left_name = c"/picobox-escape-left-queue";
    // SAFETY: mq_open and mq_unlink take a C string and integers; the queue is removed below.
    let host_queue = unsafe {
        libc::mq_open(
            host_name.as_ptr(),
            libc::O_RDWR | libc::O_CREAT,
            0o666,
            std::ptr::null_mut::<libc::mq_attr>(),
        )
    };
    assert!(host_queue >= 0, "the host's queue");
    let probe = attempt(&["mq-open", "picobox-escape-host-queue"]);
    let left = attempt(&["mq-leave", "picobox-escape-left-queue"]);
    // SAFETY: as above.
    let after = unsafe {
        libc::mq_close(host_queue);
        libc::mq_unlink(host_name.as_ptr());
        libc::mq_open(left_name.as_ptr(), libc::O_RDWR)
    };
    assert_eq!(
        text(&probe.stdout).trim(),
        "errno=ENOENT",
        "{}",
        text(&probe.stderr)
    );
    assert_eq!(
        text(&left.stdout).trim(),
        "SUCCEEDED",
        "{}",
        text(&left.stderr)
    );
    assert_eq!(after, -1, "the box's queue outlived the box on the host");
}

#[test]
fn system_v_shared_memory_is_bounded_by_the_box_s_memory() {
    let prog = guest("sysv");
    let dir = scratch("sysv-big");
    let out = boxed_with(&["--memory", "256M"], &dir, &prog, &["big"]);
    assert_eq!(
        text(&out.stdout),
        "1 GiB: Invalid argument\n",
        "{}",
        text(&out.stderr)
    );
}
