//! The box's Unix sockets across a snapshot (docs/snapshot.md, "Unix sockets").
//!
//! Taking them (the monitor, box frozen): what each socket is connected to comes from the
//! kernel's socket diagnostics (`NETLINK_SOCK_DIAG`, in the monitor's network namespace,
//! which is the box's): its type, state, name, peer, the connections waiting at a listener,
//! its shutdown state. What it would read next is *peeked* through a copy of it
//! (`pidfd_getfd`, `MSG_PEEK` from offset 0 with `SO_PEEK_OFF`), so nothing is taken out of
//! a box that goes on. Where a path-named socket's file is, the library OS tells
//! (`HandleKind::UnixName`): the host knows it only by its name in the socket root.
//!
//! Making them again (the restored program process, before it forks the others): every
//! socket is made, pairs with `socketpair`, named ones bound again (a path name's socket
//! file made again if it is gone, and its name in the socket root derived from the file as
//! `bind` derives it), queued messages sent again from where they came, listeners listen,
//! waiting clients connect again in their order, and shutdowns are repeated.
//!
//! Sockets in flight (`SCM_RIGHTS` in a queued message) are recorded by id when a process of
//! the box holds them too, and passed again with their message.
//!
//! Refused, naming the process and descriptor: a socket connected to one outside the box,
//! other descriptors in flight, a path-named socket the library OS did not bind.

use crate::hostio::{self, close, sys, S_IFMT, S_IFSOCK};
use crate::snapshot_meta::{Message, SocketFile, UnixSocket, UnixState};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const AF_UNIX: u64 = 1;
const AF_NETLINK: u64 = 16;
const NETLINK_SOCK_DIAG: u64 = 4;
const SOCK_RAW: u64 = 3;
const SOCK_STREAM: u32 = 1;
const SOCK_DGRAM: u32 = 2;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
const SOL_SOCKET: u64 = 1;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_PASSCRED: u64 = 16;
const SO_PEEK_OFF: u64 = 42;
const MSG_PEEK: u64 = 2;
const MSG_TRUNC: u32 = 0x20;
const MSG_CTRUNC: u32 = 0x8;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE: u8 = 7;
const TCP_LISTEN: u8 = 10;
/// Most bytes the sockets of one snapshot may have queued.
const QUEUED_LIMIT: usize = 64 << 20;
/// Longest datagram peeked (the host's largest socket buffer is smaller).
const DATAGRAM_MAX: usize = 4 << 20;

/// One socket as the kernel's diagnostics describe it.
#[derive(Clone, Default)]
struct Diag {
    kind: u32,
    state: u8,
    name: Vec<u8>,
    peer: u64,
    /// Of a listener, the sockets whose connections wait to be accepted (the clients, not
    /// the sockets the kernel made for them, which have no inode yet), in order.
    incoming: Vec<u64>,
    /// Of a listener, its backlog; of another socket, the bytes it sent that are not read
    /// yet only where it is the sender's (its peer was not accepted yet).
    sent_unread: u32,
    shutdown: u8,
}

/// Every Unix socket of the monitor's network namespace, by inode.
fn diagnose() -> Result<BTreeMap<u64, Diag>, String> {
    let fail = |e: Errno| format!("cannot read the box's Unix sockets (sock_diag): {e}");
    let nl = sys(
        41,
        [
            AF_NETLINK,
            SOCK_RAW | SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
            0,
            0,
            0,
        ],
    )
    .map_err(fail)?;
    let r = (|| {
        // struct nlmsghdr (SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP) and struct
        // unix_diag_req: every state; show name, peer, incoming connections, queue lengths.
        let mut req = [0u8; 40];
        req[..4].copy_from_slice(&40u32.to_ne_bytes());
        req[4..6].copy_from_slice(&20u16.to_ne_bytes());
        req[6..8].copy_from_slice(&0x301u16.to_ne_bytes());
        req[8..12].copy_from_slice(&1u32.to_ne_bytes());
        req[16] = AF_UNIX as u8;
        req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
        req[28..32].copy_from_slice(&(1u32 | 4 | 8 | 0x10).to_ne_bytes());
        let to = [AF_NETLINK as u16, 0, 0, 0, 0, 0];
        sys(44, [nl, req.as_ptr() as u64, 40, 0, to.as_ptr() as u64, 12])?;
        let mut found = BTreeMap::new();
        let mut buf = alloc::vec![0u8; 64 << 10];
        loop {
            let n = sys(45, [nl, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0])? as usize;
            let mut at = 0;
            while at + 16 <= n {
                let word = |o: usize| u32::from_ne_bytes(buf[o..o + 4].try_into().unwrap());
                let len = word(at) as usize;
                let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                if len < 16 || at + len > n {
                    return Err(Errno::EIO);
                }
                match kind {
                    3 => return Ok(found),                           // NLMSG_DONE
                    2 => return Err(Errno(-(word(at + 16) as i32))), // NLMSG_ERROR
                    _ => {}
                }
                if let Some((ino, d)) = parse_diag(&buf[at + 16..at + len]) {
                    found.insert(ino, d);
                }
                at += (len + 3) & !3;
            }
            if n == 0 {
                return Ok(found);
            }
        }
    })();
    close(nl);
    r.map_err(fail)
}

/// One `struct unix_diag_msg` and its attributes.
fn parse_diag(msg: &[u8]) -> Option<(u64, Diag)> {
    let word = |b: &[u8], o: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?))
    };
    let mut d = Diag {
        kind: u32::from(*msg.get(1)?),
        state: *msg.get(2)?,
        ..Diag::default()
    };
    let ino = u64::from(word(msg, 4)?);
    let mut at = 16;
    while at + 4 <= msg.len() {
        let len = usize::from(u16::from_ne_bytes([msg[at], msg[at + 1]]));
        let kind = u16::from_ne_bytes([msg[at + 2], msg[at + 3]]);
        if len < 4 || at + len > msg.len() {
            break;
        }
        let value = &msg[at + 4..at + len];
        match kind {
            0 => d.name = value.to_vec(),
            2 => d.peer = u64::from(word(value, 0)?),
            3 => {
                d.incoming = value
                    .chunks_exact(4)
                    .map(|c| u64::from(u32::from_ne_bytes(c.try_into().unwrap())))
                    .collect()
            }
            4 => d.sent_unread = word(value, 4)?,
            6 => d.shutdown = *value.first()?,
            _ => {}
        }
        at += (len + 3) & !3;
    }
    Some((ino, d))
}

/// A Unix socket descriptor of a frozen process: where it is, and its socket.
pub struct Held {
    /// The process's index among the box's members.
    pub process: usize,
    /// The process's id in the box (for messages).
    pub pid: u32,
    /// The process's pidfd.
    pub pidfd: u64,
    /// The descriptor.
    pub fd: u32,
    /// The socket's inode.
    pub id: u64,
    /// Its socket file, if the library OS named one.
    pub file: Option<SocketFile>,
}

/// The records of the box's Unix sockets (each in the list of the first process, in
/// `held` order, that holds it), or why they cannot be taken.
pub fn capture(held: &[Held], processes: usize) -> Result<Vec<Vec<UnixSocket>>, String> {
    let mut out: Vec<Vec<UnixSocket>> = alloc::vec![Vec::new(); processes];
    if held.is_empty() {
        return Ok(out);
    }
    let diag = diagnose()?;
    let ours = |id: u64| held.iter().any(|h| h.id == id);
    // Whether `client` waits to be accepted by a listener of the box.
    let waiting = |client: u64| {
        held.iter().any(|l| {
            diag.get(&l.id)
                .is_some_and(|d| d.incoming.contains(&client))
        })
    };
    let mut queued_total = 0usize;
    let mut done: Vec<u64> = Vec::new();
    for h in held {
        if done.contains(&h.id) {
            continue;
        }
        done.push(h.id);
        let refuse = |why: &str| {
            format!(
                "process {} holds a Unix socket (descriptor {}) {why}, which snapshots do not \
                 capture",
                h.pid, h.fd
            )
        };
        // A state that a moment may end: the snapshot tries again.
        let passing = |why: &str| {
            format!(
                "process {} holds a Unix socket (descriptor {}) {why} {}",
                h.pid,
                h.fd,
                crate::snapshot::PASSING
            )
        };
        let d = diag
            .get(&h.id)
            .ok_or_else(|| refuse("that the kernel does not list"))?;
        if !matches!(d.kind, 1 | 2 | 5) {
            return Err(refuse("of an unknown type"));
        }
        let named = !d.name.is_empty() && d.name[0] != 0;
        let file = held
            .iter()
            .filter(|o| o.id == h.id)
            .find_map(|o| o.file.clone());
        let state = match d.state {
            // The box's clients waiting at it, in the order they connected (a client outside
            // the box loses its connection, as a TCP one does).
            TCP_LISTEN => UnixState::Listening {
                backlog: d.sent_unread,
                pending: d.incoming.iter().copied().filter(|c| ours(*c)).collect(),
            },
            TCP_ESTABLISHED if ours(d.peer) => UnixState::Connected { peer: d.peer },
            TCP_ESTABLISHED if d.peer == 0 && waiting(h.id) => {
                if d.sent_unread > 0 {
                    return Err(passing(
                        "whose connection, not yet accepted, has data waiting",
                    ));
                }
                UnixState::Pending
            }
            // A closed peer is listed as 0: a datagram socket is then as one never connected;
            // a stream's queue is still read, then its end.
            TCP_ESTABLISHED if d.peer == 0 && d.kind == SOCK_DGRAM => UnixState::Open,
            TCP_ESTABLISHED if d.peer == 0 => UnixState::PeerClosed,
            TCP_ESTABLISHED => return Err(refuse("connected to a socket outside the box")),
            TCP_CLOSE => UnixState::Open,
            _ => return Err(passing("between two states")),
        };
        // A connected stream socket's name is its listener's (accepted) or its own from
        // before it connected: the socket made for it on restore has none.
        let stream_connected = d.kind != SOCK_DGRAM
            && matches!(
                state,
                UnixState::Connected { .. } | UnixState::PeerClosed | UnixState::Pending
            );
        let named = named && !stream_connected;
        if named && file.is_none() {
            return Err(refuse("bound by a process that did not pass it on"));
        }
        let copy = sys(438, [h.pidfd, u64::from(h.fd), 0, 0, 0, 0])
            .map_err(|e| format!("cannot reach descriptor {} of the box: {e}", h.fd))?;
        // A stream socket that is not connected has nothing to read (and refuses to).
        let peeked = if d.kind != SOCK_DGRAM && !stream_connected {
            Ok(Vec::new())
        } else {
            peek_queue(copy, d.kind)
        };
        let option = |name: u64| -> u32 {
            let mut v: u32 = 0;
            let mut len: u32 = 4;
            let _ = sys(
                55,
                [
                    copy,
                    SOL_SOCKET,
                    name,
                    &raw mut v as u64,
                    &raw mut len as u64,
                    0,
                ],
            );
            v
        };
        let buffers = (option(SO_SNDBUF), option(SO_RCVBUF));
        let pass_credentials = option(SO_PASSCRED) != 0;
        // Put back as it was by the peek: -1 while the program has not turned it on.
        let peek_offset = Some(option(SO_PEEK_OFF)).filter(|at| *at <= i32::MAX as u32);
        close(copy);
        let queue = peeked.map_err(|why| match why.strip_suffix(crate::snapshot::PASSING) {
            Some(why) => passing(why.trim_end()),
            None => refuse(&why),
        })?;
        if queue.iter().flat_map(|m| &m.passed).any(|id| !ours(*id)) {
            return Err(passing(
                "with a Unix socket in flight that no process of the box holds",
            ));
        }
        queued_total += queue.iter().map(|m| m.data.len()).sum::<usize>();
        if queued_total > QUEUED_LIMIT {
            return Err(refuse("with more bytes queued than a snapshot holds"));
        }
        out[h.process].push(UnixSocket {
            id: h.id,
            kind: d.kind,
            address: if named || d.name.first() == Some(&0) && !stream_connected {
                d.name.clone()
            } else {
                Vec::new()
            },
            file: if named { file } else { None },
            state,
            shutdown: d.shutdown & 3,
            buffers,
            pass_credentials,
            peek_offset,
            queue,
        });
    }
    Ok(out)
}

/// What `socket` would read next, in order, read without taking it: peeked from offset 0
/// (`SO_PEEK_OFF`, put back as it was). A stream's bytes are one message.
fn peek_queue(socket: u64, kind: u32) -> Result<Vec<Message>, String> {
    let mut old: i32 = -1;
    let mut len: u32 = 4;
    let _ = sys(
        55,
        [
            socket,
            SOL_SOCKET,
            SO_PEEK_OFF,
            &raw mut old as u64,
            &raw mut len as u64,
            0,
        ],
    );
    let zero: i32 = 0;
    sys(
        54,
        [
            socket,
            SOL_SOCKET,
            SO_PEEK_OFF,
            &raw const zero as u64,
            4,
            0,
        ],
    )
    .map_err(|e| format!("whose queue cannot be read ({e})"))?;
    let mut queue: Vec<Message> = Vec::new();
    let mut data = alloc::vec![0u8; 256 << 10];
    let mut from = [0u8; 112];
    let mut control = [0u8; CONTROL_ROOM];
    let r = loop {
        let mut iov = [data.as_mut_ptr() as u64, data.len() as u64];
        // struct msghdr
        let mut msg: [u64; 7] = [
            from.as_mut_ptr() as u64,
            from.len() as u64,
            iov.as_mut_ptr() as u64,
            1,
            control.as_mut_ptr() as u64,
            control.len() as u64,
            0,
        ];
        let n = match sys(
            47,
            [
                socket,
                msg.as_mut_ptr() as u64,
                MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC,
                0,
                0,
                0,
            ],
        ) {
            Ok(0) | Err(Errno::EAGAIN) => break Ok(()),
            Ok(n) => n as usize,
            Err(Errno::EINTR) => continue,
            Err(e) => break Err(format!("whose queue cannot be read ({e})")),
        };
        let _ = &mut iov;
        // A peek of SCM_RIGHTS gives the monitor copies of the descriptors passed.
        let passed = passed_sockets(&control[..(msg[5] as usize).min(CONTROL_ROOM)]);
        if (msg[6] as u32) & MSG_CTRUNC != 0 {
            break Err("with more descriptors in flight than a snapshot takes".into());
        }
        let Some(passed) = passed else {
            break Err(format!(
                "with descriptors other than Unix sockets in flight (SCM_RIGHTS) {}",
                crate::snapshot::PASSING
            ));
        };
        if (msg[6] as u32) & MSG_TRUNC != 0 || n > DATAGRAM_MAX {
            break Err("with a message too large to take".into());
        }
        let sender = from[2..(msg[1] as usize).clamp(2, from.len())].to_vec();
        // A stream's bytes are one message, but for those that pass descriptors: a read
        // ends with them, so each is sent again with its own bytes.
        match (kind, queue.last_mut()) {
            (SOCK_STREAM, Some(last)) if last.passed.is_empty() && passed.is_empty() => {
                last.data.extend_from_slice(&data[..n])
            }
            _ => queue.push(Message {
                from: sender,
                data: data[..n].to_vec(),
                passed,
            }),
        }
        if queue.iter().map(|m| m.data.len()).sum::<usize>() > QUEUED_LIMIT {
            break Err("with more bytes queued than a snapshot holds".into());
        }
    };
    let _ = sys(
        54,
        [socket, SOL_SOCKET, SO_PEEK_OFF, &raw const old as u64, 4, 0],
    );
    r.map(|()| queue)
}

/// Room for a message's control data: `SCM_MAX_FD` descriptors and credentials.
const CONTROL_ROOM: usize = 16 + 253 * 4 + 4 + 16 + 12 + 4;

/// The sockets (by inode) a peeked message's `SCM_RIGHTS` passes, in order, or `None` if it
/// passes anything else; every descriptor the peek gave the monitor is closed. Credentials
/// (`SCM_CREDENTIALS`) are the sender's and are not kept.
fn passed_sockets(control: &[u8]) -> Option<Vec<u64>> {
    let mut passed = Some(Vec::new());
    let mut at = 0;
    while at + 16 <= control.len() {
        let cmsg_len = u64::from_ne_bytes(control[at..at + 8].try_into().unwrap()) as usize;
        let (level, kind) = (
            u32::from_ne_bytes(control[at + 8..at + 12].try_into().unwrap()),
            u32::from_ne_bytes(control[at + 12..at + 16].try_into().unwrap()),
        );
        if cmsg_len < 16 || at + cmsg_len > control.len() {
            break;
        }
        if (level, kind) == (1, 1) {
            for fd in control[at + 16..at + cmsg_len].chunks_exact(4) {
                let fd = u64::from(u32::from_ne_bytes(fd.try_into().unwrap()));
                // struct stat: st_ino at 8, st_mode at 24.
                let mut st = [0u64; 18];
                let socket = sys(5, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok()
                    && (st[3] as u32) & S_IFMT == S_IFSOCK;
                match (&mut passed, socket) {
                    (Some(list), true) => list.push(st[1]),
                    _ => passed = None,
                }
                close(fd);
            }
        }
        at += (cmsg_len + 7) & !7;
    }
    passed
}

/// A socket's inode from its `/proc/PID/fd` link (`socket:[N]`).
pub fn inode_of(target: &[u8]) -> Option<u64> {
    hostio::decimal(target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
}

/// Whether a socket descriptor (a copy in the monitor) is a Unix one.
pub fn is_unix(copy: u64) -> bool {
    let mut v: u32 = 0;
    let mut len: u32 = 4;
    // SO_DOMAIN
    sys(
        55,
        [
            copy,
            SOL_SOCKET,
            39,
            &raw mut v as u64,
            &raw mut len as u64,
            0,
        ],
    )
    .is_ok()
        && u64::from(v) == AF_UNIX
}

/// A socket in words, for `snapshot inspect`.
pub fn describe(s: &UnixSocket) -> String {
    let kind = match s.kind {
        SOCK_STREAM => "stream",
        SOCK_DGRAM => "datagram",
        _ => "seqpacket",
    };
    let state = match &s.state {
        UnixState::Open => String::new(),
        UnixState::Listening { pending, .. } => {
            format!(", listening ({} waiting)", pending.len())
        }
        UnixState::Connected { peer } => format!(", connected to socket {peer}"),
        UnixState::Pending => ", connecting (not yet accepted)".into(),
        UnixState::PeerClosed => ", its peer closed".into(),
    };
    let named = if s.address.is_empty() {
        String::new()
    } else {
        format!(" {}", name(s))
    };
    let queued: usize = s.queue.iter().map(|m| m.data.len()).sum();
    format!(
        "Unix {kind} socket {}{named}{state}, {queued} bytes queued",
        s.id
    )
}

// --- Making them again --------------------------------------------------------------------

/// The sockets made again by the program process, by id.
pub type Made = Vec<(u64, u64)>;

/// Makes every Unix socket of the snapshot in this (the program) process, before it forks the
/// others: `roots` gives each saved mount-root descriptor number the descriptor of the
/// restore's own; `owner` is who a socket file made again belongs to. The process's root
/// directory is the box's socket root.
pub fn make_all(
    sockets: &[&UnixSocket],
    roots: &dyn Fn(u32) -> Option<u64>,
    owner: Option<(u32, u32)>,
) -> Result<Made, String> {
    let mut made: Made = Vec::new();
    // Ends made to stand for a closed peer: what was queued is sent from them, then they go.
    let mut closed_peers: Made = Vec::new();
    let result = make_all_into(sockets, roots, owner, &mut made, &mut closed_peers);
    for (_, fd) in closed_peers {
        close(fd);
    }
    match result {
        Ok(()) => Ok(made),
        Err(e) => {
            for (_, fd) in made {
                close(fd);
            }
            Err(e)
        }
    }
}

/// The socket `id` was made as.
fn fd_of(made: &Made, id: u64) -> u64 {
    made.iter()
        .find(|(i, _)| *i == id)
        .map_or(u64::MAX, |(_, fd)| *fd)
}

/// `s`'s peer, if the two are connected to each other (a pair).
fn pair_of<'a>(sockets: &[&'a UnixSocket], s: &UnixSocket) -> Option<&'a UnixSocket> {
    let UnixState::Connected { peer } = s.state else {
        return None;
    };
    sockets
        .iter()
        .copied()
        .find(|p| p.id == peer && p.state == UnixState::Connected { peer: s.id })
}

fn socket_pair(kind: u32) -> Result<(u64, u64), String> {
    let mut fds = [0i32; 2];
    let kind = u64::from(kind) | SOCK_CLOEXEC | SOCK_NONBLOCK;
    sys(53, [AF_UNIX, kind, 0, fds.as_mut_ptr() as u64, 0, 0])
        .map_err(|e| format!("cannot make a Unix socket pair: {e}"))?;
    Ok((fds[0] as u64, fds[1] as u64))
}

/// One name a socket had and the one it has now (the same but for a path name, whose name in
/// the socket root comes from its socket file).
struct Renamed {
    id: u64,
    old: Vec<u8>,
    new: Vec<u8>,
}

fn make_all_into(
    sockets: &[&UnixSocket],
    roots: &dyn Fn(u32) -> Option<u64>,
    owner: Option<(u32, u32)>,
    made: &mut Made,
    closed_peers: &mut Made,
) -> Result<(), String> {
    // 1. The sockets: pairs together.
    for s in sockets {
        if made.iter().any(|(i, _)| *i == s.id) {
            continue;
        }
        if let Some(p) = pair_of(sockets, s) {
            let (a, b) = socket_pair(s.kind)?;
            made.push((s.id, a));
            made.push((p.id, b));
        } else if s.state == UnixState::PeerClosed {
            let (a, b) = socket_pair(s.kind)?;
            made.push((s.id, a));
            closed_peers.push((s.id, b));
        } else {
            let kind = u64::from(s.kind) | SOCK_CLOEXEC | SOCK_NONBLOCK;
            let fd = sys(41, [AF_UNIX, kind, 0, 0, 0, 0])
                .map_err(|e| format!("cannot make a Unix socket: {e}"))?;
            made.push((s.id, fd));
        }
    }
    for s in sockets {
        set_options(fd_of(made, s.id), s);
    }
    // 2. Names.
    let mut names: Vec<Renamed> = Vec::new();
    for s in sockets.iter().filter(|s| !s.address.is_empty()) {
        let new = match &s.file {
            Some(f) => {
                let root = roots(f.root).ok_or_else(|| {
                    format!(
                        "the socket {} is on a mount the box does not have",
                        shown(f)
                    )
                })?;
                bound_name(root, f, owner)?
            }
            None => s.address.clone(),
        };
        let sa = sockaddr(&new);
        sys(
            49,
            [
                fd_of(made, s.id),
                sa.as_ptr() as u64,
                sa.len() as u64,
                0,
                0,
                0,
            ],
        )
        .map_err(|e| {
            format!(
                "cannot bind the program's Unix socket {} again: {e}",
                name(s)
            )
        })?;
        names.push(Renamed {
            id: s.id,
            old: s.address.clone(),
            new,
        });
    }
    let name_now = |id: u64| names.iter().find(|n| n.id == id).map(|n| n.new.clone());
    // 3. Queued messages, before datagram sockets connect (a connected one takes messages
    //    from its peer only): from the peer of a pair; else from the socket of the box that
    //    had the sender's name, or from an unnamed one.
    for s in sockets.iter().filter(|s| !s.queue.is_empty()) {
        if let Some(p) = pair_of(sockets, s) {
            for m in &s.queue {
                send(fd_of(made, p.id), m, made, None)?;
            }
            continue;
        }
        if s.state == UnixState::PeerClosed {
            for m in &s.queue {
                send(fd_of(closed_peers, s.id), m, made, None)?;
            }
            continue;
        }
        let to = name_now(s.id).ok_or_else(|| {
            format!(
                "a Unix socket without a name holds messages from no peer ({})",
                s.id
            )
        })?;
        for m in &s.queue {
            let sender = names
                .iter()
                .find(|n| !m.from.is_empty() && n.old == m.from)
                .map(|n| fd_of(made, n.id));
            let temporary = match sender {
                Some(_) => None,
                None => Some(
                    sys(41, [AF_UNIX, u64::from(s.kind) | SOCK_CLOEXEC, 0, 0, 0, 0])
                        .map_err(|e| format!("cannot make a Unix socket: {e}"))?,
                ),
            };
            let r = send(sender.or(temporary).unwrap_or(u64::MAX), m, made, Some(&to));
            if let Some(t) = temporary {
                close(t);
            }
            r?;
        }
    }
    // 4. Listeners listen and their waiting clients connect again, in order; then datagram
    //    sockets connect one way.
    for s in sockets {
        if let UnixState::Listening { backlog, pending } = &s.state {
            sys(50, [fd_of(made, s.id), u64::from(*backlog), 0, 0, 0, 0])
                .map_err(|e| format!("cannot listen again on {}: {e}", name(s)))?;
            let address = name_now(s.id).unwrap_or_default();
            for client in pending {
                connect(fd_of(made, *client), &address)
                    .map_err(|e| format!("cannot connect a client to {} again: {e}", name(s)))?;
            }
        }
    }
    for s in sockets {
        if let (UnixState::Connected { peer }, None) = (&s.state, pair_of(sockets, s)) {
            let address = name_now(*peer).ok_or_else(|| {
                format!("a Unix socket is connected to one without a name ({peer})")
            })?;
            connect(fd_of(made, s.id), &address)
                .map_err(|e| format!("cannot connect a Unix socket again: {e}"))?;
        }
    }
    // 5. Shutdowns, as the program made them (a closed peer's end is shut already).
    for s in sockets.iter().filter(|s| s.state != UnixState::PeerClosed) {
        let fd = fd_of(made, s.id);
        if s.shutdown & 2 != 0 {
            let _ = sys(48, [fd, 1, 0, 0, 0, 0]); // SHUT_WR
        }
        if s.shutdown & 1 != 0 && s.kind == SOCK_DGRAM {
            let _ = sys(48, [fd, 0, 0, 0, 0, 0]); // SHUT_RD
        }
    }
    Ok(())
}

/// Sizes, `SO_PASSCRED` and `SO_PEEK_OFF` as they were (the host doubles a size it is given,
/// as it did).
fn set_options(fd: u64, s: &UnixSocket) {
    let set = |name: u64, v: u32| {
        let _ = sys(54, [fd, SOL_SOCKET, name, &raw const v as u64, 4, 0]);
    };
    if s.buffers.0 != 0 {
        set(SO_SNDBUF, s.buffers.0 / 2);
    }
    if s.buffers.1 != 0 {
        set(SO_RCVBUF, s.buffers.1 / 2);
    }
    if s.pass_credentials {
        set(SO_PASSCRED, 1);
    }
    if let Some(at) = s.peek_offset {
        set(SO_PEEK_OFF, at);
    }
}

/// Queues `m` again from `fd` (to `to`, for an unconnected socket), with the sockets it
/// passed as they were made.
fn send(fd: u64, m: &Message, made: &Made, to: Option<&[u8]>) -> Result<(), String> {
    let sa = to.map(sockaddr);
    let (addr, len) = sa
        .as_ref()
        .map_or((0, 0), |a| (a.as_ptr() as u64, a.len() as u64));
    // struct cmsghdr (SOL_SOCKET, SCM_RIGHTS) and the descriptors.
    let mut control: Vec<u8> = Vec::new();
    if !m.passed.is_empty() {
        let cmsg_len = 16 + 4 * m.passed.len();
        control.extend_from_slice(&(cmsg_len as u64).to_ne_bytes());
        control.extend_from_slice(&1u32.to_ne_bytes());
        control.extend_from_slice(&1u32.to_ne_bytes());
        for id in &m.passed {
            control.extend_from_slice(&(fd_of(made, *id) as u32).to_ne_bytes());
        }
        control.resize((cmsg_len + 7) & !7, 0);
    }
    let data = &m.data;
    let mut at = 0;
    loop {
        let iov = [data[at..].as_ptr() as u64, (data.len() - at) as u64];
        // struct msghdr; the descriptors go with the first bytes only.
        let msg: [u64; 7] = [
            addr,
            len,
            iov.as_ptr() as u64,
            1,
            control.as_ptr() as u64,
            control.len() as u64,
            0,
        ];
        match sys(
            46,
            [
                fd,
                msg.as_ptr() as u64,
                MSG_DONTWAIT | 0x4000, // MSG_NOSIGNAL
                0,
                0,
                0,
            ],
        ) {
            Ok(n) => {
                at += n as usize;
                control.clear();
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("cannot queue a Unix socket's messages again: {e}")),
        }
        if at >= data.len() {
            return Ok(());
        }
    }
}

fn connect(fd: u64, address: &[u8]) -> Result<(), Errno> {
    let sa = sockaddr(address);
    sys(42, [fd, sa.as_ptr() as u64, sa.len() as u64, 0, 0, 0]).map(|_| ())
}

/// A `struct sockaddr_un` for `sun_path` bytes.
fn sockaddr(path: &[u8]) -> Vec<u8> {
    let mut sa = (AF_UNIX as u16).to_ne_bytes().to_vec();
    sa.extend_from_slice(&path[..path.len().min(108)]);
    sa
}

fn shown(f: &SocketFile) -> String {
    String::from_utf8_lossy(&f.given).into_owned()
}

fn name(s: &UnixSocket) -> String {
    match &s.file {
        Some(f) => shown(f),
        None => format!(
            "@{}",
            String::from_utf8_lossy(s.address.get(1..).unwrap_or(&[]))
        ),
    }
}

/// The host name (in the socket root) for a path-named socket whose file is `f` beneath
/// `root`: the file is made again if it is gone (its directory must be there), its note (the
/// path as given, `unix_names.rs`) written, and the name derived from its inode as the
/// library OS's `bind` derives it.
fn bound_name(root: u64, f: &SocketFile, owner: Option<(u32, u32)>) -> Result<Vec<u8>, String> {
    let gone = |why: String| {
        format!(
            "the program's socket {} cannot be made again: {why}",
            shown(f)
        )
    };
    let st = crate::special_files::node_beneath(root, &f.rel, S_IFSOCK | (f.mode & 0o7777), owner)
        .map_err(gone)?;
    let name = format!("{:x}-{:x}", st[0], st[1]);
    // The socket root is this process's root directory: a leftover name goes, and the
    // note is written (a symbolic link whose target is the path as given).
    let entry = hostio::c_str(format!("/{name}").as_bytes());
    let _ = sys(87, [entry.as_ptr() as u64, 0, 0, 0, 0, 0]);
    let note = hostio::c_str(format!("/{name}.path").as_bytes());
    let _ = sys(87, [note.as_ptr() as u64, 0, 0, 0, 0, 0]);
    let target = hostio::c_str(&f.given);
    sys(
        88,
        [target.as_ptr() as u64, note.as_ptr() as u64, 0, 0, 0, 0],
    )
    .map_err(|e| gone(format!("its note: {e}")))?;
    Ok(format!("/{name}").into_bytes())
}
