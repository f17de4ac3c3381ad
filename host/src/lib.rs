//! The std-side tools of picobox: reading TOML manifests into `picobox run` flags.
//!
//! The `picobox` command itself is a `no_std` binary (`src/picobox/`), so that starting a box
//! does not pay for a C library's start-up. Only what needs std lives here.

pub mod config;
pub mod manifest;
pub mod policy;

// The `picobox` binary's command-line parser is plain `alloc` code; its unit tests run here.
#[cfg(test)]
extern crate alloc;
#[cfg(test)]
#[allow(dead_code)]
#[path = "picobox/monitor/cli.rs"]
mod cli;
