//! Kernel policy for a box that is decided at build time: the seccomp allowlist.
//! (Landlock rules depend on the mounts and are built at start, in `picobox/landlock.rs`.)

pub mod seccomp;
