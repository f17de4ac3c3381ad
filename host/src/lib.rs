//! The picobox monitor: the trusted side.
//!
//! It turns flags and manifests into a [`config::BoxConfig`], turns that into kernel policy
//! ([`policy`]: a seccomp allowlist, Landlock rules, rlimits), starts the picoprocess runtime
//! under that policy ([`sandbox`]), and reports the program's exit status.
//! Nothing here runs inside the picoprocess.

pub mod cli;
pub mod config;
pub mod manifest;
pub mod policy;
pub mod sandbox;
