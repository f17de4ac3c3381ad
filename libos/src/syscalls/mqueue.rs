//! POSIX message queues (`mq_open` and friends), the host's, in the box's own IPC namespace
//! (its queue names are the namespace's, seen by no process outside the box). A queue is a
//! host stream: `poll`, `select` and `epoll` wait on it like on any other descriptor.
//! `mq_notify` with `SIGEV_THREAD` needs a netlink socket, which a box cannot make: glibc's
//! wrapper then fails as where netlink is missing.

use super::fs::file_of;
use super::{int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, Kernel};
use crate::user;
use alloc::vec::Vec;
use picobox_abi::{Errno, Handle, IpcOp, OpenFlags, Result, Timespec};

/// The longest message the library OS copies (Linux's `HARD_MSGSIZEMAX`).
const MESSAGE_MAX: u64 = 16 << 20;
const O_CLOEXEC: u32 = 0o2000000;

fn queue_name(addr: u64) -> Result<Vec<u8>> {
    user::read_cstr(addr, crate::path::NAME_MAX)
}

fn attributes(addr: u64) -> Result<Option<[u8; 64]>> {
    if addr == 0 {
        return Ok(None);
    }
    let mut attr = [0u8; 64];
    user::read_into(addr, &mut attr)?;
    Ok(Some(attr))
}

fn deadline(addr: u64) -> Result<Option<Timespec>> {
    if addr == 0 {
        return Ok(None);
    }
    super::time::read_timespec(addr).map(Some)
}

fn queue_of(fd: u64) -> Result<Handle> {
    file_of(fd)?.handle().ok_or(Errno::EBADF)
}

/// `mq_open(name, flags, mode, attr)`.
pub fn sys_mq_open(k: &mut Kernel, a: &Args) -> Result<u64> {
    let name = queue_name(a[0])?;
    let flags = int_arg(a[1]);
    let attr = attributes(a[3])?;
    let mode = (a[2] & 0o7777) as u32 & !k.umask;
    let h = host().ipc(IpcOp::MqOpen {
        name: &name,
        flags: flags & !(O_CLOEXEC as i32),
        mode,
        attr: attr.as_ref(),
    })?;
    let h = Handle(u32::try_from(h).map_err(|_| Errno::EBADF)?);
    let status = flags as u32 & (OpenFlags::ACCESS_MASK | OpenFlags::NONBLOCK);
    let file = OpenFile::new(FileObject::Host(HostHandle(h)), status, Vec::new());
    k.fds.insert(FdEntry {
        file,
        cloexec: flags as u32 & O_CLOEXEC != 0,
    })
}

/// `mq_unlink(name)`.
pub fn sys_mq_unlink(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let name = queue_name(a[0])?;
    host().ipc(IpcOp::MqUnlink { name: &name })
}

/// `mq_timedsend(queue, msg, len, priority, deadline)`.
pub fn sys_mq_timedsend(a: &Args) -> Result<u64> {
    let queue = queue_of(a[0])?;
    if a[2] > MESSAGE_MAX {
        return Err(Errno::EMSGSIZE);
    }
    let msg = user::read_bytes(a[1], a[2] as usize)?;
    let deadline = deadline(a[4])?;
    host().ipc(IpcOp::MqSend {
        queue,
        msg: &msg,
        priority: (a[3] & 0xffff_ffff) as u32,
        deadline,
    })
}

/// `mq_timedreceive(queue, msg, len, priority, deadline)`.
pub fn sys_mq_timedreceive(a: &Args) -> Result<u64> {
    let queue = queue_of(a[0])?;
    let room = a[2].min(MESSAGE_MAX) as usize;
    let deadline = deadline(a[4])?;
    let mut msg = alloc::vec![0u8; room];
    let mut priority = 0u32;
    let n = host().ipc(IpcOp::MqReceive {
        queue,
        msg: &mut msg,
        priority: &mut priority,
        deadline,
    })?;
    user::write_bytes(a[1], &msg[..(n as usize).min(room)])?;
    if a[3] != 0 {
        user::write_u32(a[3], priority)?;
    }
    Ok(n)
}

/// `mq_notify(queue, sigevent)`.
pub fn sys_mq_notify(a: &Args) -> Result<u64> {
    let queue = queue_of(a[0])?;
    let event = attributes(a[1])?;
    host().ipc(IpcOp::MqNotify {
        queue,
        event: event.as_ref(),
    })
}

/// `mq_getsetattr(queue, new, old)`: `O_NONBLOCK` is also the descriptor's status flag.
pub fn sys_mq_getsetattr(a: &Args) -> Result<u64> {
    let queue = queue_of(a[0])?;
    let new = attributes(a[1])?;
    let mut old = [0u8; 64];
    host().ipc(IpcOp::MqAttributes {
        queue,
        new: new.as_ref(),
        old: (a[2] != 0).then_some(&mut old),
    })?;
    if let Some(new) = new {
        let nonblocking = u64::from_le_bytes(new[..8].try_into().unwrap_or([0; 8]))
            & u64::from(OpenFlags::NONBLOCK)
            != 0;
        let file = file_of(a[0])?;
        let mut flags = file.flags.lock();
        *flags = if nonblocking {
            *flags | OpenFlags::NONBLOCK
        } else {
            *flags & !OpenFlags::NONBLOCK
        };
    }
    if a[2] != 0 {
        user::write_bytes(a[2], &old)?;
    }
    Ok(0)
}
