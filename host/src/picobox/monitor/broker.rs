//! What the kernel's rules cannot decide, decided by the monitor: `listen` on the host's
//! network, and the watches of `inotify_add_watch`.
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
//!
//! `inotify_add_watch` takes a path, and no path reaches the box's mounts: they are detached,
//! reached only through descriptors (`policy/box_root.rs`). So the PAL names the file to watch
//! by a descriptor (opened with `O_PATH`) in the call's path argument, the filter hands every
//! such call to the monitor, and the monitor takes both descriptors from the box and makes the
//! watch on `/proc/self/fd/N` of its own copy: that names the very object, whatever path
//! reached it. It makes it with the box's file-system identity (for a box started by root,
//! `setfsuid`, `setfsgid` and the box's one group) and no effective capability, so the
//! kernel's read-permission check of a watch is the box's, not the monitor's.

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
    hand_over_with(box_end, listener, &gate::syscall)
}

/// As [`hand_over`], making its calls with `call` (a restore's, at the saved runtime's gate).
pub fn hand_over_with(
    box_end: u64,
    listener: u64,
    call: &dyn Fn(u64, [u64; 6]) -> u64,
) -> Result<(), Errno> {
    let sent = send_descriptor_with(box_end, listener, call);
    call(3, [listener, 0, 0, 0, 0, 0]);
    call(3, [box_end, 0, 0, 0, 0, 0]);
    sent
}

/// Sends descriptor `fd` (`SCM_RIGHTS`, with one byte) on socket `end`, making the call with
/// `call`; both stay open.
pub fn send_descriptor_with(
    end: u64,
    fd: u64,
    call: &dyn Fn(u64, [u64; 6]) -> u64,
) -> Result<(), Errno> {
    // struct cmsghdr { size_t len; int level; int type; } + one int, padded to 24 bytes.
    let mut control = [0u8; 24];
    control[..8].copy_from_slice(&20u64.to_ne_bytes());
    control[8..12].copy_from_slice(&SOL_SOCKET.to_ne_bytes());
    control[12..16].copy_from_slice(&SCM_RIGHTS.to_ne_bytes());
    control[16..20].copy_from_slice(&(fd as i32).to_ne_bytes());
    let byte = [1u8];
    let iov: [u64; 2] = [byte.as_ptr() as u64, 1];
    // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }
    let msg: [u64; 7] = [0, 0, iov.as_ptr() as u64, 1, control.as_ptr() as u64, 24, 0];
    Errno::from_raw_return(call(46, [end, msg.as_ptr() as u64, 0, 0, 0, 0])).map(|_| ())
}

/// The host identity the monitor takes to make a watch for a box started by root (a box of
/// an ordinary user has the monitor's own).
#[derive(Clone, Copy)]
pub struct BoxIdentity {
    /// Host uid of the box's processes.
    pub uid: u32,
    /// Host gid of the box's processes.
    pub gid: u32,
}

/// Answers the box's brokered calls for the milliseconds it is given.
pub type AnswerFor<'a> = &'a dyn Fn(u64);

/// Another descriptor the monitor waits on beside the brokered calls (the snapshot control
/// socket), and what to do when it is readable.
pub struct Extra<'a> {
    /// The descriptor.
    pub fd: u64,
    /// Called when it is readable, with a function that answers the box's brokered calls
    /// for the milliseconds it is given: what a long answer does while it waits (a snapshot
    /// between two tries, while a thread of the box waits for a watch, its library OS's lock
    /// held).
    pub on_ready: &'a mut dyn FnMut(AnswerFor<'_>),
}

/// Answers the brokered calls that come on `listeners` for `ms` milliseconds.
fn answer_for(listeners: &[u64], identity: Option<BoxIdentity>, ms: u64) {
    let deadline = crate::hostio::now_ms() + ms;
    loop {
        let now = crate::hostio::now_ms();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        let timeout: [u64; 2] = [left / 1000, (left % 1000) * 1_000_000];
        let mut fds: alloc::vec::Vec<u64> = listeners.iter().map(|l| *l | (1 << 32)).collect();
        let polled = sys(
            271,
            [
                fds.as_mut_ptr() as u64,
                fds.len() as u64,
                timeout.as_ptr() as u64,
                0,
                8,
                0,
            ],
        );
        if matches!(polled, Err(e) if e != Errno::EINTR) {
            return;
        }
        for (l, f) in listeners.iter().zip(&fds) {
            if (f >> 48) as u16 & 1 != 0 {
                answer_one(*l, identity);
            }
        }
    }
}

/// In the monitor, while the box runs: answers the box's brokered calls (and `extra`'s
/// requests) until its first process `pid` ends (when every other process of the box ends
/// too).
pub fn serve(
    channel: Channel,
    pid: u64,
    identity: Option<BoxIdentity>,
    mut extra: Option<Extra<'_>>,
) {
    close(channel.box_end);
    let Some(first) = receive_descriptor(channel.monitor_end) else {
        close(channel.monitor_end);
        return; // the box ended before it was confined
    };
    // A restored box's processes each installed their filter (they were not forked from one
    // that had it), so each hands over a listener of its own: more may come on the channel.
    let mut listeners = alloc::vec![first];
    let mut channel_end = Some(channel.monitor_end);
    let Ok(box_pidfd) = sys(434, [pid, 0, 0, 0, 0, 0]) else {
        for l in listeners {
            close(l);
        }
        return;
    };
    loop {
        // struct pollfd { int fd; short events; short revents; }, POLLIN: the box's first
        // process, the extra descriptor, the channel, then each listener.
        let poll = |fd: u64| fd | (1 << 32);
        let mut fds: alloc::vec::Vec<u64> = alloc::vec![poll(box_pidfd)];
        fds.push(extra.as_ref().map_or(u64::MAX >> 32, |e| poll(e.fd)));
        fds.push(channel_end.map_or(u64::MAX >> 32, poll));
        fds.extend(listeners.iter().map(|l| poll(*l)));
        match sys(271, [fds.as_mut_ptr() as u64, fds.len() as u64, 0, 0, 8, 0]) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => break,
        }
        let revents = |f: u64| (f >> 48) as u16;
        if revents(fds[0]) != 0 {
            break; // the box's first process ended
        }
        if let Some(e) = extra.as_mut() {
            if revents(fds[1]) & 1 != 0 {
                let answer = |ms: u64| answer_for(&listeners, identity, ms);
                (e.on_ready)(&answer);
            }
        }
        let polled = listeners.len();
        if let Some(end) = channel_end {
            if revents(fds[2]) != 0 {
                match receive_descriptor(end) {
                    Some(l) => listeners.push(l),
                    None => {
                        close(end);
                        channel_end = None;
                    }
                }
            }
        }
        let mut gone = alloc::vec::Vec::new();
        for (i, l) in listeners[..polled].iter().enumerate() {
            let r = revents(fds[3 + i]);
            if r & 1 != 0 {
                answer_one(*l, identity);
            } else if r != 0 {
                gone.push(i); // no process is left to notify through it
            }
        }
        for i in gone.into_iter().rev() {
            close(listeners.remove(i));
        }
        if listeners.is_empty() && channel_end.is_none() {
            break;
        }
    }
    close(box_pidfd);
    if let Some(end) = channel_end {
        close(end);
    }
    for l in listeners {
        close(l);
    }
}

/// Receives one descriptor (`SCM_RIGHTS`, with one byte) on socket `monitor_end`.
pub fn receive_descriptor(monitor_end: u64) -> Option<u64> {
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
fn answer_one(listener: u64, identity: Option<BoxIdentity>) {
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
    let call = req[2] & 0xffff_ffff;
    let args = [req[4], req[5], req[6]];
    let result = match call {
        SYS_LISTEN => listen_for(pid, args[0] & 0xffff_ffff, args[1] & 0xffff_ffff),
        SYS_INOTIFY_ADD_WATCH => watch_for(
            pid,
            args[0] & 0xffff_ffff,
            args[1],
            (args[2] & 0xffff_ffff) as u32,
            identity,
        ),
        _ => Err(Errno::ENOSYS),
    };
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

const SYS_LISTEN: u64 = 50;
const SYS_INOTIFY_ADD_WATCH: u64 = 254;

/// A copy of descriptor `fd` of thread `pid` of the box (`pidfd_getfd`).
fn take_descriptor(pid: u64, fd: u64) -> Result<u64, Errno> {
    // The caller may be any thread of a process (`PIDFD_THREAD`, Linux 6.9; before it, only a
    // process's first thread has a pidfd).
    const PIDFD_THREAD: u64 = 0o200;
    let pidfd =
        sys(434, [pid, PIDFD_THREAD, 0, 0, 0, 0]).or_else(|_| sys(434, [pid, 0, 0, 0, 0, 0]))?;
    let copy = sys(438, [pidfd, fd, 0, 0, 0, 0]);
    close(pidfd);
    copy
}

/// `inotify_add_watch(watcher, <the object of descriptor target>, mask)` for thread `pid` of
/// the box, with the box's file-system identity.
fn watch_for(
    pid: u64,
    watcher: u64,
    target: u64,
    mask: u32,
    identity: Option<BoxIdentity>,
) -> Result<u64, Errno> {
    // IN_DONT_FOLLOW would watch the /proc link itself; the box opened the target with
    // O_NOFOLLOW when it wanted the link.
    const IN_DONT_FOLLOW: u32 = 0x0200_0000;
    let target = u32::try_from(target).map_err(|_| Errno::EBADF)?;
    let watcher = take_descriptor(pid, watcher)?;
    let result = (|| {
        if !is_inotify(watcher) {
            return Err(Errno::EINVAL);
        }
        let target = take_descriptor(pid, u64::from(target))?;
        let mut path = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0";
        decimal(target, &mut path[14..24]);
        let made = as_identity(identity, || {
            sys(
                SYS_INOTIFY_ADD_WATCH,
                [
                    watcher,
                    path.as_ptr() as u64,
                    u64::from(mask & !IN_DONT_FOLLOW),
                    0,
                    0,
                    0,
                ],
            )
        });
        close(target);
        made
    })();
    close(watcher);
    result
}

/// Writes `n` in decimal at the start of `out` (room for 10 digits: a descriptor number).
fn decimal(mut n: u64, out: &mut [u8]) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (i, d) in digits[..len].iter().rev().enumerate() {
        out[i] = *d;
    }
}

/// Whether `fd` (the monitor's) is an inotify instance.
fn is_inotify(fd: u64) -> bool {
    let mut path = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0";
    decimal(fd, &mut path[14..24]);
    let mut link = [0u8; 32];
    let Ok(len) = sys(
        89,
        [path.as_ptr() as u64, link.as_mut_ptr() as u64, 32, 0, 0, 0],
    ) else {
        return false;
    };
    &link[..len as usize] == b"anon_inode:inotify"
}

/// Runs `call` with the box's file-system identity: its user, group and one group when it has
/// ids of its own, and in every case no effective capability (a monitor of an ordinary user
/// holds them in the user namespace it made, over the user's own files).
fn as_identity(
    identity: Option<BoxIdentity>,
    call: impl FnOnce() -> Result<u64, Errno>,
) -> Result<u64, Errno> {
    const GETGROUPS: u64 = 115;
    const SETGROUPS: u64 = 116;
    const SETFSUID: u64 = 122;
    const SETFSGID: u64 = 123;
    // The raw calls change only this thread, and the monitor has no other.
    let mut saved_groups = [0u32; 64];
    let mut restore_ids = None;
    if let Some(id) = identity {
        let count = sys(
            GETGROUPS,
            [64, saved_groups.as_mut_ptr() as u64, 0, 0, 0, 0],
        )
        .map_err(|_| Errno::EPERM)?;
        let group = [id.gid];
        sys(SETGROUPS, [1, group.as_ptr() as u64, 0, 0, 0, 0]).map_err(|_| Errno::EPERM)?;
        let old_gid = gate::syscall(SETFSGID, [u64::from(id.gid), 0, 0, 0, 0, 0]);
        let old_uid = gate::syscall(SETFSUID, [u64::from(id.uid), 0, 0, 0, 0, 0]);
        restore_ids = Some((count, old_uid, old_gid));
    }
    let caps = Capabilities::of_this_thread();
    let result = match (&caps, identity) {
        (None, _) => Err(Errno::EPERM),
        // setfsuid answers the previous id whether or not it changed: check it took.
        (Some(_), Some(id))
            if gate::syscall(SETFSUID, [u64::MAX, 0, 0, 0, 0, 0]) as u32 != id.uid =>
        {
            Err(Errno::EPERM)
        }
        (Some(c), _) => {
            if c.without_effective().set().is_ok() {
                let made = call();
                let _ = c.set();
                made
            } else {
                Err(Errno::EPERM)
            }
        }
    };
    if let Some((count, old_uid, old_gid)) = restore_ids {
        gate::syscall(SETFSUID, [old_uid, 0, 0, 0, 0, 0]);
        gate::syscall(SETFSGID, [old_gid, 0, 0, 0, 0, 0]);
        let _ = sys(SETGROUPS, [count, saved_groups.as_ptr() as u64, 0, 0, 0, 0]);
    }
    result
}

/// A thread's capability sets (`capget`/`capset`, version 3: two 32-bit words each).
#[derive(Clone, Copy)]
struct Capabilities {
    /// `struct __user_cap_data_struct { effective, permitted, inheritable }` x 2.
    data: [u32; 6],
}

impl Capabilities {
    const VERSION_3: u32 = 0x2008_0522;

    fn of_this_thread() -> Option<Capabilities> {
        let header = [Self::VERSION_3, 0];
        let mut data = [0u32; 6];
        sys(
            125,
            [header.as_ptr() as u64, data.as_mut_ptr() as u64, 0, 0, 0, 0],
        )
        .ok()?;
        Some(Capabilities { data })
    }

    fn without_effective(self) -> Capabilities {
        let mut data = self.data;
        data[0] = 0;
        data[3] = 0;
        Capabilities { data }
    }

    fn set(&self) -> Result<(), Errno> {
        let header = [Self::VERSION_3, 0];
        sys(
            126,
            [
                header.as_ptr() as u64,
                self.data.as_ptr() as u64,
                0,
                0,
                0,
                0,
            ],
        )
        .map(|_| ())
    }
}

/// `listen(fd, backlog)` for thread `pid` of the box, unless the socket is an IP socket that
/// was never bound.
fn listen_for(pid: u64, fd: u64, backlog: u64) -> Result<u64, Errno> {
    let socket = take_descriptor(pid, fd)?;
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
