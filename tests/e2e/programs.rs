//! C programs written for these tests, built with `gcc -static`, native vs boxed.

use crate::support::*;
use std::process::Command;

#[test]
fn file_system_operations_match_native() {
    let prog = guest("fsops");
    let n = scratch("fsops-native");
    let b = scratch("fsops-boxed");
    let native_out = native(&n, &prog, &[]);
    assert!(
        native_out.status.success(),
        "native run failed: {}",
        text(&native_out.stderr)
    );
    let boxed_out = boxed(&b, &prog, &[]);
    assert_same("fsops", &native_out, &boxed_out);
}

#[test]
fn exit_status_and_signals_are_reported() {
    let dir = scratch("status");
    let out = boxed(
        &dir,
        std::path::Path::new(busybox()),
        &["sh", "-c", "exit 42"],
    );
    assert_eq!(out.status.code(), Some(42));
    let out = boxed(
        &dir,
        std::path::Path::new(busybox()),
        &["sh", "-c", "kill -SEGV $$"],
    );
    assert_eq!(out.status.code(), Some(128 + 11), "{}", text(&out.stderr));
}

#[test]
fn program_given_by_relative_path_knows_its_absolute_location() {
    // Static glibc asserts that readlink("/proc/self/exe") is absolute.
    let prog = guest("procsig");
    let dir = prog.parent().unwrap();
    let out = picobox()
        .args([
            "run",
            "--ro-bind",
            dir.to_str().unwrap(),
            "/g",
            "--chdir",
            "/g",
            "./procsig",
        ])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).starts_with("sigaltstack 0\n"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("Assertion"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn shared_memory_eventfd_fifo_and_readiness_match_native() {
    assert_matches_native("ipc", &[], &guest("ipc"), &[]);
    // The file written through a shared mapping holds the same bytes.
    assert_eq!(
        std::fs::read(scratch_path("ipc-boxed").join("mapped.txt")).unwrap(),
        std::fs::read(scratch_path("ipc-native").join("mapped.txt")).unwrap()
    );
}

#[test]
fn pthreads_under_load_match_native() {
    let prog = guest_with("threads", &["-pthread"]);
    for run in 0..3 {
        assert_matches_native(&format!("threads-{run}"), &[], &prog, &[]);
    }
}

#[test]
fn musl_threads_match_native() {
    // musl's pthread_create passes CLONE_DETACHED, which Linux ignores: so must picobox.
    // Repeated: a sleep interrupted at the gate is restarted by the kernel with
    // restart_syscall, which the filter once refused (the box was killed now and then).
    let prog = musl_guest("threads", &["-pthread"]);
    for run in 0..6 {
        assert_matches_native(&format!("musl-threads-{run}"), &[], &prog, &[]);
    }
}

#[test]
fn proc_describes_the_box_not_the_host() {
    let script = "grep -E '^(Name|Pid|PPid)' /proc/self/status; readlink /proc/self/exe; \
                  tr '\\0' ' ' < /proc/self/cmdline; echo; ls /proc/self/fd | sort -n | head -3; \
                  cat /proc/sys/kernel/hostname; grep -c ^processor /proc/cpuinfo";
    let out = picobox()
        .args(["run", "--", busybox(), "sh", "-c", script])
        .output()
        .unwrap();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // `grep` runs as the shell's child (pid 3, parent 2: pid 1 is picobox's reaper), named by busybox's PR_SET_NAME; `tr`
    // runs inside the shell, so the command line is the shell's.
    assert_eq!(
        text(&out.stdout),
        // /proc/self/exe names the file with every link resolved (merged /usr: /usr/bin/busybox).
        format!(
            "Name:\tgrep\nPid:\t3\nPPid:\t2\n{}\n/bin/busybox sh -c {script} \n0\n1\n2\npicobox\n{cpus}\n",
            std::fs::canonicalize(busybox()).unwrap().display()
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn only_signals_the_program_sees_interrupt_its_blocking_calls() {
    // A child's exit, an ignored or a blocked signal leave read, poll, select and nanosleep
    // waiting, as on Linux (the host's wait is interrupted by every host signal).
    assert_matches_native("interrupts", &[], &guest("interrupts"), &[]);
}

#[test]
fn timer_files_and_signal_files_match_native() {
    // Read directly, through poll, select and epoll, across fork, and their errors.
    assert_matches_native("eventfiles", &[], &guest("eventfiles"), &[]);
}

#[test]
fn pipe_capacities_splice_and_io_owners_match_native() {
    // F_GETPIPE_SZ and F_SETPIPE_SZ (the kernel's bounds), splice between files and pipes
    // with and without offsets, vmsplice, tee, F_SETSIG and F_SETOWN_EX, and their errors.
    assert_matches_native("pipes", &[], &guest("pipes"), &[]);
}

#[test]
fn cancellation_stop_and_continue_altstack_and_epoll_loops_match_native() {
    let prog = guest_with("stopcancel", &["-pthread"]);
    assert_matches_native("stopcancel", &[], &prog, &[]);
}

#[test]
fn system_v_ipc_between_processes_matches_native() {
    // Shared memory written by a child, semaphores a child posts, a message queue by type,
    // and their errors, with the owners the box's processes see as theirs.
    assert_matches_native("sysv", &[], &guest("sysv"), &[]);
}

#[test]
fn timers_signal_waits_and_robust_mutexes_match_native() {
    assert_matches_native("timers", &[], &guest("timers"), &[]);
}

#[test]
fn execve_from_a_multithreaded_process_matches_native() {
    // The other threads wait on a condition variable, sleep, read a pipe and compute: each
    // must end, wherever it is, before the new program runs. glibc and musl.
    for prog in [
        guest_with("mtexec", &["-pthread"]),
        musl_guest("mtexec", &["-pthread"]),
    ] {
        for args in [&[][..], &["from-a-thread"][..]] {
            assert_matches_native("mtexec", &[], &prog, args);
        }
    }
}

#[test]
fn proc_shows_the_box_s_other_processes_as_native() {
    assert_matches_native("procpeers", &[], &guest("procpeers"), &[]);
}

#[test]
fn namespace_links_open_to_nsfs_files_as_native() {
    // /proc/self/ns links, equal within the box and to a child's; their files to stat,
    // fstatfs, read, seek and epoll; the NS_GET_* requests and setns with their refusals.
    assert_matches_native("namespaces", &[], &guest("namespaces"), &[]);
}

#[test]
fn remap_file_pages_maps_other_pages_of_the_file_as_native() {
    // A shared file mapping, shared anonymous memory and a System V segment given other pages
    // of their file; the offsets /proc/self/maps shows, a write reaching the file, a forked
    // child's view, and the refusals.
    assert_matches_native("remap", &[], &guest("remap"), &[]);
}

#[test]
fn proc_self_maps_shows_protections_and_files_as_native() {
    // Protections, sharing, heap and stack; a file mapping's name, offset, device and inode,
    // the program's own image, and PROCMAP_QUERY with its refusals.
    assert_matches_native("procmaps", &[], &guest("procmaps"), &[]);
}

#[test]
fn ptrace_of_children_matches_native() {
    // PTRACE_TRACEME and signal-delivery stops (handled, ignored, changed), the tracee's
    // memory, registers and siginfo, ATTACH and DETACH, KILL, debug registers as recorded,
    // and Linux's refusals.
    assert_matches_native("ptrace", &[], &guest("ptrace"), &[]);
}

#[test]
fn process_vm_readv_and_writev_reach_a_child_as_native() {
    // Pieces across several iovecs, a copy cut short by an unmapped page, a write the child
    // then sees, and Linux's refusals in its order.
    assert_matches_native("peermem", &[], &guest("peermem"), &[]);
}

#[test]
fn page_residency_smaps_and_pagemap_match_native() {
    // mincore after writes, mlock (its error for PROT_NONE), MLOCK_ONFAULT, MAP_POPULATE,
    // MAP_LOCKED, MADV_POPULATE_* and MADV_DONTNEED; smaps's sizes and pagemap's bits.
    assert_matches_native("residency", &[], &guest("residency"), &[]);
}

#[test]
fn memory_written_then_executed_works_as_native() {
    // JIT compilers' three ways: W+X at once, mprotect toggling, a shared file mapped twice.
    // W^X is not part of picobox's boundary (docs/threat-model.md), so each runs as on Linux.
    let prog = guest("jit");
    let n = scratch("jit-native");
    let b = scratch("jit-boxed");
    let native_out = native(&n, &prog, &[]);
    assert!(native_out.status.success(), "{}", text(&native_out.stderr));
    assert_eq!(
        text(&native_out.stdout),
        "rwx mapping: 42\ntoggled to rx: 42\ntoggled to rwx: 7\ndouble mapping: 9\n"
    );
    assert_same("jit", &native_out, &boxed(&b, &prog, &[]));
}

#[test]
fn record_locks_hold_between_processes_as_native() {
    // Two processes of a box contend for one file (regression: every lock used to be
    // granted, so two sqlite3 writers could both hold a write lock).
    assert_matches_native("locks", &[], &guest("locks"), &[]);
}

#[test]
fn execveat_and_fexecve_match_native() {
    let prog = guest("fexec");
    assert_matches_native("fexecve", &[], &prog, &[]);
    assert_matches_native("execveat-relative", &[], &prog, &["relative"]);
}

#[test]
fn statfs_reports_what_each_mount_is() {
    // Test harnesses check the file system of their temporary directory (statfs used to be
    // ENOSYS): a bind is its source's file system (read-only if --ro-bind), --tmpfs is tmpfs,
    // /proc is proc.
    let prog = guest("statfs");
    let dir = scratch("statfs");
    let native_type = |path: &str| {
        let out = native(&dir, &prog, &[path]);
        text(&out.stdout)
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .nth(2)
            .unwrap()
            .to_string()
    };
    let usr = native_type("/usr");
    let out = picobox()
        .args(["run", "--ro-bind", "/usr", "/usr", "--tmpfs", "/tmp"])
        .args(show(&prog))
        .arg("--")
        .arg(&prog)
        .args(["/usr", "/tmp", "/proc", "/nonexistent"])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        format!(
            "/usr: type {usr} read-only 1 names 255 fstatfs agrees 1\n\
             /tmp: type 0x1021994 read-only 0 names 255 fstatfs agrees 1\n\
             /proc: type 0x9fa0 read-only 0 names 255 fstatfs agrees 1\n\
             /nonexistent: No such file or directory\n\
             pipe: 0x50495045\nbad buffer: Bad address\nbad descriptor: Bad file descriptor\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_kernel_release_is_the_hosts_everywhere() {
    // Programs gate features on it: uname, /proc/sys/kernel/osrelease and /proc/version agree
    // with the host's (regression: uname said 6.1.0 on a 6.18 host).
    let host = std::process::Command::new("uname")
        .arg("-r")
        .output()
        .unwrap();
    let release = text(&host.stdout).trim().to_string();
    let dir = scratch("osrelease");
    let out = boxed(
        &dir,
        std::path::Path::new(busybox()),
        &[
            "sh",
            "-c",
            "uname -r; cat /proc/sys/kernel/osrelease; cut -d' ' -f3 /proc/version",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        format!("{release}\n{release}\n{release}\n"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn readlink_and_realpath_of_mount_points_match_native() {
    // Regression: readlink of a mount point said EBUSY, and glibc's realpath failed on it.
    // In the box, "/" and the scratch directory are mount points (binds of / and of it).
    let prog = guest("realpath");
    let dir = scratch("realpath");
    let d = dir.to_str().unwrap();
    let args = [d, "/", "/usr", "/tmp", "/proc", "/dev/null"];
    let native_out = native(&dir, &prog, &args);
    assert!(native_out.status.success());
    assert_same("realpath", &native_out, &boxed(&dir, &prog, &args));
}

#[test]
fn fault_signals_sent_by_processes_are_ordinary_signals() {
    // Regression: a SIGSEGV, SIGBUS, SIGILL or SIGFPE sent with kill() was taken for a crash
    // of the library OS (exit 125). And a frame that cannot be written becomes SIGSEGV.
    assert_matches_native("sentfaults", &[], &guest("sentfaults"), &[]);
}

#[test]
fn proc_describes_mounts_namespaces_and_limits_as_harnesses_read_them() {
    let dir = scratch("proc-harness");
    let out = picobox()
        .args(["run", "--empty-root", "--ro-bind", "/usr", "/usr"])
        .args(["--ro-bind", "/bin", "/bin", "--tmpfs", "/tmp", "--"])
        .args([busybox(), "sh", "-c"])
        .arg(
            "grep ' /usr ' /proc/mounts | cut -d' ' -f4; \
             grep ' /tmp ' /proc/self/mounts | cut -d' ' -f1,3; \
             grep -c ' - ' /proc/self/mountinfo; \
             [ \"$(readlink /proc/self/ns/mnt)\" = \"$(sh -c 'readlink /proc/self/ns/mnt')\" ] && echo same-mnt; \
             readlink /proc/self/ns/pid | cut -d: -f1; \
             cat /proc/sys/kernel/tainted /proc/sys/fs/pipe-max-size /proc/sys/vm/max_map_count; \
             cut -d' ' -f1-3 /proc/loadavg",
        )
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "ro,nosuid,nodev\ntmpfs tmpfs\n8\nsame-mnt\npid\n0\n1048576\n65530\n0.00 0.00 0.00\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn proc_shows_a_child_as_soon_as_fork_returns() {
    // Regression: /proc/<pid> of a child was missing until the child had run (issue 9).
    assert_matches_native("procchild", &[], &guest("procchild"), &[]);
}

#[test]
fn set_up_calls_of_test_suites_and_runtimes_match_native() {
    // Credentials, priorities and scheduling, memory locking, vectored I/O at offsets, the old
    // directory and time calls, fallocate, close_range, memfd_create, copy_file_range,
    // sendmmsg/recvmmsg, extended attributes, hard links, and the random devices' requests.
    assert_matches_native("compat", &[], &guest("compat"), &[]);
}

#[test]
fn refusals_come_in_linux_s_order() {
    // Socket arguments, address families, scheduling calls about other processes, the virtual
    // interval timer, read-only shared mappings, calls on files without a page cache, paths
    // through non-directories, link and name edge cases, SA_RESETHAND, recvmmsg's timeout and
    // execve without arguments, as LTP checks them.
    assert_matches_native("errnos", &[], &guest("errnos"), &[]);
}

#[test]
fn real_time_signals_queue_and_notices_name_the_program_s_descriptor() {
    // Real-time signals queue with their values (standard ones merge, the first kept), and
    // are delivered as Linux nests their frames; directory notices (F_NOTIFY) and lease breaks
    // (F_SETLEASE) come with F_SETSIG's signal and the descriptor the program asked through;
    // so do O_ASYNC notices of a ready pipe to the F_SETOWN owner.
    assert_matches_native("notices", &[], &guest("notices"), &[]);
}

#[test]
fn inotify_watches_report_what_linux_reports() {
    // Events with names and rename cookies, IN_IGNORED, IN_ONESHOT, IN_MASK_ADD and
    // IN_MASK_CREATE, IN_ONLYDIR, IN_DONT_FOLLOW, poll and FIONREAD, a watcher shared with a
    // child, a blocking read, and the refusals.
    assert_matches_native("inotify", &[], &guest("inotify"), &[]);
}

#[test]
fn asynchronous_io_completes_as_linux_reports_it() {
    // io_setup, io_submit (writes, reads, vectored, fsync, an eventfd told, RWF_NOWAIT on an
    // empty pipe), io_getevents and its timeout, io_cancel, io_destroy, the refusals, and a
    // forked child without the parent's contexts.
    assert_matches_native("aio", &[], &guest("aio"), &[]);
}

#[test]
fn process_descriptors_wait_and_signal_as_on_linux() {
    // pidfd_open, poll until the child ends, waitid(P_PIDFD) with and without PIDFD_NONBLOCK,
    // pidfd_send_signal (a siginfo, /proc/PID directories), clone(CLONE_PIDFD), fdinfo, and
    // the refusals.
    assert_matches_native("pidfd", &[], &guest("pidfd"), &[]);
}

#[test]
fn keys_and_keyrings_behave_as_linux_s() {
    // add_key, request_key and keyctl on a new session keyring: user, logon and keyring
    // types, updates, reads, searches, links, revocation, timeouts, invalidation, negative
    // keys, permissions and the refusals.
    assert_matches_native("keys", &[], &guest("keys"), &[]);
}

#[test]
fn proc_shows_a_child_sleeping_in_its_call_only_once_it_waits_there() {
    // Harnesses (LTP's TST_PROCESS_STATE_WAIT) wake a child once /proc says it sleeps: a
    // child in read, futex, msgrcv or nanosleep is 'S', a spinning one 'R', a new one 'R',
    // a thread in read 'S' in task/<tid>/stat; the futex wake finds the waiter.
    assert_matches_native(
        "procstate",
        &[],
        &guest_with("procstate", &["-pthread"]),
        &[],
    );
}

#[test]
fn proc_answers_what_test_suites_read_at_set_up() {
    // LTP and its kind read these: pid 1 (picobox's reaper), the kernel version uname gives,
    // the box's own System V IPC limits (shmmax is its --memory; msgmni queues of 16 KiB fill a
    // sixteenth of it), meminfo's swap fields, the
    // pipe page limits, the domain name, the box's System V objects (/proc/sysvipc).
    let out = picobox()
        .args(["run", "--memory", "256M", "--"])
        .args(["/bin/sh", "-c"])
        .arg(
            "cut -d' ' -f1-3 /proc/1/stat; cat /proc/1/comm;              [ \"$(cat /proc/sys/kernel/version)\" = \"$(uname -v)\" ] && echo same-version;              cat /proc/sys/kernel/shmmax /proc/sys/kernel/msgmni;              grep -c '^SwapTotal: *0 kB$' /proc/meminfo;              cat /proc/sys/fs/pipe-user-pages-soft; ls /proc | grep -c '^1$'; \
             cat /proc/sys/kernel/domainname; \
             ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null; ipcmk -S 2 >/dev/null; \
             wc -l < /proc/sysvipc/shm; wc -l < /proc/sysvipc/msg; wc -l < /proc/sysvipc/sem; \
             awk 'NR == 2 { print $4 }' /proc/sysvipc/shm",
        )
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "1 (picobox) S\npicobox\nsame-version\n268435456\n1024\n1\n16384\n1\n(none)\n2\n2\n2\n4096\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_crash_with_a_core_limit_leaves_a_core_file_a_debugger_reads() {
    // As Linux with core_pattern "core": WCOREDUMP for the parent, an ELF core in the working
    // directory with the registers, the auxiliary vector and the memory (the child's heap
    // marker is in it); nothing with the default limit of 0.
    let out = boxed_in_scratch("coredump", &guest("coredump"), &[]);
    assert_eq!(
        text(&out.stdout),
        "signal 11, core dumped 0\ncore file without a limit: 0\nsignal 11, core dumped 1\n\
         core file: 1\nsignal 6, core dumped 1\ncore file after abort: 1\n",
        "{}",
        text(&out.stderr)
    );
    let core = std::fs::read(scratch_path("coredump").join("core.segv")).unwrap();
    assert_eq!(&core[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([core[16], core[17]]), 4, "ET_CORE");
    assert_eq!(u16::from_le_bytes([core[18], core[19]]), 62, "EM_X86_64");
    let marker = b"picobox-core-marker-7f3a";
    assert!(
        core.windows(marker.len()).any(|w| w == marker),
        "the heap is in the core"
    );
    // binutils' reader (with gcc on every machine the tests run on) finds the notes.
    let notes = std::process::Command::new("readelf")
        .arg("-n")
        .arg(scratch_path("coredump").join("core.segv"))
        .output()
        .unwrap();
    let notes = text(&notes.stdout);
    for note in ["NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV"] {
        assert!(notes.contains(note), "{notes}");
    }
}

#[test]
fn pseudo_terminals_match_native() {
    // /dev/ptmx and openpty, a child's controlling terminal, line discipline and raw mode,
    // window sizes and SIGWINCH, ^C and TIOCSIG as SIGINT, the hangup, /dev/tty.
    assert_matches_native("pty", &[], &guest("pty"), &[]);
}

#[test]
fn the_program_is_pid_2_under_picobox_s_reaper_unless_as_pid_1() {
    // As under bubblewrap: pid 1 is picobox's reaper, so the program's children see their
    // parent's pid, not 1 (which harnesses read as "my parent died").
    let script = "echo \"$$ $PPID\"; sh -c 'echo \"child of $PPID\"'; true";
    let out = picobox()
        .args(["run", "--", busybox(), "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "2 1\nchild of 2\n",
        "{}",
        text(&out.stderr)
    );
    let out = picobox()
        .args(["run", "--as-pid-1", "--", busybox(), "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "1 0\nchild of 1\n",
        "{}",
        text(&out.stderr)
    );
    // The program's exit status and death by signal reach the monitor through the reaper.
    let status = |script: &str| {
        picobox()
            .args(["run", "--", busybox(), "sh", "-c", script])
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(status("exit 7"), Some(7));
    assert_eq!(status("kill -USR1 $$"), Some(128 + 10));
}

#[test]
fn orphans_are_reaped_by_pid_1() {
    // The orphan ends while the program still runs: pid 1 reaps it, so no zombie stays.
    let mut cmd = picobox();
    cmd.args(["run", "--", busybox(), "sh", "-c"])
        .arg("(sleep 0.2 &); echo started; sleep 3");
    let monitor = Running::start(cmd, "started\n");
    let started = std::time::Instant::now();
    // By then the orphan has been reparented to pid 1 (and, unloaded, has ended).
    std::thread::sleep(std::time::Duration::from_millis(800));
    let children = |pid: u32| -> Vec<u32> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks
                    .filter_map(|t| t.ok())
                    .flat_map(|t| {
                        std::fs::read_to_string(t.path().join("children"))
                            .unwrap_or_default()
                            .split_whitespace()
                            .filter_map(|c| c.parse().ok())
                            .collect::<Vec<u32>>()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let reaper = children(monitor.id());
    assert_eq!(
        reaper.len(),
        1,
        "the monitor's one child is the box's pid 1"
    );
    // The orphan sleeps 0.2 s; on a loaded machine it may take longer to end, but pid 1 must
    // have reaped it well before the program's own 3 s are up (a zombie would stay).
    let mut below = children(reaper[0]);
    while below.len() > 1 && started.elapsed() < std::time::Duration::from_millis(2500) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        below = children(reaper[0]);
    }
    assert_eq!(
        below.len(),
        1,
        "pid 1 has the program and no zombie: {below:?}"
    );
    let state = std::fs::read_to_string(format!("/proc/{}/stat", below[0])).unwrap();
    assert!(!state.contains(") Z "), "{state}");
}

#[test]
fn proc_lists_a_process_s_threads_and_keeps_another_s_pagemap_closed() {
    let out = picobox()
        .args(["run", "--", busybox(), "sh", "-c"])
        .arg(
            "ls /proc/self/task | wc -l; cat /proc/$$/task/$$/comm; \
             cat /proc/1/pagemap 2>&1 >/dev/null | grep -c 'Permission denied'",
        )
        .output()
        .unwrap();
    // The shell was started as busybox: that is its name, as natively.
    assert_eq!(
        text(&out.stdout),
        "1\nbusybox\n1\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn extended_attributes_and_holes_are_the_host_file_s() {
    // user.* attributes set, replaced, read, listed and removed by path and descriptor, with
    // Linux's refusals (flags, names, sizes, O_PATH, links, pipes, permissions);
    // SEEK_DATA and SEEK_HOLE on plain and sparse files, and on /proc.
    assert_matches_native("xattrs", &[], &guest("xattrs"), &[]);
}

/// Runs `cmd` with `input` on its standard input; its output, or a panic naming `what` if it
/// has not ended within 20 seconds (a hang is the failure looked for).
fn output_within_20_s(what: &str, mut cmd: Command, input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} hung; it printed {:?}, {:?}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn threads_waiting_in_fifo_opens_hold_up_no_other_thread_as_native() {
    // One thread waits in a FIFO's open for a writer, another in one for a reader, while the
    // main thread answers and then opens the other ends (the library OS once waited in the
    // open holding the lock every call takes, and the process stood still).
    let program = guest("fifowait");
    let input = b"ping\nwrite-a\nread-b\nping\n";
    let dir = scratch("fifowait-native");
    let mut native = Command::new(&program);
    native.arg(&dir);
    let native = output_within_20_s("the native run", native, input);
    let dir = program.parent().unwrap().to_str().unwrap().to_string();
    let mut boxed = picobox();
    boxed.args(["run", "--ro-bind", &dir, "/w", "--", "/w/fifowait", "/tmp"]);
    let boxed = output_within_20_s("the boxed run", boxed, input);
    assert_eq!(
        text(&native.stdout),
        "ready\npong 1\nreader got hi (2)\ndone a\nmain got yo (2)\npong 2\n"
    );
    assert_same("fifowait", &native, &boxed);
}
