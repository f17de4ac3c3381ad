//! The System V semaphore sets and message queues of a box across a snapshot.
//!
//! They live in the box's IPC namespace, which the monitor made for the box and stays in
//! (`launch::enter_pid_namespace`), so the monitor reads and makes them itself.
//!
//! Taking them (the box frozen): every object is found by its index (`SEM_STAT_ANY`,
//! `MSG_STAT_ANY`, up to the highest index `SEM_INFO`/`MSG_INFO` give), with its id, key,
//! owner and permissions; a set's values (`GETALL`); a queue's capacity and its messages,
//! copied in order without taking them (`msgrcv` with `MSG_COPY`), so a box that goes on
//! loses nothing; a shared memory segment's size, whether it was removed while attached,
//! and its non-zero pages, read through an attachment of the monitor's own a piece at a
//! time (carried in the metadata up to `IPC_SEGMENT_BYTES_MOST` in all; past that, a
//! segment's pages are stored as page runs after the stored files', [`write_stored`]). The box's processes'
//! attachments are ranges of their memory maps (`MapKind::SysvSegment`), attached whole.
//!
//! Making them again (the restore's monitor, in the new IPC namespace before the box's
//! first process exists, while it is still the namespace's root): each object with its id
//! (`/proc/sys/kernel/{sem,msg}_next_id`, Linux's checkpoint/restore interface), key and
//! permissions; values set, messages sent again in order, segments filled. Each restored
//! process attaches its segments again at their addresses (`restore::map_memory`); a
//! segment that had been removed while attached is removed again once they all have
//! ([`remove_removed`]). The kernel's numbering then goes on after the highest object kept
//! ([`number_on_from`]). Not kept: the times and last pids of each object, its creator, the
//! undo adjustments (`SEM_UNDO`) of processes, and where the numbering stood if the box's
//! newest object was removed before the snapshot.

use crate::hostio::{self, close, sys};
use crate::snapshot_meta::{
    Ipc, IpcOwner, MessageQueue, SemaphoreSet, ShmSegment, IPC_MESSAGE_MOST, IPC_SEGMENT_BYTES_MOST,
};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const SYS_SEMGET: u64 = 64;
const SYS_SEMCTL: u64 = 66;
const SYS_MSGGET: u64 = 68;
const SYS_MSGSND: u64 = 69;
const SYS_MSGRCV: u64 = 70;
const SYS_MSGCTL: u64 = 71;
const SYS_SHMGET: u64 = 29;
const SYS_SHMAT: u64 = 30;
const SYS_SHMCTL: u64 = 31;
const SYS_SHMDT: u64 = 67;
const IPC_RMID: u64 = 0;
/// The mode bit of a segment removed while attached.
const SHM_DEST: u32 = 0o1000;
const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_NOWAIT: u64 = 0o4000;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const GETALL: u64 = 13;
const SETALL: u64 = 17;
const SEM_INFO: u64 = 19;
const SEM_STAT_ANY: u64 = 20;
const MSG_INFO: u64 = 12;
const MSG_STAT_ANY: u64 = 13;
const SHM_INFO: u64 = 14;
const SHM_STAT_ANY: u64 = 15;
const MSG_COPY: u64 = 0o40000;

/// `struct ipc64_perm` at the start of every `*id64_ds`: key, uid, gid, cuid, cgid, mode.
/// An owner that is the box's own user (`box_user`) is recorded as such (`None`): a restored
/// box has a user of its own.
fn owner_of(id: u32, ds: &[u8], box_user: (u32, u32)) -> IpcOwner {
    let word = |at: usize| u32::from_le_bytes([ds[at], ds[at + 1], ds[at + 2], ds[at + 3]]);
    let owner = (word(4), word(8));
    IpcOwner {
        id,
        key: word(0) as i32,
        owner: (owner != box_user).then_some(owner),
        mode: word(20) & 0o777,
    }
}

fn word64(ds: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&ds[at..at + 8]);
    u64::from_le_bytes(b)
}

/// `semctl(id, 0, cmd, buf)`, `msgctl(id, cmd, buf)` or `shmctl(id, cmd, buf)`.
fn control(ctl: u64, id: u64, cmd: u64, buf: &mut [u8]) -> Result<u64, Errno> {
    if ctl == SYS_SEMCTL {
        sys(ctl, [id, 0, cmd, buf.as_mut_ptr() as u64, 0, 0])
    } else {
        sys(ctl, [id, cmd, buf.as_mut_ptr() as u64, 0, 0, 0])
    }
}

/// The ids and `*id64_ds` of the objects `ctl` finds by index, up to the highest index
/// `info` gives.
fn each_object(ctl: u64, info: u64, stat_any: u64, ds_len: usize) -> Vec<(u32, Vec<u8>)> {
    let mut buf = [0u8; 128];
    let Ok(highest) = control(ctl, 0, info, &mut buf) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for index in 0..=highest {
        let mut ds = alloc::vec![0u8; ds_len];
        if let Ok(id) = control(ctl, index, stat_any, &mut ds) {
            out.push((id as u32, ds));
        }
    }
    out
}

/// What [`read_segment`] gives each run of non-zero pages to: its offset and bytes; `Ok(false)`
/// stops the reading.
type SegmentRuns<'a> = &'a mut dyn FnMut(u64, &[u8]) -> Result<bool, String>;

/// A segment's non-zero pages as the metadata carries them: offset and bytes of each run.
type PageRunsInMetadata = Vec<(u64, Vec<u8>)>;

/// Reads segment `id` of `size` bytes through an attachment of the monitor's own
/// (read-only, removed again), a piece of 1 MiB at a time (a segment may be as large as the
/// box's memory), giving each run of non-zero pages to `run(offset, bytes)`, which may stop
/// the reading by returning `Ok(false)`.
fn read_segment(id: u32, size: u64, run: SegmentRuns<'_>) -> Result<(), String> {
    const SHM_RDONLY: u64 = 0o10000;
    const PIECE: u64 = 1 << 20;
    let at = sys(SYS_SHMAT, [u64::from(id), 0, SHM_RDONLY, 0, 0, 0])
        .map_err(|e| format!("cannot read System V shared memory segment {id}: {e}"))?;
    let mut piece = alloc::vec![0u8; PIECE.min(size) as usize];
    let mut result = Ok(());
    let mut from = 0u64;
    'pieces: while from < size {
        let len = PIECE.min(size - from) as usize;
        if let Err(e) = own_memory(310, at + from, &mut piece[..len]) {
            result = Err(format!(
                "cannot read System V shared memory segment {id}: {e}"
            ));
            break;
        }
        let pages = len.div_ceil(4096);
        let zero = |p: usize| {
            piece[p * 4096..((p + 1) * 4096).min(len)]
                .iter()
                .all(|b| *b == 0)
        };
        let mut p = 0;
        while p < pages {
            if zero(p) {
                p += 1;
                continue;
            }
            let mut e = p;
            while e < pages && !zero(e) {
                e += 1;
            }
            let bytes = &piece[p * 4096..(e * 4096).min(len)];
            match run(from + p as u64 * 4096, bytes) {
                Ok(true) => {}
                Ok(false) => break 'pieces,
                Err(why) => {
                    result = Err(why);
                    break 'pieces;
                }
            }
            p = e;
        }
        from += len as u64;
    }
    let _ = sys(SYS_SHMDT, [at, 0, 0, 0, 0, 0]);
    result
}

/// The non-zero pages of segment `id` of `size` bytes, in runs, if they come to at most
/// `budget` bytes (`None`: more).
fn segment_pages(id: u32, size: u64, budget: u64) -> Result<Option<PageRunsInMetadata>, String> {
    let mut runs: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut kept = 0u64;
    let mut over = false;
    read_segment(id, size, &mut |offset, bytes| {
        kept += bytes.len() as u64;
        if kept > budget {
            over = true;
            return Ok(false);
        }
        match runs.last_mut() {
            Some((start, run)) if *start + run.len() as u64 == offset => {
                run.extend_from_slice(bytes)
            }
            _ => runs.push((offset, bytes.to_vec())),
        }
        Ok(true)
    })?;
    Ok((!over).then_some(runs))
}

/// Writes the non-zero pages of the segments of `ipc` that are stored (`ShmSegment::stored`)
/// with `chunk(address, bytes)`, in the order of their ranges. The box is frozen, so they
/// are as `capture` found them.
pub fn write_stored(ipc: &Ipc, chunk: crate::box_files::PageRunSink<'_>) -> Result<(), String> {
    for g in &ipc.segments {
        let Some(base) = g.stored else {
            continue;
        };
        read_segment(g.who.id, g.size, &mut |offset, bytes| {
            chunk(base + offset, bytes).map(|()| true)
        })?;
    }
    Ok(())
}

/// Copies between `buf` and this process's own memory at `address` (`process_vm_readv`,
/// 310, or `process_vm_writev`, 311, on itself), so that no pointer is made from a number.
fn own_memory(call: u64, address: u64, buf: &mut [u8]) -> Result<(), Errno> {
    let local: [u64; 2] = [buf.as_mut_ptr() as u64, buf.len() as u64];
    let remote: [u64; 2] = [address, buf.len() as u64];
    let me = crate::gate::syscall(39, [0; 6]);
    match sys(
        call,
        [me, local.as_ptr() as u64, 1, remote.as_ptr() as u64, 1, 0],
    )? {
        n if n == buf.len() as u64 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// The box's semaphore sets, message queues and shared memory segments (its POSIX queues
/// are `mqueues.rs`'s). `box_user` is the user and group of the box's processes, as this
/// process sees them. Segments' pages past the metadata's budget are stored as page runs
/// (placed from `stored_end`, where the stored files' ranges end; [`write_stored`]).
pub fn capture(box_user: (u32, u32), mut stored_end: u64) -> Result<Ipc, String> {
    let mut ipc = Ipc::default();
    let mut stored = 0u64;
    for (id, ds) in each_object(SYS_SHMCTL, SHM_INFO, SHM_STAT_ANY, 112) {
        // struct shmid64_ds: the permissions, then shm_segsz.
        let size = word64(&ds, 48);
        let mode = u32::from_le_bytes([ds[20], ds[21], ds[22], ds[23]]);
        let (pages, place) = match segment_pages(id, size, IPC_SEGMENT_BYTES_MOST - stored)? {
            Some(pages) => (pages, None),
            None => {
                let base = stored_end;
                stored_end += size.div_ceil(4096) * 4096;
                (Vec::new(), Some(base))
            }
        };
        stored += pages.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
        ipc.segments.push(ShmSegment {
            who: owner_of(id, &ds, box_user),
            size,
            removed: mode & SHM_DEST != 0,
            pages,
            stored: place,
        });
    }
    for (id, ds) in each_object(SYS_SEMCTL, SEM_INFO, SEM_STAT_ANY, 104) {
        // struct semid64_ds on x86-64: the permissions, four words of times, then sem_nsems.
        let count = (word64(&ds, 80) as usize).min(32000);
        let mut values = alloc::vec![0u16; count];
        sys(
            SYS_SEMCTL,
            [u64::from(id), 0, GETALL, values.as_mut_ptr() as u64, 0, 0],
        )
        .map_err(|e| format!("cannot read System V semaphore set {id}: {e}"))?;
        ipc.semaphores.push(SemaphoreSet {
            who: owner_of(id, &ds, box_user),
            values,
        });
    }
    let mut text = alloc::vec![0u8; 8 + IPC_MESSAGE_MOST];
    for (id, ds) in each_object(SYS_MSGCTL, MSG_INFO, MSG_STAT_ANY, 120) {
        let mut messages = Vec::new();
        // struct msqid64_ds: the permissions, three times, msg_cbytes, msg_qnum, msg_qbytes.
        for n in 0..word64(&ds, 80) {
            let got = sys(
                SYS_MSGRCV,
                [
                    u64::from(id),
                    text.as_mut_ptr() as u64,
                    IPC_MESSAGE_MOST as u64,
                    n,
                    IPC_NOWAIT | MSG_COPY,
                    0,
                ],
            )
            .map_err(|e| match e {
                Errno::E2BIG => format!(
                    "System V message queue {id} holds a message longer than {} bytes, \
                     which snapshots do not keep",
                    IPC_MESSAGE_MOST
                ),
                e => format!("cannot read System V message queue {id}: {e}"),
            })? as usize;
            messages.push((word64(&text, 0) as i64, text[8..8 + got].to_vec()));
        }
        ipc.queues.push(MessageQueue {
            who: owner_of(id, &ds, box_user),
            capacity: word64(&ds, 88),
            messages,
        });
    }
    Ok(ipc)
}

/// Makes the next object of `kind` (`sem`, `msg`) get `id`.
fn next_id(kind: &str, id: u32) -> Result<(), String> {
    let path = format!("/proc/sys/kernel/{kind}_next_id");
    let fd = hostio::open(path.as_bytes(), hostio::O_WRONLY, 0)
        .map_err(|e| format!("cannot choose System V ids ({path}): {e}"))?;
    let text = format!("{id}");
    let r = sys(1, [fd, text.as_ptr() as u64, text.len() as u64, 0, 0, 0]);
    close(fd);
    r.map(|_| ())
        .map_err(|e| format!("cannot choose System V ids ({path}): {e}"))
}

/// Sets the owner and permissions of object `who`; one owned by the box's user is given to
/// `box_user` (`None`: this process, which made it, is the box's user).
fn set_owner(
    ctl: u64,
    who: &IpcOwner,
    ds_len: usize,
    box_user: Option<(u32, u32)>,
) -> Result<(), Errno> {
    let mut ds = alloc::vec![0u8; ds_len];
    control(ctl, u64::from(who.id), IPC_STAT, &mut ds)?;
    if let Some((uid, gid)) = who.owner.or(box_user) {
        ds[4..8].copy_from_slice(&uid.to_le_bytes());
        ds[8..12].copy_from_slice(&gid.to_le_bytes());
    }
    ds[20..24].copy_from_slice(&who.mode.to_le_bytes());
    control(ctl, u64::from(who.id), IPC_SET, &mut ds).map(|_| ())
}

fn made_as(what: &str, who: &IpcOwner, made: Result<u64, Errno>) -> Result<(), String> {
    match made {
        Ok(id) if id == u64::from(who.id) => Ok(()),
        Ok(id) => Err(format!("System V {what} {} came back as {id}", who.id)),
        Err(e) => Err(format!("cannot make System V {what} {} again: {e}", who.id)),
    }
}

/// Makes segment `g` again with its pages (those stored are read from `data`).
fn segment_again(
    g: &ShmSegment,
    box_user: Option<(u32, u32)>,
    data: crate::box_files::StoredData<'_>,
) -> Result<(), String> {
    next_id("shm", g.who.id)?;
    let made = sys(
        SYS_SHMGET,
        [
            g.who.key as u32 as u64,
            g.size,
            IPC_CREAT | IPC_EXCL | 0o600,
            0,
            0,
            0,
        ],
    );
    made_as("shared memory segment", &g.who, made)?;
    let id = u64::from(g.who.id);
    if !g.pages.is_empty() || g.stored.is_some() {
        let at = sys(SYS_SHMAT, [id, 0, 0, 0, 0, 0])
            .map_err(|e| format!("cannot fill System V shared memory segment {id}: {e}"))?;
        let mut filled = Ok(());
        for (offset, bytes) in &g.pages {
            // The run lies inside the segment (checked when the metadata was read).
            let mut run = bytes.clone();
            filled = filled.and_then(|()| own_memory(311, at + offset, &mut run));
        }
        if let Some(base) = g.stored {
            let end = base + g.span();
            for (address, offset, len) in data.runs {
                if *address < base || *address >= end {
                    continue;
                }
                // Read into the attachment; the last page's bytes past the segment's size
                // (within its span) are the kernel's zeros either way.
                let len = (*len).min(end - address);
                let to = at + (address - base);
                filled = filled.and_then(|()| match sys(17, [data.file, to, len, *offset, 0, 0]) {
                    Ok(n) if n == len => Ok(()),
                    Ok(_) => Err(Errno::EIO),
                    Err(e) => Err(e),
                });
            }
        }
        let _ = sys(SYS_SHMDT, [at, 0, 0, 0, 0, 0]);
        filled.map_err(|e| format!("cannot fill System V shared memory segment {id}: {e}"))?;
    }
    set_owner(SYS_SHMCTL, &g.who, 112, box_user)
        .map_err(|e| format!("cannot set System V shared memory segment {id}'s owner: {e}"))
}

/// Removes again the segments of `ipc` that were removed while attached, once the restored
/// box's processes have attached them (they live on while attached, as they did).
pub fn remove_removed(ipc: &Ipc) {
    for g in ipc.segments.iter().filter(|g| g.removed) {
        let mut ds = [0u8; 112];
        let _ = control(SYS_SHMCTL, u64::from(g.who.id), IPC_RMID, &mut ds);
    }
}

/// Index part of an id (`IPCMNI`, 32768 entries).
const INDEX_OF_ID: u32 = 0x7fff;

/// After objects of one kind were made with chosen ids (`ids`): makes the kernel give the
/// next object the id it would have given in the snapshot's box. It numbers new objects from
/// the one after the last it numbered itself, using the lowest free index from there; ids
/// chosen through `*_next_id` do not move that point. Passing objects (`make`) take every
/// free index below the highest one used, then are removed (`remove`), so the next object
/// takes the index above the highest, as it did in the box whose newest object was its
/// highest. (Where a removed object was the highest, its index is taken again.)
fn number_on_from(ids: &[u32], make: &dyn Fn() -> Result<u64, Errno>, remove: &dyn Fn(u64)) {
    let Some(highest) = ids.iter().map(|id| id & INDEX_OF_ID).max() else {
        return;
    };
    let gaps = (0..highest)
        .filter(|i| !ids.iter().any(|id| id & INDEX_OF_ID == *i))
        .count();
    let mut passing = Vec::new();
    for _ in 0..gaps {
        match make() {
            Ok(id) => {
                passing.push(id);
                if (id as u32 & INDEX_OF_ID) > highest {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    for id in passing {
        remove(id);
    }
}

/// Makes the objects of `ipc` again in this process's IPC namespace, which must be new;
/// `box_user` is the restored box's user and group (`None`: this process's own).
pub fn make_again(
    ipc: &Ipc,
    box_user: Option<(u32, u32)>,
    data: crate::box_files::StoredData<'_>,
) -> Result<(), String> {
    let made = make_objects(ipc, box_user, data);
    let private = IPC_CREAT | 0o600;
    let remove = |ctl: u64| {
        move |id: u64| {
            let mut ds = [0u8; 120];
            let _ = control(ctl, id, IPC_RMID, &mut ds);
        }
    };
    let ids = |who: &mut dyn Iterator<Item = &IpcOwner>| who.map(|w| w.id).collect::<Vec<u32>>();
    number_on_from(
        &ids(&mut ipc.semaphores.iter().map(|s| &s.who)),
        &|| sys(SYS_SEMGET, [0, 1, private, 0, 0, 0]),
        &remove(SYS_SEMCTL),
    );
    number_on_from(
        &ids(&mut ipc.queues.iter().map(|q| &q.who)),
        &|| sys(SYS_MSGGET, [0, private, 0, 0, 0, 0]),
        &remove(SYS_MSGCTL),
    );
    number_on_from(
        &ids(&mut ipc.segments.iter().map(|g| &g.who)),
        &|| sys(SYS_SHMGET, [0, 4096, private, 0, 0, 0]),
        &remove(SYS_SHMCTL),
    );
    made
}

fn make_objects(
    ipc: &Ipc,
    box_user: Option<(u32, u32)>,
    data: crate::box_files::StoredData<'_>,
) -> Result<(), String> {
    for g in &ipc.segments {
        segment_again(g, box_user, data)?;
    }
    for s in &ipc.semaphores {
        next_id("sem", s.who.id)?;
        let made = sys(
            SYS_SEMGET,
            [
                s.who.key as u32 as u64,
                s.values.len() as u64,
                IPC_CREAT | IPC_EXCL | 0o600,
                0,
                0,
                0,
            ],
        );
        made_as("semaphore set", &s.who, made)?;
        let id = u64::from(s.who.id);
        sys(SYS_SEMCTL, [id, 0, SETALL, s.values.as_ptr() as u64, 0, 0])
            .map_err(|e| format!("cannot set System V semaphore set {id}: {e}"))?;
        set_owner(SYS_SEMCTL, &s.who, 104, box_user)
            .map_err(|e| format!("cannot set System V semaphore set {id}'s owner: {e}"))?;
    }
    let mut text: Vec<u8> = Vec::new();
    for q in &ipc.queues {
        next_id("msg", q.who.id)?;
        let made = sys(
            SYS_MSGGET,
            [
                q.who.key as u32 as u64,
                IPC_CREAT | IPC_EXCL | 0o600,
                0,
                0,
                0,
                0,
            ],
        );
        made_as("message queue", &q.who, made)?;
        let id = u64::from(q.who.id);
        let mut ds = [0u8; 120];
        control(SYS_MSGCTL, id, IPC_STAT, &mut ds)
            .and_then(|_| {
                ds[88..96].copy_from_slice(&q.capacity.to_le_bytes());
                control(SYS_MSGCTL, id, IPC_SET, &mut ds)
            })
            .map_err(|e| format!("cannot set System V message queue {id}'s capacity: {e}"))?;
        for (kind, body) in &q.messages {
            text.clear();
            text.extend_from_slice(&kind.to_le_bytes());
            text.extend_from_slice(body);
            sys(
                SYS_MSGSND,
                [
                    id,
                    text.as_ptr() as u64,
                    body.len() as u64,
                    IPC_NOWAIT,
                    0,
                    0,
                ],
            )
            .map_err(|e| format!("cannot put a message back into System V queue {id}: {e}"))?;
        }
        set_owner(SYS_MSGCTL, &q.who, 120, box_user)
            .map_err(|e| format!("cannot set System V message queue {id}'s owner: {e}"))?;
    }
    Ok(())
}

/// What `inspect` says of the objects of `ipc`.
pub fn describe(ipc: &Ipc) -> Vec<String> {
    let mut out = Vec::new();
    for s in &ipc.semaphores {
        out.push(format!(
            "semaphore set {} (key {:#x}): values {:?}",
            s.who.id, s.who.key, s.values
        ));
    }
    for g in &ipc.segments {
        out.push(format!(
            "shared memory segment {} (key {:#x}): {} bytes, {}{}",
            g.who.id,
            g.who.key,
            g.size,
            match g.stored {
                Some(_) => String::from("its pages stored as page runs"),
                None => format!(
                    "{} stored",
                    g.pages.iter().map(|(_, b)| b.len()).sum::<usize>()
                ),
            },
            if g.removed { ", removed" } else { "" }
        ));
    }
    for q in &ipc.queues {
        out.push(format!(
            "message queue {} (key {:#x}): {} messages, {} bytes",
            q.who.id,
            q.who.key,
            q.messages.len(),
            q.messages.iter().map(|(_, t)| t.len()).sum::<usize>()
        ));
    }
    for q in &ipc.posix_queues {
        out.push(format!(
            "POSIX message queue /{}: {} of {} messages of at most {} bytes",
            String::from_utf8_lossy(&q.name),
            q.messages.len(),
            q.capacity,
            q.message_size
        ));
    }
    out
}
