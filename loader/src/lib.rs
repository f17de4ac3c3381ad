//! ELF in, mapped image out.
//!
//! [`ElfImage::parse`] reads the ELF header and program headers (with goblin) and validates
//! everything before a single page is mapped: class, machine, type, segment bounds, overlap,
//! alignment, W+X, and where the entry point lies. [`ElfImage::map`] then maps the image through
//! the ABI, and [`stack::build`] lays out the initial stack (argv, envp, auxv).
//!
//! The parser sees only bytes the caller read for it, so the monitor uses it to reject a bad
//! program with a clear message before a picoprocess exists, and the library OS uses it again
//! inside the box (it trusts nothing the monitor checked).
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
