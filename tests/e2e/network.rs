//! Networking: sockets inside a box's own network match native runs, and a server in a box
//! is reachable from outside only on a port the box was given.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn sockets_inside_the_box_match_native() {
    assert_matches_native("net", &["--net", "loopback"], &guest("net"), &[]);
}

/// Ends a box as a user would (SIGTERM to `picobox`, which passes it on and cleans up).
fn stop(monitor: &mut std::process::Child) {
    // SAFETY: a plain kill of our own child process.
    unsafe { libc::kill(monitor.id() as i32, libc::SIGTERM) };
    let status = monitor.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "picobox reports the box's death by SIGTERM"
    );
}

/// `picobox run POLICY -- busybox httpd` serving `root` on 127.0.0.1:`port`, in the foreground.
fn httpd(policy: &[&str], port: u16, root: &str) -> std::process::Command {
    let mut c = picobox();
    c.arg("run").args(policy).arg("--").args([
        busybox(),
        "httpd",
        "-f",
        "-p",
        &format!("127.0.0.1:{port}"),
        "-h",
        root,
    ]);
    c
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn busybox_httpd_in_a_box_serves_an_allowed_port() {
    let site = scratch("httpd-site");
    std::fs::write(site.join("index.html"), "served from inside the box\n").unwrap();
    let port = free_port();
    let policy = [
        "--allow-bind",
        &format!("tcp:127.0.0.1:{port}"),
        "--ro-bind",
        site.to_str().unwrap(),
        "/www",
    ];
    let mut server = httpd(&policy, port, "/www").spawn().unwrap();
    let start = Instant::now();
    let mut reply = None;
    while reply.is_none() && start.elapsed() < Duration::from_secs(10) {
        reply = http_get(port, "/index.html");
        std::thread::sleep(Duration::from_millis(20));
    }
    let missing = http_get(port, "/nothing-here");
    stop(&mut server);
    let reply = reply.expect("the box's httpd never answered");
    assert!(
        reply.starts_with("HTTP/1.1 200 OK") || reply.starts_with("HTTP/1.0 200 OK"),
        "{reply}"
    );
    assert!(reply.ends_with("served from inside the box\n"), "{reply}");
    assert!(missing.unwrap_or_default().contains(" 404 "));
}

#[test]
fn busybox_nc_in_a_box_serves_an_allowed_port() {
    let port = free_port();
    let mut server = picobox()
        .args([
            "run",
            "--allow-bind",
            &format!("tcp:0.0.0.0:{port}"),
            "--ro-bind",
            "/bin",
            "/bin",
            "--",
        ])
        .args([
            busybox(),
            "nc",
            "-l",
            "-p",
            &port.to_string(),
            "-e",
            busybox(),
            "echo",
            "hello from nc in the box",
        ])
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut reply = None;
    while reply.is_none() && start.elapsed() < Duration::from_secs(10) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            reply = Some(out);
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let status = server.wait().unwrap();
    assert_eq!(
        reply.as_deref(),
        Some("hello from nc in the box\n"),
        "the box's nc never answered"
    );
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_server_on_a_port_not_allowed_cannot_listen() {
    let port = free_port();
    let policy = ["--allow-bind", &format!("tcp:127.0.0.1:{}", free_port())];
    let out = httpd(&policy, port, "/").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bind: Permission denied"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_server_in_an_isolated_box_is_not_reachable_from_outside() {
    let port = free_port();
    let mut server = httpd(&["--net", "loopback"], port, "/").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let reached = TcpStream::connect(("127.0.0.1", port)).is_ok();
    let still_running = server.try_wait().unwrap().is_none();
    stop(&mut server);
    assert!(still_running, "the box's server did not start");
    assert!(
        !reached,
        "a box with a network of its own was reachable from the host"
    );
}

#[test]
fn go_program_with_many_goroutines_matches_native() {
    let prog = go_guest("goweb");
    let n = scratch("go-native");
    let b = scratch("go-boxed");
    let native_out = native(&n, &prog, &["compute"]);
    assert!(native_out.status.success(), "{}", text(&native_out.stderr));
    assert_same(
        "goweb compute",
        &native_out,
        &boxed(&b, &prog, &["compute"]),
    );
}

#[test]
fn go_http_server_in_a_box_answers_curl() {
    let prog = go_guest("goweb");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = picobox()
        .args(["run", "--allow-bind", &format!("tcp:{addr}")])
        .args(show(&prog))
        .arg("--")
        .arg(&prog)
        .arg(&addr)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut first = curl(&addr, "/first");
    while !first.status.success() && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
        first = curl(&addr, "/first");
    }
    // Bursts of concurrent clients: each gets an answer. (Regression: an edge-triggered epoll
    // wait that had left the listener out never woke for later connections.)
    let clients: Vec<_> = (0..120)
        .map(|i| {
            let addr = addr.clone();
            if i % 40 == 39 {
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::spawn(move || text(&curl(&addr, &format!("/c{i}")).stdout))
        })
        .collect();
    let concurrent: Vec<String> = clients.into_iter().map(|h| h.join().unwrap()).collect();
    stop(&mut server);
    assert_eq!(
        text(&first.stdout),
        "hello from go, request 1, path /first\n"
    );
    for (i, answer) in concurrent.iter().enumerate() {
        assert!(
            answer.starts_with("hello from go, request ")
                && answer.ends_with(&format!("path /c{i}\n")),
            "{answer}"
        );
    }
}

/// `curl -s http://ADDR/PATH`.

#[test]
fn unix_sockets_between_processes_match_native() {
    assert_matches_native("unixsock", &[], &guest("unixsock"), &[]);
}
