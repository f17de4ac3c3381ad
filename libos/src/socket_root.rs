//! The box's socket root: the empty, box-private directory that is the picoprocess's root
//! directory (see `docs/threat-model.md`), open as a handle from boot. The library OS keeps two
//! things there, shared by every process of the box: the host names of Unix sockets bound to
//! paths (`syscalls/unix_names.rs`) and notes, small symbolic links whose target is the
//! content, appearing whole or not at all (`box_processes.rs`, and the way back from a
//! socket's host name to its path).

use crate::kernel::host;
use alloc::vec::Vec;
use picobox_abi::{Errno, FileKind, Handle, LinkTarget, OpenFlags, Result};

static ROOT: &spin::Once<Option<Handle>> = &crate::state::LIBOS.socket_root;

/// Remembers the socket root handed over at boot (none in a box started without one).
pub fn set(root: Option<Handle>) {
    ROOT.call_once(|| root);
}

fn root() -> Result<Handle> {
    ROOT.get().copied().flatten().ok_or(Errno::ENOSYS)
}

/// Writes note `name` with `text`, replacing an older one.
pub fn write_note(name: &[u8], text: &[u8]) -> Result<()> {
    let root = root()?;
    match host().stream_make_link(root, name, LinkTarget::Symbolic(text)) {
        // Replaced whole: a new link under a name of this writer's own, renamed over the old
        // one, so that a reader never finds the note missing.
        Err(Errno::EEXIST) => {
            let mut scratch = alloc::format!(
                "new.{}.{}",
                host().process_id(picobox_abi::Whose::Caller),
                host().thread_id()
            )
            .into_bytes();
            scratch.truncate(64);
            let _ = host().stream_delete(root, &scratch, false);
            host().stream_make_link(root, &scratch, LinkTarget::Symbolic(text))?;
            host().stream_rename(root, &scratch, root, name, 0)
        }
        r => r,
    }
}

/// Writes note `name` unless it exists (`EEXIST`).
pub fn create_note(name: &[u8], text: &[u8]) -> Result<()> {
    host().stream_make_link(root()?, name, LinkTarget::Symbolic(text))
}

/// Reads note `name` into `buf`; returns its length.
pub fn read_note(name: &[u8], buf: &mut [u8]) -> Result<usize> {
    host().stream_read_link(root()?, name, buf)
}

/// Removes entry `name` (a note, or a socket's host name), if it exists.
pub fn remove(name: &[u8]) {
    if let Ok(root) = root() {
        let _ = host().stream_delete(root, name, false);
    }
}

/// The names of the notes (symbolic links) in the socket root.
pub fn notes() -> Vec<Vec<u8>> {
    let Ok(root) = root() else {
        return Vec::new();
    };
    let flags = OpenFlags(OpenFlags::READ.0 | OpenFlags::DIRECTORY);
    let Ok(dir) = host().stream_open(root, b".", flags, 0) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    while let Ok(n) = host().stream_read_dir(dir, &mut entries, 256) {
        if n == 0 {
            break;
        }
    }
    let _ = host().object_close(dir);
    entries
        .into_iter()
        .filter(|e| e.kind.is_none_or(|k| k == FileKind::Symlink))
        .map(|e| e.name)
        .collect()
}
