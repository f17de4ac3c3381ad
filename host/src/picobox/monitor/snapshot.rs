//! `picobox snapshot`: the monitor's side (docs/snapshot.md). A running box's monitor listens
//! on a socket beside its registry record (`ID.sock`, in the registry directory only its user
//! may enter); `picobox snapshot ID -o PATH` connects there and passes the open output file.
//! The monitor then freezes the box's program process (`pal/freeze.rs`: its threads park at
//! safe points and its last thread reports what its host descriptors are), reads the
//! process's memory map, page residency and memory from `/proc` (it may: the box's user
//! namespace is the monitor's), and writes the snapshot: the metadata (`snapshot_meta`) and
//! the non-zero pages of every private and shared range (`snapshot_format`). The runtime's
//! own code is not copied: a restore maps it from the `picobox` binary, whose build the file
//! names. Then the box resumes (`--leave-running`) or ends.
//!
//! Host objects the library OS does not name are read from the host: a pipe whose two ends
//! the process holds (its bytes are taken out through copies of its ends, `pidfd_getfd`, and
//! put back if the box goes on), an eventfd (its counter, from `fdinfo`) and a listening TCP
//! socket (family, address, options, through a copy of it).
//!
//! What cannot be captured yet is refused before anything is written, with the process and
//! the object named, and the box keeps running: a box of several processes, any other host
//! descriptor (sockets, other event files), a shared mapping of a writable file, POSIX timers
//! and the other objects `picobox_libos::snapshot_handles` lists.

use crate::hostio::{self, close, decimal, hex, now_ms, read_file, sys, write_all};
use crate::snapshot_format::Writer;
use crate::snapshot_meta::{
    HandleKind, HandleRecord, MapKind, Mapping, Metadata, PipeRecord, Process, Report,
};
use crate::unix_sockets;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const AF_UNIX: u64 = 1;
const SOCK_SEQPACKET: u64 = 5;
const SOCK_CLOEXEC: u64 = 0o2000000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
const SOL_SOCKET: u64 = 1;
const SO_PEERCRED: u64 = 17;
const PAGE: u64 = 4096;
/// How long the program may take to reach a point where it can be frozen.
const FREEZE_TIMEOUT_MS: u64 = 3000;
/// Snapshots above this get a progress line on the caller's terminal.
const PROGRESS_ABOVE: u64 = 64 << 20;

/// The request byte of `picobox snapshot` (then `LEAVE_RUNNING` or `END_BOX`).
const REQUEST: u8 = b's';
const LEAVE_RUNNING: u8 = b'l';
const END_BOX: u8 = b'e';

/// `struct sockaddr_un` for `path`, and its length; `None` if the path is too long.
fn unix_address(path: &[u8]) -> Option<([u8; 110], u64)> {
    if path.len() >= 108 {
        return None;
    }
    let mut a = [0u8; 110];
    a[0] = AF_UNIX as u8;
    a[2..2 + path.len()].copy_from_slice(path);
    Some((a, (2 + path.len() + 1) as u64))
}

/// What the monitor knows of its box for a snapshot.
pub struct BoxHandle {
    /// The box's first process (host pid): the reaper, or the program with `--as-pid-1`.
    pub first: u64,
    /// Whether the program is the first process (`--as-pid-1`).
    pub as_pid_1: bool,
    /// The monitor's end of the snapshot channel.
    pub channel: u64,
    /// The `picobox run` arguments, recorded in the snapshot.
    pub run_args: Vec<Vec<u8>>,
    /// The boot indexes of the box's own tmpfs mounts, whose files the snapshot carries.
    pub tmpfs_mounts: Vec<u32>,
    /// Whether the box has a network namespace of its own, where both ends of every TCP
    /// connection are the box's (`tcp_repair.rs`).
    pub own_network: bool,
    /// The root of the box's POSIX message queue file system, if it has one (`mqueues.rs`).
    pub mqueue: Option<u64>,
}

/// Makes the monitor's listening socket at `path` (removed by the caller when the box ends).
pub fn listen(path: &[u8]) -> Result<u64, String> {
    let (addr, len) = unix_address(path).ok_or("the registry path is too long for a socket")?;
    let s = sys(41, [AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, 0, 0, 0])
        .map_err(|e| format!("cannot make the box's control socket: {e}"))?;
    let p = hostio::c_str(path);
    let _ = sys(87, [p.as_ptr() as u64, 0, 0, 0, 0, 0]);
    let r =
        sys(49, [s, addr.as_ptr() as u64, len, 0, 0, 0]).and_then(|_| sys(50, [s, 4, 0, 0, 0, 0]));
    if let Err(e) = r {
        close(s);
        return Err(format!("cannot make the box's control socket: {e}"));
    }
    Ok(s)
}

/// In the monitor: one `picobox snapshot` connection on `listener`, served to its end;
/// `answer_for` answers the box's brokered calls for some milliseconds, between tries.
/// Returns whether the box was ended by it (its snapshot is written).
pub fn serve_one(listener: u64, b: &BoxHandle, answer_for: &dyn Fn(u64)) -> bool {
    let Ok(conn) = sys(288, [listener, 0, 0, SOCK_CLOEXEC, 0, 0]) else {
        return false;
    };
    let ended = match receive_request(conn) {
        Ok((output, leave_running)) => {
            let started = now_ms();
            let result = capture(b, output, conn, leave_running, answer_for);
            close(output);
            let reply = match &result {
                Ok(bytes) => format!("ok {bytes} {}", now_ms() - started),
                Err(msg) => format!("error {msg}"),
            };
            let _ = write_all(conn, reply.as_bytes());
            result.is_ok() && !leave_running
        }
        Err(msg) => {
            let _ = write_all(conn, format!("error {msg}").as_bytes());
            false
        }
    };
    close(conn);
    ended
}

/// The caller's request: its output descriptor and whether the box goes on running. Only the
/// monitor's own user (or root) may ask.
fn receive_request(conn: u64) -> Result<(u64, bool), String> {
    let mut cred = [0u32; 3];
    let mut len: u32 = 12;
    sys(
        55,
        [
            conn,
            SOL_SOCKET,
            SO_PEERCRED,
            cred.as_mut_ptr() as u64,
            &raw mut len as u64,
            0,
        ],
    )
    .map_err(|e| format!("cannot identify the caller: {e}"))?;
    let me = crate::gate::syscall(107, [0; 6]) as u32;
    if cred[1] != me && cred[1] != 0 {
        return Err("only the box's own user may snapshot it".into());
    }
    let mut control = [0u8; 24];
    let mut bytes = [0u8; 2];
    let iov: [u64; 2] = [bytes.as_mut_ptr() as u64, 2];
    let msg: [u64; 7] = [
        0,
        0,
        iov.as_ptr() as u64,
        1,
        control.as_mut_ptr() as u64,
        24,
        0,
    ];
    let n = sys(47, [conn, msg.as_ptr() as u64, MSG_CMSG_CLOEXEC, 0, 0, 0])
        .map_err(|e| format!("cannot read the request: {e}"))?;
    let level = u32::from_ne_bytes([control[8], control[9], control[10], control[11]]);
    let kind = u32::from_ne_bytes([control[12], control[13], control[14], control[15]]);
    if n != 2 || bytes[0] != REQUEST || level != 1 || kind != 1 {
        return Err("malformed request".into());
    }
    let fd = u32::from_ne_bytes([control[16], control[17], control[18], control[19]]);
    Ok((u64::from(fd), bytes[1] == LEAVE_RUNNING))
}

/// The host pids of `pid`'s children.
fn children(pid: u64) -> Vec<u64> {
    let text = read_file(
        format!("/proc/{pid}/task/{pid}/children").as_bytes(),
        1 << 20,
    )
    .unwrap_or_default();
    text.split(|b| *b == b' ')
        .filter_map(decimal)
        .collect::<Vec<_>>()
}

fn queue_signal(pid: u64, value: u64) {
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&64i32.to_le_bytes());
    info[8..12].copy_from_slice(&(-1i32).to_le_bytes());
    info[24..32].copy_from_slice(&value.to_le_bytes());
    let _ = sys(129, [pid, 64, info.as_ptr() as u64, 0, 0, 0]);
}

/// A process of the box, as the host sees it.
struct Member {
    /// Its host pid.
    host: u64,
    /// Its pid, process group and session in the box (0: outside the box).
    pid: u32,
    pgid: u32,
    sid: u32,
    /// Its parent's host pid (0 for the program).
    parent_host: u64,
}

/// The last field of line `name` of `/proc/PID/status` (the innermost namespace's id).
fn status_field(status: &[u8], name: &[u8]) -> Option<u32> {
    let line = status
        .split(|b| *b == b'\n')
        .find_map(|l| l.strip_prefix(name))?;
    let last = line
        .split(|b| b.is_ascii_whitespace())
        .rfind(|f| !f.is_empty())?;
    decimal(last).and_then(|v| u32::try_from(v).ok())
}

/// `top` (whose parent is `parent_host`: 0 for the program, else the reaper) and its
/// descendants, parents before children; refuses a process that has ended and is not yet
/// waited for (a zombie has no threads to freeze).
fn members(top: u64, parent_host: u64) -> Result<Vec<Member>, String> {
    let mut out: Vec<Member> = Vec::new();
    let mut queue = alloc::vec![(top, parent_host)];
    while let Some((host, parent_host)) = queue.pop() {
        let status = read_file(format!("/proc/{host}/status").as_bytes(), 1 << 16)
            .map_err(|e| format!("cannot read the state of process {host}: {e}"))?;
        let pid = status_field(&status, b"NSpid:").unwrap_or(0);
        if status
            .split(|b| *b == b'\n')
            .any(|l| l.starts_with(b"State:\tZ"))
        {
            return Err(format!(
                "process {pid} of the box has ended and its parent has not waited for it yet \
                 {PASSING}"
            ));
        }
        // The box's ids of its group and session; 0 where they are outside the box.
        let nested = |name: &[u8]| {
            let line = status
                .split(|b| *b == b'\n')
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or(b"");
            let fields: Vec<&[u8]> = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .collect();
            if fields.len() >= 2 {
                fields.last().and_then(|f| decimal(f)).unwrap_or(0) as u32
            } else {
                0
            }
        };
        out.push(Member {
            host,
            pid,
            pgid: nested(b"NSpgid:"),
            sid: nested(b"NSsid:"),
            parent_host,
        });
        let mut kids = children(host);
        kids.sort_unstable();
        for k in kids.into_iter().rev() {
            queue.push((k, host));
        }
        if out.len() > 4096 {
            return Err("the box has more than 4096 processes".into());
        }
    }
    Ok(out)
}

/// The end of a refusal of a passing state: a socket between two states, descriptors in
/// flight that no process holds, a process not yet waited for, the library OS busy.
pub const PASSING: &str = "(try again)";
/// How long a snapshot refused for a passing state lets the box go on and tries again.
const PASSING_WAIT_MS: u64 = 2000;

/// Freezes the box's processes, writes the snapshot to `output`, and resumes or ends the box;
/// where what is found is passing, lets the box go on for a moment and tries again. Returns
/// the bytes written.
fn capture(
    b: &BoxHandle,
    output: u64,
    conn: u64,
    leave_running: bool,
    answer_for: &dyn Fn(u64),
) -> Result<u64, String> {
    let deadline = now_ms() + PASSING_WAIT_MS;
    loop {
        match capture_once(b, output, conn, leave_running, answer_for) {
            // The box goes on for a moment, its brokered calls answered (one of its threads
            // may wait for the monitor with its library OS's lock held).
            Err(why) if why.ends_with(PASSING) && now_ms() < deadline => answer_for(10),
            result => return result,
        }
    }
}

/// One try of `capture`: nothing is written to `output` unless the snapshot can be taken.
fn capture_once(
    b: &BoxHandle,
    output: u64,
    conn: u64,
    leave_running: bool,
    answer_for: &dyn Fn(u64),
) -> Result<u64, String> {
    let box_members = || -> Result<Vec<Member>, String> {
        if b.as_pid_1 {
            return members(b.first, 0);
        }
        // The reaper's children: the program (pid 2 in the box), and the processes whose
        // parent ended, which the reaper adopted (their parent is pid 1 in the box).
        let mut kids = children(b.first);
        kids.sort_unstable();
        let pid_of = |host: u64| {
            read_file(format!("/proc/{host}/status").as_bytes(), 1 << 16)
                .ok()
                .and_then(|s| status_field(&s, b"NSpid:"))
        };
        let Some(program) = kids.iter().copied().find(|k| pid_of(*k) == Some(2)) else {
            return Err("the box's program has ended".into());
        };
        let mut all = members(program, 0)?;
        for orphan in kids.into_iter().filter(|k| *k != program) {
            all.extend(members(orphan, b.first)?);
        }
        Ok(all)
    };
    // A process forked while the others froze was not asked: the box is let go and frozen
    // again until the processes before and after the freeze are the same.
    let mut frozen = None;
    for _ in 0..5 {
        let before = box_members()?;
        let reports = freeze(b, &before, answer_for)?;
        let after = box_members().unwrap_or_default();
        let same = after.len() == before.len()
            && after
                .iter()
                .all(|a| before.iter().any(|m| m.host == a.host));
        if same {
            frozen = Some((before, reports));
            break;
        }
        for _ in &reports {
            let _ = write_all(b.channel, &[crate::freeze::RESUME]);
        }
    }
    let Some((members, reports)) = frozen else {
        return Err("the box's processes kept changing while it was frozen: try again".into());
    };
    let result = write_snapshot(b, &members, &reports, output, conn, leave_running);
    let word = if result.is_ok() && !leave_running {
        crate::freeze::END
    } else {
        crate::freeze::RESUME
    };
    for _ in &reports {
        let _ = write_all(b.channel, &[word]);
    }
    result
}

/// Asks every process to freeze and waits for all their reports (asking again every 50 ms,
/// so that a thread that was busy in the library OS and has since blocked is interrupted
/// too), answering the box's brokered calls meanwhile (`answer_for`: a thread waiting for
/// the monitor's answer reaches its freezing point once it has it). Reports come in any
/// order: they are put in `members`' order.
fn freeze(
    b: &BoxHandle,
    members: &[Member],
    answer_for: &dyn Fn(u64),
) -> Result<Vec<Vec<u8>>, String> {
    // A stale report of an earlier, aborted freeze is dropped.
    let mut buf = alloc::vec![0u8; 1 << 20];
    while sys(45, [b.channel, buf.as_mut_ptr() as u64, 1, 0x40, 0, 0]).is_ok() {}
    let deadline = now_ms() + FREEZE_TIMEOUT_MS;
    let mut reports: Vec<Option<Vec<u8>>> = alloc::vec![None; members.len()];
    let mut received = 0;
    let give_up = |received: usize, why: String| {
        for m in members {
            queue_signal(m.host, crate::freeze::ABORT);
        }
        // Those that reported wait for a word.
        for _ in 0..received {
            let _ = write_all(b.channel, &[crate::freeze::RESUME]);
        }
        Err(why)
    };
    let mut ask = crate::freeze::FROM_MONITOR;
    loop {
        for (m, r) in members.iter().zip(&reports) {
            if r.is_none() {
                queue_signal(m.host, ask);
            }
        }
        ask = crate::freeze::REASK;
        let mut pfd = [b.channel | (1 << 32)];
        if sys(7, [pfd.as_mut_ptr() as u64, 1, 45, 0, 0, 0]) == Ok(0) {
            answer_for(5);
            let _ = sys(7, [pfd.as_mut_ptr() as u64, 1, 0, 0, 0, 0]);
        }
        // Every report that came, each one message.
        while (pfd[0] >> 48) & 1 != 0 && received < members.len() {
            let n = match sys(
                45,
                [
                    b.channel,
                    buf.as_mut_ptr() as u64,
                    buf.len() as u64,
                    0x40,
                    0,
                    0,
                ],
            ) {
                Ok(n) => n as usize,
                Err(_) => break,
            };
            received += 1;
            let pid = buf
                .get(..4)
                .map_or(0, |p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]));
            match members.iter().position(|m| m.pid == pid) {
                Some(i) if reports[i].is_none() => reports[i] = Some(buf[..n].to_vec()),
                _ => return give_up(received, "a process of the box sent a stray report".into()),
            }
            if received == members.len() {
                return Ok(reports.into_iter().flatten().collect());
            }
        }
        if (pfd[0] >> 48) & !1 != 0 {
            return give_up(received, "the box's program has ended".into());
        }
        if now_ms() > deadline {
            let late: Vec<String> = members
                .iter()
                .zip(&reports)
                .filter(|(_, r)| r.is_none())
                .map(|(m, _)| format!("{}", m.pid))
                .collect();
            return give_up(
                received,
                format!(
                    "process(es) {} did not reach a point where they can be frozen within {} s",
                    late.join(", "),
                    FREEZE_TIMEOUT_MS / 1000
                ),
            );
        }
    }
}

/// `pos:` and `flags:` (octal) of `/proc/PID/fdinfo/FD`.
fn fd_info(pid: u64, fd: u32) -> Result<(u64, u32), String> {
    let text = read_file(format!("/proc/{pid}/fdinfo/{fd}").as_bytes(), 1 << 16)
        .map_err(|e| format!("cannot read descriptor {fd}'s state: {e}"))?;
    let mut pos = 0;
    let mut flags = 0;
    for line in text.split(|b| *b == b'\n') {
        let field = |name: &[u8]| {
            line.strip_prefix(name)
                .map(|v| v.iter().copied().filter(|b| !b.is_ascii_whitespace()))
        };
        if let Some(v) = field(b"pos:") {
            pos = decimal(&v.collect::<Vec<u8>>()).unwrap_or(0);
        }
        if let Some(v) = field(b"flags:") {
            flags = v.fold(0u32, |n, d| n << 3 | u32::from(d.wrapping_sub(b'0') & 7));
        }
    }
    Ok((pos, flags))
}

/// `readlink /proc/PID/fd/FD`.
fn fd_target(pid: u64, fd: u32) -> Vec<u8> {
    let mut target = alloc::vec![0u8; 256];
    let p = hostio::c_str(format!("/proc/{pid}/fd/{fd}").as_bytes());
    let n = sys(
        89,
        [p.as_ptr() as u64, target.as_mut_ptr() as u64, 255, 0, 0, 0],
    )
    .unwrap_or(0);
    target.truncate(n as usize);
    target
}

/// A field of `/proc/PID/fdinfo/FD`, its white space taken out (`eventfd-count:` is
/// hexadecimal).
fn fd_info_field(pid: u64, fd: u32, name: &[u8]) -> Option<Vec<u8>> {
    fd_info_words(pid, fd, name).map(|words| words.concat())
}

/// The words (split at white space) of field `name` of `/proc/PID/fdinfo/FD`.
fn fd_info_words(pid: u64, fd: u32, name: &[u8]) -> Option<Vec<Vec<u8>>> {
    let text = read_file(format!("/proc/{pid}/fdinfo/{fd}").as_bytes(), 1 << 16).ok()?;
    text.split(|b| *b == b'\n').find_map(|line| {
        line.strip_prefix(name).map(|v| {
            v.split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .map(<[u8]>::to_vec)
                .collect()
        })
    })
}

/// What an IPv4 or IPv6 socket is, read through a copy of it: a listening TCP socket with
/// its address and options; a connected TCP socket as one to reset; a UDP socket, or a TCP
/// socket never connected, as one to make again; `None` for any other socket.
fn inet_socket(pidfd: u64, fd: u32, id: u64, own_network: bool) -> Option<HandleKind> {
    let copy = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]).ok()?;
    let option = |level: u64, name: u64| hostio::socket_option(copy, level, name).ok();
    // Its own address (`false`) or its peer's (`true`), if it has one.
    let address_of = |peer: bool| hostio::socket_address(copy, peer).ok();
    // The port of a `struct sockaddr_in` or `sockaddr_in6`: 0 where it is not bound.
    let bound = |a: Vec<u8>| Some(a).filter(|a| a.get(2..4).is_some_and(|p| p != [0, 0]));
    let result = (|| {
        // SO_DOMAIN, SO_TYPE, SO_PROTOCOL, SO_ACCEPTCONN
        let domain = option(1, 39)?;
        let (kind, protocol) = (option(1, 3)?, option(1, 38)?);
        if domain != 2 && domain != 10 {
            return None;
        }
        let mut options = 0u8;
        if option(1, 2) == Some(1) {
            options |= 1;
        }
        if option(1, 15) == Some(1) {
            options |= 2;
        }
        if domain == 10 && option(41, 26) == Some(1) {
            options |= 4;
        }
        if option(1, 6) == Some(1) {
            options |= 8;
        }
        // SOCK_DGRAM with IPPROTO_UDP (not ICMP's datagram sockets).
        if (kind, protocol) == (2, 17) {
            return Some(HandleKind::InetSocket {
                domain,
                udp: true,
                local: address_of(false).and_then(bound).unwrap_or_default(),
                peer: address_of(true).unwrap_or_default(),
                options,
            });
        }
        if kind != 1 {
            return None;
        }
        if option(1, 30)? != 1 {
            // An established connection of the box's own network is taken whole (by
            // `tcp_repair::capture`, once every record is known); another connected one is
            // reset on restore; one never connected (TCP_INFO's state TCP_CLOSE, no peer) is
            // made again, bound where it was.
            let state = crate::tcp_repair::tcp_info(copy).ok()?[0];
            if address_of(true).is_some() {
                if state == crate::tcp_repair::ESTABLISHED && own_network {
                    return Some(HandleKind::Established(
                        crate::snapshot_meta::TcpConnection {
                            domain,
                            ..Default::default()
                        },
                    ));
                }
                return Some(HandleKind::ResetTcp { domain });
            }
            const TCP_CLOSE: u8 = 7;
            if state != TCP_CLOSE {
                return Some(HandleKind::ResetTcp { domain });
            }
            return Some(HandleKind::InetSocket {
                domain,
                udp: false,
                local: address_of(false).and_then(bound).unwrap_or_default(),
                peer: Vec::new(),
                options: options & !8,
            });
        }
        Some(HandleKind::Listening {
            id,
            domain,
            address: address_of(false)?,
            options: options & 7,
        })
    })();
    close(copy);
    result
}

/// What a host descriptor the library OS did not name is, if a snapshot captures it: a pipe
/// end, an eventfd, a timer file, a Unix socket, or an IPv4 or IPv6 socket (their state is
/// the host kernel's, read here).
fn unnamed_kind(
    pid: u64,
    pidfd: u64,
    (fd, flags): (u32, u32),
    own_network: bool,
) -> Option<HandleKind> {
    let target = fd_target(pid, fd);
    if let Some(id) = unix_sockets::inode_of(&target) {
        let copy = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]).ok()?;
        let unix = unix_sockets::is_unix(copy);
        close(copy);
        return if unix {
            Some(HandleKind::Unix { id })
        } else {
            inet_socket(pidfd, fd, id, own_network)
        };
    }
    if let Some(rest) = target.strip_prefix(b"pipe:[") {
        let id = decimal(rest.strip_suffix(b"]")?)?;
        return Some(HandleKind::Pipe {
            id,
            write: flags & 3 == 1,
        });
    }
    if target == b"anon_inode:[timerfd]" {
        // A periodic timer that expired counts its missed periods only when it is next read
        // or asked for its time (`timerfd_gettime`, which takes nothing from the count):
        // asked here through a copy, `ticks` is every expiry not read yet.
        if let Ok(copy) = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]) {
            let mut now = [0u64; 4];
            let _ = sys(287, [copy, now.as_mut_ptr() as u64, 0, 0, 0, 0]);
            close(copy);
        }
        let field = |name: &[u8]| fd_info_field(pid, fd, name);
        // "(seconds, nanoseconds)", with the space removed.
        let pair = |v: Vec<u8>| -> Option<(u64, u32)> {
            let v = v.strip_prefix(b"(")?.strip_suffix(b")")?;
            let comma = v.iter().position(|b| *b == b',')?;
            Some((
                decimal(&v[..comma])?,
                u32::try_from(decimal(&v[comma + 1..])?).ok()?,
            ))
        };
        return Some(HandleKind::TimerFd {
            clock: u32::try_from(decimal(&field(b"clockid:")?)?).ok()?,
            ticks: decimal(&field(b"ticks:")?)?,
            value: pair(field(b"it_value:")?)?,
            interval: pair(field(b"it_interval:")?)?,
        });
    }
    if let Some(name) = target.strip_prefix(b"/") {
        let copy = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]).ok()?;
        let queue = crate::mqueues::is_queue(copy);
        close(copy);
        if queue {
            return Some(HandleKind::PosixQueue {
                name: name.to_vec(),
            });
        }
    }
    if target == b"anon_inode:[pidfd]" {
        // NSpid: the pid in each namespace from the host's down, the box's last; -1 (or
        // none) where the process is gone.
        let pids = fd_info_words(pid, fd, b"NSpid:")?;
        let box_pid = pids.last()?;
        const PIDFD_THREAD: u32 = 0o200;
        return Some(HandleKind::Pidfd {
            pid: u32::try_from(decimal(box_pid)?).ok()?,
            thread: flags & PIDFD_THREAD != 0,
        });
    }
    if target == b"anon_inode:[eventfd]" {
        let count = hex(&fd_info_field(pid, fd, b"eventfd-count:")?)?;
        let semaphore = fd_info_field(pid, fd, b"eventfd-semaphore:").as_deref() == Some(b"1");
        return Some(HandleKind::EventFd { count, semaphore });
    }
    None
}

/// Whether process `pid`'s descriptor `fd` is the same open object as the monitor's own
/// standard stream `n` (which the box was given).
fn same_as_own(pid: u64, fd: u32, n: u8) -> bool {
    let theirs = hostio::c_str(format!("/proc/{pid}/fd/{fd}").as_bytes());
    let mut a = [0u64; 18];
    let mut b = [0u64; 18];
    sys(
        4,
        [theirs.as_ptr() as u64, a.as_mut_ptr() as u64, 0, 0, 0, 0],
    )
    .is_ok()
        && sys(5, [u64::from(n), b.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok()
        && (a[0], a[1]) == (b[0], b[1])
}

/// What each host descriptor of the program is; refuses one nobody named and that is not
/// a pipe of the process's own or an eventfd.
fn handles(pid: u64, report: &Report, own_network: bool) -> Result<Vec<HandleRecord>, String> {
    let mut fds: Vec<u32> = crate::limits::list_dir(format!("/proc/{pid}/fd").as_bytes())
        .iter()
        .filter_map(|n| decimal(n).and_then(|v| u32::try_from(v).ok()))
        .collect();
    fds.sort_unstable();
    let pidfd = sys(434, [pid, 0, 0, 0, 0, 0])
        .map_err(|e| format!("cannot reach the program's descriptors: {e}"))?;
    let mut out = Vec::new();
    for fd in fds {
        let (pos, flags) = fd_info(pid, fd)?;
        let kind = match report.named.iter().find(|(n, _)| *n == fd) {
            // A standard stream only if it is still the one the box was given (the host
            // reuses the numbers of streams the program closed).
            Some((_, HandleKind::Stdio(n))) if !same_as_own(pid, fd, *n) => {
                unnamed_kind(pid, pidfd, (fd, flags), own_network)
            }
            Some((_, kind)) => Some(kind.clone()),
            None => unnamed_kind(pid, pidfd, (fd, flags), own_network),
        };
        // A regular file no name reaches any more (removed while open, a memory file): its
        // bytes are taken with the box's files, if it is of one of the box's tmpfs mounts
        // (`box_files::capture`, which says which file of which mount it is).
        let kind = match kind {
            None | Some(HandleKind::File { .. }) if crate::box_files::is_detached(pid, fd) => {
                Some(HandleKind::Detached {
                    mount: u32::MAX,
                    entry: u32::MAX,
                })
            }
            kind => kind,
        };
        let Some(kind) = kind else {
            close(pidfd);
            return Err(format!(
                "the program (pid {}) holds host descriptor {fd} ({}), which snapshots do not \
                 capture yet (docs/snapshot.md says what they capture)",
                report.pid,
                String::from_utf8_lossy(&fd_target(pid, fd))
            ));
        };
        out.push(HandleRecord {
            fd,
            kind,
            flags,
            pos,
            description: 0,
        });
    }
    close(pidfd);
    Ok(out)
}

/// The box's Unix sockets (`unix_sockets::capture`), each with the first process holding it;
/// the descriptors the library OS named with their socket files become plain Unix ones.
fn unix_sockets_of(
    members: &[Member],
    all: &mut [(u32, Vec<HandleRecord>)],
) -> Result<Vec<Vec<crate::snapshot_meta::UnixSocket>>, String> {
    let mut pidfds: Vec<u64> = Vec::new();
    let mut held = Vec::new();
    let mut result = Ok(());
    for (process, ((pid, handles), m)) in all.iter_mut().zip(members).enumerate() {
        if !handles
            .iter()
            .any(|h| matches!(h.kind, HandleKind::Unix { .. } | HandleKind::UnixName(_)))
        {
            continue;
        }
        let pidfd = match sys(434, [m.host, 0, 0, 0, 0, 0]) {
            Ok(fd) => fd,
            Err(e) => {
                result = Err(format!("cannot reach the box's descriptors: {e}"));
                break;
            }
        };
        pidfds.push(pidfd);
        for h in handles.iter_mut() {
            let (id, file) = match &h.kind {
                HandleKind::Unix { id } => (*id, None),
                HandleKind::UnixName(f) => match unix_sockets::inode_of(&fd_target(m.host, h.fd)) {
                    Some(id) => (id, Some(f.clone())),
                    None => continue,
                },
                _ => continue,
            };
            h.kind = HandleKind::Unix { id };
            held.push(unix_sockets::Held {
                process,
                pid: *pid,
                pidfd,
                fd: h.fd,
                id,
                file,
            });
        }
    }
    let sockets = result.and_then(|()| unix_sockets::capture(&held, all.len()));
    for fd in pidfds {
        close(fd);
    }
    sockets
}

/// A pipe emptied for the snapshot: its bytes go back in if the box goes on.
struct Drained {
    /// The monitor's copy of a write end.
    write_end: u64,
    data: Vec<u8>,
}

/// Every pipe end must have its other end in the box: one that leads out of it is not
/// captured.
fn check_pipes(all: &[(u32, Vec<HandleRecord>)]) -> Result<(), String> {
    for (pid, handles) in all {
        for h in handles {
            let HandleKind::Pipe { id, write } = h.kind else {
                continue;
            };
            let other = all.iter().flat_map(|(_, hs)| hs).any(
                |o| matches!(o.kind, HandleKind::Pipe { id: i, write: w } if i == id && w != write),
            );
            if !other {
                return Err(format!(
                    "process {pid} holds one end of a pipe (descriptor {}) whose other end is \
                     not in the box",
                    h.fd
                ));
            }
        }
    }
    Ok(())
}

/// Takes the bytes out of each pipe of the frozen box (through copies of its ends:
/// `pidfd_getfd`), and their capacities: each pipe is kept with the first process (in
/// `members` order) that reads it.
fn drain_pipes(
    members: &[Member],
    all: &[(u32, Vec<HandleRecord>)],
    drained: &mut Vec<Drained>,
) -> Result<Vec<Vec<PipeRecord>>, String> {
    let mut pipes: Vec<Vec<PipeRecord>> = alloc::vec![Vec::new(); all.len()];
    let take = |process: usize, fd: u32| -> Result<u64, String> {
        let pidfd = sys(434, [members[process].host, 0, 0, 0, 0, 0])
            .map_err(|e| format!("cannot reach the box's descriptors: {e}"))?;
        let r = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0])
            .map_err(|e| format!("cannot reach descriptor {fd} of the box: {e}"));
        close(pidfd);
        r
    };
    let mut seen: Vec<u64> = Vec::new();
    for (process, (_, handles)) in all.iter().enumerate() {
        for h in handles {
            let HandleKind::Pipe { id, write: false } = h.kind else {
                continue;
            };
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let read_end = take(process, h.fd)?;
            let capacity = sys(72, [read_end, 1032, 0, 0, 0, 0]).unwrap_or(65536) as u32;
            let mut queued: u32 = 0;
            let _ = sys(16, [read_end, 0x541B, &raw mut queued as u64, 0, 0, 0]); // FIONREAD
            let mut data = alloc::vec![0u8; queued as usize];
            let mut got = 0;
            while got < data.len() {
                match sys(
                    0,
                    [
                        read_end,
                        data[got..].as_mut_ptr() as u64,
                        (data.len() - got) as u64,
                        0,
                        0,
                        0,
                    ],
                ) {
                    Ok(0) => break,
                    Ok(n) => got += n as usize,
                    Err(Errno::EINTR) => {}
                    Err(e) => {
                        close(read_end);
                        return Err(format!("cannot read a pipe of the box: {e}"));
                    }
                }
            }
            data.truncate(got);
            close(read_end);
            if !data.is_empty() {
                let writer = all.iter().enumerate().find_map(|(q, (_, hs))| {
                    hs.iter()
                        .find(|o| matches!(o.kind, HandleKind::Pipe { id: i, write: true } if i == id))
                        .map(|o| (q, o.fd))
                });
                if let Some((q, fd)) = writer {
                    drained.push(Drained {
                        write_end: take(q, fd)?,
                        data: data.clone(),
                    });
                }
            }
            pipes[process].push(PipeRecord { id, capacity, data });
        }
    }
    Ok(pipes)
}

/// Puts the drained bytes back, for a box that goes on.
fn refill(drained: Vec<Drained>) {
    for d in drained {
        let _ = write_all(d.write_end, &d.data);
        close(d.write_end);
    }
}

/// One line of `/proc/PID/maps`, parsed.
struct MapsLine<'a> {
    start: u64,
    end: u64,
    perms: &'a [u8],
    offset: u64,
    inode: u64,
    dev: &'a [u8],
    name: &'a [u8],
}

fn parse_maps_line(line: &[u8]) -> Option<MapsLine<'_>> {
    let mut fields = line.splitn(6, |b| *b == b' ');
    let range = fields.next()?;
    let perms = fields.next()?;
    let offset = hex(fields.next()?)?;
    let dev = fields.next()?;
    let inode = decimal(fields.next()?)?;
    let name = fields.next().unwrap_or(b"");
    let name = &name[name.iter().position(|b| *b != b' ').unwrap_or(name.len())..];
    let dash = range.iter().position(|b| *b == b'-')?;
    Some(MapsLine {
        start: hex(&range[..dash])?,
        end: hex(&range[dash + 1..])?,
        perms,
        offset,
        inode,
        dev,
        name,
    })
}

/// `dev:inode` of the running `picobox` binary as `/proc/PID/maps` writes them.
fn own_binary() -> Option<(Vec<u8>, u64)> {
    let maps = read_file(b"/proc/self/maps", 16 << 20).ok()?;
    let (base, _) = crate::start::image_range();
    maps.split(|b| *b == b'\n')
        .filter_map(parse_maps_line)
        .find(|l| l.start == base as u64)
        .map(|l| (l.dev.to_vec(), l.inode))
}

/// The program's memory map as the snapshot records it.
/// The process's memory map, and the files its shared file ranges map (named by the library
/// OS's `named_files`: a shared, writable file mapping it did not name is refused).
pub fn memory_map(
    pid: u64,
    named_files: &[crate::snapshot_meta::SharedFileMapping],
    detached: &[crate::box_files::DetachedSource],
) -> Result<(Vec<Mapping>, Vec<crate::snapshot_meta::MappedFileRecord>), String> {
    let mut files: Vec<crate::snapshot_meta::MappedFileRecord> = Vec::new();
    let maps = read_file(format!("/proc/{pid}/maps").as_bytes(), 64 << 20)
        .map_err(|e| format!("cannot read the program's memory map: {e}"))?;
    let binary = own_binary().ok_or("cannot find picobox's own binary in its memory map")?;
    let mut out: Vec<Mapping> = Vec::new();
    for line in maps.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let l = parse_maps_line(line).ok_or("cannot parse the program's memory map")?;
        let prot = u8::from(l.perms.first() == Some(&b'r'))
            | u8::from(l.perms.get(1) == Some(&b'w')) << 1
            | u8::from(l.perms.get(2) == Some(&b'x')) << 2;
        let shared = l.perms.get(3) == Some(&b's');
        let kind = match l.name {
            b"[vdso]" => MapKind::Vdso,
            b"[vvar]" => MapKind::Vvar,
            b"[vvar_vclock]" => MapKind::VvarVclock,
            b"[vsyscall]" => continue,
            _ if l.inode == binary.1 && l.dev == binary.0.as_slice() && prot & 2 == 0 => {
                MapKind::Runtime { offset: l.offset }
            }
            name if shared => {
                // A file removed since it was mapped (a POSIX semaphore's, `sem_open`) is
                // memory nobody can open again: shared memory like anonymous memory.
                // A System V segment, attached again by the restore (its inode number is
                // its id; that it is attached whole is checked against the segment's size).
                if name.starts_with(b"/SYSV") {
                    out.push(Mapping {
                        start: l.start,
                        end: l.end,
                        prot,
                        kind: MapKind::SysvSegment {
                            id: u32::try_from(l.inode)
                                .map_err(|_| "a System V segment's id is out of range")?,
                        },
                        set: 0,
                    });
                    if l.offset != 0 {
                        return Err(format!(
                            "the program maps part of System V shared memory segment {}, \
                             which snapshots do not capture yet",
                            l.inode
                        ));
                    }
                    continue;
                }
                // A file no name reaches that a descriptor of the box holds: mapped again from
                // that file, made again (a memory file, written and mapped).
                if let Some(d) = detached
                    .iter()
                    .find(|d| d.ino == l.inode && d.maps_device() == l.dev)
                {
                    out.push(Mapping {
                        start: l.start,
                        end: l.end,
                        prot,
                        kind: MapKind::DetachedFile {
                            mount: d.mount,
                            entry: d.entry,
                            offset: l.offset,
                        },
                        set: 0,
                    });
                    continue;
                }
                let anonymous = l.inode == 0
                    || name.starts_with(b"/dev/zero")
                    || name.starts_with(b"[anon_shmem")
                    || name.ends_with(b" (deleted)");
                // A read-only shared mapping of a file (a locale cache) reads as the file
                // did: its pages are kept, and it comes back private (docs/snapshot.md).
                if !anonymous && prot & 2 == 0 && l.perms.get(1) != Some(&b'w') {
                    out.push(Mapping {
                        start: l.start,
                        end: l.end,
                        prot,
                        kind: MapKind::Private,
                        set: 0,
                    });
                    continue;
                }
                if !anonymous {
                    let named = named_files
                        .iter()
                        .find(|f| f.start <= l.start && l.start < f.end && l.end <= f.end);
                    let Some(f) = named else {
                        return Err(format!(
                            "the program maps {} shared, which snapshots do not capture yet",
                            String::from_utf8_lossy(name)
                        ));
                    };
                    let file = match files.iter().position(|r| *r == f.file) {
                        Some(i) => i,
                        None => {
                            files.push(f.file.clone());
                            files.len() - 1
                        }
                    };
                    out.push(Mapping {
                        start: l.start,
                        end: l.end,
                        prot,
                        kind: MapKind::SharedFile {
                            file: file as u32,
                            offset: f.offset + (l.start - f.start),
                        },
                        set: 0,
                    });
                    continue;
                }
                MapKind::Shared
            }
            _ => MapKind::Private,
        };
        out.push(Mapping {
            start: l.start,
            end: l.end,
            prot,
            kind,
            set: if kind == MapKind::Shared { l.inode } else { 0 },
        });
    }
    Ok((out, files))
}

/// Pages of a range, as runs: the first page's index in the range and how many, ascending
/// and not touching. (A range may be terabytes of reservation: never a word per page.)
type PageRuns = Vec<(u64, u64)>;

/// Adds `count` pages from `first` to the end of `runs`, joined to the last run if it ends
/// there.
fn push_run(runs: &mut PageRuns, first: u64, count: u64) {
    match runs.last_mut() {
        Some((start, n)) if *start + *n == first => *n += count,
        _ if count > 0 => runs.push((first, count)),
        _ => {}
    }
}

/// The pages in `a` or in `b`.
fn union(a: &[(u64, u64)], b: &[(u64, u64)]) -> PageRuns {
    let mut all: Vec<(u64, u64)> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    let mut out: PageRuns = Vec::new();
    for (first, count) in all {
        match out.last_mut() {
            Some((start, n)) if first <= *start + *n => {
                *n = (*n).max(first + count - *start);
            }
            _ => out.push((first, count)),
        }
    }
    out
}

/// For each set of shared memory, its pages resident or swapped in any process that maps it
/// (a page one process wrote may be in no other's page table).
fn shared_residency(members: &[Member], parts: &[Part]) -> Vec<(u64, PageRuns)> {
    let mut out: Vec<(u64, PageRuns)> = Vec::new();
    for (member, part) in members.iter().zip(parts) {
        let shared: Vec<&Mapping> = part
            .mappings
            .iter()
            .filter(|m| m.kind == MapKind::Shared)
            .collect();
        if shared.is_empty() {
            continue;
        }
        let Ok(pagemap) = hostio::open(format!("/proc/{}/pagemap", member.host).as_bytes(), 0, 0)
        else {
            continue;
        };
        for m in shared {
            let pages = candidate_pages(pagemap, m, false);
            match out.iter_mut().find(|(set, _)| *set == m.set) {
                Some((_, runs)) => *runs = union(runs, &pages),
                None => out.push((m.set, pages)),
            }
        }
        close(pagemap);
    }
    out
}

/// Pages of `m` that may hold data: resident or swapped (from `/proc/PID/pagemap`); every
/// page of a file-backed private range whose contents come from the file (`whole`), or
/// where residency cannot be read.
fn candidate_pages(pagemap: u64, m: &Mapping, whole: bool) -> PageRuns {
    let pages = (m.end - m.start) / PAGE;
    if whole {
        return alloc::vec![(0, pages)];
    }
    scanned_pages(pagemap, m)
        .or_else(|| read_pages(pagemap, m))
        .unwrap_or_else(|| alloc::vec![(0, pages)])
}

/// The resident or swapped pages of `m` by Linux's `PAGEMAP_SCAN` (6.7 and later), which
/// skips what has no page table at once; `None` where the kernel has it not.
fn scanned_pages(pagemap: u64, m: &Mapping) -> Option<PageRuns> {
    const PAGEMAP_SCAN: u64 = 0xc060_6610; // _IOWR('f', 16, struct pm_scan_arg)
    const PAGE_IS_PRESENT: u64 = 1 << 3;
    const PAGE_IS_SWAPPED: u64 = 1 << 4;
    // struct page_region { start, end, categories }
    let mut regions = alloc::vec![[0u64; 3]; 1024];
    let mut out: PageRuns = Vec::new();
    let mut at = m.start;
    while at < m.end {
        // struct pm_scan_arg { size, flags, start, end, walk_end, vec, vec_len, max_pages,
        // category_inverted, category_mask, category_anyof_mask, return_mask }
        let mut arg: [u64; 12] = [
            96,
            0,
            at,
            m.end,
            0,
            regions.as_mut_ptr() as u64,
            regions.len() as u64,
            0,
            0,
            0,
            PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
        ];
        let n = sys(
            16,
            [pagemap, PAGEMAP_SCAN, arg.as_mut_ptr() as u64, 0, 0, 0],
        )
        .ok()?;
        for r in regions.iter().take(n as usize) {
            let (start, end) = (r[0].max(m.start), r[1].min(m.end));
            if start < end {
                push_run(&mut out, (start - m.start) / PAGE, (end - start) / PAGE);
            }
        }
        let walked = arg[4];
        if walked <= at {
            return None;
        }
        at = walked;
    }
    Some(out)
}

/// The resident or swapped pages of `m`, an entry of `/proc/PID/pagemap` per page, read a
/// piece at a time; `None` where they cannot be read.
fn read_pages(pagemap: u64, m: &Mapping) -> Option<PageRuns> {
    let pages = (m.end - m.start) / PAGE;
    let mut out: PageRuns = Vec::new();
    let mut entries = alloc::vec![0u64; 65536];
    let mut i = 0u64;
    while i < pages {
        let n = (pages - i).min(entries.len() as u64);
        let offset = (m.start / PAGE + i) * 8;
        let got = sys(
            17,
            [pagemap, entries.as_mut_ptr() as u64, n * 8, offset, 0, 0],
        )
        .ok()?
            / 8;
        if got == 0 {
            break;
        }
        for (j, e) in entries[..got as usize].iter().enumerate() {
            if e >> 62 != 0 {
                push_run(&mut out, i + j as u64, 1);
            }
        }
        i += got;
    }
    Some(out)
}

/// Reads `buf.len()` bytes of process `pid` at `address`: in one copy (`process_vm_readv`),
/// or through `/proc/PID/mem` (`mem`) where that is refused.
fn read_remote(pid: u64, mem: u64, buf: &mut [u8], address: u64) -> Result<u64, Errno> {
    let local: [u64; 2] = [buf.as_mut_ptr() as u64, buf.len() as u64];
    let remote: [u64; 2] = [address, buf.len() as u64];
    match sys(
        310,
        [pid, local.as_ptr() as u64, 1, remote.as_ptr() as u64, 1, 0],
    ) {
        Err(Errno::EPERM | Errno::ENOSYS) => sys(
            17,
            [
                mem,
                buf.as_mut_ptr() as u64,
                buf.len() as u64,
                address,
                0,
                0,
            ],
        ),
        r => r,
    }
}

/// The user and group of box process `pid`, as this process sees them (its last, file-system
/// ids: every id of a box's process is the box's user).
fn ids_of(pid: u64) -> Result<(u32, u32), String> {
    let status = read_file(format!("/proc/{pid}/status").as_bytes(), 1 << 16)
        .map_err(|e| format!("cannot read the program's identity: {e}"))?;
    match (
        status_field(&status, b"Uid:"),
        status_field(&status, b"Gid:"),
    ) {
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        _ => Err("cannot read the program's identity".into()),
    }
}

/// Whether a page is all zeros (in 64-byte blocks, which the compiler vectorises).
fn is_zero(page: &[u8]) -> bool {
    page.chunks_exact(64)
        .all(|block| block.iter().fold(0u8, |a, b| a | b) == 0)
}

/// Writes the snapshot of the frozen box; the bytes of its pipes go back in unless the box is
/// to end with a snapshot written.
fn write_snapshot(
    b: &BoxHandle,
    members: &[Member],
    reports: &[Vec<u8>],
    output: u64,
    conn: u64,
    leave_running: bool,
) -> Result<u64, String> {
    let mut drained = Vec::new();
    let result = write_snapshot_draining(b, members, reports, output, conn, &mut drained);
    if leave_running || result.is_err() {
        refill(drained);
    } else {
        for d in drained {
            close(d.write_end);
        }
    }
    result
}

/// One process's part of the snapshot, gathered before anything is written.
struct Part {
    mappings: Vec<Mapping>,
    /// The files its shared file ranges map.
    mapped_files: Vec<crate::snapshot_meta::MappedFileRecord>,
    /// Starts of its file-backed ranges.
    file_backed: Vec<u64>,
    /// Starts of its shared ranges of files removed since (a POSIX semaphore's): read whole,
    /// since pages written to the file are in none of the processes' page tables.
    removed_files: Vec<u64>,
}

fn write_snapshot_draining(
    b: &BoxHandle,
    members: &[Member],
    reports: &[Vec<u8>],
    output: u64,
    conn: u64,
    drained: &mut Vec<Drained>,
) -> Result<u64, String> {
    let mut decoded = Vec::new();
    for bytes in reports {
        let report =
            Report::decode(bytes).map_err(|e| format!("a process's report is malformed: {e}"))?;
        if !report.refusal.is_empty() {
            return Err(format!(
                "process {}: {}",
                report.pid,
                String::from_utf8_lossy(&report.refusal)
            ));
        }
        decoded.push(report);
    }
    let program_runtime = decoded
        .first()
        .map_or(crate::start::image_range().0 as u64, |r| r.runtime_base);
    if decoded.iter().any(|r| r.runtime_base != program_runtime) {
        return Err("the box's processes have their runtime at different places".into());
    }
    let mut all: Vec<(u32, Vec<HandleRecord>)> = Vec::new();
    for (m, report) in members.iter().zip(&decoded) {
        all.push((m.pid, handles(m.host, report, b.own_network)?));
    }
    let hosts: Vec<u64> = members.iter().map(|m| m.host).collect();
    check_pipes(&all)?;
    for (m, (_, handles)) in members.iter().zip(&all) {
        crate::box_files::check_open_files(m.host, m.pid, handles)?;
    }
    let (box_files, detached) =
        crate::box_files::capture(members[0].host, &hosts, &mut all, &b.tmpfs_mounts)?;
    let sockets = unix_sockets_of(members, &mut all)?;
    let fifos = crate::fifos::capture(&hosts, &mut all)?;
    crate::watchers::capture(&hosts, &mut all)?;
    crate::tcp_repair::capture(&hosts, &mut all)?;
    // Once every record has its kind (FIFOs and sockets are told apart above).
    crate::descriptions::number(&hosts, &mut all);
    let box_user = ids_of(members[0].host)?;
    let stored_end = crate::snapshot_meta::stored_files_end(&box_files);
    let mut ipc = crate::sysv::capture(box_user, stored_end)?;
    if let Some(root) = b.mqueue {
        ipc.posix_queues = crate::mqueues::capture(root, box_user)?;
    }
    for (pid, handles) in &all {
        for h in handles {
            let HandleKind::PosixQueue { name } = &h.kind else {
                continue;
            };
            if !ipc.posix_queues.iter().any(|q| &q.name == name) {
                return Err(format!(
                    "process {pid} holds POSIX message queue /{} (descriptor {}), removed since \
                     (mq_unlink), which snapshots do not capture",
                    String::from_utf8_lossy(name),
                    h.fd
                ));
            }
        }
    }
    let mut parts = Vec::new();
    for (m, report) in members.iter().zip(&decoded) {
        let maps_text =
            read_file(format!("/proc/{}/maps", m.host).as_bytes(), 64 << 20).unwrap_or_default();
        let lines: Vec<MapsLine<'_>> = maps_text
            .split(|b| *b == b'\n')
            .filter_map(parse_maps_line)
            .collect();
        let (mappings, mapped_files) = memory_map(m.host, &report.shared_files, &detached)?;
        parts.push(Part {
            mappings,
            mapped_files,
            file_backed: lines
                .iter()
                .filter(|l| l.inode != 0)
                .map(|l| l.start)
                .collect(),
            removed_files: lines
                .iter()
                .filter(|l| {
                    l.perms.get(3) == Some(&b's')
                        && l.name.ends_with(b" (deleted)")
                        && !l.name.starts_with(b"/dev/zero")
                        && !l.name.starts_with(b"/SYSV")
                })
                .map(|l| l.start)
                .collect(),
        });
    }
    for (m, part) in members.iter().zip(&parts) {
        for map in &part.mappings {
            let MapKind::SysvSegment { id } = map.kind else {
                continue;
            };
            if !ipc.attaches_whole(map) {
                return Err(format!(
                    "process {} maps part of System V shared memory segment {id}, which \
                     snapshots do not capture yet",
                    m.pid
                ));
            }
        }
    }
    // Shared memory must sit at one address in every process of its set: the restore makes it
    // once, before the processes are forked.
    let mut sets: Vec<(u64, u64, u64)> = Vec::new();
    for part in &parts {
        for m in part.mappings.iter().filter(|m| m.kind == MapKind::Shared) {
            match sets.iter().find(|(set, _, _)| *set == m.set) {
                Some((_, start, end)) if (*start, *end) != (m.start, m.end) => {
                    return Err(format!(
                        "shared memory at {:#x} is mapped at other addresses by another \
                         process of the box: not supported yet",
                        m.start
                    ))
                }
                Some(_) => {}
                None => sets.push((m.set, m.start, m.end)),
            }
        }
    }
    let pipes = drain_pipes(members, &all, drained)?;
    // The reaper is pid 1 of the box: the parent of the processes it adopted.
    let by_host = |host: u64| match members.iter().find(|m| m.host == host) {
        Some(m) => m.pid,
        None if host == b.first && host != 0 && !b.as_pid_1 => 1,
        None => 0,
    };
    let processes: Vec<Process> = members
        .iter()
        .zip(decoded)
        .zip(all)
        .zip(pipes)
        .zip(sockets)
        .zip(fifos)
        .zip(&parts)
        .map(
            |((((((m, report), (_, handles)), pipes), sockets), fifos), part)| Process {
                pid: m.pid,
                parent: by_host(m.parent_host),
                pgid: m.pgid,
                sid: m.sid,
                threads: report.threads,
                timers: report.timers,
                handles,
                mappings: part.mappings.clone(),
                mapped_files: part.mapped_files.clone(),
                pipes,
                sockets,
                fifos,
            },
        )
        .collect();
    let metadata = Metadata {
        ipc,
        box_files,
        run_args: b.run_args.clone(),
        // Where the box's processes have their runtime, as the program process says (the
        // monitor's own place for a box it ran, whose processes it forked, but not for one
        // it restored: theirs is where the snapshot's was).
        runtime_base: program_runtime,
        clocks: crate::timens::box_clocks(members[0].host),
        processes,
    };
    let mut written: u64 = 0;
    let mut failed: Option<Errno> = None;
    let mut last_progress = 0u64;
    // Sealed with the user's key: a restore takes the box's access to the host from its own
    // snapshots only. Without a key (no home), unsealed: restores ask for the access.
    let encoded = metadata.encode();
    let seal = match crate::seal_key::get_or_make() {
        Ok(key) => crate::seal_key::seal(&key, &crate::start::build_id(), &encoded),
        Err(why) => {
            let _ = write_all(
                conn,
                format!(
                    "warning {why}: the snapshot is not sealed, so a restore of it asks for \
                     its box's access to the host (--bind, --trust-snapshot)"
                )
                .as_bytes(),
            );
            [0u8; 32]
        }
    };
    let mut writer = Writer::new(
        |bytes: &[u8]| {
            if failed.is_none() {
                if let Err(e) = write_all(output, bytes) {
                    failed = Some(e);
                }
            }
            written += bytes.len() as u64;
            if written >= PROGRESS_ABOVE && written - last_progress >= 16 << 20 {
                last_progress = written;
                let _ = write_all(conn, format!("progress {written}").as_bytes());
            }
        },
        crate::start::build_id(),
        &encoded,
    );
    let shared_residency = shared_residency(members, &parts);
    let mut buf = alloc::vec![0u8; 1 << 20];
    let mut stored_sets: Vec<u64> = Vec::new();
    for (index, (member, part)) in members.iter().zip(&parts).enumerate() {
        let pid = member.host;
        let mem = hostio::open(format!("/proc/{pid}/mem").as_bytes(), 0, 0)
            .map_err(|e| format!("cannot read the box's memory: {e}"))?;
        let pagemap = hostio::open(format!("/proc/{pid}/pagemap").as_bytes(), 0, 0)
            .map_err(|e| format!("cannot read the box's page map: {e}"))?;
        let r = write_memory(
            &mut writer,
            index as u32,
            pid,
            (mem, pagemap),
            part,
            (&mut stored_sets, &shared_residency),
            &mut buf,
        );
        close(mem);
        close(pagemap);
        r?;
    }
    // The large files of the box's own tmpfs mounts, after every process's memory.
    crate::box_files::write_stored(
        members[0].host,
        &metadata.processes[0].handles,
        &metadata.box_files,
        &detached,
        &mut |address, bytes| {
            writer
                .chunk_of(crate::snapshot_meta::FILE_DATA, address, bytes)
                .map_err(|e| format!("{e}"))
        },
    )?;
    // Then the System V segments too large for the metadata, in the ranges after them.
    crate::sysv::write_stored(&metadata.ipc, &mut |address, bytes| {
        writer
            .chunk_of(crate::snapshot_meta::FILE_DATA, address, bytes)
            .map_err(|e| format!("{e}"))
    })?;
    writer.finish(seal);
    if let Some(e) = failed {
        return Err(format!("cannot write the snapshot: {e}"));
    }
    Ok(written)
}

/// The non-zero pages of one process's private ranges, and of the shared ones whose set no
/// earlier process has stored.
fn write_memory<F: FnMut(&[u8])>(
    writer: &mut Writer<F>,
    index: u32,
    pid: u64,
    (mem, pagemap): (u64, u64),
    part: &Part,
    (stored_sets, shared_residency): (&mut Vec<u64>, &[(u64, PageRuns)]),
    buf: &mut [u8],
) -> Result<(), String> {
    for m in &part.mappings {
        match m.kind {
            MapKind::Private => {}
            MapKind::Shared if !stored_sets.contains(&m.set) => stored_sets.push(m.set),
            _ => continue,
        }
        let candidates = match m.kind {
            MapKind::Private => candidate_pages(pagemap, m, part.file_backed.contains(&m.start)),
            _ if part.removed_files.contains(&m.start) => candidate_pages(pagemap, m, true),
            _ => shared_residency
                .iter()
                .find(|(set, _)| *set == m.set)
                .map(|(_, pages)| pages.clone())
                .unwrap_or_else(|| candidate_pages(pagemap, m, false)),
        };
        // Each run read in pieces of at most `buf`; its non-zero pages written, in runs.
        let most = buf.len() as u64 / PAGE;
        for (first, count) in candidates {
            let mut i = first;
            while i < first + count {
                let n = (first + count - i).min(most);
                let start = m.start + i * PAGE;
                let piece = &mut buf[..(n * PAGE) as usize];
                write_piece(writer, index, (pid, mem), start, piece)?;
                i += n;
            }
        }
    }
    Ok(())
}

/// Reads process `pid`'s `piece.len()` bytes at `start` and writes their non-zero pages.
fn write_piece<F: FnMut(&[u8])>(
    writer: &mut Writer<F>,
    index: u32,
    (pid, mem): (u64, u64),
    start: u64,
    piece: &mut [u8],
) -> Result<(), String> {
    let len = piece.len();
    if read_remote(pid, mem, piece, start) != Ok(len as u64) {
        // Pages that cannot be read (beyond the end of a mapped file) hold nothing.
        piece.fill(0);
        for (k, page) in piece.chunks_exact_mut(PAGE as usize).enumerate() {
            let at = start + (k as u64) * PAGE;
            let _ = sys(17, [mem, page.as_mut_ptr() as u64, PAGE, at, 0, 0]);
        }
    }
    let pages = len / PAGE as usize;
    let non_zero = |k: usize| !is_zero(&piece[k * PAGE as usize..(k + 1) * PAGE as usize]);
    let mut k = 0usize;
    while k < pages {
        if !non_zero(k) {
            k += 1;
            continue;
        }
        let mut e = k;
        while e < pages && non_zero(e) {
            e += 1;
        }
        let bytes = &piece[k * PAGE as usize..e * PAGE as usize];
        writer
            .chunk_of(index, start + k as u64 * PAGE, bytes)
            .map_err(|e| format!("{e}"))?;
        k = e;
    }
    Ok(())
}

/// `picobox snapshot ID -o PATH [--leave-running]`: asks box `id`'s monitor for a snapshot
/// into `output` (`-`: standard output). Returns the exit status.
pub fn client(id: &[u8], output: &[u8], leave_running: bool) -> u8 {
    match client_inner(id, output, leave_running) {
        Ok(()) => 0,
        Err(msg) => {
            crate::out::error(format_args!("snapshot: {msg}"));
            crate::launch::EXIT_INTERNAL
        }
    }
}

fn client_inner(id: &[u8], output: &[u8], leave_running: bool) -> Result<(), String> {
    let name = String::from_utf8_lossy(id).into_owned();
    crate::registry::check_id(id)?;
    let dir = crate::registry::directory(false)?
        .ok_or_else(|| format!("no box named '{name}' is running (see picobox ps)"))?;
    let path = crate::registry::control_socket_of(&[dir.as_slice(), b"/", id].concat());
    let (addr, len) = unix_address(&path).ok_or("the registry path is too long")?;
    let s = sys(41, [AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, 0, 0, 0])
        .map_err(|e| format!("cannot make a socket: {e}"))?;
    if let Err(e) = sys(42, [s, addr.as_ptr() as u64, len, 0, 0, 0]) {
        close(s);
        return Err(match e {
            Errno::ENOENT | Errno::ECONNREFUSED => {
                format!("no box named '{name}' is running (see picobox ps)")
            }
            e => format!("cannot reach box '{name}': {e}"),
        });
    }
    // The file is written under a temporary name and renamed once complete, so that a failed
    // snapshot leaves nothing behind (nor half of a file where an older snapshot was).
    let to_stdout = output == b"-";
    let mut temporary = output.to_vec();
    temporary
        .extend_from_slice(format!(".partial-{}", crate::gate::syscall(39, [0; 6])).as_bytes());
    let fd = if to_stdout {
        if sys(16, [1, 0x5401, [0u8; 64].as_ptr() as u64, 0, 0, 0]).is_ok() {
            close(s);
            return Err("standard output is a terminal: give -o PATH, or pipe it".into());
        }
        1
    } else {
        // O_WRONLY | O_CREAT | O_EXCL
        hostio::open(&temporary, 0o1 | 0o100 | 0o200, 0o600)
            .map_err(|e| format!("cannot write {}: {e}", String::from_utf8_lossy(output)))?
    };
    let request = [
        REQUEST,
        if leave_running {
            LEAVE_RUNNING
        } else {
            END_BOX
        },
    ];
    let mut control = [0u8; 24];
    control[..8].copy_from_slice(&20u64.to_ne_bytes());
    control[8..12].copy_from_slice(&1u32.to_ne_bytes());
    control[12..16].copy_from_slice(&1u32.to_ne_bytes());
    control[16..20].copy_from_slice(&(fd as u32).to_ne_bytes());
    let iov: [u64; 2] = [request.as_ptr() as u64, 2];
    let msg: [u64; 7] = [0, 0, iov.as_ptr() as u64, 1, control.as_ptr() as u64, 24, 0];
    let sent = sys(46, [s, msg.as_ptr() as u64, 0x4000, 0, 0, 0]);
    let outcome = sent
        .map_err(|e| format!("cannot ask box '{name}': {e}"))
        .and_then(|_| wait_for_reply(s));
    close(s);
    match outcome {
        Ok((bytes, ms)) => {
            if !to_stdout {
                let from = hostio::c_str(&temporary);
                let to = hostio::c_str(output);
                let renamed = sys(82, [from.as_ptr() as u64, to.as_ptr() as u64, 0, 0, 0, 0]);
                // The monitor summed every page as it wrote it: a restore of this file,
                // unchanged since (its identity is taken after the rename, which changes its
                // change time), need not read every page again (verified.rs).
                if renamed.is_ok() {
                    if let Some(id) = crate::verified::identity(fd) {
                        crate::verified::remember(id);
                    }
                }
                close(fd);
                renamed.map_err(|e| format!("cannot rename the snapshot into place: {e}"))?;
            }
            crate::out::error(format_args!(
                "snapshot of box '{name}': {:.1} MiB in {ms} ms; the box {}",
                bytes as f64 / 1048576.0,
                if leave_running {
                    "runs on"
                } else {
                    "has ended"
                }
            ));
            Ok(())
        }
        Err(msg) => {
            if !to_stdout {
                close(fd);
                let p = hostio::c_str(&temporary);
                let _ = sys(87, [p.as_ptr() as u64, 0, 0, 0, 0, 0]);
            }
            Err(msg)
        }
    }
}

/// Reads the monitor's messages: progress lines, then `ok BYTES MS` or `error MESSAGE`.
fn wait_for_reply(s: u64) -> Result<(u64, u64), String> {
    let mut buf = alloc::vec![0u8; 65536];
    let mut progress_shown = false;
    loop {
        let n = match sys(0, [s, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0]) {
            Ok(n) => n as usize,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(format!("lost the box's monitor: {e}")),
        };
        let reply = &buf[..n];
        if let Some(rest) = reply.strip_prefix(b"warning ") {
            crate::out::error(format_args!(
                "snapshot: warning: {}",
                String::from_utf8_lossy(rest)
            ));
            continue;
        }
        if let Some(rest) = reply.strip_prefix(b"progress ") {
            let bytes = decimal(rest).unwrap_or(0);
            crate::out::error_partial(format_args!(
                "\rpicobox: snapshot: {} MiB written",
                bytes >> 20
            ));
            progress_shown = true;
            continue;
        }
        if progress_shown {
            crate::out::error_partial(format_args!("\n"));
        }
        if let Some(rest) = reply.strip_prefix(b"ok ") {
            let mut parts = rest.split(|b| *b == b' ');
            let bytes = parts.next().and_then(decimal).unwrap_or(0);
            let ms = parts.next().and_then(decimal).unwrap_or(0);
            return Ok((bytes, ms));
        }
        if let Some(rest) = reply.strip_prefix(b"error ") {
            return Err(String::from_utf8_lossy(rest).into_owned());
        }
        if n == 0 {
            return Err("the box's monitor ended without an answer".into());
        }
        return Err("the box's monitor answered something unexpected".into());
    }
}
