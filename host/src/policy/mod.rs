//! Kernel policy: every rule the kernel enforces on a box, in one folder.
//!
//! - `seccomp.rs`: the allowlist, decided at build time (compiled to BPF by `build.rs` with
//!   `bpf.rs`; this module is the std-side copy their unit tests use);
//! - `box_root.rs`: the box's mount namespace, mounts and host user;
//! - `landlock.rs`: path, port and scoping rules, built at start from the mounts;
//! - `limits.rs`: cgroups and rlimits.
//!
//! The last three run inside the `no_std` `picobox` binary, which includes them by path.

pub mod bpf;
pub mod seccomp;
