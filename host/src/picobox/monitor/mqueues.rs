//! POSIX message queues (`mq_open`) of the box's IPC namespace across a snapshot. The
//! monitor is in that namespace and holds the root of its queue file system (a detached
//! mount, `launch::bound_ipc`).
//!
//! Taking them (box frozen): each queue of the root, with its owner, permissions, capacity
//! and message size; its messages are received one by one (a POSIX queue has no peek) and
//! sent back at once in the same order with the same priorities, so the queue is as it was
//! (a box that goes on finds it so). A queue a process asked to be told of (`mq_notify`) is
//! refused: the registration is not kept. A descriptor of a queue is one of a
//! `HandleKind::PosixQueue`, found by its file system (`is_queue`); one of a queue removed
//! since (`mq_unlink`) is refused.
//!
//! Making them again: the restore's monitor makes each queue in the new namespace before the
//! box's first process exists (`mq_open` with `O_CREAT | O_EXCL`), sends its messages, and
//! gives it to the box's user; the box's processes open theirs by name
//! (`restore::make_anew`).

use crate::box_files::open_at;
use crate::hostio::{self, close, sys};
use crate::snapshot_meta::{PosixQueue, POSIX_MESSAGE_SIZE_MOST};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const SYS_MQ_OPEN: u64 = 240;
const SYS_MQ_TIMEDSEND: u64 = 242;
const SYS_MQ_TIMEDRECEIVE: u64 = 243;
const SYS_MQ_GETSETATTR: u64 = 245;
const MQUEUE_MAGIC: u64 = 0x1980_0202;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_NONBLOCK: u64 = 0o4000;

/// Whether descriptor `fd` (the monitor's own) is a POSIX message queue.
pub fn is_queue(fd: u64) -> bool {
    let mut fs = [0u64; 15];
    sys(138, [fd, fs.as_mut_ptr() as u64, 0, 0, 0, 0]).is_ok() && fs[0] == MQUEUE_MAGIC
}

/// `struct mq_attr` of queue `q`: capacity, message size, messages queued.
fn attributes(q: u64) -> Result<(u64, u64, u64), Errno> {
    let mut attr = [0u64; 8];
    sys(SYS_MQ_GETSETATTR, [q, 0, attr.as_mut_ptr() as u64, 0, 0, 0])?;
    Ok((attr[1], attr[2], attr[3]))
}

/// The queues of the root `root` of the box's queue file system, by name. `box_user` is the
/// user and group of the box's processes, as this process sees them.
pub fn capture(root: u64, box_user: (u32, u32)) -> Result<Vec<PosixQueue>, String> {
    let fail = |name: &[u8], e: Errno| {
        format!(
            "cannot take POSIX message queue {}: {e}",
            String::from_utf8_lossy(name)
        )
    };
    let listed = open_at(root, b".", hostio::O_RDONLY | hostio::O_DIRECTORY, 0).and_then(|dir| {
        let names = crate::box_files::names(dir);
        close(dir);
        names
    });
    let mut names =
        listed.map_err(|e| format!("cannot list the box's POSIX message queues: {e}"))?;
    names.sort_unstable();
    let mut out = Vec::new();
    for name in names {
        let mut st = [0u64; 18];
        let c = hostio::c_str(&name);
        sys(
            262,
            [root, c.as_ptr() as u64, st.as_mut_ptr() as u64, 0x100, 0, 0],
        )
        .map_err(|e| fail(&name, e))?;
        let status = open_at(root, &name, hostio::O_RDONLY, 0)
            .and_then(|fd| {
                let text = hostio::read_all(fd, 4096);
                close(fd);
                text
            })
            .map_err(|e| fail(&name, e))?;
        if notified(&status) {
            return Err(format!(
                "a process of the box asked to be told of POSIX message queue {} (mq_notify), \
                 which snapshots do not capture",
                String::from_utf8_lossy(&name)
            ));
        }
        let q = open_at(root, &name, O_RDWR | O_NONBLOCK, 0).map_err(|e| fail(&name, e))?;
        let taken = take_messages(q);
        let attrs = attributes(q);
        close(q);
        let (capacity, message_size, _) = attrs.map_err(|e| fail(&name, e))?;
        let owner = (st[3] >> 32) as u32;
        let group = st[4] as u32;
        out.push(PosixQueue {
            name: name.clone(),
            owner: ((owner, group) != box_user).then_some((owner, group)),
            mode: st[3] as u32 & 0o777,
            capacity: capacity as u32,
            message_size: message_size as u32,
            messages: taken.map_err(|e| fail(&name, e))?,
        });
    }
    Ok(out)
}

/// Whether a queue's status text (`QSIZE:… NOTIFY:… SIGNO:… NOTIFY_PID:…`) names a process
/// to be told.
fn notified(status: &[u8]) -> bool {
    let text = String::from_utf8_lossy(status);
    text.split("NOTIFY_PID:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|pid| pid != "0")
}

/// Receives every message of queue `q` and sends them back in the same order: returns them.
fn take_messages(q: u64) -> Result<Vec<(u32, Vec<u8>)>, Errno> {
    let (_, size, _) = attributes(q)?;
    let mut buf = alloc::vec![0u8; size.min(u64::from(POSIX_MESSAGE_SIZE_MOST)) as usize];
    let mut messages = Vec::new();
    let mut result = Ok(());
    loop {
        let mut priority: u32 = 0;
        let args = [
            q,
            buf.as_mut_ptr() as u64,
            buf.len() as u64,
            &raw mut priority as u64,
            0,
            0,
        ];
        match sys(SYS_MQ_TIMEDRECEIVE, args) {
            Ok(n) => messages.push((priority, buf[..n as usize].to_vec())),
            Err(Errno::EAGAIN) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // Back, whatever happened: the box goes on if the snapshot does not.
    for (priority, bytes) in &messages {
        let args = [
            q,
            bytes.as_ptr() as u64,
            bytes.len() as u64,
            u64::from(*priority),
            0,
            0,
        ];
        if let Err(e) = sys(SYS_MQ_TIMEDSEND, args) {
            result = result.and(Err(e));
        }
    }
    result.map(|()| messages)
}

/// Makes the queues of `queues` again in this process's IPC namespace, whose queue file
/// system has root `root`, owned by `box_user` where they were the box's.
pub fn make_again(
    queues: &[PosixQueue],
    root: u64,
    box_user: Option<(u32, u32)>,
) -> Result<(), String> {
    for q in queues {
        let fail = |e: Errno| {
            format!(
                "cannot make POSIX message queue {} again: {e}",
                String::from_utf8_lossy(&q.name)
            )
        };
        // struct mq_attr { flags, maxmsg, msgsize, curmsgs, reserved[4] }
        let attr: [u64; 8] = [
            0,
            u64::from(q.capacity),
            u64::from(q.message_size),
            0,
            0,
            0,
            0,
            0,
        ];
        let name = hostio::c_str(&q.name);
        let fd = sys(
            SYS_MQ_OPEN,
            [
                name.as_ptr() as u64,
                O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | hostio::O_CLOEXEC,
                0o600,
                attr.as_ptr() as u64,
                0,
                0,
            ],
        )
        .map_err(fail)?;
        let mut sent = Ok(0);
        for (priority, bytes) in &q.messages {
            let args = [
                fd,
                bytes.as_ptr() as u64,
                bytes.len() as u64,
                u64::from(*priority),
                0,
                0,
            ];
            sent = sent.and_then(|_| sys(SYS_MQ_TIMEDSEND, args));
        }
        close(fd);
        sent.map_err(fail)?;
        // Its owner and mode beneath the root, not following a link.
        crate::special_files::give_to(root, &name, q.owner.or(box_user));
        let _ = sys(
            268,
            [root, name.as_ptr() as u64, u64::from(q.mode), 0, 0, 0],
        );
    }
    Ok(())
}
