//! The box's process list, for `/proc/<pid>` of the box's other processes.
//!
//! Each process of the box is a picoprocess of its own, whose state the others cannot read.
//! So each one *publishes* what `/proc` shows of it: a note in the box's socket root (the
//! box-private directory the library OS also keeps Unix socket names in), written when the
//! process starts, forks (by the parent for the child, before `fork` returns, and again by
//! the child) and executes a program, and removed when it exits. A note is a
//! symbolic link `proc.<pid>` whose target holds the fields, so that it appears whole or not
//! at all. A process killed before it could remove its note leaves a stale one, which readers
//! recognise (the pid no longer exists) and remove.
//!
//! A note tells only what the process chose to publish: a process of the box can lie about
//! itself to the others, as on Linux it could rewrite its own command line.
//!
//! What changes often, the run state `/proc/<pid>/stat` shows (harnesses wait for a child to
//! be sleeping before they wake it), is one byte per thread id in the box's shared memory
//! ([`picobox_abi::HostInfo::box_shared`]): `R` while the thread runs, `S` while it waits in a
//! blocking call, `T` while its process is stopped, 0 once it has ended. A process's state is
//! its main thread's (whose id is the pid), as Linux shows it.

use crate::kernel::{host, Kernel};
use crate::socket_root;
use alloc::vec::Vec;

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
    /// Whether it executed a program since it was forked.
    pub executed: bool,
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
    let note = note_of(k, host().process_id(picobox_abi::Whose::Parent), k.executed);
    let _ = socket_root::write_note(
        &note_name(host().process_id(picobox_abi::Whose::Caller)),
        &note,
    );
}

/// In the parent, as `fork` returns: publishes the new child's note, a copy of the parent's
/// own, so that `/proc/<child>` exists at once. Only if the child has not published yet: it
/// may have run, even executed another program, before the parent got here.
pub fn publish_child(k: &Kernel, child: u32) {
    // The child has executed nothing yet, whatever its parent did.
    let note = note_of(k, host().process_id(picobox_abi::Whose::Caller), false);
    let _ = socket_root::create_note(&note_name(child), &note);
}

/// The note of a process running what `k` runs, whose parent is `ppid`, and which has
/// `executed` a program since it was forked.
fn note_of(k: &Kernel, ppid: u32, executed: bool) -> Vec<u8> {
    let no_newline = |b: &u8| if *b == b'\n' { b'?' } else { *b };
    let executed = if executed { " executed" } else { "" };
    let mut note = alloc::format!("{ppid}{executed}\n").into_bytes();
    note.extend(k.comm.iter().map(no_newline));
    note.push(b'\n');
    note.extend(k.program_name.iter().map(no_newline));
    note.push(b'\n');
    note.extend(
        k.cmdline
            .iter()
            .map(|b| if *b == 0 { NUL_STANDIN } else { *b }),
    );
    note.truncate(NOTE_MAX);
    note
}

/// The run state of a process running (or about to run) its program.
pub const RUNNING: u8 = b'R';
/// The run state of a process waiting in a blocking call.
pub const SLEEPING: u8 = b'S';
/// The run state of a stopped process.
pub const STOPPED: u8 = b'T';
/// The run state of a traced process in a stop its tracer acts on.
pub const TRACED: u8 = b't';
/// A process that ended by a signal after dumping core, until its parent reaps it: its wait
/// status then says so (`WCOREDUMP`). A zombie too.
pub const DUMPED: u8 = b'X';
/// A process that ended and that its parent has not reaped yet.
pub const ZOMBIE: u8 = b'Z';

/// Where thread `tid`'s state byte is in the box's shared memory (none if it does not fit).
fn state_slot(tid: u32) -> Option<usize> {
    static AREA: spin::Once<(usize, usize)> = spin::Once::new();
    let (start, end) = *AREA.call_once(|| host().host_info().box_shared);
    let at = start.checked_add(tid as usize)?;
    (at < end).then_some(at)
}

/// Sets the calling thread's run state.
pub fn set_state(state: u8) {
    set_state_of(host().thread_id(), state);
}

/// Sets thread `tid`'s run state (a parent that reaped a child: none, since a killed child
/// could not clear its own).
pub fn set_state_of(tid: u32, state: u8) {
    if let Some(at) = state_slot(tid) {
        let _ = host().vm_copy(at, &raw const state as usize, 1);
    }
}

/// The run state thread `tid` (a process: its main thread, `tid` = pid) last set (0 if none).
pub fn state_of(tid: u32) -> u8 {
    let mut state = 0u8;
    if let Some(at) = state_slot(tid) {
        let _ = host().vm_copy(&raw mut state as usize, at, 1);
    }
    state
}

/// Marks the calling process as ended (it is exiting): as on Linux, `/proc` shows it, a zombie,
/// until its parent reaps it ([`forget`]), or until the reaper does (an orphan: its note is
/// then found dead and removed by [`read`]).
pub fn mark_ended() {
    // The process's state is its first thread's, whichever thread ends it.
    set_state_of(host().process_id(picobox_abi::Whose::Caller), ZOMBIE);
}

/// Removes the note of child `pid`, which its parent has just reaped.
pub fn forget(pid: u32) {
    set_state_of(pid, 0);
    socket_root::remove(&note_name(pid));
}

/// Reads process `pid`'s note, if it exists and the process is alive.
pub fn read(pid: u32) -> Option<ProcessNote> {
    let mut buf = alloc::vec![0u8; NOTE_MAX + 1];
    let n = socket_root::read_note(&note_name(pid), &mut buf).ok()?;
    let alive = i32::try_from(pid).is_ok_and(|p| host().process_signal(p, 0, None).is_ok());
    if !alive {
        socket_root::remove(&note_name(pid));
        return None;
    }
    let mut fields = buf[..n].splitn(4, |b| *b == b'\n');
    let first = core::str::from_utf8(fields.next()?).ok()?;
    let (ppid, executed) = match first.split_once(' ') {
        Some((ppid, flag)) => (ppid.parse().ok()?, flag == "executed"),
        None => (first.parse().ok()?, false),
    };
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
        executed,
    })
}

/// What `/proc/1` shows of picobox's reaper, the box's pid 1 unless the program is
/// (`--as-pid-1`): it runs no library OS and publishes no note. None if pid 1 is gone.
pub fn reaper_note() -> Option<ProcessNote> {
    host().process_signal(1, 0, None).ok()?;
    Some(ProcessNote {
        ppid: 0,
        exe: b"/usr/bin/picobox".to_vec(),
        comm: b"picobox".to_vec(),
        cmdline: b"picobox\0".to_vec(),
        executed: true,
    })
}

/// The pids of the box's processes that published a note.
pub fn pids() -> Vec<u32> {
    let mut pids: Vec<u32> = socket_root::notes()
        .iter()
        .filter_map(|n| n.strip_prefix(b"proc."))
        .filter_map(|n| core::str::from_utf8(n).ok()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}
