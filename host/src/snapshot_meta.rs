//! What a snapshot's metadata section says (docs/snapshot.md, "Format"): how the box was
//! started, and for each process its threads, its host descriptors and its memory map. Plain
//! `alloc` code, shared by `picobox snapshot` (which writes it), `picobox restore` (which
//! reads it as untrusted input) and `picobox snapshot inspect`.
//!
//! The encoding is a flat little-endian sequence: `u8`, `u32` and `u64` as such, byte strings
//! and lists as a `u32` count followed by their items. The decoder checks every count against
//! what remains of the section before it allocates, so a forged count cannot make it allocate
//! more than the section's own size, and it refuses trailing bytes and unknown kinds.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The whole metadata section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The arguments `picobox run` was given after `run` (its flags, the program and its
    /// arguments): the restored box is confined by the same flags.
    pub run_args: Vec<Vec<u8>>,
    /// Where the runtime (the `picobox` binary) was loaded in the box's processes.
    pub runtime_base: u64,
    /// The box's `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` when it was taken (seconds,
    /// nanoseconds): the restored box's go on from them (a time namespace of its own), so
    /// that neither goes back where it is restored after a reboot or on another machine.
    pub clocks: [(u64, u32); 2],
    /// The box's processes, in tree order (the program's first).
    pub processes: Vec<Process>,
    /// The contents of the box's own tmpfs mounts (its `/tmp`, `/dev/shm`, `--tmpfs`), which
    /// end with the box: made again in the restored box's before anything runs.
    pub box_files: Vec<MountFiles>,
    /// The System V semaphore sets and message queues of the box's IPC namespace.
    pub ipc: Ipc,
}

/// The System V objects of a box's IPC namespace that a snapshot keeps (`monitor/sysv.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipc {
    /// Semaphore sets, by ascending id.
    pub semaphores: Vec<SemaphoreSet>,
    /// Message queues, by ascending id.
    pub queues: Vec<MessageQueue>,
    /// Shared memory segments, by ascending id.
    pub segments: Vec<ShmSegment>,
    /// POSIX message queues (`mq_open`), by ascending name.
    pub posix_queues: Vec<PosixQueue>,
}

/// A POSIX message queue of the box's IPC namespace, with its messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PosixQueue {
    /// Its name (without the leading `/`).
    pub name: Vec<u8>,
    /// Its owner's user and group, unless they were the box's own (`None`).
    pub owner: Option<(u32, u32)>,
    /// Its permission bits.
    pub mode: u32,
    /// How many messages it holds at most (`mq_maxmsg`).
    pub capacity: u32,
    /// How long a message may be (`mq_msgsize`).
    pub message_size: u32,
    /// Its messages in the order they are received: priority and bytes.
    pub messages: Vec<(u32, Vec<u8>)>,
}

/// Linux's bounds of a POSIX queue (`HARD_MSGMAX`, `HARD_MSGSIZEMAX`).
pub const POSIX_QUEUE_CAPACITY_MOST: u32 = 65536;
/// See [`POSIX_QUEUE_CAPACITY_MOST`].
pub const POSIX_MESSAGE_SIZE_MOST: u32 = 16 << 20;

/// A System V shared memory segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShmSegment {
    /// Its identity.
    pub who: IpcOwner,
    /// Its size in bytes, as asked for.
    pub size: u64,
    /// Whether it was removed (`IPC_RMID`) and lives on only while attached.
    pub removed: bool,
    /// Its non-zero pages, in runs: offset in the segment and bytes, ascending (in the
    /// metadata, up to [`IPC_SEGMENT_BYTES_MOST`] of them in all).
    pub pages: Vec<(u64, Vec<u8>)>,
    /// Past that budget, where its pages are instead: the page runs of [`FILE_DATA`] from
    /// this address (after the stored files' ranges, each segment's after the one before),
    /// its zero pages left out; `pages` is then empty.
    pub stored: Option<u64>,
}

impl Ipc {
    /// Whether range `m`, of kind [`MapKind::SysvSegment`], attaches its segment whole.
    pub fn attaches_whole(&self, m: &Mapping) -> bool {
        let MapKind::SysvSegment { id } = m.kind else {
            return false;
        };
        self.segments
            .iter()
            .find(|g| g.who.id == id)
            .is_some_and(|g| g.span() == m.end - m.start)
    }
}

impl ShmSegment {
    /// The bytes an attachment of it spans (its size in whole pages).
    pub fn span(&self) -> u64 {
        self.size.div_ceil(4096) * 4096
    }
}

/// Most bytes of System V shared memory a snapshot carries (in its metadata).
pub const IPC_SEGMENT_BYTES_MOST: u64 = 8 << 20;

/// Who a System V object is and whose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpcOwner {
    /// Its id, made again the same.
    pub id: u32,
    /// Its key (0: `IPC_PRIVATE`).
    pub key: i32,
    /// Its owner's user and group, unless they were the box's own (`None`: the restored
    /// box's user owns it).
    pub owner: Option<(u32, u32)>,
    /// Its permission bits.
    pub mode: u32,
}

/// A System V semaphore set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SemaphoreSet {
    /// Its identity.
    pub who: IpcOwner,
    /// The value of each semaphore.
    pub values: Vec<u16>,
}

/// A System V message queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageQueue {
    /// Its identity.
    pub who: IpcOwner,
    /// Its capacity in bytes (`msg_qbytes`).
    pub capacity: u64,
    /// Its messages in order: type and text.
    pub messages: Vec<(i64, Vec<u8>)>,
}

/// The most semaphores a set may have (`SEMMSL`).
const IPC_SEMAPHORES_MOST: usize = 32000;
/// The highest value of a semaphore (`SEMVMX`).
const IPC_SEMAPHORE_VALUE_MOST: u16 = 32767;
/// The longest System V message a snapshot keeps.
pub const IPC_MESSAGE_MOST: usize = 1 << 16;
/// The highest System V id.
const IPC_ID_MOST: u32 = i32::MAX as u32;

fn put_ipc_owner(o: &mut Out, w: &IpcOwner) {
    o.u32(w.id);
    o.u32(w.key as u32);
    match w.owner {
        Some((uid, gid)) => {
            o.u8(1);
            o.u32(uid);
            o.u32(gid);
        }
        None => o.u8(0),
    }
    o.u32(w.mode);
}

fn get_ipc_owner(i: &mut In<'_>, after: Option<u32>) -> Result<IpcOwner> {
    let id = i.u32()?;
    let key = i.u32()? as i32;
    let owner = match i.u8()? {
        0 => None,
        1 => Some((i.u32()?, i.u32()?)),
        _ => return Err(format!("System V object {id}'s owner is malformed")),
    };
    let mode = i.u32()?;
    if id > IPC_ID_MOST || after.is_some_and(|a| id <= a) || mode & !0o777 != 0 {
        return Err(format!("System V object {id} is malformed or out of order"));
    }
    Ok(IpcOwner {
        id,
        key,
        owner,
        mode,
    })
}

fn put_ipc(o: &mut Out, ipc: &Ipc) {
    o.u32(ipc.semaphores.len() as u32);
    for s in &ipc.semaphores {
        put_ipc_owner(o, &s.who);
        o.u32(s.values.len() as u32);
        for v in &s.values {
            o.u32(u32::from(*v));
        }
    }
    o.u32(ipc.queues.len() as u32);
    for q in &ipc.queues {
        put_ipc_owner(o, &q.who);
        o.u64(q.capacity);
        o.u32(q.messages.len() as u32);
        for (kind, text) in &q.messages {
            o.u64(*kind as u64);
            o.bytes(text);
        }
    }
    o.u32(ipc.segments.len() as u32);
    for g in &ipc.segments {
        put_ipc_owner(o, &g.who);
        o.u64(g.size);
        o.u8(u8::from(g.removed));
        o.u32(g.pages.len() as u32);
        for (offset, bytes) in &g.pages {
            o.u64(*offset);
            o.bytes(bytes);
        }
        match g.stored {
            None => o.u8(0),
            Some(base) => {
                o.u8(1);
                o.u64(base);
            }
        }
    }
    o.u32(ipc.posix_queues.len() as u32);
    for q in &ipc.posix_queues {
        o.bytes(&q.name);
        match q.owner {
            None => o.u8(0),
            Some((uid, gid)) => {
                o.u8(1);
                o.u32(uid);
                o.u32(gid);
            }
        }
        o.u32(q.mode);
        o.u32(q.capacity);
        o.u32(q.message_size);
        o.u32(q.messages.len() as u32);
        for (priority, bytes) in &q.messages {
            o.u32(*priority);
            o.bytes(bytes);
        }
    }
}

/// See [`put_ipc`]; `stored_end` is where the stored files' ranges end (stored segments'
/// ranges follow).
fn get_ipc(i: &mut In<'_>, mut stored_end: u64) -> Result<Ipc> {
    let n = i.count(21)?;
    let mut semaphores: Vec<SemaphoreSet> = Vec::with_capacity(n);
    for _ in 0..n {
        let who = get_ipc_owner(i, semaphores.last().map(|s| s.who.id))?;
        let count = i.count(4)?;
        if count == 0 || count > IPC_SEMAPHORES_MOST {
            return Err(format!("semaphore set {} has {count} semaphores", who.id));
        }
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            let v = i.u32()?;
            if v > u32::from(IPC_SEMAPHORE_VALUE_MOST) {
                return Err(format!("semaphore set {} holds value {v}", who.id));
            }
            values.push(v as u16);
        }
        semaphores.push(SemaphoreSet { who, values });
    }
    let n = i.count(25)?;
    let mut queues: Vec<MessageQueue> = Vec::with_capacity(n);
    for _ in 0..n {
        let who = get_ipc_owner(i, queues.last().map(|q| q.who.id))?;
        let capacity = i.u64()?;
        let count = i.count(12)?;
        let mut messages = Vec::with_capacity(count);
        let mut bytes = 0u64;
        for _ in 0..count {
            let kind = i.u64()? as i64;
            let text = i.bytes()?;
            bytes += text.len() as u64;
            if kind <= 0 || text.len() > IPC_MESSAGE_MOST {
                return Err(format!("message queue {}'s messages are malformed", who.id));
            }
            messages.push((kind, text));
        }
        if bytes > capacity {
            return Err(format!(
                "message queue {} holds more than its capacity",
                who.id
            ));
        }
        queues.push(MessageQueue {
            who,
            capacity,
            messages,
        });
    }
    let n = i.count(26)?;
    let mut segments: Vec<ShmSegment> = Vec::with_capacity(n);
    let mut total = 0u64;
    for _ in 0..n {
        let who = get_ipc_owner(i, segments.last().map(|g| g.who.id))?;
        let size = i.u64()?;
        let removed = i.u8()? != 0;
        let count = i.count(12)?;
        let mut pages: Vec<(u64, Vec<u8>)> = Vec::with_capacity(count);
        let malformed = || format!("shared memory segment {}'s pages are malformed", who.id);
        if size == 0 || size > USER_END {
            return Err(malformed());
        }
        for _ in 0..count {
            let offset = i.u64()?;
            let bytes = i.bytes()?;
            let after = pages.last().map_or(0, |(o, b)| o + b.len() as u64);
            let end = offset
                .checked_add(bytes.len() as u64)
                .ok_or_else(malformed)?;
            if offset % 4096 != 0 || bytes.is_empty() || offset < after || end > size {
                return Err(malformed());
            }
            total += bytes.len() as u64;
            pages.push((offset, bytes));
        }
        if total > IPC_SEGMENT_BYTES_MOST {
            return Err("the snapshot's shared memory segments are too large".into());
        }
        let stored = match i.u8()? {
            0 => None,
            _ => {
                let base = i.u64()?;
                let end = base.checked_add(size.div_ceil(4096) * 4096);
                let placed = base % 4096 == 0
                    && base >= stored_end
                    && pages.is_empty()
                    && end.is_some_and(|end| end <= USER_END);
                if !placed {
                    return Err(malformed());
                }
                stored_end = end.unwrap_or(USER_END);
                Some(base)
            }
        };
        segments.push(ShmSegment {
            who,
            size,
            removed,
            pages,
            stored,
        });
    }
    let n = i.count(22)?;
    let mut posix_queues: Vec<PosixQueue> = Vec::with_capacity(n);
    for _ in 0..n {
        let name = i.bytes()?;
        let owner = match i.u8()? {
            0 => None,
            _ => Some((i.u32()?, i.u32()?)),
        };
        let (mode, capacity, message_size) = (i.u32()? & 0o777, i.u32()?, i.u32()?);
        let malformed = || {
            format!(
                "POSIX message queue {} is malformed",
                String::from_utf8_lossy(&name)
            )
        };
        let one_name = !name.is_empty()
            && name.len() <= 255
            && name != b"."
            && name != b".."
            && !name.contains(&b'/')
            && !name.contains(&0);
        let ordered = posix_queues.last().is_none_or(|last| last.name < name);
        if !one_name
            || !ordered
            || capacity == 0
            || capacity > POSIX_QUEUE_CAPACITY_MOST
            || message_size == 0
            || message_size > POSIX_MESSAGE_SIZE_MOST
        {
            return Err(malformed());
        }
        let count = i.count(8)?;
        if count > capacity as usize {
            return Err(malformed());
        }
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            let (priority, bytes) = (i.u32()?, i.bytes()?);
            // MQ_PRIO_MAX is 32768.
            if priority >= 32768 || bytes.len() > message_size as usize {
                return Err(malformed());
            }
            messages.push((priority, bytes));
        }
        posix_queues.push(PosixQueue {
            name,
            owner,
            mode,
            capacity,
            message_size,
            messages,
        });
    }
    Ok(Ipc {
        semaphores,
        queues,
        segments,
        posix_queues,
    })
}

/// Where the ranges of the stored files of `files` end (`FileKindRecord::Stored`).
pub fn stored_files_end(files: &[MountFiles]) -> u64 {
    files
        .iter()
        .flat_map(|m| &m.entries)
        .filter_map(|e| match e.kind {
            FileKindRecord::Stored { size, base } => Some(base + size.div_ceil(4096) * 4096),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The parent of a [`FileEntry`] that no name reaches (a file removed while open, or a
/// memory file): it has no name, and is made again without one, for the descriptors and
/// mappings that name it ([`HandleKind::Detached`], [`MapKind::DetachedFile`]).
pub const DETACHED: u32 = u32::MAX - 1;

/// The files of one of the box's tmpfs mounts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountFiles {
    /// The mount's index in the boot mount list.
    pub mount: u32,
    /// Its root directory's permissions.
    pub root_mode: u32,
    /// Its files, each after its directory.
    pub entries: Vec<FileEntry>,
}

/// One file of a box's tmpfs mount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileEntry {
    /// Its directory: the index of an earlier entry, or `u32::MAX` for the mount's root;
    /// [`DETACHED`] for a regular file no name reaches.
    pub parent: u32,
    /// Its name in that directory (one component).
    pub name: Vec<u8>,
    /// What it is.
    pub kind: FileKindRecord,
    /// Its permissions (`st_mode & 07777`).
    pub mode: u32,
    /// Its modification time (seconds, nanoseconds).
    pub modified: (u64, u32),
}

/// What a file of a box's tmpfs is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FileKindRecord {
    /// A directory.
    #[default]
    Directory,
    /// A regular file, with its bytes.
    Regular(Vec<u8>),
    /// A symbolic link, with its target.
    Symlink(Vec<u8>),
    /// A FIFO.
    Fifo,
    /// A socket file.
    Socket,
    /// A whiteout (a character device numbered 0, 0, which `renameat2(RENAME_WHITEOUT)`
    /// leaves in place of the file it moved): the only device a box can make.
    Whiteout,
    /// Another name of the regular file at this earlier entry.
    HardLink(u32),
    /// A regular file of `size` bytes whose non-zero pages are page runs of the file's own
    /// (process index [`FILE_DATA`]) from address `base` (a place in a space of the box's
    /// files, each file's range after the one before): a large file, not held in the
    /// metadata.
    Stored {
        /// Its size.
        size: u64,
        /// Where its bytes start among the page runs of [`FILE_DATA`].
        base: u64,
    },
}

/// The process index of the page runs that hold the box's stored files
/// ([`FileKindRecord::Stored`]) rather than a process's memory.
pub const FILE_DATA: u32 = u32::MAX;

/// One process of the box.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Process {
    /// Its id in the box's pid namespace.
    pub pid: u32,
    /// Its parent's id (0 for the box's program, whose parent is picobox's).
    pub parent: u32,
    /// Its process group and session in the box (0: one of outside the box, inherited).
    pub pgid: u32,
    /// See `pgid`.
    pub sid: u32,
    /// Its threads; their registers and per-thread state are in their thread blocks, which
    /// are part of the memory.
    pub threads: Vec<Thread>,
    /// Its host descriptors, ascending.
    pub handles: Vec<HandleRecord>,
    /// Its memory map, ascending.
    pub mappings: Vec<Mapping>,
    /// Its pipes, with their contents.
    pub pipes: Vec<PipeRecord>,
    /// The Unix sockets no earlier process holds, with their queued messages.
    pub sockets: Vec<UnixSocket>,
    /// Its armed interval timers and its POSIX timers.
    pub timers: Vec<HostTimer>,
    /// The FIFOs no earlier process holds open, with their contents.
    pub fifos: Vec<FifoRecord>,
    /// The files its `MapKind::SharedFile` ranges map.
    pub mapped_files: Vec<MappedFileRecord>,
}

/// A file of a mount that a process maps shared (its pages are the file's: not stored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappedFileRecord {
    /// The descriptor of its mount's root.
    pub root: u32,
    /// Its path beneath the mount root.
    pub rel: Vec<u8>,
}

/// In a process's report: one of its shared file mappings, as the library OS made it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedFileMapping {
    /// Its range.
    pub start: u64,
    /// See `start`.
    pub end: u64,
    /// The file's offset at `start`.
    pub offset: u64,
    /// The file.
    pub file: MappedFileRecord,
}

/// A FIFO (named pipe) of a mount, open in the box, with the bytes that were in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FifoRecord {
    /// Its id (its inode number on the host when it was taken; what `HandleKind::Fifo`
    /// names).
    pub id: u64,
    /// The descriptor of its mount's root.
    pub root: u32,
    /// Its path beneath the mount root.
    pub rel: Vec<u8>,
    /// Its permissions (it is made again if it is gone).
    pub mode: u32,
    /// Its capacity in bytes.
    pub capacity: u32,
    /// The bytes it held, in order.
    pub data: Vec<u8>,
}

/// A timer the host keeps for a process, with its time left and period when it was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTimer {
    /// Which.
    pub which: TimerWhich,
    /// Time left (seconds, nanoseconds); zero: disarmed.
    pub value: (u64, u32),
    /// Period (seconds, nanoseconds); zero: once.
    pub interval: (u64, u32),
}

/// Which host timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerWhich {
    /// `setitimer`'s `ITIMER_REAL` 0 (`alarm`'s too), `ITIMER_VIRTUAL` 1, `ITIMER_PROF` 2.
    Interval(u32),
    /// A POSIX timer (`timer_create`), made again with its id.
    Posix {
        /// Its id.
        id: u32,
        /// The host's clock id.
        clock: u32,
        /// The `struct sigevent` it was made with (its first 20 bytes: value, signal, how,
        /// thread); empty for none (Linux's default event).
        event: Vec<u8>,
    },
}

/// A Unix socket of the box (kept with the first process, in tree order, that holds it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnixSocket {
    /// Its id (its inode number on the host when it was taken; what `HandleKind::Unix`
    /// names).
    pub id: u64,
    /// `SOCK_STREAM` 1, `SOCK_DGRAM` 2 or `SOCK_SEQPACKET` 5.
    pub kind: u32,
    /// Its name as the host had it (`sun_path`): empty for none, a leading 0 for an
    /// abstract one; for a path name, its name in the socket root, made again from `file`.
    pub address: Vec<u8>,
    /// For a path name: its socket file.
    pub file: Option<SocketFile>,
    /// Listening, connected, or neither.
    pub state: UnixState,
    /// Its own shutdown state: receiving 1, sending 2.
    pub shutdown: u8,
    /// `SO_SNDBUF` and `SO_RCVBUF` as `getsockopt` gave them.
    pub buffers: (u32, u32),
    /// `SO_PASSCRED`.
    pub pass_credentials: bool,
    /// `SO_PEEK_OFF` where the program turned it on: how far its peeks have read.
    pub peek_offset: Option<u32>,
    /// What it would read next, in order: for a stream socket one message of all its bytes.
    pub queue: Vec<Message>,
}

/// Where the socket file of a socket bound to a path name is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketFile {
    /// The descriptor of its mount's root.
    pub root: u32,
    /// Its path beneath the mount root.
    pub rel: Vec<u8>,
    /// The path as the program gave it to `bind`.
    pub given: Vec<u8>,
    /// Its permissions.
    pub mode: u32,
}

/// What a Unix socket is connected to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UnixState {
    /// Neither listening nor connected.
    #[default]
    Open,
    /// Listening, with its backlog and the sockets (of the box) whose connections wait to be
    /// accepted, in order.
    Listening {
        /// Its backlog.
        backlog: u32,
        /// The waiting clients.
        pending: Vec<u64>,
    },
    /// Connected to this socket of the box.
    Connected {
        /// The peer's id.
        peer: u64,
    },
    /// Connected, its connection waiting to be accepted by a listening socket of the box.
    Pending,
    /// Connected to a socket that has since been closed (what was queued is still read).
    PeerClosed,
}

/// A message queued at a socket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// The sender's name as the host had it (empty: unnamed).
    pub from: Vec<u8>,
    /// Its bytes.
    pub data: Vec<u8>,
    /// The Unix sockets of the box it carries (`SCM_RIGHTS`), by id, in order.
    pub passed: Vec<u64>,
}

/// One thread of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    /// Its id in the box's pid namespace.
    pub tid: u32,
    /// Its thread block (signal stack and the PAL's data, with its parked context).
    pub block: u64,
}

/// What a host descriptor of a process is, so that a restore can make it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandleKind {
    /// A standard stream the box was started with (0, 1, 2): a restored box gets those of
    /// `picobox restore`.
    Stdio(u8),
    /// The root of the box's mount with this index in the boot mount list.
    BootMount(u32),
    /// The box's socket root.
    SocketRoot,
    /// A file or directory of a mount: `rel` beneath the mount root that descriptor `root`
    /// holds.
    File {
        /// The descriptor of the mount root.
        root: u32,
        /// The path beneath it.
        rel: Vec<u8>,
    },
    /// The runtime's end of the monitor's snapshot channel.
    Channel,
    /// One end of a pipe of the process (both ends are), by the pipe's id in `pipes`.
    Pipe {
        /// The pipe (its inode number on the host when it was taken).
        id: u64,
        /// Whether this is the write end.
        write: bool,
    },
    /// A listening TCP socket, bound again on restore (once, for all the processes that hold
    /// it).
    Listening {
        /// Its id (its inode number on the host when it was taken).
        id: u64,
        /// `AF_INET` or `AF_INET6`.
        domain: u32,
        /// Its `struct sockaddr` as `getsockname` gave it.
        address: Vec<u8>,
        /// `SO_REUSEADDR` 1, `SO_REUSEPORT` 2, `IPV6_V6ONLY` 4.
        options: u8,
    },
    /// An IPv4 or IPv6 socket made again as it was: a UDP socket (bound or not, connected or
    /// not; the datagrams queued in it are not kept, as a network may lose them), or a TCP
    /// socket neither listening nor connected (made, perhaps bound).
    InetSocket {
        /// `AF_INET` or `AF_INET6`.
        domain: u32,
        /// UDP; else TCP.
        udp: bool,
        /// The `struct sockaddr` it is bound to; empty where it is not bound.
        local: Vec<u8>,
        /// The `struct sockaddr` a UDP socket is connected to; empty where it is not.
        peer: Vec<u8>,
        /// `SO_REUSEADDR` 1, `SO_REUSEPORT` 2, `IPV6_V6ONLY` 4, `SO_BROADCAST` 8.
        options: u8,
    },
    /// A TCP connection between two sockets of the box's own network (`--net loopback`),
    /// made again as it was, in `TCP_REPAIR` mode ([`TcpConnection`]).
    Established(TcpConnection),
    /// A connected TCP socket: not captured; on restore the program finds it reset
    /// (`ECONNRESET`), as after a peer's reset.
    ResetTcp {
        /// `AF_INET` or `AF_INET6`.
        domain: u32,
    },
    /// A Unix socket, by its id in a process's `sockets`.
    Unix {
        /// The socket.
        id: u64,
    },
    /// In a process's report only: a Unix socket bound to a path name, and its socket file
    /// as the library OS recorded it.
    UnixName(SocketFile),
    /// An open FIFO, by its id in a process's `fifos` (its access mode is the descriptor's).
    Fifo {
        /// The FIFO.
        id: u64,
    },
    /// A timer file, with its clock and its time left and period when it was taken.
    TimerFd {
        /// The host's clock id.
        clock: u32,
        /// Expiries not yet read.
        ticks: u64,
        /// Time left (seconds, nanoseconds); zero: disarmed.
        value: (u64, u32),
        /// Period.
        interval: (u64, u32),
    },
    /// A regular file of a tmpfs mount of the box's that no name reaches any more (removed
    /// while open, or a memory file, `memfd_create`): entry `entry` of that mount's
    /// [`MountFiles`] (whose parent is [`DETACHED`]), which carries its bytes.
    Detached {
        /// The mount's index in the boot mount list ([`MountFiles::mount`]).
        mount: u32,
        /// The entry.
        entry: u32,
    },
    /// A pidfd: of the box's process (or, `thread`, thread) with this pid, opened again by
    /// it (the pids are the box's own, kept).
    Pidfd {
        /// The pid (or tid) in the box.
        pid: u32,
        /// `PIDFD_THREAD`.
        thread: bool,
    },
    /// A POSIX message queue of the box's (in `Ipc::posix_queues`), by name.
    PosixQueue {
        /// Its name.
        name: Vec<u8>,
    },
    /// An eventfd, with its counter.
    EventFd {
        /// The counter.
        count: u64,
        /// `EFD_SEMAPHORE`.
        semaphore: bool,
    },
    /// An inotify watcher with its watches, made again with the same numbers.
    Watcher {
        /// The watches in place, by ascending number.
        watches: Vec<WatchRecord>,
        /// The highest watch number the watcher was given, so that the next watch the
        /// program adds after a restore gets the number it would have got.
        last_wd: u32,
    },
}

/// The highest watch number a snapshot keeps: a restore uses up every number below it.
pub const LAST_WATCH_NUMBER_KEPT: u32 = 1 << 16;

/// One inotify watch of a watcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchRecord {
    /// Its number.
    pub wd: u32,
    /// Its events and flags as the host showed them (`IN_ALL_EVENTS`, `IN_EXCL_UNLINK`,
    /// `IN_ONESHOT`); in a process's report, 0 (the monitor takes them from the host).
    pub mask: u32,
    /// The descriptor of the root of the mount the watched file is in.
    pub root: u32,
    /// The file's path beneath it.
    pub rel: Vec<u8>,
    /// Whether the path's last component is a link, watched as itself.
    pub nofollow: bool,
}

/// The mask bits a watch record may hold.
pub const WATCH_MASK_BITS: u32 = 0x0000_0fff | 0x0400_0000 | 0x8000_0000;

/// A pipe whose ends the process holds, with the bytes that were in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipeRecord {
    /// Its id (what `HandleKind::Pipe` names).
    pub id: u64,
    /// Its capacity in bytes (`F_GETPIPE_SZ`).
    pub capacity: u32,
    /// The bytes it held, in order.
    pub data: Vec<u8>,
}

/// One host descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleRecord {
    /// Its number.
    pub fd: u32,
    /// What it is.
    pub kind: HandleKind,
    /// Its open-file status flags (`O_ACCMODE`, `O_APPEND`, `O_NONBLOCK`, ...).
    pub flags: u32,
    /// Its file offset.
    pub pos: u64,
    /// The open file description it is, where several processes of the box hold it (as a
    /// child holds what it inherited): a number of the snapshot's own, the same for every
    /// holder; 0 for one only this process holds. Such a description is made once, and
    /// shared again, on restore (so its offset is too).
    pub description: u32,
}

/// An established TCP connection of the box's own network, as Linux's `TCP_REPAIR` interface
/// gives it and takes it back (`monitor/tcp_repair.rs`): its addresses, its sequence
/// numbers, the options and window it agreed on, and its queues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpConnection {
    /// `AF_INET` or `AF_INET6`.
    pub domain: u32,
    /// Its own `struct sockaddr`.
    pub local: Vec<u8>,
    /// Its peer's.
    pub peer: Vec<u8>,
    /// The sequence number after the last byte written (`TCP_QUEUE_SEQ` of the send queue).
    pub send_seq: u32,
    /// The sequence number after the last byte received (of the receive queue).
    pub recv_seq: u32,
    /// The bytes written and not yet acknowledged by the peer, sent or not.
    pub send_queue: Vec<u8>,
    /// How many of the last of them were never sent.
    pub unsent: u32,
    /// The bytes received and not yet read.
    pub recv_queue: Vec<u8>,
    /// The largest segment (`TCP_MAXSEG` in repair mode: the clamp agreed on).
    pub mss: u32,
    /// `tcpi_options`: timestamps 1, SACK 2, window scaling 4.
    pub tcp_options: u8,
    /// The window scales, sent and received.
    pub wscale: (u8, u8),
    /// Its timestamp clock (`TCP_TIMESTAMP`).
    pub timestamp: u32,
    /// `struct tcp_repair_window`: snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup.
    pub window: [u32; 5],
    /// `TCP_NODELAY` 1, `SO_KEEPALIVE` 2.
    pub options: u8,
    /// Its send and receive buffers' sizes as Linux reports them (`SO_SNDBUF`, `SO_RCVBUF`:
    /// twice what was asked, or what autotuning reached), which hold its queues.
    pub buffers: (u32, u32),
}

/// How a range of memory is made again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// Private memory: its non-zero pages are in the chunks.
    Private,
    /// Memory shared with the process's children (`MAP_SHARED`): non-zero pages in the chunks.
    Shared,
    /// Read-only code or data of the runtime itself, mapped from the `picobox` binary at
    /// this file offset.
    Runtime {
        /// Offset in the binary.
        offset: u64,
    },
    /// The kernel's vDSO, moved to this address.
    Vdso,
    /// The kernel's vDSO data pages (`[vvar]`).
    Vvar,
    /// The kernel's clock pages (`[vvar_vclock]`).
    VvarVclock,
    /// A shared mapping of the process's `mapped_files[file]` from this offset, mapped
    /// again from the file (whose pages are its contents).
    SharedFile {
        /// Index in `mapped_files`.
        file: u32,
        /// The file offset at the range's start.
        offset: u64,
    },
    /// A shared mapping of a file no name reaches ([`HandleKind::Detached`]) from this
    /// offset, mapped again from the file made again (whose pages are its contents).
    DetachedFile {
        /// The mount's index in the boot mount list.
        mount: u32,
        /// The file's entry among the mount's.
        entry: u32,
        /// The file offset at the range's start.
        offset: u64,
    },
    /// A System V shared memory segment of the box's (in `Ipc::segments`), attached whole:
    /// attached again, its pages are the segment's.
    SysvSegment {
        /// The segment's id.
        id: u32,
    },
}

/// One range of a process's memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First address (page-aligned).
    pub start: u64,
    /// End (page-aligned, above `start`).
    pub end: u64,
    /// `PROT_READ` 1, `PROT_WRITE` 2, `PROT_EXEC` 4.
    pub prot: u8,
    /// How it is made.
    pub kind: MapKind,
    /// For shared memory, the set of processes' ranges that share it (the host's inode of
    /// the memory); 0 otherwise.
    pub set: u64,
}

/// Top of x86-64 user space: no range may end above it (nor the stored files' space).
pub const USER_END: u64 = 0x7fff_ffff_f000;

/// A byte sink for the encoding.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
}

/// The decoder's cursor: refuses to run past the end.
struct In<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Result<T> = core::result::Result<T, String>;

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() - self.at < n {
            return Err("the metadata ends early".into());
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    /// A list's count, which must fit what remains at `min_item` bytes per item.
    fn count(&mut self, min_item: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item) > self.bytes.len() - self.at {
            return Err(format!("a list of {n} items is longer than the metadata"));
        }
        Ok(n)
    }
}

impl Metadata {
    /// The section's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out::default();
        o.u32(self.run_args.len() as u32);
        for a in &self.run_args {
            o.bytes(a);
        }
        o.u64(self.runtime_base);
        for (seconds, nanoseconds) in self.clocks {
            o.u64(seconds);
            o.u32(nanoseconds);
        }
        o.u32(self.box_files.len() as u32);
        for m in &self.box_files {
            o.u32(m.mount);
            o.u32(m.root_mode);
            o.u32(m.entries.len() as u32);
            for e in &m.entries {
                o.u32(e.parent);
                o.bytes(&e.name);
                match &e.kind {
                    FileKindRecord::Directory => o.u8(0),
                    FileKindRecord::Regular(data) => {
                        o.u8(1);
                        o.bytes(data);
                    }
                    FileKindRecord::Symlink(target) => {
                        o.u8(2);
                        o.bytes(target);
                    }
                    FileKindRecord::Fifo => o.u8(3),
                    FileKindRecord::Socket => o.u8(4),
                    FileKindRecord::Whiteout => o.u8(7),
                    FileKindRecord::HardLink(to) => {
                        o.u8(5);
                        o.u32(*to);
                    }
                    FileKindRecord::Stored { size, base } => {
                        o.u8(6);
                        o.u64(*size);
                        o.u64(*base);
                    }
                }
                o.u32(e.mode);
                o.u64(e.modified.0);
                o.u32(e.modified.1);
            }
        }
        o.u32(self.processes.len() as u32);
        for p in &self.processes {
            o.u32(p.pid);
            o.u32(p.parent);
            o.u32(p.pgid);
            o.u32(p.sid);
            o.u32(p.threads.len() as u32);
            for t in &p.threads {
                o.u32(t.tid);
                o.u64(t.block);
            }
            o.u32(p.handles.len() as u32);
            for h in &p.handles {
                o.u32(h.fd);
                o.u32(h.flags);
                o.u64(h.pos);
                o.u32(h.description);
                put_kind(&mut o, &h.kind);
            }
            o.u32(p.mappings.len() as u32);
            for m in &p.mappings {
                o.u64(m.start);
                o.u64(m.end);
                o.u8(m.prot);
                o.u64(m.set);
                match m.kind {
                    MapKind::Private => o.u8(0),
                    MapKind::Shared => o.u8(1),
                    MapKind::Runtime { offset } => {
                        o.u8(2);
                        o.u64(offset);
                    }
                    MapKind::Vdso => o.u8(3),
                    MapKind::Vvar => o.u8(4),
                    MapKind::VvarVclock => o.u8(5),
                    MapKind::SharedFile { file, offset } => {
                        o.u8(6);
                        o.u32(file);
                        o.u64(offset);
                    }
                    MapKind::SysvSegment { id } => {
                        o.u8(7);
                        o.u32(id);
                    }
                    MapKind::DetachedFile {
                        mount,
                        entry,
                        offset,
                    } => {
                        o.u8(8);
                        o.u32(mount);
                        o.u32(entry);
                        o.u64(offset);
                    }
                }
            }
            o.u32(p.pipes.len() as u32);
            for pipe in &p.pipes {
                o.u64(pipe.id);
                o.u32(pipe.capacity);
                o.bytes(&pipe.data);
            }
            o.u32(p.sockets.len() as u32);
            for socket in &p.sockets {
                put_socket(&mut o, socket);
            }
            put_timers(&mut o, &p.timers);
            o.u32(p.fifos.len() as u32);
            for f in &p.fifos {
                o.u64(f.id);
                o.u32(f.root);
                o.bytes(&f.rel);
                o.u32(f.mode);
                o.u32(f.capacity);
                o.bytes(&f.data);
            }
            o.u32(p.mapped_files.len() as u32);
            for f in &p.mapped_files {
                o.u32(f.root);
                o.bytes(&f.rel);
            }
        }
        put_ipc(&mut o, &self.ipc);
        o.0
    }

    /// Reads the section, checking what a restore relies on: ranges page-aligned, ascending,
    /// without overlap and inside user space; descriptors ascending; every kind known.
    pub fn decode(bytes: &[u8]) -> Result<Metadata> {
        let mut i = In { bytes, at: 0 };
        let n = i.count(4)?;
        let mut run_args = Vec::with_capacity(n);
        for _ in 0..n {
            run_args.push(i.bytes()?);
        }
        let runtime_base = i.u64()?;
        let mut clocks = [(0u64, 0u32); 2];
        for clock in &mut clocks {
            *clock = (i.u64()?, i.u32()?);
            // A time namespace's offset is at most about 2^62 ns of seconds either way.
            if clock.1 >= 1_000_000_000 || clock.0 >> 40 != 0 {
                return Err("the snapshot's clocks are malformed".into());
            }
        }
        let box_files = get_box_files(&mut i)?;
        let n = i.count(28)?;
        let mut processes = Vec::with_capacity(n);
        for _ in 0..n {
            let pid = i.u32()?;
            let (parent, pgid, sid) = (i.u32()?, i.u32()?, i.u32()?);
            let nt = i.count(12)?;
            let mut threads = Vec::with_capacity(nt);
            for _ in 0..nt {
                threads.push(Thread {
                    tid: i.u32()?,
                    block: i.u64()?,
                });
            }
            let nh = i.count(17)?;
            let mut handles: Vec<HandleRecord> = Vec::with_capacity(nh);
            for _ in 0..nh {
                let fd = i.u32()?;
                let flags = i.u32()?;
                let pos = i.u64()?;
                let description = i.u32()?;
                let kind = get_kind(&mut i, fd)?;
                if handles.last().is_some_and(|last| last.fd >= fd) {
                    return Err(format!("descriptor {fd} is out of order"));
                }
                handles.push(HandleRecord {
                    fd,
                    kind,
                    flags,
                    pos,
                    description,
                });
            }
            let nm = i.count(26)?;
            let mut mappings: Vec<Mapping> = Vec::with_capacity(nm);
            for _ in 0..nm {
                let start = i.u64()?;
                let end = i.u64()?;
                let prot = i.u8()?;
                let set = i.u64()?;
                let kind = match i.u8()? {
                    0 => MapKind::Private,
                    1 => MapKind::Shared,
                    2 => MapKind::Runtime { offset: i.u64()? },
                    3 => MapKind::Vdso,
                    4 => MapKind::Vvar,
                    5 => MapKind::VvarVclock,
                    6 => MapKind::SharedFile {
                        file: i.u32()?,
                        offset: i.u64()?,
                    },
                    7 => MapKind::SysvSegment { id: i.u32()? },
                    8 => MapKind::DetachedFile {
                        mount: i.u32()?,
                        entry: i.u32()?,
                        offset: i.u64()?,
                    },
                    k => return Err(format!("the range at {start:#x} is of an unknown kind {k}")),
                };
                let aligned = start % 4096 == 0 && end % 4096 == 0;
                if !aligned || start >= end || end > USER_END || prot > 7 {
                    return Err(format!("the range {start:#x}-{end:#x} is malformed"));
                }
                if mappings.last().is_some_and(|last| last.end > start) {
                    return Err(format!("the range at {start:#x} overlaps the one before"));
                }
                mappings.push(Mapping {
                    start,
                    end,
                    prot,
                    kind,
                    set,
                });
            }
            let np = i.count(16)?;
            let mut pipes: Vec<PipeRecord> = Vec::with_capacity(np);
            for _ in 0..np {
                let id = i.u64()?;
                let capacity = i.u32()?;
                let data = i.bytes()?;
                if data.len() > capacity as usize {
                    return Err(format!("pipe {id} holds more than its capacity"));
                }
                pipes.push(PipeRecord { id, capacity, data });
            }
            let ns = i.count(UNIX_SOCKET_MIN)?;
            let mut sockets = Vec::with_capacity(ns);
            for _ in 0..ns {
                sockets.push(get_socket(&mut i)?);
            }
            let timers = get_timers(&mut i)?;
            let nf = i.count(32)?;
            let mut fifos = Vec::with_capacity(nf);
            for _ in 0..nf {
                let f = FifoRecord {
                    id: i.u64()?,
                    root: i.u32()?,
                    rel: i.bytes()?,
                    mode: i.u32()?,
                    capacity: i.u32()?,
                    data: i.bytes()?,
                };
                if f.data.len() > f.capacity as usize {
                    return Err(format!("FIFO {} holds more than its capacity", f.id));
                }
                fifos.push(f);
            }
            let nf = i.count(8)?;
            let mut mapped_files = Vec::with_capacity(nf);
            for _ in 0..nf {
                mapped_files.push(MappedFileRecord {
                    root: i.u32()?,
                    rel: i.bytes()?,
                });
            }
            if mappings.iter().any(|m| {
                matches!(m.kind, MapKind::SharedFile { file, .. } if file as usize >= mapped_files.len())
            }) {
                return Err(format!("process {pid} maps a file it does not name"));
            }
            processes.push(Process {
                pid,
                parent,
                pgid,
                sid,
                threads,
                handles,
                mappings,
                pipes,
                sockets,
                timers,
                fifos,
                mapped_files,
            });
        }
        let ipc = get_ipc(&mut i, stored_files_end(&box_files))?;
        for m in processes.iter().flat_map(|p| &p.mappings) {
            if matches!(m.kind, MapKind::SysvSegment { .. }) && !ipc.attaches_whole(m) {
                return Err(format!(
                    "the range at {:#x} attaches no shared memory segment whole",
                    m.start
                ));
            }
        }
        if i.at != bytes.len() {
            return Err("the metadata has trailing bytes".into());
        }
        // Every pipe end names a pipe of the box (kept with the process that reads it).
        for p in &processes {
            for h in &p.handles {
                if let HandleKind::Pipe { id, .. } = h.kind {
                    if !processes.iter().any(|q| q.pipes.iter().any(|r| r.id == id)) {
                        return Err(format!("descriptor {} names no pipe of the box", h.fd));
                    }
                }
            }
        }
        check_sockets(&processes)?;
        check_descriptions(&processes)?;
        check_detached(&processes, &box_files)?;
        // Every descriptor of a POSIX message queue names one of the box's.
        for h in processes.iter().flat_map(|p| &p.handles) {
            if let HandleKind::PosixQueue { name } = &h.kind {
                if !ipc.posix_queues.iter().any(|q| &q.name == name) {
                    return Err(format!(
                        "descriptor {} names no POSIX message queue of the box",
                        h.fd
                    ));
                }
            }
        }
        Ok(Metadata {
            run_args,
            runtime_base,
            clocks,
            processes,
            box_files,
            ipc,
        })
    }

    /// The box's Unix socket `id`.
    pub fn socket(&self, id: u64) -> Option<&UnixSocket> {
        self.processes
            .iter()
            .flat_map(|p| &p.sockets)
            .find(|s| s.id == id)
    }
}

fn put_timers(o: &mut Out, timers: &[HostTimer]) {
    o.u32(timers.len() as u32);
    for t in timers {
        match &t.which {
            TimerWhich::Interval(which) => {
                o.u8(0);
                o.u32(*which);
            }
            TimerWhich::Posix { id, clock, event } => {
                o.u8(1);
                o.u32(*id);
                o.u32(*clock);
                o.bytes(event);
            }
        }
        o.u64(t.value.0);
        o.u32(t.value.1);
        o.u64(t.interval.0);
        o.u32(t.interval.1);
    }
}

fn get_timers(i: &mut In<'_>) -> Result<Vec<HostTimer>> {
    let n = i.count(29)?;
    let mut timers = Vec::with_capacity(n);
    for _ in 0..n {
        let which = match i.u8()? {
            0 => match i.u32()? {
                w @ 0..=2 => TimerWhich::Interval(w),
                w => return Err(format!("interval timer {w} is unknown")),
            },
            1 => {
                let (id, clock, event) = (i.u32()?, i.u32()?, i.bytes()?);
                if !matches!(event.len(), 0 | 20) {
                    return Err(format!("timer {id}'s event is malformed"));
                }
                TimerWhich::Posix { id, clock, event }
            }
            k => return Err(format!("a timer of an unknown kind {k}")),
        };
        let value = (i.u64()?, i.u32()?);
        let interval = (i.u64()?, i.u32()?);
        if value.1 >= 1_000_000_000 || interval.1 >= 1_000_000_000 || value.0 >> 62 != 0 {
            return Err("a timer's time is malformed".into());
        }
        timers.push(HostTimer {
            which,
            value,
            interval,
        });
    }
    Ok(timers)
}

/// The box's tmpfs contents; every entry's directory is an earlier directory entry (or the
/// root), every name one component, every hard link to an earlier regular file.
fn get_box_files(i: &mut In<'_>) -> Result<Vec<MountFiles>> {
    let n = i.count(12)?;
    let mut mounts = Vec::with_capacity(n);
    // Stored files' ranges follow each other, in the order of the entries.
    let mut stored_end = 0u64;
    for _ in 0..n {
        let mount = i.u32()?;
        let root_mode = i.u32()? & 0o7777;
        let ne = i.count(26)?;
        let mut entries: Vec<FileEntry> = Vec::with_capacity(ne);
        for index in 0..ne {
            let parent = i.u32()?;
            let name = i.bytes()?;
            let kind = match i.u8()? {
                0 => FileKindRecord::Directory,
                1 => FileKindRecord::Regular(i.bytes()?),
                2 => FileKindRecord::Symlink(i.bytes()?),
                3 => FileKindRecord::Fifo,
                4 => FileKindRecord::Socket,
                7 => FileKindRecord::Whiteout,
                5 => FileKindRecord::HardLink(i.u32()?),
                6 => {
                    let (size, base) = (i.u64()?, i.u64()?);
                    let end = base
                        .checked_add(size.div_ceil(4096) * 4096)
                        .filter(|end| base % 4096 == 0 && base >= stored_end && *end <= USER_END)
                        .ok_or_else(|| {
                            format!("stored file {index} of mount {mount} is malformed")
                        })?;
                    stored_end = end;
                    FileKindRecord::Stored { size, base }
                }
                k => return Err(format!("a file of the box is of an unknown kind {k}")),
            };
            let mode = i.u32()? & 0o7777;
            let modified = (i.u64()?, i.u32()?);
            let detached = parent == DETACHED;
            let one_component = !name.is_empty()
                && name.len() <= 255
                && name != b"."
                && name != b".."
                && !name.contains(&b'/')
                && !name.contains(&0);
            // A file no name reaches is a regular one, without a name.
            let detached_ok = name.is_empty()
                && matches!(
                    kind,
                    FileKindRecord::Regular(_) | FileKindRecord::Stored { .. }
                );
            let name_ok = if detached { detached_ok } else { one_component };
            let parent_ok = detached
                || parent == u32::MAX
                || ((parent as usize) < index
                    && entries[parent as usize].kind == FileKindRecord::Directory);
            let link_ok = match kind {
                FileKindRecord::HardLink(to) => {
                    (to as usize) < index
                        && entries[to as usize].parent != DETACHED
                        && matches!(
                            entries[to as usize].kind,
                            FileKindRecord::Regular(_) | FileKindRecord::Stored { .. }
                        )
                }
                _ => true,
            };
            if !name_ok || !parent_ok || !link_ok || modified.1 >= 1_000_000_000 {
                return Err(format!(
                    "file {index} of the box's mount {mount} is malformed"
                ));
            }
            entries.push(FileEntry {
                parent,
                name,
                kind,
                mode,
                modified,
            });
        }
        mounts.push(MountFiles {
            mount,
            root_mode,
            entries,
        });
    }
    Ok(mounts)
}

/// Fewest bytes one encoded socket takes.
const UNIX_SOCKET_MIN: usize = 8 + 4 + 4 + 1 + 1 + 1 + 8 + 1 + 4;

fn put_socket(o: &mut Out, s: &UnixSocket) {
    o.u64(s.id);
    o.u32(s.kind);
    o.bytes(&s.address);
    match &s.file {
        None => o.u8(0),
        Some(f) => {
            o.u8(1);
            put_socket_file(o, f);
        }
    }
    match &s.state {
        UnixState::Open => o.u8(0),
        UnixState::Listening { backlog, pending } => {
            o.u8(1);
            o.u32(*backlog);
            o.u32(pending.len() as u32);
            for id in pending {
                o.u64(*id);
            }
        }
        UnixState::Connected { peer } => {
            o.u8(2);
            o.u64(*peer);
        }
        UnixState::Pending => o.u8(3),
        UnixState::PeerClosed => o.u8(4),
    }
    o.u8(s.shutdown);
    o.u32(s.buffers.0);
    o.u32(s.buffers.1);
    o.u8(u8::from(s.pass_credentials));
    o.u32(s.peek_offset.map_or(u32::MAX, |at| at));
    o.u32(s.queue.len() as u32);
    for m in &s.queue {
        o.bytes(&m.from);
        o.bytes(&m.data);
        o.u32(m.passed.len() as u32);
        for id in &m.passed {
            o.u64(*id);
        }
    }
}

fn put_socket_file(o: &mut Out, f: &SocketFile) {
    o.u32(f.root);
    o.bytes(&f.rel);
    o.bytes(&f.given);
    o.u32(f.mode);
}

fn get_socket_file(i: &mut In<'_>) -> Result<SocketFile> {
    Ok(SocketFile {
        root: i.u32()?,
        rel: i.bytes()?,
        given: i.bytes()?,
        mode: i.u32()?,
    })
}

/// Longest `sun_path`.
const UNIX_PATH_MAX: usize = 108;
/// Most descriptors one message passes (the kernel's `SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;

fn get_socket(i: &mut In<'_>) -> Result<UnixSocket> {
    let id = i.u64()?;
    let kind = i.u32()?;
    if !matches!(kind, 1 | 2 | 5) {
        return Err(format!("Unix socket {id} is of an unknown type {kind}"));
    }
    let address = i.bytes()?;
    if address.len() > UNIX_PATH_MAX {
        return Err(format!("Unix socket {id} has a name too long"));
    }
    let file = match i.u8()? {
        0 => None,
        1 => Some(get_socket_file(i)?),
        k => return Err(format!("Unix socket {id} has an unknown name kind {k}")),
    };
    let state = match i.u8()? {
        0 => UnixState::Open,
        1 => {
            let backlog = i.u32()?;
            let n = i.count(8)?;
            let mut pending = Vec::with_capacity(n);
            for _ in 0..n {
                pending.push(i.u64()?);
            }
            UnixState::Listening { backlog, pending }
        }
        2 => UnixState::Connected { peer: i.u64()? },
        3 => UnixState::Pending,
        4 => UnixState::PeerClosed,
        k => return Err(format!("Unix socket {id} is in an unknown state {k}")),
    };
    let shutdown = i.u8()?;
    let buffers = (i.u32()?, i.u32()?);
    let pass_credentials = i.u8()? != 0;
    let peek_offset = Some(i.u32()?).filter(|at| *at <= i32::MAX as u32);
    let n = i.count(12)?;
    let mut queue = Vec::with_capacity(n);
    for _ in 0..n {
        let from = i.bytes()?;
        let data = i.bytes()?;
        let count = i.count(8)?;
        if count > SCM_MAX_FD {
            return Err(format!(
                "Unix socket {id} holds a message passing too many descriptors"
            ));
        }
        let mut passed = Vec::with_capacity(count);
        for _ in 0..count {
            passed.push(i.u64()?);
        }
        queue.push(Message { from, data, passed });
    }
    if shutdown > 3 {
        return Err(format!("Unix socket {id} has an unknown shutdown state"));
    }
    Ok(UnixSocket {
        id,
        kind,
        address,
        file,
        state,
        shutdown,
        buffers,
        pass_credentials,
        peek_offset,
        queue,
    })
}

/// Whether an open file description of this kind is made once and shared by its holders on
/// restore (`HandleRecord::description`): files and directories of the mounts, files no
/// name reaches (every descriptor of one has a description), eventfds, timer files, UDP and
/// unconnected TCP sockets, and TCP connections of the box's own network. The other kinds are made once for the box already (pipes, FIFOs, Unix and
/// listening sockets) or are picobox's own.
pub fn shared_on_restore(kind: &HandleKind) -> bool {
    matches!(
        kind,
        HandleKind::File { .. }
            | HandleKind::Detached { .. }
            | HandleKind::EventFd { .. }
            | HandleKind::TimerFd { .. }
            | HandleKind::InetSocket { .. }
            | HandleKind::Established(_)
            | HandleKind::PosixQueue { .. }
    )
}

/// Every descriptor and mapping of a file no name reaches names such a file of the box's
/// tmpfs mounts; each such descriptor is an open file description the restore makes
/// (`HandleRecord::description`), since the file is made without a name to open it by.
fn check_detached(processes: &[Process], box_files: &[MountFiles]) -> Result<()> {
    let detached = |mount: u32, entry: u32| {
        box_files
            .iter()
            .find(|m| m.mount == mount)
            .and_then(|m| m.entries.get(entry as usize))
            .is_some_and(|e| e.parent == DETACHED)
    };
    for p in processes {
        for h in &p.handles {
            if let HandleKind::Detached { mount, entry } = h.kind {
                if !detached(mount, entry) || h.description == 0 {
                    return Err(format!(
                        "descriptor {} names no removed file of the box's mounts",
                        h.fd
                    ));
                }
            }
        }
        for m in &p.mappings {
            if let MapKind::DetachedFile { mount, entry, .. } = m.kind {
                if !detached(mount, entry) {
                    return Err(format!(
                        "the range at {:#x} names no removed file of the box's mounts",
                        m.start
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every description shared by several holders is of a kind made once, and the same in each:
/// the restore makes it from its first holder's record.
fn check_descriptions(processes: &[Process]) -> Result<()> {
    let all: Vec<&HandleRecord> = processes
        .iter()
        .flat_map(|p| &p.handles)
        .filter(|h| h.description != 0)
        .collect();
    for (i, h) in all.iter().enumerate() {
        // The first holder, which is `h` itself where no earlier one is.
        let first = all[..i]
            .iter()
            .find(|o| o.description == h.description)
            .unwrap_or(h);
        if !shared_on_restore(&h.kind)
            || (&first.kind, first.flags, first.pos) != (&h.kind, h.flags, h.pos)
        {
            return Err(format!(
                "descriptor {} is recorded as shared description {} but is not as its other \
                 holders are",
                h.fd, h.description
            ));
        }
    }
    Ok(())
}

/// Every Unix socket is recorded once, every descriptor of one names a recorded socket, and
/// every socket a connection names is recorded, connected back where it must be.
fn check_sockets(processes: &[Process]) -> Result<()> {
    let all: Vec<&UnixSocket> = processes.iter().flat_map(|p| &p.sockets).collect();
    let find = |id: u64| all.iter().find(|s| s.id == id);
    for (n, s) in all.iter().enumerate() {
        if all[..n].iter().any(|o| o.id == s.id) {
            return Err(format!("Unix socket {} is recorded twice", s.id));
        }
        match &s.state {
            UnixState::Connected { peer } => {
                let Some(p) = find(*peer) else {
                    return Err(format!("Unix socket {} is connected to no socket", s.id));
                };
                let mutual = matches!(p.state, UnixState::Connected { peer } if peer == s.id);
                if p.kind != s.kind || (s.kind != 2 && !mutual) || *peer == s.id {
                    return Err(format!("Unix socket {}'s connection is malformed", s.id));
                }
            }
            UnixState::Listening { pending, .. } => {
                for c in pending {
                    if !find(*c).is_some_and(|c| c.state == UnixState::Pending && c.kind == s.kind)
                    {
                        return Err(format!(
                            "Unix socket {}'s waiting client is malformed",
                            s.id
                        ));
                    }
                }
            }
            _ => {}
        }
        if s.queue
            .iter()
            .flat_map(|m| &m.passed)
            .any(|id| find(*id).is_none())
        {
            return Err(format!(
                "Unix socket {} holds a message passing no socket of the box",
                s.id
            ));
        }
    }
    for p in processes {
        for h in &p.handles {
            match h.kind {
                HandleKind::Unix { id } if find(id).is_none() => {
                    return Err(format!("descriptor {} names no socket of the box", h.fd));
                }
                HandleKind::UnixName(_) => {
                    return Err(format!("descriptor {} is of a report's kind", h.fd));
                }
                HandleKind::Fifo { id }
                    if !processes.iter().any(|q| q.fifos.iter().any(|f| f.id == id)) =>
                {
                    return Err(format!("descriptor {} names no FIFO of the box", h.fd));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// One descriptor's kind, as both the metadata and a process's report write it.
fn put_kind(o: &mut Out, kind: &HandleKind) {
    match kind {
        HandleKind::Stdio(n) => {
            o.u8(0);
            o.u8(*n);
        }
        HandleKind::BootMount(i) => {
            o.u8(1);
            o.u32(*i);
        }
        HandleKind::SocketRoot => o.u8(2),
        HandleKind::File { root, rel } => {
            o.u8(3);
            o.u32(*root);
            o.bytes(rel);
        }
        HandleKind::Channel => o.u8(4),
        HandleKind::Pipe { id, write } => {
            o.u8(5);
            o.u64(*id);
            o.u8(u8::from(*write));
        }
        HandleKind::EventFd { count, semaphore } => {
            o.u8(6);
            o.u64(*count);
            o.u8(u8::from(*semaphore));
        }
        HandleKind::Listening {
            id,
            domain,
            address,
            options,
        } => {
            o.u8(7);
            o.u64(*id);
            o.u32(*domain);
            o.bytes(address);
            o.u8(*options);
        }
        HandleKind::ResetTcp { domain } => {
            o.u8(8);
            o.u32(*domain);
        }
        HandleKind::Established(c) => {
            o.u8(16);
            o.u32(c.domain);
            o.bytes(&c.local);
            o.bytes(&c.peer);
            o.u32(c.send_seq);
            o.u32(c.recv_seq);
            o.bytes(&c.send_queue);
            o.u32(c.unsent);
            o.bytes(&c.recv_queue);
            o.u32(c.mss);
            o.u8(c.tcp_options);
            o.u8(c.wscale.0);
            o.u8(c.wscale.1);
            o.u32(c.timestamp);
            for w in c.window {
                o.u32(w);
            }
            o.u8(c.options);
            o.u32(c.buffers.0);
            o.u32(c.buffers.1);
        }
        HandleKind::InetSocket {
            domain,
            udp,
            local,
            peer,
            options,
        } => {
            o.u8(15);
            o.u32(*domain);
            o.u8(u8::from(*udp));
            o.bytes(local);
            o.bytes(peer);
            o.u8(*options);
        }
        HandleKind::Unix { id } => {
            o.u8(9);
            o.u64(*id);
        }
        HandleKind::UnixName(f) => {
            o.u8(10);
            put_socket_file(o, f);
        }
        HandleKind::Fifo { id } => {
            o.u8(12);
            o.u64(*id);
        }
        HandleKind::Watcher { watches, last_wd } => {
            o.u8(13);
            o.u32(*last_wd);
            o.u32(watches.len() as u32);
            for w in watches {
                o.u32(w.wd);
                o.u32(w.mask);
                o.u32(w.root);
                o.bytes(&w.rel);
                o.u8(u8::from(w.nofollow));
            }
        }
        HandleKind::TimerFd {
            clock,
            ticks,
            value,
            interval,
        } => {
            o.u8(11);
            o.u32(*clock);
            o.u64(*ticks);
            o.u64(value.0);
            o.u32(value.1);
            o.u64(interval.0);
            o.u32(interval.1);
        }
        HandleKind::PosixQueue { name } => {
            o.u8(17);
            o.bytes(name);
        }
        HandleKind::Pidfd { pid, thread } => {
            o.u8(18);
            o.u32(*pid);
            o.u8(u8::from(*thread));
        }
        HandleKind::Detached { mount, entry } => {
            o.u8(14);
            o.u32(*mount);
            o.u32(*entry);
        }
    }
}

/// See [`put_kind`]; `fd` names the descriptor in an error.
fn get_kind(i: &mut In<'_>, fd: u32) -> Result<HandleKind> {
    Ok(match i.u8()? {
        0 => HandleKind::Stdio(i.u8()?),
        1 => HandleKind::BootMount(i.u32()?),
        2 => HandleKind::SocketRoot,
        3 => HandleKind::File {
            root: i.u32()?,
            rel: i.bytes()?,
        },
        4 => HandleKind::Channel,
        5 => HandleKind::Pipe {
            id: i.u64()?,
            write: i.u8()? != 0,
        },
        6 => HandleKind::EventFd {
            count: i.u64()?,
            semaphore: i.u8()? != 0,
        },
        7 => HandleKind::Listening {
            id: i.u64()?,
            domain: i.u32()?,
            address: i.bytes()?,
            options: i.u8()?,
        },
        8 => HandleKind::ResetTcp { domain: i.u32()? },
        16 => {
            let mut c = TcpConnection {
                domain: i.u32()?,
                local: i.bytes()?,
                peer: i.bytes()?,
                send_seq: i.u32()?,
                recv_seq: i.u32()?,
                send_queue: i.bytes()?,
                unsent: i.u32()?,
                recv_queue: i.bytes()?,
                mss: i.u32()?,
                tcp_options: i.u8()?,
                wscale: (i.u8()?, i.u8()?),
                timestamp: i.u32()?,
                ..TcpConnection::default()
            };
            for w in &mut c.window {
                *w = i.u32()?;
            }
            c.options = i.u8()?;
            c.buffers = (i.u32()?, i.u32()?);
            if (c.domain != 2 && c.domain != 10)
                || c.local.len() > 128
                || c.peer.len() > 128
                || c.unsent as usize > c.send_queue.len()
                || c.wscale.0 > 14
                || c.wscale.1 > 14
            {
                return Err(format!("descriptor {fd}'s connection is malformed"));
            }
            HandleKind::Established(c)
        }
        15 => {
            let (domain, udp) = (i.u32()?, i.u8()? != 0);
            let (local, peer, options) = (i.bytes()?, i.bytes()?, i.u8()?);
            if (domain != 2 && domain != 10)
                || local.len() > 128
                || peer.len() > 128
                || (!udp && !peer.is_empty())
            {
                return Err(format!("descriptor {fd}'s socket is malformed"));
            }
            HandleKind::InetSocket {
                domain,
                udp,
                local,
                peer,
                options,
            }
        }
        9 => HandleKind::Unix { id: i.u64()? },
        10 => HandleKind::UnixName(get_socket_file(i)?),
        12 => HandleKind::Fifo { id: i.u64()? },
        13 => {
            let last_wd = i.u32()?;
            let n = i.count(17)?;
            let mut watches: Vec<WatchRecord> = Vec::with_capacity(n);
            for _ in 0..n {
                let w = WatchRecord {
                    wd: i.u32()?,
                    mask: i.u32()?,
                    root: i.u32()?,
                    rel: i.bytes()?,
                    nofollow: i.u8()? != 0,
                };
                let after_last = watches.last().map_or(0, |l| l.wd);
                if w.wd <= after_last || w.wd > last_wd || w.mask & !WATCH_MASK_BITS != 0 {
                    return Err(format!("descriptor {fd}'s watches are malformed"));
                }
                watches.push(w);
            }
            if last_wd > LAST_WATCH_NUMBER_KEPT {
                return Err(format!("descriptor {fd}'s watch numbers run too high"));
            }
            HandleKind::Watcher { watches, last_wd }
        }
        11 => {
            let clock = i.u32()?;
            let ticks = i.u64()?;
            let value = (i.u64()?, i.u32()?);
            let interval = (i.u64()?, i.u32()?);
            if value.1 >= 1_000_000_000 || interval.1 >= 1_000_000_000 || value.0 >> 62 != 0 {
                return Err(format!("descriptor {fd}'s timer is malformed"));
            }
            HandleKind::TimerFd {
                clock,
                ticks,
                value,
                interval,
            }
        }
        17 => HandleKind::PosixQueue { name: i.bytes()? },
        18 => HandleKind::Pidfd {
            pid: i.u32()?,
            thread: i.u8()? != 0,
        },
        14 => HandleKind::Detached {
            mount: i.u32()?,
            entry: i.u32()?,
        },
        k => return Err(format!("descriptor {fd} is of an unknown kind {k}")),
    })
}

/// What a frozen process tells the monitor (`pal/freeze.rs`): its pid, its threads, what
/// each host descriptor it can name is, and why it cannot be captured, if it cannot. The
/// monitor reads the rest of the process's state from the host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The process's id in the box.
    pub pid: u32,
    /// Its threads.
    pub threads: Vec<Thread>,
    /// Descriptors it named, with their kinds.
    pub named: Vec<(u32, HandleKind)>,
    /// Empty, or what makes the process not capturable.
    pub refusal: Vec<u8>,
    /// Its host timers.
    pub timers: Vec<HostTimer>,
    /// Its shared mappings of files.
    pub shared_files: Vec<SharedFileMapping>,
    /// Where its runtime (the `picobox` binary) is: a restored box's is where the snapshot's
    /// was, not where its monitor's is.
    pub runtime_base: u64,
}

impl Report {
    /// The report's bytes (one message on the snapshot channel; its first four are the pid).
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out::default();
        o.u32(self.pid);
        o.u32(self.threads.len() as u32);
        for t in &self.threads {
            o.u32(t.tid);
            o.u64(t.block);
        }
        o.u32(self.named.len() as u32);
        for (fd, kind) in &self.named {
            o.u32(*fd);
            put_kind(&mut o, kind);
        }
        o.bytes(&self.refusal);
        put_timers(&mut o, &self.timers);
        o.u32(self.shared_files.len() as u32);
        for m in &self.shared_files {
            o.u64(m.start);
            o.u64(m.end);
            o.u64(m.offset);
            o.u32(m.file.root);
            o.bytes(&m.file.rel);
        }
        o.u64(self.runtime_base);
        o.0
    }

    /// Reads a report (from a box process: untrusted).
    pub fn decode(bytes: &[u8]) -> Result<Report> {
        let mut i = In { bytes, at: 0 };
        let pid = i.u32()?;
        let n = i.count(12)?;
        let mut threads = Vec::with_capacity(n);
        for _ in 0..n {
            threads.push(Thread {
                tid: i.u32()?,
                block: i.u64()?,
            });
        }
        let n = i.count(5)?;
        let mut named = Vec::with_capacity(n);
        for _ in 0..n {
            let fd = i.u32()?;
            named.push((fd, get_kind(&mut i, fd)?));
        }
        let refusal = i.bytes()?;
        let timers = get_timers(&mut i)?;
        let n = i.count(32)?;
        let mut shared_files = Vec::with_capacity(n);
        for _ in 0..n {
            shared_files.push(SharedFileMapping {
                start: i.u64()?,
                end: i.u64()?,
                offset: i.u64()?,
                file: MappedFileRecord {
                    root: i.u32()?,
                    rel: i.bytes()?,
                },
            });
        }
        let runtime_base = i.u64()?;
        if i.at != bytes.len() {
            return Err("the report has trailing bytes".into());
        }
        Ok(Report {
            pid,
            threads,
            named,
            refusal,
            timers,
            shared_files,
            runtime_base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Metadata {
        Metadata {
            ipc: Ipc {
                semaphores: vec![SemaphoreSet {
                    who: IpcOwner {
                        id: 0,
                        key: 0,
                        owner: None,
                        mode: 0o600,
                    },
                    values: vec![5, 0, 32767],
                }],
                queues: vec![MessageQueue {
                    who: IpcOwner {
                        id: 32768,
                        key: 0x1234,
                        owner: Some((1000, 1000)),
                        mode: 0o640,
                    },
                    capacity: 16384,
                    messages: vec![(1, b"hello".to_vec()), (7, Vec::new())],
                }],
                segments: vec![ShmSegment {
                    who: IpcOwner {
                        id: 3,
                        key: 0,
                        owner: None,
                        mode: 0o600,
                    },
                    size: 10000,
                    removed: true,
                    pages: vec![(0, vec![1; 4096]), (8192, vec![2; 1808])],
                    stored: None,
                }],
                posix_queues: vec![
                    PosixQueue {
                        name: b"jobs".to_vec(),
                        owner: None,
                        mode: 0o640,
                        capacity: 5,
                        message_size: 64,
                        messages: vec![(9, b"high".to_vec()), (1, Vec::new())],
                    },
                    PosixQueue {
                        name: b"other".to_vec(),
                        owner: Some((1000, 1000)),
                        mode: 0o600,
                        capacity: 1,
                        message_size: 1,
                        messages: Vec::new(),
                    },
                ],
            },
            box_files: vec![MountFiles {
                mount: 1,
                root_mode: 0o1777,
                entries: vec![
                    FileEntry {
                        parent: u32::MAX,
                        name: b"dir".to_vec(),
                        kind: FileKindRecord::Directory,
                        mode: 0o755,
                        modified: (1, 2),
                    },
                    FileEntry {
                        parent: 0,
                        name: b"notes".to_vec(),
                        kind: FileKindRecord::Regular(b"text".to_vec()),
                        mode: 0o644,
                        modified: (3, 4),
                    },
                    FileEntry {
                        parent: u32::MAX,
                        name: b"again".to_vec(),
                        kind: FileKindRecord::HardLink(1),
                        mode: 0o644,
                        modified: (3, 4),
                    },
                    FileEntry {
                        parent: 0,
                        name: b"moved".to_vec(),
                        kind: FileKindRecord::Whiteout,
                        mode: 0,
                        modified: (5, 6),
                    },
                    FileEntry {
                        parent: DETACHED,
                        name: Vec::new(),
                        kind: FileKindRecord::Regular(b"memory".to_vec()),
                        mode: 0o600,
                        modified: (7, 8),
                    },
                ],
            }],
            run_args: vec![b"--memory".to_vec(), b"64M".to_vec(), b"/bin/true".to_vec()],
            runtime_base: 0x5555_0000_0000,
            clocks: [(86400, 5), (90000, 999_999_999)],
            processes: vec![Process {
                pid: 2,
                parent: 0,
                pgid: 0,
                sid: 0,
                threads: vec![Thread {
                    tid: 2,
                    block: 0x7f00_0000_0000,
                }],
                handles: vec![
                    HandleRecord {
                        fd: 0,
                        kind: HandleKind::Stdio(0),
                        flags: 0,
                        pos: 0,
                        description: 0,
                    },
                    HandleRecord {
                        fd: 4,
                        kind: HandleKind::Pipe {
                            id: 77,
                            write: true,
                        },
                        flags: 1,
                        pos: 0,
                        description: 0,
                    },
                    HandleRecord {
                        fd: 5,
                        kind: HandleKind::File {
                            root: 3,
                            rel: b"bin/true".to_vec(),
                        },
                        flags: 0o100000,
                        pos: 17,
                        description: 1,
                    },
                    HandleRecord {
                        fd: 6,
                        kind: HandleKind::Watcher {
                            watches: vec![
                                WatchRecord {
                                    wd: 2,
                                    mask: 0x2,
                                    root: 3,
                                    rel: b"log".to_vec(),
                                    nofollow: false,
                                },
                                WatchRecord {
                                    wd: 5,
                                    mask: 0x8000_0100,
                                    root: 3,
                                    rel: Vec::new(),
                                    nofollow: true,
                                },
                            ],
                            last_wd: 7,
                        },
                        flags: 0o4000,
                        pos: 0,
                        description: 0,
                    },
                    HandleRecord {
                        fd: 8,
                        kind: HandleKind::Detached { mount: 1, entry: 4 },
                        flags: 2,
                        pos: 3,
                        description: 2,
                    },
                    HandleRecord {
                        fd: 10,
                        kind: HandleKind::InetSocket {
                            domain: 2,
                            udp: true,
                            local: vec![2, 0, 0x14, 0xe9, 127, 0, 0, 1],
                            peer: vec![2, 0, 0x14, 0xea, 127, 0, 0, 1],
                            options: 9,
                        },
                        flags: 2,
                        pos: 0,
                        description: 0,
                    },
                    HandleRecord {
                        fd: 12,
                        kind: HandleKind::Established(TcpConnection {
                            domain: 2,
                            local: vec![2, 0, 0x14, 0xe9, 127, 0, 0, 1],
                            peer: vec![2, 0, 0x14, 0xea, 127, 0, 0, 1],
                            send_seq: 7,
                            recv_seq: u32::MAX,
                            send_queue: b"to send".to_vec(),
                            unsent: 2,
                            recv_queue: b"to read".to_vec(),
                            mss: 65483,
                            tcp_options: 7,
                            wscale: (7, 7),
                            timestamp: 12345,
                            window: [1, 2, 3, 4, 5],
                            options: 1,
                            buffers: (2626560, 131072),
                        }),
                        flags: 2,
                        pos: 0,
                        description: 3,
                    },
                    HandleRecord {
                        fd: 14,
                        kind: HandleKind::PosixQueue {
                            name: b"jobs".to_vec(),
                        },
                        flags: 0o4001,
                        pos: 0,
                        description: 0,
                    },
                    HandleRecord {
                        fd: 15,
                        kind: HandleKind::Pidfd {
                            pid: 3,
                            thread: true,
                        },
                        flags: 0o2004002,
                        pos: 0,
                        description: 0,
                    },
                ],
                mappings: vec![
                    Mapping {
                        start: 0x1000,
                        end: 0x3000,
                        prot: 5,
                        kind: MapKind::Runtime { offset: 0x1000 },
                        set: 0,
                    },
                    Mapping {
                        start: 0x3000,
                        end: 0x4000,
                        prot: 3,
                        kind: MapKind::Private,
                        set: 0,
                    },
                    Mapping {
                        start: 0x4000,
                        end: 0x6000,
                        prot: 3,
                        kind: MapKind::SharedFile {
                            file: 0,
                            offset: 4096,
                        },
                        set: 0,
                    },
                    Mapping {
                        start: 0x6000,
                        end: 0x7000,
                        prot: 3,
                        kind: MapKind::DetachedFile {
                            mount: 1,
                            entry: 4,
                            offset: 0,
                        },
                        set: 0,
                    },
                ],
                pipes: vec![PipeRecord {
                    id: 77,
                    capacity: 65536,
                    data: b"queued".to_vec(),
                }],
                sockets: vec![
                    UnixSocket {
                        id: 10,
                        kind: 1,
                        state: UnixState::Connected { peer: 11 },
                        queue: vec![Message {
                            from: vec![],
                            data: b"abc".to_vec(),
                            passed: vec![11],
                        }],
                        buffers: (212992, 212992),
                        peek_offset: Some(2),
                        ..UnixSocket::default()
                    },
                    UnixSocket {
                        id: 11,
                        kind: 1,
                        state: UnixState::Connected { peer: 10 },
                        shutdown: 2,
                        ..UnixSocket::default()
                    },
                    UnixSocket {
                        id: 12,
                        kind: 1,
                        address: b"/803-1f".to_vec(),
                        file: Some(SocketFile {
                            root: 3,
                            rel: b"s".to_vec(),
                            given: b"/tmp/s".to_vec(),
                            mode: 0o755,
                        }),
                        state: UnixState::Listening {
                            backlog: 5,
                            pending: vec![13],
                        },
                        ..UnixSocket::default()
                    },
                    UnixSocket {
                        id: 13,
                        kind: 1,
                        state: UnixState::Pending,
                        ..UnixSocket::default()
                    },
                ],
                timers: vec![HostTimer {
                    which: TimerWhich::Posix {
                        id: 0,
                        clock: 1,
                        event: vec![0; 20],
                    },
                    value: (1, 500),
                    interval: (0, 250_000_000),
                }],
                fifos: vec![FifoRecord {
                    id: 40,
                    root: 3,
                    rel: b"f".to_vec(),
                    mode: 0o600,
                    capacity: 65536,
                    data: b"in the fifo".to_vec(),
                }],
                mapped_files: vec![MappedFileRecord {
                    root: 3,
                    rel: b"shm/region".to_vec(),
                }],
            }],
        }
    }

    #[test]
    fn refuses_a_file_path_of_more_than_one_component_or_a_later_parent() {
        for name in [&b"a/b"[..], b"..", b"", b"."] {
            let mut m = sample();
            m.box_files[0].entries[1].name = name.to_vec();
            assert!(Metadata::decode(&m.encode())
                .unwrap_err()
                .contains("malformed"));
        }
        let mut m = sample();
        m.box_files[0].entries[0].parent = 1;
        assert!(Metadata::decode(&m.encode())
            .unwrap_err()
            .contains("malformed"));
        let mut m = sample();
        m.box_files[0].entries[2].kind = FileKindRecord::HardLink(0);
        assert!(Metadata::decode(&m.encode())
            .unwrap_err()
            .contains("malformed"));
    }

    #[test]
    fn refuses_watches_out_of_order_past_the_last_number_or_with_unknown_bits() {
        let cases: [fn(&mut Vec<WatchRecord>, &mut u32); 5] = [
            |w, _| w.swap(0, 1),
            |w, _| w[1].wd = 2,
            |_, last| *last = 4,
            |w, _| w[0].mask |= 0x0100_0000,
            |w, last| {
                *last = LAST_WATCH_NUMBER_KEPT + 1;
                w[1].wd = *last;
            },
        ];
        for (n, change) in cases.iter().enumerate() {
            let mut m = sample();
            let HandleKind::Watcher { watches, last_wd } = &mut m.processes[0].handles[3].kind
            else {
                unreachable!()
            };
            change(watches, last_wd);
            let err = Metadata::decode(&m.encode()).unwrap_err();
            assert!(err.contains("descriptor 6's watch"), "case {n}: {err}");
        }
    }

    #[test]
    fn refuses_system_v_objects_out_of_order_or_beyond_their_bounds() {
        let cases: [fn(&mut Ipc); 16] = [
            |ipc| ipc.semaphores.push(ipc.semaphores[0].clone()),
            |ipc| ipc.semaphores[0].values.clear(),
            |ipc| ipc.semaphores[0].values[0] = 40000,
            |ipc| ipc.queues[0].capacity = 4,
            |ipc| ipc.queues[0].messages[0].0 = 0,
            |ipc| ipc.queues[0].who.mode = 0o4777,
            |ipc| ipc.segments[0].pages[1].0 = 4097,
            |ipc| ipc.segments[0].pages[1].0 = 0,
            |ipc| ipc.segments[0].size = 8192,
            |ipc| ipc.segments[0].size = 0,
            |ipc| ipc.segments[0].pages[0].1 = vec![0; (IPC_SEGMENT_BYTES_MOST + 1) as usize],
            |ipc| ipc.posix_queues[0].name = b"a/b".to_vec(),
            |ipc| ipc.posix_queues.swap(0, 1),
            |ipc| ipc.posix_queues[0].capacity = 1,
            |ipc| ipc.posix_queues[0].messages[0].1 = vec![1; 65],
            |ipc| ipc.posix_queues[0].messages[0].0 = 32768,
        ];
        for (n, change) in cases.iter().enumerate() {
            let mut m = sample();
            change(&mut m.ipc);
            assert!(Metadata::decode(&m.encode()).is_err(), "case {n}");
        }
    }

    #[test]
    fn a_stored_segment_has_no_pages_of_its_own_and_its_range_follows_the_files() {
        let with = |change: fn(&mut ShmSegment)| {
            let mut m = sample();
            let mut g = m.ipc.segments[0].clone();
            g.who.id = 4;
            g.pages.clear();
            g.stored = Some(0);
            change(&mut g);
            m.ipc.segments.push(g);
            Metadata::decode(&m.encode())
        };
        assert!(with(|_| {}).is_ok());
        assert!(with(|g| g.pages = vec![(0, vec![1; 4096])]).is_err());
        assert!(with(|g| g.stored = Some(100)).is_err());
        assert!(with(|g| g.stored = Some(USER_END)).is_err());
        // After a stored file's range only.
        let mut m = sample();
        m.box_files[0].entries.push(FileEntry {
            parent: u32::MAX,
            name: b"large".to_vec(),
            kind: FileKindRecord::Stored {
                size: 10000,
                base: 0,
            },
            mode: 0o600,
            modified: (0, 0),
        });
        m.ipc.segments[0].pages.clear();
        m.ipc.segments[0].stored = Some(8192);
        assert!(Metadata::decode(&m.encode()).is_err());
        m.ipc.segments[0].stored = Some(12288);
        assert_eq!(Metadata::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn stored_files_ranges_follow_each_other() {
        let stored = |m: &mut Metadata, size: u64, base: u64| {
            m.box_files[0].entries.push(FileEntry {
                parent: u32::MAX,
                name: format!("big{base}").into_bytes(),
                kind: FileKindRecord::Stored { size, base },
                mode: 0o600,
                modified: (1, 2),
            });
        };
        let mut m = sample();
        stored(&mut m, 70_000, 0);
        stored(&mut m, 5, 73_728);
        assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
        for (size, base) in [(5, 69_632), (5, 73_729), (u64::MAX - 4096, 73_728)] {
            let mut m = sample();
            stored(&mut m, 70_000, 0);
            stored(&mut m, size, base);
            assert!(
                Metadata::decode(&m.encode())
                    .unwrap_err()
                    .contains("stored file"),
                "{size} at {base}"
            );
        }
    }

    #[test]
    fn refuses_an_attachment_that_is_not_of_a_whole_segment() {
        let attach = |m: &mut Metadata, end: u64| {
            m.processes[0].mappings.push(Mapping {
                start: 0x7e00_0000_0000,
                end,
                prot: 3,
                kind: MapKind::SysvSegment { id: 3 },
                set: 0,
            });
        };
        let mut m = sample();
        attach(&mut m, 0x7e00_0000_3000);
        assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
        let mut m = sample();
        attach(&mut m, 0x7e00_0000_2000);
        assert!(Metadata::decode(&m.encode())
            .unwrap_err()
            .contains("attaches no shared memory segment whole"));
    }

    #[test]
    fn files_no_name_reaches_and_inet_sockets_are_only_as_a_restore_can_make_them() {
        let cases: [fn(&mut Metadata); 9] = [
            |m| m.box_files[0].entries[4].name = b"named".to_vec(),
            |m| m.box_files[0].entries[4].kind = FileKindRecord::Directory,
            |m| {
                m.box_files[0].entries.push(FileEntry {
                    parent: u32::MAX,
                    name: b"link".to_vec(),
                    kind: FileKindRecord::HardLink(4),
                    mode: 0o600,
                    modified: (0, 0),
                })
            },
            |m| m.processes[0].handles[4].kind = HandleKind::Detached { mount: 1, entry: 1 },
            |m| m.processes[0].handles[4].description = 0,
            |m| {
                m.processes[0].handles[7].kind = HandleKind::PosixQueue {
                    name: b"none".to_vec(),
                }
            },
            |m| {
                if let HandleKind::Established(c) = &mut m.processes[0].handles[6].kind {
                    c.unsent = 8;
                }
            },
            |m| {
                // A TCP socket is never made again connected.
                m.processes[0].handles[5].kind = HandleKind::InetSocket {
                    domain: 2,
                    udp: false,
                    local: Vec::new(),
                    peer: vec![2, 0, 0, 1, 127, 0, 0, 1],
                    options: 0,
                }
            },
            |m| {
                m.processes[0].mappings[3].kind = MapKind::DetachedFile {
                    mount: 2,
                    entry: 4,
                    offset: 0,
                }
            },
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut m = sample();
            change(&mut m);
            assert!(Metadata::decode(&m.encode()).is_err(), "case {i}");
        }
    }

    #[test]
    fn a_shared_description_is_of_a_kind_made_once_and_the_same_in_each_holder() {
        // A second holder of the file at descriptor 5 (as a dup of it would be).
        let with_holder = |change: fn(&mut HandleRecord)| {
            let mut m = sample();
            let mut other = m.processes[0].handles[2].clone();
            other.fd = 16;
            change(&mut other);
            m.processes[0].handles.push(other);
            Metadata::decode(&m.encode())
        };
        assert!(with_holder(|_| {}).is_ok());
        let changes: [fn(&mut HandleRecord); 3] = [
            |h| h.pos = 18,
            |h| h.flags = 0o100001,
            |h| h.kind = HandleKind::Stdio(1),
        ];
        for change in changes {
            assert!(with_holder(change)
                .unwrap_err()
                .contains("shared description 1 but is not as its other holders are"));
        }
    }

    #[test]
    fn refuses_a_stream_connection_that_is_not_mutual() {
        let mut m = sample();
        m.processes[0].sockets[1].state = UnixState::Connected { peer: 12 };
        assert!(Metadata::decode(&m.encode())
            .unwrap_err()
            .contains("connection is malformed"));
        let mut m = sample();
        m.processes[0].handles[1].kind = HandleKind::Unix { id: 99 };
        assert!(Metadata::decode(&m.encode())
            .unwrap_err()
            .contains("names no socket"));
    }

    #[test]
    fn a_report_reads_back() {
        let r = Report {
            pid: 3,
            threads: vec![Thread {
                tid: 3,
                block: 0x1000,
            }],
            named: vec![
                (0, HandleKind::Stdio(0)),
                (9, HandleKind::Channel),
                (
                    10,
                    HandleKind::UnixName(SocketFile {
                        root: 3,
                        rel: b"s".to_vec(),
                        given: b"s".to_vec(),
                        mode: 0o700,
                    }),
                ),
            ],
            refusal: b"no".to_vec(),
            timers: vec![HostTimer {
                which: TimerWhich::Interval(0),
                value: (3, 5),
                interval: (0, 0),
            }],
            shared_files: vec![SharedFileMapping {
                start: 0x1000,
                end: 0x3000,
                offset: 0,
                file: MappedFileRecord {
                    root: 3,
                    rel: b"region".to_vec(),
                },
            }],
            runtime_base: 0x7f00_0000_0000,
        };
        assert_eq!(Report::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(Metadata::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn refuses_overlap_and_trailing_bytes() {
        let mut m = sample();
        m.processes[0].mappings[1].start = 0x2000;
        assert!(Metadata::decode(&m.encode())
            .unwrap_err()
            .contains("overlaps"));
        let mut bytes = sample().encode();
        bytes.push(0);
        assert!(Metadata::decode(&bytes).unwrap_err().contains("trailing"));
    }

    proptest::proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(0u8..=255, 0..512)) {
            let _ = Metadata::decode(&bytes);
        }

        #[test]
        fn every_truncation_is_refused(cut in 0usize..200) {
            let bytes = sample().encode();
            let cut = cut % bytes.len();
            proptest::prop_assert!(Metadata::decode(&bytes[..cut]).is_err());
        }
    }
}
