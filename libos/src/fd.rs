//! Open files and the descriptor table.
//!
//! A descriptor points at an [`OpenFile`] (Linux's "open file description"); `dup` shares it,
//! with its status flags and directory cursor. Host handles are closed when the last descriptor
//! referring to them goes.

use crate::kernel::host;
use crate::path::Components;
use crate::vfs::DevNode;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use picobox_abi::{DirEntry, Errno, Handle, OpenFlags, Result};
use spin::Mutex;

/// A handle the host holds for us, closed when dropped.
#[derive(Debug)]
pub struct HostHandle(pub Handle);

impl Drop for HostHandle {
    fn drop(&mut self) {
        let _ = host().object_close(self.0);
    }
}

/// What an open file is backed by.
#[derive(Debug)]
pub enum FileObject {
    /// A host stream: file, directory, terminal or pipe.
    Host(HostHandle),
    /// A virtual device.
    Dev(DevNode),
    /// A synthetic directory of the namespace.
    SyntheticDir,
    /// An epoll instance, kept by the library OS.
    Epoll(Mutex<crate::syscalls::epoll::Interest>),
    /// A generated read-only file (in `/proc`): its contents and the read position.
    Memory(Vec<u8>, Mutex<u64>),
    /// A generated directory (in `/proc`): its entries.
    MemoryDir(Vec<(Vec<u8>, picobox_abi::FileKind)>),
    /// A signal file (`signalfd`), kept by the library OS.
    Signal(crate::syscalls::signalfd::SignalFile),
    /// The caller's `/proc/self/pagemap`, produced as it is read: the read position.
    PageMap(Mutex<u64>),
    /// A namespace of the box (`/proc/PID/ns/NAME` opened).
    Namespace(crate::syscalls::namespaces::Namespace),
}

/// Where a directory listing stands.
#[derive(Default, Debug)]
pub struct DirCursor {
    /// Entries read from the host but not yet given to the program.
    pub pending: VecDeque<DirEntry>,
    /// Entries given so far (the next `d_off`).
    pub position: i64,
    /// Whether the host has no more entries.
    pub exhausted: bool,
}

/// An open file description.
#[derive(Debug)]
pub struct OpenFile {
    /// The backing object.
    pub object: FileObject,
    /// `O_*` status flags (access mode, `O_APPEND`, `O_NONBLOCK`, ...).
    pub flags: Mutex<u32>,
    /// The guest path it was opened by (for `fchdir`, `*at` calls and `/proc`).
    pub path: Components,
    /// Directory listing state.
    pub dir: Mutex<DirCursor>,
    /// Counts reads and writes, so that edge-triggered epoll knows when the program has
    /// consumed what it was told about.
    pub io_gen: core::sync::atomic::AtomicU64,
    /// Set while an epoll wait leaves out events of this file that it already reported
    /// (edge-triggered): the next read or write must wake that wait.
    pub et_parked: core::sync::atomic::AtomicBool,
    /// The process, thread or group `F_SETOWN` or `F_SETOWN_EX` named (recorded: `SIGIO` is
    /// never sent), and which of those it is (`F_OWNER_TID` 0, `F_OWNER_PID` 1,
    /// `F_OWNER_PGRP` 2).
    pub owner: core::sync::atomic::AtomicI32,
    /// See `owner`.
    pub owner_kind: core::sync::atomic::AtomicI32,
    /// The signal `F_SETSIG` chose for I/O readiness (0: `SIGIO`; recorded).
    pub io_signal: core::sync::atomic::AtomicI32,
    /// The descriptor a lease or directory notice was asked through (`F_SETLEASE`,
    /// `F_NOTIFY`), which the notice's `si_fd` names (-1: none).
    pub notice_fd: core::sync::atomic::AtomicI32,
    /// For a file without a path that Linux keeps in its anonymous inode file system (eventfd,
    /// timerfd, signalfd): its name there, as `/proc/PID/fd` shows it (`[timerfd]`).
    pub anonymous: Option<&'static str>,
}

impl OpenFile {
    /// A new description.
    pub fn new(object: FileObject, flags: u32, path: Components) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            object,
            flags: Mutex::new(flags),
            path,
            dir: Mutex::new(DirCursor::default()),
            io_gen: core::sync::atomic::AtomicU64::new(0),
            et_parked: core::sync::atomic::AtomicBool::new(false),
            owner: core::sync::atomic::AtomicI32::new(0),
            owner_kind: core::sync::atomic::AtomicI32::new(1),
            io_signal: core::sync::atomic::AtomicI32::new(0),
            notice_fd: core::sync::atomic::AtomicI32::new(-1),
            anonymous: None,
        })
    }

    /// A new description of an anonymous-inode file named `name` (`"[timerfd]"`).
    pub fn anonymous(object: FileObject, flags: u32, name: &'static str) -> Arc<OpenFile> {
        let mut file = OpenFile::new(object, flags, Components::new());
        if let Some(f) = Arc::get_mut(&mut file) {
            f.anonymous = Some(name);
        }
        file
    }

    /// The host handle, for calls that need one.
    pub fn handle(&self) -> Option<Handle> {
        match &self.object {
            FileObject::Host(h) => Some(h.0),
            _ => None,
        }
    }

    /// Notes that the program read or wrote (see `io_gen`).
    pub fn touched(&self) {
        self.io_gen
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        if self
            .et_parked
            .swap(false, core::sync::atomic::Ordering::AcqRel)
        {
            crate::syscalls::epoll::rearm();
        }
    }

    /// Current status flags.
    pub fn status(&self) -> OpenFlags {
        OpenFlags(*self.flags.lock())
    }
}

/// One slot of the table.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file description.
    pub file: Arc<OpenFile>,
    /// `FD_CLOEXEC`.
    pub cloexec: bool,
}

/// The descriptor table.
pub struct FdTable {
    slots: Vec<Option<FdEntry>>,
    /// `RLIMIT_NOFILE`: descriptors are below this.
    pub limit: usize,
}

impl FdTable {
    /// An empty table.
    pub fn new(limit: usize) -> FdTable {
        FdTable {
            slots: Vec::new(),
            limit,
        }
    }

    /// The entry for `fd`. Errors: `EBADF`.
    pub fn get(&self, fd: u64) -> Result<&FdEntry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    /// The open file behind `fd`. Errors: `EBADF`.
    pub fn file(&self, fd: u64) -> Result<Arc<OpenFile>> {
        Ok(self.get(fd)?.file.clone())
    }

    /// The host stream of descriptor `fd` if it is the kind of anonymous file named `name`
    /// (a timer, a watcher, a pidfd). Errors: `EBADF`, `EINVAL` (another kind of file).
    pub fn anonymous_stream(&self, fd: u64, name: &str) -> Result<Handle> {
        let file = self.file(fd)?;
        match (file.anonymous, file.handle()) {
            (Some(kind), Some(h)) if kind == name => Ok(h),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The open file behind `fd`, for a call that acts on the file itself, which a descriptor
    /// opened with `O_PATH` cannot: `EBADF`, as Linux for ioctl, fchmod, fchown and the
    /// extended-attribute calls.
    pub fn usable_file(&self, fd: u64) -> Result<Arc<OpenFile>> {
        let file = self.file(fd)?;
        if file.status().0 & picobox_abi::OpenFlags::PATH != 0 {
            return Err(Errno::EBADF);
        }
        Ok(file)
    }

    /// Installs `entry` at the lowest free descriptor not below `min`. Errors: `EMFILE`, `EINVAL`.
    pub fn insert_from(&mut self, min: usize, entry: FdEntry) -> Result<u64> {
        if min >= self.limit {
            return Err(Errno::EINVAL);
        }
        let free = (min..self.limit).find(|i| self.slots.get(*i).is_none_or(Option::is_none));
        let fd = free.ok_or(Errno::EMFILE)?;
        self.put(fd, entry);
        Ok(fd as u64)
    }

    /// Installs `entry` at the lowest free descriptor.
    pub fn insert(&mut self, entry: FdEntry) -> Result<u64> {
        self.insert_from(0, entry)
    }

    /// Installs `entry` at exactly `fd`, closing what was there. Errors: `EBADF`.
    pub fn replace(&mut self, fd: u64, entry: FdEntry) -> Result<()> {
        let i = usize::try_from(fd)
            .ok()
            .filter(|i| *i < self.limit)
            .ok_or(Errno::EBADF)?;
        self.put(i, entry);
        Ok(())
    }

    fn put(&mut self, i: usize, entry: FdEntry) {
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(entry);
    }

    /// Removes `fd`. Errors: `EBADF`.
    pub fn remove(&mut self, fd: u64) -> Result<FdEntry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::take)
            .ok_or(Errno::EBADF)
    }

    /// The open descriptor numbers, ascending.
    pub fn numbers(&self) -> Vec<u64> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as u64)
            .collect()
    }

    /// Closes every descriptor marked close-on-exec.
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|e| e.cloexec) {
                *slot = None;
            }
        }
    }

    /// Sets `FD_CLOEXEC`. Errors: `EBADF`.
    pub fn set_cloexec(&mut self, fd: u64, on: bool) -> Result<()> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        match self.slots.get_mut(i).and_then(Option::as_mut) {
            Some(e) => {
                e.cloexec = on;
                Ok(())
            }
            None => Err(Errno::EBADF),
        }
    }
}
