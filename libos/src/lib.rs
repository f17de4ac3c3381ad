//! The picobox library OS: the Linux personality of a picoprocess.
//!
//! It holds every piece of the program's OS state (descriptor table, mounts and working
//! directory, memory layout, identity, signal dispositions) and implements Linux system calls on
//! top of the host ABI ([`picobox_abi::Host`]) only. It never makes a system call itself and never
//! names anything of the host, so any implementation of the ABI can run it.
//!
//! The host calls three entry points:
//! - [`boot`] once, with the monitor's [`picobox_abi::boot::BootInfo`]: loads the program and
//!   returns where to jump;
//! - [`syscall`] for every system call the program makes;
//! - [`fault`] when the program faults (segmentation fault, bad instruction, division by zero).
//!
//! The library OS runs inside the picoprocess and is **not** trusted: the kernel policy that the
//! monitor installs is the security boundary. Its checks exist for correct Linux behaviour.
#![no_std]
// Unsafe code only in the test implementation of the host ABI (`test_host.rs`), which copies
// the test's own memory as a host copies program memory.
#![cfg_attr(not(test), forbid(unsafe_code))]
#![cfg_attr(test, deny(unsafe_code))]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod box_processes;
mod core_dump;
mod exec;
mod fd;
mod kernel;
mod lock;
mod memory_views;
mod path;
mod procfs;
mod snapshot;
mod socket_root;
mod state;
pub mod syscalls;
#[cfg(test)]
mod test_host;
mod user;
mod vfs;
mod vma;

pub use kernel::{boot, fault, signal_arrived, syscall, BootError, Entry, Fault, Return};
pub use snapshot::{
    snapshot_handles, snapshot_shared_files, snapshot_timers, BoundName, HandleWhat, NamedHandle,
    SharedFileMap, TimerState, WatchedFile,
};
