//! What the kernel's rules cannot decide, decided by the monitor: `listen` on the host's
//! network.
//!
//! Landlock checks a TCP `bind` against the declared ports, but `listen` on a socket that was
//! never bound makes the kernel bind it to an ephemeral port itself, which no rule sees: a box
//! allowed only to connect could serve on the host's network. The filter therefore hands every
//! `listen` made at the gate of a box on the host's network to the monitor
//! (`SECCOMP_RET_USER_NOTIF`, see `gate.rs`). The monitor takes the socket from the box
//! (`pidfd_getfd`: the very object, so nothing can be swapped between the check and the call),
//! refuses an unbound IP socket with `EACCES` (a program must `bind` a declared port first),
//! and otherwise makes the `listen` itself and answers with its result. A `listen` is rare, so
//! the round trip between two processes (tens of microseconds here) costs nothing that matters.

use crate::gate;
use picobox_abi::Errno;

fn sys(nr: u64, a: [u64; 6]) -> Result<u64, Errno> {
    Errno::from_raw_return(gate::syscall(nr, a))
}

fn close(fd: u64) {
    let _ = sys(3, [fd, 0, 0, 0, 0, 0]);
}

const SOL_SOCKET: u32 = 1;
const SCM_RIGHTS: u32 = 1;
const AF_UNIX: u64 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const SOCK_SEQPACKET: u64 = 5;
const SOCK_CLOEXEC: u64 = 0o2000000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
const SECCOMP_IOCTL_NOTIF_RECV: u64 = 0xc050_2100;
const SECCOMP_IOCTL_NOTIF_SEND: u64 = 0xc018_2101;

/// The way the box's first process hands its notification listener to the monitor.
pub struct Channel {
    /// The monitor's end.
    pub monitor_end: u64,
    /// The box's end.
    pub box_end: u64,
}

impl Channel {
    /// Made by the monitor before the fork.
    pub fn new() -> Result<Channel, Errno> {
        let mut fds = [0i32; 2];
        sys(
            53,
            [
                AF_UNIX,
                SOCK_SEQPACKET | SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr() as u64,
                0,
                0,
            ],
        )?;
        Ok(Channel {
            monitor_end: fds[0] as u64,
            box_end: fds[1] as u64,
        })
    }
}

/// In the box's first process, right after the filter is installed: sends the listener to
/// the monitor and closes both (the box keeps no way to answer its own notifications).
pub fn hand_over(box_end: u64, listener: u64) -> Result<(), Errno> {
    // struct cmsghdr { size_t len; int level; int type; } + one int, padded to 24 bytes.
    let mut control = [0u8; 24];
    control[..8].copy_from_slice(&20u64.to_ne_bytes());
    control[8..12].copy_from_slice(&SOL_SOCKET.to_ne_bytes());
    control[12..16].copy_from_slice(&SCM_RIGHTS.to_ne_bytes());
    control[16..20].copy_from_slice(&(listener as i32).to_ne_bytes());
    let byte = [1u8];
    let iov: [u64; 2] = [byte.as_ptr() as u64, 1];
    // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }
    let msg: [u64; 7] = [0, 0, iov.as_ptr() as u64, 1, control.as_ptr() as u64, 24, 0];
    let sent = sys(46, [box_end, msg.as_ptr() as u64, 0, 0, 0, 0]);
    close(listener);
    close(box_end);
    sent.map(|_| ())
}

/// In the monitor, while the box runs: answers the box's `listen` calls until its first
/// process `pid` ends (when every other process of the box ends too).
pub fn serve(channel: Channel, pid: u64) {
    close(channel.box_end);
    let listener = receive_listener(channel.monitor_end);
    close(channel.monitor_end);
    let Some(listener) = listener else {
        return; // the box ended before it was confined
    };
    let Ok(box_pidfd) = sys(434, [pid, 0, 0, 0, 0, 0]) else {
        close(listener);
        return;
    };
    loop {
        // struct pollfd { int fd; short events; short revents; } x 2, POLLIN.
        let mut fds = [0u64; 2];
        fds[0] = listener | (1 << 32);
        fds[1] = box_pidfd | (1 << 32);
        match sys(271, [fds.as_mut_ptr() as u64, 2, 0, 0, 8, 0]) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => break,
        }
        let revents = |f: u64| (f >> 48) as u16;
        if revents(fds[1]) != 0 {
            break; // the box's first process ended
        }
        if revents(fds[0]) & 1 != 0 {
            answer_one(listener);
        } else if revents(fds[0]) != 0 {
            break; // no process of the box is left to notify
        }
    }
    close(box_pidfd);
    close(listener);
}

fn receive_listener(monitor_end: u64) -> Option<u64> {
    let mut control = [0u8; 24];
    let mut byte = [0u8; 1];
    let iov: [u64; 2] = [byte.as_mut_ptr() as u64, 1];
    let msg: [u64; 7] = [
        0,
        0,
        iov.as_ptr() as u64,
        1,
        control.as_mut_ptr() as u64,
        24,
        0,
    ];
    loop {
        match sys(
            47,
            [monitor_end, msg.as_ptr() as u64, MSG_CMSG_CLOEXEC, 0, 0, 0],
        ) {
            Err(Errno::EINTR) => continue,
            Ok(1) => break,
            _ => return None,
        }
    }
    let level = u32::from_ne_bytes([control[8], control[9], control[10], control[11]]);
    let kind = u32::from_ne_bytes([control[12], control[13], control[14], control[15]]);
    (level == SOL_SOCKET && kind == SCM_RIGHTS).then(|| {
        u64::from(u32::from_ne_bytes([
            control[16],
            control[17],
            control[18],
            control[19],
        ]))
    })
}

/// Receives one notification and answers it.
fn answer_one(listener: u64) {
    // struct seccomp_notif { u64 id; u32 pid; u32 flags; struct seccomp_data data; }
    let mut req = [0u64; 10];
    if sys(
        16,
        [
            listener,
            SECCOMP_IOCTL_NOTIF_RECV,
            req.as_mut_ptr() as u64,
            0,
            0,
            0,
        ],
    )
    .is_err()
    {
        return;
    }
    let id = req[0];
    let pid = req[1] & 0xffff_ffff;
    let (fd, backlog) = (req[4] & 0xffff_ffff, req[5] & 0xffff_ffff);
    let result = listen_for(pid, fd, backlog);
    // struct seccomp_notif_resp { u64 id; i64 val; i32 error; u32 flags; }
    let resp: [u64; 3] = match result {
        Ok(v) => [id, v, 0],
        Err(e) => [id, 0, (e.as_return() & 0xffff_ffff)],
    };
    // ENOENT: the caller is gone (or was interrupted); nothing to answer.
    let _ = sys(
        16,
        [
            listener,
            SECCOMP_IOCTL_NOTIF_SEND,
            resp.as_ptr() as u64,
            0,
            0,
            0,
        ],
    );
}

/// `listen(fd, backlog)` for thread `pid` of the box, unless the socket is an IP socket that
/// was never bound.
fn listen_for(pid: u64, fd: u64, backlog: u64) -> Result<u64, Errno> {
    // The caller may be any thread of a process (`PIDFD_THREAD`, Linux 6.9; before it, only a
    // process's first thread has a pidfd).
    const PIDFD_THREAD: u64 = 0o200;
    let pidfd =
        sys(434, [pid, PIDFD_THREAD, 0, 0, 0, 0]).or_else(|_| sys(434, [pid, 0, 0, 0, 0, 0]))?;
    let socket = sys(438, [pidfd, fd, 0, 0, 0, 0]);
    close(pidfd);
    let socket = socket?;
    let result = (|| {
        let mut addr = [0u8; 128];
        let mut len: u32 = 128;
        sys(
            51,
            [
                socket,
                addr.as_mut_ptr() as u64,
                &raw mut len as u64,
                0,
                0,
                0,
            ],
        )?;
        let family = u16::from_ne_bytes([addr[0], addr[1]]);
        let port = u16::from_be_bytes([addr[2], addr[3]]);
        if (family == AF_INET || family == AF_INET6) && port == 0 {
            return Err(Errno::EACCES);
        }
        sys(50, [socket, backlog, 0, 0, 0, 0])
    })();
    close(socket);
    result
}
