//! ELF in, mapped image out.
//!
//! [`ElfImage::parse`] reads the ELF header and program headers (with goblin) and validates
//! everything before a single page is mapped: class, machine, type, segment bounds, overlap,
//! alignment, where the entry point lies, and the dynamic loader a program names
//! (`PT_INTERP`). [`ElfImage::map`] then maps the image through the ABI (a program and its
//! loader are two images), and [`stack::build`] lays out the initial stack (argv, envp, auxv).
//!
//! The parser sees only bytes the caller read for it. The library OS uses it inside the box,
//! on the program it found in the box's own view, so that a bad program gets a clear message
//! (or `execve` an errno) before anything of the old program is gone.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod elf;
mod map;
pub mod stack;

pub use elf::{ElfError, ElfImage, Segment, HEADER_READ_SIZE};
pub use map::{LoadError, MappedImage};

/// Page size of x86-64 Linux, the only target.
pub const PAGE_SIZE: u64 = 4096;

/// Rounds down to a page boundary.
pub fn page_floor(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary, `None` on overflow.
pub fn page_ceil(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(page_floor)
}
