//! Bad input: a one-line error naming the problem and a non-zero exit, never a panic.

use crate::support::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    picobox().args(args).output().unwrap()
}

/// Runs the host file `path` in a box that shows it at the same path.
fn run_file(path: &str) -> Output {
    picobox()
        .arg("run")
        .args(show(Path::new(path)))
        .arg("--")
        .arg(path)
        .output()
        .unwrap()
}

fn fails_with(out: &Output, code: i32, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

fn program_file(name: &str, bytes: &[u8]) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch(&format!("bad-program-{name}"));
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_str().unwrap().to_string()
}

/// A valid static executable to corrupt.
fn valid_elf() -> Vec<u8> {
    std::fs::read(guest("escape")).unwrap()
}

fn phdr(elf: &[u8], i: usize) -> usize {
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    phoff + 56 * i
}

fn load_indices(elf: &[u8]) -> Vec<usize> {
    let phnum = u16::from_le_bytes([elf[56], elf[57]]) as usize;
    (0..phnum)
        .filter(|i| {
            u32::from_le_bytes(elf[phdr(elf, *i)..phdr(elf, *i) + 4].try_into().unwrap()) == 1
        })
        .collect()
}

#[test]
fn missing_program() {
    fails_with(&run(&["run", "/no/such/program"]), 127, "no such file");
    fails_with(&run(&["run", "no-such-command-anywhere"]), 127, "not found");
}

#[test]
fn directory_as_program() {
    fails_with(&run(&["run", "/tmp"]), 126, "is a directory");
}

#[test]
fn non_elf_program() {
    let p = program_file("text", b"echo hi\n");
    fails_with(&run_file(&p), 126, "not an ELF executable");
    let p = program_file("empty", b"");
    fails_with(&run_file(&p), 126, "too short");
    let p = program_file("no-exec-bit", b"#!/bin/sh\necho hi\n");
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    fails_with(&run_file(&p), 126, "permission denied");
}

#[test]
fn a_script_runs_through_its_interpreter_in_the_box() {
    let p = program_file("script.sh", b"#!/bin/sh\necho hi from $0\n");
    let out = run_file(&p);
    assert_eq!(
        text(&out.stdout),
        format!("hi from {p}\n"),
        "{}",
        text(&out.stderr)
    );
    let p = program_file("bad-interpreter", b"#!/no/such/shell\n");
    fails_with(
        &run_file(&p),
        127,
        "/no/such/shell: no such file in the box",
    );
}

#[test]
fn truncated_elf() {
    let elf = valid_elf();
    let p = program_file("truncated", &elf[..200]);
    fails_with(&run_file(&p), 126, "beyond the end of the file");
}

#[test]
fn elf_32_bit() {
    let mut elf = valid_elf();
    elf[4] = 1; // ELFCLASS32
    let p = program_file("elf32", &elf);
    fails_with(&run_file(&p), 126, "32-bit");
}

/// A copy of Debian's dynamic `true` whose `PT_INTERP` names `interpreter` instead.
fn with_interpreter(name: &str, interpreter: &str) -> String {
    let mut elf = std::fs::read("/usr/bin/true").unwrap();
    let at = elf
        .windows(28)
        .position(|w| w == b"/lib64/ld-linux-x86-64.so.2\0")
        .expect("Debian's true names glibc's loader");
    assert!(interpreter.len() < 28);
    elf[at..at + 28].fill(0);
    elf[at..at + interpreter.len()].copy_from_slice(interpreter.as_bytes());
    program_file(name, &elf)
}

#[test]
fn a_dynamic_program_whose_loader_is_missing_or_bad_is_refused_clearly() {
    // No /lib64 in an empty root: the loader is not in the box.
    let out = picobox()
        .args([
            "run",
            "--empty-root",
            "--ro-bind",
            "/usr/bin/true",
            "/true",
            "--",
            "/true",
        ])
        .output()
        .unwrap();
    fails_with(
        &out,
        127,
        "/true: its dynamic loader /lib64/ld-linux-x86-64.so.2: no such file in the box",
    );
    // A loader named by a path that leads out of the box through the host's /proc.
    let p = with_interpreter("via-proc", "/proc/1/root/lib64/ld.so");
    fails_with(
        &run_file(&p),
        126,
        "its dynamic loader /proc/1/root/lib64/ld.so: permission denied",
    );
    // A truncated loader, and one that is no ELF file.
    let dir = Path::new(&p).parent().unwrap().to_path_buf();
    let loader = std::fs::read("/lib64/ld-linux-x86-64.so.2").unwrap();
    std::fs::write(dir.join("short.so"), &loader[..300]).unwrap();
    std::fs::write(dir.join("text.so"), b"not a loader").unwrap();
    for (lib, why) in [
        (
            "short.so",
            "malformed program headers: table lies beyond the end of the file",
        ),
        ("text.so", "not an ELF executable"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(lib), std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = with_interpreter(&format!("loader-{lib}"), &format!("/w/{lib}"));
        std::fs::copy(dir.join(lib), Path::new(&p).parent().unwrap().join(lib)).unwrap();
        let out = picobox()
            .args([
                "run",
                "--ro-bind",
                Path::new(&p).parent().unwrap().to_str().unwrap(),
                "/w",
            ])
            .args([
                "--",
                &format!(
                    "/w/{}",
                    Path::new(&p).file_name().unwrap().to_str().unwrap()
                ),
            ])
            .output()
            .unwrap();
        fails_with(&out, 126, &format!("its dynamic loader /w/{lib}: {why}"));
    }
}

#[test]
fn a_broken_shared_library_gets_the_loaders_own_error_as_natively() {
    // glibc's loader reports a library it cannot load; the box gives the same answer.
    let dir = scratch("broken-library");
    let libc = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").unwrap();
    std::fs::create_dir_all(dir.join("short")).unwrap();
    std::fs::write(dir.join("short/libc.so.6"), &libc[..4000]).unwrap();
    let mut bad_segment = libc.clone();
    let phoff = u64::from_le_bytes(bad_segment[32..40].try_into().unwrap()) as usize;
    let phnum = u16::from_le_bytes([bad_segment[56], bad_segment[57]]) as usize;
    let load = (0..phnum)
        .map(|i| phoff + 56 * i)
        .find(|at| bad_segment[*at..*at + 4] == [1, 0, 0, 0])
        .unwrap();
    // p_align of the first PT_LOAD: not a power of two.
    bad_segment[load + 48..load + 56].copy_from_slice(&3u64.to_le_bytes());
    bad_segment[load + 8..load + 16].copy_from_slice(&0x123u64.to_le_bytes());
    std::fs::create_dir_all(dir.join("segment")).unwrap();
    std::fs::write(dir.join("segment/libc.so.6"), &bad_segment).unwrap();
    for case in ["short", "segment"] {
        let lib_dir = dir.join(case);
        let native = std::process::Command::new("/usr/bin/true")
            .env_clear()
            .env("LD_LIBRARY_PATH", &lib_dir)
            .output()
            .unwrap();
        let boxed = picobox()
            .arg("run")
            .args(show(&lib_dir))
            .args([
                "--setenv",
                "LD_LIBRARY_PATH",
                lib_dir.to_str().unwrap(),
                "--",
                "/usr/bin/true",
            ])
            .output()
            .unwrap();
        // The truncated library faults natively (SIGBUS past its end), the other is refused.
        let native_status = native
            .status
            .code()
            .or(native.status.signal().map(|s| 128 + s));
        assert!(
            matches!(native_status, Some(127 | 135)),
            "{case}: {native_status:?}"
        );
        assert_eq!(
            boxed.status.code(),
            native_status,
            "{case}: {}",
            text(&boxed.stderr)
        );
        assert_eq!(text(&boxed.stderr), text(&native.stderr), "{case}");
    }
}

#[test]
fn huge_memsz() {
    let mut elf = valid_elf();
    let at = phdr(&elf, load_indices(&elf)[0]) + 40;
    elf[at..at + 8].copy_from_slice(&0xffff_ffff_ffff_0000u64.to_le_bytes());
    let p = program_file("huge", &elf);
    fails_with(&run_file(&p), 126, "exceeds the user address space");
}

#[test]
fn overlapping_segments() {
    let mut elf = valid_elf();
    let loads = load_indices(&elf);
    let first_vaddr = phdr(&elf, loads[0]) + 16;
    let second_vaddr = phdr(&elf, loads[1]) + 16;
    let v: [u8; 8] = elf[first_vaddr..first_vaddr + 8].try_into().unwrap();
    elf[second_vaddr..second_vaddr + 8].copy_from_slice(&v);
    let p = program_file("overlap", &elf);
    fails_with(&run_file(&p), 126, "segment");
}

#[test]
fn entry_outside_segments() {
    let mut elf = valid_elf();
    elf[24..32].copy_from_slice(&0x10u64.to_le_bytes());
    let p = program_file("entry", &elf);
    fails_with(&run_file(&p), 126, "entry point 0x10");
}

#[test]
fn malformed_manifest() {
    let dir = scratch("bad-manifest");
    let m = dir.join("m.toml");
    std::fs::write(&m, "progrm = \"/bin/true\"\n").unwrap();
    fails_with(
        &run(&["run", "--manifest", m.to_str().unwrap()]),
        125,
        "unknown field `progrm`",
    );
    std::fs::write(&m, "program = [1\n").unwrap();
    fails_with(
        &run(&["run", "--manifest", m.to_str().unwrap()]),
        125,
        "invalid manifest",
    );
    fails_with(
        &run(&["run", "--manifest", "/no/such.toml"]),
        125,
        "cannot read manifest",
    );
}

#[test]
fn manifest_runs_a_program() {
    let dir = scratch("good-manifest");
    let m = dir.join("m.toml");
    std::fs::write(
        &m,
        format!("program = \"{}\"\nargs = [\"echo\", \"from manifest\"]\n[[mount]]\ntype = \"ro-bind\"\nsource = \"/bin\"\ntarget = \"/bin\"\n", busybox()),
    )
    .unwrap();
    let out = run(&["run", "--manifest", m.to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        "from manifest\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn every_flag_combines_with_a_manifest() {
    let dir = scratch("manifest-and-flags");
    let m = dir.join("m.toml");
    std::fs::write(
        &m,
        format!(
            "program = \"{}\"\nargs = [\"sh\", \"-c\", \"echo ok > /t/f && cat /t/f\"]\n",
            busybox()
        ),
    )
    .unwrap();
    // Each value-taking flag, which picobox-manifest once took for the program.
    for flags in [
        &["--pids", "20"][..],
        &["--memory", "64M"],
        &["--net", "loopback"],
        &["--allow-connect", "tcp:127.0.0.1:9"],
        &["--size", "1M"],
    ] {
        let mut args = vec!["run", "--manifest", m.to_str().unwrap()];
        args.extend(flags);
        args.extend(["--tmpfs", "/t"]);
        let out = run(&args);
        assert_eq!(
            text(&out.stdout),
            "ok\n",
            "{flags:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn manifest_errors_to_a_closed_pipe_end_with_the_documented_status() {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into the array it is given, of the right size.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fds[0] is the read end just made, used nowhere else.
    unsafe { libc::close(fds[0]) };
    // SAFETY: fds[1] is a descriptor this test just made and owns nowhere else.
    let write_end = unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[1]) };
    let status = picobox()
        .args(["run", "--manifest", "/nonexistent/m.toml"])
        .stderr(write_end)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(125));
}

#[test]
fn malformed_flags() {
    fails_with(
        &run(&["run", "--bind", "/tmp"]),
        125,
        "--bind needs 2 arguments",
    );
    fails_with(
        &run(&["run", "--nope", "x"]),
        125,
        "unknown option '--nope'",
    );
    fails_with(&run(&["frobnicate"]), 125, "unknown command");
    fails_with(
        &run(&[
            "run",
            "--ro-bind",
            "/no/such/dir",
            "/x",
            "--",
            busybox(),
            "true",
        ]),
        125,
        "/no/such/dir",
    );
    fails_with(
        &run(&["run", "--root", "relative", "--", "true"]),
        125,
        "--root 'relative' must be an absolute path",
    );
    fails_with(
        &run(&["run", "--symlink", "x", "rel", "--", "true"]),
        125,
        "--symlink target 'rel' must be an absolute path",
    );
    fails_with(&run(&["syscalls", "extra"]), 125, "takes no arguments");
}

#[test]
fn forged_signal_frames_end_the_program_as_on_linux() {
    use std::os::unix::process::ExitStatusExt;
    let prog = guest("escape");
    for case in ["sigreturn-garbage", "sigreturn-zero-frame"] {
        let native = std::process::Command::new(&prog)
            .arg(case)
            .output()
            .unwrap();
        assert_eq!(native.status.signal(), Some(11), "{case} natively");
        let boxed = picobox()
            .arg("run")
            .args(show(&prog))
            .args(["--", prog.to_str().unwrap(), case])
            .output()
            .unwrap();
        assert_eq!(
            boxed.status.code(),
            Some(128 + 11),
            "{case}: {}",
            text(&boxed.stderr)
        );
        assert!(
            !text(&boxed.stderr).contains("internal error"),
            "{}",
            text(&boxed.stderr)
        );
    }
}

#[test]
fn help_and_syscall_table() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("picobox run --help"));
    for (command, says) in [
        ("run", "--ro-bind SRC DST"),
        ("syscalls", "One line per system call"),
        ("abi", "One line per call of the host ABI"),
    ] {
        let out = run(&[command, "--help"]);
        assert!(out.status.success(), "{command}");
        assert!(text(&out.stdout).contains(says), "{command}");
    }
    let out = run(&["syscalls"]);
    let t = text(&out.stdout);
    assert!(t.contains("  0  read                     full"), "{t}");
    assert!(t.contains("103  syslog                   ENOSYS"), "{t}");
}

#[test]
fn trace_reports_an_unsupported_call_once() {
    let prog = guest("escape");
    let out = picobox()
        .args(["run", "--trace"])
        .args(show(&prog))
        .args(["--", prog.to_str().unwrap(), "syslog-twice"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), "errno=ENOSYS");
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("unsupported syscall syslog (103)").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("write(0x1"),
        "every supported call is traced: {err}"
    );
}

#[test]
fn hostile_system_call_arguments_get_errors_not_crashes() {
    // Garbage pointers, huge lengths, bad descriptors and random flags to ~100 system calls:
    // the library OS answers each with an errno and the process keeps working. The same calls
    // run natively first (as an unprivileged user, since the paths are random), so that a call
    // that would end or block any process fails the test there rather than counting as a pass.
    let prog = guest("sysfuzz");
    let expected = "survived 5000 calls (most refused), still working: 1\n";
    for seed in ["1", "2", "3", "4"] {
        let (mut native, open_dir) = native_as_nobody("sysfuzz", &prog);
        let native_out = native.args([seed, "5000"]).output().unwrap();
        drop(open_dir);
        assert_eq!(
            text(&native_out.stdout),
            expected,
            "native, seed {seed}: {}",
            text(&native_out.stderr)
        );
        let out = boxed_in_scratch(&format!("sysfuzz-boxed-{seed}"), &prog, &[seed, "5000"]);
        assert_eq!(
            text(&out.stdout),
            expected,
            "boxed, seed {seed}: {}",
            text(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "seed {seed}");
    }
}

#[test]
fn signal_frames_at_the_edges_of_the_address_space_end_as_on_linux() {
    // Regression: an alternate stack ending beyond the address space made the library OS's
    // frame arithmetic overflow (a panic, exit 125); Linux gives SIGSEGV.
    for case in ["altstack-top", "altstack-wrap", "tiny-rsp"] {
        let dir = scratch(&format!("edges-{case}"));
        let prog = guest("edges");
        let native_out = native(&dir, &prog, &[case]);
        assert_eq!(native_out.status.signal(), Some(11), "{case} natively");
        let boxed_out = boxed(&dir, &prog, &[case]);
        assert_eq!(
            boxed_out.status.code(),
            Some(128 + 11),
            "{case}: {}",
            text(&boxed_out.stderr)
        );
        assert_eq!(text(&boxed_out.stdout), text(&native_out.stdout), "{case}");
    }
}

#[test]
fn the_library_os_keeps_the_program_out_of_its_own_memory() {
    // Regression: mmap(MAP_FIXED), munmap, mprotect, madvise or read() over the runtime's code
    // took the library OS down (SIGSEGV); Linux refuses such calls on the kernel's addresses.
    let dir = scratch("selfprotect");
    let out = boxed(&dir, &guest("selfprotect"), &[]);
    assert_eq!(
        text(&out.stdout),
        "mmap MAP_FIXED over it: ENOMEM\nmunmap: EINVAL\nmprotect: ENOMEM\n\
         madvise DONTNEED: ENOMEM\nmremap: EFAULT\nread into it: EFAULT\nreadv into it: EFAULT\n\
         pipe read into it: EFAULT\na range running into it: ENOMEM\nstill working: yes\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn mappings_the_host_places_are_the_program_s_to_unmap() {
    // Regression: the linker can leave a page between two of the runtime's segments that the
    // kernel does not map; a one-page mmap landed there, inside the runtime's range, and
    // munmap and mprotect of it were refused (EINVAL, ENOMEM). The runtime fills such holes.
    let dir = scratch("smallmaps");
    let program = guest("smallmaps");
    let native = native(&dir, &program, &[]);
    assert_eq!(
        text(&native.stdout),
        "mapped 512: map failed 0, protect failed 0, unmap failed 0\n"
    );
    let out = boxed(&dir, &program, &[]);
    assert_same("smallmaps", &native, &out);
}

#[test]
fn a_writable_bind_that_cannot_be_idmapped_is_refused_clearly() {
    // A box started by root writes its --bind mounts as root only through an idmapped mount;
    // a file system without idmapping (here /proc) is refused with a message, not a panic.
    assert!(is_root(), "this test needs root, as CI runs it");
    let out = run(&["run", "--bind", "/proc/sys", "/x", "--", busybox(), "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.contains("--bind /proc/sys") && err.contains("idmapped"),
        "{err}"
    );
}

#[test]
fn memory_signal_and_exec_calls_at_the_edges_answer_as_native() {
    // The fuzzer's "edges" mode: mmap, munmap, mprotect, mremap, madvise, msync, mincore,
    // brk, signal actions, masks and stacks, execve and execveat with addresses and lengths
    // whose answers do not depend on the layout. Per call, the errno counts must be Linux's.
    let prog = guest("sysfuzz");
    for seed in ["1", "2", "5", "9"] {
        let (mut native, open_dir) = native_as_nobody("sysfuzz-edges", &prog);
        let native_out = native.args(["edges", seed, "5000"]).output().unwrap();
        drop(open_dir);
        assert!(native_out.status.success(), "native, seed {seed}");
        let boxed_out = boxed_in_scratch(
            &format!("sysfuzz-edges-{seed}"),
            &prog,
            &["edges", seed, "5000"],
        );
        assert_eq!(
            boxed_out.status.code(),
            Some(0),
            "seed {seed}: {}",
            text(&boxed_out.stderr)
        );
        assert_eq!(
            text(&boxed_out.stdout),
            text(&native_out.stdout),
            "seed {seed}: errno counts per call differ from Linux's"
        );
        assert_eq!(text(&native_out.stdout).lines().count(), 14);
    }
}
