//! System V IPC: shared memory segments, semaphore sets and message queues. They are the
//! host's, in an IPC namespace of the box's own (so shared by the box's processes and nobody
//! else's), reached through one ABI call ([`picobox_abi::Host::ipc`]). The library OS copies
//! each structure between the program's memory and its own, with the size Linux reads or
//! writes for the command, checks that an attach address lies outside its own memory, and
//! records attached segments as mappings (`/proc/self/maps`, `munmap`).

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use crate::vma::Area;
use alloc::vec;
use alloc::vec::Vec;
use picobox_abi::{Errno, IpcOp, Result};

const IPC_SET: i32 = 1;
const IPC_STAT: i32 = 2;
const IPC_INFO: i32 = 3;
/// A flag of the command that asks for the 64-bit structures, which x86-64 always uses.
const IPC_64: i32 = 0x100;
const PAGE: u64 = 4096;
/// `SHMLBA` on x86-64.
const SHMLBA: u64 = PAGE;
const SHM_RDONLY: i32 = 0o10000;
const SHM_RND: i32 = 0o20000;
const SHM_EXEC: i32 = 0o100000;
/// `SEMOPM`: the most operations one `semop` takes.
const SEMOPM: u64 = 500;
/// The longest message the library OS passes on (Linux's `msgmax` is 8192 by default: the
/// host refuses more anyway).
const MAX_MESSAGE: u64 = 1 << 16;

/// `struct shmid_ds`, `semid_ds`, `msqid_ds` on x86-64.
const SHMID_DS: usize = 112;
const SEMID_DS: usize = 104;
const MSQID_DS: usize = 120;

fn cmd_arg(v: u64) -> i32 {
    int_arg(v) & !IPC_64
}

/// The bytes a `*ctl` command reads or writes at its buffer: (size, read before, written after).
fn control_buffer(cmd: i32, stat: &[i32], info: &[(i32, usize)], ds: usize) -> (usize, bool, bool) {
    if cmd == IPC_SET {
        (ds, true, false)
    } else if cmd == IPC_STAT || stat.contains(&cmd) {
        (ds, false, true)
    } else if let Some((_, size)) = info.iter().find(|(c, _)| *c == cmd) {
        (*size, false, true)
    } else {
        (0, false, false)
    }
}

/// Runs a `*ctl` command with a buffer of `size` bytes at `addr`, read first and/or written
/// back as the command needs.
fn with_buffer(
    addr: u64,
    (size, read, write): (usize, bool, bool),
    run: impl FnOnce(&mut [u8]) -> Result<u64>,
) -> Result<u64> {
    let mut buf = if read {
        user::read_bytes(addr, size)?
    } else {
        vec![0u8; size]
    };
    let r = run(&mut buf)?;
    if write {
        user::write_bytes(addr, &buf)?;
    }
    Ok(r)
}

/// `shmget(key, size, flags)`.
pub fn sys_shmget(_k: &mut Kernel, a: &Args) -> Result<u64> {
    host().ipc(IpcOp::ShmGet {
        key: int_arg(a[0]),
        size: usize::try_from(a[1]).map_err(|_| Errno::EINVAL)?,
        flags: int_arg(a[2]),
    })
}

/// A segment's size, from its `shmid_ds`.
fn segment_size(id: i32) -> Result<u64> {
    let mut ds = [0u8; SHMID_DS];
    host().ipc(IpcOp::ShmControl {
        id,
        cmd: IPC_STAT,
        buf: &mut ds,
    })?;
    Ok(u64::from_le_bytes(ds[48..56].try_into().unwrap_or([0; 8])))
}

/// `shmat(id, addr, flags)`: a given address must lie outside the library OS's memory.
pub fn sys_shmat(k: &mut Kernel, a: &Args) -> Result<u64> {
    let id = int_arg(a[0]);
    let flags = int_arg(a[2]);
    let len = segment_size(id)?.next_multiple_of(PAGE);
    let mut addr = a[1];
    if addr != 0 {
        if flags & SHM_RND != 0 {
            addr &= !(SHMLBA - 1);
        }
        if !addr.is_multiple_of(SHMLBA) {
            return Err(Errno::EINVAL);
        }
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if crate::user::overlaps_runtime(addr as usize, end as usize) {
            return Err(Errno::EINVAL);
        }
    }
    let at = host().ipc(IpcOp::ShmAttach {
        id,
        addr: addr as usize,
        flags,
    })?;
    let mut prot = 1; // PROT_READ
    if flags & SHM_RDONLY == 0 {
        prot |= 2;
    }
    if flags & SHM_EXEC != 0 {
        prot |= 4;
    }
    k.vmas.insert(
        at,
        at + len,
        Area {
            shared: true,
            ..Area::private(prot)
        },
    );
    k.shm_attached.insert(at, len);
    Ok(at)
}

/// `shmdt(addr)`.
pub fn sys_shmdt(k: &mut Kernel, a: &Args) -> Result<u64> {
    host().ipc(IpcOp::ShmDetach {
        addr: usize::try_from(a[0]).map_err(|_| Errno::EINVAL)?,
    })?;
    if let Some(len) = k.shm_attached.remove(&a[0]) {
        k.vmas.remove(a[0], a[0] + len);
    }
    Ok(0)
}

/// `shmctl(id, cmd, buf)`.
pub fn sys_shmctl(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let (id, cmd) = (int_arg(a[0]), cmd_arg(a[1]));
    // SHM_STAT 13, SHM_STAT_ANY 15; IPC_INFO writes a shminfo64, SHM_INFO 14 a shm_info.
    let shape = control_buffer(cmd, &[13, 15], &[(IPC_INFO, 72), (14, 48)], SHMID_DS);
    with_buffer(a[2], shape, |buf| {
        host().ipc(IpcOp::ShmControl { id, cmd, buf })
    })
}

/// `semget(key, count, flags)`.
pub fn sys_semget(_k: &mut Kernel, a: &Args) -> Result<u64> {
    host().ipc(IpcOp::SemGet {
        key: int_arg(a[0]),
        count: int_arg(a[1]),
        flags: int_arg(a[2]),
    })
}

fn semop(a: &Args, timeout: Option<picobox_abi::Timespec>) -> Result<u64> {
    if a[2] > SEMOPM {
        return Err(Errno::E2BIG);
    }
    let ops = user::read_bytes(a[1], (a[2] * 6) as usize)?;
    host().ipc(IpcOp::SemOp {
        id: int_arg(a[0]),
        ops: &ops,
        timeout,
    })
}

/// `semop(id, sops, nsops)`.
pub fn sys_semop(a: &Args) -> Result<u64> {
    semop(a, None)
}

/// `semtimedop(id, sops, nsops, timeout)`.
pub fn sys_semtimedop(a: &Args) -> Result<u64> {
    let timeout = if a[3] == 0 {
        None
    } else {
        Some(super::time::read_timespec(a[3])?)
    };
    semop(a, timeout)
}

/// `semctl(id, num, cmd, arg)`.
pub fn sys_semctl(_k: &mut Kernel, a: &Args) -> Result<u64> {
    const GETALL: i32 = 13;
    const SETVAL: i32 = 16;
    const SETALL: i32 = 17;
    let (id, num, cmd) = (int_arg(a[0]), int_arg(a[1]), cmd_arg(a[2]));
    if cmd == GETALL || cmd == SETALL {
        // An array of the set's size.
        let mut ds = [0u8; SEMID_DS];
        host().ipc(IpcOp::SemControl {
            id,
            num: 0,
            cmd: IPC_STAT,
            value: 0,
            buf: &mut ds,
        })?;
        let count = u64::from_le_bytes(ds[80..88].try_into().unwrap_or([0; 8]));
        let size = usize::try_from(count * 2).map_err(|_| Errno::EINVAL)?;
        return with_buffer(a[3], (size, cmd == SETALL, cmd == GETALL), |buf| {
            host().ipc(IpcOp::SemControl {
                id,
                num,
                cmd,
                value: 0,
                buf,
            })
        });
    }
    // SEM_STAT 18, SEM_STAT_ANY 20; IPC_INFO and SEM_INFO 19 write a seminfo.
    let shape = control_buffer(cmd, &[18, 20], &[(IPC_INFO, 40), (19, 40)], SEMID_DS);
    let value = if cmd == SETVAL { a[3] as i32 } else { 0 };
    with_buffer(a[3], shape, |buf| {
        host().ipc(IpcOp::SemControl {
            id,
            num,
            cmd,
            value,
            buf,
        })
    })
}

/// `msgget(key, flags)`.
pub fn sys_msgget(_k: &mut Kernel, a: &Args) -> Result<u64> {
    host().ipc(IpcOp::MsgGet {
        key: int_arg(a[0]),
        flags: int_arg(a[1]),
    })
}

/// The size argument of a message call. Errors: `EINVAL` (negative or too long).
fn message_size(v: u64) -> Result<usize> {
    if (v as i64) < 0 || v > MAX_MESSAGE {
        return Err(Errno::EINVAL);
    }
    Ok(v as usize)
}

/// `msgsnd(id, msgp, size, flags)`.
pub fn sys_msgsnd(a: &Args) -> Result<u64> {
    let size = message_size(a[2])?;
    let msg = user::read_bytes(a[1], 8 + size)?;
    host().ipc(IpcOp::MsgSend {
        id: int_arg(a[0]),
        msg: &msg,
        flags: int_arg(a[3]),
    })
}

/// `msgrcv(id, msgp, size, type, flags)`: the type and as much text as was received.
pub fn sys_msgrcv(a: &Args) -> Result<u64> {
    let size = message_size(a[2])?;
    // The destination is checked first, as Linux fails with EFAULT before taking a message.
    user::write_bytes(a[1], &[0u8; 8])?;
    let mut msg: Vec<u8> = vec![0u8; 8 + size];
    let n = host().ipc(IpcOp::MsgReceive {
        id: int_arg(a[0]),
        msg: &mut msg,
        kind: a[3] as i64,
        flags: int_arg(a[4]),
    })?;
    let got = 8 + usize::try_from(n).unwrap_or(0).min(size);
    user::write_bytes(a[1], &msg[..got])?;
    Ok(n)
}

/// `msgctl(id, cmd, buf)`.
pub fn sys_msgctl(_k: &mut Kernel, a: &Args) -> Result<u64> {
    let (id, cmd) = (int_arg(a[0]), cmd_arg(a[1]));
    // MSG_STAT 11, MSG_STAT_ANY 13; IPC_INFO and MSG_INFO 12 write a msginfo.
    let shape = control_buffer(cmd, &[11, 13], &[(IPC_INFO, 32), (12, 32)], MSQID_DS);
    with_buffer(a[2], shape, |buf| {
        host().ipc(IpcOp::MsgControl { id, cmd, buf })
    })
}
