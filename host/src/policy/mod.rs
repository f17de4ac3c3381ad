//! Kernel policy for a box: the seccomp allowlist and the Landlock rules. Both are decided
//! here, in the monitor, and installed before any program code runs.

pub mod landlock;
pub mod seccomp;
