//! picobox benchmarks: `cargo bench -p picobox`. Every figure is measured in this run, for
//! picobox, the native program and (where installed) bubblewrap, and printed with ratios.
//! Nothing here passes or fails on timings.
//!
//! Environment: `PICOBOX_BENCH_READ_MIB` (default 1024) sets the size of the read benchmark.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

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

fn boxed<'a>(extra: &[&'a str], prog: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![PICOBOX, "run"];
    v.extend_from_slice(extra);
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
