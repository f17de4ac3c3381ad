//! Resource bounds: a fork bomb meets `--pids`, a memory hog meets `--memory`, and every
//! process of a box ends with the box or with its monitor.

use crate::support::*;
use std::process::Output;
use std::time::{Duration, Instant};

/// Runs the limits program in a box with `flags`, with `args`.
fn limited(flags: &[&str], args: &[&str]) -> Output {
    picobox()
        .arg("run")
        .args(flags)
        .args(show(&guest_with("limits", &["-pthread"])))
        .arg("--")
        .arg(guest_with("limits", &["-pthread"]))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn fork_bomb_is_stopped_by_the_pid_limit() {
    let out = limited(&["--pids", "20"], &["forks"]);
    // The box's first process counts against the limit too.
    assert_eq!(
        text(&out.stdout),
        "forks=19 errno=EAGAIN\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn thread_bomb_is_stopped_by_the_pid_limit() {
    let out = limited(&["--pids", "20"], &["threads"]);
    assert_eq!(text(&out.stdout), "threads=19\n", "{}", text(&out.stderr));
}

#[test]
fn default_pid_limit_is_finite() {
    let out = limited(&[], &["forks"]);
    assert_eq!(
        text(&out.stdout),
        "forks=511 errno=EAGAIN\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn memory_limit_is_enforced_by_the_kernel() {
    let out = limited(&["--memory", "64M"], &["eat", "256"]);
    // The kernel's OOM killer ends the box: SIGKILL, reported as 128 + 9.
    assert_eq!(
        out.status.code(),
        Some(137),
        "{} {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = limited(&["--memory", "64M"], &["eat", "16"]);
    assert_eq!(text(&out.stdout), "ate 16 MiB\n");
}

/// Waits up to five seconds for `done` to hold.
fn wait_until(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(marker))
        .count()
}

#[test]
fn killing_the_monitor_ends_every_process_of_the_box() {
    let marker = "31.4159";
    let mut monitor = picobox()
        .args([
            "run",
            "--",
            busybox(),
            "sh",
            "-c",
            &format!("sleep {marker} & sleep {marker} & sleep {marker}"),
        ])
        .spawn()
        .unwrap();
    // Box processes are forks of the monitor: their host command line is the monitor's, so
    // the marker finds the monitor, the box's pid 1 (picobox's reaper) and the three sleeps
    // (the shell execs the last one).
    wait_until(|| processes_with(marker) >= 5);
    assert_eq!(processes_with(marker), 5, "the box's sleeps did not start");
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    wait_until(|| processes_with(marker) == 0);
    assert_eq!(
        processes_with(marker),
        0,
        "processes of the box outlived its monitor"
    );
}

/// Memory the host's tmpfs and shared memory hold (`Shmem` of `/proc/meminfo`), in MiB.
fn host_shmem_mib() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("Shmem:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap();
    kib / 1024
}

/// The tests that measure the host's shared memory run one at a time.
static SHMEM_MEASURED: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_deep_tree_and_a_large_file_in_a_tmpfs_are_gone_when_the_box_ends() {
    let _one_at_a_time = SHMEM_MEASURED.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_shmem_mib();
    let mut cmd = picobox();
    cmd.args(["run", "--size", "128M", "--tmpfs", "/t"])
        .args(show(&guest_with("limits", &["-pthread"])))
        .arg("--")
        .arg(guest_with("limits", &["-pthread"]))
        .args(["deep", "/t", "5000", "64", "wait"]);
    let monitor = Running::start(cmd, "deep 5000\n");
    let during = host_shmem_mib();
    assert!(
        during >= before + 60,
        "the box's 64 MiB are not in host memory? {before} -> {during} MiB"
    );
    // SIGTERM reaches the box; the monitor reports and exits.
    let pid = monitor.id();
    drop(monitor);
    wait_until(|| host_shmem_mib() <= before + 16);
    let after = host_shmem_mib();
    assert!(
        after <= before + 16,
        "the box's tmpfs outlived it: {before} -> {during} -> {after} MiB"
    );
    // Nothing of the box is in the host's /dev/shm either (where earlier versions kept it).
    let leftovers = entries_of_box(std::path::Path::new("/dev/shm"), pid);
    assert!(leftovers.is_empty(), "left in /dev/shm: {leftovers:?}");
}

#[test]
fn open_files_are_bounded_by_default_and_by_flag() {
    let out = limited(&[], &["files"]);
    assert_eq!(text(&out.stdout), "opened 1021 errno=EMFILE\n");
    let out = limited(&["--files", "64"], &["files"]);
    assert_eq!(text(&out.stdout), "opened 61 errno=EMFILE\n");
    let out = limited(&["--files", "3000"], &["files"]);
    assert_eq!(
        text(&out.stdout),
        "opened 2997 errno=EMFILE\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn default_flags_bound_memory_and_tmpfs() {
    // Without --memory a box has 1 GiB: a program that allocates without end is killed by the
    // kernel's OOM killer (128 + SIGKILL).
    let out = limited(&[], &["eat", "4096"]);
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    let _one_at_a_time = SHMEM_MEASURED.lock().unwrap_or_else(|e| e.into_inner());
    // A --tmpfs without --size holds 256 MiB, the box's /dev/shm 64 MiB: then ENOSPC.
    let out = limited(&["--tmpfs", "/t"], &["fill", "/t/f"]);
    assert_eq!(text(&out.stdout), "filled 256 MiB errno=ENOSPC\n");
    let out = limited(&[], &["fill", "/dev/shm/f"]);
    assert_eq!(text(&out.stdout), "filled 64 MiB errno=ENOSPC\n");
    let out = limited(&["--size", "8M", "--tmpfs", "/t"], &["fill", "/t/f"]);
    assert_eq!(text(&out.stdout), "filled 8 MiB errno=ENOSPC\n");
}

/// The pids cgroups of boxes whose monitor was `pid`.
fn box_cgroups_of(pid: u32) -> Vec<std::path::PathBuf> {
    let table = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = table
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|c| c == "pids")
                .then(|| path.to_string())
        })
        .expect("no pids cgroup (v1) for this process");
    let parent = std::path::Path::new("/sys/fs/cgroup/pids").join(own.trim_start_matches('/'));
    entries_of_box(&parent, pid)
}

#[test]
fn a_box_whose_monitor_was_killed_leaves_nothing_after_the_next_run() {
    let marker = "27.1828";
    let mut monitor = picobox()
        .args(["run", "--", busybox(), "sleep", marker])
        .spawn()
        .unwrap();
    wait_until(|| processes_with(marker) >= 2);
    let pid = monitor.id();
    assert_eq!(box_cgroups_of(pid).len(), 1, "the box has no cgroup");
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    wait_until(|| processes_with(marker) == 0);
    // A killed monitor cannot remove its cgroup; the next `picobox run` anywhere does (one of
    // the tests running beside this one may already have).
    assert!(box_cgroups_of(pid).len() <= 1);
    let out = limited(&[], &["forks-none"]);
    assert_eq!(out.status.code(), Some(2));
    wait_until(|| box_cgroups_of(pid).is_empty());
    assert!(
        box_cgroups_of(pid).is_empty(),
        "the next run left the killed box's cgroup: {:?}",
        box_cgroups_of(pid)
    );
}
