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
    // the marker finds the monitor and the three sleeps (the shell execs the last one).
    let start = Instant::now();
    while processes_with(marker) < 4 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(processes_with(marker), 4, "the box's sleeps did not start");
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    let start = Instant::now();
    while processes_with(marker) > 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        processes_with(marker),
        0,
        "processes of the box outlived its monitor"
    );
}
