//! The std-side tools of picobox: reading TOML manifests into `picobox run` flags; and the
//! snapshot file format (`snapshot_format`) and its metadata (`snapshot_meta`), plain `alloc`
//! code that the `picobox` binary includes too (`snapshot`, `restore`, `snapshot inspect`).
//!
//! The `picobox` command itself is a `no_std` binary (`src/picobox/`), so that starting a box
//! does not pay for a C library's start-up. Only what needs std lives here.

pub mod config;
pub mod manifest;
pub mod policy;
pub mod seal;
pub mod snapshot_format;
pub mod snapshot_meta;

extern crate alloc;

// The `picobox` binary's command-line parser is plain `alloc` code; its unit tests run here.
#[cfg(test)]
#[allow(dead_code)]
#[path = "picobox/monitor/cli.rs"]
mod cli;

/// For the unit tests of `root_plan`: the gate as a plain C library system call.
#[cfg(test)]
mod gate {
    pub fn syscall(nr: u64, a: [u64; 6]) -> u64 {
        // SAFETY: the tests pass only paths and buffers they own to stat/open/read/close.
        let r = unsafe { libc::syscall(nr as i64, a[0], a[1], a[2], a[3], a[4], a[5]) };
        if r == -1 {
            // The gate returns the kernel's -errno, not libc's -1.
            return (-i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(5)))
                as u64;
        }
        r as u64
    }
}
#[cfg(test)]
#[allow(dead_code)]
#[path = "picobox/monitor/root_plan.rs"]
mod root_plan;
/// For the unit tests of `registry`: a directory's names, with std.
#[cfg(test)]
mod limits {
    pub fn list_dir(path: &[u8]) -> Vec<Vec<u8>> {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        std::fs::read_dir(std::ffi::OsStr::from_bytes(path))
            .map(|d| d.flatten().map(|e| e.file_name().into_vec()).collect())
            .unwrap_or_default()
    }
}
#[cfg(test)]
#[allow(dead_code)]
#[path = "picobox/monitor/registry.rs"]
mod registry;
