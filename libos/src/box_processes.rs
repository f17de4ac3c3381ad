//! The box's process list, for `/proc/<pid>` of the box's other processes.
//!
//! Each process of the box is a picoprocess of its own, whose state the others cannot read.
//! So each one *publishes* what `/proc` shows of it: a note in the box's socket root (the
//! box-private directory the library OS also keeps Unix socket names in), written when the
//! process starts, forks and executes a program, and removed when it exits. A note is a
//! symbolic link `proc.<pid>` whose target holds the fields, so that it appears whole or not
//! at all. A process killed before it could remove its note leaves a stale one, which readers
//! recognise (the pid no longer exists) and remove.
//!
//! A note tells only what the process chose to publish: a process of the box can lie about
//! itself to the others, as on Linux it could rewrite its own command line.

use crate::kernel::{host, Kernel};
use alloc::vec::Vec;
use picobox_abi::{FileKind, Handle, OpenFlags};

/// What one process published.
pub struct ProcessNote {
    /// Parent process id.
    pub ppid: u32,
    /// The running program's path.
    pub exe: Vec<u8>,
    /// Its short name.
    pub comm: Vec<u8>,
    /// Its arguments, NUL-separated (possibly cut short).
    pub cmdline: Vec<u8>,
}

/// Longest symbolic link target the host keeps (`PATH_MAX` minus the NUL).
const NOTE_MAX: usize = 4095;
/// Stands for NUL in a note (a link target cannot hold NUL).
const NUL_STANDIN: u8 = 0x01;

fn note_name(pid: u32) -> Vec<u8> {
    alloc::format!("proc.{pid}").into_bytes()
}

/// Publishes (or replaces) the calling process's note.
pub fn publish(k: &Kernel) {
    let Some(root) = k.socket_root else { return };
    let pid = host().process_id();
    let mut note = alloc::format!("{}\n", host().process_parent_id()).into_bytes();
    note.extend(k.comm.iter().map(|b| if *b == b'\n' { b'?' } else { *b }));
    note.push(b'\n');
    note.extend(
        k.program_name
            .iter()
            .map(|b| if *b == b'\n' { b'?' } else { *b }),
    );
    note.push(b'\n');
    note.extend(
        k.cmdline
            .iter()
            .map(|b| if *b == 0 { NUL_STANDIN } else { *b }),
    );
    note.truncate(NOTE_MAX);
    let name = note_name(pid);
    let _ = host().stream_delete(root, &name, false);
    let _ = host().stream_make_link(root, &name, &note);
}

/// The socket root, for [`withdraw`] (which runs where the library OS's state is locked).
static ROOT: spin::Once<Option<Handle>> = spin::Once::new();

/// Publishes the first process's note at boot, and remembers where notes go.
pub fn start(k: &Kernel) {
    ROOT.call_once(|| k.socket_root);
    publish(k);
}

/// Removes the calling process's note (it is exiting).
pub fn withdraw() {
    if let Some(Some(root)) = ROOT.get() {
        let _ = host().stream_delete(*root, &note_name(host().process_id()), false);
    }
}

/// Reads process `pid`'s note, if it exists and the process is alive.
pub fn read(k: &Kernel, pid: u32) -> Option<ProcessNote> {
    let root = k.socket_root?;
    let mut buf = alloc::vec![0u8; NOTE_MAX + 1];
    let n = host()
        .stream_read_link(root, &note_name(pid), &mut buf)
        .ok()?;
    let alive = i32::try_from(pid).is_ok_and(|p| host().process_signal(p, 0).is_ok());
    if !alive {
        let _ = host().stream_delete(root, &note_name(pid), false);
        return None;
    }
    let mut fields = buf[..n].splitn(4, |b| *b == b'\n');
    let ppid = core::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let comm = fields.next()?.to_vec();
    let exe = fields.next()?.to_vec();
    let mut cmdline: Vec<u8> = fields
        .next()
        .unwrap_or(b"")
        .iter()
        .map(|b| if *b == NUL_STANDIN { 0 } else { *b })
        .collect();
    if cmdline.last().is_some_and(|b| *b != 0) {
        cmdline.push(0);
    }
    Some(ProcessNote {
        ppid,
        exe,
        comm,
        cmdline,
    })
}

/// The pids of the box's processes that published a note.
pub fn pids(k: &Kernel) -> Vec<u32> {
    let Some(root) = k.socket_root else {
        return Vec::new();
    };
    let Ok(dir) = host().stream_open(
        root,
        b".",
        OpenFlags(OpenFlags::READ.0 | OpenFlags::DIRECTORY),
        0,
    ) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    while let Ok(n) = host().stream_read_dir(dir, &mut entries, 256) {
        if n == 0 {
            break;
        }
    }
    let _ = host().object_close(dir);
    let mut pids: Vec<u32> = entries
        .iter()
        .filter(|e| e.kind.is_none_or(|k| k == FileKind::Symlink))
        .filter_map(|e| e.name.strip_prefix(b"proc."))
        .filter_map(|n| core::str::from_utf8(n).ok()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}
