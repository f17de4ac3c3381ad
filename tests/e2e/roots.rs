//! Box roots as bubblewrap users expect them: PROGRAM found in the box's view, files and
//! directories mounted, links and directories made, later mounts over earlier ones, `--root`,
//! the default root and `--show-root`.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    picobox().arg("run").args(args).output().unwrap()
}

fn says(out: &Output, expected: &str) {
    assert_eq!(
        text(&out.stdout),
        expected,
        "status {:?}, stderr: {}",
        out.status.code(),
        text(&out.stderr)
    );
}

#[test]
fn the_program_is_found_in_the_box_not_on_the_host() {
    let dir = scratch("root-program");
    let prog = dir.join("tool");
    std::fs::write(&prog, "#!/bin/sh\necho tool ran as $0\n").unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = dir.to_str().unwrap();
    // Mounted elsewhere: found by its path in the box.
    says(
        &run(&["--ro-bind", d, "/opt", "--", "/opt/tool"]),
        "tool ran as /opt/tool\n",
    );
    // By name, through the box's PATH.
    says(
        &run(&[
            "--ro-bind",
            d,
            "/opt",
            "--setenv",
            "PATH",
            "/opt:/usr/bin",
            "--",
            "tool",
        ]),
        "tool ran as /opt/tool\n",
    );
    // A destination beneath a link of the root follows it, as in bubblewrap: /bin is a link
    // to usr/bin, so the tool lands in /usr/bin and PATH finds it.
    let tool = prog.to_str().unwrap();
    says(
        &run(&["--ro-bind", tool, "/bin/tool", "--", "tool"]),
        "tool ran as /usr/bin/tool\n",
    );
    // ...and is listed in the directory it sits in.
    let out = run(&[
        "--ro-bind",
        tool,
        "/bin/tool",
        "--",
        "sh",
        "-c",
        "ls /usr/bin | grep -x tool",
    ]);
    says(&out, "tool\n");
    // Its host path means nothing in the box.
    let out = run(&["--", prog.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no such file in the box"),
        "{}",
        text(&out.stderr)
    );
    // A name the box's PATH does not have.
    let out = run(&["--", "tool"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("tool: command not found in the box's PATH"));
}

#[test]
fn files_can_be_mounted_read_only_or_writable() {
    let dir = scratch("root-files");
    std::fs::write(dir.join("config"), "setting=1\n").unwrap();
    std::fs::write(dir.join("log"), "first\n").unwrap();
    let config = dir.join("config");
    let log = dir.join("log");
    let out = run(&[
        "--ro-bind",
        config.to_str().unwrap(),
        "/etc/app.conf",
        "--bind",
        log.to_str().unwrap(),
        "/var/log/app.log",
        "--",
        "sh",
        "-c",
        "cat /etc/app.conf; echo second >> /var/log/app.log; cat /var/log/app.log; \
         echo x > /etc/app.conf 2>/dev/null || echo refused; ls /var/log; \
         test -f /etc/app.conf && test ! -d /etc/app.conf && echo file; \
         cat /etc/app.conf/x 2>&1 | grep -c 'Not a directory'",
    ]);
    says(
        &out,
        "setting=1\nfirst\nsecond\nrefused\napp.log\nfile\n1\n",
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "first\nsecond\n");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "setting=1\n");
}

#[test]
fn try_binds_symlinks_and_directories() {
    let dir = scratch("root-made");
    std::fs::write(dir.join("data"), "d\n").unwrap();
    let d = dir.to_str().unwrap();
    let out = run(&[
        "--ro-bind-try",
        "/no/such/source",
        "/missing",
        "--ro-bind-try",
        d,
        "/present",
        "--symlink",
        "/present/data",
        "/link",
        "--symlink",
        "../present",
        "/srv/rel",
        "--dir",
        "/made/here",
        "--",
        "sh",
        "-c",
        "ls /missing 2>&1 | grep -c 'No such file'; cat /link /srv/rel/data; readlink /link; \
         ls -la /made/here | wc -l; touch /made/here/x 2>/dev/null || echo read-only; ls /made",
    ]);
    says(&out, "1\nd\nd\n/present/data\n3\nread-only\nhere\n");
    // Without -try, a missing source is an error that names it.
    let out = run(&["--ro-bind", "/no/such/source", "/x", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("/no/such/source"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn later_mounts_go_over_earlier_ones() {
    let dir = scratch("root-order");
    for (sub, word) in [("a", "first"), ("b", "second")] {
        std::fs::create_dir_all(dir.join(sub).join("inner")).unwrap();
        std::fs::write(dir.join(sub).join("inner/which"), word).unwrap();
    }
    let a = dir.join("a");
    let b = dir.join("b");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    // A later mount at the same place wins; one above an earlier deeper mount hides it.
    says(
        &run(&[
            "--ro-bind",
            a,
            "/m",
            "--ro-bind",
            b,
            "/m",
            "--",
            "cat",
            "/m/inner/which",
        ]),
        "second",
    );
    says(
        &run(&[
            "--ro-bind",
            b,
            "/m/inner",
            "--ro-bind",
            a,
            "/m",
            "--",
            "cat",
            "/m/inner/which",
        ]),
        "first",
    );
    says(
        &run(&[
            "--ro-bind",
            a,
            "/m",
            "--ro-bind",
            b,
            "/m/inner",
            "--",
            "cat",
            "/m/inner/inner/which",
        ]),
        "second",
    );
}

#[test]
fn a_directory_tree_can_be_the_whole_root() {
    // An extracted root: busybox and a file, and nothing of the host.
    let dir = scratch("root-tree");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::copy(busybox(), dir.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/sh")).unwrap();
    std::fs::write(dir.join("etc/os-release"), "NAME=tiny\n").unwrap();
    let out = run(&[
        "--root",
        dir.to_str().unwrap(),
        "--setenv",
        "PATH",
        "/bin",
        "--",
        "sh",
        "-c",
        "busybox cat /etc/os-release; busybox ls /; busybox ls /usr 2>&1 | busybox grep -c 'No such'; \
         busybox touch /x 2>&1 | busybox grep -c 'Read-only'",
    ]);
    // /dev and /proc are the library OS's and listed as mount points, as Linux lists them.
    says(&out, "NAME=tiny\nbin\ndev\netc\nproc\n1\n1\n");
}

#[test]
fn the_default_root_is_listed_by_show_root_and_is_what_the_box_sees() {
    let out = picobox().args(["run", "--show-root"]).output().unwrap();
    assert!(out.status.success());
    let plan = text(&out.stdout);
    for line in [
        "ro-bind   /usr ",
        "symlink   usr/bin                            /bin",
        "dir       (read-only, holding:)              /etc",
        "/etc/ld.so.cache",
        "/etc/passwd",
        "tmpfs     256M mode 1777                     /tmp",
        "/dev/shm",
    ] {
        assert!(plan.contains(line), "{line:?} not in\n{plan}");
    }
    for never in [
        "shadow",
        "sudoers",
        "machine-id",
        "/home ",
        "/var",
        "/run",
        "ssh",
    ] {
        assert!(!plan.contains(never), "{never:?} in\n{plan}");
    }
    // Every /etc entry it lists is what the box's /etc holds.
    let listed: Vec<&str> = plan
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter_map(|at| at.strip_prefix("/etc/"))
        .filter(|name| !name.contains('/'))
        .collect();
    let boxed = picobox()
        .args(["run", "--", "ls", "-A", "/etc"])
        .output()
        .unwrap();
    let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed.push("ssl".into());
    listed.sort();
    listed.dedup();
    let mut seen: Vec<String> = text(&boxed.stdout).lines().map(String::from).collect();
    seen.sort();
    assert_eq!(seen, listed);
    // A home and a /tmp of the box's own, empty and writable.
    let home = if is_root() { "/root" } else { "/home/user" };
    says(
        &picobox()
            .args([
                "run",
                "--",
                "sh",
                "-c",
                "echo $HOME; ls -A $HOME | wc -l; ls -A /tmp | wc -l; touch $HOME/x /tmp/y && echo ok",
            ])
            .output()
            .unwrap(),
        &format!("{home}\n0\n0\nok\n"),
    );
}
