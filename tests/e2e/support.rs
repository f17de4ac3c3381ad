//! Helpers: where the binaries are, building guest programs, running natively and boxed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `picobox` command under test.
pub fn picobox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picobox"))
}

/// Where [`scratch`] makes the directory `name` (to look inside it after a run).
pub fn scratch_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(name)
}

/// A fresh empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = scratch_path(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds `tests/guests/NAME.c` with `gcc -static` once per test run; returns the binary.
pub fn guest(name: &str) -> PathBuf {
    guest_with(name, &[])
}

/// As [`guest`], with extra compiler flags.
pub fn guest_with(name: &str, flags: &[&str]) -> PathBuf {
    build_guest("gcc", name, name, flags)
}

/// As [`guest_with`], with musl's C library (`musl-gcc`, from musl-tools) instead of glibc.
pub fn musl_guest(name: &str, flags: &[&str]) -> PathBuf {
    build_guest("musl-gcc", name, &format!("{name}-musl"), flags)
}

fn build_guest(compiler: &str, name: &str, binary: &str, flags: &[&str]) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("guests")
        .join(binary);
    let lock = BUILT.get_or_init(Default::default);
    let mut built = lock.lock().unwrap();
    if !built.iter().any(|n| n == binary) {
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/guests")
            .join(format!("{name}.c"));
        let status = Command::new(compiler)
            .args(["-static", "-O1"])
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .expect("gcc");
        assert!(status.success(), "{compiler} -static failed for {name}");
        built.push(binary.to_string());
    }
    out
}

/// The static busybox from Debian's busybox-static.
pub fn busybox() -> &'static str {
    let path = "/bin/busybox";
    assert!(
        Path::new(path).exists(),
        "install busybox-static (see .ci/run)"
    );
    path
}

/// Runs `program args` in `dir` natively, with an empty environment but `PATH`.
pub fn native(dir: &Path, program: &Path, args: &[&str]) -> Output {
    native_with(dir, &[], program.as_os_str(), args)
}

/// As [`native`], with the variables `env` set too.
pub fn native_with(
    dir: &Path,
    env: &[(&str, &str)],
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
        )
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Runs the same inside a box that sees the host read-only and `dir` writable at the same path.
pub fn boxed(dir: &Path, program: &Path, args: &[&str]) -> Output {
    boxed_with(&[], dir, program, args)
}

/// As [`boxed`], with more `picobox run` flags.
pub fn boxed_with(flags: &[&str], dir: &Path, program: &Path, args: &[&str]) -> Output {
    let d = dir.to_str().unwrap();
    picobox()
        .args(["run", "--ro-bind", "/", "/", "--bind", d, d, "--chdir", d])
        .args(flags)
        .arg("--")
        .arg(program)
        .args(args)
        .output()
        .unwrap()
}

/// `picobox run` flags that show the host file `program` read-only at the same path in the box
/// (a program is found in the box's own view).
pub fn show(program: &Path) -> [String; 3] {
    let p = program.to_str().unwrap().to_string();
    ["--ro-bind".into(), p.clone(), p]
}

/// Output as text for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that native and boxed runs agree on exit status and standard output.
pub fn assert_same(what: &str, native: &Output, boxed: &Output) {
    assert_eq!(
        boxed.status.code(),
        native.status.code(),
        "{what}: exit status differs\nboxed stderr: {}",
        text(&boxed.stderr)
    );
    assert_eq!(
        text(&boxed.stdout),
        text(&native.stdout),
        "{what}: stdout differs\nboxed stderr: {}",
        text(&boxed.stderr)
    );
}

/// Builds the Go program in `tests/guests/NAME/` (static, with Debian's golang-go) once.
pub fn go_guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("guests")
        .join(name);
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if !built.iter().any(|n| n == name) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/guests")
            .join(name);
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-mod=mod")
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"),
            )
            .status()
            .expect("go is missing: install golang-go (scripts/test does)");
        assert!(status.success(), "go build failed for {name}");
        built.push(name.to_string());
    }
    out
}

/// Runs `program args` natively (which must succeed) and in a box (see [`boxed_with`]), each
/// in a scratch directory of its own named after `what`, and asserts the two agree.
pub fn assert_matches_native(what: &str, flags: &[&str], program: &Path, args: &[&str]) {
    let n = scratch(&format!("{what}-native"));
    let b = scratch(&format!("{what}-boxed"));
    let native_out = native(&n, program, args);
    assert!(
        native_out.status.success(),
        "{what}: the native run failed: {}",
        text(&native_out.stderr)
    );
    assert_same(what, &native_out, &boxed_with(flags, &b, program, args));
}

/// The user and group the tests run as (what a box reports as its own).
pub fn own_ids() -> (u32, u32) {
    // SAFETY: getuid and getgid have no preconditions and cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() == 0 }
}

/// Sends SIGTERM to process `pid` (a box's monitor passes it on to the box).
pub fn terminate(pid: u32) {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
}

/// A box started in the background, whose program has printed its first line; ended (with
/// SIGTERM to its monitor) when dropped, however the test ends.
pub struct Running(pub std::process::Child);

impl Running {
    /// Starts `cmd` (a `picobox run` command) and waits for its program's first line, which
    /// must be `ready`.
    pub fn start(mut cmd: Command, ready: &str) -> Running {
        let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let running = Running(child);
        assert_eq!(line, ready);
        running
    }

    /// The monitor's pid.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        terminate(self.0.id());
        let _ = self.0.wait();
    }
}

/// A directory removed when dropped, even by a failing test's unwinding.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies `program` into a fresh directory of /tmp that an unprivileged user can reach
/// wherever the checkout lives; returns a command running it there natively, as uid 65534
/// when the tests run as root (its calls may name random paths), and the directory (removed
/// when dropped).
pub fn native_as_nobody(name: &str, program: &Path) -> (Command, TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("picobox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let copy = dir.join(program.file_name().unwrap());
    std::fs::copy(program, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy);
        c
    } else {
        Command::new(&copy)
    };
    cmd.current_dir(&dir);
    (cmd, TempDir(dir))
}

/// `picobox run --bind DIR /w --chdir /w -- program args`, with a fresh scratch `DIR`.
pub fn boxed_in_scratch(name: &str, program: &Path, args: &[&str]) -> Output {
    let dir = scratch(name);
    picobox()
        .args([
            "run",
            "--bind",
            dir.to_str().unwrap(),
            "/w",
            "--chdir",
            "/w",
        ])
        .args(show(program))
        .arg("--")
        .arg(program)
        .args(args)
        .output()
        .unwrap()
}

/// The entries of `dir` that a box whose monitor was `pid` named (`picobox-<pid>-...`).
pub fn entries_of_box(dir: &Path, pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("picobox-{pid}-"))
        })
        .map(|e| e.path())
        .collect()
}

/// A TCP port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `curl -s` of `http://ADDR/PATH` from the host, giving up after 5 seconds.
pub fn curl(addr: &str, path: &str) -> Output {
    Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .arg(format!("http://{addr}{path}"))
        .output()
        .unwrap()
}

/// Retries `curl` of `path` until it succeeds or 15 seconds pass (a server is starting).
pub fn curl_when_up(addr: &str, path: &str) -> Output {
    let start = std::time::Instant::now();
    loop {
        let out = curl(addr, path);
        if out.status.success() || start.elapsed() > std::time::Duration::from_secs(15) {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Makes in `dir` an nginx site for the box: `www` (its `index.html` says "hello from
/// nginx"), `conf/nginx.conf` (two workers, listening on `addr`, serving `/www`) and `logs`
/// (its pid file, logs and temporary files), to be mounted at `/www`, `/conf` and `/logs`.
pub fn nginx_site(dir: &Path, addr: &str) {
    for d in ["www", "logs", "conf"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(dir.join("www/index.html"), "hello from nginx\n").unwrap();
    std::fs::write(
        dir.join("conf/nginx.conf"),
        format!(
            "worker_processes 2;\ndaemon off;\npid /logs/nginx.pid;\nerror_log /logs/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log /logs/access.log;\n  client_body_temp_path /logs/body;\n\
               proxy_temp_path /logs/proxy;\n  fastcgi_temp_path /logs/fastcgi;\n\
               uwsgi_temp_path /logs/uwsgi;\n  scgi_temp_path /logs/scgi;\n\
               server {{ listen {addr}; root /www; }}\n}}\n"
        ),
    )
    .unwrap();
}
