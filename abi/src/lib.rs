//! The picobox host ABI: the only way the library OS reaches the host.
//!
//! The ABI is a Rust trait, [`Host`], with about fifty calls in nine groups (memory, threads,
//! synchronisation, streams, sockets, processes, time, randomness, information). Every call is
//! documented in [`calls`] with its parameters, its errors and the host system calls the Linux
//! host needs for it. The library OS is written against this trait only; a second host (a
//! record/replay host, a test host) is another implementation of the same trait.
//!
//! Rules of the contract:
//! - one error type, [`Errno`], with Linux numbering, so the library OS never translates;
//! - buffers that the kernel fills or drains are passed as raw addresses ([`IoBuf`]): the host
//!   hands them to the kernel, which reports `EFAULT` for a bad one, and never dereferences them
//!   itself except through the fault-checked [`Host::vm_copy`];
//! - the host holds no Linux-personality state: file offsets of regular files, the descriptor
//!   table, signal dispositions and process ids all live in the library OS.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod boot;
pub mod calls;
mod errno;
pub mod types;

pub use calls::{Host, CALLS};
pub use errno::{Errno, Result};
pub use types::*;

/// Version of the ABI. A host refuses a library OS built for another major version.
pub const ABI_VERSION: (u16, u16) = (0, 1);
