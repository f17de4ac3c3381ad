//! Box ids and `picobox ps`: a running box is listed under its `--name` (or a generated id)
//! with its state and first process, two running boxes cannot share an id, a box is gone
//! from the list once it ends, and a record left by a killed monitor is dropped.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// The registry the tests' user has (as `picobox ps --help` says).
fn registry() -> PathBuf {
    if is_root() {
        PathBuf::from("/run/picobox")
    } else {
        // SAFETY: getuid has no preconditions and cannot fail.
        PathBuf::from(format!("/tmp/picobox-{}", unsafe { libc::getuid() }))
    }
}

fn ps_json() -> String {
    let out = picobox().args(["ps", "--json"]).output().unwrap();
    assert!(out.status.success(), "ps: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The JSON object `ps --json` prints for box `id`, if it lists one.
fn listed(json: &str, id: &str) -> Option<String> {
    let key = format!("{{\"id\": \"{id}\",");
    json.lines()
        .find(|l| l.trim_start().starts_with(&key))
        .map(str::to_string)
}

/// A box named `id` started by `picobox` (a command for the picobox binary), idle until
/// dropped.
fn named_box(mut picobox: Command, id: &str) -> Running {
    picobox.args([
        "run",
        "--name",
        id,
        "--",
        "/bin/sh",
        "-c",
        "echo ready; exec sleep 60",
    ]);
    Running::start(picobox, "ready\n")
}

#[test]
fn a_named_box_is_listed_while_it_runs_and_its_name_is_its_own() {
    let id = format!("e2e-ps-{}", std::process::id());
    let running = named_box(picobox(), &id);

    let entry = listed(&ps_json(), &id).expect("the box is listed");
    assert!(entry.contains("\"state\": \"running\""), "{entry}");
    assert!(
        entry.contains(&format!("\"monitor_pid\": {}", running.id())),
        "{entry}"
    );
    assert!(entry.contains("\"program\": \"/bin/sh\""), "{entry}");
    let pid: u32 = entry
        .split("\"pid\": ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .expect("a pid");
    assert!(
        PathBuf::from(format!("/proc/{pid}")).exists(),
        "pid {pid} runs"
    );
    let table = text(&picobox().arg("ps").output().unwrap().stdout);
    assert!(table.starts_with("ID "), "{table}");
    assert!(table
        .lines()
        .any(|l| l.starts_with(&format!("{id} ")) && l.contains("running")));

    let twin = picobox()
        .args(["run", "--name", &id, "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(twin.status.code(), Some(125));
    assert!(
        text(&twin.stderr).contains(&format!("a box named '{id}' is running already")),
        "{}",
        text(&twin.stderr)
    );

    drop(running);
    assert_eq!(listed(&ps_json(), &id), None, "gone once it ended");
    assert!(!registry().join(&id).exists());
}

#[test]
fn a_box_without_a_name_gets_one_and_bad_names_are_refused() {
    let mut cmd = picobox();
    let marker = format!("unnamed-{}", std::process::id());
    cmd.args([
        "run",
        "--",
        "/bin/sh",
        "-c",
        "echo ready; exec sleep 60",
        &marker,
    ]);
    let running = Running::start(cmd, "ready\n");
    let json = ps_json();
    let entry = json
        .lines()
        .find(|l| l.contains(&format!("\"monitor_pid\": {}", running.id())))
        .expect("listed");
    let id = entry.split('"').nth(3).unwrap();
    assert!(
        id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    drop(running);

    for bad in ["", "-x", "a/b", "a b", &"x".repeat(65)] {
        let out = picobox()
            .args(["run", "--name", bad, "--", "/bin/true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{bad:?}");
        assert!(
            text(&out.stderr).contains("a box id is 1 to 64 letters"),
            "{bad:?}"
        );
    }
    let out = picobox().args(["ps", "--all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("ps: unknown option '--all'"));
}

/// A record as a monitor writes it, naming monitor `pid` started at `start` ticks.
fn record_of(pid: u32, start: u64) -> String {
    format!(
        "monitor={pid}\nmonitor_start={start}\nbox=0000000000\nstarted=0\nstate=running\n\
         memory_limit=0\ncgroup=\nprogram=/bin/sh\n"
    )
}

#[test]
fn records_whose_monitor_died_are_dropped_by_the_next_run_and_by_ps() {
    // A box keeps the registry there while the records are planted.
    let id = format!("e2e-keeper-{}", std::process::id());
    let running = named_box(picobox(), &id);

    // A monitor killed with SIGKILL cannot remove its record: here, one naming a process that
    // has ended. The next box to start removes it, as it removes such a monitor's cgroups.
    let mut gone = Command::new("/bin/true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let ended = registry().join(format!("e2e-ended-{}", std::process::id()));
    std::fs::write(&ended, record_of(dead, 1)).unwrap();
    let out = picobox().args(["run", "--", "/bin/true"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !ended.exists(),
        "the next run removes an ended monitor's record"
    );

    // One whose monitor's pid now names another process (this one, started at another
    // time): `ps`, which checks start times, removes it.
    // With its control socket; and a control socket whose record is gone already (left by
    // a monitor killed as it ended): `ps` removes both.
    let reused = registry().join(format!("e2e-reused-{}", std::process::id()));
    std::fs::write(&reused, record_of(std::process::id(), 1)).unwrap();
    let reused_socket = registry().join(format!("e2e-reused-{}.sock", std::process::id()));
    std::fs::write(&reused_socket, "").unwrap();
    let orphan = registry().join(format!("e2e-orphan-{}.sock", std::process::id()));
    std::fs::write(&orphan, "").unwrap();
    assert!(listed(&ps_json(), &id).is_some());
    assert!(
        !reused.exists(),
        "ps removes a record whose monitor's pid was reused"
    );
    assert!(
        !reused_socket.exists(),
        "ps removes the record's control socket"
    );
    assert!(
        !orphan.exists(),
        "ps removes a control socket without its record"
    );
    assert!(
        registry().join(format!("{id}.sock")).exists(),
        "ps leaves a running box's control socket"
    );
    drop(running);
}

#[test]
fn the_registry_goes_with_the_last_box() {
    // Boxes of a user no other test runs as: the registry is theirs alone to watch.
    let uid = 64000 + std::process::id() % 1000;
    let dir = PathBuf::from(format!("/tmp/picobox-{uid}"));
    // (Only root may run them as another user: like the cgroup tests, this one needs root.)
    let as_user = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
        ])
        .arg(env!("CARGO_BIN_EXE_picobox"))
        .args(args);
        c
    };
    let running = named_box(as_user(&[]), "only");
    assert!(dir.join("only").exists());
    let out = as_user(&["ps"]).output().unwrap();
    assert!(text(&out.stdout).lines().any(|l| l.starts_with("only ")));
    drop(running);
    assert!(!dir.exists(), "the registry outlived its last box");
    let out = as_user(&["ps"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!dir.exists(), "ps made a registry");
}
