//! The library OS's whole state in a process, one value: [`LibOs`], owned by the process
//! (one per picoprocess, in its memory: a snapshot takes it as pages, docs/snapshot.md).
//!
//! Its parts and who reaches them:
//! - [`LibOs::kernel`], the Linux personality's state ([`Kernel`]: descriptors, mounts, memory
//!   map, identity, timers' bookkeeping, ...), behind its lock: every system call handler is
//!   passed it (`&mut Kernel`), and nothing else holds it;
//! - the parts a host signal handler must reach without that lock (it may arrive while the
//!   lock is held): the signals' dispositions and pending sets, the real-time signal queue,
//!   the signal files' doorbells, the ptrace record the tracer reads; and what is set once
//!   (the host, the socket root, the edge-triggered wake-up file) or by one thread for all
//!   (the exec leader). Each module names its part through a reference into this value.
//!
//! A test implementation of the host ABI (`test_host.rs`) runs the library OS on this same
//! value, built by [`Kernel::fresh`].

use crate::fd::OpenFile;
use crate::kernel::Kernel;
use crate::lock::Lock;
use crate::syscalls::{ptrace, signal, signal_queue, signalfd};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32};
use picobox_abi::{Handle, Host};

/// Everything the library OS keeps for one process.
pub struct LibOs {
    /// The host ABI it runs on (set by `boot`).
    pub(crate) host: spin::Once<&'static dyn Host>,
    /// The Linux personality's state, passed to every handler.
    pub(crate) kernel: Lock<Option<Kernel>>,
    /// Dispositions and pending signals (`signal.rs`).
    pub(crate) signals: signal::Shared,
    /// Queued real-time signals (`signal_queue.rs`).
    pub(crate) signal_queue: signal_queue::Queue,
    /// Signal files' doorbells (`signalfd.rs`).
    pub(crate) signal_files: signalfd::Doorbells,
    /// The edge-triggered epoll wake-up file (`epoll.rs`).
    pub(crate) epoll_rearm: spin::Once<Option<Arc<OpenFile>>>,
    /// The thread replacing the program in `execve` (`exec.rs`).
    pub(crate) exec_leader: AtomicU32,
    /// What a tracer reads and writes (`ptrace.rs`).
    pub(crate) trace: ptrace::TraceRecord,
    /// Whether the process is in a signal-delivery stop (`ptrace.rs`).
    pub(crate) trace_in_stop: AtomicBool,
    /// The box's socket root (`socket_root.rs`).
    pub(crate) socket_root: spin::Once<Option<Handle>>,
}

/// The process's library OS.
pub(crate) static LIBOS: LibOs = LibOs {
    host: spin::Once::new(),
    kernel: Lock::new(None),
    signals: signal::Shared::new(),
    signal_queue: signal_queue::Queue::new(),
    signal_files: signalfd::Doorbells::new(),
    epoll_rearm: spin::Once::new(),
    exec_leader: AtomicU32::new(0),
    trace: ptrace::TraceRecord::new(),
    trace_in_stop: AtomicBool::new(false),
    socket_root: spin::Once::new(),
};
