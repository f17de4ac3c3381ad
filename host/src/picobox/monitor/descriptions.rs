//! Open file descriptions that several processes of a box hold across a snapshot.
//!
//! A child holds what it inherited as the same open file description as its parent: one
//! offset, one set of status flags, one eventfd count or timer. A restore that opened each
//! holder's file again would give each its own offset, so that two processes writing one
//! file (a shell's `exec 3>log` and its jobs) write over each other, and an eventfd or timer
//! file shared by two processes would become two.
//!
//! Taking them (the monitor, box frozen): each descriptor of a kind that is made again
//! ([`shared_on_restore`]) is compared with the earlier ones of its kind (`kcmp(KCMP_FILE)`);
//! the holders of one description get one number, `HandleRecord::description`. The restore
//! makes each such description once, in the program process before it forks the others
//! (`restore::build_tree`), so every holder inherits it as Linux's did. A file no name
//! reaches (`HandleKind::Detached`) is numbered even where one descriptor holds it: the
//! restore can open it only then, through the passing name it makes it under.

use crate::hostio::sys;
use crate::snapshot_meta::{shared_on_restore, HandleKind, HandleRecord};
use alloc::vec::Vec;

/// Whether descriptor `fd` of host process `pid` and descriptor `other_fd` of `other` are
/// one open file description (`kcmp(KCMP_FILE)`; the monitor may compare the box's
/// processes, which it made).
pub fn same_description(pid: u64, fd: u32, other: u64, other_fd: u32) -> bool {
    const SYS_KCMP: u64 = 312;
    const KCMP_FILE: u64 = 0;
    let args = [pid, other, KCMP_FILE, u64::from(fd), u64::from(other_fd), 0];
    sys(SYS_KCMP, args) == Ok(0)
}

/// Whether two records may be one description: the same file, or event files of one kind
/// (a timer's time left is read once per holder, a moment apart).
fn may_be_one(a: &HandleKind, b: &HandleKind) -> bool {
    match (a, b) {
        (HandleKind::File { .. }, HandleKind::File { .. })
        | (HandleKind::Detached { .. }, HandleKind::Detached { .. }) => a == b,
        _ => core::mem::discriminant(a) == core::mem::discriminant(b),
    }
}

/// Numbers the descriptions that several descriptors of the processes of `all` (host pids in
/// `hosts`, in the same order) are, from 1; each later holder's record is made the first's.
pub fn number(hosts: &[u64], all: &mut [(u32, Vec<HandleRecord>)]) {
    // (host pid, descriptor, index of the process, index of the record) of those seen.
    let mut seen: Vec<(u64, u32, usize, usize)> = Vec::new();
    let mut next = 1u32;
    for p in 0..all.len() {
        for h in 0..all[p].1.len() {
            let record = &all[p].1[h];
            if !shared_on_restore(&record.kind) {
                continue;
            }
            let fd = record.fd;
            let first = seen.iter().copied().find(|&(host, other_fd, q, g)| {
                may_be_one(&all[q].1[g].kind, &record.kind)
                    && same_description(hosts[p], fd, host, other_fd)
            });
            seen.push((hosts[p], fd, p, h));
            let Some((_, _, q, g)) = first else {
                // A file no name reaches is opened by the restore through a passing name,
                // before the processes are forked: as a description of its own.
                if matches!(all[p].1[h].kind, HandleKind::Detached { .. }) {
                    all[p].1[h].description = next;
                    next += 1;
                }
                continue;
            };
            if all[q].1[g].description == 0 {
                all[q].1[g].description = next;
                next += 1;
            }
            let first = all[q].1[g].clone();
            all[p].1[h] = HandleRecord { fd, ..first };
        }
    }
}
