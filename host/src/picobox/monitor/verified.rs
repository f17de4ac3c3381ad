//! Snapshot files whose pages this user's picobox has summed in full, so that restoring such
//! a file does not read every page once more before the box may run: a file `picobox
//! snapshot` wrote (its monitor summed each page as it wrote it), and a file a restore has
//! already checked whole (a clone, a second restore). A file copied, moved in from elsewhere
//! or streamed is another file, and is checked.
//!
//! A file is known by its device, inode, size, and modification and change times, taken
//! before the check and found the same after it. Every `write`, `truncate` or `fallocate`
//! changes the change time, which no program of the user can set back, so a file changed
//! since is checked again. What this does not see is a change made through a writable shared
//! mapping of the file on a filesystem that does not update the times on such writes
//! (tmpfs): the same change would already reach, unchecked, every box restored from the file
//! and running (docs/snapshot.md, "Known limits"). The pages are the box's own memory, so a
//! page missed is a corruption not found, never a way out of the box; every other part of the
//! file is checked on every restore.
//!
//! The record is `verified` beside the seal key (`seal_key.rs`), the last [`KEPT`] files as
//! HMACs of their identity under the key (without a key, nothing is remembered). It is
//! rewritten under a name of this process's own and renamed into place: two restores at once
//! may each lose the other's entry, which costs a check, never a wrong answer.

use crate::hostio::{self, close, sys};
use alloc::format;
use alloc::vec::Vec;

/// How many files the record keeps.
const KEPT: usize = 64;
const RECORD_LEN: usize = 32;

/// What names one unchanged file: an HMAC of its identity under the user's key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Identity([u8; RECORD_LEN]);

/// The identity of the regular file open at `fd` (None without a key, or for anything else).
pub fn identity(fd: u64) -> Option<Identity> {
    let key = crate::seal_key::existing()?;
    // struct stat: st_dev 0, st_ino 8, st_mode 24, st_size 48, st_mtim 88, st_ctim 104.
    let mut st = [0u8; 144];
    sys(5, [fd, st.as_mut_ptr() as u64, 0, 0, 0, 0]).ok()?;
    let mode = u32::from_le_bytes([st[24], st[25], st[26], st[27]]);
    if mode & hostio::S_IFMT != hostio::S_IFREG {
        return None;
    }
    let fields = [&st[0..16], &st[48..56], &st[88..120]].concat();
    Some(Identity(crate::seal::hmac(
        &key,
        &[b"picobox verified snapshot 1", &fields],
    )))
}

fn record_path() -> Option<Vec<u8>> {
    Some([crate::seal_key::directory()?.as_slice(), b"/verified"].concat())
}

fn entries() -> Vec<[u8; RECORD_LEN]> {
    let Some(path) = record_path() else {
        return Vec::new();
    };
    let bytes = hostio::read_file(&path, KEPT * RECORD_LEN).unwrap_or_default();
    bytes
        .chunks_exact(RECORD_LEN)
        .map(|c| {
            let mut e = [0u8; RECORD_LEN];
            e.copy_from_slice(c);
            e
        })
        .collect()
}

/// Whether this user's picobox summed every page of the file `id` names.
pub fn checked_before(id: Identity) -> bool {
    entries().iter().any(|e| crate::seal::same(e, &id.0))
}

/// Records that every page of the file `id` names was summed (best effort: a record that
/// cannot be written only means the next restore checks again).
pub fn remember(id: Identity) {
    let Some(path) = record_path() else {
        return;
    };
    let mut kept: Vec<[u8; RECORD_LEN]> = entries().into_iter().filter(|e| *e != id.0).collect();
    kept.push(id.0);
    let from = kept.len().saturating_sub(KEPT);
    let own = [
        path.as_slice(),
        format!(".{}", crate::gate::syscall(39, [0; 6])).as_bytes(),
    ]
    .concat();
    let flags = hostio::O_WRONLY | hostio::O_CREAT | hostio::O_EXCL | hostio::O_CLOEXEC;
    let Ok(fd) = hostio::open(&own, flags, 0o600) else {
        return;
    };
    let written = hostio::write_all(fd, &kept[from..].concat());
    close(fd);
    let own_c = hostio::c_str(&own);
    if written.is_err()
        || sys(
            82,
            [
                own_c.as_ptr() as u64,
                hostio::c_str(&path).as_ptr() as u64,
                0,
                0,
                0,
                0,
            ],
        )
        .is_err()
    {
        let _ = sys(87, [own_c.as_ptr() as u64, 0, 0, 0, 0, 0]);
    }
}
