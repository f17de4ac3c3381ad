//! Snapshot and restore (issue 10, section 7): snapshot time, size and restore time for 10 MiB
//! and 100 MiB of touched heap; 100 boxes restored from one snapshot (time to start them all,
//! their private memory and PSS); the same program under gVisor's `runsc checkpoint` and
//! `runsc restore` (`--platform=ptrace`) and under CRIU (`criu dump`, `criu restore`) where
//! a working one is installed, measured in the same run. Snapshots go to /dev/shm (tmpfs).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PICOBOX: &str = env!("CARGO_BIN_EXE_picobox");
const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A box (or restored box) answering lines on a pipe.
struct Talk {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Talk {
    fn spawn(mut cmd: Command) -> Talk {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Talk { child, out }
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.out.read_line(&mut l).unwrap();
        l
    }
    fn ask(&mut self) -> String {
        writeln!(self.child.stdin.as_mut().unwrap(), "x").unwrap();
        self.line()
    }
    fn end(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A box running the heap program with `mib` MiB, named `id`, once it is ready.
fn heap_box(heap: &Path, id: &str, mib: u64) -> Talk {
    let h = heap.to_str().unwrap();
    let mut cmd = Command::new(PICOBOX);
    cmd.args(["run", "--name", id, "--ro-bind", h, h, "--", h])
        .arg(mib.to_string());
    let mut t = Talk::spawn(cmd);
    assert_eq!(t.line(), "ready\n");
    t
}

fn snapshot_ms(id: &str, file: &Path) -> f64 {
    let t = Instant::now();
    let st = Command::new(PICOBOX)
        .args(["snapshot", id, "-o"])
        .arg(file)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "picobox snapshot failed");
    t.elapsed().as_secs_f64() * 1e3
}

/// Time from `picobox restore FILE` until the restored heap program has answered one line.
fn restore_to_answer(file: &Path) -> f64 {
    let t = Instant::now();
    let mut r = Talk::spawn({
        let mut c = Command::new(PICOBOX);
        c.arg("restore").arg(file);
        c
    });
    let got = r.ask();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(got.starts_with("ok "), "{got}");
    r.end();
    ms
}

/// Median time to write `bytes` (not zeros) to a new file in `dir` and close it: what any
/// snapshot of that size to that filesystem pays at least (on this machine, mostly the first
/// touch of memory the host has taken back).
fn new_file_ms(dir: &Path, bytes: u64) -> f64 {
    use std::io::Write as _;
    let piece: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + 1) as u8).collect();
    let path = dir.join("floor");
    let times = (0..ROUNDS)
        .map(|_| {
            let _ = std::fs::remove_file(&path);
            let t = Instant::now();
            let mut f = std::fs::File::create(&path).unwrap();
            let mut left = bytes as usize;
            while left > 0 {
                let n = left.min(piece.len());
                f.write_all(&piece[..n]).unwrap();
                left -= n;
            }
            drop(f);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let _ = std::fs::remove_file(&path);
    median(times)
}

/// Private (clean + dirty) and proportional set size of process `pid`, in KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        field("Private_Clean:") + field("Private_Dirty:"),
        field("Pss:"),
    )
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The monitor, the reaper and the program of a box whose monitor is `pid`.
fn box_processes(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    for c in children(pid) {
        all.push(c);
        all.extend(children(c));
    }
    all
}

pub fn snapshots(heap: &Path) {
    println!("\nsnapshot and restore (to /dev/shm; median of {ROUNDS})");
    let dir = PathBuf::from("/dev/shm").join(format!("picobox-bench-snap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for mib in [10u64, 100] {
        let file = dir.join(format!("heap{mib}.snap"));
        let (mut snap, mut copied, mut answer, mut restore) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut size = 0;
        for round in 0..ROUNDS {
            let id = format!("bench-snap-{mib}-{round}");
            let b = heap_box(heap, &id, mib);
            snap.push(snapshot_ms(&id, &file));
            b.end();
            size = std::fs::metadata(&file).unwrap().len();
            // Restore until the program runs (it answers one line, reading one word per page):
            // of the file as the snapshot wrote it (its pages were summed as they were
            // written: not read again), of a copy of it (another file, as one migrated
            // here: every page checked first), and until it has exited on end of input
            // without touching its heap.
            answer.push(restore_to_answer(&file));
            let copy = dir.join(format!("heap{mib}-copy.snap"));
            std::fs::copy(&file, &copy).unwrap();
            copied.push(restore_to_answer(&copy));
            let _ = std::fs::remove_file(&copy);
            let t = Instant::now();
            let st = Command::new(PICOBOX)
                .arg("restore")
                .arg(&file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
            restore.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "  picobox {mib:>3} MiB heap   snapshot {:>7.1} ms  size {:>6.1} MiB  restore to first answer {:>6.1} ms (the file as written), {:>6.1} ms (a copy of it, every page checked); restore+exit {:>6.1} ms",
            median(snap),
            size as f64 / 1048576.0,
            median(answer),
            median(copied),
            median(restore)
        );
        println!(
            "    floor here: writing {:.1} MiB to a new file in /dev/shm takes {:.1} ms",
            size as f64 / 1048576.0,
            new_file_ms(&dir, size)
        );
        runsc(heap, mib);
        criu(heap, mib);
    }
    clones(heap, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 100 boxes restored from one snapshot of a 10 MiB heap: time until all have answered, and
/// their memory once idle.
fn clones(heap: &Path, dir: &Path) {
    let file = dir.join("clones.snap");
    let b = heap_box(heap, "bench-clones", 10);
    snapshot_ms("bench-clones", &file);
    b.end();
    let t = Instant::now();
    let mut boxes: Vec<Talk> = (0..100)
        .map(|_| {
            let mut c = Command::new(PICOBOX);
            c.arg("restore").arg(&file);
            let mut t = Talk::spawn(c);
            writeln!(t.child.stdin.as_mut().unwrap(), "x").unwrap();
            t
        })
        .collect();
    for b in &mut boxes {
        assert!(b.line().starts_with("ok "));
    }
    let all = t.elapsed().as_secs_f64() * 1e3;
    std::thread::sleep(Duration::from_millis(200));
    let (mut program_private, mut program_pss, mut box_private, mut box_pss) = (0, 0, 0, 0);
    for b in &boxes {
        let procs = box_processes(b.child.id());
        for (i, p) in procs.iter().enumerate() {
            let (private, pss) = memory_of(*p);
            box_private += private;
            box_pss += pss;
            if i == procs.len() - 1 {
                program_private += private;
                program_pss += pss;
            }
        }
    }
    println!(
        "  100 clones of a 10 MiB box: all answered after {all:.0} ms ({:.2} ms each, started one after another)",
        all / 100.0
    );
    println!(
        "    per clone, program process: private {:.0} KiB, PSS {:.0} KiB; whole box (monitor, reaper, program): private {:.0} KiB, PSS {:.0} KiB",
        program_private as f64 / 100.0,
        program_pss as f64 / 100.0,
        box_private as f64 / 100.0,
        box_pss as f64 / 100.0
    );
    for b in boxes {
        b.end();
    }
}

/// Bytes of the files in directory `dir`.
fn bytes_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn runsc(heap: &Path, mib: u64) {
    if !super::have("runsc") || !super::running_as_root() {
        println!("  runsc {mib:>3} MiB heap     not measured (needs runsc and root)");
        return;
    }
    let bundle = std::env::temp_dir().join(format!("picobox-bench-runsc-{}", std::process::id()));
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    std::fs::copy(heap, rootfs.join("heap")).unwrap();
    let spec = Command::new("runsc")
        .current_dir(&bundle)
        .args(["spec", "--", "/heap", &mib.to_string(), "pause"])
        .status()
        .unwrap();
    assert!(spec.success());
    let config = bundle.join("config.json");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"terminal\": true", "\"terminal\": false");
    std::fs::write(&config, text).unwrap();
    let runsc = |args: &[&str]| -> (bool, f64) {
        let t = Instant::now();
        let ok = Command::new("runsc")
            .args(["--platform=ptrace", "--network=none"])
            .args(args)
            .current_dir(&bundle)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (ok, t.elapsed().as_secs_f64() * 1e3)
    };
    let image = std::path::PathBuf::from("/dev/shm")
        .join(format!("picobox-bench-runsc-img-{}", std::process::id()));
    let (mut ck, mut rs) = (Vec::new(), Vec::new());
    let mut size = 0u64;
    for round in 0..3 {
        let id = format!("picobox-bench-{}-{mib}-{round}", std::process::id());
        let _ = std::fs::remove_dir_all(&image);
        if !runsc(&["run", "-detach", &id]).0 {
            println!("  runsc {mib:>3} MiB heap     runsc run failed");
            break;
        }
        // The heap is filled at about 1 GiB/s; give it time to be ready.
        std::thread::sleep(Duration::from_millis(500 + mib * 10));
        let (ok, ms) = runsc(&[
            "checkpoint",
            &format!("--image-path={}", image.display()),
            &id,
        ]);
        if ok {
            ck.push(ms);
            size = bytes_in(&image);
            runsc(&["delete", &id]);
            let (ok, ms) = runsc(&[
                "restore",
                "-detach",
                &format!("--image-path={}", image.display()),
                &id,
            ]);
            if ok {
                rs.push(ms);
            }
        }
        runsc(&["kill", &id, "KILL"]);
        std::thread::sleep(Duration::from_millis(200));
        runsc(&["delete", "-force", &id]);
    }
    let _ = std::fs::remove_dir_all(&image);
    let _ = std::fs::remove_dir_all(&bundle);
    if ck.is_empty() || rs.is_empty() {
        println!("  runsc {mib:>3} MiB heap     checkpoint or restore failed here");
        return;
    }
    println!(
        "  runsc   {mib:>3} MiB heap   checkpoint {:>5.1} ms  size {:>6.1} MiB  restore -detach {:>6.1} ms",
        median(ck),
        size as f64 / 1048576.0,
        median(rs)
    );
}

/// A CRIU that works on this kernel: `PICOBOX_BENCH_CRIU`, else `criu` on the PATH, if
/// `criu check` passes.
fn working_criu() -> Option<String> {
    let candidates = [
        std::env::var("PICOBOX_BENCH_CRIU").ok(),
        Some("criu".to_string()),
    ];
    candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("check")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn criu(heap: &Path, mib: u64) {
    if !super::running_as_root() {
        println!("  criu    {mib:>3} MiB heap   not measured (needs root)");
        return;
    }
    let Some(criu) = working_criu() else {
        println!(
            "  criu    {mib:>3} MiB heap   not measured: no CRIU passes `criu check` on this kernel (Debian 12's 3.17 fails; set PICOBOX_BENCH_CRIU to a newer build)"
        );
        return;
    };
    let images = std::path::PathBuf::from("/dev/shm")
        .join(format!("picobox-bench-criu-{}", std::process::id()));
    let (mut dump, mut restore) = (Vec::new(), Vec::new());
    let mut size = 0u64;
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&images);
        std::fs::create_dir_all(&images).unwrap();
        // A session of its own, no terminal: what CRIU dumps without --shell-job.
        let mut child = Command::new("setsid")
            .arg(heap)
            .arg(mib.to_string())
            .arg("pause")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = child.id().to_string();
        let d = images.to_str().unwrap();
        let t = Instant::now();
        let ok = Command::new(&criu)
            .args(["dump", "-t", &pid, "-D", d, "-o", "dump.log"])
            .status()
            .is_ok_and(|s| s.success());
        let _ = child.wait();
        if !ok {
            println!("  criu    {mib:>3} MiB heap   criu dump failed (see {d}/dump.log)");
            return;
        }
        dump.push(t.elapsed().as_secs_f64() * 1e3);
        size = bytes_in(&images);
        let t = Instant::now();
        let ok = Command::new(&criu)
            .args(["restore", "-D", d, "-d", "-o", "restore.log"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("  criu    {mib:>3} MiB heap   criu restore failed (see {d}/restore.log)");
            return;
        }
        restore.push(t.elapsed().as_secs_f64() * 1e3);
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
    let _ = std::fs::remove_dir_all(&images);
    println!(
        "  criu    {mib:>3} MiB heap   dump {:>7.1} ms  size {:>6.1} MiB  restore -d {:>6.1} ms",
        median(dump),
        size as f64 / 1048576.0,
        median(restore)
    );
}
