//! TCP connections of the box's own network across a snapshot (`--net loopback`: both ends
//! of every connection are the box's, so both are taken and both are made again).
//!
//! Taking them (the monitor, box frozen): every established connection's socket is reached
//! through a copy (`pidfd_getfd`) and put in Linux's repair mode (`TCP_REPAIR`, which the
//! monitor may set: it owns the box's network namespace) so that it sends nothing while it is
//! read; then its addresses, its sequence numbers (`TCP_QUEUE_SEQ` of each queue), its queues
//! (`MSG_PEEK` of each, in repair mode), the options it agreed on (`TCP_MAXSEG`, `TCP_INFO`),
//! its timestamp clock and window (`TCP_REPAIR_WINDOW`) are read; then repair mode is left
//! without a window probe. Making them (the restored box's first process, before any of the
//! box's processes exists, while it may still use `TCP_REPAIR`): each socket is made in
//! repair mode, given its sequence numbers, bound and connected without a packet, given its
//! options, window and queues; once every end exists, repair mode is left on all of them,
//! and the bytes never sent are written as the program wrote them.
//!
//! A connection of a box on the host's network, whose peer may be outside, is not taken: it
//! comes back reset (`restore::make_reset_sockets`), as one in any other state does.

use crate::hostio::{close, socket_option, sys};
use crate::snapshot_meta::{HandleKind, HandleRecord, TcpConnection};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const SOL_SOCKET: u64 = 1;
const SOL_TCP: u64 = 6;
const TCP_NODELAY: u64 = 1;
const TCP_MAXSEG: u64 = 2;
const TCP_INFO: u64 = 11;
const TCP_REPAIR: u64 = 19;
const TCP_REPAIR_QUEUE: u64 = 20;
const TCP_QUEUE_SEQ: u64 = 21;
const TCP_REPAIR_OPTIONS: u64 = 22;
const TCP_TIMESTAMP: u64 = 24;
const TCP_REPAIR_WINDOW: u64 = 29;
const SO_KEEPALIVE: u64 = 9;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_SNDBUFFORCE: u64 = 32;
const SO_RCVBUFFORCE: u64 = 33;
/// `TCP_REPAIR` values.
const REPAIR_ON: i32 = 1;
const REPAIR_OFF: i32 = 0;
const REPAIR_OFF_NO_WINDOW_PROBE: i32 = -1;
/// `TCP_REPAIR_QUEUE` values.
const RECV_QUEUE: i32 = 1;
const SEND_QUEUE: i32 = 2;
/// `tcpi_options` bits.
const OPT_TIMESTAMPS: u8 = 1;
const OPT_SACK: u8 = 2;
const OPT_WSCALE: u8 = 4;
/// `TCP_INFO`'s state of an established connection.
pub const ESTABLISHED: u8 = 1;
const MSG_PEEK: u64 = 2;
const MSG_DONTWAIT: u64 = 0x40;

fn set_i32(fd: u64, level: u64, name: u64, value: i32) -> Result<(), Errno> {
    sys(54, [fd, level, name, &raw const value as u64, 4, 0]).map(|_| ())
}

/// The first bytes of socket `fd`'s `struct tcp_info`: state, options, window scales.
pub fn tcp_info(fd: u64) -> Result<[u8; 8], Errno> {
    let mut info = [0u8; 232];
    let mut len: u32 = 232;
    sys(
        55,
        [
            fd,
            SOL_TCP,
            TCP_INFO,
            info.as_mut_ptr() as u64,
            &raw mut len as u64,
            0,
        ],
    )?;
    let mut first = [0u8; 8];
    first.copy_from_slice(&info[..8]);
    Ok(first)
}

/// Takes each connection the records of `all` (processes by host pid in `hosts`) name as
/// established ([`HandleKind::Established`], found by `snapshot::inet_socket`).
pub fn capture(hosts: &[u64], all: &mut [(u32, Vec<HandleRecord>)]) -> Result<(), String> {
    // (process, record, copy of the socket)
    let mut held: Vec<(usize, usize, u64)> = Vec::new();
    let mut result = Ok(());
    for (p, (_, handles)) in all.iter().enumerate() {
        let wanted: Vec<(usize, u32)> = handles
            .iter()
            .enumerate()
            .filter(|(_, h)| matches!(h.kind, HandleKind::Established(_)))
            .map(|(i, h)| (i, h.fd))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let pidfd = match sys(434, [hosts[p], 0, 0, 0, 0, 0]) {
            Ok(fd) => fd,
            Err(e) => {
                result = Err(format!("cannot reach the box's connections: {e}"));
                break;
            }
        };
        for (i, fd) in wanted {
            match sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]) {
                Ok(copy) => held.push((p, i, copy)),
                Err(e) => result = Err(format!("cannot reach the box's connections: {e}")),
            }
        }
        close(pidfd);
    }
    // Every end in repair mode first: none sends while the others are read.
    let mut repairing: Vec<u64> = Vec::new();
    for &(_, _, copy) in &held {
        if result.is_err() {
            break;
        }
        match set_i32(copy, SOL_TCP, TCP_REPAIR, REPAIR_ON) {
            Ok(()) => repairing.push(copy),
            Err(e) => {
                result = Err(format!(
                    "cannot take the box's TCP connections (TCP_REPAIR): {e}"
                ))
            }
        }
    }
    for &(p, i, copy) in &held {
        if result.is_err() {
            break;
        }
        let HandleKind::Established(c) = &mut all[p].1[i].kind else {
            continue;
        };
        if let Err(e) = take(copy, c) {
            result = Err(format!(
                "process {} holds a TCP connection (descriptor {}) that cannot be taken: {e}",
                all[p].0, all[p].1[i].fd
            ));
        }
    }
    for copy in repairing {
        let _ = set_i32(copy, SOL_TCP, TCP_REPAIR, REPAIR_OFF_NO_WINDOW_PROBE);
    }
    for (_, _, copy) in held {
        close(copy);
    }
    result
}

/// `fd`'s queue `queue`: its sequence number and its bytes (`len` of them, peeked).
fn queue(fd: u64, queue: i32, len: usize) -> Result<(u32, Vec<u8>), Errno> {
    set_i32(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue)?;
    let seq = socket_option(fd, SOL_TCP, TCP_QUEUE_SEQ)?;
    let mut bytes = alloc::vec![0u8; len];
    if len > 0 {
        let n = sys(
            45,
            [
                fd,
                bytes.as_mut_ptr() as u64,
                len as u64,
                MSG_PEEK | MSG_DONTWAIT,
                0,
                0,
            ],
        )? as usize;
        bytes.truncate(n);
    }
    Ok((seq, bytes))
}

/// Reads connection `fd` (in repair mode) into `c`.
fn take(fd: u64, c: &mut TcpConnection) -> Result<(), Errno> {
    const SIOCINQ: u64 = 0x541b;
    const SIOCOUTQ: u64 = 0x5411;
    const SIOCOUTQNSD: u64 = 0x894b;
    let count = |request: u64| -> Result<usize, Errno> {
        let mut n: i32 = 0;
        sys(16, [fd, request, &raw mut n as u64, 0, 0, 0])?;
        Ok(n.max(0) as usize)
    };
    let info = tcp_info(fd)?;
    if info[0] != ESTABLISHED {
        return Err(Errno::EINVAL);
    }
    c.local = crate::hostio::socket_address(fd, false)?;
    c.peer = crate::hostio::socket_address(fd, true)?;
    let (in_len, out_len, unsent) = (count(SIOCINQ)?, count(SIOCOUTQ)?, count(SIOCOUTQNSD)?);
    (c.recv_seq, c.recv_queue) = queue(fd, RECV_QUEUE, in_len)?;
    (c.send_seq, c.send_queue) = queue(fd, SEND_QUEUE, out_len)?;
    if c.recv_queue.len() != in_len || c.send_queue.len() != out_len {
        return Err(Errno::EAGAIN);
    }
    c.unsent = unsent.min(out_len) as u32;
    c.mss = socket_option(fd, SOL_TCP, TCP_MAXSEG)?;
    c.tcp_options = info[5];
    c.wscale = (info[6] & 0xf, info[6] >> 4);
    c.timestamp = socket_option(fd, SOL_TCP, TCP_TIMESTAMP)?;
    let mut window = [0u32; 5];
    let mut len: u32 = 20;
    sys(
        55,
        [
            fd,
            SOL_TCP,
            TCP_REPAIR_WINDOW,
            window.as_mut_ptr() as u64,
            &raw mut len as u64,
            0,
        ],
    )?;
    c.window = window;
    c.buffers = (
        socket_option(fd, SOL_SOCKET, SO_SNDBUF)?,
        socket_option(fd, SOL_SOCKET, SO_RCVBUF)?,
    );
    c.options = u8::from(socket_option(fd, SOL_TCP, TCP_NODELAY)? != 0)
        | u8::from(socket_option(fd, SOL_SOCKET, SO_KEEPALIVE)? != 0) << 1;
    Ok(())
}

/// Writes `bytes` into queue `queue` of `fd` (in repair mode: as if they had been sent, or
/// received), or, out of it, as the program writes.
fn fill(fd: u64, queue: Option<i32>, bytes: &[u8]) -> Result<(), Errno> {
    if let Some(q) = queue {
        set_i32(fd, SOL_TCP, TCP_REPAIR_QUEUE, q)?;
    }
    let mut done = 0;
    while done < bytes.len() {
        let n = sys(
            44,
            [
                fd,
                bytes[done..].as_ptr() as u64,
                (bytes.len() - done) as u64,
                MSG_DONTWAIT,
                0,
                0,
            ],
        )? as usize;
        if n == 0 {
            return Err(Errno::EIO);
        }
        done += n;
    }
    Ok(())
}

/// Makes connection `c` again, in repair mode, which it is left in: [`resume`] takes it
/// out once the other end is made too. A failure names its step.
pub fn make(c: &TcpConnection) -> Result<u64, String> {
    let fd = sys(41, [u64::from(c.domain), 1 | 0o2000000, 0, 0, 0, 0])
        .map_err(|e| format!("socket: {e}"))?;
    let made = make_on(fd, c);
    if made.is_err() {
        close(fd);
    }
    made.map(|()| fd)
}

fn make_on(fd: u64, c: &TcpConnection) -> Result<(), String> {
    let step = |what: &str, r: Result<(), Errno>| r.map_err(|e| format!("{what}: {e}"));
    let set = |name: u64, value: i32| set_i32(fd, SOL_TCP, name, value);
    step("TCP_REPAIR", set(TCP_REPAIR, REPAIR_ON))?;
    // Buffers as large as they were, to hold the queues again (Linux doubles what is set).
    // Past the host's limits for them (net.core.wmem_max, rmem_max), as the kernel's
    // autotuning had gone, only root may go; another user's get those limits.
    let half = |v: u32| (v / 2).clamp(1, i32::MAX as u32) as i32;
    for (force, plain, size) in [
        (SO_SNDBUFFORCE, SO_SNDBUF, c.buffers.0),
        (SO_RCVBUFFORCE, SO_RCVBUF, c.buffers.1),
    ] {
        let forced = set_i32(fd, SOL_SOCKET, force, half(size));
        if forced == Err(Errno::EPERM) {
            step("buffers", set_i32(fd, SOL_SOCKET, plain, half(size)))?;
        } else {
            step("buffers", forced)?;
        }
    }
    let too_large = |which: &str, len: usize, r: Result<(), Errno>| {
        r.map_err(|e| match e {
            Errno::EAGAIN | Errno::ENOMEM => format!(
                "its {which} queue of {len} bytes is larger than this user may give a socket \
                 (net.core.wmem_max, net.core.rmem_max): restore it as root"
            ),
            e => format!("{which} queue: {e}"),
        })
    };
    let sent = c.send_queue.len() - c.unsent as usize;
    let recv_start = c.recv_seq.wrapping_sub(c.recv_queue.len() as u32);
    let send_start = c.send_seq.wrapping_sub(c.send_queue.len() as u32);
    step(
        "sequence numbers",
        set(TCP_REPAIR_QUEUE, RECV_QUEUE)
            .and_then(|()| set(TCP_QUEUE_SEQ, recv_start as i32))
            .and_then(|()| set(TCP_REPAIR_QUEUE, SEND_QUEUE))
            .and_then(|()| set(TCP_QUEUE_SEQ, send_start as i32)),
    )?;
    let at = |a: &[u8]| [fd, a.as_ptr() as u64, a.len() as u64, 0, 0, 0];
    // In repair mode neither sends a packet; the port may be a listener's (an accepted
    // connection's), which repair mode lets it share.
    step("bind", sys(49, at(&c.local)).map(|_| ()))?;
    step("connect", sys(42, at(&c.peer)).map(|_| ()))?;
    // struct tcp_repair_opt { opt_code, opt_val }
    let mut opts: Vec<[u32; 2]> = alloc::vec![[2, c.mss]];
    if c.tcp_options & OPT_WSCALE != 0 {
        opts.push([3, u32::from(c.wscale.0) | u32::from(c.wscale.1) << 16]);
    }
    if c.tcp_options & OPT_SACK != 0 {
        opts.push([4, 0]);
    }
    if c.tcp_options & OPT_TIMESTAMPS != 0 {
        opts.push([8, 0]);
    }
    let options = [
        fd,
        SOL_TCP,
        TCP_REPAIR_OPTIONS,
        opts.as_ptr() as u64,
        (opts.len() * 8) as u64,
        0,
    ];
    step("TCP_REPAIR_OPTIONS", sys(54, options).map(|_| ()))?;
    if c.tcp_options & OPT_TIMESTAMPS != 0 {
        step("TCP_TIMESTAMP", set(TCP_TIMESTAMP, c.timestamp as i32))?;
    }
    let (received, to_send) = (&c.recv_queue, &c.send_queue[..sent]);
    too_large(
        "receive",
        received.len(),
        fill(fd, Some(RECV_QUEUE), received),
    )?;
    too_large("send", to_send.len(), fill(fd, Some(SEND_QUEUE), to_send))?;
    // After the queues: the window's last update may be past the first byte not read yet.
    let window = [
        fd,
        SOL_TCP,
        TCP_REPAIR_WINDOW,
        c.window.as_ptr() as u64,
        20,
        0,
    ];
    step("TCP_REPAIR_WINDOW", sys(54, window).map(|_| ()))?;
    if c.options & 1 != 0 {
        step("TCP_NODELAY", set(TCP_NODELAY, 1))?;
    }
    if c.options & 2 != 0 {
        step("SO_KEEPALIVE", set_i32(fd, SOL_SOCKET, SO_KEEPALIVE, 1))?;
    }
    Ok(())
}

/// Takes connection `fd`, made by [`make`] from `c`, out of repair mode (the peer may be
/// told its window), and writes the bytes the program wrote that were never sent.
pub fn resume(fd: u64, c: &TcpConnection) -> Result<(), Errno> {
    set_i32(fd, SOL_TCP, TCP_REPAIR, REPAIR_OFF)?;
    let sent = c.send_queue.len() - c.unsent as usize;
    fill(fd, None, &c.send_queue[sent..])
}
