//! The box's open FIFOs (named pipes of its mounts) across a snapshot.
//!
//! Taking them (the monitor, box frozen): an open file the library OS named by its path is a
//! FIFO if the host says so (`stat` of `/proc/PID/fd/N`); its bytes are copied out with
//! `tee` into a pipe of the monitor's, which leaves them in the FIFO, so a box that goes on
//! loses nothing. The copy is read from an end the box holds for reading or, if it holds
//! none, from one the monitor opens through `/proc/PID/fd/N`.
//!
//! Making them again (the restored program process, before it forks the others): the FIFO
//! is found beneath its mount root, or made again there if it is gone; a read end, a write
//! end and a read-write one are opened without waiting, its capacity set and its bytes
//! written back; each process then takes the ends its descriptors had.

use crate::hostio::{
    close, read_all, sys, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, S_IFIFO, S_IFMT,
};
use crate::snapshot_meta::{FifoRecord, HandleKind, HandleRecord};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const SPLICE_F_NONBLOCK: u64 = 2;

/// The inode and permissions of the FIFO a process's descriptor is open on, if it is one.
fn fifo_of(pid: u64, fd: u32) -> Option<(u64, u32)> {
    let path = crate::hostio::c_str(format!("/proc/{pid}/fd/{fd}").as_bytes());
    let mut st = [0u64; 18];
    sys(
        4,
        [path.as_ptr() as u64, st.as_mut_ptr() as u64, 0, 0, 0, 0],
    )
    .ok()?;
    let mode = st[3] as u32;
    (mode & S_IFMT == S_IFIFO).then_some((st[1], mode & 0o7777))
}

/// Turns the descriptors of `all` (each process's, by host pid in `hosts`) that are open on
/// FIFOs into `HandleKind::Fifo`, and returns each FIFO's record, with the first process
/// that holds it.
pub fn capture(
    hosts: &[u64],
    all: &mut [(u32, Vec<HandleRecord>)],
) -> Result<Vec<Vec<FifoRecord>>, String> {
    let mut out: Vec<Vec<FifoRecord>> = alloc::vec![Vec::new(); all.len()];
    let mut seen: Vec<u64> = Vec::new();
    for (process, ((_, handles), host)) in all.iter_mut().zip(hosts).enumerate() {
        for h in handles.iter_mut() {
            let HandleKind::File { root, rel } = &h.kind else {
                continue;
            };
            let Some((id, mode)) = fifo_of(*host, h.fd) else {
                continue;
            };
            let (root, rel) = (*root, rel.clone());
            h.kind = HandleKind::Fifo { id };
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let (capacity, data) = contents(*host, h.fd, h.flags)?;
            out[process].push(FifoRecord {
                id,
                root,
                rel,
                mode,
                capacity,
                data,
            });
        }
    }
    Ok(out)
}

/// A FIFO's capacity and bytes, copied without taking them out (`tee`), through a reader
/// of it: the process's descriptor if it reads, else one opened through `/proc`.
fn contents(pid: u64, fd: u32, flags: u32) -> Result<(u32, Vec<u8>), String> {
    let fail = |e: Errno| format!("cannot read a FIFO of the box (descriptor {fd}): {e}");
    let reader = if u64::from(flags) & 3 == O_WRONLY {
        let path = crate::hostio::c_str(format!("/proc/{pid}/fd/{fd}").as_bytes());
        sys(
            2,
            [
                path.as_ptr() as u64,
                O_RDONLY | O_NONBLOCK | O_CLOEXEC,
                0,
                0,
                0,
                0,
            ],
        )
    } else {
        let pidfd = sys(434, [pid, 0, 0, 0, 0, 0]).map_err(fail)?;
        let copy = sys(438, [pidfd, u64::from(fd), 0, 0, 0, 0]);
        close(pidfd);
        copy
    }
    .map_err(fail)?;
    let result = (|| {
        let capacity = sys(72, [reader, F_GETPIPE_SZ, 0, 0, 0, 0])? as u32;
        let mut fds = [0i32; 2];
        sys(
            293,
            [fds.as_mut_ptr() as u64, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0],
        )?;
        let (r, w) = (fds[0] as u64, fds[1] as u64);
        let _ = sys(72, [w, F_SETPIPE_SZ, u64::from(capacity), 0, 0, 0]);
        let teed = sys(
            276,
            [reader, w, u64::from(capacity), SPLICE_F_NONBLOCK, 0, 0],
        );
        // The write end closed, the copy reads to its end.
        close(w);
        let copied = match teed {
            Ok(n) => read_all(r, n as usize + 1),
            Err(Errno::EAGAIN) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        close(r);
        copied.map(|data| (capacity, data))
    })();
    close(reader);
    result.map_err(fail)
}

/// A FIFO made again: its id and its read, write and read-write ends.
pub type Ends = (u64, u64, u64, u64);

/// Opens every FIFO of the snapshot in this (the program) process, before it forks the
/// others, and puts its bytes back. `roots` gives each saved mount-root descriptor number the
/// descriptor of the restore's own; `owner` is who a FIFO made again belongs to.
pub fn make_all(
    fifos: &[&FifoRecord],
    roots: &dyn Fn(u32) -> Option<u64>,
    owner: Option<(u32, u32)>,
) -> Result<Vec<Ends>, String> {
    let mut made: Vec<Ends> = Vec::new();
    let result = fifos.iter().try_for_each(|f| {
        let gone = |why: String| {
            format!(
                "the program's FIFO {} cannot be opened again: {why}",
                String::from_utf8_lossy(&f.rel)
            )
        };
        let root = roots(f.root).ok_or_else(|| gone("its mount is not the box's".into()))?;
        crate::special_files::node_beneath(root, &f.rel, S_IFIFO | (f.mode & 0o7777), owner)
            .map_err(gone)?;
        let open = |flags: u64| {
            crate::special_files::open_beneath(root, &f.rel, flags | O_NONBLOCK).map_err(gone)
        };
        // The reader first: a write end opens without waiting only once there is one.
        let r = open(O_RDONLY)?;
        let w = open(O_WRONLY).inspect_err(|_| close(r))?;
        let rw = open(O_RDWR).inspect_err(|_| {
            close(r);
            close(w);
        })?;
        made.push((f.id, r, w, rw));
        let _ = sys(72, [w, F_SETPIPE_SZ, u64::from(f.capacity), 0, 0, 0]);
        crate::hostio::write_all(w, &f.data).map_err(|e| gone(format!("its bytes: {e}")))
    });
    match result {
        Ok(()) => Ok(made),
        Err(e) => {
            for (_, r, w, rw) in made {
                close(r);
                close(w);
                close(rw);
            }
            Err(e)
        }
    }
}

/// The end of `ends` a descriptor with status flags `flags` had.
pub fn end_for(ends: &Ends, flags: u32) -> u64 {
    match u64::from(flags) & 3 {
        O_RDONLY => ends.1,
        O_WRONLY => ends.2,
        _ => ends.3,
    }
}
