//! Debian's own dynamically linked programs in boxes with the default root, each compared with
//! the same command run natively: bash and coreutils, python3, git, sqlite3, lua, node, and
//! servers (node's http, redis, nginx) fetched from outside the box.
//!
//! The workloads live in `tests/apps/` and are shown to the box read-only at `/apps`.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/apps/` on the host.
fn apps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/apps")
}

/// Fixed author, committer and dates, so that commit ids match between runs.
const GIT_ENV: &[(&str, &str)] = &[
    ("GIT_AUTHOR_NAME", "Picobox Test"),
    ("GIT_AUTHOR_EMAIL", "test@picobox.invalid"),
    ("GIT_COMMITTER_NAME", "Picobox Test"),
    ("GIT_COMMITTER_EMAIL", "test@picobox.invalid"),
    ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
    ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("HOME", "/nonexistent"),
    ("LC_ALL", "C"),
];

/// Runs `program args` in a box with the default root, `/apps` read-only, `dir` writable at
/// `/w` (the working directory), `env` set, and `flags`.
fn boxed_app(
    flags: &[&str],
    dir: &Path,
    env: &[(&str, &str)],
    program: &str,
    args: &[&str],
) -> Output {
    let mut cmd = picobox();
    cmd.arg("run")
        .args(["--ro-bind", apps().to_str().unwrap(), "/apps"])
        .args(["--bind", dir.to_str().unwrap(), "/w", "--chdir", "/w"])
        .args(flags);
    for (k, v) in env {
        cmd.args(["--setenv", k, v]);
    }
    cmd.arg("--").arg(program).args(args).output().unwrap()
}

/// Runs the same command natively (in a scratch directory, with `/apps` meaning
/// `tests/apps/`) and boxed, and asserts that both succeed with the same output.
fn same_as_native(what: &str, flags: &[&str], env: &[(&str, &str)], program: &str, args: &[&str]) {
    let n = scratch(&format!("app-{what}-native"));
    let b = scratch(&format!("app-{what}-boxed"));
    let apps = apps();
    let native_args: Vec<String> = args
        .iter()
        .map(|a| a.replace("/apps", apps.to_str().unwrap()))
        .collect();
    let native_args: Vec<&str> = native_args.iter().map(String::as_str).collect();
    let native_out = native_with(&n, env, program, &native_args);
    assert!(
        native_out.status.success(),
        "{what}: the native run failed: {}",
        text(&native_out.stderr)
    );
    let boxed_out = boxed_app(flags, &b, env, program, args);
    assert_same(what, &native_out, &boxed_out);
}

#[test]
fn a_bash_and_coreutils_script_matches_native() {
    // Pipelines, command substitution, globbing, here-documents, find -exec, xargs -P2,
    // tar czf/xzf, sort -S, grep -P (PCRE's JIT), process substitution, traps.
    let lines = std::fs::read_to_string(apps().join("workload.sh"))
        .unwrap()
        .lines()
        .count();
    assert!(lines >= 40, "the workload has {lines} lines");
    same_as_native("bash", &[], &[], "/bin/bash", &["/apps/workload.sh"]);
}

#[test]
fn python_standard_library_matches_native() {
    // json, re, hashlib, ssl (certificate parsing), sqlite3, threading, subprocess running
    // /bin/sh and coreutils, a loopback socket, multiprocessing with 4 workers.
    let cert = std::fs::read_dir("/etc/ssl/certs")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pem"))
        .expect("a certificate in /etc/ssl/certs (ca-certificates)");
    let cert = cert.to_str().unwrap();
    same_as_native(
        "python",
        &["--net", "loopback"],
        &[],
        "python3",
        &["/apps/workload.py", cert],
    );
}

#[test]
fn python_unittest_and_a_venv_with_a_local_wheel_match_native() {
    let script = "cp /apps/test_small.py . && python3 -m unittest -q test_small 2>&1 | tail -n 1 \
                  && python3 /apps/make_wheel.py \
                  && python3 -m venv venv \
                  && venv/bin/pip install --no-index --disable-pip-version-check -q \
                     ./picobox_demo-1.0-py3-none-any.whl \
                  && venv/bin/python -c 'import picobox_demo; print(picobox_demo.greet(\"box\"))' \
                  && venv/bin/python -c 'import sys; print(sys.prefix != sys.base_prefix)'";
    same_as_native("venv", &[], &[], "/bin/sh", &["-c", script]);
}

#[test]
fn git_in_a_bind_mount_matches_native_and_leaves_a_valid_repository() {
    let script = "git init -q -b main repo && cd repo \
                  && printf 'one\\ntwo\\n' > a && git add a && git commit -qm first \
                  && git checkout -qb feature && echo three >> a && git commit -qam second \
                  && git checkout -q main && echo other > b && git add b && git commit -qm third \
                  && git merge -q --no-edit feature \
                  && git log --format='%H %s' && git diff HEAD~2 --stat && git branch --list \
                  && git status --short | wc -l";
    same_as_native("git", &[], GIT_ENV, "/bin/sh", &["-c", script]);
    let repo = scratch_path("app-git-boxed").join("repo");
    let fsck = Command::new("git")
        .args(["-C", repo.to_str().unwrap(), "fsck", "--strict"])
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{}", text(&fsck.stderr));
}

#[test]
fn sqlite3_with_wal_in_a_bind_mount_matches_native_and_stays_intact() {
    let sql = "PRAGMA journal_mode=WAL; \
               CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL); \
               BEGIN; \
               WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) \
               INSERT INTO t(name, value) SELECT 'row' || x, x * 0.5 FROM c; \
               COMMIT; \
               CREATE INDEX t_name ON t(name); \
               SELECT count(*), sum(value) FROM t; \
               SELECT id FROM t WHERE name = 'row77777';";
    same_as_native("sqlite", &[], &[], "sqlite3", &["db.sqlite", sql]);
    let db = scratch_path("app-sqlite-boxed").join("db.sqlite");
    let check = Command::new("sqlite3")
        .arg(&db)
        .arg("PRAGMA integrity_check; PRAGMA journal_mode;")
        .output()
        .unwrap();
    assert_eq!(text(&check.stdout), "ok\nwal\n", "{}", text(&check.stderr));
}

#[test]
fn script_runs_a_command_on_a_pseudo_terminal_of_the_box_as_natively() {
    // util-linux's script: /dev/ptmx, a session with the peer as its controlling terminal,
    // terminal attributes and sizes, the child's output copied through the master.
    same_as_native(
        "script",
        &[],
        &[],
        "script",
        &[
            "-qec",
            "tty; stty -a | head -1; echo through the pty",
            "/dev/null",
        ],
    );
}

#[test]
fn lua_matches_native() {
    same_as_native("lua", &[], &[], "lua5.4", &["/apps/workload.lua"]);
}

#[test]
fn node_json_and_crypto_match_native() {
    let code = "const c = require('crypto'); \
                const o = {a: [1, 2, 3], nested: {ok: true}}; \
                const s = JSON.stringify(o); \
                console.log(s, JSON.parse(s).nested.ok); \
                console.log(c.createHash('sha256').update('picobox').digest('hex')); \
                const key = c.scryptSync('secret', 'salt', 32); \
                const iv = Buffer.alloc(16, 1); \
                const e = c.createCipheriv('aes-256-cbc', key, iv); \
                const x = Buffer.concat([e.update('hello'), e.final()]); \
                const d = c.createDecipheriv('aes-256-cbc', key, iv); \
                console.log(x.toString('hex'), Buffer.concat([d.update(x), d.final()]).toString()); \
                let n = 0; for (let i = 0; i < 3e6; i++) n = (n + i * i) % 1000003; console.log(n);";
    same_as_native("node", &[], &[], "node", &["-e", code]);
}

/// A server started in a box; `ready` is what it serves at `/` once up.
fn serve_and_fetch(mut cmd: Command, addr: &str, path: &str) -> (Running, Output) {
    cmd.stdout(std::process::Stdio::piped());
    let server = Running(cmd.spawn().unwrap());
    let out = curl_when_up(addr, path);
    (server, out)
}

#[test]
fn a_node_http_server_in_a_box_answers_curl() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let code = format!(
        "require('http').createServer((q, r) => r.end('node says ' + q.url + '\\n'))\
         .listen({port}, '127.0.0.1')"
    );
    let mut cmd = picobox();
    cmd.args(["run", "--allow-bind", &format!("tcp:{addr}"), "--"])
        .args(["node", "-e", &code]);
    let (_server, out) = serve_and_fetch(cmd, &addr, "/hello");
    assert_eq!(text(&out.stdout), "node says /hello\n");
    for i in 0..20 {
        assert_eq!(
            text(&curl(&addr, &format!("/{i}")).stdout),
            format!("node says /{i}\n")
        );
    }
}

#[test]
fn redis_in_a_box_serves_redis_benchmark() {
    let port = free_port().to_string();
    let data = scratch("app-redis");
    let mut cmd = picobox();
    cmd.args(["run", "--allow-bind", &format!("tcp:127.0.0.1:{port}")])
        .args(["--bind", data.to_str().unwrap(), "/data", "--"])
        .args(["redis-server", "--port", &port, "--bind", "127.0.0.1"])
        .args(["--dir", "/data", "--save", "", "--appendonly", "no"]);
    cmd.stdout(std::process::Stdio::null());
    let _server = Running(cmd.spawn().unwrap());
    let ping = || {
        Command::new("redis-cli")
            .args(["-p", &port, "ping"])
            .output()
            .unwrap()
    };
    let start = std::time::Instant::now();
    while text(&ping().stdout) != "PONG\n" {
        assert!(start.elapsed().as_secs() < 15, "redis did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let bench = Command::new("redis-benchmark")
        .args([
            "-p", &port, "-q", "-n", "20000", "-c", "10", "-t", "set,get",
        ])
        .output()
        .unwrap();
    let report = text(&bench.stdout);
    for op in ["SET", "GET"] {
        assert!(
            report.contains(&format!("{op}: ")) && report.contains("requests per second"),
            "{report}"
        );
    }
    let set = Command::new("redis-cli")
        .args(["-p", &port, "set", "k", "boxed"])
        .output()
        .unwrap();
    assert_eq!(text(&set.stdout), "OK\n");
    let get = Command::new("redis-cli")
        .args(["-p", &port, "get", "k"])
        .output()
        .unwrap();
    assert_eq!(text(&get.stdout), "boxed\n");
}

#[test]
fn nginx_with_two_workers_serves_a_directory_and_logs_into_a_mount() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = scratch("app-nginx");
    crate::support::nginx_site(&dir, &addr);
    let mut cmd = picobox();
    cmd.args(["run", "--allow-bind", &format!("tcp:{addr}")])
        .args(["--ro-bind", dir.join("www").to_str().unwrap(), "/www"])
        .args(["--ro-bind", dir.join("conf").to_str().unwrap(), "/conf"])
        .args(["--bind", dir.join("logs").to_str().unwrap(), "/logs", "--"])
        .args(["nginx", "-c", "/conf/nginx.conf", "-e", "/logs/error.log"]);
    let (server, out) = serve_and_fetch(cmd, &addr, "/");
    assert_eq!(text(&out.stdout), "hello from nginx\n");
    let missing = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{addr}/missing"))
        .output()
        .unwrap();
    assert_eq!(text(&missing.stdout), "404");
    // The master and its two workers are processes of the box: the master is the child of
    // the box's pid 1 (picobox's reaper), the monitor's child.
    let first_child = |pid: u32| -> u32 {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let master = first_child(first_child(server.id()));
    let workers = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap()
        .split_whitespace()
        .count();
    assert_eq!(workers, 2, "nginx's workers");
    drop(server);
    let log = std::fs::read_to_string(dir.join("logs/access.log")).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.contains("\"GET /missing HTTP/1.1\" 404"), "{log}");
}

#[test]
fn static_and_dynamic_programs_exec_each_other() {
    // busybox (static) runs bash (dynamic), which runs busybox again and coreutils' env.
    let out = picobox()
        .args(["run", "--", busybox(), "sh", "-c"])
        .arg("bash -c 'echo \"bash $BASH_VERSINFO\"; busybox echo static again; env -i /usr/bin/env' ")
        .output()
        .unwrap();
    let version = text(
        &Command::new("bash")
            .args(["-c", "echo $BASH_VERSINFO"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(
        text(&out.stdout),
        format!("bash {version}static again\n"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_dynamic_program_s_break_grows_and_sits_above_it_as_natively() {
    // Linux puts a position-independent program two thirds up the address space, with its
    // break after it and its loader and libraries among the mappings below the stack; glibc's
    // malloc then grows the break ([heap]) instead of falling back to mmap.
    let script = "maps = open('/proc/self/maps').read()\n\
        heap = [l for l in maps.splitlines() if l.endswith('[heap]')]\n\
        start = lambda l: int(l.split('-')[0], 16)\n\
        print('heap', len(heap) == 1)\n\
        print('heap below the stack', bool(heap) and start(heap[0]) < 0x7000_0000_0000)\n";
    let native = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .output()
        .unwrap();
    let boxed = picobox()
        .args(["run", "--", "python3", "-c", script])
        .output()
        .unwrap();
    assert_eq!(
        text(&native.stdout),
        "heap True\nheap below the stack True\n"
    );
    assert_same("python3's break", &native, &boxed);
}

/// glibc's dynamic loader, as programs name it.
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

#[test]
fn a_library_missing_from_the_box_gets_the_loaders_own_error() {
    // The loader is there, libc is not: glibc's loader says so, as it would natively.
    let out = picobox()
        .args(["run", "--empty-root", "--ro-bind", LOADER, LOADER])
        .args(["--ro-bind", "/usr/bin/true", "/true", "--", "/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        text(&out.stderr),
        "/true: error while loading shared libraries: libc.so.6: cannot open shared object \
         file: No such file or directory\n"
    );
}
