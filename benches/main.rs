//! picobox benchmarks: `cargo bench -p picobox`. Every figure is measured in this run, for
//! picobox, the native program and (where installed) bubblewrap, and printed with ratios.
//! Nothing here passes or fails on timings.
//!
//! Environment: `PICOBOX_BENCH_READ_MIB` (default 1024) sets the size of the read benchmark;
//! `PICOBOX_BENCH_ONLY=snapshots` runs only the snapshot benchmarks; `PICOBOX_BENCH_CRIU`
//! names a CRIU binary (`benches/build-criu.sh` builds one where Debian's fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod snapshots;

const PICOBOX: &str = env!("CARGO_BIN_EXE_picobox");

fn build(name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bench-guests")
        .join(name);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../benches/guests")
        .join(format!("{name}.c"));
    // musl gives the leanest static start-up; fall back to glibc.
    let ok = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success())
        || Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .is_ok_and(|s| s.success());
    assert!(ok, "cannot build {name}");
    out
}

/// Start-to-exit of a static hello: picobox (plain, and with a writable bind, which a box
/// started by root idmaps), native, bubblewrap as commonly used and with every namespace, and
/// gVisor where installed. Commands take turns, round after round, so that drift in this
/// noisy VM falls on all of them alike.
fn start_to_exit(h: &str) {
    let scratch = std::env::temp_dir().join(format!("picobox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let w = scratch.to_str().unwrap();
    let mut cmds: Vec<(&str, Vec<&str>)> = vec![
        ("native", vec![h]),
        ("picobox", boxed(&[], h, &[])),
        ("picobox --bind", boxed(&["--bind", w, "/w"], h, &[])),
    ];
    let bwrap = have("bwrap");
    if bwrap {
        cmds.push(("bwrap --bind / /", vec!["bwrap", "--bind", "/", "/", h]));
        cmds.push((
            "bwrap --unshare-all --ro-bind / /",
            vec!["bwrap", "--unshare-all", "--ro-bind", "/", "/", h],
        ));
    }
    let rounds = 300;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cmds.len()];
    for _ in 0..rounds {
        for (i, (_, cmd)) in cmds.iter().enumerate() {
            times[i].push(median_run_ns(cmd, 1));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m: Vec<f64> = times.iter_mut().map(median).collect();
    println!("start-to-exit of a static hello ({rounds} rounds, commands in turn)");
    let (native, pico) = (m[0], m[1]);
    for (i, (name, _)) in cmds.iter().enumerate() {
        let mut line = format!("  {name:<34} {:>9.0} µs", m[i] / 1e3);
        if i > 0 && i < 3 {
            line += &format!("   {:.2}x native", m[i] / native);
        }
        if i >= 3 {
            line += &format!("   picobox is {:.2}x this", pico / m[i]);
        }
        println!("{line}");
    }
    if !bwrap {
        println!("  bwrap                              not installed");
    }
    if have("runsc") {
        let cmd = [
            "runsc",
            "--rootless=false",
            "--network=none",
            "--platform=ptrace",
            "do",
            h,
        ];
        let gvisor = median_run_ns(&cmd, 20);
        println!(
            "  runsc --platform=ptrace do         {:>9.0} µs   picobox is {:.3}x this",
            gvisor / 1e3,
            pico / gvisor
        );
    } else {
        println!("  runsc (gVisor)                     not installed (apt-get install runsc)");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn median_run_ns(cmd: &[&str], runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let st = Command::new(cmd[0])
                .args(&cmd[1..])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "{cmd:?} failed");
            t.elapsed().as_nanos() as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn output_number(cmd: &[&str]) -> f64 {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `picobox run EXTRA -- PROG ARGS` with the default root; a program outside `/usr` is shown
/// at its own path (a box finds its program in its own view).
fn boxed<'a>(extra: &[&'a str], prog: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![PICOBOX, "run"];
    v.extend_from_slice(extra);
    let in_default_root = std::fs::canonicalize(prog).is_ok_and(|p| p.starts_with("/usr"));
    if prog.starts_with('/') && !in_default_root {
        v.extend_from_slice(&["--ro-bind", prog, prog]);
    }
    v.push("--");
    v.push(prog);
    v.extend_from_slice(args);
    v
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    println!(
        "picobox benchmarks (medians; ratios are picobox / other, lower is better for times)\n"
    );
    if std::env::var("PICOBOX_BENCH_ONLY").as_deref() == Ok("snapshots") {
        snapshots::snapshots(&build("heap"));
        return;
    }

    let hello = build("hello");
    let h = hello.to_str().unwrap();
    start_to_exit(h);

    let sc = build("syscall_loop");
    let s = sc.to_str().unwrap();
    let n = "200000";
    let native_ns = output_number(&[s, n]);
    let pico_ns = output_number(&boxed(&[], s, &[n]));
    println!("\ntrapped trivial syscall (getpid via the syscall instruction)");
    println!("  native            {native_ns:>9.1} ns");
    println!(
        "  picobox           {pico_ns:>9.1} ns   {:.1}x native",
        pico_ns / native_ns
    );

    let mib: u64 = std::env::var("PICOBOX_BENCH_READ_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("read.bin");
    if std::fs::metadata(&data).map(|m| m.len()).ok() != Some(mib << 20) {
        let chunk: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut f = std::fs::File::create(&data).unwrap();
        for _ in 0..mib {
            std::io::Write::write_all(&mut f, &chunk).unwrap();
        }
    }
    let rf = build("read_file");
    let r = rf.to_str().unwrap();
    let d = data.to_str().unwrap();
    let dirs = dir.to_str().unwrap();
    // Warm the page cache, then alternate runs and keep the best of three each.
    let _ = output_number(&[r, d]);
    let mut native_best: f64 = 0.0;
    let mut pico_best: f64 = 0.0;
    for _ in 0..3 {
        native_best = native_best.max(output_number(&[r, d]));
        pico_best = pico_best.max(output_number(&boxed(&["--ro-bind", dirs, dirs], r, &[d])));
    }
    println!("\nsequential read of a {mib} MiB file (1 MiB reads, page cache warm, best of 3)");
    println!("  native            {native_best:>9.0} MiB/s");
    println!(
        "  picobox           {pico_best:>9.0} MiB/s   {:.3} of native",
        pico_best / native_best
    );

    processes(h);
    applications();
    snapshots::snapshots(&build("heap"));
}

/// Process benchmarks (issue 3): the guest times itself, so start-up is not counted.
fn processes(hello: &str) {
    let procs = build("procs");
    let p = procs.to_str().unwrap();
    let dir = Path::new(hello).parent().unwrap().to_str().unwrap();
    let mount = ["--ro-bind", dir, dir];
    let best = |cmd: &[&str], lower_is_better: bool| {
        let runs = (0..5).map(|_| output_number(cmd));
        if lower_is_better {
            runs.fold(f64::MAX, f64::min)
        } else {
            runs.fold(0.0, f64::max)
        }
    };
    let native = best(&[p, "forkwait", "2000"], true);
    let pico = best(&boxed(&[], p, &["forkwait", "2000"]), true);
    println!("\nfork + exit + wait (best of 5)");
    println!("  native            {:>9.1} µs", native / 1e3);
    println!(
        "  picobox           {:>9.1} µs   {:.2}x native",
        pico / 1e3,
        pico / native
    );
    let native = best(&[p, "forkexec", "500", hello], true);
    let pico = best(&boxed(&mount, p, &["forkexec", "500", hello]), true);
    println!("\nfork + exec of a static hello + wait (best of 5)");
    println!("  native            {:>9.1} µs", native / 1e3);
    println!(
        "  picobox           {:>9.1} µs   {:.2}x native",
        pico / 1e3,
        pico / native
    );
    let native = best(&[p, "pipe", "2048"], false);
    let pico = best(&boxed(&[], p, &["pipe", "2048"]), false);
    println!("\npipe throughput between two processes, 64 KiB writes (best of 5)");
    println!("  native            {native:>9.0} MiB/s");
    println!(
        "  picobox           {pico:>9.0} MiB/s   {:.3} of native",
        pico / native
    );
    threads_and_network();
}

/// Thread and network benchmarks (issue 3), timed inside the guest.
fn threads_and_network() {
    let prog = build("threads");
    let t = prog.to_str().unwrap();
    let best = |args: &[&str], lower_is_better: bool| -> (f64, f64) {
        let pick = |cmd: Vec<&str>| {
            let runs = (0..5).map(|_| output_number(&cmd));
            if lower_is_better {
                runs.fold(f64::MAX, f64::min)
            } else {
                runs.fold(0.0, f64::max)
            }
        };
        let mut native = vec![t];
        native.extend_from_slice(args);
        // Sockets need a network: the box's own loopback.
        let flags: &[&str] = if args[0].starts_with("tcp") {
            &["--net", "loopback"]
        } else {
            &[]
        };
        (pick(native), pick(boxed(flags, t, args)))
    };
    for (title, args, unit, lower) in [
        ("thread create + join", &["spawn", "2000"][..], "µs", true),
        (
            "futex ping-pong between two threads (round trip)",
            &["pingpong", "20000"][..],
            "µs",
            true,
        ),
        (
            "TCP loopback request/response, 64 bytes (round trip)",
            &["tcp", "20000"][..],
            "µs",
            true,
        ),
        (
            "TCP loopback throughput, 64 KiB writes",
            &["tcpbulk", "2048"][..],
            "MiB/s",
            false,
        ),
    ] {
        let (native, pico) = best(args, lower);
        println!("\n{title} (best of 5)");
        if lower {
            println!("  native            {:>9.1} {unit}", native / 1e3);
            println!(
                "  picobox           {:>9.1} {unit}   {:.2}x native",
                pico / 1e3,
                pico / native
            );
        } else {
            println!("  native            {native:>9.0} {unit}");
            println!(
                "  picobox           {pico:>9.0} {unit}   {:.3} of native",
                pico / native
            );
        }
    }
}

/// Median wall time of `cmd` over `runs` runs, in milliseconds (run in `dir`, with only the
/// environment a box gets: `PATH` and `HOME`, so that native runs start the same programs).
fn median_ms_in(dir: &Path, cmd: &[&str], runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let st = Command::new(cmd[0])
                .args(&cmd[1..])
                .current_dir(dir)
                .env_clear()
                .env(
                    "PATH",
                    "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
                )
                .env("HOME", "/root")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "{cmd:?} failed");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// One line of an application figure: time and ratios against native and bubblewrap.
fn report_ms(name: &str, native: f64, pico: f64, bwrap: Option<f64>) {
    println!("  native            {native:>9.2} ms");
    let mut line = format!(
        "  picobox           {pico:>9.2} ms   {:.2}x native",
        pico / native
    );
    if let Some(b) = bwrap {
        line += &format!("   bwrap {b:.2} ms: picobox is {:.2}x bwrap", pico / b);
    }
    println!("{line}");
    let _ = name;
}

/// Debian's dynamic programs (issue 8): start-to-exit of python3 and node, the shell
/// workload of the tests, a sqlite3 insert, redis-benchmark and an HTTP load on nginx.
fn applications() {
    let apps =
        std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/apps")).unwrap();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-apps");
    let bwrap = have("bwrap");
    let bw = |cmd: &[&str]| -> Vec<String> {
        [
            "bwrap",
            "--unshare-all",
            "--ro-bind",
            "/",
            "/",
            "--tmpfs",
            "/tmp",
        ]
        .iter()
        .chain(cmd)
        .map(|s| s.to_string())
        .collect()
    };
    let starts: [(&str, &[&str], usize); 2] = [
        ("python3 -c pass", &["/usr/bin/python3", "-c", "pass"], 40),
        ("node -e 0", &["/usr/bin/node", "-e", "0"], 20),
    ];
    for (title, cmd, runs) in starts {
        if !have_program(cmd[0]) {
            println!("\n{title}: {} not installed", cmd[0]);
            continue;
        }
        let _ = std::fs::create_dir_all(&scratch);
        let native = median_ms_in(&scratch, cmd, runs);
        let pico = median_ms_in(&scratch, &boxed(&[], cmd[0], &cmd[1..]), runs);
        let b = bwrap.then(|| {
            let v = bw(cmd);
            let v: Vec<&str> = v.iter().map(String::as_str).collect();
            median_ms_in(&scratch, &v, runs)
        });
        println!("\n{title}, start to exit (median of {runs})");
        report_ms(title, native, pico, b);
        // Started by root, a box joins cgroups: on a cgroup v1 host the move waits for an RCU
        // grace period. An ordinary user's box has no cgroup (rlimits stand in).
        if running_as_root() && have_program("setpriv") {
            let nobody = [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ];
            let as_nobody = |cmd: &[&str]| -> f64 {
                let mut v: Vec<&str> = nobody.to_vec();
                v.extend_from_slice(cmd);
                median_ms_in(Path::new("/tmp"), &v, runs)
            };
            let n = as_nobody(cmd);
            let copy = std::env::temp_dir().join(format!("picobox-bench-{}", std::process::id()));
            let _ = std::fs::copy(PICOBOX, &copy);
            let c = copy.to_str().unwrap();
            let mut boxed_cmd = vec![c, "run", "--"];
            boxed_cmd.extend_from_slice(cmd);
            let p = as_nobody(&boxed_cmd);
            let _ = std::fs::remove_file(&copy);
            println!(
                "  as uid 65534 (no cgroup): native {n:.2} ms, picobox {p:.2} ms   {:.2}x native",
                p / n
            );
        }
    }
    // The shell workload of tests/apps/workload.sh, each run in a fresh directory.
    let script = apps.join("workload.sh");
    let script = script.to_str().unwrap();
    let fresh = |name: &str| {
        let d = scratch.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let run_fresh = |name: &str, cmd: &[&str]| -> f64 {
        let mut t: Vec<f64> = (0..7).map(|_| median_ms_in(&fresh(name), cmd, 1)).collect();
        t.sort_by(f64::total_cmp);
        t[3]
    };
    let apps_dir = apps.to_str().unwrap();
    let native = run_fresh("sh-native", &["/bin/bash", script]);
    let w = scratch.join("sh-boxed");
    let wd = w.to_str().unwrap().to_string();
    let pico = run_fresh(
        "sh-boxed",
        &boxed(
            &[
                "--ro-bind",
                apps_dir,
                apps_dir,
                "--bind",
                &wd,
                "/w",
                "--chdir",
                "/w",
            ],
            "/bin/bash",
            &[script],
        ),
    );
    let b = bwrap.then(|| {
        let d = scratch.join("sh-bwrap");
        let d = d.to_str().unwrap();
        let v = bw(&["--bind", d, d, "--chdir", d, "/bin/bash", script]);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        run_fresh("sh-bwrap", &v)
    });
    println!("\nthe tests' bash + coreutils workload (tests/apps/workload.sh, median of 7)");
    report_ms("bash", native, pico, b);
    sqlite_insert(&scratch);
    redis(&scratch);
    nginx(&scratch);
}

fn have_program(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// 100,000 rows inserted in one transaction (WAL), in a directory the box binds: the time
/// sqlite3 itself reports for the statements (`.timer on`), so that the box's start is not
/// counted here (the start-to-exit figures above give it).
fn sqlite_insert(scratch: &Path) {
    if !have_program("sqlite3") {
        println!("\nsqlite3 insert: sqlite3 not installed");
        return;
    }
    let sql = ".timer on\nPRAGMA journal_mode=WAL;\n\
               CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\nBEGIN;\n\
               WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) \
               INSERT INTO t(v) SELECT 'row' || x FROM c;\nCOMMIT;\n";
    let dir = scratch.join("sqlite");
    let d = dir.to_str().unwrap().to_string();
    // Seconds of "Run Time: real S user U sys Y" lines, summed.
    let once = |cmd: &[&str]| -> f64 {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(cmd[0])
            .args(&cmd[1..])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), sql.as_bytes()).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("Run Time: real "))
            .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
            .sum()
    };
    let mut native = Vec::new();
    let mut pico = Vec::new();
    for _ in 0..5 {
        native.push(once(&["sqlite3", "db"]));
        pico.push(once(&boxed(
            &["--bind", &d, "/w", "--chdir", "/w"],
            "sqlite3",
            &["db"],
        )));
    }
    native.sort_by(f64::total_cmp);
    pico.sort_by(f64::total_cmp);
    let (n, p) = (native[2], pico[2]);
    println!("\nsqlite3: 100,000 rows in one transaction, WAL, in a bind mount (sqlite's own timer, median of 5)");
    println!("  native            {:>9.0} rows/s", 100_000.0 / n);
    println!(
        "  picobox           {:>9.0} rows/s   {:.2} of native",
        100_000.0 / p,
        n / p
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed().as_secs() < 20, "nothing listens on {port}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// redis-benchmark's GET and SET requests per second against redis-server run natively and
/// in a box on the host's network (the benchmark runs outside).
fn redis(scratch: &Path) {
    if !have_program("redis-server") || !have_program("redis-benchmark") {
        println!("\nredis: redis-server or redis-benchmark not installed");
        return;
    }
    let dir = scratch.join("redis");
    let _ = std::fs::create_dir_all(&dir);
    let measure = |boxed_server: bool| -> (f64, f64) {
        let port = free_port();
        let p = port.to_string();
        let server_args = [
            "--port",
            &p,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        let rule = format!("tcp:127.0.0.1:{port}");
        let mut cmd: Vec<&str> = if boxed_server {
            boxed(&["--allow-bind", &rule], "redis-server", &server_args)
        } else {
            let mut v = vec!["redis-server"];
            v.extend_from_slice(&server_args);
            v
        };
        let mut server = Command::new(cmd.remove(0))
            .args(&cmd)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        let out = Command::new("redis-benchmark")
            .args(["-p", &p, "-q", "-n", "100000", "-c", "20", "-t", "set,get"])
            .output()
            .unwrap();
        let _ = server.kill();
        let _ = server.wait();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
        let rate = |op: &str| -> f64 {
            text.lines()
                .filter(|l| l.starts_with(&format!("{op}: ")) && l.contains("requests per second"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
                .next_back()
                .unwrap_or(0.0)
        };
        (rate("SET"), rate("GET"))
    };
    let (ns, ng) = measure(false);
    let (ps, pg) = measure(true);
    println!("\nredis-benchmark, 100,000 requests, 20 clients (server native vs in a box)");
    for (op, n, p) in [("SET", ns, ps), ("GET", ng, pg)] {
        println!("  {op} native       {n:>9.0} req/s");
        println!(
            "  {op} picobox      {p:>9.0} req/s   {:.2} of native",
            p / n
        );
    }
}

/// Requests per second that 4 keep-alive HTTP/1.1 clients get from nginx with two workers,
/// native vs in a box, for 3 seconds each.
fn nginx(scratch: &Path) {
    if !have_program("nginx") {
        println!("\nnginx: not installed");
        return;
    }
    let dir = scratch.join("nginx");
    for d in ["www", "logs-native", "logs-boxed"] {
        let _ = std::fs::create_dir_all(dir.join(d));
    }
    std::fs::write(dir.join("www/index.html"), "hello from nginx\n").unwrap();
    let measure = |boxed_server: bool| -> f64 {
        let port = free_port();
        let logs = if boxed_server {
            "/logs".to_string()
        } else {
            dir.join("logs-native").to_str().unwrap().to_string()
        };
        let www = if boxed_server {
            "/www".to_string()
        } else {
            dir.join("www").to_str().unwrap().to_string()
        };
        let conf = format!(
            "worker_processes 2; daemon off; pid {logs}/nginx.pid; error_log {logs}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{ access_log off; client_body_temp_path {logs}/body; proxy_temp_path {logs}/p;\n\
             fastcgi_temp_path {logs}/f; uwsgi_temp_path {logs}/u; scgi_temp_path {logs}/s;\n\
             server {{ listen 127.0.0.1:{port}; root {www}; }} }}\n"
        );
        let conf_path = dir.join(if boxed_server {
            "boxed.conf"
        } else {
            "native.conf"
        });
        std::fs::write(&conf_path, conf).unwrap();
        let c = conf_path.to_str().unwrap().to_string();
        let rule = format!("tcp:127.0.0.1:{port}");
        let www_host = dir.join("www").to_str().unwrap().to_string();
        let logs_host = dir.join("logs-boxed").to_str().unwrap().to_string();
        let mut cmd: Vec<&str> = if boxed_server {
            let mut v = vec![PICOBOX, "run", "--allow-bind", &rule];
            v.extend_from_slice(&[
                "--ro-bind",
                &www_host,
                "/www",
                "--bind",
                &logs_host,
                "/logs",
            ]);
            v.extend_from_slice(&[
                "--ro-bind",
                &c,
                &c,
                "--",
                "nginx",
                "-c",
                &c,
                "-e",
                "/logs/e.log",
            ]);
            v
        } else {
            vec!["nginx", "-c", &c, "-e", "/dev/null"]
        };
        let mut server = Command::new(cmd.remove(0))
            .args(&cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        let rate = http_load(port, 4, std::time::Duration::from_secs(3));
        // SIGTERM: nginx's master ends its workers, then itself (a SIGKILLed master leaves
        // its native workers running); a box's monitor passes it on to the box.
        let _ = Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status();
        let _ = server.wait();
        rate
    };
    let native = measure(false);
    let pico = measure(true);
    println!("\nnginx, 2 workers, 4 keep-alive clients on loopback, 3 s each");
    println!("  native            {native:>9.0} req/s");
    println!(
        "  picobox           {pico:>9.0} req/s   {:.2} of native",
        pico / native
    );
}

/// Keep-alive GET / requests from `clients` threads for `time`; returns requests per second.
/// A client reconnects when the server ends a connection (nginx does after 1000 requests).
fn http_load(port: u16, clients: usize, time: std::time::Duration) -> f64 {
    use std::io::{Read, Write};
    /// One request and its response; `None` if the connection ended.
    fn exchange(s: &mut std::net::TcpStream, buf: &mut [u8]) -> Option<()> {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
        let mut got = Vec::new();
        loop {
            let n = s.read(buf).ok().filter(|n| *n > 0)?;
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    return Some(());
                }
            }
        }
    }
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || {
                let connect = || {
                    let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_nodelay(true).unwrap();
                    s
                };
                let mut s = connect();
                let mut buf = vec![0u8; 4096];
                let mut done = 0u64;
                while start.elapsed() < time {
                    match exchange(&mut s, &mut buf) {
                        Some(()) => done += 1,
                        None => s = connect(),
                    }
                }
                done
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

/// Whether the benchmarks run as root (then boxes get cgroups).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}
